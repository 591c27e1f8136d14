"""Tests run inside the 'ocean' image (pangeo-docker-images style): ``tests/test_images.py`` runs them with the
image's own Python, pytest coming from a read-only folder outside the image (the image holds no test package).

The tutorial notebooks (``/srv/odatis/notebooks``) run top to bottom in the image's kernel, the catalogue opens
and loads from the data volume (``/srv/odatis/catalog/data``), and the environment is the lock's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path("/srv/odatis/notebooks")
LOCK = Path("/opt/odatis-vre/ocean.lock")
#: test-only packages (tests/requirements.lock of the repository): none may be in a user image
TEST_ONLY = ("playwright", "kubernetes-validate", "kmock", "pytest-asyncio", "pytest-timeout")


def test_environment_is_the_lock_and_holds_no_test_package() -> None:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    installed = {
        d.metadata["Name"].lower().replace("_", "-"): d.version
        for d in metadata.distributions()
        if not str(d.locate_file("")).startswith(os.environ.get("ODATIS_VRE_TEST_TOOLS", "/nowhere"))
    }
    assert {n: installed.get(n) for n in pins} == pins
    assert not [n for n in TEST_ONLY if n in installed]
    # pytest itself comes from the read-only test tools folder, not from the image
    assert pytest.__file__.startswith(os.environ["ODATIS_VRE_TEST_TOOLS"])
    assert (Path("/opt/odatis-vre/packages.txt").read_text().count("==")) == len(installed)


def test_runs_as_jovyan_with_the_catalogue_of_the_image() -> None:
    assert os.getuid() == 1000
    assert os.environ["ODATIS_VRE_CATALOG"] == "/srv/odatis/catalog/odatis.yaml"
    from odatis_vre import catalog

    names = [e["name"] for e in catalog.search("sea surface temperature")]
    assert "sample_sst_zarr" in names
    ds = catalog.load("sample_sst_zarr")
    sst = ds.analysed_sst.isel(time=0).mean().compute()
    assert 0 < float(sst) < 35


def test_jupyterlab_extensions_of_the_image() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"], capture_output=True, text=True, timeout=120
    )
    text = out.stdout + out.stderr
    for ext in ("nbgitpuller", "jupyter_server_proxy", "dask_labextension", "jupyterlab"):
        assert f"{ext} " in text and "enabled" in text.split(f"{ext} ", 1)[1].splitlines()[0], ext


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("0[1-4]-*.ipynb")))
def test_tutorial_notebook_runs(name: str, tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [
        f"{o.ename}: {o.evalue}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    assert any(
        o.output_type in ("stream", "display_data", "execute_result")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )


def test_publish_notebook_runs_against_the_repository(tmp_path: Path) -> None:
    """Notebook 05 needs a VRE's repository: the outer test gives its address and a user's token."""
    if "ODATIS_VRE_REPOSITORY_URL" not in os.environ:
        pytest.fail("ODATIS_VRE_REPOSITORY_URL is not set: tests/test_images.py starts a repository for this test")
    nb = nbformat.read(NOTEBOOKS / "05-publish-with-doi.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env={**os.environ, "JPY_SESSION_NAME": str(NOTEBOOKS / "05-publish-with-doi.ipynb")})
    errors = [
        f"{o.ename}: {o.evalue}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "DOI: 10.5072/" in text and "same DOI: True" in text
    print(json.dumps({"notebook": "05", "ok": True}))


def test_dask_commands_the_gateway_runs() -> None:
    """The gateway starts schedulers and workers with `dask scheduler` / `dask worker` (odatis_vre.hub.gateway)."""
    for sub in ("scheduler", "worker"):
        out = subprocess.run(["dask", sub, "--help"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and "Usage" in out.stdout, out.stderr
