"""Dask usage in Kubernetes mode: the hub's recorder reads the gateway's DaskCluster objects and their pods from
the Kubernetes API (kmock here), records when each scheduler and worker ran, and the usage report counts them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from kube_testing import KubeAPI
from test_helm import EXAMPLE_VRE, NAMESPACE, SECRETS, by_kind, chart, render  # noqa: F401 (chart: fixture)

from odatis_vre import config
from odatis_vre.admin import kube_usage, usage
from odatis_vre.hub import hubconfig, modes

INSTANCE = modes.K8S_GATEWAY_INSTANCE


@pytest.fixture()
def api() -> KubeAPI:
    server = KubeAPI("127.0.0.1")
    yield server
    server.close()


def _labels(cluster: str, component: str | None = None) -> dict[str, str]:
    labels = {"gateway.dask.org/instance": INSTANCE, "gateway.dask.org/cluster": cluster}
    return labels | ({"app.kubernetes.io/component": component} if component else {})


def _pod(api: KubeAPI, name: str, cluster: str, component: str, phase: str = "Running") -> None:
    api.create(
        "v1/pods",
        NAMESPACE,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": _labels(cluster, component)},
            "spec": {"containers": [{"name": "dask", "image": "i"}]},
        },
    )
    api.patch("v1/pods", NAMESPACE, name, {"status": {"phase": phase}}, subresource="status")


def test_recorder_counts_dask_pods_from_the_kubernetes_api(
    api: KubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig", NAMESPACE)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    from kubernetes_asyncio.config import kube_config

    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    for name, user, cores in (("c-ann", "ann", 2), ("c-bob", "bob", 1)):
        api.create(
            "gateway.dask.org/v1alpha1/daskclusters",
            NAMESPACE,
            {
                "apiVersion": "gateway.dask.org/v1alpha1",
                "kind": "DaskCluster",
                "metadata": {"name": name, "labels": _labels(name)},
                "spec": {"username": user, "config": {"worker_cores": cores, "scheduler_cores": 1}},
            },
        )
    _pod(api, "sched-ann", "c-ann", "dask-scheduler")
    _pod(api, "w-ann-1", "c-ann", "dask-worker")
    _pod(api, "w-ann-2", "c-ann", "dask-worker", phase="Pending")  # not running: not counted
    _pod(api, "sched-bob", "c-bob", "dask-scheduler")
    # a pod of another gateway and a user's server: not ours
    api.create(
        "v1/pods",
        NAMESPACE,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "jupyter-ann", "labels": {"component": "singleuser-server"}},
            "spec": {"containers": []},
        },
    )
    state = tmp_path / "state"
    assert asyncio.run(kube_usage.poll_once(state, NAMESPACE, INSTANCE)) == 4
    uses = {(u.cluster, u.cores, u.stop is None) for u in kube_usage.read_dask_usage(state)}
    assert uses == {("c-ann", 1.0, True), ("c-ann", 2.0, True), ("c-bob", 1.0, True)}
    # bob's cluster goes away; ann's second worker starts
    api.patch("v1/pods", NAMESPACE, "sched-bob", {"status": {"phase": "Succeeded"}}, subresource="status")
    api.patch("v1/pods", NAMESPACE, "w-ann-2", {"status": {"phase": "Running"}}, subresource="status")
    asyncio.run(kube_usage.poll_once(state, NAMESPACE, INSTANCE))
    users = sorted((u.user, u.cores, u.stop is not None) for u in kube_usage.read_dask_usage(state))
    assert users == [("ann", 1.0, False), ("ann", 2.0, False), ("ann", 2.0, False), ("bob", 1.0, True)]

    # the usage report of the deployment counts them (Kubernetes mode: no gateway database)
    raw = yaml.safe_load(EXAMPLE_VRE.read_text())
    raw["hub"]["state_dir"] = str(state)
    cfg = config.from_dict(raw)
    now = max(u.start for u in kube_usage.read_dask_usage(state)) + 3600
    rep = usage.report(cfg, since=0, until=now + 1, now=now)
    assert rep.per_user["ann"].dask_core_hours > 5 * 0.99  # 1 + 2 + 2 cores for about an hour
    assert rep.per_user["ann"].dask_clusters == {"c-ann"} and "bob" in rep.per_user


def test_hub_runs_the_recorder_in_kubernetes_mode_only(tmp_path: Path) -> None:
    k8s = config.load(EXAMPLE_VRE)
    environ = {
        "POD_NAMESPACE": "ocean-vre",
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "SECRET": "not passed on",
    }
    svcs = {s["name"]: s for s in hubconfig.services(k8s, environ)}
    # the service finds the API server as the hub does (the hub passes few variables to its services)
    assert svcs["dask-usage"]["environment"] == {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
    }
    cmd = svcs["dask-usage"]["command"]
    assert cmd[1:3] == ["-m", "odatis_vre.admin.kube_usage"]
    assert cmd[cmd.index("--namespace") + 1] == "ocean-vre" and cmd[cmd.index("--state-dir") + 1] == str(k8s.state_dir)
    local = config.from_dict({"profiles": k8s.raw["profiles"], "groups": k8s.raw["groups"]})
    assert "dask-usage" not in {s["name"] for s in hubconfig.services(local, {})}


def test_chart_lets_the_hub_read_dask_clusters(chart: Path) -> None:  # noqa: F811
    docs = render(chart, *SECRETS)
    role = by_kind(docs, "Role")["odatis-vre-usage"]
    assert role["rules"] == [
        {"apiGroups": ["gateway.dask.org"], "resources": ["daskclusters"], "verbs": ["get", "list", "watch"]}
    ]
    binding = by_kind(docs, "RoleBinding")["odatis-vre-usage"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "hub", "namespace": NAMESPACE}]
    # the hub's service account of zero-to-jupyterhub, which runs the recorder
    assert by_kind(docs, "Deployment")["hub"]["spec"]["template"]["spec"]["serviceAccountName"] == "hub"
