"""CF/ACDD checks (compliance-checker + cf-xarray) on the sample datasets and on broken copies, offline."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from odatis_vre.data import samples
from odatis_vre.publishing import conventions
from odatis_vre.publishing.conventions import ConventionsError, Problem


def _errors(problems: list[Problem]) -> dict[str, str]:
    return {p.attribute: p.message for p in problems if p.level == "error"}


@pytest.mark.parametrize(
    "make",
    [
        lambda: samples.sst_dataset(days=5),
        lambda: samples.argo_dataset(n_floats=2, n_cycles=3),
        lambda: samples.mooring_dataset(days=10),
        lambda: samples.chl_dataset(months=3),
    ],
    ids=["sst", "argo", "mooring", "chl"],
)
def test_sample_datasets_pass(make: Callable[[], xr.Dataset]) -> None:
    ds = make()
    problems = conventions.check(ds)
    assert _errors(problems) == {}
    assert all(isinstance(p, Problem) and p.level == "warning" and p.attribute and p.message for p in problems)
    # a source is not a deposit: CF-clean, and only ACDD's score (attributes a deposit writes from its
    # depositor's metadata: creator_email, platform, program...) keeps it from being published as it is
    a = conventions.assess(ds)
    assert a.scores["cf"]["high"] == 0 and a.scores["acdd"]["percent"] < conventions.ACDD_MIN_PERCENT
    refusal = a.refusal()
    assert refusal and all(p.source == "ACDD-1.3 score" for p in refusal), refusal
    with pytest.raises(conventions.ConventionsError, match="ACDD-1.3 score"):
        conventions.require(ds)


@pytest.mark.parametrize(
    "name",
    [
        "sst_daily/20230101-ODATIS-L4_GHRSST-SSTfnd-SAMPLE.nc",
        "argo_profiles.nc",
        "mooring_hourly.nc",
        "chl_monthly.nc",
        "sst.zarr",
    ],
)
def test_sample_files(sample_data: Path, name: str, tmp_path: Path) -> None:
    """The files on disk: the only error allowed is a _FillValue that xarray put on a coordinate,
    and the same data rewritten by :func:`conventions.to_netcdf` has none."""
    path = sample_data / name
    errors = _errors(conventions.check(path))
    assert all(a.endswith(":_FillValue") and "coordinate variable" in m for a, m in errors.items()), errors
    if errors:
        with xr.open_dataset(path) as ds:
            fixed = conventions.to_netcdf(ds.load(), tmp_path / "fixed.nc")
        assert _errors(conventions.check(fixed)) == {}


def _break_units(ds: xr.Dataset) -> None:
    del ds["CHL"].attrs["units"]


def _break_lat_units(ds: xr.Dataset) -> None:
    ds["lat"].attrs["units"] = "furlongs"


def _break_std_name(ds: xr.Dataset) -> None:
    ds["CHL"].attrs["standard_name"] = "chlorophyll_of_the_moon"


def _break_globals(ds: xr.Dataset) -> None:
    for k in ("title", "summary", "keywords"):
        del ds.attrs[k]


def _break_conventions(ds: xr.Dataset) -> None:
    del ds.attrs["Conventions"]


def _break_names(ds: xr.Dataset) -> None:
    ds["CHL"].attrs.pop("standard_name")
    ds["CHL"].attrs.pop("long_name")


def _break_latlon(ds: xr.Dataset) -> None:
    for v in ("lat", "lon"):
        ds[v].attrs.clear()


def _break_coord_fill(ds: xr.Dataset) -> None:
    ds["lat"].encoding["_FillValue"] = -999.0  # written by us, but we write coordinates clean


@pytest.mark.parametrize(
    "breaker, expected",
    [
        (_break_units, {"CHL:units": "set ds['CHL'].attrs['units']"}),
        (_break_lat_units, {"lat:units": 'Units "furlongs" for variable lat'}),
        (_break_std_name, {"CHL:standard_name": "chlorophyll_of_the_moon is not defined in Standard Name Table"}),
        (
            _break_globals,
            {"title": "set the global attribute `title`", "summary": "`summary`", "keywords": "`keywords`"},
        ),
        (_break_conventions, {"Conventions": 'Conventions = "CF-1.8, ACDD-1.3"'}),
        (_break_names, {"CHL:long_name": "neither standard_name nor long_name"}),
        (
            _break_latlon,
            {
                "latitude": "standard_name='latitude' and units='degrees_north'",
                "longitude": "standard_name='longitude'",
            },
        ),
    ],
    ids=["units", "lat-units", "standard-name", "acdd-globals", "conventions", "names", "latlon"],
)
def test_broken_copies_name_the_attribute(breaker, expected: dict[str, str]) -> None:
    ds = samples.chl_dataset(months=3)
    breaker(ds)
    errors = _errors(conventions.check(ds))
    for attribute, text in expected.items():
        assert attribute in errors, (attribute, errors)
        assert text in errors[attribute], errors[attribute]
    with pytest.raises(ConventionsError) as exc:
        conventions.require(ds)
    for attribute in expected:
        assert f"  - {attribute}: " in str(exc.value)
    # the errors, then (a source sample, not a deposit) what its ACDD score lacks
    assert {p.attribute for p in exc.value.problems if p.source != "ACDD-1.3 score"} == set(errors)


def test_coordinate_fillvalue_in_a_file_is_an_error(tmp_path: Path) -> None:
    ds = samples.chl_dataset(months=3)
    path = tmp_path / "plain.nc"
    ds.to_netcdf(path)  # xarray's default: _FillValue = NaN on float coordinates
    errors = _errors(conventions.check(path))
    assert "lat:_FillValue" in errors and "encoding={'lat': {'_FillValue': None}}" in errors["lat:_FillValue"]
    _break_coord_fill(ds)
    assert _errors(conventions.check(conventions.to_netcdf(ds, tmp_path / "clean.nc"))) == {}


def test_checks_need_no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The samples name 'CF Standard Name Table v84'; stock compliance-checker tries to download it."""
    attempts: list[str] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def guarded_getaddrinfo(host, *args, **kw):
        if host not in ("127.0.0.1", "localhost", "::1", None):
            attempts.append(str(host))
            raise socket.gaierror(f"network disabled in this test ({host})")
        return real_getaddrinfo(host, *args, **kw)

    def guarded_connect(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            attempts.append(str(address))
            raise OSError("network disabled in this test")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # no cached table from an earlier run
    ds = samples.chl_dataset(months=3)
    assert "v84" in ds.attrs["standard_name_vocabulary"]
    ds["CHL"].attrs["standard_name"] = "not_a_standard_name"
    problems = conventions.check(ds)
    assert "CHL:standard_name" in _errors(problems)
    assert attempts == []
    # the guard works: stock compliance-checker does try the network on the same file
    from compliance_checker.suite import CheckSuite

    path = conventions.to_netcdf(ds, tmp_path / "x.nc")
    CheckSuite.load_all_available_checkers()
    suite = CheckSuite()
    nc = suite.load_dataset(str(path))
    with pytest.warns(UserWarning, match="Problem fetching standard name table"):
        suite.run_all(nc, ["cf:1.8"], skip_checks=[])
    nc.close()
    assert attempts and "github.com" in attempts[0]


def test_big_dataset_is_checked_through_a_thin_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = samples.sst_dataset(days=40)
    monkeypatch.setattr(conventions, "MAX_CHECK_BYTES", 1000)
    assert _errors(conventions.check(ds)) == {}
    thin = conventions._thinned(ds)
    assert thin.sizes["time"] == 9 and thin.time[0] == ds.time[0] and thin.time[-1] == ds.time[-1]
    ds["analysed_sst"].attrs["units"] = "degrees_bogus"
    assert "analysed_sst:units" in _errors(conventions.check(ds))


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        conventions.check(tmp_path / "missing.nc")
    csv = tmp_path / "table.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(ConventionsError, match="not a readable NetCDF file") as exc:
        conventions.check(csv)
    assert exc.value.problems[0].attribute == "format"
    with pytest.raises(TypeError, match="xarray.Dataset or the path"):
        conventions.check(42)


def test_to_netcdf_is_atomic(tmp_path: Path) -> None:
    ds = samples.sst_dataset(days=2)
    target = tmp_path / "out.nc"
    conventions.to_netcdf(ds, target)
    before = target.read_bytes()
    bad = ds.copy()
    bad["broken"] = (("time",), np.array([object(), object()], dtype=object))  # cannot be written
    with pytest.raises(Exception):  # noqa: B017 - whichever error the writer raises, the old file must stay
        conventions.to_netcdf(bad, target)
    assert target.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["out.nc"]
    with xr.open_dataset(target) as back:
        assert "_FillValue" not in back["lat"].encoding and back["time"].encoding["dtype"] == np.dtype("float64")
