"""Facts computed from the data, the ACDD attributes and scores they give, the OAI-PMH answers (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
from lxml import etree
from test_repository import META, PUBLISHER_EMAIL

from odatis_vre.data import samples
from odatis_vre.publishing import conventions, datafacts, metadata
from odatis_vre.publishing.repository import oai


def test_a_subset_is_described_by_its_own_coordinates_not_its_source() -> None:
    source = samples.sst_dataset(days=90)
    sub = source.sel(time=slice("2023-02-01", "2023-02-28"), lat=slice(44, 47), lon=slice(-6, -2))
    f = datafacts.describe(sub)
    assert source.attrs["time_coverage_start"] != f["time"]["start"] == "2023-02-01T12:00:00Z"
    assert (f["time"]["end"], f["time"]["duration"], f["time"]["resolution"]) == ("2023-02-28T12:00:00Z", "P27D", "P1D")
    g = f["geospatial"]
    assert (g["lon_min"], g["lat_min"], g["lon_max"], g["lat_max"]) == (-6.0, 44.0, -2.0, 47.0)
    assert g["bounds"] == "POLYGON ((-2 44, -2 47, -6 47, -6 44, -2 44))" and g["gridded"]
    assert f["vertical"]["surface"] and f["dims"] == {"time": 28, "lat": 13, "lon": 17}
    monthly = datafacts.describe(sub.resample(time="1MS").mean())
    assert monthly["time"]["resolution"] is None  # one month: no step to tell
    two = datafacts.describe(source.resample(time="1MS").mean())
    assert two["time"]["resolution"] == "P1M" and two["time"]["start"] == "2023-01-01T00:00:00Z"
    # metadata suggested from the dataset: computed box and period, not the source's attributes
    assert metadata.from_dataset(sub)["time_range"] == ["2023-02-01T12:00:00Z", "2023-02-28T12:00:00Z"]


def test_annotated_file_scores_publishable_and_valid_range_is_typed() -> None:
    md = metadata.load_metadata(META)
    sub = samples.sst_dataset(days=10).isel(time=slice(2, 6))
    ds = datafacts.annotate(
        sub,
        md,
        doi="10.5072/odatis.test",
        landing_url="https://vre.example.org/d/x/v1/",
        steps=[{"what": "anomalies: sub - sub.mean('time')", "at": "2026-01-01T10:00:00+00:00"}],
        created="2026-01-02T00:00:00Z",
        publisher_email=PUBLISHER_EMAIL,
    )
    assert type(ds.analysed_sst.attrs["valid_min"]) is np.float32
    lines = ds.attrs["history"].splitlines()
    assert lines[0].startswith("2026-01-02T00:00:00Z odatis_vre.publish.deposit")
    assert lines[1] == "2026-01-01T10:00:00Z anomalies: sub - sub.mean('time')"
    assert ds.attrs["creator_email"] == "josiah.carberry@example.org" and ds.attrs["id"] == "10.5072/odatis.test"
    s = conventions.score(ds)
    assert s["cf"]["high"] == 0 and s["cf"]["percent"] == 100.0
    assert s["acdd"]["percent"] >= conventions.ACDD_MIN_PERCENT and s["publishable"]
    conventions.require(ds)


def test_refusal_lists_what_to_add() -> None:
    md = metadata.load_metadata(
        {k: META[k] for k in ("title", "licence", "keywords", "abstract")} | {"creators": ["Carberry, Josiah"]}
    )
    ds = datafacts.annotate(samples.sst_dataset(days=3), md)
    with pytest.raises(conventions.ConventionsError) as exc:
        conventions.require(ds)
    text = str(exc.value)
    assert "95 % needed" in text and "ACDD-1.3 score" in text, text
    for attr in ("creator_email", "publisher_email", "program", "references", "instrument", "platform"):
        assert f"  - {attr}: " in text, (attr, text)
    assert exc.value.scores["acdd"]["percent"] < 95


def test_bad_metadata_for_the_new_fields_is_named() -> None:
    with pytest.raises(metadata.MetadataError) as exc:
        metadata.load_metadata(
            META | {"creators": [{"name": "Doe, Jane", "email": "not-an-address"}], "platform": {"vocab": "x"}}
        )
    text = str(exc.value)
    assert "creators[0].email: 'not-an-address' is not an e-mail address" in text
    assert "platform: write a name" in text


def _provider(n: int = 3) -> oai.Provider:
    md = metadata.load_metadata(META)
    records = [
        oai.Record(
            f"abcdefghi{i}.v1",
            f"2026-01-0{i + 1}T10:00:00+00:00",
            "physics" if i else "in_situ",
            metadata.datacite_attributes(md, doi=f"10.5072/odatis.{i}", url=f"https://x.org/{i}/"),
        )
        for i in range(n)
    ]
    return oai.Provider(
        base_url="https://vre.example.org/services/repository/oai",
        name="ODATIS",
        email=PUBLISHER_EMAIL,
        earliest="2026-01-01T10:00:00Z",
        records=lambda: records,
    )


def _error(xml: bytes) -> str | None:
    el = etree.fromstring(xml).find(f"{{{oai.OAI_NS}}}error")
    return None if el is None else el.get("code")


def test_oai_pmh_errors_paging_and_sets() -> None:
    p = _provider()
    assert _error(oai.respond({}, p)) == "badVerb"
    assert _error(oai.respond({"verb": "Frobnicate"}, p)) == "badVerb"
    assert _error(oai.respond({"verb": "ListRecords"}, p)) == "badArgument"
    assert _error(oai.respond({"verb": "ListRecords", "metadataPrefix": "marc"}, p)) == "cannotDisseminateFormat"
    assert (
        _error(oai.respond({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:x:y"}, p))
        == "idDoesNotExist"
    )
    assert (
        _error(oai.respond({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2027-01-01"}, p))
        == "noRecordsMatch"
    )
    assert _error(oai.respond({"verb": "ListRecords", "resumptionToken": "garbage!"}, p)) == "badResumptionToken"
    assert (
        _error(oai.respond({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "01/01/2026"}, p))
        == "badArgument"
    )
    # paging: two per page, the token carries the request
    first = etree.fromstring(oai.respond({"verb": "ListIdentifiers", "metadataPrefix": "oai_datacite"}, p, page=2))
    ns = {"o": oai.OAI_NS}
    assert len(first.findall(".//o:header", ns)) == 2
    token = first.find(".//o:resumptionToken", ns)
    assert token.get("completeListSize") == "3" and token.text
    second = etree.fromstring(oai.respond({"verb": "ListIdentifiers", "resumptionToken": token.text}, p, page=2))
    assert [h.findtext("o:identifier", namespaces=ns) for h in second.findall(".//o:header", ns)] == [
        "oai:vre.example.org:abcdefghi2.v1"
    ]
    assert not second.find(".//o:resumptionToken", ns).text  # the last page: an empty token
    # sets: community:in_situ holds the first record only
    ins = etree.fromstring(
        oai.respond({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "community:in_situ"}, p)
    )
    assert [h.findtext("o:identifier", namespaces=ns) for h in ins.findall(".//o:header", ns)] == [
        "oai:vre.example.org:abcdefghi0.v1"
    ]


@pytest.mark.parametrize("doc", ["publishing.md", "repository.md"])
@pytest.mark.parametrize("monthly", [False, True], ids=["subset", "monthly-means"])
def test_the_documented_metadata_make_a_publishable_file(monthly: bool, doc: str) -> None:
    """The docs' meta.yaml, as a user copies it, on a subset of the sample (or its monthly means)."""
    from test_repository import docs_example_metadata

    md = metadata.load_metadata(docs_example_metadata(doc))
    ds = samples.sst_dataset(days=120).sel(time=slice("2023-02-10", "2023-04-20"), lat=slice(43, 48))
    if monthly:
        ds = ds.resample(time="1MS").mean(keep_attrs=True)
    annotated = datafacts.annotate(
        ds,
        md,
        doi="10.5072/odatis.docs",
        landing_url="https://vre.example.org/d/x/v1/",
        publisher_email=PUBLISHER_EMAIL,
        publisher_url="https://vre.example.org/",
    )
    s = conventions.score(annotated)
    assert s["cf"]["high"] == 0 and s["acdd"]["percent"] >= conventions.ACDD_MIN_PERCENT and s["publishable"], s
    if doc == "publishing.md":
        assert annotated.attrs["creator_type"] == "group"  # a person and an organisation: one ACDD value
    assert annotated.attrs["time_coverage_start"] == ("2023-02-01T00:00:00Z" if monthly else "2023-02-10T12:00:00Z")


def test_refusal_names_the_metadata_fields_to_add() -> None:
    """Without e-mail, platform, instrument and programme the documented example is refused, naming those fields
    as the user writes them in meta.yaml, with what to write; nothing is left to fix in the data."""
    from test_repository import docs_example_metadata

    raw = {k: v for k, v in docs_example_metadata().items() if k not in ("platform", "instrument", "program")}
    raw["creators"] = [{k: v for k, v in c.items() if k != "email"} for c in raw["creators"]]
    ds = datafacts.annotate(
        samples.sst_dataset(days=5),
        metadata.load_metadata(raw),
        doi="10.5072/odatis.docs",
        landing_url="https://vre.example.org/d/x/v1/",
        publisher_email=PUBLISHER_EMAIL,
    )
    with pytest.raises(conventions.ConventionsError) as raw_exc:
        conventions.require(ds)
    exc = datafacts.metadata_refusal(raw_exc.value)
    assert [f.field for f in exc.fields] == ["creators[].email", "instrument", "platform", "program"]
    text = str(exc)
    assert "Add to the metadata (meta.yaml" in text and "at least 95 % needed" in text, text
    assert (
        "  - creators[].email — e.g. email: josiah.carberry@example.org under at least one creator "
        "(ACDD creator_email)" in text
    )
    assert "platform: {name: Models/Analyses, vocabulary: GCMD Platform Keywords}" in text
    assert "fix these attributes in the data" not in text  # nothing the user has to change in the data
    assert exc.problems == raw_exc.value.problems and exc.scores == raw_exc.value.scores
    # what the repository must set (publisher_email) is named as such, not as a field of the user's
    bare = datafacts.annotate(samples.sst_dataset(days=5), metadata.load_metadata(raw))
    with pytest.raises(conventions.ConventionsError) as bare_exc:
        conventions.require(bare)
    assert "services.repository.publisher_email" in str(datafacts.metadata_refusal(bare_exc.value))


def test_a_deposit_drops_who_made_the_source() -> None:
    """The source's creator, publisher, identifiers and programme do not describe the deposit; where its data
    come from (platform, source, comment) still does."""
    src = samples.sst_dataset(days=3)
    src.attrs.update(
        creator_email="someone@source.example.org",
        publisher_email="data@source.example.org",
        program="Source programme",
        platform="Aqua",
        platform_vocabulary="GCMD Platform Keywords",
        references="https://doi.org/10.1/source",
        id="source-id",
    )
    md = metadata.load_metadata(
        {k: META[k] for k in ("title", "licence", "keywords", "abstract")} | {"creators": ["Carberry, Josiah"]}
    )
    a = datafacts.annotate(src, md).attrs
    for gone in ("creator_email", "publisher_email", "program", "references", "id"):
        assert gone not in a, gone
    assert (a["platform"], a["platform_vocabulary"]) == ("Aqua", "GCMD Platform Keywords")
    assert a["comment"] == src.attrs["comment"] and a["creator_name"] == "Carberry, Josiah"
    assert a["creator_type"] == "person" and "institution" not in a  # the source's institution is not the depositor's
    # the user's platform replaces the source's, vocabulary and all
    mine = datafacts.annotate(src, metadata.load_metadata(META | {"platform": "Argo float"})).attrs
    assert (mine["platform"], mine["platform_vocabulary"]) == ("Argo float", "free text")
