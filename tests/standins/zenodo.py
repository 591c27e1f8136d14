"""A stand-in for Zenodo's REST API — InvenioRDM's records API, as Zenodo runs it since 2023 — on loopback.

Base URL ``http://127.0.0.1:PORT/api`` (as ``https://zenodo.org/api``). Implemented from InvenioRDM's
public REST API reference (https://inveniordm.docs.cern.ch/reference/rest_api_drafts_records/) and its
file-transfer reference (local and multipart transfers):

- Drafts: ``POST /api/records`` (``metadata``, ``access``, ``files.enabled``) → 201, ``GET/PUT/DELETE
  /api/records/{id}/draft``. A draft is saved even when its metadata have errors: they are listed in the
  answer's ``errors`` (``[{field, messages}]``); unknown metadata fields are such errors. ``PUT`` replaces
  the draft — its ``pids`` too: a body without ``pids`` drops a reserved DOI.
- ``POST /api/records/{id}/draft/pids/doi`` reserves the DOI ``10.5072/zenodo.<id>`` (Zenodo's "Get a DOI
  now"); 400 if the draft already has one.
- Draft files: ``GET/POST /api/records/{id}/draft/files`` (``[{"key": ...}]``, or with ``size`` and
  ``transfer: {type: "M", parts, part_size}`` for an upload in parts, whose entry links each part:
  ``links.parts[].url`` = ``.../files/{key}/content/{n}``); ``PUT .../files/{key}/content`` (the bytes),
  ``PUT .../files/{key}/content/{n}`` (part ``n``: ``part_size`` bytes except the last),
  ``POST .../files/{key}/commit`` (→ ``status: completed``, ``size``, ``checksum: "md5:..."``),
  ``GET``/``DELETE .../files/{key}``. Keys already initialised are refused (400).
- ``POST /api/records/{id}/draft/actions/publish`` → 202 the record; strict validation first (400 with
  ``errors``): resource_type, title, publication_date, creators (a personal one needs family_name, an
  organizational one a name), at least one file, every file committed. The DOI is the reserved one (else
  one is minted) and, at the first version, the parent gets the concept DOI ``10.5072/zenodo.<parent id>``.
  Publishing a record that has no draft answers 404.
- ``GET /api/records/{id}`` (published), ``GET /api/records/{id}/files``; ``POST /api/records/{id}/versions``
  (a new draft in the same parent, metadata copied without ``publication_date``/``version``, no files, no
  DOI; the pending new-version draft when there is one), ``GET /api/records/{id}/versions``.
- ``GET /api/user/records`` (``q``, ``size``, ``page``, ``allversions``): the user's drafts and records.
- Auth: ``Authorization: Bearer <token>`` or ``?access_token=<token>``; else 401. Errors are
  ``{"status": 4xx, "message": "...", "errors"?: [...]}``. Records are served in InvenioRDM's own JSON
  (what ``Accept: application/vnd.inveniordm.v1+json`` asks for).

Options: ``start(multipart=False)`` refuses transfers of type ``M`` (400), as an instance without multipart
uploads does. Simplification: ``q`` matches a substring anywhere in a record's metadata (Zenodo runs a
search-engine query string, whose index lags by about a second); the bytes are kept on disk in a
temporary folder, removed at ``stop()``.

Fault injection, as in :mod:`standins.datacite`: ``handle.fail_next(500 | 'timeout' | 'commit-then-drop',
"/records", method="POST")`` (paths may be given with or without the ``/api`` root); an injected HTTP error
answers in the API's error format, ``{"status": 500, "message": "..."}``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import json
import re
import shutil
import tempfile
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from .datacite import Reply, StandinHandle, make_handler, serve

_METADATA_KEYS = {
    "resource_type",
    "creators",
    "title",
    "publication_date",
    "additional_titles",
    "description",
    "additional_descriptions",
    "rights",
    "contributors",
    "subjects",
    "languages",
    "dates",
    "version",
    "publisher",
    "identifiers",
    "related_identifiers",
    "sizes",
    "formats",
    "locations",
    "funding",
    "references",
}
_RESOURCE_TYPES = {
    "dataset",
    "software",
    "image",
    "video",
    "workflow",
    "model",
    "other",
    "publication",
    "publication-article",
    "publication-report",
    "poster",
    "presentation",
    "lesson",
}
_RELATIONS = {
    r.lower()
    for r in (
        "IsCitedBy",
        "Cites",
        "IsSupplementTo",
        "IsSupplementedBy",
        "IsContinuedBy",
        "Continues",
        "IsDescribedBy",
        "Describes",
        "HasMetadata",
        "IsMetadataFor",
        "HasVersion",
        "IsVersionOf",
        "IsNewVersionOf",
        "IsPreviousVersionOf",
        "IsPartOf",
        "HasPart",
        "IsPublishedIn",
        "IsReferencedBy",
        "References",
        "IsDocumentedBy",
        "Documents",
        "IsCompiledBy",
        "Compiles",
        "IsVariantFormOf",
        "IsOriginalFormOf",
        "IsIdenticalTo",
        "IsReviewedBy",
        "Reviews",
        "IsDerivedFrom",
        "IsSourceOf",
        "IsRequiredBy",
        "Requires",
        "IsObsoletedBy",
        "Obsoletes",
        "IsCollectedBy",
        "Collects",
    )
}
_DATE_TYPES = {
    "accepted",
    "available",
    "copyrighted",
    "collected",
    "created",
    "issued",
    "submitted",
    "updated",
    "valid",
    "withdrawn",
    "other",
}
_DESCRIPTION_TYPES = {"abstract", "methods", "seriesinformation", "tableofcontents", "technicalinfo", "other", "notes"}


def _edtf_ok(value: Any) -> bool:
    """An EDTF level-0 date or interval of dates: ``2023``, ``2023-06``, ``2023-06-01``, ``2023-06-01/2023-08-01``."""
    parts = str(value).split("/")
    if not 1 <= len(parts) <= 2:
        return False
    for part in parts:
        for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
            if len(part) == len(_dt.date(2000, 1, 1).strftime(fmt)):
                try:
                    _dt.datetime.strptime(part, fmt)
                    break
                except ValueError:
                    return False
        else:
            return False
    return True


class Upload:
    """Bytes a PUT brought, spooled to a file: its path, size and digests."""

    def __init__(self, path: Path, size: int, md5: str, sha256: str):
        self.path, self.size, self.md5, self.sha256 = path, size, md5, sha256


class ZenodoHandle(StandinHandle):
    api_root = "/api"

    def __init__(self, token: str, multipart: bool = True):
        super().__init__()
        self.token = token
        self.multipart = multipart
        self.spool = Path(tempfile.mkdtemp(prefix="zenodo-standin-"))
        self.records: dict[str, dict[str, Any]] = {}  # record id -> {draft, record, draft_files, files, parent}
        self.parents: dict[str, dict[str, Any]] = {}  # parent id -> {id, versions: [record ids], next_draft, doi}
        self._ids = itertools.count(100001)

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.spool, ignore_errors=True)

    # -- helpers
    def _authorised(self, headers: dict[str, str], query: dict[str, list[str]]) -> bool:
        auth = headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else (query.get("access_token") or [""])[0]
        return token == self.token

    @staticmethod
    def _err(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Reply:
        body: dict[str, Any] = {"status": status, "message": message}
        if errors:
            body["errors"] = errors
        return status, body

    def fault_body(self, status: int) -> Any:
        """Injected errors look like the API's own: ``{"status": 500, "message": "..."}``."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return self._err(status, f"{phrase} (injected failure).")[1]

    @staticmethod
    def _now() -> str:
        return _dt.datetime.now(_dt.UTC).isoformat()

    def _links(self, rid: str, draft: bool) -> dict[str, str]:
        api, site = self.url, self.url[:-4]
        links = {
            "self": f"{api}/records/{rid}" + ("/draft" if draft else ""),
            "self_html": f"{site}/uploads/{rid}" if draft else f"{site}/records/{rid}",
            "files": f"{api}/records/{rid}" + ("/draft/files" if draft else "/files"),
            "versions": f"{api}/records/{rid}/versions",
            "latest": f"{api}/records/{rid}/versions/latest",
        }
        if draft:
            links.update(
                publish=f"{api}/records/{rid}/draft/actions/publish", reserve_doi=f"{api}/records/{rid}/draft/pids/doi"
            )
        return links

    def _parent_view(self, parent: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": parent["id"], "access": {"owned_by": {"user": "1"}}}
        if parent.get("doi"):
            out["pids"] = {"doi": {"identifier": parent["doi"], "provider": "datacite", "client": "datacite"}}
        return out

    def _view(self, rec: dict[str, Any], draft: bool) -> dict[str, Any]:
        body = rec["draft"] if draft else rec["record"]
        parent = self.parents[rec["parent"]]
        versions = parent["versions"]
        out = {
            "id": rec["id"],
            "created": rec["created"],
            "updated": body["updated"],
            "revision_id": body["revision"],
            "is_draft": draft,
            "is_published": rec["record"] is not None,
            "status": ("draft" if rec["record"] is None else "published") if draft else "published",
            "metadata": body["metadata"],
            "access": body["access"],
            "files": body["files"],
            "pids": body["pids"],
            "parent": self._parent_view(parent),
            "links": self._links(rec["id"], draft),
            "versions": {
                "index": rec["index"],
                "is_latest": bool(versions) and versions[-1] == rec["id"] and rec["record"] is not None,
                "is_latest_draft": parent.get("next_draft") == rec["id"]
                or (bool(versions) and versions[-1] == rec["id"]),
            },
        }
        if draft and body.get("errors"):
            out["errors"] = body["errors"]
        return json.loads(json.dumps(out))

    def _file_view(self, rid: str, key: str, f: dict[str, Any], draft: bool) -> dict[str, Any]:
        base = f"{self.url}/records/{rid}" + ("/draft" if draft else "") + f"/files/{key}"
        out: dict[str, Any] = {
            "key": key,
            "created": f["created"],
            "updated": f["updated"],
            "status": f["status"],
            "metadata": None,
            "transfer": {"type": f["transfer"]},
        }
        links: dict[str, Any] = {"self": base, "content": f"{base}/content"}
        if draft:
            links["commit"] = f"{base}/commit"
        if f["status"] == "completed":
            out.update(size=f["size"], checksum=f"md5:{f['md5']}", mimetype="application/octet-stream", file_id=f["id"])
        elif f["transfer"] == "M":
            links["content"] = None
            links["parts"] = [{"part": n, "url": f"{base}/content/{n}"} for n in range(1, f["parts"] + 1)]
        out["links"] = links
        return out

    def _files_view(self, rid: str, files: dict[str, dict[str, Any]], draft: bool) -> dict[str, Any]:
        base = f"{self.url}/records/{rid}" + ("/draft" if draft else "") + "/files"
        return {
            "enabled": True,
            "default_preview": None,
            "order": [],
            "entries": [self._file_view(rid, k, f, draft) for k, f in files.items()],
            "links": {"self": base},
        }

    @staticmethod
    def _check_metadata(md: Any) -> list[dict[str, Any]]:
        """What InvenioRDM's schema refuses in a saved draft (field, messages)."""
        if not isinstance(md, dict):
            return [{"field": "metadata", "messages": ["Not a valid mapping type."]}]
        errs = [{"field": f"metadata.{k}", "messages": ["Unknown field."]} for k in md if k not in _METADATA_KEYS]
        rt = (md.get("resource_type") or {}).get("id") if isinstance(md.get("resource_type"), dict) else None
        if "resource_type" in md and rt not in _RESOURCE_TYPES:
            errs.append({"field": "metadata.resource_type.id", "messages": [f"Invalid value {rt!r}."]})
        for i, c in enumerate(md.get("creators") or []):
            who = (c or {}).get("person_or_org") if isinstance(c, dict) else None
            if not isinstance(who, dict) or who.get("type") not in ("personal", "organizational"):
                errs.append({"field": f"metadata.creators.{i}.person_or_org.type", "messages": ["Invalid value."]})
            elif who["type"] == "personal" and not who.get("family_name"):
                errs.append(
                    {
                        "field": f"metadata.creators.{i}.person_or_org.family_name",
                        "messages": ["Family name must be filled."],
                    }
                )
            elif who["type"] == "organizational" and not who.get("name"):
                errs.append(
                    {"field": f"metadata.creators.{i}.person_or_org.name", "messages": ["Name cannot be blank."]}
                )
        for i, r in enumerate(md.get("related_identifiers") or []):
            rel = ((r or {}).get("relation_type") or {}).get("id") if isinstance(r, dict) else None
            if not isinstance(r, dict) or not r.get("identifier") or rel not in _RELATIONS:
                errs.append(
                    {"field": f"metadata.related_identifiers.{i}", "messages": ["Invalid identifier or relation type."]}
                )
        for i, d in enumerate(md.get("dates") or []):
            if (
                not isinstance(d, dict)
                or not _edtf_ok(d.get("date"))
                or (d.get("type") or {}).get("id") not in _DATE_TYPES
            ):
                errs.append({"field": f"metadata.dates.{i}", "messages": ["Invalid EDTF date or date type."]})
        for i, d in enumerate(md.get("additional_descriptions") or []):
            if not isinstance(d, dict) or (d.get("type") or {}).get("id") not in _DESCRIPTION_TYPES:
                errs.append({"field": f"metadata.additional_descriptions.{i}.type", "messages": ["Invalid value."]})
        if "publication_date" in md and not _edtf_ok(md["publication_date"]):
            errs.append(
                {"field": "metadata.publication_date", "messages": ["Please provide a valid date or interval."]}
            )
        return errs

    def _publish_errors(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        d = rec["draft"]
        md = d["metadata"]
        errs = list(d.get("errors") or [])
        errs += [
            {"field": f"metadata.{k}", "messages": ["Missing data for required field."]}
            for k in ("resource_type", "title", "publication_date", "creators")
            if not md.get(k)
        ]
        if d["files"].get("enabled", True):
            if not rec["draft_files"]:
                errs.append(
                    {
                        "field": "files.enabled",
                        "messages": [
                            "Missing uploaded files. To disable files for this record please mark it as metadata-only."
                        ],
                    }
                )
            pending = [k for k, f in rec["draft_files"].items() if f["status"] != "completed"]
            if pending:
                errs.append({"field": "files", "messages": [f"File upload(s) not completed: {', '.join(pending)}."]})
        return errs

    def _save_draft(self, rec: dict[str, Any], body: dict[str, Any]) -> None:
        md = dict(body.get("metadata") or {}) if isinstance(body.get("metadata"), dict) else body.get("metadata")
        d = rec["draft"]
        d.update(
            metadata=md if isinstance(md, dict) else {},
            errors=self._check_metadata(md),
            access=body.get("access") or {"record": "public", "files": "public"},
            files={"enabled": (body.get("files") or {}).get("enabled", True)},
            pids=dict(body.get("pids") or {}),
            updated=self._now(),
            revision=d.get("revision", 0) + 1,
        )

    def _new_record(self, parent_id: str, index: int) -> dict[str, Any]:
        rid = str(next(self._ids))
        now = self._now()
        rec = {
            "id": rid,
            "parent": parent_id,
            "index": index,
            "created": now,
            "record": None,
            "files": {},
            "draft": {
                "metadata": {},
                "access": {},
                "files": {"enabled": True},
                "pids": {},
                "updated": now,
                "revision": 0,
            },
            "draft_files": {},
        }
        self.records[rid] = rec
        return rec

    # -- routes
    def route(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any) -> Reply:
        if isinstance(body, ValueError):
            return self._err(400, "The request body is not valid JSON.")
        if not path.startswith("/api/"):
            return self._err(404, "The requested URL was not found on the server.")
        if not self._authorised(headers, query):
            return self._err(401, "The server could not verify that you are authorized to access the URL requested.")
        parts = path[len("/api/") :].strip("/").split("/")
        with self.lock:
            if parts == ["records"] and method == "POST":
                return self._create(body)
            if parts == ["user", "records"] and method == "GET":
                return self._search(query)
            if len(parts) >= 2 and parts[0] == "records":
                rec = self.records.get(parts[1])
                if rec is None:
                    return self._err(404, "The persistent identifier does not exist.")
                return self._record(method, rec, parts[2:], body)
        return self._err(404, "The requested URL was not found on the server.")

    def _create(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return self._err(
                400,
                "A validation error occurred.",
                [{"field": "metadata", "messages": ["Missing data for required field."]}],
            )
        pid = str(next(self._ids))
        self.parents[pid] = {"id": pid, "versions": [], "next_draft": None, "doi": None}
        rec = self._new_record(pid, 1)
        self.parents[pid]["next_draft"] = rec["id"]
        self._save_draft(rec, body)
        return 201, self._view(rec, True)

    def _search(self, query: dict[str, list[str]]) -> Reply:
        q = (query.get("q") or [""])[0].strip().strip('"')
        size = int((query.get("size") or ["10"])[0])
        page = int((query.get("page") or ["1"])[0])
        views = []
        for rec in sorted(self.records.values(), key=lambda r: -int(r["id"])):
            view = self._view(rec, rec["draft"] is not None)
            if not q or q in json.dumps(view["metadata"]):
                views.append(view)
        return 200, {
            "hits": {"hits": views[(page - 1) * size : page * size], "total": len(views)},
            "links": {"self": f"{self.url}/user/records?page={page}&size={size}"},
            "sortBy": "newest",
        }

    def _record(self, method: str, rec: dict[str, Any], rest: list[str], body: Any) -> Reply:
        rid = rec["id"]
        if not rest:
            if method == "GET" and rec["record"] is not None:
                return 200, self._view(rec, False)
            return self._err(404, "The record was not found." if method == "GET" else "Method not allowed.")
        if rest == ["files"] and method == "GET" and rec["record"] is not None:
            return 200, self._files_view(rid, rec["files"], False)
        if rest[0] == "versions":
            return self._versions(method, rec)
        if rest[0] != "draft":
            return self._err(404, "The requested URL was not found on the server.")
        if rec["draft"] is None:
            return self._err(404, "The draft was not found." + (" A published record exists." if rec["record"] else ""))
        d = rec["draft"]
        if rest == ["draft"]:
            if method == "GET":
                return 200, self._view(rec, True)
            if method == "PUT":
                if not isinstance(body, dict):
                    return self._err(400, "A validation error occurred.")
                self._save_draft(rec, body)
                return 200, self._view(rec, True)
            if method == "DELETE":
                for f in rec["draft_files"].values():
                    Path(f["path"]).unlink(missing_ok=True)
                rec["draft"], rec["draft_files"] = None, {}
                parent = self.parents[rec["parent"]]
                if parent["next_draft"] == rid:
                    parent["next_draft"] = None
                if rec["record"] is None:
                    del self.records[rid]
                return 204, None
        if rest == ["draft", "pids", "doi"] and method == "POST":
            if d["pids"].get("doi"):
                return self._err(400, "A PID already exists for type doi.")
            d["pids"]["doi"] = {"identifier": f"10.5072/zenodo.{rid}", "provider": "datacite", "client": "datacite"}
            d["updated"] = self._now()
            return 201, self._view(rec, True)
        if rest == ["draft", "actions", "publish"] and method == "POST":
            return self._publish(rec)
        if rest[:2] == ["draft", "files"]:
            return self._draft_files(method, rec, rest[2:], body)
        return self._err(405, "The method is not allowed for the requested URL.")

    def _publish(self, rec: dict[str, Any]) -> Reply:
        errs = self._publish_errors(rec)
        if errs:
            return self._err(400, "A validation error occurred.", errs)
        d, rid, now = rec["draft"], rec["id"], self._now()
        pids = dict(d["pids"])
        if not pids.get("doi"):
            pids["doi"] = {"identifier": f"10.5072/zenodo.{rid}", "provider": "datacite", "client": "datacite"}
        parent = self.parents[rec["parent"]]
        if not parent["doi"]:
            parent["doi"] = f"10.5072/zenodo.{parent['id']}"  # the concept DOI, registered at the first version
        rec["record"] = {
            **{k: d[k] for k in ("metadata", "access", "files")},
            "pids": pids,
            "updated": now,
            "revision": 1,
        }
        rec["files"], rec["draft"], rec["draft_files"] = rec["draft_files"], None, {}
        parent["versions"].append(rid)
        if parent["next_draft"] == rid:
            parent["next_draft"] = None
        return 202, self._view(rec, False)

    def _versions(self, method: str, rec: dict[str, Any]) -> Reply:
        parent = self.parents[rec["parent"]]
        if method == "GET":
            hits = [self._view(self.records[v], False) for v in parent["versions"]]
            return 200, {"hits": {"hits": hits, "total": len(hits)}, "sortBy": "version"}
        if method != "POST":
            return self._err(405, "The method is not allowed for the requested URL.")
        if rec["record"] is None:
            return self._err(404, "The record was not found.")  # only a published record has versions
        if parent["next_draft"]:
            return 201, self._view(self.records[parent["next_draft"]], True)
        latest = self.records[parent["versions"][-1]]["record"]
        new = self._new_record(parent["id"], len(parent["versions"]) + 1)
        md = {
            k: v
            for k, v in json.loads(json.dumps(latest["metadata"])).items()
            if k not in ("publication_date", "version")
        }
        self._save_draft(new, {"metadata": md, "access": latest["access"], "files": {"enabled": True}})
        parent["next_draft"] = new["id"]
        return 201, self._view(new, True)

    def _draft_files(self, method: str, rec: dict[str, Any], rest: list[str], body: Any) -> Reply:
        rid, files, now = rec["id"], rec["draft_files"], self._now()
        if not rest:
            if method == "GET":
                return 200, self._files_view(rid, files, True)
            if method != "POST":
                return self._err(405, "The method is not allowed for the requested URL.")
            if not isinstance(body, list) or not all(isinstance(e, dict) and e.get("key") for e in body):
                return self._err(
                    400,
                    "A validation error occurred.",
                    [{"field": "key", "messages": ["Missing data for required field."]}],
                )
            for e in body:
                key, transfer = str(e["key"]), (e.get("transfer") or {}).get("type", "L")
                if key in files:
                    return self._err(400, f"File with key {key} already exists.")
                if "/" in key or key in (".", ".."):
                    return self._err(400, "Invalid file name.")
                if transfer == "M":
                    if not self.multipart:
                        return self._err(
                            400,
                            "A validation error occurred.",
                            [{"field": "transfer.type", "messages": ["Invalid transfer type."]}],
                        )
                    if not e.get("size") or not e["transfer"].get("parts"):
                        return self._err(400, "Multipart file transfer requires parts and file size.")
                elif transfer != "L":
                    return self._err(
                        400,
                        "A validation error occurred.",
                        [{"field": "transfer.type", "messages": ["Invalid transfer type."]}],
                    )
            for e in body:
                t = e.get("transfer") or {}
                f = {
                    "id": str(uuid.uuid4()),
                    "created": now,
                    "updated": now,
                    "status": "pending",
                    "transfer": t.get("type", "L"),
                    "path": str(self.spool / f"{rid}-{uuid.uuid4().hex}"),
                    "size": None,
                    "md5": None,
                    "sha256": None,
                }
                if f["transfer"] == "M":
                    f.update(
                        parts=int(t["parts"]),
                        part_size=int(t.get("part_size") or 0),
                        declared=int(e["size"]),
                        received={},
                    )
                files[str(e["key"])] = f
            return 201, {**self._files_view(rid, {k: files[k] for k in (str(e["key"]) for e in body)}, True)}
        key = rest[0]
        f = files.get(key)
        if f is None:
            return self._err(404, "The file was not found.")
        tail = rest[1:]
        if not tail:
            if method == "GET":
                return 200, self._file_view(rid, key, f, True)
            if method == "DELETE":
                Path(f["path"]).unlink(missing_ok=True)
                for p in (f.get("received") or {}).values():
                    Path(p).unlink(missing_ok=True)
                del files[key]
                return 204, None
        if tail[0] == "content" and method == "PUT" and isinstance(body, Upload):
            if f["status"] == "completed":
                return self._err(400, "The file is already committed.")
            if len(tail) == 1 and f["transfer"] == "L":
                shutil.move(str(body.path), f["path"])
                f.update(size=body.size, updated=now)
                return 200, self._file_view(rid, key, f, True)
            if len(tail) == 2 and f["transfer"] == "M" and tail[1].isdigit():
                n = int(tail[1])
                if not 1 <= n <= f["parts"]:
                    return self._err(400, "Part number is higher than total parts sent in multipart initialization.")
                if n < f["parts"] and f["part_size"] and body.size != f["part_size"]:
                    return self._err(
                        400, "Size of this part must be equal to part_size sent in multipart initialization."
                    )
                f["received"][n] = str(body.path)
                f["updated"] = now
                return 200, self._file_view(rid, key, f, True)
            return self._err(
                400,
                "Can not set content for multipart file, use the parts instead."
                if f["transfer"] == "M"
                else "Invalid content URL.",
            )
        if tail == ["commit"] and method == "POST":
            return self._commit(rid, key, f)
        return self._err(405, "The method is not allowed for the requested URL.")

    def _commit(self, rid: str, key: str, f: dict[str, Any]) -> Reply:
        if f["status"] == "completed":
            return 200, self._file_view(rid, key, f, True)
        if f["transfer"] == "M":
            missing = [n for n in range(1, f["parts"] + 1) if n not in f["received"]]
            if missing:
                return self._err(400, f"Multipart upload incomplete: parts {missing} were not uploaded.")
            with open(f["path"], "wb") as out:
                for n in range(1, f["parts"] + 1):
                    with open(f["received"][n], "rb") as part:
                        shutil.copyfileobj(part, out)
                    Path(f["received"][n]).unlink()
            f["received"] = {}
        elif not Path(f["path"]).exists():
            return self._err(400, "The file has no content yet.")
        md5, sha, size = hashlib.md5(), hashlib.sha256(), 0
        with open(f["path"], "rb") as fh:
            while block := fh.read(1 << 20):
                md5.update(block)
                sha.update(block)
                size += len(block)
        if f["transfer"] == "M" and size != f["declared"]:
            return self._err(400, f"Multipart upload of {size} bytes, {f['declared']} were declared.")
        f.update(
            status="completed",
            size=size,
            md5=md5.hexdigest(),
            sha256=sha.hexdigest(),
            transfer="L",
            updated=self._now(),
        )
        return 200, self._file_view(rid, key, f, True)

    # -- what tests look at
    def record_of(self, rid: str) -> dict[str, Any]:
        """The stand-in's whole state of a record: ``draft``/``record`` bodies, ``draft_files``/``files``
        (key → size, md5, sha256, status), ``parent`` (id, versions, concept doi)."""
        with self.lock:
            rec = self.records[rid]
            out = json.loads(json.dumps({k: rec[k] for k in ("id", "index", "draft", "record")}))
            for which in ("draft_files", "files"):
                out[which] = {k: {x: f[x] for x in ("size", "md5", "sha256", "status")} for k, f in rec[which].items()}
            out["parent"] = json.loads(json.dumps(self.parents[rec["parent"]]))
            return out


def _read_body(handle: ZenodoHandle, req: BaseHTTPRequestHandler) -> Any:
    """JSON for the API; for file content (``.../content`` and its parts), the bytes spooled to a file."""
    path = req.path.split("?")[0]
    is_upload = req.command == "PUT" and re.search(r"/draft/files/[^/]+/content(/\d+)?$", path) is not None
    if not is_upload:
        n = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(n) if n else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return ValueError("not JSON")
    dest = handle.spool / f"upload-{uuid.uuid4().hex}"
    md5, sha, size = hashlib.md5(), hashlib.sha256(), 0
    with open(dest, "wb") as out:

        def eat(block: bytes) -> None:
            nonlocal size
            md5.update(block)
            sha.update(block)
            out.write(block)
            size += len(block)

        if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                n = int(req.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    req.rfile.readline()
                    break
                remaining = n
                while remaining:
                    block = req.rfile.read(min(remaining, 1 << 20))
                    eat(block)
                    remaining -= len(block)
                req.rfile.readline()
        else:
            remaining = int(req.headers.get("Content-Length") or 0)
            while remaining:
                block = req.rfile.read(min(remaining, 1 << 20))
                if not block:
                    break
                eat(block)
                remaining -= len(block)
    return Upload(dest, size, md5.hexdigest(), sha.hexdigest())


def start(port: int = 0, *, token: str = "zenodo-test-token", multipart: bool = True) -> tuple[str, ZenodoHandle]:
    """Start the stand-in on ``127.0.0.1:port`` (0: a free port); return ``(api_url, handle)``."""
    handle = ZenodoHandle(token, multipart)
    serve(handle, make_handler(handle, handle.route, lambda req: _read_body(handle, req)), port)
    return handle.url, handle
