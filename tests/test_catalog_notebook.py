"""notebooks/01-catalogue.ipynb runs top to bottom and shows what it should."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_catalogue_notebook_runs(sample_data: Path, tmp_path: Path) -> None:
    nb = nbformat.read(REPO / "notebooks" / "01-catalogue.ipynb", as_version=4)
    # what the maps are made of: the data and the VRE's offline coastline (odatis_vre.viz.map)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "print('layers:', [type(e).__name__ for e in summer], [type(e).__name__ for e in bloom])"
        )
    )
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    # the venv's interpreter runs the kernel whatever kernelspecs the machine has
    client.kernel_manager_class = "jupyter_client.manager.KernelManager"
    client.km = client.kernel_manager_class(kernel_name="python3")
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "sample_sst_daily" in text and "sample_sst_zarr" in text
    assert "Argo (2000). Argo float data and metadata" in text and "@misc{cmems_globcolour_chl" in text
    assert "summer mean SST:" in text
    mean = float(text.split("summer mean SST:")[1].split()[0])
    assert 15 < mean < 23
    # two maps with coastlines and a time series, shown and saved for a report
    pngs = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert len(pngs) == 3
    assert sorted(p.name for p in (tmp_path / "figures").glob("*.png")) == [
        "chl-april.png",
        "sst-46N-5W.png",
        "sst-summer-2023.png",
    ]
    assert "layers: ['Image', 'Path'] ['Image', 'Path']" in text
    assert "sample_sst_zarr | Daily sea surface temperature" in text and "sample_chl |" in text
