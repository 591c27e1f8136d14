"""Run the slow end-to-end test files several times in a row with both cores busy: a flake shows here first.

CI runs on a loaded machine and one red run keeps a whole submission out, so a test that passes alone but
fails under load is a defect. This script (``make test-repeat``) keeps the machine busy with ``stress-ng``
(one CPU hog per core, at the same priority as the tests) and runs pytest ``--runs`` times, then prints a
table: one line per run, and every test that failed at least once.

    python tests/repeat.py --runs 5                       # every slow file, 5 times, cores busy
    python tests/repeat.py --runs 3 tests/test_explorer_browser.py
    python tests/repeat.py --runs 5 --load 0              # no extra load
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def slow_files() -> list[str]:
    """Test files with an end-to-end (``slow``) mark."""
    return sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_*.py") if "mark.slow" in p.read_text())


def failures(junit: Path) -> list[str]:
    """Node ids of the failed or errored tests in a JUnit XML report."""
    if not junit.exists():
        return ["(no report: pytest did not finish)"]
    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            out.append(f"{case.get('classname')}::{case.get('name')}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="how many times to run the files (default 5)")
    parser.add_argument(
        "--load",
        type=int,
        default=os.cpu_count() or 2,
        help="CPU hogs to run beside the tests (default: one per core; 0 for none)",
    )
    parser.add_argument("files", nargs="*", help="test files (default: every file with slow tests)")
    args, pytest_args = parser.parse_known_args(argv)
    files = args.files or slow_files()
    if args.load and not shutil.which("stress-ng"):
        parser.error(
            "stress-ng is not installed: run `make test-repeat` (it installs Debian's stress-ng) or pass --load 0"
        )
    hog = None
    if args.load:
        hog = subprocess.Popen(
            ["stress-ng", "--cpu", str(args.load), "--cpu-method", "matrixprod", "--quiet"], start_new_session=True
        )
    out_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"odatis-repeat-{os.getpid()}"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, failed = [], Counter()
    try:
        for run in range(1, args.runs + 1):
            junit = out_dir / f"run-{run}.xml"
            t0 = time.monotonic()
            code = subprocess.call(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--junitxml={junit}",
                    *pytest_args,
                    *files,
                ],
                cwd=REPO,
            )
            bad = failures(junit)
            failed.update(bad)
            rows.append((run, code, time.monotonic() - t0, len(bad)))
            print(
                f"== run {run}/{args.runs}: exit {code}, {len(bad)} failed, {time.monotonic() - t0:.0f} s", flush=True
            )
    finally:
        if hog is not None:
            os.killpg(hog.pid, signal.SIGTERM)
            hog.wait()
    load = f"{args.load} CPU hog(s) (stress-ng)" if args.load else "no extra load"
    print(f"\n{len(files)} files, {args.runs} runs, {load}\n")
    print("| run | pytest exit | failed | minutes |\n|---:|---:|---:|---:|")
    for run, code, secs, nbad in rows:
        print(f"| {run} | {code} | {nbad} | {secs / 60:.1f} |")
    if failed:
        print("\nfailed at least once:")
        for node, n in failed.most_common():
            print(f"  {n}/{args.runs}  {node}")
    return 0 if not failed and all(code == 0 for _, code, _, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
