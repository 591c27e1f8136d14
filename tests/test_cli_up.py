"""`odatis-vre up --detach`, `status` and `down`: what `make up` runs, from the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from vre_testing import write_config

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "odatis_vre"]


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def test_up_status_down(tmp_path: Path, sample_data: Path) -> None:
    cfg = write_config(tmp_path)
    up = _run("up", "--detach", "-c", str(cfg))
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        out = up.stdout
        url = out.split("odatis-vre is ready in")[1].split(": ", 1)[1].split()[0].rstrip("/")
        assert url.startswith("http://127.0.0.1:")
        # the first start shows the admin's password, once, and where each service is
        password = out.split("with password: ")[1].split()[0]
        assert f"data explorer (maps, time series): {url}/services/explorer/" in out
        assert f"{url}/services/dask-gateway/" in out
        # the samples' time-optimised copies exist: the explorer's clicks are instant from the first one
        from odatis_vre import timeseries

        assert timeseries.status("sample_sst_zarr")["state"] == "fresh"
        # the printed credentials work through the login form
        s = requests.Session()
        s.get(f"{url}/hub/login", timeout=30)
        r = s.post(
            f"{url}/hub/login",
            data={"username": "admin", "password": password, "_xsrf": s.cookies.get("_xsrf")},
            timeout=60,
        )
        assert "/hub/login" not in r.url
        status = _run("status", "-c", str(cfg))
        assert status.returncode == 0 and f"odatis-vre runs at {url}/" in status.stdout
        assert "dask-gateway" in status.stdout
        # starting twice is refused with a message saying how to stop the first
        again = _run("up", "--detach", "-c", str(cfg))
        assert again.returncode != 0 and "odatis-vre down" in again.stderr
    finally:
        down = _run("down", "-c", str(cfg))
    assert down.returncode == 0, down.stdout + down.stderr
    assert "not running" in _run("status", "-c", str(cfg)).stdout
    # a second start does not show the password again
    up2 = _run("up", "--detach", "-c", str(cfg))
    try:
        assert up2.returncode == 0, up2.stderr
        assert "with password" not in up2.stdout and "password shown at first start" in up2.stdout
    finally:
        _run("down", "-c", str(cfg))
