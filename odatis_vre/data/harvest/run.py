"""The harvest itself: pages of records fetched politely into ``<output>.partial/`` (resumable), mapped, merged
with the previous harvest (incremental), written atomically with its index beside it; the report of it all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .csw import CSW_NS, SCHEMAS, HarvestError, client, constraints, socket_timeout
from .records import SEXTANT_CSW, map_element

_STATE_VERSION = 1


@dataclasses.dataclass
class HarvestReport:
    """What a harvest did: counts, reasons, where it wrote."""

    endpoint: str
    output: str
    since: str | None = None
    resumed_from: int | None = None
    matched: int = 0
    fetched: int = 0
    pages: int = 0
    requests: int = 0
    new_or_updated: int = 0
    entries: int = 0
    loadable: int = 0
    listed_only: int = 0
    protocols: dict[str, int] = dataclasses.field(default_factory=dict)
    not_loadable: dict[str, int] = dataclasses.field(default_factory=dict)
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    skipped_examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    stale: int | None = None  # entries no longer upstream (None: not checked)
    stale_examples: list[str] = dataclasses.field(default_factory=list)
    stale_error: str | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        """A human-readable report (several lines)."""
        lines = [
            f"{self.matched} records matched at {self.endpoint}"
            + (f" (modified since {self.since})" if self.since else " (full harvest)")
            + (f", resumed at record {self.resumed_from}" if self.resumed_from else ""),
            f"{self.fetched} fetched in {self.pages} pages ({self.seconds:.1f} s); "
            f"{self.new_or_updated} new or updated entries",
            f"catalogue {self.output}: {self.entries} entries, {self.loadable} loadable, "
            f"{self.listed_only} listed only (link and reason)",
        ]
        if self.protocols:
            lines.append("  loadable by protocol: " + ", ".join(f"{k} {v}" for k, v in sorted(self.protocols.items())))
        for why, n in sorted(self.not_loadable.items(), key=lambda x: -x[1]):
            lines.append(f"  not loadable, {n}: {why}")
        skipped = sum(self.skipped.values())
        lines.append(f"{skipped} records skipped" + (":" if skipped else ""))
        for why, n in sorted(self.skipped.items(), key=lambda x: -x[1]):
            ex = ", ".join(self.skipped_examples.get(why, [])[:3])
            lines.append(f"  {n}: {why}" + (f" (e.g. {ex})" if ex else ""))
        if self.stale:
            lines.append(
                f"{self.stale} entries are no longer upstream (deleted, or out of the filter); they stay "
                f"until a --full harvest drops them (e.g. {', '.join(self.stale_examples[:3])})"
            )
        elif self.stale == 0:
            lines.append("every entry is still upstream")
        elif self.stale_error:
            lines.append(f"could not check for records deleted upstream ({self.stale_error})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _fingerprint(endpoint: str, filters: Any, since: str | None, page_size: int, schema: str) -> str:
    return hashlib.sha1(json.dumps([endpoint, filters, since, page_size, schema], sort_keys=True).encode()).hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def state_path(output: str | os.PathLike[str]) -> Path:
    """Where the harvest of ``output`` keeps its state (newest ``dateStamp`` seen, endpoint, filter)."""
    p = Path(output)
    return p.with_name(p.name + ".state.json")


def partial_dir(output: str | os.PathLike[str]) -> Path:
    """Where an unfinished harvest of ``output`` keeps the pages it has fetched."""
    p = Path(output)
    return p.with_name(p.name + ".partial")


def _read_previous(output: Path) -> dict[str, Any]:
    if not output.exists():
        return {}
    from ..entries import parse_catalogue

    text = output.read_text(encoding="utf-8")
    try:  # written by write_catalogue: JSON, parsed far faster by json than by a YAML parser
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        data = parse_catalogue(output, text)
    return {str(k): v for k, v in data["sources"].items()}


def harvest(
    endpoint: str = SEXTANT_CSW,
    output: str | os.PathLike[str] = "catalog/harvested/sextant.yaml",
    *,
    filters: Sequence[dict[str, str]] | None = None,
    source: str = "sextant",
    prefix: str | None = None,
    incremental: bool = True,
    page_size: int = 100,
    max_records: int | None = None,
    min_interval: float = 1.0,
    timeout: float = 60.0,
    retries: int = 2,
    restart: bool = False,
    schema: str = "iso19139",
    check_deleted: bool = True,
    progress: bool | Callable[[int, int], None] = True,
) -> HarvestReport:
    """Harvest ISO records from the CSW at ``endpoint`` into the intake catalogue ``output``.

    * ``filters``: ANDed constraints, e.g. ``[{"property": "AnyText", "like": "%ODATIS%"}]``
      (OGC Filter 1.1 on the CSW queryables: AnyText, Subject, Title, Identifier, Modified, ...).
    * ``incremental``: only records modified since the newest ``dateStamp`` of the previous harvest
      are asked for, and merged into the previous catalogue (``False``: everything, from scratch).
    * ``page_size`` records per ``GetRecords``; ``max_records`` stops early (a test or a trial).
    * ``min_interval`` seconds between two requests (politeness); each request names the VRE in its
      ``User-Agent``; a failed request is retried ``retries`` times (with the same interval).
    * ``schema``: the records asked for, ``iso19139`` (``gmd:MD_Metadata``) or ``iso19115-3``
      (``mdb:MD_Metadata``); both map to the same entries.
    * ``check_deleted``: after an incremental harvest, list the identifiers still matching upstream
      (brief Dublin Core records, 1 000 per request) and report the entries a ``--full`` harvest would
      drop (records deleted upstream or no longer matching the filter). They stay until then.

    Pages arrive into ``<output>.partial/``; only when the last one is in is ``output`` replaced
    (written to a temporary file, then renamed). A failure leaves the previous catalogue in force,
    raises :class:`HarvestError`, and the next call with the same arguments resumes after the last
    page fetched (``restart=True`` starts over). Returns a :class:`HarvestReport`.

    >>> report = harvest("http://127.0.0.1:8765/csw", "/tmp/sextant.yaml", min_interval=0)   # doctest: +SKIP
    >>> report.entries, report.loadable                                                     # doctest: +SKIP
    (1904, 743)
    """
    from tqdm.auto import tqdm

    output = Path(output)
    prefix = prefix or re.sub(r"[^a-z0-9]+", "_", source.lower()).strip("_") or "harvested"
    if page_size < 1:
        raise HarvestError(f"page_size={page_size}: give at least 1 record per page")
    if schema not in SCHEMAS:
        raise HarvestError(
            f"schema={schema!r}: give one of {', '.join(SCHEMAS)} (the ISO records the CSW is asked for)"
        )
    output_schema, type_names = SCHEMAS[schema]
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        previous = _read_previous(output) if incremental else {}
    except Exception as exc:
        raise HarvestError(
            f"{output}: the previous harvested catalogue cannot be read ({exc}); run the harvest "
            f"with --full to rebuild it"
        ) from None
    state = {}
    if incremental and state_path(output).exists() and previous:
        try:
            state = json.loads(state_path(output).read_text())
        except ValueError:
            state = {}
        if state.get("endpoint") != endpoint or state.get("filters") != list(filters or []):
            state, previous = {}, {}  # another source or filter: a full harvest
    since = state.get("newest_modified") if incremental else None
    fp = _fingerprint(endpoint, list(filters or []), since, page_size, schema)
    part = partial_dir(output)
    if restart and part.exists():
        shutil.rmtree(part)
    progress_file = part / "progress.json"
    pages_file = part / "records.jsonl"
    resumed_from = None
    position = 1
    if part.exists():
        try:
            prog = json.loads(progress_file.read_text())
        except (OSError, ValueError):
            prog = {}
        if prog.get("fingerprint") == fp and pages_file.exists():
            position = int(prog["next"])
            resumed_from = position
            # keep exactly the lines of complete pages (a crash may have cut the last one)
            lines = pages_file.read_text(encoding="utf-8").splitlines()[: int(prog["lines"])]
            pages_file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        else:
            shutil.rmtree(part)
    part.mkdir(parents=True, exist_ok=True)
    if resumed_from is None:
        pages_file.write_text("", encoding="utf-8")
        progress_file.write_text(json.dumps({"fingerprint": fp, "next": 1, "lines": 0}))

    report = HarvestReport(endpoint=endpoint, output=str(output), since=since, resumed_from=resumed_from)
    csw = client(endpoint, timeout)
    cons = constraints(filters, since)
    started = time.monotonic()
    last_request = [0.0]
    n_lines = int(json.loads(progress_file.read_text())["lines"])

    def request(start: int, size: int, **kwargs: Any) -> Any:
        for _attempt in range(retries + 1):
            wait = min_interval - (time.monotonic() - last_request[0])
            if wait > 0:
                time.sleep(wait)  # politeness toward the remote catalogue, not a test wait
            last_request[0] = time.monotonic()
            report.requests += 1
            try:
                with socket_timeout(timeout):
                    csw.getrecords2(
                        **{
                            "constraints": cons,
                            "typenames": type_names,
                            "esn": "full",
                            "outputschema": output_schema,
                            "startposition": start,
                            "maxrecords": size,
                            **kwargs,
                        }
                    )
                return csw
            except Exception as exc:  # network, HTTP error, broken XML, OWS exception report
                error = exc
        text = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        raise HarvestError(
            f"CSW {endpoint}: GetRecords at record {start} failed after {retries + 1} tries "
            f"({type(error).__name__}: {text}). The previous catalogue {output} is unchanged; "
            f"run the same harvest again to resume at record {start}."
        ) from None

    bar = None
    show = progress is True
    callback = progress if callable(progress) else None
    try:
        while True:
            size = page_size if max_records is None else min(page_size, max_records - (position - 1))
            if size <= 0:
                break
            page = request(position, size)
            matched = int(page.results.get("matches") or 0)
            report.matched = matched if max_records is None else min(matched, max_records)
            if bar is None and show:
                bar = tqdm(total=report.matched, initial=position - 1, unit="rec", desc=f"harvest {source}")
            elems = getattr(page, "raw_records", [])
            out = []
            for elem in elems:
                m = map_element(elem, prefix=prefix, source=source, endpoint=endpoint)
                out.append(json.dumps(dataclasses.asdict(m), ensure_ascii=False))
            with pages_file.open("a", encoding="utf-8") as fh:
                fh.write("".join(line + "\n" for line in out))
                fh.flush()
                os.fsync(fh.fileno())
            n_lines += len(out)
            nxt = int(page.results.get("nextrecord") or 0)
            returned = int(page.results.get("returned") or len(elems))
            if nxt <= position:  # servers disagree on the last page: 0, or absent
                nxt = position + returned
            _write_atomic(progress_file, json.dumps({"fingerprint": fp, "next": nxt, "lines": n_lines}))
            report.pages += 1
            if bar is not None:
                bar.update(returned)
            if callback is not None:
                callback(nxt - 1, report.matched)
            position = nxt
            if returned == 0 or position > report.matched:
                break
    finally:
        if bar is not None:
            bar.close()

    # ---- assemble: previous entries, then this harvest's (newest record wins on a duplicate identifier)
    records = [json.loads(line) for line in pages_file.read_text(encoding="utf-8").splitlines() if line]
    report.fetched = len(records)
    skipped: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    fresh: dict[str, dict[str, Any]] = {}
    fresh_modified: dict[str, str] = {}
    newest = since
    for r in records:
        if r.get("modified") and (newest is None or str(r["modified"]) > newest):
            newest = str(r["modified"])
        if r.get("skip"):
            why = r["skip"]
        elif r["name"] in fresh:
            why = "duplicate identifier (the most recently modified copy is kept)"
            if str(r.get("modified") or "") > fresh_modified[r["name"]]:
                fresh[r["name"]], fresh_modified[r["name"]] = r["entry"], str(r.get("modified") or "")
        else:
            fresh[r["name"]], fresh_modified[r["name"]] = r["entry"], str(r.get("modified") or "")
            continue
        skipped[why] += 1
        examples.setdefault(why, [])
        if len(examples[why]) < 5:
            examples[why].append(str(r.get("identifier") or "?"))
    sources = dict(previous)
    sources.update(fresh)
    report.new_or_updated = len(fresh)
    report.entries = len(sources)
    protocols: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for e in sources.values():
        acc = (e.get("metadata") or {}).get("access") or {}
        if acc.get("protocol") == "link":
            reasons[str(acc.get("reason"))] += 1
        else:
            protocols[str(acc.get("protocol"))] += 1
    report.loadable, report.listed_only = sum(protocols.values()), sum(reasons.values())
    report.protocols, report.not_loadable = dict(protocols), dict(reasons)
    report.skipped, report.skipped_examples = dict(skipped), examples
    write_catalogue(output, sources, source=source, endpoint=endpoint, filters=filters)
    _write_atomic(
        state_path(output),
        json.dumps(
            {
                "version": _STATE_VERSION,
                "endpoint": endpoint,
                "filters": list(filters or []),
                "schema": schema,
                "newest_modified": newest,
                "entries": len(sources),
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            indent=1,
        ),
    )
    shutil.rmtree(part, ignore_errors=True)
    if check_deleted and incremental and previous and max_records is None:
        # the catalogue is written: a failure here only leaves the question open
        try:
            upstream = _upstream_identifiers(request, constraints(filters, None))
        except HarvestError as exc:
            report.stale_error = str(exc).split(" The previous catalogue")[0]
        else:
            gone = sorted(
                name
                for name, e in sources.items()
                if str(((e.get("metadata") or {}).get("harvest") or {}).get("identifier")) not in upstream
            )
            report.stale, report.stale_examples = len(gone), gone[:5]
    report.seconds = time.monotonic() - started
    return report


def _upstream_identifiers(request: Callable[..., Any], cons: list[Any], page: int = 1000) -> set[str]:
    """The identifiers of every record matching ``cons`` upstream, as brief Dublin Core records (cheap:
    an identifier and a title each, ``page`` per request, through the harvest's polite ``request``)."""
    ids: set[str] = set()
    position = 1
    while True:
        csw = request(position, page, constraints=cons, typenames="csw:Record", esn="brief", outputschema=CSW_NS)
        ids.update(i for i in csw.identifiers if i)
        matched = int(csw.results.get("matches") or 0)
        returned = int(csw.results.get("returned") or len(csw.identifiers))
        nxt = int(csw.results.get("nextrecord") or 0)
        position = nxt if nxt > position else position + returned
        if returned == 0 or position > matched:
            return ids


def write_catalogue(
    output: str | os.PathLike[str],
    sources: dict[str, Any],
    *,
    source: str = "sextant",
    endpoint: str = SEXTANT_CSW,
    filters: Sequence[dict[str, str]] | None = None,
) -> Path:
    """Write ``sources`` as a classic intake catalogue at ``output``, atomically (temporary file + rename).

    The file is JSON, which is also YAML: plain ``intake.open_catalog`` reads it, and the VRE parses it
    with ``json`` (≈10x faster than YAML at 20 000 entries).
    """
    output = Path(output)
    doc = {
        "metadata": {
            "version": 1,
            "title": f"Records harvested from {source}",
            "description": f"Harvested by `odatis-vre catalog harvest` from the CSW {endpoint}. "
            "Do not edit: the next harvest replaces this file.",
            "harvest": {"source": source, "endpoint": endpoint, "filters": list(filters or [])},
        },
        "sources": dict(sorted(sources.items())),
    }
    # one entry per line: diffs between harvests stay readable, and the file is still one JSON document
    body = ",\n".join(
        f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}"
        for k, v in doc["sources"].items()
    )
    text = '{"metadata": ' + json.dumps(doc["metadata"], ensure_ascii=False) + ',\n"sources": {\n' + body + "\n}}\n"
    _write_atomic(output, text)
    from ..catalog_index import write_sidecar

    write_sidecar(output)  # every user's first open reads this index instead of parsing the file
    return output


def configured_sources(catalog_path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """The harvest sources declared under ``harvest:`` in the curated catalogue (``catalog/odatis.yaml``).

    >>> configured_sources()["sextant"]["endpoint"]                 # doctest: +SKIP
    'https://sextant.ifremer.fr/geonetwork/srv/eng/csw'
    """
    from ..entries import default_path, parse_catalogue

    path = Path(catalog_path) if catalog_path else default_path()
    data = parse_catalogue(path, path.read_text(encoding="utf-8"))
    block = data.get("harvest") or {}
    if not isinstance(block, dict):
        raise HarvestError(f"{path}: `harvest:` must map source names to {{endpoint, filters, output}}")
    out = {}
    for name, spec in block.items():
        if not isinstance(spec, dict) or not spec.get("endpoint") or not spec.get("output"):
            raise HarvestError(
                f"{path}: harvest.{name} needs `endpoint` (a CSW URL) and `output` (a path relative "
                f"to the catalogue); see docs/catalogue.md"
            )
        out[str(name)] = {**spec, "output": str((path.parent / str(spec["output"])).resolve())}
    return out
