"""Tests run inside the 'hub' image (see images/ocean/tests): the hub and gateway configuration files of the
repository import and apply in Kubernetes mode, with the modules the chart's configuration needs."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

from traitlets.config import Config

HUB = Path("/srv/odatis-vre/hub")


def _env(tmp_path: Path) -> None:
    vre = Path(os.environ["ODATIS_VRE_CONFIG"])
    assert vre.is_file(), vre
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    os.environ["KUBECONFIG"] = str(tmp_path / "kubeconfig")
    for name in (
        "ODATIS_VRE_OAUTH_CLIENT_SECRET",
        "DASK_GATEWAY_API_TOKEN",
        "EXPLORER_API_TOKEN",
        "REPOSITORY_API_TOKEN",
    ):
        os.environ.setdefault(name, "from-the-secret")


def test_hub_config_applies_in_kubernetes_mode(tmp_path: Path) -> None:
    _env(tmp_path)
    c = Config()
    exec(compile((HUB / "jupyterhub_config.py").read_text(), "jupyterhub_config.py", "exec"), {"c": c})
    assert c.JupyterHub.spawner_class == "odatis_vre.hub.spawners.VREKubeSpawner"
    assert c.JupyterHub.authenticator_class == "odatis_vre.hub.auth.VREOAuthenticator"
    from odatis_vre.hub import spawners

    assert spawners.VREKubeSpawner.__mro__[2].__name__ == "KubeSpawner"


def test_gateway_config_applies_in_kubernetes_mode(tmp_path: Path) -> None:
    _env(tmp_path)
    c = Config()
    exec(compile((HUB / "dask_gateway_config.py").read_text(), "dask_gateway_config.py", "exec"), {"c": c})
    assert c.DaskGateway.backend_class == "odatis_vre.hub.gateway.VREKubeBackend"
    assert c.KubeClusterConfig.idle_timeout == 1800
    from odatis_vre.hub import gateway

    assert gateway.VREKubeBackend.__name__ == "VREKubeBackend"


def test_what_z2jh_and_the_gateway_chart_need() -> None:
    import pycurl  # noqa: F401  (z2jh's jupyterhub_config.py uses tornado's curl client)
    from tornado.curl_httpclient import CurlAsyncHTTPClient  # noqa: F401

    for dist in (
        "jupyterhub",
        "jupyterhub-kubespawner",
        "oauthenticator",
        "dask-gateway-server",
        "jupyterhub-idle-culler",
        "kubernetes_asyncio",
    ):
        assert metadata.version(dist)
    assert os.getuid() == 1000 and Path.cwd() == Path("/srv/jupyterhub")
