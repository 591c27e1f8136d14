"""Where a gridded dataset lives on disk (a Zarr store, a NetCDF file, a glob or folder of files), where its
time-optimised copy goes, and the errors of time series."""

from __future__ import annotations

import glob as _glob
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import cache_dir

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
        key = hashlib.sha1((self.pattern or str(self.paths[0].resolve())).encode()).hexdigest()[:16]
        return cache_dir() / "timecopies" / f"{self.root.name.removesuffix('.zarr')}-{key}{COPY_SUFFIX}"

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
            rel = p[len(root) :] if p.startswith(root) else os.path.relpath(p, root)
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
        url = url[len("file://") :]
    return url


def _from_path(text: str, label: str) -> Source:
    """A :class:`Source` from a Zarr store, a NetCDF file, a glob, or a folder of NetCDF files."""
    if "://" in text:
        raise TimeSeriesError(
            f"{label}: {text} is remote; time-optimised copies are made from local data only "
            f"(mirror it first, see docs/catalogue.md)"
        )
    p = Path(text).expanduser()
    if any(ch in text for ch in "*?["):
        return _from_pattern(
            str(p.absolute()),
            label,
            f"no file matches {text}; generate the data first (`odatis-vre data samples` for the samples)",
        )
    if not p.exists():
        raise TimeSeriesError(
            f"{label}: {p} does not exist; check the path (or generate the samples with `odatis-vre data samples`)"
        )
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


def _dim_names(ds: Any, var: str | None = None) -> tuple[str, str, str]:
    def pick(names: Sequence[str], what: str) -> str:
        for n in names:
            if n in ds.dims:
                return n
        raise TimeSeriesError(
            f"no {what} dimension (looked for {', '.join(names)}; the data has "
            f"{', '.join(map(str, ds.dims))}); only (time, lat, lon) grids have time series here"
        )

    return pick(_TIME, "time"), pick(_LAT, "latitude"), pick(_LON, "longitude")


def _gridded_vars(ds: Any, dims: tuple[str, str, str]) -> list[str]:
    return [
        str(v)
        for v, da in ds.data_vars.items()
        if set(da.dims) == set(dims) and da.ndim == 3 and np.issubdtype(da.dtype, np.number)
    ]


def _clean_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    # values are stored decoded: packing attributes would be applied twice by readers
    drop = {"scale_factor", "add_offset", "_FillValue", "missing_value", "coordinates", "_ChunkSizes"}
    return {k: v for k, v in attrs.items() if k not in drop}
