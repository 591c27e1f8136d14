"""An OAI-PMH 2.0 data provider for the published versions (``oai_dc`` and ``oai_datacite``, sets per community).

Harvesters (Sextant/GeoNetwork, DataCite, OpenAIRE) call ``GET|POST <repository>/oai?verb=...``. Every
published version is one item, ``oai:<host>:<id>.v<n>``, datestamped when it was published; it belongs
to the set ``community`` and to ``community:<theme>`` (``physics``, ``biogeochemistry``, ``in_situ``,
``biology_imaging``: the ODATIS communities of the catalogue). Drafts are never disseminated.

Formats:

- ``oai_dc``: unqualified Dublin Core (the protocol's mandatory format);
- ``oai_datacite``: the DataCite kernel-4 ``<resource>`` (schema 4.5) as registered with the DOI, the
  form the OpenAIRE Guidelines for Data Archives and DataCite's own provider use.

Lists are paged by a ``resumptionToken`` (stateless: it encodes the request and the offset).

>>> xml = respond({"verb": "Identify"}, Provider(base_url="https://vre.example.org/oai", name="ODATIS",
...               email="data@example.org", earliest="2026-01-01T00:00:00Z", records=lambda: []))
>>> b"<repositoryName>ODATIS</repositoryName>" in xml
True
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DATACITE_NS = "http://datacite.org/schema/kernel-4"
FORMATS = {
    "oai_dc": (OAI_DC_NS, "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"),
    "oai_datacite": (DATACITE_NS, "http://schema.datacite.org/meta/kernel-4.5/metadata.xsd"),
}
COMMUNITIES = {
    "physics": "Ocean physics",
    "biogeochemistry": "Marine biogeochemistry",
    "in_situ": "In situ observations",
    "biology_imaging": "Marine biology and imaging",
}
PAGE = 100
_ARGS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
}


@dataclass
class Record:
    """One published version as the provider sees it."""

    identifier: str  # <id>.v<n>
    datestamp: str  # when it was published (UTC, seconds)
    theme: str
    attributes: Mapping[str, Any]  # its DataCite attributes (schema 4.5 JSON)


@dataclass
class Provider:
    """What the endpoint needs: its URL, the repository's name and contact, and its published records."""

    base_url: str
    name: str
    email: str | None
    earliest: str
    records: Callable[[], Sequence[Record]]

    @property
    def host(self) -> str:
        from urllib.parse import urlparse

        return urlparse(self.base_url).hostname or "localhost"

    def oai_id(self, local: str) -> str:
        return f"oai:{self.host}:{local}"


class OAIError(Exception):
    """An OAI-PMH error condition (answered with HTTP 200 and ``<error code=...>``, as the protocol says)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _utc(value: str) -> str:
    """``2026-01-02T10:00:00Z`` from any ISO 8601 time."""
    t = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bound(value: str, arg: str, end: bool) -> str:
    """A ``from``/``until`` argument at the seconds granularity (a bare day covers the whole day)."""
    import re

    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value + ("T23:59:59Z" if end else "T00:00:00Z")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", value):
        return value
    raise OAIError("badArgument", f"{arg}={value!r}: write a UTC date YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")


def _token(args: Mapping[str, str], offset: int) -> str:
    raw = json.dumps(
        {k: args[k] for k in ("verb", "metadataPrefix", "from", "until", "set") if k in args} | {"offset": offset},
        sort_keys=True,
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _untoken(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, dict) or not isinstance(data.get("offset"), int):
            raise ValueError
        return data
    except ValueError:
        raise OAIError(
            "badResumptionToken",
            "the resumptionToken is not one this repository issued; start the list again without it",
        ) from None


def _checked(params: Mapping[str, Sequence[str] | str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for k, v in params.items():
        values = [v] if isinstance(v, str) else list(v)
        if len(values) != 1:
            raise OAIError("badArgument", f"argument {k!r} is repeated; give it once")
        args[k] = values[0]
    verb = args.get("verb")
    if verb not in _ARGS:
        raise OAIError(
            "badVerb",
            f"verb {verb!r} is not an OAI-PMH verb; use one of {', '.join(_ARGS)}"
            if verb
            else "the verb argument is missing; add verb=Identify (or another OAI-PMH verb)",
        )
    required, optional = _ARGS[verb]
    given = set(args) - {"verb"}
    if "resumptionToken" in given and given != {"resumptionToken"}:
        raise OAIError("badArgument", "resumptionToken is exclusive: send it alone with the verb")
    unknown = given - required - optional
    if unknown:
        raise OAIError("badArgument", f"{verb} does not take {', '.join(sorted(unknown))}")
    if "resumptionToken" not in given and required - given:
        raise OAIError("badArgument", f"{verb} needs {', '.join(sorted(required - given))}")
    return args


def respond(params: Mapping[str, Sequence[str] | str], provider: Provider, *, page: int = PAGE) -> bytes:
    """The OAI-PMH XML answer to a request's arguments (query string or form body)."""
    root = etree.Element(_q(OAI_NS, "OAI-PMH"), nsmap={None: OAI_NS, "xsi": XSI})
    root.set(_q(XSI, "schemaLocation"), f"{OAI_NS} {OAI_SCHEMA}")
    etree.SubElement(root, _q(OAI_NS, "responseDate")).text = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    request = etree.SubElement(root, _q(OAI_NS, "request"))
    request.text = provider.base_url
    try:
        args = _checked(params)
        for k, v in args.items():
            request.set(k, v)
        verb = args["verb"]
        {
            "Identify": _identify,
            "ListMetadataFormats": _formats,
            "ListSets": _sets,
            "ListIdentifiers": _list,
            "ListRecords": _list,
            "GetRecord": _get,
        }[verb](root, args, provider, page)
    except OAIError as exc:
        if exc.code in ("badVerb", "badArgument"):
            request.attrib.clear()  # the protocol: no attributes echoed for these errors
        err = etree.SubElement(root, _q(OAI_NS, "error"), code=exc.code)
        err.text = str(exc)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _identify(root: Any, args: Mapping[str, str], p: Provider, page: int) -> None:
    el = etree.SubElement(root, _q(OAI_NS, "Identify"))
    for tag, text in (("repositoryName", p.name), ("baseURL", p.base_url), ("protocolVersion", "2.0")):
        etree.SubElement(el, _q(OAI_NS, tag)).text = text
    if p.email:
        etree.SubElement(el, _q(OAI_NS, "adminEmail")).text = p.email
    for tag, text in (
        ("earliestDatestamp", p.earliest),
        ("deletedRecord", "no"),
        ("granularity", "YYYY-MM-DDThh:mm:ssZ"),
    ):
        etree.SubElement(el, _q(OAI_NS, tag)).text = text


def _formats(root: Any, args: Mapping[str, str], p: Provider, page: int) -> None:
    if "identifier" in args:
        _find(args["identifier"], p)
    el = etree.SubElement(root, _q(OAI_NS, "ListMetadataFormats"))
    for prefix, (ns, schema) in FORMATS.items():
        f = etree.SubElement(el, _q(OAI_NS, "metadataFormat"))
        etree.SubElement(f, _q(OAI_NS, "metadataPrefix")).text = prefix
        etree.SubElement(f, _q(OAI_NS, "schema")).text = schema
        etree.SubElement(f, _q(OAI_NS, "metadataNamespace")).text = ns


def _sets(root: Any, args: Mapping[str, str], p: Provider, page: int) -> None:
    if "resumptionToken" in args:
        raise OAIError("badResumptionToken", "ListSets is never paged: ask again without a resumptionToken")
    el = etree.SubElement(root, _q(OAI_NS, "ListSets"))
    for spec, name in [("community", "ODATIS communities")] + [(f"community:{k}", v) for k, v in COMMUNITIES.items()]:
        s = etree.SubElement(el, _q(OAI_NS, "set"))
        etree.SubElement(s, _q(OAI_NS, "setSpec")).text = spec
        etree.SubElement(s, _q(OAI_NS, "setName")).text = name


def _set_specs(r: Record) -> list[str]:
    return ["community", f"community:{r.theme}"]


def _find(identifier: str, p: Provider) -> Record:
    prefix = f"oai:{p.host}:"
    local = identifier[len(prefix) :] if identifier.startswith(prefix) else None
    for r in p.records():
        if r.identifier == local:
            return r
    raise OAIError(
        "idDoesNotExist",
        f"{identifier!r} is not an item of this repository (identifiers look like "
        f"{prefix}<id>.v<n>; ListIdentifiers lists them)",
    )


def _header(parent: Any, r: Record, p: Provider) -> None:
    h = etree.SubElement(parent, _q(OAI_NS, "header"))
    etree.SubElement(h, _q(OAI_NS, "identifier")).text = p.oai_id(r.identifier)
    etree.SubElement(h, _q(OAI_NS, "datestamp")).text = _utc(r.datestamp)
    for spec in _set_specs(r):
        etree.SubElement(h, _q(OAI_NS, "setSpec")).text = spec


def _record(parent: Any, r: Record, prefix: str, p: Provider) -> None:
    rec = etree.SubElement(parent, _q(OAI_NS, "record"))
    _header(rec, r, p)
    md = etree.SubElement(rec, _q(OAI_NS, "metadata"))
    md.append(oai_dc(r.attributes) if prefix == "oai_dc" else oai_datacite(r.attributes))


def _get(root: Any, args: Mapping[str, str], p: Provider, page: int) -> None:
    if args["metadataPrefix"] not in FORMATS:
        raise OAIError(
            "cannotDisseminateFormat", f"metadataPrefix {args['metadataPrefix']!r}: use {' or '.join(FORMATS)}"
        )
    r = _find(args["identifier"], p)
    _record(etree.SubElement(root, _q(OAI_NS, "GetRecord")), r, args["metadataPrefix"], p)


def _list(root: Any, args: Mapping[str, str], p: Provider, page: int) -> None:
    offset = 0
    if "resumptionToken" in args:
        state = _untoken(args["resumptionToken"])
        if state.get("verb") != args["verb"]:
            raise OAIError(
                "badResumptionToken", f"this resumptionToken belongs to {state.get('verb')}, not {args['verb']}"
            )
        offset = state["offset"]
        args = {**{k: v for k, v in state.items() if k != "offset"}, "verb": args["verb"]}
    prefix = args["metadataPrefix"]
    if prefix not in FORMATS:
        raise OAIError("cannotDisseminateFormat", f"metadataPrefix {prefix!r}: use {' or '.join(FORMATS)}")
    lo = _bound(args["from"], "from", False) if args.get("from") else None
    hi = _bound(args["until"], "until", True) if args.get("until") else None
    if lo and hi and lo > hi:
        raise OAIError("badArgument", f"from={args['from']} is after until={args['until']}")
    wanted = args.get("set")
    if wanted and wanted not in ["community"] + [f"community:{k}" for k in COMMUNITIES]:
        raise OAIError("badArgument", f"set {wanted!r} does not exist here; ListSets lists the sets")
    hits = sorted(
        (
            r
            for r in p.records()
            if (not lo or _utc(r.datestamp) >= lo)
            and (not hi or _utc(r.datestamp) <= hi)
            and (not wanted or wanted in _set_specs(r))
        ),
        key=lambda r: (_utc(r.datestamp), r.identifier),
    )
    if not hits:
        raise OAIError("noRecordsMatch", "no published dataset matches these arguments")
    if offset > len(hits):
        raise OAIError("badResumptionToken", "the list changed since this resumptionToken was issued; start again")
    el = etree.SubElement(root, _q(OAI_NS, args["verb"]))
    for r in hits[offset : offset + page]:
        if args["verb"] == "ListIdentifiers":
            _header(el, r, p)
        else:
            _record(el, r, prefix, p)
    if len(hits) > page:
        tok = etree.SubElement(el, _q(OAI_NS, "resumptionToken"), completeListSize=str(len(hits)), cursor=str(offset))
        if offset + page < len(hits):
            tok.text = _token(args, offset + page)


# ----------------------------------------------------------------------------- metadata formats


def oai_datacite(attributes: Mapping[str, Any]) -> Any:
    """The DataCite kernel-4 ``<resource>`` of a record (the ``datacite`` package's 4.5 serializer)."""
    from .. import metadata

    return etree.fromstring(metadata.datacite_xml(attributes).encode("utf-8"))


def oai_dc(attributes: Mapping[str, Any]) -> Any:
    """Unqualified Dublin Core of a record, mapped from its DataCite attributes (DataCite's own DC mapping)."""
    el = etree.Element(_q(OAI_DC_NS, "dc"), nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI})
    el.set(_q(XSI, "schemaLocation"), f"{OAI_DC_NS} {FORMATS['oai_dc'][1]}")

    def add(tag: str, text: Any) -> None:
        if text not in (None, ""):
            etree.SubElement(el, _q(DC_NS, tag)).text = str(text)

    for t in attributes.get("titles") or []:
        add("title", t.get("title"))
    for c in attributes.get("creators") or []:
        add("creator", c.get("name"))
    for s in attributes.get("subjects") or []:
        add("subject", s.get("subject"))
    for d in attributes.get("descriptions") or []:
        add("description", d.get("description"))
    pub = attributes.get("publisher")
    add("publisher", pub.get("name") if isinstance(pub, Mapping) else pub)
    add("date", attributes.get("publicationYear"))
    for d in attributes.get("dates") or []:
        add("date", d.get("date"))
    add("type", (attributes.get("types") or {}).get("resourceTypeGeneral"))
    for f in attributes.get("formats") or []:
        add("format", f)
    if attributes.get("doi"):
        add("identifier", f"https://doi.org/{attributes['doi']}")
    add("identifier", attributes.get("url"))
    for r in attributes.get("relatedIdentifiers") or []:
        ident = r["relatedIdentifier"]
        add("relation", f"https://doi.org/{ident}" if r.get("relatedIdentifierType") == "DOI" else ident)
    for g in attributes.get("geoLocations") or []:
        box = g.get("geoLocationBox")
        if box:
            add(
                "coverage",
                f"westlimit={box['westBoundLongitude']}; southlimit={box['southBoundLatitude']}; "
                f"eastlimit={box['eastBoundLongitude']}; northlimit={box['northBoundLatitude']}",
            )
    for r in attributes.get("rightsList") or []:
        add("rights", r.get("rightsUri") or r.get("rights"))
    add("language", attributes.get("language"))
    return el
