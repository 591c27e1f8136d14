"""The repository service: ``python -m odatis_vre repository serve --port P`` (a JupyterHub service).

Users are identified by the hub: browsers through OAuth (``HubOAuth``), programs through a hub
API token (``Authorization: token ...``). Writes need a token (never a cookie alone, so a web
page cannot forge them). Every URL lives under ``$JUPYTERHUB_SERVICE_PREFIX``
(``/services/repository/``):

=====================================================  ==========================================
``GET  api/published``                                 published versions (public)
``GET|POST api/deposits``                              my deposits / create one (JSON metadata, key)
``GET|PUT|DELETE api/deposits/<id>/v<n>``              a version / its metadata / drop a draft
``POST api/deposits/<id>/versions``                    a new draft version of a published dataset
``PUT  api/deposits/<id>/share``                       groups that may see the drafts
``POST api/deposits/<id>/v<n>/files``                  announce a file: name, size, sha256
``GET|PUT|DELETE api/deposits/<id>/v<n>/files/<f>``    resume offset / a chunk (Content-Range) / drop
``POST api/deposits/<id>/v<n>/publish``                register the DOI, publish (idempotent)
``GET  datasets/<id>/v<n>/``                           landing page (citation, BibTeX, JSON-LD...)
``GET  datasets/<id>/v<n>/files/<f>``                  download (HTTP Range); a large published file:
                                                       a redirect to a signed link (``direct/...``)
``GET  direct/<id>/v<n>/<f>?expires=..&sig=..``        a signed, expiring link to a published file
``GET  datasets/<id>/v<n>/zarr/...``, ``.../opendap``  Zarr v3 and OPeNDAP (xpublish)
``GET  catalog.yaml``                                  intake catalogue of every published version
=====================================================  ==========================================

Drafts are visible to their owner (and the groups the owner shares them with) only; to anyone
else a draft does not exist (404), whether asked through the API or the landing page.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from tornado import httpclient, ioloop, web

from . import dissemination, pages, signed
from .store import NotFound, RepositoryError, Store, check_name

log = logging.getLogger("odatis_vre.repository")

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
    def from_config(cls, cfg: Any, environ: dict[str, str] | None = None, port: int | None = None) -> "Settings":
        """The settings of ``vre.yaml``; ``port``: where this service listens (its own address for signed links)."""
        from ..config import parse_quantity

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
            # local mode: the hub registers this absolute callback (odatis_vre.hubconfig); the
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
            self._registrar = registrars.get(s.registrar, prefix=s.doi_prefix, environ=os.environ,
                                             base_url=s.registrar_url, state_dir=s.storage / "registrar",
                                             timeout=s.registrar_timeout)
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

        files = [{"name": f["name"], "size": f["size"], "sha256": f["sha256"],
                  "format": pages.media_type(f["name"])} for f in v["files"]]
        extra = v.get("extra") or {}
        # before the registrar chose the DOI, the attributes are built around a placeholder, then without it
        attrs = metadata.datacite_attributes(v["metadata"], doi=doi or f"{self.settings.doi_prefix}/pending",
                                             url=self.landing_url(v["id"], v["version"]),
                                             version=str(v["version"]), files=files,
                                             provenance=extra.get("provenance") or [],
                                             notebook=extra.get("notebook"),
                                             previous_version=self._previous_doi(v), facts=extra.get("facts"),
                                             concept=concept or extra.get("concept_doi"))
        if not doi:
            attrs.pop("doi", None)
        return attrs

    def concept_attributes(self, ds_id: str, latest: dict[str, Any], version_dois: list[str]) -> dict[str, Any]:
        """DataCite attributes of the concept record: the latest version's description, ``HasVersion`` each."""
        from .. import metadata

        md = dict(latest["metadata"])
        attrs = metadata.datacite_attributes(md, doi=f"{self.settings.doi_prefix}/pending", url=self.concept_url(ds_id),
                                             provenance=(latest.get("extra") or {}).get("provenance") or [],
                                             versions=version_dois)
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
        return [f"{v['id']}.v{v['version']}" for v in self.store.list_versions(state="published")
                if dissemination.data_file(v["files"])]

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
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated, UserNotAllowed

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
            raise RepositoryError("log in: send a JupyterHub API token (header `Authorization: token <token>`; inside "
                                  "a VRE server it is $JUPYTERHUB_API_TOKEN)", status=401 if not self.user else 403)
        if not getattr(self, "_token_authenticated", False):
            raise RepositoryError("writes need a JupyterHub API token in the Authorization header, not a browser "
                                  "cookie", status=403)
        return self.username

    def need_reader(self) -> str:
        if not self.username:
            raise RepositoryError("log in: send a JupyterHub API token (header `Authorization: token <token>`) or "
                                  f"open {self.repo.settings.prefix}login in a browser", status=401)
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
                    f"{self.hub_auth.api_url}/users/{name}", headers={"Authorization": f"token {token}"},
                    request_timeout=10)
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
            raise RepositoryError("the request body is not JSON: send a JSON object (Content-Type: application/json), "
                                  "e.g. {\"key\": \"...\", \"metadata\": {\"title\": ...}}") from None
        if not isinstance(data, dict):
            raise RepositoryError(f"the request body must be a JSON object, not a {type(data).__name__}: send "
                                  f"{{\"key\": ..., \"metadata\": ...}}")
        return data

    def vjson(self, v: dict[str, Any]) -> dict[str, Any]:
        """A version as the API shows it: with its landing page and the repository's registrar."""
        v = dict(v)
        v.pop("existing", None)
        extra = v.get("extra") or {}
        return v | {"landing_url": self.repo.landing_url(v["id"], v["version"]),
                    "registrar": self.repo.settings.registrar, "publisher": self.repo.publisher(),
                    "scores": extra.get("scores"), "concept_doi": extra.get("concept_doi"),
                    "concept_url": self.repo.concept_url(v["id"])}

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
        message = str(exc) if exc is not None and (isinstance(exc, RepositoryError) or _is_user_error(exc)) else \
            (getattr(exc, "log_message", None) or self._reason)
        if isinstance(exc, RepositoryError):
            self.set_status(exc.status)
        elif exc is not None and _is_user_error(exc):
            self.set_status(_user_error_status(exc))
        status = self.get_status()
        if status == 404 and not isinstance(exc, RepositoryError):
            message = "not found"
        if self._is_api() or "json" in self.request.headers.get("Accept", ""):
            extra = {"retryable": bool(getattr(exc, "retryable", False))} if exc is not None and \
                type(exc).__name__ == "RegistrarError" else {}
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


# ----------------------------------------------------------------------------- API


class PublishedAPI(Base):
    async def get(self) -> None:
        self.send_json([pages.public_summary(v, self.repo) for v in self.store.list_versions(state="published")])


class DepositsAPI(Base):
    async def get(self) -> None:
        user = self.need_reader()
        self.send_json([pages.public_summary(v, self.repo) | {"state": v["state"]} for v in
                        self.store.list_versions(owner=user)])

    async def post(self) -> None:
        """Create a deposit: ``{"key", "metadata", "provenance"?, "notebook"?, "theme"?, "groups"?}``."""
        user = self.need_writer()
        body = self.body_json()
        _check_registrar(self.repo, body)
        md = _checked_metadata(body.get("metadata"))
        v = self.store.create_deposit(user, md, key=body.get("key"), extra=_extra(body),
                                      groups=_groups(body.get("groups")))
        existing = v.pop("existing")
        v = await _reserve(self.repo, v)
        self.send_json(self.vjson(v), 200 if existing else 201)


class DepositAPI(Base):
    async def get(self, ds_id: str) -> None:
        self.send_json(self.vjson(await self.readable(ds_id, None)))


class VersionsAPI(Base):
    async def post(self, ds_id: str) -> None:
        user = self.need_writer()
        body = self.body_json()
        _check_registrar(self.repo, body)
        md = _checked_metadata(body.get("metadata"))
        v = self.store.new_version(ds_id, user, md, key=body.get("key"), extra=_extra(body))
        existing = v.pop("existing")
        v = await _reserve(self.repo, v)
        self.send_json(self.vjson(v), 200 if existing else 201)


class ShareAPI(Base):
    async def put(self, ds_id: str) -> None:
        user = self.need_writer()
        self.send_json(self.store.share(ds_id, user, _groups(self.body_json().get("groups"))))


class VersionAPI(Base):
    async def get(self, ds_id: str, number: str) -> None:
        self.send_json(self.vjson(await self.readable(ds_id, int(number))))

    async def put(self, ds_id: str, number: str) -> None:
        user = self.need_writer()
        body = self.body_json()
        md = _checked_metadata(body.get("metadata"))
        v = self.store.set_metadata(ds_id, int(number), user, md, _extra(body) if len(body) > 1 else None)
        self.send_json(self.vjson(v))

    async def delete(self, ds_id: str, number: str) -> None:
        user = self.need_writer()
        self.store.delete_draft(ds_id, int(number), user)
        self.set_status(204)
        self.finish()


class FilesAPI(Base):
    async def post(self, ds_id: str, number: str) -> None:
        """Announce ``{"name", "size", "sha256"}``; the answer's ``received`` is where to (re)start."""
        user = self.need_writer()
        body = self.body_json()
        f = self.store.start_file(ds_id, int(number), user, body.get("name"), body.get("size"), body.get("sha256"))
        key = (ds_id, int(number), f["name"])
        if f["received"] == 0:
            self.repo.hashers.pop(key, None)
        if f["size"] == 0 and not f["complete"]:  # nothing to send: check the empty file now
            f = self.store.complete_file(ds_id, int(number), user, f["name"])
        self.send_json(f, 201)


@web.stream_request_body
class FileAPI(Base):
    """One file of a draft: ``PUT`` a chunk with ``Content-Range: bytes a-b/total`` (a = resume offset)."""

    key: tuple[str, int, str] | None = None
    fh: Any = None
    hasher: Any = None
    written: int = 0
    expect: int = 0
    start: int = 0

    early_error: RepositoryError | None = None
    #: a refused chunk's body is read and dropped up to this size, so that the client (and the hub's
    #: proxy) get the answer instead of a reset connection; beyond it the connection is closed
    DISCARD_LIMIT = 64 * 1024 * 1024

    async def prepare(self) -> None:
        await super().prepare()
        if self.request.method != "PUT":
            return
        try:
            await self._start_chunk()
        except RepositoryError as exc:
            length = int(self.request.headers.get("Content-Length") or 0)
            if length > self.DISCARD_LIMIT:
                raise
            self.early_error = exc
            self.request.connection.set_max_body_size(self.DISCARD_LIMIT)

    async def _start_chunk(self) -> None:
        user = self.need_writer()
        ds_id, number, name = self.path_args[0], int(self.path_args[1]), check_name(self.path_args[2])
        f = self.store.file_state(ds_id, number, user, name)
        if f["complete"]:
            raise RepositoryError(f"file {name} is complete already (SHA-256 verified); nothing to send", status=409)
        cr = self.request.headers.get("Content-Range", "")
        m = _RANGE_RE.match(cr)
        if not m:
            raise RepositoryError("send each chunk with a header `Content-Range: bytes FIRST-LAST/TOTAL` "
                                  "(FIRST = the file's `received` offset)", status=400)
        a, b, total = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if total != f["size"]:
            raise RepositoryError(f"file {name}: Content-Range total {total} differs from the announced size "
                                  f"{f['size']}; announce the file again with its real size", status=400)
        if b < a or b >= total:
            raise RepositoryError(f"file {name}: Content-Range {cr!r} is not inside 0-{total - 1}", status=416)
        if a != f["received"]:
            raise RepositoryError(f"file {name}: this chunk starts at {a} but {f['received']} bytes were received; "
                                  f"resume from offset {f['received']}", status=409)
        length = self.request.headers.get("Content-Length")
        if length is not None and int(length) != b - a + 1:
            raise RepositoryError(f"file {name}: the body has {length} bytes but Content-Range {cr!r} says "
                                  f"{b - a + 1}; send exactly the bytes of the range", status=400)
        key = (ds_id, number, name)
        if key in self.repo.busy:
            raise RepositoryError(f"file {name} is being uploaded by another request; wait for it to finish", status=409)
        self.key = key
        self.repo.busy.add(key)
        self.expect = b - a + 1
        self.start = a
        self.request.connection.set_max_body_size(self.expect)
        part = self.store.part_path(ds_id, number, name)
        off, hasher = self.repo.hashers.get(self.key, (-1, None))
        if off != a or hasher is None:
            # after a restart the digest state is gone: hash what was received so far once
            hasher = await self.repo.run(_hash_prefix, part, a)
        self.hasher = hasher
        self.fh = open(part, "r+b", buffering=0)  # noqa: SIM115 — closed in on_finish
        self.fh.seek(a)
        self.fh.truncate(a)

    def data_received(self, chunk: bytes) -> None:
        if self.fh is None:  # a refused chunk (early_error): its bytes are dropped
            return
        if self.written + len(chunk) > self.expect:
            raise RepositoryError("the body is longer than the Content-Range says", status=400)
        self.fh.write(chunk)
        self.hasher.update(chunk)
        self.written += len(chunk)

    async def put(self, ds_id: str, number: str, name: str) -> None:
        if self.early_error is not None:
            raise self.early_error
        user = self.need_writer()
        name = check_name(name)
        if self.written != self.expect:
            self.fh.truncate(self.start)
            self._drop_hasher()
            raise RepositoryError(f"file {name}: received {self.written} bytes, the Content-Range announced "
                                  f"{self.expect}; send the chunk again", status=400)
        self.fh.close()
        self.fh = None
        end = self.start + self.written
        size = self.store.file_state(ds_id, int(number), user, name)["size"]
        if end == size:
            digest = self.hasher.hexdigest()
            self.repo.hashers.pop(self.key, None)
            f = self.store.complete_file(ds_id, int(number), user, name, sha256=digest)
        else:
            self.repo.hashers[self.key] = (end, self.hasher)
            f = self.store.file_state(ds_id, int(number), user, name)
        self.send_json(f)

    def _drop_hasher(self) -> None:
        if self.key:
            self.repo.hashers.pop(self.key, None)

    def on_connection_close(self) -> None:
        # an interrupted chunk: what arrived stays (the next chunk resumes after it)
        if self.fh is not None and self.key is not None:
            self.repo.hashers[self.key] = (self.start + self.written, self.hasher)
        super().on_connection_close()

    def on_finish(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        if self.key is not None:
            self.repo.busy.discard(self.key)

    async def get(self, ds_id: str, number: str, name: str) -> None:
        user = self.need_reader()
        self.send_json(self.store.file_state(ds_id, int(number), user, check_name(name)))

    async def delete(self, ds_id: str, number: str, name: str) -> None:
        user = self.need_writer()
        self.store.delete_file(ds_id, int(number), user, check_name(name))
        self.repo.hashers.pop((ds_id, int(number), check_name(name)), None)
        self.set_status(204)
        self.finish()


def _hash_prefix(path: Path, n: int) -> Any:
    h = hashlib.sha256()
    left = n
    with open(path, "rb", buffering=0) as fh:
        while left > 0:
            block = fh.read(min(left, 4 * 1024 * 1024))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h


class PublishAPI(Base):
    async def post(self, ds_id: str, number: str) -> None:
        """Publish a draft: conventions → DataCite metadata → registrar → files moved → state."""
        user = self.need_writer()
        n = int(number)
        lock = self.repo.publish_locks.setdefault((ds_id, n), asyncio.Lock())
        async with lock:
            v = self.store.ready_to_publish(ds_id, n, user)
            if v["state"] == "published":
                self.send_json(self.vjson(v))
                return
            self.send_json(self.vjson(await publish_version(self.repo, v)))


async def _reserve(repo: Repository, v: dict[str, Any]) -> dict[str, Any]:
    """Reserve the version's DOI (idempotent per version key) unless it has one."""
    if v.get("doi"):
        return v
    key = f"{v['id']}.v{v['version']}"
    attributes = repo.attributes(v, doi="")
    # v<n> follows the published v<n-1>: Zenodo makes its record a new version of that one's
    previous = f"{v['id']}.v{int(v['version']) - 1}" if repo._previous_doi(v) else None
    doi = await repo.run(functools.partial(repo.registrar.reserve, key, attributes, previous_key=previous))
    repo.store.set_doi(v["id"], v["version"], doi)
    return repo.store.version(v["id"], v["version"])


async def publish_version(repo: Repository, v: dict[str, Any]) -> dict[str, Any]:
    """The publication steps; any failure before the last two leaves the draft as it was.

    The data file is assessed first (compliance-checker CF and ACDD scores, facts computed from its
    coordinates), both kept with the version; a file that is not publishable is refused with the
    list of what to add. Then: version DOI → DataCite metadata → registrar → concept DOI (its
    ``HasVersion`` list updated) → files moved → published.
    """
    from .. import conventions, datafacts, metadata

    store = repo.store
    ds_id, n = v["id"], v["version"]
    folder = store.draft_dir(ds_id, n)
    name = dissemination.data_file(v["files"])
    extra = dict(v.get("extra") or {})
    if name is not None:
        assessment, facts = await repo.run(_assess, folder / name)
        extra.update(scores=_public_scores(assessment), facts=facts, summary=datafacts.summary(facts))
        v = store.set_metadata(ds_id, n, v["owner"], v["metadata"], extra)
        conventions.require_assessed(assessment, name)
    v = await _reserve(repo, v)
    doi = v["doi"]
    concept_key = f"{ds_id}.concept"
    concept = _known_concept(repo, ds_id) or repo.registrar.concept_doi(concept_key)
    attributes = repo.attributes(v, doi=doi, concept=concept)
    metadata.validate_datacite(attributes)
    store.stage_attributes(ds_id, n, attributes)
    files = [folder / f["name"] for f in v["files"]]
    await repo.run(repo.registrar.publish, f"{ds_id}.v{n}", doi, attributes, repo.landing_url(ds_id, n), files)
    dois = [x["doi"] for x in store.versions(ds_id) if x["state"] == "published" and x.get("doi")] + [doi]
    concept_attrs = repo.concept_attributes(ds_id, v, dois)
    concept = await repo.run(repo.registrar.publish_concept, concept_key, concept_attrs, repo.concept_url(ds_id),
                             f"{ds_id}.v{n}")
    attributes = repo.attributes(v, doi=doi, concept=concept)
    v = store.set_metadata(ds_id, n, v["owner"], v["metadata"], dict(v.get("extra") or {}) | {"concept_doi": concept})
    store.stage_attributes(ds_id, n, attributes)
    return store.finish_publish(ds_id, n, v["owner"], doi=doi, attributes=attributes)


def _known_concept(repo: Repository, ds_id: str) -> str | None:
    """The concept DOI an earlier published version of the dataset already has."""
    for x in reversed(repo.store.versions(ds_id)):
        if x["state"] == "published" and (x.get("extra") or {}).get("concept_doi"):
            return x["extra"]["concept_doi"]
    return None


def _public_scores(a: Any) -> dict[str, Any]:
    """What the API and the landing page show of compliance-checker's verdict."""
    from .. import conventions

    out: dict[str, Any] = {"tool": a.scores.get("tool"), "publishable": a.publishable,
                           "rule": f"CF: no high-priority issue; ACDD-1.3: at least {conventions.ACDD_MIN_PERCENT:g} % "
                                   f"of its points"}
    for family in ("cf", "acdd"):
        sc = a.scores.get(family)
        if sc:
            out[family] = {k: sc[k] for k in ("checker", "scored", "possible", "percent", "high", "medium", "low")}
            out[family]["failed"] = [f"{f['priority']}: {f['check']}: {m}" for f in sc["failed"]
                                     for m in (f["messages"] or [""])]
    return out


def _assess(path: Path) -> tuple[Any, dict[str, Any]]:
    """compliance-checker's assessment and the facts of a data file (NetCDF, or a zipped Zarr store)."""
    from .. import conventions, datafacts

    if not path.name.lower().endswith(".zarr.zip"):
        conventions.check_readable(path)  # a damaged file is the user's to fix (422 naming it), not a crash
    ds = dissemination.open_dataset(path)
    try:
        facts = datafacts.describe(ds)
        target = ds if path.name.lower().endswith(".zarr.zip") else str(path)
        return conventions.assess(target), facts
    finally:
        ds.close()


def _check_registrar(repo: Repository, body: dict[str, Any]) -> None:
    wanted = body.get("registrar")
    if wanted and wanted != repo.settings.registrar:
        raise RepositoryError(f"registrar {wanted!r}: this repository registers DOIs with "
                              f"{repo.settings.registrar!r} (services.repository.registrar in vre.yaml); "
                              f"use {repo.settings.registrar!r} or ask the VRE admins", status=422)


def _checked_metadata(md: Any) -> dict[str, Any]:
    from .. import metadata

    if md is None:
        raise RepositoryError("metadata: missing; send the dataset's metadata (title, creators, licence, ...) as "
                              "`metadata` in the JSON body", status=422)
    if not isinstance(md, dict):  # a string would be read as a file path on the service's side
        raise RepositoryError(f"metadata: send a JSON object (title, creators, licence, ...), not a "
                              f"{type(md).__name__}", status=422)
    return metadata.load_metadata(md)


def _extra(body: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    prov = body.get("provenance") or []
    if not isinstance(prov, list) or not all(isinstance(p, dict) for p in prov):
        raise RepositoryError("provenance: give a list of records ({name, title, doi, url})")
    extra["provenance"] = prov
    nb = body.get("notebook")
    if nb is not None and not (isinstance(nb, dict) and "path" in nb):
        raise RepositoryError("notebook: give {path, sha256}")
    extra["notebook"] = nb
    theme = body.get("theme") or "physics"
    if theme not in ("physics", "biogeochemistry", "in_situ", "biology_imaging"):
        raise RepositoryError(f"theme {theme!r} is not a catalogue theme: use physics, biogeochemistry, in_situ or "
                              f"biology_imaging")
    extra["theme"] = theme
    return extra


def _groups(groups: Any) -> list[str]:
    if groups is None:
        return []
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise RepositoryError(f"groups: {groups!r} is not a list of hub group names; give a list, e.g. "
                              f"[\"ocean-team\"]")
    return groups


# ----------------------------------------------------------------------------- pages


class HomePage(Base):
    async def get(self) -> None:
        published = self.store.list_versions(state="published")
        mine = self.store.list_versions(owner=self.username) if self.username else []
        self.finish(pages.home_page(published, mine, self.repo, self.username))


class LoginPage(Base):
    @web.authenticated
    async def get(self) -> None:
        nxt = self.get_argument("next", self.repo.settings.prefix)
        if not nxt.startswith(self.repo.settings.prefix):
            nxt = self.repo.settings.prefix
        self.redirect(nxt)


class ConceptPage(Base):
    """``datasets/<id>/``: the dataset over all its versions (where its concept DOI resolves), every version
    the visitor may see listed."""

    async def get(self, ds_id: str) -> None:
        groups = await self.groups() if self.username else []
        versions = [x for x in self.store.versions(ds_id) if self.store.can_read(x, self.username, groups)]
        if not versions:  # the same answer for a dataset that does not exist and for someone else's drafts
            raise NotFound(f"no dataset {ds_id!r}")
        published = [x for x in versions if x["state"] == "published"]
        self.set_header("Cache-Control", "public, max-age=60" if published else "private, no-store")
        if published:
            latest = published[-1]
            self.add_header("Link", f'<{self.repo.landing_url(ds_id, latest["version"])}>; rel="item"; type="text/html"')
        self.finish(pages.concept_page(ds_id, versions, self.repo))


class LandingPage(Base):
    async def get(self, ds_id: str, number: str, include_body: bool = True) -> None:
        v = await self.readable(ds_id, int(number))
        versions = [x for x in self.store.versions(ds_id) if self.store.can_read(x, self.username, await self.groups())]
        self._cache(v)
        attributes = v.get("attributes") or self.repo.attributes(v, doi=v.get("doi") or "")
        # FAIR Signposting: machines find the identifier, metadata, files and licence in the headers
        self.set_header("Link", ", ".join(pages.signposting(v, attributes, self.repo)))
        if include_body:
            self.finish(pages.landing_page(v, versions, self.repo))
        else:
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.finish()

    async def head(self, ds_id: str, number: str) -> None:
        await self.get(ds_id, number, include_body=False)

    def _cache(self, v: dict[str, Any]) -> None:
        self.set_header("Cache-Control", "public, max-age=300" if v["state"] == "published" else "private, no-store")


class LandingExport(Base):
    """``datacite.json``, ``datacite.xml``, ``citation.txt``, ``citation.bib``, ``schema.jsonld``, ``preview.png``."""

    async def get(self, ds_id: str, number: str, what: str) -> None:
        v = await self.readable(ds_id, int(number))
        self.set_header("Cache-Control", "public, max-age=300" if v["state"] == "published" else "private, no-store")
        if what == "preview.png":
            self.set_header("Content-Type", "image/png")
            self.finish(await preview(self.repo, v))
            return
        attributes = v.get("attributes") or self.repo.attributes(v, doi=v.get("doi") or "")
        ctype, body = pages.export(what, v, attributes, self.repo)
        self.set_header("Content-Type", ctype)
        self.finish(body)


async def preview(repo: Repository, v: dict[str, Any]) -> bytes:
    """The preview map of a version (cached on disk for published versions, which never change)."""
    name = dissemination.data_file(v["files"])
    if name is None:
        raise NotFound("this version has no NetCDF or Zarr file to draw a map from")
    base = repo.store.published_dir(v["id"], v["version"]) if v["state"] == "published" else \
        repo.store.draft_dir(v["id"], v["version"])
    cache = repo.store.root / "cache" / v["id"] / f"v{v['version']}" / "preview.png"
    if v["state"] == "published" and cache.exists():
        return cache.read_bytes()
    png = await repo.run(dissemination.preview_png, base / name, str(v["metadata"].get("title", "")))
    if v["state"] == "published":
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(png)
        os.replace(tmp, cache)
    return png


class Download(Base, web.StaticFileHandler):
    """A file of a version, with HTTP Range, ETag and Last-Modified (tornado's static file machinery)."""

    CHUNK = 8 * 1024 * 1024

    def initialize(self, repo: Repository) -> None:  # type: ignore[override]
        Base.initialize(self, repo)
        web.StaticFileHandler.initialize(self, path=str(repo.store.root / "published"))

    async def get(self, ds_id: str, number: str, name: str, include_body: bool = True) -> None:  # type: ignore[override]
        v = await self.readable(ds_id, int(number))
        name = check_name(name)
        if name not in {f["name"] for f in v["files"] if f["complete"]}:
            raise NotFound(f"dataset {ds_id} v{number} has no file {name!r}")
        info = next(f for f in v["files"] if f["name"] == name)
        if self._redirect(v, info):
            return
        base = self.store.published_dir(ds_id, int(number)) if v["state"] == "published" else \
            self.store.draft_dir(ds_id, int(number))
        self.root = str(base)
        self.version_state = v["state"]
        self.file_sha256 = info["sha256"]
        await web.StaticFileHandler.get(self, name, include_body)

    def _redirect(self, v: dict[str, Any], info: dict[str, Any]) -> bool:
        """Send a large published file's client to a signed link on the service's own port (not through the
        hub's proxy, which would cap its speed); True when redirected."""
        s = self.repo.settings
        if not s.direct_url or v["state"] != "published" or int(info.get("size") or 0) < s.direct_min_size:
            return False
        if self.request.host == urlparse(s.direct_url).netloc:
            return False  # already on the direct address: serve it here
        self.set_header("Cache-Control", "no-store")  # the link expires: never cache the redirect
        self.redirect(self.repo.signed_link(v["id"], int(v["version"]), info["name"], info["sha256"]), status=307)
        return True

    def compute_etag(self) -> str | None:
        # the verified SHA-256 is the content's identity; tornado would read the whole file to hash it
        return f'"{self.file_sha256}"' if getattr(self, "file_sha256", None) else None

    async def head(self, ds_id: str, number: str, name: str) -> None:  # type: ignore[override]
        await self.get(ds_id, number, name, include_body=False)

    def set_extra_headers(self, path: str) -> None:
        if getattr(self, "version_state", "") == "published":
            self.set_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.set_header("Cache-Control", "private, no-store")

    @classmethod
    def get_content(cls, abspath: str, start: int | None = None, end: int | None = None) -> Any:
        # tornado reads 64 KiB at a time: 8 MiB blocks double the throughput on loopback (docs/benchmarks.md)
        with open(abspath, "rb") as fh:
            if start is not None:
                fh.seek(start)
            remaining = (end - (start or 0)) if end is not None else None
            while True:
                size = cls.CHUNK if remaining is None else min(cls.CHUNK, remaining)
                chunk = fh.read(size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
                if remaining is not None and remaining <= 0:
                    return


class SignedDownload(Download):
    """A published file through a signed, expiring link (no hub login: the signature is the permission)."""

    async def prepare(self) -> None:
        self.user = None  # the link alone decides; no call to the hub

    async def get(self, ds_id: str, number: str, name: str, include_body: bool = True) -> None:  # type: ignore[override]
        if not self.repo.settings.direct_url:
            raise NotFound("signed download links are off in this repository (services.repository.direct_downloads)")
        expires = signed.parse_expires(self.get_query_argument("expires", None))
        sig = self.get_query_argument("sig", "")
        name = check_name(name)
        try:
            v = self.store.version(ds_id, int(number))
        except NotFound:
            v = None
        info = next((f for f in (v or {}).get("files", ()) if f["name"] == name and f["complete"]), None)
        if v is None or v["state"] != "published" or info is None:
            # a draft is never served by a link: to a link, it does not exist
            raise NotFound(f"dataset {ds_id} v{number} has no published file {name!r}")
        signed.DownloadLink(ds_id, int(number), name, info["sha256"], expires).check(self.repo.link_key, sig)
        self.root = str(self.store.published_dir(ds_id, int(number)))
        self.version_state = "published"
        self.file_sha256 = info["sha256"]
        await web.StaticFileHandler.get(self, name, include_body)

    def set_extra_headers(self, path: str) -> None:
        # the link expires; the bytes behind it never change
        self.set_header("Cache-Control", f"private, max-age={self.repo.settings.direct_ttl}, immutable")


class Dissemination(Base):
    """Zarr v3 and OPeNDAP of published versions, by xpublish (run in-process through ASGI)."""

    async def get(self, *_args: str) -> None:
        path = self.repo.xpublish_path(self.request.path)
        if path is None:
            raise NotFound("no published dataset here (drafts are not served over Zarr/OPeNDAP)")
        self.set_header("Access-Control-Allow-Origin", "*")
        m = re.fullmatch(r"/datasets/([a-z0-9]{10}\.v[0-9]+)/zarr/([^/]+)/c/([0-9]+(?:/[0-9]+)*)", path)
        if m and self.request.method == "GET":
            coords = tuple(int(x) for x in m.group(3).split("/"))
            try:
                body = await self.repo.run(self.repo.chunk, m.group(1), m.group(2), coords)
            except IndexError as exc:
                raise NotFound(str(exc)) from None
            if body is not None:
                self.set_header("Content-Type", "application/octet-stream")
                self.set_header("Cache-Control", "public, max-age=86400")
                self.finish(body)
                return
        await dissemination.run_asgi(self, self.repo.xpublish, path)

    async def head(self, *args: str) -> None:
        await self.get(*args)


class OAIPMH(Base):
    """The OAI-PMH endpoint (``oai``): published versions for harvesters, public like their landing pages."""

    def _provider(self) -> Any:
        from . import oai

        published = self.store.list_versions(state="published")
        records = [oai.Record(f"{v['id']}.v{v['version']}", v.get("published") or v["created"],
                              (v.get("extra") or {}).get("theme") or "physics", v.get("attributes") or {})
                   for v in published if v.get("attributes")]
        earliest = min((r.datestamp for r in records), default="2026-01-01T00:00:00+00:00")
        return oai.Provider(base_url=self.repo.base_url + "oai", name=f"ODATIS repository ({self.repo.base_url})",
                            email=self.repo.settings.publisher_email, earliest=oai._utc(earliest),
                            records=lambda: records)

    async def get(self) -> None:
        from . import oai

        params = {k: [x.decode() for x in v] for k, v in self.request.query_arguments.items()}
        self._answer(oai.respond(params, self._provider()))

    async def post(self) -> None:
        from urllib.parse import parse_qs

        from . import oai

        if not self.request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            raise RepositoryError("OAI-PMH POST requests are application/x-www-form-urlencoded (verb=...)", status=400)
        params = parse_qs(self.request.body.decode("utf-8", "replace"), keep_blank_values=True)
        self._answer(oai.respond(params, self._provider()))

    def _answer(self, body: bytes) -> None:
        self.set_header("Content-Type", "text/xml; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


class StacCatalog(Base):
    """``stac/catalog.json``: a STAC Catalog whose items are the published versions' STAC Items."""

    async def get(self) -> None:
        from . import stac

        base = self.repo.base_url
        items = [(f"{v['id']}.v{v['version']}", self.repo.landing_url(v["id"], v["version"]) + "stac.json")
                 for v in self.store.list_versions(state="published") if (v.get("extra") or {}).get("facts")]
        body = stac.catalog_dict(base + "stac/catalog.json", items, "ODATIS repository: published datasets")
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "public, max-age=60")
        self.finish(json.dumps(body, indent=1))


class CatalogFragment(Base):
    async def get(self) -> None:
        self.set_header("Content-Type", "application/yaml; charset=utf-8")
        self.set_header("Cache-Control", "public, max-age=60")
        self.finish(pages.catalog_fragment(self.store.list_versions(state="published"), self.repo))


class Health(Base):
    async def get(self) -> None:
        self.send_json({"ok": True, "published": len(self.store.list_versions(state="published")),
                        "publisher": self.repo.publisher()})


def make_app(settings: Settings, store: Store | None = None) -> web.Application:
    """The tornado application of the service (routes under ``settings.prefix``)."""
    repo = Repository(settings, store)
    if settings.oauth_redirect_uri:
        from jupyterhub.services.auth import HubOAuth

        HubOAuth.instance().oauth_redirect_uri = settings.oauth_redirect_uri
    p = re.escape(settings.prefix)
    kw = {"repo": repo}
    routes = [
        (p + r"?", HomePage, kw),
        (p + r"login", LoginPage, kw),
        (p + r"oauth_callback", HubOAuthCallbackHandler),
        (p + r"health", Health, kw),
        (p + r"catalog\.yaml", CatalogFragment, kw),
        (p + r"api/published", PublishedAPI, kw),
        (p + r"api/deposits", DepositsAPI, kw),
        (p + rf"api/deposits/{ID}", DepositAPI, kw),
        (p + rf"api/deposits/{ID}/versions", VersionsAPI, kw),
        (p + rf"api/deposits/{ID}/share", ShareAPI, kw),
        (p + rf"api/deposits/{ID}/{VER}", VersionAPI, kw),
        (p + rf"api/deposits/{ID}/{VER}/files", FilesAPI, kw),
        (p + rf"api/deposits/{ID}/{VER}/files/([^/]+)", FileAPI, kw),
        (p + rf"api/deposits/{ID}/{VER}/publish", PublishAPI, kw),
        (p + rf"datasets/{ID}/?", ConceptPage, kw),
        (p + r"oai", OAIPMH, kw),
        (p + r"stac/catalog\.json", StacCatalog, kw),
        (p + rf"datasets/{ID}/{VER}/", LandingPage, kw),
        (p + rf"datasets/{ID}/{VER}/(datacite\.json|datacite\.xml|citation\.txt|citation\.bib|schema\.jsonld|stac\.json|preview\.png)",
         LandingExport, kw),
        (p + rf"datasets/{ID}/{VER}/files/([^/]+)", Download, kw),
        (p + rf"direct/{ID}/{VER}/([^/]+)", SignedDownload, kw),
        (p + rf"datasets/{ID}/{VER}/(zarr|opendap)(.*)", Dissemination, kw),
    ]
    return web.Application(routes, cookie_secret=os.urandom(32), xsrf_cookies=False,
                           default_handler_class=NotFoundHandler, default_handler_args=kw, repo=repo)


class NotFoundHandler(Base):
    async def prepare(self) -> None:
        await super().prepare()
        raise NotFound("not found")


def serve(port: int, settings: Settings, address: str = "127.0.0.1") -> None:
    """Run the service until interrupted (SIGTERM/SIGINT stop it cleanly)."""
    import signal

    from tornado.httpserver import HTTPServer

    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s repository] %(message)s")
    app = make_app(settings)
    # bodies are streamed into files (FileAPI sets its own bound per chunk); others stay small
    server = HTTPServer(app, max_body_size=16 * 1024 * 1024, max_buffer_size=64 * 1024 * 1024, xheaders=True)
    server.listen(port, address)
    log.info("repository at %s%s (storage %s, registrar %s, prefix %s)", settings.public_url, settings.prefix,
             settings.storage, settings.registrar, settings.doi_prefix)
    loop = ioloop.IOLoop.current()

    def stop(*_: Any) -> None:
        loop.add_callback_from_signal(loop.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    loop.start()


__all__ = ["Settings", "make_app", "serve"]
