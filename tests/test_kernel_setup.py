"""Kernels of the VRE put what plots need in the notebook itself: BokehJS and Panel's stylesheets, never links
to a CDN (odatis_vre.hub.kernel_setup, loaded by images/ocean/ipython_kernel_config.py in every kernel).

A real IPython kernel reads the image's kernel configuration and renders a HoloViews overlay and a Panel
layout; the outputs the browser would receive are searched for CDN addresses. The browser side (no request
leaves 127.0.0.1 while tutorials 02-04 run in JupyterLab) is tests/test_notebook_browser.py.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from odatis_vre.hub import kernel_setup

REPO = Path(__file__).resolve().parents[1]
CDN_HOSTS = ("cdn.holoviz.org", "cdn.bokeh.org", "cdn.jsdelivr.net", "unpkg.com")

CELLS = [
    # Panel is imported when a notebook needs it, not by every kernel at start (a second and a half each)
    "import sys\nprint('panel at start:', 'panel' in sys.modules)",
    "import numpy as np\nimport holoviews as hv\nhv.extension('bokeh')",
    # HoloViews' own renderer (what hvplot and odatis_vre.viz return): Panel's stylesheets ride along inline
    "hv.Image(np.eye(4), label='odatis-image') * hv.Curve([1, 3, 2])",
    # Panel's own display of a widget beside a plot
    "import panel as pn\npn.extension()\npn.Column(pn.widgets.Select(name='day', options=['a', 'b']), hv.Curve([1, 2]))",
]


def _run_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Run CELLS in a kernel that reads only the image's kernel configuration (and no PANEL_INLINE)."""
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    shutil.copy(REPO / "images" / "ocean" / "ipython_kernel_config.py", profile / "ipython_kernel_config.py")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("PANEL_INLINE", raising=False)
    monkeypatch.delenv("BOKEH_RESOURCES", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    # the venv's interpreter runs the kernel whatever kernelspecs the machine has
    client.kernel_manager_class = "jupyter_client.manager.KernelManager"
    client.km = client.kernel_manager_class(kernel_name="python3")
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    client.execute()
    return [c.outputs for c in nb.cells]


def test_plots_in_a_vre_kernel_carry_their_stylesheets_and_ask_no_cdn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = _run_kernel(tmp_path, monkeypatch)
    everything = [o for cell in outputs for o in cell]
    assert not [o for o in everything if o.output_type == "error"], [o for o in everything if o.output_type == "error"]
    assert "panel at start: False" in "".join(o.get("text", "") for o in outputs[0])
    for i in (2, 3):
        text = json.dumps([dict(o) for o in outputs[i]])
        # the output is a Bokeh document (HoloViews/Panel's exec MIME type) ...
        assert "application/vnd.holoviews_exec.v0+json" in text, text[:500]
        # ... whose stylesheets are inline: Panel's loading spinner and list layout CSS travel in it
        assert "InlineStyleSheet" in text and "pn-loading" in text, f"cell {i}: Panel's stylesheets are not inline"
        assert not [h for h in CDN_HOSTS if h in text], (
            f"cell {i} links to a CDN: {sorted({h for h in CDN_HOSTS if h in text})}"
        )
    # BokehJS itself is in the notebook (hv.extension inline), not loaded from cdn.bokeh.org
    loaded = json.dumps([dict(o) for o in outputs[1]])
    assert "cdn.bokeh.org" not in loaded and len(loaded) > 500_000


def test_the_hook_is_registered_once_and_panel_can_turn_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import holoviews as hv
    import numpy as np
    from panel.config import config
    from panel.viewable import Viewable

    monkeypatch.delenv("PANEL_INLINE", raising=False)  # Panel reads it before its own setting
    hooks = list(Viewable._preprocessing_hooks)
    inline = config._inline
    try:
        kernel_setup.inline_panel_stylesheets()
        kernel_setup.inline_panel_stylesheets()
        assert Viewable._preprocessing_hooks.count(kernel_setup._inline_hook) == 1
        hv.extension("bokeh")
        data, _ = hv.renderer("bokeh").components(hv.Image(np.eye(3)))
        assert "cdn.holoviz.org" not in json.dumps(data)
        # a user who wants the CDN back says so to Panel (pn.config.inline = False): links again
        config.inline = False
        data, _ = hv.renderer("bokeh").components(hv.Image(np.eye(3)))
        assert "cdn.holoviz.org" in json.dumps(data)
    finally:
        Viewable._preprocessing_hooks[:] = hooks
        config.inline = inline


def test_a_panel_without_the_hook_list_still_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Panel release without the internals used here: a warning naming what to report, never a failed import."""
    import panel
    from panel.viewable import Viewable

    monkeypatch.delattr(Viewable, "_preprocessing_hooks")
    with pytest.warns(RuntimeWarning, match=r"Panel's stylesheets are not inlined.*Panel version"):
        kernel_setup._inline_panel_stylesheets_safely(panel)


def test_server_proxy_allows_the_gateway_dashboards_host_and_no_other() -> None:
    """In Kubernetes the Dask dashboards go through the user's server to the gateway's Traefik: that host joins
    jupyter-server-proxy's allow-list, read from DASK_GATEWAY__PUBLIC_ADDRESS as the pod has it (the prefix left
    for the Dask sidebar to fill in) or filled in; the local mode's loopback route adds nothing."""
    from odatis_vre.hub import modes, server_setup

    route = modes.k8s_dashboard_route("odatis-vre", "ocean")
    loopback = ["localhost", "127.0.0.1"]
    for address in ("{JUPYTERHUB_SERVICE_PREFIX}" + route, "/user/ana/" + route):
        allowed = server_setup.proxy_host_allowlist({"DASK_GATEWAY__PUBLIC_ADDRESS": address})
        assert allowed == [*loopback, "traefik-odatis-vre-dask-gateway.ocean"], address
    local = {"DASK_GATEWAY__PUBLIC_ADDRESS": "{JUPYTERHUB_SERVICE_PREFIX}proxy/8786/"}
    assert server_setup.proxy_host_allowlist(local) == loopback
    assert server_setup.proxy_host_allowlist({}) == loopback
