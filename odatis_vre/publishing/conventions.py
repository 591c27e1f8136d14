"""CF and ACDD conventions checks before publication, with the field's own tools.

:func:`check` runs IOOS ``compliance-checker`` (the CF checker for the version the file declares,
default CF-1.8, and ACDD-1.3) and a few rules through ``cf-xarray``; each :class:`Problem` names the
attribute to fix (``title`` for a global attribute, ``analysed_sst:units`` for a variable's) and
says what to set. :func:`score` gives compliance-checker's own points. :func:`require` raises
:class:`ConventionsError` when a problem is an error or ACDD-1.3 scores below
:data:`ACDD_MIN_PERCENT` (95 %) of its points, listing every attribute still to add.

What is an error (blocks publication):

- a failed CF requirement of high priority (e.g. units that UDUNITS cannot read, a standard_name
  outside the CF table, a ``_FillValue`` on a coordinate variable);
- a missing ACDD "highly recommended" global attribute (``title``, ``summary``, ``keywords``,
  ``Conventions``);
- a floating-point data variable without ``units``, a data variable with neither ``standard_name``
  nor ``long_name``, no variable cf-xarray recognises as latitude or longitude.

Medium-priority findings are warnings; compliance-checker's "suggested" level is not reported
(like its default ``--criteria normal``).

Offline: the CF standard name table is the one packaged with compliance-checker (v93 in 6.1);
the checker's attempt to download the version named in ``standard_name_vocabulary`` is turned off.

Example
-------
>>> from odatis_vre import samples
>>> from odatis_vre.publishing import conventions
>>> ds = samples.sst_dataset(days=2)
>>> [p for p in conventions.check(ds) if p.level == "error"]
[]
>>> del ds.attrs["title"]
>>> conventions.require(ds)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
odatis_vre.publishing.conventions.ConventionsError: the dataset does not follow CF/ACDD (compliance-checker: CF ...); fix these attributes:
  - title: title not present (ACDD-1.3); set the global attribute `title` (ds.attrs["title"] = ...)
...
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .. import atomic

#: Above this size a dataset is checked through a thinned copy (every dimension cut to a few
#: evenly spaced indices, first and last kept): the checks read attributes and coordinates.
MAX_CHECK_BYTES = 256 * 1024**2
_THIN = 9

#: Attribute names we recognise in compliance-checker's messages (CF + ACDD vocabulary).
_CF_ATTRS = (
    "_FillValue",
    "missing_value",
    "valid_min",
    "valid_max",
    "valid_range",
    "units",
    "standard_name",
    "long_name",
    "axis",
    "calendar",
    "positive",
    "bounds",
    "cell_methods",
    "cell_measures",
    "coordinates",
    "grid_mapping",
    "flag_values",
    "flag_meanings",
    "flag_masks",
    "scale_factor",
    "add_offset",
    "featureType",
    "cf_role",
    "Conventions",
    "history",
    "institution",
    "source",
    "references",
    "comment",
    "title",
    "compress",
    "formula_terms",
    "climatology",
    "ancillary_variables",
    "instance_dimension",
    "sample_dimension",
    "coverage_content_type",
    "standard_name_vocabulary",
)
_NETCDF_ENCODING = (
    "dtype",
    "units",
    "calendar",
    "_FillValue",
    "scale_factor",
    "add_offset",
    "missing_value",
    "zlib",
    "complevel",
    "shuffle",
)


@dataclass(frozen=True)
class Problem:
    """One finding: ``level`` "error" (blocks publication) or "warning"; ``attribute`` to fix
    (``title``: global, ``CHL:units``: of a variable, ``time``: the variable itself); ``message``
    says what is wrong and what to set; ``source``: the tool that found it."""

    level: Literal["error", "warning", "suggestion"]
    attribute: str
    message: str
    source: str = ""

    def __str__(self) -> str:
        return f"{self.level}: {self.attribute}: {self.message}"


class ConventionsError(ValueError):
    """The dataset breaks CF/ACDD; ``problems`` lists the errors (and ``warnings`` the rest); ``scores``
    holds compliance-checker's CF and ACDD points when they were computed.

    ``fields``: when the attributes are written from the user's metadata (``publish.deposit`` of a
    Dataset), the metadata fields to add instead (objects with ``field``, ``attributes`` and a ``str``
    that shows what to write; see :func:`odatis_vre.publishing.datafacts.metadata_refusal`): the message then
    lists those first, and only the remaining attributes as things to fix in the data.
    """

    def __init__(
        self,
        problems: list[Problem],
        warnings_: list[Problem] | None = None,
        what: str = "the dataset",
        scores: dict[str, Any] | None = None,
        preamble: str = "",
        fields: list[Any] | None = None,
    ):
        self.problems = problems
        self.warnings = warnings_ or []
        self.scores = scores or {}
        self.fields = list(fields or [])
        if not self.fields:
            super().__init__(
                f"{what} does not follow CF/ACDD{preamble}; fix these attributes:\n"
                + "\n".join(f"  - {p.attribute}: {p.message}" for p in problems)
            )
            return
        covered = {a for f in self.fields for a in f.attributes}
        rest = [p for p in problems if p.attribute not in covered]
        needed = [p for p in rest if not p.source.endswith(" score")]
        points = [p for p in rest if p.source.endswith(" score")]
        lines = [
            f"{what} does not follow CF/ACDD well enough to be published{preamble}.",
            "Add to the metadata (meta.yaml, or the dict given to publish.deposit):",
        ]
        lines += [f"  - {f}" for f in self.fields]
        if needed:
            lines.append("and fix these attributes in the data:")
            lines += [f"  - {p.attribute}: {p.message}" for p in needed]
        if points:
            lines.append(
                "Other points compliance-checker did not give (in the data; not needed once the score is reached):"
            )
            lines += [f"  - {p.attribute}: {p.message.split(' [')[0]}" for p in points]
        lines.append("Then call publish.deposit again (nothing was sent).")
        super().__init__("\n".join(lines))


class UnreadableData(ConventionsError):
    """The data cannot be read at all (missing, empty, truncated, damaged, or not NetCDF/Zarr).

    A :class:`ConventionsError` (the data cannot follow the conventions either) whose message says
    what is wrong with the file and how to get a good one.
    """

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None):
        ValueError.__init__(self, message)
        self.problems = [Problem("error", "format", message, "odatis-vre")]
        self.warnings = []
        self.path = None if path is None else str(path)


_FORMATS = "a NetCDF-4 or NetCDF-3 file, or a Zarr store (folder)"


def check_readable(path: str | os.PathLike[str]) -> str:
    """Make sure ``path`` can be read as data; return its kind (``netcdf4``, ``netcdf3`` or ``zarr``).

    Raises :class:`FileNotFoundError` for a missing path, else :class:`UnreadableData` naming the
    file, what is wrong (empty, cut short, damaged, not NetCDF) and what to do. Cheap: reads
    headers, not the data.

    >>> check_readable("/nonexistent/sst.nc")
    Traceback (most recent call last):
    ...
    FileNotFoundError: /nonexistent/sst.nc: no such file or folder; give the path of a NetCDF-4 or NetCDF-3 file, or a Zarr store (folder)
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder; give the path of {_FORMATS}")
    if p.is_dir():
        return _check_zarr(p)
    size = p.stat().st_size
    if size == 0:
        raise UnreadableData(f"{p} is empty (0 bytes): it was not written completely; write or copy it again", p)
    import netCDF4

    try:
        nc = netCDF4.Dataset(p)
    except OSError as exc:
        raise _unreadable_netcdf(p, exc) from None
    try:
        model = str(nc.data_model)
    finally:
        nc.close()
    if model.startswith("NETCDF3") and model != "NETCDF3_64BIT_DATA":
        # netCDF-C reads past the end of a cut classic file as fill values; scipy's reader maps the
        # file and refuses one shorter than its header says
        from scipy.io import netcdf_file

        try:
            netcdf_file(p, mmap=True).close()
        except ValueError:
            raise UnreadableData(
                f"{p} is cut short: its header describes more data than its {size} bytes (an "
                f"interrupted copy or download?); copy or write it again",
                p,
            ) from None
        return "netcdf3"
    return "netcdf4" if model.startswith("NETCDF4") else "netcdf3"


def _unreadable_netcdf(p: Path, exc: OSError) -> UnreadableData:
    with open(p, "rb") as fh:
        head = fh.read(8)
    import h5py

    if h5py.is_hdf5(p) or head.startswith(b"CDF"):
        kind = "NetCDF-4 (HDF5)" if not head.startswith(b"CDF") else "NetCDF-3"
        return UnreadableData(
            f"{p} is a {kind} file that cannot be read ({exc.strerror or exc}): it is truncated or "
            f"damaged (an interrupted copy or download?); copy or write it again",
            p,
        )
    return UnreadableData(
        f"{p} is not a readable NetCDF file (it starts with {head!r}); give {_FORMATS} (xarray converts "
        f"other formats: ds.to_netcdf('data.nc'))",
        p,
    )


def _check_zarr(p: Path) -> str:
    markers = ("zarr.json", ".zgroup", ".zmetadata", ".zarray")
    if not any((p / m).exists() for m in markers):
        raise UnreadableData(
            f"{p} is a folder but not a Zarr store (no zarr.json or .zgroup in it); give {_FORMATS}", p
        )
    import zarr

    try:
        zarr.open_group(str(p), mode="r")
    except Exception as exc:  # noqa: BLE001 - zarr raises JSON, key and format errors alike for a damaged store
        raise UnreadableData(
            f"{p} is a damaged Zarr store: its metadata cannot be read ({type(exc).__name__}: "
            f"{exc}); write the store again (ds.to_zarr(...))",
            p,
        ) from None
    return "zarr"


def _data_error(path: Any, ds: Any, exc: Exception) -> UnreadableData:
    """The variable whose data cannot be read (a truncated or damaged chunk), as an :class:`UnreadableData`."""
    bad = None
    for name, var in ds.variables.items():
        try:
            var.values  # noqa: B018 - reading is the check
        except Exception:  # noqa: BLE001
            bad = name
            break
    where = f"the data of variable {bad!r}" if bad is not None else "its data"
    return UnreadableData(
        f"{path}: {where} cannot be read ({type(exc).__name__}: {exc}): a chunk is truncated or "
        f"damaged; write the dataset again",
        path,
    )


# ----------------------------------------------------------------------------- writing


def netcdf_encoding(ds: Any) -> dict[str, dict[str, Any]]:
    """Per-variable encoding that keeps a dataset CF-clean when written to NetCDF.

    Coordinate variables get no ``_FillValue`` (CF forbids missing values there; xarray adds NaN by
    default) and times are stored as float64 (CF-1.8 has no 64-bit integers) unless their encoding
    says otherwise; encodings of other formats (Zarr chunks, compressors) are dropped.

    >>> from odatis_vre import samples
    >>> netcdf_encoding(samples.sst_dataset(days=2))["lat"]
    {'_FillValue': None}
    """
    out: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        enc = {k: v for k, v in var.encoding.items() if k in _NETCDF_ENCODING}
        if name in ds.coords or name in ds.dims:
            enc["_FillValue"] = None
        if np.issubdtype(var.dtype, np.datetime64) or np.issubdtype(var.dtype, np.timedelta64):
            if str(enc.get("dtype", "int64")).startswith(("int64", "uint64")):
                enc["dtype"] = "float64"
        out[str(name)] = enc
    return out


def to_netcdf(ds: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``ds`` to NetCDF-4 at ``path`` atomically (temp file + ``os.replace``), CF-clean.

    >>> import tempfile, xarray as xr
    >>> from odatis_vre import samples
    >>> p = to_netcdf(samples.sst_dataset(days=2), Path(tempfile.mkdtemp()) / "sst.nc")
    >>> "_FillValue" in xr.open_dataset(p).lat.encoding
    False
    """
    path = Path(path)
    with atomic.replacing(path) as tmp:
        ds.to_netcdf(tmp, format="NETCDF4", encoding=netcdf_encoding(ds))
    return path


def _thinned(ds: Any) -> Any:
    """A small copy with the same variables, attributes and coordinate extents."""
    idx = {d: np.unique(np.linspace(0, n - 1, _THIN).round().astype(int)) for d, n in ds.sizes.items() if n > _THIN}
    return ds.isel(idx)


# ----------------------------------------------------------------------------- compliance-checker


def _suite() -> Any:
    """A CheckSuite whose CF checkers use the packaged standard name table (never the network)."""
    import sys

    # compliance_checker.suite wraps sys.stdout/stderr in a bytes writer at import time when their
    # encoding is None (doctest, some captured streams), breaking later prints: undo that.
    out, err = sys.stdout, sys.stderr
    try:
        from compliance_checker.suite import CheckSuite
    finally:
        sys.stdout, sys.stderr = out, err

    CheckSuite.load_all_available_checkers()
    suite = CheckSuite()
    suite.checkers = dict(suite.checkers)
    for name, cls in list(suite.checkers.items()):
        if name.startswith("cf") and hasattr(cls, "_find_cf_standard_name_table"):
            suite.checkers[name] = type(
                f"Offline{cls.__name__}", (cls,), {"_find_cf_standard_name_table": lambda self, ds: False}
            )
    return suite


def _declared(conventions: str, family: str, default: str, available: Iterable[str]) -> str:
    m = re.search(rf"{family}-(\d+\.\d+)", conventions or "", flags=re.I)
    name = f"{family.lower()}:{m.group(1)}" if m else default
    return name if name in set(available) else default


def _acdd_globals() -> set[str]:
    """Names of ACDD global attributes, from compliance-checker's own ACDD-1.3 checker."""
    from compliance_checker.acdd import ACDD1_3Check

    chk = ACDD1_3Check()
    names = set()
    for a in list(chk.high_rec_atts) + list(chk.rec_atts) + list(chk.sug_atts):
        names.add(a[0] if isinstance(a, tuple) else a)
    return {n for n in names if isinstance(n, str)} | {
        "history",
        "Conventions",
        "institution",
        "source",
        "comment",
        "references",
        "title",
        "featureType",
    }


def _word(name: str, msg: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", msg) is not None


def _locate(msg: str, group: str, variables: set[str], ds: Any, globals_: set[str]) -> str:
    """The attribute a compliance-checker message is about: ``attr``, ``var:attr`` or ``var``."""
    m = re.match(r'variable "([^"]+)" missing the following attributes', group)
    if m:
        return f"{m.group(1)}:{msg.strip()}"
    m = re.match(r"^(?:Attr )?([A-Za-z_][\w/]*) (?:is )?not present", msg)
    if m:
        return m.group(1).split("/")[0]
    if msg.startswith("Conventions"):
        return "Conventions"
    quoted = [
        c for c in re.findall(r"['\"]([^'\"]+)['\"]", msg) + re.findall(r"\bvariable (\w+)", msg) if c in variables
    ]
    var = quoted[0] if quoted else None
    attr = next((a for a in _CF_ATTRS if _word(a, msg)), None)
    glob = next((a for a in sorted(globals_, key=len, reverse=True) if _word(a, msg)), None)
    if var is None and glob and (attr is None or attr == glob or len(glob) > len(attr)):
        return glob  # a global attribute ("time_coverage_start ... mismatch", "global attribute history")
    if var is None:
        words = set(re.findall(r"[A-Za-z_][\w]*", msg))
        var = next((v for v in sorted(variables) if v in words and v not in _CF_ATTRS), None)
    if var is None and attr:
        # e.g. "standard_name foo is not defined": find the variable holding that value
        for v in sorted(variables):
            value = ds.variables[v].attrs.get(attr)
            if value is not None and str(value) and _word(str(value), msg):
                var = v
                break
    if var and attr:
        return f"{var}:{attr}"
    if attr:
        return attr
    return var or re.sub(r"^§[\d.]+\s*", "", group).strip() or group


def _hint(attribute: str, msg: str) -> str:
    var, _, attr = attribute.rpartition(":")
    if "_FillValue" in attribute and "coordinate" in msg:
        return (
            f"write it without one: encoding={{'{var}': {{'_FillValue': None}}}} "
            f"(odatis_vre.publishing.conventions.to_netcdf does)"
        )
    if "datatype is int64" in msg:
        return f"store `{attribute}` as int32 or float64 (encoding={{'{attribute}': {{'dtype': 'float64'}}}})"
    if "time_coverage" in attribute and "mismatch" in msg:
        return f"make `{attribute}` match the first/last time values (ISO 8601, e.g. 2023-01-01T12:00:00Z)"
    if any(
        s in msg for s in ("not present", "missing the following", "should exist", "is required", "highly recommended")
    ):
        if var and attr == "units":
            return (
                f"set ds['{var}'].attrs['units'] (UDUNITS, e.g. 'degree_Celsius', 'm', '1' for a "
                f"dimensionless quantity)"
            )
        if var:
            return f"set ds['{var}'].attrs['{attr}']"
        return f'set the global attribute `{attr}` (ds.attrs["{attr}"] = ...)'
    if attr == "units":
        return "use units UDUNITS understands (e.g. degree_north, degree_Celsius, m s-1, 1)"
    if attr == "standard_name":
        return "use a name from the CF Standard Name Table (https://cfconventions.org/standard-names.html)"
    if attr == "Conventions":
        return 'set Conventions = "CF-1.8, ACDD-1.3"'
    return f"fix `{attribute}`"


def _score(suite: Any, checker: str, groups: Any, source: str, path: str) -> dict[str, Any]:
    """compliance-checker's own point count of one checker (what its JSON report calls scored/possible)."""
    agg = suite.build_structure(checker, groups, path, limit=1)
    failed = []
    for level, key in (("high", "high_priorities"), ("medium", "medium_priorities"), ("low", "low_priorities")):
        for res in agg[key]:
            if res.value[0] < res.value[1]:
                failed.append(
                    {
                        "priority": level,
                        "check": str(res.name),
                        "points": list(res.value),
                        "messages": [str(m) for m in res.msgs or []],
                    }
                )
    scored, possible = int(agg["scored_points"]), int(agg["possible_points"])
    return {
        "checker": source,
        "scored": scored,
        "possible": possible,
        "percent": round(100.0 * scored / possible, 1) if possible else 100.0,
        "high": int(agg["high_count"]),
        "medium": int(agg["medium_count"]),
        "low": int(agg["low_count"]),
        "failed": failed,
    }


def _cc_run(path: str, ds: Any, thinned: bool) -> tuple[list[Problem], dict[str, Any]]:
    """(problems, scores) of compliance-checker's CF and ACDD checkers on a NetCDF file."""
    from compliance_checker import __version__ as cc_version

    suite = _suite()
    nc = suite.load_dataset(path)
    try:
        conv = str(getattr(nc, "Conventions", "") or "")
        names = [_declared(conv, "CF", "cf:1.8", suite.checkers), _declared(conv, "ACDD", "acdd:1.3", suite.checkers)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = suite.run_all(nc, names, skip_checks=[])
    finally:
        nc.close()
    variables = set(map(str, ds.variables))
    globals_ = _acdd_globals()
    out: list[Problem] = []
    scores: dict[str, Any] = {"tool": f"compliance-checker {cc_version}"}
    for checker, (groups, errors) in results.items():
        source = checker.replace("cf:", "CF-").replace("acdd:", "ACDD-")
        family = "cf" if checker.startswith("cf") else "acdd"
        scores[family] = _score(suite, checker, groups, source, path)
        for method, (exc, _tb) in errors.items():
            out.append(Problem("warning", method, f"{source} check {method} could not run: {exc}", source))
        for g in groups:
            value = g.value
            failed = (value[0] < value[1]) if isinstance(value, tuple) else (value is not None and not value)
            if not failed:
                continue
            if thinned and g.name in ("time_coverage_extents_match",):
                continue
            acdd_var = checker.startswith("acdd") and g.name.startswith("variable ")
            level: Literal["error", "warning", "suggestion"]
            if g.weight >= 3 and not acdd_var:
                level = "error"
            elif g.weight >= 2:
                level = "warning"
            else:
                level = "suggestion"
            for msg in g.msgs or [g.name]:
                attribute = _locate(str(msg), str(g.name), variables, ds, globals_)
                text = str(msg).strip()
                if acdd_var:
                    text = f"{g.name.rstrip(':')} {text}"
                out.append(
                    Problem(level, attribute, f"{text.rstrip('.')} ({source}); {_hint(attribute, text)}", source)
                )
    return out, scores


# ----------------------------------------------------------------------------- cf-xarray rules


def _xr_problems(ds: Any) -> list[Problem]:
    import cf_xarray  # noqa: F401  (registers the .cf accessor)

    out: list[Problem] = []
    src = "cf-xarray"
    if not str(ds.attrs.get("Conventions", "")).strip():
        out.append(
            Problem("error", "Conventions", 'missing; set the global attribute Conventions = "CF-1.8, ACDD-1.3"', src)
        )
    for name, var in ds.data_vars.items():
        if var.ndim == 0 and var.dtype.kind in "OSU":
            continue
        a = var.attrs
        if not (a.get("standard_name") or a.get("long_name")):
            out.append(
                Problem(
                    "error",
                    f"{name}:long_name",
                    f"{name} has neither standard_name nor long_name; set "
                    f"ds['{name}'].attrs['standard_name'] (CF table) or attrs['long_name']",
                    src,
                )
            )
        if (
            var.dtype.kind == "f"
            and "units" not in a
            and not (a.get("flag_values") is not None or a.get("flag_masks") is not None)
        ):
            out.append(
                Problem(
                    "error",
                    f"{name}:units",
                    f"{name} has no units; set ds['{name}'].attrs['units'] "
                    f"(UDUNITS, e.g. 'degree_Celsius', 'm', '1' for a dimensionless quantity)",
                    src,
                )
            )
        elif "units" not in a and var.dtype.kind in "iu" and a.get("flag_values") is None:
            out.append(
                Problem(
                    "warning",
                    f"{name}:units",
                    f"{name} (integers) has no units; set them unless it is a count or an identifier",
                    src,
                )
            )
    if ds.data_vars:
        names = ds.cf.standard_names
        coords = ds.cf.coordinates
        for what, units in (("latitude", "degrees_north"), ("longitude", "degrees_east")):
            if what not in names and not coords.get(what):
                out.append(
                    Problem(
                        "error",
                        what,
                        f"no variable is recognised as {what} by cf-xarray; on your {what} "
                        f"variable set standard_name='{what}' and units='{units}'",
                        src,
                    )
                )
        has_time_dtype = any(
            np.issubdtype(v.dtype, np.datetime64) or type(v.values.flat[0]).__module__ == "cftime"
            for v in ds.variables.values()
            if v.size and v.dtype.kind in "MO"
        )
        if has_time_dtype and "time" not in names and not coords.get("time"):
            out.append(
                Problem(
                    "warning",
                    "time",
                    "a time variable exists but cf-xarray cannot identify it; set "
                    "standard_name='time' (and axis='T' on a time coordinate)",
                    src,
                )
            )
    return out


# ----------------------------------------------------------------------------- API


def _open(ds_or_path: Any) -> tuple[Any, str | None, bool]:
    """(xarray Dataset, NetCDF path to check or None, opened by us)."""
    import xarray as xr

    if isinstance(ds_or_path, xr.Dataset):
        return ds_or_path, None, False
    if not isinstance(ds_or_path, (str, os.PathLike)):
        raise TypeError(
            f"check(): give an xarray.Dataset or the path of a NetCDF file / Zarr store, "
            f"not {type(ds_or_path).__name__}"
        )
    path = Path(ds_or_path)
    kind = check_readable(path)
    if kind == "zarr":
        try:
            return xr.open_zarr(path, decode_times=True), None, True
        except Exception as exc:  # noqa: BLE001 - any reader error means the same to the user
            raise UnreadableData(
                f"{path} is not a readable Zarr dataset ({type(exc).__name__}: {exc}); write it "
                f"again with xarray (ds.to_zarr(...))",
                path,
            ) from None
    for decode in (True, False):
        try:
            return xr.open_dataset(path, decode_times=decode), str(path), True
        except Exception as exc:  # noqa: BLE001
            last = exc
    raise UnreadableData(
        f"{path} cannot be opened as a dataset ({type(last).__name__}: {last}); give {_FORMATS} "
        f"that xarray opens (xr.open_dataset)",
        path,
    )


@dataclass(frozen=True)
class Assessment:
    """Everything a check found: ``problems`` (errors, warnings and low-priority suggestions) and
    compliance-checker's ``scores`` (``{"cf": {...}, "acdd": {...}, "tool": ...}``, see :func:`score`)."""

    problems: list[Problem]
    scores: dict[str, Any]

    @property
    def publishable(self) -> bool:
        """CF without a high-priority issue, ACDD at least :data:`ACDD_MIN_PERCENT` % of its points, no error."""
        return not self.refusal()

    def refusal(self) -> list[Problem]:
        """What stops publication, each naming the attribute to add or fix (``[]`` when publishable)."""
        errors = [p for p in self.problems if p.level == "error"]
        acdd = self.scores.get("acdd") or {}
        if acdd and acdd["percent"] < ACDD_MIN_PERCENT:
            short = (
                f"ACDD-1.3 score {acdd['scored']}/{acdd['possible']} ({acdd['percent']:g} %) is below "
                f"{ACDD_MIN_PERCENT:g} %"
            )
            todo = [p for p in self.problems if p.source.startswith("ACDD") and p.level != "error"]
            # source marks them: below the score, not wrong in themselves (one point each to win back)
            errors += [Problem("error", p.attribute, f"{p.message} [{short}]", f"{p.source} score") for p in todo]
            if not todo:
                errors.append(
                    Problem(
                        "error",
                        "ACDD",
                        f"{short}; add the attributes compliance-checker lists "
                        f"(compliance-checker --test acdd:1.3 FILE)",
                        "ACDD-1.3",
                    )
                )
        return errors


#: Publication needs at least this share of compliance-checker's ACDD-1.3 points (and no high-priority CF issue).
ACDD_MIN_PERCENT = 95.0


def assess(ds_or_path: Any) -> Assessment:
    """CF + ACDD problems and scores of a dataset (``xarray.Dataset``, NetCDF path or Zarr store).

    A Dataset or Zarr store is checked through a temporary NetCDF-4 copy written as
    :func:`to_netcdf` would (a thinned copy above ``MAX_CHECK_BYTES``). Never uses the network.
    """
    ds, nc_path, opened = _open(ds_or_path)
    tmpdir = None
    try:
        thinned = False
        if nc_path is None:
            small = ds
            if ds.nbytes > MAX_CHECK_BYTES:
                small, thinned = _thinned(ds), True
            tmpdir = tempfile.TemporaryDirectory(prefix="odatis-cf-")
            try:
                nc_path = str(to_netcdf(small, Path(tmpdir.name) / "check.nc"))
            except Exception as exc:  # noqa: BLE001 - a store whose chunks cannot be read: say which variable
                if not opened:
                    raise
                raise _data_error(ds_or_path, small, exc) from None
        cc, scores = _cc_run(nc_path, ds, thinned)
        problems = cc + _xr_problems(ds)
    finally:
        if opened:
            ds.close()
        if tmpdir is not None:
            tmpdir.cleanup()
    # one entry per (attribute, level); an error hides warnings about the same attribute
    errors_on = {p.attribute for p in problems if p.level == "error"}
    seen: set[tuple[str, str]] = set()
    out = []
    rank = {"error": 0, "warning": 1, "suggestion": 2}
    for p in sorted(problems, key=lambda p: (rank[p.level], p.attribute, p.source, p.message)):
        if (p.level != "error" and p.attribute in errors_on) or (p.level, p.attribute) in seen:
            continue
        seen.add((p.level, p.attribute))
        out.append(p)
    return Assessment(out, scores)


def check(ds_or_path: Any) -> list[Problem]:
    """CF + ACDD problems of a dataset, errors first (low-priority suggestions left out; see :func:`assess`).

    >>> from odatis_vre import samples
    >>> [p.level for p in check(samples.sst_dataset(days=2)) if p.level == "error"]
    []
    """
    return [p for p in assess(ds_or_path).problems if p.level != "suggestion"]


def score(ds_or_path: Any) -> dict[str, Any]:
    """compliance-checker's CF and ACDD points: ``{"cf": {scored, possible, percent, high, medium, low,
    failed: [...]}, "acdd": {...}, "tool": "compliance-checker 6.1.0", "publishable": bool}``.

    >>> from odatis_vre import samples
    >>> from odatis_vre.publishing import datafacts
    >>> s = score(datafacts.annotate(samples.sst_dataset(days=2)))
    >>> s["cf"]["high"], s["acdd"]["possible"] > 0
    (0, True)
    """
    a = assess(ds_or_path)
    return {**a.scores, "publishable": a.publishable}


def require(ds_or_path: Any) -> list[Problem]:
    """Raise :class:`ConventionsError` unless the dataset may be published; else return the warnings.

    Publication needs no CF/cf-xarray error (no high-priority CF issue) and ACDD-1.3 at
    :data:`ACDD_MIN_PERCENT` % of its points or more; the error lists every attribute to add.
    """
    return require_assessed(assess(ds_or_path), ds_or_path)


def require_assessed(a: Assessment, what: Any = None) -> list[Problem]:
    """:func:`require` on an :class:`Assessment` already made (the repository keeps its scores)."""
    errors = a.refusal()
    warns = [p for p in a.problems if p.level == "warning"]
    if errors:
        name = str(what) if isinstance(what, (str, os.PathLike)) else "the dataset"
        acdd = a.scores.get("acdd") or {}
        cf = a.scores.get("cf") or {}
        pre = (
            (
                f" (compliance-checker: CF {cf.get('scored')}/{cf.get('possible')}, {cf.get('high', 0)} high-priority "
                f"issue(s); ACDD {acdd.get('scored')}/{acdd.get('possible')} = {acdd.get('percent')} %, "
                f"{ACDD_MIN_PERCENT:g} % needed)"
            )
            if acdd
            else ""
        )
        raise ConventionsError(errors, warns, name, a.scores, pre)
    return warns
