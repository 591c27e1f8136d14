"""Servers forked from the warm zygote: fast, isolated in their own session, and never required."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest
import requests
from vre_testing import VRETestStack

from odatis_vre.admin import remote
from odatis_vre.hub import priority, zygote

pytestmark = pytest.mark.slow


def _server_pid(name: str) -> int:
    for p in psutil.process_iter(["cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or []).strip()
            if "jupyterhub-singleuser" not in cmd:
                continue
            # a forked server says whose it is in its title; an exec'd one in its environment
            if cmd.endswith(f"(user {name})") or p.environ().get("JUPYTERHUB_USER") == name:
                return p.pid
        except psutil.Error:
            continue
    raise AssertionError(f"no server process for {name}")


def test_server_is_forked_from_the_zygote(vre_stack: VRETestStack) -> None:
    state = vre_stack.stack.state
    assert zygote.alive(state)
    zpid = zygote.pid(state)
    vre_stack.create_user("zoe", "zoe-pass-123")
    t0 = time.perf_counter()
    vre_stack.start_server("zoe")
    elapsed = time.perf_counter() - t0
    pid = _server_pid("zoe")
    proc = psutil.Process(pid)
    assert proc.ppid() == zpid
    # a session of its own (signals to the hub or the zygote do not reach it); runs in the user's home
    assert os.getsid(pid) == pid
    assert proc.cwd() == str(vre_stack.account("zoe").home)
    # below the hub's CPU priority: the hub stays responsive while servers start
    assert proc.nice() == psutil.Process(vre_stack.stack.pid()).nice() + priority.SERVER_NICENESS
    # ...and so is its session's scheduling group (autogroup), or the nice value would only rank it
    # against its own kernels while the whole server weighed as much as the hub
    assert _autogroup_nice(pid) == priority.SERVER_NICENESS
    assert _autogroup_nice(vre_stack.stack.pid()) == 0
    proc_cmdline = proc.cmdline()
    assert " ".join(proc_cmdline).startswith("jupyterhub-singleuser")
    # the user's own token reaches the server through the proxy
    token = vre_stack.user_token("zoe")
    r = requests.get(f"{vre_stack.url}/user/zoe/api/status", headers={"Authorization": f"token {token}"}, timeout=30)
    assert r.status_code == 200, (r.status_code, elapsed)
    # JupyterLab's workspaces and settings are the user's (the zygote imported JupyterLab in root's home)
    account = vre_stack.account("zoe")
    r = requests.put(
        f"{vre_stack.server_url('zoe')}lab/api/workspaces/zygote-test",
        headers={"Authorization": f"token {token}"},
        json={"data": {}, "metadata": {"id": "zygote-test"}},
        timeout=30,
    )
    assert r.status_code == 204, r.text
    saved = list((Path(account.home) / ".jupyter" / "lab" / "workspaces").glob("zygote-test*"))
    assert len(saved) == 1 and saved[0].stat().st_uid == account.uid
    # its kernels too: jupyter_client starts each in a new session (a new autogroup at nice 0), which
    # the local mode's kernel provisioner lowers like the server
    remote.start_kernel(vre_stack.server_url("zoe"), token)
    kernels = [c for c in proc.children() if "ipykernel_launcher" in " ".join(c.cmdline())]
    assert len(kernels) == 1 and os.getsid(kernels[0].pid) == kernels[0].pid
    assert kernels[0].nice() == proc.nice() and _autogroup_nice(kernels[0].pid) == priority.SERVER_NICENESS
    # and its terminals: terminado starts $SHELL (odatis-vre-shell in the local mode) in a new session
    r = requests.post(
        vre_stack.server_url("zoe").rstrip("/") + "/api/terminals",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    shells: list[psutil.Process] = []
    while not shells and time.monotonic() < deadline:
        shells = [c for c in proc.children() if c.pid not in {k.pid for k in kernels}]
        time.sleep(0.1)
    assert len(shells) == 1 and os.getsid(shells[0].pid) == shells[0].pid
    # odatis-vre-shell lowers its new session's autogroup, then execs bash: wait for it to have done so
    while _autogroup_nice(shells[0].pid) != priority.SERVER_NICENESS and time.monotonic() < deadline:
        time.sleep(0.1)
    assert shells[0].nice() == priority.SERVER_NICENESS and _autogroup_nice(shells[0].pid) == priority.SERVER_NICENESS
    # stopping through the hub ends the forked process (reaped: no zombie left)
    vre_stack.stop_server("zoe")
    gone, alive = psutil.wait_procs([proc], timeout=30)
    assert not alive
    # and the same user can start again (same spawner object, same arguments as the first time)
    vre_stack.start_server("zoe")
    again = psutil.Process(_server_pid("zoe"))
    assert again.pid != pid and again.cmdline() == proc_cmdline
    vre_stack.stop_server("zoe")


def _autogroup_nice(pid: int) -> int:
    # "/autogroup-123 nice 10"; this kernel has autogroup scheduling on (checked: Debian's default)
    return int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])


def test_spawn_without_zygote_falls_back_and_restarts_it(vre_stack: VRETestStack) -> None:
    state = vre_stack.stack.state
    zygote.stop(state)
    assert not zygote.alive(state)
    vre_stack.create_user("yann", "yann-pass-123")
    r = vre_stack.start_server("yann")
    assert r.status_code in (201, 202), r.text
    pid = _server_pid("yann")
    # started by exec from the hub, not forked from a zygote
    assert psutil.Process(pid).ppid() == vre_stack.stack.pid()
    assert psutil.Process(pid).nice() == psutil.Process(vre_stack.stack.pid()).nice() + priority.SERVER_NICENESS
    assert _autogroup_nice(pid) == priority.SERVER_NICENESS
    # ...and the spawner started a new zygote for the next spawns
    deadline = time.monotonic() + 60
    while not zygote.alive(state) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert zygote.alive(state)
    vre_stack.stop_server("yann")


def test_zygote_refuses_garbage_and_keeps_serving(vre_stack: VRETestStack) -> None:
    import socket

    state = vre_stack.stack.state
    assert zygote.ensure(state, wait=60)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(zygote.socket_path(state)))
        s.sendall(b"this is not json\n")
        assert b"error" in s.recv(1000)
    assert zygote.alive(state)
    # only the hub's OS user may ask it for a server
    assert oct(zygote.socket_path(state).stat().st_mode & 0o777) == "0o600"
