from __future__ import annotations

import os
from pathlib import Path

import pytest

from vre_testing import REPO, VRETestStack, start_stack

# Tools installed by `make` (configurable-http-proxy, helm) are found first.
os.environ["PATH"] = os.pathsep.join([str(REPO / ".tools" / "bin"), str(REPO / ".tools" / "node_modules" / ".bin"),
                                      os.environ.get("PATH", "")])
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


@pytest.fixture(scope="session")
def sample_data() -> Path:
    """The offline sample datasets of the catalogue (generated once, reused)."""
    from odatis_vre import samples

    dest = REPO / "catalog" / "data"
    samples.make_all(dest, force=False, progress=False)
    return dest


@pytest.fixture(scope="session")
def vre_stack(tmp_path_factory: pytest.TempPathFactory) -> VRETestStack:
    """A real local VRE (hub, proxy, gateway, explorer, repository) shared by the session's tests."""
    stack = start_stack(tmp_path_factory.mktemp("vre"))
    yield stack
    stack.stack.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL server for the session (kept until the end: tests/test_zz_fixity.py re-reads it)."""
    from postgres import Postgres

    pg = Postgres()
    url = pg.start()
    yield url
    pg.stop()

