"""The repository service's state and what every request goes through: its settings, the :class:`Repository`
(store, registrar, publisher), and the handlers' base (hub login by token or OAuth, errors as messages)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tornado import httpclient, ioloop, web

from . import dissemination, pages, signed
from .store import NotFound, RepositoryError, Store

log = logging.getLogger("odatis_vre.publishing.repository")

ID = r"([a-z0-9]{10})"
VER = r"v([0-9]{1,6})"
_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_EMPTY_RANGE_RE = re.compile(r"^bytes \*/(\d+)$")


@dataclass
class Settings:
    """What the service needs from ``vre.yaml`` (``services.repository``) and the hub's environment."""

    storage: Path
    db_url: str | None
    max_upload: int | None
    registrar: str
    doi_prefix: str
    registrar_url: str | None
    registrar_timeout: float
    public_url: str
    prefix: str
    oauth_redirect_uri: str | None = None
    #: the service's own address (``http://host:port``) for signed download links; None: no redirects
    direct_url: str | None = None
    #: published files of at least this many bytes are redirected to a signed link
    direct_min_size: int = 32 * 1024**2
    #: seconds a signed link stays valid
    direct_ttl: int = 600
    publisher_email: str | None = None
    publisher_url: str | None = None

    @classmethod
    def from_config(cls, cfg: Any, environ: dict[str, str] | None = None, port: int | None = None) -> Settings:
        """The settings of ``vre.yaml``; ``port``: where this service listens (its own address for signed links)."""
        from ...config import parse_quantity

        env = dict(os.environ if environ is None else environ)
        svc = cfg.services["repository"]
        registrar = svc.get("registrar", "local")
        return cls(
            storage=cfg.resolve(svc["storage"]) if svc.get("storage") else cfg.services_dir / "repository",
            db_url=svc.get("db_url") or None,
            max_upload=int(parse_quantity(svc["max_upload"])) if svc.get("max_upload") else None,
            registrar=registrar,
            doi_prefix=str(svc.get("doi_prefix", "10.5072")),
            registrar_url={"datacite": svc.get("datacite_url"), "zenodo": svc.get("zenodo_url")}.get(registrar),
            registrar_timeout=float(svc.get("registrar_timeout", 30)),
            public_url=(svc.get("public_url") or env.get("JUPYTERHUB_PUBLIC_URL") or cfg.hub_url).rstrip("/"),
            prefix=env.get("JUPYTERHUB_SERVICE_PREFIX", "/services/repository/"),
            # local mode: the hub registers this absolute callback (odatis_vre.hub.hubconfig); the
            # spawner's environment gives a relative one, which the hub would refuse as a mismatch
            oauth_redirect_uri=f"{cfg.hub_url}/services/repository/oauth_callback" if cfg.mode == "local" else None,
            direct_url=direct_url(cfg, port),
            direct_min_size=int(parse_quantity((svc.get("direct_downloads") or {}).get("min_size", "32M"))),
            direct_ttl=int((svc.get("direct_downloads") or {}).get("ttl", 600)),
            publisher_email=svc.get("publisher_email") or None,
            publisher_url=svc.get("publisher_url") or None,
        )


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def direct_url(cfg: Any, port: int | None = None) -> str | None:
    """Where clients reach the service without the hub's proxy, for large downloads; None when they cannot.

    ``services.repository.direct_downloads.url`` when set; else, in the local mode with the hub on a
    loopback address (its users are on this machine), the service's own loopback ``port`` (the port it
    was started on). A hub open to other machines (or Kubernetes) needs the URL set explicitly, where
    the operator exposes the service's port.
    """
    dd = cfg.services["repository"].get("direct_downloads") or {}
    if dd.get("enabled") is False:
        return None
    if dd.get("url"):
        return str(dd["url"]).rstrip("/")
    if port and cfg.mode == "local" and str(cfg.hub.get("ip", "")) in _LOOPBACK:
        return f"http://127.0.0.1:{port}"
    return None


class Repository:
    """State shared by the handlers: the store, the registrar, caches and locks."""

    def __init__(self, settings: Settings, store: Store | None = None):
        self.settings = settings
        self.store = store or Store(settings.storage, settings.db_url, max_upload=settings.max_upload)
        self._registrar: Any = None
        self.hashers: dict[tuple[str, int, str], tuple[int, Any]] = {}
        self.busy: set[tuple[str, int, str]] = set()
        self.publish_locks: dict[tuple[str, int], asyncio.Lock] = {}
        self.groups_cache: dict[str, tuple[float, list[str]]] = {}
        self.datasets = dissemination.DatasetCache(self._open_published)
        self.chunk_readers = dissemination.DatasetCache(lambda key: self._open_published(key, reader=True))
        self._xpublish: Any = None
        self.zarr_meta: dict[str, dict[str, Any]] = {}
        self.link_key = signed.signing_key(self.store.root) if settings.direct_url else b""
        for line in self.store.recover():
            log.warning(line)

    # -- URLs
    def landing_url(self, ds_id: str, number: int) -> str:
        return f"{self.settings.public_url}{self.settings.prefix}datasets/{ds_id}/v{number}/"

    def signed_link(self, ds_id: str, number: int, name: str, sha256: str) -> str:
        """A signed, expiring link to a published file on the service's own address (see :mod:`.signed`)."""
        link = signed.DownloadLink.new(ds_id, number, name, sha256, self.settings.direct_ttl)
        return f"{self.settings.direct_url}{self.settings.prefix}direct/{ds_id}/v{number}/{name}?{link.query(self.link_key)}"

    def concept_url(self, ds_id: str) -> str:
        """The landing page of a dataset over all its versions (its concept DOI points there)."""
        return f"{self.settings.public_url}{self.settings.prefix}datasets/{ds_id}/"

    @property
    def base_url(self) -> str:
        return f"{self.settings.public_url}{self.settings.prefix}"

    def publisher(self) -> dict[str, Any]:
        """Who publishes: written as ACDD publisher_* in deposited files (the client asks the service)."""
        return {"url": self.settings.publisher_url or self.base_url, "email": self.settings.publisher_email}

    # -- registrar
    @property
    def registrar(self) -> Any:
        if self._registrar is None:
            from .. import registrars

            s = self.settings
            self._registrar = registrars.get(
                s.registrar,
                prefix=s.doi_prefix,
                environ=os.environ,
                base_url=s.registrar_url,
                state_dir=s.storage / "registrar",
                timeout=s.registrar_timeout,
            )
        return self._registrar

    def _previous_doi(self, v: dict[str, Any]) -> str | None:
        """The DOI of the version before ``v`` (v2 → v1's): v2's record says it is a new version of it."""
        if int(v["version"]) < 2:
            return None
        try:
            return self.store.version(v["id"], int(v["version"]) - 1).get("doi") or None
        except NotFound:
            return None

    def attributes(self, v: dict[str, Any], doi: str, concept: str | None = None) -> dict[str, Any]:
        """DataCite attributes of a version (files, provenance, notebook, facts computed from its data,
        concept DOI included)."""
        from .. import metadata

        files = [
            {"name": f["name"], "size": f["size"], "sha256": f["sha256"], "format": pages.media_type(f["name"])}
            for f in v["files"]
        ]
        extra = v.get("extra") or {}
        # before the registrar chose the DOI, the attributes are built around a placeholder, then without it
        attrs = metadata.datacite_attributes(
            v["metadata"],
            doi=doi or f"{self.settings.doi_prefix}/pending",
            url=self.landing_url(v["id"], v["version"]),
            version=str(v["version"]),
            files=files,
            provenance=extra.get("provenance") or [],
            notebook=extra.get("notebook"),
            previous_version=self._previous_doi(v),
            facts=extra.get("facts"),
            concept=concept or extra.get("concept_doi"),
        )
        if not doi:
            attrs.pop("doi", None)
        return attrs

    def concept_attributes(self, ds_id: str, latest: dict[str, Any], version_dois: list[str]) -> dict[str, Any]:
        """DataCite attributes of the concept record: the latest version's description, ``HasVersion`` each."""
        from .. import metadata

        md = dict(latest["metadata"])
        attrs = metadata.datacite_attributes(
            md,
            doi=f"{self.settings.doi_prefix}/pending",
            url=self.concept_url(ds_id),
            provenance=(latest.get("extra") or {}).get("provenance") or [],
            versions=version_dois,
        )
        attrs.pop("doi", None)
        attrs.pop("version", None)
        return attrs

    # -- xpublish
    def _open_published(self, key: str, reader: bool = False) -> Any:
        m = re.fullmatch(r"([a-z0-9]{10})\.v([0-9]+)", key)
        if not m:
            return None
        try:
            v = self.store.version(m.group(1), int(m.group(2)))
        except NotFound:
            return None
        name = dissemination.data_file(v["files"])
        if v["state"] != "published" or name is None:
            return None
        path = self.store.published_dir(v["id"], v["version"]) / name
        if reader:  # raw chunks: the file opened without dask, and its byte layout
            return dissemination.ChunkReader(path, dissemination.open_lazy(path))
        return dissemination.open_dataset(path)

    def chunk(self, key: str, var: str, coords: tuple[int, ...]) -> bytes | None:
        """A raw Zarr chunk of a published version (see :func:`dissemination.raw_chunk`), or None."""
        ds = self.datasets.get(key)
        if ds is None:
            return None
        meta = self.zarr_meta.get(key)
        if meta is None:
            meta = self.zarr_meta[key] = dissemination.zarr_metadata(ds)
        if var not in meta:
            return None
        return self.chunk_readers.get(key).read(var, coords, meta[var])

    def published_ids(self) -> list[str]:
        return [
            f"{v['id']}.v{v['version']}"
            for v in self.store.list_versions(state="published")
            if dissemination.data_file(v["files"])
        ]

    @property
    def xpublish(self) -> Any:
        if self._xpublish is None:
            self._xpublish = dissemination.xpublish_app(self.datasets.get, self.published_ids)
        return self._xpublish

    def xpublish_path(self, path: str) -> str | None:
        m = re.match(re.escape(self.settings.prefix) + r"datasets/" + ID + "/" + VER + r"/(zarr|opendap)(.*)$", path)
        if not m:
            return None
        ds_id, number, kind, rest = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        try:
            v = self.store.version(ds_id, number)
        except NotFound:
            return None
        if v["state"] != "published":
            return None
        return f"/datasets/{ds_id}.v{number}/{kind}{rest}"

    # -- blocking work off the event loop
    @staticmethod
    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        return await ioloop.IOLoop.current().run_in_executor(None, fn, *args)


def _hub_auth_classes() -> tuple[type, type, type]:
    from jupyterhub.services.auth import (
        HubOAuthCallbackHandler,
        HubOAuthenticated,
        UserNotAllowed,
    )

    return HubOAuthenticated, HubOAuthCallbackHandler, UserNotAllowed


HubOAuthenticated, HubOAuthCallbackHandler, UserNotAllowed = _hub_auth_classes()


class Base(HubOAuthenticated, web.RequestHandler):
    """Identifies the hub user (token or OAuth cookie) before every request; maps errors to messages."""

    repo: Repository
    user: dict[str, Any] | None = None

    def initialize(self, repo: Repository) -> None:  # type: ignore[override]
        self.repo = repo

    @property
    def store(self) -> Store:
        return self.repo.store

    async def prepare(self) -> None:
        self.user = await self._identify()

    async def _identify(self) -> dict[str, Any] | None:
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            self._hub_auth_user_cache = None
            return None
        try:
            model = self.check_hub_user(model)
        except UserNotAllowed:
            model = None
        self._hub_auth_user_cache = model
        return model

    def get_current_user(self) -> Any:
        return getattr(self, "_hub_auth_user_cache", None)

    def check_xsrf_cookie(self) -> None:
        # writes are token-authenticated only (see need_writer), so no cookie can forge one
        return None

    @property
    def username(self) -> str | None:
        if self.user and self.user.get("kind", "user") == "user":
            return self.user["name"]
        return None

    def need_writer(self) -> str:
        """The user of a write request; writes must carry a hub token, not only a cookie."""
        if not self.username:
            raise RepositoryError(
                "log in: send a JupyterHub API token (header `Authorization: token <token>`; inside "
                "a VRE server it is $JUPYTERHUB_API_TOKEN)",
                status=401 if not self.user else 403,
            )
        if not getattr(self, "_token_authenticated", False):
            raise RepositoryError(
                "writes need a JupyterHub API token in the Authorization header, not a browser cookie", status=403
            )
        return self.username

    def need_reader(self) -> str:
        if not self.username:
            raise RepositoryError(
                "log in: send a JupyterHub API token (header `Authorization: token <token>`) or "
                f"open {self.repo.settings.prefix}login in a browser",
                status=401,
            )
        return self.username

    async def groups(self) -> list[str]:
        """The user's hub groups (asked with the service's own token; cached one minute)."""
        name = self.username
        if not name:
            return []
        hit = self.repo.groups_cache.get(name)
        if hit and time.monotonic() - hit[0] < 60:
            return hit[1]
        groups = list((self.user or {}).get("groups") or [])
        token = os.environ.get("JUPYTERHUB_API_TOKEN")
        if token:
            try:
                resp = await httpclient.AsyncHTTPClient().fetch(
                    f"{self.hub_auth.api_url}/users/{name}",
                    headers={"Authorization": f"token {token}"},
                    request_timeout=10,
                )
                groups = list(json.loads(resp.body).get("groups") or groups)
            except Exception as exc:  # noqa: BLE001 — without the hub's answer, only the owner sees drafts
                log.warning("could not read the groups of %s: %s", name, exc)
        self.repo.groups_cache[name] = (time.monotonic(), groups)
        return groups

    async def readable(self, ds_id: str, number: int | None) -> dict[str, Any]:
        return self.store.readable(ds_id, number, self.username, await self.groups() if self.username else [])

    def body_json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise RepositoryError(
                "the request body is not JSON: send a JSON object (Content-Type: application/json), "
                'e.g. {"key": "...", "metadata": {"title": ...}}'
            ) from None
        if not isinstance(data, dict):
            raise RepositoryError(
                f"the request body must be a JSON object, not a {type(data).__name__}: send "
                f'{{"key": ..., "metadata": ...}}'
            )
        return data

    def vjson(self, v: dict[str, Any]) -> dict[str, Any]:
        """A version as the API shows it: with its landing page and the repository's registrar."""
        v = dict(v)
        v.pop("existing", None)
        extra = v.get("extra") or {}
        return v | {
            "landing_url": self.repo.landing_url(v["id"], v["version"]),
            "registrar": self.repo.settings.registrar,
            "publisher": self.repo.publisher(),
            "scores": extra.get("scores"),
            "concept_doi": extra.get("concept_doi"),
            "concept_url": self.repo.concept_url(v["id"]),
        }

    def send_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data, default=str))

    def _is_api(self) -> bool:
        return self.request.path.startswith(self.repo.settings.prefix + "api/")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, RepositoryError) or _is_user_error(value):
            log.info("%s %s: %s", self.request.method, self.request.path, value)
        else:
            super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = (
            str(exc)
            if exc is not None and (isinstance(exc, RepositoryError) or _is_user_error(exc))
            else (getattr(exc, "log_message", None) or self._reason)
        )
        if isinstance(exc, RepositoryError):
            self.set_status(exc.status)
        elif exc is not None and _is_user_error(exc):
            self.set_status(_user_error_status(exc))
        status = self.get_status()
        if status == 404 and not isinstance(exc, RepositoryError):
            message = "not found"
        if self._is_api() or "json" in self.request.headers.get("Accept", ""):
            extra = (
                {"retryable": bool(getattr(exc, "retryable", False))}
                if exc is not None and type(exc).__name__ == "RegistrarError"
                else {}
            )
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"error": message, "status": status} | extra))
        else:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(pages.error_page(status, message, self.repo.settings.prefix, logged_in=bool(self.username)))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, RepositoryError) or _is_user_error(e):
            if self._finished:
                return
            status = e.status if isinstance(e, RepositoryError) else _user_error_status(e)
            self.send_error(status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


def _is_user_error(exc: BaseException) -> bool:
    # by name along the class's ancestry (UnreadableData is a ConventionsError): the modules load lazily
    return any(c.__name__ in ("MetadataError", "ConventionsError", "RegistrarError") for c in type(exc).__mro__)


def _user_error_status(exc: BaseException) -> int:
    if type(exc).__name__ == "RegistrarError":
        return 503 if getattr(exc, "retryable", False) else 502
    return 422
