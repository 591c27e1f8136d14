"""Kubernetes mode without a cluster: the real hub config builds KubeSpawner pod manifests that
match vre.yaml and validate against the Kubernetes OpenAPI schema (kubernetes-validate, offline)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import kubernetes_validate
import pytest
from traitlets.config import Config
from vre_testing import KUBECONFIG, TEST_CONFIG

from odatis_vre import config
from odatis_vre.hub import hubconfig, spawners


@pytest.fixture()
def kube_cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> config.VREConfig:
    raw = config.deep_merge(
        TEST_CONFIG,
        {
            "mode": "kubernetes",
            "auth": {
                "type": "oauth",
                "oauth": {
                    "client_id": "vre",
                    "authorize_url": "https://sso.example.org/auth",
                    "token_url": "https://sso.example.org/token",
                    "userdata_url": "https://sso.example.org/userinfo",
                },
            },
        },
    )
    raw["groups"]["researchers"]["users"] = ["rita"]
    path = tmp_path / "vre.yaml"
    import yaml

    path.write_text(yaml.safe_dump(raw))
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setenv(config.ENV_CONFIG, str(path))
    return config.load(path)


def _manifest(cfg: config.VREConfig, username: str, profile: str) -> dict:
    c = Config()
    hubconfig.apply(c, cfg, environ={"ODATIS_VRE_OAUTH_CLIENT_SECRET": "s"})
    cls = spawners.VREKubeSpawner

    async def build() -> dict:
        user = SimpleNamespace(
            name=username,
            id=1,
            url=f"/user/{username}/",
            groups=[],
            spawners={},
            escaped_name=username,
            orm_user=None,
            admin=False,
        )
        sp = cls(
            config=c,
            user=user,
            hub=SimpleNamespace(
                api_url="http://hub:8081/hub/api", base_url="/hub/", public_host="", url="http://hub:8081/hub/"
            ),
            _deprecated_db_session=None,
            namespace="odatis",
        )
        sp.user_options = {"profile": profile}
        await sp.load_user_options()
        pod = await sp.get_pod_manifest()
        return sp.api.api_client.sanitize_for_serialization(pod)

    return asyncio.run(build())


@pytest.mark.parametrize("username,profile", [("olga", "ocean"), ("rita", "large")])
def test_pod_manifest_matches_profile_and_validates(kube_cfg: config.VREConfig, username: str, profile: str) -> None:
    pod = _manifest(kube_cfg, username, profile)
    kubernetes_validate.validate(pod, "1.32", strict=True)
    container = pod["spec"]["containers"][0]
    spec = kube_cfg.profile(profile)
    assert container["image"] == spec["image"]
    limits = container["resources"]["limits"]
    assert float(limits["cpu"]) == float(spec["cpu"]["limit"])
    assert config.parse_quantity(limits["memory"]) == config.parse_quantity(spec["memory"]["limit"])
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ODATIS_VRE_CATALOG"] == "/srv/odatis/catalog/odatis.yaml"
    assert env["DASK_GATEWAY__ADDRESS"].endswith("/services/dask-gateway")
    assert env["DASK_DISTRIBUTED__DASHBOARD__LINK"] == "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"
    # what JupyterLab's extensions read: the limits for jupyter-resource-usage, the gateway for the Dask sidebar,
    # plots that carry BokehJS (no CDN)
    assert config.parse_quantity(env["MEM_LIMIT"]) == config.parse_quantity(spec["memory"]["limit"])
    assert float(env["CPU_LIMIT"]) == float(spec["cpu"]["limit"])
    assert (env["DASK_LABEXTENSION__FACTORY__MODULE"], env["DASK_LABEXTENSION__FACTORY__CLASS"]) == (
        "dask_gateway",
        "GatewayCluster",
    )
    assert env["PANEL_INLINE"] == "true" and env["BOKEH_RESOURCES"] == "inline"


def test_profile_list_hides_retired_profiles(kube_cfg: config.VREConfig) -> None:
    raw = dict(kube_cfg.raw)
    raw["profiles"] = [dict(p) for p in raw["profiles"]]
    raw["profiles"][1]["retired"] = True
    cfg = config.from_dict(raw)
    assert [p["slug"] for p in spawners.kube_profile_list(cfg)] == ["ocean"]
    assert spawners.kube_profile_list(kube_cfg)[0]["kubespawner_override"]["mem_limit"] == "2G"
