"""DOI registrars, pluggable: ``local`` (embedded default), ``datacite`` (REST API), ``zenodo`` (deposition API).

Every registrar does two things, both **idempotent per key** (the caller's deposit key, e.g.
``"<dataset id>/v2"``), so that a deposit interrupted at any step can simply be retried:

- ``reserve(key, attributes) -> doi``: a draft DOI. Calling it again with the same key returns the
  same DOI and never creates a second one, even when the first call's answer was lost.
- ``publish(key, doi, attributes, url, files) -> doi``: makes the DOI findable (DataCite) or
  publishes the deposition with its files (Zenodo). Publishing an already published DOI is a no-op.

Attributes are DataCite REST ``attributes`` from :func:`odatis_vre.metadata.datacite_attributes`;
they are checked with :func:`odatis_vre.metadata.validate_datacite` before anything is sent.

Example
-------
>>> import tempfile
>>> from odatis_vre import metadata, registrars
>>> reg = registrars.get("local", prefix="10.5072", state_dir=Path(tempfile.mkdtemp()))
>>> md = metadata.load_metadata({"title": "T", "creators": ["Doe, Jane"], "licence": "CC-BY-4.0",
...                              "keywords": ["k"], "abstract": "A."})
>>> doi = reg.reserve("ds-1/v1", metadata.datacite_attributes(md, doi=None))
>>> doi == reg.reserve("ds-1/v1", metadata.datacite_attributes(md, doi=None)), doi.startswith("10.5072/odatis.")
(True, True)
>>> reg.registered
False

Failures raise :class:`RegistrarError`; ``retryable`` says whether trying again later can help
(timeouts, 5xx, dropped connections) or whether something must be fixed first (credentials,
refused metadata).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, runtime_checkable

from . import atomic, metadata as _md

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

    def reserve(self, key: str, attributes: Mapping[str, Any]) -> str:
        """A draft DOI for ``key`` (the same DOI for the same key, always)."""

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
        raise ValueError(f"DOI prefix {prefix!r}: write it like 10.5072 (DataCite's test prefix) or your "
                         f"repository's prefix")
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
            raise RegistrarError(f"{self.path}: registrar state is not valid JSON ({exc}); restore it from a "
                                 f"backup or remove it (DOIs are found again by key)", retryable=False) from None

    def update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        with self._lock:
            data = self.load()
            change(data)
            if self.path is None:
                self._mem = data
                return data
            atomic.write_text(self.path, json.dumps(data, indent=1, sort_keys=True))
            return data


# ----------------------------------------------------------------------------- local

class LocalRegistrar:
    """Identifiers under a test prefix, kept in ``state_dir/local-dois.json``: NOT registered anywhere.

    The suffix is derived from the key, so reserve is idempotent without any state; the state file
    records draft/published for the landing pages and ``fsck``.
    """

    name = "local"
    registered = False

    def __init__(self, prefix: str, state_dir: Path | None = None):
        self.prefix = _check_prefix(prefix)
        self.state = _JSONState(Path(state_dir) / "local-dois.json" if state_dir else None)
        _md.mark_unregistered_prefix(self.prefix)

    def doi_for(self, key: str) -> str:
        """The DOI that ``reserve(key, ...)`` gives (known in advance for this registrar)."""
        return f"{self.prefix}/{suffix_for(_check_key(key), self.prefix)}"

    def reserve(self, key: str, attributes: Mapping[str, Any]) -> str:
        _validated(attributes, drop_doi=True)
        doi = self.doi_for(key)

        def add(data: dict[str, Any]) -> None:
            data.setdefault(doi, {"key": key, "state": "draft", "reserved": time.time()})
        self.state.update(add)
        return doi

    def publish(self, key: str, doi: str, attributes: Mapping[str, Any], url: str, files: Sequence[Path] = ()) -> str:
        if doi.lower() != self.doi_for(key).lower():
            raise RegistrarError(f"publish: DOI {doi} was not reserved for key {key!r} (expected "
                                 f"{self.doi_for(key)})", retryable=False)
        _validated({**attributes, "doi": doi, "url": url})

        def pub(data: dict[str, Any]) -> None:
            rec = data.setdefault(doi, {"key": key, "reserved": time.time()})
            if rec.get("state") != "published":
                rec.update(state="published", url=url, published=time.time())
        self.state.update(pub)
        return doi

    def status(self, doi: str) -> str | None:
        """``draft``, ``published`` or None (unknown DOI)."""
        return (self.state.load().get(doi) or {}).get("state")

    def concept_doi(self, key: str) -> str:
        return self.doi_for(key)

    def publish_concept(self, key: str, attributes: Mapping[str, Any], url: str, version_key: str) -> str:
        doi = self.doi_for(key)
        attrs = _validated({**attributes, "doi": doi, "url": url})
        versions = [r["relatedIdentifier"] for r in attrs.get("relatedIdentifiers") or []
                    if r["relationType"] == "HasVersion"]

        def pub(data: dict[str, Any]) -> None:
            rec = data.setdefault(doi, {"key": key, "reserved": time.time()})
            rec.update(state="published", url=url, versions=versions, updated=time.time())
        self.state.update(pub)
        return doi


# ----------------------------------------------------------------------------- HTTP helpers

class _HTTP:
    """requests with our error mapping and a few retries of what is safe to retry."""

    def __init__(self, service: str, base_url: str, headers: dict[str, str], timeout: float, retries: int,
                 backoff: float, credentials_hint: str):
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
            raise RegistrarError(f"{self.service} did not answer {method} {url} within {self.timeout:g} s; "
                                 f"retry later", retryable=True) from None
        except requests.ConnectionError as exc:
            raise RegistrarError(f"{self.service}: connection failed or dropped during {method} {url} "
                                 f"({type(exc).__name__}); retry later", retryable=True) from None
        if r.status_code in tuple(ok):
            return r
        detail = _error_detail(r)
        if r.status_code in (401, 403):
            raise RegistrarError(f"{self.service} refused {method} {url} ({r.status_code}: {detail}); "
                                 f"{self.credentials_hint}", retryable=False, status=r.status_code)
        retryable = r.status_code >= 500 or r.status_code in (408, 429)
        raise RegistrarError(f"{self.service} answered {r.status_code} to {method} {url}: {detail}"
                             + ("; retry later" if retryable else ""), retryable=retryable, status=r.status_code)

    def with_retries(self, what: Callable[[], str]) -> str:
        """Run an idempotent sequence, retrying it on retryable errors with exponential backoff."""
        for attempt in range(self.retries + 1):
            try:
                return what()
            except RegistrarError as exc:
                if not exc.retryable or attempt == self.retries:
                    raise
                time.sleep(self.backoff * 2 ** attempt)
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
                    parts.append(f"{src}: {e.get('title') or e.get('message')}" if src else
                                 str(e.get("title") or e.get("message")))
            msg = body.get("message")
            return (f"{msg} " if msg else "") + "; ".join(parts)
        if body.get("message"):
            return str(body["message"])
    return json.dumps(body)[:300]


# ----------------------------------------------------------------------------- DataCite

class DataCiteRegistrar:
    """DataCite REST API: a draft DOI at reserve, ``event: publish`` (findable) at publish.

    The suffix is chosen by us from the key (``odatis.xxxx-xxxx-xxxx``), so a retry after a lost
    answer looks the DOI up (``GET /dois/{doi}``) instead of creating another one.
    """

    name = "datacite"
    registered = True

    def __init__(self, prefix: str, *, repository_id: str, password: str, base_url: str = DATACITE_URL,
                 timeout: float = 30, retries: int = 2, backoff: float = 0.5):
        self.prefix = _check_prefix(prefix)
        auth = base64.b64encode(f"{repository_id}:{password}".encode()).decode()
        self.http = _HTTP("DataCite", base_url, {"Authorization": f"Basic {auth}",
                                                  "Content-Type": "application/vnd.api+json",
                                                  "Accept": "application/vnd.api+json"},
                          timeout, retries, backoff,
                          "check DATACITE_REPOSITORY_ID / DATACITE_PASSWORD and that the repository owns prefix "
                          f"{self.prefix}")

    def doi_for(self, key: str) -> str:
        return f"{self.prefix}/{suffix_for(_check_key(key), self.prefix)}"

    def _get(self, doi: str) -> dict[str, Any] | None:
        r = self.http.call("GET", f"/dois/{doi}", ok=(200, 404))
        return None if r.status_code == 404 else r.json()["data"]["attributes"]

    def reserve(self, key: str, attributes: Mapping[str, Any]) -> str:
        attrs = _validated(attributes, drop_doi=True)
        attrs.pop("url", None)  # a draft has no landing page yet
        doi = self.doi_for(key)

        def once() -> str:
            if self._get(doi) is not None:
                return doi
            body = {"data": {"type": "dois", "attributes": {**attrs, "doi": doi}}}
            r = self.http.call("POST", "/dois", json=body, ok=(201, 200, 422))
            if r.status_code == 422:
                # someone (our own lost first attempt) created it in between: fine if it is there now
                if "taken" in _error_detail(r).lower() and self._get(doi) is not None:
                    return doi
                raise RegistrarError(f"DataCite refused the draft DOI {doi}: {_error_detail(r)}", retryable=False,
                                     status=422)
            return doi
        return self.http.with_retries(once)

    def publish(self, key: str, doi: str, attributes: Mapping[str, Any], url: str, files: Sequence[Path] = ()) -> str:
        if doi.lower() != self.doi_for(key).lower():
            raise RegistrarError(f"publish: DOI {doi} was not reserved for key {key!r} (expected {self.doi_for(key)})",
                                 retryable=False)
        attrs = _validated({**attributes, "doi": doi, "url": url})

        def once() -> str:
            current = self._get(doi)
            if current is not None and current.get("state") == "findable":
                return doi
            body = {"data": {"type": "dois", "attributes": {**attrs, "event": "publish"}}}
            self.http.call("PUT", f"/dois/{doi}", json=body, ok=(200, 201))
            return doi
        return self.http.with_retries(once)

    def concept_doi(self, key: str) -> str:
        return self.doi_for(key)

    def publish_concept(self, key: str, attributes: Mapping[str, Any], url: str, version_key: str) -> str:
        """Create the concept DOI findable at once, or update its record (``PUT``) with the new version list."""
        doi = self.doi_for(key)
        attrs = _validated({**attributes, "doi": doi, "url": url})

        def once() -> str:
            current = self._get(doi)
            body = {"data": {"type": "dois", "attributes": {**attrs, "event": "publish"}}}
            if current is None:
                r = self.http.call("POST", "/dois", json=body, ok=(201, 200, 422))
                if r.status_code != 422:
                    return doi
                if "taken" not in _error_detail(r).lower():  # else: our own lost first attempt, update it below
                    raise RegistrarError(f"DataCite refused the concept DOI {doi}: {_error_detail(r)}",
                                         retryable=False, status=422)
            self.http.call("PUT", f"/dois/{doi}", json=body, ok=(200, 201))
            return doi
        return self.http.with_retries(once)

    def status(self, doi: str) -> str | None:
        """DataCite's state of ``doi``: ``draft``, ``registered``, ``findable`` or None."""
        attrs = self._get(doi)
        return None if attrs is None else attrs.get("state")


# ----------------------------------------------------------------------------- Zenodo

_ZENODO_TYPES = {"Dataset": "dataset", "Software": "software", "ComputationalNotebook": "software",
                 "Image": "image", "Text": "publication", "JournalArticle": "publication", "Report": "publication"}


def zenodo_metadata(attributes: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Zenodo deposition metadata from DataCite attributes; the deposit key is kept in ``notes``.

    >>> a = {"titles": [{"title": "T"}], "creators": [{"name": "Doe, Jane", "nameIdentifiers": [
    ...      {"nameIdentifier": "https://orcid.org/0000-0002-1825-0097", "nameIdentifierScheme": "ORCID"}]}],
    ...      "publicationYear": "2026", "types": {"resourceTypeGeneral": "Dataset"},
    ...      "descriptions": [{"description": "A <b>.", "descriptionType": "Abstract"}],
    ...      "rightsList": [{"rightsIdentifier": "cc-by-4.0"}]}
    >>> z = zenodo_metadata(a, "ds/v1")
    >>> z["upload_type"], z["creators"], z["license"], z["notes"]
    ('dataset', [{'name': 'Doe, Jane', 'orcid': '0000-0002-1825-0097'}], 'cc-by-4.0', 'odatis-vre deposit key: ds/v1')
    """
    import datetime as dt
    import html

    creators = []
    for c in attributes.get("creators") or []:
        item: dict[str, Any] = {"name": c["name"]}
        if c.get("affiliation"):
            item["affiliation"] = c["affiliation"][0]["name"]
        for ni in c.get("nameIdentifiers") or []:
            if ni.get("nameIdentifierScheme") == "ORCID":
                item["orcid"] = ni["nameIdentifier"].rsplit("/", 1)[-1]
        creators.append(item)
    paragraphs = [f"<p>{html.escape(d['description'])}</p>" for d in attributes.get("descriptions") or []]
    year = str(attributes.get("publicationYear") or dt.date.today().year)
    today = dt.date.today()
    md: dict[str, Any] = {
        "upload_type": _ZENODO_TYPES.get((attributes.get("types") or {}).get("resourceTypeGeneral", ""), "other"),
        "title": (attributes.get("titles") or [{}])[0].get("title", ""),
        "creators": creators,
        "description": "\n".join(paragraphs),
        "access_right": "open",
        "publication_date": today.isoformat() if year == str(today.year) else f"{year}-01-01",
        "keywords": [s["subject"] for s in attributes.get("subjects") or []],
        "notes": f"odatis-vre deposit key: {key}",
    }
    rights = (attributes.get("rightsList") or [{}])[0]
    if rights.get("rightsIdentifier"):
        md["license"] = rights["rightsIdentifier"].lower()
    if attributes.get("version"):
        md["version"] = str(attributes["version"])
    related = []
    for r in attributes.get("relatedIdentifiers") or []:
        ident = r["relatedIdentifier"]
        if r["relatedIdentifierType"] == "URL" and not ident.startswith(("http://", "https://")):
            continue  # Zenodo only accepts identifiers it can recognise
        related.append({"identifier": ident, "relation": r["relationType"][0].lower() + r["relationType"][1:]})
    if related:
        md["related_identifiers"] = related
    funding = [f"{f['funderName']}" + (f" ({f['awardNumber']})" if f.get("awardNumber") else "")
               for f in attributes.get("fundingReferences") or []]
    if funding:
        md["notes"] += ". Funding: " + "; ".join(funding)
    return md


class _Progress:
    """A file-like body for requests: Content-Length from ``__len__``, md5 as it is read, a tqdm bar."""

    def __init__(self, path: Path, bar: Any):
        self.fh = open(path, "rb")
        self.size = path.stat().st_size
        self.md5 = hashlib.md5()
        self.bar = bar

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        block = self.fh.read(n if n and n > 0 else 1 << 20)
        self.md5.update(block)
        self.bar.update(len(block))
        return block

    def close(self) -> None:
        self.fh.close()


def _md5_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


class ZenodoRegistrar:
    """Zenodo deposition API: create (prereserved DOI) at reserve; upload files, metadata, publish at publish.

    Idempotence by key: ``state_dir/zenodo-depositions.json`` maps keys to deposition ids, and a
    deposition whose answer was lost is found again by the key written in its ``notes``.
    """

    name = "zenodo"
    registered = True

    def __init__(self, prefix: str, *, token: str, base_url: str = ZENODO_URL, state_dir: Path | None = None,
                 timeout: float = 30, retries: int = 2, backoff: float = 0.5, progress: bool = True):
        self.prefix = _check_prefix(prefix)
        self.http = _HTTP("Zenodo", base_url, {"Authorization": f"Bearer {token}", "Accept": "application/json"},
                          timeout, retries, backoff, "check ZENODO_TOKEN (scopes deposit:write and deposit:actions)")
        self.state = _JSONState(Path(state_dir) / "zenodo-depositions.json" if state_dir else None)
        self.progress = progress

    @staticmethod
    def _marker(key: str) -> str:
        return f"odatis-vre deposit key: {key}"

    def _find(self, key: str) -> dict[str, Any] | None:
        """The deposition for ``key``: from the state file, else by searching the key in the notes."""
        dep_id = self.state.load().get(key)
        if dep_id is not None:
            r = self.http.call("GET", f"/deposit/depositions/{dep_id}", ok=(200, 404, 410))
            if r.status_code == 200:
                return r.json()
        marker = self._marker(key)
        page = 1
        while True:
            r = self.http.call("GET", "/deposit/depositions", params={"q": f'"{marker}"', "size": 100, "page": page})
            hits = r.json()
            for dep in hits:
                notes = str((dep.get("metadata") or {}).get("notes") or "")
                if notes == marker or notes.startswith(marker + "."):
                    self.state.update(lambda d: d.__setitem__(key, dep["id"]))
                    return dep
            if len(hits) < 100:
                return None
            page += 1

    @staticmethod
    def _doi(dep: Mapping[str, Any]) -> str:
        if dep.get("doi"):
            return str(dep["doi"])
        pre = (dep.get("metadata") or {}).get("prereserve_doi")
        if isinstance(pre, dict) and pre.get("doi"):
            return str(pre["doi"])
        raise RegistrarError(f"Zenodo deposition {dep.get('id')} has no reserved DOI", retryable=False)

    def reserve(self, key: str, attributes: Mapping[str, Any]) -> str:
        _check_key(key)
        attrs = _validated(attributes, drop_doi=True)

        def once() -> str:
            dep = self._find(key)
            if dep is None:
                body = {"metadata": {**zenodo_metadata(attrs, key), "prereserve_doi": True}}
                r = self.http.call("POST", "/deposit/depositions", json=body, ok=(201,))
                dep = r.json()
                self.state.update(lambda d: d.__setitem__(key, dep["id"]))
            return self._doi(dep)
        return self.http.with_retries(once)

    def _upload(self, dep: Mapping[str, Any], files: Sequence[Path]) -> None:
        from urllib.parse import quote

        from tqdm.auto import tqdm

        bucket = dep["links"]["bucket"]
        present = {c["key"]: c for c in self.http.call("GET", bucket).json().get("contents", [])}
        for path in files:
            path = Path(path)
            if not path.is_file():
                raise RegistrarError(f"publish: {path} is not a file (Zenodo takes files; zip a Zarr store first)",
                                     retryable=False)
            have = present.get(path.name)
            if have and have.get("size") == path.stat().st_size and have.get("checksum") == f"md5:{_md5_file(path)}":
                continue  # uploaded by an earlier attempt
            with tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=f"Zenodo ← {path.name}",
                      disable=not self.progress, leave=False) as bar:
                body = _Progress(path, bar)
                try:
                    r = self.http.call("PUT", f"{bucket}/{quote(path.name)}", data=body,
                                       headers={"Content-Type": "application/octet-stream"}, ok=(200, 201))
                finally:
                    body.close()
            if r.json().get("checksum") != f"md5:{body.md5.hexdigest()}":
                raise RegistrarError(f"Zenodo stored {path.name} with checksum {r.json().get('checksum')}, we sent "
                                     f"md5:{body.md5.hexdigest()}; retry", retryable=True)

    def publish(self, key: str, doi: str, attributes: Mapping[str, Any], url: str, files: Sequence[Path] = ()) -> str:
        _check_key(key)
        attrs = _validated({**attributes, "doi": doi, "url": url})
        if not files:
            raise RegistrarError("publish: Zenodo needs at least one file", retryable=False)

        def once() -> str:
            dep = self._find(key)
            if dep is None:
                raise RegistrarError(f"publish: no Zenodo deposition for key {key!r}; call reserve first",
                                     retryable=False)
            if self._doi(dep).lower() != doi.lower():
                raise RegistrarError(f"publish: key {key!r} has DOI {self._doi(dep)} on Zenodo, not {doi}",
                                     retryable=False)
            if dep.get("submitted") and dep.get("state") == "done":
                return self._doi(dep)
            self._upload(dep, files)
            zmd = zenodo_metadata(attrs, key)
            # the repository's landing page holds the same files: say so on Zenodo's record
            zmd.setdefault("related_identifiers", []).append({"identifier": url, "relation": "isIdenticalTo"})
            zmd["prereserve_doi"] = True
            self.http.call("PUT", f"/deposit/depositions/{dep['id']}", json={"metadata": zmd})
            r = self.http.call("POST", f"/deposit/depositions/{dep['id']}/actions/publish", ok=(202, 200, 400))
            if r.status_code == 400:
                again = self.http.call("GET", f"/deposit/depositions/{dep['id']}").json()
                if again.get("submitted") and again.get("state") == "done":
                    return self._doi(again)  # our earlier publish went through after all
                raise RegistrarError(f"Zenodo refused to publish deposition {dep['id']}: {_error_detail(r)}",
                                     retryable=False, status=400)
            return self._doi(r.json())
        return self.http.with_retries(once)

    def concept_doi(self, key: str) -> None:
        """Zenodo chooses the concept DOI itself, at the first publication."""
        return None

    def publish_concept(self, key: str, attributes: Mapping[str, Any], url: str, version_key: str) -> str:
        """Zenodo keeps the concept DOI of a deposition's versions (``conceptdoi``): read it, register nothing."""
        dep = self._find(version_key)
        if dep is None or not dep.get("conceptdoi"):
            raise RegistrarError(f"Zenodo deposition for {version_key!r} has no concept DOI yet (is it published?)",
                                 retryable=True)
        return str(dep["conceptdoi"])

    def status(self, key: str) -> str | None:
        """``draft``, ``published`` or None (no deposition for ``key``)."""
        dep = self._find(key)
        if dep is None:
            return None
        return "published" if dep.get("submitted") and dep.get("state") == "done" else "draft"


# ----------------------------------------------------------------------------- factory

def get(name: str, *, prefix: str, environ: Mapping[str, str] = os.environ, base_url: str | None = None,
        state_dir: Path | None = None, timeout: float = 30, retries: int = 2, backoff: float = 0.5) -> Registrar:
    """The registrar ``name`` (``local``, ``datacite`` or ``zenodo``).

    - ``local``: DOIs ``<prefix>/odatis.<suffix from key>``, not registered (citations say so).
    - ``datacite``: credentials from ``DATACITE_REPOSITORY_ID`` / ``DATACITE_PASSWORD``; ``base_url``
      (or ``DATACITE_API_URL``) defaults to https://api.datacite.org (test: https://api.test.datacite.org).
    - ``zenodo``: token from ``ZENODO_TOKEN``; ``base_url`` (or ``ZENODO_API_URL``) defaults to
      https://zenodo.org/api (sandbox: https://sandbox.zenodo.org/api). Zenodo chooses the DOI
      itself (its own prefix); ``prefix`` is only checked for form.

    ``retries`` retryable failures are retried inside each call (``backoff`` s, doubling); the
    call raises :class:`RegistrarError` after that, and calling it again later is safe.

    >>> get("datacite", prefix="10.5072", environ={})
    Traceback (most recent call last):
    ...
    odatis_vre.registrars.RegistrarError: registrar 'datacite' needs the environment variables DATACITE_REPOSITORY_ID, DATACITE_PASSWORD (the repository account of your DataCite member; a Kubernetes secret in production)
    """
    if name not in NAMES:
        raise ValueError(f"registrar {name!r}: use one of {', '.join(NAMES)}")
    state = Path(state_dir) if state_dir else None
    if name == "local":
        return LocalRegistrar(prefix, state)

    def need(*names: str, why: str) -> list[str]:
        missing = [n for n in names if not environ.get(n)]
        if missing:
            raise RegistrarError(f"registrar {name!r} needs the environment variable{'s' if len(missing) > 1 else ''} "
                                 f"{', '.join(missing)} ({why})", retryable=False)
        return [environ[n] for n in names]

    if name == "datacite":
        repo, pw = need("DATACITE_REPOSITORY_ID", "DATACITE_PASSWORD",
                        why="the repository account of your DataCite member; a Kubernetes secret in production")
        return DataCiteRegistrar(prefix, repository_id=repo, password=pw,
                                 base_url=base_url or environ.get("DATACITE_API_URL") or DATACITE_URL,
                                 timeout=timeout, retries=retries, backoff=backoff)
    (token,) = need("ZENODO_TOKEN", why="a personal access token with scopes deposit:write and deposit:actions")
    return ZenodoRegistrar(prefix, token=token, base_url=base_url or environ.get("ZENODO_API_URL") or ZENODO_URL,
                           state_dir=state, timeout=timeout, retries=retries, backoff=backoff)
