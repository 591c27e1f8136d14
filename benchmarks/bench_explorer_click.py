"""Benchmark P1 as the user feels it: click on the explorer's map → the time series drawn, in Chromium.

Side by side in one run, in one headless Chromium (Debian's, driven by Playwright), on loopback:

* **ours** — the data explorer behind the hub's login, through the hub's proxy
  (``/services/explorer/?dataset=...``), reading the dataset's time-optimised copy;
* **stock** (baseline) — ``benchmarks/stock_explorer.py`` under a plain ``panel serve``: the same daily
  files through ``xr.open_mfdataset``, a HoloViews ``Tap`` stream and a ``DynamicMap`` of the curve.

For each of ``--clicks`` random sea points (same points, same order, for both apps; ours and stock
alternate), the page records the ``pointerdown`` time of a real mouse click on the map, then watches
every animation frame until one of the page's Bokeh data sources holds that point's series (730
values, checked against xarray's own at several dates), and waits two more frames: the time is from
the click to the start of the second frame after the data arrived, so the curve has been painted.
Every request must stay on 127.0.0.1. ``--warmup`` clicks before the timed ones are left out (the
first click of a page pays imports and opens files).

Run::

    .venv/bin/python benchmarks/bench_explorer_click.py --clicks 30 --write-docs
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from docs_section import Report, add_docs_argument, verdict  # noqa: E402  (benchmarks/, the script's own folder)
from lab_browser import ARGS as TEST_ARGS  # noqa: E402  (tests/)
from lab_browser import CHROMIUM  # noqa: E402

from odatis_vre import timeseries  # noqa: E402
from odatis_vre.data import samples  # noqa: E402

# the tests' Chromium and flags, plus: no throttling of a page's timers while it is not in front (two pages)
ARGS = [
    *TEST_ARGS,
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
DATASET = "sample_sst_daily"
VAR = "analysed_sst"
SECTION = "## P1 in the browser — click on the map → time series drawn"
TARGET_P95_MS = 150.0

#: installed in every page: the time of the last pointerdown (the user's click)
_HOOK_JS = """() => {
  if (window.__odatisClick) return;
  window.__odatisClick = {t0: null};
  document.addEventListener('pointerdown', e => { window.__odatisClick.t0 = e.timeStamp; }, true);
}"""

#: the plot frame (page pixels) and data ranges of the figure that draws an Image glyph (the map)
_MAP_FRAME_JS = """() => {
  if (!window.Bokeh || !Bokeh.documents || !Bokeh.documents.length) return null;
  const doc = Bokeh.documents[0];
  const models = doc.all_models instanceof Set ? [...doc.all_models] : [...doc._all_models.values()];
  const fig = models.find(m => m.renderers && m.x_range && m.renderers.some(
      r => r.glyph && r.glyph.constructor && r.glyph.constructor.__name__ === 'Image'));
  if (!fig) return null;
  for (const root of Bokeh.index.roots ?? Object.values(Bokeh.index)) {
    const view = root.owner ? root.owner.find_one(fig) : null;
    if (view) {
      const f = view.frame.bbox, c = view.canvas_view.el.getBoundingClientRect();
      return {left: c.left + f.left, top: c.top + f.top, width: f.width, height: f.height,
              x0: fig.x_range.start, x1: fig.x_range.end, y0: fig.y_range.start, y1: fig.y_range.end};
    }
  }
  return null;
}"""

#: resolves with the milliseconds from the last pointerdown to the second frame after a data source holds
#: the expected series (n values; vals at indices idx, to tol)
_WAIT_JS = """([n, idx, vals, tol, timeout]) => new Promise((resolve, reject) => {
  const t0 = window.__odatisClick.t0, start = performance.now();
  const holds = () => {
    for (const doc of Bokeh.documents) {
      const models = doc.all_models instanceof Set ? [...doc.all_models] : [...doc._all_models.values()];
      for (const m of models) {
        const data = m.data;
        if (!data || typeof data !== 'object') continue;
        const cols = data instanceof Map ? [...data.values()] : Object.values(data);
        for (const col of cols) {
          if (!col || col.length !== n) continue;
          if (idx.every((k, j) => Math.abs(Number(col[k]) - vals[j]) <= tol)) return true;
        }
      }
    }
    return false;
  };
  const frame = ts => {
    if (holds()) {
      requestAnimationFrame(() => requestAnimationFrame(t2 => resolve({drawn: t2 - t0, data: ts - t0})));
    } else if (performance.now() - start > timeout) {
      reject(new Error('the series was not drawn within ' + timeout + ' ms'));
    } else {
      requestAnimationFrame(frame);
    }
  };
  requestAnimationFrame(frame);
})"""


def _pixel(frame: dict[str, float], lon: float, lat: float) -> tuple[float, float]:
    return (
        frame["left"] + (lon - frame["x0"]) / (frame["x1"] - frame["x0"]) * frame["width"],
        frame["top"] + (frame["y1"] - lat) / (frame["y1"] - frame["y0"]) * frame["height"],
    )


def sea_points(values: np.ndarray, lat: np.ndarray, lon: np.ndarray, k: int, seed: int) -> list[tuple[int, int]]:
    """``k`` distinct random grid points with a value on every day (sea), away from the map's edges."""
    sea = np.isfinite(values).all(axis=0)
    sea[[0, -1], :] = sea[:, [0, -1]] = False
    cells = np.argwhere(sea)
    pick = np.random.default_rng(seed).choice(len(cells), size=k, replace=False)
    return [tuple(map(int, cells[i])) for i in pick]


class App:
    """One page of one app, and how a click on it is timed."""

    def __init__(self, name: str, page: Any) -> None:
        self.name, self.page = name, page
        self.frame: dict[str, float] | None = None
        self.times: list[float] = []
        self.data_times: list[float] = []
        self.warm: list[float] = []

    def ready(self) -> None:
        self.page.evaluate(_HOOK_JS)
        self.page.wait_for_function(_MAP_FRAME_JS, timeout=300_000)
        self.frame = self.page.evaluate(_MAP_FRAME_JS)
        assert self.frame and self.frame["width"] > 200, self.frame

    def click(self, lon: float, lat: float, expect: np.ndarray, timed: bool, timeout_ms: float) -> float:
        self.page.bring_to_front()
        # a person's clicks are apart: two within Bokeh's double-tap interval would be one double tap
        self.page.wait_for_function(
            "() => window.__odatisClick.t0 === null || performance.now() - window.__odatisClick.t0 > 500",
            timeout=10_000,
        )
        idx = [0, 31, 180, 365, len(expect) // 2, len(expect) - 1]
        vals = [float(expect[i]) for i in idx]
        self.page.mouse.click(*_pixel(self.frame, lon, lat))
        got = self.page.evaluate(_WAIT_JS, [len(expect), idx, vals, 1e-3, timeout_ms])
        (self.times if timed else self.warm).append(got["drawn"])
        if timed:
            self.data_times.append(got["data"])
        return got["drawn"]


def start_stock(files_glob: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``panel serve`` of the stock app on ``port`` (its own session, stopped by the caller)."""
    env = dict(os.environ, ODATIS_STOCK_FILES=files_glob, ODATIS_STOCK_VAR=VAR)
    cmd = [
        str(Path(sys.executable).parent / "panel"),
        "serve",
        str(HERE / "stock_explorer.py"),
        "--address",
        "127.0.0.1",
        "--port",
        str(port),
        "--allow-websocket-origin",
        f"127.0.0.1:{port}",
        "--num-procs",
        "1",
    ]
    return subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with code {proc.returncode}")
        try:
            if requests.get(url, timeout=max(5.0, deadline - time.monotonic())).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")


def pct(values: list[float], q: float) -> float:
    """The ``q`` percentile (linear interpolation, numpy's default)."""
    return float(np.percentile(values, q))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clicks", type=int, default=30, help="timed clicks per app (random sea points)")
    ap.add_argument("--warmup", type=int, default=2, help="clicks per app before the timed ones")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--stock-timeout", type=float, default=300.0, help="seconds to wait for one stock click")
    ap.add_argument("--only-ours", action="store_true", help="no stock app (a quick check of ours; not for the docs)")
    add_docs_argument(ap)
    args = ap.parse_args()

    import xarray as xr
    from playwright.sync_api import sync_playwright
    from vre_testing import free_port, start_stack

    if not Path(CHROMIUM).exists():
        print("Debian's chromium is missing: `make install` installs it", file=sys.stderr)
        return 2
    rep = Report(SECTION, "bench_explorer_click.py")
    data = REPO / "catalog" / "data"
    samples.make_all(data, force=False, progress=False)  # the offline samples of the catalogue (made once)
    files = sorted((data / "sst_daily").glob("*.nc"))
    timeseries.build(DATASET, progress=False)  # the explorer's instant path (kept when already fresh)
    ref = xr.open_mfdataset(files, combine="by_coords")[VAR].load()
    points = sea_points(ref.values, ref.lat.values, ref.lon.values, args.warmup + args.clicks, args.seed)
    print(f"{len(files)} daily files; {len(points)} sea points", flush=True)

    work = Path(tempfile.mkdtemp(prefix="odatis-p1-browser-"))
    os.chmod(work, 0o711)
    os.environ["PATH"] = (
        f"{REPO / '.tools' / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    )
    stack = stock = None
    urls: list[str] = []
    problems: list[str] = []
    try:
        (work / "vre").mkdir()
        stack = start_stack(
            work / "vre",
            {
                "services": {
                    "dask_gateway": {"enabled": False},
                    "idle_culler": {"enabled": False},
                    "repository": {"enabled": False},
                }
            },
        )
        stack.create_user("clicker", "clicker-pass-17")
        port = free_port()
        stock_url = f"http://127.0.0.1:{port}/stock_explorer"
        if not args.only_ours:
            stock = start_stock(str(data / "sst_daily" / "*.nc"), port, work / "stock.log")
            wait_http(stock_url, 300, stock)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            ctx = browser.new_context(viewport={"width": 1200, "height": 1000})
            apps: list[App] = []
            for name in ("ours",) if args.only_ours else ("ours", "stock"):
                page = ctx.new_page()
                page.on("request", lambda req: urls.append(req.url))
                page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
                apps.append(App(name, page))
            ours, base = apps[0], apps[-1]
            ours.page.goto(f"{stack.url}/services/explorer/?dataset={DATASET}")
            ours.page.wait_for_url("**/hub/login**", timeout=120_000)
            ours.page.fill("input[name=username]", "clicker")
            ours.page.fill("input[name=password]", "clicker-pass-17")
            ours.page.click("input[type=submit], button[type=submit]")
            ours.page.wait_for_url("**/services/explorer/**", timeout=120_000)
            ours.page.wait_for_function(
                "() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0]"
                f".get_model_by_name('odatis-map-figure')?.title.text.includes('{DATASET}')",
                timeout=300_000,
            )
            if not args.only_ours:
                base.page.goto(stock_url, timeout=600_000)  # the app opens the 730 files for each new page
            for app in apps:
                app.ready()
            for k, (i, j) in enumerate(points):
                lon, lat = float(ref.lon[j]), float(ref.lat[i])
                expect = ref.values[:, i, j]
                timed = k >= args.warmup
                for app in apps:  # side by side: the same point on each app in turn
                    ms = app.click(
                        lon, lat, expect, timed, (args.stock_timeout if app.name == "stock" else 60.0) * 1000
                    )
                    print(
                        f"  {'click' if timed else 'warm-up'} {k + 1 - args.warmup * timed}: {app.name} "
                        f"({lon:.3f}, {lat:.3f}) {ms:.0f} ms",
                        flush=True,
                    )
            browser.close()
    finally:
        if stock is not None:
            stock.terminate()
            try:
                stock.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stock.kill()
        if stack is not None:
            stack.stop()

    hosts = {urlparse(u).hostname for u in urls if not u.startswith(("blob:", "data:"))}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {sorted(hosts)}"
    assert not problems, problems
    rows = []
    for app, label in (
        (ours, "ours: explorer through the hub's proxy (time-optimised copy)"),
        (base, "stock: `panel serve` app over `xr.open_mfdataset` (baseline)"),
    )[: len(apps)]:
        rows.append(
            (
                label,
                pct(app.times, 50),
                pct(app.times, 95),
                max(app.times),
                pct(app.data_times, 50),
                statistics.mean(app.warm) if app.warm else float("nan"),
                len(app.times),
            )
        )
    p95 = rows[0][2]
    rep.table(
        ["app", "clicks", "p50 ms", "p95 ms", "max ms", "data p50 ms", "warm-up mean ms", "p95 ÷ ours"],
        [
            (label, n, f"{p50:.0f}", f"{p95_:.0f}", f"{mx:.0f}", f"{d50:.0f}", f"{warm:.0f}", f"{p95_ / p95:.1f}")
            for label, p50, p95_, mx, d50, warm, n in rows
        ],
    )
    rep.text(
        f"Target p95 < {TARGET_P95_MS:.0f} ms for ours: {verdict(p95 < TARGET_P95_MS)} "
        f"({p95:.0f} ms)" + (f"; the stock app's p95 is {rows[1][2] / p95:.0f}× ours." if len(rows) > 1 else ".")
    )
    rep.write(
        None if args.only_ours else args.write_docs,
        f"Data: `{DATASET}`, {len(files)} daily NetCDF files "
        f"({ref.sizes['lat']} × {ref.sizes['lon']} points). Headless Chromium {CHROMIUM} (Playwright), one page "
        "per app, both on loopback; the same random sea points, ours and stock alternating. Time: real mouse "
        "click (`pointerdown`) → the second animation frame after a Bokeh data source holds the point's "
        'series (checked against xarray at 6 dates), i.e. the curve painted. "data" is the frame where the '
        f"series arrived. Warm-up clicks ({args.warmup} per app) are not in the percentiles.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
