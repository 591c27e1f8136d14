"""The SEANOE driver against a stand-in of SEANOE's record API and file server on 127.0.0.1.

Covers: NetCDF (lazy xarray) and CSV (pandas) files resolved by name pattern, the download cache
(atomic, size + sha256 checked, reused), errors (unknown record, no matching file, restricted file,
interrupted download, wrong checksum, bad DOI) and the mirror mechanism through ``catalog.load``.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from catalog_servers import DataServer  # noqa: E402

from odatis_vre import catalog, provenance  # noqa: E402
from odatis_vre.data.drivers import AccessError, SeanoeSource, seanoe_record_id  # noqa: E402

pytestmark = pytest.mark.slow


def _grid() -> xr.Dataset:
    rng = np.random.default_rng(3)
    return xr.Dataset(
        {
            "TEMP": (
                ("time", "depth", "latitude", "longitude"),
                rng.normal(12, 3, (3, 4, 20, 30)).astype("float32"),
                {"standard_name": "sea_water_temperature", "units": "degree_Celsius"},
            )
        },
        coords={
            "time": pd.date_range("2020-01-15", periods=3, freq="MS"),
            "depth": [0.0, 10.0, 100.0, 500.0],
            "latitude": np.linspace(40, 49.5, 20),
            "longitude": np.linspace(-15, -0.5, 30),
        },
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> DataServer:
    root = tmp_path_factory.mktemp("seanoe-copy")
    for d in ("gdac", "copernicus"):
        (root / d).mkdir()
    srv = DataServer(root).start()
    nc = io.BytesIO()
    _grid().to_netcdf(nc, engine="scipy")  # NetCDF-3 bytes, as many SEANOE files are
    table = pd.DataFrame(
        {
            "time": ["2021-05-01T10:00:00Z", "2021-05-02T10:00:00Z", "2021-05-03T10:00:00Z"],
            "latitude": [48.7, 48.8, 49.9],
            "longitude": [-4.0, -3.9, -2.0],
            "abundance": [1.5, 2.5, 3.5],
        }
    )
    srv.seanoe.add_record(
        900001,
        {
            "ISAS20_TEMP_2020.nc": nc.getvalue(),
            "ISAS20_notes.pdf": b"%PDF-1.4\n",
            "counts.csv": table.to_csv(index=False, sep=";").encode(),
        },
    )
    rec = srv.seanoe.add_record(900002, {"secret.csv": b"a,b\n1,2\n"})
    rec["files"][0]["openAccess"] = False
    (srv.seanoe.root / "api" / "find-by-id" / "900002").write_text(json.dumps(rec))
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ODATIS_VRE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ODATIS_VRE_MIRROR", raising=False)
    return tmp_path / "cache"


def _src(server: DataServer, doi: str = "10.17882/900001", **kw: object) -> SeanoeSource:
    return SeanoeSource(doi, mirror=server.mirror(), progress=False, **kw)


def test_netcdf_file_is_found_downloaded_and_opened_lazily(server: DataServer, _cache: Path) -> None:
    ds = _src(server, file_pattern="*TEMP*.nc").to_dask()
    assert ds.TEMP.chunks is not None  # dask-backed
    np.testing.assert_allclose(ds.TEMP.values, _grid().TEMP.values)
    local = _cache / "downloads" / "seanoe" / "900001" / "ISAS20_TEMP_2020.nc"
    assert local.is_file()
    # a second open reuses the checked file: the API is asked again, the file is not
    before = [r for r in server.seanoe.requests if r.startswith("file ")]
    ds2 = _src(server, file_pattern="*.NC").to_dask()  # patterns are case-insensitive
    assert [r for r in server.seanoe.requests if r.startswith("file ")] == before
    assert float(ds2.TEMP.mean()) == pytest.approx(float(ds.TEMP.mean()))


def test_csv_file_becomes_a_pandas_table(server: DataServer) -> None:
    src = _src(server, file_pattern="counts.csv", time_column="time")
    df = src.read()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["time", "latitude", "longitude", "abundance"]
    assert df.abundance.tolist() == [1.5, 2.5, 3.5]  # ';' separator sniffed
    assert str(df.time.dt.tz) == "UTC"
    assert src.container == "dataframe" and src.eager


def test_identifiers() -> None:
    assert seanoe_record_id("https://doi.org/10.17882/46219") == "46219"
    assert seanoe_record_id("https://www.seanoe.org/data/00412/52367/") == "52367"
    with pytest.raises(AccessError, match="not a SEANOE identifier"):
        SeanoeSource("10.5281/zenodo.123")


def test_unknown_record_says_check_the_doi(server: DataServer) -> None:
    with pytest.raises(AccessError, match=r"SEANOE record 123456789 .*no such record .*HTTP 404.*args.doi"):
        _src(server, "10.17882/123456789").read()


def test_no_matching_file_lists_the_files(server: DataServer) -> None:
    with pytest.raises(AccessError) as err:
        _src(server, file_pattern="*.zarr").read()
    msg = str(err.value)
    assert "no file matches '*.zarr'" in msg and "ISAS20_TEMP_2020.nc" in msg and "counts.csv" in msg
    assert "args.file_pattern" in msg
    with pytest.raises(AccessError, match=r"no file is open access '\*.csv'.*secret.csv \(restricted\)"):
        _src(server, "10.17882/900002", file_pattern="*.csv").read()


def test_interrupted_download_leaves_nothing(server: DataServer, _cache: Path) -> None:
    rec = json.loads((server.seanoe.root / "api" / "find-by-id" / "900001").read_text())
    url = next(f["fileUrl"] for f in rec["files"] if f["fileName"] == "counts.csv")
    server.seanoe.truncate(url.split("www.seanoe.org/", 1)[1])
    with pytest.raises(AccessError, match=r"download of .* was interrupted .*nothing was kept, run the load again"):
        _src(server, file_pattern="counts.csv").read()
    folder = _cache / "downloads" / "seanoe" / "900001"
    assert not folder.exists() or list(folder.iterdir()) == []  # no partial file, no temporary file
    # the next attempt gets the whole file
    assert len(_src(server, file_pattern="counts.csv").read()) == 3


def test_checksum_mismatch_discards_the_file(server: DataServer, _cache: Path) -> None:
    rec = json.loads((server.seanoe.root / "api" / "find-by-id" / "900001").read_text())
    url = next(f["fileUrl"] for f in rec["files"] if f["fileName"] == "ISAS20_notes.pdf")
    server.seanoe.corrupt(url.split("www.seanoe.org/", 1)[1])
    with pytest.raises(AccessError, match="does not match its sha256 checksum"):
        _src(server, file_pattern="*.pdf", format="csv").fetch()
    assert not (_cache / "downloads" / "seanoe" / "900001" / "ISAS20_notes.pdf").exists()
    # a damaged file already in the cache is downloaded again
    path = _src(server, file_pattern="*.pdf", format="csv").fetch()
    path.write_bytes(b"%PDF-1.X\n")
    assert _src(server, file_pattern="*.pdf", format="csv").fetch().read_bytes() == b"%PDF-1.4\n"


def test_catalogue_entry_through_the_mirror(
    server: DataServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SEANOE entry loaded with plain ``catalog.load`` and ``$ODATIS_VRE_MIRROR`` (the real addresses)."""
    entry = {
        "description": "ISAS-like gridded temperature (test record)",
        "driver": "odatis_vre.data.drivers.SeanoeSource",
        "args": {"doi": "10.17882/900001", "file_pattern": "ISAS20_TEMP_*.nc", "progress": False},
        "metadata": {
            "title": "Test ISAS grid",
            "theme": "physics",
            "producer": "LOPS",
            "data_centre": "SEANOE",
            "licence": "CC-BY-4.0",
            "doi": "10.17882/900001",
            "citation": "Test (2020). ISAS. SEANOE.",
            "bbox": [-15, 40, 0, 50],
            "time_range": ["2020-01-01", "2020-03-31"],
            "variables": [{"name": "TEMP", "standard_name": "sea_water_temperature"}],
            "access": {"protocol": "seanoe", "login": False, "root": "https://www.seanoe.org"},
        },
    }
    path = tmp_path / "cat.yaml"
    path.write_text(
        yaml.safe_dump(
            {"sources": {"isas_test": entry, "missing": {**entry, "args": {**entry["args"], "doi": "10.17882/999"}}}}
        )
    )
    cat = catalog.open(path, use_cache=False)
    assert catalog.check(cat) == {}  # the `seanoe` protocol is known to the schema
    monkeypatch.setenv("ODATIS_VRE_MIRROR", json.dumps({"https://www.seanoe.org": server.url + "/seanoe"}))
    provenance.clear()
    ds = catalog.load("isas_test", catalog=cat, bbox=(-10, 43, -2, 48), time=("2020-02-01", "2020-03-31"))
    assert ds.sizes["time"] == 2 and float(ds.latitude.min()) >= 43 and float(ds.longitude.max()) <= -2
    assert provenance.opened()[0]["doi"] == "10.17882/900001"
    with pytest.raises(catalog.CatalogError, match=r"'missing': field args.doi: cannot open .*no such record"):
        catalog.load("missing", catalog=cat)
    ok, msg = catalog.probe_url("isas_test", cat.raw["isas_test"])
    assert ok and "/seanoe/api/find-by-id/900001" in msg
