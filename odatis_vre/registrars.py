"""DOI registrars, pluggable: ``local`` (embedded default), ``datacite`` (REST API), ``zenodo`` (Zenodo's
InvenioRDM records API).

Every registrar does these things, all **idempotent per key** (the caller's deposit key, e.g.
``"<dataset id>/v2"``), so that a deposit interrupted at any step can simply be retried:

- ``reserve(key, attributes, previous_key=None) -> doi``: a draft DOI. Calling it again with the same key
  returns the same DOI and never creates a second one, even when the first call's answer was lost.
  ``previous_key`` names the published version this one follows (Zenodo makes a new version of its record).
- ``publish(key, doi, attributes, url, files) -> doi``: makes the DOI findable (DataCite) or
  publishes the record with its files (Zenodo). Publishing an already published DOI is a no-op.
- ``concept_doi(key)`` / ``publish_concept(key, attributes, url, version_key) -> doi``: the DOI over every
  version (DataCite: registered by us with ``HasVersion``; Zenodo: its parent record's, read back).

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
from urllib.parse import quote

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

    def reserve(self, key: str, attributes: Mapping[str, Any], *, previous_key: str | None = None) -> str:
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
                    # DataCite: title; Zenodo legacy: message; InvenioRDM: a list of messages
                    text = e.get("title") or e.get("message") or " ".join(map(str, e.get("messages") or []))
                    parts.append(f"{src}: {text}" if src else str(text))
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

    def reserve(self, key: str, attributes: Mapping[str, Any], *, previous_key: str | None = None) -> str:
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


# ----------------------------------------------------------------------------- Zenodo (InvenioRDM)

#: InvenioRDM ``resource_type`` ids (Zenodo's vocabulary) by DataCite resourceTypeGeneral.
_RDM_TYPES = {"Dataset": "dataset", "Software": "software", "ComputationalNotebook": "software", "Image": "image",
              "Text": "publication", "JournalArticle": "publication-article", "Report": "publication-report",
              "Audiovisual": "video", "Workflow": "workflow", "Model": "model"}
#: Media type of InvenioRDM's own JSON serialisation (Zenodo's plain ``application/json`` is its legacy format).
RDM_JSON = "application/vnd.inveniordm.v1+json"
MiB = 1024 * 1024


def _marker(key: str) -> str:
    """The note that names a deposit key in a Zenodo record (found again by searching for it)."""
    return f"odatis-vre deposit key: {key}"


def _rdm_creator(c: Mapping[str, Any]) -> dict[str, Any]:
    """An InvenioRDM creator (``person_or_org``, ``affiliations``) from a DataCite creator."""
    if c.get("nameType") == "Organizational":
        who: dict[str, Any] = {"type": "organizational", "name": c["name"]}
    else:
        family, given = c.get("familyName"), c.get("givenName")
        if not family:
            family, _, given = (c["name"].partition(", ") if ", " in c["name"] else (c["name"], "", None))
        who = {"type": "personal", "family_name": family}
        if given:
            who["given_name"] = given
    ids = [{"scheme": "orcid", "identifier": ni["nameIdentifier"].rsplit("/", 1)[-1]}
           for ni in c.get("nameIdentifiers") or [] if ni.get("nameIdentifierScheme") == "ORCID"]
    if ids:
        who["identifiers"] = ids
    out: dict[str, Any] = {"person_or_org": who}
    # by name: an affiliation id must exist in the instance's vocabulary, a name is always accepted
    affs = [{"name": a["name"]} for a in c.get("affiliation") or [] if a.get("name")]
    if affs:
        out["affiliations"] = affs
    return out


def _edtf(date: str) -> str:
    """The EDTF form InvenioRDM takes of a DataCite date or ``start/end`` interval (days, not times).

    >>> _edtf("2023-06-01T00:00:00Z/2023-08-01T00:00:00Z")
    '2023-06-01/2023-08-01'
    """
    return "/".join(part[:10] for part in str(date).split("/"))


def rdm_metadata(attributes: Mapping[str, Any], key: str) -> dict[str, Any]:
    """InvenioRDM ``metadata`` of a Zenodo record from DataCite attributes; the deposit key is kept in a note.

    >>> a = {"titles": [{"title": "T"}], "creators": [{"name": "Doe, Jane", "nameType": "Personal", "nameIdentifiers": [
    ...      {"nameIdentifier": "https://orcid.org/0000-0002-1825-0097", "nameIdentifierScheme": "ORCID"}]}],
    ...      "publicationYear": "2020", "types": {"resourceTypeGeneral": "Dataset"},
    ...      "descriptions": [{"description": "A <b>.", "descriptionType": "Abstract"}],
    ...      "rightsList": [{"rightsIdentifier": "cc-by-4.0"}]}
    >>> m = rdm_metadata(a, "ds.v1")
    >>> m["resource_type"], m["creators"][0]["person_or_org"], m["rights"], m["publication_date"]
    ({'id': 'dataset'}, {'type': 'personal', 'family_name': 'Doe', 'given_name': 'Jane', 'identifiers': [{'scheme': 'orcid', 'identifier': '0000-0002-1825-0097'}]}, [{'id': 'cc-by-4.0'}], '2020')
    >>> m["additional_descriptions"][-1]
    {'description': 'odatis-vre deposit key: ds.v1', 'type': {'id': 'notes'}}
    """
    import datetime as dt
    import html

    year = str(attributes.get("publicationYear") or dt.date.today().year)
    today = dt.date.today()
    general = (attributes.get("types") or {}).get("resourceTypeGeneral", "")
    descriptions = attributes.get("descriptions") or []
    abstract = [d["description"] for d in descriptions if d.get("descriptionType") == "Abstract"]
    md: dict[str, Any] = {
        "resource_type": {"id": _RDM_TYPES.get(general, "other")},
        "title": (attributes.get("titles") or [{}])[0].get("title", ""),
        "creators": [_rdm_creator(c) for c in attributes.get("creators") or []],
        "publication_date": today.isoformat() if year == str(today.year) else year,
        "description": "".join(f"<p>{html.escape(t)}</p>" for t in abstract),
        "publisher": ((attributes.get("publisher") or {}).get("name") if isinstance(attributes.get("publisher"), dict)
                      else attributes.get("publisher")) or "Zenodo",
        "subjects": [{"subject": s["subject"]} for s in attributes.get("subjects") or []],
    }
    extra = [{"description": f"<p>{html.escape(d['description'])}</p>", "type": {"id": d["descriptionType"].lower()}}
             for d in descriptions if d.get("descriptionType") in ("Methods", "TechnicalInfo", "Other")]
    md["additional_descriptions"] = extra + [{"description": _marker(key), "type": {"id": "notes"}}]
    rights = [{"id": r["rightsIdentifier"].lower()} for r in attributes.get("rightsList") or []
              if r.get("rightsIdentifier")]
    if rights:
        md["rights"] = rights
    if attributes.get("version"):
        md["version"] = str(attributes["version"])
    related = []
    for r in attributes.get("relatedIdentifiers") or []:
        ident, scheme = r["relatedIdentifier"], r["relatedIdentifierType"].lower()
        if scheme == "url" and not ident.startswith(("http://", "https://")):
            continue  # Zenodo only accepts identifiers it can recognise
        related.append({"identifier": ident, "scheme": scheme, "relation_type": {"id": r["relationType"].lower()}})
    if related:
        md["related_identifiers"] = related
    dates = [{"date": _edtf(d["date"]), "type": {"id": d["dateType"].lower()}} for d in attributes.get("dates") or []]
    if dates:
        md["dates"] = dates
    features = []
    for g in attributes.get("geoLocations") or []:
        box = g.get("geoLocationBox")
        if box:
            w, e = box["westBoundLongitude"], box["eastBoundLongitude"]
            s, n = box["southBoundLatitude"], box["northBoundLatitude"]
            features.append({"geometry": {"type": "Polygon",
                                          "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}})
    if features:
        md["locations"] = {"features": features}
    funding = []
    for f in attributes.get("fundingReferences") or []:
        item: dict[str, Any] = {"funder": {"name": f["funderName"]}}
        if f.get("awardNumber") or f.get("awardTitle"):
            item["award"] = {"title": {"en": f.get("awardTitle") or f.get("awardNumber")}}
            if f.get("awardNumber"):
                item["award"]["number"] = f["awardNumber"]
        funding.append(item)
    if funding:
        md["funding"] = funding
    for key_ in ("sizes", "formats"):
        if attributes.get(key_):
            md[key_] = list(attributes[key_])
    return md


class _Progress:
    """A file-like body for requests: ``size`` bytes from ``offset``, md5 as it is read, a tqdm bar."""

    def __init__(self, path: Path, bar: Any, offset: int = 0, size: int | None = None):
        self.fh = open(path, "rb")
        self.fh.seek(offset)
        self.size = path.stat().st_size - offset if size is None else size
        self.left = self.size
        self.md5 = hashlib.md5()
        self.bar = bar

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        want = min(self.left, n if n and n > 0 else MiB)
        block = self.fh.read(want)
        self.left -= len(block)
        self.md5.update(block)
        self.bar.update(len(block))
        return block

    def close(self) -> None:
        self.fh.close()


def _md5_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(MiB):
            h.update(block)
    return h.hexdigest()


def _doi_of(rec: Mapping[str, Any]) -> str | None:
    doi = ((rec.get("pids") or {}).get("doi") or {}).get("identifier")
    return str(doi) if doi else None


class ZenodoRegistrar:
    """Zenodo's REST API (InvenioRDM ``/api/records``): a draft record with a reserved DOI at reserve;
    files (in parts above ``multipart_threshold``), metadata and publication at publish; a new version
    is made from the previous one (``POST /api/records/{id}/versions``), so Zenodo's concept DOI (the
    parent's) spans every version.

    Idempotence by key: ``state_dir/zenodo-records.json`` maps keys to record ids, and a record whose
    creation answer was lost is found again by the key written in a note (``additional_descriptions``).
    """

    name = "zenodo"
    registered = True

    def __init__(self, prefix: str, *, token: str, base_url: str = ZENODO_URL, state_dir: Path | None = None,
                 timeout: float = 30, retries: int = 2, backoff: float = 0.5, progress: bool = True,
                 part_size: int = 64 * MiB, multipart_threshold: int = 128 * MiB):
        self.prefix = _check_prefix(prefix)
        self.http = _HTTP("Zenodo", base_url, {"Authorization": f"Bearer {token}", "Accept": RDM_JSON},
                          timeout, retries, backoff, "check ZENODO_TOKEN (scopes deposit:write and deposit:actions)")
        self.state = _JSONState(Path(state_dir) / "zenodo-records.json" if state_dir else None)
        self.progress = progress
        if part_size < 1 or multipart_threshold < 1:
            raise ValueError("ZenodoRegistrar: part_size and multipart_threshold are byte counts above 0")
        self.part_size, self.multipart_threshold = int(part_size), int(multipart_threshold)

    # -- finding a key's record
    def _get(self, rec_id: str) -> dict[str, Any] | None:
        """The record's draft if it has one, else the published record, else None."""
        r = self.http.call("GET", f"/records/{rec_id}/draft", ok=(200, 404, 410))
        if r.status_code == 200:
            return r.json()
        r = self.http.call("GET", f"/records/{rec_id}", ok=(200, 404, 410))
        return r.json() if r.status_code == 200 else None

    def _find(self, key: str) -> dict[str, Any] | None:
        """The record for ``key``: from the state file, else by searching the user's records for its note."""
        rec_id = self.state.load().get(key)
        if rec_id is not None:
            rec = self._get(str(rec_id))
            if rec is not None:
                return rec
        marker = _marker(key)
        page = 1
        while True:
            r = self.http.call("GET", "/user/records", params={"q": f'"{marker}"', "size": 100, "page": page,
                                                              "allversions": "true"})
            hits = (r.json().get("hits") or {}).get("hits") or []
            found = [hit for hit in hits if marker in [
                d.get("description") for d in (hit.get("metadata") or {}).get("additional_descriptions") or []
                if (d.get("type") or {}).get("id") == "notes"]]
            if found:
                # a new version's draft holds a copy of its predecessor's note until its metadata are written:
                # the key's own record is the earliest version that carries it
                hit = min(found, key=lambda h: int((h.get("versions") or {}).get("index") or 0))
                self.state.update(lambda d: d.__setitem__(key, str(hit["id"])))
                return self._get(str(hit["id"])) or hit
            if len(hits) < 100:
                return None
            page += 1

    @staticmethod
    def _check_saved(rec: Mapping[str, Any], what: str) -> None:
        """A draft is saved even with errors (InvenioRDM lists them): refuse now, not at publication."""
        errors = rec.get("errors") or []
        if errors:
            detail = "; ".join(f"{e.get('field')}: {' '.join(map(str, e.get('messages') or [e.get('message')]))}"
                               for e in errors)
            raise RegistrarError(f"Zenodo refused the metadata of {what}: {detail}", retryable=False, status=400)

    def _body(self, attrs: Mapping[str, Any], key: str, pids: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"metadata": rdm_metadata(attrs, key), "access": {"record": "public", "files": "public"},
                                "files": {"enabled": True}}
        if pids:
            body["pids"] = dict(pids)  # a draft PUT replaces the draft: without its pids the reserved DOI goes
        return body

    def reserve(self, key: str, attributes: Mapping[str, Any], *, previous_key: str | None = None) -> str:
        """Create the draft record (a new version of ``previous_key``'s record, if given) and reserve its DOI."""
        _check_key(key)
        attrs = _validated(attributes, drop_doi=True)

        def once() -> str:
            rec = self._find(key)
            if rec is None:
                if previous_key:
                    prev = self._find(previous_key)
                    if prev is None or not prev.get("is_published"):
                        raise RegistrarError(f"Zenodo: no published record for {previous_key!r}, of which {key!r} "
                                             f"would be the next version; publish it first", retryable=False)
                    # returns the pending new-version draft when there is one: a lost answer makes no second
                    new = self.http.call("POST", f"/records/{prev['id']}/versions", ok=(201, 200)).json()
                    self.state.update(lambda d: d.__setitem__(key, str(new["id"])))
                    r = self.http.call("PUT", f"/records/{new['id']}/draft",
                                       json=self._body(attrs, key, new.get("pids")))
                else:
                    r = self.http.call("POST", "/records", json=self._body(attrs, key), ok=(201,))
                    self.state.update(lambda d: d.__setitem__(key, str(r.json()["id"])))
                rec = r.json()
                self._check_saved(rec, key)
            doi = _doi_of(rec)
            if doi:
                return doi
            r = self.http.call("POST", f"/records/{rec['id']}/draft/pids/doi", ok=(201, 200, 400))
            doi = _doi_of(r.json()) if r.status_code != 400 else _doi_of(self._get(str(rec["id"])) or {})
            if not doi:
                raise RegistrarError(f"Zenodo did not reserve a DOI for record {rec['id']}: {_error_detail(r)}",
                                     retryable=r.status_code != 400, status=r.status_code)
            return doi
        return self.http.with_retries(once)

    # -- files
    def _files(self, rec_id: str) -> dict[str, dict[str, Any]]:
        return {e["key"]: e for e in self.http.call("GET", f"/records/{rec_id}/draft/files").json().get("entries", [])}

    def _init_file(self, rec_id: str, path: Path) -> dict[str, Any]:
        """Start a file upload: in parts (InvenioRDM's multipart transfer, ``M``) above the threshold, unless the
        instance refuses that transfer; then one ``PUT`` of the content."""
        size = path.stat().st_size
        if size >= self.multipart_threshold:
            parts = max(1, -(-size // self.part_size))
            entry = {"key": path.name, "size": size,
                     "transfer": {"type": "M", "parts": parts, "part_size": self.part_size}}
            r = self.http.call("POST", f"/records/{rec_id}/draft/files", json=[entry], ok=(201, 200, 400))
            if r.status_code != 400:
                return next(e for e in r.json()["entries"] if e["key"] == path.name)
        r = self.http.call("POST", f"/records/{rec_id}/draft/files", json=[{"key": path.name}], ok=(201, 200))
        return next(e for e in r.json()["entries"] if e["key"] == path.name)

    def _send(self, url: str, path: Path, offset: int, size: int, bar: Any) -> str:
        body = _Progress(path, bar, offset, size)
        try:
            self.http.call("PUT", url, data=body, headers={"Content-Type": "application/octet-stream"}, ok=(200, 201))
        finally:
            body.close()
        return body.md5.hexdigest()

    def _upload(self, rec_id: str, files: Sequence[Path]) -> None:
        from tqdm.auto import tqdm

        present = self._files(rec_id)
        names = {Path(p).name for p in files}
        for stale in set(present) - names:  # the record holds exactly the deposit's files
            self.http.call("DELETE", f"/records/{rec_id}/draft/files/{quote(stale)}", ok=(204, 200, 404))
        for path in map(Path, files):
            have = present.get(path.name)
            md5, size = _md5_file(path), path.stat().st_size
            if have and have.get("status") != "completed":
                # an earlier attempt's upload whose answer was lost: its bytes may all be there
                r = self.http.call("POST", f"/records/{rec_id}/draft/files/{quote(path.name)}/commit",
                                   ok=(200, 201, 400, 404, 409))
                have = r.json() if r.status_code in (200, 201) else have
            if have and have.get("status") == "completed" and int(have.get("size") or -1) == size \
                    and have.get("checksum") == f"md5:{md5}":
                continue  # uploaded by an earlier attempt
            if have:  # an incomplete upload, or other bytes under this name: start again
                self.http.call("DELETE", f"/records/{rec_id}/draft/files/{quote(path.name)}", ok=(204, 200, 404))
            entry = self._init_file(rec_id, path)
            links = entry.get("links") or {}
            with tqdm(total=size, unit="B", unit_scale=True, desc=f"Zenodo ← {path.name}",
                      disable=not self.progress, leave=False) as bar:
                if links.get("parts"):
                    part = int((entry.get("transfer") or {}).get("part_size") or self.part_size)
                    for p in sorted(links["parts"], key=lambda p: int(p["part"])):
                        offset = (int(p["part"]) - 1) * part
                        self._send(p["url"], path, offset, min(part, size - offset), bar)
                else:
                    content = links.get("content") or f"/records/{rec_id}/draft/files/{quote(path.name)}/content"
                    self._send(content, path, 0, size, bar)
            commit = links.get("commit") or f"/records/{rec_id}/draft/files/{quote(path.name)}/commit"
            done = self.http.call("POST", commit, ok=(200, 201)).json()
            if done.get("checksum") != f"md5:{md5}" or int(done.get("size") or -1) != size:
                raise RegistrarError(f"Zenodo stored {path.name} as {done.get('size')} bytes, checksum "
                                     f"{done.get('checksum')}; we sent {size} bytes, md5:{md5}; retry", retryable=True)

    # -- publication
    def publish(self, key: str, doi: str, attributes: Mapping[str, Any], url: str, files: Sequence[Path] = ()) -> str:
        _check_key(key)
        attrs = _validated({**attributes, "doi": doi, "url": url})
        if not files:
            raise RegistrarError("publish: Zenodo needs at least one file", retryable=False)
        for path in map(Path, files):
            if not path.is_file():
                raise RegistrarError(f"publish: {path} is not a file (Zenodo takes files; zip a Zarr store first)",
                                     retryable=False)

        def once() -> str:
            rec = self._find(key)
            if rec is None:
                raise RegistrarError(f"publish: no Zenodo record for key {key!r}; call reserve first", retryable=False)
            if (_doi_of(rec) or "").lower() != doi.lower():
                raise RegistrarError(f"publish: key {key!r} has DOI {_doi_of(rec)} on Zenodo, not {doi}",
                                     retryable=False)
            if rec.get("is_published") and not rec.get("is_draft"):
                return doi  # published by an earlier attempt
            rec_id = str(rec["id"])
            self._upload(rec_id, files)
            body = self._body(attrs, key, rec.get("pids"))
            # the repository's landing page holds the same files: say so on Zenodo's record
            body["metadata"].setdefault("related_identifiers", []).append(
                {"identifier": url, "scheme": "url", "relation_type": {"id": "isidenticalto"}})
            self._check_saved(self.http.call("PUT", f"/records/{rec_id}/draft", json=body).json(), key)
            r = self.http.call("POST", f"/records/{rec_id}/draft/actions/publish", ok=(202, 200, 400, 404))
            if r.status_code in (400, 404):
                again = self._get(rec_id) or {}
                if again.get("is_published") and not again.get("is_draft"):
                    return doi  # our earlier publish went through after all
                raise RegistrarError(f"Zenodo refused to publish record {rec_id}: {_error_detail(r)}",
                                     retryable=False, status=r.status_code)
            return _doi_of(r.json()) or doi
        return self.http.with_retries(once)

    def concept_doi(self, key: str) -> None:
        """Zenodo chooses the concept DOI itself (the parent record's), at the first publication."""
        return None

    def publish_concept(self, key: str, attributes: Mapping[str, Any], url: str, version_key: str) -> str:
        """Zenodo registers the concept DOI of a record's versions (its parent's DOI): read it, register nothing."""
        rec = self._find(version_key)
        concept = _doi_of((rec or {}).get("parent") or {})
        if not rec or not rec.get("is_published") or not concept:
            raise RegistrarError(f"Zenodo record for {version_key!r} has no concept DOI yet (is it published?)",
                                 retryable=True)
        return concept

    def status(self, key: str) -> str | None:
        """``draft``, ``published`` or None (no record for ``key``)."""
        rec = self._find(key)
        if rec is None:
            return None
        return "published" if rec.get("is_published") and not rec.get("is_draft") else "draft"


# ----------------------------------------------------------------------------- factory

def get(name: str, *, prefix: str, environ: Mapping[str, str] = os.environ, base_url: str | None = None,
        state_dir: Path | None = None, timeout: float = 30, retries: int = 2, backoff: float = 0.5) -> Registrar:
    """The registrar ``name`` (``local``, ``datacite`` or ``zenodo``).

    - ``local``: DOIs ``<prefix>/odatis.<suffix from key>``, not registered (citations say so).
    - ``datacite``: credentials from ``DATACITE_REPOSITORY_ID`` / ``DATACITE_PASSWORD``; ``base_url``
      (or ``DATACITE_API_URL``) defaults to https://api.datacite.org (test: https://api.test.datacite.org).
    - ``zenodo``: token from ``ZENODO_TOKEN``; ``base_url`` (or ``ZENODO_API_URL``) defaults to
      https://zenodo.org/api (sandbox: https://sandbox.zenodo.org/api); InvenioRDM's records API
      (:class:`ZenodoRegistrar`). Zenodo chooses the DOI itself (its own prefix); ``prefix`` is only
      checked for form.

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
