"""Species occurrences from the OBIS API (``/v3/occurrence``), pages followed, as a pandas DataFrame."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from intake.source.base import DataSource, Schema

from .. import mirror as _mirror
from .base import AccessError, _fetch

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

    def __init__(
        self,
        api: str = OBIS_API,
        scientificname: str | None = None,
        taxonid: str | int | None = None,
        datasetid: str | None = None,
        west: float | None = None,
        south: float | None = None,
        east: float | None = None,
        north: float | None = None,
        start: str | None = None,
        end: str | None = None,
        startdepth: float | None = None,
        enddepth: float | None = None,
        fields: list[str] | None = None,
        page_size: int = 5000,
        max_records: int = 200_000,
        progress: bool = True,
        mirror: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self.api = api.rstrip("/")
        self.filters = {
            "scientificname": scientificname,
            "taxonid": taxonid,
            "datasetid": datasetid,
            "startdate": str(start)[:10] if start else None,
            "enddate": str(end)[:10] if end else None,
            "startdepth": startdepth,
            "enddepth": enddepth,
        }
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
            raise AccessError(
                f"OBIS occurrences: {self.url(after=after)} did not return OBIS JSON "
                f"(an object with `results`); check the API address or the mirror"
            )
        return page

    def _read(self) -> Any:
        import pandas as pd
        from tqdm.auto import tqdm

        first = self._page(None)
        total = int(first.get("total") or 0)
        if total > self.max_records:
            raise AccessError(
                f"OBIS occurrences: the query matches {total} records, more than max_records="
                f"{self.max_records}; narrow the taxon, box or period (or raise max_records)"
            )
        rows = list(first["results"])
        page = first
        with tqdm(
            total=total or None, initial=len(rows), unit="rec", desc="OBIS", disable=not self.progress, leave=False
        ) as bar:
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
        df["time"] = pd.to_datetime(
            df["eventDate"].astype("string").str.split("/").str[0], utc=True, errors="coerce", format="ISO8601"
        )
        return df

    def _get_schema(self) -> Schema:
        if self._df is None:
            self._df = self._read()
        return Schema(
            datashape=None,
            dtype={k: str(v) for k, v in self._df.dtypes.items()},
            shape=self._df.shape,
            npartitions=1,
            extra_metadata={"url": self.url()},
        )

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
