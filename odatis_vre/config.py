"""The platform configuration: ``vre.yaml``, validated by a JSON Schema.

Every component (hub, gateway, services, chart) reads the same file through
:func:`load`, so that the local and Kubernetes modes cannot drift.

Example
-------
>>> from odatis_vre import config
>>> cfg = config.load("vre.yaml")            # doctest: +SKIP
>>> cfg.mode, [p["name"] for p in cfg.profiles]   # doctest: +SKIP
('local', ['ocean', 'ocean-large', 'ml'])
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from . import atomic

ENV_CONFIG = "ODATIS_VRE_CONFIG"

#: Values a key takes when the file does not set it (deep-merged under the file).
DEFAULTS: dict[str, Any] = {
    "mode": "local",
    "hub": {
        "ip": "127.0.0.1",
        "port": 8000,
        "base_url": "/",
        "admin_users": ["admin"],
        "state_dir": ".vre",
        "homes_dir": ".vre-homes",
        "services_dir": ".vre-services",
        "concurrent_spawn_limit": 100,
        "isolation": {
            "prefix": "jupyter-",
            "service_account": "odatis-services",
            "limits": "auto",
            "max_processes": 2048,
        },
    },
    "auth": {"type": "local"},
    "groups": {},
    "catalog": {"path": "catalog/odatis.yaml"},
    "services": {
        "dask_gateway": {"enabled": True, "idle_timeout": 1800},
        "idle_culler": {"enabled": True, "timeout": 3600},
        "explorer": {"enabled": True},
        "repository": {"enabled": True, "registrar": "local", "doi_prefix": "10.5072"},
    },
}


class ConfigError(ValueError):
    """The configuration file is wrong; the message names the file, the key and what is allowed."""


def schema() -> dict[str, Any]:
    """The JSON Schema of ``vre.yaml`` (shipped in the package)."""
    text = resources.files("odatis_vre").joinpath("schema/vre.schema.json").read_text()
    return json.loads(text)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated recursively by ``over`` (neither is modified)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _key_path(error: jsonschema.ValidationError) -> str:
    parts: list[str] = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (("." if parts else "") + str(p)))
    return "".join(parts) or "(top level)"


def _allowed(error: jsonschema.ValidationError) -> str:
    s = error.schema if isinstance(error.schema, dict) else {}
    v = error.validator
    if v == "additionalProperties":
        allowed = sorted((s.get("properties") or {}).keys())
        return "allowed keys here: " + ", ".join(allowed) if allowed else "no extra keys are allowed here"
    if v == "enum":
        return "allowed values: " + ", ".join(map(repr, s["enum"]))
    if v == "type":
        t = s.get("type")
        return f"expected type: {' or '.join(t) if isinstance(t, list) else t}"
    if v == "pattern":
        return s.get("description") or f"must match {s.get('pattern')}"
    if v == "required":
        return "add the missing key"
    if v in ("minimum", "exclusiveMinimum", "maximum", "minItems"):
        return f"{v} is {error.validator_value}"
    return s.get("description", "")


def validate(data: Any, source: str = "vre.yaml") -> None:
    """Check ``data`` against the schema; raise :class:`ConfigError` listing every problem."""
    validator = jsonschema.Draft202012Validator(schema(), format_checker=None)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    problems = []
    for err in errors:
        key = _key_path(err)
        if err.validator == "additionalProperties":
            extra = [k for k in err.instance if k not in (err.schema.get("properties") or {})]
            key = (key + "." if key != "(top level)" else "") + ",".join(map(str, extra))
            msg = "unknown key"
        else:
            msg = err.message
        hint = _allowed(err)
        problems.append(f"  - {key}: {msg}" + (f" ({hint})" if hint else ""))
    if not problems and isinstance(data, dict):
        problems = _semantic_problems(deep_merge(DEFAULTS, data))
    if problems:
        raise ConfigError(
            f"{source} is not a valid odatis-vre configuration:\n"
            + "\n".join(problems)
            + f"\nFix the key(s) above; `odatis-vre config check {source}` re-checks the file."
        )


def _semantic_problems(data: dict[str, Any]) -> list[str]:
    """Rules a JSON Schema cannot say: unique names, references between sections."""
    out = []
    names = [p.get("name") for p in data.get("profiles", [])]
    for n in {n for n in names if names.count(n) > 1}:
        out.append(f"  - profiles: the name {n!r} is used twice (profile names must be unique)")
    groups = set((data.get("groups") or {}).keys())
    for i, p in enumerate(data.get("profiles", [])):
        for g in p.get("groups", []):
            if g not in groups:
                out.append(
                    f"  - profiles[{i}].groups: unknown group {g!r} (defined groups: {', '.join(sorted(groups)) or 'none'})"
                )
        for res in ("cpu", "memory"):
            r = p.get(res) or {}
            if "guarantee" in r and "limit" in r and parse_quantity(r["guarantee"]) > parse_quantity(r["limit"]):
                out.append(f"  - profiles[{i}].{res}: guarantee {r['guarantee']} is above limit {r['limit']}")
    if data.get("mode") == "kubernetes" and (data.get("auth") or {}).get("type") == "local":
        out.append("  - auth.type: 'local' accounts are for the local mode; Kubernetes mode needs 'oauth'")
    return out


_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_quantity(value: str | int | float) -> float:
    """Parse ``'4G'`` → bytes, or return a plain number unchanged.

    >>> parse_quantity("1.5G") == 1.5 * 1024**3
    True
    """
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    unit = text[-1] if text and text[-1] in "KMGT" else ""
    return float(text[: len(text) - len(unit)]) * _UNITS[unit]


def format_bytes(n: float) -> str:
    """Inverse of :func:`parse_quantity` for display: ``4294967296`` → ``'4G'``."""
    for unit in ("T", "G", "M", "K"):
        v = n / _UNITS[unit]
        if v >= 1 and abs(v * 100 - round(v * 100)) < 1e-6:
            return f"{round(v, 2):g}{unit}"
    return f"{n:g}"


@dataclass
class VREConfig:
    """A validated configuration, with the file it came from (paths resolve against it)."""

    data: dict[str, Any]
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return self.data["mode"]

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def hub(self) -> dict[str, Any]:
        return self.data["hub"]

    @property
    def profiles(self) -> list[dict[str, Any]]:
        return self.data["profiles"]

    @property
    def groups(self) -> dict[str, dict[str, Any]]:
        return self.data.get("groups") or {}

    @property
    def services(self) -> dict[str, Any]:
        return self.data["services"]

    def resolve(self, relative: str | os.PathLike[str]) -> Path:
        """A path from the file, made absolute against the file's folder."""
        p = Path(os.path.expandvars(str(relative))).expanduser()
        return p if p.is_absolute() else (self.root / p).resolve()

    @property
    def state_dir(self) -> Path:
        return self.resolve(self.hub["state_dir"])

    @property
    def homes_dir(self) -> Path:
        return self.resolve(self.hub["homes_dir"])

    @property
    def services_dir(self) -> Path:
        return self.resolve(self.hub["services_dir"])

    @property
    def isolation(self) -> dict[str, Any]:
        return self.hub["isolation"]

    @property
    def catalog_path(self) -> Path:
        return self.resolve(self.data["catalog"]["path"])

    @property
    def hub_url(self) -> str:
        h = self.hub
        return f"http://{h['ip']}:{h['port']}{h['base_url'].rstrip('/')}"

    def profile(self, name: str) -> dict[str, Any]:
        for p in self.profiles:
            if p["name"] == name:
                return p
        raise KeyError(f"no profile named {name!r}; profiles: {', '.join(p['name'] for p in self.profiles)}")


def from_dict(raw: dict[str, Any], source: str = "vre.yaml", path: Path | None = None) -> VREConfig:
    """Validate a configuration given as a dict (the file's content) and fill in defaults."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the file must hold a YAML mapping (key: value), not {type(raw).__name__}")
    validate(raw, source)
    return VREConfig(deep_merge(DEFAULTS, raw), path, raw)


def default_path() -> Path:
    """``$ODATIS_VRE_CONFIG``, else ``./vre.yaml``, else the repository's ``vre.yaml``."""
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    here = Path.cwd() / "vre.yaml"
    if here.exists():
        return here
    return Path(__file__).resolve().parents[1] / "vre.yaml"


def read_raw(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's content as written (no defaults), for tools that edit it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such configuration file (create one from the repository's vre.yaml)") from None
    except IsADirectoryError:
        raise ConfigError(f"{p} is a folder: give the configuration file itself, e.g. {p / 'vre.yaml'}") from None
    except PermissionError:
        raise ConfigError(f"{p}: permission denied; run the command as a user who may read it (or as root)") from None
    except UnicodeDecodeError as exc:
        line = text_line(p, exc.start)
        raise ConfigError(
            f"{p}: not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at line {line}); "
            f"save the file as UTF-8"
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{p}: not valid YAML{where}: {getattr(exc, 'problem', exc)}; fix the file there "
            f"(`odatis-vre config check {p}` re-checks it)"
        ) from None
    return raw if raw is not None else {}


def text_line(path: Path, offset: int) -> int:
    """The line number (from 1) of byte ``offset`` of a file."""
    with open(path, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1


_CACHE: dict[Path, tuple[float, VREConfig]] = {}


def load(path: str | os.PathLike[str] | None = None, *, cached: bool = False) -> VREConfig:
    """Read and validate ``vre.yaml``.

    ``cached=True`` re-reads the file only when its modification time changed: the hub
    and gateway call it on every spawn so that ``odatis-vre admin quotas set`` applies
    to the next server without a restart.
    """
    p = Path(path) if path else default_path()
    p = p.resolve()
    if cached:
        try:
            mtime = p.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = -1
        hit = _CACHE.get(p)
        if hit and hit[0] == mtime:
            return hit[1]
    cfg = from_dict(read_raw(p), str(p), p)
    if cached:
        _CACHE[p] = (p.stat().st_mtime_ns, cfg)
    return cfg


def save(raw: dict[str, Any], path: str | os.PathLike[str]) -> VREConfig:
    """Validate ``raw`` and write it atomically (a reader never sees half a file)."""
    p = Path(path).resolve()
    cfg = from_dict(raw, str(p), p)
    atomic.write_text(p, yaml.safe_dump(raw, sort_keys=False, default_flow_style=False))
    return cfg
