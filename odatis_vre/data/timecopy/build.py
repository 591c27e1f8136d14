"""Writing a time-optimised copy: the source read in latitude bands, written as whole-period chunks of a Zarr (v2)
store, uncompressed, in Fortran order, renamed into place when complete."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .read import _stored_fingerprint
from .source import (
    DEFAULT_MAX_MEMORY,
    DEFAULT_TILE,
    FILES_INDEX,
    FORMAT_VERSION,
    Source,
    TimeSeriesError,
    _clean_attrs,
    _dim_names,
    _gridded_vars,
)


def _open_nc(path: Path, label: str) -> Any:
    import netCDF4

    try:
        return netCDF4.Dataset(path)
    except OSError as exc:
        raise TimeSeriesError(
            f"{label}: cannot read {path} ({exc}); repair or remove that file, then build again"
        ) from None


class _NetCDFFiles:
    """Reads lat bands of (time, lat, lon) variables from many NetCDF files, in time order."""

    def __init__(self, files: Sequence[Path], label: str):
        import xarray as xr

        self.label = label
        try:
            first = xr.open_dataset(files[0], decode_times=True)
        except (OSError, ValueError) as exc:
            raise TimeSeriesError(f"{label}: cannot read {files[0]} ({exc}); repair or remove that file") from None
        with first:
            self.dims = _dim_names(first)
            tname, yname, xname = self.dims
            self.variables = _gridded_vars(first, self.dims)
            if not self.variables:
                raise TimeSeriesError(
                    f"{label}: {files[0].name} has no numeric variable on ({tname}, {yname}, {xname})"
                )
            self.lat = first[yname].values
            self.lon = first[xname].values
            self.attrs = dict(first.attrs)
            self.var_attrs = {v: _clean_attrs(first[v].attrs) for v in self.variables}
            self.coord_attrs = {n: dict(first[n].attrs) for n in (yname, xname)}
            self.time_attrs = {k: v for k, v in first[tname].attrs.items() if k not in ("units", "calendar")}
            self.dtypes = {v: _out_dtype(first[v].dtype) for v in self.variables}
        self.files, self.times, self.counts = self._order(files)

    def _order(self, files: Sequence[Path]) -> tuple[list[Path], np.ndarray, list[int]]:
        import cftime

        tname = self.dims[0]
        found = []
        for f in files:
            with _open_nc(f, self.label) as nc:
                if tname not in nc.variables:
                    raise TimeSeriesError(
                        f"{self.label}: {f} has no variable {tname!r}; every file must hold the same grid"
                    )
                tv = nc.variables[tname]
                vals = np.atleast_1d(tv[:])
                dates = cftime.num2date(
                    vals,
                    tv.units,
                    getattr(tv, "calendar", "standard"),
                    only_use_cftime_datetimes=False,
                    only_use_python_datetimes=True,
                )
                t = np.array([np.datetime64(d.replace(tzinfo=None), "ns") for d in np.atleast_1d(dates)])
                shape = nc.variables[self.variables[0]].shape
                if tuple(shape[1:]) != (self.lat.size, self.lon.size):
                    raise TimeSeriesError(
                        f"{self.label}: {f.name} has a {shape[1:]} grid, {files[0].name} has "
                        f"{(self.lat.size, self.lon.size)}; every file must hold the same grid"
                    )
            found.append((t[0] if t.size else np.datetime64("NaT"), f, t))
        found.sort(key=lambda x: x[0])
        times = np.concatenate([x[2] for x in found])
        if np.any(np.diff(times) <= np.timedelta64(0, "ns")):
            raise TimeSeriesError(f"{self.label}: the files' times overlap or repeat; one time step may appear once")
        return [x[1] for x in found], times, [x[2].size for x in found]

    def read_band(self, rows: slice, progress: Any) -> dict[str, np.ndarray]:
        nrow = rows.stop - rows.start
        out = {v: np.empty((self.times.size, nrow, self.lon.size), dtype=self.dtypes[v]) for v in self.variables}
        t0 = 0
        for f, n in zip(self.files, self.counts):
            with _open_nc(f, self.label) as nc:
                for v in self.variables:
                    block = nc.variables[v][:, rows, :]
                    out[v][t0 : t0 + n] = np.ma.filled(np.ma.asarray(block, dtype=self.dtypes[v]), np.nan)
            t0 += n
            progress.update(1)
        return out


class _XarrayGrid:
    """Reads lat bands from a Zarr store (or any xarray dataset) with dask."""

    def __init__(self, ds: Any, label: str):
        self.ds = ds
        self.label = label
        self.dims = _dim_names(ds)
        tname, yname, xname = self.dims
        self.variables = _gridded_vars(ds, self.dims)
        if not self.variables:
            raise TimeSeriesError(f"{label}: no numeric variable on ({tname}, {yname}, {xname})")
        self.lat, self.lon, self.times = ds[yname].values, ds[xname].values, ds[tname].values
        if not np.issubdtype(self.times.dtype, np.datetime64):
            raise TimeSeriesError(
                f"{label}: time coordinate {tname!r} is not decoded to dates (units/calendar attributes missing?)"
            )
        self.attrs = dict(ds.attrs)
        self.var_attrs = {v: _clean_attrs(ds[v].attrs) for v in self.variables}
        self.coord_attrs = {n: dict(ds[n].attrs) for n in (yname, xname)}
        self.time_attrs = {k: v for k, v in ds[tname].attrs.items() if k not in ("units", "calendar")}
        self.dtypes = {v: _out_dtype(ds[v].dtype) for v in self.variables}
        self.files = [None]

    def read_band(self, rows: slice, progress: Any) -> dict[str, np.ndarray]:
        tname, yname, xname = self.dims
        out = {}
        for v in self.variables:
            da = self.ds[v].transpose(tname, yname, xname).isel({yname: rows})
            out[v] = np.asarray(da.values, dtype=self.dtypes[v])
        progress.update(1)
        return out


def _out_dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def _reader(src: Source) -> _NetCDFFiles | _XarrayGrid:
    if src.kind == "netcdf":
        return _NetCDFFiles(src.files() or list(src.paths), src.label)
    import xarray as xr

    try:
        ds = xr.open_zarr(src.paths[0], consolidated=None)
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported with the path
        raise TimeSeriesError(f"{src.label}: cannot open {src.paths[0]} as Zarr: {type(exc).__name__}: {exc}") from None
    return _XarrayGrid(ds, src.label)


# ----------------------------------------------------------------------------- building


def _json_safe(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, np.generic):
            v = v.item()
        try:
            json.dumps(v, allow_nan=True)
        except TypeError:
            v = str(v)
        out[str(k)] = v
    return out


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


def write_copy(
    src: Source,
    *,
    dest: str | os.PathLike[str] | None = None,
    tile: int = DEFAULT_TILE,
    max_memory: int = DEFAULT_MAX_MEMORY,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Write the time-optimised copy of a gridded dataset; return its path.

    ``dest`` defaults to beside the data (``<store>.time.zarr``), or the user's cache when that
    folder is read-only. A fresh copy is kept unless ``force``. The source is read in latitude
    bands of at most ``max_memory`` bytes; each band is written as chunks of the whole period
    × ``tile`` × ``tile`` grid points (uncompressed, Fortran order). The store is written to a
    temporary folder and renamed into place, so readers never see half a copy.

    >>> from odatis_vre import timeseries
    >>> write_copy(timeseries.resolve("sample_sst_daily"), progress=False)        # doctest: +SKIP
    PosixPath('.../catalog/data/sst_daily.time.zarr')
    """
    import zarr
    from tqdm.auto import tqdm

    if tile < 1:
        raise TimeSeriesError(f"tile={tile}: give a positive number of grid points (e.g. 16)")
    if dest is not None:
        final = Path(dest).expanduser().resolve()
    elif _writable(src.copy_path.parent):
        final = src.copy_path
    else:
        final = src.cache_copy_path
    fingerprint = src.fingerprint()
    if not force and _stored_fingerprint(final) == fingerprint:
        return final
    reader = _reader(src)
    nt, ny, nx = reader.times.size, reader.lat.size, reader.lon.size
    itemsize = max(np.dtype(d).itemsize for d in reader.dtypes.values()) * len(reader.variables)
    rows_per_band = max(tile, (max_memory // max(1, nt * nx * itemsize)) // tile * tile)
    bands = [slice(r, min(r + rows_per_band, ny)) for r in range(0, ny, rows_per_band)]

    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write_skeleton(tmp, reader)
        group = zarr.open_group(str(tmp), mode="a", zarr_format=2)
        tname, yname, xname = reader.dims
        arrays = {}
        for v in reader.variables:
            arr = group.create_array(
                v,
                shape=(nt, ny, nx),
                chunks=(nt, min(tile, ny), min(tile, nx)),
                dtype=reader.dtypes[v],
                order="F",
                compressors=None,
                filters=None,
                fill_value=np.nan,
                chunk_key_encoding={"name": "v2", "separator": "."},
            )
            arr.attrs.update(_json_safe({**reader.var_attrs[v], "_ARRAY_DIMENSIONS": [tname, yname, xname]}))
            arrays[v] = arr
        steps = len(bands) * len(reader.files)
        with tqdm(total=steps, desc=f"time copy {src.label}", unit="file", disable=not progress, leave=False) as bar:
            for rows in bands:
                block = reader.read_band(rows, bar)
                for v, data in block.items():
                    arrays[v][:, rows, :] = data
                del block
        meta = {
            "version": FORMAT_VERSION,
            "source": str(src.paths[0] if src.kind == "zarr" else src.pattern or src.paths[0]),
            "label": src.label,
            "kind": src.kind,
            "fingerprint": fingerprint,
            "dims": {"time": tname, "lat": yname, "lon": xname},
            "variables": reader.variables,
            "tile": [min(tile, ny), min(tile, nx)],
            "built": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        group.attrs.update({"odatis_time_copy": meta})
        zarr.consolidate_metadata(str(tmp), zarr_format=2)
        if isinstance(reader, _NetCDFFiles):
            # the copy doubles as the index of the daily files: which file holds which time step
            (tmp / FILES_INDEX).write_text(
                json.dumps(
                    {
                        "root": str(src.root),
                        "files": [os.path.relpath(f, src.root) for f in reader.files],
                        "counts": reader.counts,
                    }
                )
            )
        _swap_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _write_skeleton(path: Path, reader: _NetCDFFiles | _XarrayGrid) -> None:
    """The group with its coordinates and attributes, written by xarray (it encodes the times)."""
    import xarray as xr

    tname, yname, xname = reader.dims
    coords = {
        tname: (tname, reader.times, reader.time_attrs),
        yname: (yname, reader.lat, reader.coord_attrs.get(yname, {})),
        xname: (xname, reader.lon, reader.coord_attrs.get(xname, {})),
    }
    skel = xr.Dataset(coords=coords, attrs=_json_safe(reader.attrs))
    enc = {tname: {"units": "seconds since 1970-01-01 00:00:00", "calendar": "proleptic_gregorian", "dtype": "int64"}}
    if np.any(reader.times.astype("datetime64[s]") != reader.times):
        enc[tname]["units"] = "nanoseconds since 1970-01-01 00:00:00"
    skel.to_zarr(str(path), mode="w", zarr_format=2, consolidated=False, encoding=enc)


def _swap_into_place(tmp: Path, final: Path) -> None:
    if not final.exists():
        os.replace(tmp, final)
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
