"""Start a real local VRE for tests: hub, proxy, Dask Gateway and services on free loopback ports."""

from __future__ import annotations

import html
import os
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml

from odatis_vre import config
from odatis_vre.hub.stack import Stack
from odatis_vre.users import sysusers

REPO = Path(__file__).resolve().parents[1]

TEST_CONFIG: dict[str, Any] = {
    "mode": "local",
    "hub": {"ip": "127.0.0.1", "admin_users": ["admin"], "state_dir": ".vre"},
    "auth": {"type": "local"},
    "profiles": [
        {
            "name": "ocean",
            "display_name": "Ocean",
            "description": "Standard",
            "image": "ghcr.io/odatis/vre-ocean:test",
            "environment": "current",
            "cpu": {"guarantee": 0.5, "limit": 1},
            "memory": {"guarantee": "512M", "limit": "2G"},
            "default": True,
        },
        {
            "name": "large",
            "display_name": "Large",
            "description": "Big",
            "image": "ghcr.io/odatis/vre-ocean:test",
            "environment": "current",
            "cpu": {"limit": 8},
            "memory": {"limit": "32G"},
        },
    ],
    "groups": {
        "default": {
            "quota": {
                "cpu": 2,
                "memory": "4G",
                "servers": 1,
                "storage": "1G",
                "dask": {"cores": 2, "workers": 2, "worker_memory": "1G", "clusters": 1},
            }
        },
        "researchers": {
            "users": [],
            "quota": {
                "cpu": 8,
                "memory": "32G",
                "servers": 2,
                "storage": "10G",
                "dask": {"cores": 4, "workers": 4, "worker_memory": "2G", "clusters": 2},
            },
        },
    },
    "catalog": {"path": str(REPO / "catalog" / "odatis.yaml")},
    "services": {
        "dask_gateway": {"enabled": True},
        "idle_culler": {"enabled": True, "timeout": 3600},
        "explorer": {"enabled": True},
        "repository": {"enabled": True, "registrar": "local"},
    },  # TODO(lead): enable once services land
}


#: A parseable kubeconfig with no cluster behind it: KubeSpawner and the gateway's Kubernetes
#: backend build their manifests, and their first API call is refused on loopback.
KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: odatis}}]
current-context: x
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_catalog(root: Path, days: int, keep: Callable[[str], bool], *, argo_cycles: int = 2) -> Path:
    """``root/odatis.yaml``: the entries of catalog/odatis.yaml that ``keep`` selects, over ``days`` days of
    freshly generated sample data in ``root/data`` (gridded SST as a Zarr store and as daily files, Argo)."""
    from odatis_vre.data import samples

    samples.sst_zarr(root / "data", days=days, progress=False)
    samples.sst_daily(root / "data", days=days, progress=False)
    samples.argo_profiles(root / "data", n_floats=2, n_cycles=argo_cycles, progress=False)
    main = yaml.safe_load((REPO / "catalog" / "odatis.yaml").read_text())
    sources = {k: v for k, v in main["sources"].items() if keep(k)}
    path = root / "odatis.yaml"
    path.write_text(yaml.safe_dump({"metadata": main.get("metadata", {}), "sources": sources}))
    return path


def readable(path: Path) -> Path:
    """Open ``path`` (a folder tree of test data) to the VRE's user and service accounts: they run the servers
    and services that read it (pytest makes its temporary folders private to root)."""
    path = Path(path)
    os.chmod(path, 0o755)
    for p in path.rglob("*"):
        if not p.is_symlink():
            os.chmod(p, p.stat().st_mode | (0o755 if p.is_dir() else 0o644))
    return path


def write_config(folder: Path, overrides: dict[str, Any] | None = None) -> Path:
    data = config.deep_merge(TEST_CONFIG, overrides or {})
    data["hub"]["port"] = data["hub"].get("port") or free_port()
    # accounts of its own per test deployment: stacks of concurrent test runs never share one
    tag = secrets.token_hex(2)
    data["hub"].setdefault("isolation", {})
    data["hub"]["isolation"].setdefault("prefix", f"t{tag}-")
    data["hub"]["isolation"].setdefault("service_account", f"t{tag}svc")
    # the deployment's folder is traversable (not listable) by its accounts, as a checkout must be
    os.chmod(folder, 0o711)
    path = folder / "vre.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    config.load(path)  # fail early on a wrong test config
    return path


class VRETestStack:
    """A running local VRE plus helpers to act as the admin or as a user."""

    def __init__(self, stack: Stack):
        self.stack = stack

    @property
    def url(self) -> str:
        return self.stack.url

    @property
    def admin_token(self) -> str:
        return self.stack.token

    @property
    def config_path(self) -> Path:
        return self.stack.config_path

    @property
    def cfg(self) -> config.VREConfig:
        return self.stack.cfg

    def stop(self) -> None:
        """Stop everything, then delete the deployment's system accounts (a test leaves none behind)."""
        try:
            self.stack.stop()
        finally:
            sysusers.purge(self.stack.cfg)

    def account(self, name: str) -> sysusers.Account:
        """``name``'s system account (multi-user mode)."""
        account = sysusers.lookup(self.stack.cfg, name)
        assert account is not None, f"{name} has no system account"
        return account

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        return self.stack.api(method, path, token=token, **kw)

    def create_user(self, name: str, password: str, groups: tuple[str, ...] = ()) -> None:
        r = self.api("PUT", f"/accounts/{name}", json={"password": password, "groups": list(groups)})
        assert r.status_code in (200, 201), r.text

    def login(self, name: str, password: str) -> requests.Session:
        s = requests.Session()
        s.get(f"{self.url}/hub/login", timeout=30)
        r = s.post(
            f"{self.url}/hub/login",
            data={"username": name, "password": password, "_xsrf": s.cookies.get("_xsrf")},
            timeout=60,
        )
        if "/hub/login" in r.url:
            raise AssertionError(f"login of {name} failed: {r.status_code} {r.url}")
        return s

    def user_token(self, name: str, scopes: list[str] | None = None) -> str:
        body: dict[str, Any] = {"note": "tests"}
        if scopes is not None:
            body["scopes"] = scopes
        r = self.api("POST", f"/users/{name}/tokens", json=body)
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def start_server(self, name: str, profile: str | None = None, timeout: float = 120) -> requests.Response:
        """Start ``name``'s default server through the REST API; wait until it is ready."""
        r = self.api("POST", f"/users/{name}/server", json={"profile": profile} if profile else {})
        if r.status_code not in (201, 202):
            return r
        self.wait_server(name, timeout)
        return r

    def wait_server(self, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{name}").json()
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            if not model.get("pending") and not server:
                raise AssertionError(f"the server of {name} stopped while starting: {model}")
            time.sleep(0.1)
        raise AssertionError(f"the server of {name} was not ready within {timeout} s")

    def stop_server(self, name: str) -> None:
        self.api("DELETE", f"/users/{name}/server")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not (self.api("GET", f"/users/{name}").json().get("servers") or {}):
                return
            time.sleep(0.1)

    def browse_api(self, session: requests.Session, name: str, path: str) -> requests.Response:
        """Open ``name``'s JupyterLab as a browser does (OAuth with the hub), then call its API with the xsrf token."""
        lab = session.get(f"{self.url}/user/{name}/lab", timeout=60)
        if lab.status_code != 200 or f"/user/{name}/" not in lab.url:
            return lab
        xsrf = session.cookies.get("_xsrf", path=f"/user/{name}/") or session.cookies.get("_xsrf")
        return session.get(f"{self.url}/user/{name}/{path}", headers={"X-XSRFToken": xsrf or ""}, timeout=60)

    def server_url(self, name: str) -> str:
        return f"{self.url}/user/{name}/"

    def browse_other(self, session: requests.Session, owner: str, path: str) -> requests.Response:
        """Like :meth:`browse_api` on someone else's server: clicks "Authorize" on the hub's consent page
        (shown when a user opens a server shared with them), then calls the server's API."""
        import re

        lab = session.get(f"{self.url}/user/{owner}/lab", timeout=60)
        if lab.status_code == 200 and "/oauth2/authorize" in lab.url and "_xsrf" in lab.text:
            fields = re.findall(r'<input type="hidden" name="(_xsrf|scopes)" value="([^"]*)"', lab.text)
            lab = session.post(lab.url, data=[(k, html.unescape(v)) for k, v in fields], timeout=60)
        if lab.status_code != 200 or f"/user/{owner}/" not in lab.url:
            return lab
        xsrf = session.cookies.get("_xsrf", path=f"/user/{owner}/") or session.cookies.get("_xsrf")
        return session.get(f"{self.url}/user/{owner}/{path}", headers={"X-XSRFToken": xsrf or ""}, timeout=60)


def start_stack(folder: Path, overrides: dict[str, Any] | None = None) -> VRETestStack:
    stack = Stack(write_config(folder, overrides))
    stack.start(timeout=120)
    return VRETestStack(stack)
