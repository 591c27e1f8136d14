"""DOI registrars (local, DataCite, Zenodo) against local stand-ins of the documented APIs.

The point of these tests: whatever goes wrong between us and the registrar (a 500, a timeout,
a connection dropped after the registrar committed), retrying gives exactly one DOI.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from standins import datacite as datacite_standin
from standins import zenodo as zenodo_standin

from odatis_vre.publishing import metadata, registrars
from odatis_vre.publishing.registrars import RegistrarError

LANDING = "https://vre.example.org/repository/datasets/sst-anomaly/v1"


@pytest.fixture
def md() -> dict:
    return metadata.load_metadata(
        {
            "title": "SST anomalies, Bay of Biscay",
            "creators": [
                {"name": "Carberry, Josiah", "orcid": "0000-0002-1825-0097", "affiliation": {"name": "Ifremer"}}
            ],
            "licence": "CC-BY-4.0",
            "keywords": ["SST"],
            "abstract": "Anomalies.",
            "publication_year": 2026,
            "related_publications": [{"doi": "10.5194/os-19-1-2023"}],
            "funding": [{"funder": "ANR", "award": "ANR-20-X"}],
        }
    )


@pytest.fixture
def draft_attrs(md: dict) -> dict:
    return metadata.datacite_attributes(md, doi=None, provenance=[{"name": "argo", "doi": "10.17882/42182"}])


@pytest.fixture
def dc():
    url, handle = datacite_standin.start()
    yield url, handle
    handle.stop()


@pytest.fixture
def zen():
    url, handle = zenodo_standin.start()
    yield url, handle
    handle.stop()


def _dc(url: str, **kw) -> registrars.Registrar:
    env = {"DATACITE_REPOSITORY_ID": "ODATIS.VRE", "DATACITE_PASSWORD": "datacite-test-password"}
    return registrars.get("datacite", prefix="10.5072", environ=env, base_url=url, **{"timeout": 2, "retries": 0, **kw})


def _zen(url: str, state_dir: Path | None, **kw) -> registrars.Registrar:
    return registrars.get(
        "zenodo",
        prefix="10.5072",
        environ={"ZENODO_TOKEN": "zenodo-test-token"},
        base_url=url,
        state_dir=state_dir,
        **{"timeout": 2, "retries": 0, **kw},
    )


@pytest.fixture
def data_files(tmp_path: Path) -> list[Path]:
    a = tmp_path / "files" / "sst_anomaly.nc"
    a.parent.mkdir()
    a.write_bytes(b"CDF\x01" + bytes(range(256)) * 4000)
    b = tmp_path / "files" / "README.txt"
    b.write_text("Anomalies of SST.\n")
    return [a, b]


# ----------------------------------------------------------------------------- local


def test_local_is_idempotent_and_not_registered(tmp_path: Path, md: dict, draft_attrs: dict) -> None:
    reg = registrars.get("local", prefix="10.80123", state_dir=tmp_path)
    assert isinstance(reg, registrars.Registrar) and reg.registered is False and reg.name == "local"
    doi = reg.reserve("sst-anomaly/v1", draft_attrs)
    assert doi.startswith("10.80123/odatis.") and reg.reserve("sst-anomaly/v1", draft_attrs) == doi
    assert reg.reserve("sst-anomaly/v2", draft_attrs) != doi
    # another process (a new instance on the same state) gives the same DOI
    again = registrars.get("local", prefix="10.80123", state_dir=tmp_path)
    assert again.reserve("sst-anomaly/v1", draft_attrs) == doi
    final = metadata.datacite_attributes(md, doi=doi, url=LANDING)
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, []) == doi
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, []) == doi
    state = json.loads((tmp_path / "local-dois.json").read_text())
    assert state[doi]["state"] == "published" and state[doi]["key"] == "sst-anomaly/v1"
    assert len(state) == 2 and not list(tmp_path.glob(".local-dois.json.*"))  # no temp file left behind
    assert again.status(doi) == "published"
    # the citation says it is not a real DOI
    assert "NOT REGISTERED" in metadata.citation(final) and "doi.org" not in metadata.citation(final)
    with pytest.raises(RegistrarError, match="was not reserved for key"):
        reg.publish("other/v1", doi, final, LANDING, [])


def test_local_refuses_invalid_metadata_and_prefix(tmp_path: Path, draft_attrs: dict) -> None:
    reg = registrars.get("local", prefix="10.5072", state_dir=tmp_path)
    bad = {k: v for k, v in draft_attrs.items() if k != "creators"}
    with pytest.raises(metadata.MetadataError, match="'creators' is a required property"):
        reg.reserve("k/v1", bad)
    assert not (tmp_path / "local-dois.json").exists()
    with pytest.raises(ValueError, match="DOI prefix 'doi:10.5072'"):
        registrars.get("local", prefix="doi:10.5072")
    with pytest.raises(ValueError, match="registrar 'crossref'"):
        registrars.get("crossref", prefix="10.5072")


# ----------------------------------------------------------------------------- DataCite


def test_datacite_draft_then_findable(dc, md: dict, draft_attrs: dict) -> None:
    url, h = dc
    reg = _dc(url)
    assert reg.registered is True
    doi = reg.reserve("sst-anomaly/v1", draft_attrs)
    assert doi == reg.doi_for("sst-anomaly/v1") and h.state[doi]["state"] == "draft"
    assert h.state[doi]["attributes"]["titles"] == [{"title": "SST anomalies, Bay of Biscay"}]
    assert reg.reserve("sst-anomaly/v1", draft_attrs) == doi and h.count("POST", "/dois") == 1
    final = metadata.datacite_attributes(
        md, doi=doi, url=LANDING, provenance=[{"name": "argo", "doi": "10.17882/42182"}]
    )
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, []) == doi
    rec = h.state[doi]
    assert rec["state"] == "findable" and rec["attributes"]["url"] == LANDING
    assert {
        "relatedIdentifier": "10.17882/42182",
        "relatedIdentifierType": "DOI",
        "relationType": "IsDerivedFrom",
    } in rec["attributes"]["relatedIdentifiers"]
    puts = h.count("PUT", "/dois/")
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, []) == doi  # no-op
    assert h.count("PUT", "/dois/") == puts and reg.status(doi) == "findable"
    assert len(h.state) == 1


def test_datacite_credentials(dc, draft_attrs: dict) -> None:
    url, h = dc
    with pytest.raises(RegistrarError, match="DATACITE_REPOSITORY_ID, DATACITE_PASSWORD") as exc:
        registrars.get("datacite", prefix="10.5072", environ={}, base_url=url)
    assert exc.value.retryable is False
    bad = registrars.get(
        "datacite",
        prefix="10.5072",
        base_url=url,
        retries=0,
        environ={"DATACITE_REPOSITORY_ID": "ODATIS.VRE", "DATACITE_PASSWORD": "wrong"},
    )
    with pytest.raises(RegistrarError, match="401.*check DATACITE_REPOSITORY_ID") as exc:
        bad.reserve("k/v1", draft_attrs)
    assert exc.value.retryable is False and h.state == {}
    other_prefix = registrars.get(
        "datacite",
        prefix="10.80123",
        base_url=url,
        retries=0,
        environ={"DATACITE_REPOSITORY_ID": "ODATIS.VRE", "DATACITE_PASSWORD": "datacite-test-password"},
    )
    with pytest.raises(RegistrarError, match="403.*owns prefix 10.80123"):
        other_prefix.reserve("k/v1", draft_attrs)


def test_datacite_metadata_is_validated_before_sending(dc, md: dict) -> None:
    url, h = dc
    attrs = metadata.datacite_attributes(md, doi=None)
    attrs["types"] = {"resourceTypeGeneral": "Spreadsheet"}
    with pytest.raises(metadata.MetadataError, match="types/resourceTypeGeneral: 'Spreadsheet' is not one of"):
        _dc(url).reserve("k/v1", attrs)
    assert h.requests == []


@pytest.mark.parametrize("fault", [500, "timeout", "commit-then-drop"])
def test_datacite_reserve_retry_gives_one_doi(dc, draft_attrs: dict, fault) -> None:
    url, h = dc
    reg = _dc(url, timeout=0.5)
    h.fail_next(fault, "/dois", method="POST", delay=2)
    with pytest.raises(RegistrarError) as exc:
        reg.reserve("sst-anomaly/v1", draft_attrs)
    assert exc.value.retryable is True
    assert len(h.state) == (1 if fault == "commit-then-drop" else 0)
    doi = reg.reserve("sst-anomaly/v1", draft_attrs)
    assert list(h.state) == [doi] and h.state[doi]["state"] == "draft"
    assert h.count("POST", "/dois") == (1 if fault == "commit-then-drop" else 2)


@pytest.mark.parametrize("fault", [503, "timeout", "commit-then-drop"])
def test_datacite_publish_retry_is_exactly_once(dc, md: dict, draft_attrs: dict, fault) -> None:
    url, h = dc
    reg = _dc(url, timeout=0.5)
    doi = reg.reserve("sst-anomaly/v1", draft_attrs)
    final = metadata.datacite_attributes(md, doi=doi, url=LANDING)
    h.fail_next(fault, "/dois/", method="PUT", delay=2)
    with pytest.raises(RegistrarError) as exc:
        reg.publish("sst-anomaly/v1", doi, final, LANDING, [])
    assert exc.value.retryable is True
    assert h.state[doi]["state"] == ("findable" if fault == "commit-then-drop" else "draft")
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, []) == doi
    assert h.state[doi]["state"] == "findable" and len(h.state) == 1
    assert h.state[doi]["history"].count("findable") == 1


def test_datacite_internal_retries_and_taken_race(dc, draft_attrs: dict) -> None:
    url, h = dc
    reg = _dc(url, retries=2, backoff=0.01)
    h.fail_next(502, "/dois", method="POST", times=2)
    doi = reg.reserve("a/v1", draft_attrs)  # third attempt succeeds inside one call
    assert list(h.state) == [doi] and h.count("POST", "/dois") == 3
    # another writer created the DOI between our GET and POST: 422 "already taken" → we look it up
    h.fail_next(404, f"/dois/{reg.doi_for('b/v1')}", method="GET")
    other = _dc(url)
    other.reserve("b/v1", draft_attrs)
    h.fail_next(404, f"/dois/{reg.doi_for('b/v1')}", method="GET")
    assert reg.reserve("b/v1", draft_attrs) == reg.doi_for("b/v1")
    assert len(h.state) == 2
    h.fail_next(500, "/dois", times=3)
    with pytest.raises(RegistrarError, match="answered 500.*retry later") as exc:
        reg.reserve("c/v1", draft_attrs)
    assert exc.value.retryable and len(h.state) == 2


def test_datacite_standin_checks_like_datacite(dc, md: dict) -> None:
    """The stand-in refuses what DataCite refuses (so our tests would catch a wrong request)."""
    import requests

    url, h = dc
    auth = ("ODATIS.VRE", "datacite-test-password")
    r = requests.post(
        f"{url}/dois",
        json={"data": {"type": "dois", "attributes": {"doi": "10.5072/x", "event": "publish"}}},
        auth=auth,
        timeout=5,
    )
    assert r.status_code == 422 and {e["source"] for e in r.json()["errors"]} >= {"url", "creators", "titles"}
    r = requests.post(
        f"{url}/dois", json={"data": {"type": "dois", "attributes": {"prefix": "10.5072"}}}, auth=auth, timeout=5
    )
    assert r.status_code == 201 and r.json()["data"]["attributes"]["state"] == "draft"
    draft = r.json()["data"]["id"]
    assert requests.get(f"{url}/dois/{draft}", timeout=5).status_code == 404  # drafts are private
    assert requests.delete(f"{url}/dois/{draft}", auth=auth, timeout=5).status_code == 204


# ----------------------------------------------------------------------------- Zenodo (InvenioRDM records API)


def _records(h) -> list[dict]:
    """Every record of the Zenodo stand-in, as ``record_of`` shows it."""
    with h.lock:
        ids = list(h.records)
    return [h.record_of(rid) for rid in ids]


def _notes(rec: dict) -> list[str]:
    body = rec["draft"] or rec["record"]
    return [
        d["description"] for d in body["metadata"].get("additional_descriptions") or [] if d["type"]["id"] == "notes"
    ]


def _requests(h, method: str, pattern: str, statuses: tuple) -> list[tuple]:
    import re

    with h.lock:
        return [r for r in h.requests if r[0] == method and re.search(pattern, r[1]) and r[2] in statuses]


def test_zenodo_deposit_publish(zen, tmp_path: Path, md: dict, draft_attrs: dict, data_files: list[Path]) -> None:
    url, h = zen
    reg = _zen(url, tmp_path / "state")
    doi = reg.reserve("sst-anomaly/v1", draft_attrs)
    (rec,) = _records(h)
    # a draft record (POST /api/records) whose DOI Zenodo reserved (POST .../draft/pids/doi)
    assert rec["record"] is None and doi == rec["draft"]["pids"]["doi"]["identifier"] == f"10.5072/zenodo.{rec['id']}"
    assert _notes(rec) == ["odatis-vre deposit key: sst-anomaly/v1"] and rec["draft"]["errors"] == []
    assert reg.reserve("sst-anomaly/v1", draft_attrs) == doi and len(_records(h)) == 1
    assert reg.status("sst-anomaly/v1") == "draft"
    final = metadata.datacite_attributes(md, doi=doi, url=LANDING)
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, data_files) == doi
    (rec,) = _records(h)
    assert rec["draft"] is None and rec["record"]["pids"]["doi"]["identifier"] == doi
    assert {k: (f["status"], f["sha256"]) for k, f in rec["files"].items()} == {
        p.name: ("completed", hashlib.sha256(p.read_bytes()).hexdigest()) for p in data_files
    }
    m = rec["record"]["metadata"]
    assert (
        m["resource_type"] == {"id": "dataset"} and m["rights"] == [{"id": "cc-by-4.0"}] and m["title"] == md["title"]
    )
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
    assert {"identifier": "10.5194/os-19-1-2023", "scheme": "doi", "relation_type": {"id": "issupplementto"}} in m[
        "related_identifiers"
    ]
    assert {"identifier": LANDING, "scheme": "url", "relation_type": {"id": "isidenticalto"}} in m[
        "related_identifiers"
    ]
    assert m["funding"] == [{"funder": {"name": "ANR"}, "award": {"title": {"en": "ANR-20-X"}, "number": "ANR-20-X"}}]
    publishes = len(_requests(h, "POST", r"/actions/publish$", (202,)))
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, data_files) == doi  # no-op
    assert len(_requests(h, "POST", r"/actions/publish$", (202, 400, 404))) == publishes == 1
    assert reg.status("sst-anomaly/v1") == "published"
    # Zenodo's concept DOI: the parent record's, registered at the first version
    assert reg.concept_doi("sst-anomaly.concept") is None
    assert (
        reg.publish_concept("sst-anomaly.concept", {}, LANDING, "sst-anomaly/v1")
        == rec["parent"]["doi"]
        == f"10.5072/zenodo.{rec['parent']['id']}"
    )


def test_zenodo_lost_create_answer_and_lost_state(zen, tmp_path: Path, draft_attrs: dict) -> None:
    url, h = zen
    h.fail_next("commit-then-drop", "/records", method="POST")
    with pytest.raises(RegistrarError) as exc:
        _zen(url, tmp_path / "s1").reserve("sst-anomaly/v1", draft_attrs)
    assert exc.value.retryable and len(_records(h)) == 1
    # a new process with no state file finds the record by the key in its note, and reserves its DOI once
    doi = _zen(url, tmp_path / "s2").reserve("sst-anomaly/v1", draft_attrs)
    (rec,) = _records(h)
    assert doi == rec["draft"]["pids"]["doi"]["identifier"]
    assert json.loads((tmp_path / "s2" / "zenodo-records.json").read_text()) == {"sst-anomaly/v1": rec["id"]}
    # the DOI reservation's answer lost: the retry reads the reserved DOI, reserves no other
    h.fail_next("commit-then-drop", "/records/", method="POST")
    reg = _zen(url, None, retries=1, backoff=0)
    doi2 = reg.reserve("sst-anomaly/v2", draft_attrs)
    assert doi2 != doi and len(_records(h)) == 2
    assert len(_requests(h, "POST", r"/draft/pids/doi$", (201, "dropped"))) == 2


@pytest.mark.parametrize(
    "fault, where",
    [
        (500, ("/actions/publish", "POST")),  # the publish action fails
        ("timeout", ("/actions/publish", "POST")),
        ("commit-then-drop", ("/actions/publish", "POST")),  # published, but the answer is lost
        ("commit-then-drop", ("/content", "PUT")),  # a file's bytes arrived, the answer is lost
        ("timeout", ("/content", "PUT")),  # a file's bytes did not arrive
        ("commit-then-drop", ("/commit", "POST")),  # a file committed, the answer is lost
        (502, ("/draft", "PUT")),  # the metadata update fails
    ],
)
def test_zenodo_publish_retry_is_exactly_once(
    zen, tmp_path: Path, md: dict, draft_attrs: dict, data_files: list[Path], fault, where
) -> None:
    url, h = zen
    reg = _zen(url, tmp_path / "state", timeout=2)  # gives up on a silent Zenodo well before it drops (6 s)
    doi = reg.reserve("sst-anomaly/v1", draft_attrs)
    (rec,) = _records(h)
    final = metadata.datacite_attributes(md, doi=doi, url=LANDING)
    base = f"/records/{rec['id']}/draft"
    target = {
        "/actions/publish": f"{base}/actions/publish",
        "/draft": f"{base}$",
        "/content": f"{base}/files/{data_files[0].name}/content",
        "/commit": f"{base}/files/{data_files[0].name}/commit",
    }[where[0]]
    h.fail_next(fault, target, method=where[1], delay=6)
    with pytest.raises(RegistrarError) as exc:
        reg.publish("sst-anomaly/v1", doi, final, LANDING, data_files)
    assert exc.value.retryable
    # the caller's retry (a later call, another process: the same state file), with the registrar's own retries
    again = _zen(url, tmp_path / "state", timeout=30, retries=2, backoff=0)
    assert again.publish("sst-anomaly/v1", doi, final, LANDING, data_files) == doi
    (rec,) = _records(h)
    assert rec["draft"] is None and rec["record"]["pids"]["doi"]["identifier"] == doi
    assert {k: f["sha256"] for k, f in rec["files"].items()} == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in data_files
    }
    assert len(_requests(h, "POST", r"/actions/publish$", (202, "dropped"))) == 1  # published once
    for p in data_files:  # each file's bytes stored once: a retry commits what arrived instead of sending it again
        stored = _requests(h, "PUT", rf"/files/{p.name}/content$", (200, "dropped"))
        assert len(stored) == 1, stored


def test_zenodo_new_version_is_a_version_of_the_same_record(
    zen, tmp_path: Path, md: dict, draft_attrs: dict, data_files: list[Path]
) -> None:
    url, h = zen
    reg = _zen(url, tmp_path / "state")
    doi1 = reg.reserve("ds/v1", draft_attrs)
    reg.publish("ds/v1", doi1, metadata.datacite_attributes(md, doi=doi1, url=LANDING), LANDING, data_files)
    v2_attrs = metadata.datacite_attributes(md, doi=None, previous_version=doi1, version="2")
    with pytest.raises(RegistrarError, match="no published record for 'ds/v0'"):
        reg.reserve("ds/v1b", v2_attrs, previous_key="ds/v0")
    # POST /api/records/{v1}/versions; its answer lost once: the retry gets the same new-version draft
    h.fail_next("commit-then-drop", "/records/", method="POST")
    with pytest.raises(RegistrarError):
        _zen(url, tmp_path / "state", retries=0).reserve("ds/v2", v2_attrs, previous_key="ds/v1")
    doi2 = reg.reserve("ds/v2", v2_attrs, previous_key="ds/v1")
    recs = {r["id"]: r for r in _records(h)}
    assert len(recs) == 2 and len(_requests(h, "POST", r"/versions$", (201, "dropped"))) == 2
    v1, v2 = sorted(recs.values(), key=lambda r: r["index"])
    assert v2["parent"]["id"] == v1["parent"]["id"] and v2["index"] == 2 and doi2 != doi1
    assert _notes(v2) == ["odatis-vre deposit key: ds/v2"]  # its own key, not v1's copied note
    landing2 = LANDING.replace("/v1", "/v2")
    final2 = metadata.datacite_attributes(md, doi=doi2, url=landing2, previous_version=doi1, version="2")
    assert reg.publish("ds/v2", doi2, final2, landing2, data_files[:1]) == doi2
    v1, v2 = (h.record_of(r["id"]) for r in (v1, v2))
    assert v1["parent"]["versions"] == [v1["id"], v2["id"]]
    assert list(v2["files"]) == [data_files[0].name] and sorted(v1["files"]) == sorted(p.name for p in data_files)
    concept = reg.publish_concept("ds.concept", {}, LANDING, "ds/v2")
    assert concept == reg.publish_concept("ds.concept", {}, LANDING, "ds/v1") == v1["parent"]["doi"]
    assert concept not in (doi1, doi2)


@pytest.mark.parametrize("multipart", [True, False])
def test_zenodo_large_file_goes_in_parts(tmp_path: Path, md: dict, draft_attrs: dict, multipart: bool) -> None:
    url, h = zenodo_standin.start(multipart=multipart)
    try:
        reg = registrars.ZenodoRegistrar(
            "10.5072",
            token="zenodo-test-token",
            base_url=url,
            state_dir=tmp_path,
            timeout=5,
            retries=1,
            backoff=0,
            progress=False,
            part_size=64 * 1024,
            multipart_threshold=100 * 1024,
        )
        big = tmp_path / "big.nc"
        big.write_bytes(bytes(range(256)) * 700)  # 179 200 bytes: 3 parts of at most 64 KiB
        doi = reg.reserve("big/v1", draft_attrs)
        (rec,) = _records(h)
        # the second part fails in both of the registrar's attempts; the caller's retry starts the file again
        h.fail_next(500, f"/records/{rec['id']}/draft/files/big.nc/content/2", method="PUT", times=2)
        final = metadata.datacite_attributes(md, doi=doi, url=LANDING)
        if multipart:
            with pytest.raises(RegistrarError, match="Zenodo answered 500"):
                reg.publish("big/v1", doi, final, LANDING, [big])
        assert reg.publish("big/v1", doi, final, LANDING, [big]) == doi
        (rec,) = _records(h)
        assert rec["files"]["big.nc"]["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
        parts = _requests(h, "PUT", r"/files/big\.nc/content/\d$", (200,))
        whole = _requests(h, "PUT", r"/files/big\.nc/content$", (200,))
        if multipart:  # each attempt started the file again (part 2 never arrived): three times part 1
            assert sorted(p[1][-1] for p in parts) == ["1", "1", "1", "2", "3"] and not whole
        else:  # an instance without multipart uploads: one PUT of the whole file
            assert not parts and len(whole) == 1
    finally:
        h.stop()


def test_zenodo_errors(zen, tmp_path: Path, md: dict, draft_attrs: dict, data_files: list[Path]) -> None:
    url, h = zen
    with pytest.raises(RegistrarError, match="ZENODO_TOKEN"):
        registrars.get("zenodo", prefix="10.5072", environ={}, base_url=url)
    bad = registrars.get("zenodo", prefix="10.5072", environ={"ZENODO_TOKEN": "nope"}, base_url=url, retries=0)
    with pytest.raises(RegistrarError, match="401.*check ZENODO_TOKEN") as exc:
        bad.reserve("k/v1", draft_attrs)
    assert not exc.value.retryable and _records(h) == []
    reg = _zen(url, tmp_path)
    final = metadata.datacite_attributes(md, doi="10.5072/zenodo.1", url=LANDING)
    with pytest.raises(RegistrarError, match="no Zenodo record for key"):
        reg.publish("never-reserved/v1", "10.5072/zenodo.1", final, LANDING, data_files)
    doi = reg.reserve("k/v1", draft_attrs)
    with pytest.raises(RegistrarError, match="needs at least one file"):
        reg.publish("k/v1", doi, final, LANDING, [])
    with pytest.raises(RegistrarError, match="is not a file"):
        reg.publish("k/v1", doi, metadata.datacite_attributes(md, doi=doi, url=LANDING), LANDING, [tmp_path])
    with pytest.raises(RegistrarError, match="has DOI .* on Zenodo, not 10.5072/zenodo.1"):
        reg.publish("k/v1", "10.5072/zenodo.1", final, LANDING, data_files)
    with pytest.raises(RegistrarError, match="no concept DOI yet") as exc:
        reg.publish_concept("k.concept", {}, LANDING, "k/v1")
    assert exc.value.retryable
    (rec,) = _records(h)
    assert rec["record"] is None and rec["draft_files"] == {}
    # what Zenodo lists as errors in a saved draft is refused at once, naming the field
    refused = dict(
        draft_attrs, types={"resourceTypeGeneral": "Dataset"}, dates=[{"date": "2023-13-45", "dateType": "Collected"}]
    )
    with pytest.raises(RegistrarError, match=r"Zenodo refused the metadata of k/v2: metadata\.dates\.0"):
        reg.reserve("k/v2", refused)
