"""The repository: store, service behind a real hub, client; security and reliability (issue 5).

The service runs as the hub starts it (``python -m odatis_vre repository serve``, managed service)
with the DataCite registrar pointed at the stand-in of ``tests/standins/datacite.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import yaml
from vre_testing import REPO, VRETestStack, start_stack

from odatis_vre.publishing.repository.store import (
    ChecksumMismatch,
    Conflict,
    NotFound,
    RepositoryError,
    Store,
    TooLarge,
)

#: (config path, storage path) of every repository stack of the session: tests/test_zz_fixity.py re-checks them
STACKS: list[Path] = []

MAX_UPLOAD = 8 * 1024 * 1024
PASSWORD = "a-long-password-1"
META = {
    "title": "Sea surface temperature sample, Bay of Biscay (repository test)",
    "creators": [
        {
            "name": "Carberry, Josiah",
            "orcid": "0000-0002-1825-0097",
            "email": "josiah.carberry@example.org",
            "affiliation": {"name": "Ifremer", "ror": "https://ror.org/044jxhp58"},
        }
    ],
    "licence": "CC-BY-4.0",
    "keywords": ["sea surface temperature", "Bay of Biscay"],
    "abstract": "Three days of a synthetic SST field, deposited by the test suite.",
    "funding": [
        {
            "funder": "Agence Nationale de la Recherche",
            "funder_ror": "https://ror.org/00rbzpz17",
            "award": "ANR-00-TEST-0000",
        }
    ],
    "related_publications": [{"doi": "10.5194/os-19-1-2023", "relation": "IsSupplementTo"}],
    "platform": {"name": "Models/Analyses", "vocabulary": "GCMD Platform Keywords"},
    "program": "ODATIS",
}
#: The repository's contact (services.repository.publisher_email): ACDD publisher_email of deposited files.
PUBLISHER_EMAIL = "repository@odatis.example.org"


def docs_example_metadata(doc: str = "publishing.md") -> dict[str, Any]:
    """The ``meta.yaml`` example of a page of docs/ (publishing.md §1; repository.md "Publishing"), as a user copies
    it: what the docs promise must work."""
    import yaml

    text = (REPO / "docs" / doc).read_text(encoding="utf-8")
    heading = {"publishing.md": "## 1. The metadata file", "repository.md": "## Publishing"}[doc]
    block = text.split(heading, 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_nc(path: Path, *, cf: bool = True, days: int = 3) -> Path:
    """A sample SST file; ``cf``: with the ACDD attributes a deposit computes (datafacts.annotate with META)."""
    from odatis_vre.data import samples
    from odatis_vre.publishing import conventions, datafacts, metadata

    ds = samples.sst_dataset(days=days)
    if not cf:  # no conventions at all: no attributes, no units, no standard names
        ds.drop_attrs().to_netcdf(path)
        return path
    md = metadata.load_metadata(META)
    return conventions.to_netcdf(
        datafacts.annotate(
            ds,
            md,
            doi="10.5072/test",
            landing_url="https://example.org/x/",
            created="2026-01-01T00:00:00Z",
            publisher_email=PUBLISHER_EMAIL,
        ),
        path,
    )


# ----------------------------------------------------------------------------- store alone


def test_store_names_versions_and_fixity(tmp_path: Path) -> None:
    st = Store(tmp_path / "store", max_upload=1000)
    for bad in ("../x", "a/b", ".hidden", "-rf", "a\\b", "x" * 201, "", "..", "a..b"):
        with pytest.raises(RepositoryError, match="file name"):
            st.part_path("abcdefghij", 1, bad)
    v = st.create_deposit("alice", {"title": "T"}, key="k")
    assert st.create_deposit("alice", {"title": "T"}, key="k")["id"] == v["id"]  # idempotent per key
    assert st.create_deposit("bob", {"title": "T"}, key="k")["id"] != v["id"]  # keys are per owner
    with pytest.raises(TooLarge, match="max_upload"):
        st.start_file(v["id"], 1, "alice", "big.bin", 1001, sha(b""))
    with pytest.raises(NotFound):
        st.start_file(v["id"], 1, "bob", "a.bin", 3, sha(b"abc"))
    st.start_file(v["id"], 1, "alice", "a.bin", 3, sha(b"abc"))
    st.part_path(v["id"], 1, "a.bin").write_bytes(b"abd")
    with pytest.raises(ChecksumMismatch, match="upload it again"):
        st.complete_file(v["id"], 1, "alice", "a.bin")
    assert st.file_state(v["id"], 1, "alice", "a.bin")["received"] == 0
    st.part_path(v["id"], 1, "a.bin").write_bytes(b"abc")
    st.complete_file(v["id"], 1, "alice", "a.bin")
    st.finish_publish(v["id"], 1, "alice", doi="10.5072/x1", attributes={"doi": "10.5072/x1"})
    assert st.fsck() == []
    with pytest.raises(Conflict, match="published"):
        st.start_file(v["id"], 1, "alice", "b.bin", 1, sha(b"b"))
    v2 = st.new_version(v["id"], "alice", {"title": "T2"}, key="k2")
    assert v2["version"] == 2 and st.version(v["id"], 1)["metadata"] == {"title": "T"}
    # a published file changed on disk is reported
    f = st.published_dir(v["id"], 1) / "a.bin"
    os.chmod(f, 0o644)
    f.write_bytes(b"abz")
    problems = st.fsck()
    assert any("a.bin" in p and "SHA-256" in p for p in problems) and any("writable" in p for p in problems)


def test_store_recovers_a_publication_interrupted_after_the_move(tmp_path: Path) -> None:
    st = Store(tmp_path / "store")
    v = st.create_deposit("alice", {"title": "T"}, key="k")
    st.start_file(v["id"], 1, "alice", "a.bin", 1, sha(b"a"))
    st.part_path(v["id"], 1, "a.bin").write_bytes(b"a")
    st.complete_file(v["id"], 1, "alice", "a.bin")
    st.set_doi(v["id"], 1, "10.5072/r")
    st.stage_attributes(v["id"], 1, {"doi": "10.5072/r"})
    # the process died right after the folder moved (the registrar had already published the DOI)
    st.published_dir(v["id"], 1).parent.mkdir(parents=True)
    os.replace(st.draft_dir(v["id"], 1), st.published_dir(v["id"], 1))
    assert st.version(v["id"], 1)["state"] == "draft"
    assert any("interrupted" in p for p in st.fsck())
    assert len(Store(tmp_path / "store").recover()) == 1
    assert st.version(v["id"], 1)["state"] == "published" and st.fsck() == []


def test_raw_zarr_chunks_are_the_bytes_xpublish_encodes(tmp_path: Path) -> None:
    import cachey
    from xpublish_zarr.utils import encode_chunk, get_store

    from odatis_vre.publishing.repository import dissemination

    nc = make_nc(tmp_path / "c.nc", days=5)
    ds = dissemination.open_dataset(nc).chunk({"time": 2, "lat": 20, "lon": 25})  # edge chunks are partial
    meta = dissemination.zarr_metadata(ds)["analysed_sst"]
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [2, 20, 25]
    chunk = meta["chunk_grid"]["configuration"]["chunk_shape"]
    store = get_store(ds, cachey.Cache(1e8))
    grid = [-(-n // c) for n, c in zip(ds.analysed_sst.shape, chunk)]
    lazy = dissemination.open_lazy(nc)  # what the service reads raw chunks from (no dask)
    for coords in {(0, 0, 0), tuple(g - 1 for g in grid)}:  # the first and the (padded) last chunk
        raw = dissemination.raw_chunk(lazy, "analysed_sst", coords, meta)
        assert raw is not None and raw == encode_chunk(ds, store, "analysed_sst", coords)
    with pytest.raises(IndexError):
        dissemination.raw_chunk(ds, "analysed_sst", tuple(grid), meta)
    # what the fast path cannot do exactly is left to xpublish
    assert dissemination.raw_chunk(ds, "analysed_sst", (0, 0, 0), meta | {"codecs": [{"name": "zstd"}]}) is None


@pytest.mark.parametrize("fill", [None, -999.0])
def test_chunks_read_as_byte_ranges_of_a_contiguous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fill: float | None
) -> None:
    """A chunk of whole planes of a contiguous NetCDF-4 variable is one ``pread``, byte-identical to xpublish."""
    import cachey
    import xarray as xr
    from xpublish_zarr.utils import encode_chunk, get_store

    from odatis_vre.publishing.repository import dissemination

    values = np.random.default_rng(1).normal(15, 3, (5, 20, 30)).astype("float32")
    values[1, 3, 4] = np.nan if fill is None else fill  # a missing value, stored as NaN or as the fill value
    nc = tmp_path / "contiguous.nc"
    xr.Dataset({"sst": (("time", "lat", "lon"), values)}).to_netcdf(
        nc, encoding={"sst": {"_FillValue": fill}}, engine="netcdf4"
    )
    ds = dissemination.open_dataset(nc).chunk({"time": 2, "lat": 20, "lon": 30})  # 3 chunks, the last one partial
    meta = dissemination.zarr_metadata(ds)["sst"]
    store = get_store(ds, cachey.Cache(1e8))
    reader = dissemination.ChunkReader(nc, dissemination.open_lazy(nc))
    assert "sst" in reader.layout  # contiguous, unfiltered: its offset is known
    expected = {c: encode_chunk(ds, store, "sst", c) for c in ((0, 0, 0), (1, 0, 0), (2, 0, 0))}
    # full chunks never go through numpy: the fallback is not called
    through_numpy = dissemination._encoded_chunk
    monkeypatch.setattr(dissemination, "_encoded_chunk", lambda *a: pytest.fail("read through numpy"))
    assert reader.read("sst", (0, 0, 0), meta) == expected[(0, 0, 0)]
    assert reader.read("sst", (1, 0, 0), meta) == expected[(1, 0, 0)]
    monkeypatch.setattr(dissemination, "_encoded_chunk", through_numpy)
    # the padded edge chunk goes through numpy; both paths match xpublish, which writes a missing value
    # as the variable's fill value (NaN or -999) and pads the edge with NaN
    for coords, want in expected.items():
        assert reader.read("sst", coords, meta) == want
        assert dissemination.raw_chunk(dissemination.open_lazy(nc), "sst", coords, meta) == want
    missing = np.frombuffer(expected[(0, 0, 0)], "<f4").reshape(2, 20, 30)[1, 3, 4]
    assert np.isnan(missing) if fill is None else missing == fill
    assert np.isnan(np.frombuffer(expected[(2, 0, 0)], "<f4").reshape(2, 20, 30)[1]).all()
    with pytest.raises(IndexError):
        reader.read("sst", (3, 0, 0), meta)
    reader.close()


def test_signed_links_only_where_clients_reach_the_service(tmp_path: Path) -> None:
    """Local mode with the hub on loopback: the service's own port; elsewhere only an explicit url; off on request."""
    from vre_testing import write_config

    from odatis_vre import config
    from odatis_vre.publishing.repository import signed
    from odatis_vre.publishing.repository.server import Settings, direct_url

    def cfg(hub: dict[str, Any], dd: dict[str, Any] | None = None) -> Any:
        folder = tmp_path / f"c{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        repo = {"direct_downloads": dd} if dd is not None else {}
        return config.load(write_config(folder, {"hub": hub, "services": {"repository": repo}}))

    assert direct_url(cfg({"ip": "127.0.0.1"}), 8123) == "http://127.0.0.1:8123"
    assert direct_url(cfg({"ip": "0.0.0.0"}), 8123) is None  # users on other machines cannot reach loopback
    assert direct_url(cfg({"ip": "0.0.0.0"}, {"url": "https://files.example.org"}), 8123) == "https://files.example.org"
    assert direct_url(cfg({"ip": "127.0.0.1"}, {"enabled": False}), 8123) is None
    assert direct_url(cfg({"ip": "127.0.0.1"}), None) is None  # the port is known to the running service only
    s = Settings.from_config(cfg({"ip": "127.0.0.1"}, {"min_size": "2G", "ttl": 60}), port=8123)
    assert (s.direct_url, s.direct_min_size, s.direct_ttl) == ("http://127.0.0.1:8123", 2 * 1024**3, 60)
    # a link is bound to every field it names and to its time
    key = signed.signing_key(tmp_path / "storage")
    assert signed.signing_key(tmp_path / "storage") == key  # kept: links survive a restart
    assert (tmp_path / "storage" / signed.KEY_FILE).stat().st_mode & 0o077 == 0
    link = signed.DownloadLink.new("abcdefghij", 1, "a.nc", "0" * 64, ttl=60, now=1000.0)
    link.check(key, link.signature(key), now=1059.0)
    for other in (
        signed.DownloadLink("abcdefghik", 1, "a.nc", "0" * 64, link.expires),
        signed.DownloadLink("abcdefghij", 2, "a.nc", "0" * 64, link.expires),
        signed.DownloadLink("abcdefghij", 1, "b.nc", "0" * 64, link.expires),
        signed.DownloadLink("abcdefghij", 1, "a.nc", "1" * 64, link.expires),
    ):
        with pytest.raises(signed.LinkRefused, match="not valid"):
            other.check(key, link.signature(key), now=1001.0)
    with pytest.raises(signed.LinkRefused, match="expired"):
        link.check(key, link.signature(key), now=1061.0)
    with pytest.raises(signed.LinkRefused, match="expires"):
        signed.parse_expires("tomorrow")


# ----------------------------------------------------------------------------- the service behind a hub


class Env:
    """The running stack, the DataCite stand-in, users and their tokens."""

    def __init__(self, stack: VRETestStack, datacite: Any, folder: Path):
        self.stack = stack
        self.datacite = datacite
        self.folder = folder
        self.repo = f"{stack.url}/services/repository/"
        self.tokens: dict[str, str] = {}

    def add_user(self, name: str, groups: tuple[str, ...] = ()) -> None:
        """A hub user with a password (PASSWORD) and an API token of theirs (``self.tokens[name]``)."""
        self.stack.create_user(name, PASSWORD, groups)
        self.tokens[name] = self.stack.user_token(name)

    def h(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"token {self.tokens[user]}"} if user else {}

    def client(self, user: str, **kw: Any) -> Any:
        from odatis_vre.publishing.repository.client import Client

        return Client(self.repo, self.tokens[user], **kw)

    def get(self, path: str, user: str | None = None, **kw: Any) -> requests.Response:
        return requests.get(self.repo + path, headers=self.h(user) | kw.pop("headers", {}), timeout=60, **kw)

    def post(self, path: str, user: str | None = None, **kw: Any) -> requests.Response:
        return requests.post(self.repo + path, headers=self.h(user) | kw.pop("headers", {}), timeout=60, **kw)

    def put(self, path: str, user: str | None = None, **kw: Any) -> requests.Response:
        return requests.put(self.repo + path, headers=self.h(user) | kw.pop("headers", {}), timeout=60, **kw)

    def service_pid(self) -> int:
        """The pid of the repository service the hub started (``... repository serve --port P``)."""
        port = json.loads((self.folder / ".vre" / "ports.json").read_text())["repository"]
        want = ["repository", "serve", "--port", str(port)]
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            args = [c.decode(errors="replace") for c in cmd if c]
            if "odatis_vre.hub.supervise" in args:
                continue
            if any(args[i : i + 4] == want for i in range(len(args))):
                return int(d.name)
        raise AssertionError(f"no repository service process on port {port}")

    def wait_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.repo + "health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("the repository service did not come back")


def start_repository_stack(folder: Path, repository: dict[str, Any], registrar_env: dict[str, str]) -> VRETestStack:
    """A stack with the repository service only, its registrar credentials in the hub's environment while it
    starts (the hub hands them to the service alone); recorded for the fixity check of test_zz_fixity."""
    saved = {k: os.environ.get(k) for k in registrar_env}
    os.environ.update(registrar_env)
    try:
        stack = start_stack(
            folder,
            {
                "services": {
                    "dask_gateway": {"enabled": False},
                    "idle_culler": {"enabled": False},
                    "explorer": {"enabled": False},
                    "repository": {
                        "enabled": True,
                        "doi_prefix": "10.5072",
                        "max_upload": "8M",
                        "publisher_email": PUBLISHER_EMAIL,
                    }
                    | repository,
                }
            },
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    STACKS.append(stack.config_path)
    return stack


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    from standins import datacite

    url, handle = datacite.start()
    folder = tmp_path_factory.mktemp("repo-vre")
    # every published test file (a few kB) is "large": downloads go through the signed links
    stack = start_repository_stack(
        folder,
        {
            "registrar": "datacite",
            "datacite_url": url,
            "registrar_timeout": 2,
            "direct_downloads": {"min_size": "1K", "ttl": 60},
        },
        {"DATACITE_REPOSITORY_ID": "ODATIS.VRE", "DATACITE_PASSWORD": "datacite-test-password"},
    )
    e = Env(stack, handle, folder)
    r = stack.api("POST", "/groups/ocean-team")
    assert r.status_code in (201, 409), r.text
    for name, groups in (("alice", ()), ("bob", ()), ("carol", ("ocean-team",))):
        e.add_user(name, groups)
    e.wait_up()
    yield e
    stack.stop()
    handle.stop()


def _new_deposit(env: Env, user: str = "alice", key: str | None = None, **extra: Any) -> dict[str, Any]:
    r = env.post("api/deposits", user, json={"metadata": META, "key": key or f"k-{time.monotonic_ns()}"} | extra)
    assert r.status_code == 201, r.text
    return r.json()


def _findable(env: Env) -> list[str]:
    return [d for d, s in env.datacite.state.items() if s["state"] == "findable"]


@pytest.mark.slow
def test_no_write_without_hub_authentication(env: Env) -> None:
    r = env.post("api/deposits", json={"metadata": META, "key": "x"})
    assert r.status_code == 401 and "token" in r.json()["error"]
    r = env.post(
        "api/deposits", headers={"Authorization": "token not-a-real-token"}, json={"metadata": META, "key": "x"}
    )
    assert r.status_code == 401
    assert env.get("api/deposits").status_code == 401
    # a browser session (OAuth cookie) identifies the user for pages, but cannot write
    s = env.stack.login("alice", PASSWORD)
    page = s.get(env.repo + "login", timeout=60)
    assert page.status_code == 200 and "My deposits (alice)" in page.text
    r = s.post(env.repo + "api/deposits", json={"metadata": META, "key": "cookie"}, timeout=60)
    assert r.status_code == 403 and "token" in r.json()["error"]
    assert not [v for v in env.get("api/deposits", "alice").json() if v["title"] == META["title"]]


@pytest.mark.slow
def test_deposit_upload_publish_landing_download(env: Env, tmp_path: Path) -> None:
    nc = make_nc(tmp_path / "sst_biscay.nc")
    data = nc.read_bytes()
    key = "full-flow"
    v = _new_deposit(
        env,
        key=key,
        provenance=[{"name": "sample_sst_zarr", "title": "Daily SST", "doi": "10.17882/42182", "url": None}],
        notebook={"path": "analysis.ipynb", "sha256": sha(b"nb")},
    )
    assert v["doi"].startswith("10.5072/") and env.datacite.state[v["doi"]]["state"] == "draft"
    again = env.post("api/deposits", "alice", json={"metadata": META, "key": key})
    assert again.status_code == 200 and again.json()["id"] == v["id"] and again.json()["doi"] == v["doi"]
    c = env.client("alice")
    state = c.upload(v["id"], 1, nc, chunk_size=16 * 1024, progress=False)  # many chunks
    assert state["complete"] and state["sha256"] == sha(data) and state["size"] == len(data)
    pub = c.publish(v["id"], 1)
    assert pub["state"] == "published" and pub["doi"] == v["doi"]
    assert env.datacite.state[v["doi"]]["state"] == "findable"
    assert c.publish(v["id"], 1)["doi"] == v["doi"]  # publishing again is a no-op
    attrs = env.datacite.state[v["doi"]]["attributes"]
    assert attrs["url"] == pub["landing_url"]
    assert {
        "relatedIdentifier": "10.17882/42182",
        "relatedIdentifierType": "DOI",
        "relationType": "IsDerivedFrom",
    } in attrs["relatedIdentifiers"]

    # landing page: public, with citation, BibTeX, JSON-LD, files and checksums, preview
    page = env.get(f"datasets/{v['id']}/v1/")
    assert page.status_code == 200
    # 10.5072 is DataCite's test prefix: the page says the DOI does not resolve instead of linking doi.org
    assert "Carberry, J. (" in page.text and f"doi:{v['doi']}" in page.text and "NOT REGISTERED" in page.text
    assert sha(data) in page.text
    assert "@misc{" in page.text
    ld = json.loads(re.search(r"<script type='application/ld\+json'>(.*?)</script>", page.text, re.S).group(1))
    assert ld["@type"] == "Dataset" and v["doi"] in json.dumps(ld) and ld["distribution"][0]["name"] == nc.name
    assert env.get(f"datasets/{v['id']}/v1/citation.txt").text.startswith("Carberry, J. (")
    assert f"doi = {{{v['doi']}}}" in env.get(f"datasets/{v['id']}/v1/citation.bib").text
    assert env.get(f"datasets/{v['id']}/v1/datacite.json").json()["doi"] == v["doi"]
    xml = env.get(f"datasets/{v['id']}/v1/datacite.xml").text
    assert "<resource" in xml and v["doi"] in xml
    assert json.loads(env.get(f"datasets/{v['id']}/v1/schema.jsonld").text)["@type"] == "Dataset"
    png = env.get(f"datasets/{v['id']}/v1/preview.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n" and len(png.content) > 5000
    concept = env.get(f"datasets/{v['id']}/")  # the dataset over all its versions: lists v1, links its page
    assert concept.status_code == 200 and f"datasets/{v['id']}/v1/" in concept.text and v["doi"] in concept.text

    # downloads: whole, ranged, and through the client (checksum verified)
    url = f"datasets/{v['id']}/v1/files/{nc.name}"
    whole = env.get(url)
    assert whole.status_code == 200 and whole.content == data and "immutable" in whole.headers["Cache-Control"]
    part = env.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert c.download(v["id"], 1, nc.name, tmp_path / "back.nc", progress=False).read_bytes() == data
    listed = {x["id"] for x in env.get("api/published").json()}
    assert v["id"] in listed


@pytest.mark.slow
def test_large_published_files_leave_the_proxy_through_signed_links(env: Env, tmp_path: Path) -> None:
    from urllib.parse import parse_qs, urlparse

    from odatis_vre.publishing.repository import signed
    from odatis_vre.publishing.repository.server import Settings

    port = json.loads((env.folder / ".vre" / "ports.json").read_text())["repository"]
    settings = Settings.from_config(env.stack.cfg, port=port)
    key = signed.signing_key(settings.storage)
    direct = f"http://127.0.0.1:{port}/services/repository/"
    nc = make_nc(tmp_path / "big.nc", days=4)
    data = nc.read_bytes()
    v = _new_deposit(env)
    c = env.client("alice")
    c.upload(v["id"], 1, nc, progress=False)
    # a draft is served through the hub to its owner, never redirected (links are for published files)
    draft = env.get(f"datasets/{v['id']}/v1/files/big.nc", "alice", allow_redirects=False)
    assert draft.status_code == 200 and draft.content == data
    c.publish(v["id"], 1)

    # through the hub: a redirect to a link on the service's own port, never cached
    r = env.get(f"datasets/{v['id']}/v1/files/big.nc", allow_redirects=False)
    assert r.status_code == 307 and r.headers["Cache-Control"] == "no-store"
    link = r.headers["Location"]
    assert link.startswith(f"{direct}direct/{v['id']}/v1/big.nc?expires=")
    q = {k: x[0] for k, x in parse_qs(urlparse(link).query).items()}
    assert 0 < int(q["expires"]) - time.time() <= 60
    got = requests.get(link, timeout=60)
    assert got.status_code == 200 and got.content == data and "immutable" in got.headers["Cache-Control"]
    part = requests.get(link, headers={"Range": "bytes=10-109"}, timeout=60)
    assert part.status_code == 206 and part.content == data[10:110]
    # clients follow it (the token is not sent on to the other port), and the checksum is verified
    assert c.download(v["id"], 1, "big.nc", tmp_path / "back.nc", progress=False).read_bytes() == data
    # on the service's own port there is nothing to redirect
    assert (
        requests.get(f"{direct}datasets/{v['id']}/v1/files/big.nc", allow_redirects=False, timeout=60).status_code
        == 200
    )

    def refused(url: str, status: int, words: str) -> None:
        resp = requests.get(url, headers={"Accept": "application/json"}, timeout=60)
        assert resp.status_code == status and words in resp.json()["error"], (url, resp.status_code, resp.text)

    base = f"{direct}direct/{v['id']}/v1/big.nc"
    bad_sig = q["sig"][:-1] + ("0" if q["sig"][-1] != "0" else "1")
    refused(f"{base}?expires={q['expires']}&sig={bad_sig}", 403, "not valid")
    refused(f"{base}?expires={int(q['expires']) + 3600}&sig={q['sig']}", 403, "not valid")  # a longer life
    refused(f"{base}?sig={q['sig']}", 403, "expires")
    refused(f"{base}?expires=soon&sig={q['sig']}", 403, "expires")
    refused(f"{base}?expires={q['expires']}", 403, "not valid")
    # the link names one file of one version: another published file with the same signature is refused
    other = _new_deposit(env)
    c.upload(other["id"], 1, nc, progress=False)
    c.publish(other["id"], 1)
    refused(f"{direct}direct/{other['id']}/v1/big.nc?expires={q['expires']}&sig={q['sig']}", 403, "not valid")
    # expired: signed with the service's own key, an hour ago
    sha256 = sha(data)
    old = signed.DownloadLink(v["id"], 1, "big.nc", sha256, int(time.time()) - 3600)
    refused(f"{base}?{old.query(key)}", 403, "expired")
    # a draft is never served by a link, even one signed with the service's key; nor an unknown file
    d = _new_deposit(env)
    c.upload(d["id"], 1, nc, progress=False)
    forged = signed.DownloadLink(d["id"], 1, "big.nc", sha256, int(time.time()) + 600)
    for url in (
        f"{direct}direct/{d['id']}/v1/big.nc?{forged.query(key)}",
        f"{env.repo}direct/{d['id']}/v1/big.nc?{forged.query(key)}",
    ):
        refused(url, 404, "no published file")
    refused(f"{base.replace('big.nc', 'other.nc')}?{old.query(key)}", 404, "no published file")
    # bob still cannot reach alice's draft through the hub, redirected or not
    assert env.get(f"datasets/{d['id']}/v1/files/big.nc", "bob", allow_redirects=False).status_code == 404
    # the hub's route to the same link works too (the signature is the permission, not the route)
    assert (
        requests.get(f"{env.repo}direct/{v['id']}/v1/big.nc?expires={q['expires']}&sig={q['sig']}", timeout=60).content
        == data
    )


@pytest.mark.slow
def test_drafts_are_the_owners_and_shared_groups_only(env: Env, tmp_path: Path) -> None:
    v = _new_deposit(env)
    c = env.client("alice")
    c.upload(v["id"], 1, make_nc(tmp_path / "d.nc"), progress=False)
    paths = [
        f"api/deposits/{v['id']}",
        f"api/deposits/{v['id']}/v1",
        f"datasets/{v['id']}/v1/",
        f"datasets/{v['id']}/v1/files/d.nc",
        f"datasets/{v['id']}/v1/datacite.json",
        f"datasets/{v['id']}/v1/preview.png",
        f"datasets/{v['id']}/",
        f"datasets/{v['id']}/v1/zarr/zarr.json",
    ]
    for p in paths:
        assert env.get(p, "bob").status_code == 404, p
        assert env.get(p).status_code == 404, p
    assert env.get(f"api/deposits/{v['id']}/v1", "alice").status_code == 200
    assert env.get(f"datasets/{v['id']}/v1/", "alice").status_code == 200
    # the 404 of a draft and of nothing at all are the same page
    assert env.get(f"datasets/{v['id']}/v1/", "bob").text.replace(v["id"], "ID") == env.get(
        "datasets/zzzzzzzzzz/v1/", "bob"
    ).text.replace("zzzzzzzzzz", "ID")
    # bob's browser session: 404 too
    s = env.stack.login("bob", PASSWORD)
    s.get(env.repo + "login", timeout=60)
    assert s.get(env.repo + f"datasets/{v['id']}/v1/", timeout=60).status_code == 404
    # bob cannot write to alice's draft
    assert (
        env.post(
            f"api/deposits/{v['id']}/v1/files", "bob", json={"name": "x.nc", "size": 1, "sha256": sha(b"x")}
        ).status_code
        == 404
    )
    assert env.post(f"api/deposits/{v['id']}/v1/publish", "bob").status_code == 404
    assert requests.delete(env.repo + f"api/deposits/{v['id']}/v1", headers=env.h("bob"), timeout=30).status_code == 404
    # shared with a group: carol (a member) sees the draft, bob (not a member) still does not; neither writes
    assert env.put(f"api/deposits/{v['id']}/share", "alice", json={"groups": ["ocean-team"]}).status_code == 200
    assert env.get(f"datasets/{v['id']}/v1/", "carol").status_code == 200
    assert env.get(f"api/deposits/{v['id']}/v1", "bob").status_code == 404
    assert env.post(f"api/deposits/{v['id']}/v1/publish", "carol").status_code == 404


@pytest.mark.slow
def test_bad_file_names_sizes_and_checksums_are_refused(env: Env, tmp_path: Path) -> None:
    v = _new_deposit(env)
    files = f"api/deposits/{v['id']}/v1/files"
    storage = env.folder / ".vre-services" / "repository"
    for name in ("../../evil.nc", "a/b.nc", ".hidden", "..", "x\x00y"):
        r = env.post(files, "alice", json={"name": name, "size": 3, "sha256": sha(b"abc")})
        assert r.status_code == 400 and "file name" in r.json()["error"], (name, r.text)
    # encoded slashes in the URL do not escape either
    for raw in ("..%2F..%2Fevil.nc", "%2E%2E", "..%5Cevil"):
        r = requests.put(
            env.repo + f"{files}/{raw}",
            headers=env.h("alice") | {"Content-Range": "bytes 0-2/3"},
            data=b"abc",
            timeout=30,
        )
        assert r.status_code in (400, 404), (raw, r.status_code)
    # nothing was written under those names, inside the storage or anywhere above it
    for name in ("evil.nc", "..evil", ".hidden", "b.nc"):
        assert not list(env.folder.parent.rglob(name)), name
    assert {p.name for p in storage.iterdir()} <= {
        "drafts",
        "published",
        "cache",
        "registrar",
        "repository.sqlite",
        "repository.sqlite-wal",
        "repository.sqlite-shm",
        "download-signing-key",
    }

    # oversized: refused when announced, saying the limit and what to do
    r = env.post(files, "alice", json={"name": "big.nc", "size": MAX_UPLOAD + 1, "sha256": sha(b"")})
    assert r.status_code == 413 and "max_upload" in r.json()["error"] and "8M" in r.json()["error"]
    # a chunk larger than its Content-Range, or past the announced size
    assert env.post(files, "alice", json={"name": "s.bin", "size": 10, "sha256": sha(b"0123456789")}).status_code == 201
    r = env.put(f"{files}/s.bin", "alice", headers={"Content-Range": "bytes 0-4/10"}, data=b"0123456789")
    assert r.status_code == 400
    r = env.put(f"{files}/s.bin", "alice", headers={"Content-Range": "bytes 0-19/20"}, data=b"0" * 20)
    assert r.status_code == 400 and "announced size" in r.json()["error"]
    assert env.get(f"{files}/s.bin", "alice").json()["received"] == 0

    # a wrong checksum: the upload is discarded, the message says to upload again; publication refused
    good = b"0123456789"
    assert env.post(files, "alice", json={"name": "w.bin", "size": 10, "sha256": sha(b"9876543210")}).status_code == 201
    r = env.put(f"{files}/w.bin", "alice", headers={"Content-Range": "bytes 0-9/10"}, data=good)
    assert r.status_code == 422 and "upload it again" in r.json()["error"] and sha(good) in r.json()["error"]
    st = env.get(f"{files}/w.bin", "alice").json()
    assert st["received"] == 0 and not st["complete"]
    r = env.post(f"api/deposits/{v['id']}/v1/publish", "alice")
    assert r.status_code == 409 and "incomplete" in r.json()["error"]
    assert env.get(f"api/deposits/{v['id']}/v1", "alice").json()["state"] == "draft"
    # a chunk that does not start where the service stands
    r = env.put(f"{files}/w.bin", "alice", headers={"Content-Range": "bytes 5-9/10"}, data=good[5:])
    assert r.status_code == 409 and "resume from offset 0" in r.json()["error"]


@pytest.mark.slow
def test_missing_metadata_and_non_cf_files_are_refused(env: Env, tmp_path: Path) -> None:
    bad = {k: v for k, v in META.items() if k not in ("creators", "licence")}
    r = env.post("api/deposits", "alice", json={"metadata": bad, "key": "bad-md"})
    assert r.status_code == 422
    assert "creators" in r.json()["error"] and "licence" in r.json()["error"]
    n_dois = len(env.datacite.state)
    # a non-CF file uploaded through the API: publication is refused naming the attributes
    v = _new_deposit(env)
    nc = make_nc(tmp_path / "nocf.nc", cf=False)
    env.client("alice").upload(v["id"], 1, nc, progress=False)
    r = env.post(f"api/deposits/{v['id']}/v1/publish", "alice")
    assert r.status_code == 422, r.text
    msg = r.json()["error"]
    assert "Conventions" in msg or "standard_name" in msg or "units" in msg
    got = env.get(f"api/deposits/{v['id']}/v1", "alice").json()
    assert got["state"] == "draft" and env.datacite.state[got["doi"]]["state"] == "draft"
    assert len(env.datacite.state) == n_dois + 1  # the reserved draft DOI only
    # publish.deposit refuses it before sending anything
    from odatis_vre import publish
    from odatis_vre.publishing import conventions

    mine = len(env.get("api/deposits", "alice").json())
    with pytest.raises(conventions.ConventionsError):
        publish.deposit(nc, META, repository_url=env.repo, token=env.tokens["alice"], progress=False)
    assert len(env.get("api/deposits", "alice").json()) == mine


@pytest.mark.slow
def test_upload_resumes_after_the_service_is_killed(env: Env, tmp_path: Path) -> None:
    blob = np.random.default_rng(5).bytes(3 * 1024 * 1024)
    f = tmp_path / "blob.bin"
    f.write_bytes(blob)
    v = _new_deposit(env)
    c = env.client("alice", retries=30, backoff=0.2)
    real_put = c.session.put
    calls = {"n": 0, "killed": 0}

    def slow_put(url: str, data: bytes = b"", **kw: Any) -> requests.Response:
        calls["n"] += 1
        if calls["n"] != 3:
            return real_put(url, data=data, **kw)

        # the third chunk trickles in; the service is killed while it arrives
        def pieces() -> Any:
            for i in range(0, len(data), 32 * 1024):
                time.sleep(0.01)
                yield data[i : i + 32 * 1024]

        pid = env.service_pid()
        threading.Timer(0.15, lambda: (os.kill(pid, signal.SIGKILL), calls.__setitem__("killed", pid))).start()
        return real_put(url, data=pieces(), **kw)

    c.session.put = slow_put  # type: ignore[method-assign]
    state = c.upload(v["id"], 1, f, chunk_size=512 * 1024, progress=False)
    assert calls["killed"], "the service was not killed during the upload"
    assert state["complete"] and state["sha256"] == sha(blob)
    env.wait_up()
    assert env.service_pid() != calls["killed"]  # the hub restarted it
    pub = c.publish(v["id"], 1)
    assert pub["state"] == "published"
    assert env.get(f"datasets/{v['id']}/v1/files/blob.bin").content == blob


@pytest.mark.slow
@pytest.mark.parametrize("fault", [500, "timeout", "commit-then-drop"])
def test_registrar_failure_leaves_a_draft_and_retry_publishes_once(env: Env, tmp_path: Path, fault: Any) -> None:
    nc = make_nc(tmp_path / f"f{fault}.nc")
    v = _new_deposit(env)
    c = env.client("alice", retries=1)
    c.upload(v["id"], 1, nc, progress=False)
    env.datacite.fail_next(fault, "/dois", method="PUT", times=5, delay=3)
    try:
        first = c.publish(v["id"], 1)
    except RepositoryError as exc:
        first = None
        assert exc.status in (502, 503) and "DataCite" in str(exc), str(exc)
    env.datacite.faults.clear()
    if fault != "commit-then-drop":  # a lost answer after the commit is recovered inside the first call
        assert first is None
    if first is None:
        got = env.get(f"api/deposits/{v['id']}/v1", "alice").json()
        assert got["state"] == "draft"  # nothing half-published: no landing page, no files served
        assert env.get(f"datasets/{v['id']}/v1/").status_code == 404
        assert env.get(f"datasets/{v['id']}/v1/files/{nc.name}").status_code == 404
        assert f"repo_{v['id']}_v1" not in env.get("catalog.yaml").text
    before = set(env.datacite.state)
    pub = env.client("alice").publish(v["id"], 1)
    assert pub["state"] == "published" and pub["doi"] == v["doi"]
    # no second version DOI (the dataset's concept DOI, registered with its first publication, is the only new one)
    assert set(env.datacite.state) - before <= {pub["concept_doi"]}
    assert env.datacite.state[v["doi"]]["state"] == "findable"
    assert sum(1 for d in env.datacite.state.values() if d["attributes"].get("url") == pub["landing_url"]) == 1


@pytest.mark.slow
def test_reserve_failure_then_retry_makes_one_doi(env: Env) -> None:
    key = f"reserve-{time.monotonic_ns()}"
    before = set(env.datacite.state)
    env.datacite.fail_next(500, "/dois", method="POST", times=5)
    r = env.post("api/deposits", "alice", json={"metadata": META, "key": key})
    assert r.status_code == 503 and r.json()["retryable"] and "DataCite" in r.json()["error"], r.text
    env.datacite.faults.clear()
    assert set(env.datacite.state) == before
    # the registrar commits, then the connection drops: the retry inside finds the same DOI
    env.datacite.fail_next("commit-then-drop", "/dois", method="POST")
    r2 = env.post("api/deposits", "alice", json={"metadata": META, "key": key})
    assert r2.status_code == 200 and r2.json()["doi"], r2.text
    r3 = env.post("api/deposits", "alice", json={"metadata": META, "key": key})
    assert r3.json()["doi"] == r2.json()["doi"] and r3.json()["id"] == r2.json()["id"]
    assert set(env.datacite.state) - before == {r2.json()["doi"]}


@pytest.mark.slow
def test_new_versions_never_change_old_ones(env: Env, tmp_path: Path) -> None:
    c = env.client("alice")
    v1 = _new_deposit(env)
    a = make_nc(tmp_path / "a.nc", days=2)
    c.upload(v1["id"], 1, a, progress=False)
    p1 = c.publish(v1["id"], 1)
    before = (
        env.get(f"datasets/{v1['id']}/v1/files/a.nc").content,
        env.get(f"datasets/{v1['id']}/v1/datacite.json").json(),
    )
    r = env.post(
        f"api/deposits/{v1['id']}/versions",
        "alice",
        json={"metadata": META | {"title": META["title"] + " v2"}, "key": f"v2-{v1['id']}"},
    )
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert v2["version"] == 2 and v2["doi"] != p1["doi"]
    # no second draft while one is open; bob cannot version alice's dataset
    assert (
        env.post(f"api/deposits/{v1['id']}/versions", "alice", json={"metadata": META, "key": "other"}).status_code
        == 409
    )
    assert env.post(f"api/deposits/{v1['id']}/versions", "bob", json={"metadata": META, "key": "b"}).status_code == 404
    b = make_nc(tmp_path / "a.nc", days=4)  # same name, other content
    c.upload(v1["id"], 2, b, progress=False)
    c.publish(v1["id"], 2)
    after = (
        env.get(f"datasets/{v1['id']}/v1/files/a.nc").content,
        env.get(f"datasets/{v1['id']}/v1/datacite.json").json(),
    )
    assert after == before
    assert env.get(f"datasets/{v1['id']}/v2/files/a.nc").content == b.read_bytes() != before[0]
    concept = env.get(f"datasets/{v1['id']}/")
    assert '/v2/>; rel="item"' in concept.headers["Link"] and p1["doi"] in concept.text and v2["doi"] in concept.text
    # v2's DataCite record (registered and served) names v1's DOI as the version it replaces
    link = {"relatedIdentifier": p1["doi"], "relatedIdentifierType": "DOI", "relationType": "IsNewVersionOf"}
    assert link in env.datacite.state[v2["doi"]]["attributes"]["relatedIdentifiers"]
    assert link in env.get(f"datasets/{v1['id']}/v2/datacite.json").json()["relatedIdentifiers"]
    # a published version's files cannot be replaced
    r = env.post(f"api/deposits/{v1['id']}/v1/files", "alice", json={"name": "a.nc", "size": 1, "sha256": sha(b"x")})
    assert r.status_code == 409 and "new version" in r.json()["error"]


@pytest.mark.slow
def test_zarr_opendap_and_catalogue_serve_the_published_data(env: Env, tmp_path: Path) -> None:
    import netCDF4
    import xarray as xr

    from odatis_vre import catalog

    nc = make_nc(tmp_path / "served.nc", days=6)
    v = _new_deposit(env, theme="physics")
    c = env.client("alice")
    c.upload(v["id"], 1, nc, progress=False)
    pub = c.publish(v["id"], 1)
    ref = xr.open_dataset(nc)
    base = pub["landing_url"]
    z = xr.open_zarr(base + "zarr")
    np.testing.assert_array_equal(z.analysed_sst.values, ref.analysed_sst.values)
    np.testing.assert_array_equal(z.lat.values, ref.lat.values)
    # OPeNDAP, including strided hyperslabs (compared with xarray's own indexing)
    with netCDF4.Dataset(base + "opendap") as dap:
        var = dap.variables["analysed_sst"]
        var.set_auto_maskandscale(True)
        got = np.ma.filled(var[0:6:2, 0:40:3, 5:50:7], np.nan)
        want = ref.analysed_sst.isel(time=slice(0, 6, 2), lat=slice(0, 40, 3), lon=slice(5, 50, 7)).values
        np.testing.assert_allclose(got, want, equal_nan=True)
        np.testing.assert_allclose(dap.variables["lat"][::4], ref.lat.values[::4])
    # the catalogue fragment: a valid entry of the VRE catalogue, with the DOI, that loads the data
    frag = c.catalog(tmp_path / "repo.yaml")
    name = f"repo_{v['id']}_v1"
    raw = yaml.safe_load(frag.read_text())["sources"][name]
    assert raw["metadata"]["doi"] == pub["doi"] and catalog.validate_entry(name, raw) == []
    ds = catalog.load(name, catalog=frag, bbox=(-10, 43, -2, 48))
    np.testing.assert_array_equal(
        ds.analysed_sst.values, ref.analysed_sst.sel(lat=slice(43, 48), lon=slice(-10, -2)).values
    )
    assert pub["doi"] in catalog.cite(name, catalog=frag)
    # drafts and unknown versions are not served
    assert env.get(f"datasets/{v['id']}/v9/zarr/zarr.json").status_code == 404


@pytest.mark.slow
def test_cli_list_and_fsck(env: Env) -> None:
    from click.testing import CliRunner

    from odatis_vre.cli import main

    cfg = str(env.stack.config_path)
    out = CliRunner().invoke(main, ["repository", "list", "--state", "published", "--json", "--config", cfg])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert rows and all(r["state"] == "published" and r["doi"].startswith("10.5072/") for r in rows)
    out = CliRunner().invoke(main, ["repository", "fsck", "--json", "--config", cfg])
    report = json.loads(out.output)
    assert out.exit_code == 0 and report["problems"] == [] and report["files"] >= len(rows)


@pytest.mark.slow
def test_cli_publish_checks_the_registrar_and_is_idempotent(env: Env, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from odatis_vre.cli import main

    nc = make_nc(tmp_path / "cli_sst.nc", days=2)
    meta = tmp_path / "meta.yaml"
    meta.write_text(yaml.safe_dump(META | {"title": "SST published from the command line"}))
    base = ["publish", str(nc), "--metadata", str(meta), "--repository-url", env.repo, "--json"]
    env_vars = {"ODATIS_VRE_REPOSITORY_TOKEN": env.tokens["bob"], "ODATIS_VRE_DEPOSIT_DIR": str(tmp_path / "dep")}
    out = CliRunner().invoke(main, base + ["--registrar", "zenodo"], env=env_vars)
    assert out.exit_code == 1 and "registers DOIs with 'datacite'" in out.output
    assert not [v for v in env.get("api/deposits", "bob").json() if "command line" in v["title"]]
    out = CliRunner().invoke(main, base + ["--registrar", "datacite"], env=env_vars)
    assert out.exit_code == 0, out.output
    first = json.loads(out.output)
    assert first["state"] == "published" and first["doi"].startswith("10.5072/")
    again = json.loads(CliRunner().invoke(main, base, env=env_vars).output)
    assert (again["id"], again["doi"]) == (first["id"], first["doi"])  # the same deposit, no second DOI
    assert sum(1 for v in env.get("api/published").json() if v["doi"] == first["doi"]) == 1
    # a missing mandatory field (that the file's ACDD attributes cannot supply): refused before anything is sent
    mine = len(env.get("api/deposits", "bob").json())
    meta.write_text(yaml.safe_dump({k: v for k, v in META.items() if k != "creators"} | {"title": "No creators"}))
    out = CliRunner().invoke(main, base, env=env_vars)
    assert out.exit_code == 1 and "creators: missing" in out.output
    assert len(env.get("api/deposits", "bob").json()) == mine
    # a file with its source's attributes only: refused as it is (naming them), published with --annotate
    import xarray as xr

    from odatis_vre.data import samples
    from odatis_vre.publishing import conventions

    raw = conventions.to_netcdf(samples.sst_dataset(days=2), tmp_path / "cli_raw.nc")
    meta.write_text(yaml.safe_dump(META | {"title": "SST annotated from the command line"}))
    base = ["publish", str(raw), "--metadata", str(meta), "--repository-url", env.repo, "--json"]
    out = CliRunner().invoke(main, base, env=env_vars)
    assert out.exit_code == 1 and "creator_email" in out.output and "--annotate" in out.output, out.output
    assert len(env.get("api/deposits", "bob").json()) == mine
    out = CliRunner().invoke(main, base + ["--annotate"], env=env_vars)
    assert out.exit_code == 0, out.output
    annotated = json.loads(out.output)
    assert annotated["state"] == "published" and annotated["scores"]["acdd"]["percent"] >= 95
    got = env.get(f"datasets/{annotated['id']}/v1/files/{annotated['files'][0]['name']}").content
    (tmp_path / "got.nc").write_bytes(got)
    with xr.open_dataset(tmp_path / "got.nc") as ds:
        assert ds.attrs["creator_email"] == META["creators"][0]["email"] and ds.attrs["id"] == annotated["doi"]


@pytest.mark.slow
def test_deposit_resumes_an_upload_a_crashed_client_left(env: Env, tmp_path: Path) -> None:
    from odatis_vre import publish

    nc = make_nc(tmp_path / "resume.nc", days=8)
    data = nc.read_bytes()
    key = f"resume-{time.monotonic_ns()}"
    # a first client announced the file, sent half of it, and died
    v = env.post("api/deposits", "alice", json={"metadata": META, "key": key}).json()
    files = f"api/deposits/{v['id']}/v1/files"
    env.post(files, "alice", json={"name": nc.name, "size": len(data), "sha256": sha(data)})
    half = len(data) // 2
    r = env.put(
        f"{files}/{nc.name}", "alice", headers={"Content-Range": f"bytes 0-{half - 1}/{len(data)}"}, data=data[:half]
    )
    assert r.status_code == 200 and r.json()["received"] == half
    # running the deposit again finishes the same draft: same id, same DOI, the file complete and verified
    d = publish.deposit(
        nc, META, key=key, repository_url=env.repo, token=env.tokens["alice"], progress=False, registrar="datacite"
    )
    assert (d.id, d.doi, d.state) == (v["id"], v["doi"], "published")
    assert [f["sha256"] for f in d.files] == [sha(data)]
    assert env.get(f"datasets/{d.id}/v1/files/{nc.name}").content == data
