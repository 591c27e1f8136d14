"""A stand-in for Sextant's catalogue service: an OGC CSW 2.0.2 server of ISO records, on loopback.

Follows OGC 07-006r1 (CSW 2.0.2, HTTP binding) and its ISO Application Profile (OGC 07-045):

- ``GET ?service=CSW&request=GetCapabilities`` → ``csw:Capabilities`` (operations, queryables, filter capabilities);
- ``POST`` a ``csw:GetRecords`` document (what OWSLib sends) or ``GET ...&request=GetRecords`` (KVP):
  ``resultType`` ``hits``/``results``, ``startPosition`` (1-based), ``maxRecords``, ``outputSchema``
  ``http://www.isotc211.org/2005/gmd`` (ISO 19139 ``gmd:MD_Metadata``),
  ``http://standards.iso.org/iso/19115/-3/mdb/2.0`` (ISO 19115-3 ``mdb:MD_Metadata``, as GeoNetwork 4
  serves the records it holds in that standard: ``mdb``/``cit`` 2.0 namespaces, GML 3.2) or the CSW default
  (``csw:SummaryRecord``/``csw:Record`` in Dublin Core), ``ElementSetName`` ``brief``/``summary``/``full``,
  an OGC Filter 1.1 ``Constraint`` (``And``, ``Or``, ``Not``, ``PropertyIsEqualTo``, ``PropertyIsNotEqualTo``,
  ``PropertyIsLike``, ``PropertyIs{Greater,Less}Than[OrEqualTo]`` on the queryables ``AnyText``, ``Subject``,
  ``Title``, ``Abstract``, ``Identifier``, ``Modified``, ``Type``, ``OrganisationName``; a ``CqlText``
  constraint is answered with ``OperationNotSupported``), ``SortBy`` on ``Identifier``/``Modified``/``Title``;
  the answer's ``csw:SearchResults`` carries ``numberOfRecordsMatched``, ``numberOfRecordsReturned`` and
  ``nextRecord`` (0 after the last page);
- ``GetRecordById`` (``id``, ``outputSchema``);
- errors as ``ows:ExceptionReport`` (``MissingParameterValue``, ``InvalidParameterValue``,
  ``OperationNotSupported``, ``NoApplicableCode``) with HTTP 400.

The records are generated (deterministically) from templates shaped like the pole's: Coriolis Argo
profiles on ERDDAP tabledap, SeaDataNet climatologies on ERDDAP griddap, OceanSITES moorings on
THREDDS OPeNDAP, SEANOE datasets with their DOIs, Sextant map layers (WMS/WFS only), Argo float files
over HTTP, Zarr stores, zipped shapefiles, AVISO products on FTP; with records missing fields (no box,
no period, no abstract, no licence, no link), broken ones (no identifier, no identificationInfo,
a box or date that is not a number or a date, no title), duplicate identifiers, and records that are
not the pole's (no ``ODATIS`` keyword: the harvest filter leaves them out).

Test hooks: :meth:`CswStandin.touch` changes a record's ``dateStamp`` (an edit in GeoNetwork),
:meth:`CswStandin.fail_at` makes the ``GetRecords`` page starting at a position fail (HTTP 500 or a
page of broken XML), ``requests`` logs every request (time, User-Agent, start position, output schema).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import fnmatch
import random
import re
import socket
import threading
import time
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from lxml import etree

NS = {
    "csw": "http://www.opengis.net/cat/csw/2.0.2",
    "ogc": "http://www.opengis.net/ogc",
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "gml": "http://www.opengis.net/gml",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "ows": "http://www.opengis.net/ows",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dct": "http://purl.org/dc/terms/",
    "xlink": "http://www.w3.org/1999/xlink",
}
GMD = NS["gmd"]
CSW = NS["csw"]
#: ISO 19115-3 (``mdb:MD_Metadata``, the 2.0 namespaces GeoNetwork 4 writes; GML 3.2 as the XML schemas import)
MDB = "http://standards.iso.org/iso/19115/-3/mdb/2.0"
NS3 = {
    "mdb": MDB,
    "cit": "http://standards.iso.org/iso/19115/-3/cit/2.0",
    "mcc": "http://standards.iso.org/iso/19115/-3/mcc/1.0",
    "mri": "http://standards.iso.org/iso/19115/-3/mri/1.0",
    "mco": "http://standards.iso.org/iso/19115/-3/mco/1.0",
    "mrd": "http://standards.iso.org/iso/19115/-3/mrd/1.0",
    "gex": "http://standards.iso.org/iso/19115/-3/gex/1.0",
    "lan": "http://standards.iso.org/iso/19115/-3/lan/1.0",
    "gco": "http://standards.iso.org/iso/19115/-3/gco/1.0",
    "gcx": "http://standards.iso.org/iso/19115/-3/gcx/1.0",
    "gml": "http://www.opengis.net/gml/3.2",
    "xlink": "http://www.w3.org/1999/xlink",
}
CODELISTS3 = "https://schemas.isotc211.org/19115/resources/Codelist/cat/codelists.xml"

# a few served datasets of tests/catalog_servers.py (their real addresses, reached through the mirror)
WHOTS = (
    "https://tds0.ifremer.fr/thredds/dodsC/CORIOLIS-OCEANSITES-GDAC-OBS/DATA_GRIDDED/WHOTS/"
    "OS_WHOTS_200408-201809_D_MLTS-1H.nc"
)
SDC_GRIDDAP = "https://erddap.ifremer.fr/erddap/griddap/SDC_GLO_CLIM_TS_V2_2"
ARGO_TABLEDAP = "https://erddap.ifremer.fr/erddap/tabledap/ArgoFloats"

CENTRES = [
    ("Coriolis", "Ifremer"),
    ("SISMER", "Ifremer"),
    ("SEANOE", "Ifremer"),
    ("AVISO+", "CNES"),
    ("Ocean Colour data centre (ODATIS-CDS)", "ACRI-ST"),
    ("SHOM data centre", "SHOM"),
    ("SNO SOMLIT", "CNRS-INSU"),
    ("IRD data centre", "IRD"),
]
AREAS = [
    ("Bay of Biscay", (-10.0, 43.0, -1.0, 48.5)),
    ("English Channel", (-6.0, 48.5, 2.0, 51.2)),
    ("Mediterranean Sea", (-5.5, 30.0, 36.0, 46.0)),
    ("North Atlantic", (-60.0, 20.0, -5.0, 65.0)),
    ("Iroise Sea", (-5.5, 47.9, -4.2, 48.7)),
    ("Global ocean", (-180.0, -90.0, 180.0, 90.0)),
    ("Southern Ocean", (-180.0, -78.0, 180.0, -40.0)),
    ("Tropical Pacific", (140.0, -20.0, 180.0, 20.0)),
]
TOPICS = [
    ("sea water temperature", "physics"),
    ("sea water salinity", "physics"),
    ("currents", "physics"),
    ("sea level", "physics"),
    ("waves", "physics"),
    ("bathymetry", "physics"),
    ("chlorophyll", "biogeochemistry"),
    ("dissolved oxygen", "biogeochemistry"),
    ("nutrients", "biogeochemistry"),
    ("carbon", "biogeochemistry"),
    ("plankton", "biology"),
    ("benthic habitats", "biology"),
]
LICENCES = [
    "CC-BY-4.0",
    "Creative Commons Attribution 4.0 International (CC BY 4.0)",
    "Licence Ouverte Etalab 2.0",
    "CC-BY-NC-4.0",
    "Use subject to the data centre's data policy",
]


@dataclasses.dataclass
class Record:
    """One catalogue record: the fields the templates fill, and the ISO 19139 it becomes."""

    identifier: str | None
    title: str | None
    abstract: str | None
    modified: str
    keywords: list[str]
    centre: tuple[str, str] | None
    originator: str | None
    bbox: tuple[Any, Any, Any, Any] | None
    period: tuple[str | None, str | None] | None
    licence: str | None
    doi: str | None
    links: list[tuple[str, str, str]]  # (url, protocol, name)
    fmt: str | None = None
    kind: str = "dataset"
    broken: str | None = None  # "no-identification": the record lacks identificationInfo

    def searchable(self) -> dict[str, str]:
        """The CSW queryables of this record (lower-case text)."""
        return {
            "anytext": " ".join(
                filter(
                    None,
                    [
                        self.identifier,
                        self.title,
                        self.abstract,
                        *self.keywords,
                        *(self.centre or ()),
                        self.originator,
                        self.licence,
                    ],
                )
            ).lower(),
            "subject": "\n".join(self.keywords).lower(),
            "title": (self.title or "").lower(),
            "abstract": (self.abstract or "").lower(),
            "identifier": (self.identifier or "").lower(),
            "modified": self.modified,
            "type": self.kind,
            "organisationname": " ".join(filter(None, [*(self.centre or ()), self.originator])).lower(),
        }

    def iso(self) -> str:
        """The record as ISO 19139 (``gmd:MD_Metadata``)."""

        def cs(v: Any) -> str:
            return f"<gco:CharacterString>{escape(str(v))}</gco:CharacterString>"

        def party(org: str, role: str, email: str | None = None) -> str:
            mail = (
                f"<gmd:contactInfo><gmd:CI_Contact><gmd:address><gmd:CI_Address><gmd:electronicMailAddress>{cs(email)}"
                f"</gmd:electronicMailAddress></gmd:CI_Address></gmd:address></gmd:CI_Contact></gmd:contactInfo>"
                if email
                else ""
            )
            return (
                f"<gmd:CI_ResponsibleParty><gmd:organisationName>{cs(org)}</gmd:organisationName>{mail}"
                f'<gmd:role><gmd:CI_RoleCode codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml'
                f'#CI_RoleCode" codeListValue="{role}">{role}</gmd:CI_RoleCode></gmd:role></gmd:CI_ResponsibleParty>'
            )

        out = [
            '<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco" '
            'xmlns:gml="http://www.opengis.net/gml" xmlns:gmx="http://www.isotc211.org/2005/gmx" '
            'xmlns:xlink="http://www.w3.org/1999/xlink">'
        ]
        if self.identifier is not None:
            out.append(f"<gmd:fileIdentifier>{cs(self.identifier)}</gmd:fileIdentifier>")
        out.append(
            '<gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" '
            'codeListValue="eng"/></gmd:language>'
        )
        out.append(
            '<gmd:hierarchyLevel><gmd:MD_ScopeCode codeList="http://standards.iso.org/iso/19139/resources/'
            f'gmxCodelists.xml#MD_ScopeCode" codeListValue="{self.kind}"/></gmd:hierarchyLevel>'
        )
        if self.centre:
            out.append(f"<gmd:contact>{party(self.centre[1], 'pointOfContact', 'sextant@ifremer.fr')}</gmd:contact>")
        out.append(f"<gmd:dateStamp><gco:DateTime>{self.modified}</gco:DateTime></gmd:dateStamp>")
        out.append("<gmd:metadataStandardName>" + cs("ISO 19115:2003/19139") + "</gmd:metadataStandardName>")
        if self.broken != "no-identification":
            out.append("<gmd:identificationInfo><gmd:MD_DataIdentification><gmd:citation><gmd:CI_Citation>")
            if self.title is not None:
                out.append(f"<gmd:title>{cs(self.title)}</gmd:title>")
            year = (self.period[0] if self.period and self.period[0] else self.modified)[:4]
            out.append(
                f"<gmd:date><gmd:CI_Date><gmd:date><gco:Date>{year}-06-01</gco:Date></gmd:date><gmd:dateType>"
                '<gmd:CI_DateTypeCode codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml'
                '#CI_DateTypeCode" codeListValue="publication"/></gmd:dateType></gmd:CI_Date></gmd:date>'
            )
            if self.doi:
                out.append(
                    f'<gmd:identifier><gmd:MD_Identifier><gmd:code><gmx:Anchor xlink:href="https://doi.org/{self.doi}">'
                    f"{escape(self.doi)}</gmx:Anchor></gmd:code></gmd:MD_Identifier></gmd:identifier>"
                )
            out.append("</gmd:CI_Citation></gmd:citation>")
            if self.abstract is not None:
                out.append(f"<gmd:abstract>{cs(self.abstract)}</gmd:abstract>")
            if self.originator:
                out.append(f"<gmd:pointOfContact>{party(self.originator, 'originator')}</gmd:pointOfContact>")
            if self.centre:
                out.append(
                    f"<gmd:pointOfContact>{party(self.centre[0], 'distributor', 'data@example.org')}"
                    "</gmd:pointOfContact>"
                )
            if self.keywords:
                out.append(
                    "<gmd:descriptiveKeywords><gmd:MD_Keywords>"
                    + "".join(f"<gmd:keyword>{cs(k)}</gmd:keyword>" for k in self.keywords)
                    + "</gmd:MD_Keywords></gmd:descriptiveKeywords>"
                )
            if self.licence:
                out.append(
                    "<gmd:resourceConstraints><gmd:MD_LegalConstraints><gmd:useLimitation>"
                    f"{cs(self.licence)}</gmd:useLimitation></gmd:MD_LegalConstraints></gmd:resourceConstraints>"
                )
            out.append(
                "<gmd:topicCategory><gmd:MD_TopicCategoryCode>oceans</gmd:MD_TopicCategoryCode></gmd:topicCategory>"
            )
            if self.bbox or self.period:
                out.append("<gmd:extent><gmd:EX_Extent>")
                if self.bbox:
                    w, s, e, n = self.bbox
                    out.append(
                        "<gmd:geographicElement><gmd:EX_GeographicBoundingBox>"
                        f"<gmd:westBoundLongitude><gco:Decimal>{w}</gco:Decimal></gmd:westBoundLongitude>"
                        f"<gmd:eastBoundLongitude><gco:Decimal>{e}</gco:Decimal></gmd:eastBoundLongitude>"
                        f"<gmd:southBoundLatitude><gco:Decimal>{s}</gco:Decimal></gmd:southBoundLatitude>"
                        f"<gmd:northBoundLatitude><gco:Decimal>{n}</gco:Decimal></gmd:northBoundLatitude>"
                        "</gmd:EX_GeographicBoundingBox></gmd:geographicElement>"
                    )
                if self.period:
                    a, b = self.period
                    end = (
                        f"<gml:endPosition>{b}</gml:endPosition>"
                        if b
                        else '<gml:endPosition indeterminatePosition="now"/>'
                    )
                    out.append(
                        '<gmd:temporalElement><gmd:EX_TemporalExtent><gmd:extent><gml:TimePeriod gml:id="t1">'
                        f"<gml:beginPosition>{a}</gml:beginPosition>{end}</gml:TimePeriod></gmd:extent>"
                        "</gmd:EX_TemporalExtent></gmd:temporalElement>"
                    )
                out.append("</gmd:EX_Extent></gmd:extent>")
            out.append("</gmd:MD_DataIdentification></gmd:identificationInfo>")
        if self.links or self.fmt:
            out.append("<gmd:distributionInfo><gmd:MD_Distribution>")
            if self.fmt:
                out.append(
                    f"<gmd:distributionFormat><gmd:MD_Format><gmd:name>{cs(self.fmt)}</gmd:name><gmd:version>"
                    f"{cs('-')}</gmd:version></gmd:MD_Format></gmd:distributionFormat>"
                )
            if self.links:
                out.append("<gmd:transferOptions><gmd:MD_DigitalTransferOptions>")
                for url, proto, name in self.links:
                    out.append(
                        f"<gmd:onLine><gmd:CI_OnlineResource><gmd:linkage><gmd:URL>{escape(url)}</gmd:URL></gmd:linkage>"
                        f"<gmd:protocol>{cs(proto)}</gmd:protocol><gmd:name>{cs(name)}</gmd:name>"
                        "</gmd:CI_OnlineResource></gmd:onLine>"
                    )
                out.append("</gmd:MD_DigitalTransferOptions></gmd:transferOptions>")
            out.append("</gmd:MD_Distribution></gmd:distributionInfo>")
        out.append("</gmd:MD_Metadata>")
        return "".join(out)

    def iso3(self) -> str:
        """The same record as ISO 19115-3 (``mdb:MD_Metadata``), as GeoNetwork 4 serves it for
        ``outputSchema=http://standards.iso.org/iso/19115/-3/mdb/2.0``."""

        def cs(v: Any) -> str:
            return f"<gco:CharacterString>{escape(str(v))}</gco:CharacterString>"

        def code(kind: str, value: str, prefix: str = "cit") -> str:
            return f'<{prefix}:{kind} codeList="{CODELISTS3}#{kind}" codeListValue="{value}"/>'

        def party(org: str, role: str, email: str | None = None) -> str:
            mail = (
                f"<cit:contactInfo><cit:CI_Contact><cit:address><cit:CI_Address><cit:electronicMailAddress>{cs(email)}"
                "</cit:electronicMailAddress></cit:CI_Address></cit:address></cit:CI_Contact></cit:contactInfo>"
                if email
                else ""
            )
            return (
                f"<cit:CI_Responsibility><cit:role>{code('CI_RoleCode', role)}</cit:role><cit:party><cit:CI_Organisation>"
                f"<cit:name>{cs(org)}</cit:name>{mail}</cit:CI_Organisation></cit:party></cit:CI_Responsibility>"
            )

        out = ["<mdb:MD_Metadata " + " ".join(f'xmlns:{k}="{v}"' for k, v in NS3.items()) + ">"]
        if self.identifier is not None:
            out.append(
                f"<mdb:metadataIdentifier><mcc:MD_Identifier><mcc:code>{cs(self.identifier)}</mcc:code>"
                f"<mcc:codeSpace>{cs('urn:uuid')}</mcc:codeSpace></mcc:MD_Identifier></mdb:metadataIdentifier>"
            )
        out.append(
            f"<mdb:defaultLocale><lan:PT_Locale><lan:language>{code('LanguageCode', 'eng', 'lan')}</lan:language>"
            f"<lan:characterEncoding>{code('MD_CharacterSetCode', 'utf8', 'lan')}</lan:characterEncoding>"
            "</lan:PT_Locale></mdb:defaultLocale>"
        )
        out.append(
            f"<mdb:metadataScope><mdb:MD_MetadataScope><mdb:resourceScope>{code('MD_ScopeCode', self.kind, 'mcc')}"
            "</mdb:resourceScope></mdb:MD_MetadataScope></mdb:metadataScope>"
        )
        if self.centre:
            out.append(f"<mdb:contact>{party(self.centre[1], 'pointOfContact', 'sextant@ifremer.fr')}</mdb:contact>")
        out.append(
            f"<mdb:dateInfo><cit:CI_Date><cit:date><gco:DateTime>{self.modified}</gco:DateTime></cit:date>"
            f"<cit:dateType>{code('CI_DateTypeCode', 'revision')}</cit:dateType></cit:CI_Date></mdb:dateInfo>"
        )
        out.append(
            f"<mdb:metadataStandard><cit:CI_Citation><cit:title>{cs('ISO 19115-3')}</cit:title></cit:CI_Citation>"
            "</mdb:metadataStandard>"
        )
        if self.broken != "no-identification":
            out.append("<mdb:identificationInfo><mri:MD_DataIdentification><mri:citation><cit:CI_Citation>")
            if self.title is not None:
                out.append(f"<cit:title>{cs(self.title)}</cit:title>")
            year = (self.period[0] if self.period and self.period[0] else self.modified)[:4]
            out.append(
                f"<cit:date><cit:CI_Date><cit:date><gco:Date>{year}-06-01</gco:Date></cit:date>"
                f"<cit:dateType>{code('CI_DateTypeCode', 'publication')}</cit:dateType></cit:CI_Date></cit:date>"
            )
            if self.doi:
                out.append(
                    f'<cit:identifier><mcc:MD_Identifier><mcc:code><gcx:Anchor xlink:href="https://doi.org/{self.doi}">'
                    f"{escape(self.doi)}</gcx:Anchor></mcc:code></mcc:MD_Identifier></cit:identifier>"
                )
            out.append("</cit:CI_Citation></mri:citation>")
            if self.abstract is not None:
                out.append(f"<mri:abstract>{cs(self.abstract)}</mri:abstract>")
            if self.originator:
                out.append(f"<mri:pointOfContact>{party(self.originator, 'originator')}</mri:pointOfContact>")
            if self.centre:
                out.append(
                    f"<mri:pointOfContact>{party(self.centre[0], 'distributor', 'data@example.org')}"
                    "</mri:pointOfContact>"
                )
            out.append(
                "<mri:topicCategory><mri:MD_TopicCategoryCode>oceans</mri:MD_TopicCategoryCode></mri:topicCategory>"
            )
            if self.bbox or self.period:
                out.append("<mri:extent><gex:EX_Extent>")
                if self.bbox:
                    w, s, e, n = self.bbox
                    out.append(
                        "<gex:geographicElement><gex:EX_GeographicBoundingBox>"
                        f"<gex:westBoundLongitude><gco:Decimal>{w}</gco:Decimal></gex:westBoundLongitude>"
                        f"<gex:eastBoundLongitude><gco:Decimal>{e}</gco:Decimal></gex:eastBoundLongitude>"
                        f"<gex:southBoundLatitude><gco:Decimal>{s}</gco:Decimal></gex:southBoundLatitude>"
                        f"<gex:northBoundLatitude><gco:Decimal>{n}</gco:Decimal></gex:northBoundLatitude>"
                        "</gex:EX_GeographicBoundingBox></gex:geographicElement>"
                    )
                if self.period:
                    a, b = self.period
                    end = (
                        f"<gml:endPosition>{b}</gml:endPosition>"
                        if b
                        else '<gml:endPosition indeterminatePosition="now"/>'
                    )
                    out.append(
                        '<gex:temporalElement><gex:EX_TemporalExtent><gex:extent><gml:TimePeriod gml:id="t1">'
                        f"<gml:beginPosition>{a}</gml:beginPosition>{end}</gml:TimePeriod></gex:extent>"
                        "</gex:EX_TemporalExtent></gex:temporalElement>"
                    )
                out.append("</gex:EX_Extent></mri:extent>")
            if self.keywords:
                out.append(
                    "<mri:descriptiveKeywords><mri:MD_Keywords>"
                    + "".join(f"<mri:keyword>{cs(k)}</mri:keyword>" for k in self.keywords)
                    + "</mri:MD_Keywords></mri:descriptiveKeywords>"
                )
            if self.licence:
                out.append(
                    "<mri:resourceConstraints><mco:MD_LegalConstraints><mco:useLimitation>"
                    f"{cs(self.licence)}</mco:useLimitation></mco:MD_LegalConstraints></mri:resourceConstraints>"
                )
            out.append("</mri:MD_DataIdentification></mdb:identificationInfo>")
        if self.links or self.fmt:
            out.append("<mdb:distributionInfo><mrd:MD_Distribution>")
            if self.fmt:
                out.append(
                    "<mrd:distributionFormat><mrd:MD_Format><mrd:formatSpecificationCitation><cit:CI_Citation>"
                    f"<cit:title>{cs(self.fmt)}</cit:title></cit:CI_Citation></mrd:formatSpecificationCitation>"
                    "</mrd:MD_Format></mrd:distributionFormat>"
                )
            if self.links:
                out.append("<mrd:transferOptions><mrd:MD_DigitalTransferOptions>")
                for url, proto, name in self.links:
                    out.append(
                        f"<mrd:onLine><cit:CI_OnlineResource><cit:linkage>{cs(url)}</cit:linkage>"
                        f"<cit:protocol>{cs(proto)}</cit:protocol><cit:name>{cs(name)}</cit:name>"
                        "</cit:CI_OnlineResource></mrd:onLine>"
                    )
                out.append("</mrd:MD_DigitalTransferOptions></mrd:transferOptions>")
            out.append("</mrd:MD_Distribution></mdb:distributionInfo>")
        out.append("</mdb:MD_Metadata>")
        return "".join(out)

    def dublin_core(self, esn: str) -> str:
        tag = {"brief": "BriefRecord", "summary": "SummaryRecord"}.get(esn, "Record")
        parts = [
            f"<dc:identifier>{escape(self.identifier or '')}</dc:identifier>",
            f"<dc:title>{escape(self.title or '')}</dc:title>",
            f"<dc:type>{self.kind}</dc:type>",
        ]
        if esn != "brief":
            parts += [f"<dc:subject>{escape(k)}</dc:subject>" for k in self.keywords]
            parts.append(f"<dct:modified>{self.modified}</dct:modified>")
            if self.abstract:
                parts.append(f"<dct:abstract>{escape(self.abstract)}</dct:abstract>")
        return f"<csw:{tag}>" + "".join(parts) + f"</csw:{tag}>"


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def generate(n: int = 2200, seed: int = 16) -> list[Record]:
    """``n`` records from the templates (same list for the same ``n`` and ``seed``).

    The first records are the named ones the tests use: ``odatis-whots-opendap`` (OPeNDAP served by the
    loopback data server), ``odatis-sdc-griddap``, ``odatis-argo-tabledap``, ``odatis-seanoe-110112``,
    ``odatis-argo-float-http`` (a NetCDF file over HTTP), ``odatis-wms-only``, then the broken and
    duplicate ones, then generated records.
    """
    rng = random.Random(seed)
    base = dt.datetime(2015, 1, 1)

    def stamp() -> str:
        return (base + dt.timedelta(seconds=rng.randrange(0, 10 * 365 * 86400))).strftime("%Y-%m-%dT%H:%M:%S")

    def rec(**kw: Any) -> Record:
        area, box = rng.choice(AREAS)
        topic, _ = rng.choice(TOPICS)
        centre = rng.choice(CENTRES)
        y0 = rng.randint(1990, 2022)
        defaults = dict(
            identifier=_uuid(rng),
            title=f"{topic.capitalize()}, {area}",
            modified=stamp(),
            abstract=f"{topic.capitalize()} in the {area}, from {centre[0]} ({centre[1]}).",
            keywords=["ODATIS", topic, area, centre[0]],
            centre=centre,
            originator=centre[1],
            bbox=box,
            period=(f"{y0}-01-01", f"{y0 + rng.randint(0, 8)}-12-31"),
            licence=rng.choice(LICENCES),
            doi=None,
            links=[],
            fmt="NetCDF",
        )
        defaults.update(kw)
        if "originator" not in kw and defaults["centre"]:
            defaults["originator"] = defaults["centre"][1]  # the centre's institute made it, unless told
        return Record(**defaults)

    out = [
        rec(
            identifier="odatis-whots-opendap",
            title="OceanSITES WHOTS mooring, hourly gridded series",
            keywords=["ODATIS", "OceanSITES", "mooring", "sea water temperature", "Coriolis"],
            centre=("Coriolis", "Ifremer"),
            bbox=(-158.1, 22.6, -157.8, 22.8),
            period=("2004-08-01", "2018-09-30"),
            links=[
                (WHOTS + ".html", "OPENDAP:OPENDAP", "OPeNDAP access"),
                (
                    "https://tds0.ifremer.fr/thredds/catalog/CORIOLIS-OCEANSITES-GDAC-OBS/catalog.html",
                    "WWW:LINK",
                    "THREDDS catalogue",
                ),
            ],
        ),
        rec(
            identifier="odatis-sdc-griddap",
            title="SeaDataCloud temperature and salinity climatology V2",
            keywords=["ODATIS", "climatology", "sea water temperature", "SeaDataNet"],
            centre=("SISMER", "Ifremer"),
            bbox=(-180.0, -90.0, 180.0, 90.0),
            period=("1955-01-01", "2017-12-31"),
            links=[(SDC_GRIDDAP + ".html", "WWW:LINK", "ERDDAP griddap")],
        ),
        rec(
            identifier="odatis-argo-tabledap",
            title="Argo float profiles on Ifremer's ERDDAP",
            keywords=["ODATIS", "Argo", "profiles", "sea water temperature"],
            centre=("Coriolis", "Ifremer"),
            bbox=(-180.0, -90.0, 180.0, 90.0),
            period=("1997-07-28", None),
            doi="10.17882/42182",
            links=[
                (ARGO_TABLEDAP + ".html", "WWW:LINK", "ERDDAP tabledap"),
                ("https://doi.org/10.17882/42182", "DOI", "DOI"),
            ],
        ),
        rec(
            identifier="odatis-seanoe-110112",
            title="Flow cytometry at SOMLIT-Astan and SOMLIT-Estacade (Roscoff)",
            keywords=["ODATIS", "plankton", "flow cytometry", "SOMLIT"],
            centre=("SEANOE", "Ifremer"),
            originator="Station Biologique de Roscoff",
            bbox=(-3.99, 48.73, -3.93, 48.78),
            period=("2000-01-01", "2012-12-31"),
            doi="10.17882/110112",
            fmt="CSV",
            links=[("https://www.seanoe.org/data/00989/110112/", "WWW:LINK", "SEANOE landing page")],
        ),
        rec(
            identifier="odatis-argo-float-http",
            title="Argo float 6904017, all profiles (GDAC file)",
            keywords=["ODATIS", "Argo", "float", "profiles"],
            centre=("Coriolis", "Ifremer"),
            links=[
                (
                    "https://data-argo.ifremer.fr/dac/coriolis/6904017/6904017_prof.nc",
                    "WWW:DOWNLOAD-1.0-http--download",
                    "NetCDF file",
                )
            ],
        ),
        rec(
            identifier="odatis-wms-only",
            title="Benthic habitats of the Bay of Biscay (map layer)",
            keywords=["ODATIS", "benthic habitats", "Bay of Biscay"],
            centre=("SISMER", "Ifremer"),
            fmt="ESRI Shapefile",
            links=[
                (
                    "https://sextant.ifremer.fr/services/wms/habitats?service=WMS&request=GetCapabilities",
                    "OGC:WMS",
                    "habitats_biscay",
                )
            ],
        ),
        rec(
            identifier="odatis-zarr",
            title="Sea surface temperature analysis as a Zarr store",
            keywords=["ODATIS", "sea surface temperature"],
            links=[("https://s3.example.org/odatis/sst.zarr", "WWW:LINK", "Zarr")],
        ),
        # missing fields: still entries, with what there is
        rec(
            identifier="odatis-missing-fields",
            title="Record with only a title and a link",
            abstract=None,
            keywords=["ODATIS"],
            centre=None,
            originator=None,
            bbox=None,
            period=None,
            licence=None,
            fmt=None,
            links=[("https://www.example.org/data/page.html", "WWW:LINK", "web page")],
        ),
        rec(identifier="odatis-no-link", title="Record without any online resource", links=[], fmt=None),
        # broken: skipped, with the reason in the report
        rec(identifier=None, title="Record without fileIdentifier"),
        rec(identifier="odatis-broken-identification", broken="no-identification"),
        rec(
            identifier="odatis-broken-bbox",
            title="Record whose box is not numbers",
            bbox=("west", "x", "east", "y"),
            links=[("https://www.example.org/x.nc", "WWW:DOWNLOAD-1.0-http--download", "file")],
        ),
        rec(identifier="odatis-broken-dates", title="Record whose period is not dates", period=("sometime", "later")),
        rec(identifier="odatis-no-title", title=None),
        # not the pole's: left out by the ODATIS filter
        rec(identifier="other-catalogue-record", title="A record of another portal", keywords=["EMODnet"]),
    ]
    # duplicate identifiers: the same record twice, the second one edited later
    dup = rec(identifier="odatis-duplicate", title="Duplicated record (older copy)", modified="2019-03-01T10:00:00")
    out.append(dup)
    templates = [
        "erddap_tabledap",
        "erddap_griddap",
        "opendap",
        "seanoe",
        "wms",
        "wfs",
        "zip",
        "http_nc",
        "ftp",
        "landing",
        "missing",
    ]
    i = 0
    while len(out) < n - 1:
        i += 1
        t = templates[i % len(templates)]
        r = rec()
        if t == "erddap_tabledap":
            r.links = [(f"https://erddap.ifremer.fr/erddap/tabledap/Dataset{i:05d}.html", "WWW:LINK", "ERDDAP")]
        elif t == "erddap_griddap":
            r.links = [(f"https://erddap.ifremer.fr/erddap/griddap/Grid{i:05d}", "WWW:LINK", "ERDDAP griddap")]
        elif t == "opendap":
            r.links = [
                (f"https://tds0.ifremer.fr/thredds/dodsC/ODATIS/{i:05d}/data.nc", "OPENDAP:OPENDAP", "OPeNDAP"),
                (f"https://tds0.ifremer.fr/thredds/catalog/ODATIS/{i:05d}/catalog.html", "WWW:LINK", "catalogue"),
            ]
        elif t == "seanoe":
            r.doi = f"10.17882/{60000 + i}"
            r.centre = ("SEANOE", "Ifremer")
            r.links = [(f"https://www.seanoe.org/data/00{600 + i % 300}/{60000 + i}/", "WWW:LINK", "SEANOE")]
        elif t == "wms":
            r.links = [(f"https://sextant.ifremer.fr/services/wms/layer{i}", "OGC:WMS", f"layer{i}")]
        elif t == "wfs":
            r.links = [
                (f"https://sextant.ifremer.fr/services/wfs/layer{i}", "OGC:WFS", f"layer{i}"),
                (f"https://sextant.ifremer.fr/services/wms/layer{i}", "OGC:WMS", f"layer{i}"),
            ]
        elif t == "zip":
            r.links = [(f"https://sextant.ifremer.fr/documents/{i}/data.zip", "WWW:DOWNLOAD-1.0-http--download", "zip")]
        elif t == "http_nc":
            r.links = [(f"https://data.odatis-ocean.fr/files/{i:05d}.nc", "WWW:DOWNLOAD-1.0-http--download", "NetCDF")]
        elif t == "ftp":
            r.links = [(f"ftp://ftp-access.aviso.altimetry.fr/product{i}/", "FTP", "FTP access")]
            r.centre = ("AVISO+", "CNES")
        elif t == "landing":
            r.links = [(f"https://www.odatis-ocean.fr/datasets/{i}", "WWW:LINK", "landing page")]
        elif t == "missing":
            r.bbox, r.period, r.licence = None, None, None
        if i % 97 == 0:
            r.keywords = ["EMODnet"]  # another portal's record, outside the ODATIS filter
        out.append(r)
        if len(out) == n // 2:  # the second copy of the duplicate, half-way (another page)
            out.append(dataclasses.replace(dup, title="Duplicated record (newer copy)", modified="2024-05-01T10:00:00"))
    return out[:n]


# ----------------------------------------------------------------------------- filters


def _like(pattern: str, wild: str, single: str, escape_char: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == escape_char and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if c == wild else "." if c == single else re.escape(c)
        i += 1
    return re.compile(out, re.S | re.I)


class FilterError(ValueError):
    """The filter uses something this server does not support (answered with an OWS exception)."""


QUERYABLES = {"anytext", "subject", "title", "abstract", "identifier", "modified", "type", "organisationname"}


def _prop(el: Any) -> str:
    node = el.find("ogc:PropertyName", NS)
    if node is None or not (node.text or "").strip():
        raise FilterError("a comparison has no ogc:PropertyName")
    name = node.text.strip().split(":")[-1].lower()
    if name not in QUERYABLES:
        raise FilterError(f"{node.text.strip()} is not a queryable (queryables: {', '.join(sorted(QUERYABLES))})")
    return name


def matches(el: Any, rec: dict[str, str]) -> bool:
    """Whether a record's queryables satisfy one OGC Filter 1.1 element."""
    tag = etree.QName(el).localname
    if tag == "Filter":
        children = [c for c in el if isinstance(c.tag, str)]
        return all(matches(c, rec) for c in children)
    if tag in ("And", "Or"):
        children = [c for c in el if isinstance(c.tag, str)]
        return (all if tag == "And" else any)(matches(c, rec) for c in children)
    if tag == "Not":
        return not matches(next(c for c in el if isinstance(c.tag, str)), rec)
    if tag == "PropertyIsLike":
        prop = _prop(el)
        lit = el.findtext("ogc:Literal", "", NS) or ""
        rx = _like(lit, el.get("wildCard", "%"), el.get("singleChar", "_"), el.get("escapeChar", "\\"))
        values = rec[prop].split("\n") if prop == "subject" else [rec[prop]]
        return any(rx.fullmatch(v) for v in values)
    ops = {
        "PropertyIsEqualTo": "eq",
        "PropertyIsNotEqualTo": "ne",
        "PropertyIsLessThan": "lt",
        "PropertyIsGreaterThan": "gt",
        "PropertyIsLessThanOrEqualTo": "le",
        "PropertyIsGreaterThanOrEqualTo": "ge",
    }
    if tag in ops:
        prop = _prop(el)
        lit = (el.findtext("ogc:Literal", "", NS) or "").strip()
        value = rec[prop]
        if prop == "anytext":  # GeoNetwork matches AnyText as full text: every word present
            ok = all(w in value for w in lit.lower().split())
            return ok if ops[tag] == "eq" else not ok
        if prop == "subject":
            hit = lit.lower() in value.split("\n")
            return hit if ops[tag] == "eq" else not hit
        if prop != "modified":
            value, lit = value.lower(), lit.lower()
        return {
            "eq": value == lit,
            "ne": value != lit,
            "lt": value < lit,
            "gt": value > lit,
            "le": value <= lit,
            "ge": value >= lit,
        }[ops[tag]]
    raise FilterError(f"ogc:{tag} is not supported by this server")


# ----------------------------------------------------------------------------- the server


def _exception(code: str, text: str, locator: str | None = None, status: int = 400) -> web.Response:
    loc = f' locator="{escape(locator)}"' if locator else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" '
        f'version="1.2.0"><ows:Exception exceptionCode="{code}"{loc}><ows:ExceptionText>{escape(text)}'
        "</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"
    )
    return web.Response(status=status, text=body, content_type="application/xml")


class CswStandin:
    """The CSW server over :func:`generate`'s records (or any list of :class:`Record`).

    >>> csw = CswStandin(generate(2200)).start()     # doctest: +SKIP
    >>> csw.url                                      # doctest: +SKIP
    'http://127.0.0.1:40211/geonetwork/srv/eng/csw'
    """

    PATH = "/geonetwork/srv/eng/csw"

    def __init__(self, records: list[Record] | None = None):
        self.records = list(records if records is not None else generate())
        self.requests: list[dict[str, Any]] = []
        self._fail: dict[int, str] = {}
        self._iso: dict[tuple[int, str], str] = {}
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.PATH}"

    # -- test hooks
    def touch(self, identifier: str, modified: str, **changes: Any) -> None:
        """Edit a record (as in GeoNetwork): new ``dateStamp``, and any field in ``changes``."""
        for i, r in enumerate(self.records):
            if r.identifier == identifier:
                self.records[i] = dataclasses.replace(r, modified=modified, **changes)
                self._iso.pop((i, GMD), None)
                self._iso.pop((i, MDB), None)
                return
        raise KeyError(identifier)

    def fail_at(self, start_position: int, how: str = "http500", times: int = 1) -> None:
        """The next ``times`` GetRecords pages starting at ``start_position`` fail: ``http500`` or ``broken-xml``."""
        self._fail[start_position] = f"{how}:{times}"

    def get_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["request"] == "GetRecords"]

    # -- protocol
    def _capabilities(self) -> str:
        ops = "".join(
            f'<ows:Operation name="{op}"><ows:DCP><ows:HTTP><ows:Get xlink:href="{self.url}"/><ows:Post xlink:href="{self.url}"/>'
            f"</ows:HTTP></ows:DCP></ows:Operation>"
            for op in ("GetCapabilities", "GetRecords", "GetRecordById")
        )
        queryables = "".join(
            f"<ows:Value>{q}</ows:Value>"
            for q in ("AnyText", "Subject", "Title", "Abstract", "Identifier", "Modified", "Type", "OrganisationName")
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<csw:Capabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
            'xmlns:ows="http://www.opengis.net/ows" xmlns:ogc="http://www.opengis.net/ogc" '
            'xmlns:xlink="http://www.w3.org/1999/xlink" version="2.0.2"><ows:ServiceIdentification>'
            "<ows:Title>Sextant stand-in (odatis-vre tests)</ows:Title><ows:ServiceType>CSW</ows:ServiceType>"
            "<ows:ServiceTypeVersion>2.0.2</ows:ServiceTypeVersion></ows:ServiceIdentification>"
            f'<ows:OperationsMetadata>{ops}<ows:Constraint name="SupportedISOQueryables">{queryables}</ows:Constraint>'
            "</ows:OperationsMetadata><ogc:Filter_Capabilities><ogc:Spatial_Capabilities><ogc:GeometryOperands/>"
            "<ogc:SpatialOperators/></ogc:Spatial_Capabilities><ogc:Scalar_Capabilities><ogc:LogicalOperators/>"
            "<ogc:ComparisonOperators><ogc:ComparisonOperator>EqualTo</ogc:ComparisonOperator>"
            "<ogc:ComparisonOperator>NotEqualTo</ogc:ComparisonOperator><ogc:ComparisonOperator>Like</ogc:ComparisonOperator>"
            "<ogc:ComparisonOperator>LessThan</ogc:ComparisonOperator><ogc:ComparisonOperator>GreaterThan</ogc:ComparisonOperator>"
            "<ogc:ComparisonOperator>LessThanEqualTo</ogc:ComparisonOperator>"
            "<ogc:ComparisonOperator>GreaterThanEqualTo</ogc:ComparisonOperator></ogc:ComparisonOperators>"
            "</ogc:Scalar_Capabilities></ogc:Filter_Capabilities></csw:Capabilities>"
        )

    def _render(self, i: int, schema: str, esn: str) -> str:
        if schema in (GMD, MDB):
            key = (i, schema)
            if key not in self._iso:
                self._iso[key] = self.records[i].iso() if schema == GMD else self.records[i].iso3()
            return self._iso[key]
        return self.records[i].dublin_core(esn)

    def _select(self, flt: Any, sort: list[tuple[str, bool]]) -> list[int]:
        keep = [i for i, r in enumerate(self.records) if flt is None or matches(flt, r.searchable())]
        for prop, desc in reversed(sort):
            keep.sort(key=lambda i: self.records[i].searchable()[prop], reverse=desc)
        return keep

    def get_records(
        self,
        *,
        result_type: str,
        start: int,
        max_records: int,
        schema: str,
        esn: str,
        type_names: str,
        flt: Any,
        sort: list[tuple[str, bool]],
    ) -> web.Response:
        if schema not in (GMD, MDB, CSW):
            return _exception(
                "InvalidParameterValue",
                f"outputSchema {schema} is not supported (use {GMD}, {MDB} or {CSW})",
                "outputSchema",
            )
        if not any(t.split(":")[-1] in ("MD_Metadata", "Record") for t in type_names.split()):
            return _exception(
                "InvalidParameterValue", f"typeNames {type_names!r}: use gmd:MD_Metadata or csw:Record", "typeNames"
            )
        if start < 1 or max_records < 0:
            return _exception(
                "InvalidParameterValue", "startPosition must be >= 1 and maxRecords >= 0", "startPosition"
            )
        fail = self._fail.get(start)
        if fail and result_type == "results":
            how, times = fail.split(":")
            self._fail[start] = f"{how}:{int(times) - 1}"
            if int(times) - 1 <= 0:
                del self._fail[start]
            if how == "http500":
                return web.Response(status=500, text="Internal Server Error (stand-in fault)")
            return web.Response(
                text='<?xml version="1.0"?><csw:GetRecordsResponse xmlns:csw="'
                + CSW
                + '"><csw:SearchResults numberOfRecordsMatched="5"><gmd:MD_Metadata',
                content_type="application/xml",
            )
        try:
            hits = self._select(flt, sort)
        except FilterError as exc:
            return _exception("InvalidParameterValue", str(exc), "Constraint")
        matched = len(hits)
        page = hits[start - 1 : start - 1 + max_records] if result_type == "results" else []
        nxt = start + len(page) if start + len(page) <= matched and page else 0
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        body = "".join(self._render(i, schema, esn) for i in page)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dct="http://purl.org/dc/terms/" version="2.0.2">'
            f'<csw:SearchStatus timestamp="{now}"/><csw:SearchResults numberOfRecordsMatched="{matched}" '
            f'numberOfRecordsReturned="{len(page)}" elementSet="{esn}" nextRecord="{nxt}">{body}'
            "</csw:SearchResults></csw:GetRecordsResponse>"
        )
        return web.Response(body=xml.encode(), content_type="application/xml", charset="utf-8")

    def _get_records_xml(self, doc: Any) -> web.Response:
        if doc.get("service", "CSW") != "CSW" or doc.get("version", "2.0.2") != "2.0.2":
            return _exception("InvalidParameterValue", "this server speaks CSW 2.0.2 only", "version")
        query = doc.find("csw:Query", NS)
        if query is None:
            return _exception("MissingParameterValue", "GetRecords needs a csw:Query", "Query")
        esn = (query.findtext("csw:ElementSetName", "summary", NS) or "summary").strip()
        constraint = query.find("csw:Constraint", NS)
        flt = None
        if constraint is not None:
            if constraint.find("csw:CqlText", NS) is not None:
                return _exception(
                    "OperationNotSupported", "CQL constraints are not supported; send an ogc:Filter", "Constraint"
                )
            flt = constraint.find("ogc:Filter", NS)
        sort = [
            (
                p.findtext("ogc:PropertyName", "", NS).split(":")[-1].lower(),
                p.findtext("ogc:SortOrder", "ASC", NS).upper() == "DESC",
            )
            for p in query.findall("ogc:SortBy/ogc:SortProperty", NS)
        ]
        if any(p not in ("identifier", "modified", "title") for p, _ in sort):
            return _exception("InvalidParameterValue", "SortBy: Identifier, Modified or Title", "SortBy")
        try:
            start, max_records = int(doc.get("startPosition", "1")), int(doc.get("maxRecords", "10"))
        except ValueError:
            return _exception("InvalidParameterValue", "startPosition and maxRecords are integers", "startPosition")
        return self.get_records(
            result_type=doc.get("resultType", "hits"),
            start=start,
            max_records=max_records,
            schema=doc.get("outputSchema", CSW),
            esn=esn,
            type_names=query.get("typeNames", ""),
            flt=flt,
            sort=sort,
        )

    async def handle(self, request: web.Request) -> web.Response:
        kvp = {k.lower(): v for k, v in request.query.items()}
        entry: dict[str, Any] = {
            "t": time.monotonic(),
            "method": request.method,
            "user_agent": request.headers.get("User-Agent", ""),
            "request": kvp.get("request", ""),
        }
        self.requests.append(entry)
        if request.method == "POST":
            raw = await request.read()
            try:
                doc = etree.fromstring(raw)
            except etree.XMLSyntaxError as exc:
                return _exception("NoApplicableCode", f"the request is not XML: {exc}")
            name = etree.QName(doc).localname
            entry["request"] = name
            entry["start"] = int(doc.get("startPosition", "1") or 1)
            entry["output_schema"] = doc.get("outputSchema", CSW)
            if name == "GetRecords":
                return self._get_records_xml(doc)
            if name == "GetCapabilities":
                return web.Response(text=self._capabilities(), content_type="application/xml")
            return _exception("OperationNotSupported", f"{name} is not supported by this server", "request")
        if kvp.get("service", "").upper() != "CSW":
            return _exception("MissingParameterValue", "service=CSW is required", "service")
        req = kvp.get("request", "")
        if req == "GetCapabilities":
            return web.Response(text=self._capabilities(), content_type="application/xml")
        if req == "GetRecordById":
            ids = [x for x in kvp.get("id", "").split(",") if x]
            if not ids:
                return _exception("MissingParameterValue", "GetRecordById needs id", "id")
            schema = kvp.get("outputschema", CSW)
            body = "".join(
                self._render(i, schema, kvp.get("elementsetname", "summary"))
                for i, r in enumerate(self.records)
                if r.identifier in ids
            )
            return web.Response(
                text=f'<?xml version="1.0"?><csw:GetRecordByIdResponse xmlns:csw="{CSW}" '
                f'xmlns:dc="{NS["dc"]}" xmlns:dct="{NS["dct"]}">{body}</csw:GetRecordByIdResponse>',
                content_type="application/xml",
            )
        if req == "GetRecords":
            flt = None
            if kvp.get("constraint"):
                if kvp.get("constraintlanguage", "").upper() != "FILTER":
                    return _exception("OperationNotSupported", "only CONSTRAINTLANGUAGE=FILTER", "constraintLanguage")
                try:
                    flt = etree.fromstring(kvp["constraint"].encode())
                except etree.XMLSyntaxError:
                    return _exception("InvalidParameterValue", "CONSTRAINT is not an ogc:Filter", "constraint")
            try:
                start, max_records = int(kvp.get("startposition", "1")), int(kvp.get("maxrecords", "10"))
            except ValueError:
                return _exception("InvalidParameterValue", "startPosition and maxRecords are integers", "startPosition")
            entry["start"] = start
            entry["output_schema"] = kvp.get("outputschema", CSW)
            return self.get_records(
                result_type=kvp.get("resulttype", "hits"),
                start=start,
                max_records=max_records,
                schema=kvp.get("outputschema", CSW),
                esn=kvp.get("elementsetname", "summary"),
                type_names=kvp.get("typenames", "csw:Record"),
                flt=flt,
                sort=[],
            )
        if not req:
            return _exception("MissingParameterValue", "request is required", "request")
        return _exception("OperationNotSupported", f"{req} is not supported by this server", "request")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", self.PATH, self.handle)
        return app

    def start(self) -> CswStandin:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        app = self.app()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="csw-standin", daemon=True)
        self._thread.start()
        if not ready.wait(20):
            raise RuntimeError("the CSW stand-in did not start within 20 s")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


def count_matching(records: list[Record], pattern: str = "ODATIS") -> int:
    """How many records carry the keyword ``pattern`` (what the ODATIS filter selects)."""
    return sum(1 for r in records if any(fnmatch.fnmatch(k.lower(), pattern.lower()) for k in r.keywords))
