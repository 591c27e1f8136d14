"""Serving the explorer: the hub-wide service behind the hub's login (``odatis-vre explorer serve``) and the
JupyterLab launcher entry of each user's server (jupyter-server-proxy's ``server_proxy_config``).

>>> from odatis_vre.explore import server
>>> server.serve(port=8050)                                              # doctest: +SKIP
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .app import create_app
from .explorer import ExplorerError, log

_ICON = Path(__file__).resolve().parent / "static" / "explorer.svg"


# ----------------------------------------------------------------------------- hub login


class HubAuthProvider:
    """Bokeh auth hooks that let only users logged in to the hub through (JupyterHub OAuth for services).

    Pages and the websocket are protected; an anonymous visitor is sent to the hub's login,
    which comes back to ``<prefix>oauth_callback``.
    """

    def __init__(self, hub_auth: Any):
        from bokeh.server.auth_provider import AuthProvider

        self.hub_auth = hub_auth
        hub = self

        class _Provider(AuthProvider):
            @property
            def get_user_async(self):  # noqa: ANN202 - bokeh's hook signature
                return hub.get_user

            @property
            def get_login_url(self):  # noqa: ANN202
                return hub.login_url

        self.provider = _Provider()

    async def get_user(self, handler: Any) -> dict[str, Any] | None:
        """The hub's user model when the request carries a valid login with access to this service.

        An anonymous page request is sent to the hub's login here: Panel would otherwise make
        the login URL relative to the app (``./hub/...``), which is wrong behind a prefix.
        """
        from tornado.web import Finish, HTTPError
        from tornado.websocket import WebSocketHandler

        model = await self.hub_auth.get_user(handler, sync=False)
        if not model:
            if handler.request.method in ("GET", "HEAD") and not isinstance(handler, WebSocketHandler):
                handler.redirect(self.login_url(handler))
                raise Finish()
            return None
        if self.hub_auth.access_scopes and not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            raise HTTPError(403, f"{model.get('name')} may not use the explorer (missing access:services scope)")
        return model

    def login_url(self, handler: Any) -> str:
        """The hub's authorize URL, with a state cookie that brings the user back here."""
        from tornado.httputil import url_concat

        params: dict[str, str] = {}
        verifier = None
        if getattr(self.hub_auth, "pkce_enabled", False):
            verifier, challenge, method = self.hub_auth.generate_pkce_code_challenge()
            params.update(code_challenge=challenge, code_challenge_method=method)
        kwargs = {"code_verifier": verifier} if verifier is not None else {}
        params["state"] = self.hub_auth.set_state_cookie(handler, next_url=handler.request.uri, **kwargs)
        return url_concat(self.hub_auth.login_url, params)

    def callback_handler(self) -> type:
        """The ``oauth_callback`` request handler, bound to this service's :class:`HubOAuth`."""
        from jupyterhub.services.auth import HubOAuthCallbackHandler

        return type("ExplorerOAuthCallback", (HubOAuthCallbackHandler,), {"_hub_auth": self.hub_auth})


def _favicon_handler() -> type:
    from tornado.web import RequestHandler

    icon = (Path(__import__("panel").__file__).parent / "dist" / "images" / "favicon.ico").read_bytes()

    class Favicon(RequestHandler):
        def get(self) -> None:
            self.set_header("Content-Type", "image/x-icon")
            self.set_header("Cache-Control", "max-age=86400")
            self.finish(icon)

    return Favicon


def _configured_hub_url() -> str | None:
    """The hub's public URL from the platform configuration the hub gave us (``$ODATIS_VRE_CONFIG``)."""
    cfg_path = os.environ.get("ODATIS_VRE_CONFIG")
    if not cfg_path:
        return None
    try:
        from .. import config as config_mod

        return config_mod.load(cfg_path).hub_url
    except Exception as exc:  # noqa: BLE001 - the hub's own variables are the fallback
        log.warning("cannot read %s for the hub's address: %s", cfg_path, exc)
        return None


def _hub_origins() -> list[str]:
    """host[:port] of the hub's public address, where the explorer's pages are loaded from."""
    out = []
    for key in ("JUPYTERHUB_OAUTH_CALLBACK_URL", "JUPYTERHUB_PUBLIC_URL", "JUPYTERHUB_PUBLIC_HUB_URL"):
        netloc = urlparse(os.environ.get(key, "")).netloc
        if netloc:
            out.append(netloc)
    hub = _configured_hub_url()
    if hub:
        out.append(urlparse(hub).netloc)
    return sorted(set(out))


def _redirect_uri(prefix: str) -> str:
    """Where the hub sends users back after login: the absolute URL registered for this service.

    The hub hands services a relative callback URL, but the local mode registers the absolute
    one (``hubconfig.services``); both must be equal or the hub refuses the login.
    """
    given = os.environ.get("JUPYTERHUB_OAUTH_CALLBACK_URL", "")
    if urlparse(given).netloc:
        return given
    hub = _configured_hub_url()
    if hub:
        return f"{hub.rstrip('/')}{prefix}/oauth_callback"
    return given or f"{prefix}/oauth_callback"


def serve(
    port: int = 8050,
    prefix: str | None = None,
    *,
    address: str = "127.0.0.1",
    hub_auth: bool | None = None,
    websocket_origins: list[str] | None = None,
    unix_socket: str | None = None,
    start: bool = True,
) -> Any:
    """Serve the explorer; block until stopped when ``start`` (the hub's service command).

    ``prefix`` defaults to ``$JUPYTERHUB_SERVICE_PREFIX`` (``/services/explorer/``); ``hub_auth``
    defaults to on when ``$JUPYTERHUB_API_TOKEN`` is set. Returns the Bokeh server when not ``start``.

    >>> server = serve(port=0, hub_auth=False, start=False)     # doctest: +SKIP
    """
    # every script and stylesheet from this server: no CDN, works offline and behind firewalls
    os.environ["BOKEH_RESOURCES"] = "server"
    import panel as pn

    if hub_auth is None:
        hub_auth = bool(os.environ.get("JUPYTERHUB_API_TOKEN"))
    if prefix is None:
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/") if hub_auth else "/"
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    origins = list(websocket_origins or [])
    if not origins:
        origins = [f"{address}:{port}", f"localhost:{port}"] + (_hub_origins() if hub_auth else [])
    kwargs: dict[str, Any] = {}
    extra: list[tuple[str, Any]] = []
    if hub_auth:
        from jupyterhub.services.auth import HubOAuth

        if not os.environ.get("JUPYTERHUB_API_TOKEN"):
            raise ExplorerError(
                "--hub-auth needs the hub's service environment ($JUPYTERHUB_API_TOKEN ...): "
                "let the hub start the explorer, or use --no-hub-auth"
            )
        auth = HubOAuth(
            api_token=os.environ["JUPYTERHUB_API_TOKEN"], cache_max_age=60, oauth_redirect_uri=_redirect_uri(prefix)
        )
        provider = HubAuthProvider(auth)
        kwargs["auth_provider"] = provider.provider
        extra.append((r"/oauth_callback", provider.callback_handler()))
        kwargs["cookie_secret"] = secrets.token_hex(32)
    # Bokeh serves its icon at the server's root only; browsers ask for it under the prefix
    extra.append((r"/favicon.ico", _favicon_handler()))
    if unix_socket:
        kwargs["unix_socket"] = unix_socket
    pn.config.design = None

    def app() -> Any:
        return create_app()

    from panel.io.server import get_server

    log.info("explorer on %s%s (hub login: %s)", unix_socket or f"{address}:{port}", prefix or "/", hub_auth)
    net = {} if unix_socket else {"port": port, "address": address}
    server = get_server(
        {"/": app},
        websocket_origin=origins,
        show=False,
        start=False,
        title="ODATIS data explorer",
        prefix=prefix,
        extra_patterns=extra,
        check_unused_sessions_milliseconds=10_000,
        unused_session_lifetime_milliseconds=60_000,
        **net,
        **kwargs,
    )
    if start:
        server.start()
        try:
            server.io_loop.start()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    return server


# ----------------------------------------------------------------------------- JupyterLab launcher


def server_proxy_config() -> dict[str, Any]:
    """jupyter-server-proxy entry (``jupyter_serverproxy_servers``): the explorer inside a user's server.

    The proxy starts it on a Unix socket on first visit of ``<server>/odatis-explorer/``; the
    user's own server checks the login, so the explorer runs without hub OAuth there.

    >>> cfg = server_proxy_config()
    >>> cfg["launcher_entry"]["title"], cfg["absolute_url"]
    ('Data explorer', True)
    """
    return {
        "command": [
            sys.executable,
            "-m",
            "odatis_vre",
            "explorer",
            "serve",
            "--no-hub-auth",
            "--unix-socket",
            "{unix_socket}",
            "--prefix",
            "{base_url}odatis-explorer",
            "--allow-websocket-origin",
            "*",
        ],
        "unix_socket": True,
        "absolute_url": True,
        "timeout": 120,
        "new_browser_tab": False,
        "launcher_entry": {"enabled": True, "title": "Data explorer", "icon_path": str(_ICON), "category": "Notebook"},
    }
