"""DOI registrars (local, DataCite, Zenodo) against local stand-ins of the documented APIs.

The point of these tests: whatever goes wrong between us and the registrar (a 500, a timeout,
a connection dropped after the registrar committed), retrying gives exactly one DOI.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from odatis_vre import metadata, registrars
from odatis_vre.registrars import RegistrarError
from standins import datacite as datacite_standin
from standins import zenodo as zenodo_standin

LANDING = "https://vre.example.org/repository/datasets/sst-anomaly/v1"


@pytest.fixture
def md() -> dict:
    return metadata.load_metadata({
        "title": "SST anomalies, Bay of Biscay", "creators": [{"name": "Carberry, Josiah", "orcid": "0000-0002-1825-0097",
                                                             "affiliation": {"name": "Ifremer"}}],
        "licence": "CC-BY-4.0", "keywords": ["SST"], "abstract": "Anomalies.", "publication_year": 2026,
        "related_publications": [{"doi": "10.5194/os-19-1-2023"}],
        "funding": [{"funder": "ANR", "award": "ANR-20-X"}]})


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
    return registrars.get("zenodo", prefix="10.5072", environ={"ZENODO_TOKEN": "zenodo-test-token"}, base_url=url,
                          state_dir=state_dir, **{"timeout": 2, "retries": 0, **kw})


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
    final = metadata.datacite_attributes(md, doi=doi, url=LANDING, provenance=[{"name": "argo", "doi": "10.17882/42182"}])
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, []) == doi
    rec = h.state[doi]
    assert rec["state"] == "findable" and rec["attributes"]["url"] == LANDING
    assert {"relatedIdentifier": "10.17882/42182", "relatedIdentifierType": "DOI", "relationType": "IsDerivedFrom"} \
        in rec["attributes"]["relatedIdentifiers"]
    puts = h.count("PUT", "/dois/")
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, []) == doi      # no-op
    assert h.count("PUT", "/dois/") == puts and reg.status(doi) == "findable"
    assert len(h.state) == 1


def test_datacite_credentials(dc, draft_attrs: dict) -> None:
    url, h = dc
    with pytest.raises(RegistrarError, match="DATACITE_REPOSITORY_ID, DATACITE_PASSWORD") as exc:
        registrars.get("datacite", prefix="10.5072", environ={}, base_url=url)
    assert exc.value.retryable is False
    bad = registrars.get("datacite", prefix="10.5072", base_url=url, retries=0,
                         environ={"DATACITE_REPOSITORY_ID": "ODATIS.VRE", "DATACITE_PASSWORD": "wrong"})
    with pytest.raises(RegistrarError, match="401.*check DATACITE_REPOSITORY_ID") as exc:
        bad.reserve("k/v1", draft_attrs)
    assert exc.value.retryable is False and h.state == {}
    other_prefix = registrars.get("datacite", prefix="10.80123", base_url=url, retries=0,
                                  environ={"DATACITE_REPOSITORY_ID": "ODATIS.VRE", "DATACITE_PASSWORD": "datacite-test-password"})
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
    doi = reg.reserve("a/v1", draft_attrs)               # third attempt succeeds inside one call
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
    r = requests.post(f"{url}/dois", json={"data": {"type": "dois", "attributes": {"doi": "10.5072/x", "event": "publish"}}},
                      auth=auth, timeout=5)
    assert r.status_code == 422 and {e["source"] for e in r.json()["errors"]} >= {"url", "creators", "titles"}
    r = requests.post(f"{url}/dois", json={"data": {"type": "dois", "attributes": {"prefix": "10.5072"}}}, auth=auth, timeout=5)
    assert r.status_code == 201 and r.json()["data"]["attributes"]["state"] == "draft"
    draft = r.json()["data"]["id"]
    assert requests.get(f"{url}/dois/{draft}", timeout=5).status_code == 404        # drafts are private
    assert requests.delete(f"{url}/dois/{draft}", auth=auth, timeout=5).status_code == 204


# ----------------------------------------------------------------------------- Zenodo

def test_zenodo_deposit_publish(zen, tmp_path: Path, md: dict, draft_attrs: dict, data_files: list[Path]) -> None:
    url, h = zen
    reg = _zen(url, tmp_path / "state")
    doi = reg.reserve("sst-anomaly/v1", draft_attrs)
    (dep,) = h.state.values()
    assert doi == dep["metadata"]["prereserve_doi"]["doi"] and not dep["submitted"]
    assert dep["metadata"]["notes"].startswith("odatis-vre deposit key: sst-anomaly/v1")
    assert reg.reserve("sst-anomaly/v1", draft_attrs) == doi and len(h.state) == 1
    final = metadata.datacite_attributes(md, doi=doi, url=LANDING)
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, data_files) == doi
    assert dep["submitted"] and dep["state"] == "done" and dep["doi"] == doi
    assert {k: f["sha256"] for k, f in dep["_files"].items()} == \
        {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in data_files}
    zmd = dep["metadata"]
    assert zmd["upload_type"] == "dataset" and zmd["license"] == "cc-by-4.0"
    assert zmd["creators"] == [{"name": "Carberry, Josiah", "affiliation": "Ifremer", "orcid": "0000-0002-1825-0097"}]
    assert {"identifier": "10.5194/os-19-1-2023", "relation": "isSupplementTo"} in zmd["related_identifiers"]
    assert {"identifier": LANDING, "relation": "isIdenticalTo"} in zmd["related_identifiers"]
    assert "ANR (ANR-20-X)" in zmd["notes"]
    publishes = h.count("POST", "/api/deposit/depositions/")
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, data_files) == doi     # no-op
    assert h.count("POST", "/api/deposit/depositions/") == publishes
    assert reg.status("sst-anomaly/v1") == "published"


def test_zenodo_lost_create_answer_and_lost_state(zen, tmp_path: Path, draft_attrs: dict) -> None:
    url, h = zen
    h.fail_next("commit-then-drop", "/deposit/depositions", method="POST")
    with pytest.raises(RegistrarError) as exc:
        _zen(url, tmp_path / "s1").reserve("sst-anomaly/v1", draft_attrs)
    assert exc.value.retryable and len(h.state) == 1
    # a new process with no state file finds the deposition by the key in its notes
    doi = _zen(url, tmp_path / "s2").reserve("sst-anomaly/v1", draft_attrs)
    assert len(h.state) == 1 and doi == next(iter(h.state.values()))["metadata"]["prereserve_doi"]["doi"]
    assert json.loads((tmp_path / "s2" / "zenodo-depositions.json").read_text()) == {"sst-anomaly/v1": next(iter(h.state))}
    assert _zen(url, None).reserve("sst-anomaly/v2", draft_attrs) != doi and len(h.state) == 2


@pytest.mark.parametrize("fault, where", [
    (500, ("/deposit/depositions/", "POST")),                 # the publish action fails
    ("timeout", ("/deposit/depositions/", "POST")),
    ("commit-then-drop", ("/deposit/depositions/", "POST")),  # published, but the answer is lost
    ("commit-then-drop", ("/files/", "PUT")),                 # a file arrived, the answer is lost
    ("timeout", ("/files/", "PUT")),
    (502, ("/deposit/depositions/", "PUT")),                  # metadata update fails
])
def test_zenodo_publish_retry_is_exactly_once(zen, tmp_path: Path, md: dict, draft_attrs: dict,
                                              data_files: list[Path], fault, where) -> None:
    url, h = zen
    reg = _zen(url, tmp_path / "state", timeout=0.5)
    doi = reg.reserve("sst-anomaly/v1", draft_attrs)
    final = metadata.datacite_attributes(md, doi=doi, url=LANDING)
    h.fail_next(fault, where[0], method=where[1], delay=2)
    with pytest.raises(RegistrarError) as exc:
        reg.publish("sst-anomaly/v1", doi, final, LANDING, data_files)
    assert exc.value.retryable
    assert reg.publish("sst-anomaly/v1", doi, final, LANDING, data_files) == doi
    (dep,) = h.state.values()
    assert dep["submitted"] and dep["doi"] == doi and sorted(dep["_files"]) == sorted(p.name for p in data_files)
    published = [r for r in h.requests if r[0] == "POST" and r[1].endswith("/actions/publish") and r[2] in (202, "dropped")]
    assert len(published) == 1
    uploads = [r for r in h.requests if r[0] == "PUT" and r[1].startswith("/api/files/") and r[2] in (201, "dropped")]
    assert len(uploads) == len(data_files)      # nothing uploaded twice


def test_zenodo_errors(zen, tmp_path: Path, md: dict, draft_attrs: dict, data_files: list[Path]) -> None:
    url, h = zen
    with pytest.raises(RegistrarError, match="ZENODO_TOKEN"):
        registrars.get("zenodo", prefix="10.5072", environ={}, base_url=url)
    bad = registrars.get("zenodo", prefix="10.5072", environ={"ZENODO_TOKEN": "nope"}, base_url=url, retries=0)
    with pytest.raises(RegistrarError, match="401.*check ZENODO_TOKEN") as exc:
        bad.reserve("k/v1", draft_attrs)
    assert not exc.value.retryable and h.state == {}
    reg = _zen(url, tmp_path)
    final = metadata.datacite_attributes(md, doi="10.5072/zenodo.1", url=LANDING)
    with pytest.raises(RegistrarError, match="no Zenodo deposition for key"):
        reg.publish("never-reserved/v1", "10.5072/zenodo.1", final, LANDING, data_files)
    doi = reg.reserve("k/v1", draft_attrs)
    with pytest.raises(RegistrarError, match="needs at least one file"):
        reg.publish("k/v1", doi, final, LANDING, [])
    with pytest.raises(RegistrarError, match="is not a file"):
        reg.publish("k/v1", doi, metadata.datacite_attributes(md, doi=doi, url=LANDING), LANDING, [tmp_path])
    assert not next(iter(h.state.values()))["submitted"]
