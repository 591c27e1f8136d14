"""odatis_vre.data.coastlines and odatis_vre.viz: offline coastlines, plots on lazy data, PNG export."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import dask.array as dsa
import holoviews as hv
import numpy as np
import pytest
import xarray as xr

from odatis_vre import analysis, viz
from odatis_vre.data import coastlines, samples
from odatis_vre.data.coastlines import CoastlineError
from odatis_vre.viz import VizError

# ----------------------------------------------------------------------------- helpers


def read_png(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(path)


def assert_plausible_png(path: Path, min_size: tuple[int, int] = (250, 250)) -> np.ndarray:
    img = read_png(path)
    h, w = img.shape[:2]
    assert h >= min_size[0] and w >= min_size[1], (h, w)
    rgb = img[..., :3].reshape(-1, 3)
    assert rgb.std(axis=0).max() > 0.1  # not a blank image
    assert len(np.unique((rgb * 255).astype(np.uint8), axis=0)) > 50  # a colour scale, not two colours
    return img


class ChunkLog:
    """A dask-backed copy of an array that records which chunks are computed."""

    def __init__(self, da: xr.DataArray, chunks: dict[str, int]) -> None:
        self.read: list[tuple[int, ...]] = []
        self._lock = threading.Lock()
        base = da.chunk(chunks)
        self.da = base.copy(data=dsa.map_blocks(self._record, base.data, dtype=base.dtype))

    def _record(self, block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        if block_info and None in block_info:
            with self._lock:
                self.read.append(tuple(block_info[None]["chunk-location"]))
        return block


@pytest.fixture(scope="module")
def sst() -> xr.DataArray:
    return samples.sst_dataset(days=60).analysed_sst


@pytest.fixture(scope="module")
def argo() -> xr.Dataset:
    return samples.argo_dataset(n_floats=3, n_cycles=8, n_levels=60)


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test (nothing may be downloaded)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# ----------------------------------------------------------------------------- coastlines


def test_coastline_file_is_natural_earth_public_domain() -> None:
    doc = json.loads(coastlines.DATA_FILE.read_text())
    props = doc["features"][0]["properties"]
    assert "Natural Earth" in props["source"] and props["licence"] == "public domain"
    assert coastlines.DATA_FILE.stat().st_size < 700_000
    assert "public domain" in coastlines.__doc__


def test_world_coastlines() -> None:
    world = coastlines.lines()
    pts = np.vstack(world)
    assert len(world) > 1000 and pts.shape[1] == 2
    assert pts[:, 0].min() >= -180 and pts[:, 0].max() <= 180 and pts[:, 1].min() >= -90 and pts[:, 1].max() <= 90

    def distance_to_coast(lon: float, lat: float) -> float:
        return float(np.hypot(pts[:, 0] - lon, pts[:, 1] - lat).min())

    assert distance_to_coast(-4.77, 48.36) < 0.15  # Pointe Saint-Mathieu, Brittany
    assert distance_to_coast(-9.27, 42.88) < 0.15  # Cape Finisterre, Galicia
    assert distance_to_coast(-1.55, 43.48) < 0.15  # Biarritz
    assert distance_to_coast(-6.0, 46.0) > 1.0  # open Bay of Biscay
    assert distance_to_coast(-30.0, 0.0) > 3.0  # mid-Atlantic


def test_lines_are_clipped_exactly_to_the_box() -> None:
    bbox = (-15.0, 40.0, 0.0, 52.0)
    segs = coastlines.lines(bbox)
    pts = np.vstack(segs)
    assert len(segs) > 3 and all(s.shape[1] == 2 and len(s) >= 2 for s in segs)
    assert pts[:, 0].min() >= -15 - 1e-9 and pts[:, 0].max() <= 1e-9
    assert pts[:, 1].min() >= 40 - 1e-9 and pts[:, 1].max() <= 52 + 1e-9
    # the coast of Spain leaves through the southern edge: a point lies on it
    assert np.isclose(pts[:, 1], 40.0).any() and np.isclose(pts[:, 0], 0.0).any()
    # a synthetic line crossing a box is cut at its edges and stays one piece
    line = np.array([[-2.0, 0.0], [0.0, 0.5], [2.0, 0.0]])
    clipped = coastlines._clip_line(line, (-1.0, -1.0, 1.0, 1.0))
    assert len(clipped) == 1
    np.testing.assert_allclose(clipped[0], [[-1.0, 0.25], [0.0, 0.5], [1.0, 0.25]])
    # leaving and re-entering gives two pieces
    zigzag = np.array([[0.0, 0.0], [0.0, 2.0], [0.5, 2.0], [0.5, 0.0]])
    assert len(coastlines._clip_line(zigzag, (-1.0, -1.0, 1.0, 1.0))) == 2
    assert coastlines.lines((-30, -1, -29, 1)) == []  # open ocean
    # a 0..360 grid: the Bay of Biscay is at 345..360°E
    east = np.vstack(coastlines.lines((345, 40, 360, 52)))
    np.testing.assert_allclose(np.sort(east[:, 1]), np.sort(pts[:, 1]), atol=1e-9)
    assert east[:, 0].min() >= 345 - 1e-9 and east[:, 0].max() <= 360 + 1e-9


def test_bad_bbox_messages() -> None:
    with pytest.raises(CoastlineError, match="lon_min < lon_max"):
        coastlines.lines((0, 40, -10, 50))
    with pytest.raises(CoastlineError, match="4 numbers"):
        coastlines.lines((0, 40, 10))
    with pytest.raises(CoastlineError, match="4 numbers"):
        coastlines.lines("Biscay")  # type: ignore[arg-type]


def test_overlay_renders_with_both_backends(tmp_path: Path, no_network: None) -> None:
    path = coastlines.overlay((-15, 40, 0, 52))
    assert isinstance(path, hv.Path) and len(path.split()) == len(coastlines.lines((-15, 40, 0, 52)))
    fig = hv.render(path, backend="bokeh")
    glyph = fig.renderers[0].glyph
    assert glyph.line_color == "black" and glyph.line_width == 0.7
    png = viz.save_png(path, tmp_path / "coast.png")
    img = read_png(png)
    dark = (img[..., :3].max(axis=2) < 0.2).mean()
    assert 0.005 < dark < 0.2  # thin black lines on white


def test_simplify_and_shapefile_reader(tmp_path: Path) -> None:
    line = np.c_[np.linspace(0, 10, 101), np.r_[np.zeros(50), 1.0, np.zeros(50)]]
    simple = coastlines.simplify(line, 0.5)
    np.testing.assert_allclose(simple, [[0.0, 0.0], [4.9, 0.0], [5.0, 1.0], [5.1, 0.0], [10.0, 0.0]])
    bad = tmp_path / "x.shp"
    bad.write_bytes(b"not a shapefile" * 10)
    with pytest.raises(CoastlineError, match="not an ESRI shapefile"):
        coastlines.read_shapefile_lines(bad)


def test_build_writes_a_shapefile_as_geojson(tmp_path: Path) -> None:
    import struct

    # a one-record polyline shapefile written by hand from the ESRI format description
    pts = np.array([[0.0, 0.0], [1.0, 0.001], [2.0, 0.0], [3.0, 1.0]])
    content = struct.pack("<i4dii", 3, 0, 0, 3, 1, 1, len(pts)) + struct.pack("<i", 0) + pts.astype("<f8").tobytes()
    record = struct.pack(">ii", 1, len(content) // 2) + content
    header = struct.pack(">i5ii", 9994, 0, 0, 0, 0, 0, (100 + len(record)) // 2) + struct.pack(
        "<ii4d4d", 1000, 3, 0, 0, 3, 1, 0, 0, 0, 0
    )
    shp = tmp_path / "line.shp"
    shp.write_bytes(header + record)
    assert [a.tolist() for a in coastlines.read_shapefile_lines(shp)] == [pts.tolist()]
    out = coastlines.build(shp, tmp_path / "coast.geojson", tolerance=0.01)
    doc = json.loads(out.read_text())
    assert doc["features"][0]["geometry"]["coordinates"] == [[[0.0, 0.0], [2.0, 0.0], [3.0, 1.0]]]
    assert not list(tmp_path.glob("*.tmp")) and oct(out.stat().st_mode & 0o777) == "0o644"
    coastlines._world.cache_clear()


# ----------------------------------------------------------------------------- map


def test_map_reads_only_the_selected_time_step(sst: xr.DataArray, tmp_path: Path, no_network: None) -> None:
    log = ChunkLog(sst, {"time": 1})
    m = viz.map(log.da, time="2023-02-10")
    assert {loc[0] for loc in log.read} == {40}  # day 41 only, out of 60
    assert isinstance(m, hv.Overlay) and m.label == "analysed_sst — 2023-02-10"
    image = m.get(0)
    assert isinstance(image, hv.Image)
    ref = sst.isel(time=40).values
    np.testing.assert_allclose(image.dimension_values(2, flat=False), ref, equal_nan=True)
    assert image.bounds.lbrt() == pytest.approx((-15.125, 39.875, 0.125, 52.125))
    png = viz.save_png(m, tmp_path / "map.png")
    img = assert_plausible_png(png)
    rgb = img[..., :3]
    assert (rgb.max(axis=2) < 0.15).mean() > 0.002  # coastline and text
    grey = (np.abs(rgb - 0xD9 / 255).max(axis=2) < 0.02).mean()
    assert grey > 0.02  # land (NaN) in grey
    fig = hv.render(m, backend="bokeh")  # the interactive version renders too
    assert fig.title.text == "analysed_sst — 2023-02-10"


def test_map_of_a_period_mean_and_box(sst: xr.DataArray) -> None:
    m = viz.map(sst, time=("2023-01-10", "2023-01-19"), bbox=(-10, 43, -2, 48))
    image = m.get(0)
    ref = analysis.select_bbox(sst.sel(time=slice("2023-01-10", "2023-01-19")), (-10, 43, -2, 48)).mean("time")
    np.testing.assert_allclose(image.dimension_values(2, flat=False), ref.values, rtol=1e-6, equal_nan=True)
    assert "mean 2023-01-10 to 2023-01-19" in m.label
    coast = m.get(1)
    xs = np.concatenate([p[:, 0] for p in coast.split(datatype="array")])
    assert xs.min() >= -10.125 - 1e-9 and xs.max() <= -1.875 + 1e-9  # clipped to the image


def test_map_logarithmic_chlorophyll_and_errors(tmp_path: Path) -> None:
    chl = samples.chl_dataset(months=3)
    m = viz.map(chl, "CHL", time="2023-02-15")
    assert m.get(0).opts.get("plot", backend="bokeh").kwargs["logz"] is True
    assert_plausible_png(viz.save_png(m, tmp_path / "chl.png"))
    with pytest.raises(VizError, match=r"pass var= one of"):
        viz.map(xr.Dataset({"a": chl.CHL, "b": chl.CHL}))
    with pytest.raises(VizError, match="no variable 'SST'"):
        viz.map(chl, "SST")
    with pytest.raises(VizError, match="does not overlap"):
        viz.map(chl, "CHL", bbox=(100, 0, 110, 10))
    with pytest.raises(VizError, match="still 1 dimension"):
        viz.map(chl.CHL.expand_dims(depth=[0.0, 10.0]), time="2023-01-15")
    deep = viz.map(chl.CHL.expand_dims(depth=[0.0, 10.0]), time="2023-01-15", depth=10)
    assert isinstance(deep, hv.Overlay)


# ----------------------------------------------------------------------------- time series


def test_timeseries_nearest_point(sst: xr.DataArray, tmp_path: Path) -> None:
    lazy = sst.chunk({"time": 10})
    ts = viz.timeseries(lazy, lon=-7.1, lat=46.9)
    assert isinstance(ts, hv.Curve)
    np.testing.assert_allclose(ts.dimension_values(1), sst.sel(lon=-7.0, lat=47.0).values, rtol=1e-6)
    assert ts.label == "analysed sea surface temperature at 47.00°N 7.00°W"
    assert_plausible_png(viz.save_png(ts, tmp_path / "ts.png"), min_size=(200, 400))
    with pytest.raises(VizError, match="both lon= and lat="):
        viz.timeseries(sst, lon=-7)


def test_timeseries_of_a_mooring_gives_one_curve_per_depth(tmp_path: Path) -> None:
    moor = samples.mooring_dataset(days=20)
    ts = viz.timeseries(moor, "TEMP", time=("2023-01-05", "2023-01-10"))
    assert isinstance(ts, hv.NdOverlay) and list(ts.keys()) == [10.0, 50.0, 100.0, 200.0]
    ref = moor.TEMP.sel(time=slice("2023-01-05", "2023-01-10"), DEPTH=50.0).values
    np.testing.assert_allclose(ts[50.0].dimension_values(1), ref, rtol=1e-6)
    assert_plausible_png(viz.save_png(ts, tmp_path / "moor.png"), min_size=(200, 400))
    with pytest.raises(VizError, match="still dimensions"):
        viz.timeseries(samples.sst_dataset(days=3), "analysed_sst")


# ----------------------------------------------------------------------------- profiles and sections


def test_profiles(argo: xr.Dataset, tmp_path: Path) -> None:
    p = viz.profiles(argo.chunk({"N_PROF": 4}), "TEMP", profiles=[0, 5])
    assert isinstance(p, hv.NdOverlay) and len(p) == 2
    first = list(p.data.values())[0]
    assert first.kdims[0].name == "TEMP" and first.vdims[0].name == "PRES"
    np.testing.assert_allclose(first.dimension_values(0), argo.TEMP.values[0], rtol=1e-6)
    np.testing.assert_allclose(first.dimension_values(1), argo.PRES.values[0], rtol=1e-6)
    assert p.opts.get("plot", backend="matplotlib").kwargs["invert_yaxis"] is True
    platform = str(argo.PLATFORM_NUMBER.values[10]).strip()
    by_float = viz.profiles(argo, "PSAL", platform=platform)
    assert len(by_float) == 8 and all(k.startswith(platform) for k in by_float.keys())
    many = viz.profiles(argo, "TEMP", max_profiles=5)
    assert len(many) == 5
    interp = viz.profiles(analysis.interp_profiles(argo), "TEMP", profiles=[3])
    assert list(interp.data.values())[0].vdims[0].name == "depth"
    assert_plausible_png(viz.save_png(p, tmp_path / "profiles.png"))
    with pytest.raises(VizError, match="out of range"):
        viz.profiles(argo, profiles=[999])
    with pytest.raises(VizError, match="no such float"):
        viz.profiles(argo, platform="123")


def test_section_of_one_float(argo: xr.Dataset, tmp_path: Path) -> None:
    std = analysis.interp_profiles(argo)
    platform = str(argo.PLATFORM_NUMBER.values[0]).strip()
    s = viz.section(std, "TEMP", x="JULD", y="depth", PLATFORM_NUMBER=platform)
    assert isinstance(s, hv.QuadMesh)
    values = s.dimension_values(2, flat=False)
    assert values.shape == (len(analysis.STANDARD_DEPTHS), 8)
    ref = std.TEMP.compute().values[:8].T
    np.testing.assert_allclose(values, ref, rtol=1e-6, equal_nan=True)
    assert s.opts.get("plot", backend="bokeh").kwargs["invert_yaxis"] is True
    assert_plausible_png(viz.save_png(s, tmp_path / "section.png"), min_size=(200, 400))


def test_hovmoller_section(sst: xr.DataArray) -> None:
    h = viz.section(sst, x="time", y="lat", lon=-8.1)
    np.testing.assert_allclose(h.dimension_values(2, flat=False), sst.sel(lon=-8.0).values.T, equal_nan=True)
    assert h.opts.get("plot", backend="bokeh").kwargs["invert_yaxis"] is False
    with pytest.raises(VizError, match="still dimensions"):
        viz.section(sst, x="time", y="lat")
    with pytest.raises(VizError, match="neither a dimension"):
        viz.section(sst, x="JULD", y="lat", lon=-8)


# ----------------------------------------------------------------------------- export


def test_save_png_checks_and_is_atomic(tmp_path: Path) -> None:
    import panel as pn

    curve = hv.Curve([1, 3, 2])
    before = hv.Store.current_backend
    out = viz.save_png(pn.pane.HoloViews(curve), tmp_path / "c.png")
    assert out.exists() and hv.Store.current_backend == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png"]  # no temporary file left
    with pytest.raises(VizError, match="must end in .png"):
        viz.save_png(curve, tmp_path / "c.jpg")
    with pytest.raises(VizError, match="does not exist"):
        viz.save_png(curve, tmp_path / "missing" / "c.png")
    with pytest.raises(VizError, match="HoloViews"):
        viz.save_png("not a plot", tmp_path / "x.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png"]


def test_docstring_examples() -> None:
    import doctest

    for module in (viz, coastlines):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 5 and result.failed == 0, module.__name__
