"""Many NetCDF files as one dataset: intake-xarray's ``netcdf`` driver usable with intake 2, and an index of the
files' time values so that an open reads one file, not all."""

from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path
from typing import Any

from intake.source.base import DataSource

from .base import cache_root

try:
    from intake_xarray.netcdf import NetCDFSource as _NetCDFSource
except ImportError:  # pragma: no cover - intake-xarray is a dependency
    _NetCDFSource = DataSource  # type: ignore[misc,assignment]


class NetCDFFilesSource(_NetCDFSource):  # type: ignore[misc,valid-type]
    """intake-xarray's ``netcdf`` driver, usable on a glob of files with intake 2.

    intake-xarray 0.7.0 reads a ``pattern`` attribute on multi-file paths that intake 2's base
    class no longer provides (``AttributeError: 'NetCDFSource' object has no attribute 'pattern'``);
    this subclass only supplies it. Arguments are those of the ``netcdf`` driver
    (``urlpath``, ``combine``, ``chunks``, ``xarray_kwargs``...), plus ``indexed``: with
    ``indexed=True`` a local glob is opened by :func:`open_files_indexed` (one file read per open
    once a cached index of the files' ``concat_dim`` values exists; same dataset as
    ``open_mfdataset``), falling back to ``open_mfdataset`` when the files differ in more than that.
    """

    name = "netcdf_files"
    pattern = None
    _MF_ONLY = (
        "data_vars",
        "coords",
        "compat",
        "join",
        "parallel",
        "combine",
        "concat_dim",
        "combine_attrs",
        "preprocess",
        "chunks",
    )

    def __init__(self, urlpath: Any, *args: Any, indexed: bool = False, **kwargs: Any):
        self.indexed = indexed
        super().__init__(urlpath, *args, **kwargs)

    def _open_dataset(self) -> None:
        url = self.urlpath
        local = isinstance(url, str) and "*" in url and "://" not in url
        if not (self.indexed and local):
            return super()._open_dataset()
        files = sorted(glob.glob(url))
        if not files:
            raise FileNotFoundError(f"no file matches {url}")
        kwargs = {k: v for k, v in self.xarray_kwargs.items() if k not in self._MF_ONLY}
        try:
            ds = open_files_indexed(files, self.concat_dim or "time", xarray_kwargs=kwargs)
        except ValueError:  # files that differ in more than time: xarray's general combination
            return super()._open_dataset()
        self._ds = ds.chunk(self.chunks) if self.chunks else ds


# ----------------------------------------------------------------------------- many NetCDF files, indexed

_INDEX_FORMAT = 1


def _scan_file(path: str, dim: str) -> dict[str, Any]:
    """What the index keeps of one file: its raw ``dim`` values and the shape of each variable."""
    import netCDF4
    import numpy as np

    with netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        var = nc.variables[dim]
        return {
            "raw": np.asarray(var[:]).tolist(),
            "units": getattr(var, "units", None),
            "calendar": getattr(var, "calendar", None),
            "vars": {k: [list(v.dimensions), list(v.shape), str(v.dtype)] for k, v in nc.variables.items()},
        }


class _FileVariable:
    """Reads one variable of one file and decodes it with xarray's CF decoding (as ``open_dataset`` does).

    The read holds xarray's netCDF4/HDF5 lock: HDF5 is not thread-safe, and dask reads blocks in threads.
    """

    _DECODE = ("mask_and_scale", "decode_times", "use_cftime", "decode_timedelta", "concat_characters")

    def __init__(self, path: str, name: str, xarray_kwargs: dict[str, Any]):
        self.path, self.name = path, name
        self.kwargs = {k: v for k, v in xarray_kwargs.items() if k in self._DECODE}

    def __call__(self) -> Any:
        import netCDF4
        import numpy as np
        import xarray as xr
        from xarray.backends.netCDF4_ import NETCDF4_PYTHON_LOCK

        with NETCDF4_PYTHON_LOCK, netCDF4.Dataset(self.path) as nc:
            nc.set_auto_maskandscale(False)
            v = nc.variables[self.name]
            raw = np.asarray(v[:])
            attrs = {k: v.getncattr(k) for k in v.ncattrs()}
            dims = v.dimensions
        var = xr.conventions.decode_cf_variable(self.name, xr.Variable(dims, raw, attrs), **self.kwargs)
        return np.asarray(var.values)


def open_files_indexed(
    files: list[str],
    dim: str = "time",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    xarray_kwargs: dict[str, Any] | None = None,
    progress: bool = False,
) -> Any:
    """Open many NetCDF files that differ only along ``dim`` as one lazy dataset, from a cached index.

    ``xr.open_mfdataset`` opens and decodes every file each time (730 daily files: 8-30 s). Here the
    first open reads each file's ``dim`` values and variable shapes with netCDF4 (no decoding) into an
    index cached in ``cache_dir`` (default ``$ODATIS_VRE_CACHE_DIR/file-index``), valid while every
    file keeps its size and modification time; every open after that reads **one** file (the template:
    coordinates, attributes, decoding) and makes each variable along ``dim`` a dask array with one chunk
    per file, read (and decoded by xarray) only when computed. The result equals
    ``xr.open_mfdataset(files, combine="by_coords", data_vars="minimal", coords="minimal",
    compat="override", chunks={})`` (checked by the tests). Files that do not share the template's
    variables, other dimensions or ``dim`` units raise :class:`ValueError`: use ``open_mfdataset``.

    >>> ds = open_files_indexed(sorted(glob.glob("catalog/data/sst_daily/*.nc")))   # doctest: +SKIP
    """
    import pickle

    import dask
    import dask.array as dsa
    import numpy as np
    import xarray as xr

    if not files:
        raise ValueError("open_files_indexed: no file to open")
    kwargs = dict(xarray_kwargs or {})
    stats = [(os.path.abspath(f), os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
    key = hashlib.sha1(repr((_INDEX_FORMAT, dim, stats)).encode()).hexdigest()
    base = Path(cache_dir) if cache_dir else cache_root().parent / "file-index"
    cache = base / f"{key}.pickle"
    index = None
    try:
        with cache.open("rb") as fh:
            index = pickle.load(fh)  # noqa: S301 (our own cache file)
    except (OSError, pickle.PickleError, EOFError):
        pass
    if index is None:
        from tqdm.auto import tqdm

        index = [_scan_file(f, dim) for f in tqdm(files, desc="indexing files", unit="file", disable=not progress)]
        try:
            base.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cache)
        except OSError:
            pass
    ref = index[0]
    for f, item in zip(files, index):
        if (
            item["vars"].keys() != ref["vars"].keys()
            or (item["units"], item["calendar"]) != (ref["units"], ref["calendar"])
            or any(
                v[0] != ref["vars"][k][0]
                or v[2] != ref["vars"][k][2]
                or [n for d, n in zip(v[0], v[1]) if d != dim]
                != [n for d, n in zip(v[0], ref["vars"][k][1]) if d != dim]
                for k, v in item["vars"].items()
            )
        ):
            raise ValueError(
                f"open_files_indexed: {f} differs from {files[0]} in more than its {dim!r} values; "
                f"open these files with xarray.open_mfdataset"
            )
    # files in the order of their first `dim` value, as combine="by_coords" orders them
    order = sorted(range(len(files)), key=lambda i: (index[i]["raw"][0] if index[i]["raw"] else float("inf"), i))
    files = [files[i] for i in order]
    index = [index[i] for i in order]
    template = xr.open_dataset(files[0], chunks={}, **kwargs)
    raw = np.concatenate([np.asarray(item["raw"], dtype=np.asarray(ref["raw"]).dtype) for item in index])
    tattrs = {k: v for k, v in (("units", ref["units"]), ("calendar", ref["calendar"])) if v is not None}
    times = xr.decode_cf(
        xr.Dataset(coords={dim: (dim, raw, tattrs)}),
        **{k: v for k, v in kwargs.items() if k in ("decode_times", "use_cftime")},
    )[dim]
    sizes = [len(item["raw"]) for item in index]
    variables = {}
    for name, var in template.variables.items():
        if dim not in var.dims or name == dim:
            continue
        axis = var.dims.index(dim)
        blocks = []
        for f, n in zip(files, sizes):
            shape = tuple(n if d == dim else s for d, s in zip(var.dims, var.shape))
            blocks.append(dsa.from_delayed(dask.delayed(_FileVariable(f, name, kwargs), pure=True)(), shape, var.dtype))
        data = dsa.concatenate(blocks, axis=axis)
        variables[name] = xr.Variable(var.dims, data, var.attrs, var.encoding)
    ds = template.drop_vars([n for n in template.variables if dim in template[n].dims])
    ds = ds.assign_coords({dim: times.assign_attrs(template[dim].attrs)})
    ds[dim].encoding = dict(template[dim].encoding)
    for name, v in variables.items():
        ds[name] = v
    return ds[list(template.data_vars)].assign_attrs(template.attrs)
