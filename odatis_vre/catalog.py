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
import os
import re
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import provenance
from .data import probe as _probe
from .data import search as _search
from .data.cache import ENV_CACHE as ENV_CACHE
from .data.cache import cache_dir as _cache_dir
from .data.entries import ENV_CATALOG as ENV_CATALOG
from .data.entries import default_path as default_path
from .data.entries import parse_catalogue as _parse_yaml
from .data.entries import schema as schema
from .data.entries import validate_entry as validate_entry
from .data.query import (
    CatalogError,
    subset_xarray,
)
from .data.query import (
    as_bbox as _as_bbox,
)
from .data.query import (
    as_time as _as_time,
)
from .data.query import (
    parse_bbox as parse_bbox,
)
from .data.query import (
    parse_period as parse_period,
)
from .data.query import (
    subset_frame as _subset_frame,
)
from .data.search import ranked as ranked

REQUIRED = (
    "title",
    "theme",
    "producer",
    "data_centre",
    "licence",
    "citation",
    "bbox",
    "time_range",
    "variables",
    "access",
)
THEMES = ("physics", "biogeochemistry", "in_situ", "biology_imaging")


# ----------------------------------------------------------------------------- opening


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping (a YAML section), else an empty one: a wrong section just matches nothing.

    >>> _mapping({"title": "t"}), _mapping(None), _mapping(["not", "a", "mapping"])
    ({'title': 't'}, {}, {})
    """
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    """``value`` if it is a list (a YAML sequence), else an empty one."""
    return value if isinstance(value, list) else []


def _index_entry(name: str, raw: Any) -> dict[str, Any]:
    """What search needs about an entry (one row of :class:`odatis_vre.data.catalog_index.Columns`)."""
    from .data.catalog_index import entry_fields

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
            raise CatalogError(
                f"no entry named {name!r} in {self.path}"
                + (f"; did you mean {', '.join(close)}?" if close else "")
                + " (`odatis-vre catalog list` shows them all)"
            )
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

    Each file is opened through its search index (:mod:`odatis_vre.data.catalog_index`): the index written
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
        raise CatalogError(
            f"{p}: no such catalogue file (set ${ENV_CATALOG}, or pass the path of an intake YAML file)"
        ) from None
    main = _part(p, use_cache)
    cat = Catalog(p, main.meta, [main])
    return _with_includes(cat, _includes(main.includes), use_cache=use_cache)


_PARTS: dict[Path, Any] = {}


def _part(path: Path, use_cache: bool, *, include: bool = False) -> Any:
    """One catalogue file opened through its index (memoised per process while the file is unchanged)."""
    from .data.catalog_index import file_key, load_part

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

    from .data.catalog_index import Columns, Part

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
            warnings.warn(
                f"catalogue {cat.path}: the included catalogue {ref} could not be read ({exc}); "
                "its datasets are left out until it answers",
                stacklevel=3,
            )
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


def _match(
    cat: Catalog,
    text: str | None = None,
    bbox: Sequence[float] | None = None,
    time: Sequence[Any] | None = None,
    variables: Sequence[str] | str | None = None,
    theme: str | None = None,
    data_centre: str | None = None,
) -> list[tuple[Any, Any, Any]]:
    """``[(part, rows, scores), ...]``: the entries of each file matching every criterion, with their scores
    (:func:`odatis_vre.data.search.match` over the catalogue's files)."""
    return _search.match(cat.parts, cat.visible, text, bbox, time, variables, theme, data_centre)


def search(
    text: str | None = None,
    bbox: Sequence[float] | None = None,
    time: Sequence[Any] | None = None,
    variables: Sequence[str] | str | None = None,
    theme: str | None = None,
    *,
    data_centre: str | None = None,
    catalog: Catalog | str | os.PathLike[str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Entries matching every criterion given, best first.

    * ``text``: every word must appear in the name, title, keywords, variables, description,
      producer or data centre; matches in the name and title rank higher.
    * ``bbox=(W, S, E, N)``: the entry's box must intersect it; more coverage ranks higher.
    * ``time=(start, end)``: the entry's period must overlap it (``None`` = open end).
    * ``variables``: each must match a variable name or CF standard name (substring, case-insensitive).
    * ``theme``: one of ``physics``, ``biogeochemistry``, ``in_situ``, ``biology_imaging``.
    * ``data_centre``: part of the data centre's name (case-insensitive), e.g. ``"coriolis"``.

    Returns ``[{"name", "title", "theme", "score"}, ...]``. Searching 20 000 entries takes a few
    milliseconds (the index is columns of arrays; see :mod:`odatis_vre.data.catalog_index`).

    >>> hits = search("sea surface temperature", bbox=(-10, 43, -2, 48))   # doctest: +SKIP
    >>> hits[0]["name"]                                                    # doctest: +SKIP
    'sample_sst_zarr'
    """

    cat = _cat(catalog)
    found = _match(cat, text, bbox, time, variables, theme, data_centre)
    parts, which, rows, scores = ranked(found, limit)
    names = [p.columns.names for p in parts]
    titles = [p.columns.titles for p in parts]
    themes = [p.columns.theme_names() for p in parts]
    return [
        {"name": names[k][i], "title": titles[k][i], "theme": themes[k][i], "score": s}
        for k, i, s in zip(which, rows, scores)
    ]


def entries(
    theme: str | None = None, *, catalog: Catalog | str | os.PathLike[str] | None = None
) -> list[dict[str, Any]]:
    """Every entry (optionally of one theme): ``[{"name", "title", "theme", "sample", "login", "loadable"}, ...]``.

    ``loadable`` is ``False`` for harvested records the VRE cannot open (their ``metadata.access.reason`` says why).
    """
    from .data.catalog_index import THEMES as _T

    cat = _cat(catalog)
    out = []
    for part, vis in zip(cat.parts, cat.visible):
        c = part.columns
        for i, name in enumerate(c.names):
            if not vis[i]:
                continue
            t = _T[int(c.theme[i])] if int(c.theme[i]) >= 0 else None
            if theme is None or t == theme:
                out.append(
                    {
                        "name": name,
                        "title": c.titles[i],
                        "theme": t,
                        "sample": bool(c.sample[i]),
                        "login": bool(c.login[i]),
                        "loadable": not bool(c.link[i]),
                    }
                )
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
    return {
        "name": name,
        "description": str(raw.get("description") or "").strip(),
        "driver": raw.get("driver"),
        "args": raw.get("args") or {},
        "parameters": raw.get("parameters") or {},
        "metadata": raw.get("metadata") or {},
        "problems": validate_entry(name, raw),
    }


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
    md = _mapping(raw.get("metadata") if isinstance(raw, dict) else None)
    citation = md.get("citation")
    if not citation:
        raise CatalogError(
            f"entry {name!r}: field metadata.citation is missing, so it cannot be cited; add the "
            f"provider's recommended citation to {cat.path}"
        )
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

    fields = [
        ("title", md.get("title")),
        ("author", "{" + esc(md.get("producer")) + "}" if md.get("producer") else None),
        ("publisher", md.get("data_centre")),
        ("year", _year(md)),
        ("doi", doi),
        ("url", f"https://doi.org/{doi}" if doi else md.get("landing_page")),
        ("note", f"Licence: {md.get('licence')}" if md.get("licence") else None),
        ("howpublished", citation),
    ]
    body = ",\n".join(f"  {k} = {{{v if k == 'author' else esc(v)}}}" for k, v in fields if v)
    return f"@misc{{{key},\n{body}\n}}"


# ----------------------------------------------------------------------------- load


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
        raise CatalogError(
            f"entry {name!r}: unknown parameter(s) {', '.join(sorted(unknown))}; this entry takes "
            f"{', '.join(sorted(declared)) or 'no parameters'} (plus bbox=, time=, variables=)"
        )
    try:
        return entry.get(**params)
    except Exception as exc:
        raise CatalogError(
            f"entry {name!r}: field driver ({raw.get('driver')!r}) could not build the source: "
            f"{type(exc).__name__}: {exc}"
        ) from None


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


def load(
    name: str,
    *,
    catalog: Catalog | str | os.PathLike[str] | None = None,
    bbox: Sequence[float] | None = None,
    time: Sequence[Any] | None = None,
    variables: Sequence[str] | None = None,
    mirror: dict[str, str] | None = None,
    **params: Any,
) -> Any:
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
    from .data import mirror as mirror_mod

    cat = _cat(catalog)
    raw = cat.entry(name)
    access = (raw.get("metadata") or {}).get("access") if isinstance(raw, dict) else None
    if isinstance(access, dict) and access.get("protocol") == "link":
        from .data.drivers import LinkOnlySource

        raise CatalogError(
            f"entry {name!r}: "
            + LinkOnlySource(access.get("url"), str(access.get("reason") or "no data service")).message()
        )
    problems = validate_entry(name, raw)
    if problems:
        raise CatalogError(
            f"entry {name!r} in {cat.path} is invalid:\n  - "
            + "\n  - ".join(problems)
            + "\nFix these fields; `odatis-vre catalog check` re-checks the whole catalogue."
        )
    md = raw["metadata"]
    declared = set((raw.get("parameters") or {}).keys())
    box = _as_bbox(bbox)
    period = _as_time(time)
    pushed_box = pushed_time = False
    if box is not None and {"west", "south", "east", "north"} <= declared:
        params.update(dict(zip(("west", "south", "east", "north"), box)))
        pushed_box = True
    if period is not None and time is not None and {"start", "end"} <= declared:
        params.update(
            start=str(time[0]) if time[0] is not None else "", end=str(time[1]) if time[1] is not None else ""
        )
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
    provenance.record(
        name,
        title=md.get("title"),
        doi=md.get("doi"),
        url=md.get("landing_page") or url,
        args={"bbox": bbox, "time": time, "variables": variables},
    )
    return obj


def _access_error(name: str, md: dict[str, Any], url: str | None, exc: Exception) -> CatalogError:
    from .data.drivers import AccessError

    access = md.get("access") or {}
    text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, AccessError) else str(exc)
    if access.get("protocol") == "copernicusmarine":
        return CatalogError(f"entry {name!r}: field access (copernicusmarine, login needed): {text}")
    local = url if url and "://" not in url and "*" not in url else None
    if local and Path(local).exists():  # a file that is there but cannot be read: say what is wrong with it
        from .publishing import conventions

        try:
            conventions.check_readable(local)
        except conventions.UnreadableData as err:
            return CatalogError(f"entry {name!r}: field args.urlpath: {err}")
    if md.get("sample"):
        return CatalogError(
            f"entry {name!r}: field args.urlpath: cannot open {url} ({text}). Sample data are "
            f"generated by `odatis-vre data samples` (into the catalogue's data/ folder)."
        )
    field = {"seanoe": "args.doi", "obis-api": "args.api", "erddap-tabledap": "args.server"}.get(
        str(access.get("protocol")), "args.urlpath"
    )
    return CatalogError(
        f"entry {name!r}: field {field}: cannot open {url}: {text}. Check the address and "
        f"the network, or set $ODATIS_VRE_MIRROR to a local copy (docs/catalogue.md)."
    )


# ----------------------------------------------------------------------------- online check


def probe_url(
    name: str,
    raw: dict[str, Any],
    *,
    timeout: float = 10.0,
    mirror: dict[str, str] | None = None,
    catalog_dir: Path | None = None,
) -> tuple[bool, str]:
    """Probe an entry's endpoint (after the mirror): ``(ok, message)``; local files are looked for in
    ``catalog_dir`` (default: the pole's catalogue folder). See :func:`odatis_vre.data.probe.probe_url`."""
    return _probe.probe_url(name, raw, timeout=timeout, mirror=mirror, catalog_dir=catalog_dir or default_path().parent)


def check_online(
    catalog: Catalog | str | os.PathLike[str] | None = None,
    *,
    timeout: float = 10.0,
    mirror: dict[str, str] | None = None,
    workers: int = 8,
) -> dict[str, tuple[bool, str]]:
    """Probe every entry's endpoint concurrently: ``{name: (ok, message)}``."""
    from concurrent.futures import ThreadPoolExecutor

    cat = _cat(catalog)
    names = [n for n, r in cat.raw.items() if isinstance(r, dict)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            pool.map(
                lambda n: probe_url(n, cat.raw[n], timeout=timeout, mirror=mirror, catalog_dir=cat.directory), names
            )
        )
    return dict(zip(names, results))
