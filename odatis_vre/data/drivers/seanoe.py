"""SEANOE records (DOI ``10.17882/<id>``): one file found through SEANOE's JSON API, downloaded once into the
local cache (atomic, checked), opened with xarray or pandas."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

from intake.source.base import DataSource, Schema

from .. import mirror as _mirror
from .base import AccessError, _fetch, _utc_column, cache_root, download

# ----------------------------------------------------------------------------- SEANOE

SEANOE_API = "https://www.seanoe.org/api"
_NETCDF = (".nc", ".nc4", ".cdf", ".netcdf")
_TABLE = (".csv", ".tsv", ".txt", ".tab")


def seanoe_record_id(doi: str | int) -> str:
    """The SEANOE record number of a DOI, a ``doi.org`` URL, a landing page or a bare number.

    >>> seanoe_record_id("10.17882/42182"), seanoe_record_id("https://www.seanoe.org/data/00311/42182/")
    ('42182', '42182')
    """
    text = str(doi).strip()
    for pattern in (r"^(\d+)$", r"10\.17882/(\d+)", r"seanoe\.org/data/\d+/(\d+)"):
        m = re.search(pattern, text)
        if m:
            return m.group(1)
    raise AccessError(
        f"{doi!r} is not a SEANOE identifier: give a DOI 10.17882/<number>, its https://doi.org/ URL, "
        f"or a landing page https://www.seanoe.org/data/<group>/<number>/"
    )


class SeanoeSource(DataSource):
    """One file of a SEANOE record (``doi: 10.17882/<id>``), downloaded once and opened locally.

    SEANOE's JSON API (``<api>/find-by-id/<id>``) lists the record's files (``fileName``,
    ``fileUrl``, ``size``, ``checksum``, ``openAccess``). The open-access file whose name matches
    ``file_pattern`` (a shell glob, case-insensitive; the most recently updated one if several match)
    is downloaded into ``cache_dir`` (default ``$ODATIS_VRE_CACHE_DIR/downloads/seanoe/<id>``), with a
    progress bar, atomically and checked against its size and checksum, then opened: NetCDF with
    xarray (lazy, dask), tables (CSV/TSV) with pandas. ``format`` forces ``netcdf`` or ``csv``.
    ``time_column`` is parsed as UTC datetimes. Both the API and the files honour the local mirror
    (``https://www.seanoe.org`` → a local copy).

    >>> src = SeanoeSource("10.17882/52367", file_pattern="*.nc")
    >>> src.record_id, src.container, src.api_url()
    ('52367', 'xarray', 'https://www.seanoe.org/api/find-by-id/52367')
    """

    name = "seanoe"
    version = "1.0"
    partition_access = False
    #: ``catalog.load`` reads the whole table: the file is downloaded whole anyway
    eager = True

    def __init__(
        self,
        doi: str,
        file_pattern: str = "*",
        format: str = "auto",
        api: str = SEANOE_API,  # noqa: A002
        time_column: str | None = None,
        csv_kwargs: dict[str, Any] | None = None,
        chunks: Any = None,
        xarray_kwargs: dict[str, Any] | None = None,
        cache_dir: str | None = None,
        progress: bool = True,
        mirror: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self.doi = doi
        self.record_id = seanoe_record_id(doi)
        self.file_pattern = file_pattern or "*"
        if format not in ("auto", "netcdf", "csv"):
            raise AccessError(f"SEANOE {doi}: format={format!r}; use 'netcdf', 'csv' or 'auto' (from the file name)")
        self.format = format
        self.api = api.rstrip("/")
        self.time_column = time_column
        self.csv_kwargs = dict(csv_kwargs or {})
        self.chunks = chunks
        self.xarray_kwargs = dict(xarray_kwargs or {})
        self.cache_dir = cache_dir
        self.progress = progress
        self.mirror = mirror
        self.container = "xarray" if self._kind(self.file_pattern) == "netcdf" else "dataframe"
        self.eager = self.container == "dataframe"
        self._obj = None
        self._file: dict[str, Any] | None = None
        super().__init__(metadata=metadata)

    def _kind(self, name: str) -> str:
        if self.format != "auto":
            return self.format
        low = name.lower().removesuffix(".gz")
        return "netcdf" if low.endswith(_NETCDF) else "csv"

    def api_url(self) -> str:
        """The record's API address (after the mirror)."""
        return _mirror.rewrite(f"{self.api}/find-by-id/{self.record_id}", self.mirror)

    def record(self) -> dict[str, Any]:
        """The record as SEANOE's API returns it (a dict with ``files``)."""
        what = f"SEANOE record {self.record_id} (DOI 10.17882/{self.record_id})"
        url = self.api_url()
        try:
            data = _fetch(url, what)
        except AccessError as exc:
            if "HTTP 404" in str(exc):
                raise AccessError(
                    f"{what}: SEANOE has no such record ({url} answered HTTP 404); check the DOI "
                    f"in the entry's args.doi"
                ) from None
            raise
        try:
            rec = json.loads(data)
        except ValueError:
            rec = None
        if not isinstance(rec, dict) or not isinstance(rec.get("files"), list):
            raise AccessError(
                f"{what}: {url} did not return a SEANOE record (JSON with a `files` list); check the "
                f"DOI, or the mirror's address"
            )
        return rec

    def choose_file(self, rec: dict[str, Any]) -> dict[str, Any]:
        """The open-access file of ``rec`` matching ``file_pattern`` (newest first); AccessError if none."""
        files = [f for f in rec["files"] if isinstance(f, dict) and f.get("fileName") and f.get("fileUrl")]
        pattern = self.file_pattern.lower()
        hits = [f for f in files if fnmatch.fnmatch(str(f["fileName"]).lower(), pattern)]
        open_hits = [f for f in hits if f.get("openAccess", True)]
        if not open_hits:
            names = (
                ", ".join(
                    sorted(str(f["fileName"]) + ("" if f.get("openAccess", True) else " (restricted)") for f in files)
                )
                or "none"
            )
            why = "is open access" if hits else "matches"
            raise AccessError(
                f"SEANOE record {self.record_id}: no file {why} {self.file_pattern!r}; its files are: "
                f"{names}. Set the entry's args.file_pattern to one of them."
            )
        open_hits.sort(key=lambda f: str(f.get("lastUpdateDate") or ""), reverse=True)
        return open_hits[0]

    def local_path(self, f: dict[str, Any]) -> Path:
        base = Path(self.cache_dir) if self.cache_dir else cache_root() / "seanoe" / self.record_id
        return base / Path(str(f["fileName"])).name

    def fetch(self) -> Path:
        """Resolve the file through the API and download it (once); the local path."""
        f = self.choose_file(self.record())
        self._file = f
        url = _mirror.rewrite(str(f["fileUrl"]), self.mirror)
        size = f.get("size")
        return download(
            url,
            self.local_path(f),
            size=int(size) if str(size or "").isdigit() else None,
            checksum=f.get("checksum"),
            progress=self.progress,
            what=f"SEANOE record {self.record_id}, file {f['fileName']}",
        )

    def _open(self) -> Any:
        import pandas as pd

        path = self.fetch()
        kind = self._kind(path.name)
        if kind == "netcdf":
            import xarray as xr

            try:
                return xr.open_dataset(
                    path, chunks=self.chunks if self.chunks is not None else {}, **self.xarray_kwargs
                )
            except Exception as exc:
                raise AccessError(
                    f"SEANOE record {self.record_id}: {path.name} is not a readable NetCDF file "
                    f"({type(exc).__name__}: {exc}); set args.format or args.file_pattern"
                ) from None
        kwargs = dict(self.csv_kwargs)
        if "sep" not in kwargs and "delimiter" not in kwargs:
            kwargs.update(sep=None, engine="python")  # SEANOE tables use ',', ';' or tabs: let pandas sniff
        try:
            df = pd.read_csv(path, **kwargs)
        except Exception as exc:
            raise AccessError(
                f"SEANOE record {self.record_id}: cannot read {path.name} as a table "
                f"({type(exc).__name__}: {exc}); set args.csv_kwargs"
            ) from None
        return _utc_column(df, self.time_column)

    def _get_schema(self) -> Schema:
        if self._obj is None:
            self._obj = self._open()
        f = self._file or {}
        extra = {"file": f.get("fileName"), "url": f.get("fileUrl")}
        if hasattr(self._obj, "data_vars"):
            return Schema(
                datashape=None,
                dtype=None,
                shape=None,
                npartitions=None,
                extra_metadata={**extra, "dims": dict(self._obj.sizes)},
            )
        return Schema(
            datashape=None,
            dtype={k: str(v) for k, v in self._obj.dtypes.items()},
            shape=self._obj.shape,
            npartitions=1,
            extra_metadata=extra,
        )

    def read(self) -> Any:
        """The dataset (xarray, lazy) or the table (pandas)."""
        self._load_metadata()
        return self._obj

    def to_dask(self) -> Any:
        """xarray (dask-backed) for NetCDF; a one-partition dask DataFrame for tables."""
        obj = self.read()
        if hasattr(obj, "data_vars"):
            return obj
        import dask.dataframe as dd

        return dd.from_pandas(obj, npartitions=1)

    def _get_partition(self, i: int) -> Any:
        return self.read()

    def _close(self) -> None:
        self._obj = None
