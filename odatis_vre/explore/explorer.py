"""The data explorer: search the catalogue, map a field, click for a time series, draw a box, download.

A Panel/Bokeh application served two ways, with the same code:

* as the hub-wide service ``/services/explorer/`` (``odatis-vre explorer serve``, started by the hub):
  every page, the websocket and the downloads require a hub login (:class:`HubAuthProvider`,
  JupyterHub's OAuth for services);
* inside each user's server through jupyter-server-proxy (a *Data explorer* launcher entry,
  :func:`server_proxy_config`): there the user's own server checks the login.

All JavaScript and CSS come from this server (no CDN). Time series go through
:mod:`odatis_vre.timeseries`, so a dataset with a fresh time-optimised copy answers a click in
milliseconds; without one the map-optimised data are read and the page says how to build the copy.

The page exposes its state for scripts and tests as named Bokeh data sources:
``odatis-map`` (the field drawn), ``odatis-timeseries`` (``time``, ``value``) and
``odatis-selection`` (``kind``, ``lon``, ``lat``, ``west``..``north``, ``read_from``).

Example
-------
>>> from odatis_vre.explore import explorer
>>> view = explorer.DatasetView("sample_sst_zarr")                         # doctest: +SKIP
>>> s = view.point("analysed_sst", -5.0, 46.0)                             # doctest: +SKIP
>>> s.read_from, s.values.shape                                            # doctest: +SKIP
('time-optimised copy', (730,))

This module holds the data side (which entries can be mapped, a dataset's fields, points and boxes; no
Panel); the page is :mod:`odatis_vre.explore.app` and its serving :mod:`odatis_vre.explore.server`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import timeseries
from ..data.timecopy.source import _dim_names, _gridded_vars

log = logging.getLogger("odatis_vre.explore.explorer")

#: catalogue drivers whose entries can hold (time, lat, lon) grids
_GRID_DRIVERS = ("zarr", "netcdf", "opendap", "NetCDFFilesSource", "CopernicusMarineSource")
_NOT_GRIDS = ("in_situ", "biology_imaging")


class ExplorerError(RuntimeError):
    """The explorer cannot do what was asked; the message says what to change."""


# ----------------------------------------------------------------------------- data (no Panel)


def mappable_entries(query: str = "", *, catalog: Any = None, limit: int = 50) -> list[dict[str, Any]]:
    """Catalogue entries that can be drawn on a map, best match first, local (offline) data first.

    Works on the catalogue's search columns (no entry is read), so the picker stays instant with
    20 000 harvested entries.

    >>> [e["name"] for e in mappable_entries("sst")][:2]          # doctest: +SKIP
    ['sample_sst_daily', 'sample_sst_zarr']
    """
    import numpy as np

    from .. import catalog as catalog_mod
    from ..data.catalog_index import THEMES

    cat = catalog_mod._cat(catalog)
    try:
        found = catalog_mod._match(cat, query or None)
    except catalog_mod.CatalogError as exc:
        raise ExplorerError(str(exc)) from None
    not_grids = [THEMES.index(t) for t in _NOT_GRIDS]
    kept, local = [], []
    for part, rows, scores in found:
        c = part.columns
        grid = getattr(c, "_grid", None)
        if grid is None:
            # profiles, moorings and images come as NetCDF too, but are not maps
            grid = np.array([any(d.lower() in drv.lower() for d in _GRID_DRIVERS) for drv in c.drivers], bool)
            grid &= ~np.isin(c.theme, not_grids) & ~c.link
            c._grid = grid
        keep = grid[rows]
        kept.append((part, rows[keep], scores[keep]))
        local.append(c.sample)
    # local (offline) data first, then by score and name; only the best `limit` are ordered
    parts, which, rows, scores = catalog_mod.ranked(kept, limit, first=local)
    out = []
    for k, i, score in zip(which, rows, scores):
        c = parts[k].columns
        out.append(
            {
                "name": c.names[i],
                "title": c.titles[i],
                "theme": c.theme_names()[i],
                "score": score,
                "local": bool(c.sample[i]),
            }
        )
    return out


def check_mappable(name: str, *, catalog: Any = None) -> None:
    """Raise :class:`ExplorerError` unless entry ``name`` exists and can be drawn as a map (a grid).

    What the page says when opened with ``?dataset=NAME``.

    >>> check_mappable("argo_gdac_float")                              # doctest: +SKIP
    Traceback (most recent call last):
    ...
    odatis_vre.explore.explorer.ExplorerError: dataset 'argo_gdac_float' is not a grid ...
    """
    from .. import catalog as catalog_mod

    cat = catalog_mod._cat(catalog)
    try:
        raw = cat.entry(name)
    except catalog_mod.CatalogError:
        close = catalog_mod._close_names(name, [e["name"] for e in mappable_entries(catalog=cat, limit=1000)])
        raise ExplorerError(
            f"dataset {name!r} (in the page's address, ?dataset=) is not in the catalogue"
            + (f"; did you mean {', '.join(close)}?" if close else ".")
            + " Pick a dataset from the list, or search the catalogue."
        ) from None
    md = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    driver = str(raw.get("driver") or "")
    if md.get("theme") in _NOT_GRIDS or not any(d.lower() in driver.lower() for d in _GRID_DRIVERS):
        raise ExplorerError(
            f"dataset {name!r} (in the page's address, ?dataset=) is not a grid ({md.get('theme')}, "
            f"driver {driver or '?'}): the explorer maps gridded (time, lat, lon) datasets. Open it in "
            f"a notebook instead: catalog.load({name!r}); or pick a dataset from the list."
        )


@dataclass
class Series:
    """A time series drawn or downloaded by the explorer."""

    kind: str  # "point" or "box"
    var: str
    time: np.ndarray
    values: np.ndarray
    read_from: str
    where: dict[str, float]
    attrs: dict[str, Any] = field(default_factory=dict)
    hint: str = ""

    def label(self) -> str:
        """``"analysed_sst at 5.00°W 46.00°N"`` or ``"... mean over 8.0°W–2.0°W, 44.0°N–47.5°N"``."""

        def lon(x: float) -> str:
            return f"{abs(x):.2f}°{'W' if x < 0 else 'E'}"

        def lat(y: float) -> str:
            return f"{abs(y):.2f}°{'S' if y < 0 else 'N'}"

        w = self.where
        if self.kind == "point":
            return f"{self.var} at {lon(w['lon'])} {lat(w['lat'])}"
        return f"{self.var} mean over {lon(w['west'])}–{lon(w['east'])}, {lat(w['south'])}–{lat(w['north'])}"

    def to_xarray(self, dataset: str = "", citation: str = "") -> Any:
        """An :class:`xarray.Dataset` with the series and where it comes from."""
        import xarray as xr

        attrs = {
            "title": f"{self.label()} ({dataset})",
            "source_dataset": dataset,
            "read_from": self.read_from,
            "selection": self.kind,
            **{f"selection_{k}": float(v) for k, v in self.where.items()},
        }
        if citation:
            attrs["citation"] = citation
        var_attrs = {k: v for k, v in self.attrs.items() if isinstance(v, (str, int, float))}
        if self.kind == "box":
            var_attrs["cell_methods"] = "area: mean (cos-latitude weights)"
        return xr.Dataset(
            {self.var: ("time", np.asarray(self.values), var_attrs)}, coords={"time": self.time}, attrs=attrs
        )

    def to_csv(self) -> bytes:
        """``time,<var>`` rows (ISO times), what spreadsheets open."""
        import pandas as pd

        df = pd.DataFrame({"time": pd.to_datetime(self.time), self.var: np.asarray(self.values)})
        return df.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S").encode()

    def to_netcdf(self, dataset: str = "", citation: str = "") -> bytes:
        """The series as a CF NetCDF file (bytes)."""
        import tempfile

        ds = self.to_xarray(dataset, citation)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "selection.nc"
            ds.to_netcdf(path)
            return path.read_bytes()


class DatasetView:
    """One catalogue entry opened for the explorer: maps of a day, series at a point or over a box.

    With a fresh time-optimised copy of daily NetCDF files, the copy is also the index of the
    files: the dataset opens in milliseconds and a map reads one file. Otherwise the entry is
    opened through the catalogue (for thousands of files that takes a while, once).

    >>> v = DatasetView("sample_sst_zarr")                # doctest: +SKIP
    >>> v.variables, v.bbox                                # doctest: +SKIP
    (['analysed_sst'], (-15.0, 40.0, 0.0, 52.0))
    """

    def __init__(self, name: str, *, catalog: Any = None):
        from .. import catalog as catalog_mod

        self.name = name
        self.catalog = catalog_mod._cat(catalog)
        self._ds: Any = None
        self._copy: timeseries.TimeCopy | None = None
        self._resolved: timeseries.Source | None = None
        try:
            raw = self.catalog.entry(name)
        except catalog_mod.CatalogError as exc:
            raise ExplorerError(str(exc)) from None
        if not self._open_from_copy(raw):
            self._open_from_catalog()
        self.bbox = (float(self.lon.min()), float(self.lat.min()), float(self.lon.max()), float(self.lat.max()))
        try:
            self.citation = catalog_mod.cite(name, catalog=self.catalog)
        except catalog_mod.CatalogError:
            self.citation = ""

    def _open_from_copy(self, raw: dict[str, Any]) -> bool:
        from .. import catalog as catalog_mod
        from .. import provenance

        if catalog_mod.validate_entry(self.name, raw):
            return False  # let the catalogue's own load explain what is wrong
        try:
            src = self._source()
        except timeseries.TimeSeriesError:
            return False
        path = timeseries.find(src) if src.kind == "netcdf" else None
        if path is None:
            return False
        tc = timeseries.TimeCopy.open(path)
        if tc.source_file(0) is None:
            return False
        self._copy = tc
        d = tc.dims
        self.dims = (d["time"], d["lat"], d["lon"])
        self.variables = list(tc.arrays)
        self.var_attrs = {v: dict(tc.var_attrs.get(v, {})) for v in self.variables}
        self.time, self.lat, self.lon = tc.time, tc.lat.astype(float), tc.lon.astype(float)
        md = raw.get("metadata") or {}
        provenance.record(self.name, title=md.get("title"), doi=md.get("doi"), url=md.get("landing_page"))
        return True

    def _open_from_catalog(self) -> None:
        ds = self.ds
        tname, yname, xname = self.dims
        self.variables = _gridded_vars(ds, self.dims)
        if not self.variables:
            raise ExplorerError(f"{self.name}: no numeric variable on ({tname}, {yname}, {xname}) to map")
        self.var_attrs = {v: dict(ds[v].attrs) for v in self.variables}
        self.time = ds[tname].values
        self.lat = ds[yname].values.astype(float)
        self.lon = ds[xname].values.astype(float)

    @property
    def ds(self) -> Any:
        """The entry opened lazily through the catalogue (an :class:`xarray.Dataset`)."""
        if self._ds is None:
            from .. import catalog as catalog_mod

            try:
                ds = catalog_mod.load(self.name, catalog=self.catalog)
            except catalog_mod.CatalogError as exc:
                raise ExplorerError(str(exc)) from None
            if not hasattr(ds, "data_vars"):
                raise ExplorerError(f"{self.name}: a table, not a grid; the explorer maps (time, lat, lon) datasets")
            try:
                self.dims = _dim_names(ds)
            except timeseries.TimeSeriesError as exc:
                raise ExplorerError(f"{self.name}: {exc}") from None
            self._ds = ds
        return self._ds

    def field(self, var: str, date: Any) -> tuple[np.ndarray, np.datetime64]:
        """The ``(lat, lon)`` field of ``var`` on the day nearest ``date`` (latitudes ascending)."""
        self._check_var(var)
        tname, yname, xname = self.dims
        day = np.datetime64(str(date)[:10], "D")
        same = np.nonzero(self.time.astype("datetime64[D]") == day)[0]
        i = int(same[0]) if same.size else int(np.abs(self.time - day.astype("datetime64[ns]")).argmin())
        where = self._copy.source_file(i) if self._copy is not None else None
        if where is not None:
            values = self._read_day(where[0], where[1], var)
        else:
            da = self.ds[var].isel({tname: i}).transpose(yname, xname)
            values = np.asarray(da.values, dtype=np.float32)
        if self.lat[0] > self.lat[-1]:
            values = values[::-1]
        return values, self.time[i]

    def _read_day(self, path: Path, k: int, var: str) -> np.ndarray:
        import netCDF4

        try:
            with netCDF4.Dataset(path) as nc:
                v = nc.variables[var]
                tname, yname, xname = self.dims
                if v.dimensions != (tname, yname, xname) and v.dimensions != (tname, xname, yname):
                    raise ValueError(f"{var} has dimensions {v.dimensions}")
                block = np.ma.filled(np.ma.asarray(v[k], dtype=np.float32), np.nan)
                if v.dimensions[1] == xname:
                    block = block.T
        except (OSError, KeyError, ValueError) as exc:
            raise ExplorerError(
                f"{self.name}: cannot read {path} ({exc}); rebuild the copy with "
                f"`odatis-vre timeseries build {self.name}`"
            ) from None
        return block

    def _check_var(self, var: str) -> None:
        if var not in self.variables:
            raise ExplorerError(f"{self.name}: no variable {var!r} to map (choose one of {', '.join(self.variables)})")

    def copy_state(self) -> tuple[bool, str]:
        """(a fresh time-optimised copy exists, what to do when not)."""
        try:
            src = self._source()
        except timeseries.TimeSeriesError as exc:
            return False, f"no time-optimised copy possible here ({exc})"
        if timeseries.find(src) is not None:
            return True, ""
        return False, timeseries.status(src)["reason"]

    def _source(self) -> Any:
        # resolved once, like the dataset this view opened: the map and its series come from the same source
        if self._resolved is None:
            self._resolved = timeseries.resolve(self.name, catalog=self.catalog)
        return self._resolved

    def point(self, var: str, lon: float, lat: float) -> Series:
        """The series at the grid point nearest ``(lon, lat)``; instant with a fresh time-optimised copy."""
        self._check_var(var)
        try:
            try:
                t, v, (glon, glat) = timeseries.point_values(self._source(), var, lon, lat)
                read_from, hint = "time-optimised copy", ""
            except timeseries.NoFreshCopy as exc:
                hint = str(exc)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", timeseries.SlowPathWarning)
                    s = timeseries.point_series(self.ds, var, lon, lat)
                t, v, read_from = s[self.dims[0]].values, s.values, s.attrs["read_from"]
                glon, glat = float(s[self.dims[2]]), float(s[self.dims[1]])
        except timeseries.TimeSeriesError as exc:
            raise ExplorerError(f"{self.name}: {exc}") from None
        return Series("point", var, t, v, read_from, {"lon": glon, "lat": glat}, self.var_attrs[var], hint)

    def box(self, var: str, bbox: Sequence[float]) -> Series:
        """The cos-latitude weighted mean over ``bbox=(W, S, E, N)``."""
        self._check_var(var)
        fresh, hint = self.copy_state()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", timeseries.SlowPathWarning)
                s = timeseries.box_series(self.name if fresh else self.ds, var, bbox, catalog=self.catalog)
        except timeseries.TimeSeriesError as exc:
            raise ExplorerError(f"{self.name}: {exc}") from None
        w, so, e, n = (float(x) for x in bbox)
        return Series(
            "box",
            var,
            s[self.dims[0]].values,
            s.values,
            s.attrs["read_from"],
            {"west": w, "south": so, "east": e, "north": n},
            self.var_attrs[var],
            hint,
        )
