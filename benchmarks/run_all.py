"""Run every benchmark in turn (`make bench`): each prints its own section, and with ``--write-docs`` writes it
into docs/benchmarks.md, so that every table there comes from one run, with the machine's load noted.

Run on a quiet machine (nothing else running): the tables are what users would get, not what a busy machine gives.
``--only bench_spawn.py`` reruns one script (its sections only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ("bench_catalog.py", []),  # issue 3: open + search, 2 000 entries
    ("bench_catalog.py", ["--daily", "--runs", "3"]),  # issue 3: one entry's 730 daily files
    # issue 16: 20 000 harvested entries; plain intake at 2 000 (both ways) and at 20 000 with ttl=None, its best
    # (as it comes it re-reads the 50 MB file every 60 s, longer than one reading takes: budget 0 = not run)
    (
        "bench_catalog.py",
        ["--harvested", "--entries", "20000", "--runs", "9"]
        + ["--baseline-sizes", "2000,20000", "--baseline-budgets", "150,0", "--baseline-budgets-ttl", "300,900"],
    ),
    ("bench_spawn.py", ["--runs", "10", "--burst", "30"]),  # issues 2, 13: login -> ready, 30-user burst
    ("bench_workshop.py", ["--seats", "30", "--runs", "3"]),  # issues 7, 13: 30-seat workshop start
    ("bench_timeseries.py", []),  # issue 4 P1: point time series (makes 2.2 GB once)
    ("bench_explorer_click.py", ["--clicks", "30", "--warmup", "2"]),  # issue 17 P1: click -> series drawn
    ("bench_climatology.py", ["--runs", "5", "--threads-diagnostic"]),  # issues 4, 17 P2: climatology, gateway
    ("bench_repository.py", ["--runs", "3", "--chunks", "12"]),  # issues 5, 17: vs nginx
    ("bench_images.py", ["--cold", "--cached-runs", "3", "--ready-runs", "5"]),  # issue 14: images, podman
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-docs", action="store_true", help="each script writes its section of docs/benchmarks.md")
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        choices=sorted({script for script, _ in BENCHMARKS}),
        metavar="SCRIPT",
        help="run only this script, all its modes (repeatable): %(choices)s",
    )
    args = ap.parse_args()
    failed = []
    t0 = time.monotonic()
    for script, argv in BENCHMARKS:
        if args.only and script not in args.only:
            continue
        argv = argv + (["--write-docs"] if args.write_docs else [])
        print(f"\n=== {script} {' '.join(argv)}   (load average {os.getloadavg()[0]:.1f})", flush=True)
        t = time.monotonic()
        if subprocess.call([sys.executable, str(HERE / script), *argv]) != 0:
            failed.append(f"{script} {' '.join(argv)}")
        print(f"=== {script}: {time.monotonic() - t:.0f} s", flush=True)
    print(f"\nall benchmarks: {(time.monotonic() - t0) / 60:.1f} min; failed: {failed or 'none'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
