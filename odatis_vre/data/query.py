"""What a request for part of the data means: a box, a period, variables — checked, and applied to a dataset.

The catalogue's search and load (:mod:`odatis_vre.catalog`) and the drivers that cut mirrored data
(:mod:`odatis_vre.data.drivers`) share these checks, so a wrong box or period gets the same message everywhere.

>>> parse_bbox("-10,43,-2,48")
(-10.0, 43.0, -2.0, 48.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

FAR_FUTURE = "9999-12-31"


class CatalogError(ValueError):
    """Something is wrong with the catalogue or one of its entries (the message names both)."""


def as_bbox(bbox: Sequence[float] | None, shown: str | None = None) -> tuple[float, float, float, float] | None:
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
        raise CatalogError(f"{what}: give four numbers {order}, not {len(values)}; {example}")
    w, s, e, n = values
    if not all(math.isfinite(v) for v in values):
        raise CatalogError(f"{what}: every corner must be a finite number of degrees; {example}")
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        raise CatalogError(f"{what}: latitudes (south, north) must lie within -90..90 degrees; {example}")
    if s > n:
        raise CatalogError(
            f"{what}: south ({s:g}) is north of north ({n:g}); the order is (west, south, "
            f"east, north): swap them, {example}"
        )
    if not (-180 <= w <= 360 and -180 <= e <= 360):
        raise CatalogError(f"{what}: longitudes (west, east) must lie within -180..180 (or 0..360) degrees; {example}")
    if w > e:
        raise CatalogError(
            f"{what}: west ({w:g}) is east of east ({e:g}); the order is (west, south, east, "
            f"north). A box across the 180th meridian is two boxes: search ({w:g}, {s:g}, 180, {n:g}) "
            f"and (-180, {s:g}, {e:g}, {n:g})".replace(", ", "," if shown else ", ")
        )
    return (w, s, e, n)


def as_date(value: Any, which: str, what: str, example: str) -> Any:
    """A pandas Timestamp (UTC, no time zone) from an ISO string, date or datetime; None for an open end."""
    import pandas as pd

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, OverflowError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise CatalogError(
            f"{what}: the {which} {value!r} is not a date; write dates as ISO 8601 (YYYY-MM-DD, or "
            f"YYYY-MM-DDTHH:MM), {example}"
        )
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def as_time(time: Sequence[Any] | None, shown: str | None = None) -> tuple[str, str] | None:
    """``(start, end)`` as ISO dates (open ends as far past/future), or :class:`CatalogError` naming the problem.

    ``shown``: how the user wrote the period (``"START/END"`` on the command line), for the messages.
    """
    if time is None:
        return None
    what = f"time={time!r}" if shown is None else f"period {shown!r}"
    example = (
        "e.g. ('2023-01-01', '2023-12-31'), None for an open end"
        if shown is None
        else "e.g. 2023-01-01/2023-12-31, a side left empty for an open end"
    )
    if isinstance(time, (str, bytes)) or not isinstance(time, Sequence) or len(time) != 2:
        hint = " (a string: split it, e.g. '2023-01-01/2023-12-31'.split('/'))" if isinstance(time, str) else ""
        raise CatalogError(f"{what}: give (start, end) as ISO dates, {example}{hint}")
    a, b = as_date(time[0], "start", what, example), as_date(time[1], "end", what, example)
    if a is not None and b is not None and b < a:
        swapped = f"({str(time[1])!r}, {str(time[0])!r})" if shown is None else f"{time[1]}/{time[0]}"
        raise CatalogError(
            f"{what}: the end ({b.date()}) is before the start ({a.date()}); give the start first, e.g. {swapped}"
        )
    return (
        a.strftime("%Y-%m-%d") if a is not None else "0000-01-01",
        b.strftime("%Y-%m-%d") if b is not None else FAR_FUTURE,
    )


def parse_period(text: str) -> tuple[str | None, str | None]:
    """``"START/END"`` (either side may be empty) as a checked ``(start, end)`` for ``time=``.

    >>> parse_period("2023-01-01/2023-12-31")
    ('2023-01-01', '2023-12-31')
    >>> parse_period("2023-06-01/")
    ('2023-06-01', None)
    >>> parse_period("2020-01-01/2010-01-01")
    Traceback (most recent call last):
    ...
    odatis_vre.data.query.CatalogError: period '2020-01-01/2010-01-01': the end (2010-01-01) is before the start (2020-01-01); give the start first, e.g. 2010-01-01/2020-01-01
    """
    if "/" not in text:
        raise CatalogError(
            f"period {text!r}: give START/END, e.g. 2023-01-01/2023-12-31 (leave a side empty for an "
            f"open end: 2023-01-01/)"
        )
    a, b = (x.strip() or None for x in text.split("/", 1))
    as_time((a, b), shown=text)
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
        bad = next(p for p in parts if not is_number(p))
        raise CatalogError(
            f"box {text!r}: {bad!r} is not a number; give west,south,east,north in degrees, e.g. -10,43,-2,48"
        ) from None
    box = as_bbox(values, shown=text)
    assert box is not None
    return box


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


LAT = ("lat", "latitude", "LATITUDE", "nav_lat", "y")
LON = ("lon", "longitude", "LONGITUDE", "nav_lon", "x")
TIME = ("time", "TIME", "JULD", "date")


def find_coord(ds: Any, names: Sequence[str]) -> str | None:
    for n in names:
        if n in ds.coords or n in getattr(ds, "variables", {}):
            return n
    return None


def subset_xarray(
    ds: Any,
    bbox: Sequence[float] | None = None,
    time: Sequence[Any] | None = None,
    variables: Sequence[str] | None = None,
) -> Any:
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
            raise CatalogError(
                f"variables={list(variables)!r}: {', '.join(missing)} not in the dataset "
                f"(it has {', '.join(map(str, ds.data_vars))})"
            )
        ds = ds[list(variables)]
    box = as_bbox(bbox)
    if box is not None:
        lat, lon = find_coord(ds, LAT), find_coord(ds, LON)
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
    period = as_time(time) if time is not None else None
    if period is not None:
        tname = find_coord(ds, TIME)
        if tname is None:
            raise CatalogError("time: this dataset has no time coordinate to cut on")
        t0 = None if period[0] == "0000-01-01" else pd.Timestamp(time[0])
        t1 = None if period[1] == FAR_FUTURE else pd.Timestamp(time[1])
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


def subset_frame(
    df: Any, bbox: Sequence[float] | None, time: Sequence[Any] | None, variables: Sequence[str] | None
) -> Any:
    import pandas as pd

    box = as_bbox(bbox)
    if box is not None:
        lat = next((c for c in LAT if c in df.columns), None)
        lon = next((c for c in LON if c in df.columns), None)
        if lat is None or lon is None:
            raise CatalogError("bbox: this table has no latitude/longitude column to cut on")
        w, s, e, n = box
        df = df[(df[lat] >= s) & (df[lat] <= n) & (df[lon] >= w) & (df[lon] <= e)]
    if time is not None:
        as_time(time)
        tcol = next((c for c in TIME if c in df.columns), None)
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
        keep = [c for c in df.columns if c in variables or c in (*LAT, *LON, *TIME, "platform_number", "file")]
        df = df[keep]
    return df
