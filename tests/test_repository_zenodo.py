"""The repository service with the ``zenodo`` registrar, behind a real hub, against the Zenodo stand-in (issue 5).

Same stack as tests/test_repository.py, but ``services.repository.registrar: zenodo`` with
``zenodo_url`` pointing at ``tests/standins/zenodo.py``; the hub hands ``ZENODO_TOKEN`` to the
service only (odatis_vre.hubconfig.REGISTRAR_ENV).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from test_repository import META, Env, make_nc, start_repository_stack

TOKEN = "zenodo-stand-in-token"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    from standins import zenodo

    url, handle = zenodo.start(token=TOKEN)
    folder = tmp_path_factory.mktemp("repo-zenodo-vre")
    stack = start_repository_stack(folder, {"registrar": "zenodo", "zenodo_url": url, "registrar_timeout": 5},
                                   {"ZENODO_TOKEN": TOKEN})
    e = Env(stack, handle, folder)
    e.zenodo = handle  # type: ignore[attr-defined]
    for name in ("alice", "bob"):
        e.add_user(name)
    e.wait_up()
    yield e
    stack.stop()
    handle.stop()


def _deposit(env: Env, **extra: Any) -> dict[str, Any]:
    r = env.post("api/deposits", "alice", json={"metadata": META, "key": f"z-{time.monotonic_ns()}"} | extra)
    assert r.status_code == 201, r.text
    return r.json()


def _deps(env: Env, ds_id: str, n: int) -> list[dict[str, Any]]:
    """The stand-in's depositions for version ``n`` of ``ds_id`` (the service's key is ``<id>.v<n>``), as
    ``GET /deposit/depositions/<id>`` shows them (``files``: filename, filesize, md5 checksum)."""
    marker = f"odatis-vre deposit key: {ds_id}.v{n}"
    z = env.zenodo  # type: ignore[attr-defined]
    with z.lock:
        return [z._view(d) for d in z.state.values()
                if d["metadata"].get("notes") == marker or d["metadata"].get("notes", "").startswith(marker + ".")]


def _dep(env: Env, ds_id: str, n: int) -> dict[str, Any]:
    deps = _deps(env, ds_id, n)
    assert len(deps) == 1, f"{len(deps)} Zenodo depositions for {ds_id}.v{n}"
    return deps[0]


def _log(env: Env, method: str, suffix: str, statuses: tuple[Any, ...]) -> list[tuple[str, str, Any]]:
    with env.zenodo.lock:  # type: ignore[attr-defined]
        return [r for r in env.zenodo.requests  # type: ignore[attr-defined]
                if r[0] == method and r[1].endswith(suffix) and r[2] in statuses]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_deposit_reserves_then_publishes_on_zenodo(env: Env, tmp_path: Path) -> None:
    v = _deposit(env)
    assert v["registrar"] == "zenodo" and v["state"] == "draft"
    draft = _dep(env, v["id"], 1)
    # the DOI is the one Zenodo pre-reserved for the (still unpublished) deposition
    assert v["doi"] == draft["metadata"]["prereserve_doi"]["doi"] == f"10.5072/zenodo.{draft['record_id']}"
    assert (draft["state"], draft["submitted"], draft["files"]) == ("unsubmitted", False, [])
    nc = make_nc(tmp_path / "sst_zenodo.nc")
    readme = tmp_path / "README.txt"
    readme.write_text("Synthetic SST, deposited by the test suite.\n")
    c = env.client("alice")
    for f in (nc, readme):
        assert c.upload(v["id"], 1, f, progress=False)["complete"]
    pub = c.publish(v["id"], 1)
    assert (pub["state"], pub["doi"]) == ("published", v["doi"])

    dep = _dep(env, v["id"], 1)
    assert dep["id"] == draft["id"] and (dep["state"], dep["submitted"], dep["doi"]) == ("done", True, v["doi"])
    assert {f["filename"]: (f["filesize"], f["checksum"]) for f in dep["files"]} == {
        p.name: (p.stat().st_size, md5(p)) for p in (nc, readme)}
    zmd = dep["metadata"]
    assert zmd["title"] == META["title"] and zmd["license"] == META["licence"].lower()
    assert zmd["upload_type"] == "dataset" and zmd["access_right"] == "open" and zmd["version"] == "1"
    assert zmd["creators"] == [{"name": "Carberry, Josiah", "affiliation": "Ifremer", "orcid": "0000-0002-1825-0097"}]
    assert {"identifier": pub["landing_url"], "relation": "isIdenticalTo"} in zmd["related_identifiers"]
    # publishing again is a no-op: one publish action on Zenodo, same DOI
    assert c.publish(v["id"], 1)["doi"] == v["doi"]
    assert len(_log(env, "POST", f"/{dep['id']}/actions/publish", (202,))) == 1
    # the service's landing page and DataCite export carry Zenodo's DOI; the files are served as sent
    page = env.get(f"datasets/{v['id']}/v1/")
    assert page.status_code == 200 and v["doi"] in page.text
    assert env.get(f"datasets/{v['id']}/v1/datacite.json").json()["doi"] == v["doi"]
    assert env.get(f"datasets/{v['id']}/v1/files/{nc.name}").content == nc.read_bytes()


@pytest.mark.slow
def test_new_version_is_a_new_deposition_and_leaves_v1_alone(env: Env, tmp_path: Path) -> None:
    c = env.client("alice")
    v1 = _deposit(env)
    a = make_nc(tmp_path / "a.nc", days=2)
    md5_a = md5(a)  # a.nc is rewritten for v2 below
    c.upload(v1["id"], 1, a, progress=False)
    p1 = c.publish(v1["id"], 1)
    dep1 = _dep(env, v1["id"], 1)
    before = (env.get(f"datasets/{v1['id']}/v1/files/a.nc").content,
              env.get(f"datasets/{v1['id']}/v1/datacite.json").json())
    r = env.post(f"api/deposits/{v1['id']}/versions", "alice",
                 json={"metadata": META | {"title": META["title"] + " v2"}, "key": f"v2-{v1['id']}"})
    assert r.status_code == 201, r.text
    v2 = r.json()
    # the service makes a separate deposition with its own reserved DOI (not Zenodo's newversion action)
    draft2 = _dep(env, v1["id"], 2)
    assert v2["version"] == 2 and v2["doi"] != p1["doi"] and draft2["id"] != dep1["id"]
    assert v2["doi"] == draft2["metadata"]["prereserve_doi"]["doi"] and not draft2["submitted"]
    assert not _log(env, "POST", "/actions/newversion", (200, 201, 202))
    b = make_nc(tmp_path / "a.nc", days=4)  # same file name, other content
    assert c.upload(v1["id"], 2, b, progress=False)["complete"]
    p2 = c.publish(v1["id"], 2)
    assert (p2["state"], p2["doi"]) == ("published", v2["doi"])
    dep2 = _dep(env, v1["id"], 2)
    assert dep2["submitted"] and dep2["doi"] == v2["doi"] and dep2["metadata"]["version"] == "2"
    assert dep2["metadata"]["title"] == META["title"] + " v2"
    # not Zenodo's versioning, but the records are linked: v2 says it is a new version of v1's DOI
    assert {"identifier": p1["doi"], "relation": "isNewVersionOf"} in dep2["metadata"]["related_identifiers"]
    assert [(f["filename"], f["checksum"]) for f in dep2["files"]] == [("a.nc", md5(b))] != [("a.nc", md5_a)]
    # v1: the same deposition, DOI, files and metadata on Zenodo; the same bytes and record in the service
    assert _dep(env, v1["id"], 1) == dep1 and dep1["doi"] == p1["doi"]
    assert [(f["filename"], f["checksum"]) for f in dep1["files"]] == [("a.nc", md5_a)]
    after = (env.get(f"datasets/{v1['id']}/v1/files/a.nc").content,
             env.get(f"datasets/{v1['id']}/v1/datacite.json").json())
    assert after == before and after[1]["doi"] == p1["doi"]


@pytest.mark.slow
@pytest.mark.parametrize("fault, where", [
    (500, "bucket"),                      # the file upload to the bucket fails
    (500, "publish"),                     # the files are there, the publish action fails
    ("commit-then-drop", "publish"),      # Zenodo publishes, the answer is lost
])
def test_zenodo_failure_during_publish_then_retry_publishes_once(env: Env, tmp_path: Path, fault: Any,
                                                                 where: str) -> None:
    nc = make_nc(tmp_path / "interrupted.nc")
    v = _deposit(env)
    env.client("alice").upload(v["id"], 1, nc, progress=False)
    dep_id = _dep(env, v["id"], 1)["id"]
    bucket = f"/files/{_dep(env, v['id'], 1)['links']['bucket'].rsplit('/', 1)[-1]}/"
    path, method = (bucket, "PUT") if where == "bucket" else (f"/deposit/depositions/{dep_id}/actions/publish", "POST")
    # more failures than the registrar's own retries (3 attempts): the failure reaches the service's caller
    env.zenodo.fail_next(fault, path, method=method, times=5 if fault == 500 else 1)  # type: ignore[attr-defined]
    r = env.post(f"api/deposits/{v['id']}/v1/publish", "alice")
    env.zenodo.faults.clear()  # type: ignore[attr-defined]
    if fault == 500:
        body = r.json()
        assert r.status_code == 503 and body["retryable"] is True, r.text
        assert "Zenodo answered 500" in body["error"] and "Internal Server Error" in body["error"]
        assert "retry later" in body["error"]
        got = env.get(f"api/deposits/{v['id']}/v1", "alice").json()
        assert (got["state"], got["doi"]) == ("draft", v["doi"])
        assert env.get(f"datasets/{v['id']}/v1/").status_code == 404
        dep = _dep(env, v["id"], 1)
        assert not dep["submitted"] and dep["state"] == "unsubmitted"
        assert [f["filename"] for f in dep["files"]] == ([] if where == "bucket" else [nc.name])
        pub = env.client("alice").publish(v["id"], 1)  # the retry
    else:  # the registrar's own retry sees the deposition published and stops there
        assert r.status_code == 200, r.text
        pub = r.json()
    assert (pub["state"], pub["doi"]) == ("published", v["doi"])
    dep = _dep(env, v["id"], 1)  # still exactly one deposition for this version
    assert (dep["id"], dep["submitted"], dep["state"], dep["doi"]) == (dep_id, True, "done", v["doi"])
    assert [(f["filename"], f["checksum"]) for f in dep["files"]] == [(nc.name, md5(nc))]
    assert len(_log(env, "POST", f"/{dep_id}/actions/publish", (202, "dropped"))) == 1  # published once
    assert len(_log(env, "PUT", f"{bucket}{nc.name}", (201,))) == 1  # uploaded once
    assert sum(1 for x in env.get("api/published").json() if x["doi"] == v["doi"]) == 1


@pytest.mark.slow
def test_no_publication_without_auth_or_by_another_user(env: Env, tmp_path: Path) -> None:
    n = len(env.zenodo.state)  # type: ignore[attr-defined]
    r = env.post("api/deposits", json={"metadata": META, "key": "anonymous"})
    assert r.status_code == 401 and len(env.zenodo.state) == n  # type: ignore[attr-defined]
    v = _deposit(env)
    env.client("alice").upload(v["id"], 1, make_nc(tmp_path / "mine.nc"), progress=False)
    assert env.post(f"api/deposits/{v['id']}/v1/publish").status_code == 401
    assert env.post(f"api/deposits/{v['id']}/v1/publish", "bob").status_code == 404
    dep = _dep(env, v["id"], 1)
    assert not dep["submitted"] and dep["files"] == [] and not _log(env, "POST", f"/{dep['id']}/actions/publish",
                                                                    (200, 202, 400, "dropped"))
    assert env.get(f"api/deposits/{v['id']}/v1", "alice").json()["state"] == "draft"
