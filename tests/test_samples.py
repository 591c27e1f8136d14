"""The offline sample datasets: deterministic, CF/ACDD-described, realistic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from odatis_vre.data import samples


def test_small_sst_is_deterministic_and_cf(tmp_path: Path) -> None:
    a = samples.sst_daily(tmp_path / "a", days=3, progress=False)
    b = samples.sst_daily(tmp_path / "b", days=3, progress=False)
    files = sorted(p.name for p in a.glob("*.nc"))
    assert files == [
        "20230101-ODATIS-L4_GHRSST-SSTfnd-SAMPLE.nc",
        "20230102-ODATIS-L4_GHRSST-SSTfnd-SAMPLE.nc",
        "20230103-ODATIS-L4_GHRSST-SSTfnd-SAMPLE.nc",
    ]
    for name in files:
        da, db = xr.open_dataset(a / name), xr.open_dataset(b / name)
        xr.testing.assert_identical(da, db)
    ds = xr.open_dataset(a / files[0])
    assert ds.analysed_sst.dims == ("time", "lat", "lon")
    assert ds.analysed_sst.attrs["units"] == "degree_Celsius"
    assert ds.analysed_sst.attrs["standard_name"] == "sea_surface_foundation_temperature"
    for key in (
        "Conventions",
        "title",
        "summary",
        "license",
        "time_coverage_start",
        "geospatial_lat_min",
        "creator_name",
    ):
        assert key in ds.attrs, key
    assert ds.attrs["Conventions"].startswith("CF-1.8")


def test_another_seed_gives_other_values() -> None:
    a = samples.sst_dataset(days=2, seed=1).analysed_sst.values
    b = samples.sst_dataset(days=2, seed=2).analysed_sst.values
    assert not np.allclose(a, b, equal_nan=True)


def test_sst_is_realistic() -> None:
    ds = samples.sst_dataset(days=730)
    sst = ds.analysed_sst
    # land is masked (Brittany at 48.25N 3.5W), the open ocean is not
    assert np.isnan(sst.sel(lat=48.25, lon=-3.5).values).all()
    assert np.isfinite(sst.sel(lat=46.0, lon=-10.0).values).all()
    # plausible range, summer warmer than winter, south warmer than north, small warming trend
    assert 8 < float(sst.min()) and float(sst.max()) < 27
    aug = sst.sel(time=sst.time.dt.month == 8).mean()
    feb = sst.sel(time=sst.time.dt.month == 2).mean()
    assert float(aug - feb) > 3
    assert float(sst.sel(lat=41, method="nearest").mean() - sst.sel(lat=51, method="nearest").mean()) > 3


def test_sst_has_a_warming_trend() -> None:
    # ten years on a coarse grid: fit mean + trend + annual harmonic to the box mean
    ds = samples.sst_dataset(days=3650, resolution=1.0)
    m = ds.analysed_sst.mean(["lat", "lon"]).values
    t = np.arange(m.size) / 365.25
    design = np.column_stack([np.ones_like(t), t, np.cos(2 * np.pi * t), np.sin(2 * np.pi * t)])
    trend = np.linalg.lstsq(design, m, rcond=None)[0][1]
    assert 0.01 < trend < 0.05  # °C per year


def test_argo_like_profiles() -> None:
    ds = samples.argo_dataset(n_floats=3, n_cycles=5, n_levels=50)
    assert dict(ds.sizes) == {"N_PROF": 15, "N_LEVELS": 50}
    for v in ("PRES", "TEMP", "PSAL", "LATITUDE", "LONGITUDE", "JULD", "PLATFORM_NUMBER"):
        assert v in ds.variables, v
    # temperature decreases from the surface to 2000 dbar; Mediterranean Water salinity maximum near 1000 dbar
    assert (ds.TEMP.isel(N_LEVELS=0) > ds.TEMP.isel(N_LEVELS=-1) + 4).all()
    kmax = int(ds.PSAL.mean("N_PROF").argmax())
    assert 700 < float(ds.PRES.isel(N_PROF=0, N_LEVELS=kmax)) < 1300
    assert len(set(ds.PLATFORM_NUMBER.values)) == 3
    assert ds.TEMP.attrs["standard_name"] == "sea_water_temperature"


def test_mooring_and_chl() -> None:
    m = samples.mooring_dataset(days=365)
    assert m.TEMP.dims == ("time", "DEPTH") and m.sizes["time"] == 365 * 24
    surface = m.TEMP.sel(DEPTH=10.0)
    assert float(surface.sel(time="2023-08").mean() - surface.sel(time="2023-02").mean()) > 3
    assert float(m.TEMP.sel(DEPTH=10.0).mean()) > float(m.TEMP.sel(DEPTH=200.0).mean())
    c = samples.chl_dataset(months=12)
    chl = c.CHL.values[np.isfinite(c.CHL.values)]
    assert (chl > 0).all()
    logc = np.log10(chl)
    # log-normal: log10 values roughly symmetric, median well below the mean of the raw values
    assert abs(np.mean(logc) - np.median(logc)) < 0.15
    assert np.mean(chl) > np.median(chl)
    spring = c.CHL.sel(time=c.time.dt.month.isin([4, 5])).median()
    winter = c.CHL.sel(time=c.time.dt.month.isin([12, 1])).median()
    assert float(spring) > 1.5 * float(winter)


def test_make_all_writes_every_dataset(sample_data: Path) -> None:
    paths = samples.make_all(sample_data, progress=False)
    assert set(paths) == {"sst_daily", "sst_zarr", "argo_profiles", "mooring", "chl"}
    assert len(list(paths["sst_daily"].glob("*.nc"))) == 730
    z = xr.open_zarr(paths["sst_zarr"])
    assert z.analysed_sst.chunks[0][0] == 1 and z.sizes["time"] == 730
    one = xr.open_dataset(paths["sst_daily"] / "20230615-ODATIS-L4_GHRSST-SSTfnd-SAMPLE.nc")
    np.testing.assert_array_equal(one.analysed_sst.values[0], z.analysed_sst.sel(time="2023-06-15").values[0])
