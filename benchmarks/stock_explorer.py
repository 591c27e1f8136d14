"""The baseline of the browser click benchmark: a stock Panel app over ``xr.open_mfdataset``.

What a scientist writes from the HoloViews and Panel documentation: the daily files opened with
``xr.open_mfdataset``, the first day drawn as an ``hv.Image``, a ``Tap`` stream on it, and a
``DynamicMap`` that draws the time series of the grid point nearest the click
(``.sel(..., method="nearest").load()``). No time-optimised copy, no cache of our own.

Run by ``benchmarks/bench_explorer_click.py`` as::

    ODATIS_STOCK_FILES='/path/to/*.nc' ODATIS_STOCK_VAR=analysed_sst \\
        panel serve benchmarks/stock_explorer.py --address 127.0.0.1 --port 5006
"""

from __future__ import annotations

import glob
import os

import holoviews as hv
import panel as pn
import xarray as xr

hv.extension("bokeh")

FILES = sorted(glob.glob(os.environ["ODATIS_STOCK_FILES"]))
VAR = os.environ.get("ODATIS_STOCK_VAR", "analysed_sst")

ds = xr.open_mfdataset(FILES, combine="by_coords")
field = ds[VAR]
first = field.isel(time=0).load()
image = hv.Image(first, kdims=["lon", "lat"]).opts(
    width=620, height=460, tools=["tap"], cmap="viridis", title=f"{VAR}, first day: click for a time series"
)
tap = hv.streams.Tap(source=image, x=float(first.lon[0]), y=float(first.lat[0]))


def series(x: float, y: float) -> hv.Curve:
    """The time series at the grid point nearest the click."""
    point = field.sel(lon=x, lat=y, method="nearest").load()
    return hv.Curve((point.time.values, point.values), "time", VAR).opts(width=620, height=260, framewise=True)


pn.Column(image, hv.DynamicMap(series, streams=[tap])).servable()
