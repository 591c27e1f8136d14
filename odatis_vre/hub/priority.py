"""CPU priority of user work in the local mode: the hub, its proxy and services come first.

On one machine, a room of 30 servers starting at once, or 30 kernels running a heavy cell, would
otherwise take the CPU from the hub, and every login and API call would wait. User servers, the
kernels they start and users' Dask clusters therefore run below the hub's priority; among users,
everyone is equal.

With the kernel's autogroup scheduling (the default on Debian), every session is its own scheduling
group and a process's nice value only ranks it *inside* its group: a server or kernel in a new
session at nice 19 would still weigh as much as the whole hub. So the session's autogroup is niced
too (``/proc/self/autogroup``, which needs no privilege to raise). In Kubernetes, pods have their own
CPU limits and none of this applies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time

#: Niceness of user servers, kernels, terminals and Dask clusters (and of their session's autogroup);
#: the hub runs at 0.
SERVER_NICENESS = 19

#: The kernel provisioner (``jupyter_client.kernel_provisioners`` entry point, odatis_vre.hub.provisioner)
#: that starts kernels below the hub's priority; user servers of the local mode use it by default
PROVISIONER = "odatis-low-priority"


def lower_priority(niceness: int = SERVER_NICENESS, autogroup: bool = True) -> None:
    """Put the calling process, just after it started its own session, below the hub's CPU priority."""
    with contextlib.suppress(OSError):
        current = os.nice(0)
        if current < niceness:  # a kernel inherits its server's nice value: only the autogroup is new
            os.nice(niceness - current)
    if autogroup:
        lower_autogroup(os.getpid(), niceness)


def lower_autogroup(pid: int, niceness: int = SERVER_NICENESS, timeout: float = 2.0) -> bool:
    """Nice the scheduling autogroup of ``pid``, a session leader; False if it could not be done.

    Two things make this fail for an unprivileged caller: Linux accepts one autogroup change per
    100 ms machine-wide from callers without CAP_SYS_ADMIN (EAGAIN: retried here), and a process that
    changed its user id without exec'ing since (a server forked from the zygote, or the child Popen
    forks from it before exec) is not dumpable, so its ``/proc`` files belong to root (EACCES): such a
    process is lowered by its parent once it has exec'd (see :mod:`odatis_vre.hub.provisioner`).
    """
    try:
        if os.getsid(pid) != pid:
            return False  # not a session of its own: its autogroup is its parent's (maybe the hub's)
    except OSError:
        return False
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(f"/proc/{pid}/autogroup", "w") as f:
                f.write(str(niceness))
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)  # the kernel's own rate limit (100 ms), no condition to wait on
        except OSError:
            return False


def shell() -> None:
    """``odatis-vre-shell``: the user's shell (bash, else sh), lowered like a kernel.

    The local mode sets ``$SHELL`` to this command for user servers: a terminal (started by terminado
    in a session of its own) then runs below the hub too. Arguments are passed on (``-l``, ``-c CMD``).
    """
    lower_priority()
    real = shutil.which("bash") or "/bin/sh"
    os.execv(real, [real, *sys.argv[1:]])
