"""odatis_vre.analysis against plain numpy/scipy references on small data, and its laziness."""

from __future__ import annotations

from typing import Any

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr
from dask.callbacks import Callback
from scipy import stats

from odatis_vre import analysis
from odatis_vre.analysis import AnalysisError
from odatis_vre.data import samples

# ----------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def daily() -> xr.DataArray:
    """3 years of daily values on a 5 × 6 grid: seasonal cycle + trend + noise, one land point, gaps."""
    rng = np.random.default_rng(1)
    time = xr.date_range("2001-01-01", "2003-12-31", freq="D")
    lat = np.array([40.0, 42.5, 45.0, 47.5, 50.0])
    lon = np.array([-10.0, -8.0, -6.0, -4.0, -2.0, 0.0])
    doy = time.dayofyear.values
    years = (time.values - time.values[0]) / np.timedelta64(1, "D") / 365.2425
    slope = np.linspace(-0.5, 1.0, lat.size * lon.size).reshape(lat.size, lon.size)
    values = (
        15
        + 3 * np.sin(2 * np.pi * doy / 365.25)[:, None, None]
        + slope[None] * years[:, None, None]
        + rng.normal(0, 0.8, (time.size, lat.size, lon.size))
    )
    values[:, 0, 5] = np.nan  # land
    values[rng.random(values.shape) < 0.05] = np.nan  # clouds / gaps
    da = xr.DataArray(
        values.astype("float32"),
        dims=("time", "lat", "lon"),
        name="sst",
        coords={"time": time, "lat": lat, "lon": lon},
        attrs={"units": "degree_Celsius", "long_name": "sea surface temperature"},
    )
    return da.chunk({"time": 50, "lat": 3, "lon": 6})


class Counter(Callback):
    """Counts dask computations and remembers the largest result any task produced."""

    def __init__(self) -> None:
        super().__init__()
        self.computes = 0
        self.max_nbytes = 0

    def _start(self, dsk: Any) -> None:
        self.computes += 1

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.max_nbytes = max(self.max_nbytes, int(getattr(result, "nbytes", 0)))


def _boom(block: np.ndarray) -> np.ndarray:
    raise AssertionError("data was read while building a lazy result")


def poisoned(da: xr.DataArray) -> xr.DataArray:
    """The same array, but reading any chunk raises."""
    return da.copy(data=dsa.map_blocks(_boom, da.data, dtype=da.dtype))


def month_index(da: xr.DataArray) -> np.ndarray:
    return da.time.dt.month.values


def numpy_climatology(da: xr.DataArray) -> np.ndarray:
    """The reference: ``np.nanmean`` of each calendar month's days (all-NaN points warn, as numpy does)."""
    values, months = da.values, month_index(da)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        return np.stack([np.nanmean(values[months == m], axis=0) for m in range(1, 13)])


# ----------------------------------------------------------------------------- climatology / anomalies


def test_climatology_matches_numpy(daily: xr.DataArray) -> None:
    with Counter() as c:
        clim = analysis.climatology(daily)
    assert c.computes == 0 and analysis.is_lazy(clim)
    ref = numpy_climatology(daily)
    with Counter() as c:
        got = clim.compute()
    assert got.dims == ("month", "lat", "lon") and got.month.values.tolist() == list(range(1, 13))
    np.testing.assert_allclose(got.values, ref, rtol=1e-5, equal_nan=True)
    assert np.isnan(got.values[:, 0, 5]).all() and np.isfinite(got.values[:, 1:, :]).all()
    # no task ever held more than a few chunks: the full array was never in memory
    assert c.max_nbytes < daily.nbytes / 10
    assert got.attrs["units"] == "degree_Celsius"


@pytest.mark.parametrize("chunks", [{"time": -1, "lat": 2, "lon": 3}, {"time": 1}, {"time": 400}])
def test_climatology_strategies_agree(daily: xr.DataArray, chunks: dict[str, int]) -> None:
    """Whole-period chunks (time-optimised copies), one step per chunk (daily files), chunks spanning months."""
    data = daily.chunk(chunks)
    values, months = daily.values, month_index(daily)
    ref = numpy_climatology(daily)
    with Counter() as c:
        got = analysis.climatology(data).compute()
    np.testing.assert_allclose(got.values, ref, rtol=1e-5, equal_nan=True)
    assert got.dtype == np.float32 and list(got.dims) == ["month", "lat", "lon"]
    assert c.max_nbytes < daily.nbytes / 3
    seasons = analysis.climatology(data, freq="season").compute()
    jja = np.isin(months, [6, 7, 8])
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        np.testing.assert_allclose(
            seasons.sel(season="JJA").values, np.nanmean(values[jja], axis=0), rtol=1e-5, equal_nan=True
        )


def test_climatology_of_whole_period_chunks_is_one_task_per_chunk(daily: xr.DataArray) -> None:
    data = daily.chunk({"time": -1, "lat": 1, "lon": 6})
    clim = analysis.climatology(data)
    graph = dict(clim.data.__dask_graph__())
    own = [k for k in graph if isinstance(k, tuple) and "group_means" in str(k[0])]
    assert len(own) == data.data.npartitions == 5


def test_climatology_seasons_and_dayofyear(daily: xr.DataArray) -> None:
    seas = analysis.climatology(daily, freq="season").compute()
    values, months = daily.values, month_index(daily)
    jja = np.isin(months, [6, 7, 8])
    doy = analysis.climatology(daily, freq="dayofyear").compute()
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):  # the land point is all-NaN
        ref_jja = np.nanmean(values[jja], axis=0)
        ref_32 = np.nanmean(values[daily.time.dt.dayofyear.values == 32], axis=0)
    np.testing.assert_allclose(seas.sel(season="JJA").values, ref_jja, rtol=1e-5, equal_nan=True)
    assert sorted(seas.season.values.tolist()) == ["DJF", "JJA", "MAM", "SON"]
    assert doy.sizes["dayofyear"] == 365
    np.testing.assert_allclose(doy.sel(dayofyear=32).values, ref_32, rtol=1e-5, equal_nan=True)


def test_anomalies_match_numpy(daily: xr.DataArray) -> None:
    with Counter() as c:
        anom = analysis.anomalies(daily)
    assert c.computes == 0 and analysis.is_lazy(anom)
    values, months = daily.values, month_index(daily)
    clim = numpy_climatology(daily)
    ref = values - clim[months - 1]
    got = anom.compute()
    assert got.dims == daily.dims and "month" not in got.coords
    np.testing.assert_allclose(got.values, ref, atol=1e-5, equal_nan=True)
    # anomalies of each calendar month average to zero
    assert abs(float(got.groupby("time.month").mean().mean())) < 1e-5
    assert "standard_name" not in got.attrs and got.attrs["long_name"].endswith("anomaly")


def test_anomalies_with_a_given_climatology(daily: xr.DataArray) -> None:
    clim = analysis.climatology(daily.sel(time=slice("2001", "2002")))
    got = analysis.anomalies(daily.sel(time="2003"), clim).compute()
    ref = daily.sel(time="2003").values - clim.values[month_index(daily.sel(time="2003")) - 1]
    np.testing.assert_allclose(got.values, ref, atol=1e-5, equal_nan=True)
    with pytest.raises(AnalysisError, match="expected 'season'"):
        analysis.anomalies(daily, clim, freq="season")


# ----------------------------------------------------------------------------- trend


def test_trend_matches_scipy_linregress(daily: xr.DataArray) -> None:
    monthly = analysis.resample(analysis.anomalies(daily), "MS")
    with Counter() as c:
        tr = analysis.trend(monthly)
    assert c.computes == 0 and all(analysis.is_lazy(tr[v]) for v in ("slope", "p_value", "intercept"))
    got = tr.compute()
    m = monthly.compute()
    years = (m.time.values - m.time.values[0]) / np.timedelta64(1, "s") / (365.2425 * 86400)
    for i in range(m.sizes["lat"]):
        for j in range(m.sizes["lon"]):
            y = m.values[:, i, j]
            ok = np.isfinite(y)
            if ok.sum() < 3:
                assert np.isnan(got.slope.values[i, j]) and not got.significant.values[i, j]
                continue
            ref = stats.linregress(years[ok], y[ok])
            np.testing.assert_allclose(got.slope.values[i, j], ref.slope, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(got.intercept.values[i, j], ref.intercept, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(got.p_value.values[i, j], ref.pvalue, rtol=1e-5, atol=1e-12)
            assert got.significant.values[i, j] == (ref.pvalue < 0.05)
    assert got.slope.attrs["units"] == "degree_Celsius year-1"
    # the built-in trends (-0.5 .. +1 °C/yr) are found; the strongest ones are significant
    assert got.significant.values[-1, -2] and got.slope.values[-1, -2] > 0.7


def test_trend_with_gaps_and_a_numeric_axis() -> None:
    x = np.arange(20.0)
    y = np.vstack([2 * x + 1 + np.sin(x), np.full(20, 3.0), np.r_[np.nan * x[:18], 1.0, 2.0]]).T
    da = xr.DataArray(y, dims=("depth", "station"), coords={"depth": x * 10}).chunk({"depth": 7})
    da[5, 0] = np.nan
    got = analysis.trend(da, dim="depth").compute()
    ok = np.isfinite(y[:, 0]) & (np.arange(20) != 5)
    ref = stats.linregress(x[ok] * 10, y[ok, 0])
    np.testing.assert_allclose(got.slope.values[0], ref.slope, rtol=1e-9)
    np.testing.assert_allclose(got.p_value.values[0], ref.pvalue, rtol=1e-6)
    assert got.slope.values[1] == 0 and got.p_value.values[1] == 1.0 and not got.significant.values[1]
    assert np.isnan(got.slope.values[2]) and got.n.values[2] == 2


# ----------------------------------------------------------------------------- regional mean / resample


def test_regional_mean_matches_numpy(daily: xr.DataArray) -> None:
    bbox = (-9.0, 41.0, -1.0, 50.0)
    with Counter() as c:
        rm = analysis.regional_mean(daily, bbox)
    assert c.computes == 0 and analysis.is_lazy(rm)
    got = rm.compute()
    lat_ok = (daily.lat.values >= 41) & (daily.lat.values <= 50)
    lon_ok = (daily.lon.values >= -9) & (daily.lon.values <= -1)
    sub = daily.values[:, lat_ok][:, :, lon_ok]
    w = np.broadcast_to(np.cos(np.deg2rad(daily.lat.values[lat_ok]))[:, None], sub.shape[1:])
    valid = np.isfinite(sub)
    ref = np.nansum(sub * w, axis=(1, 2)) / np.sum(w * valid, axis=(1, 2))
    assert got.dims == ("time",)
    np.testing.assert_allclose(got.values, ref, rtol=1e-5)
    assert got.attrs["bbox"] == list(bbox)
    # whole grid: the land point is skipped, not counted as 0
    whole = analysis.regional_mean(daily.isel(time=0)).compute()
    v0 = daily.isel(time=0).values
    w0 = np.broadcast_to(np.cos(np.deg2rad(daily.lat.values))[:, None], v0.shape)
    np.testing.assert_allclose(float(whole), np.nansum(v0 * w0) / np.sum(w0 * np.isfinite(v0)), rtol=1e-5)


def test_regional_mean_0_360_grid_and_bad_boxes(daily: xr.DataArray) -> None:
    shifted = daily.assign_coords(lon=(daily.lon % 360)).sortby("lon")
    a = analysis.regional_mean(shifted, (-9, 41, -1, 50)).compute()
    b = analysis.regional_mean(daily, (-9, 41, -1, 50)).compute()
    np.testing.assert_allclose(a.values, b.values, rtol=1e-6)
    with pytest.raises(AnalysisError, match="does not overlap"):
        analysis.regional_mean(daily, (100, 10, 120, 20))
    with pytest.raises(AnalysisError, match="lon_min < lon_max"):
        analysis.regional_mean(daily, (0, 50, -10, 40))


@pytest.mark.parametrize("how", ["mean", "max", "std", "count"])
def test_resample_matches_numpy(daily: xr.DataArray, how: str) -> None:
    with Counter() as c:
        res = analysis.resample(daily, "MS", how=how)
    assert c.computes == 0 and analysis.is_lazy(res)
    got = res.compute()
    keys = daily.time.dt.year.values * 100 + daily.time.dt.month.values
    fn = {"mean": np.nanmean, "max": np.nanmax, "std": np.nanstd, "count": lambda a, axis: np.isfinite(a).sum(axis)}[
        how
    ]
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning) if how != "count" else _nullcontext():
        ref = np.stack([fn(daily.values[keys == k], axis=0) for k in np.unique(keys)])
    assert got.sizes["time"] == 36
    np.testing.assert_allclose(got.values, ref, rtol=1e-5, equal_nan=True)


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def test_nothing_is_read_while_building(daily: xr.DataArray) -> None:
    """Every function only builds a graph: reading any chunk of the input would raise."""
    bad = poisoned(daily)
    results = [
        analysis.climatology(bad),
        analysis.anomalies(bad),
        analysis.regional_mean(bad, (-9, 41, -1, 50)),
        analysis.resample(bad, "YS", how="max"),
        analysis.trend(bad).slope,
    ]
    assert all(analysis.is_lazy(r) for r in results)
    with pytest.raises(AssertionError, match="data was read"):
        results[0].compute(scheduler="sync")


def test_bad_input_messages(daily: xr.DataArray) -> None:
    with pytest.raises(AnalysisError, match="one of \\['dayofyear', 'month', 'season'\\]"):
        analysis.climatology(daily, freq="week")
    with pytest.raises(AnalysisError, match=r"pick one of \['sst'\]"):
        analysis.climatology(daily.to_dataset())
    with pytest.raises(AnalysisError, match="no dimension 'date'"):
        analysis.climatology(daily, dim="date")
    with pytest.raises(AnalysisError, match="not a pandas frequency"):
        analysis.resample(daily, "monthly")
    with pytest.raises(AnalysisError, match="how='avg'"):
        analysis.resample(daily, "MS", how="avg")
    with pytest.raises(AnalysisError, match="at least 3"):
        analysis.trend(daily.isel(time=slice(0, 2)))
    with pytest.raises(AnalysisError, match="alpha"):
        analysis.trend(daily, alpha=5)


# ----------------------------------------------------------------------------- profiles


def test_pressure_to_depth_is_teos10_and_agrees_with_unesco() -> None:
    # UNESCO Technical Papers in Marine Science 44 (1983): 10000 dbar at 30° → 9712.653 m; TEOS-10's
    # gsw.z_from_p (a better gravity and specific volume) stays within 2 m of it over the whole ocean depth
    z = analysis.pressure_to_depth(10000.0, 30.0)
    assert isinstance(z, float) and abs(z - 9712.653) < 2.0 and z != pytest.approx(9712.653, abs=1e-3)
    assert analysis.pressure_to_depth(0.0, 45.0) == 0.0
    assert analysis.pressure_to_depth(1000.0, 60.0) < analysis.pressure_to_depth(1000.0, 0.0)
    # xarray in, lazy xarray out, same numbers
    pres = xr.DataArray(np.array([[10.0, 500.0, 2000.0]]), dims=("N_PROF", "N_LEVELS")).chunk()
    lat = xr.DataArray(np.array([45.0]), dims="N_PROF").chunk()
    lazy = analysis.pressure_to_depth(pres, lat)
    assert analysis.is_lazy(lazy)
    np.testing.assert_allclose(lazy.values[0], [analysis.pressure_to_depth(p, 45.0) for p in (10.0, 500.0, 2000.0)])


def test_potential_density_of_profiles() -> None:
    ds = samples.argo_dataset(n_floats=2, n_cycles=2, n_levels=40).chunk({"N_PROF": 2})
    s0 = analysis.potential_density(ds)
    assert analysis.is_lazy(s0) and s0.dims == ("N_PROF", "N_LEVELS") and s0.attrs["units"] == "kg m-3"
    got = s0.compute()
    # North Atlantic waters: σ0 between 25 and 28.5 kg m-3, lighter at the surface than at 2000 dbar
    assert float(got.min()) > 25 and float(got.max()) < 28.5
    assert (got.isel(N_LEVELS=-1) > got.isel(N_LEVELS=0)).all()
    # a seawater reference (TEOS-10 standard: SP 35, 10 °C at the surface, 0° E 0° N) → σ0 ≈ 26.95 kg m-3
    ref = xr.Dataset(
        {
            "TEMP": ("N", [10.0]),
            "PSAL": ("N", [35.0]),
            "PRES": ("N", [0.0]),
            "LONGITUDE": ("N", [0.0]),
            "LATITUDE": ("N", [0.0]),
        }
    )
    assert float(analysis.potential_density(ref)[0]) == pytest.approx(26.95, abs=0.05)
    with pytest.raises(analysis.AnalysisError, match="no PSAL; pass the names"):
        analysis.potential_density(ds.drop_vars("PSAL"))


def test_interp_profiles_matches_numpy() -> None:
    ds = samples.argo_dataset(n_floats=3, n_cycles=4, n_levels=60)
    ds["TEMP"][2, 10:14] = np.nan  # a gap in one profile
    ds["PRES"][5, 40:] = np.nan  # a short profile
    lazy = ds.chunk({"N_PROF": 5})
    with Counter() as c:
        out = analysis.interp_profiles(lazy)
    assert c.computes == 0 and analysis.is_lazy(out[["TEMP", "PSAL"]])
    got = out.compute()
    levels = np.asarray(analysis.STANDARD_DEPTHS, dtype=float)
    assert got.TEMP.dims == ("N_PROF", "depth") and got.depth.values.tolist() == levels.tolist()
    assert set(got.data_vars) >= {"TEMP", "PSAL", "JULD", "LATITUDE", "LONGITUDE", "PLATFORM_NUMBER"}
    for k in range(ds.sizes["N_PROF"]):
        p = ds.PRES.values[k].astype(float)
        z = analysis.pressure_to_depth(p, float(ds.LATITUDE.values[k]))
        for name in ("TEMP", "PSAL"):
            v = ds[name].values[k].astype(float)
            ok = np.isfinite(z) & np.isfinite(v)
            ref = np.interp(levels, z[ok], v[ok], left=np.nan, right=np.nan)
            np.testing.assert_allclose(got[name].values[k], ref, rtol=1e-6, equal_nan=True)
    # nothing is extrapolated: the short profile stops where its data stop
    zmax = analysis.pressure_to_depth(np.nanmax(ds.PRES.values[5]), float(ds.LATITUDE.values[5]))
    assert np.isnan(got.TEMP.values[5][levels > zmax]).all()
    assert got.depth.attrs["units"] == "m" and got.TEMP.attrs["units"] == "degree_Celsius"


def test_interp_profiles_on_the_catalogue_sample(sample_data: Any) -> None:
    from odatis_vre import catalog

    ds = catalog.load("sample_argo_profiles")
    out = analysis.interp_profiles(ds, depths=[10, 100, 500, 1000], variables=["TEMP"])
    assert analysis.is_lazy(out[["TEMP"]])
    t = out.TEMP.compute()
    # surface warmer than 1000 m nearly everywhere; at 1000 m (≈1008 dbar) the generator gives
    # 3 + 9 exp(-1008/900) + 0.9 (Mediterranean Water) ≈ 6.84 °C in every profile
    assert (t.sel(depth=10) > t.sel(depth=1000)).mean() > 0.95
    expected = 3 + 9 * np.exp(-1008 / 900) + 0.9 * np.exp(-(((1008 - 1000) / 250) ** 2))
    assert abs(float(t.sel(depth=1000).mean()) - expected) < 0.1


def test_interp_profiles_bad_input() -> None:
    ds = samples.argo_dataset(n_floats=1, n_cycles=2, n_levels=10)
    with pytest.raises(AnalysisError, match="increasing depths"):
        analysis.interp_profiles(ds, depths=[100, 50])
    with pytest.raises(AnalysisError, match="no variable 'DEPTH'"):
        analysis.interp_profiles(ds, pres="DEPTH")
    with pytest.raises(AnalysisError, match=r"no variable \['DOXY'\]"):
        analysis.interp_profiles(ds, variables=["DOXY"])


def test_works_on_a_threaded_dask_compute(daily: xr.DataArray) -> None:
    """Same numbers with dask's threaded scheduler as with the synchronous one."""
    clim = analysis.climatology(daily)
    with dask.config.set(scheduler="threads"):
        a = clim.compute()
    with dask.config.set(scheduler="sync"):
        b = clim.compute()
    np.testing.assert_array_equal(a.values, b.values)


def test_docstring_examples() -> None:
    import doctest

    result = doctest.testmod(analysis, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0
