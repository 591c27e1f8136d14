"""Where the local and Kubernetes modes differ — and only here.

Everything else (authentication rules, profiles, quotas, groups, roles, services,
the user environment) is common and applied by :mod:`odatis_vre.hub.hubconfig`.
Each function returns plain data (traitlets settings as ``{Class: {trait: value}}``
or environment variables), so the differences are testable side by side.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from ..config import VREConfig
from . import hubdb, priority

#: Where the Kubernetes pods find things (mounted by the Helm chart).
K8S_CATALOG = "/srv/odatis/catalog/odatis.yaml"
K8S_GATEWAY_URL = "http://proxy-public/services/dask-gateway"
#: the Dask Gateway's Traefik (scheduler connections and dashboards, one port), from user pods
K8S_GATEWAY_HOST = "traefik-{release}-dask-gateway.{namespace}"
K8S_GATEWAY_PORT = 80
K8S_GATEWAY_PROXY = f"gateway://{K8S_GATEWAY_HOST}:{K8S_GATEWAY_PORT}"
#: where Traefik routes the gateway (the dask-gateway chart's ``gateway.prefix`` in helm/odatis-vre/values.yaml)
K8S_GATEWAY_PREFIX = "/services/dask-gateway"
#: the dask-gateway chart's instance label (its fullnameOverride in the chart's values)
K8S_GATEWAY_INSTANCE = "odatis-vre-dask-gateway"
#: the repository's catalogue of published datasets, reached inside the cluster through the hub's proxy
K8S_REPOSITORY_CATALOG = "http://proxy-public/services/repository/catalog.yaml"


# ---------------------------------------------------------------------------------------
# Local ports: allocated once and kept in the state directory, so that servers that outlive
# a hub restart still find the hub at the same address.

PORT_NAMES = ("hub_api", "proxy_api", "gateway_api", "gateway_http", "gateway_tcp", "explorer", "repository")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_ports(cfg: VREConfig) -> dict[str, int]:
    """The loopback ports of the local deployment (``<state_dir>/ports.json``), allocated on first use."""
    path = cfg.state_dir / "ports.json"
    ports: dict[str, int] = {}
    if path.exists():
        ports = json.loads(path.read_text())
    fixed = {
        "gateway_http": cfg.services["dask_gateway"].get("port"),
        "gateway_tcp": cfg.services["dask_gateway"].get("tcp_port"),
        "explorer": cfg.services["explorer"].get("port"),
        "repository": cfg.services["repository"].get("port"),
    }
    changed = False
    for name in PORT_NAMES:
        want = fixed.get(name)
        if want and ports.get(name) != want:
            ports[name] = want
            changed = True
        elif name not in ports:
            ports[name] = _free_port()
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(ports, indent=1))
        os.replace(tmp, path)
    return ports


def proxy_command() -> list[str]:
    """configurable-http-proxy: from PATH, else the project's ``.tools`` (installed by ``make``)."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return [found]
    local = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return [str(local)]
    from ..config import ConfigError

    raise ConfigError(
        "configurable-http-proxy is not installed: run `make install` "
        "(it installs it with npm into .tools/), or `npm install -g configurable-http-proxy`."
    )


# ---------------------------------------------------------------------------------------


def hub_settings(cfg: VREConfig) -> dict[str, dict[str, Any]]:
    """Traitlets that depend on the mode: spawner, database, ports, proxy, secrets."""
    if cfg.mode == "kubernetes":
        # zero-to-jupyterhub's own config sets the hub's ports, database, proxy and secrets;
        # we only choose our KubeSpawner subclass.
        return {"JupyterHub": {"spawner_class": "odatis_vre.hub.spawners.VREKubeSpawner"}}
    state = cfg.state_dir
    ports = local_ports(cfg)
    h = cfg.hub
    db_url = h.get("db_url") or f"sqlite:///{state / 'jupyterhub.sqlite'}"
    return {
        "JupyterHub": {
            "spawner_class": "odatis_vre.hub.spawners.VRELocalSpawner",
            "ip": h["ip"],
            "port": h["port"],
            "base_url": h["base_url"],
            "hub_ip": "127.0.0.1",
            "hub_port": ports["hub_api"],
            "db_url": db_url,
            # commits without fsync (write-ahead log): see odatis_vre.hub.hubdb
            "db_kwargs": hubdb.engine_kwargs() if db_url.startswith("sqlite:///") else {},
            "cookie_secret_file": str(state / "jupyterhub_cookie_secret"),
            # servers outlive a hub restart; `odatis-vre down` stops them explicitly
            "cleanup_servers": False,
        },
        "ConfigurableHTTPProxy": {
            "api_url": f"http://127.0.0.1:{ports['proxy_api']}",
            "pid_file": str(state / PROXY_PID),
            "command": proxy_command(),
        },
    }


#: The local proxy's pid file in the state directory (`odatis-vre down` stops a proxy its dead hub left)
PROXY_PID = "proxy.pid"

#: Where a pod finds its namespace when ``POD_NAMESPACE`` is not set (every pod with a service account)
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def kube_namespace(environ: dict[str, str] | None = None, default: str = "odatis") -> str:
    """The hub's own namespace: ``$POD_NAMESPACE``, else the pod's service account, else ``default``.

    User pods reach the Dask Gateway's Traefik at ``<service>.<namespace>``: the chart installs into
    any namespace, and the hub tells user pods which one.
    """
    environ = dict(os.environ if environ is None else environ)
    if environ.get("POD_NAMESPACE"):
        return environ["POD_NAMESPACE"]
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or default
    except OSError:
        return default


def singleuser_env(cfg: VREConfig, *, release: str = "odatis-vre", namespace: str = "odatis") -> dict[str, str]:
    """Environment of every user server: where the catalogue, the gateway and the services are."""
    common = {
        "ODATIS_VRE_MODE": cfg.mode,
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
        "DASK_DISTRIBUTED__DASHBOARD__LINK": "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status",
        # JupyterLab's Dask sidebar (dask-labextension) makes Dask Gateway clusters, whose dashboards it
        # shows through the user's server (DASK_GATEWAY__PUBLIC_ADDRESS below, in each mode)
        "DASK_LABEXTENSION__FACTORY__MODULE": "dask_gateway",
        "DASK_LABEXTENSION__FACTORY__CLASS": "GatewayCluster",
        # Panel, HoloViews and Bokeh in notebooks load BokehJS from a CDN by default: from the notebook itself
        # instead, so plots and widgets work where servers have no way out (and no request leaves the VRE)
        "PANEL_INLINE": "true",
        "BOKEH_RESOURCES": "inline",
    }
    if cfg.services["repository"].get("enabled", True):
        # published datasets join the catalogue (odatis_vre.catalog.open reads this include)
        common["ODATIS_VRE_CATALOG_INCLUDES"] = (
            K8S_REPOSITORY_CATALOG if cfg.mode == "kubernetes" else f"{cfg.hub_url}/services/repository/catalog.yaml"
        )
    if cfg.mode == "kubernetes":
        # KubeSpawner expands {name} in environment values: keep dask's own placeholders literal
        common = {k: v.replace("{", "{{").replace("}", "}}") for k, v in common.items()}
        return common | {
            "ODATIS_VRE_CATALOG": K8S_CATALOG,
            "ODATIS_VRE_CONFIG": "/etc/odatis-vre/vre.yaml",
            "DASK_GATEWAY__ADDRESS": K8S_GATEWAY_URL,
            "DASK_GATEWAY__PROXY_ADDRESS": K8S_GATEWAY_PROXY.format(release=release, namespace=namespace),
            # dashboards through the user's own server, as in the local mode: jupyter-server-proxy to the
            # gateway's Traefik (its host is in the server's proxy allow-list: odatis_vre.hub.server_setup), behind
            # the user's login; JupyterLab's Dask sidebar cannot show the hub's /services/dask-gateway/ route
            # (it proxies links outside the server itself, dropping their path)
            "DASK_GATEWAY__PUBLIC_ADDRESS": "{{JUPYTERHUB_SERVICE_PREFIX}}" + k8s_dashboard_route(release, namespace),
        }
    ports = local_ports(cfg)
    return common | {
        # kernels and terminals below the hub's CPU priority (one machine shared by everyone: odatis_vre.hub.priority)
        "JUPYTER_DEFAULT_PROVISIONER_NAME": priority.PROVISIONER,
        "SHELL": str(Path(sys.executable).parent / "odatis-vre-shell"),
        "ODATIS_VRE_CATALOG": str(cfg.catalog_path),
        "ODATIS_VRE_CONFIG": str(cfg.path) if cfg.path else "",
        "DASK_GATEWAY__ADDRESS": f"{cfg.hub_url}/services/dask-gateway",
        "DASK_GATEWAY__PROXY_ADDRESS": f"gateway://127.0.0.1:{ports['gateway_tcp']}",
        # dashboards through the user's own server (jupyter-server-proxy to the gateway's loopback port): only
        # the user (and whom they share their server with) opens them, and JupyterLab's Dask sidebar shows them
        # (it proxies other links itself, dropping their path: a gateway's dashboards live under a path)
        "DASK_GATEWAY__PUBLIC_ADDRESS": "{JUPYTERHUB_SERVICE_PREFIX}" + f"proxy/{ports['gateway_http']}"
        f"{cfg.hub['base_url'].rstrip('/')}/services/dask-gateway/",
    }


def k8s_dashboard_route(release: str = "odatis-vre", namespace: str = "odatis") -> str:
    """The gateway's dashboards below a user server's prefix in Kubernetes: jupyter-server-proxy's route to Traefik.

    Example
    -------
    >>> k8s_dashboard_route("odatis-vre", "ocean")
    'proxy/traefik-odatis-vre-dask-gateway.ocean:80/services/dask-gateway/'
    """
    host = K8S_GATEWAY_HOST.format(release=release, namespace=namespace)
    return f"proxy/{host}:{K8S_GATEWAY_PORT}{K8S_GATEWAY_PREFIX}/"


def service_url(cfg: VREConfig, name: str) -> str:
    """Where the hub's proxy sends ``/services/<name>/`` in this mode."""
    if cfg.mode == "kubernetes":
        return {
            "dask-gateway": "http://traefik-odatis-vre-dask-gateway",
            "explorer": "http://odatis-vre-explorer:8000",
            "repository": "http://odatis-vre-repository:8000",
        }[name]
    ports = local_ports(cfg)
    port = {"dask-gateway": ports["gateway_http"], "explorer": ports["explorer"], "repository": ports["repository"]}[
        name
    ]
    return f"http://127.0.0.1:{port}"


def managed_services(cfg: VREConfig) -> bool:
    """Local mode: the hub starts the services itself; Kubernetes: they run as Deployments."""
    return cfg.mode == "local"
