"""The repository service with its metadata in PostgreSQL (``services.repository.db_url``), behind a real hub.

The same service as tests/test_repository.py (local registrar), its tables in a throw-away PostgreSQL
server (tests/postgres.py) instead of SQLite: a deposit goes from draft to a published, served, versioned
dataset, and the rows are where they should be.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_repository import META, Env, make_nc, sha, start_repository_stack


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Env:
    folder = tmp_path_factory.mktemp("repo-pg-vre")
    stack = start_repository_stack(folder, {"registrar": "local", "db_url": postgres_url}, {})
    e = Env(stack, None, folder)
    for name in ("alice", "bob"):
        e.add_user(name)
    e.wait_up()
    yield e
    stack.stop()


@pytest.mark.slow
def test_deposit_publish_and_versions_with_postgresql(env: Env, tmp_path: Path, postgres_url: str) -> None:
    c = env.client("alice")
    r = env.post("api/deposits", "alice", json={"metadata": META, "key": f"pg-{time.monotonic_ns()}"})
    assert r.status_code == 201, r.text
    v = r.json()
    nc = make_nc(tmp_path / "sst_pg.nc")
    assert c.upload(v["id"], 1, nc, progress=False)["complete"]
    # a draft stays the owner's
    assert env.get(f"api/deposits/{v['id']}/v1", "bob").status_code == 404
    pub = c.publish(v["id"], 1)
    assert pub["state"] == "published" and pub["doi"] == v["doi"]
    assert env.get(f"datasets/{v['id']}/v1/files/{nc.name}").content == nc.read_bytes()
    r = env.post(f"api/deposits/{v['id']}/versions", "alice", json={"metadata": META, "key": f"pg2-{v['id']}"})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2

    # the rows are in PostgreSQL, and the service made no SQLite file beside the data
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT number, state, doi FROM versions WHERE dataset_id = %s ORDER BY number", (v["id"],)
        ).all()
        files = conn.exec_driver_sql(
            "SELECT name, size, sha256, complete FROM files WHERE dataset_id = %s", (v["id"],)
        ).all()
    engine.dispose()
    assert [(n, st) for n, st, _ in rows] == [(1, "published"), (2, "draft")] and rows[0][2] == v["doi"]
    assert files == [(nc.name, nc.stat().st_size, sha(nc.read_bytes()), True)]
    storage = env.folder / ".vre-services" / "repository"
    assert storage.is_dir() and not list(storage.rglob("*.sqlite"))
