"""The explorer: its data layer against xarray, its page served behind hub login and inside a user's server."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import xarray as xr
from vre_testing import VRETestStack, sample_catalog

from odatis_vre import timeseries
from odatis_vre.explore import app as explorer_app
from odatis_vre.explore import explorer, server

VAR = "analysed_sst"
DAYS = 30


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample entries of the catalogue over 30 days of freshly generated data."""
    return sample_catalog(tmp_path_factory.mktemp("explorer"), DAYS, lambda name: name.startswith("sample_"))


@pytest.fixture(autouse=True)
def _fresh_verdicts() -> None:
    timeseries._FRESH.clear()
    timeseries._COPIES.clear()
    timeseries._SOURCES.clear()


def test_mappable_entries_lists_grids_only_local_first() -> None:
    names = [e["name"] for e in explorer.mappable_entries()]
    assert {"sample_sst_zarr", "sample_sst_daily", "sample_chl"} <= set(names)
    assert "sample_argo_profiles" not in names and "sample_mooring" not in names
    assert not any(n.startswith("argo_") for n in names)
    local = [e["local"] for e in explorer.mappable_entries()]
    assert local == sorted(local, reverse=True), "offline samples come first"
    assert [e["name"] for e in explorer.mappable_entries("chlorophyll")][0] == "sample_chl"


def test_dataset_view_field_point_box_match_xarray(cat: Path) -> None:
    ref = xr.open_zarr(cat.parent / "data" / "sst.zarr")[VAR].load()
    view = explorer.DatasetView("sample_sst_zarr", catalog=cat)
    assert view.variables == [VAR] and view.bbox == (-15.0, 40.0, 0.0, 52.0)
    values, when = view.field(VAR, "2023-01-07")
    assert str(when)[:10] == "2023-01-07"
    np.testing.assert_array_equal(values, ref.sel(time="2023-01-07").values[0])

    # without a time-optimised copy: the original data, and a hint saying how to make one
    s = view.point(VAR, -5.1, 45.9)
    assert s.read_from == "original data" and "odatis-vre timeseries build sample_sst_zarr" in s.hint
    np.testing.assert_array_equal(s.values, ref.sel(lon=-5, lat=46).values)
    assert s.where == {"lon": -5.0, "lat": 46.0}

    # with one: the same numbers from the copy, no hint
    timeseries.build("sample_sst_zarr", catalog=cat, progress=False)
    s2 = view.point(VAR, -5.1, 45.9)
    assert s2.read_from == "time-optimised copy" and s2.hint == ""
    np.testing.assert_array_equal(s2.values, s.values)
    np.testing.assert_array_equal(s2.time, ref.time.values)

    b = view.box(VAR, (-8, 44, -4, 47))
    sub = ref.sel(lon=slice(-8, -4), lat=slice(44, 47))
    np.testing.assert_allclose(
        b.values, sub.weighted(np.cos(np.deg2rad(sub.lat))).mean(("lat", "lon")).values, rtol=1e-6
    )
    assert b.label() == f"{VAR} mean over 8.00°W–4.00°W, 44.00°N–47.00°N"


def test_daily_files_open_through_their_copy(cat: Path) -> None:
    """With a fresh copy, daily files open without reading them all: a map reads one file."""
    ref = xr.open_zarr(cat.parent / "data" / "sst.zarr")[VAR].load()
    timeseries.build("sample_sst_daily", catalog=cat, progress=False)
    view = explorer.DatasetView("sample_sst_daily", catalog=cat)
    values, when = view.field(VAR, "2023-01-12")
    np.testing.assert_array_equal(values, ref.sel(time="2023-01-12").values[0])
    np.testing.assert_array_equal(view.time, ref.time.values)
    s = view.point(VAR, -5, 46)
    np.testing.assert_array_equal(s.values, ref.sel(lon=-5, lat=46).values)
    assert view._ds is None, "the daily files were opened all together"
    # once the files change, the copy is no longer trusted: the entry opens through the catalogue
    day = sorted((cat.parent / "data" / "sst_daily").glob("*.nc"))[0]
    os.utime(day, ns=(time.time_ns(), time.time_ns()))
    timeseries._FRESH.clear()
    view = explorer.DatasetView("sample_sst_daily", catalog=cat)
    assert view._copy is None and view._ds is not None
    assert view.point(VAR, -5, 46).read_from == "original data"


def test_selection_downloads_round_trip(cat: Path, tmp_path: Path) -> None:
    view = explorer.DatasetView("sample_sst_daily", catalog=cat)
    s = view.point(VAR, -5, 46)
    csv = s.to_csv().decode().splitlines()
    assert csv[0] == f"time,{VAR}" and len(csv) == DAYS + 1
    assert csv[1].startswith("2023-01-01T12:00:00,")
    assert float(csv[1].split(",")[1]) == pytest.approx(float(s.values[0]), rel=1e-6)
    (tmp_path / "sel.nc").write_bytes(s.to_netcdf("sample_sst_daily", view.citation))
    nc = xr.open_dataset(tmp_path / "sel.nc")
    np.testing.assert_array_equal(nc[VAR].values, s.values)
    assert nc.attrs["source_dataset"] == "sample_sst_daily" and "ODATIS VRE (2026)" in nc.attrs["citation"]
    assert nc.attrs["selection_lon"] == -5.0 and nc[VAR].attrs["units"] == "degree_Celsius"


def test_explorer_refuses_what_it_cannot_map(cat: Path) -> None:
    with pytest.raises(explorer.ExplorerError, match="no time dimension|latitude"):
        explorer.DatasetView("sample_argo_profiles", catalog=cat)
    with pytest.raises(explorer.ExplorerError, match="did you mean"):
        explorer.DatasetView("sample_sst_zar", catalog=cat)
    view = explorer.DatasetView("sample_sst_zarr", catalog=cat)
    with pytest.raises(explorer.ExplorerError, match="outside"):
        view.point(VAR, 40.0, 46.0)
    with pytest.raises(explorer.ExplorerError, match="choose one of analysed_sst"):
        view.point("chl", -5, 46)
    with pytest.raises(explorer.ExplorerError, match="no grid point"):
        view.box(VAR, (5, 44, 6, 45))


def test_page_events_fill_the_plot(cat: Path) -> None:
    """The page's own callbacks (as Bokeh calls them on a click / a box) fill the named data sources."""
    from bokeh.events import SelectionGeometry, Tap

    app = explorer_app.ExplorerApp(catalog=cat, dataset="sample_sst_zarr")
    assert app.dataset.value == "sample_sst_zarr" and app.variable.value == VAR
    assert app.map_source.data["image"][0].shape == (49, 61)
    # before the first click the empty time-series plot shows no axis (its 0..1 range would read 1970)
    assert not any(a.visible for a in (*app.ts.xaxis, *app.ts.yaxis))
    app._on_tap(Tap(app.map, x=-5.0, y=46.0))
    assert all(a.visible for a in (*app.ts.xaxis, *app.ts.yaxis))
    ref = xr.open_zarr(cat.parent / "data" / "sst.zarr")[VAR].sel(lon=-5, lat=46).values
    np.testing.assert_array_equal(app.ts_source.data["value"], ref)
    assert app.sel_source.data["kind"] == ["point"] and not app.download.disabled
    assert app._download_bytes().getvalue().startswith(f"time,{VAR}".encode())
    app._on_tap(Tap(app.map, x=30.0, y=46.0))  # outside the grid: a message, the last series stays
    assert app.status.visible and "outside" in app.status.object
    np.testing.assert_array_equal(app.ts_source.data["value"], ref)
    app._on_box(
        SelectionGeometry(app.map, geometry={"type": "rect", "x0": -4, "x1": -8, "y0": 47, "y1": 44}, final=True)
    )
    assert app.sel_source.data["kind"] == ["box"] and app.box_source.data["left"] == [-8]
    app.fmt.value = "NetCDF"
    assert app.download.filename == f"sample_sst_zarr_{VAR}_box.nc"
    assert app._download_bytes().getvalue()[:4] == b"\x89HDF"


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=30)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def _get_unix(path: str, url: str) -> tuple[int, str]:
    conn = _UnixHTTP(path)
    try:
        conn.request("GET", url, headers={"Host": "127.0.0.1:8000"})
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


@pytest.mark.slow
def test_server_proxy_command_serves_on_a_unix_socket(tmp_path: Path) -> None:
    """The launcher entry's command, as jupyter-server-proxy runs it: a page under the user's prefix, no CDN."""
    cfg = server.server_proxy_config()
    assert cfg["unix_socket"] is True and cfg["absolute_url"] is True
    assert Path(cfg["launcher_entry"]["icon_path"]).read_text().startswith("<svg")
    sock = str(tmp_path / "explorer.sock")
    cmd = [a.replace("{unix_socket}", sock).replace("{base_url}", "/user/test/") for a in cfg["command"]]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "JUPYTERHUB_API_TOKEN": "not-used-here"},
    )
    try:
        deadline = time.monotonic() + 90
        while not os.path.exists(sock):
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "the explorer did not open its socket"
            time.sleep(0.2)
        status, page = _get_unix(sock, "/user/test/odatis-explorer/")
        assert status == 200, page[:500]
        assert "ODATIS data explorer" in page and 'src="static/js/bokeh.min.js' in page
        scripts = page.split('src="')[1:]
        assert scripts, "the page loads its scripts"
        for s in scripts:
            url = s.split('"')[0]
            assert not url.startswith(("http:", "https:", "//")), f"a script from elsewhere: {url}"
        status, js = _get_unix(sock, "/user/test/odatis-explorer/static/js/bokeh.min.js")
        assert status == 200 and len(js) > 100_000
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_explorer_service_requires_hub_login(vre_stack: VRETestStack) -> None:
    url = f"{vre_stack.url}/services/explorer/"
    r = requests.get(url, allow_redirects=False, timeout=60)
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/hub/api/oauth2/authorize?client_id=service-explorer")
    # anonymous: the hub asks for a login, the page never shows
    r = requests.get(url, timeout=60)
    assert "/hub/login" in r.url and "Bokeh" not in r.text
    # an anonymous websocket is refused (no upgrade)
    ws = requests.get(
        f"{url}ws",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol": "bokeh, x",
        },
        allow_redirects=False,
        timeout=30,
    )
    assert ws.status_code != 101

    vre_stack.create_user("explorer-user", "explorer-pass-1")
    s = vre_stack.login("explorer-user", "explorer-pass-1")
    r = s.get(url, timeout=120)
    assert r.status_code == 200 and r.url == url, r.url
    assert "Bokeh" in r.text and "ODATIS data explorer" in r.text
    assert 'src="static/js/bokeh.min.js' in r.text or "/services/explorer/static/js/bokeh.min.js" in r.text
    js = s.get(f"{url}static/js/bokeh.min.js", timeout=60)
    assert js.status_code == 200 and len(js.content) > 100_000
    # a forged cookie does not pass
    r = requests.get(url, cookies={"service-explorer": "forged"}, allow_redirects=False, timeout=60)
    assert r.status_code == 302


@pytest.mark.slow
def test_explorer_in_the_users_server(vre_stack: VRETestStack) -> None:
    """The JupyterLab launcher entry exists and the proxied explorer answers under the user's server."""
    vre_stack.create_user("lab-explorer", "lab-explorer-pass")
    s = vre_stack.login("lab-explorer", "lab-explorer-pass")
    r = vre_stack.start_server("lab-explorer")
    assert r.status_code in (201, 202), r.text
    try:
        info = vre_stack.browse_api(s, "lab-explorer", "server-proxy/servers-info")
        assert info.status_code == 200, info.text
        entry = {p["name"]: p for p in info.json()["server_processes"]}["odatis-explorer"]
        assert entry["launcher_entry"]["title"] == "Data explorer" and entry["launcher_entry"]["enabled"]
        page = s.get(f"{vre_stack.url}/user/lab-explorer/odatis-explorer/", timeout=180)
        assert page.status_code == 200 and "ODATIS data explorer" in page.text, page.text[:300]
        # another user cannot open it
        vre_stack.create_user("lab-intruder", "lab-intruder-pass")
        other = vre_stack.login("lab-intruder", "lab-intruder-pass")
        r = other.get(f"{vre_stack.url}/user/lab-explorer/odatis-explorer/", timeout=60)
        assert "ODATIS data explorer" not in r.text
    finally:
        vre_stack.stop_server("lab-explorer")
