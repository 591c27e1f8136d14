"""A stand-in for SEANOE (https://www.seanoe.org): its JSON record API and its file server, on loopback.

Mounted under a prefix of an aiohttp application (``/seanoe`` in ``tests/catalog_servers.py``), so that
the mirror ``https://www.seanoe.org`` → ``http://127.0.0.1:PORT/seanoe`` sends the real addresses here:

- ``GET <prefix>/api/find-by-id/<id>`` → the record as JSON (``files``: ``fileName``, ``fileUrl``,
  ``size``, ``checksum`` (sha256), ``openAccess``, ``lastUpdateDate``, ``label``; ``title``,
  ``geoExtendList``, ``temporalExtend``...), read from ``<root>/api/find-by-id/<id>`` (written by
  :func:`odatis_vre.data.mirror.write_seanoe_copies` or :meth:`SeanoeStandin.add_record`); unknown id → 404.
- ``GET <prefix>/data/<group>/<id>/data/<file>`` → the file, with ``Content-Length``.

Written from what SEANOE's record API is seen to return (fields read by argopy's and geoextent's
clients); SEANOE's own answer for an unknown id is not documented: 404 is assumed.

Fault injection: ``standin.truncate("data/.../x.csv")`` makes the next download of that file stop
half-way (the full ``Content-Length`` is announced, then the connection is closed), as a dropped
connection does; ``standin.corrupt(...)`` serves different bytes of the same length once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from aiohttp import web


class SeanoeStandin:
    """SEANOE's record API + file server over a folder (``api/find-by-id/<id>``, ``data/...``)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.requests: list[str] = []
        self._truncate: set[str] = set()
        self._corrupt: set[str] = set()

    def add_record(
        self, record_id: int, files: dict[str, bytes], group: str = "00999", **fields: Any
    ) -> dict[str, Any]:
        """Publish a record with ``files`` (name → content); returns its JSON."""
        entries = []
        for i, (name, content) in enumerate(files.items()):
            rel = f"data/{group}/{record_id}/data/{record_id}{i}.{name.rsplit('.', 1)[-1]}"
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            entries.append(
                {
                    "id": int(f"{record_id}{i}"),
                    "fileName": name,
                    "fileUrl": f"https://www.seanoe.org/{rel}",
                    "size": len(content),
                    "checksum": hashlib.sha256(content).hexdigest(),
                    "openAccess": True,
                    "lastUpdateDate": f"2024-01-{10 + i:02d}T00:00:00Z",
                    "label": {"en": name},
                }
            )
        record = {
            "id": record_id,
            "publicationDoi": f"10.17882/{record_id}",
            "title": {"en": f"record {record_id}"},
            "files": entries,
            **fields,
        }
        api = self.root / "api" / "find-by-id"
        api.mkdir(parents=True, exist_ok=True)
        (api / str(record_id)).write_text(json.dumps(record))
        return record

    def truncate(self, rel: str) -> None:
        """The next download of ``rel`` (``data/<group>/<id>/data/<file>``) stops half-way."""
        self._truncate.add(rel.lstrip("/"))

    def corrupt(self, rel: str) -> None:
        """The next download of ``rel`` has the right length and wrong bytes."""
        self._corrupt.add(rel.lstrip("/"))

    async def record(self, request: web.Request) -> web.Response:
        rid = request.match_info["id"]
        self.requests.append(f"record {rid}")
        path = self.root / "api" / "find-by-id" / rid
        if not rid.isdigit() or not path.exists():
            return web.json_response({"status": 404, "message": f"No dataset found with id {rid}"}, status=404)
        return web.Response(text=path.read_text(), content_type="application/json")

    async def file(self, request: web.Request) -> web.StreamResponse:
        rel = "data/" + request.match_info["path"]
        self.requests.append(f"file {rel}")
        path = (self.root / rel).resolve()
        if not path.is_file() or self.root.resolve() not in path.parents:
            raise web.HTTPNotFound(text="Not Found")
        content = path.read_bytes()
        if rel in self._corrupt:
            self._corrupt.discard(rel)
            content = bytes(b ^ 0xFF for b in content)
        resp = web.StreamResponse(
            headers={"Content-Length": str(len(content)), "Content-Type": "application/octet-stream"}
        )
        await resp.prepare(request)
        if rel in self._truncate:
            self._truncate.discard(rel)
            await resp.write(content[: len(content) // 2])
            request.transport.close()  # a dropped connection: fewer bytes than announced
            return resp
        await resp.write(content)
        await resp.write_eof()
        return resp

    def add_routes(self, app: web.Application, prefix: str = "/seanoe") -> None:
        app.router.add_get(f"{prefix}/api/find-by-id/{{id}}", self.record)
        app.router.add_get(f"{prefix}/data/{{path:.+}}", self.file)
