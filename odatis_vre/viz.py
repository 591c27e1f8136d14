"""Quick-look plots of ocean data: maps, time series, profiles and sections, ready for reports.

Every function returns a **HoloViews** object: interactive (Bokeh) in JupyterLab, and savable as
a PNG with :func:`save_png` (Matplotlib rendering, offline). They work on lazy, dask-backed data
without reading it all: the slice to draw is selected first, then only that slice is computed.
Maps carry offline Natural Earth coastlines (:mod:`odatis_vre.data.coastlines`).

=====================  ==========================================================================
:func:`map`            a map of one time step (or the mean over a period) with coastlines
:func:`timeseries`     a time series at the grid point nearest to (lon, lat), or of a 1-D series
:func:`profiles`       Argo-like vertical profiles (variable against depth or pressure)
:func:`positions`      where profiles were taken: float tracks over coastlines
:func:`section`        any 2-D slice: a float's time-depth section, a Hovmöller diagram...
:func:`save_png`       write a plot as a PNG file (atomic)
=====================  ==========================================================================

Example
-------
>>> from odatis_vre import catalog, viz                                     # doctest: +SKIP
>>> ds = catalog.load("sample_sst_zarr")                                    # doctest: +SKIP
>>> m = viz.map(ds, "analysed_sst", time="2023-08-15", bbox=(-12, 42, -1, 50))   # doctest: +SKIP
>>> viz.save_png(m, "sst-2023-08-15.png")                                   # doctest: +SKIP

Errors are :class:`VizError`, whose message says which argument to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import atomic
from .analysis import AnalysisError, lat_lon_names, select_bbox
from .data import coastlines

_DEPTH_NAMES = ("depth", "DEPTH", "PRES", "pres", "pressure", "z", "lev", "level")


class VizError(ValueError):
    """Bad input to a plotting function (the message says which argument to change)."""


# ----------------------------------------------------------------------------- helpers


def _variable(ds: xr.Dataset | xr.DataArray, var: str | None, func: str) -> xr.DataArray:
    """The DataArray to plot: ``ds[var]``, ``ds`` itself, or a Dataset's only variable."""
    if isinstance(ds, xr.DataArray):
        if var is not None and ds.name is not None and var != ds.name:
            raise VizError(f"{func}(): var={var!r} given with a DataArray named {ds.name!r}; pass the Dataset")
        return ds
    if not isinstance(ds, xr.Dataset):
        raise VizError(f"{func}() needs an xarray Dataset or DataArray, got {type(ds).__name__}")
    names = [str(v) for v in ds.data_vars]
    if var is None:
        if len(names) == 1:
            return ds[names[0]]
        raise VizError(f"{func}(): the dataset has several variables; pass var= one of {names}")
    if var not in ds.data_vars:
        raise VizError(f"{func}(): no variable {var!r}; the dataset has {names}")
    return ds[var]


def _label(da: xr.DataArray) -> str:
    """``long name (units)`` for axes and colour bars."""
    name = da.attrs.get("long_name") or da.name or "value"
    units = da.attrs.get("units")
    return f"{name} ({units})" if units else str(name)


def _short(da: xr.DataArray) -> str:
    return str(da.attrs.get("long_name") or da.name or "value")


def _is_depth(da: xr.DataArray, name: str) -> bool:
    if name not in da.coords and name not in da.dims:
        return name in _DEPTH_NAMES
    attrs = da[name].attrs
    return (
        attrs.get("positive") == "down"
        or attrs.get("axis") == "Z"
        or name in _DEPTH_NAMES
        or attrs.get("standard_name") in ("depth", "sea_water_pressure")
    )


def _style(
    obj: Any,
    common: Mapping[str, Any] | None = None,
    bokeh: Mapping[str, Any] | None = None,
    mpl: Mapping[str, Any] | None = None,
) -> Any:
    """Set options for both backends, so that the interactive plot and the PNG look alike."""
    coastlines._load_backends()
    common = dict(common or {})
    obj = obj.opts(**common, **(bokeh or {}), backend="bokeh")
    return obj.opts(**common, **(mpl or {}), backend="matplotlib")


def _time_text(value: Any) -> str:
    return str(np.datetime_as_string(np.datetime64(value, "s"), unit="D")) if value is not None else ""


def _select(da: xr.DataArray, selectors: Mapping[str, Any], func: str) -> xr.DataArray:
    """``sel`` every selector: nearest for single values, inclusive for (start, stop) ranges."""
    for dim, value in selectors.items():
        if dim not in da.dims and dim not in da.coords:
            raise VizError(
                f"{func}(): cannot select {dim}={value!r}: {da.name or 'the variable'} has dimensions {list(da.dims)}"
            )
        if isinstance(value, (tuple, list)) and len(value) == 2 and dim in da.dims:
            da = da.sel({dim: slice(*value)})
        elif isinstance(value, slice):
            da = da.sel({dim: value})
        else:
            try:
                da = da.sel({dim: value}, method="nearest")
            except (KeyError, TypeError, ValueError) as exc:
                raise VizError(f"{func}(): cannot select {dim}={value!r}: {exc}") from None
    return da


def _time_name(da: xr.DataArray) -> str | None:
    """The first dimension whose coordinate holds datetimes."""
    for name in da.dims:
        if name in da.coords and np.issubdtype(da[name].dtype, np.datetime64):
            return str(name)
    return None


def _mpl_time_axis(values: np.ndarray) -> dict[str, Any]:
    """Matplotlib options for a datetime x axis: a few ticks with a date format suited to the span."""
    if not np.issubdtype(np.asarray(values).dtype, np.datetime64) or np.asarray(values).size == 0:
        return {}
    from matplotlib.dates import DateFormatter

    span_days = (np.max(values) - np.min(values)) / np.timedelta64(1, "D")
    fmt = "%Y" if span_days > 5 * 365 else "%Y-%m" if span_days > 90 else "%Y-%m-%d"
    return {"xformatter": DateFormatter(fmt), "xticks": 5}


def _regular(values: np.ndarray) -> bool:
    if values.size < 3:
        return True
    step = np.diff(values.astype(float))
    return bool(np.allclose(step, step[0], rtol=1e-3, atol=0))


# ----------------------------------------------------------------------------- map


def map(
    ds: xr.Dataset | xr.DataArray,
    var: str | None = None,
    time: Any = None,  # noqa: A001 (the issue's name)
    bbox: Sequence[float] | None = None,
    *,
    coastline: bool = True,
    cmap: str | None = None,
    clim: tuple[float, float] | None = None,
    logz: bool | None = None,
    width: int = 640,
    **selectors: Any,
) -> Any:
    """A map of ``var`` at one ``time`` (nearest), or averaged over ``time=(start, stop)``, with coastlines.

    ``time=None`` draws the last time step. ``bbox = (lon_min, lat_min, lon_max, lat_max)`` cuts
    the region first. Other dimensions are chosen with keyword selectors (``depth=100``).
    Only the selected slice is read. Chlorophyll-like variables get a logarithmic colour scale.

    Returns a HoloViews ``Overlay`` (``Image`` or ``QuadMesh`` × coastline ``Path``).

    >>> import pandas as pd
    >>> da = xr.DataArray(np.random.rand(2, 3, 4), dims=("time", "lat", "lon"), name="sst",
    ...                   coords={"time": pd.date_range("2023-01-01", periods=2), "lat": [40, 41, 42],
    ...                           "lon": [-6, -5, -4, -3]})
    >>> m = map(da, time="2023-01-02")
    >>> type(m).__name__, m.label
    ('Overlay', 'sst — 2023-01-02')
    """
    import holoviews as hv

    da = _variable(ds, var, "map")
    try:
        lat, lon = lat_lon_names(da)
    except AnalysisError as exc:
        raise VizError(f"map(): {exc}") from None
    if bbox is not None:
        try:
            da = select_bbox(da, bbox)
        except AnalysisError as exc:
            raise VizError(f"map(): {exc}") from None
    tname = _time_name(da)
    when = ""
    if tname is not None:
        if time is None:
            da = da.isel({tname: -1})
            when = _time_text(da[tname].values)
        elif isinstance(time, (tuple, list)):
            if len(time) != 2:
                raise VizError(f"map(time={time!r}): give one date or a (start, stop) pair")
            da = da.sel({tname: slice(*time)})
            if da.sizes[tname] == 0:
                raise VizError(f"map(time={time!r}): no data in that period")
            when = f"mean {_time_text(da[tname].values[0])} to {_time_text(da[tname].values[-1])}"
            da = da.mean(tname, keep_attrs=True)
        else:
            try:
                da = da.sel({tname: np.datetime64(str(time)) if isinstance(time, str) else time}, method="nearest")
            except (KeyError, TypeError, ValueError) as exc:
                raise VizError(f"map(time={time!r}): not a date this data can be matched to ({exc})") from None
            when = _time_text(da[tname].values)
    elif time is not None:
        raise VizError(f"map(time={time!r}): {da.name or 'the variable'} has no time dimension")
    da = _select(da, selectors, "map")
    extra = [d for d in da.dims if d not in (lat, lon)]
    if extra:
        raise VizError(
            f"map(): still {len(extra)} dimension(s) {extra} beside {lat}/{lon}; choose one value of each, "
            f"e.g. map(..., {extra[0]}={da[extra[0]].values[0]!r})"
            if extra[0] in da.coords
            else f"map(): still dimensions {extra} beside {lat}/{lon}; select them with keywords"
        )
    da = da.transpose(lat, lon).sortby([lat, lon]).compute()
    name = str(da.name or "value")
    title = f"{name} — {when}" if when else name
    if logz is None:
        logz = "chlorophyll" in str(da.attrs.get("standard_name", "")) or name.upper() in ("CHL", "CHLA")
    data = da.astype("float64")
    vdim = hv.Dimension(name, label=_short(da), unit=da.attrs.get("units"))
    kdims = [hv.Dimension(lon, label="longitude", unit="°E"), hv.Dimension(lat, label="latitude", unit="°N")]
    xs, ys = da[lon].values, da[lat].values
    if _regular(xs) and _regular(ys) and xs.size > 1 and ys.size > 1:
        dx, dy = float(xs[1] - xs[0]), float(ys[1] - ys[0])
        bounds = (xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] + dx / 2, ys[-1] + dy / 2)
        element = hv.Image(data.values[::-1], bounds=bounds, kdims=kdims, vdims=[vdim])
    else:
        element = hv.QuadMesh((xs, ys, data.values), kdims=kdims, vdims=[vdim])
        bounds = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
    finite = data.values[np.isfinite(data.values)]
    if finite.size == 0:
        raise VizError(f"map(): every value of {name} is missing in that selection ({title}); pick another time/box")
    if clim is None:
        lo, hi = np.percentile(finite, [1, 99]) if not logz else (finite[finite > 0].min(), finite.max())
        clim = (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(hi) + 0.5)
    element = _style(
        element,
        common=dict(
            cmap=cmap or ("viridis" if logz else "RdYlBu_r"),
            colorbar=True,
            clim=clim,
            logz=logz,
            title=title,
            clabel=_label(da),
        ),
        bokeh=dict(frame_width=width, data_aspect=1, tools=["hover"], clipping_colors={"NaN": "#d9d9d9"}),
        mpl=dict(aspect="equal", fig_size=180, clipping_colors={"NaN": "#d9d9d9"}),
    )
    out = element
    if coastline:
        out = element * coastlines.overlay(bounds)
    return out.relabel(title)


# ----------------------------------------------------------------------------- time series


def timeseries(
    ds: xr.Dataset | xr.DataArray,
    var: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    *,
    time: tuple[Any, Any] | None = None,
    width: int = 720,
    **selectors: Any,
) -> Any:
    """The time series of ``var`` at the grid point nearest to ``(lon, lat)``.

    Without ``lon``/``lat`` the data must already be a series (a mooring, a regional mean); a
    remaining dimension such as the mooring's ``DEPTH`` gives one curve per value.
    ``time=(start, stop)`` limits the period. Only the chosen point is read.

    >>> import pandas as pd
    >>> da = xr.DataArray(np.arange(6.0).reshape(3, 1, 2), dims=("time", "lat", "lon"), name="sst",
    ...                   coords={"time": pd.date_range("2023-01-01", periods=3), "lat": [45], "lon": [-5, -4]})
    >>> ts = timeseries(da, lon=-4.1, lat=45)
    >>> ts.data["sst"].tolist()
    [1.0, 3.0, 5.0]
    """
    import holoviews as hv

    da = _variable(ds, var, "timeseries")
    where = ""
    if (lon is None) != (lat is None):
        raise VizError("timeseries(): give both lon= and lat= (or neither, for data that is already a series)")
    if lon is not None and lat is not None:
        try:
            la, lo = lat_lon_names(da)
        except AnalysisError as exc:
            raise VizError(f"timeseries(): {exc}") from None
        if da[lo].ndim != 1 or da[la].ndim != 1:
            raise VizError("timeseries(): lon/lat selection needs 1-D lat/lon coordinates")
        lons = da[lo].values
        target = float(lon) % 360 if lons.max() > 180 else float(lon)
        da = da.sel({lo: target, la: float(lat)}, method="nearest")
        where = (
            f"{abs(float(da[la])):.2f}°{'N' if float(da[la]) >= 0 else 'S'} "
            f"{abs(float(da[lo]) if float(da[lo]) <= 180 else 360 - float(da[lo])):.2f}°"
            f"{'E' if 0 <= float(da[lo]) <= 180 else 'W'}"
        )
    tname = _time_name(da)
    if tname is None:
        raise VizError(f"timeseries(): {da.name or 'the variable'} has no time dimension (dims {list(da.dims)})")
    if time is not None:
        da = da.sel({tname: slice(*time)})
    da = _select(da, selectors, "timeseries")
    others = [d for d in da.dims if d != tname]
    if len(others) > 1:
        raise VizError(
            f"timeseries(): still dimensions {others} beside {tname}; pass lon=/lat= or select them "
            f"with keywords, e.g. {others[0]}=..."
        )
    da = da.compute()
    name = str(da.name or "value")
    vdim = hv.Dimension(name, label=_short(da), unit=da.attrs.get("units"))
    # never equal to a dimension's label: HoloViews would read such a label as a data column
    title = f"{_short(da)} at {where}" if where else f"{_short(da)} time series"
    curve_style: dict[str, dict[str, Any]] = dict(
        common=dict(title=title, xlabel="time", ylabel=_label(da)),
        bokeh=dict(width=width, height=300, tools=["hover"], line_width=1.5),
        mpl=dict(aspect=2.4, fig_size=200, linewidth=1.2, **_mpl_time_axis(da[tname].values)),
    )
    if not others:
        curve = hv.Curve((da[tname].values, da.values.astype(float)), tname, vdim, label="")
        return _style(curve, **curve_style).relabel(title)
    dim = others[0]
    curves = {}
    for value in da[dim].values:
        one = da.sel({dim: value})
        curves[value] = _style(
            hv.Curve((one[tname].values, one.values.astype(float)), tname, vdim), mpl=_mpl_time_axis(da[tname].values)
        )
    units = da[dim].attrs.get("units", "") if dim in da.coords else ""
    overlay = hv.NdOverlay(curves, kdims=[hv.Dimension(dim, unit=units or None)])
    overlay = _style(
        overlay,
        common=dict(title=title, xlabel="time", ylabel=_label(da)),
        bokeh=dict(width=width, height=300, legend_position="right"),
        mpl=dict(aspect=2.4, fig_size=200, legend_position="right", **_mpl_time_axis(da[tname].values)),
    )
    return overlay.relabel(title)


# ----------------------------------------------------------------------------- profiles


def _profile_indices(
    ds: xr.Dataset, profiles: Sequence[int] | None, platform: Any, prof_dim: str, max_profiles: int
) -> np.ndarray:
    n = ds.sizes[prof_dim]
    if platform is not None:
        if "PLATFORM_NUMBER" not in ds.variables:
            raise VizError("profiles(platform=...): the dataset has no PLATFORM_NUMBER variable")
        ids = np.char.strip(ds["PLATFORM_NUMBER"].values.astype(str))
        idx = np.flatnonzero(ids == str(platform).strip())
        if idx.size == 0:
            raise VizError(f"profiles(platform={platform!r}): no such float; platforms: {sorted(set(ids))[:10]}")
    elif profiles is not None:
        idx = np.asarray(list(profiles), dtype=int)
        bad = idx[(idx < -n) | (idx >= n)]
        if bad.size:
            raise VizError(f"profiles(profiles=...): indices {bad.tolist()} out of range (0..{n - 1})")
        idx = idx % n
    else:
        idx = np.arange(n)
    if idx.size > max_profiles:
        # an even pick across the collection, so a quick look spans the whole period
        idx = idx[np.linspace(0, idx.size - 1, max_profiles).round().astype(int)]
    return idx


def profiles(
    ds: xr.Dataset,
    var: str = "TEMP",
    profiles: Sequence[int] | None = None,
    *,  # noqa: A002
    platform: Any = None,
    z: str | None = None,
    prof_dim: str = "N_PROF",
    max_profiles: int = 20,
    width: int = 420,
    height: int = 520,
) -> Any:
    """Vertical profiles of ``var`` (x) against depth or pressure (y, increasing downwards).

    Works on Argo-like collections (``N_PROF × N_LEVELS`` with ``PRES``) and on the output of
    :func:`odatis_vre.analysis.interp_profiles` (``N_PROF × depth``). Choose profiles by index
    (``profiles=[0, 5]``) or by float (``platform="6900001"``); at most ``max_profiles`` are drawn,
    evenly spread. Only those profiles are read.

    >>> from odatis_vre import samples
    >>> p = profiles(samples.argo_dataset(n_floats=2, n_cycles=3, n_levels=20), "TEMP", profiles=[0, 1])
    >>> type(p).__name__, len(p)
    ('NdOverlay', 2)
    """
    import holoviews as hv

    if not isinstance(ds, xr.Dataset):
        raise VizError(f"profiles() needs the profile Dataset (with pressure or depth), got {type(ds).__name__}")
    if var not in ds.data_vars:
        raise VizError(f"profiles(): no variable {var!r}; the dataset has {[str(v) for v in ds.data_vars]}")
    if prof_dim not in ds.dims:
        raise VizError(f"profiles(): no profile dimension {prof_dim!r} (dims {list(ds.dims)}); pass prof_dim=")
    if z is None:
        z = next((c for c in ("depth", "PRES", "DEPTH", "pres") if c in ds.variables and c != var), None)
        if z is None:
            raise VizError("profiles(): no depth or pressure variable found; pass z= with its name")
    idx = _profile_indices(ds, profiles, platform, prof_dim, max_profiles)
    keep = [v for v in (var, z, "JULD", "PLATFORM_NUMBER", "CYCLE_NUMBER") if v in ds.variables]
    sub = ds[keep].isel({prof_dim: idx}).compute()
    values, depth = sub[var], sub[z]
    zlabel = _label(depth)
    vdim = hv.Dimension(var, label=_short(values), unit=values.attrs.get("units"))
    curves = {}
    for k in range(sub.sizes[prof_dim]):
        v = np.asarray(values.isel({prof_dim: k}).values, dtype=float) if prof_dim in values.dims else values.values
        d = np.asarray(depth.isel({prof_dim: k}).values, dtype=float) if prof_dim in depth.dims else depth.values
        d = np.broadcast_to(d, v.shape)
        ok = np.isfinite(v) & np.isfinite(d)
        label: Any = sub[prof_dim].values[k].item() if prof_dim in sub.coords else str(int(idx[k]))
        if "PLATFORM_NUMBER" in sub:
            label = f"{str(sub.PLATFORM_NUMBER.values[k]).strip()}"
            if "CYCLE_NUMBER" in sub:
                label += f" #{int(sub.CYCLE_NUMBER.values[k])}"
        if "JULD" in sub:
            label += f" {_time_text(sub.JULD.values[k])}"
        curves[label] = hv.Curve((v[ok], d[ok]), vdim, hv.Dimension(z, label=zlabel))
    title = f"{_short(values)} profiles ({len(curves)})"
    overlay = hv.NdOverlay(curves, kdims=[prof_dim if prof_dim in sub.coords else "profile"])
    show_legend = len(curves) <= 8
    overlay = _style(
        overlay,
        common=dict(invert_yaxis=True, title=title, xlabel=_label(values), ylabel=zlabel, show_legend=show_legend),
        bokeh=dict(width=width, height=height, legend_position="bottom_right"),
        mpl=dict(fig_size=160, aspect=0.8, legend_position="bottom_right"),
    )
    return overlay.relabel(title)


def positions(
    ds: xr.Dataset,
    lon: str = "LONGITUDE",
    lat: str = "LATITUDE",
    by: str | None = "PLATFORM_NUMBER",
    *,
    bbox: Sequence[float] | None = None,
    margin: float = 1.0,
    width: int = 560,
) -> Any:
    """Where profiles (or stations) are: one track per ``by`` value (a float), dots, and coastlines.

    ``bbox`` defaults to the positions' extent plus ``margin`` degrees. Only the positions are read.

    >>> from odatis_vre import samples
    >>> p = positions(samples.argo_dataset(n_floats=2, n_cycles=3, n_levels=5))
    >>> type(p).__name__, len(p)      # tracks, points, coastline
    ('Overlay', 3)
    """
    import holoviews as hv

    for name in (lon, lat):
        if name not in ds.variables:
            raise VizError(
                f"positions(): no variable {name!r}; pass lon=/lat= (variables: {sorted(str(v) for v in ds.variables)})"
            )
    keep = [v for v in (lon, lat, by) if v is not None and v in ds.variables]
    pos = ds[keep].compute()
    x = np.asarray(pos[lon].values, dtype=float).ravel()
    y = np.asarray(pos[lat].values, dtype=float).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise VizError("positions(): no valid position")
    if bbox is None:
        bbox = (
            max(-180.0, x[ok].min() - margin),
            max(-90.0, y[ok].min() - margin),
            min(180.0, x[ok].max() + margin),
            min(90.0, y[ok].max() + margin),
        )
    kdims = [hv.Dimension("lon", label="longitude", unit="°E"), hv.Dimension("lat", label="latitude", unit="°N")]
    groups = np.char.strip(pos[by].values.astype(str)).ravel() if by and by in pos else np.zeros(x.size, dtype=str)
    tracks = hv.Path([np.c_[x[(groups == g) & ok], y[(groups == g) & ok]] for g in np.unique(groups[ok])], kdims=kdims)
    tracks = _style(tracks, common=dict(color="steelblue"), bokeh=dict(line_width=1), mpl=dict(linewidth=0.8))
    dots = _style(
        hv.Points((x[ok], y[ok]), kdims=kdims), common=dict(color="darkorange"), bokeh=dict(size=4), mpl=dict(s=6)
    )
    title = f"{int(ok.sum())} positions" + (f", {len(np.unique(groups[ok]))} {by}" if by and by in pos else "")
    out = tracks * dots * coastlines.overlay(bbox)
    out = _style(
        out,
        common=dict(title=title),
        bokeh=dict(frame_width=width, data_aspect=1),
        mpl=dict(aspect="equal", fig_size=160),
    )
    return out.relabel(title)


# ----------------------------------------------------------------------------- section


def section(
    ds: xr.Dataset | xr.DataArray,
    var: str | None = None,
    x: str = "JULD",
    y: str = "depth",
    *,
    cmap: str = "RdYlBu_r",
    clim: tuple[float, float] | None = None,
    width: int = 720,
    height: int = 360,
    **selectors: Any,
) -> Any:
    """A 2-D section of ``var``: ``x`` across, ``y`` down (depth and pressure increase downwards).

    After the ``selectors`` the data must be 2-D over (x, y). ``x`` or ``y`` may be a variable
    along a dimension (``JULD`` along ``N_PROF``). A selector on a per-profile variable filters
    profiles (``PLATFORM_NUMBER="6900001"``). Examples:

    * a float's time-depth section: ``section(analysis.interp_profiles(argo), "TEMP", platform...)``
    * a Hovmöller diagram: ``section(sst, x="time", y="lat", lon=-8)``

    >>> import pandas as pd
    >>> da = xr.DataArray(np.arange(12.0).reshape(3, 2, 2), dims=("time", "lat", "lon"), name="sst",
    ...                   coords={"time": pd.date_range("2023-01-01", periods=3), "lat": [45, 46], "lon": [-5, -4]})
    >>> s = section(da, x="time", y="lat", lon=-4)
    >>> type(s).__name__, s.kdims
    ('QuadMesh', [Dimension('time'), Dimension('lat')])
    """
    import holoviews as hv

    if isinstance(ds, xr.Dataset):
        da = _variable(ds, var, "section")
        # per-profile variables used as axes or filters become coordinates of the plotted variable
        for name in {x, y, *selectors}:
            if name in ds.data_vars and name != da.name and set(ds[name].dims) <= set(da.dims):
                da = da.assign_coords({name: ds[name]})
    else:
        da = _variable(ds, var, "section")
    for key in list(selectors):
        if key in da.coords and key not in da.dims and da[key].ndim == 1:
            dim = da[key].dims[0]
            wanted = selectors.pop(key)
            vals = da[key].values
            if vals.dtype.kind in "SUO":
                vals = np.char.strip(vals.astype(str))
                wanted = str(wanted).strip()
            idx = np.flatnonzero(vals == wanted)
            if idx.size == 0:
                raise VizError(f"section(): no {key} == {wanted!r}; values: {sorted(set(vals.tolist()))[:10]}")
            da = da.isel({dim: idx})
    da = _select(da, selectors, "section")
    for axis in (x, y):
        if axis not in da.dims:
            if axis in da.coords and da[axis].ndim == 1:
                da = da.swap_dims({da[axis].dims[0]: axis})
            else:
                raise VizError(
                    f"section(): {axis!r} is neither a dimension nor a 1-D coordinate of "
                    f"{da.name or 'the variable'} (dims {list(da.dims)}, coords {[str(c) for c in da.coords]})"
                )
    extra = [d for d in da.dims if d not in (x, y)]
    if extra:
        raise VizError(
            f"section(): still dimensions {extra} beside {x}/{y}; select them with keywords, e.g. {extra[0]}=..."
        )
    da = da.transpose(y, x).sortby([x, y]).compute()
    name = str(da.name or "value")
    values = da.values.astype(float)
    if not np.isfinite(values).any():
        raise VizError(f"section(): every value of {name} is missing in that selection")
    if clim is None:
        lo, hi = np.nanpercentile(values, [1, 99])
        clim = (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(hi) + 0.5)
    vdim = hv.Dimension(name, label=_short(da), unit=da.attrs.get("units"))
    mesh = hv.QuadMesh((da[x].values, da[y].values, values), kdims=[x, y], vdims=[vdim])
    where = ", ".join(f"{k}={v}" for k, v in selectors.items())
    title = f"{_short(da)} section" + (f" ({where})" if where else "")
    mesh = _style(
        mesh,
        common=dict(
            cmap=cmap,
            colorbar=True,
            clim=clim,
            invert_yaxis=_is_depth(da, y),
            title=title,
            xlabel=_label(da[x]) if x in da.coords else x,
            ylabel=_label(da[y]) if y in da.coords else y,
            clabel=_label(da),
        ),
        bokeh=dict(width=width, height=height, tools=["hover"], clipping_colors={"NaN": "#d9d9d9"}),
        mpl=dict(aspect=2.0, fig_size=200, clipping_colors={"NaN": "#d9d9d9"}, **_mpl_time_axis(da[x].values)),
    )
    return mesh.relabel(title)


# ----------------------------------------------------------------------------- export


def save_png(obj: Any, path: str | Path, dpi: int = 110) -> Path:
    """Write a plot to ``path`` as a PNG, rendered with Matplotlib (offline, no browser). Atomic.

    ``obj`` is a HoloViews object (what every function here and hvplot return) or a Panel
    ``HoloViews`` pane holding one.

    >>> import holoviews as hv
    >>> save_png(hv.Curve([1, 3, 2]), "/tmp/odatis-curve.png").stat().st_size > 1000
    True
    """
    import holoviews as hv

    if hasattr(obj, "object") and isinstance(obj.object, hv.core.Dimensioned):
        obj = obj.object  # a panel pane
    if not isinstance(obj, hv.core.Dimensioned):
        raise VizError(
            f"save_png() needs a HoloViews/hvplot plot (or a panel HoloViews pane), got {type(obj).__name__}"
        )
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise VizError(f"save_png({str(path)!r}): the file name must end in .png")
    if not path.parent.is_dir():
        raise VizError(f"save_png({str(path)!r}): folder {path.parent} does not exist; create it first")
    coastlines._load_backends()
    with atomic.replacing(path, mode=0o644, suffix=".png") as tmp:  # hv.save picks the format from the name
        hv.save(obj, str(tmp), fmt="png", backend="matplotlib", dpi=dpi)
    return path


__all__ = ["map", "timeseries", "profiles", "positions", "section", "save_png", "VizError"]
