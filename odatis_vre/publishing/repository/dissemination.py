"""What the repository serves from a published dataset: xarray view, summary, preview map, Zarr/OPeNDAP.

Zarr (v3, ``xpublish-zarr``) and OPeNDAP (``xpublish-opendap``) come from one xpublish
application whose datasets are the published versions (dataset id ``<id>.v<n>``). The
application is ASGI (FastAPI); :func:`run_asgi` runs it inside the tornado service so
that everything stays behind the hub's authentication and one port.

>>> data_file([{"name": "readme.txt"}, {"name": "sst.nc"}])
'sst.nc'
"""

from __future__ import annotations

import asyncio
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tornado import web

DATA_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".zarr.zip")
_LAT = ("lat", "latitude", "LATITUDE", "nav_lat")
_LON = ("lon", "longitude", "LONGITUDE", "nav_lon")
_TIME = ("time", "TIME")
#: Chunks served over Zarr / OPeNDAP stay below this many bytes (whole-variable NetCDF chunks would not).
TARGET_CHUNK_BYTES = 8 * 1024 * 1024


def data_file(files: list[dict[str, Any]]) -> str | None:
    """The file of a version that is served as a dataset (the first NetCDF or zipped Zarr)."""
    for f in files:
        if f["name"].lower().endswith(DATA_SUFFIXES):
            return f["name"]
    return None


def open_dataset(path: Path) -> Any:
    """Open a NetCDF or zipped-Zarr file lazily, with chunks a web client can take one at a time."""
    import xarray as xr

    if str(path).lower().endswith(".zarr.zip"):
        import zarr

        ds = xr.open_zarr(zarr.storage.ZipStore(str(path), mode="r"), consolidated=None)
    else:
        ds = xr.open_dataset(path, chunks={})
    return _reasonable_chunks(ds)


def open_lazy(path: Path) -> Any:
    """The same file opened without dask: indexing reads just the slice asked for (fast raw chunks)."""
    import xarray as xr

    if str(path).lower().endswith(".zarr.zip"):
        import zarr

        return xr.open_zarr(zarr.storage.ZipStore(str(path), mode="r"), consolidated=None, chunks=None)
    return xr.open_dataset(path)


def layout_chunks(shape: tuple[int, ...], itemsize: int, target: int = TARGET_CHUNK_BYTES) -> tuple[int, ...]:
    """Chunks of at most ``target`` bytes that follow a C-ordered (contiguous) file: whole trailing planes.

    A chunk is then one contiguous read of the file, not thousands of short strided ones.

    >>> layout_chunks((258, 720, 1440), 4)
    (2, 720, 1440)
    >>> layout_chunks((10, 4000, 4000), 4)
    (1, 524, 4000)
    """
    chunks = list(shape)
    for i in range(len(shape)):
        slab = itemsize * _prod(shape[i + 1 :])
        if slab <= target:
            chunks[i] = max(1, min(shape[i], target // max(slab, 1)))
            break
        chunks[i] = 1
    return tuple(chunks)


def _reasonable_chunks(ds: Any) -> Any:
    out = {}
    for name, var in ds.data_vars.items():
        chunks = getattr(var.data, "chunksize", None)
        if chunks is not None and var.dtype.itemsize * _prod(chunks) > TARGET_CHUNK_BYTES:
            # a contiguous (or coarsely chunked) file: cut along its layout
            out[name] = var.chunk(dict(zip(var.dims, layout_chunks(var.shape, var.dtype.itemsize))))
    if out:
        ds = ds.assign(out)
    for name in ds.data_vars:
        ds[name].encoding.pop("chunks", None)
        ds[name].encoding.pop("preferred_chunks", None)
        # Zarr chunks go out uncompressed: encoding them costs the service more CPU than the bytes cost a
        # network, and raw chunks can be cut straight from the file (see raw_chunk)
        ds[name].encoding["compressors"] = None
    return ds


def zarr_metadata(ds: Any) -> dict[str, dict[str, Any]]:
    """The Zarr v3 array metadata (``<var>/zarr.json``) xpublish-zarr serves for each data variable."""
    import json

    from xpublish_zarr.utils import _build_store, get_bytes

    store = _build_store(ds)
    out = {}
    for name in ds.data_vars:
        raw = get_bytes(store, f"{name}/zarr.json")
        if raw is not None:
            out[str(name)] = json.loads(raw)
    return out


def _raw_variable(ds: Any, var: str, meta: dict[str, Any]) -> Any:
    """The variable if its Zarr chunks are its values as stored (see :func:`raw_chunk`), else None."""
    import numpy as np

    if var not in ds.data_vars or meta.get("codecs") != [{"name": "bytes", "configuration": {"endian": "little"}}]:
        return None
    v = ds[var].variable
    enc = v.encoding
    if v.dtype.kind != "f" or str(v.dtype) != meta.get("data_type") or "scale_factor" in enc or "add_offset" in enc:
        return None
    fill = meta.get("fill_value")
    if not (fill == "NaN" or (isinstance(fill, float) and np.isnan(fill))):
        return None
    if len(meta["chunk_grid"]["configuration"]["chunk_shape"]) != v.ndim:
        return None
    return v


def raw_chunk(ds: Any, var: str, coords: tuple[int, ...], meta: dict[str, Any]) -> bytes | None:
    """The bytes of one Zarr chunk cut straight from the file, or ``None`` when xpublish must encode it.

    Only for chunks stored uncompressed (codec ``bytes``, little endian) of variables read as they are
    stored (no scale/offset, no time decoding, NaN as the Zarr fill value): then the chunk is the values,
    missing ones written as the variable's ``_FillValue`` and padded with NaN at the edges — exactly what
    xpublish-zarr would produce, ~10x faster.
    """
    v = _raw_variable(ds, var, meta)
    if v is None:
        return None
    chunk = meta["chunk_grid"]["configuration"]["chunk_shape"]
    return _encoded_chunk(v, chunk, _chunk_slices(v.shape, chunk, coords))


def _encoded_chunk(v: Any, chunk: list[int], slices: tuple[slice, ...]) -> bytes:
    """The chunk's values read through numpy and written as xpublish writes them (see :func:`raw_chunk`)."""
    import numpy as np

    values = np.asarray(v[slices].values, dtype=v.dtype.newbyteorder("<"))
    fill = _encoded_fill(v)
    if fill is not None:  # as xpublish encodes it: missing values written as the variable's fill value
        values = np.where(np.isnan(values), values.dtype.type(fill), values)
    if values.shape != tuple(chunk):
        full = np.full(chunk, np.nan, dtype=values.dtype)
        full[tuple(slice(0, n) for n in values.shape)] = values
        values = full
    return np.ascontiguousarray(values).tobytes()


def _encoded_fill(v: Any) -> float | None:
    """The number missing values are written as (``_FillValue``, else ``missing_value``), None for NaN/none."""
    import numpy as np

    for key in ("_FillValue", "missing_value"):
        value = v.encoding.get(key)
        if value is not None:
            value = float(np.ravel(value)[0])
            return None if np.isnan(value) else value
    return None


def _chunk_slices(shape: tuple[int, ...], chunk: list[int], coords: tuple[int, ...]) -> tuple[slice, ...]:
    if len(coords) != len(chunk):
        raise IndexError(f"chunk {coords} has {len(coords)} indices; the array has {len(chunk)} dimensions")
    slices = tuple(slice(c * n, min((c + 1) * n, size)) for c, n, size in zip(coords, chunk, shape))
    if any(sl.start >= sl.stop for sl in slices):
        raise IndexError(f"chunk {coords} is outside the array (shape {shape}, chunks {chunk})")
    return slices


def contiguous_layout(path: Path) -> dict[str, tuple[int, tuple[int, ...], str]]:
    """``{variable: (byte offset, shape, dtype)}`` of the variables an HDF5 (NetCDF-4) file stores in one
    contiguous block, unfiltered and little endian; ``{}`` for other files.

    A contiguous variable has no compression or filter (HDF5 filters need chunked storage).
    """
    try:
        import h5py
    except ImportError:
        return {}
    if not str(path).lower().endswith((".nc", ".nc4", ".netcdf", ".h5")) or not h5py.is_hdf5(str(path)):
        return {}
    out = {}
    with h5py.File(str(path), "r") as f:
        for name, d in f.items():
            if not isinstance(d, h5py.Dataset) or d.chunks is not None or d.dtype.byteorder == ">":
                continue
            offset = d.id.get_offset()  # None when the variable was never written (all fill)
            if offset is not None and d.dtype.kind == "f":
                out[str(name)] = (int(offset), tuple(int(n) for n in d.shape), d.dtype.newbyteorder("<").str)
    return out


class ChunkReader:
    """Zarr chunks of one published file: a byte range of the file when the chunk is one (``os.pread``,
    no decoding, no copy through numpy), else the values through numpy as :func:`raw_chunk` does, else
    None (xpublish encodes it)."""

    def __init__(self, path: Path, lazy: Any):
        import os

        self.lazy = lazy
        self.layout = contiguous_layout(path)
        self.fd = os.open(path, os.O_RDONLY) if self.layout else None

    def read(self, var: str, coords: tuple[int, ...], meta: dict[str, Any]) -> bytes | None:
        import os

        import numpy as np

        v = _raw_variable(self.lazy, var, meta)
        if v is None:
            return None
        chunk = meta["chunk_grid"]["configuration"]["chunk_shape"]
        slices = _chunk_slices(v.shape, chunk, coords)
        where = self.layout.get(var)
        # the file's bytes are the encoded values, missing ones already written as the fill value (a NaN
        # stored beside a numeric fill value stays NaN, where xpublish would write the fill value: both
        # read back as missing)
        if (
            self.fd is not None
            and where is not None
            and where[1] == v.shape
            and np.dtype(where[2]) == v.dtype.newbyteorder("<")
            and list(chunk[1:]) == list(v.shape[1:])  # whole trailing planes: one contiguous range
            and slices[0].stop - slices[0].start == chunk[0]
        ):  # a full chunk (edges are padded below)
            plane = v.dtype.itemsize * _prod(v.shape[1:])
            length = plane * chunk[0]
            data = os.pread(self.fd, length, where[0] + slices[0].start * plane)
            if len(data) == length:
                return data
        return _encoded_chunk(v, chunk, slices)

    def close(self) -> None:
        import os

        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.lazy.close()


def _prod(xs: Any) -> int:
    n = 1
    for x in xs:
        n *= int(x)
    return n


def _find(ds: Any, names: tuple[str, ...]) -> str | None:
    for n in names:
        if n in ds.variables:
            return n
    wanted = {
        "lat": "latitude",
        "latitude": "latitude",
        "lon": "longitude",
        "longitude": "longitude",
        "time": "time",
    }.get(names[0])
    for n, v in ds.variables.items():  # CF: a coordinate known by its standard_name only
        if wanted and v.attrs.get("standard_name") == wanted:
            return str(n)
    return None


def summary(path: Path) -> dict[str, Any]:
    """Box, period and variables of a data file, for the catalogue fragment and the landing page.

    Returns ``{"bbox": [W, S, E, N] | None, "time_range": [start, end] | None, "variables": [...],
    "dims": {...}}``.
    """
    import numpy as np
    import pandas as pd

    ds = open_dataset(path)
    try:
        lat, lon, tname = _find(ds, _LAT), _find(ds, _LON), _find(ds, _TIME)
        bbox = None
        if lat and lon:
            la, lo = np.asarray(ds[lat].values, float), np.asarray(ds[lon].values, float)
            if la.size and lo.size and np.isfinite(la).any() and np.isfinite(lo).any():
                w, e = float(np.nanmin(lo)), float(np.nanmax(lo))
                w, e = ((w + 180) % 360 - 180, (e + 180) % 360 - 180) if e > 180 else (w, e)
                bbox = [round(w, 4), round(float(np.nanmin(la)), 4), round(e, 4), round(float(np.nanmax(la)), 4)]
        time_range = None
        if tname is not None and np.issubdtype(ds[tname].dtype, np.datetime64) and ds[tname].size:
            t = pd.to_datetime(np.asarray(ds[tname].values).ravel())
            time_range = [t.min().strftime("%Y-%m-%d"), t.max().strftime("%Y-%m-%d")]
        variables = [
            {
                "name": str(n),
                "standard_name": v.attrs.get("standard_name"),
                "units": str(v.attrs.get("units", "")),
                "long_name": str(v.attrs.get("long_name", "")),
            }
            for n, v in ds.data_vars.items()
        ]
        return {
            "bbox": bbox,
            "time_range": time_range,
            "variables": variables,
            "dims": {str(k): int(v) for k, v in ds.sizes.items()},
        }
    finally:
        ds.close()


def preview_png(path: Path, title: str = "") -> bytes:
    """A small map (PNG) of the first gridded variable at its first time step, with coastlines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ds = open_dataset(path)
    try:
        lat, lon = _find(ds, _LAT), _find(ds, _LON)
        fig, ax = plt.subplots(figsize=(6, 4), dpi=80)
        var = None
        for name, v in ds.data_vars.items():
            if lat in v.dims and lon in v.dims:
                var = name
                break
        if var is not None:
            da = ds[var]
            da = da.isel({d: 0 for d in da.dims if d not in (lat, lon)}).transpose(lat, lon)
            im = ax.pcolormesh(
                np.asarray(ds[lon].values),
                np.asarray(ds[lat].values),
                np.asarray(da.values),
                shading="auto",
                cmap="viridis",
            )
            fig.colorbar(im, ax=ax, label=f"{var} ({da.attrs.get('units', '')})", shrink=0.8)
            box = (float(ds[lon].min()), float(ds[lat].min()), float(ds[lon].max()), float(ds[lat].max()))
        elif lat and lon:  # stations, profiles, tracks: their positions
            ax.scatter(np.asarray(ds[lon].values).ravel(), np.asarray(ds[lat].values).ravel(), s=6)
            box = (
                float(ds[lon].min()) - 1,
                float(ds[lat].min()) - 1,
                float(ds[lon].max()) + 1,
                float(ds[lat].max()) + 1,
            )
        else:
            ax.text(0.5, 0.5, "no latitude/longitude to map", ha="center", va="center")
            box = None
        if box is not None:
            _coastlines(ax, box)
            ax.set_xlim(box[0], box[2])
            ax.set_ylim(box[1], box[3])
            ax.set_xlabel("longitude")
            ax.set_ylabel("latitude")
        ax.set_title(title[:70], fontsize=9)
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png")
        plt.close(fig)
        return buf.getvalue()
    finally:
        ds.close()


def _coastlines(ax: Any, box: tuple[float, float, float, float]) -> None:
    try:
        from ...data import coastlines
    except ImportError:  # the map is still useful without them
        return
    try:
        w, s, e, n = box
        for xy in coastlines.lines((max(w, -180), max(s, -90), min(e, 180), min(n, 90))):
            ax.plot(xy[:, 0], xy[:, 1], color="black", linewidth=0.6)
    except Exception:  # noqa: BLE001 — a coastline problem must not cost the preview
        return


# ----------------------------------------------------------------------------- xpublish


class DatasetCache:
    """Opened published datasets (immutable, so safe to keep open), least recently used first out."""

    def __init__(self, opener: Callable[[str], Any], size: int = 16):
        self.opener = opener
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        ds = self.opener(key)
        if ds is None:
            return None
        with self._lock:
            self._items[key] = ds
            while len(self._items) > self.size:
                _, old = self._items.popitem(last=False)
                old.close()
        return ds


def xpublish_app(get_dataset: Callable[[str], Any], list_ids: Callable[[], list[str]]) -> Any:
    """The FastAPI app of xpublish (Zarr v3 + OPeNDAP) over the repository's published versions."""
    import xpublish
    from xpublish import Plugin, hookimpl
    from xpublish_opendap import OpenDapPlugin
    from xpublish_zarr import ZarrPlugin

    class Published(Plugin):
        name: str = "odatis-repository"

        @hookimpl
        def get_datasets(self) -> list[str]:
            return list_ids()

        @hookimpl
        def get_dataset(self, dataset_id: str) -> Any:
            return get_dataset(dataset_id)

    rest = xpublish.Rest(
        plugins={"published": Published(), "zarr": ZarrPlugin(), "opendap": OpenDapPlugin()},
        cache_kws={"available_bytes": 256 * 1024 * 1024},
    )
    return rest.app


_DAP_STRIDE = re.compile(r"\[(\d+):(\d+):(\d+)\]")


def fix_dap_strides(query: str) -> str:
    """Reorder DAP hyperslabs ``[start:stride:stop]`` for ``opendap_protocol``.

    ``opendap_protocol`` 1.1.1 reads a three-part hyperslab as ``[start:stop:stride]`` (it
    returns wrong values for strided reads, see docs/repository.md); giving it the parts in
    that order makes it build ``slice(start, stop + 1, stride)``, which is what DAP means.

    >>> fix_dap_strides("analysed_sst.analysed_sst%5B0:2:4%5D%5B1:1:3%5D")
    'analysed_sst.analysed_sst[0:4:2][1:3:1]'
    """
    return _DAP_STRIDE.sub(r"[\1:\3:\2]", unquote(query))


async def run_asgi(handler: web.RequestHandler, app: Any, path: str) -> None:
    """Answer a tornado request with an ASGI application (here: xpublish's FastAPI app) at ``path``."""
    req = handler.request
    query = fix_dap_strides(req.query) if "/opendap" in path else req.query
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": req.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in req.headers.get_all()],
        "server": ("127.0.0.1", 80),
        "client": (req.remote_ip or "127.0.0.1", 0),
    }
    sent_body = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": req.body or b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            handler.set_status(message["status"])
            handler.clear_header("Content-Type")
            for k, v in message.get("headers", []):
                name = k.decode("latin-1")
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    handler.add_header(name, v.decode("latin-1"))
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            if body and req.method != "HEAD":
                handler.write(body)
            if message.get("more_body"):
                await handler.flush()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
