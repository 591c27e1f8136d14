"""Dask Gateway's Kubernetes backend without a cluster: the chart's gateway configuration runs the real
hub/dask_gateway_config.py in Kubernetes mode; for a user of every group, the quota-bounded cluster
options become a DaskCluster object, and dask-gateway-server's own controller turns it into the
scheduler and worker pod manifests, validated against the Kubernetes OpenAPI schema and checked
against the quotas of vre.yaml and the chart's NetworkPolicies."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.models import User
from dask_gateway_server.utils import FrozenAttrDict
from test_helm import (
    EXAMPLE_VRE,
    GATEWAY_API,
    INTERNET,
    K8S_VERSION,
    KUBE_API,
    KUBE_DNS,
    NAMESPACE,
    PROXY,
    REPO,
    SECRETS,
    TRAEFIK,
    Endpoint,
    allowed,
    by_kind,
    chart,
    chart_values,
    kubeconfig,
    render,
    use_kubeconfig,
)
from traitlets.config import Config

from odatis_vre import config
from odatis_vre.hub import gateway
from odatis_vre.users import quotas

__all__ = ["chart", "kubeconfig"]  # session fixtures, shared with test_helm

GiB = 1024**3
INSTANCE = "odatis-vre-dask-gateway"


def gateway_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Config:
    """The traitlets config of the gateway's API pod: the chart's settings for the backend values we
    set, then our extraConfig snippet from values.yaml, which runs hub/dask_gateway_config.py."""
    values = chart_values()["dask-gateway"]
    be = values["gateway"]["backend"]
    c = Config()
    # what the dask-gateway chart's own configuration does with gateway.backend.* and the release
    c.KubeClusterConfig.image = f"{be['image']['name']}:{be['image']['tag']}"
    c.KubeClusterConfig.namespace = NAMESPACE
    c.KubeClusterConfig.scheduler_cores = be["scheduler"]["cores"]["request"]
    c.KubeClusterConfig.scheduler_cores_limit = be["scheduler"]["cores"]["limit"]
    c.KubeClusterConfig.scheduler_memory = be["scheduler"]["memory"]["request"]
    c.KubeClusterConfig.scheduler_memory_limit = be["scheduler"]["memory"]["limit"]
    for trait, value in (
        ("worker_cores", be["worker"]["cores"]["request"]),
        ("worker_cores_limit", be["worker"]["cores"]["limit"]),
        ("worker_memory", be["worker"]["memory"]["request"]),
        ("worker_memory_limit", be["worker"]["memory"]["limit"]),
    ):
        if value is not None:  # the chart sets only what is given
            setattr(c.KubeClusterConfig, trait, value)
    # a Dask node pool, as docs/deploy-kubernetes.md sets it in gateway.backend.worker.extraPodConfig
    c.KubeClusterConfig.worker_extra_pod_config = be["worker"]["extraPodConfig"] | {
        "nodeSelector": {"odatis.fr/pool": "dask"},
        "tolerations": [{"key": "odatis.fr/pool", "value": "dask", "effect": "NoSchedule"}],
    }
    c.KubeBackend.gateway_instance = INSTANCE
    c.KubeController.gateway_instance = INSTANCE
    c.KubeController.api_url = f"http://api-{INSTANCE}.{NAMESPACE}:8000/api"
    # the chart passes vre.yaml through the environment (values.yaml dask-gateway.gateway.env)
    env = {e["name"]: e for e in values["gateway"]["env"]}
    assert env["ODATIS_VRE_YAML"]["valueFrom"]["configMapKeyRef"] == {"name": "odatis-vre-config", "key": "vre.yaml"}
    monkeypatch.setenv("ODATIS_VRE_YAML", EXAMPLE_VRE.read_text())
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    snippet = values["gateway"]["extraConfig"]["zz-odatis-vre"]
    exec(snippet.replace("/srv/odatis-vre/hub/", str(REPO / "hub") + "/"), {"c": c})
    return c


@pytest.fixture()
def gw(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kubeconfig: Path) -> tuple[Config, config.VREConfig]:
    # kubernetes_asyncio (imported by the Kubernetes backend) reads $KUBECONFIG once, at import
    use_kubeconfig(kubeconfig, monkeypatch)
    c = gateway_config(monkeypatch, tmp_path)
    cfg = config.load(os.environ[config.ENV_CONFIG])
    assert cfg.mode == "kubernetes"
    return c, cfg


def test_gateway_config_uses_the_quota_aware_kubernetes_backend(gw: tuple[Config, config.VREConfig]) -> None:
    c, cfg = gw
    assert c.DaskGateway.backend_class == "odatis_vre.hub.gateway.VREKubeBackend"
    assert c.DaskGateway.authenticator_class == "dask_gateway_server.auth.JupyterHubAuthenticator"
    assert c.KubeBackend.cluster_options is gateway.cluster_options
    # vre.yaml came from the environment, unchanged
    assert config.read_raw(cfg.path) == config.read_raw(EXAMPLE_VRE)


def _cluster(c: Config, user: User, request: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Options → DaskCluster object (the API pod) → scheduler and worker pods (the controller pod)."""

    async def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        from dask_gateway_server.backends.kubernetes.controller import KubeController

        backend = gateway.VREKubeBackend(config=c)
        options, cluster_config = await backend.process_cluster_options(user, request)
        obj = backend.make_cluster_object(user.name, options, cluster_config)
        obj = json.loads(json.dumps(obj))  # what the Kubernetes API stores and the controller reads back
        controller = KubeController(config=c)
        spec = FrozenAttrDict(obj["spec"]["config"])
        name = obj["metadata"]["name"]
        pods = [
            controller.make_pod(NAMESPACE, name, spec, is_worker=False),
            controller.make_pod(NAMESPACE, name, spec, is_worker=True),
        ]
        return obj, pods

    return asyncio.run(run())


def _largest_request(q: quotas.Quota) -> dict[str, Any]:
    """The biggest worker a user may ask for: all of their worker memory, cores up to the cluster's cores."""
    return {"worker_cores": int(min(q.dask_cores, 8)), "worker_memory": q.dask_worker_memory / GiB}


def test_scheduler_and_worker_pods_for_every_group(gw: tuple[Config, config.VREConfig]) -> None:
    c, cfg = gw
    default_image = next(p["image"] for p in cfg.profiles if p.get("default"))
    for group in cfg.groups:
        q = quotas.for_user(cfg, f"user-{group}", [group])
        user = User(f"user-{group}", groups=[group])
        for request in ({}, _largest_request(q)):
            obj, (scheduler, worker) = _cluster(c, user, request)
            spec = obj["spec"]["config"]
            # the gateway enforces the cluster-wide limits of the quota when scaling: never more
            # workers than dask.workers, never more worker cores than dask.cores
            assert spec["cluster_max_cores"] == q.dask_cores + 1  # + the scheduler's core
            by_cores = (spec["cluster_max_cores"] - spec["scheduler_cores"]) // spec["worker_cores"]
            assert spec["cluster_max_workers"] == min(q.dask_workers, by_cores)
            assert spec["cluster_max_workers"] * spec["worker_cores"] <= q.dask_cores
            assert spec["cluster_max_workers"] >= 1
            # idle clusters are shut down after vre.yaml's services.dask_gateway.idle_timeout (1800 s here)
            assert spec["idle_timeout"] == cfg.services["dask_gateway"]["idle_timeout"] == 1800
            for pod in (scheduler, worker):
                pod_for_schema = pod | {"metadata": pod["metadata"] | {"name": pod["metadata"].get("name", "w")}}
                kubernetes_validate.validate(pod_for_schema, K8S_VERSION, strict=True)
                container = pod["spec"]["containers"][0]
                assert container["image"] == default_image
                assert pod["metadata"]["labels"]["gateway.dask.org/instance"] == INSTANCE
                assert pod["spec"]["automountServiceAccountToken"] is False
            res = worker["spec"]["containers"][0]["resources"]
            mem = request.get("worker_memory", min(2.0, q.dask_worker_memory / GiB)) * GiB
            assert int(res["limits"]["memory"]) == int(res["requests"]["memory"]) == int(mem)
            assert int(res["limits"]["memory"]) <= q.dask_worker_memory
            cores = request.get("worker_cores", 1)
            assert float(res["limits"]["cpu"]) == float(cores) <= q.dask_cores
            # workers read the shared data volume, read-only
            volumes = {v["name"]: v for v in worker["spec"]["volumes"]}
            assert volumes["odatis-data"]["persistentVolumeClaim"] == {"claimName": "odatis-vre-data", "readOnly": True}
            mounts = {m["name"]: m for m in worker["spec"]["containers"][0]["volumeMounts"]}
            assert (
                mounts["odatis-data"]["mountPath"] == "/srv/odatis/catalog/data" and mounts["odatis-data"]["readOnly"]
            )
            # the node pool settings of the chart values are kept next to the volume
            assert worker["spec"]["nodeSelector"] == {"odatis.fr/pool": "dask"}
            assert worker["spec"]["tolerations"][0]["key"] == "odatis.fr/pool"
            assert scheduler["metadata"]["annotations"]["prometheus.io/port"] == "8787"
            # the commands of the images' distributed (dask-scheduler / dask-worker are gone since 2025)
            for pod, cmd in ((scheduler, ["dask", "scheduler"]), (worker, ["dask", "worker"])):
                c0 = pod["spec"]["containers"][0]
                assert [*(c0.get("command") or []), *(c0.get("args") or [])][:2] == cmd, c0
            # the allocator settings of gateway.worker_environment reach the worker's nanny
            env = {e["name"]: e.get("value") for e in worker["spec"]["containers"][0]["env"]}
            assert env["DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON"] == repr(gateway.WORKER_MALLOC)


@pytest.mark.parametrize("field,factor", [("worker_memory", 2), ("worker_cores", 2)])
def test_options_above_the_quota_are_refused(gw: tuple[Config, config.VREConfig], field: str, factor: int) -> None:
    c, cfg = gw
    q = quotas.for_user(cfg, "olga", ["default"])
    request = {"worker_memory": 1.0, "worker_cores": 1}
    request[field] = (q.dask_worker_memory / GiB if field == "worker_memory" else int(q.dask_cores)) * factor
    with pytest.raises(PublicException) as err:
        _cluster(c, User("olga", groups=["default"]), request)
    assert "quota" in str(err.value)


def test_network_policies_let_the_cluster_work(gw: tuple[Config, config.VREConfig], chart: Path) -> None:
    c, cfg = gw
    policies = list(by_kind(render(chart, *SECRETS), "NetworkPolicy").values())
    _, (scheduler, worker) = _cluster(c, User("olga", groups=["default"]), {})
    sched = Endpoint("10.4.0.2", scheduler["metadata"]["labels"])
    work = Endpoint("10.4.0.3", worker["metadata"]["labels"])
    user = Endpoint("10.2.0.11", {"app": "jupyterhub", "component": "singleuser-server", "release": "odatis-vre"})
    assert allowed(policies, TRAEFIK, sched, 8786) and allowed(policies, TRAEFIK, sched, 8787)
    assert allowed(policies, GATEWAY_API, sched, 8788)
    assert allowed(policies, work, sched, 8786) and allowed(policies, sched, work, 40000)
    assert allowed(policies, sched, GATEWAY_API, 8000)  # heartbeats to the API
    assert allowed(policies, work, KUBE_DNS, 53, "UDP") and allowed(policies, work, INTERNET, 443)
    # users reach their cluster through traefik only, and Dask pods never the Kubernetes API or users
    assert not allowed(policies, user, sched, 8786)
    assert not allowed(policies, work, KUBE_API, 443)
    assert not allowed(policies, work, user, 8888)
    assert not allowed(policies, PROXY, work, 8787)
