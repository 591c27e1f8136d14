"""Dataset metadata for publication: what the researcher writes, checked; identifiers; facts suggested.

A researcher writes a short YAML file (or dict); :func:`load_metadata` checks and normalises it (every
problem at once, each naming the field and what to write; identifiers with ``idutils``);
:func:`from_dataset` suggests fields from a dataset. The DataCite record built from it lives in
:mod:`odatis_vre.publishing.datacite_record` (:func:`datacite_attributes`, :func:`validate_datacite`,
:func:`datacite_xml`), its renderings in :mod:`odatis_vre.publishing.citations` (:func:`citation`, :func:`bibtex`,
:func:`schema_org`); those names stay importable from here too.

Example
-------
>>> from odatis_vre.publishing.metadata import citation, datacite_attributes, validate_datacite
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
``platform``, ``instrument``  optional: a name, or ``{name, vocabulary}`` (e.g. GCMD Platforms); written as ACDD
                           ``platform``/``instrument`` (and ``*_vocabulary``) in the deposited NetCDF
``program``                optional: the programme the dataset belongs to (ACDD ``program``)
=========================  ===============================================================================

A creator may also give ``email`` (ACDD ``creator_email`` in the deposited file).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .licences import LICENCES

SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
ORCID_RE = re.compile(r"^(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$")
ROR_RE = re.compile(r"^0[0-9a-hjkmnp-tv-z]{6}\d{2}$")
DEFAULT_PUBLISHER = "ODATIS"
DEFAULT_RELATION = "IsSupplementTo"
CF_STANDARD_NAMES_URI = "https://cfconventions.org/Data/cf-standard-names/current/build/cf-standard-name-table.html"

#: Prefixes whose DOIs are not registered anywhere resolvable (DataCite's test prefix, plus the
#: prefixes of local registrars created in this process): citations say so.
_UNREGISTERED_PREFIXES: set[str] = {"10.5072"}

_LICENCE_BY_LOWER = {k.lower(): k for k in LICENCES}

_RESOURCE_TYPES = (
    "Audiovisual",
    "Book",
    "BookChapter",
    "Collection",
    "ComputationalNotebook",
    "ConferencePaper",
    "ConferenceProceeding",
    "DataPaper",
    "Dataset",
    "Dissertation",
    "Event",
    "Image",
    "Instrument",
    "InteractiveResource",
    "Journal",
    "JournalArticle",
    "Model",
    "OutputManagementPlan",
    "PeerReview",
    "PhysicalObject",
    "Preprint",
    "Report",
    "Service",
    "Software",
    "Sound",
    "Standard",
    "StudyRegistration",
    "Text",
    "Workflow",
    "Other",
)
_RELATIONS = (
    "IsCitedBy",
    "Cites",
    "IsCollectedBy",
    "Collects",
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
    "IsPartOf",
    "IsPreviousVersionOf",
    "IsPublishedIn",
    "HasPart",
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
)
_FIELDS = (
    "title",
    "creators",
    "licence",
    "keywords",
    "abstract",
    "funding",
    "related_publications",
    "publisher",
    "publication_year",
    "version",
    "resource_type",
    "bbox",
    "time_range",
    "language",
    "platform",
    "instrument",
    "program",
)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ALIASES = {"license": "licence", "description": "abstract", "summary": "abstract", "year": "publication_year"}

#: File formats by extension (DataCite ``formats``, schema.org ``encodingFormat``).
_FORMATS = {
    ".nc": "application/x-netcdf",
    ".nc4": "application/x-netcdf",
    ".cdf": "application/x-netcdf",
    ".zarr": "application/vnd.zarr",
    ".csv": "text/csv",
    ".json": "application/json",
    ".parquet": "application/vnd.apache.parquet",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".txt": "text/plain",
    ".zip": "application/zip",
    ".ipynb": "application/x-ipynb+json",
}


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
        super().__init__(
            f"{source}: {n} problem{'s' if n != 1 else ''} to fix:\n" + "\n".join(f"  - {p}" for p in self.problems)
        )


# ----------------------------------------------------------------------------- identifiers


def orcid_checksum_ok(orcid: str) -> bool:
    """True if the 16-character ORCID iD has a valid ISO 7064 11,2 check character (``idutils``).

    >>> orcid_checksum_ok("0000-0002-1825-0097"), orcid_checksum_ok("0000-0002-1825-0098")
    (True, False)
    """
    import idutils

    return bool(idutils.is_orcid(orcid))


def normalise_orcid(value: str) -> str:
    """``0000-0002-1825-0097`` from any usual spelling (URL, no dashes); ValueError if not an ORCID iD.

    >>> normalise_orcid("https://orcid.org/0000000218250097")
    '0000-0002-1825-0097'
    """
    import idutils

    s = str(value).strip()
    s = s[:-1] + s[-1:].upper()  # the check character X may be written x
    if idutils.is_orcid(s):
        return idutils.normalize_orcid(s)
    bare = re.sub(r"^(https?://)?(www\.)?orcid\.org/", "", s, flags=re.I)
    if ORCID_RE.match(bare.upper()):  # the shape of an iD, but idutils refuses its check character
        raise ValueError(f"{value!r} has a wrong check digit (last character); copy the iD from your ORCID record")
    raise ValueError(f"{value!r} is not an ORCID iD; write 16 digits like 0000-0002-1825-0097")


def normalise_ror(value: str) -> str:
    """``https://ror.org/0xxxxxxNN`` from a ROR id or URL; ValueError if not one (``idutils``).

    >>> normalise_ror("044jxhp58")
    'https://ror.org/044jxhp58'
    """
    import idutils

    s = str(value).strip()
    if not idutils.is_ror(s):
        raise ValueError(
            f"{value!r} is not a ROR id; write it like https://ror.org/044jxhp58 "
            f"(search your institution on https://ror.org)"
        )
    return f"https://ror.org/{idutils.normalize_ror(s).lower()}"


def normalise_doi(value: str) -> str:
    """``10.xxxx/suffix`` from a DOI, ``doi:`` or ``https://doi.org/`` form; ValueError if not a DOI (``idutils``,
    and a registrant code of 4 to 9 digits as DataCite requires).

    >>> normalise_doi("https://doi.org/10.17882/42182")
    '10.17882/42182'
    """
    import idutils

    s = str(value).strip()
    doi = idutils.normalize_doi(s) if idutils.is_doi(s) else None
    if not doi or not DOI_RE.match(doi):
        raise ValueError(f"{value!r} is not a DOI; write it like 10.17882/42182")
    return doi


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
        raise MetadataError([f"file not found: {path}; write the metadata as YAML (see docs/publishing.md)"], str(path))
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
        problems.append(f'{where}: write a mapping like `{{name: "Family, Given", orcid: 0000-0002-1825-0097}}`')
        return None
    unknown = set(raw) - {"name", "given_name", "family_name", "orcid", "affiliation", "affiliations", "type", "email"}
    if unknown:
        problems.append(
            f"{where}: unknown key(s) {sorted(unknown)}; allowed: name, given_name, family_name, "
            f"orcid, affiliation, type, email"
        )
    given, family = _text(raw.get("given_name")) or None, _text(raw.get("family_name")) or None
    name = _text(raw.get("name"))
    if not name and family:
        name = f"{family}, {given}" if given else family
    if not name:
        problems.append(
            f'{where}.name: missing; write `name: "Family, Given"` (or the institution\'s name '
            f"with `type: organization`)"
        )
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
    if raw.get("email"):
        email = _text(raw["email"])
        if EMAIL_RE.match(email):
            out["email"] = email
        else:
            problems.append(
                f"{where}.email: {raw['email']!r} is not an e-mail address; write e.g. "
                f"`email: josiah.carberry@example.org`"
            )
    affs_raw = raw.get("affiliation", raw.get("affiliations"))
    affs: list[dict[str, str]] = []
    for j, a in enumerate(affs_raw if isinstance(affs_raw, list) else ([affs_raw] if affs_raw else [])):
        if isinstance(a, str):
            a = {"name": a}
        if not isinstance(a, Mapping) or not _text(a.get("name")):
            problems.append(
                f"{where}.affiliation[{j}]: write `affiliation: {{name: Ifremer, ror: https://ror.org/044jxhp58}}`"
            )
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
        problems.append(
            "licence: missing; write an SPDX id such as `licence: CC-BY-4.0` (allowed: " + ", ".join(LICENCES) + ")"
        )
        return None
    key = _LICENCE_BY_LOWER.get(str(raw).strip().lower())
    if key is None:
        problems.append(
            f"licence: {raw!r} is not one of the accepted SPDX ids ({', '.join(LICENCES)}); "
            f"write e.g. `licence: CC-BY-4.0`"
        )
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
            problems.append(
                f"funding[{i}]: write `{{funder: Agence Nationale de la Recherche, "
                f"funder_ror: https://ror.org/00rbzpz17, award: ANR-20-CE01-0001}}`"
            )
            continue
        unknown = set(f) - {"funder", "funder_ror", "award", "award_title", "award_uri"}
        if unknown:
            problems.append(
                f"funding[{i}]: unknown key(s) {sorted(unknown)}; allowed: funder, funder_ror, award, "
                f"award_title, award_uri"
            )
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
            problems.append(
                f"related_publications[{i}]: write `{{doi: 10.5194/os-19-1-2023, relation: IsSupplementTo}}` "
                f"or `{{url: https://...}}`"
            )
            continue
        rel = str(r.get("relation") or DEFAULT_RELATION)
        rel_ok = {x.lower(): x for x in _RELATIONS}.get(rel.lower())
        if rel_ok is None:
            problems.append(
                f"related_publications[{i}].relation: {rel!r} is not a DataCite relationType; use one of "
                f"IsSupplementTo, IsCitedBy, IsReferencedBy, IsDocumentedBy, IsDescribedBy, References"
            )
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
        problems.append('title: missing; write `title: "What the dataset is, where, when"`')
    creators_raw = data.get("creators")
    if isinstance(creators_raw, (str, Mapping)):
        creators_raw = [creators_raw]
    if not creators_raw:
        problems.append(
            'creators: missing; write a list such as `creators: [{name: "Family, Given", orcid: 0000-0002-1825-0097}]`'
        )
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
        problems.append(
            f"resource_type: {rtype!r}; use a DataCite resourceTypeGeneral such as Dataset, Collection, Model, Software"
        )
    md["resource_type"] = rt or rtype
    md["bbox"] = _bbox(data.get("bbox"), problems)
    md["time_range"] = _time_range(data.get("time_range"), problems)
    md["language"] = _text(data.get("language")) or None
    for key in ("platform", "instrument"):
        md[key] = _vocab_term(key, data.get(key), problems)
    md["program"] = _text(data.get("program")) or None
    if problems:
        raise MetadataError(problems, source)
    return md


def _vocab_term(key: str, raw: Any, problems: list[str]) -> dict[str, str] | None:
    """``platform``/``instrument``: a name, or ``{name, vocabulary}``."""
    if raw in (None, "", {}):
        return None
    if isinstance(raw, str):
        return {"name": _text(raw)}
    if isinstance(raw, Mapping) and _text(raw.get("name")) and set(raw) <= {"name", "vocabulary"}:
        out = {"name": _text(raw["name"])}
        if raw.get("vocabulary"):
            out["vocabulary"] = _text(raw["vocabulary"])
        return out
    problems.append(f"{key}: write a name (`{key}: Metop-B`) or `{key}: {{name: ..., vocabulary: GCMD ...}}`")
    return None


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
    """Metadata suggested by a dataset: title, abstract, keywords, licence, platform and instrument from its
    ACDD attributes; box and period **computed from its coordinates** (:mod:`odatis_vre.publishing.datafacts`), never
    copied from ``geospatial_*``/``time_coverage_*`` attributes, which may describe the source it was cut from.

    Merge it under what the user wrote: ``load_metadata({**from_dataset(ds), **user})``.

    >>> from odatis_vre import samples
    >>> sorted(from_dataset(samples.sst_dataset(days=2)))
    ['abstract', 'bbox', 'keywords', 'licence', 'time_range', 'title']
    """
    import xarray as xr

    from . import datafacts

    own = not isinstance(ds_or_path, xr.Dataset)
    ds = (
        xr.open_dataset(ds_or_path, engine="zarr" if str(ds_or_path).rstrip("/").endswith(".zarr") else None)
        if own
        else ds_or_path
    )
    try:
        a = ds.attrs
        out: dict[str, Any] = {}
        for src, dst in (("title", "title"), ("summary", "abstract"), ("license", "licence")):
            if a.get(src):
                out[dst] = str(a[src])
        if a.get("keywords"):
            out["keywords"] = [k.strip() for k in str(a["keywords"]).split(",") if k.strip()]
        for key in ("platform", "instrument"):
            if a.get(key):
                out[key] = {"name": str(a[key])} | (
                    {"vocabulary": str(a[f"{key}_vocabulary"])} if a.get(f"{key}_vocabulary") else {}
                )
        facts = datafacts.describe(ds)
        geo, time = facts["geospatial"], facts["time"]
        if geo:
            out["bbox"] = [geo["lon_min"], geo["lat_min"], geo["lon_max"], geo["lat_max"]]
        if time:
            out["time_range"] = [time["start"], time["end"]]
        return out
    finally:
        if own:
            ds.close()


# ----------------------------------------------------------------------------- helpers of the DataCite record


def software_version() -> str:
    """The installed ``odatis-vre`` version."""
    from .. import __version__

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


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (notebooks, data files)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


#: Names that live in :mod:`odatis_vre.publishing.datacite_record` and :mod:`odatis_vre.publishing.citations` and stay importable from
#: here (``metadata.datacite_attributes``...), loaded on first use: those modules import this one.
_MOVED = {
    "datacite_attributes": "datacite_record",
    "validate_datacite": "datacite_record",
    "datacite_xml": "datacite_record",
    "citation": "citations",
    "bibtex": "citations",
    "bibtex_key": "citations",
    "schema_org": "citations",
}


def __getattr__(name: str) -> Any:
    """``metadata.datacite_attributes`` and the other names of :data:`_MOVED`, from their own modules."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"{__package__}.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MOVED))
