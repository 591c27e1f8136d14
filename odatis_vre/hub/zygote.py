"""A warm process that forks single-user servers (local mode only).

Starting ``jupyterhub-singleuser`` spends most of its time importing Jupyter Server,
JupyterLab and their extensions (about 2-3 s of CPU here, before anything listens). The
zygote imports them once; each new server is a ``fork()`` of it, which starts in tens of
milliseconds and shares the imported code with its siblings (copy-on-write), so a room of
participants logging in at once costs the machine one import instead of thirty.

The hub's spawner (:class:`odatis_vre.hub.spawners.VRELocalSpawner`) asks for a server over a
Unix socket in the state directory (mode 0600 in a folder only the hub's OS user can open). The
zygote forks *before* reading a request: its own memory never holds a user's token or
environment, so no server inherits another's secrets. The child reads its request (arguments,
environment, working directory, the user's account and cgroup), joins the cgroup, drops root
for the user's account (:func:`odatis_vre.hub.isolation.become`) and runs JupyterHub's single-user
entry point, never an arbitrary program. If the zygote is missing or broken the spawner starts
the server the ordinary way, so a failure here makes spawns slower, never impossible.

The zygote is started by :func:`ensure` (from ``odatis-vre up`` and lazily by the spawner),
outlives a hub restart like the servers do, and is stopped by ``odatis-vre down``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import setproctitle

from .. import atomic

#: What a single-user server imports before it listens (measured with ``python -X importtime``).
PRELOAD = (
    "jupyterhub.singleuser",
    "jupyter_server.serverapp",
    "jupyter_server.services.kernels.kernelmanager",
    "jupyter_server.services.contents.largefilemanager",
    "jupyterlab.labapp",
    "dask_labextension",
    "jupyter_server_proxy",
    "jupyter_lsp",
    "jupyter_server_terminals",
    "notebook_shim",
    "panel.io.jupyter_server_extension",
    # the server extensions the images enable (`jupyter server extension list`) and what they pull in at load:
    # without them each forked server imported them itself (a quarter of its start-up CPU, py-spy, workshop burst;
    # not jupyter_server_ydoc: a server forked with it preloaded never loads shared documents)
    "jupyter_resource_usage.server_extension",
    "jupyterlab.extensions.readonly",
    "IPython",
    # the explorer's jupyter-server-proxy entry point (pyproject.toml), loaded by every server
    "odatis_vre.explore.server",
)

SOCKET_NAME = "zygote.sock"
PID_NAME = "zygote.pid"


class ZygoteUnavailable(RuntimeError):
    """The zygote cannot start a server now; the caller should start it the ordinary way."""


def socket_path(state_dir: Path) -> Path:
    return Path(state_dir) / SOCKET_NAME


def _preload() -> list[str]:
    failed = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # an optional extension missing must not stop the others
            failed.append(name)
    return failed


def _reap(*_: Any) -> None:
    # servers are our children: collect their exit status at once, so the hub's
    # `kill(pid, 0)` sees a finished server as gone instead of as a zombie
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _child(listener: socket.socket, conn: socket.socket) -> None:
    """In the forked child: read the request, become the user, run their server. Never returns."""
    code = 1
    try:
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()  # like Popen(start_new_session=True): the hub's signals are not forwarded
        conn.settimeout(10)
        try:
            request = json.loads(_read_line(conn))
            if not isinstance(request, dict):
                raise ValueError("a request is one JSON object per line")
        except ValueError as exc:
            conn.sendall(json.dumps({"error": f"unreadable request: {exc}"}).encode() + b"\n")
            os._exit(2)
        if request.get("ping"):
            conn.sendall(b'{"pong": true}\n')
            os._exit(0)
        from ..users.sysusers import Account
        from .isolation import Limits, become

        account = request.get("account")
        if account:
            account = Account(account["name"], int(account["uid"]), int(account["gid"]), Path(account["home"]))
        try:
            become(account, request.get("cgroup"), Limits(**(request.get("limits") or {})))
        except Exception as exc:
            conn.sendall(json.dumps({"error": f"could not drop to the user's account: {exc}"}).encode() + b"\n")
            os._exit(1)
        conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        conn.close()
        cwd = request.get("cwd")
        if cwd:
            os.chdir(cwd)
        sys.argv = ["jupyterhub-singleuser", *[str(a) for a in request.get("args", [])]]
        # `ps` shows whose server this is, as it would for a server started by exec
        setproctitle.setproctitle(" ".join(sys.argv) + f" (user {request['env'].get('JUPYTERHUB_USER', '?')})")
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        sys.argv += _user_home_args()
        _reread_dask_config()
        from jupyterhub.singleuser import main

        code = main() or 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _user_home_args() -> list[str]:
    """Options that give back to the user's server what preloaded modules took from the zygote's home at import.

    JupyterLab's ``LabApp`` computes its user-settings and workspaces folders as class defaults when it is
    imported (``Unicode(get_workspaces_dir())``): in a forked server they would be root's
    (``/root/.jupyter/lab``, refused to the user's account). Called once the user's environment is in place,
    JupyterLab's own functions give the user's folders, passed as options like any configuration.
    """
    try:
        from jupyterlab.commands import get_user_settings_dir, get_workspaces_dir
    except ImportError:
        return []
    return [f"--LabApp.user_settings_dir={get_user_settings_dir()}", f"--LabApp.workspaces_dir={get_workspaces_dir()}"]


def _reread_dask_config() -> None:
    """Read Dask's configuration again, from the user's environment and home.

    Dask collects its configuration (``DASK_*`` variables, ``~/.config/dask``) when it is first imported, which
    the zygote does as root for dask-labextension: without this, a forked server's Dask sidebar would make
    local clusters instead of Dask Gateway ones and ignore the gateway's address.
    """
    config = sys.modules.get("dask.config")
    if config is not None:
        config.refresh()


def _hub_alive(state_dir: Path, hub_pid: int | None) -> bool:
    pids = [hub_pid]
    with contextlib.suppress(OSError, ValueError):
        pids.append(int((state_dir / "hub.pid").read_text()))
    for value in pids:
        if value:
            try:
                os.kill(value, 0)
                return True
            except ProcessLookupError:
                pass
            except PermissionError:
                return True
    return False


def serve(state_dir: Path, hub_pid: int | None = None, orphan_grace: float = 120.0) -> None:
    """Run the zygote for the deployment whose state directory is ``state_dir`` (blocks).

    It exits on SIGTERM, when its socket is removed or replaced, and when no hub (``hub_pid``
    or the one named in ``<state>/hub.pid``) has run for ``orphan_grace`` seconds, so that a
    deployment deleted without `odatis-vre down` leaves nothing behind.
    """
    state_dir = Path(state_dir)
    setproctitle.getproctitle()  # ready before any fork, whatever the children do to environ
    failed = _preload()
    if failed:
        print(f"odatis-vre zygote: could not preload {', '.join(failed)}", file=sys.stderr)
    path = socket_path(state_dir)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_umask)
    listener.listen(64)
    listener.settimeout(5)
    inode = path.stat().st_ino
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    (state_dir / PID_NAME).write_text(str(os.getpid()))
    hub_seen = time.monotonic()
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except (TimeoutError, InterruptedError):
                if _hub_alive(state_dir, hub_pid):
                    hub_seen = time.monotonic()
                try:
                    replaced = path.stat().st_ino != inode
                except FileNotFoundError:
                    replaced = True
                if replaced or time.monotonic() - hub_seen > orphan_grace:
                    return
                continue
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                raise
            with conn:
                try:
                    # fork first, read in the child: the zygote never sees what a request holds
                    if os.fork() == 0:
                        _child(listener, conn)
                except Exception as exc:  # a failed fork must not end the zygote
                    with contextlib.suppress(OSError):
                        conn.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            if path.stat().st_ino == inode:
                path.unlink()
        with contextlib.suppress(OSError, ValueError):
            if int((state_dir / PID_NAME).read_text()) == os.getpid():
                (state_dir / PID_NAME).unlink()


def _read_line(conn: socket.socket) -> str:
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.decode()


def _ask(state_dir: Path, request: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
    path = socket_path(state_dir)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(_read_line(s) or "{}")
    except (OSError, ValueError) as exc:
        raise ZygoteUnavailable(f"no zygote at {path}: {exc}") from exc
    if "error" in answer:
        raise ZygoteUnavailable(f"the zygote refused: {answer['error']}")
    return answer


def alive(state_dir: Path) -> bool:
    """Whether a zygote answers on ``state_dir``'s socket."""
    try:
        return bool(_ask(state_dir, {"ping": True}, timeout=2).get("pong"))
    except ZygoteUnavailable:
        return False


def spawn(
    state_dir: Path,
    args: list[str],
    env: dict[str, str],
    cwd: str | None,
    *,
    account: Any = None,
    cgroup: dict[str, Any] | None = None,
    limits: Any = None,
) -> int:
    """Start a single-user server as a fork of the zygote, as ``account``, in ``cgroup``; return its pid.

    ``account`` (:class:`odatis_vre.users.sysusers.Account`) None keeps the zygote's identity (single-user
    mode); ``limits`` (:class:`odatis_vre.hub.isolation.Limits`) apply as rlimits where there is no cgroup.
    Raises :class:`ZygoteUnavailable` when no zygote answers (start the server another way).
    """
    request: dict[str, Any] = {"args": list(args), "env": dict(env), "cwd": cwd, "cgroup": cgroup}
    if account is not None:
        request["account"] = {"name": account.name, "uid": account.uid, "gid": account.gid, "home": str(account.home)}
    if limits is not None:
        request["limits"] = {"memory": limits.memory, "cpu": limits.cpu, "processes": limits.processes}
    return int(_ask(state_dir, request)["pid"])


def pid(state_dir: Path) -> int | None:
    try:
        value = int((Path(state_dir) / PID_NAME).read_text())
        os.kill(value, 0)
        return value
    except (OSError, ValueError):
        return None


#: What the zygote keeps of its starter's environment: its memory is copied into every server, so no
#: secret (tokens, registrar passwords) may ever be in it
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "VIRTUAL_ENV", "PYTHONPATH", "LD_LIBRARY_PATH", "TZ")


def clean_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in environ.items() if k in KEEP_ENV}


def ensure(
    state_dir: Path, *, wait: float = 0.0, restart: bool = False, log: Path | None = None, hub_pid: int | None = None
) -> bool:
    """Start the zygote of ``state_dir`` unless one answers; wait up to ``wait`` s until it does.

    ``restart=True`` replaces a running zygote (after an upgrade of the code it preloaded).
    ``hub_pid`` is the hub it serves: once no hub runs for a while, the zygote ends itself.
    Its output and its servers' go to ``log`` (default: the hub's log, ``<state>/logs/hub.log``).
    Returns whether a zygote answers.
    """
    state_dir = Path(state_dir)
    if len(str(socket_path(state_dir))) > 100:
        return False  # beyond the length a Unix socket path may have
    if restart:
        stop(state_dir)
    elif alive(state_dir):
        return True
    if pid(state_dir) is None:
        log = log or state_dir / "logs" / "hub.log"
        with os.fdopen(atomic.open_log(log), "ab") as out:
            # its own session, in the state dir: it outlives a hub restart, as the servers do
            cmd = [sys.executable, "-m", "odatis_vre.hub.zygote", str(state_dir)]
            if hub_pid:
                cmd += ["--hub-pid", str(hub_pid)]
            subprocess.Popen(
                cmd,
                cwd=state_dir,
                env=clean_environment(),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if alive(state_dir):
            return True
        time.sleep(0.05)
    return alive(state_dir)


def stop(state_dir: Path, timeout: float = 10) -> None:
    """Stop the zygote of ``state_dir`` (servers it started keep running)."""
    value = pid(state_dir)
    if value is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(value, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(value, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(value, signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m odatis_vre.hub.zygote", description=__doc__.split("\n\n")[0])
    ap.add_argument("state_dir", type=Path, help="the deployment's state directory (holds the socket)")
    ap.add_argument("--hub-pid", type=int, help="the hub served; the zygote ends a while after no hub runs")
    args = ap.parse_args(argv)
    serve(args.state_dir, args.hub_pid)


if __name__ == "__main__":
    main()
