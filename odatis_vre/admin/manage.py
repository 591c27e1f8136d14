"""Administration: images (profiles), quotas, users and groups — over ``vre.yaml`` and the hub's REST API.

Changes to ``vre.yaml`` are validated against the schema and written atomically
(:func:`odatis_vre.config.save`); the hub and the gateway re-read the file when it
changes (``config.load(cached=True)``), so a change applies to the next server and the
next Dask cluster without restarting anything. Users and group memberships are written
to both the running hub (at once) and ``vre.yaml`` (so they survive a hub restart).

>>> from odatis_vre import admin
>>> admin.set_quota("vre.yaml", "researchers", cpu=4, dask_clusters=2)      # doctest: +SKIP
{'cpu': 4, 'memory': '16G', ..., 'dask': {..., 'clusters': 2}}
>>> hub = admin.HubClient.from_config(config.load("vre.yaml"))            # doctest: +SKIP
>>> admin.add_user(hub, "vre.yaml", "ann", groups=["researchers"])         # doctest: +SKIP
'q7RkZ2...'   # the generated password, shown once
"""

from __future__ import annotations

import copy
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from .. import config as config_mod
from ..config import VREConfig
from ..users import quotas
from ..users.accounts import generate_password, username_problem, valid_username

ENV_TOKEN = "ODATIS_VRE_TOKEN"

#: ``quotas set`` option name → (path inside ``quota:``, converter)
QUOTA_KEYS: dict[str, tuple[tuple[str, ...], Callable[[str], Any]]] = {}


class AdminError(RuntimeError):
    """An administration request cannot be done; the message says why and what to do."""


# ---------------------------------------------------------------------------------------
# the hub's REST API


@dataclass
class HubClient:
    """The hub's REST API with an admin token.

    >>> hub = HubClient("http://127.0.0.1:8000", "secret")   # doctest: +SKIP
    >>> hub.get("/users/ann")["groups"]                       # doctest: +SKIP
    ['researchers']
    """

    url: str
    token: str
    timeout: float = 60

    @classmethod
    def from_config(cls, cfg: VREConfig, url: str | None = None, token: str | None = None) -> HubClient:
        """The hub of ``cfg`` with ``token``, else ``$ODATIS_VRE_TOKEN``, else the local CLI token."""
        token = token or os.environ.get(ENV_TOKEN)
        if not token:
            path = cfg.state_dir / "cli_token"
            if path.exists():
                token = path.read_text().strip()
        if not token:
            raise AdminError(
                f"No admin API token: pass --token or set {ENV_TOKEN} (an admin gets one at "
                f"{url or cfg.hub_url}/hub/token); the local mode uses {cfg.state_dir / 'cli_token'} once "
                "`odatis-vre up` has run."
            )
        return cls((url or cfg.hub_url).rstrip("/"), token)

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), **kw: Any) -> requests.Response:
        """Call ``/hub/api<path>``; raise :class:`AdminError` with the hub's message unless the status is in ``ok``."""
        try:
            headers = {"Authorization": f"token {self.token}"} | kw.pop("headers", {})
            r = requests.request(method, f"{self.url}/hub/api{path}", timeout=self.timeout, headers=headers, **kw)
        except requests.ConnectionError:
            raise AdminError(
                f"The hub at {self.url} does not answer: start it (`odatis-vre up`) or pass --hub-url."
            ) from None
        if r.status_code not in ok:
            try:
                message = r.json().get("message") or r.text
            except ValueError:
                message = r.text[:300]
            if r.status_code == 403:
                message += " (the token lacks admin rights: use an admin's token)"
            raise AdminError(f"{method} {path}: the hub answered {r.status_code}: {message}")
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw).json()

    def exists(self, path: str) -> bool:
        return self.request("GET", path, ok=(200, 404)).status_code == 200

    def users(self) -> list[dict[str, Any]]:
        """Every user model, following the hub's pagination."""
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.request(
                "GET",
                "/users",
                params={"offset": offset, "limit": 200},
                headers={"Accept": "application/jupyterhub-pagination+json"},
            )
            body = page.json()
            items = body["items"] if isinstance(body, dict) else body
            out.extend(items)
            nxt = (body.get("_pagination") or {}).get("next") if isinstance(body, dict) else None
            if not nxt or not items:
                return out
            offset = nxt["offset"]

    def stop_servers(self, name: str, timeout: float = 120) -> None:
        """Stop every server of ``name`` and wait until the hub says they are gone."""
        model = self.request("GET", f"/users/{name}", ok=(200, 404))
        if model.status_code == 404:
            return
        for sname in model.json().get("servers") or {}:
            path = f"/users/{name}/servers/{sname}" if sname else f"/users/{name}/server"
            self.request("DELETE", path, ok=(202, 204, 400, 404))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.request("GET", f"/users/{name}", ok=(200, 404))
            if r.status_code == 404 or not (r.json().get("servers") or {}):
                return
            time.sleep(0.2)
        raise AdminError(f"The servers of {name} did not stop within {timeout:.0f} s; see the hub's log.")

    def ensure_group(self, name: str) -> None:
        if not self.exists(f"/groups/{name}"):
            self.request("POST", f"/groups/{name}", ok=(201, 409))


# ---------------------------------------------------------------------------------------
# vre.yaml edits


def edit_config(path: str | os.PathLike[str], change: Callable[[dict[str, Any]], Any]) -> tuple[VREConfig, Any]:
    """Apply ``change`` to the file's content, validate, write atomically; return the new config and change's result.

    Nothing is written when ``change`` or the validation raises: the file stays as it was.
    """
    raw = config_mod.read_raw(path)
    work = copy.deepcopy(raw)
    result = change(work)
    try:
        cfg = config_mod.save(work, path)
    except config_mod.ConfigError as exc:
        raise AdminError(f"{exc}\nNothing was changed.") from None
    return cfg, result


def _profiles(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return raw.setdefault("profiles", [])


def _groups(raw: dict[str, Any]) -> dict[str, Any]:
    if raw.get("groups") is None:
        raw["groups"] = {}
    return raw["groups"]


# ---------------------------------------------------------------------------------------
# images (profiles)


def list_images(cfg: VREConfig) -> list[dict[str, Any]]:
    """One row per profile: name, image, limits, groups, default, retired.

    >>> cfg = config_mod.from_dict({"profiles": [{"name": "p", "display_name": "P", "image": "i:1"}]})
    >>> list_images(cfg)[0]["image"], list_images(cfg)[0]["retired"]
    ('i:1', False)
    """
    return [
        {
            "name": p["name"],
            "display_name": p["display_name"],
            "image": p["image"],
            "environment": p.get("environment", "current"),
            "cpu": (p.get("cpu") or {}).get("limit"),
            "memory": (p.get("memory") or {}).get("limit"),
            "groups": ",".join(p.get("groups") or []) or "all",
            "default": bool(p.get("default")),
            "retired": bool(p.get("retired")),
        }
        for p in cfg.profiles
    ]


def add_image(
    path: str | os.PathLike[str],
    name: str,
    image: str,
    *,
    display_name: str | None = None,
    description: str = "",
    environment: str | None = None,
    cpu: float | None = None,
    memory: str | None = None,
    cpu_guarantee: float | None = None,
    memory_guarantee: str | None = None,
    groups: tuple[str, ...] = (),
    default: bool = False,
) -> dict[str, Any]:
    """Add a profile offered to new servers at once; return it as written."""
    profile: dict[str, Any] = {"name": name, "display_name": display_name or name, "image": image}
    if description:
        profile["description"] = description
    if environment:
        profile["environment"] = environment
    for key, guarantee, limit in (("cpu", cpu_guarantee, cpu), ("memory", memory_guarantee, memory)):
        res = {k: v for k, v in (("guarantee", guarantee), ("limit", limit)) if v is not None}
        if res:
            profile[key] = res
    if groups:
        profile["groups"] = list(groups)
    if default:
        profile["default"] = True

    def change(raw: dict[str, Any]) -> None:
        profiles = _profiles(raw)
        for p in profiles:
            if p["name"] == name:
                state = "retired" if p.get("retired") else "offered"
                raise AdminError(
                    f"A profile named {name!r} already exists ({state}, image {p['image']}): "
                    "choose another name (profiles keep their name for the usage records)."
                )
            if default:
                p.pop("default", None)
        profiles.append(profile)

    edit_config(path, change)
    return profile


def retire_image(path: str | os.PathLike[str], name: str) -> bool:
    """Stop offering profile ``name`` to new servers (running servers keep it); False if it was already retired."""

    def change(raw: dict[str, Any]) -> bool:
        profiles = _profiles(raw)
        match = [p for p in profiles if p["name"] == name]
        if not match:
            raise AdminError(
                f"No profile named {name!r}; profiles: {', '.join(p['name'] for p in profiles)} "
                "(`odatis-vre admin images list`)."
            )
        p = match[0]
        if p.get("retired"):
            return False
        if not [q for q in profiles if q is not p and not q.get("retired")]:
            raise AdminError(
                f"{name!r} is the last profile offered: add its successor first "
                "(`odatis-vre admin images add`), then retire it."
            )
        p["retired"] = True
        p.pop("default", None)
        return True

    return edit_config(path, change)[1]


# ---------------------------------------------------------------------------------------
# quotas


def _number(text: Any) -> float | int:
    v = float(text)
    return int(v) if v.is_integer() else v


def _integer(text: Any) -> int:
    v = float(text)
    if not v.is_integer() or v < 0:
        raise ValueError(f"{text!r} is not a whole number")
    return int(v)


def _size(text: Any) -> str | int:
    if isinstance(text, int):
        return text
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?[KMGT]?", str(text).strip()):
        raise ValueError("not a size (a number of bytes, or a number followed by K, M, G or T)")
    return str(text).strip()


QUOTA_KEYS.update(
    {
        "cpu": (("cpu",), _number),
        "memory": (("memory",), _size),
        "servers": (("servers",), _integer),
        "storage": (("storage",), _size),
        "dask_cores": (("dask", "cores"), _number),
        "dask_workers": (("dask", "workers"), _integer),
        "dask_worker_memory": (("dask", "worker_memory"), _size),
        "dask_clusters": (("dask", "clusters"), _integer),
    }
)

UNLIMITED_WORDS = {"unlimited", "none", "-"}


def show_quotas(cfg: VREConfig) -> dict[str, dict[str, Any]]:
    """Each group's quota as effective values (``None`` = unlimited), in the order of ``vre.yaml``."""
    out = {}
    for name, spec in cfg.groups.items():
        q = quotas.Quota.from_config(spec.get("quota") or {}, f"group '{name}'").as_dict()
        q.pop("source")
        out[name] = q
    return out


def set_quota(path: str | os.PathLike[str], group: str, **values: Any) -> dict[str, Any]:
    """Set some limits of ``group``'s quota (``'unlimited'`` removes a limit); return the new quota.

    Keys: cpu, memory, servers, storage, dask_cores, dask_workers, dask_worker_memory, dask_clusters.
    """
    unknown = set(values) - set(QUOTA_KEYS)
    if unknown:
        raise AdminError(f"Unknown quota key(s): {', '.join(sorted(unknown))}; known: {', '.join(QUOTA_KEYS)}.")
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        raise AdminError("Nothing to set: give at least one limit, e.g. --cpu 4 --memory 8G --dask-clusters 2.")
    converted: dict[str, Any] = {}
    for key, value in given.items():
        if isinstance(value, str) and value.strip().lower() in UNLIMITED_WORDS:
            converted[key] = None
            continue
        try:
            converted[key] = QUOTA_KEYS[key][1](value)
        except (TypeError, ValueError) as exc:
            raise AdminError(
                f"--{key.replace('_', '-')} {value!r}: {exc}; e.g. --cpu 2, --memory 4G, --servers 1, "
                "or 'unlimited'. Nothing was changed."
            ) from None

    def change(raw: dict[str, Any]) -> dict[str, Any]:
        groups = _groups(raw)
        if group not in groups:
            raise AdminError(
                f"No group named {group!r} in the configuration (groups: {', '.join(groups) or 'none'}); "
                f"create it with `odatis-vre admin groups add {group}`."
            )
        spec = groups[group] if groups[group] is not None else {}
        groups[group] = spec
        quota = spec.setdefault("quota", {})
        for key, value in converted.items():
            where = QUOTA_KEYS[key][0]
            node = quota
            for part in where[:-1]:
                node = node.setdefault(part, {})
            if value is None:
                node.pop(where[-1], None)
            else:
                node[where[-1]] = value
        if quota.get("dask") == {}:
            quota.pop("dask")
        return copy.deepcopy(quota)

    return edit_config(path, change)[1]


# ---------------------------------------------------------------------------------------
# groups


def list_groups(cfg: VREConfig, hub: HubClient | None = None) -> list[dict[str, Any]]:
    """Groups of ``vre.yaml`` (with their quota) and of the running hub, with their members."""
    hub_groups: dict[str, list[str]] = {}
    if hub is not None:
        for g in hub.get("/groups"):
            hub_groups[g["name"]] = list(g.get("users") or [])
    out = []
    for name in list(cfg.groups) + [g for g in hub_groups if g not in cfg.groups]:
        spec = cfg.groups.get(name) or {}
        members = sorted(set(spec.get("users") or []) | set(hub_groups.get(name, [])))
        out.append(
            {
                "name": name,
                "description": spec.get("description", ""),
                "members": members,
                "in_config": name in cfg.groups,
                "in_hub": name in hub_groups if hub else None,
                "has_quota": "quota" in spec,
            }
        )
    return out


def add_group(
    path: str | os.PathLike[str],
    name: str,
    *,
    description: str = "",
    quota_from: str | None = None,
    hub: HubClient | None = None,
) -> dict[str, Any]:
    """Create a group in ``vre.yaml`` (with a copy of ``quota_from``'s quota) and in the running hub."""

    def change(raw: dict[str, Any]) -> dict[str, Any]:
        groups = _groups(raw)
        if name in groups:
            raise AdminError(
                f"The group {name!r} already exists; change its quota with `odatis-vre admin quotas set {name} ...`."
            )
        spec: dict[str, Any] = {}
        if description:
            spec["description"] = description
        spec["users"] = []
        if quota_from:
            if quota_from not in groups or "quota" not in (groups[quota_from] or {}):
                raise AdminError(
                    f"--quota-from {quota_from!r}: no such group with a quota (groups: {', '.join(groups)})."
                )
            spec["quota"] = copy.deepcopy(groups[quota_from]["quota"])
        groups[name] = spec
        return spec

    spec = edit_config(path, change)[1]
    if hub is not None:
        hub.ensure_group(name)
    return spec


def remove_group(path: str | os.PathLike[str], name: str, hub: HubClient | None = None) -> None:
    """Delete a group from ``vre.yaml`` and from the hub; its members fall back to their other groups' quotas."""
    if name == "default":
        raise AdminError(
            "The 'default' group holds the quota of users in no other group: it cannot be removed "
            "(change it with `odatis-vre admin quotas set default ...`)."
        )

    def change(raw: dict[str, Any]) -> None:
        groups = _groups(raw)
        used_by = [p["name"] for p in _profiles(raw) if name in (p.get("groups") or [])]
        if used_by:
            raise AdminError(
                f"The profile(s) {', '.join(used_by)} are restricted to {name!r}: change or retire them first."
            )
        if name not in groups and hub is None:
            raise AdminError(f"No group named {name!r} (groups: {', '.join(groups) or 'none'}).")
        groups.pop(name, None)

    edit_config(path, change)
    if hub is not None:
        hub.request("DELETE", f"/groups/{name}", ok=(204, 404))


# ---------------------------------------------------------------------------------------
# users


def parse_date(text: str, *, end_of_day: bool = True) -> float:
    """A date or date-time (ISO 8601, local time zone unless given) → UNIX time.

    A bare date means the end of that day when ``end_of_day`` (an account valid "until 2026-12-04"
    works on the 4th).

    >>> parse_date("2026-12-04T10:00:00+00:00")
    1796378400.0
    """
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AdminError(f"{text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (ISO 8601).") from None
    if len(text.strip()) == 10 and end_of_day:
        dt = dt.replace(hour=23, minute=59, second=59)
    if dt.tzinfo is None:
        dt = dt.astimezone()  # the machine's local zone
    return dt.timestamp()


def add_user(
    hub: HubClient,
    path: str | os.PathLike[str],
    name: str,
    *,
    groups: tuple[str, ...] = (),
    password: str | None = None,
    expires: float | None = None,
) -> str | None:
    """Create (or update) ``name`` in the hub and its groups; return the password (generated if not given).

    In OAuth mode the identity provider owns passwords: the user is only created in the hub.
    """
    if not valid_username(name):
        raise AdminError(username_problem(name) + ".")
    cfg = config_mod.load(path)
    missing = [g for g in groups if g not in cfg.groups]
    if missing:
        raise AdminError(
            f"No group(s) {', '.join(missing)} in {cfg.path} (groups: {', '.join(cfg.groups)}); "
            f"create one with `odatis-vre admin groups add {missing[0]}`."
        )
    if expires is not None and expires < time.time():
        raise AdminError("The expiry date is in the past: give a future date (--expires YYYY-MM-DD).")
    for g in groups:
        hub.ensure_group(g)
    if cfg.data["auth"]["type"] == "local":
        password = password or generate_password(14)
        body: dict[str, Any] = {"password": password, "groups": list(groups)}
        if expires is not None:
            body["expires"] = expires
        hub.request("PUT", f"/accounts/{name}", json=body)
    else:
        password = None
        hub.request("POST", f"/users/{name}", ok=(201, 409))
        for g in groups:
            hub.request("POST", f"/groups/{g}/users", json={"users": [name]})

    if groups:

        def change(raw: dict[str, Any]) -> None:
            for g in groups:
                spec = _groups(raw)[g]
                if spec is None:
                    spec = _groups(raw)[g] = {}
                users = spec.setdefault("users", [])
                if name not in users:
                    users.append(name)

        edit_config(path, change)
    return password


def remove_user(hub: HubClient, path: str | os.PathLike[str], name: str) -> None:
    """Stop ``name``'s servers, delete the user from the hub and its login, and from ``vre.yaml``'s groups."""
    found = hub.exists(f"/users/{name}")
    cfg = config_mod.load(path)
    in_config = [g for g, spec in cfg.groups.items() if name in (spec.get("users") or [])]
    if not found and not in_config:
        raise AdminError(f"No user named {name!r} in the hub nor in {cfg.path} (`odatis-vre admin users list`).")
    if name in cfg.hub["admin_users"]:
        raise AdminError(f"{name!r} is in hub.admin_users of {cfg.path}: remove it from there first.")
    if found:
        hub.stop_servers(name)
        hub.request("DELETE", f"/users/{name}", ok=(204, 404))
    if cfg.data["auth"]["type"] == "local":
        hub.request("DELETE", f"/accounts/{name}", ok=(204, 404))
    if in_config:

        def change(raw: dict[str, Any]) -> None:
            for g in in_config:
                users = _groups(raw)[g].get("users") or []
                _groups(raw)[g]["users"] = [u for u in users if u != name]

        edit_config(path, change)


def list_users(hub: HubClient, cfg: VREConfig, group: str | None = None) -> list[dict[str, Any]]:
    """Users of the hub (filtered by ``group``): groups, admin, running servers, last activity, expiry."""
    if group is not None and group not in cfg.groups and not hub.exists(f"/groups/{group}"):
        raise AdminError(f"No group named {group!r} (`odatis-vre admin groups`).")
    expiry: dict[str, float | None] = {}
    if cfg.data["auth"]["type"] == "local" and (cfg.state_dir / "accounts.sqlite").exists():
        from ..users.accounts import store_for

        store = store_for(cfg.state_dir)
        try:
            expiry = {a.username: a.expires for a in store.list()}
        finally:
            store.close()
    rows = []
    for u in hub.users():
        groups = quotas.user_groups(cfg, u["name"], u.get("groups") or [])
        if group is not None and group not in groups:
            continue
        exp = expiry.get(u["name"])
        rows.append(
            {
                "name": u["name"],
                "groups": ",".join(groups),
                "admin": bool(u.get("admin")),
                "servers": len([s for s in (u.get("servers") or {}).values() if s.get("ready") or s.get("pending")]),
                "last_activity": (u.get("last_activity") or "")[:19],
                "expires": datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%d %H:%M UTC") if exp else "",
            }
        )
    return rows


def iter_table(rows: list[dict[str, Any]]) -> Iterator[str]:
    """Rows of dicts as an aligned text table (for the CLI)."""
    if not rows:
        return
    cols = list(rows[0])
    text = [
        [("yes" if v is True else "no" if v is False else "" if v is None else str(v)) for v in r.values()]
        for r in rows
    ]
    widths = [max(len(c), *(len(t[i]) for t in text)) for i, c in enumerate(cols)]
    yield "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()
    for t in text:
        yield "  ".join(v.ljust(w) for v, w in zip(t, widths)).rstrip()


def effective_quota(cfg: VREConfig, user: str, hub: HubClient | None = None) -> dict[str, Any]:
    """The quota that applies to ``user`` (most generous of their groups, else ``default``)."""
    hub_groups: list[str] = []
    if hub is not None:
        r = hub.request("GET", f"/users/{user}", ok=(200, 404))
        if r.status_code == 200:
            hub_groups = r.json().get("groups") or []
    return quotas.for_user(cfg, user, hub_groups).as_dict()
