"""Intake drivers (classic ``sources:`` format) for the pole's services that intake-xarray lacks.

They are named in ``catalog/odatis.yaml`` by their full class path, so plain
``intake.open_catalog(...)`` uses them too, and they honour the local mirror
(``mirror={...}`` argument, else ``$ODATIS_VRE_MIRROR``; see :mod:`odatis_vre.mirror`):

* :class:`ErddapTabledapSource` — ERDDAP ``tabledap`` CSV queries, constraints pushed to the server,
  a lazy dask DataFrame with one request per time window.
* :class:`ArgoIndexSource` — Argo GDAC index files (``ar_index_global_prof.txt[.gz]`` and friends).
* :class:`CopernicusMarineSource` — Copernicus Marine ARCO datasets through the ``copernicusmarine``
  toolbox (free account needed: ``copernicusmarine login``).
* :class:`SeanoeSource` — one file of a SEANOE record (DOI ``10.17882/<id>``), found through SEANOE's
  JSON API, downloaded once into a local cache (atomic, checked), opened with xarray or pandas.
* :class:`ObisOccurrenceSource` — species occurrences from the OBIS API (``/v3/occurrence``).

Example
-------
>>> import intake
>>> cat = intake.open_catalog("catalog/odatis.yaml")               # doctest: +SKIP
>>> df = cat.argo_erddap_profiles(start="2023-03-01", end="2023-03-10").read()   # doctest: +SKIP
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import io
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
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


_ERDDAP_OP = re.compile(r"^(>=|<=|!=|=~|=|<|>)(.*)$")


def _erddap_value(text: str) -> Any:
    """A constraint's value for erddapy: a number, or the string without ERDDAP's quotes (erddapy adds them)."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        return text


class ErddapTabledapSource(DataSource):
    """Rows of an ERDDAP ``tabledap`` dataset as a lazy dask DataFrame (CSV, second header line = units).

    Constraints (``west/south/east/north``, ``start/end``, extra ``constraints``) are sent to the
    server, so only the subset travels. With ``chunk`` (a pandas frequency such as ``"7D"``) and a
    period, the period is cut into time windows, one request and one partition each: computing the
    frame fetches the windows in parallel, and a long period never becomes one huge answer. The
    first window with rows is fetched when the frame is made (its columns give the frame's dtypes);
    the others only on ``compute()``. :meth:`read` returns pandas.

    >>> src = ErddapTabledapSource("https://erddap.ifremer.fr/erddap", "ArgoFloats",
    ...                            columns=["platform_number", "time", "latitude", "longitude"],
    ...                            start="2023-01-01", end="2023-01-31", west=-15, east=0, chunk="10D")
    >>> src.url().split("?")[0]
    'https://erddap.ifremer.fr/erddap/tabledap/ArgoFloats.csv'
    >>> [(a[:10], b[:10]) for a, b, _ in src.windows()]
    [('2023-01-01', '2023-01-11'), ('2023-01-11', '2023-01-21'), ('2023-01-21', '2023-02-01')]
    """

    container = "dataframe"
    name = "erddap_tabledap"
    version = "1.1"
    partition_access = True

    def __init__(self, server: str, dataset_id: str, columns: list[str] | None = None,
                 constraints: dict[str, Any] | None = None, west: float | None = None, south: float | None = None,
                 east: float | None = None, north: float | None = None, start: str | None = None,
                 end: str | None = None, time_column: str = "time", lon_column: str = "longitude",
                 lat_column: str = "latitude", distinct: bool = False, chunk: str | None = None,
                 mirror: dict[str, str] | None = None, metadata: dict[str, Any] | None = None):
        self.mirror = mirror
        self.server = server.rstrip("/")
        self.dataset_id = dataset_id
        self.columns = list(columns or [])
        self.constraints = dict(constraints or {})
        self.box = dict(west=west, south=south, east=east, north=north)
        self.start, self.end = start or None, end or None
        self.time_column, self.lon_column, self.lat_column = time_column, lon_column, lat_column
        self.distinct = distinct
        self.chunk = chunk or None
        self._ddf = None
        super().__init__(metadata=metadata)

    def url(self, start: str | None = None, end: str | None = None, end_op: str = "<=") -> str:
        """The tabledap query URL, built by :mod:`erddapy` (after the local mirror is applied).

        ``start/end`` default to the source's. ``constraints`` values are ``"value"`` (equality) or start
        with an ERDDAP operator (``">=10"``, ``"=~\"69.*\""``), as in ERDDAP's own query syntax.
        """
        from erddapy import ERDDAP
        from requests.utils import requote_uri

        start = self.start if start is None else start
        end = self.end if end is None else end
        b = self.box
        constraints: dict[str, Any] = {}
        for col, op, val in ((self.lon_column, ">=", b["west"]), (self.lon_column, "<=", b["east"]),
                             (self.lat_column, ">=", b["south"]), (self.lat_column, "<=", b["north"]),
                             (self.time_column, ">=", start), (self.time_column, end_op, end)):
            if val not in (None, ""):
                constraints[f"{col}{op}"] = val
        for col, val in self.constraints.items():
            m = _ERDDAP_OP.match(val) if isinstance(val, str) else None
            if m is None:
                constraints[f"{col}="] = val
            else:
                op, value = m.groups()
                constraints[f"{col}{op}"] = _erddap_value(value)
        server = _mirror.rewrite(self.server, self.mirror)
        e = ERDDAP(server=server, protocol="tabledap", response="csv")
        url = e.get_download_url(dataset_id=self.dataset_id, variables=self.columns, constraints=constraints,
                                 distinct=self.distinct)
        # erddapy leaves quotes and comparison signs raw; HTTP needs them percent-encoded
        return requote_uri(url).replace("<", "%3C").replace(">", "%3E")

    def windows(self) -> list[tuple[str | None, str | None, str]]:
        """``[(start, end, end_operator), ...]``: one request each (the last window includes its end)."""
        import pandas as pd

        end, end_op = self.end, "<="
        if end and len(str(end)) == 10:
            # a date means the whole day (ERDDAP reads "2023-02-28" as its first instant)
            end, end_op = (pd.Timestamp(end) + pd.Timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "<"
        if not (self.chunk and self.start and self.end):
            return [(self.start, end, end_op)]
        t0, t1 = pd.Timestamp(self.start), pd.Timestamp(self.end)
        try:
            step = pd.tseries.frequencies.to_offset(self.chunk)
        except ValueError:
            raise AccessError(f"ERDDAP dataset {self.dataset_id}: chunk={self.chunk!r} is not a pandas frequency "
                              f"(use e.g. '7D', '1D', '12h')") from None
        edges = [t0]
        while edges[-1] + step < t1:
            edges.append(edges[-1] + step)
        iso = [e.strftime("%Y-%m-%dT%H:%M:%SZ") for e in edges]
        out = [(iso[i], iso[i + 1], "<") for i in range(len(iso) - 1)]
        return out + [(iso[-1], end, end_op)]

    def _fetch(self, window: tuple[str | None, str | None, str]) -> Any:
        import pandas as pd

        try:
            data = _fetch(self.url(*window), f"ERDDAP dataset {self.dataset_id}")
            df = pd.read_csv(io.BytesIO(data), skiprows=[1])
        except AccessError as exc:
            # ERDDAP answers an empty result with HTTP 404 "Your query produced no matching results"
            if "no matching results" not in str(exc):
                raise
            df = pd.DataFrame({c: [] for c in self.columns})
        if self.time_column in df.columns:
            df[self.time_column] = pd.to_datetime(df[self.time_column], utc=True)
        return df

    def _make(self) -> Any:
        import dask.dataframe as dd

        wins = self.windows()
        fetched: dict[int, Any] = {}
        meta = None
        for i, w in enumerate(wins):  # dtypes come from the first window with rows
            fetched[i] = self._fetch(w)
            if len(fetched[i]):
                meta = fetched[i].iloc[:0]
                break
        if meta is None:  # no rows anywhere: an empty frame with the asked-for columns
            return dd.from_pandas(fetched[len(wins) - 1], npartitions=1)
        return dd.from_map(_ErddapWindow(self, meta, fetched), list(enumerate(wins)), meta=meta,
                           enforce_metadata=False, label=f"erddap-{self.dataset_id}")

    def _get_schema(self) -> Schema:
        return Schema(datashape=None, dtype=None, shape=(None, len(self.columns)), npartitions=len(self.windows()),
                      extra_metadata={"url": self.url()})

    def to_dask(self) -> Any:
        """The lazy dask DataFrame (one partition per time window)."""
        if self._ddf is None:
            self._ddf = self._make()
        return self._ddf

    def _get_partition(self, i: int) -> Any:
        return self.to_dask().get_partition(i).compute()

    def read(self) -> Any:
        """The rows as a pandas DataFrame (``time`` parsed as UTC datetimes)."""
        return self.to_dask().compute()

    def _close(self) -> None:
        self._ddf = None


class _ErddapWindow:
    """One time window of an ERDDAP query, fetched when dask computes its partition."""

    def __init__(self, source: ErddapTabledapSource, meta: Any, fetched: dict[int, Any]):
        self.source, self.meta, self.fetched = source, meta, fetched

    def __call__(self, item: tuple[int, tuple[str | None, str | None, str]]) -> Any:
        i, window = item
        df = self.fetched.get(i)
        if df is None:
            df = self.source._fetch(window)
        # empty windows come back as object columns: give every partition the frame's dtypes
        return df.astype(self.meta.dtypes.to_dict()) if len(df) == 0 else df


ARGO_INDEX_COLUMNS = {
    "prof": ["file", "date", "latitude", "longitude", "ocean", "profiler_type", "institution", "date_update"],
    "bio": ["file", "date", "latitude", "longitude", "ocean", "profiler_type", "institution", "parameters",
            "parameter_data_mode", "date_update"],
}


class ArgoIndexSource(DataSource):
    """An Argo GDAC index file, read and searched by :class:`argopy.ArgoIndex`, as a dask DataFrame.

    One row per profile file, with argopy's columns (``file``, ``date`` as UTC, ``latitude``,
    ``longitude``, ``ocean``, ``profiler_type`` (argopy's ``profiler_code``), ``institution``,
    ``date_update``, plus ``wmo``, ``cyc``, ``dac``, ``institution_name``, ``profiler`` and, for BGC
    indexes, ``parameters``/``parameter_data_mode``). ``west/south/east/north`` and ``start/end`` go to
    argopy's search (``query.lon_lat_tim``). The GDAC host is the folder of ``urlpath`` (after the
    local mirror is applied); argopy reads the plain or the ``.gz`` file, whichever is there.

    >>> src = ArgoIndexSource("https://data-argo.ifremer.fr/ar_index_global_prof.txt.gz")
    >>> src.container, src.host_and_file()
    ('dataframe', ('https://data-argo.ifremer.fr', 'ar_index_global_prof.txt'))
    """

    container = "dataframe"
    name = "argo_index"
    version = "2.0"
    partition_access = True

    def __init__(self, urlpath: str, west: float | None = None, south: float | None = None,
                 east: float | None = None, north: float | None = None, start: str | None = None,
                 end: str | None = None, blocksize: str | int | None = None, mirror: dict[str, str] | None = None,
                 metadata: dict[str, Any] | None = None):
        self.mirror = mirror
        self.urlpath = urlpath
        self.box = dict(west=west, south=south, east=east, north=north)
        self.start, self.end = start, end
        self.blocksize = blocksize  # kept for catalogues that set it; argopy reads the index whole
        self._ddf = None
        super().__init__(metadata=metadata)

    def host_and_file(self) -> tuple[str, str]:
        """``(GDAC host, index file name without .gz)`` of ``urlpath`` after the mirror is applied."""
        url = _mirror.rewrite(self.urlpath, self.mirror)
        host, _, name = url.rpartition("/")
        return host, name.removesuffix(".gz")

    def _search(self) -> list[Any] | None:
        """argopy's ``[lon_min, lon_max, lat_min, lat_max, date_min, date_max]``, or None for the whole index."""
        b = self.box
        if all(v is None for v in b.values()) and not self.start and not self.end:
            return None
        return [float(b["west"]) if b["west"] is not None else -180.0,
                float(b["east"]) if b["east"] is not None else 180.0,
                float(b["south"]) if b["south"] is not None else -90.0,
                float(b["north"]) if b["north"] is not None else 90.0,
                str(self.start or "1990-01-01"), str(self.end or "2100-01-01")]

    def _open(self) -> Any:
        import argopy
        import dask.dataframe as dd
        from argopy.errors import DataNotFound, GdacPathError

        host, name = self.host_and_file()
        url = f"{host}/{name}"
        try:
            idx = argopy.ArgoIndex(host=host, index_file=name, cache=False, timeout=TIMEOUT)
            box = self._search()
            if box is not None:
                idx = idx.query.lon_lat_tim(box)
            df = idx.to_dataframe()
        except GdacPathError:
            raise AccessError(f"Argo index {url}[.gz]: not found; check the file name in the GDAC layout, the "
                              f"network, or set $ODATIS_VRE_MIRROR to a local copy") from None
        except DataNotFound:
            df = None
        except Exception as exc:  # fsspec/aiohttp wrap connection errors in many types
            raise AccessError(f"Argo index {url}: cannot read ({type(exc).__name__}: {exc}); check the network, "
                              f"or set $ODATIS_VRE_MIRROR to a local copy") from None
        if df is None or len(df) == 0:
            import pandas as pd

            df = pd.DataFrame({c: pd.Series(dtype="datetime64[ns, UTC]" if c == "date" else "float64"
                                            if c in ("latitude", "longitude") else "object")
                               for c in ("file", "date", "latitude", "longitude", "ocean", "profiler_type",
                                         "institution", "date_update")})
        else:
            df = df.rename(columns={"profiler_code": "profiler_type"})
            # the GDAC's dates are UTC; argopy gives them naive
            for col in ("date", "date_update"):
                if col in df.columns:
                    df[col] = df[col].dt.tz_localize("UTC")
        return dd.from_pandas(df.reset_index(drop=True), npartitions=1)

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


def copernicus_credentials(environ: dict[str, str] | None = None) -> bool:
    """Whether Copernicus Marine credentials are set (environment, or the file `copernicusmarine login` writes)."""
    env = os.environ if environ is None else environ
    if env.get("COPERNICUSMARINE_SERVICE_USERNAME") and env.get("COPERNICUSMARINE_SERVICE_PASSWORD"):
        return True
    # where the toolbox (2.x) looks: <dir or home>/.copernicusmarine/.copernicusmarine-credentials, or a .netrc
    base = Path(env.get("COPERNICUSMARINE_CREDENTIALS_DIRECTORY") or Path.home())
    if (base / ".copernicusmarine" / ".copernicusmarine-credentials").is_file():
        return True
    netrc = Path.home() / ".netrc"
    try:
        return any(h in netrc.read_text() for h in ("marine.copernicus.eu", "cmems-du.eu"))
    except OSError:
        return False


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
        if not copernicus_credentials():
            # without them the toolbox would prompt for a password, which hangs a notebook or a service
            raise AccessError(f"Copernicus Marine dataset {self.dataset_id} needs a login: {LOGIN_HINT}.")
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
    (``urlpath``, ``combine``, ``chunks``, ``xarray_kwargs``...), plus ``indexed``: with
    ``indexed=True`` a local glob is opened by :func:`open_files_indexed` (one file read per open
    once a cached index of the files' ``concat_dim`` values exists; same dataset as
    ``open_mfdataset``), falling back to ``open_mfdataset`` when the files differ in more than that.
    """

    name = "netcdf_files"
    pattern = None
    _MF_ONLY = ("data_vars", "coords", "compat", "join", "parallel", "combine", "concat_dim", "combine_attrs",
                "preprocess", "chunks")

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


# ----------------------------------------------------------------------------- downloads

_DIGESTS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


def _checksum_spec(checksum: str | None) -> str | None:
    """pooch's ``known_hash`` (``"sha256:ab12..."``) from that form or a bare hex digest (algorithm from its length).

    >>> _checksum_spec("AB" * 32)[:10], _checksum_spec("not a checksum")
    ('sha256:abab', None)
    """
    if not checksum:
        return None
    algo, _, digest = str(checksum).strip().lower().rpartition(":")
    digest = digest.strip()
    algo = algo.strip() or _DIGESTS.get(len(digest), "")
    if algo not in hashlib.algorithms_available or not re.fullmatch(r"[0-9a-f]+", digest):
        return None  # a checksum we cannot interpret is not a reason to refuse the file
    return f"{algo}:{digest}"


def cache_root() -> Path:
    """Where downloaded files are kept: ``$ODATIS_VRE_CACHE_DIR/downloads`` (default ``~/.cache/odatis-vre``)."""
    env = os.environ.get("ODATIS_VRE_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "odatis-vre"
    return base / "downloads"


def _cached(dest: Path, size: int | None, spec: str | None) -> bool:
    """Whether ``dest`` already holds the expected file (size, then checksum when one is known)."""
    import pooch

    if not dest.is_file() or (size is not None and dest.stat().st_size != int(size)):
        return False
    return spec is None or pooch.file_hash(str(dest), alg=spec.split(":")[0]) == spec.split(":")[1]


def download(url: str, dest: str | os.PathLike[str], *, size: int | None = None, checksum: str | None = None,
             progress: bool = True, what: str = "download") -> Path:
    """Download ``url`` to ``dest`` once with :mod:`pooch`: atomic, length and checksum checked.

    A file already at ``dest`` with the expected size (and checksum, when given) is reused; one that
    does not match is downloaded again. pooch writes into a temporary file beside ``dest`` and moves it
    into place only once its hash matched, so on any failure nothing is left at ``dest`` (nor a partial
    file) and :class:`AccessError` says what happened. ``checksum`` is ``"sha256:<hex>"`` or a bare hex
    digest. The progress bar is tqdm's (a widget in a notebook).

    >>> download("http://127.0.0.1:9/x.nc", "/tmp/odatis-doc-x.nc", progress=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    odatis_vre.catalog_drivers.AccessError: download: cannot reach http://127.0.0.1:9/x.nc (...); ...
    """
    import pooch
    import requests
    from tqdm.auto import tqdm

    dest = Path(dest)
    spec = _checksum_spec(checksum)
    if _cached(dest, size, spec):
        return dest
    dest.unlink(missing_ok=True)  # a damaged or stale copy: pooch would otherwise keep a file without a hash
    dest.parent.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=int(size) if size is not None else None, unit="B", unit_scale=True, unit_divisor=1024,
               desc=dest.name, leave=False) if progress else False
    downloader = pooch.HTTPDownloader(progressbar=bar, timeout=TIMEOUT)
    try:
        pooch.retrieve(url, known_hash=spec, fname=dest.name, path=dest.parent, downloader=downloader,
                       progressbar=False)
    except requests.HTTPError as exc:
        body = exc.response.text[:300] if exc.response is not None else ""
        code = exc.response.status_code if exc.response is not None else "?"
        raise AccessError(f"{what}: {url} answered HTTP {code}: {body.strip()}") from None
    except requests.exceptions.ChunkedEncodingError:
        raise AccessError(f"{what}: the download of {url} was interrupted (the connection closed early); nothing was kept, "
                          f"run the load again") from None
    except ValueError as exc:  # pooch: the downloaded file's hash differs from known_hash
        if "hash" not in str(exc).lower():
            raise
        raise AccessError(f"{what}: {url} does not match its {spec.split(':')[0] if spec else ''} checksum "
                          f"(expected {spec.split(':')[1] if spec else '?'}); the file was discarded, "
                          f"run the load again") from None
    except (requests.ConnectionError, requests.Timeout, OSError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise AccessError(f"{what}: cannot reach {url} ({reason}); check the network, "
                          f"or set $ODATIS_VRE_MIRROR to a local copy") from None
    finally:
        if bar is not False:
            bar.close()
    if size is not None and dest.stat().st_size != int(size):
        got = dest.stat().st_size
        dest.unlink(missing_ok=True)
        raise AccessError(f"{what}: {url} has {got} bytes but its record says {size}; nothing was kept")
    return dest


def _utc_column(df: Any, column: str | None) -> Any:
    """Parse ``column`` (if present) as UTC datetimes, in place; returns ``df``."""
    import pandas as pd

    if column and column in df.columns:
        df[column] = pd.to_datetime(df[column], utc=True, errors="coerce")
    return df


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
    raise AccessError(f"{doi!r} is not a SEANOE identifier: give a DOI 10.17882/<number>, its https://doi.org/ URL, "
                      f"or a landing page https://www.seanoe.org/data/<group>/<number>/")


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

    def __init__(self, doi: str, file_pattern: str = "*", format: str = "auto", api: str = SEANOE_API,  # noqa: A002
                 time_column: str | None = None, csv_kwargs: dict[str, Any] | None = None, chunks: Any = None,
                 xarray_kwargs: dict[str, Any] | None = None, cache_dir: str | None = None, progress: bool = True,
                 mirror: dict[str, str] | None = None, metadata: dict[str, Any] | None = None):
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
                raise AccessError(f"{what}: SEANOE has no such record ({url} answered HTTP 404); check the DOI "
                                  f"in the entry's args.doi") from None
            raise
        try:
            rec = json.loads(data)
        except ValueError:
            rec = None
        if not isinstance(rec, dict) or not isinstance(rec.get("files"), list):
            raise AccessError(f"{what}: {url} did not return a SEANOE record (JSON with a `files` list); check the "
                              f"DOI, or the mirror's address")
        return rec

    def choose_file(self, rec: dict[str, Any]) -> dict[str, Any]:
        """The open-access file of ``rec`` matching ``file_pattern`` (newest first); AccessError if none."""
        files = [f for f in rec["files"] if isinstance(f, dict) and f.get("fileName") and f.get("fileUrl")]
        pattern = self.file_pattern.lower()
        hits = [f for f in files if fnmatch.fnmatch(str(f["fileName"]).lower(), pattern)]
        open_hits = [f for f in hits if f.get("openAccess", True)]
        if not open_hits:
            names = ", ".join(sorted(str(f["fileName"]) + ("" if f.get("openAccess", True) else " (restricted)")
                                     for f in files)) or "none"
            why = "is open access" if hits else "matches"
            raise AccessError(f"SEANOE record {self.record_id}: no file {why} {self.file_pattern!r}; its files are: "
                              f"{names}. Set the entry's args.file_pattern to one of them.")
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
        return download(url, self.local_path(f), size=int(size) if str(size or "").isdigit() else None,
                        checksum=f.get("checksum"), progress=self.progress,
                        what=f"SEANOE record {self.record_id}, file {f['fileName']}")

    def _open(self) -> Any:
        import pandas as pd

        path = self.fetch()
        kind = self._kind(path.name)
        if kind == "netcdf":
            import xarray as xr

            try:
                return xr.open_dataset(path, chunks=self.chunks if self.chunks is not None else {}, **self.xarray_kwargs)
            except Exception as exc:
                raise AccessError(f"SEANOE record {self.record_id}: {path.name} is not a readable NetCDF file "
                                  f"({type(exc).__name__}: {exc}); set args.format or args.file_pattern") from None
        kwargs = dict(self.csv_kwargs)
        if "sep" not in kwargs and "delimiter" not in kwargs:
            kwargs.update(sep=None, engine="python")  # SEANOE tables use ',', ';' or tabs: let pandas sniff
        try:
            df = pd.read_csv(path, **kwargs)
        except Exception as exc:
            raise AccessError(f"SEANOE record {self.record_id}: cannot read {path.name} as a table "
                              f"({type(exc).__name__}: {exc}); set args.csv_kwargs") from None
        return _utc_column(df, self.time_column)

    def _get_schema(self) -> Schema:
        if self._obj is None:
            self._obj = self._open()
        f = self._file or {}
        extra = {"file": f.get("fileName"), "url": f.get("fileUrl")}
        if hasattr(self._obj, "data_vars"):
            return Schema(datashape=None, dtype=None, shape=None, npartitions=None,
                          extra_metadata={**extra, "dims": dict(self._obj.sizes)})
        return Schema(datashape=None, dtype={k: str(v) for k, v in self._obj.dtypes.items()}, shape=self._obj.shape,
                      npartitions=1, extra_metadata=extra)

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


# ----------------------------------------------------------------------------- OBIS

OBIS_API = "https://api.obis.org/v3"


class ObisOccurrenceSource(DataSource):
    """Species occurrence records from the OBIS API (``/occurrence``) as a pandas DataFrame.

    Filters are sent to the API: ``scientificname`` or ``taxonid`` (WoRMS AphiaID), ``datasetid``,
    the box ``west/south/east/north`` (as a WKT polygon), ``start/end`` (``startdate/enddate``),
    ``startdepth/enddepth``. Pages of ``page_size`` records (at most 10 000) are followed with
    ``after=<last id>`` — one after the other, so the table is read eagerly, with a progress bar.
    A query matching more than ``max_records`` records is refused (narrow it). Columns
    ``longitude``, ``latitude`` and ``time`` (UTC, from ``eventDate``) are added.

    >>> src = ObisOccurrenceSource(scientificname="Calanus helgolandicus", west=-10, south=43, east=-2, north=48)
    >>> print(urllib.parse.unquote(src.url(size=1)))
    https://api.obis.org/v3/occurrence?scientificname=Calanus helgolandicus&geometry=POLYGON((-10.0 43.0,-2.0 43.0,-2.0 48.0,-10.0 48.0,-10.0 43.0))&size=1
    """

    container = "dataframe"
    name = "obis_occurrence"
    version = "1.0"
    partition_access = False
    eager = True

    def __init__(self, api: str = OBIS_API, scientificname: str | None = None, taxonid: str | int | None = None,
                 datasetid: str | None = None, west: float | None = None, south: float | None = None,
                 east: float | None = None, north: float | None = None, start: str | None = None,
                 end: str | None = None, startdepth: float | None = None, enddepth: float | None = None,
                 fields: list[str] | None = None, page_size: int = 5000, max_records: int = 200_000,
                 progress: bool = True, mirror: dict[str, str] | None = None, metadata: dict[str, Any] | None = None):
        self.api = api.rstrip("/")
        self.filters = {"scientificname": scientificname, "taxonid": taxonid, "datasetid": datasetid,
                        "startdate": str(start)[:10] if start else None, "enddate": str(end)[:10] if end else None,
                        "startdepth": startdepth, "enddepth": enddepth}
        self.box = dict(west=west, south=south, east=east, north=north)
        self.fields = list(fields or [])
        self.page_size = max(1, min(int(page_size), 10_000))
        self.max_records = int(max_records)
        self.progress = progress
        self.mirror = mirror
        self._df = None
        super().__init__(metadata=metadata)

    def _geometry(self) -> str | None:
        b = self.box
        if any(b[k] in (None, "") for k in b):
            return None
        w, s, e, n = (float(b[k]) for k in ("west", "south", "east", "north"))
        return f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"

    def url(self, size: int | None = None, after: str | None = None) -> str:
        """The query URL of one page (after the mirror)."""
        params = {k: v for k, v in self.filters.items() if v not in (None, "")}
        geom = self._geometry()
        if geom:
            params["geometry"] = geom
        if self.fields:
            params["fields"] = ",".join(self.fields)
        params["size"] = self.page_size if size is None else size
        if after:
            params["after"] = after
        base = _mirror.rewrite(f"{self.api}/occurrence", self.mirror)
        return base + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe=",()")

    def _page(self, after: str | None) -> dict[str, Any]:
        data = _fetch(self.url(after=after), "OBIS occurrences")
        try:
            page = json.loads(data)
        except ValueError:
            page = None
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise AccessError(f"OBIS occurrences: {self.url(after=after)} did not return OBIS JSON "
                              f"(an object with `results`); check the API address or the mirror")
        return page

    def _read(self) -> Any:
        import pandas as pd
        from tqdm.auto import tqdm

        first = self._page(None)
        total = int(first.get("total") or 0)
        if total > self.max_records:
            raise AccessError(f"OBIS occurrences: the query matches {total} records, more than max_records="
                              f"{self.max_records}; narrow the taxon, box or period (or raise max_records)")
        rows = list(first["results"])
        page = first
        with tqdm(total=total or None, initial=len(rows), unit="rec", desc="OBIS", disable=not self.progress,
                  leave=False) as bar:
            while len(page["results"]) == self.page_size and (not total or len(rows) < total):
                last = page["results"][-1].get("id")
                if not last:
                    break
                page = self._page(str(last))
                if not page["results"]:
                    break
                rows += page["results"]
                bar.update(len(page["results"]))
        df = pd.DataFrame(rows)
        for col in ("decimalLongitude", "decimalLatitude", "eventDate"):
            if col not in df.columns:
                df[col] = pd.Series(dtype="float64" if col != "eventDate" else "object")
        df["longitude"] = pd.to_numeric(df["decimalLongitude"], errors="coerce")
        df["latitude"] = pd.to_numeric(df["decimalLatitude"], errors="coerce")
        # eventDate may be an interval "2010-05-01/2010-05-03": its start dates the record
        df["time"] = pd.to_datetime(df["eventDate"].astype("string").str.split("/").str[0], utc=True,
                                    errors="coerce", format="ISO8601")
        return df

    def _get_schema(self) -> Schema:
        if self._df is None:
            self._df = self._read()
        return Schema(datashape=None, dtype={k: str(v) for k, v in self._df.dtypes.items()}, shape=self._df.shape,
                      npartitions=1, extra_metadata={"url": self.url()})

    def read(self) -> Any:
        """The occurrences as a pandas DataFrame."""
        self._load_metadata()
        return self._df

    def to_dask(self) -> Any:
        import dask.dataframe as dd

        return dd.from_pandas(self.read(), npartitions=1)

    def _get_partition(self, i: int) -> Any:
        return self.read()

    def _close(self) -> None:
        self._df = None


# ----------------------------------------------------------------------------- many NetCDF files, indexed

_INDEX_FORMAT = 1


def _scan_file(path: str, dim: str) -> dict[str, Any]:
    """What the index keeps of one file: its raw ``dim`` values and the shape of each variable."""
    import netCDF4
    import numpy as np

    with netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        var = nc.variables[dim]
        return {"raw": np.asarray(var[:]).tolist(), "units": getattr(var, "units", None),
                "calendar": getattr(var, "calendar", None),
                "vars": {k: [list(v.dimensions), list(v.shape), str(v.dtype)] for k, v in nc.variables.items()}}


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


def open_files_indexed(files: list[str], dim: str = "time", *, cache_dir: str | os.PathLike[str] | None = None,
                       xarray_kwargs: dict[str, Any] | None = None, progress: bool = False) -> Any:
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
        if item["vars"].keys() != ref["vars"].keys() or (item["units"], item["calendar"]) != (ref["units"], ref["calendar"]) \
                or any(v[0] != ref["vars"][k][0] or v[2] != ref["vars"][k][2]
                       or [n for d, n in zip(v[0], v[1]) if d != dim] != [n for d, n in zip(v[0], ref["vars"][k][1]) if d != dim]
                       for k, v in item["vars"].items()):
            raise ValueError(f"open_files_indexed: {f} differs from {files[0]} in more than its {dim!r} values; "
                             f"open these files with xarray.open_mfdataset")
    # files in the order of their first `dim` value, as combine="by_coords" orders them
    order = sorted(range(len(files)), key=lambda i: (index[i]["raw"][0] if index[i]["raw"] else float("inf"), i))
    files = [files[i] for i in order]
    index = [index[i] for i in order]
    template = xr.open_dataset(files[0], chunks={}, **kwargs)
    raw = np.concatenate([np.asarray(item["raw"], dtype=np.asarray(ref["raw"]).dtype) for item in index])
    tattrs = {k: v for k, v in (("units", ref["units"]), ("calendar", ref["calendar"])) if v is not None}
    times = xr.decode_cf(xr.Dataset(coords={dim: (dim, raw, tattrs)}), **{k: v for k, v in kwargs.items()
                                                                           if k in ("decode_times", "use_cftime")})[dim]
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
