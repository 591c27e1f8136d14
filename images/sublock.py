"""Locks of the images built on the `ocean` lock: ``python images/sublock.py [--check] [IMAGE ...]``.

``images/ocean/requirements.lock`` holds the exact versions of the environment the local mode runs
(``make lock``). The ``base`` and ``hub`` images hold a subset of it: the packages named in their
``requirements.in`` and everything those need, at the ocean lock's versions, so that a notebook
server, a Dask worker, the hub and the gateway agree on every shared library. The dependency
closure is read from the metadata of the packages installed in this environment (the venv that
``make install`` builds from the ocean lock).

Example
-------
>>> from pathlib import Path
>>> pins = read_lock(Path("images/ocean/requirements.lock"))     # doctest: +SKIP
>>> sorted(closure(["jupyterhub"], pins))[:2]                     # doctest: +SKIP
['alembic', 'annotated-types']
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
OCEAN_LOCK = HERE / "ocean" / "requirements.lock"
SUBSET_IMAGES = ("base", "hub")


class LockError(Exception):
    """A sub-lock cannot be built; the message says which package and what to do."""


def read_lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of a ``name==version`` lock file (comments ignored)."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        if "==" not in line:
            raise LockError(f"{path}: {line!r} is not an exact pin (name==version)")
        name, version = line.split("==", 1)
        pins[canonicalize_name(name.split("[")[0])] = version.strip()
    return pins


def read_in(path: Path) -> list[Requirement]:
    """The top-level requirements of an image (``requirements.in``: one per line, extras allowed)."""
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            out.append(Requirement(line))
    return out


def closure(top: list[str] | list[Requirement], pins: dict[str, str]) -> dict[str, str]:
    """Every package ``top`` needs (on Linux, this Python), pinned at the versions of ``pins``."""
    env = default_environment()
    todo: list[tuple[str, frozenset[str]]] = []
    for req in top:
        r = req if isinstance(req, Requirement) else Requirement(req)
        todo.append((canonicalize_name(r.name), frozenset(r.extras)))
    seen: set[tuple[str, frozenset[str]]] = set()
    out: dict[str, str] = {}
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        if name not in pins:
            raise LockError(f"{name} is needed but not in {OCEAN_LOCK.name}: add it to pyproject.toml, "
                            "install it in .venv and run `make lock`")
        out[name] = pins[name]
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise LockError(f"{name} is in the ocean lock but not installed here: run `make install` first") from None
        if dist.version != pins[name]:
            raise LockError(f"{name} {dist.version} is installed but the ocean lock says {pins[name]}: run `make install`")
        for spec in dist.requires or []:
            req = Requirement(spec)
            wanted = [env | {"extra": e} for e in extras] or [env | {"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(w) for w in wanted):
                continue
            todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return out


def render(image: str, pins: dict[str, str]) -> str:
    """The text of ``images/<image>/requirements.lock``."""
    reqs = read_in(HERE / image / "requirements.in")
    locked = closure(reqs, pins)
    lines = [f"# Exact versions of the '{image}' image: {', '.join(str(r) for r in reqs)} and what they need,",
             "# at the versions of images/ocean/requirements.lock. Regenerate with: python images/sublock.py"]
    lines += [f"{name}=={version}" for name, version in sorted(locked.items())]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", default=list(SUBSET_IMAGES), help="base and/or hub (default: both)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a lock is out of date, write nothing")
    args = parser.parse_args(argv)
    pins = read_lock(OCEAN_LOCK)
    stale = []
    for image in args.images:
        if image not in SUBSET_IMAGES:
            parser.error(f"{image!r}: only {', '.join(SUBSET_IMAGES)} have sub-locks (ml has its own lock)")
        text = render(image, pins)
        path = HERE / image / "requirements.lock"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            write_atomic(path, text)
            print(f"{path}: {len(text.splitlines()) - 2} packages")
    if stale:
        print("out of date (run python images/sublock.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LockError as exc:
        sys.exit(f"sublock: {exc}")
