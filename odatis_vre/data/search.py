"""Search over the catalogue's columns: which entries of each file match, with what score, in what order.

Nothing here is done per entry in Python: every criterion is a numpy mask over a file's
:class:`~odatis_vre.data.catalog_index.Columns`, and the hits of every file are ordered by one
:func:`numpy.lexsort`. :func:`odatis_vre.catalog.search` and the explorer's picker are built on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .catalog_index import THEMES
from .query import CatalogError, as_bbox, as_time


def match(
    parts: Sequence[Any],
    visible: Sequence[Any],
    text: str | None = None,
    bbox: Sequence[float] | None = None,
    time: Sequence[Any] | None = None,
    variables: Sequence[str] | str | None = None,
    theme: str | None = None,
    data_centre: str | None = None,
) -> list[tuple[Any, Any, Any]]:
    """``[(part, rows, scores), ...]``: the entries of each file (``parts``, each with its ``visible`` rows: an
    entry of an earlier file hides one of the same name) matching every criterion, with their scores."""

    words = [w for w in re.split(r"[\s,;]+", text.lower()) if w] if text else []
    box = as_bbox(bbox)
    period = as_time(time)
    if isinstance(variables, str):
        variables = [variables]
    wanted = [v.lower() for v in variables or []]
    if theme is not None and theme not in THEMES:
        raise CatalogError(f"theme={theme!r}: not a theme of the catalogue (themes: {', '.join(THEMES)})")
    out = []
    for part, vis in zip(parts, visible):
        c = part.columns
        if not len(c):
            continue
        mask = c.ok & vis
        if theme is not None:
            mask &= c.theme == THEMES.index(theme)
        if data_centre:
            mask &= c.mask_with(data_centre.lower().strip(), "dc")
        score = np.zeros(len(c))
        for w in words:
            s = (
                3.0 * c.mask_with(w, "n")
                + 2.0 * c.mask_with(w, "t")
                + 1.5 * c.mask_with(w, "k")
                + 1.5 * c.mask_with(w, "v")
                + 1.0 * c.mask_with(w, "d")
            )
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


_RANKS: dict[tuple[int, ...], tuple[tuple[Any, ...], list[Any]]] = {}


def name_ranks(parts: Sequence[Any]) -> list[Any]:
    """For each file of a catalogue, each row's rank by name among all the files' names (memoised).

    Each file's index keeps its own names' ranks; a file's rank among the others' is where its names
    fall in their sorted names (:func:`numpy.searchsorted`), so no Python sort over all names is needed.
    """

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


def ranked(
    found: list[tuple[Any, Any, Any]], limit: int | None = None, *, first: list[Any] | None = None
) -> tuple[list[Any], list[int], list[int], list[float]]:
    """:func:`match`'s hits, best score first, then by name; at most ``limit``.

    Returns ``(parts, which, rows, scores)``: hit ``h`` is row ``rows[h]`` of ``parts[which[h]]``. One
    :func:`numpy.lexsort` over every file's hits (score, then the name's rank among all the files): no
    Python sort over thousands of hits. ``first`` (one boolean array per file, e.g. "local data") puts
    its rows before the others, whatever their score.

    >>> from odatis_vre import catalog
    >>> cat = catalog.open()                                                        # doctest: +SKIP
    >>> parts, which, rows, scores = ranked(match(cat.parts, cat.visible, "argo"), 2)  # doctest: +SKIP
    >>> [parts[k].columns.names[i] for k, i in zip(which, rows)], scores    # doctest: +SKIP
    (['argo_erddap_bgc', 'argo_erddap_index'], [7.5, 7.5])
    """

    parts = [part for part, _, _ in found]
    keep = [k for k, (_, rows, _) in enumerate(found) if len(rows)]
    if not keep:
        return parts, [], [], []
    ranks = name_ranks(parts)
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
