"""What this process opened from the catalogue: the provenance of derived datasets.

:func:`odatis_vre.catalog.load` calls :func:`record` for every entry it opens. The publishing
service reads :func:`opened` to write DataCite ``IsDerivedFrom`` relations. When the environment
variable ``ODATIS_VRE_PROVENANCE_FILE`` names a file, every record is also appended to it as
one JSON line (so that a notebook kernel and a later ``odatis-vre publish`` can share it).

Example
-------
>>> from odatis_vre import provenance
>>> provenance.clear()
>>> rec = provenance.record("sample_sst_zarr", title="Daily SST", doi=None, url="file:///data/sst.zarr")
>>> [r["name"] for r in provenance.opened()]
['sample_sst_zarr']
>>> provenance.clear()
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
from pathlib import Path
from typing import Any

ENV_FILE = "ODATIS_VRE_PROVENANCE_FILE"

_LOCK = threading.Lock()
_RECORDS: list[dict[str, Any]] = []
_STEPS: list[dict[str, Any]] = []


def record(
    name: str,
    *,
    title: str | None = None,
    doi: str | None = None,
    url: str | None = None,
    args: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Note that catalogue entry ``name`` was opened now (with the subset ``args``: bbox, time, variables);
    return the record.

    The same entry opened twice is recorded once in :func:`opened` (first time kept), but
    every opening is appended to ``$ODATIS_VRE_PROVENANCE_FILE``.
    """
    rec = {
        "name": str(name),
        "title": title,
        "doi": doi,
        "url": url,
        "opened_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if args:
        # JSON-safe (dates and numpy numbers as text): the record goes to a JSONL file and over HTTP
        rec["args"] = json.loads(json.dumps({k: v for k, v in args.items() if v is not None}, default=str))
    with _LOCK:
        if not any(r["name"] == rec["name"] and r["doi"] == rec["doi"] and r["url"] == rec["url"] for r in _RECORDS):
            _RECORDS.append(rec)
        path = os.environ.get(ENV_FILE)
        if path:
            p = Path(path).expanduser()
            p.parent.mkdir(parents=True, exist_ok=True)
            with p.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
    return dict(rec)


def step(what: str) -> dict[str, Any]:
    """Note a processing step of this session (one line of the deposited file's ``history``).

    >>> clear(); rec = step("monthly means: ds.resample(time='1MS').mean()")
    >>> [s["what"] for s in steps()]
    ["monthly means: ds.resample(time='1MS').mean()"]
    >>> clear()
    """
    if not str(what).strip():
        raise ValueError(
            "provenance.step: describe the step, e.g. step(\"monthly means: ds.resample(time='1MS').mean()\")"
        )
    rec = {"what": " ".join(str(what).split()), "at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    with _LOCK:
        _STEPS.append(rec)
    return dict(rec)


def steps() -> list[dict[str, Any]]:
    """Processing steps noted with :func:`step` in this process, oldest first (copies)."""
    with _LOCK:
        return [dict(r) for r in _STEPS]


def opened() -> list[dict[str, Any]]:
    """Entries opened in this process, in order: ``[{name, title, doi, url, opened_at}, ...]`` (copies)."""
    with _LOCK:
        return [dict(r) for r in _RECORDS]


def clear() -> None:
    """Forget what this process opened and the steps it noted (the JSONL file, if any, is left alone)."""
    with _LOCK:
        _RECORDS.clear()
        _STEPS.clear()


def read_file(path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Records appended to ``path`` (default ``$ODATIS_VRE_PROVENANCE_FILE``); ``[]`` if none."""
    p = path or os.environ.get(ENV_FILE)
    if not p or not Path(p).exists():
        return []
    return [json.loads(line) for line in Path(p).read_text(encoding="utf-8").splitlines() if line.strip()]
