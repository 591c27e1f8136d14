"""Argo GDAC index files (``ar_index_global_prof.txt[.gz]`` and friends), read and searched by argopy."""

from __future__ import annotations

from typing import Any

from intake.source.base import DataSource, Schema

from .. import mirror as _mirror
from .base import TIMEOUT, AccessError

ARGO_INDEX_COLUMNS = {
    "prof": ["file", "date", "latitude", "longitude", "ocean", "profiler_type", "institution", "date_update"],
    "bio": [
        "file",
        "date",
        "latitude",
        "longitude",
        "ocean",
        "profiler_type",
        "institution",
        "parameters",
        "parameter_data_mode",
        "date_update",
    ],
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

    def __init__(
        self,
        urlpath: str,
        west: float | None = None,
        south: float | None = None,
        east: float | None = None,
        north: float | None = None,
        start: str | None = None,
        end: str | None = None,
        blocksize: str | int | None = None,
        mirror: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
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
        return [
            float(b["west"]) if b["west"] is not None else -180.0,
            float(b["east"]) if b["east"] is not None else 180.0,
            float(b["south"]) if b["south"] is not None else -90.0,
            float(b["north"]) if b["north"] is not None else 90.0,
            str(self.start or "1990-01-01"),
            str(self.end or "2100-01-01"),
        ]

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
            raise AccessError(
                f"Argo index {url}[.gz]: not found; check the file name in the GDAC layout, the "
                f"network, or set $ODATIS_VRE_MIRROR to a local copy"
            ) from None
        except DataNotFound:
            df = None
        except Exception as exc:  # fsspec/aiohttp wrap connection errors in many types
            raise AccessError(
                f"Argo index {url}: cannot read ({type(exc).__name__}: {exc}); check the network, "
                f"or set $ODATIS_VRE_MIRROR to a local copy"
            ) from None
        if df is None or len(df) == 0:
            import pandas as pd

            df = pd.DataFrame(
                {
                    c: pd.Series(
                        dtype="datetime64[ns, UTC]"
                        if c == "date"
                        else "float64"
                        if c in ("latitude", "longitude")
                        else "object"
                    )
                    for c in (
                        "file",
                        "date",
                        "latitude",
                        "longitude",
                        "ocean",
                        "profiler_type",
                        "institution",
                        "date_update",
                    )
                }
            )
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
        return Schema(
            datashape=None,
            dtype={k: str(v) for k, v in self._ddf.dtypes.items()},
            shape=(None, len(self._ddf.columns)),
            npartitions=self._ddf.npartitions,
            extra_metadata={},
        )

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
