"""The repository service with the ``zenodo`` registrar, behind a real hub, against the Zenodo stand-in (issues 5, 15).

Same stack as tests/test_repository.py, but ``services.repository.registrar: zenodo`` with
``zenodo_url`` pointing at ``tests/standins/zenodo.py`` — Zenodo's InvenioRDM records API (``/api/records``,
drafts, ``/versions``); the hub hands ``ZENODO_TOKEN`` to the service only (odatis_vre.hub.hubconfig.REGISTRAR_ENV).
"""

from __future__ import annotations

import hashlib
import re
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
    stack = start_repository_stack(
        folder, {"registrar": "zenodo", "zenodo_url": url, "registrar_timeout": 5}, {"ZENODO_TOKEN": TOKEN}
    )
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


def _recs(env: Env, ds_id: str, n: int) -> list[dict[str, Any]]:
    """The stand-in's records for version ``n`` of ``ds_id`` (the service's key is ``<id>.v<n>``, written in a
    note), as ``record_of`` shows them: ``draft``/``record`` bodies, ``draft_files``/``files``, ``parent``."""
    marker = f"odatis-vre deposit key: {ds_id}.v{n}"
    z = env.zenodo  # type: ignore[attr-defined]
    with z.lock:
        ids = list(z.records)
    out = []
    for rid in ids:
        rec = z.record_of(rid)
        body = rec["draft"] or rec["record"]
        if marker in [d["description"] for d in body["metadata"].get("additional_descriptions") or []]:
            out.append(rec)
    return out


def _rec(env: Env, ds_id: str, n: int) -> dict[str, Any]:
    recs = _recs(env, ds_id, n)
    assert len(recs) == 1, f"{len(recs)} Zenodo records for {ds_id}.v{n}"
    return recs[0]


def _log(env: Env, method: str, pattern: str, statuses: tuple[Any, ...]) -> list[tuple[str, str, Any]]:
    with env.zenodo.lock:  # type: ignore[attr-defined]
        return [
            r
            for r in env.zenodo.requests  # type: ignore[attr-defined]
            if r[0] == method and re.search(pattern, r[1]) and r[2] in statuses
        ]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_deposit_reserves_then_publishes_on_zenodo(env: Env, tmp_path: Path) -> None:
    v = _deposit(env)
    assert v["registrar"] == "zenodo" and v["state"] == "draft"
    draft = _rec(env, v["id"], 1)
    # the DOI is the one Zenodo reserved for the (still unpublished) draft record
    assert v["doi"] == draft["draft"]["pids"]["doi"]["identifier"] == f"10.5072/zenodo.{draft['id']}"
    assert draft["record"] is None and draft["draft_files"] == {}
    nc = make_nc(tmp_path / "sst_zenodo.nc")
    readme = tmp_path / "README.txt"
    readme.write_text("Synthetic SST, deposited by the test suite.\n")
    c = env.client("alice")
    for f in (nc, readme):
        assert c.upload(v["id"], 1, f, progress=False)["complete"]
    pub = c.publish(v["id"], 1)
    assert (pub["state"], pub["doi"]) == ("published", v["doi"])

    rec = _rec(env, v["id"], 1)
    assert rec["id"] == draft["id"] and rec["draft"] is None
    assert rec["record"]["pids"]["doi"]["identifier"] == v["doi"]
    assert {k: (f["size"], f["md5"]) for k, f in rec["files"].items()} == {
        p.name: (p.stat().st_size, md5(p)) for p in (nc, readme)
    }
    m = rec["record"]["metadata"]
    assert m["title"] == META["title"] and m["rights"] == [{"id": META["licence"].lower()}]
    assert m["resource_type"] == {"id": "dataset"} and m["version"] == "1"
    assert rec["record"]["access"] == {"record": "public", "files": "public"}
    assert m["creators"] == [
        {
            "person_or_org": {
                "type": "personal",
                "family_name": "Carberry",
                "given_name": "Josiah",
                "identifiers": [{"scheme": "orcid", "identifier": "0000-0002-1825-0097"}],
            },
            "affiliations": [{"name": "Ifremer"}],
        }
    ]
    assert {"identifier": pub["landing_url"], "scheme": "url", "relation_type": {"id": "isidenticalto"}} in m[
        "related_identifiers"
    ]
    # facts computed from the data reach Zenodo too: the period collected and the box
    assert (
        m["dates"][0]["type"] == {"id": "collected"} and m["locations"]["features"][0]["geometry"]["type"] == "Polygon"
    )
    # the concept DOI is Zenodo's (the parent record's), and the service's record says so
    assert pub["concept_doi"] == rec["parent"]["doi"] == f"10.5072/zenodo.{rec['parent']['id']}"
    # publishing again is a no-op: one publish action on Zenodo, same DOI
    assert c.publish(v["id"], 1)["doi"] == v["doi"]
    assert len(_log(env, "POST", rf"/records/{rec['id']}/draft/actions/publish$", (202, 400, 404))) == 1
    # the service's landing page and DataCite export carry Zenodo's DOIs; the files are served as sent
    page = env.get(f"datasets/{v['id']}/v1/")
    assert page.status_code == 200 and v["doi"] in page.text
    exported = env.get(f"datasets/{v['id']}/v1/datacite.json").json()
    assert exported["doi"] == v["doi"]
    assert {
        "relatedIdentifier": pub["concept_doi"],
        "relatedIdentifierType": "DOI",
        "relationType": "IsVersionOf",
    } in exported["relatedIdentifiers"]
    assert env.get(f"datasets/{v['id']}/v1/files/{nc.name}").content == nc.read_bytes()


@pytest.mark.slow
def test_new_version_is_a_zenodo_version_and_leaves_v1_alone(env: Env, tmp_path: Path) -> None:
    c = env.client("alice")
    v1 = _deposit(env)
    a = make_nc(tmp_path / "a.nc", days=2)
    md5_a = md5(a)  # a.nc is rewritten for v2 below
    c.upload(v1["id"], 1, a, progress=False)
    p1 = c.publish(v1["id"], 1)
    rec1 = _rec(env, v1["id"], 1)
    before = (
        env.get(f"datasets/{v1['id']}/v1/files/a.nc").content,
        env.get(f"datasets/{v1['id']}/v1/datacite.json").json(),
        rec1["record"],
    )
    r = env.post(
        f"api/deposits/{v1['id']}/versions",
        "alice",
        json={"metadata": META | {"title": META["title"] + " v2"}, "key": f"v2-{v1['id']}"},
    )
    assert r.status_code == 201, r.text
    v2 = r.json()
    # Zenodo's own versioning: POST /api/records/{v1}/versions, a new draft in the same parent, its own DOI
    rec2 = _rec(env, v1["id"], 2)
    assert len(_log(env, "POST", rf"/records/{rec1['id']}/versions$", (201,))) == 1
    assert rec2["parent"]["id"] == rec1["parent"]["id"] and rec2["index"] == 2 and rec2["id"] != rec1["id"]
    assert v2["version"] == 2 and v2["doi"] == rec2["draft"]["pids"]["doi"]["identifier"] != p1["doi"]
    b = make_nc(tmp_path / "a.nc", days=4)  # same file name, other content
    assert c.upload(v1["id"], 2, b, progress=False)["complete"]
    p2 = c.publish(v1["id"], 2)
    assert (p2["state"], p2["doi"]) == ("published", v2["doi"])
    rec2 = _rec(env, v1["id"], 2)
    m2 = rec2["record"]["metadata"]
    assert m2["version"] == "2" and m2["title"] == META["title"] + " v2"
    assert {"identifier": p1["doi"], "scheme": "doi", "relation_type": {"id": "isnewversionof"}} in m2[
        "related_identifiers"
    ]
    assert [(k, f["md5"]) for k, f in rec2["files"].items()] == [("a.nc", md5(b))] != [("a.nc", md5_a)]
    # one concept DOI over both versions: Zenodo's parent, listing v1 and v2
    assert p1["concept_doi"] == p2["concept_doi"] == rec2["parent"]["doi"]
    assert rec2["parent"]["versions"] == [rec1["id"], rec2["id"]]
    page = env.get(f"datasets/{v1['id']}/")
    assert (
        page.status_code == 200 and p2["concept_doi"] in page.text and p1["doi"] in page.text and p2["doi"] in page.text
    )
    # v1: the same record, DOI, files and metadata on Zenodo; the same bytes and record in the service
    rec1 = _rec(env, v1["id"], 1)
    assert [(k, f["md5"]) for k, f in rec1["files"].items()] == [("a.nc", md5_a)]
    after = (
        env.get(f"datasets/{v1['id']}/v1/files/a.nc").content,
        env.get(f"datasets/{v1['id']}/v1/datacite.json").json(),
        rec1["record"],
    )
    assert after == before and after[1]["doi"] == p1["doi"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "fault, where",
    [
        (500, "content"),  # the file's bytes never reach Zenodo
        (500, "publish"),  # the files are there, the publish action fails
        ("commit-then-drop", "publish"),  # Zenodo publishes, the answer is lost
    ],
)
def test_zenodo_failure_during_publish_then_retry_publishes_once(
    env: Env, tmp_path: Path, fault: Any, where: str
) -> None:
    nc = make_nc(tmp_path / "interrupted.nc")
    v = _deposit(env)
    env.client("alice").upload(v["id"], 1, nc, progress=False)
    rid = _rec(env, v["id"], 1)["id"]
    base = f"/records/{rid}/draft"
    path, method = (
        (f"{base}/files/{nc.name}/content", "PUT") if where == "content" else (f"{base}/actions/publish", "POST")
    )
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
        rec = _rec(env, v["id"], 1)
        assert rec["record"] is None  # nothing half-published on Zenodo either
        assert {k: f["status"] for k, f in rec["draft_files"].items()} == {
            nc.name: "pending" if where == "content" else "completed"
        }
        pub = env.client("alice").publish(v["id"], 1)  # the retry
    else:  # the registrar's own retry sees the record published and stops there
        assert r.status_code == 200, r.text
        pub = r.json()
    assert (pub["state"], pub["doi"]) == ("published", v["doi"])
    rec = _rec(env, v["id"], 1)  # still exactly one record for this version
    assert (rec["id"], rec["draft"], rec["record"]["pids"]["doi"]["identifier"]) == (rid, None, v["doi"])
    assert [(k, f["md5"]) for k, f in rec["files"].items()] == [(nc.name, md5(nc))]
    assert len(_log(env, "POST", rf"{base}/actions/publish$", (202, "dropped"))) == 1  # published once
    assert len(_log(env, "PUT", rf"{base}/files/{re.escape(nc.name)}/content$", (200,))) == 1  # stored once
    assert sum(1 for x in env.get("api/published").json() if x["doi"] == v["doi"]) == 1


@pytest.mark.slow
def test_no_publication_without_auth_or_by_another_user(env: Env, tmp_path: Path) -> None:
    n = len(env.zenodo.records)  # type: ignore[attr-defined]
    r = env.post("api/deposits", json={"metadata": META, "key": "anonymous"})
    assert r.status_code == 401 and len(env.zenodo.records) == n  # type: ignore[attr-defined]
    v = _deposit(env)
    env.client("alice").upload(v["id"], 1, make_nc(tmp_path / "mine.nc"), progress=False)
    assert env.post(f"api/deposits/{v['id']}/v1/publish").status_code == 401
    assert env.post(f"api/deposits/{v['id']}/v1/publish", "bob").status_code == 404
    rec = _rec(env, v["id"], 1)
    assert rec["record"] is None and rec["draft_files"] == {}
    assert not _log(env, "POST", rf"/records/{rec['id']}/draft/actions/publish$", (200, 202, 400, 404, "dropped"))
    assert env.get(f"api/deposits/{v['id']}/v1", "alice").json()["state"] == "draft"
