"""The explorer's page (Panel/Bokeh): search box, map, click for a time series, box for an area mean, downloads.

The data behind it come from :mod:`odatis_vre.explore.explorer` (no Panel there); the page is served by
:mod:`odatis_vre.explore.server`.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .explorer import (
    DatasetView,
    ExplorerError,
    Series,
    check_mappable,
    log,
    mappable_entries,
)

# ----------------------------------------------------------------------------- the page (Panel)


def _palette() -> list[str]:
    from bokeh.palettes import Turbo256

    return list(Turbo256)


class ExplorerApp:
    """The widgets, the map and the time-series plot of one browser session."""

    def __init__(self, catalog: Any = None, dataset: str | None = None):
        import panel as pn
        from bokeh.events import SelectionGeometry, Tap
        from bokeh.models import (
            BoxSelectTool,
            ColorBar,
            ColumnDataSource,
            HoverTool,
            LinearColorMapper,
            PanTool,
            Range1d,
            ResetTool,
            TapTool,
            WheelZoomTool,
        )
        from bokeh.plotting import figure

        from .. import catalog as catalog_mod

        self.catalog = catalog_mod._cat(catalog)
        self.view: DatasetView | None = None
        self.series: Series | None = None

        self.search = pn.widgets.TextInput(
            label="Search the catalogue", placeholder="e.g. sea surface temperature", width=280
        )
        self.dataset = pn.widgets.Select(label="Dataset", width=280)
        self.variable = pn.widgets.Select(label="Variable", width=280)
        self.date = pn.widgets.DatePicker(label="Date", width=280)
        self.status = pn.pane.Alert(
            "", alert_type="info", visible=False, sizing_mode="stretch_width", styles={"overflow-wrap": "anywhere"}
        )
        self.sel_info = pn.pane.Markdown("", width=280)
        self.info = pn.pane.Markdown("", width=280)
        self.fmt = pn.widgets.RadioButtonGroup(label="Format", options=["CSV", "NetCDF"], value="CSV", width=280)
        self.download = pn.widgets.FileDownload(
            callback=self._download_bytes,
            filename="selection.csv",
            label="Download the selection",
            color="primary",
            disabled=True,
            width=280,
        )

        self.map_source = ColumnDataSource(
            {"image": [np.full((2, 2), np.nan, np.float32)], "x": [0.0], "y": [0.0], "dw": [1.0], "dh": [1.0]},
            name="odatis-map",
        )
        self.ts_source = ColumnDataSource(
            {"time": np.array([], dtype="datetime64[ms]"), "value": np.array([])}, name="odatis-timeseries"
        )
        self.sel_source = ColumnDataSource(
            {"kind": [], "lon": [], "lat": [], "west": [], "south": [], "east": [], "north": [], "read_from": []},
            name="odatis-selection",
        )
        self.mapper = LinearColorMapper(palette=_palette(), nan_color="#d9d9d9")
        box_tool = BoxSelectTool(dimensions="both")
        self.hover = HoverTool(tooltips=[("lon", "$x{0.00}"), ("lat", "$y{0.00}"), ("value", "@image{0.00}")])
        tools = [PanTool(), WheelZoomTool(), box_tool, TapTool(), ResetTool(), self.hover]
        # explicit ranges: set from the data when it arrives (automatic ranges warn while sources are empty)
        self.map = figure(
            name="odatis-map-figure",
            height=460,
            width=620,
            tools=tools,
            active_drag=box_tool,
            x_axis_label="longitude (°E)",
            y_axis_label="latitude (°N)",
            x_range=Range1d(0, 1),
            y_range=Range1d(0, 1),
            title="Pick a dataset",
            output_backend="canvas",
        )
        self.image = self.map.image(
            image="image", x="x", y="y", dw="dw", dh="dh", source=self.map_source, color_mapper=self.mapper
        )
        self.hover.renderers = [self.image]
        self.map.add_layout(ColorBar(color_mapper=self.mapper, width=10), "right")
        self.coast_source = ColumnDataSource({"xs": [], "ys": []}, name="odatis-coastline")
        self.map.multi_line("xs", "ys", source=self.coast_source, line_color="black", line_width=0.8)
        self.map.scatter(
            "lon",
            "lat",
            source=self.sel_source,
            size=11,
            marker="circle_x",
            fill_alpha=0,
            line_color="black",
            line_width=2,
        )
        self.box_source = ColumnDataSource({"left": [], "right": [], "bottom": [], "top": []}, name="odatis-box")
        self.map.quad(
            left="left",
            right="right",
            bottom="bottom",
            top="top",
            source=self.box_source,
            fill_alpha=0.08,
            fill_color="black",
            line_color="black",
            line_dash="dashed",
        )
        self.map.on_event(Tap, self._on_tap)
        self.map.on_event(SelectionGeometry, self._on_box)

        self.ts = figure(
            name="odatis-timeseries-figure",
            height=260,
            width=620,
            x_axis_type="datetime",
            title="Click the map (a point) or draw a box (an area mean)",
            tools="pan,wheel_zoom,reset",
            x_range=Range1d(0, 1),
            y_range=Range1d(0, 1),
            output_backend="canvas",
        )
        self.ts.line("time", "value", source=self.ts_source, line_width=1.5)
        self._axes_visible(False)  # no series yet: no axis (a datetime axis over 0..1 would read 1970)

        self.search.param.watch(lambda e: self._refresh_results(e.new), "value")
        self.dataset.param.watch(lambda e: self._open(e.new), "value")
        self.variable.param.watch(lambda e: self._draw_map(), "value")
        self.date.param.watch(lambda e: self._draw_map(), "value")
        self.fmt.param.watch(lambda e: self._update_filename(), "value")

        sidebar = pn.Column(
            pn.pane.Markdown("## ODATIS data explorer"),
            self.search,
            self.dataset,
            self.variable,
            self.date,
            self.info,
            self.status,
            pn.pane.Markdown("**Selection**"),
            self.sel_info,
            self.fmt,
            self.download,
            width=300,
        )
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
        self.info.object = (
            f"**{name}**: {view.lat.size}×{view.lon.size} grid, {view.time.size} times "
            f"({str(t0)[:10]} to {str(t1)[:10]}).  \nTime series: {speed}"
        )
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
            from ..data import coastlines
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
        self.sel_source.data = {
            "kind": [s.kind],
            "lon": [w.get("lon", np.nan)],
            "lat": [w.get("lat", np.nan)],
            "west": [w.get("west", np.nan)],
            "south": [w.get("south", np.nan)],
            "east": [w.get("east", np.nan)],
            "north": [w.get("north", np.nan)],
            "read_from": [s.read_from],
        }
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
