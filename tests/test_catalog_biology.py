"""The biology & imaging group: flow cytometry (SEANOE), benthic image annotations (SEANOE), OBIS occurrences.

Loaded through the stand-ins of SEANOE and OBIS (tests/catalog_servers.py) with the mirror, from the
local copies written by :func:`odatis_vre.data.mirror.build_local_copy`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from catalog_servers import DataServer  # noqa: E402

from odatis_vre import catalog, provenance  # noqa: E402
from odatis_vre.data.drivers import AccessError, ObisOccurrenceSource  # noqa: E402

pytestmark = pytest.mark.slow
BIOLOGY = ("somlit_roscoff_cytometry", "marel_carnot_cytometry", "emso_azores_tempo_annotations", "obis_occurrences")


@pytest.fixture(scope="module")
def server(sample_data: Path, tmp_path_factory: pytest.TempPathFactory) -> DataServer:
    from odatis_vre.data import mirror

    root = mirror.build_local_copy(tmp_path_factory.mktemp("copy"), sample_data)
    srv = DataServer(root).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODATIS_VRE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ODATIS_VRE_MIRROR", raising=False)


def test_the_group_is_complete_and_findable() -> None:
    cat = catalog.open()
    names = {h["name"] for h in catalog.search(theme="biology_imaging", catalog=cat)}
    assert set(BIOLOGY) <= names
    for n in BIOLOGY:
        md = cat.raw[n]["metadata"]
        assert md["theme"] == "biology_imaging" and md["citation"] and md["licence"]
        assert md.get("doi") or md.get("landing_page")
        # every variable has a CF standard name, or says (null + long_name) that none exists
        for v in md["variables"]:
            assert v["standard_name"] or "no CF standard name" in v.get("long_name", ""), (n, v)
    assert {h["name"] for h in catalog.search("flow cytometry", catalog=cat)} == {
        "somlit_roscoff_cytometry",
        "marel_carnot_cytometry",
    }
    assert "emso_azores_tempo_annotations" in {h["name"] for h in catalog.search("benthic imagery", catalog=cat)}
    taxa = {h["name"] for h in catalog.search(variables=["number_concentration_of_biological_taxon"], catalog=cat)}
    assert taxa == {"somlit_roscoff_cytometry", "marel_carnot_cytometry"}
    # SEANOE DOIs are cited with their DOI
    assert catalog.cite("emso_azores_tempo_annotations", catalog=cat).endswith("https://doi.org/10.17882/84672")


def test_flow_cytometry_tables(server: DataServer) -> None:
    provenance.clear()
    df = catalog.load("somlit_roscoff_cytometry", mirror=server.mirror(), time=("2005-01-01", "2005-12-31"))
    assert isinstance(df, pd.DataFrame)
    assert set(df.station) == {"SOMLIT-Astan"}  # Estacade starts in 2008
    assert df.time.min() >= pd.Timestamp("2005-01-01", tz="UTC") and df.time.max() <= pd.Timestamp(
        "2005-12-31", tz="UTC"
    )
    assert {"Prochlorococcus", "Synechococcus", "picoeukaryotes"} <= set(df.group)
    assert (df.abundance > 0).all() and len(df) == 24 * 6  # twice a month × 6 groups
    marel = catalog.load(
        "marel_carnot_cytometry", mirror=server.mirror(), bbox=(1.5, 50.7, 1.6, 50.8), time=("2021-05-01", "2021-05-01")
    )
    assert len(marel) == 12 * 6 and marel.functional_group.nunique() == 6  # every 2 h, one day
    assert [r["doi"] for r in provenance.opened()] == ["10.17882/110112", "10.17882/104948"]


def test_image_annotations_not_images(server: DataServer) -> None:
    df = catalog.load("emso_azores_tempo_annotations", mirror=server.mirror(), time=("2016-01-01", "2016-12-31"))
    assert {"image", "image_url", "time", "latitude", "longitude", "label", "count"} <= set(df.columns)
    assert df.image_url.str.startswith("https://www.seanoe.org/").all()
    crabs = df[df.label == "Segonzacia mesatlantica"]
    assert len(crabs) > 0 and (crabs["count"] > 0).all()
    assert (df.depth == 1695).all()
    # only the record and the annotation table travelled: no image was fetched
    assert not [r for r in server.seanoe.requests if "images" in r or r.endswith(".zip")]


def test_obis_occurrences_filtered_by_the_api(server: DataServer) -> None:
    box, period = (-10, 43, -2, 48), ("2012-01-01", "2016-12-31")
    df = catalog.load(
        "obis_occurrences", mirror=server.mirror(), bbox=box, time=period, scientificname="Acartia clausi"
    )
    assert len(df) > 0 and set(df.scientificName) == {"Acartia clausi"}
    assert df.longitude.between(-10, -2).all() and df.latitude.between(43, 48).all()
    assert df.time.min() >= pd.Timestamp(period[0], tz="UTC") and df.time.max() <= pd.Timestamp(period[1], tz="UTC")
    query = [r for r in server.requests if "/obis/v3/occurrence" in r][-1]
    assert "geometry=POLYGON" in query and "startdate=2012-01-01" in query and "scientificname=Acartia" in query
    # by AphiaID instead of name
    by_id = catalog.load(
        "obis_occurrences", mirror=server.mirror(), bbox=box, time=period, scientificname="", taxonid="149755"
    )
    assert sorted(by_id.id) == sorted(df.id)


def test_obis_pages_follow_after(server: DataServer) -> None:
    kw = dict(
        api="https://api.obis.org/v3", west=-20, south=35, east=5, north=60, mirror=server.mirror(), progress=False
    )
    whole = ObisOccurrenceSource(page_size=10_000, **kw).read()
    before = len(server.requests)
    paged = ObisOccurrenceSource(page_size=700, **kw).read()
    assert len(server.requests) - before == -(-len(whole) // 700)  # ceil: one request per page
    assert paged.id.tolist() == whole.id.tolist() and len(whole) == 3000
    assert paged.time.notna().all()  # interval eventDates ("a/b") are dated by their start
    with pytest.raises(AccessError, match="matches 3000 records, more than max_records=100; narrow"):
        ObisOccurrenceSource(max_records=100, **kw).read()
