"""Instant time series: a time-optimised copy of gridded datasets, found and used automatically.

Gridded products are stored *map-optimised* (one day per file or per chunk), which is right for
maps and wrong for a time series at a point: 10 years of daily files mean 3 653 files to open for
3 653 numbers. This module keeps, beside the dataset, a second **time-optimised** copy: a Zarr
(v2) store whose chunks hold the whole period for a small ``lat × lon`` tile, uncompressed and in
Fortran order, so that the series of one grid point is *one contiguous byte range* of one file.

* :func:`build` writes the copy (``<store>.time.zarr`` beside the data, or in the user's cache
  when the data folder is read-only), band by band with a progress bar, atomically, recording a
  fingerprint of the source (its files, sizes and modification times).
* :func:`find` returns the copy only when it is **fresh** (the fingerprint still matches);
  a stale or missing copy is never used.
* :func:`point_series` / :func:`box_series` use the copy when it is fresh, else read the
  original data with a :class:`SlowPathWarning` saying how to build the copy.
* :func:`point_values` is the explorer's path: plain numpy, no xarray object per call.

The copy is an ordinary Zarr store: ``xarray.open_zarr(path)`` opens it. Its format — where a dataset
lives, how a copy is written and read — is :mod:`odatis_vre.data.timecopy`; this module finds the
dataset (a catalogue entry or a path), decides whether its copy is fresh, and answers with the copy or
with the original data.

Example
-------
>>> from odatis_vre import timeseries
>>> timeseries.build("sample_sst_zarr", progress=False)                       # doctest: +SKIP
PosixPath('.../catalog/data/sst.time.zarr')
>>> s = timeseries.point_series("sample_sst_zarr", "analysed_sst", lon=-5.0, lat=46.0)  # doctest: +SKIP
>>> s.attrs["read_from"], s.sizes["time"]                                      # doctest: +SKIP
('time-optimised copy', 730)
>>> m = timeseries.box_series("sample_sst_zarr", "analysed_sst", bbox=(-8, 44, -4, 47))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time as _time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .data.timecopy import build as _build
from .data.timecopy.read import (
    _COPIES,
    _LOCK,
    BLOCK_BYTES,
    MAP_TASK_BYTES,
    TILES_KEY,
    TileSource,
    TimeCopy,
    _box_indices,
    _copy_stamp,
    _drop_copy,
    _nearest,
    _stored_fingerprint,
    _stored_meta,
    _time_slice,
    tile_source,
)
from .data.timecopy.source import (
    COPY_SUFFIX,
    DEFAULT_MAX_MEMORY,
    DEFAULT_TILE,
    NoFreshCopy,
    SlowPathWarning,
    Source,
    TimeSeriesError,
    _clean_attrs,
    _dim_names,
    _from_path,
    _local_path,
)

__all__ = [
    "BLOCK_BYTES",
    "COPY_SUFFIX",
    "MAP_TASK_BYTES",
    "TILES_KEY",
    "NoFreshCopy",
    "SlowPathWarning",
    "Source",
    "TileSource",
    "TimeCopy",
    "TimeSeriesError",
    "box_series",
    "build",
    "find",
    "open_dataarray",
    "point_series",
    "point_values",
    "resolve",
    "status",
    "tile_source",
]

#: Seconds during which a fresh verdict is trusted without listing the source's files again
#: (the source folders' own modification times are still checked on every call).
RECHECK_SECONDS = 10.0


_SOURCES: dict[tuple[str, str, int], tuple[float, Source]] = {}
_DEFAULT_CATALOG = str(Path(__file__).resolve().parents[1] / "catalog" / "odatis.yaml")


def resolve(name_or_path: str | os.PathLike[str], *, catalog: Any = None) -> Source:
    """The on-disk source of a catalogue entry name, or of a path (store, file, glob, folder).

    Answers are remembered for :data:`RECHECK_SECONDS` (per catalogue file version), so the
    explorer's clicks do not reopen the catalogue or re-glob thousands of daily files.

    >>> resolve("/nonexistent/x.zarr")
    Traceback (most recent call last):
    ...
    odatis_vre.data.timecopy.source.TimeSeriesError: /nonexistent/x.zarr: /nonexistent/x.zarr does not exist; check the path (or generate the samples with `odatis-vre data samples`)
    """
    text = os.fspath(name_or_path)
    if catalog is None:
        cat_key = os.environ.get("ODATIS_VRE_CATALOG") or _DEFAULT_CATALOG
    elif isinstance(catalog, (str, os.PathLike)):
        cat_key = os.fspath(catalog)
    else:
        cat_key = str(getattr(catalog, "path", id(catalog)))
    try:
        stamp = os.stat(cat_key).st_mtime_ns
    except OSError:
        stamp = -1
    key = (text, cat_key, stamp)
    now = _time.monotonic()
    hit = _SOURCES.get(key)
    if hit is not None and now - hit[0] < RECHECK_SECONDS:
        return hit[1]
    src = _resolve(text, catalog)
    if len(_SOURCES) > 256:
        _SOURCES.clear()
    _SOURCES[key] = (now, src)
    return src


def _resolve(name_or_path: str | os.PathLike[str], catalog: Any) -> Source:
    text = os.fspath(name_or_path)
    looks_like_path = os.sep in text or text.endswith((".zarr", ".nc")) or any(ch in text for ch in "*?[")
    if looks_like_path:
        return _from_path(text, text)
    from . import catalog as catalog_mod

    cat = catalog_mod._cat(catalog)
    try:
        raw = cat.entry(text)
    except catalog_mod.CatalogError as exc:
        raise TimeSeriesError(str(exc)) from None
    args = raw.get("args") or {}
    url = args.get("urlpath")
    if not isinstance(url, str):
        raise TimeSeriesError(
            f"entry {text!r}: no single `args.urlpath` (driver {raw.get('driver')!r}); only "
            f"gridded NetCDF/Zarr entries have time-optimised copies"
        )
    driver = str(raw.get("driver") or "")
    src = _from_path(_local_path(url, cat.directory), f"entry {text!r}")
    if "zarr" in driver and src.kind != "zarr":
        raise TimeSeriesError(f"entry {text!r}: driver zarr but {url} is not a Zarr store")
    return Source(src.kind, src.paths, text, src.pattern, src.root_dir)


def build(
    name_or_path: str | os.PathLike[str],
    *,
    catalog: Any = None,
    dest: str | os.PathLike[str] | None = None,
    tile: int = DEFAULT_TILE,
    max_memory: int = DEFAULT_MAX_MEMORY,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Write the time-optimised copy of a gridded dataset (a catalogue entry or a path); return its path.

    ``dest`` defaults to beside the data (``<store>.time.zarr``), or the user's cache when that
    folder is read-only. A fresh copy is kept unless ``force``. The source is read in latitude
    bands of at most ``max_memory`` bytes; each band is written as chunks of the whole period
    × ``tile`` × ``tile`` grid points (:func:`odatis_vre.data.timecopy.build.write_copy`). Readers never
    see half a copy.

    >>> build("sample_sst_daily", progress=False)        # doctest: +SKIP
    PosixPath('.../catalog/data/sst_daily.time.zarr')
    """
    if tile < 1:
        raise TimeSeriesError(f"tile={tile}: give a positive number of grid points (e.g. 16)")
    final = _build.write_copy(
        resolve(name_or_path, catalog=catalog),
        dest=dest,
        tile=tile,
        max_memory=max_memory,
        force=force,
        progress=progress,
    )
    _FRESH.pop(str(final), None)
    _drop_copy(str(final))
    return final


# ----------------------------------------------------------------------------- finding

#: copy path → (time of the last full check, the source's quick signature then, the copy's stamp then)
_FRESH: dict[str, tuple[float, tuple[int, ...], tuple[int, int] | None]] = {}


def status(name_or_path: str | os.PathLike[str] | Source, *, catalog: Any = None) -> dict[str, Any]:
    """``{"state": "fresh" | "stale" | "missing", "path": ..., "reason": ...}`` for a dataset's copy.

    >>> status("sample_sst_zarr")["state"]       # doctest: +SKIP
    'fresh'
    """
    src = name_or_path if isinstance(name_or_path, Source) else resolve(name_or_path, catalog=catalog)
    for path in (src.copy_path, src.cache_copy_path):
        meta = _stored_meta(path)
        if meta is None:
            continue
        if meta.get("fingerprint") == src.fingerprint():
            return {"state": "fresh", "path": path, "reason": f"built {meta.get('built')}, source unchanged"}
        return {
            "state": "stale",
            "path": path,
            "reason": f"the source's files changed since {meta.get('built')}; rebuild with "
            f"`odatis-vre timeseries build {src.label}`",
        }
    return {
        "state": "missing",
        "path": src.copy_path,
        "reason": f"no time-optimised copy; build one with `odatis-vre timeseries build {src.label}`",
    }


def find(name_or_path: str | os.PathLike[str] | Source, *, catalog: Any = None) -> Path | None:
    """The fresh time-optimised copy of a dataset, or ``None`` (missing or stale).

    Checking freshness lists the source's files; the verdict is then trusted for
    :data:`RECHECK_SECONDS` as long as the source folders' modification times do not move.

    >>> find("sample_sst_zarr")                  # doctest: +SKIP
    PosixPath('.../catalog/data/sst.time.zarr')
    """
    src = name_or_path if isinstance(name_or_path, Source) else resolve(name_or_path, catalog=catalog)
    now = _time.monotonic()
    for key, path in src.copy_keys:
        seen = _FRESH.get(key)
        if (
            seen is not None
            and now - seen[0] < RECHECK_SECONDS
            and seen[1] == src.quick_signature()
            and seen[2] == _copy_stamp(key)
        ):
            return path
    for key, path in src.copy_keys:
        stamp = _copy_stamp(key)
        stored = _stored_fingerprint(path)
        if stored is None:
            continue
        sig = src.quick_signature()
        if stored == src.fingerprint():
            with _LOCK:
                _FRESH[key] = (now, sig, stamp)
                opened = _COPIES.get(key)
                if opened is not None and opened.stamp != stamp:
                    _drop_copy(key)  # rebuilt (by another process): reopen it
            return path
        with _LOCK:
            _FRESH.pop(key, None)
            _drop_copy(key)
    return None


def _fresh_copy(name_or_path: str | os.PathLike[str] | Source, catalog: Any) -> TimeCopy:
    """The opened fresh copy of a dataset; :class:`NoFreshCopy`, saying how to build one, when there is none."""
    src = name_or_path if isinstance(name_or_path, Source) else resolve(name_or_path, catalog=catalog)
    path = find(src)
    if path is None:
        raise NoFreshCopy(status(src)["reason"])
    return TimeCopy.open(path)


def open_dataarray(
    name_or_path: str | os.PathLike[str], var: str, *, tiles: int | None = None, catalog: Any = None
) -> Any:
    """A gridded variable over its whole period, lazily, from the dataset's fresh time-optimised copy.

    The fast way into whole-period analyses on the Dask Gateway (climatologies, trends, anomalies):
    every dask block holds the whole period for ``tiles`` × ``tiles`` of the copy's chunks, read as
    raw bytes. :class:`NoFreshCopy` when there is no fresh copy (``odatis-vre timeseries build``).

    >>> sst = open_dataarray("sample_sst_zarr", "analysed_sst")          # doctest: +SKIP
    >>> clim = odatis_vre.analysis.climatology(sst).compute()             # doctest: +SKIP
    """
    return _fresh_copy(name_or_path, catalog).dataarray(var, tiles=tiles)


# ----------------------------------------------------------------------------- public series


def point_values(
    name_or_path: str | os.PathLike[str] | Source,
    var: str,
    lon: float,
    lat: float,
    *,
    time: Sequence[Any] | None = None,
    catalog: Any = None,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """``(times, values, (grid_lon, grid_lat))`` at the nearest grid point, from the fresh copy.

    The explorer's path: no xarray object is made. :class:`NoFreshCopy` when there is no
    fresh copy (use :func:`point_series`, which falls back to the original data). A resolved
    :class:`Source` skips the catalogue lookup (the explorer resolves its dataset once).

    >>> t, v, where = point_values("sample_sst_zarr", "analysed_sst", -5.0, 46.0)   # doctest: +SKIP
    """
    tc = _fresh_copy(name_or_path, catalog)
    ts = _time_slice(tc.time, time)
    values, (i, j) = tc.point(var, lon, lat, ts)
    return tc.time[ts], values, (float(tc.lon[j]), float(tc.lat[i]))


def _open_original(name_or_ds: Any, catalog: Any) -> tuple[Any, str]:
    import xarray as xr

    if isinstance(name_or_ds, xr.Dataset):
        return name_or_ds, "the dataset"
    src = resolve(name_or_ds, catalog=catalog)
    if src.kind == "zarr":
        return xr.open_zarr(src.paths[0], consolidated=None), src.label
    files = src.files() or list(src.paths)
    if len(files) == 1:
        return xr.open_dataset(files[0], chunks={}), src.label
    return xr.open_mfdataset(
        files, combine="by_coords", data_vars="minimal", coords="minimal", compat="override", chunks={}
    ), src.label


def _slow_path(name_or_ds: Any, var: str, catalog: Any) -> tuple[Any, str, tuple[str, str, str]]:
    """The original data of a series without a fresh copy: ``(ds, label, (time, lat, lon names))``.

    Warns (:class:`SlowPathWarning`, at the caller of the public function) with the command that
    builds the copy.
    """
    ds, label = _open_original(name_or_ds, catalog)
    dims = _dim_names(ds)
    if var not in ds.data_vars:
        raise TimeSeriesError(f"variable {var!r} is not in {label} (it has {', '.join(map(str, ds.data_vars))})")
    warnings.warn(
        f"{label}: reading the map-optimised data (slow): {_slow_hint(name_or_ds, catalog)}",
        SlowPathWarning,
        stacklevel=3,
    )
    return ds, label, dims


def _slow_hint(name_or_ds: Any, catalog: Any) -> str:
    import xarray as xr

    if isinstance(name_or_ds, xr.Dataset):
        return (
            "a Dataset was given, so its time-optimised copy cannot be found; pass the catalogue entry name "
            "(after `odatis-vre timeseries build NAME`) for instant series"
        )
    return status(name_or_ds, catalog=catalog)["reason"] + " (series are then instant)"


def _series(
    values: np.ndarray,
    times: np.ndarray,
    tname: str,
    name: str,
    attrs: dict[str, Any],
    coords: dict[str, Any],
    read_from: str,
) -> Any:
    import xarray as xr

    da = xr.DataArray(
        values, dims=(tname,), coords={tname: times, **coords}, name=name, attrs={**attrs, "read_from": read_from}
    )
    return da


def point_series(
    name_or_ds: Any, var: str, lon: float, lat: float, *, time: Sequence[Any] | None = None, catalog: Any = None
) -> Any:
    """The time series of ``var`` at the grid point nearest ``(lon, lat)``, as an :class:`xarray.DataArray`.

    ``name_or_ds`` is a catalogue entry name, a path, or an :class:`xarray.Dataset`. With a fresh
    time-optimised copy the series is one file read; otherwise the original data is read and a
    :class:`SlowPathWarning` says how to build the copy. ``attrs["read_from"]`` says which.

    >>> s = point_series("sample_sst_zarr", "analysed_sst", -5.0, 46.0, time=("2023-06-01", "2023-08-31"))  # doctest: +SKIP
    >>> float(s.lon), float(s.lat), s.attrs["units"]                                                       # doctest: +SKIP
    (-5.0, 46.0, 'degree_Celsius')
    """
    import xarray as xr

    path = None if isinstance(name_or_ds, xr.Dataset) else find(name_or_ds, catalog=catalog)
    if path is not None:
        tc = TimeCopy.open(path)
        ts = _time_slice(tc.time, time)
        values, (i, j) = tc.point(var, lon, lat, ts)
        d = tc.dims
        return _series(
            values.copy(),
            tc.time[ts],
            d["time"],
            var,
            tc.var_attrs.get(var, {}),
            {d["lon"]: float(tc.lon[j]), d["lat"]: float(tc.lat[i])},
            "time-optimised copy",
        )
    ds, label, (tname, yname, xname) = _slow_path(name_or_ds, var, catalog)
    lat_v, lon_v = ds[yname].values, ds[xname].values
    i, j = _nearest(lat_v, lon_v, lon, lat, label)
    da = ds[var].isel({yname: i, xname: j})
    ts = _time_slice(ds[tname].values, time)
    da = da.isel({tname: ts}).load()
    return _series(
        np.asarray(da.values),
        da[tname].values,
        tname,
        var,
        _clean_attrs(dict(ds[var].attrs)),
        {xname: float(lon_v[j]), yname: float(lat_v[i])},
        "original data",
    )


def _area_mean(block: np.ndarray, lat: np.ndarray) -> np.ndarray:
    # grid cells shrink towards the poles: weight each row by cos(latitude)
    w = np.cos(np.deg2rad(lat.astype(np.float64)))[None, :, None] * np.ones_like(block, dtype=np.float64)
    w[~np.isfinite(block)] = 0.0
    total = np.nansum(np.where(np.isfinite(block), block, 0.0) * w, axis=(1, 2))
    weight = w.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan).astype(block.dtype)


def box_series(
    name_or_ds: Any, var: str, bbox: Sequence[float], *, time: Sequence[Any] | None = None, catalog: Any = None
) -> Any:
    """The area mean (cos-latitude weighted, missing values ignored) of ``var`` over ``bbox=(W, S, E, N)``.

    Same sources and fallback as :func:`point_series`; ``attrs["n_points"]`` is the number of grid points.

    >>> m = box_series("sample_sst_zarr", "analysed_sst", (-8, 44, -4, 47))   # doctest: +SKIP
    """
    import xarray as xr

    path = None if isinstance(name_or_ds, xr.Dataset) else find(name_or_ds, catalog=catalog)
    if path is not None:
        tc = TimeCopy.open(path)
        rows, cols = _box_indices(tc.lat, tc.lon, bbox, tc.path.name)
        ts = _time_slice(tc.time, time)
        block = tc.block(var, rows, cols, ts)
        lat_sel = tc.lat[rows]
        times, attrs, tname, read_from = tc.time[ts], tc.var_attrs.get(var, {}), tc.dims["time"], "time-optimised copy"
    else:
        ds, label, (tname, yname, xname) = _slow_path(name_or_ds, var, catalog)
        rows, cols = _box_indices(ds[yname].values, ds[xname].values, bbox, label)
        ts = _time_slice(ds[tname].values, time)
        sub = ds[var].transpose(tname, yname, xname).isel({yname: rows, xname: cols, tname: ts}).load()
        block, lat_sel = np.asarray(sub.values), ds[yname].values[rows]
        times, attrs, read_from = sub[tname].values, _clean_attrs(dict(ds[var].attrs)), "original data"
    out = _series(_area_mean(block, lat_sel), times, tname, var, attrs, {}, read_from)
    out.attrs.update(
        n_points=int(block.shape[1] * block.shape[2]),
        bbox=[float(b) for b in bbox],
        cell_methods=f"area: mean (cos-latitude weights) over {block.shape[1]}x{block.shape[2]} points",
    )
    return out
