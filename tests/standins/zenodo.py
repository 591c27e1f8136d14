"""A stand-in for Zenodo's deposition REST API (https://developers.zenodo.org), on loopback.

Base URL ``http://127.0.0.1:PORT/api`` (as ``https://zenodo.org/api``). Implemented from the public docs:

- ``POST /api/deposit/depositions`` (``{}`` or ``{"metadata": {...}}``; ``prereserve_doi: true`` reserves
  ``10.5072/zenodo.<recid>`` at once, as the sandbox does), ``GET`` (list: ``q``, ``status``
  = draft|published, ``page``, ``size``), ``GET/PUT/DELETE /api/deposit/depositions/{id}``.
- ``POST /api/deposit/depositions/{id}/actions/publish`` → 202 with ``submitted: true``, ``state: done``,
  ``doi``; needs at least one file and the required metadata (upload_type, title, creators[].name,
  description, access_right, license when open) → otherwise 400 ``Validation error.`` with ``errors``.
- The bucket (``links.bucket``): ``PUT {bucket}/{filename}`` streams the body (md5 + sha256 + size
  kept, not the bytes) → ``{"key", "size", "checksum": "md5:..."}``; ``GET {bucket}`` lists
  ``contents``; ``DELETE {bucket}/{filename}``. A published deposition's bucket is locked (403).
- Auth: ``Authorization: Bearer <token>`` or ``?access_token=<token>``; else 401.

Simplification: ``q`` matches a substring anywhere in the deposition's metadata (Zenodo runs an
Elasticsearch query string, whose index lags by about a second).

Fault injection, as in :mod:`standins.datacite`: ``handle.fail_next(500 | 'timeout' | 'commit-then-drop',
"/deposit/depositions", method="POST")`` (paths may be given with or without the ``/api`` root); an
injected HTTP error answers in Zenodo's error format, ``{"status": 500, "message": "..."}``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import json
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from .datacite import Reply, StandinHandle, make_handler, serve

_UPLOAD_TYPES = ("publication", "poster", "presentation", "dataset", "image", "video", "software", "lesson",
                 "physicalobject", "other")
_METADATA_KEYS = {"upload_type", "publication_type", "image_type", "publication_date", "title", "creators",
                  "description", "access_right", "license", "embargo_date", "access_conditions", "doi",
                  "prereserve_doi", "keywords", "notes", "related_identifiers", "contributors", "references",
                  "communities", "grants", "journal_title", "version", "language", "locations", "dates", "method",
                  "subjects"}


class ZenodoHandle(StandinHandle):
    api_root = "/api"

    def __init__(self, token: str):
        super().__init__()
        self.token = token
        self.state: dict[int, dict[str, Any]] = {}      # deposition id -> deposition (files inside)
        self.buckets: dict[str, int] = {}               # bucket id -> deposition id
        self._ids = itertools.count(100001)

    # -- helpers
    def _authorised(self, headers: dict[str, str], query: dict[str, list[str]]) -> bool:
        auth = headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else (query.get("access_token") or [""])[0]
        return token == self.token

    @staticmethod
    def _err(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Reply:
        body: dict[str, Any] = {"status": status, "message": message}
        if errors:
            body["errors"] = errors
        return status, body

    def fault_body(self, status: int) -> Any:
        """Injected errors look like Zenodo's own: ``{"status": 500, "message": "..."}``."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return self._err(status, f"{phrase} (injected failure).")[1]

    def _links(self, dep_id: int, bucket: str) -> dict[str, str]:
        base = f"{self.url}/deposit/depositions/{dep_id}"
        return {"self": base, "html": f"{self.url[:-4]}/deposit/{dep_id}", "bucket": f"{self.url}/files/{bucket}",
                "files": f"{base}/files", "publish": f"{base}/actions/publish", "edit": f"{base}/actions/edit",
                "discard": f"{base}/actions/discard", "newversion": f"{base}/actions/newversion"}

    def _view(self, dep: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in dep.items() if k not in ("_files", "bucket")}
        out["files"] = [{"id": f["id"], "filename": k, "filesize": f["size"], "checksum": f["md5"],
                         "links": {"download": f"{self.url}/files/{dep['bucket']}/{k}"}}
                        for k, f in dep["_files"].items()]
        out["title"] = dep["metadata"].get("title", "")
        return json.loads(json.dumps(out))

    def _check_metadata(self, md: Any) -> list[dict[str, str]]:
        """Type checks Zenodo applies on every save."""
        if not isinstance(md, dict):
            return [{"field": "metadata", "message": "Not a valid mapping type."}]
        errs = [{"field": f"metadata.{k}", "message": "Unknown field."} for k in md if k not in _METADATA_KEYS]
        if "upload_type" in md and md["upload_type"] not in _UPLOAD_TYPES:
            errs.append({"field": "metadata.upload_type", "message": "Invalid upload type."})
        for i, c in enumerate(md.get("creators") or []):
            if not isinstance(c, dict) or not c.get("name"):
                errs.append({"field": f"metadata.creators.{i}.name", "message": "Name is required."})
        for i, r in enumerate(md.get("related_identifiers") or []):
            if not isinstance(r, dict) or not r.get("identifier") or not r.get("relation"):
                errs.append({"field": f"metadata.related_identifiers.{i}", "message": "Identifier and relation required."})
        return errs

    def _publish_errors(self, dep: dict[str, Any]) -> list[dict[str, str]]:
        md = dep["metadata"]
        errs = [{"field": f"metadata.{k}", "message": "Field is required."}
                for k in ("upload_type", "title", "creators", "description", "access_right") if not md.get(k)]
        if md.get("access_right") in ("open", "embargoed") and not md.get("license"):
            errs.append({"field": "metadata.license", "message": "Required when access right is open or embargoed."})
        return errs

    def _reserve(self, dep: dict[str, Any], md: dict[str, Any]) -> None:
        if md.get("prereserve_doi") is True or isinstance(md.get("prereserve_doi"), dict):
            md["prereserve_doi"] = {"doi": f"10.5072/zenodo.{dep['record_id']}", "recid": dep["record_id"]}

    # -- routes
    def route(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any) -> Reply:
        if isinstance(body, ValueError):
            return self._err(400, "The request body is not valid JSON.")
        if not path.startswith("/api/"):
            return self._err(404, "The requested URL was not found on the server.")
        if not self._authorised(headers, query):
            return self._err(401, "The server could not verify that you are authorized to access the URL requested.")
        parts = path[len("/api/"):].strip("/").split("/")
        with self.lock:
            if parts[:2] == ["deposit", "depositions"]:
                return self._depositions(method, parts[2:], query, body)
            if parts[0] == "files" and len(parts) >= 2:
                return self._bucket(method, parts[1], "/".join(parts[2:]), body)
        return self._err(404, "The requested URL was not found on the server.")

    def _depositions(self, method: str, rest: list[str], query: dict[str, list[str]], body: Any) -> Reply:
        now = _dt.datetime.now(_dt.timezone.utc).isoformat()
        if not rest and method == "POST":
            md = dict((body or {}).get("metadata") or {}) if isinstance(body, dict) else {}
            errs = self._check_metadata(md)
            if errs:
                return self._err(400, "Validation error.", errs)
            dep_id = next(self._ids)
            bucket = str(uuid.uuid4())
            dep = {"id": dep_id, "record_id": dep_id, "conceptrecid": str(dep_id - 1), "created": now, "modified": now,
                   "owner": 1, "state": "unsubmitted", "submitted": False, "metadata": md, "bucket": bucket,
                   "links": self._links(dep_id, bucket), "_files": {}}
            self._reserve(dep, md)
            self.state[dep_id] = dep
            self.buckets[bucket] = dep_id
            return 201, self._view(dep)
        if not rest and method == "GET":
            q = (query.get("q") or [""])[0].strip().strip('"')
            status = (query.get("status") or [""])[0]
            size = int((query.get("size") or ["10"])[0])
            page = int((query.get("page") or ["1"])[0])
            hits = [d for d in sorted(self.state.values(), key=lambda d: -d["id"])
                    if (not q or q in json.dumps(d["metadata"]))
                    and (not status or (status == "published") == d["submitted"])]
            return 200, [self._view(d) for d in hits[(page - 1) * size: page * size]]
        try:
            dep = self.state[int(rest[0])]
        except (ValueError, KeyError, IndexError):
            return self._err(404, "PID does not exist.")
        if len(rest) == 1 and method == "GET":
            return 200, self._view(dep)
        if len(rest) == 1 and method == "PUT":
            if dep["submitted"] and dep["state"] != "inprogress":
                return self._err(400, "You need to edit the published deposition before changing its metadata.")
            md = (body or {}).get("metadata") if isinstance(body, dict) else None
            errs = self._check_metadata(md)
            if errs:
                return self._err(400, "Validation error.", errs)
            md = dict(md)
            old = dep["metadata"].get("prereserve_doi")
            if isinstance(old, dict):
                md["prereserve_doi"] = old  # a reserved DOI stays reserved
            self._reserve(dep, md)
            dep.update(metadata=md, modified=now)
            return 200, self._view(dep)
        if len(rest) == 1 and method == "DELETE":
            if dep["submitted"]:
                return self._err(403, "You cannot delete a published deposition.")
            del self.state[dep["id"]]
            self.buckets.pop(dep["bucket"], None)
            return 204, None
        if len(rest) == 3 and rest[1] == "actions" and method == "POST":
            action = rest[2]
            if action == "publish":
                if dep["submitted"] and dep["state"] == "done":
                    return self._err(400, "Deposition is already published.")
                errs = self._publish_errors(dep)
                if not dep["_files"]:
                    errs.append({"field": "files", "message": "Minimum one file must be provided."})
                if errs:
                    return self._err(400, "Validation error.", errs)
                pre = dep["metadata"].get("prereserve_doi")
                doi = pre["doi"] if isinstance(pre, dict) else f"10.5072/zenodo.{dep['record_id']}"
                dep.update(submitted=True, state="done", doi=doi, doi_url=f"https://doi.org/{doi}", modified=now,
                           conceptdoi=f"10.5072/zenodo.{dep['conceptrecid']}",
                           record_url=f"{self.url[:-4]}/records/{dep['record_id']}")
                dep["metadata"]["doi"] = doi
                return 202, self._view(dep)
            if action == "edit":
                if not dep["submitted"]:
                    return self._err(400, "Deposition is not published.")
                dep["state"] = "inprogress"
                return 201, self._view(dep)
            if action == "discard":
                dep["state"] = "done" if dep["submitted"] else "unsubmitted"
                return 201, self._view(dep)
        return self._err(405, "The method is not allowed for the requested URL.")

    def _bucket(self, method: str, bucket: str, key: str, body: Any) -> Reply:
        dep_id = self.buckets.get(bucket)
        if dep_id is None or dep_id not in self.state:
            return self._err(404, "Bucket does not exist.")
        dep = self.state[dep_id]
        files = dep["_files"]
        if method == "GET" and not key:
            contents = [{"key": k, "size": f["size"], "checksum": f"md5:{f['md5']}", "mimetype": "application/octet-stream",
                         "links": {"self": f"{self.url}/files/{bucket}/{k}"}} for k, f in files.items()]
            return 200, {"id": bucket, "contents": contents, "size": sum(f["size"] for f in files.values()),
                         "locked": dep["submitted"], "links": {"self": f"{self.url}/files/{bucket}"}}
        if not key or "/" in key or key in (".", ".."):
            return self._err(400, "Invalid file name.")
        if method in ("PUT", "DELETE") and dep["submitted"]:
            return self._err(403, "The bucket is locked (the deposition is published).")
        if method == "PUT":
            size, md5, sha256 = body
            files[key] = {"id": str(uuid.uuid4()), "size": size, "md5": md5, "sha256": sha256}
            return 201, {"key": key, "size": size, "checksum": f"md5:{md5}", "mimetype": "application/octet-stream",
                         "is_head": True, "delete_marker": False,
                         "links": {"self": f"{self.url}/files/{bucket}/{key}"}}
        if method == "DELETE":
            if files.pop(key, None) is None:
                return self._err(404, "Object does not exist.")
            return 204, None
        if method == "GET":
            f = files.get(key)
            if f is None:
                return self._err(404, "Object does not exist.")
            return 200, {"key": key, "size": f["size"], "checksum": f"md5:{f['md5']}"}
        return self._err(405, "The method is not allowed for the requested URL.")


def _read_body(req: BaseHTTPRequestHandler) -> Any:
    """JSON for the deposit API; for bucket uploads, stream and digest (md5, sha256, size) without keeping bytes."""
    is_upload = req.command == "PUT" and req.path.split("?")[0].startswith("/api/files/")
    if not is_upload:
        n = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(n) if n else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return ValueError("not JSON")
    md5, sha, size = hashlib.md5(), hashlib.sha256(), 0

    def eat(block: bytes) -> None:
        nonlocal size
        md5.update(block)
        sha.update(block)
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
    return size, md5.hexdigest(), sha.hexdigest()


def start(port: int = 0, *, token: str = "zenodo-test-token") -> tuple[str, ZenodoHandle]:
    """Start the stand-in on ``127.0.0.1:port`` (0: a free port); return ``(api_url, handle)``."""
    handle = ZenodoHandle(token)
    serve(handle, make_handler(handle, handle.route, _read_body), port)
    return handle.url, handle
