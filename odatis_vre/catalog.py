"""The pole's data catalogue: find, describe, cite and load datasets.

The catalogue is a classic intake YAML file (``catalog/odatis.yaml``, ``sources:`` format) that
plain ``intake.open_catalog(...)`` opens. This module adds what researchers need on top of it:
ranked search over themes, boxes, periods and variables; citations; lazy loading with subsets,
through local mirrors when offline; a record of what was opened (:mod:`odatis_vre.provenance`).

Example
-------
>>> from odatis_vre import catalog
>>> cat = catalog.open()                                          # doctest: +SKIP
>>> [h["name"] for h in catalog.search("chlorophyll", bbox=(-10, 43, -2, 48), catalog=cat)][:2]  # doctest: +SKIP
['sample_chl', 'cmems_globcolour_chl']
>>> print(catalog.cite("argo_gdac_float", catalog=cat))           # doctest: +SKIP
Argo (2000). Argo float data and metadata from Global Data Assembly Centre (Argo GDAC). SEANOE. https://doi.org/10.17882/42182
>>> ds = catalog.load("sample_sst_zarr", bbox=(-6, 44, -1, 48), time=("2023-06-01", "2023-08-31"), catalog=cat)  # doctest: +SKIP

Errors are :class:`CatalogError`; the message names the entry and the field and says what to do.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import re
import time
import warnings
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Iterable, Iterator, Sequence

from . import provenance

ENV_CATALOG = "ODATIS_VRE_CATALOG"
ENV_CACHE = "ODATIS_VRE_CACHE_DIR"
REQUIRED = ("title", "theme", "producer", "data_centre", "licence", "citation", "bbox", "time_range",
            "variables", "access")
THEMES = ("physics", "biogeochemistry", "in_situ", "biology_imaging")
_FAR_FUTURE = "9999-12-31"


class CatalogError(ValueError):
    """Something is wrong with the catalogue or one of its entries (the message names both)."""


# ----------------------------------------------------------------------------- opening

def default_path() -> Path:
    """``$ODATIS_VRE_CATALOG``, else the repository's ``catalog/odatis.yaml``."""
    env = os.environ.get(ENV_CATALOG)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "catalog" / "odatis.yaml"


def _cache_dir() -> Path:
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "odatis-vre"


def _parse_yaml(path: Path, text: str) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster on big catalogues
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}. Fix the file; "
                           f"`odatis-vre catalog check {path}` re-checks it.") from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise CatalogError(f"{path}: a catalogue needs a top-level `sources:` mapping (classic intake format); "
                           f"see docs/catalogue.md")
    return data


def _index_entry(name: str, raw: Any) -> dict[str, Any]:
    """What search needs about an entry (one row of :class:`odatis_vre.catalog_index.Columns`)."""
    from .catalog_index import entry_fields

    return entry_fields(name, raw)


class _Entries(Mapping):
    """The entries of a catalogue and its includes, as written (read lazily, first file wins on a name)."""

    def __init__(self, parts: list[Any], visible: list[Any]):
        self._parts, self._visible = parts, visible
        self._n = sum(int(v.sum()) for v in visible)

    def _locate(self, name: str) -> Any:
        for part, vis in zip(self._parts, self._visible):
            i = part.pos.get(name)
            if i is not None and vis[i]:
                return part
        return None

    def __getitem__(self, name: str) -> Any:
        part = self._locate(name) if isinstance(name, str) else None
        if part is None:
            raise KeyError(name)
        return part.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._locate(name) is not None

    def __iter__(self) -> Iterator[str]:
        for part, vis in zip(self._parts, self._visible):
            for name, v in zip(part.columns.names, vis.tolist()):
                if v:
                    yield name

    def __len__(self) -> int:
        return self._n


class Catalog:
    """An opened catalogue: its entries as written (``raw``, read on demand) and their search columns.

    ``Catalog`` is read-only; :func:`open` builds it. ``intake()`` gives the plain intake catalogue.

    >>> cat = open()                        # doctest: +SKIP
    >>> len(cat) >= 17, "sample_chl" in cat  # doctest: +SKIP
    (True, True)
    """

    def __init__(self, path: Path, meta: dict[str, Any], parts: list[Any], visible: list[Any] | None = None):
        import numpy as np

        self.path = path
        self.metadata = meta
        self.parts = parts
        self.visible = visible if visible is not None else [np.ones(len(p), bool) for p in parts]
        self.raw: Mapping[str, Any] = _Entries(self.parts, self.visible)
        self.includes: list[str] = []
        self._intake = None

    def __len__(self) -> int:
        return len(self.raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __contains__(self, name: object) -> bool:
        return name in self.raw

    def __repr__(self) -> str:
        return f"<odatis_vre Catalog {self.path} ({len(self)} entries)>"

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def index(self) -> list[dict[str, Any]]:
        """One dict per entry with what search uses (built on demand; search itself reads the columns)."""
        return [_index_entry(n, self.raw[n]) for n in self.raw]

    def entry(self, name: str) -> dict[str, Any]:
        """The entry as written in the YAML (a copy); :class:`CatalogError` if absent."""
        if name not in self.raw:
            close = _close_names(name, self.raw)
            raise CatalogError(f"no entry named {name!r} in {self.path}"
                               + (f"; did you mean {', '.join(close)}?" if close else "")
                               + " (`odatis-vre catalog list` shows them all)")
        return copy.deepcopy(self.raw[name])

    def intake(self) -> Any:
        """The same file opened by plain ``intake.open_catalog`` (cached on this object)."""
        if self._intake is None:
            import intake

            self._intake = intake.open_catalog(str(self.path))
        return self._intake


def _close_names(name: str, names: Iterable[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)


def open(path: str | os.PathLike[str] | None = None, *, use_cache: bool = True) -> Catalog:  # noqa: A001
    """Open the catalogue at ``path`` (default: ``$ODATIS_VRE_CATALOG``, else ``catalog/odatis.yaml``).

    Catalogues listed under a top-level ``includes:`` key (a path relative to the file, or
    ``{path: ..., optional: true}`` for one that may not exist yet, such as the harvested catalogue
    before the first harvest), or in ``$ODATIS_VRE_CATALOG_INCLUDES`` (space-separated URLs or
    paths), add their entries: the harvested records of Sextant, and in a user's server the datasets
    published in the VRE's repository, with their DOIs. Entries of the main file win a name clash.

    Each file is opened through its search index (:mod:`odatis_vre.catalog_index`): the index written
    beside it by the harvest, else the user's cache (``~/.cache/odatis-vre`` or ``$ODATIS_VRE_CACHE_DIR``,
    keyed by path, size and modification time), else the file is parsed once; entries are read on demand.
    Within a process, a file already opened and unchanged is not read again. ``use_cache=False`` ignores
    the user's cache and the process's memory (the index beside a file is still used). Invalid entries do
    not stop the catalogue from opening: :func:`check` lists them; :func:`load` refuses them clearly.

    >>> cat = open()                    # doctest: +SKIP
    >>> "sample_sst_zarr" in cat        # doctest: +SKIP
    True
    """
    p = Path(path) if path else default_path()
    p = p.expanduser().resolve()
    if not p.is_file():
        raise CatalogError(f"{p}: no such catalogue file (set ${ENV_CATALOG}, or pass the path of an intake YAML "
                           f"file)") from None
    main = _part(p, use_cache)
    cat = Catalog(p, main.meta, [main])
    return _with_includes(cat, _includes(main.includes), use_cache=use_cache)


_PARTS: dict[Path, Any] = {}


def _part(path: Path, use_cache: bool, *, include: bool = False) -> Any:
    """One catalogue file opened through its index (memoised per process while the file is unchanged)."""
    from .catalog_index import file_key, load_part

    key = file_key(path)
    hit = _PARTS.get(path)
    if use_cache and hit is not None and hit.key == key:
        return hit

    def parse(p: Path, text: str) -> dict[str, Any]:
        if text.lstrip().startswith("{"):
            import json

            try:  # JSON is YAML too; json parses a large harvested catalogue far faster than libyaml
                data = json.loads(text)
                if isinstance(data, dict) and isinstance(data.get("sources"), dict):
                    return data
            except ValueError:
                pass
        if include:
            import yaml

            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
            if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
                raise CatalogError(f"included catalogue {p.name}: no 'sources' mapping in it")
            return data
        return _parse_yaml(p, text)

    part = load_part(path, _cache_dir() if use_cache else None, parse)
    if use_cache:
        if len(_PARTS) > 8:
            _PARTS.clear()
        _PARTS[path] = part
    return part


ENV_INCLUDES = "ODATIS_VRE_CATALOG_INCLUDES"
_INCLUDE_TTL = 30.0
_INCLUDE_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}


def _read_include(ref: str, base: Path, timeout: float = 5.0) -> dict[str, Any]:
    """The ``sources`` of an included catalogue (a URL or a path relative to ``base``), cached briefly."""
    now = time.monotonic()
    hit = _INCLUDE_CACHE.get(ref)
    if hit and now - hit[0] < _INCLUDE_TTL:
        return hit[1]
    if ref.startswith(("http://", "https://")):
        import requests

        r = requests.get(ref, timeout=timeout)
        r.raise_for_status()
        text = r.text
    else:
        text = (base / ref).expanduser().read_text(encoding="utf-8")
    import yaml

    data = yaml.safe_load(text) or {}
    sources = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(sources, dict):
        raise CatalogError(f"included catalogue {ref}: no 'sources' mapping in it")
    sources = {str(k): v for k, v in sources.items()}
    _INCLUDE_CACHE[ref] = (now, sources)
    return sources


def _include_ref(item: Any) -> tuple[str, bool]:
    """``(path or URL, optional)`` of one ``includes:`` item (a string, or ``{path: ..., optional: ...}``)."""
    if isinstance(item, dict):
        return str(item.get("path") or item.get("url") or ""), bool(item.get("optional"))
    return str(item), False


def _with_includes(cat: Catalog, includes: Sequence[Any], *, use_cache: bool = True) -> Catalog:
    """Add the entries of included catalogues (the harvested records, the repository's published datasets).

    Entries of the main file win on a name clash; an include that cannot be read is skipped with a
    warning naming it (an ``optional`` one that does not exist, silently), so the rest still opens.
    """
    if not includes:
        return cat
    import numpy as np

    from .catalog_index import Columns, Part

    parts, visible = list(cat.parts), list(cat.visible)
    seen = set(cat.parts[0].columns.names)
    refs = []
    for item in includes:
        ref, optional = _include_ref(item)
        if not ref:
            continue
        refs.append(ref)
        try:
            if ref.startswith(("http://", "https://")):
                sources = _read_include(ref, cat.directory)
                known = _INCLUDE_PARTS.get(ref)
                if known is None or known[0] is not sources:
                    known = (sources, Part(Path(ref), ref, {}, None, Columns.build(sources), None, eager=sources))
                    _INCLUDE_PARTS[ref] = known
                part = known[1]
            else:
                local = (cat.directory / ref).expanduser().resolve()
                if optional and not local.is_file():
                    continue  # e.g. the harvested catalogue before the first harvest
                part = _part(local, use_cache, include=True)
        except Exception as exc:
            warnings.warn(f"catalogue {cat.path}: the included catalogue {ref} could not be read ({exc}); "
                          "its datasets are left out until it answers", stacklevel=3)
            continue
        names = part.columns.names
        vis = np.fromiter((n not in seen for n in names), bool, count=len(names))
        seen.update(names)
        parts.append(part)
        visible.append(vis)
    out = Catalog(cat.path, cat.metadata, parts, visible)
    out.includes = refs
    return out


_INCLUDE_PARTS: dict[str, Any] = {}


def refresh() -> None:
    """Forget the included catalogues read recently, so the next :func:`open` reads them again.

    :func:`odatis_vre.publish.deposit` calls it: a dataset just published is found at once.
    """
    _INCLUDE_CACHE.clear()
    _INCLUDE_PARTS.clear()


def _includes(data_includes: Any) -> list[Any]:
    refs: list[Any] = list(data_includes) if isinstance(data_includes, list) else []
    refs += [x for x in os.environ.get(ENV_INCLUDES, "").split() if x]
    out, seen = [], set()
    for r in refs:
        key = _include_ref(r)[0]
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _cat(catalog: Catalog | str | os.PathLike[str] | None) -> Catalog:
    if isinstance(catalog, Catalog):
        return catalog
    return open(catalog)


# ----------------------------------------------------------------------------- validation

def schema() -> dict[str, Any]:
    """The JSON Schema of one catalogue entry (shipped in the package)."""
    import json
    from importlib import resources

    return json.loads(resources.files("odatis_vre").joinpath("schema/catalog-entry.schema.json").read_text())


def _field(error: Any) -> str:
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path]
    out = ".".join(parts).replace(".[", "[")
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        out = (out + "." if out else "") + (missing[0] if missing else "?")
    return out or "(entry)"


def validate_entry(name: str, raw: Any, *, catalog_dir: Path | None = None) -> list[str]:
    """Problems of one entry as ``"field: what is wrong (what to do)"`` strings; ``[]`` if valid.

    >>> problems = validate_entry("x", {"driver": "netcdf", "metadata": {"title": "t"}})
    >>> problems[1]
    'metadata.access: missing (add it; see odatis_vre/schema/catalog-entry.schema.json)'
    """
    import jsonschema

    if not isinstance(raw, dict):
        return [f"(entry): must be a mapping with driver/args/metadata, not {type(raw).__name__}"]
    validator = jsonschema.Draft202012Validator(schema())
    problems = []
    for err in sorted(validator.iter_errors(raw), key=lambda e: (_field(e), e.message)):
        field = _field(err)
        if err.validator == "required":
            problems.append(f"{field}: missing (add it; see odatis_vre/schema/catalog-entry.schema.json)")
        elif err.validator == "enum":
            problems.append(f"{field}: {err.instance!r} is not allowed (allowed: {', '.join(map(str, err.validator_value))})")
        elif err.validator == "anyOf" and field.endswith("metadata"):
            problems.append("metadata.doi: missing (give a DOI or a landing_page)")
        else:
            problems.append(f"{field}: {err.message}" + (f" ({err.schema.get('description')})" if isinstance(err.schema, dict) and err.schema.get('description') else ""))
    md = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    bbox = md.get("bbox")
    if isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(x, (int, float)) for x in bbox):
        w, s, e, n = bbox
        if not (-180 <= w <= 180 and -180 <= e <= 180):
            problems.append(f"metadata.bbox: longitudes {w}, {e} must lie in -180..180 ([west, south, east, north])")
        if not (-90 <= s <= 90 and -90 <= n <= 90):
            problems.append(f"metadata.bbox: latitudes {s}, {n} must lie in -90..90 ([west, south, east, north])")
        elif s > n:
            problems.append(f"metadata.bbox: south {s} is above north {n} (order is [west, south, east, north])")
    tr = md.get("time_range")
    if isinstance(tr, list) and len(tr) == 2 and all(isinstance(x, str) for x in tr) and tr[0] > tr[1]:
        problems.append(f"metadata.time_range: start {tr[0]} is after end {tr[1]}")
    driver = raw.get("driver")
    if isinstance(driver, str) and driver:
        why = _driver_problem(driver)
        if why:
            problems.append(f"driver: {why}")
    return problems


def _driver_problem(driver: str) -> str | None:
    """``None`` if intake can load ``driver``, else why not (without importing data libraries)."""
    from intake.source import registry

    if driver in registry:
        return None
    if "." in driver:
        import importlib

        mod, _, cls = driver.rpartition(".")
        try:
            if hasattr(importlib.import_module(mod), cls):
                return None
            return f"unknown driver {driver!r}: module {mod} has no class {cls}"
        except ImportError as exc:
            return f"unknown driver {driver!r}: cannot import {mod} ({exc})"
    return (f"unknown driver {driver!r} (known: {', '.join(sorted(registry))}, or a class path such as "
            f"odatis_vre.catalog_drivers.ErddapTabledapSource; is its plugin package installed?)")


def check(catalog: Catalog | str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """Validate every entry against the schema; ``{name: [problems]}`` for the invalid ones only.

    >>> check() == {}          # doctest: +SKIP
    True
    """
    cat = _cat(catalog)
    out = {}
    for name, raw in cat.raw.items():
        problems = validate_entry(name, raw)
        if problems:
            out[name] = problems
    return out


# ----------------------------------------------------------------------------- search

def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Fraction of box ``a`` covered by box ``b`` (0 if disjoint; point boxes count as covered)."""
    w, s = max(a[0], b[0]), max(a[1], b[1])
    e, n = min(a[2], b[2]), min(a[3], b[3])
    if e < w or n < s:
        return 0.0
    area = (a[2] - a[0]) * (a[3] - a[1])
    return 1.0 if area <= 0 else max((e - w) * (n - s) / area, 1e-6)


def _as_bbox(bbox: Sequence[float] | None, shown: str | None = None) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` as floats, or :class:`CatalogError` saying what is wrong with the box.

    ``shown``: how the user wrote the box (``"W,S,E,N"`` on the command line), for the messages.
    """
    if bbox is None:
        return None
    example = "e.g. (-10, 43, -2, 48) for the Bay of Biscay" if shown is None else "e.g. -10,43,-2,48"
    order = "(west, south, east, north)" if shown is None else "west,south,east,north"
    what = f"bbox={bbox!r}" if shown is None else f"box {shown!r}"
    if isinstance(bbox, (str, bytes)):
        raise CatalogError(f"{what}: give four numbers {order}, not a string; {example}")
    try:
        values = [float(x) for x in bbox]
    except (TypeError, ValueError):
        raise CatalogError(f"{what}: give four numbers {order}; {example}") from None
    if len(values) != 4:
        raise CatalogError(f"{what}: give four numbers {order}, not {len(values)}; "
                           f"{example}")
    w, s, e, n = values
    if not all(math.isfinite(v) for v in values):
        raise CatalogError(f"{what}: every corner must be a finite number of degrees; {example}")
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        raise CatalogError(f"{what}: latitudes (south, north) must lie within -90..90 degrees; {example}")
    if s > n:
        raise CatalogError(f"{what}: south ({s:g}) is north of north ({n:g}); the order is (west, south, "
                           f"east, north): swap them, {example}")
    if not (-180 <= w <= 360 and -180 <= e <= 360):
        raise CatalogError(f"{what}: longitudes (west, east) must lie within -180..180 (or 0..360) degrees; "
                           f"{example}")
    if w > e:
        raise CatalogError(f"{what}: west ({w:g}) is east of east ({e:g}); the order is (west, south, east, "
                           f"north). A box across the 180th meridian is two boxes: search ({w:g}, {s:g}, 180, {n:g}) "
                           f"and (-180, {s:g}, {e:g}, {n:g})".replace(", ", "," if shown else ", "))
    return (w, s, e, n)


def _as_date(value: Any, which: str, what: str, example: str) -> Any:
    """A pandas Timestamp (UTC, no time zone) from an ISO string, date or datetime; None for an open end."""
    import pandas as pd

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, OverflowError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise CatalogError(f"{what}: the {which} {value!r} is not a date; write dates as ISO 8601 (YYYY-MM-DD, or "
                           f"YYYY-MM-DDTHH:MM), {example}")
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def _as_time(time: Sequence[Any] | None, shown: str | None = None) -> tuple[str, str] | None:
    """``(start, end)`` as ISO dates (open ends as far past/future), or :class:`CatalogError` naming the problem.

    ``shown``: how the user wrote the period (``"START/END"`` on the command line), for the messages.
    """
    if time is None:
        return None
    what = f"time={time!r}" if shown is None else f"period {shown!r}"
    example = ("e.g. ('2023-01-01', '2023-12-31'), None for an open end" if shown is None else
               "e.g. 2023-01-01/2023-12-31, a side left empty for an open end")
    if isinstance(time, (str, bytes)) or not isinstance(time, Sequence) or len(time) != 2:
        hint = " (a string: split it, e.g. '2023-01-01/2023-12-31'.split('/'))" if isinstance(time, str) else ""
        raise CatalogError(f"{what}: give (start, end) as ISO dates, {example}{hint}")
    a, b = _as_date(time[0], "start", what, example), _as_date(time[1], "end", what, example)
    if a is not None and b is not None and b < a:
        swapped = f"({str(time[1])!r}, {str(time[0])!r})" if shown is None else f"{time[1]}/{time[0]}"
        raise CatalogError(f"{what}: the end ({b.date()}) is before the start ({a.date()}); give the start first, "
                           f"e.g. {swapped}")
    return (a.strftime("%Y-%m-%d") if a is not None else "0000-01-01",
            b.strftime("%Y-%m-%d") if b is not None else _FAR_FUTURE)


def parse_period(text: str) -> tuple[str | None, str | None]:
    """``"START/END"`` (either side may be empty) as a checked ``(start, end)`` for ``time=``.

    >>> parse_period("2023-01-01/2023-12-31")
    ('2023-01-01', '2023-12-31')
    >>> parse_period("2023-06-01/")
    ('2023-06-01', None)
    >>> parse_period("2020-01-01/2010-01-01")
    Traceback (most recent call last):
    ...
    odatis_vre.catalog.CatalogError: period '2020-01-01/2010-01-01': the end (2010-01-01) is before the start (2020-01-01); give the start first, e.g. 2010-01-01/2020-01-01
    """
    if "/" not in text:
        raise CatalogError(f"period {text!r}: give START/END, e.g. 2023-01-01/2023-12-31 (leave a side empty for an "
                           f"open end: 2023-01-01/)")
    a, b = (x.strip() or None for x in text.split("/", 1))
    _as_time((a, b), shown=text)
    return (a, b)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"W,S,E,N"`` as a checked box for ``bbox=``.

    >>> parse_bbox("-10,43,-2,48")
    (-10.0, 43.0, -2.0, 48.0)
    """
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not _is_number(p))
        raise CatalogError(f"box {text!r}: {bad!r} is not a number; give west,south,east,north in degrees, "
                           f"e.g. -10,43,-2,48") from None
    box = _as_bbox(values, shown=text)
    assert box is not None
    return box


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _match(cat: Catalog, text: str | None = None, bbox: Sequence[float] | None = None, time: Sequence[Any] | None = None,
           variables: Sequence[str] | str | None = None, theme: str | None = None,
           data_centre: str | None = None) -> list[tuple[Any, Any, Any]]:
    """``[(part, rows, scores), ...]``: the entries of each file matching every criterion, with their scores."""
    import numpy as np

    from .catalog_index import THEMES as _T

    words = [w for w in re.split(r"[\s,;]+", text.lower()) if w] if text else []
    box = _as_bbox(bbox)
    period = _as_time(time)
    if isinstance(variables, str):
        variables = [variables]
    wanted = [v.lower() for v in variables or []]
    if theme is not None and theme not in THEMES:
        raise CatalogError(f"theme={theme!r}: not a theme of the catalogue (themes: {', '.join(THEMES)})")
    out = []
    for part, vis in zip(cat.parts, cat.visible):
        c = part.columns
        if not len(c):
            continue
        mask = c.ok & vis
        if theme is not None:
            mask &= c.theme == _T.index(theme)
        if data_centre:
            mask &= c.mask_with(data_centre.lower().strip(), "dc")
        score = np.zeros(len(c))
        for w in words:
            s = (3.0 * c.mask_with(w, "n") + 2.0 * c.mask_with(w, "t") + 1.5 * c.mask_with(w, "k")
                 + 1.5 * c.mask_with(w, "v") + 1.0 * c.mask_with(w, "d"))
            mask &= s > 0
            score += s
        for w in wanted:
            mask &= c.mask_with(w, "v")
        score += len(wanted)
        if box is not None:
            eb = c.bbox
            with np.errstate(invalid="ignore"):
                west, south = np.maximum(box[0], eb[:, 0]), np.maximum(box[1], eb[:, 1])
                east, north = np.minimum(box[2], eb[:, 2]), np.minimum(box[3], eb[:, 3])
                inter = (east >= west) & (north >= south)  # NaN (no box) compares False
                area = (box[2] - box[0]) * (box[3] - box[1])
                cover = np.ones(len(c)) if area <= 0 else np.maximum((east - west) * (north - south) / area, 1e-6)
                size = np.maximum((eb[:, 2] - eb[:, 0]) * (eb[:, 3] - eb[:, 1]), 1e-6)
            mask &= inter
            # regional datasets that fit the query box rank above global ones
            score += np.where(inter, 2.0 * cover + 1.0 / (1.0 + size / 1000.0), 0.0)
        if period is not None:
            p0, p1 = period[0].encode(), period[1].encode()
            mask &= (c.t0 != b"") & ~(c.t1 < p0) & ~(c.t0 > p1)
            score += 0.5
        rows = np.nonzero(mask)[0]
        out.append((part, rows, np.round(score[rows], 4)))
    return out


def search(text: str | None = None, bbox: Sequence[float] | None = None, time: Sequence[Any] | None = None,
           variables: Sequence[str] | str | None = None, theme: str | None = None, *,
           data_centre: str | None = None, catalog: Catalog | str | os.PathLike[str] | None = None,
           limit: int | None = None) -> list[dict[str, Any]]:
    """Entries matching every criterion given, best first.

    * ``text``: every word must appear in the name, title, keywords, variables, description,
      producer or data centre; matches in the name and title rank higher.
    * ``bbox=(W, S, E, N)``: the entry's box must intersect it; more coverage ranks higher.
    * ``time=(start, end)``: the entry's period must overlap it (``None`` = open end).
    * ``variables``: each must match a variable name or CF standard name (substring, case-insensitive).
    * ``theme``: one of ``physics``, ``biogeochemistry``, ``in_situ``, ``biology_imaging``.
    * ``data_centre``: part of the data centre's name (case-insensitive), e.g. ``"coriolis"``.

    Returns ``[{"name", "title", "theme", "score"}, ...]``. Searching 20 000 entries takes a few
    milliseconds (the index is columns of arrays; see :mod:`odatis_vre.catalog_index`).

    >>> hits = search("sea surface temperature", bbox=(-10, 43, -2, 48))   # doctest: +SKIP
    >>> hits[0]["name"]                                                    # doctest: +SKIP
    'sample_sst_zarr'
    """
    from .catalog_index import THEMES as _T

    cat = _cat(catalog)
    found = _match(cat, text, bbox, time, variables, theme, data_centre)
    parts, which, rows, scores = ranked(found, limit)
    names = [p.columns.names for p in parts]
    titles = [p.columns.titles for p in parts]
    themes = [p.columns.theme_names() for p in parts]
    return [{"name": names[k][i], "title": titles[k][i], "theme": themes[k][i], "score": s}
            for k, i, s in zip(which, rows, scores)]


_RANKS: dict[tuple[int, ...], tuple[tuple[Any, ...], list[Any]]] = {}


def _name_ranks(parts: Sequence[Any]) -> list[Any]:
    """For each file of a catalogue, each row's rank by name among all the files' names (memoised).

    Each file's index keeps its own names' ranks; a file's rank among the others' is where its names
    fall in their sorted names (:func:`numpy.searchsorted`), so no Python sort over all names is needed.
    """
    import numpy as np

    if len(parts) == 1:
        return [parts[0].columns.name_rank]
    key = tuple(id(p) for p in parts)
    hit = _RANKS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], parts)):
        return hit[1]
    ordered = [p.columns.sorted_names() for p in parts]
    out = []
    for a, part in enumerate(parts):
        rank = part.columns.name_rank.astype(np.int64)
        among = np.zeros(len(ordered[a]), np.int64)  # by sorted position in file a
        for b, other in enumerate(ordered):
            if b != a:  # a name in two files: the earlier file's copy ranks first
                among += np.searchsorted(other, ordered[a], side="right" if b < a else "left")
        out.append(rank + among[rank])
    if len(_RANKS) > 8:
        _RANKS.clear()
    _RANKS[key] = (tuple(parts), out)
    return out


def ranked(found: list[tuple[Any, Any, Any]], limit: int | None = None, *,
           first: list[Any] | None = None) -> tuple[list[Any], list[int], list[int], list[float]]:
    """:func:`_match`'s hits, best score first, then by name; at most ``limit``.

    Returns ``(parts, which, rows, scores)``: hit ``h`` is row ``rows[h]`` of ``parts[which[h]]``. One
    :func:`numpy.lexsort` over every file's hits (score, then the name's rank among all the files): no
    Python sort over thousands of hits. ``first`` (one boolean array per file, e.g. "local data") puts
    its rows before the others, whatever their score.

    >>> cat = open()                                                         # doctest: +SKIP
    >>> parts, which, rows, scores = ranked(_match(cat, "argo"), 2)          # doctest: +SKIP
    >>> [parts[k].columns.names[i] for k, i in zip(which, rows)], scores    # doctest: +SKIP
    (['argo_erddap_bgc', 'argo_erddap_index'], [7.5, 7.5])
    """
    import numpy as np

    parts = [part for part, _, _ in found]
    keep = [k for k, (_, rows, _) in enumerate(found) if len(rows)]
    if not keep:
        return parts, [], [], []
    ranks = _name_ranks(parts)
    which = np.concatenate([np.full(len(found[k][1]), k, np.int32) for k in keep])
    rows = np.concatenate([found[k][1] for k in keep])
    scores = np.concatenate([found[k][2] for k in keep])
    rank = np.concatenate([ranks[k][found[k][1]] for k in keep])
    if first is not None:
        lead = ~np.concatenate([first[k][found[k][1]] for k in keep])
        order = np.lexsort((rank, -scores, lead))
    else:
        order = np.lexsort((rank, -scores))
    if limit:
        order = order[:limit]
    return parts, which[order].tolist(), rows[order].tolist(), (scores[order] + 0.0).tolist()


def entries(theme: str | None = None, *, catalog: Catalog | str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every entry (optionally of one theme): ``[{"name", "title", "theme", "sample", "login", "loadable"}, ...]``.

    ``loadable`` is ``False`` for harvested records the VRE cannot open (their ``metadata.access.reason`` says why).
    """
    from .catalog_index import THEMES as _T

    cat = _cat(catalog)
    out = []
    for part, vis in zip(cat.parts, cat.visible):
        c = part.columns
        for i, name in enumerate(c.names):
            if not vis[i]:
                continue
            t = _T[int(c.theme[i])] if int(c.theme[i]) >= 0 else None
            if theme is None or t == theme:
                out.append({"name": name, "title": c.titles[i], "theme": t, "sample": bool(c.sample[i]),
                            "login": bool(c.login[i]), "loadable": not bool(c.link[i])})
    return out


# ----------------------------------------------------------------------------- describe & cite

def describe(name: str, *, catalog: Catalog | str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Everything known about an entry: description, driver, args, parameters, metadata, problems.

    >>> d = describe("sample_chl")                                # doctest: +SKIP
    >>> d["metadata"]["variables"][0]["standard_name"]            # doctest: +SKIP
    'mass_concentration_of_chlorophyll_a_in_sea_water'
    """
    cat = _cat(catalog)
    raw = cat.entry(name)
    if not isinstance(raw, dict):
        raw = {"invalid": raw}
    return {"name": name, "description": str(raw.get("description") or "").strip(), "driver": raw.get("driver"),
            "args": raw.get("args") or {}, "parameters": raw.get("parameters") or {},
            "metadata": raw.get("metadata") or {}, "problems": validate_entry(name, raw)}


def _year(md: dict[str, Any]) -> str:
    m = re.search(r"\((\d{4})\)", str(md.get("citation") or ""))
    if m:
        return m.group(1)
    tr = md.get("time_range") or [None]
    return str(tr[0])[:4] if tr and tr[0] else "n.d."


def cite(name: str, style: str = "text", *, catalog: Catalog | str | os.PathLike[str] | None = None) -> str:
    """How to cite an entry: ``style='text'`` (the provider's recommended sentence) or ``'bibtex'``.

    >>> print(cite("argo_gdac_float", "bibtex"))      # doctest: +SKIP
    @misc{argo_gdac_float,
      title = {Argo float data and metadata from the Global Data Assembly Centre (one float)},
    ...
    """
    cat = _cat(catalog)
    raw = cat.entry(name)
    md = raw.get("metadata") if isinstance(raw, dict) and isinstance(raw.get("metadata"), dict) else {}
    citation = md.get("citation")
    if not citation:
        raise CatalogError(f"entry {name!r}: field metadata.citation is missing, so it cannot be cited; add the "
                           f"provider's recommended citation to {cat.path}")
    doi = md.get("doi")
    if style == "text":
        text = str(citation).strip()
        if doi and doi not in text:
            text += f" https://doi.org/{doi}"
        return text
    if style != "bibtex":
        raise CatalogError(f"cite(style={style!r}): use 'text' or 'bibtex'")
    key = re.sub(r"[^A-Za-z0-9_]", "_", name)

    def esc(s: Any) -> str:
        return str(s).replace("{", "\\{").replace("}", "\\}")

    fields = [("title", md.get("title")), ("author", "{" + esc(md.get("producer")) + "}" if md.get("producer") else None),
              ("publisher", md.get("data_centre")), ("year", _year(md)), ("doi", doi),
              ("url", f"https://doi.org/{doi}" if doi else md.get("landing_page")),
              ("note", f"Licence: {md.get('licence')}" if md.get("licence") else None), ("howpublished", citation)]
    body = ",\n".join(f"  {k} = {{{v if k == 'author' else esc(v)}}}" for k, v in fields if v)
    return f"@misc{{{key},\n{body}\n}}"


# ----------------------------------------------------------------------------- load

_LAT = ("lat", "latitude", "LATITUDE", "nav_lat", "y")
_LON = ("lon", "longitude", "LONGITUDE", "nav_lon", "x")
_TIME = ("time", "TIME", "JULD", "date")


def _find(ds: Any, names: Sequence[str]) -> str | None:
    for n in names:
        if n in ds.coords or n in getattr(ds, "variables", {}):
            return n
    return None


def subset_xarray(ds: Any, bbox: Sequence[float] | None = None, time: Sequence[Any] | None = None,
                  variables: Sequence[str] | None = None) -> Any:
    """Cut an :class:`xarray.Dataset` to a box, a period and variables, lazily.

    Gridded data (1-D ``lat``/``lon``/``time`` dimension coordinates) are sliced with ``sel``;
    collections (positions along a profile or station dimension) are indexed with the matching
    positions (only the coordinates are read).

    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"t": (("lat", "lon"), np.zeros((3, 4)))}, coords={"lat": [40., 41, 42], "lon": [-3., -2, -1, 0]})
    >>> dict(subset_xarray(ds, bbox=(-2, 41, 0, 42)).sizes)
    {'lat': 2, 'lon': 3}
    """
    import numpy as np
    import pandas as pd

    if variables:
        missing = [v for v in variables if v not in ds.data_vars]
        if missing:
            raise CatalogError(f"variables={list(variables)!r}: {', '.join(missing)} not in the dataset "
                               f"(it has {', '.join(map(str, ds.data_vars))})")
        ds = ds[list(variables)]
    box = _as_bbox(bbox)
    if box is not None:
        lat, lon = _find(ds, _LAT), _find(ds, _LON)
        if lat is None or lon is None:
            raise CatalogError("bbox: this dataset has no latitude/longitude coordinate to cut on")
        w, s, e, n = box
        if ds[lat].ndim == 1 and ds[lat].dims == (lat,) and ds[lon].dims == (lon,):
            la = ds[lat].values
            ds = ds.sel({lat: slice(s, n) if la[0] <= la[-1] else slice(n, s)})
            lo = ds[lon].values
            ds = ds.sel({lon: slice(w, e) if lo[0] <= lo[-1] else slice(e, w)})
        elif ds[lat].ndim == 1 and ds[lat].dims == ds[lon].dims:
            la, lo = np.asarray(ds[lat].values), np.asarray(ds[lon].values)
            keep = np.nonzero((la >= s) & (la <= n) & (lo >= w) & (lo <= e))[0]
            ds = ds.isel({ds[lat].dims[0]: keep})
        elif ds[lat].ndim == 0:
            la, lo = float(ds[lat]), float(ds[lon])
            if not (s <= la <= n and w <= lo <= e):
                ds = ds.isel({d: slice(0, 0) for d in ds.dims})
    period = _as_time(time) if time is not None else None
    if period is not None:
        tname = _find(ds, _TIME)
        if tname is None:
            raise CatalogError("time: this dataset has no time coordinate to cut on")
        t0 = None if period[0] == "0000-01-01" else pd.Timestamp(time[0])
        t1 = None if period[1] == _FAR_FUTURE else pd.Timestamp(time[1])
        if t1 is not None and len(str(time[1])) <= 10:
            t1 = t1 + pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)  # a date means the whole day
        tv = ds[tname]
        if tv.dims == (tname,):
            ds = ds.sel({tname: slice(t0, t1)})
        elif tv.ndim == 1:
            v = pd.to_datetime(np.asarray(tv.values))
            keep = np.ones(v.size, bool)
            if t0 is not None:
                keep &= v >= t0
            if t1 is not None:
                keep &= v <= t1
            ds = ds.isel({tv.dims[0]: np.nonzero(keep)[0]})
    return ds


def _subset_frame(df: Any, bbox: Sequence[float] | None, time: Sequence[Any] | None,
                  variables: Sequence[str] | None) -> Any:
    import pandas as pd

    box = _as_bbox(bbox)
    if box is not None:
        lat = next((c for c in _LAT if c in df.columns), None)
        lon = next((c for c in _LON if c in df.columns), None)
        if lat is None or lon is None:
            raise CatalogError("bbox: this table has no latitude/longitude column to cut on")
        w, s, e, n = box
        df = df[(df[lat] >= s) & (df[lat] <= n) & (df[lon] >= w) & (df[lon] <= e)]
    if time is not None:
        _as_time(time)
        tcol = next((c for c in _TIME if c in df.columns), None)
        if tcol is None:
            raise CatalogError("time: this table has no time column to cut on")
        if time[0] is not None:
            df = df[df[tcol] >= pd.Timestamp(time[0], tz="UTC")]
        if time[1] is not None:
            t1 = pd.Timestamp(time[1], tz="UTC")
            if len(str(time[1])) <= 10:
                t1 = t1 + pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)  # a date means the whole day, as for grids
            df = df[df[tcol] <= t1]
    if variables:
        keep = [c for c in df.columns if c in variables or c in (*_LAT, *_LON, *_TIME, "platform_number", "file")]
        df = df[keep]
    return df


def _make_source(cat: Catalog, name: str, raw: dict[str, Any], params: dict[str, Any]) -> Any:
    """The intake DataSource of one entry, built alone so that bad neighbours cannot break it."""
    from intake.catalog.local import CatalogParser

    parser = CatalogParser({"sources": {name: copy.deepcopy(raw)}}, context={"root": str(cat.directory)})
    if not parser.ok:
        raise CatalogError(f"entry {name!r}: intake cannot read it: {'; '.join(parser.errors)}")
    entry = parser.data["data_sources"][0]
    declared = {p.name for p in entry._user_parameters}
    unknown = set(params) - declared
    if unknown:
        raise CatalogError(f"entry {name!r}: unknown parameter(s) {', '.join(sorted(unknown))}; this entry takes "
                           f"{', '.join(sorted(declared)) or 'no parameters'} (plus bbox=, time=, variables=)")
    try:
        return entry.get(**params)
    except Exception as exc:
        raise CatalogError(f"entry {name!r}: field driver ({raw.get('driver')!r}) could not build the source: "
                           f"{type(exc).__name__}: {exc}") from None


def _source_url(src: Any) -> str | None:
    kw = getattr(src, "_captured_init_kwargs", {}) or {}
    for key in ("urlpath", "server"):
        if isinstance(kw.get(key), str):
            if key == "server":
                return f"{kw['server']}/tabledap/{kw.get('dataset_id')}"
            return kw[key]
    if hasattr(src, "api_url"):  # SEANOE
        return src.api_url()
    if hasattr(src, "filters") and hasattr(src, "url"):  # OBIS
        return src.url()
    if kw.get("dataset_id"):
        return f"copernicusmarine://{kw['dataset_id']}"
    return None


def load(name: str, *, catalog: Catalog | str | os.PathLike[str] | None = None, bbox: Sequence[float] | None = None,
         time: Sequence[Any] | None = None, variables: Sequence[str] | None = None,
         mirror: dict[str, str] | None = None, **params: Any) -> Any:
    """Open an entry lazily, cut to ``bbox=(W, S, E, N)``, ``time=(start, end)`` and ``variables``.

    Gridded and profile entries return a lazy :class:`xarray.Dataset` (dask arrays); Argo indexes
    and ERDDAP tables a lazy dask DataFrame (ERDDAP cuts the subset on the server, one request per
    time window); files downloaded whole (SEANOE tables) and OBIS occurrences a pandas DataFrame.
    Other keyword arguments are the entry's own parameters (e.g.
    ``wmo='6901234'``). When the entry declares ``west/south/east/north/start/end`` parameters,
    the box and period are sent to the service; otherwise they are applied after opening.
    ``mirror`` (or ``$ODATIS_VRE_MIRROR``) maps remote roots to local copies.

    Every successful load is recorded by :func:`odatis_vre.provenance.record`.

    >>> ds = load("sample_sst_zarr", bbox=(-6, 44, -1, 48), time=("2023-06-01", "2023-08-31"))  # doctest: +SKIP
    >>> ds.analysed_sst.dims                                                                     # doctest: +SKIP
    ('time', 'lat', 'lon')
    """
    from . import mirror as mirror_mod

    cat = _cat(catalog)
    raw = cat.entry(name)
    access = (raw.get("metadata") or {}).get("access") if isinstance(raw, dict) else None
    if isinstance(access, dict) and access.get("protocol") == "link":
        from .harvest import LinkOnlySource

        raise CatalogError(f"entry {name!r}: " + LinkOnlySource(access.get("url"), str(access.get("reason") or
                           "no data service")).message())
    problems = validate_entry(name, raw)
    if problems:
        raise CatalogError(f"entry {name!r} in {cat.path} is invalid:\n  - " + "\n  - ".join(problems)
                           + "\nFix these fields; `odatis-vre catalog check` re-checks the whole catalogue.")
    md = raw["metadata"]
    declared = set((raw.get("parameters") or {}).keys())
    box = _as_bbox(bbox)
    period = _as_time(time)
    pushed_box = pushed_time = False
    if box is not None and {"west", "south", "east", "north"} <= declared:
        params.update(dict(zip(("west", "south", "east", "north"), box)))
        pushed_box = True
    if period is not None and {"start", "end"} <= declared:
        params.update(start=str(time[0]) if time[0] is not None else "", end=str(time[1]) if time[1] is not None else "")
        pushed_time = True
    src = _make_source(cat, name, raw, params)
    # send remote roots to their mirror, and re-make the source with the new address
    kw = dict(getattr(src, "_captured_init_kwargs", {}) or {})
    m = mirror_mod.mapping(mirror)
    remake = False
    if m and isinstance(kw.get("urlpath"), str) and mirror_mod.rewrite(kw["urlpath"], m) != kw["urlpath"]:
        kw["urlpath"] = mirror_mod.rewrite(kw["urlpath"], m)
        remake = True
    if m and "mirror" in inspect.signature(type(src).__init__).parameters:  # our drivers rewrite their own URLs
        kw["mirror"] = m
        remake = True
    if remake:
        src = type(src)(*getattr(src, "_captured_init_args", ()), **kw)
    url = _source_url(src)
    try:
        if getattr(src, "container", None) == "dataframe" and getattr(src, "eager", False):
            obj = src.read()  # a table read whole anyway (downloaded file, paged API): pandas
        else:
            obj = src.to_dask()
    except CatalogError:
        raise
    except Exception as exc:
        raise _access_error(name, md, url, exc) from None
    if hasattr(obj, "data_vars"):
        obj = subset_xarray(obj, None if pushed_box else box, None if pushed_time else time, variables)
    else:
        obj = _subset_frame(obj, None if pushed_box else box, None if pushed_time else time, variables)
    provenance.record(name, title=md.get("title"), doi=md.get("doi"), url=md.get("landing_page") or url,
                      args={"bbox": bbox, "time": time, "variables": variables})
    return obj


def _access_error(name: str, md: dict[str, Any], url: str | None, exc: Exception) -> CatalogError:
    from .catalog_drivers import AccessError

    access = md.get("access") or {}
    text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, AccessError) else str(exc)
    if access.get("protocol") == "copernicusmarine":
        return CatalogError(f"entry {name!r}: field access (copernicusmarine, login needed): {text}")
    local = url if url and "://" not in url and "*" not in url else None
    if local and Path(local).exists():  # a file that is there but cannot be read: say what is wrong with it
        from . import conventions

        try:
            conventions.check_readable(local)
        except conventions.UnreadableData as err:
            return CatalogError(f"entry {name!r}: field args.urlpath: {err}")
    if md.get("sample"):
        return CatalogError(f"entry {name!r}: field args.urlpath: cannot open {url} ({text}). Sample data are "
                            f"generated by `odatis-vre data samples` (into the catalogue's data/ folder).")
    field = {"seanoe": "args.doi", "obis-api": "args.api", "erddap-tabledap": "args.server"}.get(
        str(access.get("protocol")), "args.urlpath")
    return CatalogError(f"entry {name!r}: field {field}: cannot open {url}: {text}. Check the address and "
                        f"the network, or set $ODATIS_VRE_MIRROR to a local copy (docs/catalogue.md).")


# ----------------------------------------------------------------------------- online check

def probe_url(name: str, raw: dict[str, Any], *, timeout: float = 10.0, mirror: dict[str, str] | None = None,
              catalog_dir: Path | None = None) -> tuple[bool, str]:
    """Probe an entry's endpoint (after the mirror): ``(ok, message)``. Sample entries check their files."""
    import urllib.request

    from . import mirror as mirror_mod

    md = raw.get("metadata") or {}
    access = md.get("access") or {}
    args = raw.get("args") or {}
    proto = access.get("protocol")
    if proto in ("file-netcdf", "file-zarr"):
        import glob

        path = str(args.get("urlpath", "")).replace("{{ CATALOG_DIR }}", str(catalog_dir or default_path().parent))
        n = len(glob.glob(path))
        return (n > 0, f"{n} local file(s) match {path}" if n else f"no local file matches {path}; run `odatis-vre data samples`")
    if proto == "copernicusmarine":
        local = mirror_mod.rewrite(f"copernicusmarine://{args.get('dataset_id')}", mirror)
        if local.startswith("copernicusmarine://"):
            try:
                import copernicusmarine  # type: ignore[import-not-found]  # noqa: F401
            except ImportError:
                return (False, "copernicusmarine toolbox not installed (pip install copernicusmarine; then "
                               "`copernicusmarine login`)")
            return (True, "toolbox installed; dataset access needs `copernicusmarine login`")
        url = local.rstrip("/") + "/.zmetadata"
    elif proto == "erddap-tabledap":
        url = f"{args.get('server')}/tabledap/{args.get('dataset_id')}.das"
    elif proto in ("opendap", "erddap-griddap"):
        url = str(args.get("urlpath")) + ".das"
    elif proto == "link":
        return (False, f"not loadable from the VRE: {access.get('reason')} ({access.get('url') or 'no link'})")
    elif proto == "seanoe":
        from .catalog_drivers import SEANOE_API, AccessError, seanoe_record_id

        try:
            url = f"{str(args.get('api') or SEANOE_API).rstrip('/')}/find-by-id/{seanoe_record_id(args.get('doi', ''))}"
        except AccessError as exc:
            return (False, str(exc))
    elif proto == "obis-api":
        from .catalog_drivers import OBIS_API

        url = f"{str(args.get('api') or OBIS_API).rstrip('/')}/occurrence?size=1"
    else:
        url = str(args.get("urlpath"))
        for pname, p in (raw.get("parameters") or {}).items():
            url = url.replace("{{ %s }}" % pname, str(p.get("default", "")))
    url = mirror_mod.rewrite(url, mirror)
    req = urllib.request.Request(url, method="HEAD" if proto in ("https-netcdf", "https-csv-index") else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return (True, f"HTTP {resp.status} {url}")
    except Exception as exc:  # report, never raise: one dead endpoint must not hide the others
        return (False, f"{url}: {getattr(exc, 'code', '')} {getattr(exc, 'reason', exc)}".replace("  ", " "))


def check_online(catalog: Catalog | str | os.PathLike[str] | None = None, *, timeout: float = 10.0,
                 mirror: dict[str, str] | None = None, workers: int = 8) -> dict[str, tuple[bool, str]]:
    """Probe every entry's endpoint concurrently: ``{name: (ok, message)}``."""
    from concurrent.futures import ThreadPoolExecutor

    cat = _cat(catalog)
    names = [n for n, r in cat.raw.items() if isinstance(r, dict)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda n: probe_url(n, cat.raw[n], timeout=timeout, mirror=mirror, catalog_dir=cat.directory), names))
    return dict(zip(names, results))
