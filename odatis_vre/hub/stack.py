"""Start, stop and inspect the local VRE (hub + proxy + gateway + services) on this machine.

>>> stack = Stack("vre.yaml")           # doctest: +SKIP
>>> info = stack.start()                # doctest: +SKIP
>>> info.url, info.admin_password       # doctest: +SKIP
('http://127.0.0.1:8000', 'q7Rk...')
>>> stack.stop()                        # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from .. import atomic, config
from ..config import VREConfig
from ..users import sysusers
from . import auth, modes, zygote
from .hubconfig import HUB_DIR

CLI_SERVICE = "odatis-cli"


class StackError(RuntimeError):
    """The local VRE could not start or stop; the message says where to look."""


@dataclass
class StartInfo:
    url: str
    admin: str
    admin_password: str | None  # only on the very first start
    pid: int
    log: Path


def cli_token(cfg: VREConfig) -> str:
    """The API token of the local CLI (a hub service with admin scopes), created on first use."""
    return atomic.secret(cfg.state_dir / "cli_token", lambda: secrets.token_hex(32))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _private_umask() -> None:
    # everything the hub and its proxy create in the state directory is theirs alone
    os.umask(0o077)


class Stack:
    """The local deployment described by one ``vre.yaml``."""

    def __init__(self, config_path: str | os.PathLike[str] | None = None):
        self.config_path = Path(config_path or config.default_path()).resolve()
        self.cfg = config.load(self.config_path)
        if self.cfg.mode != "local":
            raise StackError(
                f"{self.config_path} is in {self.cfg.mode!r} mode: `odatis-vre up` runs the local mode. "
                "Deploy Kubernetes mode with the Helm chart (docs/deploy-kubernetes.md)."
            )
        self.state = self.cfg.state_dir
        self.pid_file = self.state / "hub.pid"
        self.log_file = self.state / "logs" / "hub.log"
        self.proc: subprocess.Popen[bytes] | None = None

    # -- helpers ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.cfg.hub_url

    @property
    def token(self) -> str:
        return cli_token(self.cfg)

    def api(self, method: str, path: str, *, token: str | None = None, **kw: Any) -> requests.Response:
        """Call the hub's REST API (``path`` below ``/hub/api``) with the CLI's admin token."""
        headers = {"Authorization": f"token {token or self.token}"} | kw.pop("headers", {})
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=kw.pop("timeout", 30), **kw
        )

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env[config.ENV_CONFIG] = str(self.config_path)
        env["ODATIS_VRE_CLI_TOKEN"] = self.token
        # the hub's own environment gives the services and servers our venv's tools first
        bindir = str(Path(sys.executable).parent)
        tools = str(Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin")
        env["PATH"] = os.pathsep.join([bindir, tools, env.get("PATH", "")])
        return env

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, *, timeout: float = 90) -> StartInfo:
        """Start the hub (which starts the proxy and the services); return once all answer."""
        if self.pid():
            raise StackError(
                f"The VRE of {self.config_path} already runs (pid {self.pid()}) at {self.url}: "
                "`odatis-vre status` shows it, `odatis-vre down` stops it."
            )
        self.prepare()
        # warms up while the hub starts; replaced, so an upgraded package is what servers run
        zygote.ensure(self.state, restart=True, log=self.log_file)
        log = atomic.open_log(self.log_file)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(HUB_DIR / "jupyterhub_config.py")],
            cwd=self.state,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_private_umask,
        )
        os.close(log)
        self.pid_file.write_text(str(self.proc.pid))
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop(stop_servers=False)
            raise
        # created once the hub runs, so a failed start never swallows the one-time password
        admin = self.cfg.hub["admin_users"][0]
        password = auth.ensure_admin(self.state, admin) if self.cfg.data["auth"]["type"] == "local" else None
        return StartInfo(self.url, admin, password, self.proc.pid, self.log_file)

    def prepare(self) -> None:
        """The folders of the deployment, with their owners and modes; the service account (multi-user mode).

        The state directory is the hub's alone (0700): secrets, databases, logs, the CLI token and the
        zygote's socket are out of reach of every user account.
        """
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state, 0o700)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        for path in self.state.rglob("*"):
            # a state directory from before the isolation: nothing in it readable by others
            if not path.is_symlink():
                os.chmod(path, path.stat().st_mode & ~0o077)
        self.cfg.homes_dir.mkdir(parents=True, exist_ok=True)
        if sysusers.multi_user():
            os.chmod(self.cfg.homes_dir, 0o711)
            problems = sysusers.unreachable(
                [
                    Path(sys.executable),
                    Path(__file__).parents[1],
                    self.cfg.catalog_path,
                    HUB_DIR,
                    self.cfg.homes_dir,
                    self.cfg.services_dir.parent,
                ]
            )
            if problems:
                raise StackError(
                    "User accounts could not run the VRE's code or reach its files, because these folders are closed "
                    "to other users:\n  " + "\n  ".join(problems) + "\nMove the checkout to a folder others can "
                    "traverse (e.g. /opt or /srv), or allow traversal (`chmod o+x` on each folder named), then retry."
                )
            sysusers.service_account(self.cfg)
        else:
            self.cfg.services_dir.mkdir(parents=True, exist_ok=True)

    def isolation_report(self) -> list[str]:
        """What `up` prints once: who runs user code, and what enforces which limit."""
        from . import isolation

        multi = sysusers.multi_user()
        lines = [sysusers.describe(self.cfg), isolation.enforcer(self.cfg).describe(multi)]
        lines.append(
            f"storage: each home is measured when its server starts (a server above the group's "
            f"quota is refused); not enforced while it runs (no filesystem quota on {self.cfg.homes_dir})"
        )
        return lines

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        checks = [f"{self.url}/hub/api/"]
        if self.cfg.services["dask_gateway"].get("enabled", True):
            checks.append(f"{self.url}/services/dask-gateway/api/health")
        for url in checks:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise StackError(
                        f"The hub exited with code {self.proc.returncode}; see {self.log_file}:\n" + self.log_tail()
                    )
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise StackError(
                        f"{url} did not answer within {timeout:.0f} s; see {self.log_file}:\n" + self.log_tail()
                    )
                time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def running_servers(self) -> list[tuple[str, str]]:
        r = self.api("GET", "/users", params={"state": "active"})
        r.raise_for_status()
        return [(u["name"], sname) for u in r.json() for sname in (u.get("servers") or {})]

    def stop(self, *, stop_servers: bool = True, timeout: float = 30) -> None:
        """Stop every user server (unless told not to), then the hub, its proxy and its services."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            self._stop_orphan_proxy(timeout)
            zygote.stop(self.state)
            return
        if stop_servers:
            try:
                for user, server in self.running_servers():
                    path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
                    self.api("DELETE", path, json={"remove": False})
                deadline = time.monotonic() + timeout
                while self.running_servers() and time.monotonic() < deadline:
                    time.sleep(0.2)
            except requests.RequestException:
                pass  # hub not answering: stop it anyway
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        self.pid_file.unlink(missing_ok=True)
        self._stop_orphan_proxy(timeout)
        zygote.stop(self.state)

    def _stop_orphan_proxy(self, timeout: float) -> None:
        """The hub's proxy, if it outlived the hub (it runs in a session of its own: a hub that died at start-up,
        or was killed, leaves it holding the VRE's port)."""
        import psutil

        try:
            proc = psutil.Process(int((self.state / modes.PROXY_PID).read_text()))
            if "configurable-http-proxy" not in " ".join(proc.cmdline()):
                return  # the pid was reused by something else
            proc.terminate()
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            proc.kill()
        except (FileNotFoundError, ValueError, psutil.Error):
            pass

    def kill_hub(self) -> None:
        """SIGKILL the hub alone (servers keep running): used to test recovery."""
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            if self.proc is not None:
                self.proc.wait()
            while _alive(pid):
                time.sleep(0.05)

    def status(self) -> dict[str, Any]:
        pid = self.pid()
        out: dict[str, Any] = {
            "config": str(self.config_path),
            "url": self.url,
            "running": bool(pid),
            "pid": pid,
            "log": str(self.log_file),
        }
        if pid:
            try:
                out["hub_version"] = self.api("GET", "/").json().get("version")
                out["servers"] = [f"{u}/{s}" if s else u for u, s in self.running_servers()]
                r = self.api("GET", "/services")
                if r.status_code != 200:
                    raise requests.RequestException(f"GET /hub/api/services answered {r.status_code}: {r.text[:200]}")
                out["services"] = sorted(r.json())
            except (requests.RequestException, json.JSONDecodeError) as exc:
                out["error"] = f"the hub does not answer its API: {exc}"
        return out
