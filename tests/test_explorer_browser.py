"""Headless Chromium (Debian's) uses the explorer behind the hub login: map, click, box, download.

The plot's data are read back from the page (the named Bokeh data sources) and compared with
xarray's own values at the same grid point; every request must stay on 127.0.0.1 and the
console must stay free of errors. Screenshots go to /tmp/odatis-explorer-*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pytest
import xarray as xr
from lab_browser import ARGS, CHROMIUM
from vre_testing import VRETestStack

from odatis_vre import timeseries

pytestmark = pytest.mark.slow

VAR = "analysed_sst"
SHOTS = Path("/tmp")

#: where the map's plotting frame is on the page, and its data ranges
_FRAME_JS = """() => {
  const fig = Bokeh.documents[0].get_model_by_name('odatis-map-figure');
  for (const root of Bokeh.index.roots) {
    const view = root.owner.find_one(fig);
    if (view) {
      const f = view.frame.bbox, c = view.canvas_view.el.getBoundingClientRect();
      return {left: c.left + f.left, top: c.top + f.top, width: f.width, height: f.height,
              x0: fig.x_range.start, x1: fig.x_range.end, y0: fig.y_range.start, y1: fig.y_range.end};
    }
  }
  return null;
}"""


def _painted(page: Any) -> None:
    """Wait until the browser has painted what the document holds (two animation frames), for screenshots."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


_STATE_JS = """() => {
  const doc = Bokeh.documents[0];
  const ts = doc.get_model_by_name('odatis-timeseries').data, sel = doc.get_model_by_name('odatis-selection').data;
  return {time: Array.from(ts.time), value: Array.from(ts.value), kind: sel.kind[0], lon: sel.lon[0], lat: sel.lat[0],
          west: sel.west[0], south: sel.south[0], east: sel.east[0], north: sel.north[0], read_from: sel.read_from[0],
          title: doc.get_model_by_name('odatis-map-figure').title.text};
}"""


def _pixel(frame: dict, lon: float, lat: float) -> tuple[float, float]:
    return (
        frame["left"] + (lon - frame["x0"]) / (frame["x1"] - frame["x0"]) * frame["width"],
        frame["top"] + (frame["y1"] - lat) / (frame["y1"] - frame["y0"]) * frame["height"],
    )


def test_explorer_in_the_browser(vre_stack: VRETestStack, sample_data: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is installed by `make install`"
    # the instant path: a fresh time-optimised copy beside the sample store
    timeseries.build("sample_sst_zarr", progress=False)
    ref = xr.open_zarr(sample_data / "sst.zarr")[VAR]
    vre_stack.create_user("dora", "dora-pass-4")

    urls: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)
        page.on("request", lambda req: urls.append(req.url))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console {msg.type}: {msg.text} {msg.location}")
                if msg.type in ("error", "assert")
                else None
            ),
        )
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

        # anonymous → hub login form → back at the explorer
        page.goto(f"{vre_stack.url}/services/explorer/")
        page.wait_for_url("**/hub/login**", timeout=60_000)
        page.fill("input[name=username]", "dora")
        page.fill("input[name=password]", "dora-pass-4")
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url("**/services/explorer/", timeout=60_000)
        page.wait_for_function(
            "() => window.Bokeh && Bokeh.documents.length > 0 && "
            "Bokeh.documents[0].get_model_by_name('odatis-map') !== null",
            timeout=120_000,
        )

        # pick the Zarr sample in the dataset list, wait for its map
        choice = page.locator("select").first
        label = next(o for o in choice.evaluate("e => [...e.options].map(o => o.value)") if "(sample_sst_zarr)" in o)
        choice.select_option(label)
        page.wait_for_function(
            "() => Bokeh.documents[0].get_model_by_name('odatis-map-figure').title.text.includes('sample_sst_zarr')",
            timeout=120_000,
        )
        image = page.evaluate(
            "() => { const d = Bokeh.documents[0].get_model_by_name('odatis-map').data;"
            " const im = d.image[0]; return {n: im.length, finite: Array.from(im).filter(Number.isFinite).length,"
            " x: d.x[0], dw: d.dw[0]} }"
        )
        assert image["n"] == 49 * 61 and image["finite"] > 1000, image  # the field, land masked
        assert image["x"] == pytest.approx(-15.125) and image["dw"] == pytest.approx(15.25)
        _painted(page)
        page.screenshot(path=str(SHOTS / "odatis-explorer-map.png"))

        # click the sea west of Brittany → the time series of the grid point there
        frame = page.evaluate(_FRAME_JS)
        assert frame and frame["width"] > 200, frame
        page.mouse.click(*_pixel(frame, -6.0, 47.0))
        # the server writes the series, then the selection (two patches): wait on the last one written
        page.wait_for_function(
            "() => { const d = Bokeh.documents[0];"
            " return d.get_model_by_name('odatis-selection').data.kind[0] == 'point'"
            " && d.get_model_by_name('odatis-timeseries').data.value.length > 0 }",
            timeout=60_000,
        )
        state = page.evaluate(_STATE_JS)
        assert state["kind"] == "point" and state["read_from"] == "time-optimised copy"
        assert abs(state["lon"] + 6.0) <= 0.25 and abs(state["lat"] - 47.0) <= 0.25, state
        expect = ref.sel(lon=state["lon"], lat=state["lat"])
        assert len(state["value"]) == expect.sizes["time"] == 730
        np.testing.assert_allclose(state["value"], expect.values, rtol=1e-6)
        np.testing.assert_array_equal(
            np.array(state["time"], dtype="datetime64[ms]"), expect.time.values.astype("datetime64[ms]")
        )
        page.screenshot(path=str(SHOTS / "odatis-explorer-point.png"))

        # download the point series as CSV: the same numbers
        with page.expect_download() as dl:
            page.get_by_text("Download the selection").click()
        csv = Path(dl.value.path()).read_text().splitlines()
        assert dl.value.suggested_filename == f"sample_sst_zarr_{VAR}_point.csv"
        assert csv[0] == f"time,{VAR}" and len(csv) == 731
        np.testing.assert_allclose([float(r.split(",")[1]) for r in csv[1:]], expect.values, rtol=1e-6)

        # draw a box → the area mean
        a, b = _pixel(frame, -9.0, 47.5), _pixel(frame, -5.0, 45.0)
        page.mouse.move(*a)
        page.mouse.down()
        page.mouse.move(a[0] + 15, a[1] + 15, steps=4)
        page.mouse.move(*b, steps=8)
        page.mouse.up()
        page.wait_for_function(
            "() => Bokeh.documents[0].get_model_by_name('odatis-selection').data.kind[0] == 'box'", timeout=60_000
        )
        state = page.evaluate(_STATE_JS)
        assert state["west"] == pytest.approx(-9.0, abs=0.1) and state["north"] == pytest.approx(47.5, abs=0.1)
        sub = ref.sel(lon=slice(state["west"], state["east"]), lat=slice(state["south"], state["north"]))
        mean = sub.weighted(np.cos(np.deg2rad(sub.lat))).mean(("lat", "lon"))
        np.testing.assert_allclose(state["value"], mean.values, rtol=1e-5)
        _painted(page)
        page.screenshot(path=str(SHOTS / "odatis-explorer-box.png"))
        browser.close()

    assert not problems, problems
    hosts = {urlparse(u).hostname for u in urls if not u.startswith(("blob:", "data:"))}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {sorted(hosts)}"
    assert any("/services/explorer/static/js/bokeh.min.js" in u for u in urls), "Bokeh served by the explorer"
