"""Reading a time-optimised copy: coordinates in memory, values straight from the chunk files (one ``pread`` per
click), whole-period blocks for dask, tiles reduced where they lie."""

from __future__ import annotations

import contextlib
import json
import math
import mmap
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .source import FILES_INDEX, FORMAT_VERSION, TimeSeriesError

_LOCK = threading.Lock()
#: copy path → opened copy
_COPIES: dict[str, TimeCopy] = {}


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


# ----------------------------------------------------------------------------- reading the copy

#: Chunk files a :class:`TimeCopy` keeps open between clicks (a click then costs one ``pread``)
OPEN_CHUNK_FILES = 128

#: Default size of a whole-period block of :meth:`TimeCopy.dataarray`: large enough that a task's work
#: dwarfs its scheduling, below the 64 MiB up to which gateway workers allocate from the heap
#: (odatis_vre.hub.gateway.WORKER_MALLOC)
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
    def open(cls, path: str | os.PathLike[str]) -> TimeCopy:
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
            raise TimeSeriesError(
                f"{path}: not a time-optimised copy of this version; rebuild it with `odatis-vre timeseries build`"
            )
        zm = json.loads((path / ".zmetadata").read_text())["metadata"]
        dims = meta["dims"]
        # the coordinates straight from zarr (xarray.open_zarr costs ~10x more); CF times decoded by xarray
        group = zarr.open_group(str(path), mode="r", zarr_format=2)
        tattrs = zm[f"{dims['time']}/.zattrs"]
        time = xr.decode_cf(
            xr.Dataset(
                {"t": ("t", group[dims["time"]][:], {k: tattrs[k] for k in ("units", "calendar") if k in tattrs})}
            )
        )["t"].values
        lat, lon = group[dims["lat"]][:], group[dims["lon"]][:]
        var_attrs = {
            v: {k: a for k, a in zm.get(f"{v}/.zattrs", {}).items() if k != "_ARRAY_DIMENSIONS"}
            for v in meta["variables"]
        }
        arrays = {}
        for v in meta["variables"]:
            za = zm[f"{v}/.zarray"]
            if za.get("compressor") is not None or za.get("order") != "F" or za["chunks"][0] != za["shape"][0]:
                raise TimeSeriesError(f"{path}/{v}: unexpected layout; rebuild with `odatis-vre timeseries build`")
            arrays[v] = {
                "chunks": tuple(za["chunks"]),
                "dtype": np.dtype(za["dtype"]),
                "sep": za.get("dimension_separator", "."),
            }
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
                return (
                    min(max(int(math.floor((lat - ry[0]) / ry[1] + 0.5)), 0), ry[2] - 1),
                    min(max(int(math.floor((x - rx[0]) / rx[1] + 0.5)), 0), rx[2] - 1),
                )
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

    def point(
        self, var: str, lon: float, lat: float, tslice: slice = slice(None)
    ) -> tuple[np.ndarray, tuple[int, int]]:
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
        tiles = TileSource(
            name="timecopy-" + tokenize(str(self.path), self.stamp, var, by, bx),
            folder=os.path.join(self.path, var),
            sep=info["sep"],
            dtype=info["dtype"].str,
            chunks3=(nt, ty, tx),
            rows=tuple(rows),
            cols=tuple(cols),
        )
        arr = dsa.map_blocks(
            _read_block_at,
            folder=tiles.folder,
            sep=tiles.sep,
            dtype_str=tiles.dtype,
            chunks3=tiles.chunks3,
            rows=rows,
            cols=cols,
            name=tiles.name,
            chunks=((nt,), *tiles.block_chunks()),
            dtype=info["dtype"],
            meta=np.empty((0, 0, 0), dtype=info["dtype"]),
        )
        d = self.dims
        da = xr.DataArray(
            arr,
            dims=(d["time"], d["lat"], d["lon"]),
            name=var,
            attrs=dict(self.var_attrs.get(var, {})),
            coords={d["time"]: self.time, d["lat"]: self.lat, d["lon"]: self.lon},
        )
        da.encoding[TILES_KEY] = tiles
        return da

    def block(self, var: str, rows: slice, cols: slice, tslice: slice = slice(None)) -> np.ndarray:
        """The ``(time, lat, lon)`` values of a block of grid points, read tile by tile."""
        info = self._var(var)
        t0, t1, _ = tslice.indices(info["chunks"][0])
        return np.ascontiguousarray(
            _read_block(
                os.path.join(self.path, var),
                info["sep"],
                info["dtype"].str,
                info["chunks"],
                (rows.start, rows.stop),
                (cols.start, cols.stop),
                (t0, t1),
            )
        )


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
        return dsa.map_blocks(
            _map_series_at,
            tiles=tasks,
            reduce=func,
            size=size,
            kwargs=kwargs,
            dtype=out,
            name="map_series-" + tokenize(tasks, func, size, kwargs),
            chunks=((size,), *tasks.block_chunks()),
            meta=np.empty((0, 0, 0), dtype=out),
        )


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


def _map_series_at(
    *, tiles: TileSource, reduce: Any, size: int, kwargs: dict[str, Any], block_id: tuple[int, int, int]
) -> np.ndarray:
    nt, ty, tx = tiles.chunks3
    (r0, r1), (c0, c1) = tiles.rows[block_id[1]], tiles.cols[block_id[2]]
    dtype = np.dtype(tiles.dtype) if np.issubdtype(np.dtype(tiles.dtype), np.floating) else np.dtype(np.float64)
    out = np.empty((size, r1 - r0, c1 - c0), dtype=dtype)
    for ci in range(r0 // ty, (r1 - 1) // ty + 1):
        for cj in range(c0 // tx, (c1 - 1) // tx + 1):
            a0, a1 = max(r0, ci * ty), min(r1, (ci + 1) * ty)
            b0, b1 = max(c0, cj * tx), min(c1, (cj + 1) * tx)
            tile = _mapped_tile(
                os.path.join(tiles.folder, f"0{tiles.sep}{ci}{tiles.sep}{cj}"), tiles.dtype, tiles.chunks3
            )
            if tile is None:
                out[:, a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = np.nan
                continue
            mapping = tile[1]
            # (time, ty, tx) in Fortran order is (points, time) in C order: point p = y + ty * x
            result = reduce(tile[0].reshape(nt, ty * tx, order="F").T, **kwargs)
            del tile
            _close_mapping(mapping)
            grid = np.asarray(result).T.reshape(size, ty, tx, order="F")
            out[:, a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = grid[
                :, a0 - ci * ty : a1 - ci * ty, b0 - cj * tx : b1 - cj * tx
            ]
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


def _nearest(
    lat: np.ndarray, lon: np.ndarray, x: float, y: float, what: str, bounds: tuple[float, ...] | None = None
) -> tuple[int, int]:
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
        raise TimeSeriesError(
            f"point (lon={x:g}, lat={y:g}) is outside {what}'s grid (lon {x0:g}..{x1:g}, "
            f"lat {y0:g}..{y1:g}); pick a point inside it"
        )
    return int(np.abs(lat - y).argmin()), int(np.abs(lon - x).argmin())


def _box_indices(lat: np.ndarray, lon: np.ndarray, bbox: Sequence[float], what: str) -> tuple[slice, slice]:
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise TimeSeriesError(f"bbox={bbox!r}: give four numbers (west, south, east, north)") from None
    if s > n or w > e:
        raise TimeSeriesError(
            f"bbox={bbox!r}: order is (west, south, east, north) with west <= east, south <= north; swap the corners"
        )
    if lon.max() > 180 and w < 0:
        w, e = w + 360.0, e + 360.0
    rows = np.nonzero((lat >= s) & (lat <= n))[0]
    cols = np.nonzero((lon >= w) & (lon <= e))[0]
    if rows.size == 0 or cols.size == 0:
        raise TimeSeriesError(
            f"bbox={bbox!r} holds no grid point of {what} (lon {lon.min():g}..{lon.max():g}, "
            f"lat {lat.min():g}..{lat.max():g}); draw a bigger box or one over the data"
        )
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
        raise TimeSeriesError(
            f"time={period!r}: not (start, end) dates ({exc}); give ISO dates, e.g. "
            f"('2023-01-01', '2023-12-31'), None for an open end"
        ) from None
    if t0 is not None and t1 is not None and np.datetime64(t1) < t0:
        raise TimeSeriesError(
            f"time={tuple(period)!r}: the end is before the start; give (start, end) in that "
            f"order, e.g. ({str(end)!r}, {str(start)!r})"
        )
    if t1 is not None and len(str(end)) <= 10:
        t1 = t1 + pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)  # a date means the whole day
    i0 = 0 if t0 is None else int(np.searchsorted(times, t0, side="left"))
    i1 = times.size if t1 is None else int(np.searchsorted(times, np.datetime64(t1), side="right"))
    return slice(i0, max(i0, i1))


def _read_block_at(
    *,
    folder: str,
    sep: str,
    dtype_str: str,
    chunks3: tuple[int, int, int],
    rows: list[tuple[int, int]],
    cols: list[tuple[int, int]],
    block_id: tuple[int, int, int],
) -> np.ndarray:
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


def _read_block(
    folder: str,
    sep: str,
    dtype: str,
    chunks: tuple[int, int, int],
    rows: tuple[int, int],
    cols: tuple[int, int],
    times: tuple[int, int] | None = None,
) -> np.ndarray:
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
                out[:, a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = np.nan
                continue
            mapping = tile[1]
            out[:, a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = tile[0][
                t0:t1, a0 - ci * ty : a1 - ci * ty, b0 - cj * tx : b1 - cj * tx
            ]
            del tile
            _close_mapping(mapping)
    return out
