"""Run every benchmark in turn (`make bench`); each prints its own table. Numbers go in docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ("bench_catalog.py", []),  # issue 3: open + search, 2 000 entries
    ("bench_spawn.py", ["--runs", "10", "--burst", "30"]),  # issue 2: login -> ready, 30-user burst
    ("bench_timeseries.py", []),  # issue 4 P1: point time series (makes 2.2 GB once)
    ("bench_explorer_click.py", ["--clicks", "30"]),  # issue 17 P1: click -> series drawn, in Chromium
    ("bench_climatology.py", ["--runs", "5"]),  # issue 4/17 P2: climatology on the gateway
    ("bench_repository.py", ["--runs", "3", "--chunks", "12"]),  # issue 5: vs nginx
    ("bench_workshop.py", ["--seats", "30"]),  # issue 7: 30-seat workshop start
    ("bench_images.py", ["--cold", "--cached-runs", "3", "--ready-runs", "5"]),  # issue 14: images, podman server
]


def main() -> int:
    failed = 0
    for script, args in BENCHMARKS:
        print(f"\n=== {script} {' '.join(args)}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / script), *args]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
