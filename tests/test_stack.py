"""The local stack's own life cycle: what `odatis-vre down` leaves behind when the hub did not stop cleanly."""

from __future__ import annotations

import psutil
import pytest
import requests
from vre_testing import start_stack

pytestmark = pytest.mark.slow

QUIET = {
    "services": {
        "dask_gateway": {"enabled": False},
        "explorer": {"enabled": False},
        "repository": {"enabled": False},
        "idle_culler": {"enabled": False},
    }
}


def _proxy_of(state) -> psutil.Process:  # noqa: ANN001
    proc = psutil.Process(int((state / "proxy.pid").read_text()))
    assert "configurable-http-proxy" in " ".join(proc.cmdline())
    return proc


def test_stop_after_the_hub_died_stops_its_proxy(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The proxy runs in a session of its own: a hub killed (or dead at start-up) must not leave it on the port."""
    stack = start_stack(tmp_path_factory.mktemp("stack"), QUIET)
    try:
        proxy = _proxy_of(stack.stack.state)
        stack.stack.kill_hub()
        assert proxy.is_running()  # what a dead hub leaves: the proxy still holds the VRE's port
        assert requests.get(f"{stack.url}/hub/api/", timeout=10).status_code in (502, 503)
    finally:
        stack.stop()
    assert not proxy.is_running()  # stop() waited for it
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack.url}/hub/api/", timeout=10)
