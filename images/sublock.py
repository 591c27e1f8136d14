"""The locks: ``python images/sublock.py [--check] [IMAGE ...]`` and ``python images/sublock.py --freeze``.

Two locks are written from the developer's venv by ``--freeze`` (``make lock``), from the
project's own dependency lists in ``pyproject.toml``:

- ``images/ocean/requirements.lock``: the user environment, i.e. the runtime dependencies and
  everything they need (the ocean image, the local mode, Dask workers, the services). Adding a package
  to it is one line ``name==version`` (plus a line per new dependency), and the same name in
  ``pyproject.toml``;
- ``tests/requirements.lock``: what only the tests need (the ``[test]`` extra and its own
  dependencies: pytest, playwright, kubernetes-validate, kmock...), installed in the venv in addition,
  never in an image.

The ``base`` and ``hub`` images hold a subset of the ocean lock: the packages named in their
``requirements.in`` and everything those need, at the ocean lock's versions, so that a notebook
server, a Dask worker, the hub and the gateway agree on every shared library. A package an image
needs that the user environment must not carry (the hub's ``pycurl``) is pinned exactly in that
image's ``requirements.in`` and must need nothing outside the ocean lock. The dependency closure is
read from the metadata of the packages installed in this environment (the venv that ``make install``
builds from the locks).

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
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OCEAN_LOCK = HERE / "ocean" / "requirements.lock"
TEST_LOCK = REPO / "tests" / "requirements.lock"
SUBSET_IMAGES = ("base", "hub")
#: what every venv has from its own creation (left out of the locks, as ``pip freeze`` does)
VENV_TOOLS = {"pip", "setuptools", "wheel"}


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
    # an exact pin of a top-level requirement that the lock does not hold (an image's own package)
    own = {
        canonicalize_name(r.name): next(iter(r.specifier)).version
        for r in top
        if isinstance(r, Requirement) and len(r.specifier) == 1 and next(iter(r.specifier)).operator == "=="
    }
    seen: set[tuple[str, frozenset[str]]] = set()
    out: dict[str, str] = {}
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        if name not in pins and name in own:
            out[name] = own[name]
            continue
        if name not in pins:
            raise LockError(
                f"{name} is needed but not in {OCEAN_LOCK.name}: add it to pyproject.toml, "
                "install it in .venv and run `make lock`"
            )
        out[name] = pins[name]
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise LockError(f"{name} is in the ocean lock but not installed here: run `make install` first") from None
        if dist.version != pins[name]:
            raise LockError(
                f"{name} {dist.version} is installed but the ocean lock says {pins[name]}: run `make install`"
            )
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
    lines = [
        f"# Exact versions of the '{image}' image: {', '.join(str(r) for r in reqs)} and what they need,",
        "# at the versions of images/ocean/requirements.lock. Regenerate with: python images/sublock.py",
    ]
    lines += [f"{name}=={version}" for name, version in sorted(locked.items())]
    return "\n".join(lines) + "\n"


def installed_pins() -> dict[str, str]:
    """``{canonical name: version}`` of every distribution installed here, but the project itself."""
    return {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in metadata.distributions()
        if canonicalize_name(d.metadata["Name"]) != "odatis-vre"
    }


def project_requirements() -> tuple[list[Requirement], list[Requirement]]:
    """The runtime dependencies and the ``[test]`` extra of ``pyproject.toml``."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return (
        [Requirement(r) for r in project["dependencies"]],
        [Requirement(r) for r in project["optional-dependencies"]["test"]],
    )


def split(pins: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(user lock, test-only lock) of the installed versions ``pins``.

    The user lock is the closure of the runtime dependencies; the test lock is what the ``[test]``
    extra needs beyond it.
    """
    runtime, test = project_requirements()
    user = closure(runtime, pins)
    tests = {n: v for n, v in closure(test, pins).items() if n not in user}
    return user, tests


def freeze() -> list[str]:
    """Write the user lock and the test lock from this venv (``make lock``); return what was left out."""
    pins = installed_pins()
    user, tests = split(pins)
    names = {canonicalize_name(d.metadata["Name"]): d.metadata["Name"] for d in metadata.distributions()}
    header = {
        OCEAN_LOCK: [
            "# Exact versions of the user environment: the 'ocean' image, the local mode, Dask workers and",
            "# the services (no test-only package). One line per package; regenerate with: make lock",
        ],
        TEST_LOCK: [
            "# Exact versions of what only the tests need (pyproject.toml [test] and what it needs beyond",
            "# images/ocean/requirements.lock); make install adds it to .venv, no image holds it.",
            "# Regenerate with: make lock",
        ],
    }
    for path, locked in ((OCEAN_LOCK, user), (TEST_LOCK, tests)):
        # pip freeze's order and spelling (display names, case-folded): a new package is one new line
        shown = sorted((names.get(n, n), v) for n, v in locked.items() if n not in VENV_TOOLS)
        lines = header[path] + [f"{name}=={v}" for name, v in sorted(shown, key=lambda nv: nv[0].lower())]
        write_atomic(path, "\n".join(lines) + "\n")
        print(f"{path}: {len(lines) - len(header[path])} packages")
    unused = sorted(set(pins) - set(user) - set(tests) - VENV_TOOLS)
    return unused


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
    parser.add_argument(
        "--freeze",
        action="store_true",
        help="write images/ocean/requirements.lock and tests/requirements.lock from this venv",
    )
    args = parser.parse_args(argv)
    if args.freeze:
        unused = freeze()
        if unused:
            print("installed but needed by nothing in pyproject.toml (left out of both locks): " + ", ".join(unused))
        return 0
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
