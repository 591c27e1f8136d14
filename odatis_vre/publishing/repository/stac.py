"""STAC Items of published versions (pystac), so that STAC catalogues (EDITO's data lake...) can list them.

Each published version is one Item: geometry and bbox from the box its coordinates span, datetime
range from its time coverage (facts computed at publication, :mod:`odatis_vre.publishing.datafacts`), assets
for its files, Zarr and OPeNDAP, links to its landing page, DataCite record and licence. The
repository serves the Items under ``datasets/<id>/v<n>/stac.json`` and a root Catalog at
``stac/catalog.json`` linking them.

>>> facts = {"geospatial": {"lon_min": -6.0, "lat_min": 44.0, "lon_max": -1.0, "lat_max": 48.0},
...          "time": {"start": "2023-06-01T00:00:00Z", "end": "2023-08-01T00:00:00Z"}, "variables": []}
>>> item = item_for("abcdefghij.v1", facts, {"title": "SST", "licence": "CC-BY-4.0"}, doi="10.5072/x",
...                 landing_url="https://vre.example.org/datasets/abcdefghij/v1/")
>>> item.bbox, item.properties["start_datetime"]
([-6.0, 44.0, -1.0, 48.0], '2023-06-01T00:00:00Z')
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

STAC_MEDIA = {"zarr": "application/vnd+zarr", "opendap": "application/vnd.opendap"}


def _when(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def item_for(
    item_id: str,
    facts: Mapping[str, Any],
    md: Mapping[str, Any],
    *,
    doi: str | None,
    landing_url: str,
    files: Sequence[Mapping[str, Any]] = (),
    zarr_url: str | None = None,
    opendap_url: str | None = None,
    published: str | None = None,
    licence_url: str | None = None,
) -> Any:
    """A ``pystac.Item`` for a published version (``item_id``: ``<id>.v<n>``)."""
    import pystac

    geo = facts.get("geospatial") or {}
    if geo:
        w, s, e, n = geo["lon_min"], geo["lat_min"], geo["lon_max"], geo["lat_max"]
        geometry = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
        bbox: list[float] | None = [w, s, e, n]
    else:
        geometry, bbox = None, None
    time = facts.get("time") or {}
    props: dict[str, Any] = {
        "title": md.get("title"),
        "description": md.get("abstract") or md.get("title"),
        "license": md.get("licence") or "other",
        "keywords": list(md.get("keywords") or []),
    }
    if time:
        props.update(start_datetime=time["start"], end_datetime=time["end"])
        when = None
    else:
        when = _when(published) if published else _dt.datetime.now(_dt.UTC)
    if doi:
        props["sci:doi"] = doi
    variables = [v for v in facts.get("variables") or []]
    item = pystac.Item(
        id=item_id,
        geometry=geometry,
        bbox=bbox,
        datetime=when,
        start_datetime=_when(time["start"]) if time else None,
        end_datetime=_when(time["end"]) if time else None,
        properties=props,
    )
    # pystac rewrites the range in its own format: keep the exact text the facts give
    if time:
        item.properties.update(start_datetime=time["start"], end_datetime=time["end"])
    if variables:
        item.properties["odatis:variables"] = [
            {k: v.get(k) for k in ("name", "standard_name", "units")} for v in variables
        ]
    for f in files:
        item.add_asset(
            f["name"],
            pystac.Asset(
                href=f["url"],
                media_type=f.get("format"),
                roles=["data"],
                title=f["name"],
                extra_fields={"file:size": f.get("size"), "file:checksum": "1220" + f["sha256"]}
                if f.get("sha256")
                else {},
            ),
        )
    if zarr_url:
        item.add_asset(
            "zarr",
            pystac.Asset(href=zarr_url, media_type=STAC_MEDIA["zarr"], roles=["data"], title="Zarr v3 over HTTP"),
        )
    if opendap_url:
        item.add_asset(
            "opendap",
            pystac.Asset(href=opendap_url, media_type=STAC_MEDIA["opendap"], roles=["data"], title="OPeNDAP (DAP2)"),
        )
    item.add_link(pystac.Link("about", landing_url, media_type="text/html", title="Landing page"))
    item.add_link(
        pystac.Link(
            "describedby",
            landing_url + "datacite.json",
            media_type="application/vnd.datacite.datacite+json",
            title="DataCite metadata",
        )
    )
    if doi:
        item.add_link(pystac.Link("cite-as", f"https://doi.org/{doi}", title="DOI"))
    if licence_url:
        item.add_link(pystac.Link("license", licence_url, title=md.get("licence")))
    return item


def item_dict(item: Any, self_href: str) -> dict[str, Any]:
    """The Item as JSON with its ``self`` link (validated against the STAC schemas by pystac first)."""
    item.set_self_href(self_href)
    item.validate()
    return item.to_dict(include_self_link=True, transform_hrefs=False)


def catalog_dict(root_href: str, items: Sequence[tuple[str, str]], title: str) -> dict[str, Any]:
    """A root ``pystac.Catalog`` linking ``items`` (``(id, href)``): what STAC crawlers start from."""
    import pystac

    cat = pystac.Catalog(id="odatis-repository", description=title, title=title)
    cat.validate()
    out = cat.to_dict(include_self_link=False, transform_hrefs=False)
    # links written as data: pystac would otherwise resolve them, fetching from this very service
    out["links"] = [
        {"rel": "self", "href": root_href, "type": "application/json"},
        {"rel": "root", "href": root_href, "type": "application/json"},
    ]
    out["links"] += [
        {"rel": "item", "href": href, "type": "application/geo+json", "title": item_id} for item_id, href in items
    ]
    return out
