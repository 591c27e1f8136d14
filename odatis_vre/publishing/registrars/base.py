"""What every registrar shares: the protocol, its error, DOI suffixes from deposit keys, the state kept across
retries, HTTP calls with retries."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import (
    Any,
    Protocol,
    runtime_checkable,
)

from ... import atomic
from .. import metadata as _md

DATACITE_URL = "https://api.datacite.org"
DATACITE_TEST_URL = "https://api.test.datacite.org"
ZENODO_URL = "https://zenodo.org/api"
ZENODO_SANDBOX_URL = "https://sandbox.zenodo.org/api"
NAMES = ("local", "datacite", "zenodo")
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class RegistrarError(RuntimeError):
    """A registrar refused or failed; ``retryable`` is True when retrying later can succeed."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@runtime_checkable
class Registrar(Protocol):
    """What the repository service needs from a DOI registrar."""

    name: str
    registered: bool

    def reserve(self, key: str, attributes: Mapping[str, Any], *, previous_key: str | None = None) -> str:
        """A draft DOI for ``key`` (the same DOI for the same key, always); ``previous_key``: the key of the
        published version this one follows (Zenodo makes the new record a version of that one's)."""

    def publish(self, key: str, doi: str, attributes: Mapping[str, Any], url: str, files: Sequence[Path]) -> str:
        """Make ``doi`` findable/published with ``attributes`` at landing page ``url``; return the DOI."""

    def concept_doi(self, key: str) -> str | None:
        """The concept DOI (over every version) that ``publish_concept(key, ...)`` registers, if known in
        advance (``None`` when the registrar chooses it at the first publication, as Zenodo does)."""

    def publish_concept(self, key: str, attributes: Mapping[str, Any], url: str, version_key: str) -> str:
        """Register or update the concept DOI of a dataset (its ``HasVersion`` list grows with each version)
        after version ``version_key`` was published; return it. Idempotent."""


def suffix_for(key: str, prefix: str = "") -> str:
    """A deterministic, readable DOI suffix for ``key``: ``odatis.xxxx-xxxx-xxxx`` (Crockford base32).

    >>> suffix_for("dataset-42/v1")
    'odatis.fbgv-1twe-1wcy'
    """
    digest = hashlib.sha256(f"{prefix}|{key}".encode()).digest()
    n = int.from_bytes(digest[:8], "big") >> 4  # 60 bits: 12 base32 characters
    chars = "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(12)))
    return f"odatis.{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValueError("registrar key: give a non-empty string naming the deposit, e.g. 'dataset-id/v1'")
    return key


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not re.fullmatch(r"10\.\d{4,9}", prefix.strip()):
        raise ValueError(
            f"DOI prefix {prefix!r}: write it like 10.5072 (DataCite's test prefix) or your repository's prefix"
        )
    return prefix.strip()


def _validated(attributes: Mapping[str, Any], *, drop_doi: bool = False) -> dict[str, Any]:
    attrs = {k: v for k, v in dict(attributes).items() if k not in ("event", "state", "prefix", "suffix")}
    if drop_doi:
        attrs.pop("doi", None)
    _md.validate_datacite(attrs)
    return attrs


class _JSONState:
    """A small JSON file (or memory) mapping keys to records, rewritten atomically (temp + os.replace)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._mem: dict[str, Any] = {}

    def load(self) -> dict[str, Any]:
        if self.path is None:
            return json.loads(json.dumps(self._mem))
        if not self.path.exists():
            return {}
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RegistrarError(
                f"{self.path}: registrar state is not valid JSON ({exc}); restore it from a "
                f"backup or remove it (DOIs are found again by key)",
                retryable=False,
            ) from None

    def update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        with self._lock:
            data = self.load()
            change(data)
            if self.path is None:
                self._mem = data
                return data
            atomic.write_text(self.path, json.dumps(data, indent=1, sort_keys=True))
            return data


# ----------------------------------------------------------------------------- HTTP helpers


class _HTTP:
    """requests with our error mapping and a few retries of what is safe to retry."""

    def __init__(
        self,
        service: str,
        base_url: str,
        headers: dict[str, str],
        timeout: float,
        retries: int,
        backoff: float,
        credentials_hint: str,
    ):
        import requests

        self.service, self.base_url = service, base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.credentials_hint = credentials_hint

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def call(self, method: str, path: str, *, ok: Iterable[int] = (200, 201, 202, 204), **kw: Any) -> Any:
        """One request; returns the response for an ``ok`` status, raises RegistrarError otherwise."""
        import requests

        url = self.url(path)
        try:
            r = self.session.request(method, url, timeout=self.timeout, **kw)
        except requests.Timeout:
            raise RegistrarError(
                f"{self.service} did not answer {method} {url} within {self.timeout:g} s; retry later", retryable=True
            ) from None
        except requests.ConnectionError as exc:
            raise RegistrarError(
                f"{self.service}: connection failed or dropped during {method} {url} "
                f"({type(exc).__name__}); retry later",
                retryable=True,
            ) from None
        if r.status_code in tuple(ok):
            return r
        detail = _error_detail(r)
        if r.status_code in (401, 403):
            raise RegistrarError(
                f"{self.service} refused {method} {url} ({r.status_code}: {detail}); {self.credentials_hint}",
                retryable=False,
                status=r.status_code,
            )
        retryable = r.status_code >= 500 or r.status_code in (408, 429)
        raise RegistrarError(
            f"{self.service} answered {r.status_code} to {method} {url}: {detail}"
            + ("; retry later" if retryable else ""),
            retryable=retryable,
            status=r.status_code,
        )

    def with_retries(self, what: Callable[[], str]) -> str:
        """Run an idempotent sequence, retrying it on retryable errors with exponential backoff."""
        for attempt in range(self.retries + 1):
            try:
                return what()
            except RegistrarError as exc:
                if not exc.retryable or attempt == self.retries:
                    raise
                time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")


def _error_detail(r: Any) -> str:
    try:
        body = r.json()
    except ValueError:
        return (r.text or r.reason or "").strip()[:300]
    if isinstance(body, dict):
        if isinstance(body.get("errors"), list):
            parts = []
            for e in body["errors"]:
                if isinstance(e, dict):
                    src = e.get("source") or e.get("field")
                    # DataCite: title; Zenodo legacy: message; InvenioRDM: a list of messages
                    text = e.get("title") or e.get("message") or " ".join(map(str, e.get("messages") or []))
                    parts.append(f"{src}: {text}" if src else str(text))
            msg = body.get("message")
            return (f"{msg} " if msg else "") + "; ".join(parts)
        if body.get("message"):
            return str(body["message"])
    return json.dumps(body)[:300]
