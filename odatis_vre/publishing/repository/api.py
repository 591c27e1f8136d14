"""The repository's JSON API: deposits, versions, sharing, resumable file uploads, publication with a DOI."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from pathlib import Path
from typing import Any

from tornado import web

from . import dissemination, pages
from .service import _RANGE_RE, Base, Repository
from .store import RepositoryError, check_name

# ----------------------------------------------------------------------------- API


class PublishedAPI(Base):
    async def get(self) -> None:
        self.send_json([pages.public_summary(v, self.repo) for v in self.store.list_versions(state="published")])


class DepositsAPI(Base):
    async def get(self) -> None:
        user = self.need_reader()
        self.send_json(
            [pages.public_summary(v, self.repo) | {"state": v["state"]} for v in self.store.list_versions(owner=user)]
        )

    async def post(self) -> None:
        """Create a deposit: ``{"key", "metadata", "provenance"?, "notebook"?, "theme"?, "groups"?}``."""
        user = self.need_writer()
        body = self.body_json()
        _check_registrar(self.repo, body)
        md = _checked_metadata(body.get("metadata"))
        v = self.store.create_deposit(
            user, md, key=body.get("key"), extra=_extra(body), groups=_groups(body.get("groups"))
        )
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
            raise RepositoryError(
                "send each chunk with a header `Content-Range: bytes FIRST-LAST/TOTAL` "
                "(FIRST = the file's `received` offset)",
                status=400,
            )
        a, b, total = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if total != f["size"]:
            raise RepositoryError(
                f"file {name}: Content-Range total {total} differs from the announced size "
                f"{f['size']}; announce the file again with its real size",
                status=400,
            )
        if b < a or b >= total:
            raise RepositoryError(f"file {name}: Content-Range {cr!r} is not inside 0-{total - 1}", status=416)
        if a != f["received"]:
            raise RepositoryError(
                f"file {name}: this chunk starts at {a} but {f['received']} bytes were received; "
                f"resume from offset {f['received']}",
                status=409,
            )
        length = self.request.headers.get("Content-Length")
        if length is not None and int(length) != b - a + 1:
            raise RepositoryError(
                f"file {name}: the body has {length} bytes but Content-Range {cr!r} says "
                f"{b - a + 1}; send exactly the bytes of the range",
                status=400,
            )
        key = (ds_id, number, name)
        if key in self.repo.busy:
            raise RepositoryError(
                f"file {name} is being uploaded by another request; wait for it to finish", status=409
            )
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
            raise RepositoryError(
                f"file {name}: received {self.written} bytes, the Content-Range announced "
                f"{self.expect}; send the chunk again",
                status=400,
            )
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
    concept = await repo.run(
        repo.registrar.publish_concept, concept_key, concept_attrs, repo.concept_url(ds_id), f"{ds_id}.v{n}"
    )
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

    out: dict[str, Any] = {
        "tool": a.scores.get("tool"),
        "publishable": a.publishable,
        "rule": f"CF: no high-priority issue; ACDD-1.3: at least {conventions.ACDD_MIN_PERCENT:g} % of its points",
    }
    for family in ("cf", "acdd"):
        sc = a.scores.get(family)
        if sc:
            out[family] = {k: sc[k] for k in ("checker", "scored", "possible", "percent", "high", "medium", "low")}
            out[family]["failed"] = [
                f"{f['priority']}: {f['check']}: {m}" for f in sc["failed"] for m in (f["messages"] or [""])
            ]
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
        raise RepositoryError(
            f"registrar {wanted!r}: this repository registers DOIs with "
            f"{repo.settings.registrar!r} (services.repository.registrar in vre.yaml); "
            f"use {repo.settings.registrar!r} or ask the VRE admins",
            status=422,
        )


def _checked_metadata(md: Any) -> dict[str, Any]:
    from .. import metadata

    if md is None:
        raise RepositoryError(
            "metadata: missing; send the dataset's metadata (title, creators, licence, ...) as "
            "`metadata` in the JSON body",
            status=422,
        )
    if not isinstance(md, dict):  # a string would be read as a file path on the service's side
        raise RepositoryError(
            f"metadata: send a JSON object (title, creators, licence, ...), not a {type(md).__name__}", status=422
        )
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
        raise RepositoryError(
            f"theme {theme!r} is not a catalogue theme: use physics, biogeochemistry, in_situ or biology_imaging"
        )
    extra["theme"] = theme
    return extra


def _groups(groups: Any) -> list[str]:
    if groups is None:
        return []
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise RepositoryError(f'groups: {groups!r} is not a list of hub group names; give a list, e.g. ["ocean-team"]')
    return groups
