"""Time-optimised copies: built from real NetCDF files and Zarr stores, checked against xarray's own reads."""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner
from vre_testing import sample_catalog

from odatis_vre import timeseries
from odatis_vre.cli import main as cli_main
from odatis_vre.data.timecopy import read as timecopy_read

DAYS = 40
VAR = "analysed_sst"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small catalogue (the sample entries of catalog/odatis.yaml) over 40 days of generated data."""
    keep = ("sample_sst_daily", "sample_sst_zarr", "sample_argo_profiles")
    return sample_catalog(tmp_path_factory.mktemp("ts"), DAYS, keep.__contains__, argo_cycles=3).parent


@pytest.fixture()
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    # every test sees the files as they are now, not a verdict remembered from a previous test
    monkeypatch.setattr(timeseries, "RECHECK_SECONDS", 0.0)
    timeseries._FRESH.clear()
    timeseries._COPIES.clear()
    timeseries._SOURCES.clear()


def _reference(root: Path) -> xr.DataArray:
    return xr.open_zarr(root / "data" / "sst.zarr")[VAR].load()


@pytest.mark.parametrize(
    "entry, copy_name", [("sample_sst_zarr", "sst.time.zarr"), ("sample_sst_daily", "sst_daily.time.zarr")]
)
def test_build_copy_equals_source_and_is_time_chunked(
    data: Path, fresh_state: None, entry: str, copy_name: str
) -> None:
    cat = data / "odatis.yaml"
    assert timeseries.status(entry, catalog=cat)["state"] == "missing"
    assert timeseries.find(entry, catalog=cat) is None
    path = timeseries.build(entry, catalog=cat, tile=8, progress=False)
    assert path == data / "data" / copy_name
    assert timeseries.status(entry, catalog=cat)["state"] == "fresh"
    assert timeseries.find(entry, catalog=cat) == path
    copy = xr.open_zarr(path)
    ref = _reference(data)
    np.testing.assert_array_equal(copy[VAR].values, ref.values)
    np.testing.assert_array_equal(copy.time.values, ref.time.values)
    assert copy[VAR].encoding["chunks"] == (DAYS, 8, 8)
    assert copy[VAR].attrs["units"] == "degree_Celsius"
    assert not list(path.parent.glob(f".{copy_name}.tmp-*"))


def test_point_series_reads_the_copy_and_matches_xarray(data: Path, fresh_state: None) -> None:
    cat = data / "odatis.yaml"
    timeseries.build("sample_sst_zarr", catalog=cat, progress=False)
    ref = _reference(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", timeseries.SlowPathWarning)
        for lon, lat in [(-5.1, 46.1), (-14.9, 51.9), (-10.0, 40.0), (-0.1, 51.1)]:
            s = timeseries.point_series("sample_sst_zarr", VAR, lon, lat, catalog=cat)
            expect = ref.sel(lon=lon, lat=lat, method="nearest")
            assert s.attrs["read_from"] == "time-optimised copy"
            np.testing.assert_array_equal(s.values, expect.values)
            np.testing.assert_array_equal(s.time.values, expect.time.values)
            assert (float(s.lon), float(s.lat)) == (float(expect.lon), float(expect.lat))
    # the explorer's path: the same numbers without xarray
    t, v, where = timeseries.point_values("sample_sst_zarr", VAR, -5.1, 46.1, catalog=cat)
    np.testing.assert_array_equal(v, ref.sel(lon=-5.0, lat=46.0).values)
    assert where == (-5.0, 46.0) and t.size == DAYS
    # a period: only those days
    s = timeseries.point_series("sample_sst_zarr", VAR, -5, 46, time=("2023-01-10", "2023-01-20"), catalog=cat)
    np.testing.assert_array_equal(
        s.values, ref.sel(lon=-5, lat=46, time=slice("2023-01-10", "2023-01-20T23:59")).values
    )
    assert s.sizes["time"] == 11


def test_clicks_keep_a_bounded_set_of_chunk_files_open(
    data: Path, fresh_state: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clicks reuse open chunk files (one pread each), at most OPEN_CHUNK_FILES; a rebuild closes them."""
    store = tmp_path / "sst.zarr"
    shutil.copytree(data / "data" / "sst.zarr", store)
    path = timeseries.build(str(store), tile=4, progress=False)  # small tiles: many chunk files
    monkeypatch.setattr(timecopy_read, "OPEN_CHUNK_FILES", 5)
    ref = _reference(data)
    fds_before = len(os.listdir("/proc/self/fd"))
    grid = [(float(x), float(y)) for x in ref.lon.values[::6] for y in ref.lat.values[::6]]
    for lon, lat in grid + grid[:3]:  # more tiles than kept open, then back to the first ones
        _, v, _ = timeseries.point_values(str(store), VAR, lon, lat)
        np.testing.assert_array_equal(v, ref.sel(lon=lon, lat=lat).values)
    tc = timeseries.TimeCopy.open(path)
    assert 1 <= len(tc._fds) <= 5 and len(os.listdir("/proc/self/fd")) - fds_before <= 5
    # the copy is rebuilt: the next click opens the new one and the old descriptors are closed (no
    # descriptor of this process still points at a chunk file of the replaced, deleted copy)
    timeseries.build(str(store), tile=4, progress=False, force=True)
    timeseries.point_values(str(store), VAR, *grid[0])
    assert not tc._fds and timeseries.TimeCopy.open(path) is not tc

    def open_files() -> list[str]:
        out = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                out.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass
        return out

    assert not [f for f in open_files() if f.startswith(str(path)) and f.endswith("(deleted)")]
    assert [f for f in open_files() if f.startswith(str(path))]  # the new copy's file, kept open


def test_land_point_is_all_missing(data: Path, fresh_state: None) -> None:
    cat = data / "odatis.yaml"
    timeseries.build("sample_sst_zarr", catalog=cat, progress=False)
    s = timeseries.point_series("sample_sst_zarr", VAR, -3.0, 41.0, catalog=cat)  # Spain
    assert s.sizes["time"] == DAYS and np.isnan(s.values).all()


def test_box_series_is_the_weighted_area_mean(data: Path, fresh_state: None) -> None:
    cat = data / "odatis.yaml"
    timeseries.build("sample_sst_daily", catalog=cat, tile=8, progress=False)
    box = (-8.0, 44.0, -2.0, 47.5)  # over sea and land (French coast): missing values are ignored
    m = timeseries.box_series("sample_sst_daily", VAR, box, catalog=cat)
    sub = _reference(data).sel(lon=slice(-8, -2), lat=slice(44, 47.5))
    expect = sub.weighted(np.cos(np.deg2rad(sub.lat))).mean(("lat", "lon"))
    assert m.attrs["read_from"] == "time-optimised copy"
    assert m.attrs["n_points"] == sub.lat.size * sub.lon.size
    np.testing.assert_allclose(m.values, expect.values, rtol=1e-6)
    # the fallback path (a Dataset has no copy) gives the same numbers, with a hint
    with pytest.warns(timeseries.SlowPathWarning, match="time-optimised copy"):
        m2 = timeseries.box_series(xr.open_zarr(data / "data" / "sst.zarr"), VAR, box)
    assert m2.attrs["read_from"] == "original data"
    np.testing.assert_allclose(m2.values, m.values, rtol=1e-6)


def test_whole_copy_as_a_lazy_dataarray(data: Path, fresh_state: None) -> None:
    """open_dataarray: raw reads of the copy's chunk files, any grouping of tiles, equal to the source."""
    from odatis_vre import analysis

    cat = data / "odatis.yaml"
    timeseries.build("sample_sst_zarr", catalog=cat, tile=8, progress=False)
    ref = _reference(data)
    for tiles in (1, 2, 3):  # one chunk per block (no copy), 2 x 2, and blocks cut by the grid's edge
        da = timeseries.open_dataarray("sample_sst_zarr", VAR, tiles=tiles, catalog=cat)
        assert da.chunks[0] == (DAYS,) and set(da.chunks[1][:-1]) <= {8 * tiles}
        assert da.dims == ref.dims and da.attrs["units"] == "degree_Celsius"
        np.testing.assert_array_equal(da.time.values, ref.time.values)
        np.testing.assert_array_equal(da.lat.values, ref.lat.values)
        np.testing.assert_array_equal(da.values, ref.values)  # NaN where the source has NaN (land tiles too)
        # a climatology reduces the copy tile by tile (mapped files, no block assembled); the same numbers
        assert timeseries.tile_source(da) is not None
        clim = analysis.climatology(da)
        assert any("map_series" in str(k) for k in dict(clim.data.__dask_graph__()))
        np.testing.assert_allclose(clim.compute().values, ref.groupby("time.month").mean().values, rtol=1e-6)
    # tasks of any size (here one tile each, edge tiles cut by the grid) give the same maps
    labels, codes = np.unique(da.time.dt.month.values, return_inverse=True)
    small = timeseries.tile_source(da).map_series(
        analysis._group_means_series, labels.size, task_bytes=1, codes=codes, ngroups=labels.size
    )
    assert small.npartitions == 7 * 8
    np.testing.assert_allclose(small.compute(), ref.groupby("time.month").mean().values, rtol=1e-6)
    # once subset, the array is no longer the copy's blocks: the general path, the same numbers
    part = da.isel(lat=slice(3, 20))
    assert timeseries.tile_source(part) is None
    clim = analysis.climatology(part)
    assert not any("map_series" in str(k) for k in dict(clim.data.__dask_graph__()))
    np.testing.assert_allclose(
        clim.compute().values, ref.isel(lat=slice(3, 20)).groupby("time.month").mean().values, rtol=1e-6
    )
    seasons = analysis.climatology(da, freq="season").compute()  # runs of 3 months: float64 sums
    np.testing.assert_allclose(seasons.values, ref.groupby("time.season").mean().values, rtol=1e-6)
    with pytest.raises(timeseries.TimeSeriesError, match="is not in sample_sst_zarr"):
        timeseries.open_dataarray("sample_sst_zarr", "salinity", catalog=cat)


def test_missing_copy_falls_back_with_a_hint(data: Path, fresh_state: None, tmp_path: Path) -> None:
    store = tmp_path / "sst.zarr"
    shutil.copytree(data / "data" / "sst.zarr", store)
    with pytest.warns(timeseries.SlowPathWarning, match=r"odatis-vre timeseries build .*sst\.zarr"):
        s = timeseries.point_series(str(store), VAR, -5, 46)
    assert s.attrs["read_from"] == "original data"
    np.testing.assert_array_equal(s.values, _reference(data).sel(lon=-5, lat=46).values)
    with pytest.raises(timeseries.TimeSeriesError, match="timeseries build"):
        timeseries.point_values(str(store), VAR, -5, 46)
    with pytest.raises(timeseries.NoFreshCopy, match="timeseries build"):
        timeseries.open_dataarray(str(store), VAR)


def test_stale_copy_is_never_used(data: Path, fresh_state: None, tmp_path: Path) -> None:
    folder = tmp_path / "sst_daily"
    shutil.copytree(data / "data" / "sst_daily", folder)
    pattern = str(folder / "*.nc")
    timeseries.build(pattern, progress=False)
    assert timeseries.find(pattern) is not None
    before = timeseries.point_series(pattern, VAR, -5, 46)

    # a provider rewrites one day in place with other values: the copy must not serve the old ones
    day = sorted(folder.glob("*.nc"))[3]
    with xr.open_dataset(day) as ds:
        changed = ds.load()
    changed[VAR] = changed[VAR] + 1.5
    tmp = day.with_suffix(".tmp")
    changed.to_netcdf(tmp)
    os.replace(tmp, day)
    assert timeseries.status(pattern)["state"] == "stale"
    assert timeseries.find(pattern) is None
    with pytest.warns(timeseries.SlowPathWarning, match="changed"):
        after = timeseries.point_series(pattern, VAR, -5, 46)
    assert after.attrs["read_from"] == "original data"
    assert after.values[3] == pytest.approx(before.values[3] + 1.5, abs=1e-4)

    # rebuilt: fresh again, with the new values
    timeseries.build(pattern, progress=False)
    again = timeseries.point_series(pattern, VAR, -5, 46)
    assert again.attrs["read_from"] == "time-optimised copy"
    np.testing.assert_allclose(again.values, after.values)

    # a new daily file arrives: stale at once (the folder changed), even within the recheck delay
    timeseries.RECHECK_SECONDS = 3600.0
    timeseries.find(pattern)
    shutil.copy(sorted(folder.glob("*.nc"))[-1], folder / "20300101-extra.nc")
    assert timeseries.find(pattern) is None


def test_failed_build_leaves_the_old_copy_intact(data: Path, fresh_state: None, tmp_path: Path) -> None:
    folder = tmp_path / "sst_daily"
    shutil.copytree(data / "data" / "sst_daily", folder)
    pattern = str(folder / "*.nc")
    path = timeseries.build(pattern, progress=False)
    good = xr.open_zarr(path)[VAR].values
    victim = sorted(folder.glob("*.nc"))[-1]
    victim.write_bytes(b"not a netcdf file")
    with pytest.raises(timeseries.TimeSeriesError, match=f"cannot read .*{victim.name}.*repair or remove"):
        timeseries.build(pattern, progress=False, force=True)
    assert not list(tmp_path.glob(".*.tmp-*")), "half-written copy left behind"
    np.testing.assert_array_equal(xr.open_zarr(path)[VAR].values, good)
    assert timeseries.find(pattern) is None  # and it is not used: the source changed


def test_a_copy_rebuilt_elsewhere_is_reopened(data: Path, fresh_state: None, tmp_path: Path) -> None:
    """Another process rebuilds the copy with another layout: this process must not read it with the old one."""
    store = tmp_path / "sst.zarr"
    shutil.copytree(data / "data" / "sst.zarr", store)
    timeseries.RECHECK_SECONDS = 3600.0
    timeseries.build(str(store), tile=4, progress=False)
    first = timeseries.point_series(str(store), VAR, -5, 46)
    assert timeseries.TimeCopy.open(tmp_path / "sst.time.zarr").arrays[VAR]["chunks"][1:] == (4, 4)
    copy = tmp_path / "sst.time.zarr"
    other = tmp_path / "other.time.zarr"
    timeseries.build(str(store), tile=7, dest=other, progress=False)
    shutil.rmtree(copy)
    os.replace(other, copy)  # what a build in another process does
    again = timeseries.point_series(str(store), VAR, -5, 46)
    np.testing.assert_array_equal(again.values, first.values)
    assert timeseries.TimeCopy.open(copy).arrays[VAR]["chunks"][1:] == (7, 7)


def test_longitudes_0_360(tmp_path: Path, fresh_state: None) -> None:
    lon = np.arange(0.0, 360.0, 30.0)
    lat = np.array([-30.0, 0.0, 30.0])
    t = np.arange("2024-01-01", "2024-01-11", dtype="datetime64[D]").astype("datetime64[ns]")
    vals = np.random.default_rng(1).normal(size=(t.size, lat.size, lon.size)).astype("f4")
    xr.Dataset({"v": (("time", "lat", "lon"), vals)}, coords={"time": t, "lat": lat, "lon": lon}).to_zarr(
        tmp_path / "g.zarr", zarr_format=2
    )
    timeseries.build(str(tmp_path / "g.zarr"), progress=False, tile=2)
    s = timeseries.point_series(str(tmp_path / "g.zarr"), "v", -30.0, 1.0)  # = 330°E, 0°N
    assert float(s.lon) == 330.0 and float(s.lat) == 0.0
    np.testing.assert_array_equal(s.values, vals[:, 1, 11])


def test_bad_input_says_what_to_fix(data: Path, fresh_state: None) -> None:
    cat = data / "odatis.yaml"
    timeseries.build("sample_sst_zarr", catalog=cat, progress=False)
    cases = [
        (
            lambda: timeseries.point_series("sample_sst_zarr", VAR, 30.0, 46.0, catalog=cat),
            r"outside .*grid \(lon -15..0",
        ),
        (lambda: timeseries.point_series("sample_sst_zarr", VAR, float("nan"), 46.0, catalog=cat), "finite"),
        (
            lambda: timeseries.point_series("sample_sst_zarr", "sst", -5, 46, catalog=cat),
            r"'sst' is not in .*analysed_sst",
        ),
        (lambda: timeseries.box_series("sample_sst_zarr", VAR, (5, 44, 6, 45), catalog=cat), "no grid point"),
        (lambda: timeseries.box_series("sample_sst_zarr", VAR, (-2, 44, -8, 45), catalog=cat), "west <= east"),
        (lambda: timeseries.box_series("sample_sst_zarr", VAR, "north", catalog=cat), "four numbers"),
        (lambda: timeseries.point_series("sample_sst_zar", VAR, -5, 46, catalog=cat), "did you mean sample_sst_zarr"),
        (
            lambda: timeseries.build("sample_argo_profiles", catalog=cat, progress=False),
            "no time dimension|latitude dimension",
        ),
        (lambda: timeseries.build("/nonexistent/x.zarr", progress=False), "does not exist"),
        (lambda: timeseries.build("https://example.org/x.zarr", progress=False), "remote"),
        (lambda: timeseries.build("sample_sst_zarr", catalog=cat, tile=0, progress=False), "tile=0"),
        (lambda: timeseries.point_series("sample_sst_zarr", VAR, -5, 46, time=("x", "y"), catalog=cat), "start, end"),
    ]
    for call, message in cases:
        with pytest.raises(timeseries.TimeSeriesError, match=message):
            call()


def test_cli_build_status_point(data: Path, fresh_state: None, tmp_path: Path) -> None:
    store = tmp_path / "sst.zarr"
    shutil.copytree(data / "data" / "sst.zarr", store)
    runner = CliRunner()
    r = runner.invoke(cli_main, ["timeseries", "status", str(store)])
    assert r.exit_code == 1 and "missing" in r.output
    r = runner.invoke(cli_main, ["timeseries", "point", str(store), VAR, "--lon", "-5", "--lat", "46", "--csv"])
    assert r.exit_code == 0, r.output
    assert "timeseries build" in r.stderr
    r = runner.invoke(cli_main, ["timeseries", "build", "-q", "--tile", "4", str(store)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "sst.time.zarr").is_dir()
    r = runner.invoke(cli_main, ["timeseries", "status", str(store)])
    assert r.exit_code == 0 and "fresh" in r.output
    r = runner.invoke(
        cli_main,
        [
            "timeseries",
            "point",
            str(store),
            VAR,
            "--lon",
            "-5",
            "--lat",
            "46",
            "--csv",
            "--time",
            "2023-01-01/2023-01-03",
        ],
    )
    assert r.exit_code == 0 and r.stderr == ""
    lines = r.stdout.strip().splitlines()
    assert lines[0] == f"time,{VAR}" and len(lines) == 4
    expect = _reference(data).sel(lon=-5, lat=46).values[:3]
    np.testing.assert_allclose([float(x.split(",")[1]) for x in lines[1:]], expect, rtol=1e-6)
    r = runner.invoke(cli_main, ["timeseries", "point", str(store), VAR, "--lon", "50", "--lat", "46"])
    assert r.exit_code == 1 and "outside" in r.output
    r = runner.invoke(cli_main, ["timeseries", "build", "--max-memory", "lots", str(store)])
    assert r.exit_code == 2 and "512M" in r.output


def test_point_is_instant(data: Path, fresh_state: None) -> None:
    cat = data / "odatis.yaml"
    timeseries.build("sample_sst_daily", catalog=cat, progress=False)
    timeseries.RECHECK_SECONDS = 10.0
    timeseries.point_values("sample_sst_daily", VAR, -5, 46, catalog=cat)
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        timeseries.point_values("sample_sst_daily", VAR, -5, 46, catalog=cat)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.005, f"median {np.median(times) * 1e3:.2f} ms"
