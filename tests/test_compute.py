"""odatis_vre.compute outside a hub: the same call gives a LocalCluster."""

from __future__ import annotations

import pytest

from odatis_vre import compute


def test_cluster_outside_hub_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    assert not compute.in_hub()
    with compute.cluster(workers=1) as cl, cl.get_client() as client:
        assert type(cl).__name__ == "LocalCluster"
        assert client.submit(sum, [1, 2, 3]).result() == 6
