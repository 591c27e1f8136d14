"""Published metadata tell the truth about the deposited data, and the world can harvest them (issue 15).

A time and space subset of the sample SST (opened through the catalogue, as a researcher does), then its
monthly means as version 2, go through the real repository service behind a hub with the DataCite
stand-in. Checked: DataCite ``dates``/``geoLocations`` equal what the data hold; IOOS compliance-checker on
the published file (CF without a high-priority issue, ACDD >= 95 %); an OAI-PMH harvester (``sickle``)
lists the record with ``oai_datacite``; FAIR Signposting headers parsed by ``signposting``; the STAC Item
validates with ``stac-validator``; v2 gives a concept DOI listing v1 and v2.
"""

from __future__ import annotations

import glob
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
import xarray as xr
from lxml import etree
from test_repository import META, PUBLISHER_EMAIL, Env, docs_example_metadata, start_repository_stack
from vre_testing import readable, sample_catalog

DATACITE_NS = "{http://datacite.org/schema/kernel-4}"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    from standins import datacite

    url, handle = datacite.start()
    folder = tmp_path_factory.mktemp("repo-harvest")
    stack = start_repository_stack(
        folder,
        {"registrar": "datacite", "datacite_url": url, "registrar_timeout": 5},
        {"DATACITE_REPOSITORY_ID": "ODATIS.VRE", "DATACITE_PASSWORD": "datacite-test-password"},
    )
    e = Env(stack, handle, folder)
    e.add_user("alice")
    e.wait_up()
    yield e
    stack.stop()
    handle.stop()


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalogue of freshly generated samples: 120 days of daily SST from 2023-01-01."""
    root = tmp_path_factory.mktemp("harvest-samples")
    path = sample_catalog(root, 120, lambda name: name == "sample_sst_zarr")
    readable(root)
    return path


def _iso(t: Any) -> str:
    return pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _box(ds: xr.Dataset) -> dict[str, float]:
    return {
        "westBoundLongitude": float(ds.lon.min()),
        "eastBoundLongitude": float(ds.lon.max()),
        "southBoundLatitude": float(ds.lat.min()),
        "northBoundLatitude": float(ds.lat.max()),
    }


def _checker_scores(path: Path) -> dict[str, dict[str, Any]]:
    """IOOS compliance-checker's own CF-1.8 and ACDD-1.3 points of a file (its JSON report's aggregates)."""
    from odatis_vre.publishing import conventions

    suite = conventions._suite()  # the stock checkers, minus the standard-name-table download (offline)
    nc = suite.load_dataset(str(path))
    try:
        results = suite.run_all(nc, ["cf:1.8", "acdd:1.3"], skip_checks=[])
    finally:
        nc.close()
    return {name: suite.build_structure(name, groups, str(path), limit=1) for name, (groups, _) in results.items()}


def _stac_schema_map() -> dict[str, str]:
    """The STAC 1.1 and GeoJSON schemas pystac ships, by the URLs stac-validator asks for (no network here)."""
    import pystac.validation.jsonschemas as js

    base = Path(js.__file__).parent
    out = {}
    for f in glob.glob(str(base / "stac-spec" / "v1.1.0" / "*.json")):
        name = Path(f).stem
        spec = (
            f"{name}-spec/json-schema/{name}.json"
            if name in ("item", "catalog", "collection")
            else f"item-spec/json-schema/{name}.json"
        )
        out[f"https://schemas.stacspec.org/v1.1.0/{spec}"] = f
    for f in glob.glob(str(base / "geojson" / "*.json")):
        out[f"https://geojson.org/schema/{Path(f).name}"] = f
    return out


@pytest.mark.slow
def test_subset_and_monthly_versions_tell_the_truth_and_are_harvestable(
    env: Env, cat: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signposting
    from sickle import Sickle
    from stac_validator import stac_validator

    from odatis_vre import catalog, provenance, publish
    from odatis_vre.publishing import metadata

    monkeypatch.setenv("ODATIS_VRE_DEPOSIT_DIR", str(tmp_path / "deposits"))
    provenance.clear()
    meta = docs_example_metadata()  # the meta.yaml of docs/publishing.md, as a user copies it
    # -- v1: a time and space subset, straight from the catalogue
    sub = catalog.load("sample_sst_zarr", catalog=cat, time=("2023-02-10", "2023-03-20"), bbox=(-8, 43, -2, 48))
    assert _iso(sub.time.min().values) == "2023-02-10T12:00:00Z"
    d1 = publish.deposit(sub, meta, repository_url=env.repo, token=env.tokens["alice"], progress=False)
    assert d1.state == "published"
    registered = env.datacite.state[d1.doi]["attributes"]
    t0, t1 = _iso(sub.time.min().values), _iso(sub.time.max().values)
    assert registered["dates"] == [{"date": f"{t0}/{t1}", "dateType": "Collected"}]  # not the source's 2023-01-01...
    assert registered["geoLocations"] == [{"geoLocationBox": _box(sub)}]
    cf_names = {s["subject"] for s in registered["subjects"] if s.get("subjectScheme") == "CF Standard Names"}
    assert cf_names == {sub.analysed_sst.attrs["standard_name"]}
    assert any(f"{sub.sizes['time']} time" in x for x in registered["sizes"])
    assert "application/x-netcdf" in registered["formats"]
    metadata.validate_datacite(registered)

    # the published file: its ACDD attributes say the same, history has the session's steps, valid_* typed
    name = d1.files[0]["name"]
    path = tmp_path / name
    path.write_bytes(env.get(f"datasets/{d1.id}/v1/files/{name}").content)
    with xr.open_dataset(path) as got:
        a = got.attrs
        assert (a["time_coverage_start"], a["time_coverage_end"]) == (t0, t1)
        assert (a["geospatial_lat_min"], a["geospatial_lat_max"]) == (float(sub.lat.min()), float(sub.lat.max()))
        assert a["geospatial_bounds"].startswith("POLYGON") and a["geospatial_bounds_crs"] == "OGC:CRS84"
        assert a["id"] == d1.doi and a["publisher_email"] == PUBLISHER_EMAIL
        assert "odatis_vre.catalog.load('sample_sst_zarr'" in a["history"] and "2023-02-10" in a["history"]
        assert "odatis_vre.publish.deposit" in a["history"].splitlines()[0]
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        var = nc.variables["analysed_sst"]
        assert np.asarray(var.getncattr("valid_min")).dtype == var.dtype == np.float32
    # IOOS compliance-checker itself, on the very file published
    scores = _checker_scores(path)
    assert scores["cf:1.8"]["high_count"] == 0, scores["cf:1.8"]["high_priorities"]
    acdd = scores["acdd:1.3"]
    assert acdd["scored_points"] / acdd["possible_points"] >= 0.95, (acdd["scored_points"], acdd["possible_points"])
    # the same scores in the API and on the landing page
    api = env.get(f"api/deposits/{d1.id}/v1", "alice").json()
    assert api["scores"]["acdd"]["scored"] == acdd["scored_points"] and api["scores"]["cf"]["high"] == 0
    page = env.get(f"datasets/{d1.id}/v1/")
    assert f"{acdd['scored_points']}/{acdd['possible_points']} points" in page.text
    assert t0 in page.text and "sea_surface_foundation_temperature" in page.text
    assert f"<meta name='citation_doi' content='{d1.doi}'>" in page.text
    ld = json.loads(re.search(r"<script type='application/ld\+json'>(.*?)</script>", page.text, re.S).group(1))
    assert ld["temporalCoverage"] == f"{t0}/{t1}"
    assert ld["variableMeasured"][0]["alternateName"] == "sea_surface_foundation_temperature"

    # -- FAIR Signposting, parsed by a Signposting client
    head = requests.head(d1.landing_url, timeout=30)
    links = signposting.find_signposting_http_link([head.headers["Link"]], d1.landing_url)
    assert str(links.citeAs.target) == d1.landing_url  # 10.5072 does not resolve: the landing page is cited
    assert {str(i.target) for i in links.items} == {d1.landing_url + f"files/{name}"}
    assert "application/vnd.datacite.datacite+xml" in {d.type for d in links.describedBy}
    assert str(links.license.target) == metadata.LICENCES["CC-BY-4.0"][1]
    assert "https://schema.org/Dataset" in {str(t.target) for t in links.types}
    assert "https://orcid.org/0000-0002-1825-0097" in {str(x.target) for x in links.authors}

    # -- STAC Item, validated by stac-validator against the STAC 1.1 schemas
    item_path = tmp_path / "item.json"
    item = env.get(f"datasets/{d1.id}/v1/stac.json").json()
    item_path.write_text(json.dumps(item))
    validator = stac_validator.StacValidate(str(item_path), core=True, schema_map=_stac_schema_map())
    assert validator.run(), validator.message
    assert item["bbox"] == [float(sub.lon.min()), float(sub.lat.min()), float(sub.lon.max()), float(sub.lat.max())]
    assert (item["properties"]["start_datetime"], item["properties"]["end_datetime"]) == (t0, t1)
    root = env.get("stac/catalog.json").json()
    assert any(link["href"].endswith(f"{d1.id}/v1/stac.json") for link in root["links"] if link["rel"] == "item")

    # -- v2: the monthly means of the same subset, a new version
    monthly = sub.resample(time="1MS").mean(keep_attrs=True)
    provenance.step("monthly means: sub.resample(time='1MS').mean()")
    d2 = publish.deposit(
        monthly,
        meta | {"title": meta["title"] + ", monthly means"},
        new_version_of=d1.id,
        repository_url=env.repo,
        token=env.tokens["alice"],
        progress=False,
    )
    assert (d2.id, d2.version, d2.state) == (d1.id, 2, "published")
    reg2 = env.datacite.state[d2.doi]["attributes"]
    m0, m1 = _iso(monthly.time.min().values), _iso(monthly.time.max().values)
    assert (m0, m1) == ("2023-02-01T00:00:00Z", "2023-03-01T00:00:00Z")
    assert reg2["dates"] == [{"date": f"{m0}/{m1}", "dateType": "Collected"}]
    assert reg2["geoLocations"] == [{"geoLocationBox": _box(monthly)}]
    # the concept DOI: findable, HasVersion v1 and v2; each version IsVersionOf it
    concept = env.get(f"api/deposits/{d1.id}/v2", "alice").json()["concept_doi"]
    assert concept and concept not in (d1.doi, d2.doi)
    c_attrs = env.datacite.state[concept]
    assert c_attrs["state"] == "findable" and c_attrs["attributes"]["url"] == env.repo + f"datasets/{d1.id}/"
    has = [
        r["relatedIdentifier"] for r in c_attrs["attributes"]["relatedIdentifiers"] if r["relationType"] == "HasVersion"
    ]
    assert has == [d1.doi, d2.doi]
    for v in (1, 2):
        rel = env.get(f"datasets/{d1.id}/v{v}/datacite.json").json()["relatedIdentifiers"]
        assert {"relatedIdentifier": concept, "relatedIdentifierType": "DOI", "relationType": "IsVersionOf"} in rel
    page = env.get(f"datasets/{d1.id}/")
    assert page.status_code == 200 and concept in page.text and d1.doi in page.text and d2.doi in page.text
    with xr.open_dataset(_download(env, d2, tmp_path)) as got2:
        assert "monthly means" in got2.attrs["history"] and got2.attrs["time_coverage_resolution"] == "P1M"

    # -- OAI-PMH, harvested by a real harvester client
    sickle = Sickle(env.repo + "oai")
    ident = sickle.Identify()
    assert ident.repositoryName.startswith("ODATIS repository") and ident.adminEmail == PUBLISHER_EMAIL
    assert {f.metadataPrefix for f in sickle.ListMetadataFormats()} == {"oai_dc", "oai_datacite"}
    assert "community:physics" in {s.setSpec for s in sickle.ListSets()}
    records = {
        r.header.identifier: r for r in sickle.ListRecords(metadataPrefix="oai_datacite", set="community:physics")
    }
    host = re.match(r"https?://([^:/]+)", env.repo).group(1)
    for d in (d1, d2):
        rec = records[f"oai:{host}:{d.id}.v{d.version}"]
        resource = rec.xml.find(f".//{DATACITE_NS}resource")
        assert resource is not None  # the DataCite kernel-4 payload
        assert resource.findtext(f"{DATACITE_NS}identifier") == d.doi
        served = env.get(f"datasets/{d.id}/v{d.version}/datacite.json").json()
        metadata.validate_datacite(served)  # schema 4.5: the JSON the payload is serialised from
        assert _canonical(resource) == _canonical(etree.fromstring(metadata.datacite_xml(served).encode()))
        dates = [x.text for x in resource.iter(f"{DATACITE_NS}date")]
        assert served["dates"][0]["date"] in dates
    dc = next(iter(sickle.ListRecords(metadataPrefix="oai_dc")))
    assert dc.metadata["title"] and dc.metadata["identifier"]
    bad = requests.get(env.repo + "oai", params={"verb": "ListRecords", "metadataPrefix": "marc"}, timeout=30)
    assert bad.status_code == 200 and 'code="cannotDisseminateFormat"' in bad.text and "oai_datacite" in bad.text


def _canonical(el: Any) -> bytes:
    """C14N of an element without indentation (the endpoint pretty-prints)."""
    flat = etree.fromstring(etree.tostring(el), etree.XMLParser(remove_blank_text=True))
    return etree.tostring(flat, method="c14n")


def _download(env: Env, d: Any, tmp_path: Path) -> Path:
    name = d.files[0]["name"]
    out = tmp_path / f"v{d.version}-{name}"
    out.write_bytes(env.get(f"datasets/{d.id}/v{d.version}/files/{name}").content)
    return out


@pytest.mark.slow
def test_publication_is_refused_below_the_acdd_threshold_listing_what_to_add(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odatis_vre import publish
    from odatis_vre.data import samples
    from odatis_vre.publishing import conventions

    monkeypatch.setenv("ODATIS_VRE_DEPOSIT_DIR", str(tmp_path / "deposits"))
    minimal = {k: v for k, v in META.items() if k in ("title", "creators", "licence", "keywords", "abstract")}
    minimal["creators"] = [{"name": "Carberry, Josiah"}]
    mine = len(env.get("api/deposits", "alice").json())
    with pytest.raises(conventions.ConventionsError) as exc:
        publish.deposit(
            samples.sst_dataset(days=3), minimal, repository_url=env.repo, token=env.tokens["alice"], progress=False
        )
    text = str(exc.value)
    # the user is told which metadata fields to add (as written in meta.yaml), not which attributes they give
    assert "ACDD-1.3" in text and "at least 95 % needed" in text and "Add to the metadata" in text, text
    fields = [f.field for f in exc.value.fields]
    assert {"creators[].email", "related_publications", "program", "instrument", "platform"} <= set(fields), fields
    assert "related_publications — e.g. related_publications: [{doi: 10.5194/os-19-1-2023}]" in text
    assert exc.value.scores["acdd"]["percent"] < 95
    assert len(env.get("api/deposits", "alice").json()) == mine  # nothing was sent
    # a file uploaded through the API with only its source's attributes: refused by the service, scores kept
    raw = tmp_path / "source.nc"
    conventions.to_netcdf(samples.sst_dataset(days=3), raw)
    r = env.post("api/deposits", "alice", json={"metadata": META, "key": f"raw-{os.getpid()}-{tmp_path.name}"})
    v = r.json()
    env.client("alice").upload(v["id"], 1, raw, progress=False)
    r = env.post(f"api/deposits/{v['id']}/v1/publish", "alice")
    assert r.status_code == 422, r.text
    assert "ACDD-1.3 score" in r.json()["error"] and "history" in r.json()["error"]
    got = env.get(f"api/deposits/{v['id']}/v1", "alice").json()
    assert got["state"] == "draft" and got["scores"]["publishable"] is False and got["scores"]["acdd"]["percent"] < 95
    assert env.datacite.state[got["doi"]]["state"] == "draft"
