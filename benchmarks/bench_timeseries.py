"""Benchmark P1 — a point time series from 10 years of daily fields (3 653 NetCDF files, ≥ 2 GB).

Side by side in one run, at the same sea points (values checked equal across methods):

* **explorer** — what a click in the explorer runs: :meth:`odatis_vre.explore.explorer.DatasetView.point`
  on a catalogue entry of the daily files, which finds the fresh time-optimised copy and reads it;
* **explorer, first click** — the same with the process caches emptied (freshness check over every
  source file, copy opened);
* ``timeseries.point_series`` — the library call that returns an :class:`xarray.DataArray`;
* **naive** (baseline) — ``xr.open_mfdataset(files)`` + ``.sel(lat, lon, method="nearest").load()``;
* **raw** (floor) — open the chunk file, ``os.pread`` the very bytes that hold the series in the copy
  (their place computed beforehand from the Zarr metadata), close, ``np.frombuffer``.

Each is timed warm (page cache) and cold (the files involved evicted from the page cache with
``posix_fadvise(DONTNEED)`` before every run: only our own files, nothing machine-wide).

Targets: explorer ≥ 50× faster than naive, within 3× of raw, median < 100 ms.

Run::

    python benchmarks/bench_timeseries.py                 # 10 years, 2.2 GB (generated once, resumable)
    python benchmarks/bench_timeseries.py --quick         # 1 year, ~0.1 GB: a smoke run
    python benchmarks/bench_timeseries.py --write-docs    # and write the section of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from docs_section import Report, add_docs_argument, counted, thousands, verdict  # noqa: E402  (benchmarks/, the script's own folder)

from odatis_vre import timeseries  # noqa: E402
from odatis_vre.data import samples  # noqa: E402
from odatis_vre.explore import explorer  # noqa: E402

VAR = "analysed_sst"
ENTRY = "p1_sst_daily"
SECTION = "## P1 — point time series (issue 4)"
NAIVE = "naive: xr.open_mfdataset + sel(nearest).load() (baseline)"
RAW = "raw: open + pread of the same bytes + close (floor)"
CLICK = "explorer click (DatasetView.point)"
#: Targets of the explorer's click: ≥ 50× faster than naive, within 3× of raw, median < 100 ms.
TARGET_VS_NAIVE, TARGET_VS_RAW, TARGET_MEDIAN_S = 50, 3, 0.1


def _catalog(folder: Path, dest: Path) -> Path:
    """A one-entry catalogue over the daily files, shaped like the pole's ``sample_sst_daily``."""
    import yaml

    entry = {
        "description": "Benchmark P1: daily SST files",
        "driver": "odatis_vre.data.drivers.NetCDFFilesSource",
        "args": {
            "urlpath": str(folder / "*.nc"),
            "combine": "by_coords",
            "chunks": {},
            "xarray_kwargs": {"data_vars": "minimal", "coords": "minimal", "compat": "override"},
        },
        "metadata": {
            "title": "Benchmark P1 daily SST",
            "theme": "physics",
            "producer": "odatis-vre",
            "data_centre": "ODATIS VRE (local)",
            "licence": "CC-BY-4.0",
            "doi": None,
            "landing_page": "https://www.odatis-ocean.fr",
            "citation": "ODATIS VRE (2026). Benchmark P1.",
            "bbox": [-15.0, 40.0, 0.0, 52.0],
            "time_range": ["2014-01-01", "2024-01-01"],
            "variables": [
                {"name": VAR, "standard_name": "sea_surface_foundation_temperature", "units": "degree_Celsius"}
            ],
            "access": {"protocol": "file-netcdf", "format": "NetCDF-4", "login": False},
            "sample": True,
        },
    }
    path = dest / "p1.yaml"
    path.write_text(yaml.safe_dump({"metadata": {"version": 1}, "sources": {ENTRY: entry}}))
    return path


def _evict(paths: list[Path]) -> None:
    """Drop these files from the page cache (clean pages only: the data were synced once before)."""
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _raw_location(copy: Path, lat: np.ndarray, lon: np.ndarray, x: float, y: float) -> tuple[Path, int, int]:
    """Chunk file, byte offset and length of a point's series, from the Zarr metadata (written independently)."""
    meta = json.loads((copy / VAR / ".zarray").read_text())
    nt, ty, tx = meta["chunks"]
    item = np.dtype(meta["dtype"]).itemsize
    i, j = int(np.abs(lat - y).argmin()), int(np.abs(lon - x).argmin())
    sep = meta.get("dimension_separator", ".")
    return copy / VAR / f"0{sep}{i // ty}{sep}{j // tx}", (nt * ((i % ty) + ty * (j % tx))) * item, nt * item


def _time(fn: Callable[[], Any], before: Callable[[], None] | None = None) -> tuple[float, Any]:
    if before:
        before()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _ms(seconds: float) -> str:
    """Milliseconds with the digits that matter: 0.018, 19.1, 21 778."""
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.1f}" if ms < 1000 else thousands(ms)


def _ratio(x: float) -> str:
    """A ratio: 2.75, 35.8, 2 941."""
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else thousands(x)


def _shown(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return str(path.absolute().relative_to(HERE.parent))
    except ValueError:
        return str(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dest", type=Path, default=HERE / "data" / "p1_daily", help="folder of the daily files")
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--size-gb", type=float, default=None, help="total size of the files (default 2.2 GB for 10 years)")
    ap.add_argument("--quick", action="store_true", help="1 year, ~0.1 GB, fewer runs")
    ap.add_argument("--points", type=int, default=30, help="runs (one sea point each) for the fast methods")
    ap.add_argument("--naive-runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    add_docs_argument(ap)
    args = ap.parse_args()
    rep = Report(SECTION, "bench_timeseries.py")
    if args.quick:
        args.years, args.size_gb, args.naive_runs = 1, args.size_gb or 0.1, min(args.naive_runs, 2)
        if args.dest == HERE / "data" / "p1_daily":
            args.dest = HERE / "data" / "p1_quick"

    print(f"data: {args.years} years of daily files in {args.dest}", flush=True)
    folder = samples.make_decade_daily(args.dest, years=args.years, size_gb=args.size_gb, progress=True)
    files = sorted(folder.glob("*.nc"))
    size = sum(f.stat().st_size for f in files)
    tmp = Path(tempfile.mkdtemp(prefix="odatis-p1-"))
    cat = _catalog(folder, tmp)

    was_fresh = timeseries.status(ENTRY, catalog=cat)["state"] == "fresh"
    t0 = time.perf_counter()
    copy = timeseries.build(ENTRY, catalog=cat, progress=True)
    build_s = time.perf_counter() - t0
    print(f"time-optimised copy: {copy} ({build_s:.1f} s; 0 if it was already fresh)", flush=True)
    os.sync()  # written pages become clean, so that eviction below really empties the cache

    import xarray as xr

    with xr.open_dataset(files[0]) as first:
        lat, lon = first.lat.values, first.lon.values
        sea = np.argwhere(np.isfinite(first[VAR].values[0]))
    rng = np.random.default_rng(7)
    picks = sea[rng.choice(len(sea), size=args.points, replace=False)]
    points = [(float(lon[j]), float(lat[i])) for i, j in picks]

    t0 = time.perf_counter()
    view = explorer.DatasetView(ENTRY, catalog=cat)
    open_s = time.perf_counter() - t0
    print(f"explorer opens the dataset (once per session, for its maps): {open_s:.1f} s", flush=True)

    chunk_files = [Path(p) for p in sorted((copy / VAR).iterdir()) if not p.name.startswith(".")]

    def clear_caches() -> None:
        timeseries._FRESH.clear()
        timeseries._COPIES.clear()
        timeseries._SOURCES.clear()

    def naive(x: float, y: float) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = xr.open_mfdataset(files)
            try:
                return ds[VAR].sel(lon=x, lat=y, method="nearest").load().values
            finally:
                ds.close()

    raw_locs = {pt: _raw_location(copy, lat, lon, *pt) for pt in points}

    def raw(x: float, y: float) -> np.ndarray:
        # the floor: where the bytes are is known; open, read them, wrap them
        path, offset, length = raw_locs[(x, y)]
        fd = os.open(path, os.O_RDONLY)
        try:
            return np.frombuffer(os.pread(fd, length, offset), dtype=np.float32)
        finally:
            os.close(fd)

    methods: list[tuple[str, Callable[[float, float], Any], Callable[[], None] | None, Callable[[], None] | None]] = [
        (
            CLICK,
            lambda x, y: view.point(VAR, x, y).values,
            None,
            lambda: _evict(chunk_files),
        ),
        (
            "explorer, first click in a new process",
            lambda x, y: view.point(VAR, x, y).values,
            clear_caches,
            lambda: (_evict(chunk_files), clear_caches()),
        ),
        (
            "timeseries.point_series (xarray result)",
            lambda x, y: timeseries.point_series(ENTRY, VAR, x, y, catalog=cat).values,
            None,
            lambda: _evict(chunk_files),
        ),
        (RAW, raw, None, lambda: _evict(chunk_files)),
    ]
    results: dict[str, dict[str, list[float]]] = {}
    reference: dict[tuple[float, float], np.ndarray] = {}
    for cache in ("warm", "cold"):
        if cache == "warm":
            for pt in points:  # the pages every method reads, in the cache before any is timed (not just the first)
                raw(*pt)
        for name, fn, warm_before, cold_before in methods:
            before = warm_before if cache == "warm" else cold_before
            fn(*points[0])  # first use out of the timing (imports, open files)
            times = []
            for pt in points:
                dt, out = _time(lambda fn=fn, pt=pt: fn(*pt), before)
                times.append(dt)
                ref = reference.setdefault(pt, np.asarray(out))
                assert np.array_equal(np.asarray(out), ref, equal_nan=True), f"{name}: different values at {pt}"
            results.setdefault(name, {})[cache] = times
            print(f"  {cache:4s} {name}: median {statistics.median(times) * 1e3:.3f} ms", flush=True)
        times = []
        for pt in points[: args.naive_runs]:
            dt, out = _time(lambda pt=pt: naive(*pt), (lambda: _evict(files)) if cache == "cold" else None)
            times.append(dt)
            assert np.array_equal(out, reference[pt], equal_nan=True), "naive: different values"
            print(f"  {cache:4s} naive open_mfdataset run: {dt:.1f} s", flush=True)
        results.setdefault(NAIVE, {})[cache] = times

    print(
        f"\nP1 — {len(files)} daily files ({size / 1e9:.2f} GB), {lat.size}×{lon.size} grid, "
        f"{args.points} sea points (naive: {args.naive_runs}); copy built in {build_s:.0f} s, "
        f"dataset opened by the explorer in {open_s:.0f} s",
        flush=True,
    )
    zmeta = json.loads((copy / VAR / ".zarray").read_text())
    raw_bytes = next(iter(raw_locs.values()))[2]
    # row labels: the warm table says what each method does, the cold one only names it
    labels = {
        CLICK: ("**explorer click** (`DatasetView.point`: fresh-copy check + one `pread`)", "**explorer click**"),
        "explorer, first click in a new process": (
            "explorer, first click in a new process (every file's stat + copy opened)",
            "explorer, first click in a new process",
        ),
        "timeseries.point_series (xarray result)": (
            "`timeseries.point_series` (xarray `DataArray` result)",
            "`timeseries.point_series`",
        ),
        RAW: (f"raw floor: open + `pread` of the same {raw_bytes / 1e3:.1f} kB + close", "raw floor"),
        NAIVE: ("naive (baseline): `xr.open_mfdataset(files)` + `.sel(nearest).load()`", "naive (baseline)"),
    }
    verdicts = []
    for cache in ("warm", "cold"):
        med = {k: statistics.median(v[cache]) for k, v in results.items()}
        rows = []
        for k, v in results.items():
            t = v[cache]
            bold = (lambda x: f"**{x}**") if k == CLICK else str
            rows.append(
                (
                    labels[k][0 if cache == "warm" else 1],
                    bold(_ms(med[k])),
                    _ms(min(t)),
                    _ms(max(t)),
                    len(t),
                    thousands(med[NAIVE] / med[k]),
                    "–" if k == NAIVE else (bold(_ratio(med[k] / med[RAW]))),
                )
            )
        rep.text(f"{cache.capitalize()} page cache:")
        rep.table(["method", "median ms", "min ms", "max ms", "runs", "× faster than naive", "÷ raw"], rows)
        ok = {
            f"≥ {TARGET_VS_NAIVE}× faster than naive": (
                med[NAIVE] / med[CLICK] >= TARGET_VS_NAIVE,
                f"{thousands(med[NAIVE] / med[CLICK])}×",
            ),
            f"within {TARGET_VS_RAW}× of raw": (
                med[CLICK] / med[RAW] <= TARGET_VS_RAW,
                f"÷ raw {_ratio(med[CLICK] / med[RAW])}",
            ),
            f"median < {TARGET_MEDIAN_S * 1e3:.0f} ms": (med[CLICK] < TARGET_MEDIAN_S, f"{_ms(med[CLICK])} ms"),
        }
        verdicts.append(f"{cache}: " + ", ".join(f"{k} {verdict(met)} ({value})" for k, (met, value) in ok.items()))
    rep.text("Targets for the explorer click: " + "; ".join(verdicts) + ".")
    built = (
        f"took **{build_s:.0f} s** to build in this run"
        if not was_fresh
        else f"was already fresh (built by an earlier run; checked in {build_s:.1f} s)"
    )
    nt, ty, tx = zmeta["chunks"]
    about = (
        f"Data: `samples.make_decade_daily` — {counted(args.years, 'year')} of daily SST "
        f"fields, **{thousands(len(files))} NetCDF4 files, {size / 1e9:.2f} GB**, {lat.size} × {lon.size} "
        f"{np.dtype(zmeta['dtype']).name}, one file per day as L4 products ship (generated once into "
        f"`{_shown(args.dest)}/`, resumable). The time-optimised copy (`odatis-vre timeseries build`, chunks of "
        f"{thousands(nt)} days × {ty} × {tx} points, {'uncompressed' if zmeta.get('compressor') is None else 'compressed'}, "
        f"{'Fortran' if zmeta.get('order') == 'F' else 'C'} order) {built}; the explorer opened the dataset (once "
        f"per session, for its maps) in {open_s:.1f} s. {args.points} random sea points (naive: "
        f"{args.naive_runs}), all methods return identical values (checked), side by side in one run. "
        '"warm": the pages of every point\'s chunk read once before any method is timed; "cold": the files '
        "involved evicted from the page cache (`posix_fadvise(DONTNEED)`) before every run."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"files": len(files), "bytes": size, "build_s": build_s, "open_s": open_s, "results": results}, indent=1
            )
        )
    rep.write(args.write_docs, about)
    return 0


if __name__ == "__main__":
    sys.exit(main())
