"""Notebooks 02 (maps), 03 (Dask Gateway) and 04 (Argo) run top to bottom and show what they should.

Numbers the notebooks print are checked against independent numpy computations on the same files;
notebook 03 runs on the real Dask Gateway of the session's local VRE, as a user of the hub.
"""

from __future__ import annotations

import base64
import io
import os
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
import requests
import xarray as xr
from nbclient import NotebookClient
from vre_testing import VRETestStack

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def run_notebook(name: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> Any:
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    # the venv's interpreter runs the kernel whatever kernelspecs the machine has
    client.kernel_manager_class = "jupyter_client.manager.KernelManager"
    client.km = client.kernel_manager_class(kernel_name="python3")
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    client.execute(env={**os.environ, **(env or {})})
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    return nb


def stream_text(nb: Any) -> str:
    return "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream" and o.get("name") == "stdout"
    )


def number_after(text: str, label: str) -> float:
    match = re.search(re.escape(label) + r"\s*([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)", text)
    assert match, f"{label!r} not printed; output was:\n{text}"
    return float(match.group(1))


def png_outputs(nb: Any) -> list[np.ndarray]:
    from matplotlib.image import imread

    images = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "display_data" and "image/png" in o.get("data", {}):
                images.append(imread(io.BytesIO(base64.b64decode(o.data["image/png"])), format="png"))
    return images


def assert_real_plots(images: list[np.ndarray], count: int) -> None:
    assert len(images) == count
    for img in images:
        assert img.shape[0] > 200 and img.shape[1] > 250
        rgb = (img[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
        assert len(np.unique(rgb, axis=0)) > 30, "a nearly blank plot"


def holoviews_outputs(nb: Any) -> int:
    return sum(
        1
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.output_type == "execute_result" and "application/vnd.holoviews_exec.v0+json" in o.get("data", {})
    )


def weighted_mean(values: np.ndarray, lat: np.ndarray) -> float:
    w = np.broadcast_to(np.cos(np.deg2rad(lat))[:, None], values.shape)
    ok = np.isfinite(values)
    return float((values[ok] * w[ok]).sum() / w[ok].sum())


# ----------------------------------------------------------------------------- 02


def test_maps_and_time_series_notebook(sample_data: Path, tmp_path: Path) -> None:
    nb = run_notebook("02-maps-and-time-series.ipynb", tmp_path)
    text = stream_text(nb)
    # the map's mean, recomputed with plain numpy from the Zarr store
    z = xr.open_zarr(sample_data / "sst.zarr")
    day = z.analysed_sst.sel(time="2023-08-15T12:00").values
    assert number_after(text, "map mean SST:") == pytest.approx(weighted_mean(day, z.lat.values), abs=0.006)
    assert "climatology dims: {'month': 12, 'lat': 49, 'lon': 61}" in text
    assert "warmest month: 8 | coldest month: 2" in text
    # monthly Biscay means: January 2023, recomputed with numpy over the box
    box = z.analysed_sst.sel(lat=slice(44, 48), lon=slice(-10, -2), time=slice("2023-01-01", "2023-01-31")).values
    jan = np.mean([weighted_mean(v, z.lat.sel(lat=slice(44, 48)).values) for v in box])
    assert number_after(text, "Biscay monthly SST (°C):") == pytest.approx(jan, abs=0.006)
    assert re.search(r"Biscay SST trend: [-+]\d\.\d{3} °C/year, p = \d\.\d{3}, significant: (True|False)", text)
    assert 0.5 < number_after(text, "April 2023 Biscay chlorophyll:") < 5
    assert 4 < number_after(text, "mooring seasonal range at 10 m:") < 8
    assert_real_plots(png_outputs(nb), 6)
    assert holoviews_outputs(nb) == 5  # the interactive versions are there too
    assert sorted(p.name for p in (tmp_path / "figures").glob("*.png")) == [
        "chl-2023-04.png",
        "mooring-temp.png",
        "sst-2023-08-15.png",
        "sst-47N-7W.png",
        "sst-anomaly-2024-08-15.png",
        "sst-biscay-mean.png",
    ]


# ----------------------------------------------------------------------------- 04


def test_argo_notebook(sample_data: Path, tmp_path: Path) -> None:
    from odatis_vre.analysis import pressure_to_depth

    nb = run_notebook("04-argo-profiles.ipynb", tmp_path)
    text = stream_text(nb)
    raw = xr.open_dataset(sample_data / "argo_profiles.nc")
    assert f"profiles: {raw.sizes['N_PROF']} | floats: 10 | levels: {raw.sizes['N_LEVELS']}" in text
    # mean temperature at 1000 m, recomputed with np.interp profile by profile
    at_1000 = []
    for k in range(raw.sizes["N_PROF"]):
        z = pressure_to_depth(raw.PRES.values[k].astype(float), float(raw.LATITUDE.values[k]))
        at_1000.append(np.interp(1000.0, z, raw.TEMP.values[k].astype(float)))
    assert number_after(text, "mean temperature at 1000 m:") == pytest.approx(np.mean(at_1000), abs=0.006)
    t10, t100 = number_after(text, "mean temperature at 10 m:"), number_after(text, "mean temperature at 100 m:")
    assert t10 > t100 > np.mean(at_1000)
    assert "Mediterranean Water salinity maximum at 1000 m" in text
    assert number_after(text, "deepest mixed layer in month") in (1, 2, 3)
    winter, summer = number_after(text, "winter (DJF)"), number_after(text, "summer (JJA)")
    assert winter > summer >= 10
    assert_real_plots(png_outputs(nb), 4)
    assert sorted(p.name for p in (tmp_path / "figures").glob("*.png")) == [
        "argo-monthly-profiles.png",
        "argo-positions.png",
        "argo-profiles.png",
        "argo-section.png",
    ]


# ----------------------------------------------------------------------------- 03, on the gateway


def test_gateway_notebook_runs_on_the_vre_gateway(vre_stack: VRETestStack, sample_data: Path, tmp_path: Path) -> None:
    from odatis_vre.hub import modes

    vre_stack.create_user("nora", "nora-notebook-pass-3")
    token = vre_stack.user_token("nora")
    # what a user server of this VRE gets: the gateway and catalogue found through the environment
    env = {
        **modes.singleuser_env(vre_stack.stack.cfg),
        "JUPYTERHUB_API_TOKEN": token,
        "JUPYTERHUB_USER": "nora",
        "JUPYTERHUB_SERVICE_PREFIX": "/user/nora/",
    }
    nb = run_notebook("03-processing-on-dask-gateway.ipynb", tmp_path, env=env, timeout=900)
    text = stream_text(nb)
    assert "cluster: GatewayCluster | in the hub: True" in text
    assert "workers: 2" in text and "on 2 workers" in text
    assert "files (chunks along time): 730" in text and "months: 12" in text
    assert number_after(text, "max |cluster - numpy| August:") < 1e-4
    # the seasonal cycle, recomputed from the daily files with numpy
    files = sorted((sample_data / "sst_daily").glob("*.nc"))
    ds = xr.open_mfdataset(files, combine="by_coords", data_vars="minimal", coords="minimal", compat="override")
    sub = ds.analysed_sst.sel(lat=slice(44, 48), lon=slice(-10, -2)).load()
    aug = np.nanmean(sub.values[sub.time.dt.month.values == 8], axis=0)
    assert number_after(text, "warmest month:") == 8
    cycle = [float(v) for v in text.split("Biscay seasonal cycle (°C):")[1].split("\n")[0].split()]
    assert len(cycle) == 12 and cycle[7] == pytest.approx(weighted_mean(aug, sub.lat.values), abs=0.006)
    assert re.search(r"anomaly trend: [-+]\d\.\d{3} °C/year \(p = \d\.\d{3}, n = 24 months\)", text)
    assert "cluster shut down" in text
    assert_real_plots(png_outputs(nb), 2)
    # the notebook gave its workers back (asked through the gateway's REST API, as the user)
    r = requests.get(
        f"{vre_stack.url}/services/dask-gateway/api/v1/clusters/?status=PENDING,RUNNING",
        headers={"Authorization": f"jupyterhub {token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {}
