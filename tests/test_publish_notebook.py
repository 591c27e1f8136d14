"""notebooks/05-publish-with-doi.ipynb runs top to bottom against the real repository of a running VRE.

The kernel gets what a VRE server gives it: the user's hub token, the VRE configuration, the
notebook's path ($JPY_SESSION_NAME, as Jupyter sets it).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import nbformat
import pytest
import requests
from nbclient import NotebookClient
from vre_testing import REPO, VRETestStack, start_stack

from odatis_vre import catalog

NOTEBOOK = REPO / "notebooks" / "05-publish-with-doi.ipynb"


@pytest.fixture(scope="module")
def repo_stack(tmp_path_factory: pytest.TempPathFactory) -> VRETestStack:
    """A VRE with the repository (local registrar) and only what the notebook needs."""
    stack = start_stack(
        tmp_path_factory.mktemp("nb-vre"),
        {
            "services": {
                "dask_gateway": {"enabled": False},
                "idle_culler": {"enabled": False},
                "explorer": {"enabled": False},
                "repository": {"enabled": True, "registrar": "local"},
            }
        },
    )
    yield stack
    stack.stop()


@pytest.mark.slow
def test_publish_notebook_runs(
    repo_stack: VRETestStack, sample_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import test_repository

    test_repository.STACKS.append(repo_stack.config_path)  # tests/test_zz_fixity.py re-checks what it publishes
    repo_stack.create_user("nbauthor", "a-long-password-1")
    token = repo_stack.user_token("nbauthor")
    repo = f"{repo_stack.url}/services/repository/"
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
    monkeypatch.setenv("ODATIS_VRE_CONFIG", str(repo_stack.config_path))
    monkeypatch.setenv("ODATIS_VRE_DEPOSIT_DIR", str(tmp_path / "deposits"))
    monkeypatch.setenv("JPY_SESSION_NAME", str(NOTEBOOK))
    monkeypatch.delenv("ODATIS_VRE_REPOSITORY_URL", raising=False)
    monkeypatch.delenv("ODATIS_VRE_PROVENANCE_FILE", raising=False)
    # what a user server of this VRE gets: the repository's catalogue included in the VRE's
    from odatis_vre.hub import modes

    monkeypatch.setenv(
        "ODATIS_VRE_CATALOG_INCLUDES", modes.singleuser_env(repo_stack.stack.cfg)["ODATIS_VRE_CATALOG_INCLUDES"]
    )

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.kernel_manager_class = "jupyter_client.manager.KernelManager"
    client.km = client.kernel_manager_class(kernel_name="python3")
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    try:
        client.execute()
    finally:
        nbformat.write(nb, tmp_path / NOTEBOOK.name)  # the executed notebook, to look at when a check fails

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"], [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # refusals name the fields and attributes to fix
    assert "creators: missing" in text
    assert "units" in text or "standard_name" in text
    # below 95 % of the ACDD points: the metadata fields to add, named as the user writes them
    assert "Add to the metadata" in text and "at least 95 % needed" in text
    fields = ast.literal_eval(text.split("fields to add: ")[1].splitlines()[0])
    assert {"creators[].email", "instrument", "platform", "program"} <= set(fields), fields
    # (this VRE sets no services.repository.publisher_email: the refusal says the administrator sets it)
    assert set(fields) - {"creators[].email", "instrument", "platform", "program"} <= {"the repository's publisher"}
    # the published file: compliance-checker's scores, as the service computed them on the file itself
    scores = text.split("compliance-checker: ")[1].splitlines()[0]
    assert scores.endswith("high-priority CF issues: 0"), scores
    assert float(scores.split("(")[1].split(" %")[0]) >= 95, scores
    # the deposit: a DOI under the test prefix, marked as not registered, a landing page
    doi = text.split("DOI:")[1].split()[0]
    landing = text.split("landing page:")[1].split()[0]
    assert doi.startswith("10.5072/odatis.") and "NOT REGISTERED" in text
    assert landing.startswith(repo + "datasets/")
    assert "identical values: yes" in text and "same DOI: True" in text
    assert "found in the VRE catalogue: True" in text
    # a map and a series of the published dataset, drawn from what came back from the repository
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= 2 and all(len(o["data"]["image/png"]) > 10_000 for o in pngs)
    july = catalog.load("sample_sst_zarr", bbox=(-6, 44, -1, 48), time=("2023-07-01", "2023-07-31")).analysed_sst
    shown = float(text.split("July mean of the published map:")[1].split()[0])
    assert shown == pytest.approx(float(july.mean()), abs=0.011)
    # provenance: the catalogue entry opened, the notebook with its hash, the software
    attrs = requests.get(landing + "datacite.json", timeout=30).json()
    methods = " ".join(d["description"] for d in attrs["descriptions"] if d["descriptionType"] == "Methods")
    assert "Derived from: Daily sea surface temperature" in methods  # the catalogue entry the notebook opened
    assert "odatis-vre" in methods and NOTEBOOK.name in methods
    assert {
        "relatedIdentifier": "https://www.odatis-ocean.fr",
        "relatedIdentifierType": "URL",
        "relationType": "IsDerivedFrom",
    } in attrs["relatedIdentifiers"]
    assert {i["relatedItemType"] for i in attrs["relatedItems"]} >= {"Software", "ComputationalNotebook"}
    # exactly one published version with this DOI
    published = [v for v in requests.get(repo + "api/published", timeout=30).json() if v["doi"] == doi]
    assert len(published) == 1 and published[0]["owner"] == "nbauthor"
    assert json.dumps(attrs).count(doi) >= 1
