"""The package's layout holds: imports point one way, no cycle, small modules, every name given as a string resolves.

The layers and the cycle rule are import-linter contracts in pyproject.toml (``make lint`` runs them too); the
checks here read the real import graph (grimp, the library import-linter builds on) and the real files.
"""

from __future__ import annotations

import importlib
import io
import re
import subprocess
import sys
import tokenize
from importlib.metadata import entry_points
from pathlib import Path

import grimp
import pytest
from vre_testing import REPO

PACKAGE = REPO / "odatis_vre"
#: lines of code (docstrings, comments and blank lines not counted) above which a module is split
MAX_CODE_LINES = 600
#: modules that may be longer because they are one idea, and why
ONE_IDEA = {
    "odatis_vre/data/samples.py": "the deterministic sample datasets, one generator each, sharing one grid and style",
}
#: where names of the package are written as text (class paths, ``python -m`` modules, docs)
TEXT_FILES = [
    "catalog/*.yaml",
    "hub/*.py",
    "helm/**/*.yaml",
    "helm/**/*.tpl",
    "images/**/Dockerfile",
    "images/**/*.py",
    "images/**/*.in",
    "docs/*.md",
    "README.md",
    "CONTRIBUTING.md",
    "Makefile",
    "pyproject.toml",
    "vre.yaml",
    "notebooks/*.ipynb",
    "benchmarks/*.py",
    "tests/*.py",
    "tests/*.yaml",
]
NAME_RE = re.compile(r"\bodatis_vre(?:\.[A-Za-z_]\w*)+")
#: ``from odatis_vre.x import a, b as c`` on one line, in code or in strings (a subprocess's ``-c`` program)
FROM_RE = re.compile(r"\bfrom (odatis_vre(?:\.\w+)*) import ([A-Za-z_][\w ,]*)")
#: names of the layout before the subpackages, written on purpose: the message that says where they went
FORMER = {"odatis_vre.catalog_drivers"}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("odatis_vre", cache_dir=None)


def test_import_linter_contracts_are_kept() -> None:
    """The layers (cli → hub → admin/explore → public API → publishing → data → users → foundations) and no
    cycle between siblings, as ``lint-imports`` reads them from pyproject.toml."""
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    """No cycle between modules, lazy imports inside functions included: a module never (even indirectly)
    imports a module that imports it."""
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported.startswith("odatis_vre") and graph.chain_exists(importer=imported, imported=module):
                chain = graph.find_shortest_chain(importer=imported, imported=module)
                cycles.append(" -> ".join([module, *(chain or ())]))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_graph_is_read_with_lazy_imports(graph: grimp.ImportGraph) -> None:
    """The checks above see the imports made inside functions too (the package imports heavy modules lazily)."""
    assert graph.direct_import_exists(importer="odatis_vre.timeseries", imported="odatis_vre.catalog")
    assert graph.direct_import_exists(importer="odatis_vre.cli.catalog", imported="odatis_vre.catalog")


def _docstring_lines(src: str) -> set[int]:
    """Lines of the strings that stand alone as a statement (docstrings of modules, classes, functions).

    Read with ``tokenize``, not ``ast``: Debian's Python 3.11.2 can raise "AST constructor recursion depth
    mismatch" from ``ast.parse`` late in a long test session (CPython gh-106905, fixed in 3.11.5).
    """
    skip = {tokenize.COMMENT, tokenize.NL}
    toks = [t for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type not in skip]
    starts = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    lines: set[int] = set()
    for i, tok in enumerate(toks):
        if tok.type != tokenize.STRING:
            continue
        before = toks[i - 1] if i else None
        after = toks[i + 1] if i + 1 < len(toks) else None
        if (before is None or before.type in starts) and (
            after is None or after.type in {tokenize.NEWLINE, tokenize.ENDMARKER}
        ):
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


def _code_lines(path: Path) -> int:
    """Lines holding code: blank lines, comments and docstrings are not counted (the formatter's wrapping is)."""
    src = path.read_text()
    docstrings = _docstring_lines(src)
    lines: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type not in skip:
            lines.update(n for n in range(tok.start[0], tok.end[0] + 1) if n not in docstrings)
    return len(lines)


def test_code_lines_counts_code_only(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(
        '"""Doc.\n\nMore doc.\n"""\n\n# a comment\nx = (\n    1,\n)\n\n\ndef f():\n    """Doc."""\n    return x\n'
    )
    assert _code_lines(f) == 5


def test_modules_are_small() -> None:
    """No module over MAX_CODE_LINES lines of code unless it is one idea (ONE_IDEA says which, and why)."""
    sizes = {str(p.relative_to(REPO)): _code_lines(p) for p in sorted(PACKAGE.rglob("*.py"))}
    too_long = {name: n for name, n in sizes.items() if n > MAX_CODE_LINES and name not in ONE_IDEA}
    assert not too_long, f"split these modules (lines of code): {too_long}"
    assert set(ONE_IDEA) <= set(sizes), "ONE_IDEA names a module that does not exist any more"


def test_package_folders_are_packages() -> None:
    """Every folder of Python modules is a package with a docstring saying what it holds."""
    for folder in sorted({p.parent for p in PACKAGE.rglob("*.py")}):
        init = folder / "__init__.py"
        assert init.is_file(), f"{folder} has modules but no __init__.py"
        src = init.read_text()
        first = next(
            t
            for t in tokenize.generate_tokens(io.StringIO(src).readline)
            if t.type not in {tokenize.COMMENT, tokenize.NL}
        )
        assert first.type == tokenize.STRING and first.start[0] in _docstring_lines(src), f"{init} has no docstring"


def _resolves(name: str) -> bool:
    """Whether ``name`` is a module of the package, or an attribute reached from one."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _names_in_files() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    files = {p for pattern in TEXT_FILES for p in REPO.glob(pattern)} | set(PACKAGE.rglob("*.py"))
    for path in sorted(files):
        if path == Path(__file__):
            continue
        text = path.read_text(errors="replace")
        for name in NAME_RE.findall(text):
            # a file name (odatis_vre.egg-info) or a logger's name is not an import path
            if name.endswith((".py", ".egg")) or name.startswith("odatis_vre.egg"):
                continue
            found.setdefault(name.rstrip("."), set()).add(str(path.relative_to(REPO)))
        for module, imported in FROM_RE.findall(text):
            for part in imported.split(","):
                name = part.strip().split(" as ")[0].strip()
                if name.isidentifier():
                    found.setdefault(f"{module}.{name}", set()).add(str(path.relative_to(REPO)))
    return found


def test_every_dotted_name_written_anywhere_resolves() -> None:
    """Class paths given as strings (spawner, authenticator, gateway backends, catalogue drivers), ``python -m``
    modules, entry points, and every ``odatis_vre.x.y`` named in code, configuration, charts, images and docs
    import: a module moved without its references fails here."""
    names = _names_in_files()
    assert len(names) > 100 and "odatis_vre.hub.spawners.VRELocalSpawner" in names
    assert "odatis_vre.data.drivers.ErddapTabledapSource" in names  # the catalogue's driver paths are read too
    broken = {name: sorted(where) for name, where in names.items() if name not in FORMER and not _resolves(name)}
    assert not broken, f"names that do not resolve: {broken}"


def test_entry_points_load() -> None:
    """The command line, the shell, the kernel provisioner and the explorer's launcher entry load."""
    wanted = {
        ("console_scripts", "odatis-vre"),
        ("console_scripts", "odatis-vre-shell"),
        ("jupyter_client.kernel_provisioners", "odatis-low-priority"),
        ("jupyter_serverproxy_servers", "odatis-explorer"),
    }
    loaded = {
        (group, ep.name)
        for group, _ in wanted
        for ep in entry_points(group=group)
        if ep.name == _ and ep.value.startswith("odatis_vre") and ep.load() is not None
    }
    assert loaded == wanted


def test_public_api_where_users_import_it() -> None:
    """What notebooks import stays at the top of the package; the tutorials' ``samples`` too."""
    import odatis_vre
    from odatis_vre import analysis, catalog, compute, provenance, publish, samples, timeseries, viz

    assert callable(catalog.search) and callable(catalog.load) and callable(catalog.cite)
    assert callable(compute.cluster) and callable(viz.map) and callable(analysis.climatology)
    assert callable(timeseries.point_series) and callable(publish.deposit) and callable(provenance.step)
    assert samples.__name__ == "odatis_vre.data.samples" and odatis_vre.quotas.__name__ == "odatis_vre.users.quotas"
    # the errors a deposit raises are caught from publish, where the call is
    assert issubclass(publish.MetadataError, ValueError) and issubclass(publish.ConventionsError, ValueError)
    with pytest.raises(AttributeError, match="no attribute 'spawners'"):
        odatis_vre.spawners  # noqa: B018 - internal modules are not attributes of the package


def test_a_catalogue_written_with_the_old_driver_paths_is_told_where_they_are() -> None:
    """A catalogue written before the layout (``odatis_vre.catalog_drivers.X``) gets the new path in the message."""
    from odatis_vre import catalog

    entry = {"driver": "odatis_vre.catalog_drivers.ErddapTabledapSource", "args": {}, "metadata": {"title": "t"}}
    problems = catalog.validate_entry("argo", entry)
    assert any("has moved: write odatis_vre.data.drivers.ErddapTabledapSource" in p for p in problems), problems
    entry["driver"] = "odatis_vre.data.drivers.ErddapTabledapSource"
    assert not any(p.startswith("driver") for p in catalog.validate_entry("argo", entry))
