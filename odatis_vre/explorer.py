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
>>> from odatis_vre import explorer
>>> view = explorer.DatasetView("sample_sst_zarr")                         # doctest: +SKIP
>>> s = view.point("analysed_sst", -5.0, 46.0)                             # doctest: +SKIP
>>> s.read_from, s.values.shape                                            # doctest: +SKIP
('time-optimised copy', (730,))
>>> explorer.serve(port=8050)                                              # doctest: +SKIP
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

import numpy as np

from . import timeseries

log = logging.getLogger("odatis_vre.explorer")

#: catalogue drivers whose entries can hold (time, lat, lon) grids
_GRID_DRIVERS = ("zarr", "netcdf", "opendap", "NetCDFFilesSource", "CopernicusMarineSource")
_NOT_GRIDS = ("in_situ", "biology_imaging")
_ICON = Path(__file__).resolve().parent / "static" / "explorer.svg"


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

    from . import catalog as catalog_mod
    from .catalog_index import THEMES

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
        out.append({"name": c.names[i], "title": c.titles[i], "theme": c.theme_names()[i], "score": score,
                    "local": bool(c.sample[i])})
    return out


def check_mappable(name: str, *, catalog: Any = None) -> None:
    """Raise :class:`ExplorerError` unless entry ``name`` exists and can be drawn as a map (a grid).

    What the page says when opened with ``?dataset=NAME``.

    >>> check_mappable("argo_gdac_float")                              # doctest: +SKIP
    Traceback (most recent call last):
    ...
    odatis_vre.explorer.ExplorerError: dataset 'argo_gdac_float' is not a grid ...
    """
    from . import catalog as catalog_mod

    cat = catalog_mod._cat(catalog)
    try:
        raw = cat.entry(name)
    except catalog_mod.CatalogError:
        close = catalog_mod._close_names(name, [e["name"] for e in mappable_entries(catalog=cat, limit=1000)])
        raise ExplorerError(f"dataset {name!r} (in the page's address, ?dataset=) is not in the catalogue"
                            + (f"; did you mean {', '.join(close)}?" if close else ".")
                            + " Pick a dataset from the list, or search the catalogue.") from None
    md = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    driver = str(raw.get("driver") or "")
    if md.get("theme") in _NOT_GRIDS or not any(d.lower() in driver.lower() for d in _GRID_DRIVERS):
        raise ExplorerError(f"dataset {name!r} (in the page's address, ?dataset=) is not a grid ({md.get('theme')}, "
                            f"driver {driver or '?'}): the explorer maps gridded (time, lat, lon) datasets. Open it in "
                            f"a notebook instead: catalog.load({name!r}); or pick a dataset from the list.")


@dataclass
class Series:
    """A time series drawn or downloaded by the explorer."""

    kind: str                       # "point" or "box"
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

        attrs = {"title": f"{self.label()} ({dataset})", "source_dataset": dataset, "read_from": self.read_from,
                 "selection": self.kind, **{f"selection_{k}": float(v) for k, v in self.where.items()}}
        if citation:
            attrs["citation"] = citation
        var_attrs = {k: v for k, v in self.attrs.items() if isinstance(v, (str, int, float))}
        if self.kind == "box":
            var_attrs["cell_methods"] = "area: mean (cos-latitude weights)"
        return xr.Dataset({self.var: ("time", np.asarray(self.values), var_attrs)}, coords={"time": self.time},
                          attrs=attrs)

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
        from . import catalog as catalog_mod

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
        from . import catalog as catalog_mod
        from . import provenance

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
        self.variables = timeseries._gridded_vars(ds, self.dims)
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
            from . import catalog as catalog_mod

            try:
                ds = catalog_mod.load(self.name, catalog=self.catalog)
            except catalog_mod.CatalogError as exc:
                raise ExplorerError(str(exc)) from None
            if not hasattr(ds, "data_vars"):
                raise ExplorerError(f"{self.name}: a table, not a grid; the explorer maps (time, lat, lon) datasets")
            try:
                self.dims = timeseries._dim_names(ds)
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
            raise ExplorerError(f"{self.name}: cannot read {path} ({exc}); rebuild the copy with "
                                f"`odatis-vre timeseries build {self.name}`") from None
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
        return Series("box", var, s[self.dims[0]].values, s.values, s.attrs["read_from"],
                      {"west": w, "south": so, "east": e, "north": n}, self.var_attrs[var], hint)


# ----------------------------------------------------------------------------- the page (Panel)

def _palette() -> list[str]:
    from bokeh.palettes import Turbo256

    return list(Turbo256)


class ExplorerApp:
    """The widgets, the map and the time-series plot of one browser session."""

    def __init__(self, catalog: Any = None, dataset: str | None = None):
        import panel as pn
        from bokeh.events import SelectionGeometry, Tap
        from bokeh.models import (BoxSelectTool, ColorBar, ColumnDataSource, HoverTool, LinearColorMapper,
                                  PanTool, Range1d, ResetTool, TapTool, WheelZoomTool)
        from bokeh.plotting import figure

        from . import catalog as catalog_mod

        self.catalog = catalog_mod._cat(catalog)
        self.view: DatasetView | None = None
        self.series: Series | None = None

        self.search = pn.widgets.TextInput(label="Search the catalogue", placeholder="e.g. sea surface temperature",
                                           width=280)
        self.dataset = pn.widgets.Select(label="Dataset", width=280)
        self.variable = pn.widgets.Select(label="Variable", width=280)
        self.date = pn.widgets.DatePicker(label="Date", width=280)
        self.status = pn.pane.Alert("", alert_type="info", visible=False, sizing_mode="stretch_width",
                                    styles={"overflow-wrap": "anywhere"})
        self.sel_info = pn.pane.Markdown("", width=280)
        self.info = pn.pane.Markdown("", width=280)
        self.fmt = pn.widgets.RadioButtonGroup(label="Format", options=["CSV", "NetCDF"], value="CSV", width=280)
        self.download = pn.widgets.FileDownload(callback=self._download_bytes, filename="selection.csv",
                                                label="Download the selection", color="primary",
                                                disabled=True, width=280)

        self.map_source = ColumnDataSource({"image": [np.full((2, 2), np.nan, np.float32)], "x": [0.0], "y": [0.0],
                                            "dw": [1.0], "dh": [1.0]}, name="odatis-map")
        self.ts_source = ColumnDataSource({"time": np.array([], dtype="datetime64[ms]"), "value": np.array([])},
                                          name="odatis-timeseries")
        self.sel_source = ColumnDataSource({"kind": [], "lon": [], "lat": [], "west": [], "south": [], "east": [],
                                            "north": [], "read_from": []}, name="odatis-selection")
        self.mapper = LinearColorMapper(palette=_palette(), nan_color="#d9d9d9")
        box_tool = BoxSelectTool(dimensions="both")
        self.hover = HoverTool(tooltips=[("lon", "$x{0.00}"), ("lat", "$y{0.00}"), ("value", "@image{0.00}")])
        tools = [PanTool(), WheelZoomTool(), box_tool, TapTool(), ResetTool(), self.hover]
        # explicit ranges: set from the data when it arrives (automatic ranges warn while sources are empty)
        self.map = figure(name="odatis-map-figure", height=460, width=620, tools=tools, active_drag=box_tool,
                          x_axis_label="longitude (°E)", y_axis_label="latitude (°N)", x_range=Range1d(0, 1),
                          y_range=Range1d(0, 1), title="Pick a dataset", output_backend="canvas")
        self.image = self.map.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.map_source,
                                    color_mapper=self.mapper)
        self.hover.renderers = [self.image]
        self.map.add_layout(ColorBar(color_mapper=self.mapper, width=10), "right")
        self.coast_source = ColumnDataSource({"xs": [], "ys": []}, name="odatis-coastline")
        self.map.multi_line("xs", "ys", source=self.coast_source, line_color="black", line_width=0.8)
        self.map.scatter("lon", "lat", source=self.sel_source, size=11, marker="circle_x", fill_alpha=0,
                         line_color="black", line_width=2)
        self.box_source = ColumnDataSource({"left": [], "right": [], "bottom": [], "top": []}, name="odatis-box")
        self.map.quad(left="left", right="right", bottom="bottom", top="top", source=self.box_source,
                      fill_alpha=0.08, fill_color="black", line_color="black", line_dash="dashed")
        self.map.on_event(Tap, self._on_tap)
        self.map.on_event(SelectionGeometry, self._on_box)

        self.ts = figure(name="odatis-timeseries-figure", height=260, width=620, x_axis_type="datetime",
                         title="Click the map (a point) or draw a box (an area mean)", tools="pan,wheel_zoom,reset",
                         x_range=Range1d(0, 1), y_range=Range1d(0, 1), output_backend="canvas")
        self.ts.line("time", "value", source=self.ts_source, line_width=1.5)
        self._axes_visible(False)  # no series yet: no axis (a datetime axis over 0..1 would read 1970)

        self.search.param.watch(lambda e: self._refresh_results(e.new), "value")
        self.dataset.param.watch(lambda e: self._open(e.new), "value")
        self.variable.param.watch(lambda e: self._draw_map(), "value")
        self.date.param.watch(lambda e: self._draw_map(), "value")
        self.fmt.param.watch(lambda e: self._update_filename(), "value")

        sidebar = pn.Column(pn.pane.Markdown("## ODATIS data explorer"), self.search, self.dataset, self.variable,
                            self.date, self.info, self.status, pn.pane.Markdown("**Selection**"), self.sel_info, self.fmt,
                            self.download, width=300)
        self.layout = pn.Row(sidebar, pn.Column(pn.pane.Bokeh(self.map), pn.pane.Bokeh(self.ts)))
        self._refresh_results("", prefer=dataset)
        if dataset:
            try:
                check_mappable(dataset, catalog=self.catalog)
            except ExplorerError as exc:  # the list's first dataset is shown, and the page says why not this one
                self._say(str(exc), "warning")

    # -- helpers
    def _say(self, text: str, kind: str = "info") -> None:
        self.status.object = text
        self.status.alert_type = kind
        self.status.visible = bool(text)

    def _refresh_results(self, query: str, prefer: str | None = None) -> None:
        try:
            hits = mappable_entries(query, catalog=self.catalog)
        except ExplorerError as exc:
            self._say(str(exc), "danger")
            return
        options = {f"{h['title']} ({h['name']})": h["name"] for h in hits}
        if not options:
            self._say(f"No mappable dataset matches {query!r}; try fewer words.", "warning")
        current = self.dataset.value
        self.dataset.options = options
        names = list(options.values())
        target = prefer if prefer in names else (current if current in names else (names[0] if names else None))
        if target is not None and target != self.dataset.value:
            self.dataset.value = target
        elif target is not None and self.view is None:
            self._open(target)

    def _open(self, name: str | None) -> None:
        if not name:
            return
        self._say("")
        try:
            view = DatasetView(name, catalog=self.catalog)
        except ExplorerError as exc:
            self.view = None
            self._say(str(exc), "danger")
            return
        self.view = view
        self._clear_selection()
        fresh, hint = view.copy_state()
        speed = "instant (time-optimised copy)" if fresh else "slow: " + hint
        t0, t1 = view.time.min(), view.time.max()
        self.info.object = (f"**{name}**: {view.lat.size}×{view.lon.size} grid, {view.time.size} times "
                            f"({str(t0)[:10]} to {str(t1)[:10]}).  \nTime series: {speed}")
        self.variable.options = view.variables
        import datetime as dt

        start, end = (dt.date.fromisoformat(str(t)[:10]) for t in (t0, t1))
        # the old value may lie outside the new period: clear it before moving the bounds
        self.date.value = None
        self.date.param.update(start=start, end=end)
        self.date.value = end
        if self.variable.value in view.variables:
            self._draw_map()
        else:
            self.variable.value = view.variables[0]
        self._draw_coast()

    def _draw_coast(self) -> None:
        try:
            from . import coastlines
        except ImportError:
            return
        if self.view is None:
            return
        w, s, e, n = self.view.bbox
        try:
            segs = coastlines.lines((max(-180, w - 1), max(-90, s - 1), min(180, e + 1), min(90, n + 1)))
        except Exception as exc:  # noqa: BLE001 - coastlines are decoration: never break the map for them
            log.warning("no coastline: %s", exc)
            return
        self.coast_source.data = {"xs": [seg[:, 0] for seg in segs], "ys": [seg[:, 1] for seg in segs]}

    def _draw_map(self) -> None:
        view, var = self.view, self.variable.value
        if view is None or not var or self.date.value is None:
            return
        try:
            values, when = view.field(var, self.date.value)
        except ExplorerError as exc:
            self._say(str(exc), "danger")
            return
        lon, lat = view.lon, np.sort(view.lat)
        dx = float(lon[1] - lon[0]) if lon.size > 1 else 1.0
        dy = float(lat[1] - lat[0]) if lat.size > 1 else 1.0
        finite = values[np.isfinite(values)]
        if finite.size:
            self.mapper.update(low=float(np.percentile(finite, 1)), high=float(np.percentile(finite, 99)))
        x0, y0 = float(lon.min()) - dx / 2, float(lat.min()) - dy / 2
        x1, y1 = float(lon.max()) + dx / 2, float(lat.max()) + dy / 2
        self.map_source.data = {"image": [values], "x": [x0], "y": [y0], "dw": [x1 - x0], "dh": [y1 - y0]}
        if (self.map.x_range.start, self.map.x_range.end) != (x0, x1):
            self.map.x_range.update(start=x0, end=x1, reset_start=x0, reset_end=x1)
            self.map.y_range.update(start=y0, end=y1, reset_start=y0, reset_end=y1)
        units = view.var_attrs.get(var, {}).get("units", "")
        self.map.title.text = f"{var} ({units}) on {str(when)[:10]} — {view.name}"

    def _axes_visible(self, visible: bool) -> None:
        for axis in (*self.ts.xaxis, *self.ts.yaxis):
            axis.visible = visible
        self.ts.xgrid.visible = self.ts.ygrid.visible = visible

    def _clear_selection(self) -> None:
        self.series = None
        self.ts_source.data = {"time": np.array([], dtype="datetime64[ms]"), "value": np.array([])}
        self._axes_visible(False)
        self.sel_source.data = {k: [] for k in self.sel_source.data}
        self.box_source.data = {k: [] for k in self.box_source.data}
        self.sel_info.object = ""
        self.download.disabled = True

    def _show(self, s: Series) -> None:
        self.series = s
        values = np.asarray(s.values, dtype=float)
        self.ts_source.data = {"time": s.time.astype("datetime64[ms]"), "value": values}
        if s.time.size:
            t0, t1 = (float(t) for t in s.time[[0, -1]].astype("datetime64[ms]").astype("int64"))
            finite = values[np.isfinite(values)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            pad = (hi - lo) * 0.05 or 0.5
            self.ts.x_range.update(start=t0, end=max(t1, t0 + 1), reset_start=t0, reset_end=max(t1, t0 + 1))
            self.ts.y_range.update(start=lo - pad, end=hi + pad, reset_start=lo - pad, reset_end=hi + pad)
        self._axes_visible(bool(s.time.size))
        units = s.attrs.get("units", "")
        self.ts.title.text = f"{s.label()} ({units})"
        self.sel_info.object = f"{s.label()}: {s.time.size} values, read from the {s.read_from}."
        w = s.where
        self.sel_source.data = {"kind": [s.kind], "lon": [w.get("lon", np.nan)], "lat": [w.get("lat", np.nan)],
                                "west": [w.get("west", np.nan)], "south": [w.get("south", np.nan)],
                                "east": [w.get("east", np.nan)], "north": [w.get("north", np.nan)],
                                "read_from": [s.read_from]}
        self.download.disabled = False
        self._update_filename()
        if s.hint:
            self._say(f"Read from the map-optimised data (slow). {s.hint}", "warning")
        else:
            self._say("")

    # -- events
    def _on_tap(self, event: Any) -> None:
        if self.view is None or not self.variable.value:
            return
        try:
            s = self.view.point(self.variable.value, event.x, event.y)
        except ExplorerError as exc:
            self._say(str(exc), "warning")
            return
        with self._one_patch():
            self.box_source.data = {k: [] for k in self.box_source.data}
            self._show(s)

    def _on_box(self, event: Any) -> None:
        g = event.geometry or {}
        if not event.final or g.get("type") != "rect" or self.view is None or not self.variable.value:
            return
        w, e = sorted((g["x0"], g["x1"]))
        s_, n = sorted((g["y0"], g["y1"]))
        try:
            s = self.view.box(self.variable.value, (w, s_, e, n))
        except ExplorerError as exc:
            self._say(str(exc), "warning")
            return
        with self._one_patch():
            self.box_source.data = {"left": [w], "right": [e], "bottom": [s_], "top": [n]}
            self._show(s)

    def _one_patch(self) -> Any:
        """Hold the page's document so that a selection's changes (series, ranges, titles, texts) reach the
        browser as one message, applied and laid out once (BokehJS lays out again after each message)."""
        import contextlib

        import panel as pn

        doc = self.map.document
        return pn.io.hold(doc) if doc is not None else contextlib.nullcontext()

    # -- download
    def _update_filename(self) -> None:
        s = self.series
        stem = f"{self.view.name}_{s.var}_{s.kind}" if s is not None and self.view is not None else "selection"
        self.download.filename = f"{stem}.{'nc' if self.fmt.value == 'NetCDF' else 'csv'}"

    def _download_bytes(self) -> io.BytesIO:
        if self.series is None or self.view is None:
            raise ExplorerError("nothing selected: click the map or draw a box first")
        if self.fmt.value == "NetCDF":
            return io.BytesIO(self.series.to_netcdf(self.view.name, self.view.citation))
        return io.BytesIO(self.series.to_csv())


def create_app(catalog: Any = None) -> Any:
    """A new page for one browser session (``?dataset=NAME`` opens that entry first)."""
    import panel as pn

    wanted = None
    args = getattr(pn.state, "session_args", None) or {}
    if args.get("dataset"):
        wanted = args["dataset"][0].decode()
    app = ExplorerApp(catalog=catalog, dataset=wanted)
    return app.layout


# ----------------------------------------------------------------------------- hub login

class HubAuthProvider:
    """Bokeh auth hooks that let only users logged in to the hub through (JupyterHub OAuth for services).

    Pages and the websocket are protected; an anonymous visitor is sent to the hub's login,
    which comes back to ``<prefix>oauth_callback``.
    """

    def __init__(self, hub_auth: Any):
        from bokeh.server.auth_provider import AuthProvider

        self.hub_auth = hub_auth
        hub = self

        class _Provider(AuthProvider):
            @property
            def get_user_async(self):  # noqa: ANN202 - bokeh's hook signature
                return hub.get_user

            @property
            def get_login_url(self):  # noqa: ANN202
                return hub.login_url

        self.provider = _Provider()

    async def get_user(self, handler: Any) -> dict[str, Any] | None:
        """The hub's user model when the request carries a valid login with access to this service.

        An anonymous page request is sent to the hub's login here: Panel would otherwise make
        the login URL relative to the app (``./hub/...``), which is wrong behind a prefix.
        """
        from tornado.web import Finish, HTTPError
        from tornado.websocket import WebSocketHandler

        model = await self.hub_auth.get_user(handler, sync=False)
        if not model:
            if handler.request.method in ("GET", "HEAD") and not isinstance(handler, WebSocketHandler):
                handler.redirect(self.login_url(handler))
                raise Finish()
            return None
        if self.hub_auth.access_scopes and not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            raise HTTPError(403, f"{model.get('name')} may not use the explorer (missing access:services scope)")
        return model

    def login_url(self, handler: Any) -> str:
        """The hub's authorize URL, with a state cookie that brings the user back here."""
        from tornado.httputil import url_concat

        params: dict[str, str] = {}
        verifier = None
        if getattr(self.hub_auth, "pkce_enabled", False):
            verifier, challenge, method = self.hub_auth.generate_pkce_code_challenge()
            params.update(code_challenge=challenge, code_challenge_method=method)
        kwargs = {"code_verifier": verifier} if verifier is not None else {}
        params["state"] = self.hub_auth.set_state_cookie(handler, next_url=handler.request.uri, **kwargs)
        return url_concat(self.hub_auth.login_url, params)

    def callback_handler(self) -> type:
        """The ``oauth_callback`` request handler, bound to this service's :class:`HubOAuth`."""
        from jupyterhub.services.auth import HubOAuthCallbackHandler

        return type("ExplorerOAuthCallback", (HubOAuthCallbackHandler,), {"_hub_auth": self.hub_auth})


def _favicon_handler() -> type:
    from tornado.web import RequestHandler

    icon = (Path(__import__("panel").__file__).parent / "dist" / "images" / "favicon.ico").read_bytes()

    class Favicon(RequestHandler):
        def get(self) -> None:
            self.set_header("Content-Type", "image/x-icon")
            self.set_header("Cache-Control", "max-age=86400")
            self.finish(icon)

    return Favicon


def _configured_hub_url() -> str | None:
    """The hub's public URL from the platform configuration the hub gave us (``$ODATIS_VRE_CONFIG``)."""
    cfg_path = os.environ.get("ODATIS_VRE_CONFIG")
    if not cfg_path:
        return None
    try:
        from . import config as config_mod

        return config_mod.load(cfg_path).hub_url
    except Exception as exc:  # noqa: BLE001 - the hub's own variables are the fallback
        log.warning("cannot read %s for the hub's address: %s", cfg_path, exc)
        return None


def _hub_origins() -> list[str]:
    """host[:port] of the hub's public address, where the explorer's pages are loaded from."""
    out = []
    for key in ("JUPYTERHUB_OAUTH_CALLBACK_URL", "JUPYTERHUB_PUBLIC_URL", "JUPYTERHUB_PUBLIC_HUB_URL"):
        netloc = urlparse(os.environ.get(key, "")).netloc
        if netloc:
            out.append(netloc)
    hub = _configured_hub_url()
    if hub:
        out.append(urlparse(hub).netloc)
    return sorted(set(out))


def _redirect_uri(prefix: str) -> str:
    """Where the hub sends users back after login: the absolute URL registered for this service.

    The hub hands services a relative callback URL, but the local mode registers the absolute
    one (``hubconfig.services``); both must be equal or the hub refuses the login.
    """
    given = os.environ.get("JUPYTERHUB_OAUTH_CALLBACK_URL", "")
    if urlparse(given).netloc:
        return given
    hub = _configured_hub_url()
    if hub:
        return f"{hub.rstrip('/')}{prefix}/oauth_callback"
    return given or f"{prefix}/oauth_callback"


def serve(port: int = 8050, prefix: str | None = None, *, address: str = "127.0.0.1", hub_auth: bool | None = None,
          websocket_origins: list[str] | None = None, unix_socket: str | None = None, start: bool = True) -> Any:
    """Serve the explorer; block until stopped when ``start`` (the hub's service command).

    ``prefix`` defaults to ``$JUPYTERHUB_SERVICE_PREFIX`` (``/services/explorer/``); ``hub_auth``
    defaults to on when ``$JUPYTERHUB_API_TOKEN`` is set. Returns the Bokeh server when not ``start``.

    >>> server = serve(port=0, hub_auth=False, start=False)     # doctest: +SKIP
    """
    # every script and stylesheet from this server: no CDN, works offline and behind firewalls
    os.environ["BOKEH_RESOURCES"] = "server"
    import panel as pn

    if hub_auth is None:
        hub_auth = bool(os.environ.get("JUPYTERHUB_API_TOKEN"))
    if prefix is None:
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/") if hub_auth else "/"
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    origins = list(websocket_origins or [])
    if not origins:
        origins = [f"{address}:{port}", f"localhost:{port}"] + (_hub_origins() if hub_auth else [])
    kwargs: dict[str, Any] = {}
    extra: list[tuple[str, Any]] = []
    if hub_auth:
        from jupyterhub.services.auth import HubOAuth

        if not os.environ.get("JUPYTERHUB_API_TOKEN"):
            raise ExplorerError("--hub-auth needs the hub's service environment ($JUPYTERHUB_API_TOKEN ...): "
                                "let the hub start the explorer, or use --no-hub-auth")
        auth = HubOAuth(api_token=os.environ["JUPYTERHUB_API_TOKEN"], cache_max_age=60,
                        oauth_redirect_uri=_redirect_uri(prefix))
        provider = HubAuthProvider(auth)
        kwargs["auth_provider"] = provider.provider
        extra.append((r"/oauth_callback", provider.callback_handler()))
        kwargs["cookie_secret"] = secrets.token_hex(32)
    # Bokeh serves its icon at the server's root only; browsers ask for it under the prefix
    extra.append((r"/favicon.ico", _favicon_handler()))
    if unix_socket:
        kwargs["unix_socket"] = unix_socket
    pn.config.design = None

    def app() -> Any:
        return create_app()

    from panel.io.server import get_server

    log.info("explorer on %s%s (hub login: %s)", unix_socket or f"{address}:{port}", prefix or "/", hub_auth)
    net = {} if unix_socket else {"port": port, "address": address}
    server = get_server({"/": app}, websocket_origin=origins, show=False, start=False, title="ODATIS data explorer",
                        prefix=prefix, extra_patterns=extra, check_unused_sessions_milliseconds=10_000,
                        unused_session_lifetime_milliseconds=60_000, **net, **kwargs)
    if start:
        server.start()
        try:
            server.io_loop.start()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    return server


# ----------------------------------------------------------------------------- JupyterLab launcher

def server_proxy_config() -> dict[str, Any]:
    """jupyter-server-proxy entry (``jupyter_serverproxy_servers``): the explorer inside a user's server.

    The proxy starts it on a Unix socket on first visit of ``<server>/odatis-explorer/``; the
    user's own server checks the login, so the explorer runs without hub OAuth there.

    >>> cfg = server_proxy_config()
    >>> cfg["launcher_entry"]["title"], cfg["absolute_url"]
    ('Data explorer', True)
    """
    return {
        "command": [sys.executable, "-m", "odatis_vre", "explorer", "serve", "--no-hub-auth",
                    "--unix-socket", "{unix_socket}", "--prefix", "{base_url}odatis-explorer",
                    "--allow-websocket-origin", "*"],
        "unix_socket": True,
        "absolute_url": True,
        "timeout": 120,
        "new_browser_tab": False,
        "launcher_entry": {"enabled": True, "title": "Data explorer", "icon_path": str(_ICON),
                           "category": "Notebook"},
    }
