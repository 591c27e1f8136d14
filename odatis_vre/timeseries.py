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

The copy is an ordinary Zarr store: ``xarray.open_zarr(path)`` opens it.

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

import contextlib
import datetime as _dt
import glob as _glob
import hashlib
import json
import math
import mmap
import os
import shutil
import threading
import time as _time
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import numpy as np

COPY_SUFFIX = ".time.zarr"
FILES_INDEX = "odatis_files.json"
FORMAT_VERSION = 1
#: Seconds during which a fresh verdict is trusted without listing the source's files again
#: (the source folders' own modification times are still checked on every call).
RECHECK_SECONDS = 10.0
DEFAULT_TILE = 16
DEFAULT_MAX_MEMORY = 512 * 2**20

_LAT = ("lat", "latitude", "nav_lat", "y")
_LON = ("lon", "longitude", "nav_lon", "x")
_TIME = ("time", "TIME", "date")


class TimeSeriesError(ValueError):
    """A time series cannot be made from this input; the message says what to change."""


class NoFreshCopy(TimeSeriesError):
    """The dataset has no fresh time-optimised copy (missing or stale); the message says how to build one."""


class SlowPathWarning(UserWarning):
    """No fresh time-optimised copy: the series is read from the map-optimised data (slow)."""


# ----------------------------------------------------------------------------- sources

@dataclass(frozen=True)
class Source:
    """Where a gridded dataset lives on disk.

    ``kind`` is ``"zarr"`` (one store) or ``"netcdf"`` (one or more files, e.g. one per day);
    ``label`` is how messages name it (a catalogue entry or a path).

    >>> Source("netcdf", (Path("/d/a.nc"),), label="x").copy_path
    PosixPath('/d/a.time.zarr')
    >>> Source("netcdf", (Path("/d/daily/a.nc"),), label="x", pattern="/d/daily/*.nc", root_dir="/d/daily").copy_path
    PosixPath('/d/daily.time.zarr')
    """

    kind: str
    #: the Zarr store, the single file, or the first file matching ``pattern``
    paths: tuple[Path, ...]
    label: str
    #: the glob or folder the files were found with (files appearing later make the copy stale)
    pattern: str | None = None
    #: the folder holding every matching file (for ``pattern`` sources)
    root_dir: str | None = None

    @cached_property
    def root(self) -> Path:
        """The folder that holds the data (the store itself for Zarr)."""
        if self.kind == "zarr":
            return self.paths[0]
        if self.root_dir:
            return Path(self.root_dir)
        return self.paths[0].parent if len(self.paths) == 1 else Path(os.path.commonpath(self.paths))

    @cached_property
    def copy_path(self) -> Path:
        """The copy beside the data: ``sst.zarr`` → ``sst.time.zarr``; ``sst_daily/*.nc`` → ``sst_daily.time.zarr``."""
        if self.kind == "zarr":
            p = self.paths[0]
            return p.with_name(p.name.removesuffix(".zarr") + COPY_SUFFIX)
        if self.pattern is None and len(self.paths) == 1:
            p = self.paths[0]
            return p.with_name(p.stem + COPY_SUFFIX)
        root = self.root
        return root.with_name(root.name + COPY_SUFFIX)

    @cached_property
    def cache_copy_path(self) -> Path:
        """Fallback location in the user's cache, for data in a read-only folder."""
        from .catalog import _cache_dir

        key = hashlib.sha1((self.pattern or str(self.paths[0].resolve())).encode()).hexdigest()[:16]
        return _cache_dir() / "timecopies" / f"{self.root.name.removesuffix('.zarr')}-{key}{COPY_SUFFIX}"

    def _file_names(self) -> list[str]:
        if self.kind == "zarr":
            out = []
            for dirpath, _dirs, names in os.walk(self.paths[0]):
                out += [os.path.join(dirpath, n) for n in names]
            return sorted(out)
        if self.pattern:
            return sorted(_glob.glob(self.pattern))
        return sorted(str(p) for p in self.paths)

    def files(self) -> list[Path]:
        """The files that make up the source now (re-globbed, so new daily files count)."""
        return [Path(p) for p in self._file_names()]

    def fingerprint(self) -> str:
        """A hash of every file's relative name, size and modification time.

        >>> import tempfile; d = Path(tempfile.mkdtemp()); (d / "a.nc").write_bytes(b"x")
        1
        >>> s = Source("netcdf", (d / "a.nc",), label="a"); f = s.fingerprint()
        >>> (d / "a.nc").write_bytes(b"xy") and s.fingerprint() != f
        True
        """
        h = hashlib.sha256()
        root = str(self.root) + os.sep
        n = 0
        # strings, not Path objects: thousands of daily files are listed on a first click
        for p in self._file_names():
            try:
                st = os.stat(p)
            except FileNotFoundError:
                continue
            rel = p[len(root):] if p.startswith(root) else os.path.relpath(p, root)
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            n += 1
        return f"{n}:{h.hexdigest()}"

    @cached_property
    def copy_keys(self) -> tuple[tuple[str, Path], tuple[str, Path]]:
        """``(str, Path)`` of both possible copy locations (computed once: clicks check them every time)."""
        return (str(self.copy_path), self.copy_path), (str(self.cache_copy_path), self.cache_copy_path)

    @cached_property
    def _watched_dirs(self) -> tuple[str, ...]:
        root = self.root
        dirs = {str(root)}
        if self.kind == "zarr" and root.is_dir():
            dirs |= {str(p) for p in root.iterdir() if p.is_dir()}
        return tuple(sorted(dirs))

    def quick_signature(self) -> tuple[int, ...]:
        """Modification times of the source's folders: they change when a file is added, removed or replaced."""
        out = []
        for d in self._watched_dirs:
            try:
                out.append(os.stat(d).st_mtime_ns)
            except FileNotFoundError:
                out.append(-1)
        return tuple(out)


def _local_path(url: str, catalog_dir: Path) -> str:
    url = url.replace("{{ CATALOG_DIR }}", str(catalog_dir)).replace("{{CATALOG_DIR}}", str(catalog_dir))
    if url.startswith("file://"):
        url = url[len("file://"):]
    return url


def _from_path(text: str, label: str) -> Source:
    """A :class:`Source` from a Zarr store, a NetCDF file, a glob, or a folder of NetCDF files."""
    if "://" in text:
        raise TimeSeriesError(f"{label}: {text} is remote; time-optimised copies are made from local data only "
                              f"(mirror it first, see docs/catalogue.md)")
    p = Path(text).expanduser()
    if any(ch in text for ch in "*?["):
        return _from_pattern(str(p.absolute()), label, f"no file matches {text}; generate the data first "
                                                       f"(`odatis-vre data samples` for the samples)")
    if not p.exists():
        raise TimeSeriesError(f"{label}: {p} does not exist; check the path (or generate the samples with "
                              f"`odatis-vre data samples`)")
    if p.is_dir() and (p.suffix == ".zarr" or (p / ".zgroup").exists() or (p / "zarr.json").exists()):
        return Source("zarr", (p.resolve(),), label)
    if p.is_dir():
        return _from_pattern(str(p.resolve() / "*.nc"), label, f"folder {p} holds no *.nc file")
    return Source("netcdf", (p.resolve(),), label)


def _from_pattern(pattern: str, label: str, if_none: str) -> Source:
    files = sorted(_glob.glob(pattern))
    if not files:
        raise TimeSeriesError(f"{label}: {if_none}")
    root = os.path.dirname(files[0]) if len(files) == 1 else os.path.commonpath(files)
    return Source("netcdf", (Path(files[0]),), label, pattern=pattern, root_dir=root)


_SOURCES: dict[tuple[str, str, int], tuple[float, Source]] = {}
_DEFAULT_CATALOG = str(Path(__file__).resolve().parents[1] / "catalog" / "odatis.yaml")


def resolve(name_or_path: str | os.PathLike[str], *, catalog: Any = None) -> Source:
    """The on-disk source of a catalogue entry name, or of a path (store, file, glob, folder).

    Answers are remembered for :data:`RECHECK_SECONDS` (per catalogue file version), so the
    explorer's clicks do not reopen the catalogue or re-glob thousands of daily files.

    >>> resolve("/nonexistent/x.zarr")
    Traceback (most recent call last):
    ...
    odatis_vre.timeseries.TimeSeriesError: /nonexistent/x.zarr: /nonexistent/x.zarr does not exist; check the path (or generate the samples with `odatis-vre data samples`)
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
        raise TimeSeriesError(f"entry {text!r}: no single `args.urlpath` (driver {raw.get('driver')!r}); only "
                              f"gridded NetCDF/Zarr entries have time-optimised copies")
    driver = str(raw.get("driver") or "")
    src = _from_path(_local_path(url, cat.directory), f"entry {text!r}")
    if "zarr" in driver and src.kind != "zarr":
        raise TimeSeriesError(f"entry {text!r}: driver zarr but {url} is not a Zarr store")
    return Source(src.kind, src.paths, text, src.pattern, src.root_dir)


# ----------------------------------------------------------------------------- reading the source

def _dim_names(ds: Any, var: str | None = None) -> tuple[str, str, str]:
    def pick(names: Sequence[str], what: str) -> str:
        for n in names:
            if n in ds.dims:
                return n
        raise TimeSeriesError(f"no {what} dimension (looked for {', '.join(names)}; the data has "
                              f"{', '.join(map(str, ds.dims))}); only (time, lat, lon) grids have time series here")
    return pick(_TIME, "time"), pick(_LAT, "latitude"), pick(_LON, "longitude")


def _gridded_vars(ds: Any, dims: tuple[str, str, str]) -> list[str]:
    return [str(v) for v, da in ds.data_vars.items() if set(da.dims) == set(dims) and da.ndim == 3
            and np.issubdtype(da.dtype, np.number)]


def _open_nc(path: Path, label: str) -> Any:
    import netCDF4

    try:
        return netCDF4.Dataset(path)
    except OSError as exc:
        raise TimeSeriesError(f"{label}: cannot read {path} ({exc}); repair or remove that file, then build again") from None


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
                raise TimeSeriesError(f"{label}: {files[0].name} has no numeric variable on ({tname}, {yname}, {xname})")
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
                    raise TimeSeriesError(f"{self.label}: {f} has no variable {tname!r}; every file must hold the same grid")
                tv = nc.variables[tname]
                vals = np.atleast_1d(tv[:])
                dates = cftime.num2date(vals, tv.units, getattr(tv, "calendar", "standard"),
                                        only_use_cftime_datetimes=False, only_use_python_datetimes=True)
                t = np.array([np.datetime64(d.replace(tzinfo=None), "ns") for d in np.atleast_1d(dates)])
                shape = nc.variables[self.variables[0]].shape
                if tuple(shape[1:]) != (self.lat.size, self.lon.size):
                    raise TimeSeriesError(f"{self.label}: {f.name} has a {shape[1:]} grid, {files[0].name} has "
                                          f"{(self.lat.size, self.lon.size)}; every file must hold the same grid")
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
                    out[v][t0:t0 + n] = np.ma.filled(np.ma.asarray(block, dtype=self.dtypes[v]), np.nan)
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
            raise TimeSeriesError(f"{label}: time coordinate {tname!r} is not decoded to dates "
                                  f"(units/calendar attributes missing?)")
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


def _clean_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    # values are stored decoded: packing attributes would be applied twice by readers
    drop = {"scale_factor", "add_offset", "_FillValue", "missing_value", "coordinates", "_ChunkSizes"}
    return {k: v for k, v in attrs.items() if k not in drop}


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


def build(name_or_path: str | os.PathLike[str], *, catalog: Any = None, dest: str | os.PathLike[str] | None = None,
          tile: int = DEFAULT_TILE, max_memory: int = DEFAULT_MAX_MEMORY, force: bool = False,
          progress: bool = True) -> Path:
    """Write the time-optimised copy of a gridded dataset; return its path.

    ``dest`` defaults to beside the data (``<store>.time.zarr``), or the user's cache when that
    folder is read-only. A fresh copy is kept unless ``force``. The source is read in latitude
    bands of at most ``max_memory`` bytes; each band is written as chunks of the whole period
    × ``tile`` × ``tile`` grid points (uncompressed, Fortran order). The store is written to a
    temporary folder and renamed into place, so readers never see half a copy.

    >>> build("sample_sst_daily", progress=False)        # doctest: +SKIP
    PosixPath('.../catalog/data/sst_daily.time.zarr')
    """
    import zarr
    from tqdm.auto import tqdm

    if tile < 1:
        raise TimeSeriesError(f"tile={tile}: give a positive number of grid points (e.g. 16)")
    src = resolve(name_or_path, catalog=catalog)
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
            arr = group.create_array(v, shape=(nt, ny, nx), chunks=(nt, min(tile, ny), min(tile, nx)),
                                     dtype=reader.dtypes[v], order="F", compressors=None, filters=None,
                                     fill_value=np.nan, chunk_key_encoding={"name": "v2", "separator": "."})
            arr.attrs.update(_json_safe({**reader.var_attrs[v], "_ARRAY_DIMENSIONS": [tname, yname, xname]}))
            arrays[v] = arr
        steps = len(bands) * len(reader.files)
        with tqdm(total=steps, desc=f"time copy {src.label}", unit="file", disable=not progress,
                  leave=False) as bar:
            for rows in bands:
                block = reader.read_band(rows, bar)
                for v, data in block.items():
                    arrays[v][:, rows, :] = data
                del block
        meta = {"version": FORMAT_VERSION, "source": str(src.paths[0] if src.kind == "zarr" else src.pattern or src.paths[0]),
                "label": src.label, "kind": src.kind, "fingerprint": fingerprint,
                "dims": {"time": tname, "lat": yname, "lon": xname}, "variables": reader.variables,
                "tile": [min(tile, ny), min(tile, nx)],
                "built": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        group.attrs.update({"odatis_time_copy": meta})
        zarr.consolidate_metadata(str(tmp), zarr_format=2)
        if isinstance(reader, _NetCDFFiles):
            # the copy doubles as the index of the daily files: which file holds which time step
            (tmp / FILES_INDEX).write_text(json.dumps(
                {"root": str(src.root), "files": [os.path.relpath(f, src.root) for f in reader.files],
                 "counts": reader.counts}))
        _swap_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _FRESH.pop(str(final), None)
    _drop_copy(str(final))
    return final


def _write_skeleton(path: Path, reader: _NetCDFFiles | _XarrayGrid) -> None:
    """The group with its coordinates and attributes, written by xarray (it encodes the times)."""
    import xarray as xr

    tname, yname, xname = reader.dims
    coords = {tname: (tname, reader.times, reader.time_attrs),
              yname: (yname, reader.lat, reader.coord_attrs.get(yname, {})),
              xname: (xname, reader.lon, reader.coord_attrs.get(xname, {}))}
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


# ----------------------------------------------------------------------------- finding

_LOCK = threading.Lock()
#: copy path → (time of the last full check, the source's quick signature then, the copy's stamp then)
_FRESH: dict[str, tuple[float, tuple[int, ...], tuple[int, int] | None]] = {}
#: copy path → opened copy
_COPIES: dict[str, "TimeCopy"] = {}


def _drop_copy(key: str) -> None:
    """Forget an opened copy (rebuilt or gone) and close the chunk files it kept open."""
    old = _COPIES.pop(key, None)
    if old is not None:
        old.close()


def _copy_stamp(path: str) -> tuple[int, int] | None:
    """Identity of a copy on disk (a rebuild renames a new folder into place: new inode)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _stored_meta(path: Path) -> dict[str, Any] | None:
    try:
        zm = json.loads((path / ".zmetadata").read_text())
        meta = zm["metadata"][".zattrs"]["odatis_time_copy"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta if isinstance(meta, dict) and meta.get("version") == FORMAT_VERSION else None


def _stored_fingerprint(path: Path) -> str | None:
    meta = _stored_meta(path)
    return meta.get("fingerprint") if meta else None


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
        return {"state": "stale", "path": path,
                "reason": f"the source's files changed since {meta.get('built')}; rebuild with "
                          f"`odatis-vre timeseries build {src.label}`"}
    return {"state": "missing", "path": src.copy_path,
            "reason": f"no time-optimised copy; build one with `odatis-vre timeseries build {src.label}`"}


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
        if (seen is not None and now - seen[0] < RECHECK_SECONDS and seen[1] == src.quick_signature()
                and seen[2] == _copy_stamp(key)):
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


# ----------------------------------------------------------------------------- reading the copy

#: Chunk files a :class:`TimeCopy` keeps open between clicks (a click then costs one ``pread``)
OPEN_CHUNK_FILES = 128

#: Default size of a whole-period block of :meth:`TimeCopy.dataarray`: large enough that a task's work
#: dwarfs its scheduling, below the 64 MiB up to which gateway workers allocate from the heap
#: (odatis_vre.gateway.WORKER_MALLOC)
BLOCK_BYTES = 48 * 1024**2

@dataclass
class TimeCopy:
    """An opened time-optimised copy: coordinates in memory, values read straight from the chunk files.

    >>> tc = TimeCopy.open(find("sample_sst_zarr"))      # doctest: +SKIP
    >>> v, (i, j) = tc.point("analysed_sst", -5.0, 46.0) # doctest: +SKIP
    """

    path: Path
    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    dims: dict[str, str]
    arrays: dict[str, dict[str, Any]]
    attrs: dict[str, Any] = field(default_factory=dict)
    var_attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the copy folder's identity when opened (see :func:`_copy_stamp`)
    stamp: tuple[int, int] | None = None
    _bounds: tuple[float, ...] | None = field(default=None, repr=False)
    _files: tuple[list[Path], np.ndarray] | None = field(default=None, repr=False)
    _regular: tuple[Any, Any] = field(default=(None, None), repr=False)
    _var_dirs: dict[str, str] = field(default_factory=dict, repr=False)
    #: chunk files kept open between clicks (path -> fd, least recently used first); a rebuilt copy is
    #: a new folder, seen by :func:`find`, and opened as a new TimeCopy with its own descriptors
    _fds: dict[str, int] = field(default_factory=dict, repr=False)
    _fd_lock: Any = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> "TimeCopy":
        """Open a copy written by :func:`build` (cached per process until the copy is rebuilt)."""
        key = os.fspath(path)
        cached = _COPIES.get(key)
        if cached is not None:
            return cached
        import xarray as xr
        import zarr

        path = Path(path)
        stamp = _copy_stamp(key)
        meta = _stored_meta(path)
        if meta is None:
            raise TimeSeriesError(f"{path}: not a time-optimised copy of this version; rebuild it with "
                                  f"`odatis-vre timeseries build`")
        zm = json.loads((path / ".zmetadata").read_text())["metadata"]
        dims = meta["dims"]
        # the coordinates straight from zarr (xarray.open_zarr costs ~10x more); CF times decoded by xarray
        group = zarr.open_group(str(path), mode="r", zarr_format=2)
        tattrs = zm[f"{dims['time']}/.zattrs"]
        time = xr.decode_cf(xr.Dataset({"t": ("t", group[dims["time"]][:], {
            k: tattrs[k] for k in ("units", "calendar") if k in tattrs})}))["t"].values
        lat, lon = group[dims["lat"]][:], group[dims["lon"]][:]
        var_attrs = {v: {k: a for k, a in zm.get(f"{v}/.zattrs", {}).items() if k != "_ARRAY_DIMENSIONS"}
                     for v in meta["variables"]}
        arrays = {}
        for v in meta["variables"]:
            za = zm[f"{v}/.zarray"]
            if za.get("compressor") is not None or za.get("order") != "F" or za["chunks"][0] != za["shape"][0]:
                raise TimeSeriesError(f"{path}/{v}: unexpected layout; rebuild with `odatis-vre timeseries build`")
            arrays[v] = {"chunks": tuple(za["chunks"]), "dtype": np.dtype(za["dtype"]),
                         "sep": za.get("dimension_separator", ".")}
        tc = cls(path, time, lat, lon, dims, arrays, zm.get(".zattrs", {}), var_attrs, stamp=stamp)
        with _LOCK:
            _COPIES[key] = tc
        return tc

    def source_file(self, t: int) -> tuple[Path, int] | None:
        """The source NetCDF file holding time step ``t`` and the step's index in it (``None`` for Zarr sources)."""
        if self._files is None:
            try:
                idx = json.loads((self.path / FILES_INDEX).read_text())
            except FileNotFoundError:
                self._files = ([], np.zeros(0, dtype=np.int64))
            else:
                root = Path(idx["root"])
                self._files = ([root / f for f in idx["files"]], np.cumsum([0, *idx["counts"]]))
        files, starts = self._files
        if not files:
            return None
        k = int(np.searchsorted(starts, t, side="right")) - 1
        return files[k], int(t - starts[k])

    def index(self, lon: float, lat: float) -> tuple[int, int]:
        """Nearest grid indices ``(i_lat, i_lon)``; :class:`TimeSeriesError` outside the grid."""
        if self._bounds is None:
            self._bounds = _grid_bounds(self.lat, self.lon)
            self._regular = (_regular_axis(self.lat), _regular_axis(self.lon))
        ry, rx = self._regular
        if ry is not None and rx is not None and math.isfinite(lon) and math.isfinite(lat):
            # regular grids (the usual case): arithmetic, not a search
            y0, y1, x0, x1, hy, hx = self._bounds
            x = lon + 360.0 if (x1 > 180 and lon < 0) else lon
            if y0 - hy <= lat <= y1 + hy and x0 - hx <= x <= x1 + hx:
                return (min(max(int(math.floor((lat - ry[0]) / ry[1] + 0.5)), 0), ry[2] - 1),
                        min(max(int(math.floor((x - rx[0]) / rx[1] + 0.5)), 0), rx[2] - 1))
        return _nearest(self.lat, self.lon, lon, lat, self.label, self._bounds)

    def _chunk_file(self, var: str, ci: int, cj: int) -> str:
        # a click's path: plain strings (pathlib and os.path.join cost as much as the read itself)
        folder = self._var_dirs.get(var)
        if folder is None:
            folder = self._var_dirs[var] = f"{os.fspath(self.path)}/{var}/0{self.arrays[var]['sep']}"
        sep = self.arrays[var]["sep"]
        return f"{folder}{ci}{sep}{cj}"

    @property
    def label(self) -> str:
        """The data's name as the user gave it (the catalogue entry), for messages; not the copy's folder."""
        return (self.attrs.get("odatis_time_copy") or {}).get("label") or self.path.name

    def _var(self, var: str) -> dict[str, Any]:
        if var not in self.arrays:
            raise TimeSeriesError(f"variable {var!r} is not in {self.label} (it has {', '.join(self.arrays)})")
        return self.arrays[var]

    def point(self, var: str, lon: float, lat: float, tslice: slice = slice(None)) -> tuple[np.ndarray, tuple[int, int]]:
        """Values at the grid point nearest ``(lon, lat)`` (one read of one file) and its indices."""
        info = self._var(var)
        i, j = self.index(lon, lat)
        nt, ty, tx = info["chunks"]
        t0, t1, _ = tslice.indices(nt)
        item = info["dtype"].itemsize
        offset = (t0 + nt * ((i % ty) + ty * (j % tx))) * item
        path = self._chunk_file(var, i // ty, j // tx)
        with self._fd_lock:  # one lock: an evicted descriptor is never closed under another thread's read
            fd = self._fds.pop(path, None)
            if fd is None:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except FileNotFoundError:
                    return np.full(max(0, t1 - t0), np.nan, dtype=info["dtype"]), (i, j)  # all-missing tile (land)
                while len(self._fds) >= OPEN_CHUNK_FILES:
                    os.close(self._fds.pop(next(iter(self._fds))))  # least recently used first
            self._fds[path] = fd  # (re)inserted last: most recently used
            buf = os.pread(fd, (t1 - t0) * item, offset)
        return np.frombuffer(buf, dtype=info["dtype"]), (i, j)

    def close(self) -> None:
        """Close the chunk files kept open for clicks (also done when the copy is dropped)."""
        with self._fd_lock:
            for fd in self._fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def dataarray(self, var: str, *, tiles: int | None = None) -> Any:
        """The whole variable as a lazy, dask-backed ``DataArray`` (time, lat, lon) read straight from the copy.

        Each dask block is ``tiles`` × ``tiles`` of the copy's chunks over the whole period (by default
        as many as fit in :data:`BLOCK_BYTES`), copied from the mapped chunk files (no zarr codec pipeline,
        no CF decoding: the copy holds plain values with NaN as fill). Whole-period blocks let
        :func:`odatis_vre.analysis.climatology` and friends work block by block with no exchange between
        workers; a climatology of this very array reduces the chunk files without assembling blocks
        (:func:`tile_source`, :meth:`TileSource.map_series`).
        """
        import dask.array as dsa
        import xarray as xr
        from dask.base import tokenize

        info = self._var(var)
        nt, ty, tx = info["chunks"]
        ny, nx = self.lat.size, self.lon.size
        if tiles is None:
            tiles = max(1, math.isqrt(BLOCK_BYTES // (nt * ty * tx * info["dtype"].itemsize)))
        by, bx = ty * max(1, tiles), tx * max(1, tiles)
        rows = [(r, min(r + by, ny)) for r in range(0, ny, by)]
        cols = [(c, min(c + bx, nx)) for c in range(0, nx, bx)]
        # a blockwise layer (no input arrays, the block's position picks the tiles): dask fuses the read
        # with what follows block by block (a climatology is then one task per block, not two)
        tiles = TileSource(name="timecopy-" + tokenize(str(self.path), self.stamp, var, by, bx),
                           folder=os.path.join(self.path, var), sep=info["sep"], dtype=info["dtype"].str,
                           chunks3=(nt, ty, tx), rows=tuple(rows), cols=tuple(cols))
        arr = dsa.map_blocks(_read_block_at, folder=tiles.folder, sep=tiles.sep, dtype_str=tiles.dtype,
                             chunks3=tiles.chunks3, rows=rows, cols=cols, name=tiles.name,
                             chunks=((nt,), *tiles.block_chunks()),
                             dtype=info["dtype"], meta=np.empty((0, 0, 0), dtype=info["dtype"]))
        d = self.dims
        da = xr.DataArray(arr, dims=(d["time"], d["lat"], d["lon"]), name=var, attrs=dict(self.var_attrs.get(var, {})),
                          coords={d["time"]: self.time, d["lat"]: self.lat, d["lon"]: self.lon})
        da.encoding[TILES_KEY] = tiles
        return da

    def block(self, var: str, rows: slice, cols: slice, tslice: slice = slice(None)) -> np.ndarray:
        """The ``(time, lat, lon)`` values of a block of grid points, read tile by tile."""
        info = self._var(var)
        t0, t1, _ = tslice.indices(info["chunks"][0])
        return np.ascontiguousarray(_read_block(os.path.join(self.path, var), info["sep"], info["dtype"].str,
                                                info["chunks"], (rows.start, rows.stop), (cols.start, cols.stop),
                                                (t0, t1)))


#: data reduced by one task of :meth:`TileSource.map_series` (a tile at a time: its memory stays small)
MAP_TASK_BYTES = 160 * 1024**2

#: where :meth:`TimeCopy.dataarray` records how its blocks are read (``DataArray.encoding``)
TILES_KEY = "odatis_vre_tiles"


@dataclass(frozen=True)
class TileSource:
    """How the blocks of a :meth:`TimeCopy.dataarray` are read: ``rows`` × ``cols`` of the copy's chunk files.

    Whole-period reductions (:func:`odatis_vre.analysis.climatology`) use :meth:`map_series` to reduce
    each chunk file where it lies (mapped, not copied) instead of assembling blocks first.
    """

    name: str
    folder: str
    sep: str
    dtype: str
    chunks3: tuple[int, int, int]
    rows: tuple[tuple[int, int], ...]
    cols: tuple[tuple[int, int], ...]

    def block_chunks(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The dask chunks of the lat and lon axes."""
        return tuple(r1 - r0 for r0, r1 in self.rows), tuple(c1 - c0 for c0, c1 in self.cols)

    def map_series(self, func: Any, size: int, task_bytes: int | None = None, **kwargs: Any) -> Any:
        """A dask array ``(size, lat, lon)``: ``func(series, **kwargs)`` of every chunk file's ``(points, time)``
        series (a view of the mapped file) returns a new ``(points, size)`` array; all-missing tiles (no file)
        are NaN. The result has the data's float type.

        A task reduces the tiles of about ``task_bytes`` of data (default :data:`MAP_TASK_BYTES`), one at a
        time: its memory is one tile's result, whatever its size, so tasks can be few. Few tasks matter on
        the gateway, whose scheduler and workers run below the hub's priority: every task costs messages
        that wait for the CPU on a busy machine (docs/benchmarks.md, P2).
        """
        import dask.array as dsa
        from dask.base import tokenize

        nt, ty, tx = self.chunks3
        ny, nx = self.rows[-1][1], self.cols[-1][1]
        per_tile = nt * ty * tx * np.dtype(self.dtype).itemsize
        k = max(1, math.isqrt((task_bytes or MAP_TASK_BYTES) // per_tile))
        rows = tuple((r, min(r + k * ty, ny)) for r in range(0, ny, k * ty))
        cols = tuple((c, min(c + k * tx, nx)) for c in range(0, nx, k * tx))
        tasks = TileSource(self.name, self.folder, self.sep, self.dtype, self.chunks3, rows, cols)
        out = np.dtype(self.dtype) if np.issubdtype(np.dtype(self.dtype), np.floating) else np.dtype(np.float64)
        return dsa.map_blocks(_map_series_at, tiles=tasks, reduce=func, size=size, kwargs=kwargs, dtype=out,
                              name="map_series-" + tokenize(tasks, func, size, kwargs),
                              chunks=((size,), *tasks.block_chunks()), meta=np.empty((0, 0, 0), dtype=out))


def tile_source(da: Any) -> TileSource | None:
    """The :class:`TileSource` of a DataArray made by :meth:`TimeCopy.dataarray`, if it is still that very array
    (same dask array: not subset, not computed on); else None.

    >>> import xarray as xr
    >>> tile_source(xr.DataArray(np.zeros(3))) is None
    True
    """
    tiles = getattr(da, "encoding", {}).get(TILES_KEY)
    data = getattr(da, "data", None)
    if isinstance(tiles, TileSource) and getattr(data, "name", None) == tiles.name:
        return tiles
    return None


def _map_series_at(*, tiles: TileSource, reduce: Any, size: int, kwargs: dict[str, Any],
                   block_id: tuple[int, int, int]) -> np.ndarray:
    nt, ty, tx = tiles.chunks3
    (r0, r1), (c0, c1) = tiles.rows[block_id[1]], tiles.cols[block_id[2]]
    dtype = np.dtype(tiles.dtype) if np.issubdtype(np.dtype(tiles.dtype), np.floating) else np.dtype(np.float64)
    out = np.empty((size, r1 - r0, c1 - c0), dtype=dtype)
    for ci in range(r0 // ty, (r1 - 1) // ty + 1):
        for cj in range(c0 // tx, (c1 - 1) // tx + 1):
            a0, a1 = max(r0, ci * ty), min(r1, (ci + 1) * ty)
            b0, b1 = max(c0, cj * tx), min(c1, (cj + 1) * tx)
            tile = _mapped_tile(os.path.join(tiles.folder, f"0{tiles.sep}{ci}{tiles.sep}{cj}"), tiles.dtype, tiles.chunks3)
            if tile is None:
                out[:, a0 - r0:a1 - r0, b0 - c0:b1 - c0] = np.nan
                continue
            mapping = tile[1]
            # (time, ty, tx) in Fortran order is (points, time) in C order: point p = y + ty * x
            result = reduce(tile[0].reshape(nt, ty * tx, order="F").T, **kwargs)
            del tile
            _close_mapping(mapping)
            grid = np.asarray(result).T.reshape(size, ty, tx, order="F")
            out[:, a0 - r0:a1 - r0, b0 - c0:b1 - c0] = grid[:, a0 - ci * ty:a1 - ci * ty, b0 - cj * tx:b1 - cj * tx]
    return out


def _regular_axis(values: np.ndarray) -> tuple[float, float, int] | None:
    """``(first, step, size)`` when the coordinate is evenly spaced (to 1e-6 of a step), else ``None``.

    >>> _regular_axis(np.array([40.0, 40.25, 40.5]))
    (40.0, 0.25, 3)
    >>> _regular_axis(np.array([0.0, 1.0, 3.0])) is None
    True
    """
    raw = np.asarray(values)
    v = raw.astype(np.float64)
    if v.size < 2 or not np.issubdtype(raw.dtype, np.floating) and not np.issubdtype(raw.dtype, np.integer):
        return None
    step = (v[-1] - v[0]) / (v.size - 1)
    # coordinates stored as float32 carry their own rounding: tolerate it
    eps = float(np.finfo(raw.dtype).eps) * float(np.abs(v).max()) * 4 if np.issubdtype(raw.dtype, np.floating) else 0.0
    if step == 0 or not np.allclose(np.diff(v), step, rtol=0, atol=max(abs(step) * 1e-6, eps)):
        return None
    return float(v[0]), float(step), int(v.size)


def _grid_bounds(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """``(lat_min, lat_max, lon_min, lon_max, half_dlat, half_dlon)`` of a grid."""
    dy = abs(float(lat[1] - lat[0])) if lat.size > 1 else 1.0
    dx = abs(float(lon[1] - lon[0])) if lon.size > 1 else 1.0
    return float(lat.min()), float(lat.max()), float(lon.min()), float(lon.max()), dy / 2, dx / 2


def _nearest(lat: np.ndarray, lon: np.ndarray, x: float, y: float, what: str,
             bounds: tuple[float, ...] | None = None) -> tuple[int, int]:
    """Indices ``(i_lat, i_lon)`` of the grid point nearest ``(x=lon, y=lat)``.

    >>> _nearest(np.array([40., 41, 42]), np.array([-3., -2, -1]), -2.2, 41.9, "g")
    (2, 1)
    """
    x, y = float(x), float(y)
    if not (np.isfinite(x) and np.isfinite(y)):
        raise TimeSeriesError(f"point ({x}, {y}): give finite longitude and latitude")
    y0, y1, x0, x1, hy, hx = bounds or _grid_bounds(lat, lon)
    if x1 > 180 and x < 0:
        x += 360.0  # a 0..360 grid asked with -180..180 longitudes
    if not (y0 - hy <= y <= y1 + hy and x0 - hx <= x <= x1 + hx):
        raise TimeSeriesError(f"point (lon={x:g}, lat={y:g}) is outside {what}'s grid (lon {x0:g}..{x1:g}, "
                              f"lat {y0:g}..{y1:g}); pick a point inside it")
    return int(np.abs(lat - y).argmin()), int(np.abs(lon - x).argmin())


def _box_indices(lat: np.ndarray, lon: np.ndarray, bbox: Sequence[float], what: str) -> tuple[slice, slice]:
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise TimeSeriesError(f"bbox={bbox!r}: give four numbers (west, south, east, north)") from None
    if s > n or w > e:
        raise TimeSeriesError(f"bbox={bbox!r}: order is (west, south, east, north) with west <= east, south <= north; "
                              f"swap the corners")
    if lon.max() > 180 and w < 0:
        w, e = w + 360.0, e + 360.0
    rows = np.nonzero((lat >= s) & (lat <= n))[0]
    cols = np.nonzero((lon >= w) & (lon <= e))[0]
    if rows.size == 0 or cols.size == 0:
        raise TimeSeriesError(f"bbox={bbox!r} holds no grid point of {what} (lon {lon.min():g}..{lon.max():g}, "
                              f"lat {lat.min():g}..{lat.max():g}); draw a bigger box or one over the data")
    return slice(int(rows.min()), int(rows.max()) + 1), slice(int(cols.min()), int(cols.max()) + 1)


def _time_slice(times: np.ndarray, period: Sequence[Any] | None) -> slice:
    if period is None:
        return slice(None)
    import pandas as pd

    try:
        start, end = period
        t0 = np.datetime64(pd.Timestamp(start)) if start is not None else None
        t1 = pd.Timestamp(end) if end is not None else None
    except (TypeError, ValueError) as exc:
        raise TimeSeriesError(f"time={period!r}: not (start, end) dates ({exc}); give ISO dates, e.g. "
                              f"('2023-01-01', '2023-12-31'), None for an open end") from None
    if t0 is not None and t1 is not None and np.datetime64(t1) < t0:
        raise TimeSeriesError(f"time={tuple(period)!r}: the end is before the start; give (start, end) in that "
                              f"order, e.g. ({str(end)!r}, {str(start)!r})")
    if t1 is not None and len(str(end)) <= 10:
        t1 = t1 + pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)  # a date means the whole day
    i0 = 0 if t0 is None else int(np.searchsorted(times, t0, side="left"))
    i1 = times.size if t1 is None else int(np.searchsorted(times, np.datetime64(t1), side="right"))
    return slice(i0, max(i0, i1))


def _read_block_at(*, folder: str, sep: str, dtype_str: str, chunks3: tuple[int, int, int],
                   rows: list[tuple[int, int]], cols: list[tuple[int, int]], block_id: tuple[int, int, int]) -> np.ndarray:
    return _read_block(folder, sep, dtype_str, chunks3, rows[block_id[1]], cols[block_id[2]])


def _mapped_tile(path: str, dtype: str, chunks: tuple[int, int, int]) -> tuple[np.ndarray, mmap.mmap] | None:
    """A chunk file mapped read-only as its ``(time, lat, lon)`` array (Fortran order), or None if it is absent.

    Mapping reads the page cache in place: the block is then filled with one copy, where ``np.fromfile``
    made two (file → a new array → the block). The caller closes the mapping once the array is copied.
    """
    try:
        with open(path, "rb") as fh:
            mapping = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ)
    except FileNotFoundError:
        return None  # Zarr writes no chunk that holds only the fill value: an all-missing tile (land)
    return np.frombuffer(mapping, dtype=dtype).reshape(chunks, order="F"), mapping


def _close_mapping(mapping: mmap.mmap) -> None:
    """Unmap a chunk file now, unless a view of it still lives (a Dask worker's profiler samples frames and
    may hold one for a moment): then it is unmapped when that view goes."""
    with contextlib.suppress(BufferError):
        mapping.close()


def _read_block(folder: str, sep: str, dtype: str, chunks: tuple[int, int, int], rows: tuple[int, int],
                cols: tuple[int, int], times: tuple[int, int] | None = None) -> np.ndarray:
    """Values of ``rows`` × ``cols`` over ``times`` (default: the whole period), from the copy's chunk files
    (Fortran order: each point's series is contiguous, in the files and in the block returned; a missing
    file is an all-missing tile)."""
    nt, ty, tx = chunks
    (r0, r1), (c0, c1) = rows, cols
    t0, t1 = times if times is not None else (0, nt)
    out = np.empty((t1 - t0, r1 - r0, c1 - c0), dtype=dtype, order="F")
    for ci in range(r0 // ty, (r1 - 1) // ty + 1):
        for cj in range(c0 // tx, (c1 - 1) // tx + 1):
            a0, a1 = max(r0, ci * ty), min(r1, (ci + 1) * ty)
            b0, b1 = max(c0, cj * tx), min(c1, (cj + 1) * tx)
            tile = _mapped_tile(os.path.join(folder, f"0{sep}{ci}{sep}{cj}"), dtype, chunks)
            if tile is None:
                out[:, a0 - r0:a1 - r0, b0 - c0:b1 - c0] = np.nan
                continue
            mapping = tile[1]
            out[:, a0 - r0:a1 - r0, b0 - c0:b1 - c0] = tile[0][t0:t1, a0 - ci * ty:a1 - ci * ty, b0 - cj * tx:b1 - cj * tx]
            del tile
            _close_mapping(mapping)
    return out


def _fresh_copy(name_or_path: str | os.PathLike[str] | Source, catalog: Any) -> TimeCopy:
    """The opened fresh copy of a dataset; :class:`NoFreshCopy`, saying how to build one, when there is none."""
    src = name_or_path if isinstance(name_or_path, Source) else resolve(name_or_path, catalog=catalog)
    path = find(src)
    if path is None:
        raise NoFreshCopy(status(src)["reason"])
    return TimeCopy.open(path)


def open_dataarray(name_or_path: str | os.PathLike[str], var: str, *, tiles: int | None = None,
                   catalog: Any = None) -> Any:
    """A gridded variable over its whole period, lazily, from the dataset's fresh time-optimised copy.

    The fast way into whole-period analyses on the Dask Gateway (climatologies, trends, anomalies):
    every dask block holds the whole period for ``tiles`` × ``tiles`` of the copy's chunks, read as
    raw bytes. :class:`NoFreshCopy` when there is no fresh copy (``odatis-vre timeseries build``).

    >>> sst = open_dataarray("sample_sst_zarr", "analysed_sst")          # doctest: +SKIP
    >>> clim = odatis_vre.analysis.climatology(sst).compute()             # doctest: +SKIP
    """
    return _fresh_copy(name_or_path, catalog).dataarray(var, tiles=tiles)


# ----------------------------------------------------------------------------- public series

def point_values(name_or_path: str | os.PathLike[str] | Source, var: str, lon: float, lat: float, *,
                 time: Sequence[Any] | None = None, catalog: Any = None) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
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
    return xr.open_mfdataset(files, combine="by_coords", data_vars="minimal", coords="minimal",
                             compat="override", chunks={}), src.label


def _slow_path(name_or_ds: Any, var: str, catalog: Any) -> tuple[Any, str, tuple[str, str, str]]:
    """The original data of a series without a fresh copy: ``(ds, label, (time, lat, lon names))``.

    Warns (:class:`SlowPathWarning`, at the caller of the public function) with the command that
    builds the copy.
    """
    ds, label = _open_original(name_or_ds, catalog)
    dims = _dim_names(ds)
    if var not in ds.data_vars:
        raise TimeSeriesError(f"variable {var!r} is not in {label} (it has {', '.join(map(str, ds.data_vars))})")
    warnings.warn(f"{label}: reading the map-optimised data (slow): {_slow_hint(name_or_ds, catalog)}",
                  SlowPathWarning, stacklevel=3)
    return ds, label, dims


def _slow_hint(name_or_ds: Any, catalog: Any) -> str:
    import xarray as xr

    if isinstance(name_or_ds, xr.Dataset):
        return ("a Dataset was given, so its time-optimised copy cannot be found; pass the catalogue entry name "
                "(after `odatis-vre timeseries build NAME`) for instant series")
    return status(name_or_ds, catalog=catalog)["reason"] + " (series are then instant)"


def _series(values: np.ndarray, times: np.ndarray, tname: str, name: str, attrs: dict[str, Any],
            coords: dict[str, Any], read_from: str) -> Any:
    import xarray as xr

    da = xr.DataArray(values, dims=(tname,), coords={tname: times, **coords}, name=name,
                      attrs={**attrs, "read_from": read_from})
    return da


def point_series(name_or_ds: Any, var: str, lon: float, lat: float, *, time: Sequence[Any] | None = None,
                 catalog: Any = None) -> Any:
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
        return _series(values.copy(), tc.time[ts], d["time"], var, tc.var_attrs.get(var, {}),
                       {d["lon"]: float(tc.lon[j]), d["lat"]: float(tc.lat[i])}, "time-optimised copy")
    ds, label, (tname, yname, xname) = _slow_path(name_or_ds, var, catalog)
    lat_v, lon_v = ds[yname].values, ds[xname].values
    i, j = _nearest(lat_v, lon_v, lon, lat, label)
    da = ds[var].isel({yname: i, xname: j})
    ts = _time_slice(ds[tname].values, time)
    da = da.isel({tname: ts}).load()
    return _series(np.asarray(da.values), da[tname].values, tname, var, _clean_attrs(dict(ds[var].attrs)),
                   {xname: float(lon_v[j]), yname: float(lat_v[i])}, "original data")


def _area_mean(block: np.ndarray, lat: np.ndarray) -> np.ndarray:
    # grid cells shrink towards the poles: weight each row by cos(latitude)
    w = np.cos(np.deg2rad(lat.astype(np.float64)))[None, :, None] * np.ones_like(block, dtype=np.float64)
    w[~np.isfinite(block)] = 0.0
    total = np.nansum(np.where(np.isfinite(block), block, 0.0) * w, axis=(1, 2))
    weight = w.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan).astype(block.dtype)


def box_series(name_or_ds: Any, var: str, bbox: Sequence[float], *, time: Sequence[Any] | None = None,
               catalog: Any = None) -> Any:
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
    out.attrs.update(n_points=int(block.shape[1] * block.shape[2]), bbox=[float(b) for b in bbox],
                     cell_methods=f"area: mean (cos-latitude weights) over {block.shape[1]}x{block.shape[2]} points")
    return out
