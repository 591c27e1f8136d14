"""Run every benchmark in turn (`make bench`); each prints its own table. Numbers go in docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [("bench_catalog.py", []), ("bench_spawn.py", ["--runs", "10", "--burst", "30"])]


def main() -> int:
    failed = 0
    for script, args in BENCHMARKS:
        print(f"\n=== {script} {' '.join(args)}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / script), *args]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
