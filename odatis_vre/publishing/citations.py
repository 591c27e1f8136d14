"""Citation formats of a deposit's DataCite attributes: DataCite's recommended citation, BibTeX, schema.org JSON-LD.

Each takes the ``attributes`` of :func:`odatis_vre.publishing.datacite_record.datacite_attributes`. A DOI under a test
prefix (10.5072) or a ``local`` registrar's prefix is cited as not registered, never as a doi.org link.
(Also importable from :mod:`odatis_vre.publishing.metadata`, where they were first.)

Example
-------
>>> from odatis_vre.publishing.datacite_record import datacite_attributes
>>> from odatis_vre.publishing.metadata import load_metadata
>>> md = load_metadata({"title": "SST anomalies, Bay of Biscay, 2023", "creators": [
...     {"name": "Carberry, Josiah", "orcid": "0000-0002-1825-0097"}], "licence": "CC-BY-4.0",
...     "keywords": ["sea surface temperature"], "abstract": "Daily SST anomalies.", "publication_year": 2026})
>>> print(citation(datacite_attributes(md, doi="10.5072/odatis.abcd-1234"), registered=True))
Carberry, J. (2026): SST anomalies, Bay of Biscay, 2023. Version 1. ODATIS. (Dataset). https://doi.org/10.5072/odatis.abcd-1234
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from .metadata import CF_STANDARD_NAMES_URI, _fmt, is_registered


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


_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


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
    fields = [
        ("author", " and ".join(authors)),
        ("title", "{" + _tex((attributes.get("titles") or [{}])[0].get("title", "")) + "}"),
        ("year", attributes.get("publicationYear")),
        ("publisher", _tex(_publisher_name(attributes))),
        ("version", attributes.get("version")),
        ("doi", doi or None),
        ("url", (f"https://doi.org/{doi}" if reg else attributes.get("url")) if doi else attributes.get("url")),
        (
            "note",
            (attributes.get("types") or {}).get("resourceTypeGeneral", "Dataset")
            + ("" if reg or not doi else "; local test identifier, not registered"),
        ),
    ]
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
    return f"@misc{{{bibtex_key(attributes)},\n{body}\n}}"


def schema_org(
    attributes: Mapping[str, Any], files: Iterable[Mapping[str, Any]] = (), facts: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A schema.org ``Dataset`` (JSON-LD) for the landing page's ``<script type="application/ld+json">``.

    ``files``: ``[{name, size, sha256?, url?, format?}]`` → ``distribution`` (``DataDownload``);
    ``facts`` (:func:`odatis_vre.publishing.datafacts.describe`) → ``variableMeasured`` (name, CF standard name,
    units) and the spatial/temporal coverage the data hold.

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
        p: dict[str, Any] = {
            "@type": "Person" if c.get("nameType") == "Personal" else "Organization",
            "name": c.get("name"),
        }
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
        out["identifier"] = {
            "@type": "PropertyValue",
            "propertyID": "DOI",
            "value": doi,
            **({"url": f"https://doi.org/{doi}"} if reg else {}),
        }
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
    based = [
        f"https://doi.org/{r['relatedIdentifier']}" if r["relatedIdentifierType"] == "DOI" else r["relatedIdentifier"]
        for r in attributes.get("relatedIdentifiers") or []
        if r.get("relationType") == "IsDerivedFrom"
    ]
    if based:
        out["isBasedOn"] = based
    cites = [
        f"https://doi.org/{r['relatedIdentifier']}" if r["relatedIdentifierType"] == "DOI" else r["relatedIdentifier"]
        for r in attributes.get("relatedIdentifiers") or []
        if r.get("relationType") != "IsDerivedFrom"
    ]
    if cites:
        out["citation"] = cites
    funders = []
    for f in attributes.get("fundingReferences") or []:
        grant: dict[str, Any] = {
            "@type": "MonetaryGrant",
            "funder": {
                "@type": "Organization",
                "name": f["funderName"],
                **({"@id": f["funderIdentifier"]} if f.get("funderIdentifier") else {}),
            },
        }
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
            out["spatialCoverage"] = {
                "@type": "Place",
                "geo": {
                    "@type": "GeoShape",
                    "box": f"{box['southBoundLatitude']} {box['westBoundLongitude']} "
                    f"{box['northBoundLatitude']} {box['eastBoundLongitude']}",
                },
            }
    for d in attributes.get("dates") or []:
        if d.get("dateType") == "Collected":
            out["temporalCoverage"] = d["date"]
    variables = []
    for v in (facts or {}).get("variables") or []:
        pv: dict[str, Any] = {"@type": "PropertyValue", "name": v["name"]}
        if v.get("standard_name"):
            pv["propertyID"] = f"{CF_STANDARD_NAMES_URI}#{v['standard_name']}"
            pv["alternateName"] = v["standard_name"]
        if v.get("long_name"):
            pv["description"] = v["long_name"]
        if v.get("units"):
            pv["unitText"] = v["units"]
        variables.append(pv)
    if variables:
        out["variableMeasured"] = variables
    geo = (facts or {}).get("geospatial")
    if geo and geo.get("bounds"):
        out.setdefault("spatialCoverage", {"@type": "Place", "geo": {}})["additionalProperty"] = {
            "@type": "PropertyValue",
            "propertyID": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            "name": "WKT",
            "value": geo["bounds"],
        }
    dist = []
    for f in files:
        item: dict[str, Any] = {
            "@type": "DataDownload",
            "name": f.get("name"),
            "encodingFormat": _fmt(str(f.get("name", "")), f.get("format")),
        }
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


__all__ = ["citation", "bibtex", "bibtex_key", "schema_org"]
