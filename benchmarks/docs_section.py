"""A benchmark's own section of docs/benchmarks.md, rewritten in place by the scripts that take ``--write-docs``."""

from __future__ import annotations

from pathlib import Path

from odatis_vre import atomic


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
