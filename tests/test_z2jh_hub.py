"""The hub as it will run in Kubernetes: zero-to-jupyterhub 4.3.3's own jupyterhub_config.py (from the real chart
archive) in our built hub image, reading the rendered ConfigMap and Secret mounted where the chart mounts them,
against an in-memory Kubernetes API (kmock, tests/kube_testing.py).

A user logs in through the OIDC stand-in; KubeSpawner creates their pod in the API; the test's kubelet runs that
pod from the built ocean image (podman, in a network namespace of its own) and marks it running with its address;
the hub reaches the server there, through the proxy. The user's Dask Gateway request goes to dask-gateway-server
(the chart's own configuration plus ours, in the hub image), whose backend creates the DaskCluster object;
dask-gateway's own controller (the chart's controller Deployment, same image) turns it into the scheduler's
objects; the kubelet runs the scheduler from the ocean image, it reports to the gateway, and a scale request
ends as worker pods made by the controller.

JupyterHub's version: the chart of z2jh 4.3.3 ships JupyterHub 5.4 in its own hub image; ours carries the
JupyterHub of the user environment's lock (6.1), the same as the local mode, the user images'
jupyterhub-singleuser and the workshops' sharing. The test checks that z2jh's configuration runs on it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from kube_testing import KubeAPI, Kubelet, PodNetwork, mark_running, port_open, publish_endpoints, run, wait_for
from standins.oidc import OIDCProvider
from test_helm import EXAMPLE_VRE, NAMESPACE, RELEASE, chart, helm, upstream_archives  # noqa: F401 (chart: fixture)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CHP = REPO / ".tools" / "node_modules" / ".bin" / "configurable-http-proxy"
SECRET = {
    "oauth-client-secret": "client-secret-xyz",
    "dask-gateway-api-token": "gw-" + "0" * 60,
    "explorer-api-token": "ex-" + "1" * 60,
    "repository-api-token": "re-" + "2" * 60,
}


def _render(chart: Path, vre: Path, images: dict[str, str]) -> list[dict[str, Any]]:  # noqa: F811 - the argument, not the fixture
    hub_name, hub_tag = images["hub"].rsplit(":", 1)
    ocean_name, ocean_tag = images["ocean"].rsplit(":", 1)
    out = helm(
        "template",
        RELEASE,
        str(chart),
        "-n",
        NAMESPACE,
        "--set-file",
        f"vreConfig={vre}",
        "--set",
        "secrets.existingSecret=odatis-vre-secrets",
        "--set",
        f"jupyterhub.hub.image.name={hub_name}",
        "--set",
        f"jupyterhub.hub.image.tag={hub_tag}",
        "--set",
        f"dask-gateway.gateway.image.name={hub_name}",
        "--set",
        f"dask-gateway.gateway.image.tag={hub_tag}",
        "--set",
        f"dask-gateway.controller.image.name={hub_name}",
        "--set",
        f"dask-gateway.controller.image.tag={hub_tag}",
        "--set",
        f"dask-gateway.gateway.backend.image.name={ocean_name}",
        "--set",
        f"dask-gateway.gateway.backend.image.tag={ocean_tag}",
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.fixture()
def cluster(tmp_path: Path, built_images: dict[str, str], chart: Path) -> Iterator[dict[str, Any]]:  # noqa: F811 - the fixture
    """The network, the API server, the identity provider and a kubelet, torn down afterwards."""
    net = PodNetwork()
    api = idp = kubelet = None
    try:
        api = KubeAPI(net.host_ip)
        idp = OIDCProvider("odatis-vre", SECRET["oauth-client-secret"], host=net.host_ip)
        kubelet = Kubelet(net, tmp_path, NAMESPACE, secrets_={"odatis-vre-secrets": SECRET})
        yield {
            "net": net,
            "api": api,
            "idp": idp,
            "kubelet": kubelet,
            "tmp": tmp_path,
            "images": built_images,
            "chart": chart,
            "procs": [],
        }
    finally:
        if kubelet is not None:
            kubelet.close()
        if idp is not None:
            idp.close()
        if api is not None:
            api.close()
        net.close()


def _vre_yaml(tmp: Path, idp: OIDCProvider, images: dict[str, str]) -> Path:
    raw = yaml.safe_load(EXAMPLE_VRE.read_text())
    raw["auth"]["oauth"].update(
        {
            "authorize_url": f"{idp.url}/authorize",
            "token_url": f"{idp.url}/token",
            "userdata_url": f"{idp.url}/userinfo",
        }
    )
    for p in raw["profiles"]:
        p["image"] = images["ocean"]
    path = tmp / "vre.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_hub_in_z2jh_spawns_a_server_from_the_ocean_image_and_a_dask_cluster(
    cluster: dict[str, Any], sample_data: Path
) -> None:
    net, api, idp, kubelet, tmp = cluster["net"], cluster["api"], cluster["idp"], cluster["kubelet"], cluster["tmp"]
    images = cluster["images"]
    vre = _vre_yaml(tmp, idp, images)
    docs = _render(cluster["chart"], vre, images)
    kubelet.add_objects(docs)
    hub_dep = _named(docs, "Deployment", "hub")
    hub_spec = hub_dep["spec"]["template"]["spec"]
    # zero-to-jupyterhub's own configuration files, from the chart archive, are what the ConfigMap carries
    import tarfile

    with tarfile.open(upstream_archives()["jupyterhub"]) as tar:
        z2jh_config = tar.extractfile("jupyterhub/files/hub/jupyterhub_config.py").read().decode()  # type: ignore[union-attr]
    assert kubelet.configmaps["hub"]["jupyterhub_config.py"] == z2jh_config
    mounts = {m["mountPath"]: m for m in hub_spec["containers"][0]["volumeMounts"]}
    assert mounts["/usr/local/etc/jupyterhub/jupyterhub_config.py"]["subPath"] == "jupyterhub_config.py"
    assert mounts["/usr/local/etc/jupyterhub/secret/"]["name"] == "secret"
    assert mounts["/etc/odatis-vre"]["name"] == "odatis-vre-config"
    assert hub_spec["containers"][0]["image"] == images["hub"]

    # Services and their pods' addresses (the cluster DNS of the kubelet)
    for svc in (d for d in docs if d["kind"] == "Service"):
        name = svc["metadata"]["name"]
        pod = {
            "hub": "hub",
            "proxy-api": "proxy",
            "proxy-public": "proxy",
            "api-odatis-vre-dask-gateway": "gateway-api",
        }.get(name)
        if pod:
            kubelet.add_service(
                name, kubelet.address(pod), {p.get("name", ""): p["port"] for p in svc["spec"]["ports"]}
            )

    # the proxy pod: configurable-http-proxy (z2jh's proxy image) with the rendered command, in its namespace
    proxy_dep = _named(docs, "Deployment", "proxy")
    proxy_cmd = [
        a.replace("$(HUB_SERVICE_PORT)", kubelet.service_env()["HUB_SERVICE_PORT"])
        for a in proxy_dep["spec"]["template"]["spec"]["containers"][0]["command"]
    ]
    assert proxy_cmd[0] == "configurable-http-proxy"
    net.hosts_file("proxy", kubelet.dns())  # the hub registers its routes as http://hub:8081
    proxy_env = {
        "CONFIGPROXY_AUTH_TOKEN": kubelet.secrets["hub"]["hub.config.ConfigurableHTTPProxy.auth_token"],
        "PATH": os.environ["PATH"],
    }
    proxy = subprocess.Popen(
        ["ip", "netns", "exec", Path(net.pods["proxy"]).name, str(CHP), *proxy_cmd[1:]],
        env=proxy_env,
        stdout=open(tmp / "proxy.log", "w"),
        stderr=subprocess.STDOUT,
    )
    cluster["procs"].append(proxy)
    proxy_url = f"http://{kubelet.address('proxy')}:8000"
    try:
        # the hub pod: our hub image, z2jh's command and mounts, the API server's credentials
        kubeconfig = api.kubeconfig(tmp / "kubeconfig", NAMESPACE)
        os.chmod(kubeconfig, 0o644)
        kubelet.claim("hub-db-dir")
        kubelet.run_pod(
            "hub",
            hub_spec,
            env={"KUBECONFIG": "/var/run/kube/config"},
            mounts={str(kubeconfig): "/var/run/kube/config"},
        )
        hub_ip = kubelet.address("hub")
        wait_for("the hub's API", lambda: _ok(f"http://{hub_ip}:8081/hub/api") or _dead(kubelet, "hub"), 180)
        assert kubelet.running("hub"), kubelet.logs("hub")[-3000:]
        info = requests.get(f"http://{hub_ip}:8081/hub/api", timeout=10).json()
        # the decision: our JupyterHub (the lock's 6.1), not the 5.4 of z2jh's own hub image
        lock = (REPO / "images" / "hub" / "requirements.lock").read_text()
        assert f"jupyterhub=={info['version']}" in lock and info["version"].startswith("6.1"), info
        logs = kubelet.logs("hub")
        assert (
            "Loading extra config: zz-odatis-vre" in logs
            and "Loading /usr/local/etc/jupyterhub/secret/values.yaml" in logs
        )
        wait_for("the proxy to route /hub/", lambda: _ok(f"{proxy_url}/hub/api"), 60)

        # a user logs in through the identity provider, through the proxy
        idp.next_user = {"preferred_username": "alice"}
        s = requests.Session()
        r = s.get(f"{proxy_url}/hub/oauth_login", timeout=60)
        assert r.status_code == 200 and "/hub/" in r.url and "login" not in r.url, (r.status_code, r.url)
        xsrf = s.cookies.get("_xsrf", path="/hub/")
        r = s.post(
            f"{proxy_url}/hub/api/users/alice/tokens",
            json={"note": "test"},
            headers={"X-XSRFToken": xsrf or ""},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        auth = {"Authorization": f"token {token}"}
        r = requests.post(
            f"{proxy_url}/hub/api/users/alice/server", json={"profile": "ocean"}, headers=auth, timeout=60
        )
        assert r.status_code in (201, 202), r.text

        # KubeSpawner created the home claim and the pod in the API server, from vre.yaml's profile
        pod = wait_for(
            "alice's pod",
            lambda: next(
                (p for p in api.objects("v1/pods", NAMESPACE) if p["metadata"]["name"] == "jupyter-alice"), None
            ),
            120,
        )
        pvcs = {p["metadata"]["name"]: p for p in api.objects("v1/persistentvolumeclaims", NAMESPACE)}
        assert pvcs["claim-alice"]["spec"]["resources"]["requests"]["storage"] == "10Gi"  # group default's quota
        spec = pod["spec"]
        container = spec["containers"][0]
        assert container["image"] == images["ocean"]
        assert container["resources"]["limits"]["cpu"] in ("2", 2, 2.0)
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["ODATIS_VRE_PROFILE"] == "ocean" and env["ODATIS_VRE_CATALOG"] == "/srv/odatis/catalog/odatis.yaml"
        assert env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"
        assert [c["name"] for c in spec.get("initContainers", [])] == ["block-cloud-metadata"]

        # the kubelet runs it: the ocean image, the pod's own command and environment, its volumes
        kubelet.claim("odatis-vre-data", sample_data)
        ip = kubelet.run_pod("jupyter-alice", spec)
        wait_for("alice's server to listen", lambda: port_open(ip, 8888) or _dead(kubelet, "jupyter-alice"), 120)
        assert kubelet.running("jupyter-alice"), kubelet.logs("jupyter-alice")[-3000:]
        mark_running(api, NAMESPACE, "jupyter-alice", ip)
        try:
            ready = wait_for("the hub to see alice's server ready", lambda: _ready(proxy_url, auth), 120)
        except AssertionError as exc:
            (tmp / "hub.log").write_text(kubelet.logs("hub"))
            raise AssertionError(
                f"{exc} (the hub's log: {tmp / 'hub.log'})\nserver:\n{kubelet.logs('jupyter-alice')[-3000:]}"
            ) from None
        assert ready["url"] == "/user/alice/"
        # through the proxy, to the server in the pod, with alice's token
        r = requests.get(f"{proxy_url}/user/alice/api/status", headers=auth, timeout=30)
        assert r.status_code == 200, r.text
        r = requests.get(f"{proxy_url}/user/alice/api/contents/", headers=auth, timeout=30)
        assert r.status_code == 200
        # the server runs as jovyan with the pod's environment
        out = run(
            "podman",
            "exec",
            f"{net.bridge}-jupyter-alice",
            "python",
            "-c",
            "import os, odatis_vre; print(os.getuid(), os.environ['ODATIS_VRE_MODE'])",
        ).stdout.split()
        assert out == ["1000", "kubernetes"]

        _dask_gateway(cluster, docs, token)
    finally:
        proxy.terminate()
        proxy.wait(30)


def _dask_gateway(cluster: dict[str, Any], docs: list[dict[str, Any]], token: str) -> None:
    """The user's cluster request → DaskCluster → dask-gateway's controller → scheduler and worker objects."""
    api, kubelet, tmp = cluster["api"], cluster["kubelet"], cluster["tmp"]
    kubeconfig = tmp / "kubeconfig"
    for name, pod in (
        ("api-odatis-vre-dask-gateway", "gateway-api"),
        ("controller-odatis-vre-dask-gateway", "gateway-controller"),
    ):
        spec = _named(docs, "Deployment", name)["spec"]["template"]["spec"]
        kubelet.run_pod(
            pod, spec, env={"KUBECONFIG": "/var/run/kube/config"}, mounts={str(kubeconfig): "/var/run/kube/config"}
        )
    gw = f"http://{kubelet.address('gateway-api')}:8000"
    wait_for("the gateway's API", lambda: _ok(f"{gw}/api/health") or _dead(kubelet, "gateway-api"), 120)
    assert kubelet.running("gateway-api"), kubelet.logs("gateway-api")[-3000:]
    auth = {"Authorization": f"jupyterhub {token}"}
    r = requests.post(
        f"{gw}/api/v1/clusters/",
        json={"cluster_options": {"worker_cores": 1, "worker_memory": 1.0}},
        headers=auth,
        timeout=60,
    )
    assert r.status_code == 201, r.text
    name = r.json()["name"]
    # the backend made the DaskCluster object, with the quota and the idle timeout of vre.yaml
    dc = wait_for(
        "the DaskCluster object",
        lambda: next(
            (
                o
                for o in api.objects("gateway.dask.org/v1alpha1/daskclusters", NAMESPACE)
                if f"{NAMESPACE}.{o['metadata']['name']}" == name
            ),
            None,
        ),
        60,
    )
    conf = dc["spec"]["config"]
    assert conf["idle_timeout"] == 1800 and conf["cluster_max_workers"] == 4 and conf["worker_cores"] == 1
    # the controller made the scheduler's pod (and its credentials); the kubelet runs it from the ocean image
    sched = _wait_logged(
        kubelet,
        "the scheduler pod",
        lambda: (
            next((p for p in api.objects("v1/pods", NAMESPACE, "app.kubernetes.io/component=dask-scheduler")), None)
            or _dead(kubelet, "gateway-controller")
        ),
        120,
        "gateway-controller",
        "gateway-api",
    )
    assert kubelet.running("gateway-controller"), kubelet.logs("gateway-controller")[-3000:]
    assert sched["spec"]["containers"][0]["image"] == cluster["images"]["ocean"]
    kubelet.add_objects(api.objects("v1/secrets", NAMESPACE))
    sname = sched["metadata"]["name"]
    sip = kubelet.address(sname)
    kubelet.run_pod(sname, sched["spec"])
    wait_for("the scheduler to listen", lambda: port_open(sip, 8786) or _dead(kubelet, sname), 120)
    mark_running(api, NAMESPACE, sname, sip)
    # the controller makes the scheduler's Service once the pod runs; the endpoints controller and the cluster
    # DNS (here the kubelet) make it reachable: the gateway's API talks to the scheduler by that name
    services = _wait_logged(
        kubelet,
        "the scheduler's Service",
        lambda: api.objects("v1/services", NAMESPACE, f"gateway.dask.org/cluster={dc['metadata']['name']}"),
        60,
        "gateway-controller",
    )
    for svc in services:
        kubelet.add_service(svc["metadata"]["name"], sip, {p.get("name", ""): p["port"] for p in svc["spec"]["ports"]})
        run(
            "podman",
            "exec",
            "-u",
            "0",
            f"{cluster['net'].bridge}-gateway-api",
            "sh",
            "-c",
            f"echo '{sip} {svc['metadata']['name']}.{NAMESPACE} {svc['metadata']['name']}' >> /etc/hosts",
        )
        publish_endpoints(api, NAMESPACE, svc, sip)
    r = _wait_logged(
        kubelet,
        "the cluster to run",
        lambda: _cluster_running(gw, name, auth),
        120,
        "gateway-controller",
        "gateway-api",
        sname,
    )
    # a scale request: the scheduler's heartbeat sets the replicas, the controller makes the workers
    r = requests.post(f"{gw}/api/v1/clusters/{name}/scale", json={"count": 2}, headers=auth, timeout=60)
    assert r.status_code == 200 and r.json()["ok"], (
        r.text,
        *(f"--- {p}:\n{kubelet.logs(p)[-2500:]}" for p in ("gateway-api", "gateway-controller", sname)),
    )
    workers = _wait_logged(
        kubelet,
        "two worker pods",
        lambda: (lambda ws: ws if len(ws) == 2 else None)(
            api.objects("v1/pods", NAMESPACE, "app.kubernetes.io/component=dask-worker")
        ),
        120,
        "gateway-controller",
        "gateway-api",
        sname,
    )
    for w in workers:
        c = w["spec"]["containers"][0]
        assert c["image"] == cluster["images"]["ocean"]
        assert w["metadata"]["labels"]["gateway.dask.org/cluster"] == dc["metadata"]["name"]
        assert int(c["resources"]["limits"]["memory"]) == 1024**3
        mounts = {m["name"]: m for m in c["volumeMounts"]}
        assert mounts["odatis-data"]["readOnly"] is True
    requests.delete(f"{gw}/api/v1/clusters/{name}", headers=auth, timeout=60)
    wait_for(
        "the cluster to stop",
        lambda: next(
            (
                o
                for o in api.objects("gateway.dask.org/v1alpha1/daskclusters", NAMESPACE)
                if f"{NAMESPACE}.{o['metadata']['name']}" == name and o["spec"].get("active") is False
            ),
            None,
        ),
        60,
    )


def _wait_logged(kubelet: Kubelet, what: str, check: Any, timeout: float, *pods: str) -> Any:
    """:func:`wait_for`, failing with the end of ``pods``' logs."""
    try:
        return wait_for(what, check, timeout)
    except AssertionError as exc:
        logs = "\n".join(f"--- {p}:\n{kubelet.logs(p)[-2500:]}" for p in pods)
        raise AssertionError(f"{exc}\n{logs}") from None


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _dead(kubelet: Kubelet, pod: str) -> bool:
    """True when the pod's container exited (the wait ends at once; the assertion after it shows the logs)."""
    return not kubelet.running(pod)


def _ready(proxy_url: str, auth: dict[str, str]) -> dict[str, Any] | None:
    r = requests.get(f"{proxy_url}/hub/api/users/alice", headers=auth, timeout=30)
    server = (r.json().get("servers") or {}).get("") if r.status_code == 200 else None
    return server if server and server.get("ready") else None


def _cluster_running(gw: str, name: str, auth: dict[str, str]) -> dict[str, Any] | None:
    r = requests.get(f"{gw}/api/v1/clusters/{name}", headers=auth, timeout=30)
    return r.json() if r.status_code == 200 and r.json().get("status") == "RUNNING" else None
