"""The curated images, built here by images/build.sh (podman, a debootstrap base, no registry pull), and the
tests that run inside them (images/<name>/tests, pangeo-docker-images style): pytest and its two helpers come
from a read-only folder made from tests/requirements.lock, so the images themselves hold no test package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_REGISTRY
from vre_testing import REPO, VRETestStack, start_stack

pytestmark = pytest.mark.slow

#: where pytest for the in-image tests is installed once per version (outside the checkout and the images)
CACHE = Path(os.environ.get("ODATIS_VRE_CACHE", "/var/cache/odatis-vre"))


def _pin(lock: Path, name: str) -> str:
    for line in lock.read_text().splitlines():
        if line.lower().startswith(name + "=="):
            return line.strip()
    raise AssertionError(f"{name} is not pinned in {lock}")


@pytest.fixture(scope="session")
def test_tools() -> Path:
    """pytest, pluggy and iniconfig at the locks' versions, in a folder the images mount read-only."""
    pins = [
        _pin(REPO / "tests" / "requirements.lock", "pytest"),
        _pin(REPO / "tests" / "requirements.lock", "iniconfig"),
        _pin(REPO / "images" / "ocean" / "requirements.lock", "pluggy"),
    ]
    dest = CACHE / ("pytest-" + "-".join(p.split("==")[1] for p in pins))
    if not (dest / ".complete").exists():
        tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(tmp), *pins],
            check=True,
            timeout=600,
        )
        (tmp / ".complete").touch()
        os.replace(tmp, dest) if not dest.exists() else None
    for p in [dest, *dest.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return dest


def podman_run(
    image: str, *args: str, mounts: dict[str, str] | None = None, env: dict[str, str] | None = None, timeout: int = 1800
) -> subprocess.CompletedProcess[str]:
    cmd = ["podman", "run", "--rm", "--network", "host"]
    for host, path in (mounts or {}).items():
        cmd += ["-v", f"{host}:{path}"]
    for k, v in (env or {}).items():
        cmd += ["--env", f"{k}={v}"]
    return subprocess.run([*cmd, image, *args], capture_output=True, text=True, timeout=timeout)


def test_images_are_built_from_their_locks(built_images: dict[str, str]) -> None:
    for name, image in built_images.items():
        info = json.loads(
            subprocess.run(["podman", "image", "inspect", image], capture_output=True, text=True, check=True).stdout
        )[0]
        assert info["Config"]["User"] == "1000", name
        assert image.startswith(TEST_REGISTRY)
        # each image keeps its lock and a readable list of what it holds
        lock = podman_run(image, "cat", f"/opt/odatis-vre/{name}.lock")
        assert lock.returncode == 0 and lock.stdout == (REPO / "images" / name / "requirements.lock").read_text()
    packages = podman_run(built_images["hub"], "cat", "/opt/odatis-vre/packages.txt").stdout
    assert "jupyterhub-kubespawner==" in packages and "pycurl==" in packages and "xarray" not in packages
    packages = podman_run(built_images["ocean"], "cat", "/opt/odatis-vre/packages.txt").stdout
    for test_only in ("pytest==", "playwright==", "kubernetes-validate==", "kmock=="):
        assert test_only not in packages
    assert "nbgitpuller==" in packages and "odatis-vre==" in packages


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> VRETestStack:
    """A local VRE with its repository, for notebook 05 in the image (reached over the host's loopback)."""
    stack = start_stack(
        tmp_path_factory.mktemp("img-vre"),
        {
            "services": {
                "dask_gateway": {"enabled": False},
                "idle_culler": {"enabled": False},
                "explorer": {"enabled": False},
                "repository": {"enabled": True, "registrar": "local"},
            }
        },
    )
    yield stack
    stack.stop()


def test_tests_inside_the_ocean_image(
    built_images: dict[str, str], test_tools: Path, sample_data: Path, repository: VRETestStack
) -> None:
    repository.create_user("imgauthor", "a-long-password-1")
    token = repository.user_token("imgauthor")
    out = podman_run(
        built_images["ocean"],
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-ra",
        "/srv/image-tests",
        mounts={
            str(REPO / "images" / "ocean" / "tests"): "/srv/image-tests:ro",
            str(test_tools): "/opt/test-tools:ro",
            str(sample_data): "/srv/odatis/catalog/data:ro",
        },
        env={
            "PYTHONPATH": "/opt/test-tools",
            "ODATIS_VRE_TEST_TOOLS": "/opt/test-tools",
            "JUPYTERHUB_API_TOKEN": token,
            "ODATIS_VRE_REPOSITORY_URL": f"{repository.url}/services/repository/",
            "ODATIS_VRE_CATALOG_INCLUDES": f"{repository.url}/services/repository/catalog.yaml",
            "ODATIS_VRE_DEPOSIT_DIR": "/tmp/deposits",
        },
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "failed" not in out.stdout


def test_tests_inside_the_hub_image(built_images: dict[str, str], test_tools: Path) -> None:
    example = REPO / "helm" / "odatis-vre" / "examples" / "vre.yaml"
    out = podman_run(
        built_images["hub"],
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-ra",
        "/srv/image-tests",
        mounts={
            str(REPO / "images" / "hub" / "tests"): "/srv/image-tests:ro",
            str(test_tools): "/opt/test-tools:ro",
            str(example): "/etc/odatis-vre/vre.yaml:ro",
        },
        env={"PYTHONPATH": "/opt/test-tools", "ODATIS_VRE_CONFIG": "/etc/odatis-vre/vre.yaml"},
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "3 passed" in out.stdout
