"""Facts computed from the data themselves at deposit: coverage, bounds, variables, sizes — never copied.

A deposit's metadata must describe *its* data, not the source it was cut from: a June–August subset of
a two-year product covers June–August. :func:`describe` reads the coordinates and variables of a
dataset (lazily: only coordinates are loaded) and returns plain facts; :func:`acdd_attributes` turns
them, with the user's metadata, into ACDD-1.3 global attributes; :func:`annotate` returns a copy of
the dataset carrying those attributes, one ``history`` line per processing step of the session and
CF-clean encodings (``valid_*`` in the variable's own type).

The same facts feed DataCite (``dates``, ``geoLocations``, ``sizes``, ``formats``, ``subjects``),
schema.org, STAC and the landing page (:mod:`odatis_vre.publishing.metadata`, :mod:`odatis_vre.publishing.repository`).

Example
-------
>>> from odatis_vre import samples
>>> ds = samples.sst_dataset(days=40).sel(time=slice("2023-01-10", "2023-01-20"), lat=slice(44, 48))
>>> f = describe(ds)
>>> f["time"]["start"], f["time"]["end"], f["time"]["resolution"]
('2023-01-10T12:00:00Z', '2023-01-20T12:00:00Z', 'P1D')
>>> f["geospatial"]["lat_min"], f["geospatial"]["lat_max"]
(44.0, 48.0)
>>> annotate(ds).attrs["time_coverage_start"]
'2023-01-10T12:00:00Z'
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CONVENTIONS = "CF-1.8, ACDD-1.3"
#: ``geospatial_bounds`` is written longitude first (OGC CRS84 axis order, as GeoJSON and STAC).
BOUNDS_CRS = "OGC:CRS84"
_LAT_NAMES = ("lat", "latitude", "LATITUDE", "nav_lat", "y")
_LON_NAMES = ("lon", "longitude", "LONGITUDE", "nav_lon", "x")
_TIME_NAMES = ("time", "TIME", "t")
_VERTICAL_NAMES = ("depth", "DEPTH", "PRES", "pres", "pressure", "z", "lev", "level", "height", "altitude")
_VERTICAL_STANDARD = ("depth", "height", "altitude", "sea_water_pressure", "air_pressure")
#: Attributes computed here: a source's values are replaced, never kept.
COMPUTED = (
    "time_coverage_start",
    "time_coverage_end",
    "time_coverage_duration",
    "time_coverage_resolution",
    "geospatial_lat_min",
    "geospatial_lat_max",
    "geospatial_lon_min",
    "geospatial_lon_max",
    "geospatial_lat_resolution",
    "geospatial_lon_resolution",
    "geospatial_lat_units",
    "geospatial_lon_units",
    "geospatial_vertical_min",
    "geospatial_vertical_max",
    "geospatial_vertical_units",
    "geospatial_vertical_positive",
    "geospatial_vertical_resolution",
    "geospatial_bounds",
    "geospatial_bounds_crs",
    "geospatial_bounds_vertical_crs",
    "cdm_data_type",
)

#: Attributes of a source that describe who made and published *it*: dropped when a deposit is annotated
#: with its depositor's metadata (platform, instrument, source, processing level and comments are kept:
#: they still describe where the data come from).
SOURCE_IDENTITY_PREFIXES = ("creator_", "contributor_", "publisher_", "date_")
SOURCE_IDENTITY = (
    "institution",
    "naming_authority",
    "id",
    "uuid",
    "metadata_link",
    "references",
    "acknowledgement",
    "acknowledgment",
    "project",
    "program",
    "product_version",
    "license",
    "keywords",
    "keywords_vocabulary",
    "title",
    "summary",
)


def _find(ds: Any, names: Sequence[str], standard: Sequence[str], axis: str | None = None) -> str | None:
    """The variable that is this coordinate: by CF standard_name or axis first, then by usual names."""
    for name, var in ds.variables.items():
        if var.attrs.get("standard_name") in standard or (axis and var.attrs.get("axis") == axis):
            return str(name)
    for n in names:
        if n in ds.variables:
            return n
    return None


def _iso(t: Any) -> str:
    """``2023-06-01T00:00:00Z`` from a numpy/pandas/cftime time."""
    import pandas as pd

    if hasattr(t, "isoformat") and not isinstance(t, (np.datetime64, pd.Timestamp)):  # cftime
        return t.isoformat().split(".")[0] + "Z"
    return pd.Timestamp(t).tz_localize(None).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(seconds: float) -> str:
    """An ISO 8601 duration for a number of seconds, in whole days when it is whole days.

    >>> iso_duration(86400 * 61), iso_duration(3600 * 6), iso_duration(0)
    ('P61D', 'PT6H', 'PT0S')
    """
    s = int(round(seconds))
    if s == 0:
        return "PT0S"
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return out + ("T" + clock if clock else "")


def _resolution(times: Any) -> str | None:
    """The usual step between times: P1D, P1M (28–31 days), P1Y (365/366 days), else an exact duration."""
    import pandas as pd

    if len(times) < 2:
        return None
    steps = np.diff(pd.to_datetime(times).values).astype("timedelta64[s]").astype(float)
    step = float(np.median(steps))
    day = 86400.0
    if 28 * day <= step <= 31 * day and np.all((steps >= 28 * day) & (steps <= 31 * day)):
        return "P1M"
    if 365 * day <= step <= 366 * day:
        return "P1Y"
    return iso_duration(step)


def _axis_resolution(values: np.ndarray) -> float | None:
    v = np.unique(values[np.isfinite(values)])
    if v.size < 2 or values.ndim != 1:
        return None
    return round(float(np.median(np.diff(v))), 6)


def _time_facts(ds: Any) -> dict[str, Any] | None:
    import pandas as pd

    name = _find(ds, _TIME_NAMES, ("time",), "T")
    if name is None or ds[name].size == 0:
        return None
    values = np.asarray(ds[name].values).ravel()
    if np.issubdtype(values.dtype, np.datetime64):
        values = values[~np.isnat(values)]
        if values.size == 0:
            return None
        start, end = values.min(), values.max()
        seconds = float((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds())
        times = np.sort(values)
    elif values.dtype == object and hasattr(values[0], "isoformat"):  # cftime
        start, end = min(values), max(values)
        seconds = float((end - start).total_seconds())
        times = None
    else:
        return None
    return {
        "variable": name,
        "start": _iso(start),
        "end": _iso(end),
        "duration": iso_duration(seconds),
        "resolution": _resolution(times) if times is not None else None,
        "count": int(values.size),
    }


#: Vertical CRS of depths below the sea surface (EPSG:5831, instantaneous water level depth).
SURFACE_VERTICAL_CRS = "EPSG:5831"


def _surface_only(ds: Any) -> bool:
    """No vertical coordinate, and every data variable is a sea-surface quantity by its CF standard name."""
    names = [str(v.attrs.get("standard_name") or "") for v in ds.data_vars.values()]
    return bool(names) and all(n.startswith(("sea_surface_", "surface_")) for n in names)


def _vertical_facts(ds: Any) -> dict[str, Any] | None:
    name = _find(ds, _VERTICAL_NAMES, _VERTICAL_STANDARD, "Z")
    if name is None:
        if _surface_only(ds):  # the CF standard names say where: at the sea surface, depth 0
            return {
                "variable": None,
                "min": 0.0,
                "max": 0.0,
                "units": "m",
                "positive": "down",
                "crs": SURFACE_VERTICAL_CRS,
                "surface": True,
            }
        return None
    var = ds[name]
    values = np.asarray(var.values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    units = str(var.attrs.get("units", ""))
    positive = str(var.attrs.get("positive", "")).lower() or (
        "down" if var.attrs.get("standard_name") == "depth" or name.lower().startswith(("depth", "pres")) else "up"
    )
    out: dict[str, Any] = {
        "variable": name,
        "min": round(float(values.min()), 6),
        "max": round(float(values.max()), 6),
        "units": units,
        "positive": positive,
    }
    if positive == "down" and units in ("m", "meter", "meters", "metre", "metres"):
        out["crs"] = SURFACE_VERTICAL_CRS
    res = _axis_resolution(np.asarray(var.values, dtype=float)) if var.ndim == 1 else None
    if res is not None:
        out["resolution"] = res
    return out


def _geo_facts(ds: Any) -> dict[str, Any] | None:
    lat = _find(ds, _LAT_NAMES, ("latitude",), "Y")
    lon = _find(ds, _LON_NAMES, ("longitude",), "X")
    if not lat or not lon:
        return None
    la = np.asarray(ds[lat].values, dtype=float)
    lo = np.asarray(ds[lon].values, dtype=float)
    if not (np.isfinite(la).any() and np.isfinite(lo).any()):
        return None
    lo_wrapped = (lo + 180) % 360 - 180 if np.nanmax(lo) > 180 else lo
    s, n = round(float(np.nanmin(la)), 6), round(float(np.nanmax(la)), 6)
    w, e = round(float(np.nanmin(lo_wrapped)), 6), round(float(np.nanmax(lo_wrapped)), 6)
    out: dict[str, Any] = {
        "lat_variable": lat,
        "lon_variable": lon,
        "lat_min": s,
        "lat_max": n,
        "lon_min": w,
        "lon_max": e,
        "lat_units": "degrees_north",
        "lon_units": "degrees_east",
        "bounds": bounds_wkt(w, s, e, n),
        "bounds_crs": BOUNDS_CRS,
    }
    for key, values in (("lat_resolution", la), ("lon_resolution", lo)):
        res = _axis_resolution(values)
        if res is not None:
            out[key] = res
    # gridded: a data variable spans both horizontal dimensions
    lat_dims, lon_dims = set(ds[lat].dims), set(ds[lon].dims)
    out["gridded"] = any(
        lat_dims <= set(v.dims) and lon_dims <= set(v.dims) and lat_dims != lon_dims for v in ds.data_vars.values()
    )
    return out


def bounds_wkt(west: float, south: float, east: float, north: float) -> str:
    """The WKT polygon of a box (longitude first), or a point/line when the box is degenerate.

    >>> bounds_wkt(-6, 44, -1, 48)
    'POLYGON ((-1 44, -1 48, -6 48, -6 44, -1 44))'
    """
    from shapely.geometry import LineString, Point, box

    if west == east and south == north:
        geom = Point(west, south)
    elif west == east or south == north:
        geom = LineString([(west, south), (east, north)])
    else:
        geom = box(west, south, east, north)
    return geom.wkt


def describe(ds: Any) -> dict[str, Any]:
    """What a dataset holds, read from its coordinates and variables (no data values are loaded).

    ``{"time": {start, end, duration, resolution, count} | None, "geospatial": {lat_min, lat_max,
    lon_min, lon_max, lat_resolution?, lon_resolution?, bounds (WKT), bounds_crs, gridded} | None,
    "vertical": {min, max, units, positive, resolution?} | None, "variables": [{name, standard_name,
    long_name, units, dtype, dims, shape}], "dims": {name: size}, "values": total number of values}``.

    >>> from odatis_vre import samples
    >>> describe(samples.sst_dataset(days=3))["variables"][0]["standard_name"]
    'sea_surface_foundation_temperature'
    """
    variables = []
    total = 0
    for name, v in ds.data_vars.items():
        variables.append(
            {
                "name": str(name),
                "standard_name": v.attrs.get("standard_name"),
                "long_name": v.attrs.get("long_name"),
                "units": v.attrs.get("units"),
                "dtype": str(v.dtype),
                "dims": [str(d) for d in v.dims],
                "shape": [int(n) for n in v.shape],
            }
        )
        total += int(v.size)
    return {
        "time": _time_facts(ds),
        "geospatial": _geo_facts(ds),
        "vertical": _vertical_facts(ds),
        "variables": variables,
        "dims": {str(k): int(n) for k, n in ds.sizes.items()},
        "values": total,
    }


def summary(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The short form the catalogue fragment and old records use: bbox, time_range (dates), variables, dims."""
    geo, time = facts.get("geospatial"), facts.get("time")
    return {
        "bbox": [geo["lon_min"], geo["lat_min"], geo["lon_max"], geo["lat_max"]] if geo else None,
        "time_range": [time["start"][:10], time["end"][:10]] if time else None,
        "variables": [
            {k: v.get(k) for k in ("name", "standard_name", "units", "long_name")} for v in facts.get("variables") or []
        ],
        "dims": dict(facts.get("dims") or {}),
    }


# ----------------------------------------------------------------------------- ACDD attributes


def history_lines(
    provenance: Iterable[Mapping[str, Any]] = (), steps: Iterable[Mapping[str, Any]] = (), *, now: str | None = None
) -> list[str]:
    """One ``history`` line per processing step of the session: catalogue loads (with their subset) and
    the steps recorded with :func:`odatis_vre.provenance.step`, oldest first, then the deposit itself.

    >>> history_lines([{"name": "sample_sst_zarr", "opened_at": "2026-01-02T10:00:00+00:00",
    ...                 "args": {"time": ["2023-06-01", "2023-08-31"]}}], now="2026-01-02T11:00:00Z")[0]
    "2026-01-02T10:00:00Z odatis_vre.catalog.load('sample_sst_zarr', time=['2023-06-01', '2023-08-31'])"
    """
    from .. import __version__

    events: list[tuple[str, str]] = []
    for rec in provenance:
        args = rec.get("args") or {}
        arg_text = "".join(f", {k}={v!r}" for k, v in args.items() if v is not None)
        ident = f" [doi:{rec['doi']}]" if rec.get("doi") else ""
        events.append((_stamp(rec.get("opened_at")), f"odatis_vre.catalog.load({rec.get('name')!r}{arg_text}){ident}"))
    for st in steps:
        events.append((_stamp(st.get("at")), str(st.get("what"))))
    events.sort(key=lambda e: e[0])
    stamp = now or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    events.append(
        (
            stamp,
            f"odatis_vre.publish.deposit: coverage, bounds and ACDD attributes computed from the data "
            f"(odatis-vre {__version__})",
        )
    )
    return [f"{t} {what}" for t, what in events]


def _stamp(value: Any) -> str:
    if not value:
        return "unknown-time"
    try:
        t = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _persons(md: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(md.get("creators") or [])


def creator_type(creators: Sequence[Mapping[str, Any]]) -> str:
    """ACDD ``creator_type`` (one of person, group, institution, position) for a list of creators:
    ``person`` or ``institution`` when they are all of one kind, else ``group``.

    >>> creator_type([{"type": "Personal"}]), creator_type([{"type": "Organizational"}] * 2)
    ('person', 'institution')
    >>> creator_type([{"type": "Personal"}, {"type": "Organizational"}])
    'group'
    """
    kinds = {"person" if c.get("type") == "Personal" else "institution" for c in creators}
    return kinds.pop() if len(kinds) == 1 else "group"


def acdd_attributes(
    facts: Mapping[str, Any],
    md: Mapping[str, Any] | None = None,
    *,
    doi: str | None = None,
    landing_url: str | None = None,
    history: Sequence[str] = (),
    created: str | None = None,
    publisher_url: str | None = None,
    publisher_email: str | None = None,
) -> dict[str, Any]:
    """ACDD-1.3 global attributes from computed ``facts`` and the user's checked metadata ``md``.

    Coverage and bounds come from the facts only; title, summary, keywords, licence, creators,
    publisher, funding and version from ``md`` (see :func:`odatis_vre.publishing.metadata.load_metadata`);
    ``id`` is the DOI when there is one; ``date_created`` is ``created`` (default: now).

    >>> acdd_attributes({"time": {"start": "2023-06-01T00:00:00Z", "end": "2023-08-01T00:00:00Z",
    ...                            "duration": "P61D", "resolution": "P1M"}})["time_coverage_duration"]
    'P61D'
    """
    out: dict[str, Any] = {"Conventions": CONVENTIONS}
    t = facts.get("time")
    if t:
        out.update(time_coverage_start=t["start"], time_coverage_end=t["end"], time_coverage_duration=t["duration"])
        if t.get("resolution"):
            out["time_coverage_resolution"] = t["resolution"]
    g = facts.get("geospatial")
    if g:
        out.update(
            geospatial_lat_min=g["lat_min"],
            geospatial_lat_max=g["lat_max"],
            geospatial_lon_min=g["lon_min"],
            geospatial_lon_max=g["lon_max"],
            geospatial_lat_units=g["lat_units"],
            geospatial_lon_units=g["lon_units"],
            geospatial_bounds=g["bounds"],
            geospatial_bounds_crs=g["bounds_crs"],
        )
        for k in ("lat_resolution", "lon_resolution"):
            if g.get(k) is not None:
                out[f"geospatial_{k}"] = f"{g[k]:g} degrees"
        if g.get("gridded"):
            out["cdm_data_type"] = "Grid"
    z = facts.get("vertical")
    if z:
        out.update(
            geospatial_vertical_min=z["min"],
            geospatial_vertical_max=z["max"],
            geospatial_vertical_positive=z["positive"],
        )
        if z.get("units"):
            out["geospatial_vertical_units"] = z["units"]
        if z.get("resolution") is not None:
            out["geospatial_vertical_resolution"] = f"{z['resolution']:g} {z.get('units') or ''}".strip()
        elif z.get("surface"):
            out["geospatial_vertical_resolution"] = "point (sea surface)"
        if z.get("crs"):
            out["geospatial_bounds_vertical_crs"] = z["crs"]
    stamp = created or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out.update(date_created=stamp, date_modified=stamp, date_issued=stamp, date_metadata_modified=stamp)
    if history:
        out["history"] = "\n".join(history)
    if doi:
        out.update(id=doi, naming_authority="org.doi")
    if landing_url:
        out["metadata_link"] = landing_url
    if md:
        out.update(_from_user(md, publisher_url or landing_url))
    if publisher_email:
        out["publisher_email"] = publisher_email
    return out


def _from_user(md: Mapping[str, Any], publisher_url: str | None) -> dict[str, Any]:
    from .licences import LICENCES

    out: dict[str, Any] = {
        "title": md["title"],
        "summary": md["abstract"],
        "keywords": ", ".join(md.get("keywords") or []),
        "keywords_vocabulary": "free text",
        "product_version": str(md.get("version") or "1"),
    }
    lic = md.get("licence")
    if lic in LICENCES:
        out["license"] = f"{lic} ({LICENCES[lic][1]})"
    people = _persons(md)
    if people:
        out["creator_name"] = ", ".join(c["name"] for c in people)
        out["creator_type"] = creator_type(people)
        affs = [a["name"] for c in people for a in c.get("affiliation") or []]
        if affs:
            out["creator_institution"] = ", ".join(dict.fromkeys(affs))
            out["institution"] = affs[0]
        elif any(c.get("type") != "Personal" for c in people):
            out["institution"] = next(c["name"] for c in people if c.get("type") != "Personal")
        urls = [f"https://orcid.org/{c['orcid']}" for c in people if c.get("orcid")]
        if urls:
            out["creator_url"] = ", ".join(urls)
        emails = [c["email"] for c in people if c.get("email")]
        if emails:
            out["creator_email"] = ", ".join(emails)
    for key in ("platform", "instrument"):
        term = md.get(key)
        if term:
            out[key] = term["name"]
            out[f"{key}_vocabulary"] = term.get("vocabulary") or "free text"
    if md.get("program"):
        out["program"] = md["program"]
    contributors = [(c["name"], "author") for c in people] + [(f["funder"], "funder") for f in md.get("funding") or []]
    if contributors:
        out["contributor_name"] = ", ".join(n for n, _ in contributors)
        out["contributor_role"] = ", ".join(r for _, r in contributors)
    funding = md.get("funding") or []
    if funding:
        out["acknowledgement"] = (
            "Funded by "
            + "; ".join(f["funder"] + (f" ({f['award']})" if f.get("award") else "") for f in funding)
            + "."
        )
        awards = [f.get("award_title") or f.get("award") for f in funding if f.get("award_title") or f.get("award")]
        if awards:
            out["project"] = ", ".join(awards)
    out["publisher_name"] = md.get("publisher") or "ODATIS"
    out["publisher_type"] = "institution"
    out["publisher_institution"] = md.get("publisher") or "ODATIS"
    if publisher_url:
        out["publisher_url"] = publisher_url
    refs = [f"https://doi.org/{r['doi']}" if r.get("doi") else r["url"] for r in md.get("related_publications") or []]
    if refs:
        out["references"] = ", ".join(refs)
    if md.get("language"):
        out["language"] = md["language"]
    return out


# ----------------------------------------------------------------------------- what to add to the metadata

_CREATOR = 'creators: [{name: "Carberry, Josiah", ...}]'
_PUBLISHER = (
    "the repository's publisher",
    "ask the VRE's administrator to set services.repository.publisher_email and publisher_url in vre.yaml",
)
#: The metadata field :func:`annotate` writes each ACDD attribute from, with what to write (YAML).
METADATA_FIELDS: dict[str, tuple[str, str]] = {
    "title": ("title", "title: Monthly mean SST, Bay of Biscay, summer 2023"),
    "summary": ("abstract", "abstract: Monthly means of the daily SST ..."),
    "keywords": ("keywords", "keywords: [sea surface temperature, Bay of Biscay]"),
    "license": ("licence", "licence: CC-BY-4.0"),
    "product_version": ("version", 'version: "1"'),
    "creator_name": ("creators", _CREATOR),
    "creator_type": ("creators", _CREATOR + " (type: organization for an institution)"),
    "contributor_name": ("creators", _CREATOR),
    "contributor_role": ("creators", _CREATOR),
    "creator_email": ("creators[].email", "email: josiah.carberry@example.org under at least one creator"),
    "creator_url": ("creators[].orcid", "orcid: 0000-0002-1825-0097 under a creator"),
    "creator_institution": (
        "creators[].affiliation",
        "affiliation: {name: Ifremer, ror: https://ror.org/044jxhp58} under a creator",
    ),
    "institution": (
        "creators[].affiliation",
        "affiliation: {name: Ifremer, ror: https://ror.org/044jxhp58} under a creator",
    ),
    "acknowledgement": (
        "funding",
        "funding: [{funder: Agence Nationale de la Recherche, "
        "funder_ror: https://ror.org/00rbzpz17, award: ANR-20-CE01-0001}]",
    ),
    "project": ("funding[].award", "award: ANR-20-CE01-0001 (or award_title: ...) under a funder"),
    "platform": ("platform", "platform: {name: Models/Analyses, vocabulary: GCMD Platform Keywords}"),
    "platform_vocabulary": ("platform", "platform: {name: Models/Analyses, vocabulary: GCMD Platform Keywords}"),
    "instrument": ("instrument", "instrument: {name: Computer, vocabulary: GCMD Instrument Keywords}"),
    "instrument_vocabulary": ("instrument", "instrument: {name: Computer, vocabulary: GCMD Instrument Keywords}"),
    "program": ("program", "program: ODATIS"),
    "references": ("related_publications", "related_publications: [{doi: 10.5194/os-19-1-2023}]"),
    "language": ("language", "language: en"),
    "publisher_email": _PUBLISHER,
    "publisher_url": _PUBLISHER,
}


@dataclass(frozen=True)
class FieldHint:
    """A metadata field to add: ``field`` (``creators[].email``), what to write, the ACDD ``attributes`` it gives."""

    field: str
    example: str
    attributes: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.field} — e.g. {self.example} (ACDD {', '.join(self.attributes)})"


def metadata_hints(attributes: Iterable[str]) -> list[FieldHint]:
    """The metadata fields that would give these ACDD attributes, in order, one per field.

    >>> [str(h) for h in metadata_hints(["platform", "platform_vocabulary", "analysed_sst:units"])]
    ['platform — e.g. platform: {name: Models/Analyses, vocabulary: GCMD Platform Keywords} (ACDD platform, platform_vocabulary)']
    """
    fields: dict[str, tuple[str, list[str]]] = {}
    for attr in attributes:
        if attr in METADATA_FIELDS:
            field, example = METADATA_FIELDS[attr]
            fields.setdefault(field, (example, []))[1].append(attr)
    return [FieldHint(f, ex, tuple(attrs)) for f, (ex, attrs) in fields.items()]


def metadata_refusal(exc: Any) -> Any:
    """A :class:`odatis_vre.publishing.conventions.ConventionsError` for a dataset annotated from the user's metadata:
    the same problems and scores, but its message names the **metadata fields** to add (``creators[].email``,
    ``platform``, ``program``...) with what to write, then what is left to fix in the data itself."""
    from .conventions import ACDD_MIN_PERCENT, ConventionsError

    hints = metadata_hints(p.attribute for p in exc.problems)
    if not hints:
        return exc
    acdd, cf = exc.scores.get("acdd") or {}, exc.scores.get("cf") or {}
    pre = (
        (
            f" (compliance-checker scores ACDD-1.3 {acdd.get('scored')}/{acdd.get('possible')} points = "
            f"{acdd.get('percent')} %, at least {ACDD_MIN_PERCENT:g} % needed; CF {cf.get('scored')}/{cf.get('possible')}, "
            f"{cf.get('high', 0)} high-priority issue(s))"
        )
        if acdd
        else ""
    )
    return ConventionsError(exc.problems, exc.warnings, "the dataset", exc.scores, pre, fields=hints)


def clean_encodings(ds: Any) -> Any:
    """``valid_min``/``valid_max``/``valid_range`` (and ``actual_range``) in the type of their variable, as CF
    requires; a packed variable (``scale_factor``) keeps its packed type. Returns a copy.

    >>> import xarray as xr
    >>> ds = xr.Dataset({"t": ("x", np.zeros(2, "float32"), {"valid_min": -2.0, "valid_max": 40.0})})
    >>> type(clean_encodings(ds).t.attrs["valid_min"]).__name__
    'float32'
    """
    ds = ds.copy()
    for name, var in ds.variables.items():
        enc = var.encoding
        if "scale_factor" in enc or "add_offset" in enc or "scale_factor" in var.attrs:
            continue
        dtype = np.dtype(enc.get("dtype", var.dtype))
        if dtype.kind not in "fiu":
            continue
        for key in ("valid_min", "valid_max", "valid_range", "actual_range"):
            if key in var.attrs:
                value = np.asarray(var.attrs[key]).astype(dtype)
                ds[name].attrs[key] = value.item() if value.ndim == 0 else value
                if value.ndim == 0:
                    ds[name].attrs[key] = dtype.type(value)
    return ds


def annotate(
    ds: Any,
    md: Mapping[str, Any] | None = None,
    *,
    doi: str | None = None,
    landing_url: str | None = None,
    provenance: Iterable[Mapping[str, Any]] = (),
    steps: Iterable[Mapping[str, Any]] = (),
    created: str | None = None,
    publisher_url: str | None = None,
    publisher_email: str | None = None,
) -> Any:
    """A copy of ``ds`` whose ACDD attributes tell the truth about it, with CF-clean encodings.

    Computed attributes (coverage, bounds, ``cdm_data_type``) always replace the source's; the user's
    metadata replace the source's title, summary, keywords, licence, creators and publisher; a
    source's ``history`` lines are kept below the new ones (newest first, as NCO writes them).
    Data variables get ``coverage_content_type`` (``physicalMeasurement`` unless they say otherwise)
    and coordinates ``coverage_content_type = "coordinate"``.

    >>> from odatis_vre import samples
    >>> a = annotate(samples.sst_dataset(days=5).isel(time=slice(1, 3))).attrs
    >>> a["time_coverage_start"], a["time_coverage_end"], a["time_coverage_duration"]
    ('2023-01-02T12:00:00Z', '2023-01-03T12:00:00Z', 'P1D')
    """
    facts = describe(ds)
    lines = history_lines(provenance, steps, now=created)
    old = str(ds.attrs.get("history") or "").strip()
    history = list(reversed(lines)) + ([old] if old else [])
    attrs = {k: v for k, v in ds.attrs.items() if k not in COMPUTED}
    new = acdd_attributes(
        facts,
        md,
        doi=doi,
        landing_url=landing_url,
        history=history,
        created=created,
        publisher_url=publisher_url,
        publisher_email=publisher_email,
    )
    if md:
        # the deposit is the depositor's work: the source's authors, publisher, identifiers and programme do
        # not describe it (a source's creator_email left next to the depositor's creator_name would lie)
        attrs = {
            k: v for k, v in attrs.items() if not k.startswith(SOURCE_IDENTITY_PREFIXES) and k not in SOURCE_IDENTITY
        }
        # the user's words replace the source's; the source's vocabulary no longer applies to them
        for key in ("keywords", "platform", "instrument"):
            if key in new:
                attrs.pop(f"{key}_vocabulary", None)
    attrs.update(new)
    attrs.setdefault("standard_name_vocabulary", "CF Standard Name Table v93")
    out = clean_encodings(ds)
    out.attrs = attrs
    for name in out.coords:
        out[name].attrs.setdefault("coverage_content_type", "coordinate")
    for name in out.data_vars:
        out[name].attrs.setdefault("coverage_content_type", "physicalMeasurement")
    return out


__all__ = [
    "describe",
    "summary",
    "acdd_attributes",
    "annotate",
    "clean_encodings",
    "history_lines",
    "bounds_wkt",
    "iso_duration",
    "creator_type",
    "metadata_hints",
    "metadata_refusal",
    "FieldHint",
    "METADATA_FIELDS",
]
