"""docs/benchmarks.md holds only tables a benchmark run wrote, and the scripts' section writer keeps the rest intact.

The benchmarks themselves take an hour (`make bench`); these checks are what can be held in the suite: every table
of the page sits in a section a script of ``benchmarks/run_all.py`` writes, under that script's own heading, with
its command and the machine's load; rewriting one section leaves every other byte of the page as it was; a FILE
that cannot be written is refused before a run starts, not after it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest
from vre_testing import REPO

BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

import docs_section  # noqa: E402  (benchmarks/)
import run_all  # noqa: E402

DOCS = REPO / "docs" / "benchmarks.md"


def _sections(text: str) -> list[str]:
    return ["## " + part for part in text.split("\n## ")[1:]]


def test_every_table_of_the_page_was_written_by_a_benchmark_of_make_bench() -> None:
    scripts = {script for script, _ in run_all.BENCHMARKS}
    with_tables = [s for s in _sections(DOCS.read_text()) if re.search(r"^\|", s, re.M)]
    assert with_tables, "docs/benchmarks.md has no table at all"
    for section in with_tables:
        heading = section.splitlines()[0]
        m = re.search(r"^Command: `\.venv/bin/python benchmarks/(\w+\.py)[^`]*`", section, re.M)
        assert m, f"{heading}: a table without the command that made it (a section written by hand?)"
        script = m.group(1)
        assert script in scripts, f"{heading}: {script} is not run by `make bench` (benchmarks/run_all.py)"
        assert heading in (BENCH / script).read_text(), f"{heading}: not a heading {script} writes"
        assert re.search(r"load average \(`uptime`, 1 / 5 / 15 min\) [\d.]+ / [\d.]+ / [\d.]+ at the start", section), (
            f"{heading}: the machine's load is not noted"
        )
    # the hand-written sections between them carry no table
    for section in _sections(DOCS.read_text()):
        if section.splitlines()[0] not in {s.splitlines()[0] for s in with_tables}:
            assert not re.search(r"^\|", section, re.M)


def test_a_section_is_rewritten_in_place_and_the_rest_kept(tmp_path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nIntro.\n\n## A\n\nold a\n\n## B — reading\n\nby hand\n\n## C\n\nold c\n")
    rep = docs_section.Report("## A", "bench_x.py")
    rep.table(["method", "median ms"], [("ours", "1.5"), ("baseline", "30")])
    rep.text("Target: " + docs_section.verdict(True) + ".")
    text = rep.write(str(page), "About the run.")
    body = page.read_text()
    assert body == "# Benchmarks\n\nIntro.\n\n" + text + "\n## B — reading\n\nby hand\n\n## C\n\nold c\n"
    assert "| method | median ms |\n|---|---:|\n| ours | 1.5 |\n| baseline | 30 |" in text
    assert "Target: **met**." in text and "old a" not in body
    assert re.search(
        r"Command: `\.venv/bin/python benchmarks/bench_x\.py.*` \(\d{4}-\d\d-\d\d \d\d:\d\d–\d\d:\d\d", text
    )
    # the last section, and a section the page does not have yet (appended)
    docs_section.write_section(page, "## C", "## C\n\nnew c\n")
    docs_section.write_section(page, "## D", "## D\n\nnew d\n")
    assert page.read_text().endswith("## B — reading\n\nby hand\n\n## C\n\nnew c\n\n## D\n\nnew d\n")


def test_a_file_that_cannot_be_written_is_refused_before_the_run(tmp_path) -> None:
    assert docs_section.docs_file(str(tmp_path / "new.md")) == str(tmp_path / "new.md")
    with pytest.raises(argparse.ArgumentTypeError, match="does not exist: create it"):
        docs_section.docs_file(str(tmp_path / "missing" / "b.md"))
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder"):
        docs_section.docs_file(str(tmp_path))
    # through a real script's command line: it stops at once with the message, nothing measured
    res = subprocess.run(
        [sys.executable, str(BENCH / "bench_catalog.py"), "--write-docs", str(tmp_path / "missing" / "b.md")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "does not exist: create it or give another FILE" in res.stderr, res.stderr
    assert not (tmp_path / "missing").exists()


def test_run_all_names_the_scripts_it_knows() -> None:
    res = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--only", "bench_nothing.py"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "invalid choice: 'bench_nothing.py'" in res.stderr
    assert "bench_spawn.py" in res.stderr  # the message lists what can be asked for
