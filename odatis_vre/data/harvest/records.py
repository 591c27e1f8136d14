"""One ISO record (ISO 19139 or ISO 19115-3, read by OWSLib) → one catalogue entry: title, abstract, keywords,
contacts, licence, DOI, box, period, every link; the link the VRE opens best gets a driver, or the entry keeps
its links and the reason it does not load (:class:`odatis_vre.data.drivers.LinkOnlySource`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence
from typing import Any

#: Sextant's CSW (GeoNetwork). The French-language path ``/srv/fre/csw`` is the one Sextant's help page
#: gives; GeoNetwork serves the same records under ``/srv/eng/csw`` (docs/catalogue.md).
SEXTANT_CSW = "https://sextant.ifremer.fr/geonetwork/srv/eng/csw"
GMD = "http://www.isotc211.org/2005/gmd"
MDB = "http://standards.iso.org/iso/19115/-3/mdb/2.0"
_GML32 = "http://www.opengis.net/gml/3.2"
#: the ISO record elements a CSW response may hold (ISO 19139 gmd/gmi, ISO 19115-3 mdb)
ISO_TAGS = (f"{{{GMD}}}MD_Metadata", "{http://www.isotc211.org/2005/gmi}MI_Metadata", f"{{{MDB}}}MD_Metadata")

_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)")
_NETCDF = re.compile(r"\.(nc|nc4|netcdf|cdf)$", re.I)
_ARCHIVE = re.compile(r"\.(zip|tar|tgz|gz|7z|rar|bz2)$", re.I)
_THEMES = (  # first match wins: the most specific groups first
    (
        "biology_imaging",
        (
            "biology",
            "biota",
            "plankton",
            "cytometry",
            "species",
            "benthic",
            "imaging",
            "images",
            "habitat",
            "fish",
            "mammal",
            "occurrence",
            "biodiversity",
            "taxon",
            "seabird",
        ),
    ),
    (
        "biogeochemistry",
        (
            "chlorophyll",
            "oxygen",
            "nutrient",
            "nitrate",
            "phosphate",
            "silicate",
            "carbon",
            "co2",
            "ph",
            "ocean colour",
            "ocean color",
            "biogeochemistry",
            "biogeochemical",
            "alkalinity",
        ),
    ),
    (
        "in_situ",
        (
            "argo",
            "float",
            "floats",
            "mooring",
            "moorings",
            "glider",
            "gliders",
            "ctd",
            "in situ",
            "in-situ",
            "buoy",
            "buoys",
            "profiles",
            "cruise",
            "tide gauge",
            "ferrybox",
            "drifter",
            "drifters",
            "oceansites",
        ),
    ),
    (
        "physics",
        (
            "temperature",
            "salinity",
            "current",
            "currents",
            "sea level",
            "waves",
            "altimetry",
            "sst",
            "bathymetry",
            "hydrodynamics",
            "climatology",
            "circulation",
            "sea surface height",
            "oceanography",
        ),
    ),
)
_THEME_RES = [(t, re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b")) for t, words in _THEMES]


@dataclasses.dataclass
class Mapped:
    """One record's outcome: an entry (``name``, ``entry``), or ``skip`` with the reason."""

    identifier: str | None
    modified: str | None
    name: str | None = None
    entry: dict[str, Any] | None = None
    skip: str | None = None


def entry_name(identifier: str, prefix: str = "sextant") -> str:
    """A stable catalogue name for a record identifier (letters, digits and ``_`` only).

    >>> entry_name("3c2f5a1e-0b9d-4f3a-9d8e-1a2b3c4d5e6f")
    'sextant_3c2f5a1e_0b9d_4f3a_9d8e_1a2b3c4d5e6f'
    """
    slug = re.sub(r"[^A-Za-z0-9]+", "_", identifier).strip("_").lower() or "record"
    if len(slug) > 64:  # long identifiers (URLs) keep a readable start and a hash of the whole
        slug = slug[:52] + "_" + hashlib.sha1(identifier.encode()).hexdigest()[:10]
    return f"{prefix}_{slug}"


def _text(*values: Any) -> str | None:
    for v in values:
        if isinstance(v, str) and v.strip():
            return " ".join(v.split())
    return None


def _float(v: Any) -> float | None:
    try:
        f = float(str(v).strip())
    except (TypeError, ValueError):
        return None
    return f if f == f else None


def _date(v: Any) -> str | None:
    """``YYYY-MM-DD`` of an ISO date or date-time, ``None`` if it is not one."""
    m = re.match(r"^\s*(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", str(v or ""))
    if not m:
        return None
    y, mo, d = m.group(1), m.group(2) or "01", m.group(3) or "01"
    try:
        import datetime as dt

        return dt.date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None


def _keywords(ident: Any) -> list[str]:
    out: list[str] = []
    for group in getattr(ident, "keywords", None) or []:
        for kw in getattr(group, "keywords", None) or []:
            name = getattr(kw, "name", kw)
            if isinstance(name, str) and name.strip() and name.strip() not in out:
                out.append(name.strip())
    for cat in getattr(ident, "topiccategory", None) or []:
        if isinstance(cat, str) and cat and cat not in out:
            out.append(cat)
    return out


def _party(p: Any) -> dict[str, str] | None:
    if p is None:
        return None
    out = {
        k: v
        for k, v in (
            ("organisation", _text(getattr(p, "organization", None))),
            ("name", _text(getattr(p, "name", None))),
            ("email", _text(getattr(p, "email", None))),
            ("role", _text(getattr(p, "role", None))),
        )
        if v
    }
    return out or None


def _contacts(md: Any, ident: Any) -> list[dict[str, str]]:
    parties = list(getattr(ident, "contact", None) or []) + list(getattr(md, "contact", None) or [])
    dist = getattr(md, "distribution", None)
    for d in getattr(dist, "distributor", None) or []:
        if getattr(d, "contact", None) is not None:
            c = _party(d.contact)
            if c is not None:
                parties.append(d.contact)
    out: list[dict[str, str]] = []
    for p in parties:
        c = _party(p)
        if c and c not in out:
            out.append(c)
    return out


def _online(md: Any) -> list[dict[str, str]]:
    dist = getattr(md, "distribution", None)
    resources = list(getattr(dist, "online", None) or [])
    for d in getattr(dist, "distributor", None) or []:
        resources += list(getattr(d, "online", None) or [])
    out: list[dict[str, str]] = []
    seen = set()
    for r in resources:
        url = _text(getattr(r, "url", None))
        if not url or url in seen:
            continue
        seen.add(url)
        out.append(
            {
                k: v
                for k, v in (
                    ("url", url),
                    ("protocol", _text(getattr(r, "protocol", None))),
                    ("name", _text(getattr(r, "name", None))),
                    ("description", _text(getattr(r, "description", None))),
                    ("function", _text(getattr(r, "function", None))),
                )
                if v
            }
        )
    return out


def _theme(text: str) -> str | None:
    low = text.lower()
    for theme, rx in _THEME_RES:
        if rx.search(low):
            return theme
    return None


def classify_link(link: dict[str, str], fmt: str = "") -> tuple[str, dict[str, Any]] | tuple[None, str]:
    """``(protocol, {"driver", "args", ...})`` for a link the VRE can open, else ``(None, reason)``.

    >>> classify_link({"url": "https://erddap.ifremer.fr/erddap/griddap/SDC_GLO_CLIM_TS_V2_2.html"})[1]["args"]["urlpath"]
    'https://erddap.ifremer.fr/erddap/griddap/SDC_GLO_CLIM_TS_V2_2'
    >>> classify_link({"url": "https://sextant.ifremer.fr/services/wms/dcsmm", "protocol": "OGC:WMS"})
    (None, 'an OGC WMS layer (map images, not data)')
    """
    url = link["url"]
    proto = (link.get("protocol") or "").upper()
    low = url.lower()
    path = low.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if low.startswith("ftp://") or "FTP" in proto:
        return None, "an FTP server (not opened by the VRE; download the files by hand)"
    if not low.startswith(("http://", "https://")):
        return None, f"a link the VRE does not follow ({url.split(':', 1)[0]}:)"
    m = re.search(r"^(.*/erddap)/(griddap|tabledap)/([A-Za-z0-9_\-]+)", url.split("?", 1)[0])
    if m:
        server, kind, dataset = m.group(1), m.group(2), m.group(3)
        if kind == "griddap":
            return "erddap-griddap", {
                "driver": "opendap",
                "args": {"urlpath": f"{server}/griddap/{dataset}", "engine": "netcdf4", "chunks": {}},
                "root": server,
            }
        return "erddap-tabledap", {
            "driver": "odatis_vre.data.drivers.ErddapTabledapSource",
            "args": {"server": server, "dataset_id": dataset},
            "root": server,
            "pushdown": True,
        }
    if path.endswith(("catalog.html", "catalog.xml")) and "thredds" in low:
        return None, "a THREDDS catalogue page (a list of datasets, not one dataset)"
    if "/dodsc/" in low or "/opendap/" in low or "OPENDAP" in proto or "DAP" == proto.split(":")[-1]:
        base = re.sub(r"\.(html|dds|das|dods|info)$", "", url.split("?", 1)[0])
        return "opendap", {"driver": "opendap", "args": {"urlpath": base, "engine": "netcdf4", "chunks": {}}}
    if path.endswith(".zarr") or "ZARR" in proto:
        return "zarr-http", {"driver": "zarr", "args": {"urlpath": url.split("?", 1)[0], "consolidated": True}}
    if "WMS" in proto or "service=wms" in low or "/wms" in path:
        return None, "an OGC WMS layer (map images, not data)"
    if "WFS" in proto or "service=wfs" in low or "/wfs" in path:
        return None, "an OGC WFS service (vector features; not opened by the VRE yet)"
    if "WCS" in proto or "service=wcs" in low:
        return None, "an OGC WCS service (not opened by the VRE yet)"
    doi = _DOI.search(url)
    if "seanoe.org" in low or (doi and doi.group(1).startswith("10.17882/")):
        record = re.search(r"seanoe\.org/data/\d+/(\d+)", low)
        ident = f"10.17882/{record.group(1)}" if record else (doi.group(1).rstrip(".,;)") if doi else None)
        if ident:
            pattern = "*.nc" if "netcdf" in fmt.lower() else ("*.csv" if "csv" in fmt.lower() else "*")
            return "seanoe", {
                "driver": "odatis_vre.data.drivers.SeanoeSource",
                "args": {"doi": ident, "file_pattern": pattern},
            }
    if _NETCDF.search(path):
        return "https-netcdf", {"driver": "netcdf", "args": {"urlpath": url.split("?", 1)[0], "chunks": {}}}
    if _ARCHIVE.search(path):
        return None, "an archive download (zip/tar: unpack it by hand; the VRE does not open archives)"
    if doi:
        return None, "a DOI landing page outside SEANOE (no data service behind it)"
    return None, "a web page (no data service the VRE can open)"


_LOADABLE_ORDER = ("opendap", "erddap-griddap", "erddap-tabledap", "zarr-http", "https-netcdf", "seanoe")


def _period(md: Any, ident: Any) -> tuple[str | None, str | None]:
    """``(start, end)`` of a record's temporal extent, as ``YYYY-MM-DD`` (``None`` when absent).

    ISO 19115-3 records use GML 3.2 (``http://www.opengis.net/gml/3.2``), which OWSLib's ``iso3``
    reader does not look for (it expects the GML namespace of ISO 19139): those are read here.
    """
    start = _date(getattr(ident, "temporalextent_start", None))
    end = _date(getattr(ident, "temporalextent_end", None))
    root = getattr(md, "md", None)
    if start is None and root is not None and getattr(root, "tag", "") == f"{{{MDB}}}MD_Metadata":
        ns = {"mdb": MDB, "gml": _GML32}
        period = root.find(
            "mdb:identificationInfo/*/{http://standards.iso.org/iso/19115/-3/mri/1.0}extent//gml:TimePeriod", ns
        )
        if period is not None:
            start = _date(period.findtext("gml:beginPosition", None, ns))
            end = _date(period.findtext("gml:endPosition", None, ns))
    return start, end


def _doi(*texts: Any) -> str | None:
    for t in texts:
        for piece in t if isinstance(t, (list, tuple)) else [t]:
            m = _DOI.search(str(piece or ""))
            if m:
                return m.group(1).rstrip(".,;)")
    return None


def _iso(md: Any) -> tuple[Any, Any]:
    """``(md, identification)`` for OWSLib's ISO 19139 and ISO 19115-3 objects alike."""
    ident = md.identification
    if isinstance(ident, list):
        ident = next((i for i in ident if i is not None), None)
    return md, ident


def entry_from_record(
    md: Any, *, prefix: str = "sextant", source: str = "sextant", endpoint: str = SEXTANT_CSW
) -> Mapped:
    """Map one OWSLib ISO record (``owslib.iso.MD_Metadata`` or ``owslib.iso3.MD_Metadata3``) to an entry.

    A record without identifier, title or identification is skipped (``Mapped.skip`` says why);
    missing box, period, licence or contacts leave those fields out (or say "not stated").

    >>> from owslib.iso import MD_Metadata
    >>> from lxml import etree
    >>> m = entry_from_record(MD_Metadata(etree.fromstring(
    ...     '<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"/>')))
    >>> m.skip
    'no fileIdentifier'
    """
    md, ident = _iso(md)
    identifier = _text(getattr(md, "identifier", None))
    modified = _text(getattr(md, "datestamp", None), getattr(md, "datetimestamp", None))
    if not identifier:
        return Mapped(None, modified, skip="no fileIdentifier")
    if ident is None:
        return Mapped(identifier, modified, skip="no identificationInfo (not a dataset description)")
    title = _text(getattr(ident, "title", None))
    if not title:
        return Mapped(identifier, modified, skip="no title")
    abstract = _text(getattr(ident, "abstract", None)) or ""
    keywords = _keywords(ident)
    contacts = _contacts(md, ident)
    links = _online(md)
    dist = getattr(md, "distribution", None)
    fmt = _text(getattr(dist, "format", None)) or ""
    doi = _doi(getattr(ident, "uricode", None), getattr(md, "dataseturi", None), [lk["url"] for lk in links])

    # who made it, who distributes it
    def org(roles: Sequence[str]) -> str | None:
        return next((c["organisation"] for c in contacts if c.get("organisation") and c.get("role") in roles), None)

    data_centre = (
        org(("distributor", "custodian", "publisher"))
        or org(("pointOfContact",))
        or next((c["organisation"] for c in contacts if c.get("organisation")), None)
    )
    producer = org(("originator", "principalInvestigator", "author", "owner", "resourceProvider")) or data_centre
    constraints = [
        c
        for c in [
            *(getattr(ident, "uselimitation", None) or []),
            *(getattr(ident, "otherconstraints", None) or []),
            *(getattr(ident, "useconstraints", None) or []),
            *(getattr(ident, "accessconstraints", None) or []),
        ]
        if isinstance(c, str) and c.strip() and c not in ("otherRestrictions",)
    ]
    licence = next(
        (c for c in constraints if re.search(r"licen[cs]e|cc[- ]by|creative commons|etalab|odbl", c, re.I)),
        constraints[0] if constraints else None,
    )

    md_out: dict[str, Any] = {"title": title}
    # the title and keywords say what a dataset is; an abstract also names what it is compared with
    theme = _theme(" ".join([title, " ".join(keywords)])) or _theme(abstract)
    if theme:
        md_out["theme"] = theme
    md_out["producer"] = producer or "not stated in the catalogue record"
    md_out["data_centre"] = data_centre or "not stated in the catalogue record"
    md_out["licence"] = (
        " ".join(licence.split()) if licence else "not stated in the catalogue record (ask the data centre)"
    )
    md_out["doi"] = doi
    # the GeoNetwork record page: <base>/geonetwork/srv/<lang>/catalog.search#/metadata/<uuid>
    record_page = re.sub(r"/csw[^/]*$", "", endpoint.rstrip("/")) + f"/catalog.search#/metadata/{identifier}"
    landing = (
        f"https://doi.org/{doi}"
        if doi
        else next((lk["url"] for lk in links if "LINK" in (lk.get("protocol") or "").upper()), record_page)
    )
    md_out["landing_page"] = landing
    # OWSLib gives CI_Date objects (publication, revision... dates of the resource)
    years = [d for d in (_date(getattr(x, "date", x)) for x in (getattr(ident, "date", None) or [])) if d]
    start, end = _period(md, ident)
    year = (years[0] if years else start or _date(modified) or "n.d.")[:4]
    md_out["citation"] = f"{md_out['producer']} ({year}). {title}. {md_out['data_centre']}. " + (
        f"https://doi.org/{doi}" if doi else landing
    )
    box = getattr(getattr(ident, "extent", None), "boundingBox", None) or getattr(ident, "bbox", None)
    if box is not None:
        w, s, e, n = (_float(getattr(box, k, None)) for k in ("minx", "miny", "maxx", "maxy"))
        if None not in (w, s, e, n) and -180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90:  # type: ignore[operator]
            md_out["bbox"] = [w, s, e, n]
    if start:
        md_out["time_range"] = [start, end if end and end >= start else None]
    if keywords:
        md_out["keywords"] = keywords
    if contacts:
        md_out["contacts"] = contacts
    if constraints:
        md_out["constraints"] = [" ".join(c.split()) for c in constraints]

    # the first link of the most direct protocol gets the driver; every link stays listed
    loadable: list[tuple[int, str, dict[str, Any], dict[str, str]]] = []
    reasons: list[str] = []
    for link in links:
        proto, info = classify_link(link, fmt)
        if proto is None:
            link["loadable"] = False
            link["reason"] = info  # type: ignore[assignment]
            reasons.append(info)  # type: ignore[arg-type]
        else:
            link["loadable"] = True  # type: ignore[assignment]
            loadable.append((_LOADABLE_ORDER.index(proto), proto, info, link))  # type: ignore[arg-type]
    if doi and doi.startswith("10.17882/") and not any(p == "seanoe" for _, p, _, _ in loadable):
        proto, info = classify_link({"url": f"https://doi.org/{doi}"}, fmt)
        if proto:
            loadable.append((_LOADABLE_ORDER.index(proto), proto, info, {"url": f"https://doi.org/{doi}"}))  # type: ignore[arg-type]
    md_out["links"] = links
    md_out["harvest"] = {"source": source, "identifier": identifier, "modified": modified, "endpoint": endpoint}
    entry: dict[str, Any] = {"description": abstract or title}
    if loadable:
        loadable.sort(key=lambda x: x[0])
        _, proto, info, link = loadable[0]
        entry["driver"] = info["driver"]
        entry["args"] = dict(info["args"])
        if info.get("pushdown"):  # a box and a period go to the server, as for the curated ERDDAP entries
            entry["parameters"] = {
                **{
                    k: {"description": f"{k} bound (degrees)", "type": "float", "default": None}
                    for k in ("west", "south", "east", "north")
                },
                **{
                    k: {"description": f"{k} of the period (ISO date)", "type": "str", "default": ""}
                    for k in ("start", "end")
                },
            }
            entry["args"].update({k: "{{ " + k + " }}" for k in ("west", "south", "east", "north", "start", "end")})
        md_out["access"] = {"protocol": proto, "login": False, "url": link["url"]}
        if info.get("root"):
            md_out["access"]["root"] = info["root"]
        if fmt:
            md_out["access"]["format"] = fmt
    else:
        reason = reasons[0] if reasons else "the record lists no online resource"
        first = links[0]["url"] if links else None
        entry["driver"] = "odatis_vre.data.drivers.LinkOnlySource"
        entry["args"] = {"url": first, "reason": reason}
        md_out["access"] = {"protocol": "link", "login": False, "reason": reason, **({"url": first} if first else {})}
    entry["metadata"] = md_out
    return Mapped(identifier, modified, name=entry_name(identifier, prefix), entry=entry)


def parse_record(elem: Any) -> Any:
    """The OWSLib object of one ISO record element (ISO 19139 ``gmd``/``gmi`` or ISO 19115-3 ``mdb``)."""
    if elem.tag == f"{{{MDB}}}MD_Metadata":
        from owslib.iso3 import MD_Metadata as MD_Metadata3

        return MD_Metadata3(elem)
    from owslib.iso import MD_Metadata

    return MD_Metadata(elem)


def map_element(elem: Any, **kwargs: Any) -> Mapped:
    """:func:`entry_from_record` on a raw XML element; a record OWSLib cannot read is skipped with the reason."""
    ident = None
    try:
        ident = _identifier_of(elem)
        return entry_from_record(parse_record(elem), **kwargs)
    except Exception as exc:  # one malformed record must not stop the harvest: it is reported
        return Mapped(ident, None, skip=f"unreadable ISO record ({type(exc).__name__}: {str(exc)[:120]})")


def _identifier_of(elem: Any) -> str | None:
    """The record identifier of an ISO 19139 (``gmd:fileIdentifier``) or ISO 19115-3
    (``mdb:metadataIdentifier``) element, read without OWSLib (to name a record OWSLib cannot read)."""
    node = elem.find(f"{{{GMD}}}fileIdentifier/{{http://www.isotc211.org/2005/gco}}CharacterString")
    if node is None:
        node = elem.find(
            f"{{{MDB}}}metadataIdentifier/{{http://standards.iso.org/iso/19115/-3/mcc/1.0}}MD_Identifier/"
            "{http://standards.iso.org/iso/19115/-3/mcc/1.0}code/"
            "{http://standards.iso.org/iso/19115/-3/gco/1.0}CharacterString"
        )
    return node.text.strip() if node is not None and node.text and node.text.strip() else None
