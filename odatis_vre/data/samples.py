"""Deterministic, realistic small datasets that let the catalogue work offline.

Every function writes CF-1.8 / ACDD-1.3 files with a fixed random seed, so two runs give
byte-identical values. The fields are synthetic but plausible for the Bay of Biscay /
North-East Atlantic (40–52°N, 15°W–0°): a latitude gradient, a seasonal cycle, a small
warming trend, spatially coherent "eddies", land masked out (Iberia, France, Cornwall, Ireland).

Datasets (``make_all`` writes all of them under ``catalog/data/``):

========================  =====================================================================
``sst_daily/``            one NetCDF file per day (``YYYYMMDD-ODATIS-L4_GHRSST-SSTfnd-SAMPLE.nc``),
                          variable ``analysed_sst`` in **degree_Celsius**, dims ``time, lat, lon``
``sst.zarr``              the same data as Zarr (chunks: one map per chunk, ``{time: 1}``)
``argo_profiles.nc``      Argo-like profiles: ``N_PROF × N_LEVELS``, PRES/TEMP/PSAL, positions, JULD
``mooring_hourly.nc``     OceanSITES-like hourly TEMP/PSAL at 4 depths, dims ``time, DEPTH``
``chl_monthly.nc``        ocean-colour chlorophyll ``CHL`` (mg m-3, log-normal), monthly, 0.125°
========================  =====================================================================

Example
-------
>>> from odatis_vre import samples
>>> paths = samples.make_all(progress=False)          # doctest: +SKIP
>>> sorted(paths)                                     # doctest: +SKIP
['argo_profiles', 'chl', 'mooring', 'sst_daily', 'sst_zarr']
>>> samples.sst_daily("/tmp/big", days=3650, resolution=0.1)   # a bigger one for benchmarks  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20261124
BBOX = (-15.0, 40.0, 0.0, 52.0)  # W, S, E, N

#: Rough coastlines (lon, lat) of the land inside the default box, used as a land mask.
_LAND = [
    # Iberia and France, from Portugal up to Normandy, closed through the box's eastern edge
    [
        (-9.5, 38.0),
        (-9.3, 40.0),
        (-8.9, 42.0),
        (-9.3, 43.0),
        (-8.0, 43.7),
        (-4.5, 43.45),
        (-1.8, 43.4),
        (-1.35, 44.5),
        (-1.2, 45.5),
        (-1.3, 46.2),
        (-2.2, 47.0),
        (-2.6, 47.4),
        (-4.4, 47.8),
        (-4.8, 48.3),
        (-4.6, 48.65),
        (-3.0, 48.85),
        (-1.6, 48.7),
        (-1.35, 49.7),
        (-0.2, 49.35),
        (0.5, 49.5),
        (0.5, 38.0),
    ],
    # Cornwall, Devon, southern England and Wales
    [
        (-5.75, 50.0),
        (-4.0, 50.3),
        (-1.0, 50.7),
        (0.5, 50.8),
        (0.5, 52.5),
        (-4.2, 52.5),
        (-5.3, 51.85),
        (-4.0, 51.6),
        (-3.2, 51.25),
        (-4.4, 51.05),
        (-5.1, 50.55),
    ],
    # Southern Ireland
    [(-10.6, 51.5), (-9.5, 51.4), (-8.0, 51.75), (-6.35, 52.15), (-6.0, 52.5), (-10.6, 52.5)],
]

_ACDD_COMMON = {
    "Conventions": "CF-1.8, ACDD-1.3",
    "institution": "ODATIS virtual research environment (synthetic sample)",
    "creator_name": "odatis-vre sample generator",
    "creator_type": "institution",
    "publisher_name": "ODATIS",
    "publisher_url": "https://www.odatis-ocean.fr",
    "license": "CC-BY-4.0",
    "product_version": "1.0",
    "source": f"synthetic: odatis_vre.data.samples (deterministic, seed {SEED})",
    "comment": "Synthetic data for offline development and tests. NOT real observations.",
    "keywords_vocabulary": "GCMD Science Keywords",
    "standard_name_vocabulary": "CF Standard Name Table v84",
    "naming_authority": "fr.odatis",
    "processing_level": "L4 (synthetic)",
    "date_created": "2026-11-24T00:00:00Z",  # fixed: files are byte-reproducible
}


def default_dest() -> Path:
    """The catalogue's data folder (``catalog/data`` beside ``catalog/odatis.yaml``)."""
    import os

    env = os.environ.get("ODATIS_VRE_CATALOG")
    if env:
        return Path(env).resolve().parent / "data"
    return Path(__file__).resolve().parents[2] / "catalog" / "data"


# ----------------------------------------------------------------------------- helpers


def land_mask(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Boolean ``(lat, lon)`` array, True over land (rough coastlines of the default box)."""
    from matplotlib.path import Path as MplPath

    lon2, lat2 = np.meshgrid(lon, lat)
    pts = np.column_stack([lon2.ravel(), lat2.ravel()])
    mask = np.zeros(pts.shape[0], dtype=bool)
    for poly in _LAND:
        mask |= MplPath(poly).contains_points(pts)
    return mask.reshape(lat2.shape)


def _grid(bbox: tuple[float, float, float, float], resolution: float) -> tuple[np.ndarray, np.ndarray]:
    w, s, e, n = bbox
    lat = np.round(np.arange(s, n + resolution / 2, resolution), 6)
    lon = np.round(np.arange(w, e + resolution / 2, resolution), 6)
    return lon, lat


def _eddies(
    rng: np.random.Generator,
    lon: np.ndarray,
    lat: np.ndarray,
    nt: int,
    n_modes: int = 12,
    scale: float = 0.5,
    memory: float = 0.97,
) -> np.ndarray:
    """Spatially smooth, temporally red noise ``(nt, lat, lon)`` (sum of drifting Fourier modes)."""
    lon2, lat2 = np.meshgrid(lon, lat)
    kx = rng.uniform(0.2, 1.2, n_modes)
    ky = rng.uniform(0.2, 1.2, n_modes)
    phase = rng.uniform(0, 2 * np.pi, n_modes)
    out = np.empty((nt, lat.size, lon.size), dtype=np.float32)
    amp = rng.normal(0, 1, n_modes)
    basis = np.stack([np.cos(kx[m] * lon2 + ky[m] * lat2 + phase[m]) for m in range(n_modes)]).astype(np.float32)
    for t in range(nt):
        amp = memory * amp + np.sqrt(1 - memory**2) * rng.normal(0, 1, n_modes)
        out[t] = np.tensordot(amp.astype(np.float32), basis, axes=1)
    return out * np.float32(scale / np.sqrt(n_modes / 2))


def _sst_field(time: np.ndarray, lon: np.ndarray, lat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SST (°C): latitude gradient + seasonal cycle (max mid-August) + trend + eddies."""
    t = time.astype("datetime64[D]")
    doy = (t - t.astype("datetime64[Y]")).astype(float) + 1
    years = (t - np.datetime64("2000-01-01")).astype(float) / 365.25
    lon2, lat2 = np.meshgrid(lon, lat)
    mean = 19.0 - 0.50 * (lat2 - 40.0) + 0.04 * (lon2 + 15.0)
    amp = 2.6 + 0.08 * (lat2 - 40.0) + 0.05 * (lon2 + 15.0)  # larger on the shelf
    season = -np.cos(2 * np.pi * (doy - 45.0) / 365.25)  # min mid-Feb, max mid-Aug
    field = (
        mean[None] + amp[None] * season[:, None, None] + 0.025 * years[:, None, None] + _eddies(rng, lon, lat, t.size)
    )
    return field.astype(np.float32)


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, unit="step", leave=False)


def _coord_attrs(ds: Any) -> None:
    if "lat" in ds.coords:
        ds["lat"].attrs.update(standard_name="latitude", long_name="latitude", units="degrees_north", axis="Y")
    if "lon" in ds.coords:
        ds["lon"].attrs.update(standard_name="longitude", long_name="longitude", units="degrees_east", axis="X")
    if "time" in ds.coords:
        ds["time"].attrs.update(standard_name="time", long_name="time", axis="T")


def _acdd(
    ds: Any,
    *,
    title: str,
    summary: str,
    keywords: str,
    bbox: tuple[float, float, float, float] | None,
    time: np.ndarray,
    extra: dict[str, Any] | None = None,
) -> None:
    ds.attrs.update(_ACDD_COMMON)
    ds.attrs.update(
        title=title,
        summary=summary,
        keywords=keywords,
        time_coverage_start=str(np.datetime_as_string(time.min(), unit="s")) + "Z",
        time_coverage_end=str(np.datetime_as_string(time.max(), unit="s")) + "Z",
    )
    if bbox is not None:
        w, s, e, n = bbox
        ds.attrs.update(
            geospatial_lon_min=float(w),
            geospatial_lon_max=float(e),
            geospatial_lat_min=float(s),
            geospatial_lat_max=float(n),
            geospatial_lat_units="degrees_north",
            geospatial_lon_units="degrees_east",
        )
    ds.attrs.update(extra or {})


def _time_encoding() -> dict[str, Any]:
    return {"units": "days since 1950-01-01T00:00:00Z", "calendar": "standard", "dtype": "float64"}


# ----------------------------------------------------------------------------- datasets


def sst_dataset(
    start: str = "2023-01-01",
    days: int = 730,
    bbox: tuple[float, float, float, float] = BBOX,
    resolution: float = 0.25,
    seed: int = SEED,
) -> Any:
    """The daily SST as one in-memory :class:`xarray.Dataset` (what the files hold).

    >>> ds = sst_dataset(days=3)
    >>> ds.analysed_sst.dims, ds.analysed_sst.attrs["units"]
    (('time', 'lat', 'lon'), 'degree_Celsius')
    """
    import xarray as xr

    rng = np.random.default_rng(seed)
    lon, lat = _grid(bbox, resolution)
    time = np.datetime64(start, "D") + np.arange(days).astype("timedelta64[D]")
    time = time.astype("datetime64[ns]") + np.timedelta64(12, "h")
    sst = _sst_field(time, lon, lat, rng)
    sst[:, land_mask(lon, lat)] = np.nan
    ds = xr.Dataset(
        {
            "analysed_sst": (
                ("time", "lat", "lon"),
                sst,
                {
                    "standard_name": "sea_surface_foundation_temperature",
                    "long_name": "analysed sea surface temperature",
                    "units": "degree_Celsius",
                    "valid_min": -2.0,
                    "valid_max": 35.0,
                    "coverage_content_type": "modelResult",
                },
            )
        },
        coords={"time": time, "lat": lat, "lon": lon},
    )
    _coord_attrs(ds)
    _acdd(
        ds,
        title="Daily L4 sea surface temperature, Bay of Biscay (ODATIS synthetic sample)",
        summary="Gap-free daily foundation SST analysis on a 0.25° grid over the Bay of Biscay and the "
        "North-East Atlantic, shaped like a GHRSST L4 product. Synthetic.",
        keywords="Oceans > Ocean Temperature > Sea Surface Temperature",
        bbox=bbox,
        time=time,
        extra={
            "cdm_data_type": "Grid",
            "geospatial_lat_resolution": resolution,
            "geospatial_lon_resolution": resolution,
            "time_coverage_resolution": "P1D",
        },
    )
    return ds


def sst_daily(
    dest: str | Path | None = None,
    start: str = "2023-01-01",
    days: int = 730,
    bbox: tuple[float, float, float, float] = BBOX,
    resolution: float = 0.25,
    seed: int = SEED,
    progress: bool = True,
) -> Path:
    """Write one GHRSST-style NetCDF file per day into ``dest/sst_daily/``; return the folder.

    Files are written with netCDF4 directly (an xarray ``to_netcdf`` per day is ~5× slower).

    >>> folder = sst_daily("/tmp/odatis-sst", days=2, progress=False)   # doctest: +SKIP
    >>> sorted(p.name for p in folder.glob("*.nc"))                     # doctest: +SKIP
    ['20230101-ODATIS-L4_GHRSST-SSTfnd-SAMPLE.nc', '20230102-ODATIS-L4_GHRSST-SSTfnd-SAMPLE.nc']
    """
    import netCDF4

    ds = sst_dataset(start, days, bbox, resolution, seed)
    folder = Path(dest or default_dest()) / "sst_daily"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.nc"):
        old.unlink()
    times = ds.time.values
    epoch = np.datetime64("1950-01-01T00:00:00", "ns")
    sst = ds.analysed_sst.values
    with _progress(days, "sst_daily", progress) as bar:
        for i, t in enumerate(times):
            day = np.datetime_as_string(t, unit="D").replace("-", "")
            path = folder / f"{day}-ODATIS-L4_GHRSST-SSTfnd-SAMPLE.nc"
            with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
                nc.createDimension("time", None)
                nc.createDimension("lat", ds.lat.size)
                nc.createDimension("lon", ds.lon.size)
                for name in ("lat", "lon"):
                    v = nc.createVariable(name, "f4", (name,))
                    v[:] = ds[name].values
                    v.setncatts(ds[name].attrs)
                v = nc.createVariable("time", "f8", ("time",))
                v.setncatts({**ds.time.attrs, "units": "days since 1950-01-01 00:00:00", "calendar": "standard"})
                v[:] = [(t - epoch) / np.timedelta64(1, "D")]
                v = nc.createVariable(
                    "analysed_sst", "f4", ("time", "lat", "lon"), zlib=True, complevel=1, fill_value=np.float32(np.nan)
                )
                v.setncatts({k: a for k, a in ds.analysed_sst.attrs.items()})
                v[0] = sst[i]
                attrs = dict(ds.attrs)
                attrs["time_coverage_start"] = np.datetime_as_string(t, unit="D") + "T00:00:00Z"
                attrs["time_coverage_end"] = np.datetime_as_string(t, unit="D") + "T23:59:59Z"
                attrs["id"] = f"ODATIS-SAMPLE-SST-{day}"
                nc.setncatts(attrs)
            bar.update()
    return folder


def sst_zarr(
    dest: str | Path | None = None,
    start: str = "2023-01-01",
    days: int = 730,
    bbox: tuple[float, float, float, float] = BBOX,
    resolution: float = 0.25,
    seed: int = SEED,
    time_chunk: int = 1,
    progress: bool = True,
) -> Path:
    """Write the same SST as a Zarr store ``dest/sst.zarr`` (map-optimised: one day per chunk).

    >>> import xarray as xr
    >>> store = sst_zarr("/tmp/odatis-zarr", days=5, progress=False)   # doctest: +SKIP
    >>> xr.open_zarr(store).analysed_sst.chunks[0][:2]                 # doctest: +SKIP
    (1, 1)
    """
    import shutil

    ds = sst_dataset(start, days, bbox, resolution, seed)
    path = Path(dest or default_dest()) / "sst.zarr"
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = ds.chunk({"time": time_chunk, "lat": -1, "lon": -1})
    enc = {"time": _time_encoding(), "analysed_sst": {"chunks": (time_chunk, ds.lat.size, ds.lon.size)}}
    with _progress(1, "sst_zarr", progress) as bar:
        ds.to_zarr(path, mode="w", encoding=enc, consolidated=True, zarr_format=2)
        bar.update()
    return path


def _profile_ts(pres: np.ndarray, sst: float, lat: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Temperature and salinity profiles with a mixed layer, thermocline and Mediterranean Water."""
    mld = 20.0 + 80.0 * max(0.0, (14.5 - sst) / 4.0)  # deeper mixed layer in winter
    deep = 3.0 + 9.0 * np.exp(-pres / 900.0)  # ~12 °C at 0, ~4 °C at 2000 dbar
    temp = deep + (sst - deep[0]) * np.where(pres < mld, 1.0, np.exp(-(pres - mld) / 150.0))
    temp = temp + 0.9 * np.exp(-(((pres - 1000.0) / 250.0) ** 2))  # warm Mediterranean Water
    psal = 35.55 - 0.02 * (lat - 45.0) - 0.5 * (1 - np.exp(-pres / 400.0)) * 0.3
    psal = psal + 0.45 * np.exp(-(((pres - 1000.0) / 300.0) ** 2)) - 0.6 * (pres > 1600) * (pres - 1600) / 1000
    temp += rng.normal(0, 0.02, pres.size)
    psal += rng.normal(0, 0.003, pres.size)
    return temp.astype(np.float32), psal.astype(np.float32)


def argo_dataset(
    n_floats: int = 10,
    n_cycles: int = 30,
    n_levels: int = 100,
    start: str = "2023-01-01",
    bbox: tuple[float, float, float, float] = (-15.0, 40.0, -5.0, 50.0),
    seed: int = SEED,
) -> Any:
    """An Argo-like profile collection (``N_PROF = n_floats × n_cycles``, ``N_LEVELS``), in memory.

    >>> ds = argo_dataset(n_floats=2, n_cycles=3, n_levels=10)
    >>> dict(ds.sizes)
    {'N_PROF': 6, 'N_LEVELS': 10}
    """
    import xarray as xr

    rng = np.random.default_rng(seed + 1)
    w, s, e, n = bbox
    pres = np.round(
        np.concatenate(
            [np.linspace(5, 200, n_levels // 2, endpoint=False), np.linspace(200, 2000, n_levels - n_levels // 2)]
        ),
        1,
    ).astype(np.float32)
    n_prof = n_floats * n_cycles
    lat = np.empty(n_prof)
    lon = np.empty(n_prof)
    juld = np.empty(n_prof, dtype="datetime64[ns]")
    platform = np.empty(n_prof, dtype=object)
    cycle = np.empty(n_prof, dtype=np.int32)
    temp = np.empty((n_prof, n_levels), dtype=np.float32)
    psal = np.empty((n_prof, n_levels), dtype=np.float32)
    t0 = np.datetime64(start, "s")
    k = 0
    for f in range(n_floats):
        wmo = str(6904000 + 17 * f)
        x, y = rng.uniform(w + 1, e - 1), rng.uniform(s + 1, n - 1)
        launch = t0 + np.timedelta64(int(rng.integers(0, 20 * 86400)), "s")
        for c in range(n_cycles):
            x = float(np.clip(x + rng.normal(0.02, 0.12), w, e))
            y = float(np.clip(y + rng.normal(0.0, 0.10), s, n))
            when = launch + np.timedelta64(c * 10 * 86400 + int(rng.integers(0, 3600)), "s")
            sst = float(
                _sst_field(
                    np.array([when.astype("datetime64[D]")]),
                    np.array([x]),
                    np.array([y]),
                    np.random.default_rng(seed + k),
                )[0, 0, 0]
            )
            temp[k], psal[k] = _profile_ts(pres.astype(float), sst, y, rng)
            lat[k], lon[k], juld[k], platform[k], cycle[k] = round(y, 4), round(x, 4), when, wmo, c + 1
            k += 1
    pres2 = np.broadcast_to(pres, (n_prof, n_levels)).copy()
    ds = xr.Dataset(
        {
            "PLATFORM_NUMBER": (
                "N_PROF",
                platform.astype(str),
                {"long_name": "Float unique identifier", "conventions": "WMO float identifier : A9IIIII"},
            ),
            "CYCLE_NUMBER": ("N_PROF", cycle, {"long_name": "Float cycle number"}),
            "JULD": (
                "N_PROF",
                juld,
                {"standard_name": "time", "long_name": "Julian day (UTC) of the station", "axis": "T"},
            ),
            "LATITUDE": ("N_PROF", lat, {"standard_name": "latitude", "units": "degree_north", "axis": "Y"}),
            "LONGITUDE": ("N_PROF", lon, {"standard_name": "longitude", "units": "degree_east", "axis": "X"}),
            "PRES": (
                ("N_PROF", "N_LEVELS"),
                pres2,
                {
                    "standard_name": "sea_water_pressure",
                    "units": "decibar",
                    "long_name": "Sea water pressure, equals 0 at sea-level",
                    "axis": "Z",
                    "positive": "down",
                },
            ),
            "TEMP": (
                ("N_PROF", "N_LEVELS"),
                temp,
                {
                    "standard_name": "sea_water_temperature",
                    "units": "degree_Celsius",
                    "long_name": "Sea temperature in-situ ITS-90 scale",
                },
            ),
            "PSAL": (
                ("N_PROF", "N_LEVELS"),
                psal,
                {"standard_name": "sea_water_salinity", "units": "psu", "long_name": "Practical salinity"},
            ),
        }
    )
    _acdd(
        ds,
        title="Argo-like float profiles, Bay of Biscay (ODATIS synthetic sample)",
        summary="Temperature and salinity profiles from synthetic profiling floats with 10-day cycles, "
        "laid out like an Argo GDAC multi-profile file (N_PROF, N_LEVELS). Synthetic.",
        keywords="Oceans > Ocean Temperature > Water Temperature, Oceans > Salinity/Density > Salinity",
        bbox=(float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())),
        time=juld,
        extra={
            "featureType": "profile",
            "cdm_data_type": "Profile",
            "data_type": "Argo profile",
            "format_version": "3.1",
            "platform": "profiling float (synthetic)",
        },
    )
    return ds


def _write_netcdf(ds: Any, dest: str | Path | None, filename: str, encoding: dict[str, Any], progress: bool) -> Path:
    """Write one single-file sample to ``dest/filename`` (default: the catalogue's data folder)."""
    path = Path(dest or default_dest()) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    # CF forbids missing values in coordinate variables; xarray would add a NaN _FillValue
    encoding = {str(c): {"_FillValue": None} for c in ds.coords} | encoding
    for c in ds.coords:
        encoding[str(c)].setdefault("_FillValue", None)
    with _progress(1, filename.removesuffix(".nc"), progress) as bar:
        ds.to_netcdf(path, encoding=encoding)
        bar.update()
    return path


def argo_profiles(
    dest: str | Path | None = None,
    n_floats: int = 10,
    n_cycles: int = 30,
    n_levels: int = 100,
    start: str = "2023-01-01",
    seed: int = SEED,
    progress: bool = True,
) -> Path:
    """Write the Argo-like collection to ``dest/argo_profiles.nc``; return the path."""
    ds = argo_dataset(n_floats, n_cycles, n_levels, start, seed=seed)
    return _write_netcdf(ds, dest, "argo_profiles.nc", {"JULD": _time_encoding()}, progress)


def mooring_dataset(
    start: str = "2023-01-01",
    days: int = 365,
    depths: tuple[float, ...] = (10.0, 50.0, 100.0, 200.0),
    lat: float = 47.0,
    lon: float = -7.0,
    seed: int = SEED,
) -> Any:
    """Hourly TEMP/PSAL at a few depths (OceanSITES-like ``time × DEPTH``), in memory.

    >>> ds = mooring_dataset(days=2)
    >>> ds.TEMP.dims, ds.sizes["time"]
    (('time', 'DEPTH'), 48)
    """
    import xarray as xr

    rng = np.random.default_rng(seed + 2)
    time = np.datetime64(start, "h") + np.arange(days * 24).astype("timedelta64[h]")
    hours = (time - time[0]).astype(float)
    doy = (time.astype("datetime64[D]") - time.astype("datetime64[Y]")).astype(float) + hours % 24 / 24
    z = np.asarray(depths, dtype=float)
    season = -np.cos(2 * np.pi * (doy - 45.0) / 365.25)
    strat = np.exp(-z / 45.0)  # seasonal signal decays with depth
    base = 12.0 + 1.8 * np.exp(-z / 150.0) + 1.0 * strat
    tide = 0.15 * np.sin(2 * np.pi * hours / 12.4206)  # M2 internal-tide heaving
    diurnal = 0.25 * np.sin(2 * np.pi * (hours % 24 - 9) / 24)
    red = np.cumsum(rng.normal(0, 0.004, (time.size, z.size)), axis=0)
    red -= np.linspace(0, 1, time.size)[:, None] * red[-1]  # bridge: no drift
    temp = (
        base
        + 4.0 * strat * season[:, None]
        + tide[:, None] * (1 - strat)
        + diurnal[:, None] * strat**3
        + red
        + rng.normal(0, 0.03, (time.size, z.size))
    )
    psal = 35.6 - 0.05 * strat * season[:, None] + 0.3 * red / 5 + rng.normal(0, 0.005, (time.size, z.size))
    ds = xr.Dataset(
        {
            "TEMP": (
                ("time", "DEPTH"),
                temp.astype(np.float32),
                {
                    "standard_name": "sea_water_temperature",
                    "units": "degree_Celsius",
                    "long_name": "sea water temperature",
                },
            ),
            "PSAL": (
                ("time", "DEPTH"),
                psal.astype(np.float32),
                {"standard_name": "sea_water_practical_salinity", "units": "1", "long_name": "practical salinity"},
            ),
        },
        coords={
            "time": time.astype("datetime64[ns]"),
            "DEPTH": ("DEPTH", z, {"standard_name": "depth", "units": "m", "positive": "down", "axis": "Z"}),
            "LATITUDE": ((), lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "LONGITUDE": ((), lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
    )
    _coord_attrs(ds)
    _acdd(
        ds,
        title="Hourly mooring temperature and salinity, Bay of Biscay (ODATIS synthetic sample)",
        summary="Hourly temperature and practical salinity at 10, 50, 100 and 200 m on a synthetic mooring "
        "at 47°N 7°W, laid out like an OceanSITES gridded time series. Synthetic.",
        keywords="Oceans > Ocean Temperature > Water Temperature",
        bbox=(lon, lat, lon, lat),
        time=time.astype("datetime64[ns]"),
        extra={
            "featureType": "timeSeriesProfile",
            "cdm_data_type": "TimeSeriesProfile",
            "data_type": "OceanSITES time-series data",
            "platform_code": "SAMPLE-BISCAY",
            "site_code": "SAMPLE-BISCAY",
            "time_coverage_resolution": "PT1H",
        },
    )
    return ds


def mooring(
    dest: str | Path | None = None, start: str = "2023-01-01", days: int = 365, seed: int = SEED, progress: bool = True
) -> Path:
    """Write the mooring time series to ``dest/mooring_hourly.nc``; return the path."""
    ds = mooring_dataset(start, days, seed=seed)
    return _write_netcdf(
        ds,
        dest,
        "mooring_hourly.nc",
        {"time": {"units": "hours since 1950-01-01T00:00:00Z", "dtype": "float64"}},
        progress,
    )


def chl_dataset(
    start: str = "2023-01",
    months: int = 24,
    bbox: tuple[float, float, float, float] = BBOX,
    resolution: float = 0.125,
    seed: int = SEED,
) -> Any:
    """Monthly ocean-colour chlorophyll ``CHL`` (mg m-3), log-normal, in memory.

    Coastal enrichment, a spring bloom (April–May) stronger in the north, a weak autumn bloom.

    >>> ds = chl_dataset(months=2)
    >>> float(ds.CHL.min()) > 0
    True
    """
    import xarray as xr
    from scipy.ndimage import distance_transform_edt

    rng = np.random.default_rng(seed + 3)
    lon, lat = _grid(bbox, resolution)
    time = (np.datetime64(start, "M") + np.arange(months).astype("timedelta64[M]")).astype("datetime64[D]")
    time = time + np.timedelta64(14, "D")
    land = land_mask(lon, lat)
    dist_km = distance_transform_edt(~land) * resolution * 111.0
    coastal = 1.1 * np.exp(-dist_km / 80.0)  # log10 enrichment near the coast
    lon2, lat2 = np.meshgrid(lon, lat)
    month = (time.astype("datetime64[M]").astype(int) % 12) + 1
    spring = np.exp(-(((month - 4.5) / 1.2) ** 2))
    autumn = 0.35 * np.exp(-(((month - 10.0) / 1.0) ** 2))
    log_chl = (
        -0.55
        + 0.025 * (lat2 - 40)[None]
        + coastal[None]
        + (0.45 + 0.02 * (lat2 - 40))[None] * spring[:, None, None]
        + autumn[:, None, None]
        - 0.01 * np.arange(months)[:, None, None] / 12.0
        + _eddies(rng, lon, lat, months, scale=0.18, memory=0.6)
        + rng.normal(0, 0.05, (months, lat.size, lon.size))
    )
    chl = (10**log_chl).astype(np.float32)
    chl[:, land] = np.nan
    ds = xr.Dataset(
        {
            "CHL": (
                ("time", "lat", "lon"),
                chl,
                {
                    "standard_name": "mass_concentration_of_chlorophyll_a_in_sea_water",
                    "units": "mg m-3",
                    "long_name": "Chlorophyll-a concentration (monthly mean)",
                    "valid_min": 0.01,
                    "valid_max": 100.0,
                    "coverage_content_type": "physicalMeasurement",
                },
            )
        },
        coords={"time": time.astype("datetime64[ns]"), "lat": lat, "lon": lon},
    )
    _coord_attrs(ds)
    _acdd(
        ds,
        title="Monthly ocean-colour chlorophyll-a, Bay of Biscay (ODATIS synthetic sample)",
        summary="Monthly mean surface chlorophyll-a (log-normal) on a 0.125° grid, shaped like a "
        "GlobColour L4 product. Synthetic.",
        keywords="Oceans > Ocean Chemistry > Chlorophyll",
        bbox=bbox,
        time=ds.time.values,
        extra={"cdm_data_type": "Grid", "time_coverage_resolution": "P1M"},
    )
    return ds


def chl(
    dest: str | Path | None = None, start: str = "2023-01", months: int = 24, seed: int = SEED, progress: bool = True
) -> Path:
    """Write the chlorophyll to ``dest/chl_monthly.nc``; return the path."""
    ds = chl_dataset(start, months, seed=seed)
    return _write_netcdf(
        ds, dest, "chl_monthly.nc", {"time": _time_encoding(), "CHL": {"zlib": True, "complevel": 1}}, progress
    )


#: name → (function, marker path relative to dest)
DATASETS: dict[str, tuple[Callable[..., Path], str]] = {
    "sst_daily": (sst_daily, "sst_daily"),
    "sst_zarr": (sst_zarr, "sst.zarr"),
    "argo_profiles": (argo_profiles, "argo_profiles.nc"),
    "mooring": (mooring, "mooring_hourly.nc"),
    "chl": (chl, "chl_monthly.nc"),
}


def make_all(dest: Path | None = None, force: bool = False, progress: bool = True) -> dict[str, Path]:
    """Generate every sample dataset into ``dest`` (default: the catalogue's ``data/``).

    Existing datasets are kept unless ``force`` (a ``.complete`` marker is written last, so an
    interrupted run is redone). Returns ``{name: path}``.

    >>> paths = make_all(progress=False)      # doctest: +SKIP
    >>> paths["sst_zarr"].name                # doctest: +SKIP
    'sst.zarr'
    """
    from tqdm.auto import tqdm

    dest = Path(dest or default_dest())
    dest.mkdir(parents=True, exist_ok=True)
    marker = dest / ".complete"
    out = {name: dest / rel for name, (_, rel) in DATASETS.items()}
    if marker.exists() and not force and all(p.exists() for p in out.values()):
        return out
    marker.unlink(missing_ok=True)
    for name, (fn, _) in tqdm(DATASETS.items(), desc="odatis-vre samples", disable=not progress, unit="dataset"):
        out[name] = fn(dest, progress=progress)
    marker.write_text(_dt.datetime.now(_dt.UTC).isoformat() + "\n")
    return out


# ----------------------------------------------------------------------------- benchmark data (P1, P2)

#: the grid of ``make_decade_daily`` at its default size (2.15 GB for 10 years, as in ../shared/anchors.md)
DECADE_GRID = (360, 400)  # lat, lon


def _decade_grid(size_gb: float | None, days: int) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = DECADE_GRID
    if size_gb is not None:
        if size_gb <= 0:
            raise ValueError(f"size_gb={size_gb}: give a positive size in GB (e.g. 2.15)")
        scale = np.sqrt(size_gb * 1e9 / (days * 4.0 + days * 12e3 / (ny * nx)) / (ny * nx))
        ny, nx = max(2, int(round(ny * scale))), max(2, int(round(nx * scale)))
    w, s, e, n = BBOX
    return np.linspace(w, e, nx), np.linspace(s, n, ny)


def make_decade_daily(
    dest: str | Path,
    years: int = 10,
    *,
    start: str = "2014-01-01",
    size_gb: float | None = None,
    seed: int = SEED,
    compress: bool = False,
    progress: bool = True,
) -> Path:
    """Write ``years`` of daily SST fields as one NetCDF4 file per day (``dest/YYYYMMDD-....nc``); return ``dest``.

    The default grid is 360 × 400 over the Bay of Biscay box (10 years: 3 653 files, 2.15 GB,
    uncompressed as in ``../shared/anchors.md``); ``size_gb`` rescales the grid to reach that total.
    Fields are the sample SST model (gradient, seasons, trend, drifting eddies, land masked),
    computed day after day with one random stream, so every run writes the same values.
    Resumable: each file is written under a temporary name and renamed, and files already there
    are kept (their days are still computed, to keep the random stream identical).

    >>> folder = make_decade_daily("/tmp/p1", years=1, size_gb=0.05, progress=False)   # doctest: +SKIP
    >>> len(list(folder.glob("*.nc")))                                                 # doctest: +SKIP
    365
    """
    import os

    import netCDF4
    from tqdm.auto import tqdm

    if years < 1:
        raise ValueError(f"years={years}: give at least 1")
    t0 = np.datetime64(start, "D")
    t1 = np.datetime64(str(int(str(t0)[:4]) + years) + str(t0)[4:], "D")
    days = int((t1 - t0).astype(int))
    lon, lat = _decade_grid(size_gb, days)
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    land = land_mask(lon, lat)
    lon2, lat2 = np.meshgrid(lon, lat)
    mean = (19.0 - 0.50 * (lat2 - 40.0) + 0.04 * (lon2 + 15.0)).astype(np.float32)
    amp_season = (2.6 + 0.08 * (lat2 - 40.0) + 0.05 * (lon2 + 15.0)).astype(np.float32)
    n_modes, memory, scale = 12, 0.97, 0.5
    kx, ky = rng.uniform(0.2, 1.2, n_modes), rng.uniform(0.2, 1.2, n_modes)
    phase = rng.uniform(0, 2 * np.pi, n_modes)
    basis = np.stack([np.cos(kx[m] * lon2 + ky[m] * lat2 + phase[m]) for m in range(n_modes)]).astype(np.float32)
    basis *= np.float32(scale / np.sqrt(n_modes / 2))
    amp = rng.normal(0, 1, n_modes)
    epoch = np.datetime64("1950-01-01", "D")
    attrs = dict(
        _ACDD_COMMON,
        title="Daily L4 sea surface temperature, Bay of Biscay (ODATIS benchmark decade)",
        summary="Synthetic daily SST fields for benchmarks (one file per day, like L4 products).",
        geospatial_lon_min=float(lon[0]),
        geospatial_lon_max=float(lon[-1]),
        geospatial_lat_min=float(lat[0]),
        geospatial_lat_max=float(lat[-1]),
    )
    with tqdm(total=days, desc="decade of daily files", unit="file", disable=not progress) as bar:
        for i in range(days):
            amp = memory * amp + np.sqrt(1 - memory**2) * rng.normal(0, 1, n_modes)
            day = t0 + i
            path = folder / f"{str(day).replace('-', '')}-ODATIS-L4_GHRSST-SSTfnd-BENCH.nc"
            if path.exists():
                bar.update()
                continue
            doy = float((day - day.astype("datetime64[Y]")).astype(int) + 1)
            years_since = float((day - np.datetime64("2000-01-01", "D")).astype(int)) / 365.25
            season = -np.cos(2 * np.pi * (doy - 45.0) / 365.25)
            field = mean + amp_season * np.float32(season) + np.float32(0.025 * years_since)
            field += np.tensordot(amp.astype(np.float32), basis, axes=1)
            field[land] = np.nan
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                _write_decade_day(netCDF4, tmp, lat, lon, day, epoch, field, attrs, compress)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, path)
            bar.update()
    return folder


def _write_decade_day(
    netCDF4: Any,
    tmp: Path,
    lat: np.ndarray,
    lon: np.ndarray,
    day: np.datetime64,
    epoch: np.datetime64,
    field: np.ndarray,
    attrs: dict[str, Any],
    compress: bool,
) -> None:
    with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
        nc.createDimension("time", None)
        nc.createDimension("lat", lat.size)
        nc.createDimension("lon", lon.size)
        for name, values, units, axis in (("lat", lat, "degrees_north", "Y"), ("lon", lon, "degrees_east", "X")):
            v = nc.createVariable(name, "f4", (name,))
            v[:] = values
            v.setncatts({"standard_name": {"lat": "latitude", "lon": "longitude"}[name], "units": units, "axis": axis})
        v = nc.createVariable("time", "f8", ("time",))
        v.setncatts(
            {"standard_name": "time", "units": "days since 1950-01-01 00:00:00", "calendar": "standard", "axis": "T"}
        )
        v[:] = [float((day - epoch).astype(int)) + 0.5]
        kw = {"zlib": True, "complevel": 1} if compress else {}
        v = nc.createVariable(
            "analysed_sst",
            "f4",
            ("time", "lat", "lon"),
            fill_value=np.float32(np.nan),
            chunksizes=(1, lat.size, lon.size),
            **kw,
        )
        v.setncatts(
            {
                "standard_name": "sea_surface_foundation_temperature",
                "units": "degree_Celsius",
                "long_name": "analysed sea surface temperature",
            }
        )
        v[0] = field
        nc.setncatts(
            {
                **attrs,
                "id": f"ODATIS-BENCH-SST-{str(day).replace('-', '')}",
                "time_coverage_start": f"{day}T00:00:00Z",
                "time_coverage_end": f"{day}T23:59:59Z",
            }
        )
