"""The ``zenodo`` registrar: Zenodo's InvenioRDM records API (draft record, files, publish; new versions of the
record, whose parent holds the concept DOI)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import (
    Any,
)
from urllib.parse import quote

from .base import (
    _HTTP,
    ZENODO_URL,
    RegistrarError,
    _check_key,
    _check_prefix,
    _error_detail,
    _JSONState,
    _validated,
)

# ----------------------------------------------------------------------------- Zenodo (InvenioRDM)

#: InvenioRDM ``resource_type`` ids (Zenodo's vocabulary) by DataCite resourceTypeGeneral.
_RDM_TYPES = {
    "Dataset": "dataset",
    "Software": "software",
    "ComputationalNotebook": "software",
    "Image": "image",
    "Text": "publication",
    "JournalArticle": "publication-article",
    "Report": "publication-report",
    "Audiovisual": "video",
    "Workflow": "workflow",
    "Model": "model",
}
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
            family, _, given = c["name"].partition(", ") if ", " in c["name"] else (c["name"], "", None)
        who = {"type": "personal", "family_name": family}
        if given:
            who["given_name"] = given
    ids = [
        {"scheme": "orcid", "identifier": ni["nameIdentifier"].rsplit("/", 1)[-1]}
        for ni in c.get("nameIdentifiers") or []
        if ni.get("nameIdentifierScheme") == "ORCID"
    ]
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
        "publisher": (
            (attributes.get("publisher") or {}).get("name")
            if isinstance(attributes.get("publisher"), dict)
            else attributes.get("publisher")
        )
        or "Zenodo",
        "subjects": [{"subject": s["subject"]} for s in attributes.get("subjects") or []],
    }
    extra = [
        {"description": f"<p>{html.escape(d['description'])}</p>", "type": {"id": d["descriptionType"].lower()}}
        for d in descriptions
        if d.get("descriptionType") in ("Methods", "TechnicalInfo", "Other")
    ]
    md["additional_descriptions"] = extra + [{"description": _marker(key), "type": {"id": "notes"}}]
    rights = [
        {"id": r["rightsIdentifier"].lower()} for r in attributes.get("rightsList") or [] if r.get("rightsIdentifier")
    ]
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
            features.append(
                {"geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}
            )
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

    def __init__(
        self,
        prefix: str,
        *,
        token: str,
        base_url: str = ZENODO_URL,
        state_dir: Path | None = None,
        timeout: float = 30,
        retries: int = 2,
        backoff: float = 0.5,
        progress: bool = True,
        part_size: int = 64 * MiB,
        multipart_threshold: int = 128 * MiB,
    ):
        self.prefix = _check_prefix(prefix)
        self.http = _HTTP(
            "Zenodo",
            base_url,
            {"Authorization": f"Bearer {token}", "Accept": RDM_JSON},
            timeout,
            retries,
            backoff,
            "check ZENODO_TOKEN (scopes deposit:write and deposit:actions)",
        )
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
            r = self.http.call(
                "GET", "/user/records", params={"q": f'"{marker}"', "size": 100, "page": page, "allversions": "true"}
            )
            hits = (r.json().get("hits") or {}).get("hits") or []
            found = [
                hit
                for hit in hits
                if marker
                in [
                    d.get("description")
                    for d in (hit.get("metadata") or {}).get("additional_descriptions") or []
                    if (d.get("type") or {}).get("id") == "notes"
                ]
            ]
            if found:
                # a new version's draft holds a copy of its predecessor's note until its metadata are written:
                # the key's own record is the earliest version that carries it
                hit = min(found, key=lambda h: int((h.get("versions") or {}).get("index") or 0))
                self.state.update(lambda d, hit=hit: d.__setitem__(key, str(hit["id"])))
                return self._get(str(hit["id"])) or hit
            if len(hits) < 100:
                return None
            page += 1

    @staticmethod
    def _check_saved(rec: Mapping[str, Any], what: str) -> None:
        """A draft is saved even with errors (InvenioRDM lists them): refuse now, not at publication."""
        errors = rec.get("errors") or []
        if errors:
            detail = "; ".join(
                f"{e.get('field')}: {' '.join(map(str, e.get('messages') or [e.get('message')]))}" for e in errors
            )
            raise RegistrarError(f"Zenodo refused the metadata of {what}: {detail}", retryable=False, status=400)

    def _body(self, attrs: Mapping[str, Any], key: str, pids: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "metadata": rdm_metadata(attrs, key),
            "access": {"record": "public", "files": "public"},
            "files": {"enabled": True},
        }
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
                        raise RegistrarError(
                            f"Zenodo: no published record for {previous_key!r}, of which {key!r} "
                            f"would be the next version; publish it first",
                            retryable=False,
                        )
                    # returns the pending new-version draft when there is one: a lost answer makes no second
                    new = self.http.call("POST", f"/records/{prev['id']}/versions", ok=(201, 200)).json()
                    self.state.update(lambda d: d.__setitem__(key, str(new["id"])))
                    r = self.http.call(
                        "PUT", f"/records/{new['id']}/draft", json=self._body(attrs, key, new.get("pids"))
                    )
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
                raise RegistrarError(
                    f"Zenodo did not reserve a DOI for record {rec['id']}: {_error_detail(r)}",
                    retryable=r.status_code != 400,
                    status=r.status_code,
                )
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
            entry = {
                "key": path.name,
                "size": size,
                "transfer": {"type": "M", "parts": parts, "part_size": self.part_size},
            }
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
                r = self.http.call(
                    "POST", f"/records/{rec_id}/draft/files/{quote(path.name)}/commit", ok=(200, 201, 400, 404, 409)
                )
                have = r.json() if r.status_code in (200, 201) else have
            if (
                have
                and have.get("status") == "completed"
                and int(have.get("size") or -1) == size
                and have.get("checksum") == f"md5:{md5}"
            ):
                continue  # uploaded by an earlier attempt
            if have:  # an incomplete upload, or other bytes under this name: start again
                self.http.call("DELETE", f"/records/{rec_id}/draft/files/{quote(path.name)}", ok=(204, 200, 404))
            entry = self._init_file(rec_id, path)
            links = entry.get("links") or {}
            with tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                desc=f"Zenodo ← {path.name}",
                disable=not self.progress,
                leave=False,
            ) as bar:
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
                raise RegistrarError(
                    f"Zenodo stored {path.name} as {done.get('size')} bytes, checksum "
                    f"{done.get('checksum')}; we sent {size} bytes, md5:{md5}; retry",
                    retryable=True,
                )

    # -- publication
    def publish(self, key: str, doi: str, attributes: Mapping[str, Any], url: str, files: Sequence[Path] = ()) -> str:
        _check_key(key)
        attrs = _validated({**attributes, "doi": doi, "url": url})
        if not files:
            raise RegistrarError("publish: Zenodo needs at least one file", retryable=False)
        for path in map(Path, files):
            if not path.is_file():
                raise RegistrarError(
                    f"publish: {path} is not a file (Zenodo takes files; zip a Zarr store first)", retryable=False
                )

        def once() -> str:
            rec = self._find(key)
            if rec is None:
                raise RegistrarError(f"publish: no Zenodo record for key {key!r}; call reserve first", retryable=False)
            if (_doi_of(rec) or "").lower() != doi.lower():
                raise RegistrarError(
                    f"publish: key {key!r} has DOI {_doi_of(rec)} on Zenodo, not {doi}", retryable=False
                )
            if rec.get("is_published") and not rec.get("is_draft"):
                return doi  # published by an earlier attempt
            rec_id = str(rec["id"])
            self._upload(rec_id, files)
            body = self._body(attrs, key, rec.get("pids"))
            # the repository's landing page holds the same files: say so on Zenodo's record
            body["metadata"].setdefault("related_identifiers", []).append(
                {"identifier": url, "scheme": "url", "relation_type": {"id": "isidenticalto"}}
            )
            self._check_saved(self.http.call("PUT", f"/records/{rec_id}/draft", json=body).json(), key)
            r = self.http.call("POST", f"/records/{rec_id}/draft/actions/publish", ok=(202, 200, 400, 404))
            if r.status_code in (400, 404):
                again = self._get(rec_id) or {}
                if again.get("is_published") and not again.get("is_draft"):
                    return doi  # our earlier publish went through after all
                raise RegistrarError(
                    f"Zenodo refused to publish record {rec_id}: {_error_detail(r)}",
                    retryable=False,
                    status=r.status_code,
                )
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
            raise RegistrarError(
                f"Zenodo record for {version_key!r} has no concept DOI yet (is it published?)", retryable=True
            )
        return concept

    def status(self, key: str) -> str | None:
        """``draft``, ``published`` or None (no record for ``key``)."""
        rec = self._find(key)
        if rec is None:
            return None
        return "published" if rec.get("is_published") and not rec.get("is_draft") else "draft"
