"""What the repository serves to browsers and harvesters: landing and concept pages, exports, downloads (signed
links for large files), Zarr/OPeNDAP, OAI-PMH, STAC and the intake catalogue fragment."""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlparse

from tornado import web

from . import dissemination, pages, signed
from .service import Base, Repository
from .store import NotFound, RepositoryError, check_name

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
            self.add_header(
                "Link", f'<{self.repo.landing_url(ds_id, latest["version"])}>; rel="item"; type="text/html"'
            )
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
    base = (
        repo.store.published_dir(v["id"], v["version"])
        if v["state"] == "published"
        else repo.store.draft_dir(v["id"], v["version"])
    )
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
        base = (
            self.store.published_dir(ds_id, int(number))
            if v["state"] == "published"
            else self.store.draft_dir(ds_id, int(number))
        )
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
        records = [
            oai.Record(
                f"{v['id']}.v{v['version']}",
                v.get("published") or v["created"],
                (v.get("extra") or {}).get("theme") or "physics",
                v.get("attributes") or {},
            )
            for v in published
            if v.get("attributes")
        ]
        earliest = min((r.datestamp for r in records), default="2026-01-01T00:00:00+00:00")
        return oai.Provider(
            base_url=self.repo.base_url + "oai",
            name=f"ODATIS repository ({self.repo.base_url})",
            email=self.repo.settings.publisher_email,
            earliest=oai._utc(earliest),
            records=lambda: records,
        )

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
        items = [
            (f"{v['id']}.v{v['version']}", self.repo.landing_url(v["id"], v["version"]) + "stac.json")
            for v in self.store.list_versions(state="published")
            if (v.get("extra") or {}).get("facts")
        ]
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
        self.send_json(
            {
                "ok": True,
                "published": len(self.store.list_versions(state="published")),
                "publisher": self.repo.publisher(),
            }
        )
