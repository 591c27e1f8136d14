"""DataCite records of deposits: the REST API ``attributes`` (schema 4.5 JSON), their validation, their XML.

:func:`datacite_attributes` turns checked user metadata (:func:`odatis_vre.publishing.metadata.load_metadata`) into
DataCite ``attributes`` with the provenance of the dataset and the facts computed from its data;
:func:`validate_datacite` checks them with the schema shipped in the ``datacite`` package before anything
is sent to a registrar; :func:`datacite_xml` serialises them. (Also importable from
:mod:`odatis_vre.publishing.metadata`, where they were first.)

Example
-------
>>> from odatis_vre.publishing.metadata import load_metadata
>>> md = load_metadata({"title": "T", "creators": ["Doe, Jane"], "licence": "CC0-1.0", "keywords": ["k"],
...                     "abstract": "A.", "publication_year": 2026})
>>> attrs = datacite_attributes(md, doi="10.5072/odatis.x", url="https://vre.example.org/datasets/x/v1")
>>> validate_datacite(attrs)
>>> attrs["rightsList"][0]["rightsIdentifier"]
'cc0-1.0'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .metadata import (
    _PUBLIC_SCHEMES,
    CF_STANDARD_NAMES_URI,
    DEFAULT_PUBLISHER,
    DOI_RE,
    LICENCES,
    SCHEMA_VERSION,
    MetadataError,
    _fmt,
    _human_size,
    _is_http_url,
    load_metadata,  # noqa: F401  (the doctests' examples start from checked metadata)
    normalise_doi,
    software_version,
)


def datacite_attributes(
    md: Mapping[str, Any],
    *,
    doi: str | None,
    url: str | None = None,
    version: str | None = None,
    files: Iterable[Mapping[str, Any]] = (),
    provenance: Iterable[Mapping[str, Any]] = (),
    notebook: Mapping[str, Any] | None = None,
    previous_version: str | None = None,
    facts: Mapping[str, Any] | None = None,
    concept: str | None = None,
    versions: Sequence[str] = (),
) -> dict[str, Any]:
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
    - ``facts``: :func:`odatis_vre.publishing.datafacts.describe` of the deposited data → ``dates`` (Collected:
      first/last time), ``geoLocations`` (the box the coordinates span), ``sizes`` (dimensions),
      ``subjects`` (each CF standard name, scheme "CF Standard Names"). Without facts, the user's
      ``bbox``/``time_range`` are used.
    - ``concept``: the concept DOI over all versions → ``IsVersionOf``; ``versions``: for the concept's
      own record, the DOIs of its versions → ``HasVersion``.

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
            item["nameIdentifiers"] = [
                {
                    "nameIdentifier": f"https://orcid.org/{c['orcid']}",
                    "nameIdentifierScheme": "ORCID",
                    "schemeUri": "https://orcid.org",
                }
            ]
        affs = []
        for a in c.get("affiliation") or []:
            aff = {"name": a["name"]}
            if a.get("ror"):
                aff.update(
                    affiliationIdentifier=a["ror"], affiliationIdentifierScheme="ROR", schemeUri="https://ror.org"
                )
            affs.append(aff)
        if affs:
            item["affiliation"] = affs
        creators.append(item)

    related: list[dict[str, Any]] = []
    for p in md.get("related_publications") or []:
        ident, itype = (p["doi"], "DOI") if p.get("doi") else (p["url"], "URL")
        related.append({"relatedIdentifier": ident, "relatedIdentifierType": itype, "relationType": p["relation"]})
    if previous_version:
        related.append(
            {
                "relatedIdentifier": normalise_doi(previous_version),
                "relatedIdentifierType": "DOI",
                "relationType": "IsNewVersionOf",
            }
        )
    if concept:
        related.append(
            {"relatedIdentifier": normalise_doi(concept), "relatedIdentifierType": "DOI", "relationType": "IsVersionOf"}
        )
    for vdoi in versions:
        related.append(
            {"relatedIdentifier": normalise_doi(vdoi), "relatedIdentifierType": "DOI", "relationType": "HasVersion"}
        )
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
    items: list[dict[str, Any]] = [
        {
            "relationType": "IsCompiledBy",
            "relatedItemType": "Software",
            "titles": [{"title": sw}],
            "edition": software_version(),
        }
    ]
    how = [f"Produced with {sw}."]
    if notebook:
        nb_title = str(notebook.get("path") or "notebook")
        nb: dict[str, Any] = {
            "relationType": "IsCompiledBy",
            "relatedItemType": "ComputationalNotebook",
            "titles": [{"title": nb_title}],
        }
        if notebook.get("url"):
            nb["relatedItemIdentifier"] = {
                "relatedItemIdentifier": str(notebook["url"]),
                "relatedItemIdentifierType": "URL",
            }
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
        "types": {
            "resourceTypeGeneral": md.get("resource_type") or "Dataset",
            "resourceType": md.get("resource_type") or "Dataset",
        },
        "subjects": [{"subject": k} for k in md.get("keywords") or []],
        "rightsList": [
            {
                "rights": lic_name,
                "rightsUri": lic_url,
                "rightsIdentifier": lic.lower(),
                "rightsIdentifierScheme": "SPDX",
                "schemeUri": "https://spdx.org/licenses/",
            }
        ],
        "descriptions": [
            {"description": md["abstract"], "descriptionType": "Abstract"},
            {"description": " ".join(how), "descriptionType": "Methods"},
        ],
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
    sizes: list[str] = []
    formats: set[str] = set()
    if files:
        total = sum(int(f.get("size") or 0) for f in files)
        sizes += [f"{len(files)} file{'s' if len(files) != 1 else ''}", _human_size(total)]
        formats |= {_fmt(str(f.get("name", "")), f.get("format")) for f in files}
    geo = (facts or {}).get("geospatial")
    time = (facts or {}).get("time")
    if facts:
        dims = facts.get("dims") or {}
        if dims:
            sizes.append(" × ".join(f"{n} {d}" for d, n in dims.items()) + f" ({facts.get('values', 0)} values)")
        standard = sorted({v["standard_name"] for v in facts.get("variables") or [] if v.get("standard_name")})
        attrs["subjects"] += [
            {"subject": n, "subjectScheme": "CF Standard Names", "schemeUri": CF_STANDARD_NAMES_URI} for n in standard
        ]
    if sizes:
        attrs["sizes"] = sizes
    if formats:
        attrs["formats"] = sorted(formats)
    box = [geo["lon_min"], geo["lat_min"], geo["lon_max"], geo["lat_max"]] if geo else md.get("bbox")
    if box:
        w, s, e, n = box
        attrs["geoLocations"] = [
            {
                "geoLocationBox": {
                    "westBoundLongitude": w,
                    "eastBoundLongitude": e,
                    "southBoundLatitude": s,
                    "northBoundLatitude": n,
                }
            }
        ]
    period = [time["start"], time["end"]] if time else md.get("time_range")
    if period:
        attrs["dates"] = [{"date": "/".join(period), "dateType": "Collected"}]
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
    odatis_vre.publishing.metadata.MetadataError: DataCite metadata: 5 problems to fix:
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
    if doi is not None and not DOI_RE.match(str(doi)):
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


__all__ = ["datacite_attributes", "validate_datacite", "datacite_xml"]
