"""Intake drivers (classic ``sources:`` format) for the pole's services that intake-xarray lacks.

They are named in ``catalog/odatis.yaml`` by their full class path, so plain
``intake.open_catalog(...)`` uses them too, and they honour the local mirror
(``mirror={...}`` argument, else ``$ODATIS_VRE_MIRROR``; see :mod:`odatis_vre.mirror`):

* :class:`ErddapTabledapSource` — ERDDAP ``tabledap`` CSV queries, constraints pushed to the server.
* :class:`ArgoIndexSource` — Argo GDAC index files (``ar_index_global_prof.txt[.gz]`` and friends).
* :class:`CopernicusMarineSource` — Copernicus Marine ARCO datasets through the ``copernicusmarine``
  toolbox (free account needed: ``copernicusmarine login``).

Example
-------
>>> import intake
>>> cat = intake.open_catalog("catalog/odatis.yaml")               # doctest: +SKIP
>>> df = cat.argo_erddap_profiles(start="2023-03-01", end="2023-03-10").read()   # doctest: +SKIP
"""

from __future__ import annotations

import io
import urllib.parse
import urllib.request
from typing import Any

from intake.source.base import DataSource, Schema

from . import mirror as _mirror

TIMEOUT = 60


class AccessError(RuntimeError):
    """A data service could not be reached or refused the request; the message says what to do."""


def _fetch(url: str, what: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:  # noqa: S310 (http/https only, checked below)
            return resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()[:300].decode("utf-8", "replace")
        raise AccessError(f"{what}: {url} answered HTTP {exc.code}: {body.strip()}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise AccessError(f"{what}: cannot reach {url} ({getattr(exc, 'reason', exc)}); check the network, "
                          f"or set $ODATIS_VRE_MIRROR to a local copy") from None


class ErddapTabledapSource(DataSource):
    """Rows of an ERDDAP ``tabledap`` dataset as a pandas DataFrame (CSV, second header line = units).

    Constraints (``west/south/east/north``, ``start/end``, extra ``constraints``) are sent to the
    server, so only the subset travels.

    >>> src = ErddapTabledapSource("https://erddap.ifremer.fr/erddap", "ArgoFloats",
    ...                            columns=["platform_number", "time", "latitude", "longitude"],
    ...                            start="2023-01-01", end="2023-01-31", west=-15, east=0)
    >>> src.url().split("?")[0]
    'https://erddap.ifremer.fr/erddap/tabledap/ArgoFloats.csv'
    """

    container = "dataframe"
    name = "erddap_tabledap"
    version = "1.0"
    partition_access = False

    def __init__(self, server: str, dataset_id: str, columns: list[str] | None = None,
                 constraints: dict[str, Any] | None = None, west: float | None = None, south: float | None = None,
                 east: float | None = None, north: float | None = None, start: str | None = None,
                 end: str | None = None, time_column: str = "time", lon_column: str = "longitude",
                 lat_column: str = "latitude", distinct: bool = False, mirror: dict[str, str] | None = None,
                 metadata: dict[str, Any] | None = None):
        self.mirror = mirror
        self.server = server.rstrip("/")
        self.dataset_id = dataset_id
        self.columns = list(columns or [])
        self.constraints = dict(constraints or {})
        self.box = dict(west=west, south=south, east=east, north=north)
        self.start, self.end = start, end
        self.time_column, self.lon_column, self.lat_column = time_column, lon_column, lat_column
        self.distinct = distinct
        self._df = None
        super().__init__(metadata=metadata)

    def url(self) -> str:
        """The tabledap query URL (after the local mirror is applied)."""
        parts = [",".join(self.columns)]
        b = self.box
        for col, op, val in ((self.lon_column, ">=", b["west"]), (self.lon_column, "<=", b["east"]),
                             (self.lat_column, ">=", b["south"]), (self.lat_column, "<=", b["north"]),
                             (self.time_column, ">=", self.start), (self.time_column, "<=", self.end)):
            if val not in (None, ""):
                parts.append(f"{col}{op}{val}")
        for col, val in self.constraints.items():
            parts.append(f'{col}="{val}"' if isinstance(val, str) and not val[:1] in "<>=!~" else f"{col}{val}")
        if self.distinct:
            parts.append("distinct()")
        query = "&".join(urllib.parse.quote(p, safe=",()=") for p in parts)
        return _mirror.rewrite(f"{self.server}/tabledap/{self.dataset_id}.csv", self.mirror) + "?" + query

    def _get_schema(self) -> Schema:
        import pandas as pd

        if self._df is None:
            try:
                data = _fetch(self.url(), f"ERDDAP dataset {self.dataset_id}")
                df = pd.read_csv(io.BytesIO(data), skiprows=[1])
            except AccessError as exc:
                # ERDDAP answers an empty result with HTTP 404 "Your query produced no matching results"
                if "no matching results" not in str(exc):
                    raise
                df = pd.DataFrame({c: [] for c in self.columns})
            if self.time_column in df.columns:
                df[self.time_column] = pd.to_datetime(df[self.time_column], utc=True)
            self._df = df
        return Schema(datashape=None, dtype={k: str(v) for k, v in self._df.dtypes.items()},
                      shape=self._df.shape, npartitions=1, extra_metadata={"url": self.url()})

    def _get_partition(self, i: int) -> Any:
        self._load_metadata()
        return self._df

    def read(self) -> Any:
        """The rows as a pandas DataFrame (``time`` parsed as UTC datetimes)."""
        return self._get_partition(0)

    def to_dask(self) -> Any:
        import dask.dataframe as dd

        return dd.from_pandas(self.read(), npartitions=1)

    def _close(self) -> None:
        self._df = None


ARGO_INDEX_COLUMNS = {
    "prof": ["file", "date", "latitude", "longitude", "ocean", "profiler_type", "institution", "date_update"],
    "bio": ["file", "date", "latitude", "longitude", "ocean", "profiler_type", "institution", "parameters",
            "parameter_data_mode", "date_update"],
}


class ArgoIndexSource(DataSource):
    """An Argo GDAC index file as a lazy dask DataFrame, one row per profile file.

    Comment lines (``#``) are skipped; ``date`` is parsed (UTC); ``west/south/east/north`` and
    ``start/end`` filter lazily. Plain ``.txt`` files are read in blocks (HTTP range requests);
    ``.txt.gz`` in one piece.

    >>> src = ArgoIndexSource("https://data-argo.ifremer.fr/ar_index_global_prof.txt.gz")
    >>> src.container
    'dataframe'
    """

    container = "dataframe"
    name = "argo_index"
    version = "1.0"
    partition_access = True

    def __init__(self, urlpath: str, west: float | None = None, south: float | None = None,
                 east: float | None = None, north: float | None = None, start: str | None = None,
                 end: str | None = None, blocksize: str | int | None = "64MB", mirror: dict[str, str] | None = None,
                 metadata: dict[str, Any] | None = None):
        self.mirror = mirror
        self.urlpath = urlpath
        self.box = dict(west=west, south=south, east=east, north=north)
        self.start, self.end = start, end
        self.blocksize = blocksize
        self._ddf = None
        super().__init__(metadata=metadata)

    def _open(self) -> Any:
        import dask.dataframe as dd
        import pandas as pd

        url = _mirror.rewrite(self.urlpath, self.mirror)
        gz = url.endswith(".gz")
        try:
            ddf = dd.read_csv(url, comment="#", compression="gzip" if gz else None,
                              blocksize=None if gz else self.blocksize, dtype={"file": str, "ocean": str,
                              "institution": str, "profiler_type": "float64", "date": str, "date_update": str})
        except FileNotFoundError:
            raise AccessError(f"Argo index {url}: not found (HTTP 404); check the file name in the GDAC layout") from None
        except Exception as exc:  # aiohttp/fsspec wrap connection errors in many types
            raise AccessError(f"Argo index {url}: cannot read ({type(exc).__name__}: {exc}); check the network, "
                              f"or set $ODATIS_VRE_MIRROR to a local copy") from None
        ddf["date"] = dd.to_datetime(ddf["date"], format="%Y%m%d%H%M%S", errors="coerce", utc=True)
        b = self.box
        if b["west"] is not None:
            ddf = ddf[ddf.longitude >= float(b["west"])]
        if b["east"] is not None:
            ddf = ddf[ddf.longitude <= float(b["east"])]
        if b["south"] is not None:
            ddf = ddf[ddf.latitude >= float(b["south"])]
        if b["north"] is not None:
            ddf = ddf[ddf.latitude <= float(b["north"])]
        if self.start:
            ddf = ddf[ddf.date >= pd.Timestamp(self.start, tz="UTC")]
        if self.end:
            ddf = ddf[ddf.date <= pd.Timestamp(self.end, tz="UTC")]
        return ddf

    def _get_schema(self) -> Schema:
        if self._ddf is None:
            self._ddf = self._open()
        return Schema(datashape=None, dtype={k: str(v) for k, v in self._ddf.dtypes.items()},
                      shape=(None, len(self._ddf.columns)), npartitions=self._ddf.npartitions, extra_metadata={})

    def _get_partition(self, i: int) -> Any:
        self._load_metadata()
        return self._ddf.get_partition(i).compute()

    def to_dask(self) -> Any:
        """The lazy dask DataFrame."""
        self._load_metadata()
        return self._ddf

    def read(self) -> Any:
        """The whole (filtered) index as a pandas DataFrame."""
        return self.to_dask().compute()

    def _close(self) -> None:
        self._ddf = None


LOGIN_HINT = ("run `copernicusmarine login` once (free account at https://data.marine.copernicus.eu/register), "
              "or set COPERNICUSMARINE_SERVICE_USERNAME and COPERNICUSMARINE_SERVICE_PASSWORD")


class CopernicusMarineSource(DataSource):
    """A Copernicus Marine dataset opened lazily (ARCO Zarr) through the ``copernicusmarine`` toolbox.

    Needs the toolbox (``pip install copernicusmarine``) and a free account (``copernicusmarine login``).
    With ``$ODATIS_VRE_MIRROR`` mapping ``copernicusmarine://`` to a URL, the dataset is read from
    ``<that URL>/<dataset_id>`` as Zarr instead (local copies, tests).

    >>> src = CopernicusMarineSource("METOFFICE-GLO-SST-L4-NRT-OBS-SST-V2", variables=["analysed_sst"])
    >>> src.mirror_url() is None or src.mirror_url().endswith("METOFFICE-GLO-SST-L4-NRT-OBS-SST-V2")
    True
    """

    container = "xarray"
    name = "copernicusmarine"
    version = "1.0"
    partition_access = False

    def __init__(self, dataset_id: str, product_id: str | None = None, variables: list[str] | None = None,
                 west: float | None = None, south: float | None = None, east: float | None = None,
                 north: float | None = None, start: str | None = None, end: str | None = None,
                 min_depth: float | None = None, max_depth: float | None = None, chunks: Any = None,
                 mirror: dict[str, str] | None = None, metadata: dict[str, Any] | None = None):
        self.mirror = mirror
        self.dataset_id, self.product_id = dataset_id, product_id
        self.variables = list(variables or []) or None
        self.box = dict(west=west, south=south, east=east, north=north)
        self.start, self.end = start, end
        self.depth = (min_depth, max_depth)
        self.chunks = chunks
        self._ds = None
        super().__init__(metadata=metadata)

    def mirror_url(self) -> str | None:
        url = _mirror.rewrite(f"copernicusmarine://{self.dataset_id}", self.mirror)
        return None if url.startswith("copernicusmarine://") else url

    def _open(self) -> Any:
        local = self.mirror_url()
        if local is not None:
            import xarray as xr

            try:
                ds = xr.open_zarr(local, chunks=self.chunks if self.chunks is not None else {})
            except Exception as exc:
                raise AccessError(f"Copernicus Marine mirror {local}: cannot open Zarr ({type(exc).__name__}: {exc})") from None
            return self._subset(ds)
        try:
            import copernicusmarine  # type: ignore[import-not-found]
        except ImportError:
            raise AccessError(f"Copernicus Marine dataset {self.dataset_id}: the `copernicusmarine` toolbox is not "
                              f"installed. Install it (`pip install copernicusmarine`), then {LOGIN_HINT}.") from None
        b = self.box
        kwargs = dict(dataset_id=self.dataset_id, variables=self.variables, minimum_longitude=b["west"],
                      maximum_longitude=b["east"], minimum_latitude=b["south"], maximum_latitude=b["north"],
                      start_datetime=self.start, end_datetime=self.end, minimum_depth=self.depth[0],
                      maximum_depth=self.depth[1])
        try:
            return copernicusmarine.open_dataset(**{k: v for k, v in kwargs.items() if v is not None})
        except Exception as exc:  # the toolbox raises its own types; credentials problems name themselves
            text = f"{type(exc).__name__}: {exc}"
            if any(w in text.lower() for w in ("credential", "login", "password", "username", "unauthori", "401", "403")):
                raise AccessError(f"Copernicus Marine dataset {self.dataset_id} needs a login: {LOGIN_HINT}. ({text})") from None
            raise AccessError(f"Copernicus Marine dataset {self.dataset_id}: {text}") from None

    def _subset(self, ds: Any) -> Any:
        from .catalog import subset_xarray

        if self.variables:
            ds = ds[self.variables]
        b = self.box
        bbox = None if b["west"] is None else (b["west"], b["south"], b["east"], b["north"])
        time = None if self.start is None and self.end is None else (self.start, self.end)
        return subset_xarray(ds, bbox=bbox, time=time)

    def _get_schema(self) -> Schema:
        if self._ds is None:
            self._ds = self._open()
        return Schema(datashape=None, dtype=None, shape=None, npartitions=None,
                      extra_metadata={"dims": dict(self._ds.sizes), "data_vars": list(self._ds.data_vars)})

    def to_dask(self) -> Any:
        """The lazy :class:`xarray.Dataset`."""
        self._load_metadata()
        return self._ds

    read = to_dask

    def _get_partition(self, i: int) -> Any:
        return self.to_dask()

    def _close(self) -> None:
        self._ds = None


try:
    from intake_xarray.netcdf import NetCDFSource as _NetCDFSource
except ImportError:  # pragma: no cover - intake-xarray is a dependency
    _NetCDFSource = DataSource  # type: ignore[misc,assignment]


class NetCDFFilesSource(_NetCDFSource):  # type: ignore[misc,valid-type]
    """intake-xarray's ``netcdf`` driver, usable on a glob of files with intake 2.

    intake-xarray 0.7.0 reads a ``pattern`` attribute on multi-file paths that intake 2's base
    class no longer provides (``AttributeError: 'NetCDFSource' object has no attribute 'pattern'``);
    this subclass only supplies it. Arguments are those of the ``netcdf`` driver
    (``urlpath``, ``combine``, ``chunks``, ``xarray_kwargs``...).
    """

    name = "netcdf_files"
    pattern = None
