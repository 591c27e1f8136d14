"""The catalogue file and what its entries must hold: where the pole's catalogue is (:func:`default_path`), a file
read as a classic intake catalogue (:func:`parse_catalogue`), an entry's JSON Schema
(``odatis_vre/schema/catalog-entry.schema.json``) and the checks beyond it (box, period, a driver intake can load),
as messages naming the field and what to do.

>>> validate_entry("x", {"driver": "netcdf", "metadata": {"title": "t"}})[1]
'metadata.access: missing (add it; see odatis_vre/schema/catalog-entry.schema.json)'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .query import CatalogError

ENV_CATALOG = "ODATIS_VRE_CATALOG"


def default_path() -> Path:
    """``$ODATIS_VRE_CATALOG``, else the repository's ``catalog/odatis.yaml``."""
    env = os.environ.get(ENV_CATALOG)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "catalog" / "odatis.yaml"


def parse_catalogue(path: Path, text: str) -> dict[str, Any]:
    """The catalogue file at ``path`` (its ``text``), parsed: a mapping with a top-level ``sources:`` mapping."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster on big catalogues
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogError(
            f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}. Fix the file; "
            f"`odatis-vre catalog check {path}` re-checks it."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise CatalogError(
            f"{path}: a catalogue needs a top-level `sources:` mapping (classic intake format); see docs/catalogue.md"
        )
    return data


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
            problems.append(
                f"{field}: {err.instance!r} is not allowed (allowed: {', '.join(map(str, err.validator_value))})"
            )
        elif err.validator == "anyOf" and field.endswith("metadata"):
            problems.append("metadata.doi: missing (give a DOI or a landing_page)")
        else:
            problems.append(
                f"{field}: {err.message}"
                + (
                    f" ({err.schema.get('description')})"
                    if isinstance(err.schema, dict) and err.schema.get("description")
                    else ""
                )
            )
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
    if driver.startswith("odatis_vre.catalog_drivers."):  # the drivers' place before the package's subpackages
        return (
            f"driver {driver!r} has moved: write odatis_vre.data.drivers.{driver.rpartition('.')[2]} "
            f"(the drivers live in odatis_vre.data.drivers)"
        )
    if "." in driver:
        import importlib

        mod, _, cls = driver.rpartition(".")
        try:
            if hasattr(importlib.import_module(mod), cls):
                return None
            return f"unknown driver {driver!r}: module {mod} has no class {cls}"
        except ImportError as exc:
            return f"unknown driver {driver!r}: cannot import {mod} ({exc})"
    return (
        f"unknown driver {driver!r} (known: {', '.join(sorted(registry))}, or a class path such as "
        f"odatis_vre.data.drivers.ErddapTabledapSource; is its plugin package installed?)"
    )
