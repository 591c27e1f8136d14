"""Included catalogues (the repository's published datasets) join the VRE catalogue."""

from __future__ import annotations

import http.server
import threading
import warnings
from pathlib import Path

import pytest
import yaml

from odatis_vre import catalog

REPO = Path(__file__).resolve().parents[1]


def _entry(title: str, doi: str) -> dict:
    main = yaml.safe_load((REPO / "catalog" / "odatis.yaml").read_text())["sources"]["sample_chl"]
    entry = dict(main)
    entry["metadata"] = dict(main["metadata"], title=title, doi=doi)
    entry["args"] = dict(main["args"], urlpath=str(REPO / "catalog" / "data" / "chl_monthly.nc"))
    return entry


@pytest.fixture()
def served(tmp_path: Path):
    """An included catalogue served over HTTP from 127.0.0.1, as the repository serves its own."""
    (tmp_path / "published.yaml").write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "published_chl_v1": _entry("Published chlorophyll (v1)", "10.5072/odatis.abc"),
                    "sample_chl": _entry("A clash with the main file", "10.5072/odatis.clash"),
                }
            }
        )
    )
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    catalog.refresh()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/published.yaml"
    httpd.shutdown()
    catalog.refresh()


def test_included_entries_are_found_loaded_and_cited(
    served: str, sample_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(catalog.ENV_INCLUDES, served)
    cat = catalog.open()
    assert "published_chl_v1" in cat and "sample_sst_zarr" in cat
    # the main file wins a name clash
    assert cat.entry("sample_chl")["metadata"]["title"] != "A clash with the main file"
    assert [h["name"] for h in catalog.search("Published chlorophyll")][0] == "published_chl_v1"
    ds = catalog.load("published_chl_v1")
    assert "chl" in {v.lower() for v in ds.data_vars} or len(ds.data_vars) > 0
    assert "10.5072/odatis.abc" in catalog.cite("published_chl_v1")


def test_an_unreachable_include_leaves_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    monkeypatch.setenv(catalog.ENV_INCLUDES, f"http://127.0.0.1:{port}/catalog.yaml")
    catalog.refresh()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cat = catalog.open()
    assert "sample_sst_zarr" in cat
    msg = " ".join(str(w.message) for w in caught)
    assert f"127.0.0.1:{port}/catalog.yaml could not be read" in msg and "left out" in msg


def test_includes_key_in_the_file_and_a_broken_include(tmp_path: Path) -> None:
    main = yaml.safe_load((REPO / "catalog" / "odatis.yaml").read_text())
    (tmp_path / "extra.yaml").write_text(yaml.safe_dump({"sources": {"extra_chl": _entry("Extra", "10.5072/x")}}))
    (tmp_path / "broken.yaml").write_text("just: [a list, not sources]\n")
    main["includes"] = ["extra.yaml", "broken.yaml"]
    (tmp_path / "main.yaml").write_text(yaml.safe_dump(main))
    catalog.refresh()
    with pytest.warns(UserWarning, match="broken.yaml could not be read.*no 'sources' mapping"):
        cat = catalog.open(tmp_path / "main.yaml")
    assert "extra_chl" in cat and len(cat) == len(main["sources"]) + 1
