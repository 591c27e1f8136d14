"""Every remote entry's loading code, run against local copies served from 127.0.0.1.

The stand-ins (tests/catalog_servers.py) speak each entry's protocol: plain HTTP files with the
Argo GDAC layout and index files, ERDDAP tabledap CSV, OPeNDAP (DAP2) for ERDDAP griddap and
THREDDS, Zarr over HTTP for Copernicus Marine. The mirror maps the real roots to them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from catalog_servers import DataServer  # noqa: E402

from odatis_vre import catalog, provenance
from odatis_vre.cli import main  # noqa: E402
from odatis_vre.data import mirror  # noqa: E402

pytestmark = pytest.mark.slow
BISCAY = (-10, 43, -2, 48)

# name → load arguments; the test below checks that this covers every remote entry of the catalogue
CASES = {
    "argo_gdac_float": dict(wmo="6904017"),
    "argo_gdac_index_prof": dict(bbox=BISCAY),
    "argo_gdac_index_bgc": dict(time=("2023-03-01", "2023-04-30")),
    "argo_gdac_index_synthetic": dict(),
    "argo_erddap_profiles": dict(bbox=BISCAY, time=("2023-03-01", "2023-04-30")),
    "argo_erddap_index": dict(time=("2023-02-01", "2023-02-28")),
    "argo_erddap_bgc": dict(bbox=BISCAY, time=("2023-01-01", "2023-12-31"), variables=["doxy_adjusted"]),
    "gliders_erddap": dict(),
    "sdc_climatology_ts": dict(bbox=BISCAY, variables=["Temperature"]),
    "oceansites_whots": dict(time=("2023-01-03", "2023-01-04")),
    "cmems_sst_ostia": dict(bbox=BISCAY, time=("2023-01-05", "2023-01-09")),
    "cmems_phy_anfc_thetao": dict(bbox=BISCAY),
    "cmems_sealevel_l4": dict(time=("2023-01-01", "2023-01-10")),
    "cmems_globcolour_chl": dict(bbox=BISCAY),
    "cmems_carbon_surface": dict(variables=["ph"]),
    "somlit_roscoff_cytometry": dict(bbox=(-4.0, 48.75, -3.9, 48.8), time=("2003-01-01", "2003-06-30")),
    "marel_carnot_cytometry": dict(time=("2021-05-01", "2021-05-07")),
    "emso_azores_tempo_annotations": dict(time=("2014-01-01", "2014-12-31")),
    "obis_occurrences": dict(bbox=BISCAY, time=("2011-01-01", "2018-12-31")),
}


@pytest.fixture(scope="module")
def server(sample_data: Path, tmp_path_factory: pytest.TempPathFactory) -> DataServer:
    root = mirror.build_local_copy(tmp_path_factory.mktemp("copy"), sample_data)
    srv = DataServer(root).start()
    yield srv
    srv.stop()


def test_cases_cover_every_remote_entry() -> None:
    cat = catalog.open()
    # the curated entries (harvested ones, when a harvest has run, are tested by tests/test_harvest.py)
    remote = {n for n in cat if not cat.raw[n]["metadata"].get("sample") and "harvest" not in cat.raw[n]["metadata"]}
    assert remote == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_remote_entry_loads_from_its_local_copy(name: str, server: DataServer, sample_data: Path) -> None:
    provenance.clear()
    before = len(server.requests)
    obj = catalog.load(name, mirror=server.mirror(), **CASES[name])
    if hasattr(obj, "compute") and not hasattr(obj, "data_vars"):
        obj = obj.compute()  # dask DataFrame → pandas
    if hasattr(obj, "data_vars"):
        obj = obj.load()
        assert all(s > 0 for s in obj.sizes.values()), dict(obj.sizes)
        assert np.isfinite(obj[list(obj.data_vars)[0]].values).any()
    else:
        assert len(obj) > 0
    assert len(server.requests) > before, "the entry did not read from the local server"
    rec = provenance.opened()
    assert [r["name"] for r in rec] == [name]
    md = catalog.describe(name)["metadata"]
    assert rec[0]["doi"] == md.get("doi")
    kw = CASES[name]
    # the subset asked for is what came back
    if "bbox" in kw:
        w, s, e, n = kw["bbox"]
        lat = next(
            c for c in ("latitude", "lat", "LATITUDE") if c in getattr(obj, "variables", getattr(obj, "columns", []))
        )
        lon = {"latitude": "longitude", "lat": "lon", "LATITUDE": "LONGITUDE"}[lat]
        assert float(obj[lat].min()) >= s and float(obj[lat].max()) <= n
        assert float(obj[lon].min()) >= w and float(obj[lon].max()) <= e
    if "time" in kw:
        tcol = next(c for c in ("time", "date", "TIME") if c in getattr(obj, "variables", getattr(obj, "columns", [])))
        tv = pd.to_datetime(np.asarray(obj[tcol]), utc=True)
        assert tv.min() >= pd.Timestamp(kw["time"][0], tz="UTC")
        assert tv.max() < pd.Timestamp(kw["time"][1], tz="UTC") + pd.Timedelta(days=1)
    if "variables" in kw and hasattr(obj, "data_vars"):
        assert list(obj.data_vars) == kw["variables"]


def test_argo_float_file_has_the_sample_values(server: DataServer, sample_data: Path) -> None:
    ds = catalog.load("argo_gdac_float", mirror=server.mirror(), wmo="6904017").load()
    ref = xr.open_dataset(sample_data / "argo_profiles.nc")
    ref = ref.isel(N_PROF=np.nonzero(ref.PLATFORM_NUMBER.values == "6904017")[0])
    np.testing.assert_allclose(ds.TEMP.values, ref.TEMP.values)
    np.testing.assert_array_equal(ds.JULD.values.astype("datetime64[s]"), ref.JULD.values.astype("datetime64[s]"))


def _erddap_times(query: set[str], op: str) -> list[pd.Timestamp]:
    """The values of a query's ``time<op>...`` constraints (ISO 8601 or seconds since 1970, both ERDDAP's)."""
    out = []
    for part in query:
        if part.startswith(f"time{op}") and not part[len(f"time{op}") :].startswith("="):
            text = part[len(f"time{op}") :].strip('"')
            try:
                out.append(pd.Timestamp(float(text), unit="s", tz="UTC"))
            except ValueError:
                out.append(pd.Timestamp(text).tz_convert("UTC"))
    return out


def test_erddap_constraints_are_sent_to_the_server(server: DataServer) -> None:
    df = catalog.load(
        "argo_erddap_profiles", mirror=server.mirror(), bbox=(-12, 42, -6, 47), time=("2023-02-01", "2023-02-28")
    ).compute()
    import urllib.parse

    # windows are fetched in parallel: look at every request of this load, whatever their order
    queries = [
        set(urllib.parse.unquote(r.split("?", 1)[1]).split("&")) for r in server.requests if "ArgoFloats.csv" in r
    ][-3:]
    assert all({"latitude>=42.0", "latitude<=47.0", "longitude>=-12.0"} <= q for q in queries)
    # the period's last day is included whole (erddapy sends times as seconds since 1970, as ERDDAP allows)
    assert any(pd.Timestamp("2023-03-01", tz="UTC") in _erddap_times(q, "<") for q in queries)
    # the first 10-day window starts with the period
    assert any(pd.Timestamp("2023-02-01", tz="UTC") in _erddap_times(q, ">=") for q in queries)
    assert df.time.dt.tz is not None and len(df) > 0
    # an empty answer (ERDDAP: HTTP 404 "no matching results") is an empty table, not an error
    empty = catalog.load("argo_erddap_profiles", mirror=server.mirror(), time=("1990-01-01", "1990-01-02"))
    assert len(empty) == 0 and "temp" in empty.columns


def test_erddap_tables_are_lazy_one_request_per_window(server: DataServer) -> None:
    """A 3-month period with 10-day windows: one request when the frame is made, the rest on compute()."""
    import dask.dataframe as dd

    from odatis_vre.data.drivers import ErddapTabledapSource

    before = len(server.requests)
    ddf = catalog.load("argo_erddap_profiles", mirror=server.mirror(), time=("2023-01-01", "2023-03-31"))
    assert isinstance(ddf, dd.DataFrame) and ddf.npartitions == 9
    assert len(server.requests) - before == 1  # only the first window (its columns give the dtypes)
    df = ddf.compute()
    assert len(server.requests) - before == 9
    # the same rows as one unchunked request (windows come in time order; rows within one as the server sends them)
    whole = ErddapTabledapSource(
        "https://erddap.ifremer.fr/erddap",
        "ArgoFloats",
        columns=list(df.columns),
        start="2023-01-01",
        end="2023-03-31",
        west=-15.0,
        south=40.0,
        east=0.0,
        north=52.0,
        mirror=server.mirror(),
    ).read()
    keys = ["time", "platform_number", "pres"]
    pd.testing.assert_frame_equal(
        df.sort_values(keys).reset_index(drop=True), whole.sort_values(keys).reset_index(drop=True)
    )
    assert str(df.time.dt.tz) == "UTC"
    starts = [ddf.get_partition(i).time.min().compute() for i in (0, 4, 8)]
    assert starts == sorted(starts)
    # an empty window in the middle keeps the frame's dtypes
    gap = ErddapTabledapSource(
        "https://erddap.ifremer.fr/erddap",
        "OceanGlidersGDACTrajectories",
        columns=["platform_code", "time", "depth"],
        start="2023-04-28",
        end="2023-05-02",
        chunk="1D",
        mirror=server.mirror(),
    ).to_dask()
    parts = [gap.get_partition(i).compute() for i in range(gap.npartitions)]
    assert [len(p) for p in parts][:3] == [0, 0, 0] and len(parts[-1]) > 0
    assert all(p.dtypes.equals(parts[-1].dtypes) for p in parts)
    with pytest.raises(Exception, match="not a pandas frequency"):
        ErddapTabledapSource("https://x/erddap", "d", start="2023-01-01", end="2023-02-01", chunk="ten days").windows()


def test_opendap_strided_reads_match_xarray(server: DataServer) -> None:
    """The probe found wrong strided reads in one OPeNDAP server: check ours against xarray."""
    url = server.mirror()["https://erddap.ifremer.fr/erddap"] + "/griddap/SDC_GLO_CLIM_TS_V2_2"
    remote = xr.open_dataset(url, engine="netcdf4")
    local = xr.open_dataset(Path(server.root) / "erddap" / "griddap" / "SDC_GLO_CLIM_TS_V2_2.nc")
    sel = dict(time=slice(1, 11, 3), depth=slice(0, 6, 2), latitude=slice(3, 40, 7), longitude=slice(0, 61, 5))
    np.testing.assert_array_equal(remote.Temperature.isel(sel).values, local.Temperature.isel(sel).values)
    np.testing.assert_array_equal(remote.time.values, local.time.values)


def test_check_online_against_the_mirror(server: DataServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv("ODATIS_VRE_MIRROR", json.dumps(server.mirror()))
    result = CliRunner().invoke(main, ["catalog", "check", "--online", "--timeout", "20"])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok  ") == len(catalog.open())
    # an unreachable endpoint is reported, by name, and fails the check
    monkeypatch.setenv(
        "ODATIS_VRE_MIRROR", json.dumps({**server.mirror(), "https://data-argo.ifremer.fr": "http://127.0.0.1:9/gdac"})
    )
    result = CliRunner().invoke(main, ["catalog", "check", "--online", "--timeout", "5"])
    assert result.exit_code == 1
    assert "FAIL  argo_gdac_index_prof: http://127.0.0.1:9/gdac/ar_index_global_prof.txt.gz" in result.output


def test_indexed_daily_files_equal_open_mfdataset(
    sample_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sample_sst_daily` opens from a cached index of its files: same dataset as xarray's open_mfdataset."""
    import glob
    import shutil

    from odatis_vre.data.drivers import open_files_indexed

    monkeypatch.setenv("ODATIS_VRE_CACHE_DIR", str(tmp_path / "cache"))
    files = sorted(glob.glob(str(sample_data / "sst_daily" / "*.nc")))
    ref = xr.open_mfdataset(
        files, combine="by_coords", data_vars="minimal", coords="minimal", compat="override", chunks={}
    )
    ds = catalog.load("sample_sst_daily")  # builds the index
    assert list((tmp_path / "cache" / "file-index").glob("*.pickle"))
    ds = catalog.load("sample_sst_daily")  # from the index
    xr.testing.assert_identical(ds, ref)  # values, coordinates, attributes
    assert ds.analysed_sst.chunks == ref.analysed_sst.chunks
    # a changed file invalidates the index; files given out of order come back in time order
    few = []
    for f in files[:4]:
        shutil.copy(f, tmp_path / Path(f).name)
        few.append(str(tmp_path / Path(f).name))
    first = open_files_indexed(few[::-1])
    assert list(first.time.values) == list(ref.time.values[:4])
    import netCDF4

    with netCDF4.Dataset(few[2], "r+") as nc:  # same file, new values (and a new modification time)
        nc.variables["analysed_sst"][:] = nc.variables["analysed_sst"][:] + 10
    again = open_files_indexed(few)
    np.testing.assert_allclose(again.analysed_sst[2].values, ref.analysed_sst[2].values + 10)
    # files that differ in more than time fall back to open_mfdataset's general combination
    other = xr.open_dataset(few[3]).load().rename({"analysed_sst": "sst"})
    other.to_netcdf(few[3] + ".new")
    Path(few[3] + ".new").replace(few[3])
    with pytest.raises(ValueError, match="differs from .* in more than its 'time' values"):
        open_files_indexed(few)
