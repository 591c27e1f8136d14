"""The notebook experience in a real Chromium through the real hub: widgets, Bokeh/Panel, live resource use,
the Dask sidebar on the gateway, and real-time collaboration through a workshop's instructor share.

Each test logs in through the hub's form, opens a notebook written into the user's home (as their
account), runs it from JupyterLab's Run menu and reads what the page shows. Screenshots go to
/tmp/odatis-lab-*.png.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests
from lab_browser import (
    Watch,
    chromium,
    error_outputs,
    lab_login,
    painted,
    run_all,
    write_notebook,
)
from playwright.sync_api import expect
from vre_testing import VRETestStack

from odatis_vre import catalog
from odatis_vre.admin import HubClient
from odatis_vre.admin.workshop import grant_instructors

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp")

WIDGET_CELLS = [
    # a tqdm bar in a notebook is an ipywidgets progress bar (no "IProgress not found" fallback to text)
    "from tqdm.auto import tqdm\nfor _ in tqdm(range(50), desc='odatis-progress'):\n    pass",
    # an hvplot driven by a Panel widget: the kernel answers each change through the Bokeh/Panel extension
    "import panel as pn\nimport hvplot.xarray  # noqa: F401\nfrom odatis_vre import catalog\npn.extension()\n"
    "sst = catalog.load('sample_sst_zarr').analysed_sst.isel(time=slice(0, 3)).load()\n"
    "days = [str(t)[:10] for t in sst.time.values]\n"
    "day = pn.widgets.Select(name='day', options=days, value=days[0])\n"
    "def mean_of(d):\n    return pn.pane.Markdown(f'odatis-mean {float(sst.sel(time=d).mean()):.4f}')\n"
    "def view(d):\n    return sst.isel(time=days.index(d)).hvplot.image(x='lon', y='lat', title=f'odatis-title {d}', frame_width=300)\n"
    "pn.Column(day, pn.bind(mean_of, day), pn.bind(view, day))",
]

_TITLES_JS = """() => {
  const out = [];
  for (const d of ((window.Bokeh && window.Bokeh.documents) || []))
    for (const m of d.all_models)
      if (typeof m.text === 'string' && m.text.startsWith('odatis-title')) out.push(m.text);
  return out;
}"""


def _home(vre_stack: VRETestStack, user: str) -> tuple[Path, int, int]:
    acc = vre_stack.account(user)
    return Path(acc.home), acc.uid, acc.gid


def test_widgets_bokeh_and_resource_use_in_jupyterlab(vre_stack: VRETestStack, sample_data: Path) -> None:
    user, pw = "wendy", "wendy-pass-5"
    vre_stack.create_user(user, pw)
    vre_stack.start_server(user)
    home, uid, gid = _home(vre_stack, user)
    write_notebook(home, "widgets.ipynb", WIDGET_CELLS, uid, gid)
    sst = catalog.load("sample_sst_zarr").analysed_sst.isel(time=slice(0, 3)).load()
    days = [str(t)[:10] for t in sst.time.values]
    watch = Watch()
    with chromium(watch, "widgets") as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = lab_login(context, vre_stack.url, user, pw, f"/user/{user}/lab/tree/widgets.ipynb", watch)
        run_all(page)
        # tqdm: a widget progress bar at 100 %, labelled, and no text fallback
        bar = page.locator(".jp-OutputArea-output .widget-hprogress, .jp-OutputArea-output .jupyter-widget-hprogress")
        expect(bar.first).to_be_visible(timeout=60_000)
        expect(page.locator(".jp-OutputArea-output").first).to_contain_text("odatis-progress")
        assert not [t for t in page.locator(".jp-OutputArea-output").all_inner_texts() if "IProgress not found" in t]
        # Panel: the widget and the plot render; choosing another day updates both from the kernel
        panel_cell = page.locator(".jp-Cell").nth(1)
        try:
            expect(panel_cell.get_by_text(f"odatis-mean {float(sst.isel(time=0).mean()):.4f}")).to_be_visible(
                timeout=120_000
            )
        finally:
            page.screenshot(path=str(SHOTS / "odatis-lab-widgets-panel.png"), full_page=True)
        page.wait_for_function(f"() => ({_TITLES_JS})().includes('odatis-title {days[0]}')", timeout=60_000)
        page.locator(".jp-OutputArea-output select").first.select_option(days[2])
        expect(panel_cell.get_by_text(f"odatis-mean {float(sst.isel(time=2).mean()):.4f}")).to_be_visible(
            timeout=60_000
        )
        page.wait_for_function(f"() => ({_TITLES_JS})().includes('odatis-title {days[2]}')", timeout=60_000)
        assert page.locator(".jp-OutputArea-output canvas").count() >= 1
        # resource use: the status bar shows memory against the spawner's limit (MEM_LIMIT), and CPU
        metrics = page.evaluate(f"""() => fetch('/user/{user}/api/metrics/v1', {{headers: {{'X-XSRFToken':
            (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || ''}}}}).then(async r => ({{status: r.status, body: await r.text()}}))""")
        assert metrics["status"] == 200, metrics
        metrics = json.loads(metrics["body"])
        assert "limits" in metrics, metrics
        spawner_mem = vre_stack.api("GET", f"/users/{user}").json()
        assert spawner_mem["servers"][""]["ready"]
        limit = metrics["limits"]["memory"]["rss"]
        from odatis_vre.users.quotas import parse_quantity

        assert limit == int(parse_quantity(vre_stack.cfg.profiles[0]["memory"]["limit"]))
        # CPU: JupyterHub's CPU_LIMIT in cores, shown by jupyter-resource-usage as a percentage (100 per core)
        assert metrics["limits"]["cpu"]["cpu"] == 100 * vre_stack.cfg.profiles[0]["cpu"]["limit"]
        assert "cpu_percent" in metrics and metrics["limits"]["cpu"]["warn"] is False
        status = page.locator("#jp-main-statusbar")
        expect(status).to_contain_text("Mem:", timeout=60_000)
        # jupyter-resource-usage writes binary megabytes as "MB": 2 GiB is "2048.00 MB"
        expect(status).to_contain_text(re.compile(rf"Mem:\s+[\d.]+ / {limit / 2**20:.2f} MB"), timeout=60_000)
        expect(status).to_contain_text("CPU", timeout=60_000)
        painted(page)
        page.screenshot(path=str(SHOTS / "odatis-lab-widgets.png"), full_page=True)
        assert not error_outputs(page), error_outputs(page)
        context.close()
    watch.check()
    vre_stack.stop_server(user)


def test_dask_sidebar_makes_a_gateway_cluster_and_shows_its_dashboard(vre_stack: VRETestStack) -> None:
    user, pw = "dexter", "dexter-pass-6"
    vre_stack.create_user(user, pw)
    vre_stack.start_server(user)
    home, uid, gid = _home(vre_stack, user)
    write_notebook(home, "dask.ipynb", ["1 + 1"], uid, gid)
    token = vre_stack.user_token(user)
    gateway = f"{vre_stack.url}/services/dask-gateway/api/v1/clusters/"

    def clusters() -> dict:
        r = requests.get(gateway, headers={"Authorization": f"jupyterhub {token}"}, timeout=30)
        r.raise_for_status()
        return r.json()

    assert clusters() == {}
    watch = Watch()
    with chromium(watch, "dask") as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = lab_login(context, vre_stack.url, user, pw, f"/user/{user}/lab/tree/dask.ipynb", watch)
        tab, sidebar = (
            page.locator(".lm-TabBar-tab[data-id='dask-dashboard-launcher']"),
            page.locator(".dask-DaskSidebar"),
        )
        tab.click()
        if not sidebar.is_visible():  # it was the open panel already: the click folded it
            tab.click()
        expect(sidebar).to_be_visible(timeout=30_000)
        page.locator(".dask-DaskClusterManager").get_by_text("NEW", exact=True).first.click()
        item = page.locator(".dask-ClusterListingItem")
        expect(item.first).to_be_visible(timeout=180_000)
        deadline = time.monotonic() + 180
        while not clusters() and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        names = list(clusters())
        if len(names) != 1:
            page.screenshot(path=str(SHOTS / "odatis-lab-dask-failed.png"))
        assert len(names) == 1, f"the sidebar's cluster is not on the gateway: {names}"
        # the sidebar's dashboard is the gateway's proxy of this cluster, and its plots are listed (reachable)
        item.first.click()
        url_input = page.locator(".dask-URLInput input")
        expect(url_input).to_have_value(
            re.compile(rf"/services/dask-gateway/clusters/{re.escape(names[0])}"), timeout=60_000
        )
        enabled = page.locator(".dask-DashboardListing-item:not(.dask-mod-disabled)")
        expect(enabled.first).to_be_visible(timeout=120_000)
        # a dashboard plot opens in JupyterLab and draws (Bokeh, through the user's server to the gateway)
        page.locator(".dask-DashboardListing-item", has_text=re.compile("^TASK STREAM$", re.I)).click()
        plot = page.frame_locator(".dask-DaskDashboard-widget iframe").locator("canvas")
        expect(plot.first).to_be_attached(timeout=120_000)
        painted(page)
        page.screenshot(path=str(SHOTS / "odatis-lab-dask.png"))
        item.first.get_by_text(re.compile("^SHUTDOWN$", re.I)).first.click()
        deadline = time.monotonic() + 120
        while clusters() and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert clusters() == {}
        context.close()
    watch.check()
    vre_stack.stop_server(user)


def test_two_people_edit_one_notebook_through_an_instructor_share(vre_stack: VRETestStack) -> None:
    owner, opw = "olga", "olga-pass-7"
    teacher, tpw = "ian", "ian-pass-8"
    vre_stack.create_user(owner, opw)
    vre_stack.create_user(teacher, tpw)
    # the workshops' instructor access: a share of the participant's server (odatis_vre.admin.workshop)
    grant_instructors(HubClient(vre_stack.url, vre_stack.admin_token), owner, [teacher])
    vre_stack.start_server(owner)
    home, uid, gid = _home(vre_stack, owner)
    write_notebook(home, "together.ipynb", ["# first cell", "# second cell"], uid, gid)
    path = f"/user/{owner}/lab/tree/together.ipynb"
    watch = Watch()
    with chromium(watch, "rtc") as browser:
        a = browser.new_context(viewport={"width": 1200, "height": 900})
        b = browser.new_context(viewport={"width": 1200, "height": 900})
        pa = lab_login(a, vre_stack.url, owner, opw, path, watch)
        pb = lab_login(b, vre_stack.url, teacher, tpw, path, watch)
        assert f"/user/{owner}/" in pb.url
        cells_a, cells_b = pa.locator(".jp-Cell .cm-content"), pb.locator(".jp-Cell .cm-content")
        cells_a.nth(0).click()
        pa.keyboard.press("End")
        pa.keyboard.type("\nx = 'from olga'")
        expect(cells_b.nth(0)).to_contain_text("x = 'from olga'", timeout=60_000)
        cells_b.nth(1).click()
        pb.keyboard.press("End")
        pb.keyboard.type("\ny = 'from ian'")
        expect(cells_a.nth(1)).to_contain_text("y = 'from ian'", timeout=60_000)
        # each sees the other among the document's collaborators
        painted(pa)
        pa.screenshot(path=str(SHOTS / "odatis-lab-rtc-owner.png"))
        painted(pb)
        pb.screenshot(path=str(SHOTS / "odatis-lab-rtc-instructor.png"))
        a.close()
        b.close()
    watch.check()
    # the shared document's store is in the participant's home, written by their account (never root)
    stores = [p for p in home.rglob("*ystore*") if p.is_file()]
    assert stores, sorted(str(p.relative_to(home)) for p in home.rglob("*"))[:50]
    assert all(p.stat().st_uid == uid for p in stores)
    vre_stack.stop_server(owner)


# ----------------------------------------------------------------------------- tutorials 01-05 in JupyterLab

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0[1-5]-*.ipynb"))

#: the plots drawn in one cell's outputs: decoded PNG outputs and Bokeh canvases (open shadow roots too) of real size
_CELL_PLOTS_JS = """cell => {
  const imgs = Array.from(cell.querySelectorAll('.jp-OutputArea-output img'))
    .filter(i => i.complete && i.naturalWidth >= 200 && i.naturalHeight >= 120).length;
  const walk = root => Array.from(root.querySelectorAll('*')).flatMap(e => e.shadowRoot ? [e.shadowRoot, ...walk(e.shadowRoot)] : []);
  const roots = [cell, ...walk(cell)];
  const canvases = roots.flatMap(r => Array.from(r.querySelectorAll('canvas'))).filter(c => c.width >= 200 && c.height >= 120).length;
  return imgs + canvases;
}"""

#: outputs that are plots in a saved notebook
_PLOT_MIMES = ("image/png", "application/vnd.holoviews_exec.v0+json", "application/vnd.bokehjs_exec.v0+json")


def _saved_outputs(path: Path, timeout: float = 120) -> list:
    """The outputs of the notebook as JupyterLab saved it, once every code cell has run (the collaborative
    document is written to disk shortly after each change)."""
    import nbformat

    deadline = time.monotonic() + timeout
    while True:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        if all(c.execution_count for c in code) or time.monotonic() > deadline:
            assert all(c.execution_count for c in code), f"{path.name}: not every cell ran (or was not saved)"
            return [o for c in code for o in c.outputs]
        time.sleep(0.5)


@pytest.fixture(scope="module")
def tutor(vre_stack: VRETestStack, sample_data: Path) -> tuple[str, str]:
    """A user whose server runs the tutorials one after the other (one kernel at a time)."""
    user, pw = "tutor", "tutor-pass-9"
    vre_stack.create_user(user, pw)
    vre_stack.start_server(user)
    yield user, pw
    vre_stack.stop_server(user)


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("notebook", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs_in_jupyterlab_with_a_map_and_a_plot(
    vre_stack: VRETestStack, tutor: tuple[str, str], notebook: Path
) -> None:
    from lab_browser import copy_notebook

    user, pw = tutor
    # (?reset: a clean JupyterLab layout; the server keeps the previous tutorial's tabs in its workspace)
    home, uid, gid = _home(vre_stack, user)
    path = copy_notebook(notebook, home, uid, gid)
    watch = Watch()
    with chromium(watch, notebook.stem) as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = lab_login(context, vre_stack.url, user, pw, f"/user/{user}/lab/tree/{notebook.name}?reset", watch)
        run_all(page, timeout=1_200_000)
        # each cell is brought into view (JupyterLab draws what is visible), then its drawn plots are counted
        drawn = 0
        cells = page.locator(".jp-Notebook .jp-Cell")
        for i in range(cells.count()):
            cells.nth(i).scroll_into_view_if_needed()
            painted(page)
            drawn += cells.nth(i).evaluate(_CELL_PLOTS_JS)
        page.screenshot(path=str(SHOTS / f"odatis-lab-{notebook.stem}.png"))
        errors = error_outputs(page)
        # the kernel goes before the next tutorial starts one (the server's memory limit is for one at a time)
        page.evaluate("""async () => {
          const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
          const base = location.pathname.split('/lab')[0] + '/';
          const ks = await (await fetch(base + 'api/kernels', {headers: {'X-XSRFToken': xsrf}})).json();
          for (const k of ks) await fetch(base + 'api/kernels/' + k.id, {method: 'DELETE', headers: {'X-XSRFToken': xsrf}});
        }""")
        context.close()
    watch.check()
    assert not errors, errors
    # what JupyterLab saved: no error, and a map and a plot at least (PNG or HoloViews/Bokeh outputs)
    outputs = _saved_outputs(path)
    assert not [o for o in outputs if o.output_type == "error"], [o for o in outputs if o.output_type == "error"]
    plots = [o for o in outputs if any(m in o.get("data", {}) for m in _PLOT_MIMES)]
    assert len(plots) >= 2, f"{notebook.name}: {len(plots)} plot outputs"
    # ...and drawn in the page: two at least, of real size
    assert drawn >= 2, f"{notebook.name}: {drawn} plots drawn in JupyterLab"
