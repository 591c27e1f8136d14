"""Authentication: local accounts (embedded mode) and generic OAuth/OIDC (any mode).

``LocalAccountsAuthenticator`` checks passwords against :mod:`odatis_vre.users.accounts` and adds
an admin REST endpoint, ``/hub/api/accounts/<name>``, so that accounts can be created over
the hub's API (``PUT`` with ``{"password": ...}``; needs the ``admin:users`` scope).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyterhub import orm
from jupyterhub.apihandlers import APIHandler
from jupyterhub.auth import Authenticator
from jupyterhub.scopes import needs_scope
from jupyterhub.utils import maybe_future
from tornado import web
from traitlets import Unicode

from ..users.accounts import AccountError, AccountStore, store_for, username_problem

#: Threads' niceness for password hashing: above the hub's event loop thread, which shares the process
HASH_NICENESS = 10


def _lower_this_thread() -> None:
    # on Linux a thread has its own nice value: the hashing threads yield the CPU to the event loop
    # thread of the same process, so 30 logins at once do not delay every API answer of the hub
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


#: PBKDF2 (~0.1 s each, GIL released) runs here, off the hub's event loop. Two workers: a third
#: would not hash faster on a 2-core machine, and would take CPU from the loop.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="odatis-password", initializer=_lower_this_thread)


async def _hashing(func: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, func, *args)


class AccountAPIHandler(APIHandler):
    """``PUT /hub/api/accounts/<name>`` sets a password (creating the user); ``DELETE`` removes it."""

    @property
    def store(self) -> AccountStore:
        return self.authenticator.store

    def _body(self) -> dict[str, Any]:
        """The JSON object of the request, or a 400 saying what to send."""
        example = 'e.g. {"password": "a-long-password", "groups": ["researchers"]}'
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, f"The body is not JSON: send a JSON object, {example}.") from None
        if not isinstance(data, dict):
            raise web.HTTPError(400, f"The body must be a JSON object, not {type(data).__name__}: {example}.")
        unknown = sorted(set(data) - {"password", "groups", "expires"})
        if unknown:
            raise web.HTTPError(
                400,
                f"Unknown field(s) {', '.join(map(repr, unknown))}: send only password, groups and expires, {example}.",
            )
        return data

    @staticmethod
    def _expires(value: Any) -> float | None:
        """``expires``: a UNIX time or an ISO 8601 date(-time), in the future; None for no expiry."""
        if value is None or value == "":
            return None
        from ..admin.manage import AdminError, parse_date

        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise web.HTTPError(400, f"'expires' {value!r}: give a date (\"2026-12-31\") or a UNIX time in seconds.")
        try:
            ts = float(value) if not isinstance(value, str) else parse_date(value)
        except (AdminError, ValueError):
            raise web.HTTPError(
                400, f"'expires' {value!r} is not a date: give YYYY-MM-DD[THH:MM] or a UNIX time in seconds."
            ) from None
        if ts <= time.time():
            raise web.HTTPError(
                400,
                f"'expires' {value!r} is in the past: give a future date, or leave it out for "
                f"an account that does not expire.",
            )
        return ts

    @needs_scope("admin:users")
    async def put(self, user_name: str) -> None:
        problem = username_problem(user_name)
        if problem:
            raise web.HTTPError(400, problem + ".")
        data = self._body()
        password = data.get("password")
        if not isinstance(password, str):
            raise web.HTTPError(400, "Send a JSON body with a 'password' string (8 characters at least).")
        expires = self._expires(data.get("expires"))
        names = data.get("groups") or []
        if not isinstance(names, list) or not all(isinstance(g, str) and g for g in names):
            raise web.HTTPError(400, f"'groups' must be a list of group names, e.g. [\"researchers\"], not {names!r}.")
        groups = []
        for gname in names:
            group = orm.Group.find(self.db, gname)
            if group is None:
                raise web.HTTPError(400, f"No group named {gname!r}: create it first (`odatis-vre admin groups add`).")
            groups.append(group)
        auth = self.authenticator
        try:
            # hashing takes ~0.1 s: off the event loop, so creating a room of seats does not stall the hub
            await _hashing(auth._set_password_in_thread, user_name, password, expires)
        except AccountError as exc:
            raise web.HTTPError(400, str(exc)) from None
        user = self.find_user(user_name)
        created = user is None
        if created:
            user = self.user_from_username(user_name)
            self.db.commit()
        # the system account (local mode as root), also for a hub user that existed without a password
        await maybe_future(auth.add_user(user))
        for group in groups:
            if user.orm_user not in group.users:
                group.users.append(user.orm_user)
        self.db.commit()
        self.set_status(201 if created else 200)
        self.write(json.dumps({"name": user_name, "created": created, "groups": [g.name for g in user.groups]}))

    @needs_scope("admin:users")
    async def delete(self, user_name: str) -> None:
        removed = self.store.remove(user_name)
        if not removed:
            raise web.HTTPError(404, f"No local account named {user_name!r}.")
        self.set_status(204)


class SystemAccountsMixin:
    """Local mode as root: a hub user gets a system account when created, loses it when deleted.

    JupyterHub calls ``add_user`` for every new user (REST API, first OAuth login, the accounts
    endpoint, users listed in the configuration at start) and ``delete_user`` when one is deleted.
    A deleted user's account is locked and its processes stopped; its home is kept (a workshop's
    end archives homes, then removes the accounts: :func:`odatis_vre.admin.workshop.end`).
    """

    @staticmethod
    def _vre_cfg() -> Any:
        from .. import config

        return config.load(os.environ.get(config.ENV_CONFIG), cached=True)

    async def add_user(self, user: Any) -> None:
        from ..users import sysusers

        cfg = self._vre_cfg()
        if cfg.mode == "local" and sysusers.multi_user():
            try:
                await asyncio.to_thread(sysusers.ensure, cfg, user.name)
            except sysusers.SystemUserError as exc:
                raise web.HTTPError(500, str(exc)) from None
        await maybe_future(super().add_user(user))  # type: ignore[misc]

    async def delete_user(self, user: Any) -> None:
        from ..users import sysusers

        await maybe_future(super().delete_user(user))  # type: ignore[misc]
        cfg = self._vre_cfg()
        if cfg.mode == "local" and sysusers.multi_user():
            await asyncio.to_thread(sysusers.lock, cfg, user.name)


class LocalAccountsAuthenticator(SystemAccountsMixin, Authenticator):
    """Username + password checked against the local account store of the deployment."""

    accounts_db = Unicode("", config=True, help="Path of the accounts SQLite file (local mode).")

    _store: AccountStore | None = None

    @property
    def store(self) -> AccountStore:
        if self._store is None:
            self._store = AccountStore(self.accounts_db)
        return self._store

    _local = threading.local()

    def _check_in_thread(self, username: str, password: str) -> bool:
        return self._thread_store().check(username, password)

    def _thread_store(self) -> AccountStore:
        # sqlite connections belong to the thread that opened them: one store per worker thread
        store = getattr(self._local, "store", None)
        if store is None or store.path != self.accounts_db:
            store = self._local.store = AccountStore(self.accounts_db)
        return store

    def _set_password_in_thread(self, username: str, password: str, expires: float | None) -> None:
        self._thread_store().set_password(username, password, expires=expires)

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        username = (data or {}).get("username", "").strip()
        password = (data or {}).get("password", "")
        if not username or not password:
            return None
        # PBKDF2 takes ~0.1 s and releases the GIL: hash in a thread so that 30 logins at once
        # (a workshop's first minute) do not freeze the hub's event loop for everyone else
        ok = await _hashing(self._check_in_thread, username, password)
        if not ok:
            self.log.warning("Failed login for %r", username)
            return None
        return username

    def get_handlers(self, app: Any) -> list[tuple[str, Any]]:
        return super().get_handlers(app) + [(r"/api/accounts/([^/]+)", AccountAPIHandler)]

    async def refresh_user(self, user: Any, handler: Any = None) -> bool:
        """An expired or disabled account loses its open sessions too (checked every ``auth_refresh_age``)."""
        account = self.store.get(user.name)
        if account is None:
            return True  # a hub user without a local password (e.g. listed in vre.yaml only)
        import time

        return not account.disabled and (account.expires is None or account.expires > time.time())

    async def delete_user(self, user: Any) -> None:
        """Deleting a hub user (REST API, admin page) also deletes their password and locks their account."""
        self.store.remove(user.name)
        await super().delete_user(user)


def ensure_admin(state_dir: Any, username: str) -> str | None:
    """Create the first admin account if there is none; return its new password (shown once), else None."""
    from ..users.accounts import generate_password

    store = store_for(state_dir)
    try:
        if username in store:
            return None
        password = generate_password(16)
        store.set_password(username, password)
        return password
    finally:
        store.close()


def oauth_settings(oauth: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """Traitlets for ``oauthenticator.generic.GenericOAuthenticator`` from ``auth.oauth`` in vre.yaml.

    The client secret is read from the environment variable named by ``client_secret_env``
    (default ``ODATIS_VRE_OAUTH_CLIENT_SECRET``): it never lives in the configuration file.
    """
    from ..config import ConfigError

    env_name = oauth.get("client_secret_env", "ODATIS_VRE_OAUTH_CLIENT_SECRET")
    secret = environ.get(env_name, "")
    if not secret:
        raise ConfigError(
            f"auth.type is 'oauth' but the environment variable {env_name} (auth.oauth.client_secret_env) is empty: "
            "set it to the OAuth client secret given by your identity provider."
        )
    s: dict[str, Any] = {
        "client_id": oauth["client_id"],
        "client_secret": secret,
        "authorize_url": oauth["authorize_url"],
        "token_url": oauth["token_url"],
        "userdata_url": oauth["userdata_url"],
        "username_claim": oauth.get("username_claim", "preferred_username"),
        "scope": oauth.get("scope", ["openid", "profile", "email"]),
        "login_service": oauth.get("login_service", "institutional login"),
    }
    if oauth.get("groups_claim"):
        s["manage_groups"] = True
        s["auth_state_groups_key"] = f"oauth_user.{oauth['groups_claim']}"
    if oauth.get("allowed_groups"):
        s["allowed_groups"] = set(oauth["allowed_groups"])
    if oauth.get("admin_groups"):
        s["admin_groups"] = set(oauth["admin_groups"])
    s["allow_all"] = bool(oauth.get("allow_all", not oauth.get("allowed_groups")))
    return s


def __getattr__(name: str) -> Any:
    # oauthenticator is imported only by a hub that uses it
    if name == "VREOAuthenticator":
        return _oauth_class()
    raise AttributeError(name)


_OAUTH: list[type] = []


def _oauth_class() -> type:
    if not _OAUTH:
        from oauthenticator.generic import GenericOAuthenticator

        class VREOAuthenticator(SystemAccountsMixin, GenericOAuthenticator):  # type: ignore[misc,valid-type]
            """Generic OAuth/OIDC; in the local mode as root, each user also gets a system account."""

        _OAUTH.append(VREOAuthenticator)
    return _OAUTH[0]
