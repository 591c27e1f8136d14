"""A stand-in for the DataCite REST API (https://support.datacite.org/docs/api), on loopback.

What it implements, from DataCite's public documentation:

- ``POST /dois`` (JSON:API body ``{"data": {"type": "dois", "attributes": {...}}}``): creates a DOI from
  ``attributes.doi`` or ``attributes.prefix`` (+ a random suffix); state ``draft`` without an
  ``event``, ``findable`` with ``event: publish``, ``registered`` with ``register``/``hide``;
  ``422 "This DOI has already been taken"`` for an existing DOI.
- ``GET /dois/{doi}`` (drafts only with credentials), ``PUT /dois/{doi}`` (update, or create if
  missing; ``event`` moves the state: draft → registered/findable; never back to draft),
  ``DELETE /dois/{doi}`` (drafts only).
- HTTP Basic auth with a repository id and password; only the repository's prefixes are allowed.
- A registered/findable DOI must have complete metadata (url, creators, titles, publisher,
  publicationYear, types.resourceTypeGeneral) that passes the DataCite 4.5 schema (``datacite``
  package); otherwise 422 with one error per problem.

Fault injection for retry tests (shared with :mod:`standins.zenodo`)::

    url, handle = start()
    handle.fail_next(500, "/dois")                # next matching request answers 500, untouched
    handle.fail_next("timeout", "/dois", delay=3)  # waits, then closes the connection without acting
    handle.fail_next("commit-then-drop", "/dois")  # acts, then closes the connection without answering
    handle.fail_next(500, "/dois$", method="POST")  # a trailing $: that path only, not the paths below it
    handle.state   # {doi: {"state": "draft"|"registered"|"findable", "attributes": {...}}}
    handle.stop()
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import secrets
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

Reply = tuple[int, Any]  # (status, JSON body or None)


class Fault:
    """One injected failure: ``kind`` is an HTTP status, ``'timeout'`` or ``'commit-then-drop'``."""

    def __init__(self, kind: int | str, path_prefix: str, method: str | None, times: int, delay: float):
        if not (isinstance(kind, int) or kind in ("timeout", "commit-then-drop")):
            raise ValueError(f"fail_next: kind {kind!r}; use an HTTP status, 'timeout' or 'commit-then-drop'")
        self.kind, self.path_prefix, self.method, self.times, self.delay = kind, path_prefix, method, times, delay

    def matches(self, method: str, path: str, api_root: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.path_prefix.endswith("$"):  # this path exactly, not the paths below it
            return path in (self.path_prefix[:-1], api_root + self.path_prefix[:-1])
        return path.startswith(self.path_prefix) or path.startswith(api_root + self.path_prefix)


class StandinHandle:
    """What a test holds: the server's state, the request log, fault injection, stop()."""

    api_root = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, int | str]] = []  # (method, path, status | 'dropped' | 'timeout')
        self.stopping = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    def fail_next(
        self, kind: int | str, path_prefix: str = "/", *, method: str | None = None, times: int = 1, delay: float = 5.0
    ) -> None:
        """Make the next ``times`` requests under ``path_prefix`` (and ``method``) fail with ``kind``."""
        with self.lock:
            self.faults.append(Fault(kind, path_prefix, method, times, delay))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.matches(method, path, self.api_root):
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def fault_body(self, status: int) -> Any:
        """The body of an injected HTTP error, in the API's own error format (DataCite: JSON:API ``errors``)."""
        return {"errors": [{"status": str(status), "title": "Injected failure"}]}

    def count(self, method: str, path_prefix: str) -> int:
        """How many requests ``method path_prefix...`` arrived (answered or not)."""
        with self.lock:
            return sum(1 for m, p, _ in self.requests if m == method and p.startswith(path_prefix))

    def stop(self) -> None:
        self.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def make_handler(
    handle: StandinHandle,
    route: Callable[[str, str, dict[str, list[str]], dict[str, str], Any], Reply],
    read_body: Callable[[BaseHTTPRequestHandler], Any],
) -> type[BaseHTTPRequestHandler]:
    """A request handler that applies injected faults around ``route(method, path, query, headers, body)``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _handle(self) -> None:
            url = urlparse(self.path)
            path, query = unquote(url.path), parse_qs(url.query)
            fault = handle._take_fault(self.command, path)
            if fault is not None and fault.kind == "timeout":
                with handle.lock:  # logged on arrival: the client gives up long before we close
                    handle.requests.append((self.command, path, "timeout"))
                handle.stopping.wait(fault.delay)
                return self._drop()
            body = read_body(self)
            if fault is not None and isinstance(fault.kind, int):
                with handle.lock:
                    handle.requests.append((self.command, path, fault.kind))
                return self._send(fault.kind, handle.fault_body(fault.kind))
            status, reply = route(self.command, path, query, dict(self.headers.items()), body)
            with handle.lock:
                handle.requests.append((self.command, path, "dropped" if fault else status))
            if fault is not None:  # commit-then-drop: the work is done, the answer is lost
                return self._drop()
            self._send(status, reply)

        def _send(self, status: int, reply: Any) -> None:
            data = b"" if reply is None else json.dumps(reply).encode()
            self.send_response(status)
            if data:
                self.send_header(
                    "Content-Type", "application/vnd.api+json" if handle.api_root == "" else "application/json"
                )
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    return Handler


def serve(handle: StandinHandle, handler: type[BaseHTTPRequestHandler], port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    handle.server = server
    handle.url = f"http://127.0.0.1:{server.server_address[1]}{handle.api_root}"
    threading.Thread(target=server.serve_forever, daemon=True, name="standin").start()


def read_json(req: BaseHTTPRequestHandler) -> Any:
    n = int(req.headers.get("Content-Length") or 0)
    raw = req.rfile.read(n) if n else b""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return ValueError("body is not JSON")


# ----------------------------------------------------------------------------- DataCite

_STATES = {"publish": "findable", "register": "registered", "hide": "registered"}
_SCHEMA_KEYS_OUT = ("event", "url", "prefix", "suffix", "state", "identifiers", "created", "updated", "isActive")


class DataCiteHandle(StandinHandle):
    def __init__(self, repository_id: str, password: str, prefixes: tuple[str, ...]):
        super().__init__()
        self.repository_id, self.password, self.prefixes = repository_id, password, prefixes
        self.state: dict[str, dict[str, Any]] = {}

    # -- helpers
    def _authorised(self, headers: dict[str, str]) -> bool:
        auth = headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        return (user, pw) == (self.repository_id, self.password)

    @staticmethod
    def _err(status: int, title: str, source: str | None = None) -> Reply:
        e: dict[str, Any] = {"status": str(status), "title": title}
        if source:
            e["source"] = source
        return status, {"errors": [e]}

    def _doc(self, doi: str) -> dict[str, Any]:
        rec = self.state[doi]
        prefix, suffix = doi.split("/", 1)
        attrs = {
            **rec["attributes"],
            "doi": doi,
            "prefix": prefix,
            "suffix": suffix,
            "state": rec["state"],
            "created": rec["created"],
            "updated": rec["updated"],
            "isActive": rec["state"] == "findable",
        }
        return {
            "data": {
                "id": doi,
                "type": "dois",
                "attributes": attrs,
                "relationships": {"client": {"data": {"id": self.repository_id.lower(), "type": "clients"}}},
            }
        }

    def _complete(self, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """What DataCite checks before a DOI leaves the draft state."""
        from datacite import schema45

        errors = []
        for field in ("url", "creators", "titles", "publisher", "publicationYear"):
            if not attrs.get(field):
                errors.append({"source": field, "title": "Can't be blank"})
        if not (attrs.get("types") or {}).get("resourceTypeGeneral"):
            errors.append({"source": "types", "title": "Resource type general can't be blank"})
        data = {k: v for k, v in attrs.items() if k not in _SCHEMA_KEYS_OUT}
        data.setdefault("schemaVersion", "http://datacite.org/schema/kernel-4")
        for e in schema45.validator.iter_errors(data):
            errors.append({"source": "/".join(map(str, e.absolute_path)) or "metadata", "title": e.message})
        return errors

    def _apply(self, doi: str, attrs: dict[str, Any], creating: bool) -> Reply:
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        event = attrs.pop("event", None)
        if event is not None and event not in _STATES:
            return self._err(422, f"Event {event!r} is not one of publish, register, hide", "event")
        current = self.state.get(doi)
        merged = {
            **(current["attributes"] if current else {}),
            **{k: v for k, v in attrs.items() if k not in ("doi", "prefix", "suffix")},
        }
        new_state = _STATES.get(event or "", current["state"] if current else "draft")
        if event == "hide" and not current:
            new_state = "registered"
        if new_state != "draft":
            errors = self._complete(merged)
            if errors:
                return 422, {"errors": [{"status": "422", **e} for e in errors]}
        if current is None:
            self.state[doi] = {
                "state": new_state,
                "attributes": merged,
                "created": now,
                "updated": now,
                "history": [new_state],
            }
        else:
            current.update(state=new_state, attributes=merged, updated=now)
            current["history"].append(new_state)
        return (201 if creating else 200), self._doc(doi)

    # -- routes
    def route(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any) -> Reply:
        if isinstance(body, ValueError):
            return self._err(400, "The request body is not valid JSON")
        if path == "/heartbeat" and method == "GET":
            return 200, {"status": "OK"}
        if not path.startswith("/dois"):
            return self._err(404, "The resource you are looking for doesn't exist.")
        authorised = self._authorised(headers)
        if method != "GET" and not authorised:
            if headers.get("Authorization"):
                return self._err(401, "Bad credentials.")
            return self._err(401, "You are not authorized to access this resource.")
        doi = path[len("/dois/") :].lower() if path.startswith("/dois/") else ""
        with self.lock:
            if method == "POST" and path == "/dois":
                data = (body or {}).get("data") if isinstance(body, dict) else None
                if (
                    not isinstance(data, dict)
                    or data.get("type") != "dois"
                    or not isinstance(data.get("attributes"), dict)
                ):
                    return self._err(422, 'The request body must be {"data": {"type": "dois", "attributes": {...}}}')
                attrs = dict(data["attributes"])
                new = str(attrs.get("doi") or "").lower()
                if not new:
                    if not attrs.get("prefix"):
                        return self._err(422, "Can't be blank", "doi")
                    new = f"{attrs['prefix']}/{attrs.get('suffix') or secrets.token_hex(4)}".lower()
                if new.split("/", 1)[0] not in self.prefixes:
                    return self._err(403, "You are not authorized to use this prefix.", "doi")
                if new in self.state:
                    return 422, {
                        "errors": [
                            {"status": "422", "source": "doi", "uid": new, "title": "This DOI has already been taken"}
                        ]
                    }
                return self._apply(new, attrs, creating=True)
            if method == "GET" and doi:
                rec = self.state.get(doi)
                if rec is None or (rec["state"] == "draft" and not authorised):
                    return self._err(404, "The resource you are looking for doesn't exist.")
                return 200, self._doc(doi)
            if method == "PUT" and doi:
                data = (body or {}).get("data") if isinstance(body, dict) else None
                if not isinstance(data, dict) or not isinstance(data.get("attributes"), dict):
                    return self._err(422, 'The request body must be {"data": {"type": "dois", "attributes": {...}}}')
                if doi.split("/", 1)[0] not in self.prefixes:
                    return self._err(403, "You are not authorized to use this prefix.", "doi")
                return self._apply(doi, dict(data["attributes"]), creating=doi not in self.state)
            if method == "DELETE" and doi:
                rec = self.state.get(doi)
                if rec is None:
                    return self._err(404, "The resource you are looking for doesn't exist.")
                if rec["state"] != "draft":
                    return self._err(405, "This DOI is registered and cannot be deleted.")
                del self.state[doi]
                return 204, None
            if method == "GET" and path == "/dois":
                docs = [self._doc(d)["data"] for d, r in self.state.items() if authorised or r["state"] != "draft"]
                return 200, {"data": docs, "meta": {"total": len(docs)}}
        return self._err(405, f"{method} {path} is not supported")


def start(
    port: int = 0,
    *,
    repository_id: str = "ODATIS.VRE",
    password: str = "datacite-test-password",
    prefixes: tuple[str, ...] = ("10.5072",),
) -> tuple[str, DataCiteHandle]:
    """Start the stand-in on ``127.0.0.1:port`` (0: a free port); return ``(base_url, handle)``."""
    handle = DataCiteHandle(repository_id, password, tuple(p.lower() for p in prefixes))
    serve(handle, make_handler(handle, handle.route, read_json), port)
    return handle.url, handle
