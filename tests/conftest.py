from __future__ import annotations

import os
from pathlib import Path

import pytest
from vre_testing import REPO, VRETestStack, start_stack

# Tools installed by `make` (configurable-http-proxy, helm) are found first.
os.environ["PATH"] = os.pathsep.join(
    [str(REPO / ".tools" / "bin"), str(REPO / ".tools" / "node_modules" / ".bin"), os.environ.get("PATH", "")]
)
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

#: Test deployments run as root give every hub user a system account, which must be able to enter the
#: deployment's folder: the session's temporary folders live here (traversable, not listable), not in
#: pytest's /tmp/pytest-of-root (0700, and reset to 0700 by any other pytest run on the machine).
TEST_ROOT = Path("/tmp/odatis-vre-tests")


def _reap_stale_runs() -> None:
    """Folders and system accounts left by test runs that were killed."""
    import shutil

    from odatis_vre.users import sysusers

    for run in TEST_ROOT.glob("run-*"):
        try:
            pid = int(run.name.split("-")[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(run, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            pass
    for entry in sysusers.stale_accounts(TEST_ROOT):
        sysusers._delete(entry.pw_name, entry.pw_uid)


def pytest_configure(config: pytest.Config) -> None:
    if os.geteuid() != 0 or config.option.basetemp:
        return
    TEST_ROOT.mkdir(mode=0o711, exist_ok=True)
    os.chmod(TEST_ROOT, 0o711)
    _reap_stale_runs()
    config.option.basetemp = str(TEST_ROOT / f"run-{os.getpid()}")


@pytest.fixture(scope="session", autouse=True)
def _traversable_basetemp(tmp_path_factory: pytest.TempPathFactory) -> None:
    if os.geteuid() == 0:
        os.chmod(tmp_path_factory.getbasetemp(), 0o711)


@pytest.fixture(scope="session")
def sample_data() -> Path:
    """The offline sample datasets of the catalogue (generated once, reused)."""
    from odatis_vre.data import samples

    dest = REPO / "catalog" / "data"
    samples.make_all(dest, force=False, progress=False)
    return dest


@pytest.fixture(scope="session")
def vre_stack(tmp_path_factory: pytest.TempPathFactory) -> VRETestStack:
    """A real local VRE (hub, proxy, gateway, explorer, repository) shared by the session's tests."""
    stack = start_stack(tmp_path_factory.mktemp("vre"))
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL server for the session (kept until the end: tests/test_zz_fixity.py re-reads it)."""
    from postgres import Postgres

    pg = Postgres()
    url = pg.start()
    yield url
    pg.stop()


#: where the test session's images are tagged (images/build.sh REGISTRY), and their tag
TEST_REGISTRY, TEST_TAG = "localhost/odatis-vre-test", "test"


@pytest.fixture(scope="session")
def built_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The base, ocean and hub images built by images/build.sh (what `make images` runs), once per session.

    podman's layer cache and the caches under /var/cache/odatis-vre make a rebuild of unchanged sources quick;
    the build log is kept in the session's temporary folder and its end is shown when the build fails.
    """
    import subprocess
    import sys

    log = tmp_path_factory.mktemp("images") / "build.log"
    env = os.environ | {"IMAGES": "base ocean hub", "REGISTRY": TEST_REGISTRY, "PYTHON": sys.executable}
    with open(log, "w") as fh:
        out = subprocess.run(
            ["sh", str(REPO / "images" / "build.sh"), TEST_TAG],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=3600,
        )
    assert out.returncode == 0, f"images/build.sh failed ({log}):\n" + log.read_text()[-4000:]
    return {name: f"{TEST_REGISTRY}/vre-{name}:{TEST_TAG}" for name in ("base", "ocean", "hub")}
