"""ERDDAP ``tabledap``: CSV queries with the constraints pushed to the server, a lazy dask DataFrame with one
request per time window (erddapy builds the URLs)."""

from __future__ import annotations

import io
import re
from typing import Any

from intake.source.base import DataSource, Schema

from .. import mirror as _mirror
from .base import AccessError, _fetch

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

    def __init__(
        self,
        server: str,
        dataset_id: str,
        columns: list[str] | None = None,
        constraints: dict[str, Any] | None = None,
        west: float | None = None,
        south: float | None = None,
        east: float | None = None,
        north: float | None = None,
        start: str | None = None,
        end: str | None = None,
        time_column: str = "time",
        lon_column: str = "longitude",
        lat_column: str = "latitude",
        distinct: bool = False,
        chunk: str | None = None,
        mirror: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
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
        for col, op, val in (
            (self.lon_column, ">=", b["west"]),
            (self.lon_column, "<=", b["east"]),
            (self.lat_column, ">=", b["south"]),
            (self.lat_column, "<=", b["north"]),
            (self.time_column, ">=", start),
            (self.time_column, end_op, end),
        ):
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
        url = e.get_download_url(
            dataset_id=self.dataset_id, variables=self.columns, constraints=constraints, distinct=self.distinct
        )
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
            raise AccessError(
                f"ERDDAP dataset {self.dataset_id}: chunk={self.chunk!r} is not a pandas frequency "
                f"(use e.g. '7D', '1D', '12h')"
            ) from None
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
        return dd.from_map(
            _ErddapWindow(self, meta, fetched),
            list(enumerate(wins)),
            meta=meta,
            enforce_metadata=False,
            label=f"erddap-{self.dataset_id}",
        )

    def _get_schema(self) -> Schema:
        return Schema(
            datashape=None,
            dtype=None,
            shape=(None, len(self.columns)),
            npartitions=len(self.windows()),
            extra_metadata={"url": self.url()},
        )

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
