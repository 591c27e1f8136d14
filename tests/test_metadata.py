"""DataCite metadata, citation, BibTeX, XML and schema.org built from the user's metadata file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from odatis_vre import provenance
from odatis_vre.publishing import metadata as m

FULL_YAML = """
title: Sea surface temperature anomalies, Bay of Biscay, summer 2023
creators:
  - name: Carberry, Josiah
    orcid: https://orcid.org/0000-0002-1825-0097
    affiliation: {name: Ifremer, ror: 044jxhp58}
  - name: Marie Curie-Sklodowska
    affiliation: [LOPS, {name: CNRS, ror: https://ror.org/02feahw73}]
  - name: ODATIS data centre
    type: organization
license: cc-by-4.0
keywords: sea surface temperature, marine heatwave, Bay of Biscay
abstract: |
  Daily SST anomalies relative to the 2023 mean,
  computed in the ODATIS VRE.
funding:
  - {funder: Agence Nationale de la Recherche, funder_ror: https://ror.org/00rbzpz17, award: ANR-20-CE01-0001}
related_publications:
  - doi: https://doi.org/10.5194/os-19-1-2023
  - {url: https://example.org/report.pdf, relation: isdocumentedby}
publication_year: 2026
version: "2"
bbox: [-10, 43, -1, 48]
time_range: [2023-06-01, 2023-08-31]
"""


@pytest.fixture
def md(tmp_path: Path) -> dict:
    p = tmp_path / "meta.yaml"
    p.write_text(FULL_YAML, encoding="utf-8")
    return m.load_metadata(p)


def test_load_metadata_normalises(md: dict) -> None:
    assert md["title"].startswith("Sea surface temperature anomalies")
    c0, c1, c2 = md["creators"]
    assert c0 == {
        "name": "Carberry, Josiah",
        "type": "Personal",
        "given_name": "Josiah",
        "family_name": "Carberry",
        "orcid": "0000-0002-1825-0097",
        "affiliation": [{"name": "Ifremer", "ror": "https://ror.org/044jxhp58"}],
    }
    assert c1["name"] == "Curie-Sklodowska, Marie" and c1["family_name"] == "Curie-Sklodowska"
    assert c1["affiliation"] == [{"name": "LOPS"}, {"name": "CNRS", "ror": "https://ror.org/02feahw73"}]
    assert c2 == {"name": "ODATIS data centre", "type": "Organizational", "affiliation": []}
    assert md["licence"] == "CC-BY-4.0"
    assert md["keywords"] == ["sea surface temperature", "marine heatwave", "Bay of Biscay"]
    assert md["related_publications"] == [
        {"relation": "IsSupplementTo", "doi": "10.5194/os-19-1-2023"},
        {"relation": "IsDocumentedBy", "url": "https://example.org/report.pdf"},
    ]
    assert md["funding"][0]["funder_ror"] == "https://ror.org/00rbzpz17"
    assert (md["publisher"], md["publication_year"], md["version"], md["resource_type"]) == (
        "ODATIS",
        "2026",
        "2",
        "Dataset",
    )


def test_defaults() -> None:
    import datetime

    md = m.load_metadata(
        {"title": "T", "creators": "Doe, Jane", "licence": "CC0-1.0", "keywords": ["k"], "abstract": "A."}
    )
    assert md["publisher"] == "ODATIS" and md["version"] == "1" and md["resource_type"] == "Dataset"
    assert md["publication_year"] == str(datetime.date.today().year)


def test_missing_mandatory_fields_are_all_named() -> None:
    with pytest.raises(m.MetadataError) as exc:
        m.load_metadata({"tittle": "typo"})
    text = str(exc.value)
    for field in ("title:", "creators:", "licence:", "keywords:", "abstract:", "unknown field(s) ['tittle']"):
        assert field in text, text
    assert len(exc.value.problems) == 6
    # each message says what to write
    assert "write" in exc.value.problems[1]


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            {"creators": [{"name": "Doe, Jane", "orcid": "0000-0002-1825-0098"}]},
            "creators[0].orcid: '0000-0002-1825-0098' has a wrong check digit",
        ),
        ({"creators": [{"name": "Doe, Jane", "orcid": "1234"}]}, "creators[0].orcid: '1234' is not an ORCID iD"),
        (
            {"creators": [{"name": "Doe", "affiliation": {"name": "X", "ror": "ifremer"}}]},
            "creators[0].affiliation.ror: 'ifremer' is not a ROR id",
        ),
        (
            {"creators": [{"name": "ODATIS", "type": "organization", "orcid": "0000-0002-1825-0097"}]},
            "an ORCID iD belongs to a person",
        ),
        ({"creators": [{"name": "Doe", "nom": "Doe"}]}, "creators[0]: unknown key(s) ['nom']"),
        ({"licence": "GPL-3.0"}, "licence: 'GPL-3.0' is not one of the accepted SPDX ids"),
        ({"related_publications": [{"doi": "10.1/x", "relation": "Likes"}]}, "'Likes' is not a DataCite relationType"),
        ({"related_publications": [{"doi": "not-a-doi"}]}, "related_publications[0].doi: 'not-a-doi' is not a DOI"),
        ({"publication_year": "26"}, "publication_year: '26'; write four digits"),
        ({"resource_type": "Spreadsheet"}, "resource_type: 'Spreadsheet'"),
        ({"bbox": [0, 50, 10, 40]}, "bbox: [0, 50, 10, 40]"),
        ({"time_range": ["yesterday", "today"]}, "time_range:"),
        ({"funding": [{"award": "X"}]}, "funding[0]: write"),
    ],
)
def test_wrong_values_are_refused(change: dict, expected: str) -> None:
    base = {"title": "T", "creators": ["Doe, Jane"], "licence": "CC-BY-4.0", "keywords": ["k"], "abstract": "A."}
    with pytest.raises(m.MetadataError) as exc:
        m.load_metadata({**base, **change})
    assert expected in str(exc.value)
    assert len(exc.value.problems) == 1, exc.value.problems


def test_yaml_errors_name_the_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "meta.yaml"
    p.write_text("title: x\ncreators: [a\nlicence: y\n", encoding="utf-8")
    with pytest.raises(m.MetadataError, match=r"meta.yaml: 1 problem to fix:\n  - not valid YAML at line \d+"):
        m.load_metadata(p)
    with pytest.raises(m.MetadataError, match="file not found"):
        m.load_metadata(tmp_path / "nope.yaml")


def test_identifier_helpers() -> None:
    assert m.orcid_checksum_ok("0000-0001-5109-3700") and m.orcid_checksum_ok("0000-0002-1694-233X")
    assert not m.orcid_checksum_ok("0000-0002-1694-2330")
    assert m.normalise_orcid("0000-0002-1694-233x") == "0000-0002-1694-233X"
    assert m.normalise_doi("doi:10.17882/42182") == "10.17882/42182"
    with pytest.raises(ValueError):
        m.normalise_ror("https://ror.org/1234")


def test_datacite_attributes_complete_and_valid(md: dict) -> None:
    provenance.clear()
    provenance.record(
        "argo_gdac_float", title="Argo float data", doi="10.17882/42182", url="https://data-argo.ifremer.fr/x"
    )
    provenance.record("cmems_sst", title="CMEMS SST", url="https://nrt.cmems-du.eu/thredds/dodsC/sst")
    provenance.record("sample_sst_zarr", title="Daily SST (sample)", url="file:///work/catalog/data/sst.zarr")
    files = [{"name": "sst_anomaly.nc", "size": 1_500_000, "sha256": "a" * 64}, {"name": "extra.csv", "size": 10}]
    nb = {"path": "notebooks/analysis.ipynb", "sha256": "b" * 64}
    a = m.datacite_attributes(
        md,
        doi="10.5072/odatis.ab12-cd34",
        url="https://vre.example.org/repository/datasets/x/v2",
        files=files,
        provenance=provenance.opened(),
        notebook=nb,
    )
    provenance.clear()
    m.validate_datacite(a)
    assert a["doi"] == "10.5072/odatis.ab12-cd34" and a["url"].endswith("/v2")
    assert a["creators"][0]["nameIdentifiers"] == [
        {
            "nameIdentifier": "https://orcid.org/0000-0002-1825-0097",
            "nameIdentifierScheme": "ORCID",
            "schemeUri": "https://orcid.org",
        }
    ]
    assert a["creators"][0]["affiliation"][0] == {
        "name": "Ifremer",
        "affiliationIdentifier": "https://ror.org/044jxhp58",
        "affiliationIdentifierScheme": "ROR",
        "schemeUri": "https://ror.org",
    }
    assert a["creators"][2]["nameType"] == "Organizational"
    assert (
        a["rightsList"][0]["rightsIdentifier"] == "cc-by-4.0" and a["rightsList"][0]["rightsIdentifierScheme"] == "SPDX"
    )
    assert [s["subject"] for s in a["subjects"]] == md["keywords"]
    assert a["fundingReferences"] == [
        {
            "funderName": "Agence Nationale de la Recherche",
            "funderIdentifier": "https://ror.org/00rbzpz17",
            "funderIdentifierType": "ROR",
            "awardNumber": "ANR-20-CE01-0001",
        }
    ]
    rel = {(r["relationType"], r["relatedIdentifierType"], r["relatedIdentifier"]) for r in a["relatedIdentifiers"]}
    assert rel == {
        ("IsSupplementTo", "DOI", "10.5194/os-19-1-2023"),
        ("IsDocumentedBy", "URL", "https://example.org/report.pdf"),
        ("IsDerivedFrom", "DOI", "10.17882/42182"),  # the DOI wins over the URL
        ("IsDerivedFrom", "URL", "https://nrt.cmems-du.eu/thredds/dodsC/sst"),
    }
    # the local sample is named, not its path
    methods = next(d["description"] for d in a["descriptions"] if d["descriptionType"] == "Methods")
    assert "Daily SST (sample)" in methods and "file://" not in json.dumps(a)
    assert "b" * 64 in methods and "odatis-vre " + m.software_version() in methods
    items = {(i["relatedItemType"], i["relationType"], i["titles"][0]["title"]) for i in a["relatedItems"]}
    assert items == {
        ("Software", "IsCompiledBy", f"odatis-vre {m.software_version()}"),
        ("ComputationalNotebook", "IsCompiledBy", "notebooks/analysis.ipynb"),
    }
    assert a["version"] == "2" and a["sizes"] == ["2 files", "1.5 MB"]
    assert a["formats"] == ["application/x-netcdf", "text/csv"]
    assert a["geoLocations"][0]["geoLocationBox"]["westBoundLongitude"] == -10.0
    assert a["dates"] == [{"date": "2023-06-01/2023-08-31", "dateType": "Collected"}]
    v3 = m.datacite_attributes(md, doi="10.5072/x", version="3", previous_version="https://doi.org/10.5072/odatis.v2")
    assert v3["version"] == "3"
    assert {
        "relatedIdentifier": "10.5072/odatis.v2",
        "relatedIdentifierType": "DOI",
        "relationType": "IsNewVersionOf",
    } in v3["relatedIdentifiers"]
    m.validate_datacite(v3)
    assert "doi" not in m.datacite_attributes(md, doi=None)  # the draft given to a registrar's reserve()


def test_validate_datacite_names_the_problems(md: dict) -> None:
    a = m.datacite_attributes(md, doi="10.5072/odatis.x", url="https://vre.example.org/x")
    bad = json.loads(json.dumps(a))
    bad["relatedIdentifiers"][0]["relationType"] = "Likes"
    bad["creators"][0]["nameIdentifiers"][0]["schemeUri"] = "not a uri"
    bad["publicationYear"] = "26"
    bad["url"] = "ftp//nowhere"
    del bad["titles"]
    with pytest.raises(m.MetadataError) as exc:
        m.validate_datacite(bad)
    text = str(exc.value)
    assert "relatedIdentifiers/0/relationType: 'Likes' is not one of" in text
    assert "creators/0/nameIdentifiers/0/schemeUri: 'not a uri' is not a 'uri'" in text
    assert "publicationYear: '26' does not match" in text
    assert "'titles' is a required property" in text
    assert "url: 'ftp//nowhere' must be the http(s) URL" in text


def test_xml_is_datacite_kernel_4(md: dict) -> None:
    a = m.datacite_attributes(
        md,
        doi="10.5072/odatis.x",
        url="https://vre.example.org/x",
        provenance=[{"name": "argo", "doi": "10.17882/42182"}],
    )
    root = etree.fromstring(m.datacite_xml(a).encode())
    ns = {"d": "http://datacite.org/schema/kernel-4"}
    assert root.tag == "{http://datacite.org/schema/kernel-4}resource"
    assert root.find("d:identifier", ns).text == "10.5072/odatis.x"
    assert root.find("d:identifier", ns).get("identifierType") == "DOI"
    assert [e.text for e in root.findall("d:creators/d:creator/d:creatorName", ns)] == [
        "Carberry, Josiah",
        "Curie-Sklodowska, Marie",
        "ODATIS data centre",
    ]
    orcid = root.find("d:creators/d:creator/d:nameIdentifier", ns)
    assert orcid.get("nameIdentifierScheme") == "ORCID" and orcid.text.endswith("0000-0002-1825-0097")
    derived = root.find("d:relatedIdentifiers/d:relatedIdentifier[@relationType='IsDerivedFrom']", ns)
    assert derived.text == "10.17882/42182"
    assert root.find("d:rightsList/d:rights", ns).get("rightsIdentifier") == "cc-by-4.0"
    assert root.find("d:relatedItems/d:relatedItem", ns).get("relatedItemType") == "Software"


def test_citation_and_bibtex(md: dict) -> None:
    a = m.datacite_attributes(md, doi="10.17882/99999", url="https://vre.example.org/x")
    assert m.citation(a) == (
        "Carberry, J.; Curie-Sklodowska, M.; ODATIS data centre (2026): Sea surface temperature "
        "anomalies, Bay of Biscay, summer 2023. Version 2. ODATIS. (Dataset). "
        "https://doi.org/10.17882/99999"
    )
    bib = m.bibtex(a)
    assert bib.startswith("@misc{carberry2026_99999,\n")
    assert "  author = {Carberry, Josiah and Curie-Sklodowska, Marie and {ODATIS data centre}},\n" in bib
    assert "  doi = {10.17882/99999},\n" in bib and "  url = {https://doi.org/10.17882/99999},\n" in bib
    assert bib.count("{") == bib.count("}")
    # a local test DOI is marked as such, never given as a doi.org link
    local = m.datacite_attributes(md, doi="10.5072/odatis.x", url="https://vre.example.org/x")
    assert "NOT REGISTERED" in m.citation(local) and "https://doi.org" not in m.citation(local)
    assert "not registered" in m.bibtex(local) and "doi.org" not in m.bibtex(local)
    assert "NOT REGISTERED" in m.citation(a, registered=False)
    m.mark_unregistered_prefix("10.99999")
    assert not m.is_registered("10.99999/odatis.y") and m.is_registered("10.17882/1")


def test_schema_org_dataset(md: dict) -> None:
    a = m.datacite_attributes(
        md,
        doi="10.17882/99999",
        url="https://vre.example.org/x",
        provenance=[{"name": "argo", "doi": "10.17882/42182"}],
    )
    files = [
        {"name": "sst_anomaly.nc", "size": 1234, "sha256": "c" * 64, "url": "https://vre.example.org/x/sst_anomaly.nc"}
    ]
    d = m.schema_org(a, files)
    json.dumps(d)  # serialisable
    assert d["@context"] == "https://schema.org" and d["@type"] == "Dataset"
    assert d["@id"] == "https://doi.org/10.17882/99999" and d["identifier"]["value"] == "10.17882/99999"
    assert d["creator"][0]["@id"] == "https://orcid.org/0000-0002-1825-0097"
    assert d["creator"][0]["affiliation"]["@id"] == "https://ror.org/044jxhp58"
    assert d["creator"][2]["@type"] == "Organization"
    assert d["license"] == "https://creativecommons.org/licenses/by/4.0/legalcode"
    assert d["isBasedOn"] == ["https://doi.org/10.17882/42182"]
    assert d["spatialCoverage"]["geo"]["box"] == "43.0 -10.0 48.0 -1.0"
    assert d["temporalCoverage"] == "2023-06-01/2023-08-31"
    assert d["distribution"] == [
        {
            "@type": "DataDownload",
            "name": "sst_anomaly.nc",
            "encodingFormat": "application/x-netcdf",
            "contentUrl": "https://vre.example.org/x/sst_anomaly.nc",
            "contentSize": "1234 B",
            "sha256": "c" * 64,
        }
    ]
    assert d["funding"][0]["funder"]["@id"] == "https://ror.org/00rbzpz17"


def test_from_dataset_reads_acdd(sample_data: Path) -> None:
    sugg = m.from_dataset(sample_data / "chl_monthly.nc")
    assert sugg["licence"] == "CC-BY-4.0" and sugg["keywords"] and sugg["title"]
    md = m.load_metadata({**sugg, "creators": [{"name": "Doe, Jane"}]})
    assert md["bbox"] == sugg["bbox"] and re.match(r"\d{4}-\d{2}-\d{2}", md["time_range"][0])
    m.validate_datacite(m.datacite_attributes(md, doi="10.5072/odatis.chl"))


def test_sha256_file(tmp_path: Path) -> None:
    import hashlib

    p = tmp_path / "x.bin"
    p.write_bytes(b"odatis" * 300_000)
    assert m.sha256_file(p, chunk=4096) == hashlib.sha256(p.read_bytes()).hexdigest()


def test_normalised_metadata_loads_again_unchanged(md: dict) -> None:
    """The repository stores the normalised dict (JSON) and may check it again: same result."""
    assert m.load_metadata(json.loads(json.dumps(md))) == md
