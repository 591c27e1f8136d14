"""Workshop archives in Kubernetes mode: the Job that `odatis-vre workshop archive-job` prints, validated against
the Kubernetes schema, and run (its pod, from the built ocean image, by the tests' kubelet) on home volumes."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner
from kube_testing import Kubelet, PodNetwork, run, wait_for
from test_helm import K8S_VERSION, SECRETS, by_kind, chart, render  # noqa: F401 (chart: fixture)

from odatis_vre.cli import main

USERS = ["ocean101-01", "ocean101-02", "ocean101-03"]


def _job(image: str = "ghcr.io/odatis/vre-ocean:2026.11.24") -> dict:
    out = CliRunner().invoke(
        main, ["workshop", "archive-job", "ocean101", "--image", image, *[a for u in USERS for a in ("--user", u)]]
    )
    assert out.exit_code == 0, out.output
    return yaml.safe_load(out.output)


def test_archive_job_is_a_valid_job_on_the_home_volumes(chart: Path) -> None:  # noqa: F811
    job = _job()
    kubernetes_validate.validate(job, K8S_VERSION, strict=True)
    spec = job["spec"]["template"]["spec"]
    claims = {v["name"]: v["persistentVolumeClaim"] for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
    for u in USERS:  # KubeSpawner's claim of each user, read-only
        m = mounts[f"/homes/{u}"]
        assert m["readOnly"] and claims[m["name"]] == {"claimName": f"claim-{u}", "readOnly": True}
    assert claims[mounts["/archives"]["name"]] == {"claimName": "odatis-vre-archives"}
    assert spec["securityContext"]["runAsNonRoot"] and spec["automountServiceAccountToken"] is False
    # the chart makes the archives' volume, kept when the release goes
    pvc = by_kind(render(chart, *SECRETS), "PersistentVolumeClaim")["odatis-vre-archives"]
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


@pytest.mark.parametrize(
    "args,message",
    [
        (["Bad_Name", "--image", "i", "--user", "a"], "is not a workshop name"),
        (["ocean101", "--image", "i", "--user", "not a user!"], "not a user name"),
    ],
)
def test_archive_job_refuses_bad_input(args: list[str], message: str) -> None:
    out = CliRunner().invoke(main, ["workshop", "archive-job", *args])
    assert out.exit_code != 0 and message in out.output


@pytest.mark.slow
def test_archive_job_runs_from_the_ocean_image(built_images: dict[str, str], tmp_path: Path) -> None:
    job = _job(built_images["ocean"])
    net = PodNetwork()
    kubelet = Kubelet(net, tmp_path, "odatis")
    try:
        homes = {}
        for u in USERS[:2]:
            home = kubelet.claim(f"claim-{u}")
            (home / "work").mkdir()
            (home / "work" / "analysis.ipynb").write_text(json.dumps({"user": u}))
            (home / ".cache").mkdir()
            (home / ".cache" / "junk").write_text("x")  # caches are left out
            for p in [home, *home.rglob("*")]:
                os.chown(p, 1000, 100)
            homes[u] = home
        kubelet.claim(f"claim-{USERS[2]}")  # never started: an empty home
        kubelet.claim("odatis-vre-archives")
        kubelet.run_pod("archive", job["spec"]["template"]["spec"])
        wait_for("the archive Job to finish", lambda: not kubelet.running("archive"), 300)
        logs = kubelet.logs("archive")
        code = run("podman", "inspect", "-f", "{{.State.ExitCode}}", f"{net.bridge}-archive").stdout.strip()
        assert code == "0", logs
        archives = list(kubelet.claims["odatis-vre-archives"].glob("workshop-ocean101-*.tar.gz"))
        assert len(archives) == 1 and "nothing to keep for ocean101-03" in logs
        with tarfile.open(archives[0]) as tar:
            names = set(tar.getnames())
            manifest = json.loads(tar.extractfile("ocean101/MANIFEST.json").read())  # type: ignore[union-attr]
        assert {f"ocean101/{u}/work/analysis.ipynb" for u in USERS[:2]} <= names
        assert not [n for n in names if "/.cache/" in n]
        assert manifest["never_started"] == [USERS[2]]
        assert set(manifest["users"]) == set(USERS[:2])
        # the homes were only read
        assert all((h / "work" / "analysis.ipynb").exists() for h in homes.values())
    finally:
        kubelet.close()
        net.close()
