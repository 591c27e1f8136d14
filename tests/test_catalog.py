"""The catalogue: plain intake, search, describe, cite, load, provenance, bad input, CLI."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import intake
import pytest
import yaml
from click.testing import CliRunner

from odatis_vre import catalog, provenance
from odatis_vre.cli import main

REPO = Path(__file__).resolve().parents[1]
CAT = REPO / "catalog" / "odatis.yaml"
FIELDS = (
    "title",
    "producer",
    "data_centre",
    "licence",
    "citation",
    "bbox",
    "time_range",
    "variables",
    "access",
    "theme",
)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODATIS_VRE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("ODATIS_VRE_MIRROR", raising=False)
    monkeypatch.delenv("ODATIS_VRE_CATALOG", raising=False)


def test_plain_intake_opens_the_catalogue() -> None:
    cat = intake.open_catalog(str(CAT))
    names = list(cat)
    assert {"sample_sst_daily", "sample_sst_zarr", "sample_argo_profiles", "sample_mooring", "sample_chl"} <= set(names)
    assert cat.sample_chl.metadata["theme"] == "biogeochemistry"


def test_plain_intake_reads_a_sample(sample_data: Path) -> None:
    ds = intake.open_catalog(str(CAT)).sample_chl.to_dask()
    assert "CHL" in ds and ds.CHL.attrs["units"] == "mg m-3"


def test_every_entry_is_valid_and_complete() -> None:
    cat = catalog.open(CAT)
    assert catalog.check(cat) == {}
    remote = [n for n in cat if not cat.raw[n]["metadata"].get("sample")]
    assert len(remote) >= 12
    themes = {cat.raw[n]["metadata"]["theme"] for n in cat}
    assert {"physics", "biogeochemistry", "in_situ"} <= themes
    for n in cat:
        md = cat.raw[n]["metadata"]
        for f in FIELDS:
            assert md.get(f) not in (None, "", []), (n, f)
        assert md.get("doi") or md.get("landing_page"), n
        assert all("standard_name" in v for v in md["variables"]), n
    logins = [n for n in remote if cat.raw[n]["metadata"]["access"]["login"]]
    assert logins and all(cat.raw[n]["metadata"]["access"]["protocol"] == "copernicusmarine" for n in logins)
    seanoe = [n for n in remote if str(cat.raw[n]["metadata"].get("doi", "")).startswith("10.17882/")]
    assert seanoe


def test_open_uses_its_index_cache() -> None:
    # an earlier test of the session may have opened the file (the process keeps it): start afresh
    catalog._PARTS.clear()
    t = time.perf_counter()
    catalog.open(CAT)
    catalog.open(CAT)
    warm = time.perf_counter() - t
    assert warm < 1.0
    cache_files = list(Path(os.environ["ODATIS_VRE_CACHE_DIR"]).glob("catalog-*.index.bin"))
    assert cache_files


def test_search_ranks_and_filters() -> None:
    cat = catalog.open(CAT)
    hits = catalog.search("chlorophyll", catalog=cat)
    names = [h["name"] for h in hits]
    assert {"sample_chl", "cmems_globcolour_chl", "argo_erddap_bgc"} <= set(names)
    assert all(
        "chl" in catalog.describe(n, catalog=cat)["metadata"]["title"].lower()
        or "chlorophyll" in json.dumps(catalog.describe(n, catalog=cat)).lower()
        for n in names
    )
    # every word must match
    assert catalog.search("chlorophyll mooring", catalog=cat) == []
    # a box outside the samples' region excludes them; a box inside ranks regional data first
    pacific = [h["name"] for h in catalog.search("temperature", bbox=(-160, 20, -150, 25), catalog=cat)]
    assert "sample_sst_zarr" not in pacific and "oceansites_whots" in pacific
    biscay = [h["name"] for h in catalog.search("sea surface temperature", bbox=(-10, 43, -2, 48), catalog=cat)]
    assert biscay[:2] == ["sample_sst_daily", "sample_sst_zarr"] and "cmems_sst_ostia" in biscay
    # time: the climatology (to 2017) does not overlap 2025
    recent = [h["name"] for h in catalog.search(time=("2025-01-01", "2025-02-01"), catalog=cat)]
    assert "sdc_climatology_ts" not in recent and "cmems_sst_ostia" in recent and "sample_chl" not in recent
    # variables by CF standard name, theme filter
    oxy = [h["name"] for h in catalog.search(variables=["moles_of_oxygen"], catalog=cat)]
    assert oxy == ["argo_erddap_bgc"]
    assert {h["theme"] for h in catalog.search(theme="in_situ", catalog=cat)} == {"in_situ"}
    with pytest.raises(catalog.CatalogError, match="theme"):
        catalog.search(theme="ocean", catalog=cat)
    with pytest.raises(catalog.CatalogError, match="south"):
        catalog.search(bbox=(0, 50, 10, 40), catalog=cat)


def test_describe_and_cite() -> None:
    d = catalog.describe("argo_gdac_float")
    assert d["problems"] == [] and d["metadata"]["doi"] == "10.17882/42182" and "wmo" in d["parameters"]
    text = catalog.cite("argo_gdac_float")
    assert text.startswith("Argo (2000). Argo float data and metadata") and "https://doi.org/10.17882/42182" in text
    bib = catalog.cite("cmems_sst_ostia", style="bibtex")
    assert (
        bib.startswith("@misc{cmems_sst_ostia,") and "doi = {10.48670/moi-00165}" in bib and bib.rstrip().endswith("}")
    )
    with pytest.raises(catalog.CatalogError, match="did you mean sample_chl"):
        catalog.describe("sample_chla")


def test_load_samples_lazily_with_subsets(sample_data: Path) -> None:
    provenance.clear()
    ds = catalog.load("sample_sst_zarr", bbox=(-6, 44, -1, 48), time=("2023-06-01", "2023-08-31"))
    assert ds.analysed_sst.chunks is not None  # lazy (dask)
    assert ds.sizes["time"] == 92 and float(ds.lat.min()) >= 44 and float(ds.lon.max()) <= -1
    prof = catalog.load("sample_argo_profiles", bbox=(-10, 43, -5, 48), time=("2023-03-01", "2023-05-31"))
    assert prof.sizes["N_PROF"] > 0
    assert ((prof.LATITUDE >= 43) & (prof.LATITUDE <= 48) & (prof.LONGITUDE <= -5)).all()
    assert str(prof.JULD.min().values) >= "2023-03-01"
    m = catalog.load("sample_mooring", variables=["TEMP"], time=("2023-07-01", "2023-07-01"))
    assert list(m.data_vars) == ["TEMP"] and m.sizes["time"] == 24
    chl = catalog.load("sample_chl", time=("2023-04-01", "2023-05-31"))
    assert chl.sizes["time"] == 2
    names = [r["name"] for r in provenance.opened()]
    assert names == ["sample_sst_zarr", "sample_argo_profiles", "sample_mooring", "sample_chl"]
    assert all(r["opened_at"] and r["title"] for r in provenance.opened())
    with pytest.raises(catalog.CatalogError, match="NOPE not in the dataset"):
        catalog.load("sample_chl", variables=["NOPE"])


@pytest.mark.slow
def test_load_daily_files(sample_data: Path) -> None:
    ds = catalog.load("sample_sst_daily", time=("2023-06-01", "2023-06-10"))
    assert ds.sizes["time"] == 10 and ds.analysed_sst.dims == ("time", "lat", "lon")
    z = catalog.load("sample_sst_zarr", time=("2023-06-01", "2023-06-10"))
    assert float(abs(ds.analysed_sst - z.analysed_sst).max()) == 0.0


def test_provenance_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prov.jsonl"
    monkeypatch.setenv("ODATIS_VRE_PROVENANCE_FILE", str(path))
    provenance.clear()
    provenance.record("a", title="A", doi="10.17882/42182", url="https://x")
    provenance.record("a", title="A", doi="10.17882/42182", url="https://x")
    assert len(provenance.opened()) == 1
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == 2 and lines[0]["doi"] == "10.17882/42182"
    assert provenance.read_file(path)[0]["name"] == "a"
    provenance.clear()
    assert provenance.opened() == []


def test_copernicus_without_toolbox_says_how_to_log_in() -> None:
    with pytest.raises(catalog.CatalogError) as err:
        catalog.load("cmems_sst_ostia")
    msg = str(err.value)
    assert "cmems_sst_ostia" in msg and "copernicusmarine login" in msg and "access" in msg


def _bad_catalogue(tmp: Path, sample_data: Path) -> Path:
    data = yaml.safe_load(CAT.read_text())
    src = data["sources"]
    keep = {k: src[k] for k in ("sample_chl", "sample_mooring", "argo_gdac_float")}
    no_licence = json.loads(json.dumps(src["sample_chl"]))
    del no_licence["metadata"]["licence"]
    bad_driver = json.loads(json.dumps(src["sample_chl"]))
    bad_driver["driver"] = "netcdff"
    bad_bbox = json.loads(json.dumps(src["sample_chl"]))
    bad_bbox["metadata"]["bbox"] = [-15, 52, 0, 40]
    dead = json.loads(json.dumps(src["argo_gdac_float"]))
    dead["args"]["urlpath"] = "http://127.0.0.1:9/dac/{{ dac }}/{{ wmo }}/{{ wmo }}_prof.nc"
    keep.update(no_licence=no_licence, bad_driver=bad_driver, bad_bbox=bad_bbox, dead_url=dead, not_a_mapping="oops")
    data["sources"] = keep
    (tmp / "data").symlink_to(sample_data)
    path = tmp / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_bad_entries_are_named_and_the_rest_still_works(tmp_path: Path, sample_data: Path) -> None:
    path = _bad_catalogue(tmp_path, sample_data)
    cat = catalog.open(path)
    problems = catalog.check(cat)
    assert set(problems) == {"no_licence", "bad_driver", "bad_bbox", "not_a_mapping"}
    assert any(p.startswith("metadata.licence: missing") for p in problems["no_licence"])
    assert any(p.startswith("driver: unknown driver 'netcdff'") for p in problems["bad_driver"])
    assert any(p.startswith("metadata.bbox: south 52 is above north 40") for p in problems["bad_bbox"])
    with pytest.raises(catalog.CatalogError, match=r"'no_licence'.*\n.*metadata\.licence: missing"):
        catalog.load("no_licence", catalog=cat)
    with pytest.raises(catalog.CatalogError, match=r"'bad_driver'.*\n.*driver: unknown driver 'netcdff'"):
        catalog.load("bad_driver", catalog=cat)
    with pytest.raises(catalog.CatalogError, match=r"'dead_url': field args.urlpath: cannot open http://127.0.0.1:9/"):
        catalog.load("dead_url", catalog=cat)
    # the rest opens and loads, with our API and with plain intake
    assert catalog.load("sample_chl", catalog=cat).sizes["time"] == 24
    assert "sample_mooring" in [h["name"] for h in catalog.search("mooring", catalog=cat)]
    result = CliRunner().invoke(main, ["catalog", "check", str(path)])
    assert result.exit_code == 1
    assert "bad_bbox: metadata.bbox: south 52 is above north 40" in result.output
    assert "4/8 entries valid" in result.output  # 3 good + dead_url (valid, but unreachable)


def test_unparseable_yaml_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("sources:\n  a: {driver: netcdf\n")
    with pytest.raises(catalog.CatalogError, match="not valid YAML at line"):
        catalog.open(p)
    with pytest.raises(catalog.CatalogError, match="no such catalogue file"):
        catalog.open(tmp_path / "absent.yaml")


def test_cli_commands(sample_data: Path) -> None:
    run = CliRunner().invoke
    r = run(main, ["catalog", "list", "--theme", "biogeochemistry"])
    assert r.exit_code == 0 and "sample_chl" in r.output and "[login]" in r.output and "sample_sst_zarr" not in r.output
    r = run(main, ["catalog", "search", "chlorophyll", "--bbox", "-10,43,-2,48", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)[0]["name"] in {"sample_chl", "cmems_globcolour_chl"}
    r = run(main, ["catalog", "search", "--variable", "sea_water_practical_salinity", "--time", "2023-01-01/"])
    assert r.exit_code == 0 and "sample_mooring" in r.output
    r = run(main, ["catalog", "search", "nothing-matches-this"])
    assert r.exit_code == 1
    r = run(main, ["catalog", "show", "sample_sst_zarr"])
    assert r.exit_code == 0 and "sea_surface_foundation_temperature" in r.output and "problems: []" in r.output
    r = run(main, ["catalog", "cite", "argo_gdac_float", "--bibtex"])
    assert r.exit_code == 0 and "@misc{argo_gdac_float" in r.output
    r = run(main, ["catalog", "check"])
    assert r.exit_code == 0 and "entries valid" in r.output
    r = run(main, ["catalog", "search", "--bbox", "1,2,3"])
    assert r.exit_code != 0 and "west,south,east,north" in r.output


def test_missing_sample_data_says_how_to_make_it(tmp_path: Path) -> None:
    shutil.copy(CAT, tmp_path / "odatis.yaml")
    cat = catalog.open(tmp_path / "odatis.yaml")
    for name in ("sample_chl", "sample_sst_zarr", "sample_sst_daily"):
        with pytest.raises(catalog.CatalogError, match=rf"'{name}': field args.urlpath: .*odatis-vre data samples"):
            catalog.load(name, catalog=cat)


def test_mirror_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    from odatis_vre.data import mirror

    m = {
        "https://data-argo.ifremer.fr": "http://127.0.0.1:1/gdac",
        "https://data-argo.ifremer.fr/dac": "http://127.0.0.1:2/d",
        "copernicusmarine://": "http://127.0.0.1:1/copernicus/",
    }
    assert mirror.rewrite("https://data-argo.ifremer.fr/dac/x/1/1_prof.nc", m) == "http://127.0.0.1:2/d/x/1/1_prof.nc"
    assert (
        mirror.rewrite("https://data-argo.ifremer.fr/ar_index_global_prof.txt", m)
        == "http://127.0.0.1:1/gdac/ar_index_global_prof.txt"
    )
    assert mirror.rewrite("copernicusmarine://abc", m) == "http://127.0.0.1:1/copernicus/abc"
    assert mirror.rewrite("https://other.org/x", m) == "https://other.org/x"
    monkeypatch.setenv("ODATIS_VRE_MIRROR", "{not json")
    with pytest.raises(mirror.MirrorError, match="ODATIS_VRE_MIRROR is not valid JSON"):
        mirror.rewrite("https://data-argo.ifremer.fr/x")
