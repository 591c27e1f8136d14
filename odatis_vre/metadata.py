"""Dataset metadata for publication: DataCite 4.5, citation, BibTeX, schema.org.

A researcher writes a short YAML file (or dict); :func:`load_metadata` checks and normalises it,
:func:`datacite_attributes` turns it into DataCite REST API ``attributes`` (schema 4.5 JSON) with
the provenance of the dataset, :func:`validate_datacite` checks them with the schema shipped in the
``datacite`` package before anything is sent to a registrar, and :func:`citation`, :func:`bibtex`,
:func:`datacite_xml`, :func:`schema_org` render them for the landing page.

Example
-------
>>> md = load_metadata({
...     "title": "SST anomalies, Bay of Biscay, 2023",
...     "creators": [{"name": "Carberry, Josiah", "orcid": "0000-0002-1825-0097",
...                   "affiliation": {"name": "Ifremer", "ror": "https://ror.org/044jxhp58"}}],
...     "licence": "CC-BY-4.0", "keywords": ["sea surface temperature", "Bay of Biscay"],
...     "abstract": "Daily SST anomalies relative to 2023 mean.", "publication_year": 2026})
>>> attrs = datacite_attributes(md, doi="10.5072/odatis.abcd-1234", url="https://vre.example.org/datasets/x/v1")
>>> validate_datacite(attrs)
>>> print(citation(attrs, registered=True))
Carberry, J. (2026): SST anomalies, Bay of Biscay, 2023. Version 1. ODATIS. (Dataset). https://doi.org/10.5072/odatis.abcd-1234

The user metadata fields (YAML keys) are:

=========================  ===============================================================================
``title``                  required
``creators``               required: ``[{name: "Family, Given", orcid?, affiliation?: {name, ror?}}]``
                           (``type: organization`` for an institution; ``affiliation`` may be a list)
``licence``                required: an SPDX id (``CC-BY-4.0``, ``CC0-1.0``, ``etalab-2.0``, ...)
``keywords``               required: a list (or a comma-separated string)
``abstract``               required
``funding``                ``[{funder, funder_ror?, award?, award_title?, award_uri?}]``
``related_publications``   ``[{doi | url, relation?}]`` (relation default ``IsSupplementTo``)
``publisher``              default ``ODATIS``
``publication_year``       default: this year
``version``                default ``"1"``
``resource_type``          default ``Dataset`` (a DataCite resourceTypeGeneral)
``bbox``, ``time_range``   optional ``[W, S, E, N]`` and ``[start, end]`` (see :func:`from_dataset`)
``language``               optional, e.g. ``en``
=========================  ===============================================================================
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import idutils

SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
DEFAULT_PUBLISHER = "ODATIS"
DEFAULT_RELATION = "IsSupplementTo"

#: Prefixes whose DOIs are not registered anywhere resolvable (DataCite's test prefix, plus the
#: prefixes of local registrars created in this process): citations say so.
_UNREGISTERED_PREFIXES: set[str] = {"10.5072"}

#: Licences accepted for datasets: SPDX id -> (full name, canonical URL). Lower-case lookup.
LICENCES: dict[str, tuple[str, str]] = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0 International",
                  "https://creativecommons.org/licenses/by/4.0/legalcode"),
    "CC-BY-SA-4.0": ("Creative Commons Attribution Share Alike 4.0 International",
                     "https://creativecommons.org/licenses/by-sa/4.0/legalcode"),
    "CC-BY-NC-4.0": ("Creative Commons Attribution Non Commercial 4.0 International",
                     "https://creativecommons.org/licenses/by-nc/4.0/legalcode"),
    "CC-BY-NC-SA-4.0": ("Creative Commons Attribution Non Commercial Share Alike 4.0 International",
                        "https://creativecommons.org/licenses/by-nc-sa/4.0/legalcode"),
    "CC-BY-ND-4.0": ("Creative Commons Attribution No Derivatives 4.0 International",
                     "https://creativecommons.org/licenses/by-nd/4.0/legalcode"),
    "CC-BY-NC-ND-4.0": ("Creative Commons Attribution Non Commercial No Derivatives 4.0 International",
                        "https://creativecommons.org/licenses/by-nc-nd/4.0/legalcode"),
    "CC-BY-3.0": ("Creative Commons Attribution 3.0 Unported", "https://creativecommons.org/licenses/by/3.0/legalcode"),
    "CC0-1.0": ("Creative Commons Zero v1.0 Universal", "https://creativecommons.org/publicdomain/zero/1.0/legalcode"),
    "ODbL-1.0": ("Open Data Commons Open Database License v1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
    "ODC-By-1.0": ("Open Data Commons Attribution License v1.0", "https://opendatacommons.org/licenses/by/1-0/"),
    "PDDL-1.0": ("Open Data Commons Public Domain Dedication & License 1.0",
                 "https://opendatacommons.org/licenses/pddl/1-0/"),
    "etalab-2.0": ("Etalab Open License 2.0", "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf"),
    "MIT": ("MIT License", "https://opensource.org/license/mit/"),
    "Apache-2.0": ("Apache License 2.0", "https://www.apache.org/licenses/LICENSE-2.0"),
    "BSD-3-Clause": ("BSD 3-Clause \"New\" or \"Revised\" License", "https://opensource.org/license/bsd-3-clause/"),
}
_LICENCE_BY_LOWER = {k.lower(): k for k in LICENCES}

_RESOURCE_TYPES = ("Audiovisual", "Book", "BookChapter", "Collection", "ComputationalNotebook", "ConferencePaper",
                   "ConferenceProceeding", "DataPaper", "Dataset", "Dissertation", "Event", "Image", "Instrument",
                   "InteractiveResource", "Journal", "JournalArticle", "Model", "OutputManagementPlan", "PeerReview",
                   "PhysicalObject", "Preprint", "Report", "Service", "Software", "Sound", "Standard",
                   "StudyRegistration", "Text", "Workflow", "Other")
_RELATIONS = ("IsCitedBy", "Cites", "IsCollectedBy", "Collects", "IsSupplementTo", "IsSupplementedBy",
              "IsContinuedBy", "Continues", "IsDescribedBy", "Describes", "HasMetadata", "IsMetadataFor",
              "HasVersion", "IsVersionOf", "IsNewVersionOf", "IsPartOf", "IsPreviousVersionOf", "IsPublishedIn",
              "HasPart", "IsReferencedBy", "References", "IsDocumentedBy", "Documents", "IsCompiledBy", "Compiles",
              "IsVariantFormOf", "IsOriginalFormOf", "IsIdenticalTo", "IsReviewedBy", "Reviews", "IsDerivedFrom",
              "IsSourceOf", "IsRequiredBy", "Requires", "IsObsoletedBy", "Obsoletes")
_FIELDS = ("title", "creators", "licence", "keywords", "abstract", "funding", "related_publications", "publisher",
           "publication_year", "version", "resource_type", "bbox", "time_range", "language")
_ALIASES = {"license": "licence", "description": "abstract", "summary": "abstract", "year": "publication_year"}

#: File formats by extension (DataCite ``formats``, schema.org ``encodingFormat``).
_FORMATS = {".nc": "application/x-netcdf", ".nc4": "application/x-netcdf", ".cdf": "application/x-netcdf",
            ".zarr": "application/vnd.zarr", ".csv": "text/csv", ".json": "application/json",
            ".parquet": "application/vnd.apache.parquet", ".tif": "image/tiff", ".tiff": "image/tiff",
            ".txt": "text/plain", ".zip": "application/zip", ".ipynb": "application/x-ipynb+json"}


#: URL schemes worth a ``relatedIdentifier`` (resolvable outside this machine).
_PUBLIC_SCHEMES = ("http", "https", "ftp", "s3", "gs")


class MetadataError(ValueError):
    """The metadata is incomplete or wrong; ``problems`` lists each field and what to write.

    >>> try:
    ...     load_metadata({"title": "x"})
    ... except MetadataError as exc:
    ...     print(exc.problems[0])
    creators: missing; write a list such as `creators: [{name: "Family, Given", orcid: 0000-0002-1825-0097}]`
    """

    def __init__(self, problems: Sequence[str], source: str = "metadata"):
        self.problems = list(problems)
        self.source = source
        n = len(self.problems)
        super().__init__(f"{source}: {n} problem{'s' if n != 1 else ''} to fix:\n"
                         + "\n".join(f"  - {p}" for p in self.problems))


# ----------------------------------------------------------------------------- identifiers

def orcid_checksum_ok(orcid: str) -> bool:
    """True if ``orcid`` is an ORCID iD with a valid ISO 7064 11,2 check character (checked by ``idutils``).

    >>> orcid_checksum_ok("0000-0002-1825-0097"), orcid_checksum_ok("0000-0002-1825-0098")
    (True, False)
    """
    return bool(idutils.is_orcid(str(orcid).strip()))


def normalise_orcid(value: str) -> str:
    """``0000-0002-1825-0097`` from any usual spelling (URL, no dashes); ValueError if not an ORCID iD.

    >>> normalise_orcid("https://orcid.org/0000000218250097")
    '0000-0002-1825-0097'
    """
    s = str(value).strip()
    # idutils accepts the URL and bare forms; its checksum test tells a mistyped iD from a wrong shape
    bare = idutils.normalize_orcid(s).replace("-", "").upper() if idutils.is_url(s) or "orcid.org" in s.lower() else s
    bare = bare.replace("-", "").upper()
    if len(bare) != 16 or not bare[:15].isdigit() or not (bare[15].isdigit() or bare[15] == "X"):
        raise ValueError(f"{value!r} is not an ORCID iD; write 16 digits like 0000-0002-1825-0097")
    orcid = "-".join(bare[i:i + 4] for i in range(0, 16, 4))
    if not idutils.is_orcid(orcid):
        raise ValueError(f"{value!r} has a wrong check digit (last character); copy the iD from your ORCID record")
    return orcid


def normalise_ror(value: str) -> str:
    """``https://ror.org/0xxxxxxNN`` from a ROR id or URL; ValueError if not one (checked by ``idutils``).

    >>> normalise_ror("044jxhp58")
    'https://ror.org/044jxhp58'
    """
    s = str(value).strip()
    if not idutils.is_ror(s):
        raise ValueError(f"{value!r} is not a ROR id; write it like https://ror.org/044jxhp58 "
                         f"(search your institution on https://ror.org)")
    return f"https://ror.org/{idutils.normalize_ror(s).lower()}"


def normalise_doi(value: str) -> str:
    """``10.xxxx/suffix`` from a DOI, ``doi:`` or ``https://doi.org/`` form; ValueError if not a DOI (``idutils``).

    >>> normalise_doi("https://doi.org/10.17882/42182")
    '10.17882/42182'
    """
    s = str(value).strip()
    if not idutils.is_doi(s):
        raise ValueError(f"{value!r} is not a DOI; write it like 10.17882/42182")
    return idutils.normalize_doi(s)


def _is_http_url(value: str) -> bool:
    return bool(re.match(r"^https?://[^\s/]+\.[^\s]*$|^https?://(localhost|127\.0\.0\.1)(:\d+)?(/\S*)?$", str(value)))


def mark_unregistered_prefix(prefix: str) -> None:
    """Note that DOIs under ``prefix`` are local test identifiers (citations will say 'not registered')."""
    _UNREGISTERED_PREFIXES.add(str(prefix).strip())


def is_registered(doi: str) -> bool:
    """False for DOIs under a test prefix (10.5072) or a local registrar's prefix.

    >>> is_registered("10.17882/42182"), is_registered("10.5072/odatis.x")
    (True, False)
    """
    return str(doi).split("/", 1)[0] not in _UNREGISTERED_PREFIXES


# ----------------------------------------------------------------------------- user metadata

def _read(path_or_dict: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    if isinstance(path_or_dict, Mapping):
        return dict(path_or_dict), "metadata"
    import yaml

    path = Path(path_or_dict)
    if not path.is_file():
        raise MetadataError([f"file not found: {path}; write the metadata as YAML (see docs/publishing.md)"],
                            str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise MetadataError([f"not valid YAML{where}: {getattr(exc, 'problem', exc)}"], str(path)) from None
    if not isinstance(data, dict):
        raise MetadataError(["the file must be a YAML mapping (`title: ...`, `creators: ...`)"], str(path))
    return data, str(path)


def _text(v: Any) -> str:
    return " ".join(str(v).split()) if v is not None else ""


def _split_name(name: str) -> tuple[str | None, str | None]:
    """(given, family) of a personal name written ``Family, Given`` or ``Given Family``."""
    if "," in name:
        family, given = (x.strip() for x in name.split(",", 1))
        return (given or None), (family or None)
    parts = name.split()
    if len(parts) >= 2:
        return " ".join(parts[:-1]), parts[-1]
    return None, name


def _creator(i: int, raw: Any, problems: list[str]) -> dict[str, Any] | None:
    where = f"creators[{i}]"
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: write a mapping like `{{name: \"Family, Given\", orcid: 0000-0002-1825-0097}}`")
        return None
    unknown = set(raw) - {"name", "given_name", "family_name", "orcid", "affiliation", "affiliations", "type"}
    if unknown:
        problems.append(f"{where}: unknown key(s) {sorted(unknown)}; allowed: name, given_name, family_name, "
                        f"orcid, affiliation, type")
    given, family = _text(raw.get("given_name")) or None, _text(raw.get("family_name")) or None
    name = _text(raw.get("name"))
    if not name and family:
        name = f"{family}, {given}" if given else family
    if not name:
        problems.append(f"{where}.name: missing; write `name: \"Family, Given\"` (or the institution's name "
                        f"with `type: organization`)")
        return None
    ctype = str(raw.get("type") or "person").lower()
    if ctype not in ("person", "personal", "organization", "organisation", "organizational", "organisational"):
        problems.append(f"{where}.type: {raw.get('type')!r}; write `person` or `organization`")
    personal = ctype.startswith("person")
    out: dict[str, Any] = {"name": name, "type": "Personal" if personal else "Organizational"}
    if personal:
        g, f = _split_name(name)
        out["given_name"], out["family_name"] = given or g, family or f
        if out["given_name"] and out["family_name"] and "," not in name:
            out["name"] = f"{out['family_name']}, {out['given_name']}"
    if raw.get("orcid"):
        if not personal:
            problems.append(f"{where}.orcid: an ORCID iD belongs to a person; remove it or set `type: person`")
        try:
            out["orcid"] = normalise_orcid(raw["orcid"])
        except ValueError as exc:
            problems.append(f"{where}.orcid: {exc}")
    affs_raw = raw.get("affiliation", raw.get("affiliations"))
    affs: list[dict[str, str]] = []
    for j, a in enumerate(affs_raw if isinstance(affs_raw, list) else ([affs_raw] if affs_raw else [])):
        if isinstance(a, str):
            a = {"name": a}
        if not isinstance(a, Mapping) or not _text(a.get("name")):
            problems.append(f"{where}.affiliation[{j}]: write `affiliation: {{name: Ifremer, ror: https://ror.org/044jxhp58}}`")
            continue
        aff = {"name": _text(a["name"])}
        if a.get("ror"):
            try:
                aff["ror"] = normalise_ror(a["ror"])
            except ValueError as exc:
                problems.append(f"{where}.affiliation.ror: {exc}")
        affs.append(aff)
    out["affiliation"] = affs
    return out


def _licence(raw: Any, problems: list[str]) -> str | None:
    if not raw:
        problems.append("licence: missing; write an SPDX id such as `licence: CC-BY-4.0` (allowed: "
                        + ", ".join(LICENCES) + ")")
        return None
    key = _LICENCE_BY_LOWER.get(str(raw).strip().lower())
    if key is None:
        problems.append(f"licence: {raw!r} is not one of the accepted SPDX ids ({', '.join(LICENCES)}); "
                        f"write e.g. `licence: CC-BY-4.0`")
    return key


def _keywords(raw: Any, problems: list[str]) -> list[str]:
    if isinstance(raw, str):
        raw = [k for k in re.split(r"[,;]", raw)]
    if not isinstance(raw, list) or not [k for k in raw if _text(k)]:
        problems.append("keywords: missing; write a list such as `keywords: [sea surface temperature, Bay of Biscay]`")
        return []
    seen: list[str] = []
    for k in raw:
        k = _text(k)
        if k and k not in seen:
            seen.append(k)
    return seen


def _funding(raw: Any, problems: list[str]) -> list[dict[str, str]]:
    if raw in (None, [], ""):
        return []
    if not isinstance(raw, list):
        raw = [raw]
    out = []
    for i, f in enumerate(raw):
        if isinstance(f, str):
            f = {"funder": f}
        if not isinstance(f, Mapping) or not _text(f.get("funder")):
            problems.append(f"funding[{i}]: write `{{funder: Agence Nationale de la Recherche, "
                            f"funder_ror: https://ror.org/00rbzpz17, award: ANR-20-CE01-0001}}`")
            continue
        unknown = set(f) - {"funder", "funder_ror", "award", "award_title", "award_uri"}
        if unknown:
            problems.append(f"funding[{i}]: unknown key(s) {sorted(unknown)}; allowed: funder, funder_ror, award, "
                            f"award_title, award_uri")
        item = {"funder": _text(f["funder"])}
        if f.get("funder_ror"):
            try:
                item["funder_ror"] = normalise_ror(f["funder_ror"])
            except ValueError as exc:
                problems.append(f"funding[{i}].funder_ror: {exc}")
        for k in ("award", "award_title"):
            if f.get(k):
                item[k] = _text(f[k])
        if f.get("award_uri"):
            if _is_http_url(f["award_uri"]):
                item["award_uri"] = str(f["award_uri"]).strip()
            else:
                problems.append(f"funding[{i}].award_uri: {f['award_uri']!r} is not an http(s) URL")
        out.append(item)
    return out


def _related(raw: Any, problems: list[str]) -> list[dict[str, str]]:
    if raw in (None, [], ""):
        return []
    if not isinstance(raw, list):
        raw = [raw]
    out = []
    for i, r in enumerate(raw):
        if isinstance(r, str):
            r = {"doi": r} if not r.startswith("http") or "doi.org/" in r else {"url": r}
        if not isinstance(r, Mapping) or not (r.get("doi") or r.get("url")):
            problems.append(f"related_publications[{i}]: write `{{doi: 10.5194/os-19-1-2023, relation: IsSupplementTo}}` "
                            f"or `{{url: https://...}}`")
            continue
        rel = str(r.get("relation") or DEFAULT_RELATION)
        rel_ok = {x.lower(): x for x in _RELATIONS}.get(rel.lower())
        if rel_ok is None:
            problems.append(f"related_publications[{i}].relation: {rel!r} is not a DataCite relationType; use one of "
                            f"IsSupplementTo, IsCitedBy, IsReferencedBy, IsDocumentedBy, IsDescribedBy, References")
            continue
        item = {"relation": rel_ok}
        if r.get("doi"):
            try:
                item["doi"] = normalise_doi(r["doi"])
            except ValueError as exc:
                problems.append(f"related_publications[{i}].doi: {exc}")
                continue
        elif _is_http_url(r["url"]):
            item["url"] = str(r["url"]).strip()
        else:
            problems.append(f"related_publications[{i}].url: {r['url']!r} is not an http(s) URL")
            continue
        out.append(item)
    return out


def load_metadata(path_or_dict: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read, check and normalise the user's metadata (a YAML file or a dict).

    Every problem is collected, then one :class:`MetadataError` lists them all, each naming the
    field and what to write. Defaults: publisher ``ODATIS``, publication_year this year, version
    ``"1"``, resource_type ``Dataset``. The returned dict has exactly the keys of the table in the
    module docstring (creators normalised to ``{name, type, given_name?, family_name?, orcid?,
    affiliation: [{name, ror?}]}``).

    >>> md = load_metadata({"title": "T", "creators": ["Doe, Jane"], "licence": "cc-by-4.0",
    ...                     "keywords": "SST, Biscay", "abstract": "A."})
    >>> md["licence"], md["keywords"], md["creators"][0]["family_name"], md["version"]
    ('CC-BY-4.0', ['SST', 'Biscay'], 'Doe', '1')
    """
    data, source = _read(path_or_dict)
    data = {_ALIASES.get(k, k): v for k, v in data.items()}
    problems: list[str] = []
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        problems.append(f"unknown field(s) {unknown}; allowed: {', '.join(_FIELDS)}")
    md: dict[str, Any] = {}
    md["title"] = _text(data.get("title"))
    if not md["title"]:
        problems.append("title: missing; write `title: \"What the dataset is, where, when\"`")
    creators_raw = data.get("creators")
    if isinstance(creators_raw, (str, Mapping)):
        creators_raw = [creators_raw]
    if not creators_raw:
        problems.append("creators: missing; write a list such as "
                        "`creators: [{name: \"Family, Given\", orcid: 0000-0002-1825-0097}]`")
        creators_raw = []
    elif not isinstance(creators_raw, list):
        problems.append("creators: write a list of `{name, orcid?, affiliation?}`")
        creators_raw = []
    md["creators"] = [c for i, raw in enumerate(creators_raw) if (c := _creator(i, raw, problems))]
    md["licence"] = _licence(data.get("licence"), problems)
    md["keywords"] = _keywords(data.get("keywords"), problems)
    md["abstract"] = str(data.get("abstract") or "").strip()
    if not md["abstract"]:
        problems.append("abstract: missing; write a few sentences: what was measured or computed, where, when, how")
    md["funding"] = _funding(data.get("funding"), problems)
    md["related_publications"] = _related(data.get("related_publications"), problems)
    md["publisher"] = _text(data.get("publisher")) or DEFAULT_PUBLISHER
    year = data.get("publication_year") or _dt.date.today().year
    if not re.fullmatch(r"\d{4}", str(year)):
        problems.append(f"publication_year: {year!r}; write four digits, e.g. `publication_year: 2026`")
    md["publication_year"] = str(year)
    md["version"] = _text(data.get("version")) or "1"
    rtype = _text(data.get("resource_type")) or "Dataset"
    rt = {x.lower(): x for x in _RESOURCE_TYPES}.get(rtype.lower())
    if rt is None:
        problems.append(f"resource_type: {rtype!r}; use a DataCite resourceTypeGeneral such as Dataset, Collection, "
                        f"Model, Software")
    md["resource_type"] = rt or rtype
    md["bbox"] = _bbox(data.get("bbox"), problems)
    md["time_range"] = _time_range(data.get("time_range"), problems)
    md["language"] = _text(data.get("language")) or None
    if problems:
        raise MetadataError(problems, source)
    return md


def _bbox(raw: Any, problems: list[str]) -> list[float] | None:
    if raw in (None, [], ""):
        return None
    try:
        w, s, e, n = (float(x) for x in raw)
        if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
            raise ValueError
    except (TypeError, ValueError):
        problems.append(f"bbox: {raw!r}; write `[west, south, east, north]` in degrees, e.g. `[-10, 43, -1, 48]`")
        return None
    return [w, s, e, n]


def _time_range(raw: Any, problems: list[str]) -> list[str] | None:
    if raw in (None, [], ""):
        return None
    ok = isinstance(raw, (list, tuple)) and len(raw) == 2
    out: list[str] = []
    if ok:
        for t in raw:
            s = str(t).strip()
            if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?)?)?", s):
                ok = False
                break
            out.append(s.replace(" ", "T"))
    if not ok:
        problems.append(f"time_range: {raw!r}; write `[2023-01-01, 2023-12-31]` (ISO 8601 dates)")
        return None
    return out


def from_dataset(ds_or_path: Any) -> dict[str, Any]:
    """Metadata suggested by a dataset's ACDD attributes (title, abstract, keywords, licence, bbox, time).

    Merge it under what the user wrote: ``load_metadata({**from_dataset(ds), **user})``.

    >>> from odatis_vre import samples
    >>> sorted(from_dataset(samples.sst_dataset(days=2)))
    ['abstract', 'bbox', 'keywords', 'licence', 'time_range', 'title']
    """
    import xarray as xr

    own = not isinstance(ds_or_path, xr.Dataset)
    ds = xr.open_dataset(ds_or_path, engine="zarr" if str(ds_or_path).rstrip("/").endswith(".zarr") else None) \
        if own else ds_or_path
    try:
        a = ds.attrs
        out: dict[str, Any] = {}
        for src, dst in (("title", "title"), ("summary", "abstract"), ("license", "licence")):
            if a.get(src):
                out[dst] = str(a[src])
        if a.get("keywords"):
            out["keywords"] = [k.strip() for k in str(a["keywords"]).split(",") if k.strip()]
        keys = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
        if all(k in a for k in keys):
            out["bbox"] = [float(a[k]) for k in keys]
        if a.get("time_coverage_start") and a.get("time_coverage_end"):
            out["time_range"] = [str(a["time_coverage_start"]), str(a["time_coverage_end"])]
        return out
    finally:
        if own:
            ds.close()


# ----------------------------------------------------------------------------- DataCite

def software_version() -> str:
    """The installed ``odatis-vre`` version."""
    from . import __version__

    return __version__


def _fmt(name: str, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    n = name.rstrip("/").lower()
    return next((v for k, v in _FORMATS.items() if n.endswith(k)), "application/octet-stream")


def _human_size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    raise AssertionError


def datacite_attributes(md: Mapping[str, Any], *, doi: str | None, url: str | None = None, version: str | None = None,
                        files: Iterable[Mapping[str, Any]] = (), provenance: Iterable[Mapping[str, Any]] = (),
                        notebook: Mapping[str, Any] | None = None,
                        previous_version: str | None = None) -> dict[str, Any]:
    """DataCite REST API ``attributes`` (schema 4.5 JSON) for a deposit of ``md``.

    - ``doi``: the identifier (from a registrar's ``reserve``), or ``None`` before there is one
      (the attributes given to ``reserve``); ``url``: the landing page.
    - ``version``: the deposit's version (default ``md["version"]``).
    - ``files``: ``[{name, size (bytes), sha256?, format?}]`` → ``sizes`` and ``formats``.
    - ``provenance``: records of :func:`odatis_vre.provenance.opened` (``{name, title, doi, url}``):
      each becomes a ``relatedIdentifier`` ``IsDerivedFrom`` (its DOI, else its http(s)/ftp/s3
      URL; a local ``file://`` path is not published), and all are named in a ``Methods`` description.
    - ``notebook``: ``{path, sha256, url?}`` of the notebook that produced the data → a
      ``relatedItem`` (``ComputationalNotebook``, ``IsCompiledBy``) and a line in the description;
      the software ``odatis-vre <version>`` is a ``relatedItem`` (``Software``, ``IsCompiledBy``).
    - ``previous_version``: the DOI of the version this one replaces → ``IsNewVersionOf``.

    >>> md = load_metadata({"title": "T", "creators": ["Doe, Jane"], "licence": "CC0-1.0",
    ...                     "keywords": ["k"], "abstract": "A.", "publication_year": 2026})
    >>> a = datacite_attributes(md, doi="10.5072/odatis.x", provenance=[{"name": "argo", "doi": "10.17882/42182"}])
    >>> [(r["relationType"], r["relatedIdentifier"]) for r in a["relatedIdentifiers"]]
    [('IsDerivedFrom', '10.17882/42182')]
    """
    doi = normalise_doi(doi) if doi else None
    creators = []
    for c in md["creators"]:
        item: dict[str, Any] = {"name": c["name"], "nameType": c.get("type", "Personal")}
        if c.get("given_name"):
            item["givenName"] = c["given_name"]
        if c.get("family_name"):
            item["familyName"] = c["family_name"]
        if c.get("orcid"):
            item["nameIdentifiers"] = [{"nameIdentifier": f"https://orcid.org/{c['orcid']}",
                                        "nameIdentifierScheme": "ORCID", "schemeUri": "https://orcid.org"}]
        affs = []
        for a in c.get("affiliation") or []:
            aff = {"name": a["name"]}
            if a.get("ror"):
                aff.update(affiliationIdentifier=a["ror"], affiliationIdentifierScheme="ROR",
                           schemeUri="https://ror.org")
            affs.append(aff)
        if affs:
            item["affiliation"] = affs
        creators.append(item)

    related: list[dict[str, Any]] = []
    for p in md.get("related_publications") or []:
        ident, itype = (p["doi"], "DOI") if p.get("doi") else (p["url"], "URL")
        related.append({"relatedIdentifier": ident, "relatedIdentifierType": itype, "relationType": p["relation"]})
    if previous_version:
        related.append({"relatedIdentifier": normalise_doi(previous_version), "relatedIdentifierType": "DOI",
                        "relationType": "IsNewVersionOf"})
    inputs: list[str] = []
    for rec in provenance:
        label = rec.get("title") or rec.get("name") or "?"
        if rec.get("doi"):
            ident, itype = normalise_doi(rec["doi"]), "DOI"
        elif rec.get("url") and str(rec["url"]).split(":", 1)[0].lower() in _PUBLIC_SCHEMES:
            ident, itype = str(rec["url"]), "URL"
        else:
            # a local path (file://...) means nothing outside this machine: name the entry only
            inputs.append(f"{label} (catalogue entry {rec.get('name')}, no public identifier)")
            continue
        inputs.append(f"{label} ({'https://doi.org/' + ident if itype == 'DOI' else ident})")
        entry = {"relatedIdentifier": ident, "relatedIdentifierType": itype, "relationType": "IsDerivedFrom"}
        if entry not in related:
            related.append(entry)

    sw = f"odatis-vre {software_version()}"
    items: list[dict[str, Any]] = [{"relationType": "IsCompiledBy", "relatedItemType": "Software",
                                    "titles": [{"title": sw}], "edition": software_version()}]
    how = [f"Produced with {sw}."]
    if notebook:
        nb_title = str(notebook.get("path") or "notebook")
        nb: dict[str, Any] = {"relationType": "IsCompiledBy", "relatedItemType": "ComputationalNotebook",
                              "titles": [{"title": nb_title}]}
        if notebook.get("url"):
            nb["relatedItemIdentifier"] = {"relatedItemIdentifier": str(notebook["url"]),
                                           "relatedItemIdentifierType": "URL"}
        items.append(nb)
        how.append(f"Notebook: {nb_title}" + (f" (sha256 {notebook['sha256']})." if notebook.get("sha256") else "."))
    if inputs:
        how.append("Derived from: " + "; ".join(inputs) + ".")

    lic = md["licence"]
    lic_name, lic_url = LICENCES[lic]
    attrs: dict[str, Any] = {
        **({"doi": doi} if doi else {}),
        "creators": creators,
        "titles": [{"title": md["title"]}],
        "publisher": {"name": md.get("publisher") or DEFAULT_PUBLISHER},
        "publicationYear": str(md["publication_year"]),
        "types": {"resourceTypeGeneral": md.get("resource_type") or "Dataset",
                  "resourceType": md.get("resource_type") or "Dataset"},
        "subjects": [{"subject": k} for k in md.get("keywords") or []],
        "rightsList": [{"rights": lic_name, "rightsUri": lic_url, "rightsIdentifier": lic.lower(),
                        "rightsIdentifierScheme": "SPDX", "schemeUri": "https://spdx.org/licenses/"}],
        "descriptions": [{"description": md["abstract"], "descriptionType": "Abstract"},
                         {"description": " ".join(how), "descriptionType": "Methods"}],
        "version": str(version or md.get("version") or "1"),
        "relatedItems": items,
        "schemaVersion": SCHEMA_VERSION,
    }
    if url:
        attrs["url"] = url
    if related:
        attrs["relatedIdentifiers"] = related
    funding = []
    for f in md.get("funding") or []:
        ref: dict[str, Any] = {"funderName": f["funder"]}
        if f.get("funder_ror"):
            ref.update(funderIdentifier=f["funder_ror"], funderIdentifierType="ROR")
        if f.get("award"):
            ref["awardNumber"] = f["award"]
        if f.get("award_title"):
            ref["awardTitle"] = f["award_title"]
        if f.get("award_uri"):
            ref["awardUri"] = f["award_uri"]
        funding.append(ref)
    if funding:
        attrs["fundingReferences"] = funding
    files = list(files)
    if files:
        total = sum(int(f.get("size") or 0) for f in files)
        attrs["sizes"] = [f"{len(files)} file{'s' if len(files) != 1 else ''}", _human_size(total)]
        attrs["formats"] = sorted({_fmt(str(f.get("name", "")), f.get("format")) for f in files})
    if md.get("bbox"):
        w, s, e, n = md["bbox"]
        attrs["geoLocations"] = [{"geoLocationBox": {"westBoundLongitude": w, "eastBoundLongitude": e,
                                                     "southBoundLatitude": s, "northBoundLatitude": n}}]
    if md.get("time_range"):
        attrs["dates"] = [{"date": "/".join(md["time_range"]), "dateType": "Collected"}]
    if md.get("language"):
        attrs["language"] = md["language"]
    return attrs


def _validator() -> Any:
    """The ``datacite`` package's schema 4.5 validator, with URI formats checked too."""
    import importlib.resources as resources

    from jsonschema import FormatChecker
    from jsonschema.validators import validator_for

    global _VALIDATOR
    if _VALIDATOR is None:
        path = resources.files("datacite") / "schemas/datacite-v4.5.json"
        schema = json.loads(path.read_text(encoding="utf-8"))
        cls = validator_for(schema)
        _VALIDATOR = cls(schema, format_checker=FormatChecker(formats=["uri"]))
    return _VALIDATOR


_VALIDATOR: Any = None


def validate_datacite(attributes: Mapping[str, Any]) -> None:
    """Check DataCite ``attributes`` against schema 4.5 (``datacite`` package); MetadataError lists problems.

    The package's own check (``datacite.schema45.validate``) runs first; our validator over the
    same schema file then names each problem by its JSON path.

    >>> validate_datacite({"titles": [{"title": "x"}]})
    Traceback (most recent call last):
    ...
    odatis_vre.metadata.MetadataError: DataCite metadata: 5 problems to fix:
      - (top level): 'creators' is a required property
      - (top level): 'publicationYear' is a required property
      - (top level): 'publisher' is a required property
      - (top level): 'schemaVersion' is a required property
      - (top level): 'types' is a required property
    """
    from datacite import schema45

    data = dict(attributes)
    problems: list[str] = []
    for err in sorted(_validator().iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        problems.append(f"{where}: {err.message}")
    if not problems and not schema45.validate(data):
        problems.append("(top level): rejected by datacite.schema45.validate")
    doi = data.get("doi")
    if doi is not None and not (str(doi).startswith("10.") and idutils.is_doi(str(doi))):
        problems.append(f"doi: {doi!r} is not a DOI (10.prefix/suffix)")
    if data.get("url") is not None and not _is_http_url(str(data["url"])):
        problems.append(f"url: {data['url']!r} must be the http(s) URL of the landing page")
    if problems:
        raise MetadataError(problems, "DataCite metadata")


def datacite_xml(attributes: Mapping[str, Any]) -> str:
    """The DataCite 4.5 XML of ``attributes`` (what ``/dois/{doi}`` returns as ``xml``).

    >>> md = load_metadata({"title": "T", "creators": ["Doe, Jane"], "licence": "CC0-1.0",
    ...                     "keywords": ["k"], "abstract": "A.", "publication_year": 2026})
    >>> "<identifier identifierType=\\"DOI\\">10.5072/odatis.x</identifier>" in datacite_xml(
    ...     datacite_attributes(md, doi="10.5072/odatis.x"))
    True
    """
    from datacite import schema45

    data = {k: v for k, v in attributes.items() if k not in ("event", "url", "prefix", "suffix", "state")}
    return schema45.tostring(data)


# ----------------------------------------------------------------------------- rendering

def _initials(given: str) -> str:
    """``J.`` for Jane, ``J.-P.`` for Jean-Pierre, ``M. A.`` for Mary Ann."""
    words = given.split()
    return " ".join("-".join(p[0] + "." for p in w.split("-") if p) for w in words)


def _creator_short(c: Mapping[str, Any]) -> str:
    if c.get("nameType") == "Personal" and c.get("familyName"):
        return f"{c['familyName']}, {_initials(c['givenName'])}" if c.get("givenName") else c["familyName"]
    return str(c.get("name"))


def _publisher_name(attributes: Mapping[str, Any]) -> str:
    p = attributes.get("publisher")
    return str(p.get("name") if isinstance(p, Mapping) else p or "")


def _identifier_text(doi: str, registered: bool) -> str:
    if registered:
        return f"https://doi.org/{doi}"
    return f"doi:{doi} (local test identifier, NOT REGISTERED: it does not resolve)"


def citation(attributes: Mapping[str, Any], *, registered: bool | None = None) -> str:
    """DataCite's recommended citation: ``Creator (PublicationYear): Title. Version. Publisher. (resourceTypeGeneral). Identifier``.

    ``registered=None`` decides from the DOI prefix (see :func:`is_registered`); an unregistered
    identifier is shown as ``doi:...`` with a "NOT REGISTERED" note instead of a doi.org link.

    >>> a = {"creators": [{"name": "Doe, Jane", "nameType": "Personal", "givenName": "Jane", "familyName": "Doe"},
    ...                   {"name": "Ifremer", "nameType": "Organizational"}],
    ...      "publicationYear": "2026", "titles": [{"title": "SST"}], "version": "2",
    ...      "publisher": {"name": "ODATIS"}, "types": {"resourceTypeGeneral": "Dataset"}, "doi": "10.17882/1"}
    >>> citation(a)
    'Doe, J.; Ifremer (2026): SST. Version 2. ODATIS. (Dataset). https://doi.org/10.17882/1'
    """
    creators = "; ".join(_creator_short(c) for c in attributes.get("creators") or [])
    title = str((attributes.get("titles") or [{}])[0].get("title", "")).rstrip(".")
    parts = [f"{creators} ({attributes.get('publicationYear')}): {title}."]
    if attributes.get("version"):
        parts.append(f"Version {attributes['version']}.")
    parts.append(f"{_publisher_name(attributes)}.")
    rtg = (attributes.get("types") or {}).get("resourceTypeGeneral")
    if rtg:
        parts.append(f"({rtg}).")
    doi = attributes.get("doi")
    if doi:
        parts.append(_identifier_text(str(doi), is_registered(doi) if registered is None else registered))
    return " ".join(parts)


_BIBTEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                   "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(s: Any) -> str:
    return "".join(_BIBTEX_SPECIAL.get(ch, ch) for ch in str(s))


def bibtex_key(attributes: Mapping[str, Any]) -> str:
    """``family<year>_<doi suffix>`` in ASCII letters/digits, e.g. ``doe2026_odatis_x``."""
    first = (attributes.get("creators") or [{}])[0]
    base = first.get("familyName") or first.get("name") or "anon"
    base = unicodedata.normalize("NFKD", str(base)).encode("ascii", "ignore").decode()
    suffix = str(attributes.get("doi") or "").split("/", 1)[-1]
    key = f"{base}{attributes.get('publicationYear', '')}_{suffix}".lower()
    return re.sub(r"[^a-z0-9_]+", "_", key).strip("_")


def bibtex(attributes: Mapping[str, Any], *, registered: bool | None = None) -> str:
    """A BibTeX ``@misc`` entry (what DataCite's content negotiation gives for datasets).

    >>> a = {"creators": [{"name": "Doe, Jane", "nameType": "Personal", "givenName": "Jane", "familyName": "Doe"}],
    ...      "publicationYear": "2026", "titles": [{"title": "SST_2023 & more"}], "version": "1",
    ...      "publisher": {"name": "ODATIS"}, "types": {"resourceTypeGeneral": "Dataset"}, "doi": "10.17882/1"}
    >>> print(bibtex(a))
    @misc{doe2026_1,
      author = {Doe, Jane},
      title = {{SST\\_2023 \\& more}},
      year = {2026},
      publisher = {ODATIS},
      version = {1},
      doi = {10.17882/1},
      url = {https://doi.org/10.17882/1},
      note = {Dataset}
    }
    """
    authors = []
    for c in attributes.get("creators") or []:
        if c.get("nameType") == "Personal" and c.get("familyName"):
            authors.append(_tex(f"{c['familyName']}, {c['givenName']}" if c.get("givenName") else c["familyName"]))
        else:
            authors.append("{" + _tex(c.get("name")) + "}")  # braces: an institution is not "Family, Given"
    doi = str(attributes.get("doi") or "")
    reg = is_registered(doi) if registered is None else registered
    fields = [("author", " and ".join(authors)),
              ("title", "{" + _tex((attributes.get("titles") or [{}])[0].get("title", "")) + "}"),
              ("year", attributes.get("publicationYear")), ("publisher", _tex(_publisher_name(attributes))),
              ("version", attributes.get("version")), ("doi", doi or None),
              ("url", (f"https://doi.org/{doi}" if reg else attributes.get("url")) if doi else attributes.get("url")),
              ("note", (attributes.get("types") or {}).get("resourceTypeGeneral", "Dataset")
               + ("" if reg or not doi else "; local test identifier, not registered"))]
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
    return f"@misc{{{bibtex_key(attributes)},\n{body}\n}}"


def schema_org(attributes: Mapping[str, Any], files: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """A schema.org ``Dataset`` (JSON-LD) for the landing page's ``<script type="application/ld+json">``.

    ``files``: ``[{name, size, sha256?, url?, format?}]`` → ``distribution`` (``DataDownload``).

    >>> a = {"creators": [{"name": "Doe, Jane", "nameType": "Personal", "givenName": "Jane", "familyName": "Doe"}],
    ...      "publicationYear": "2026", "titles": [{"title": "SST"}], "publisher": {"name": "ODATIS"},
    ...      "types": {"resourceTypeGeneral": "Dataset"}, "doi": "10.17882/1"}
    >>> d = schema_org(a, [{"name": "sst.nc", "size": 10, "url": "https://x.org/sst.nc"}])
    >>> d["@type"], d["@id"], d["distribution"][0]["encodingFormat"]
    ('Dataset', 'https://doi.org/10.17882/1', 'application/x-netcdf')
    """
    doi = str(attributes.get("doi") or "")
    reg = is_registered(doi) if doi else False

    def person(c: Mapping[str, Any]) -> dict[str, Any]:
        p: dict[str, Any] = {"@type": "Person" if c.get("nameType") == "Personal" else "Organization",
                             "name": c.get("name")}
        if c.get("givenName"):
            p["givenName"] = c["givenName"]
        if c.get("familyName"):
            p["familyName"] = c["familyName"]
        for ni in c.get("nameIdentifiers") or []:
            p["@id"] = ni["nameIdentifier"]
        affs = []
        for a in c.get("affiliation") or []:
            org = {"@type": "Organization", "name": a["name"]}
            if a.get("affiliationIdentifier"):
                org["@id"] = a["affiliationIdentifier"]
            affs.append(org)
        if affs:
            p["affiliation"] = affs if len(affs) > 1 else affs[0]
        return p

    out: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": (attributes.get("titles") or [{}])[0].get("title"),
        "creator": [person(c) for c in attributes.get("creators") or []],
        "publisher": {"@type": "Organization", "name": _publisher_name(attributes)},
        "datePublished": str(attributes.get("publicationYear")),
    }
    if doi:
        out["@id"] = f"https://doi.org/{doi}" if reg else attributes.get("url") or f"doi:{doi}"
        out["identifier"] = {"@type": "PropertyValue", "propertyID": "DOI", "value": doi,
                             **({"url": f"https://doi.org/{doi}"} if reg else {})}
    if attributes.get("url"):
        out["url"] = attributes["url"]
    for d in attributes.get("descriptions") or []:
        if d.get("descriptionType") == "Abstract":
            out["description"] = d["description"]
    if attributes.get("version"):
        out["version"] = attributes["version"]
    if attributes.get("subjects"):
        out["keywords"] = [s["subject"] for s in attributes["subjects"]]
    rights = (attributes.get("rightsList") or [{}])[0]
    if rights.get("rightsUri"):
        out["license"] = rights["rightsUri"]
    based = [f"https://doi.org/{r['relatedIdentifier']}" if r["relatedIdentifierType"] == "DOI" else r["relatedIdentifier"]
             for r in attributes.get("relatedIdentifiers") or [] if r.get("relationType") == "IsDerivedFrom"]
    if based:
        out["isBasedOn"] = based
    cites = [f"https://doi.org/{r['relatedIdentifier']}" if r["relatedIdentifierType"] == "DOI" else r["relatedIdentifier"]
             for r in attributes.get("relatedIdentifiers") or [] if r.get("relationType") != "IsDerivedFrom"]
    if cites:
        out["citation"] = cites
    funders = []
    for f in attributes.get("fundingReferences") or []:
        grant: dict[str, Any] = {"@type": "MonetaryGrant",
                                 "funder": {"@type": "Organization", "name": f["funderName"],
                                            **({"@id": f["funderIdentifier"]} if f.get("funderIdentifier") else {})}}
        if f.get("awardNumber"):
            grant["identifier"] = f["awardNumber"]
        if f.get("awardTitle"):
            grant["name"] = f["awardTitle"]
        funders.append(grant)
    if funders:
        out["funding"] = funders
    for g in attributes.get("geoLocations") or []:
        box = g.get("geoLocationBox")
        if box:
            out["spatialCoverage"] = {"@type": "Place", "geo": {
                "@type": "GeoShape", "box": f"{box['southBoundLatitude']} {box['westBoundLongitude']} "
                                            f"{box['northBoundLatitude']} {box['eastBoundLongitude']}"}}
    for d in attributes.get("dates") or []:
        if d.get("dateType") == "Collected":
            out["temporalCoverage"] = d["date"]
    dist = []
    for f in files:
        item: dict[str, Any] = {"@type": "DataDownload", "name": f.get("name"),
                                "encodingFormat": _fmt(str(f.get("name", "")), f.get("format"))}
        if f.get("url"):
            item["contentUrl"] = f["url"]
        if f.get("size") is not None:
            item["contentSize"] = f"{int(f['size'])} B"
        if f.get("sha256"):
            item["sha256"] = f["sha256"]
        dist.append(item)
    if dist:
        out["distribution"] = dist
    if not reg and doi:
        out["disambiguatingDescription"] = "Local test identifier, not registered: the DOI does not resolve."
    return out


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file (notebooks, data files), read in blocks by :func:`pooch.file_hash`.

    ``chunk`` is kept for callers of the earlier signature; pooch reads in its own 64 KiB blocks.

    >>> import tempfile; f = tempfile.NamedTemporaryFile(); _ = f.write(b"abc"); f.flush()
    >>> sha256_file(f.name)[:16]
    'ba7816bf8f01cfea'
    """
    import pooch

    return pooch.file_hash(os.fspath(path), alg="sha256")
