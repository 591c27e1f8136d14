"""Apply ``vre.yaml`` to JupyterHub's traitlets config — the same function in both modes.

``hub/jupyterhub_config.py`` is two lines that call :func:`apply`. What differs between
the local and Kubernetes modes comes from :mod:`odatis_vre.hub.modes`; everything else
(authentication, roles, groups, services, the user environment) is set here once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..config import VREConfig
from ..users import sysusers
from . import modes

REPO = Path(__file__).resolve().parents[2]
HUB_DIR = REPO / "hub"
TEMPLATES = Path(__file__).resolve().parent / "templates"

#: Scopes of the API token inside a user's server: enough for the gateway (groups, service
#: access) and the repository to identify the user, nothing about other users.
SERVER_TOKEN_SCOPES = [
    "access:servers!user",
    "users:activity!user",
    "read:users:name!user",
    "read:users:groups!user",
    "access:services",
]


#: How a process in the hub's pod finds the Kubernetes API (in-cluster variables, or a kubeconfig)
KUBE_ENV = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG")

#: Environment variables the repository service needs for its DOI registrar (odatis_vre.publishing.registrars).
REGISTRAR_ENV = ("DATACITE_REPOSITORY_ID", "DATACITE_PASSWORD", "ZENODO_TOKEN")


def _set(c: Any, settings: dict[str, dict[str, Any]]) -> None:
    for cls, traits in settings.items():
        for trait, value in traits.items():
            setattr(getattr(c, cls), trait, value)


def _supervised(cmd: list[str]) -> list[str]:
    # Hub-managed services must die with the hub, even on SIGKILL, or they would hold their
    # ports against the next hub; the supervisor watches its parent and stops the service.
    return [sys.executable, "-m", "odatis_vre.hub.supervise", "--", *cmd]


def services(cfg: VREConfig, environ: dict[str, str]) -> list[dict[str, Any]]:
    """JupyterHub services: Dask Gateway, idle culler, explorer, repository."""
    svc = cfg.services
    managed = modes.managed_services(cfg)
    env = {
        "ODATIS_VRE_CONFIG": str(cfg.path) if cfg.path else "",
        "ODATIS_VRE_CATALOG": str(cfg.catalog_path),
        "PATH": environ.get("PATH", ""),
        "HOME": str(cfg.services_dir),
    }
    # local mode as root: the explorer, the repository and the culler run as the service account; only the
    # gateway keeps root, which it needs to start each cluster as its user's account
    as_services = {"user": cfg.isolation["service_account"]} if managed and sysusers.multi_user() else {}
    out: list[dict[str, Any]] = []
    if svc["dask_gateway"].get("enabled", True):
        s: dict[str, Any] = {"name": "dask-gateway", "url": modes.service_url(cfg, "dask-gateway"), "display": False}
        if managed:
            s["command"] = _supervised(
                [
                    str(Path(sys.executable).parent / "dask-gateway-server"),
                    "-f",
                    str(HUB_DIR / "dask_gateway_config.py"),
                    *gateway_db_args(cfg),
                ]
            )
            s["environment"] = env | {"DASK_GATEWAY_ENCRYPT_KEYS": gateway_encrypt_key(cfg)}
        else:
            s["api_token"] = environ.get("DASK_GATEWAY_API_TOKEN", "")
        out.append(s)
    if not managed and svc["dask_gateway"].get("enabled", True):
        # Kubernetes mode: the gateway keeps no database; the hub records Dask usage from its pods
        out.append(
            {
                "name": "dask-usage",
                "display": False,
                "command": [
                    sys.executable,
                    "-m",
                    "odatis_vre.admin.kube_usage",
                    "--state-dir",
                    str(cfg.state_dir),
                    "--namespace",
                    modes.kube_namespace(environ),
                    "--instance",
                    modes.K8S_GATEWAY_INSTANCE,
                ],
                # the hub starts services with a few variables only: the API server's address must be passed on
                "environment": {k: environ[k] for k in KUBE_ENV if environ.get(k)},
            }
        )
    if svc["idle_culler"].get("enabled", True):
        out.append(
            {
                "name": "idle-culler",
                "command": _supervised(
                    [
                        sys.executable,
                        "-m",
                        "jupyterhub_idle_culler",
                        f"--timeout={svc['idle_culler'].get('timeout', 3600)}",
                    ]
                ),
                **as_services,
            }
        )
    for name in ("explorer", "repository"):
        if not svc[name].get("enabled", True):
            continue
        s = {
            "name": name,
            "url": modes.service_url(cfg, name),
            "oauth_no_confirm": True,
            "display": True,
            "info": {"title": {"explorer": "Data explorer", "repository": "Repository"}[name]},
        }
        if managed:
            port = modes.local_ports(cfg)[name]
            s["command"] = _supervised([sys.executable, "-m", "odatis_vre", name, "serve", "--port", str(port)])
            s["environment"] = env
            s.update(as_services)
            if name == "repository":
                # the registrar's credentials stay with the service, never in users' servers
                s["environment"] = env | {k: environ[k] for k in REGISTRAR_ENV if environ.get(k)}
            # the service authenticates users through the hub (OAuth) at its own URL
            s["oauth_redirect_uri"] = f"{cfg.hub_url}/services/{name}/oauth_callback"
        else:
            s["api_token"] = environ.get(f"{name.upper()}_API_TOKEN", "")
        out.append(s)
    if environ.get("ODATIS_VRE_CLI_TOKEN"):
        # the `odatis-vre` command's own access (down, status, admin): a token kept in the state dir
        out.append({"name": "odatis-cli", "api_token": environ["ODATIS_VRE_CLI_TOKEN"], "display": False})
    return out


def gateway_db_args(cfg: VREConfig) -> list[str]:
    """Keep the local gateway's cluster records in the state dir for a year: usage accounting reads them."""
    from ..admin.usage import gateway_db_path

    return [
        f"--DBBackendBase.db_url=sqlite:///{gateway_db_path(cfg)}",
        f"--DBBackendBase.db_record_max_age={400 * 86400}",
    ]


def gateway_encrypt_key(cfg: VREConfig) -> str:
    """The Fernet key a persistent gateway database requires (created once, owner-only)."""
    import base64

    from .. import atomic

    return atomic.secret(
        cfg.state_dir / "gateway_encrypt_key", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()
    )


def workshop_roles(cfg: VREConfig) -> list[dict[str, Any]]:
    """One instructor role per workshop of vre.yaml: see, open, start and stop the participants' servers.

    (Between ``odatis-vre workshop create`` and the next hub start, shares of each participant's
    server give the instructors the same access: see :mod:`odatis_vre.admin.workshop`.)
    """
    out = []
    for name, ws in (cfg.data.get("workshops") or {}).items():
        group = ws.get("group") or f"workshop-{name}"
        out.append(
            {
                "name": f"workshop-{name}-instructor",
                "description": f"Instructors of the workshop {ws.get('title', name)}",
                "groups": [ws.get("instructors_group") or f"workshop-{name}-instructors"],
                "scopes": [
                    f"access:servers!group={group}",
                    f"servers!group={group}",
                    f"read:users!group={group}",
                    f"list:users!group={group}",
                    f"read:groups!group={group}",
                ],
            }
        )
    return out


def roles(service_names: set[str]) -> list[dict[str, Any]]:
    """RBAC: users may use services; each service gets only what it needs."""
    candidates: list[dict[str, Any]] = [
        # shares!user: users may share their own servers (share codes; workshops' shared sessions)
        {"name": "user", "scopes": ["self", "access:services", "shares!user"]},
        {
            "name": "idle-culler",
            "services": ["idle-culler"],
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        },
        {
            "name": "odatis-services",
            "services": ["explorer", "repository", "dask-gateway"],
            "scopes": ["read:users:name", "read:users:groups", "read:groups"],
        },
        {
            "name": "odatis-cli",
            "services": ["odatis-cli"],
            "scopes": [
                "admin:users",
                "admin:servers",
                "admin:groups",
                "list:users",
                "read:users",
                "read:servers",
                "list:services",
                "read:services",
                "tokens",
                "shares",
                "read:users:activity",
            ],
        },
    ]
    out = []
    for role in candidates:
        if "services" in role:
            role = role | {"services": [s for s in role["services"] if s in service_names]}
            if not role["services"]:
                continue
        out.append(role)
    return out


def apply(c: Any, cfg: VREConfig, environ: dict[str, str] | None = None) -> None:
    """Configure JupyterHub (``c`` from ``jupyterhub_config.py``) from the platform configuration."""
    environ = dict(os.environ if environ is None else environ)
    _set(c, modes.hub_settings(cfg))

    # authentication
    auth = cfg.data["auth"]
    c.Authenticator.admin_users = set(cfg.hub["admin_users"])
    if auth["type"] == "oauth":
        from .auth import oauth_settings

        # the same authenticator in both modes; in the local mode it also makes each user's system account
        c.JupyterHub.authenticator_class = "odatis_vre.hub.auth.VREOAuthenticator"
        _set(c, {"GenericOAuthenticator": oauth_settings(auth["oauth"], environ)})
    else:
        c.JupyterHub.authenticator_class = "odatis_vre.hub.auth.LocalAccountsAuthenticator"
        c.LocalAccountsAuthenticator.accounts_db = str(cfg.state_dir / "accounts.sqlite")
        # accounts exist only when an admin (or a workshop) creates them
        c.LocalAccountsAuthenticator.allow_all = True

    # groups (membership listed in vre.yaml) and roles
    if not (auth["type"] == "oauth" and auth["oauth"].get("groups_claim")):
        # with a groups claim the identity provider owns group membership (oauthenticator's manage_groups);
        # quotas still apply by group name
        c.JupyterHub.load_groups = {name: {"users": list(spec.get("users") or [])} for name, spec in cfg.groups.items()}
    svcs = services(cfg, environ)
    c.JupyterHub.services = svcs
    c.JupyterHub.load_roles = roles({s["name"] for s in svcs}) + workshop_roles(cfg)
    c.JupyterHub.concurrent_spawn_limit = cfg.hub.get("concurrent_spawn_limit", 100)
    # a group's 'servers' quota can exceed one: named servers, each counted by the spawners' quota check
    c.JupyterHub.allow_named_servers = any(q.get("quota", {}).get("servers", 1) > 1 for q in cfg.groups.values())

    # user servers: JupyterLab, the catalogue and the gateway found through the environment
    c.Spawner.default_url = "/lab"
    user_env = modes.singleuser_env(cfg, namespace=modes.kube_namespace(environ))
    c.Spawner.environment = user_env
    c.Spawner.server_token_scopes = SERVER_TOKEN_SCOPES
    c.Spawner.http_timeout = 120
    c.Spawner.start_timeout = 300
    if cfg.mode == "kubernetes":
        from .spawners import profiles_for_spawner

        c.KubeSpawner.profile_list = profiles_for_spawner
        c.KubeSpawner.environment = user_env
    c.JupyterHub.template_vars = {"announcement_login": "ODATIS ocean virtual research environment"}
    # the hub's pages say why a server stopped (e.g. out of memory: odatis_vre.hub.spawners)
    c.JupyterHub.template_paths = [str(TEMPLATES)]

    for cls, traits in (cfg.hub.get("extra_config") or {}).items():
        _set(c, {cls: traits})
