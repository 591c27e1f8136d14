"""`odatis-vre catalog harvest`: Sextant's records (a CSW 2.0.2 stand-in on 127.0.0.1) into the catalogue.

The stand-in (tests/standins/csw.py) serves 2 200 ISO 19139 records made from realistic templates,
with missing fields, broken records, a duplicate identifier and records of another portal. Harvested
OPeNDAP / ERDDAP / NetCDF-over-HTTP / SEANOE entries load from the loopback data server of the
curated entries' tests (tests/catalog_servers.py) through the mirror.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from standins.csw import CswStandin, count_matching, generate  # noqa: E402

from odatis_vre import catalog  # noqa: E402
from odatis_vre.cli import main  # noqa: E402
from odatis_vre.data import harvest  # noqa: E402

ODATIS = [{"property": "Subject", "equals": "ODATIS"}]
N = 2200
BROKEN = 4  # no fileIdentifier, no identificationInfo, no title, the duplicate's second copy


@pytest.fixture(scope="module")
def csw() -> CswStandin:
    server = CswStandin(generate(N)).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODATIS_VRE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def harvested(csw: CswStandin, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, harvest.HarvestReport]:
    """One full harvest shared by the read-only tests."""
    out = tmp_path_factory.mktemp("harvest") / "sextant.yaml"
    report = harvest.harvest(csw.url, out, filters=ODATIS, min_interval=0, progress=False)
    return out, report


def test_standin_speaks_csw_202_to_owslib(csw: CswStandin) -> None:
    from owslib import fes
    from owslib.catalogue.csw2 import CatalogueServiceWeb
    from owslib.ows import ExceptionReport

    client = CatalogueServiceWeb(csw.url)  # reads GetCapabilities
    assert {op.name for op in client.operations} >= {"GetCapabilities", "GetRecords", "GetRecordById"}
    client.getrecords2(constraints=[fes.PropertyIsEqualTo("Subject", "ODATIS")], resulttype="hits")
    assert client.results["matches"] == count_matching(csw.records) and client.results["returned"] == 0
    client.getrecords2(
        constraints=[fes.PropertyIsLike("AnyText", "%WHOTS%")],
        esn="full",
        maxrecords=5,
        outputschema="http://www.isotc211.org/2005/gmd",
        typenames="gmd:MD_Metadata",
    )
    assert list(client.records) == ["odatis-whots-opendap"]
    assert client.records["odatis-whots-opendap"].identification[0].title.startswith("OceanSITES WHOTS")
    last = count_matching(csw.records) - 2
    client.getrecords2(constraints=[fes.PropertyIsEqualTo("Subject", "ODATIS")], startposition=last, maxrecords=10)
    assert client.results["returned"] == 3 and client.results["nextrecord"] == 0  # the last page says so
    with pytest.raises(ExceptionReport, match="outputSchema"):
        client.getrecords2(outputschema="http://example.org/unknown")
    with pytest.raises(ExceptionReport, match="CQL"):
        client.getrecords2(cql="AnyText like '%ODATIS%'")
    client.getrecordbyid(["odatis-sdc-griddap"], outputschema="http://www.isotc211.org/2005/gmd")
    assert list(client.records) == ["odatis-sdc-griddap"]


def test_full_harvest_maps_every_record_and_reports(
    harvested: tuple[Path, harvest.HarvestReport], csw: CswStandin
) -> None:
    out, report = harvested
    matched = count_matching(csw.records)
    assert matched >= 2000 and report.matched == matched == report.fetched
    assert report.pages == -(-matched // 100)
    assert sum(report.skipped.values()) == BROKEN
    assert set(report.skipped) == {
        "no fileIdentifier",
        "no identificationInfo (not a dataset description)",
        "no title",
        "duplicate identifier (the most recently modified copy is kept)",
    }
    assert report.skipped_examples["no title"] == ["odatis-no-title"]
    assert report.entries == matched - BROKEN == report.loadable + report.listed_only
    assert set(report.protocols) == {
        "opendap",
        "erddap-griddap",
        "erddap-tabledap",
        "zarr-http",
        "https-netcdf",
        "seanoe",
    }
    assert report.not_loadable["an OGC WMS layer (map images, not data)"] > 100
    text = report.summary()
    assert f"{matched} records matched" in text and "4 records skipped" in text and "loadable" in text

    cat = catalog.open(out)
    assert len(cat) == report.entries
    assert catalog.check(cat) == {}, "every harvested entry follows the entry schema"
    whots = cat.entry("sextant_odatis_whots_opendap")
    md = whots["metadata"]
    assert whots["driver"] == "opendap" and whots["args"]["urlpath"].endswith("OS_WHOTS_200408-201809_D_MLTS-1H.nc")
    assert md["bbox"] == [-158.1, 22.6, -157.8, 22.8] and md["time_range"] == ["2004-08-01", "2018-09-30"]
    assert md["data_centre"] == "Coriolis" and md["producer"] == "Ifremer" and md["theme"] == "in_situ"
    assert [link["loadable"] for link in md["links"]] == [True, False]  # OPeNDAP, and the THREDDS catalogue page
    assert "THREDDS catalogue page" in md["links"][1]["reason"]
    argo = cat.entry("sextant_odatis_argo_tabledap")["metadata"]
    assert argo["doi"] == "10.17882/42182" and argo["landing_page"] == "https://doi.org/10.17882/42182"
    assert argo["time_range"] == ["1997-07-28", None] and argo["access"]["protocol"] == "erddap-tabledap"
    assert cat.entry("sextant_odatis_seanoe_110112")["args"] == {"doi": "10.17882/110112", "file_pattern": "*.csv"}
    wms = cat.entry("sextant_odatis_wms_only")
    assert wms["driver"] == "odatis_vre.data.drivers.LinkOnlySource" and wms["metadata"]["access"]["protocol"] == "link"
    sparse = cat.entry("sextant_odatis_missing_fields")["metadata"]
    assert "bbox" not in sparse and "time_range" not in sparse and sparse["licence"].startswith("not stated")
    assert "bbox" not in cat.entry("sextant_odatis_broken_bbox")["metadata"]  # a box that is not numbers is left out
    assert "time_range" not in cat.entry("sextant_odatis_broken_dates")["metadata"]
    assert cat.entry("sextant_odatis_duplicate")["metadata"]["title"] == "Duplicated record (newer copy)"
    assert "sextant_other_catalogue_record" not in cat  # another portal's record: outside the filter


def test_plain_intake_opens_the_harvested_catalogue(harvested: tuple[Path, harvest.HarvestReport]) -> None:
    import intake

    out, report = harvested
    cat = intake.open_catalog(str(out))
    assert len(list(cat)) == report.entries
    assert cat["sextant_odatis_sdc_griddap"].describe()["driver"] == ["opendap"]
    assert cat["sextant_odatis_sdc_griddap"].metadata["doi"] is None
    with pytest.raises(Exception, match="not loadable from the VRE: an OGC WMS layer"):
        cat["sextant_odatis_wms_only"].read()


def test_iso19115_3_records_map_to_the_same_entries(
    harvested: tuple[Path, harvest.HarvestReport], csw: CswStandin, tmp_path: Path
) -> None:
    """The stand-in serves every record as ISO 19115-3 too (outputSchema mdb, GML 3.2, as GeoNetwork 4):
    OWSLib's iso3 reader plus our mapping give the entries the ISO 19139 harvest gave."""
    out, report = harvested
    n = len(csw.get_requests())
    mdb = harvest.harvest(
        csw.url, tmp_path / "mdb.yaml", filters=ODATIS, min_interval=0, progress=False, schema="iso19115-3"
    )
    bodies = [r for r in csw.get_requests()[n:]]
    assert bodies and all(r["output_schema"] == harvest.MDB for r in bodies)
    assert (mdb.entries, mdb.loadable, mdb.skipped, mdb.protocols) == (
        report.entries,
        report.loadable,
        report.skipped,
        report.protocols,
    )
    gmd_entries = json.loads(out.read_text())["sources"]
    mdb_entries = json.loads((tmp_path / "mdb.yaml").read_text())["sources"]
    assert mdb_entries == gmd_entries  # every field: title, abstract, contacts, licence, DOI, box, period, links
    whots = mdb_entries["sextant_odatis_whots_opendap"]["metadata"]
    assert whots["time_range"] == ["2004-08-01", "2018-09-30"] and whots["bbox"] == [-158.1, 22.6, -157.8, 22.8]
    assert mdb_entries["sextant_odatis_argo_tabledap"]["metadata"]["doi"] == "10.17882/42182"
    with pytest.raises(harvest.HarvestError, match="schema='iso19115'.*iso19139, iso19115-3"):
        harvest.harvest(csw.url, tmp_path / "x.yaml", schema="iso19115", progress=False)
    assert not (tmp_path / "x.yaml").exists()


def test_search_index_answers_like_a_scan_of_the_text(harvested: tuple[Path, harvest.HarvestReport]) -> None:
    """The vocabulary + postings lookup finds exactly the rows a plain substring scan of each field finds,
    for whole words, word pieces, one letter, accents and phrases with a space."""
    from odatis_vre.data.catalog_index import TEXT_FIELDS

    out, _ = harvested
    cols = catalog.open(out, use_cache=False).parts[0].columns
    for word in [
        "whots",
        "temper",
        "e",
        "a",
        "sea",
        "coriol",
        "10.17882/42182",
        "sextant_odatis_",
        "biscay,",
        "méditerranée",
        "zzzz",
        "ocean colour",
        "data centre",
    ]:
        for field in TEXT_FIELDS:
            expected = cols._scan(word, field)
            assert cols.rows_with(word, field).tolist() == expected.tolist(), (word, field)
    assert len(cols.rows_with("e", "d")) > 1000 and len(cols.rows_with("ocean colour", "dc")) > 10
    built = catalog_index_build(
        {
            "x": {
                "description": "Température de surface, Méditerranée",
                "metadata": {"title": "Sea température", "data_centre": "Météo-France"},
            }
        }
    )
    assert built.rows_with("méditerr", "d").tolist() == [0] and built.rows_with("météo-fr", "dc").tolist() == [0]
    assert built.rows_with("mediterr", "d").tolist() == []


def catalog_index_build(sources: dict) -> object:
    from odatis_vre.data.catalog_index import Columns

    return Columns.build(sources)


def test_index_beside_the_catalogue_travels_with_it(
    harvested: tuple[Path, harvest.HarvestReport], tmp_path: Path
) -> None:
    """An image copies the catalogue and its index elsewhere (new path, new modification time): the index
    is still used, since it is checked against the file's bytes; a changed file is parsed instead."""
    import os
    import shutil

    out, report = harvested
    moved = tmp_path / "image" / "sextant.yaml"
    moved.parent.mkdir()
    for suffix in ("", ".index.bin", ".index.json"):
        shutil.copy(str(out) + suffix, str(moved) + suffix)  # copy, not copy2: new times
    os.utime(moved, ns=(1, 1))
    cat = catalog.open(moved, use_cache=False)
    part = cat.parts[0]
    assert part.entries_file == moved.resolve() and not part._cache, "opened through the index, nothing parsed"
    assert (
        len(cat) == report.entries and catalog.search("whots", catalog=cat)[0]["name"] == "sextant_odatis_whots_opendap"
    )
    # the same size, other bytes: the index is not trusted
    data = bytearray(moved.read_bytes())
    i = data.index(b"OceanSITES WHOTS mooring, hourly gridded series")
    data[i : i + 10] = b"OCEANSITES"
    moved.write_bytes(bytes(data))
    cat = catalog.open(moved, use_cache=False)
    assert cat.parts[0]._cache, "parsed again"
    assert catalog.search("OCEANSITES whots", catalog=cat)[0]["name"] == "sextant_odatis_whots_opendap"


def test_an_opened_catalogue_survives_the_next_harvest(
    harvested: tuple[Path, harvest.HarvestReport], tmp_path: Path
) -> None:
    """A user's open catalogue reads its entries on demand; the next harvest renames a new file (other
    entries, other offsets) over it: the opened catalogue still reads its own entries, a new open the new."""
    out, _ = harvested
    sources = json.loads(out.read_text())["sources"]
    path = tmp_path / "sextant.yaml"
    harvest.write_catalogue(path, sources)
    cat = catalog.open(path, use_cache=False)
    assert not cat.parts[0]._cache, "opened through the index: entries not read yet"
    kept = dict(list(sources.items())[1::2])
    harvest.write_catalogue(path, kept)
    for name in ("sextant_odatis_whots_opendap", "sextant_odatis_sdc_griddap", list(sources)[0]):
        assert cat.entry(name) == sources[name]
    again = catalog.open(path, use_cache=False)
    assert len(again) == len(kept) and list(sources)[0] not in again


def test_harvested_catalogue_is_included_searchable_and_explains_what_does_not_load(
    harvested: tuple[Path, harvest.HarvestReport], tmp_path: Path
) -> None:
    out, report = harvested
    main = tmp_path / "odatis.yaml"
    curated = (Path(catalog.default_path())).read_text()
    main.write_text(curated.replace("harvested/sextant.yaml", str(out)))
    cat = catalog.open(main)
    assert len(cat) == 24 + report.entries and "sample_sst_zarr" in cat and "sextant_odatis_whots_opendap" in cat
    hits = catalog.search("whots mooring", catalog=cat)
    assert {h["name"] for h in hits[:2]} == {
        "oceansites_whots",
        "sextant_odatis_whots_opendap",
    }  # curated and harvested
    by_centre = catalog.search("temperature", data_centre="coriol", catalog=cat)
    assert by_centre and all("coriolis" in cat.raw[h["name"]]["metadata"]["data_centre"].lower() for h in by_centre)
    box = catalog.search(bbox=(-158.5, 22, -157.5, 23), time=("2010-01-01", "2010-12-31"), theme="in_situ", catalog=cat)
    assert "sextant_odatis_whots_opendap" in [h["name"] for h in box]
    with pytest.raises(
        catalog.CatalogError,
        match=r"not loadable from the VRE: an OGC WMS layer .*"
        r"https://sextant.ifremer.fr/services/wms/habitats",
    ):
        catalog.load("sextant_odatis_wms_only", catalog=cat)
    rows = {r["name"]: r for r in catalog.entries(catalog=cat)}
    assert rows["sextant_odatis_wms_only"]["loadable"] is False and rows["sextant_odatis_sdc_griddap"]["loadable"]


def test_incremental_harvest_asks_only_for_modified_records(csw: CswStandin, tmp_path: Path) -> None:
    out = tmp_path / "sextant.yaml"
    first = harvest.harvest(csw.url, out, filters=ODATIS, min_interval=0, progress=False)
    state = json.loads(harvest.state_path(out).read_text())
    newest = state["newest_modified"]
    assert newest == max(r.modified for r in csw.records if "ODATIS" in r.keywords)
    before = len(csw.get_requests())
    csw.touch("odatis-sdc-griddap", "2030-01-01T00:00:00", title="SeaDataCloud climatology V2 (edited)")
    csw.touch("odatis-wms-only", "2030-01-02T00:00:00")
    try:
        second = harvest.harvest(csw.url, out, filters=ODATIS, min_interval=0, progress=False)
    finally:
        csw.touch(
            "odatis-sdc-griddap", "2016-01-01T00:00:00", title="SeaDataCloud temperature and salinity climatology V2"
        )
        csw.touch("odatis-wms-only", "2016-01-01T00:00:00")
    assert second.since == newest and second.matched == 3  # the two edits, and the record at `newest` itself
    # one page of modified records, then the identifiers still upstream (brief records, 1 000 a page)
    mine = csw.get_requests()[before:]
    assert len(mine) == 1 + -(-first.matched // 1000)
    assert second.entries == first.entries and second.new_or_updated == 3
    assert second.stale == 0 and "every entry is still upstream" in second.summary()
    cat = catalog.open(out)
    assert cat.entry("sextant_odatis_sdc_griddap")["metadata"]["title"] == "SeaDataCloud climatology V2 (edited)"
    # a record that leaves the filter upstream (or is deleted) stays until --full, and the report says so
    csw.touch("odatis-wms-only", "2030-02-01T00:00:00", keywords=["EMODnet"])
    try:
        third = harvest.harvest(csw.url, out, filters=ODATIS, min_interval=0, progress=False)
        assert third.stale == 1 and third.stale_examples == ["sextant_odatis_wms_only"]
        assert "1 entries are no longer upstream" in third.summary() and "--full" in third.summary()
        assert "sextant_odatis_wms_only" in catalog.open(out)
        full = harvest.harvest(csw.url, out, filters=ODATIS, min_interval=0, progress=False, incremental=False)
        assert full.since is None and full.matched == first.matched - 1 and full.stale is None
        assert "sextant_odatis_wms_only" not in catalog.open(out)
    finally:
        csw.touch("odatis-wms-only", "2016-01-01T00:00:00", keywords=["ODATIS", "benthic habitats", "Bay of Biscay"])


def test_interrupted_harvest_keeps_the_previous_catalogue_and_resumes(csw: CswStandin, tmp_path: Path) -> None:
    out = tmp_path / "sextant.yaml"
    harvest.harvest(csw.url, out, filters=ODATIS, min_interval=0, progress=False, max_records=150)
    previous = out.read_bytes()
    csw.fail_at(1201, "broken-xml", times=3)  # 3 tries (retries=2): the page fails for good
    with pytest.raises(
        harvest.HarvestError,
        match=r"GetRecords at record 1201 failed after 3 tries.*"
        r"previous catalogue .* is unchanged.*resume at record 1201",
    ):
        harvest.harvest(csw.url, out, filters=ODATIS, min_interval=0, progress=False, incremental=False)
    assert out.read_bytes() == previous  # still the previous catalogue, whole
    assert catalog.open(out, use_cache=False) is not None
    assert harvest.partial_dir(out).is_dir()
    n = len(csw.get_requests())
    report = harvest.harvest(csw.url, out, filters=ODATIS, min_interval=0, progress=False, incremental=False)
    starts = [r["start"] for r in csw.get_requests()[n:]]
    assert report.resumed_from == 1201 and starts[0] == 1201, "the pages already fetched are not asked again"
    assert report.fetched == report.matched and report.entries == report.matched - BROKEN
    assert not harvest.partial_dir(out).exists()
    # a transient failure (one HTTP 500) is retried within the same harvest
    csw.fail_at(101, "http500", times=1)
    again = harvest.harvest(csw.url, tmp_path / "other.yaml", filters=ODATIS, min_interval=0, progress=False)
    assert again.entries == report.entries and again.requests == again.pages + 1


def test_harvest_is_rate_limited(csw: CswStandin, tmp_path: Path) -> None:
    n = len(csw.get_requests())
    harvest.harvest(
        csw.url, tmp_path / "s.yaml", filters=ODATIS, min_interval=0.3, page_size=50, max_records=200, progress=False
    )
    mine = csw.get_requests()[n:]
    times = [r["t"] for r in mine]
    assert len(times) == 4 and min(np.diff(times)) >= 0.29
    assert all(r["user_agent"].startswith("odatis-vre/") for r in mine)  # every request names the VRE


def test_bad_input_is_refused_clearly_and_writes_nothing(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    out = tmp_path / "sextant.yaml"
    with pytest.raises(harvest.HarvestError, match=r"failed after 1 tries.*previous catalogue .* is unchanged"):
        harvest.harvest(f"http://127.0.0.1:{port}/csw", out, min_interval=0, retries=0, progress=False)
    assert not out.exists()
    with pytest.raises(harvest.HarvestError, match="give a property and `equals` or `like`"):
        harvest.harvest(f"http://127.0.0.1:{port}/csw", out, filters=[{"property": "AnyText"}], progress=False)
    with pytest.raises(harvest.HarvestError, match="page_size=0"):
        harvest.harvest(f"http://127.0.0.1:{port}/csw", out, page_size=0, progress=False)
    runner = CliRunner()
    r = runner.invoke(main, ["catalog", "harvest", "--filter", "ODATIS"])
    assert r.exit_code == 2 and "write PROPERTY=VALUE or PROPERTY~PATTERN" in r.output
    r = runner.invoke(main, ["catalog", "harvest", "nosuchsource"])
    assert r.exit_code == 1 and "no harvest source 'nosuchsource'" in r.output and "sextant" in r.output
    r = runner.invoke(
        main,
        [
            "catalog",
            "harvest",
            "--endpoint",
            f"http://127.0.0.1:{port}/csw",
            "--dest",
            str(out),
            "--min-interval",
            "0",
            "-q",
        ],
    )
    assert r.exit_code == 1 and "failed after" in r.output and not out.exists()


def test_cli_harvest_report_and_search(csw: CswStandin, tmp_path: Path) -> None:
    out = tmp_path / "sextant.yaml"
    runner = CliRunner()
    r = runner.invoke(
        main,
        [
            "catalog",
            "harvest",
            "--endpoint",
            csw.url,
            "--filter",
            "Subject=ODATIS",
            "--dest",
            str(out),
            "--min-interval",
            "0",
            "--max-records",
            "300",
            "-o",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["matched"] == 300 and rep["entries"] + sum(rep["skipped"].values()) == 300
    r = runner.invoke(main, ["catalog", "harvest", "--help"])
    assert "Examples:" in r.output and "--full" in r.output and "resume" in r.output
    r = runner.invoke(main, ["catalog", "search", "whots", "--data-centre", "coriolis", "--catalog", str(out)])
    assert r.exit_code == 0 and "sextant_odatis_whots_opendap" in r.output


@pytest.mark.slow
def test_harvested_entries_load_from_the_loopback_mirrors(
    harvested: tuple[Path, harvest.HarvestReport], sample_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from catalog_servers import DataServer

    from odatis_vre.data import mirror

    out, _ = harvested
    root = mirror.build_local_copy(tmp_path_factory.mktemp("copy"), sample_data)
    server = DataServer(root).start()
    try:
        cat = catalog.open(out)
        m = server.mirror()
        whots = catalog.load("sextant_odatis_whots_opendap", catalog=cat, mirror=m, time=("2023-01-03", "2023-01-04"))
        assert whots.TEMP.size > 0 and np.isfinite(whots.TEMP.values).any()
        curated = catalog.load("oceansites_whots", mirror=m, time=("2023-01-03", "2023-01-04"))
        np.testing.assert_array_equal(whots.TEMP.values, curated.TEMP.values)
        grid = catalog.load(
            "sextant_odatis_sdc_griddap", catalog=cat, mirror=m, bbox=(-10, 43, -2, 48), variables=["Temperature"]
        )
        assert float(grid.latitude.min()) >= 43 and np.isfinite(grid.Temperature.values).any()
        argo = catalog.load(
            "sextant_odatis_argo_tabledap",
            catalog=cat,
            mirror=m,
            bbox=(-10, 43, -2, 48),
            time=("2023-03-01", "2023-04-30"),
        ).compute()
        assert len(argo) > 0 and argo.latitude.between(43, 48).all()
        # the box and period are sent to ERDDAP (erddapy writes times as epoch seconds: 1677628800 = 2023-03-01)
        sent = [r for r in server.requests if "/erddap/tabledap/ArgoFloats.csv?" in r]
        assert any("latitude%3E=43.0" in r and "time%3E=1677628800" in r for r in sent), sent
        floats = catalog.load("sextant_odatis_argo_float_http", catalog=cat, mirror=m)
        assert "TEMP" in floats.data_vars and floats.sizes["N_PROF"] > 0
        cyto = catalog.load("sextant_odatis_seanoe_110112", catalog=cat, mirror=m)
        assert len(cyto) > 0 and "abundance" in cyto.columns
        # a harvested Zarr store, read over HTTP from the loopback server (its copy of a Copernicus store)
        zarr_entry = cat.entry("sextant_odatis_zarr")
        assert zarr_entry["driver"] == "zarr" and zarr_entry["metadata"]["access"]["protocol"] == "zarr-http"
        store = "copernicus/METOFFICE-GLO-SST-L4-NRT-OBS-SST-V2"
        m_zarr = {**m, zarr_entry["args"]["urlpath"]: f"{server.url}/{store}"}
        sst = catalog.load(
            "sextant_odatis_zarr", catalog=cat, mirror=m_zarr, bbox=(-6, 44, -1, 48), time=("2023-01-02", "2023-01-05")
        )
        assert any(r.startswith(f"GET /{store}/.zmetadata") for r in server.requests)
        import xarray as xr

        local = xr.open_zarr(root / store).sel(
            latitude=slice(44, 48), longitude=slice(-6, -1), time=slice("2023-01-02", "2023-01-05T23:59:59")
        )
        assert sst.analysed_sst.sizes == local.analysed_sst.sizes and sst.analysed_sst.size > 0
        np.testing.assert_array_equal(sst.analysed_sst.values, local.analysed_sst.values)
    finally:
        server.stop()
