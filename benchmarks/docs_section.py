"""A benchmark's own section of docs/benchmarks.md, rewritten in place by the scripts that take ``--write-docs``.

Every table of docs/benchmarks.md is written by the script that measured it (``make bench`` runs them all with
``--write-docs``), so a table never outlives the run that made it. A script builds its section with a
:class:`Report` started before its first timing (the load average at the start) and written after its last one.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from odatis_vre import atomic

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(docs: Path, heading: str, text: str) -> None:
    """Replace the section that starts with ``heading`` (up to the next ``## ``) by ``text``, or append it; atomic."""
    body = docs.read_text() if docs.exists() else "# Benchmarks\n"
    start = body.find(heading)
    if start >= 0:
        nxt = body.find("\n## ", start + len(heading))
        body = body[:start] + text.rstrip() + "\n" + (body[nxt:] if nxt >= 0 else "")
    else:
        body = body.rstrip() + "\n\n" + text.rstrip() + "\n"
    atomic.write_text(docs, body)


def docs_file(value: str) -> str:
    """``--write-docs``'s FILE, checked before the run rather than after it (a benchmark can take an hour)."""
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder: give the Markdown file to write, e.g. {DOCS}")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder of {value} does not exist: create it or give another FILE")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"{value} cannot be written by this user: give another FILE")
    return value


def add_docs_argument(ap: argparse.ArgumentParser) -> None:
    """``--write-docs [FILE]``: write this run's section into docs/benchmarks.md (or ``FILE``)."""
    ap.add_argument(
        "--write-docs",
        nargs="?",
        const=str(DOCS),
        default=None,
        type=docs_file,
        metavar="FILE",
        help=f"write this run's tables into the benchmark's section of FILE (default {DOCS.relative_to(DOCS.parents[1])})",
    )


def verdict(ok: bool) -> str:
    """A target's verdict as every section writes it: ``**met**`` or ``**NOT met**``."""
    return "**met**" if ok else "**NOT met**"


def thousands(x: float) -> str:
    """A whole number with a space between thousands, as the docs write numbers: ``20 000``."""
    return f"{x:,.0f}".replace(",", " ")


def counted(count: int, noun: str) -> str:
    """``1 run``, ``3 runs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _load(avg: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.1f}" for x in avg)


class Report:
    """The Markdown section of one benchmark run: command, date, load at the start and end, then tables and text.

    Example::

        rep = Report("## Catalogue — open + search (issue 3)", "bench_catalog.py")
        ...  # the timings
        rep.table(["method", "median ms"], [("ours", "53")], align="lr")
        rep.text("Target < 100 ms: **met**.")
        rep.write(args.write_docs, "Data: a generated 2 000-entry catalogue.")
    """

    def __init__(self, heading: str, script: str) -> None:
        self.heading = heading
        self.command = " ".join([f".venv/bin/python benchmarks/{script}", *sys.argv[1:]])
        self.started = time.strftime("%Y-%m-%d %H:%M")
        self.load0 = os.getloadavg()
        self.parts: list[str] = []

    def text(self, text: str) -> None:
        """A paragraph (or any Markdown) after what is already there."""
        self.parts.append(text.rstrip())

    def table(self, header: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> None:
        """A Markdown table; ``align`` has one letter per column, ``l`` or ``r`` (default: first left, others right)."""
        align = align or "l" + "r" * (len(header) - 1)
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|",
        ]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        self.parts.append("\n".join(lines))

    def markdown(self, about: str = "") -> str:
        """The whole section: heading, the command line with its date and the machine's load, ``about``, the parts."""
        end = time.strftime("%H:%M")
        head = (
            f"Command: `{self.command}` ({self.started}–{end}, {os.cpu_count()} cores; load average (`uptime`, "
            f"1 / 5 / 15 min) {_load(self.load0)} at the start, {_load(os.getloadavg())} at the end)."
        )
        return "\n\n".join([self.heading, head + (" " + about.strip() if about else ""), *self.parts]) + "\n"

    def write(self, docs: str | Path | None, about: str = "") -> str:
        """Print the section; if ``docs`` is a path (``--write-docs``), also write it there. Returns the text."""
        text = self.markdown(about)
        print("\n" + text, flush=True)
        if docs:
            write_section(Path(docs), self.heading, text)
            print(f"written to {docs} ({self.heading.lstrip('# ')})", flush=True)
        return text
