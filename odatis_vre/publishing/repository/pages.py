"""HTML pages, exports and the intake catalogue fragment of the repository (plain strings, no template engine).

>>> media_type("sst.nc"), media_type("x.zarr.zip")
('application/x-netcdf', 'application/zip')
"""

from __future__ import annotations

import html
import json
import mimetypes
from typing import Any

import yaml

_TYPES = {
    ".nc": "application/x-netcdf",
    ".nc4": "application/x-netcdf",
    ".zarr.zip": "application/zip",
    ".csv": "text/csv",
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".md": "text/markdown",
}

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;
color:#102a43;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #d9e2ec}
code,pre{background:#f0f4f8;border-radius:4px} pre{padding:.6rem;overflow-x:auto;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.9rem} td,th{border-bottom:1px solid #e4e7eb;padding:.3rem;text-align:left}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-size:.8rem;background:#d9e2ec}
.draft{background:#ffe3a3} .published{background:#c6f7e2} .warn{background:#ffd0d0}
.sha{font-family:monospace;font-size:.75rem;word-break:break-all} a{color:#0b69a3}
"""


def media_type(name: str) -> str:
    """The media type of a file, by its name."""
    low = name.lower()
    for suffix, t in _TYPES.items():
        if low.endswith(suffix):
            return t
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _e(x: Any) -> str:
    return html.escape(str(x if x is not None else ""))


def _page(title: str, body: str, prefix: str, head: str = "") -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style>{head}</head><body>"
        f"<p><a href='{_e(prefix)}'>ODATIS repository</a> · <a href='/hub/home'>VRE home</a></p>{body}</body></html>"
    )


def human(n: int) -> str:
    """``1234567`` → ``'1.2 MB'``."""
    x = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if x < 1000 or unit == "TB":
            return f"{int(x)} bytes" if unit == "bytes" else f"{x:.1f} {unit}"
        x /= 1000
    return str(n)


def urls(v: dict[str, Any], repo: Any) -> dict[str, str]:
    """Public URLs of a version: landing page, Zarr, OPeNDAP, files."""
    base = repo.landing_url(v["id"], v["version"])
    return {"landing": base, "zarr": base + "zarr", "opendap": base + "opendap", "files": base + "files/"}


def _registered(repo: Any, doi: str | None) -> bool:
    from .. import metadata

    if not doi:
        return False
    try:
        if not repo.registrar.registered:
            return False
    except Exception:  # noqa: BLE001 — a misconfigured registrar: say "not registered"
        return False
    return metadata.is_registered(doi)


def public_summary(v: dict[str, Any], repo: Any) -> dict[str, Any]:
    """What the API lists about a version."""
    return {
        "id": v["id"],
        "version": v["version"],
        "state": v["state"],
        "doi": v.get("doi"),
        "title": v["metadata"].get("title"),
        "owner": v["owner"],
        "published": v.get("published"),
        "landing_url": repo.landing_url(v["id"], v["version"]),
        "files": [{k: f[k] for k in ("name", "size", "sha256")} for f in v["files"]],
    }


def error_page(status: int, message: str, prefix: str, *, logged_in: bool) -> str:
    hint = (
        ""
        if logged_in or status != 404
        else f"<p>If this is your draft, <a href='{_e(prefix)}login'>log in</a> to see it.</p>"
    )
    return _page(f"{status}", f"<h1>{status}</h1><p>{_e(message)}</p>{hint}", prefix)


def home_page(published: list[dict[str, Any]], mine: list[dict[str, Any]], repo: Any, user: str | None) -> str:
    prefix = repo.settings.prefix
    rows = (
        "".join(
            f"<tr><td><a href='{_e(prefix)}datasets/{v['id']}/v{v['version']}/'>{_e(v['metadata'].get('title'))}</a></td>"
            f"<td>v{v['version']}</td><td>{_e(v.get('doi'))}</td><td>{_e((v.get('published') or '')[:10])}</td></tr>"
            for v in published
        )
        or "<tr><td colspan=4>nothing published yet</td></tr>"
    )
    body = (
        f"<h1>ODATIS repository</h1><p>Datasets deposited from the VRE, with DOIs, served as files, Zarr and "
        f"OPeNDAP. Catalogue of everything published: <a href='{_e(prefix)}catalog.yaml'>catalog.yaml</a>.</p>"
        f"<h2>Published</h2><table><tr><th>title</th><th>version</th><th>DOI</th><th>date</th></tr>{rows}</table>"
    )
    if user:
        mrows = (
            "".join(
                f"<tr><td><a href='{_e(prefix)}datasets/{v['id']}/v{v['version']}/'>{_e(v['metadata'].get('title'))}</a>"
                f"</td><td>v{v['version']}</td><td><span class='badge {v['state']}'>{v['state']}</span></td></tr>"
                for v in mine
            )
            or "<tr><td colspan=3>none</td></tr>"
        )
        body += f"<h2>My deposits ({_e(user)})</h2><table>{mrows}</table>"
    else:
        body += f"<p><a href='{_e(prefix)}login'>Log in</a> to see your drafts.</p>"
    return _page("ODATIS repository", body, prefix)


def _json_script(data: Any) -> str:
    # "</" inside a <script> would end it early
    return json.dumps(data, indent=1, ensure_ascii=False).replace("</", "<\\/")


def landing_page(v: dict[str, Any], versions: list[dict[str, Any]], repo: Any) -> str:
    """The landing page of one version: citation, BibTeX, DataCite, JSON-LD, files, preview, access."""
    from .. import metadata

    prefix = repo.settings.prefix
    md = v["metadata"]
    u = urls(v, repo)
    attributes = v.get("attributes") or repo.attributes(v, doi=v.get("doi") or "")
    doi = v.get("doi")
    registered = _registered(repo, doi)
    files = [f | {"url": u["files"] + f["name"], "format": media_type(f["name"])} for f in v["files"] if f["complete"]]
    jsonld = metadata.schema_org(attributes, files, (v.get("extra") or {}).get("facts")) if doi else {}
    state = v["state"]
    title = md.get("title", "")
    doi_html = ""
    if doi:
        doi_html = (
            f"<a href='https://doi.org/{_e(doi)}'>https://doi.org/{_e(doi)}</a>"
            if registered
            else f"<code>doi:{_e(doi)}</code> <span class='badge warn'>local test identifier — NOT REGISTERED, it "
            f"does not resolve</span>"
        )
    creators = "; ".join(
        _e(c["name"])
        + (f" <a href='https://orcid.org/{_e(c['orcid'])}'>ORCID</a>" if c.get("orcid") else "")
        + "".join(
            f" ({_e(a['name'])}" + (f", <a href='{_e(a['ror'])}'>ROR</a>" if a.get("ror") else "") + ")"
            for a in (c.get("affiliation") or [])
        )
        for c in md.get("creators") or []
    )
    cite = (
        metadata.citation(attributes, registered=registered) if doi else "(the citation appears once a DOI is reserved)"
    )
    bib = metadata.bibtex(attributes, registered=registered) if doi else ""
    frows = "".join(
        f"<tr><td><a href='{_e(f['url'])}'>{_e(f['name'])}</a></td><td>{human(f['size'])}</td>"
        f"<td class=sha>{_e(f['sha256'])}</td></tr>"
        for f in files
    )
    pending = [f for f in v["files"] if not f["complete"]]
    if pending:
        frows += "".join(
            f"<tr><td>{_e(f['name'])}</td><td>uploading: {human(f['received'])} of {human(f['size'])}"
            f"</td><td class=sha>{_e(f['sha256'])}</td></tr>"
            for f in pending
        )
    vlinks = " · ".join(
        (
            f"<b>v{x['version']}</b>"
            if x["version"] == v["version"]
            else f"<a href='{_e(prefix)}datasets/{x['id']}/v{x['version']}/'>v{x['version']}</a>"
        )
        + ("" if x["state"] == "published" else " (draft)")
        for x in versions
    )
    summary = (v.get("extra") or {}).get("summary") or {}
    prov = (v.get("extra") or {}).get("provenance") or []
    prov_html = "".join(
        f"<li>{_e(p.get('title') or p.get('name'))}"
        + (
            f" — <a href='https://doi.org/{_e(p['doi'])}'>{_e(p['doi'])}</a>"
            if p.get("doi")
            else (f" — {_e(p.get('url'))}" if p.get("url") else "")
        )
        + "</li>"
        for p in prov
    )
    nb = (v.get("extra") or {}).get("notebook")
    extra = v.get("extra") or {}
    concept = extra.get("concept_doi")
    concept_html = (
        f"<p>All versions: <a href='{_e(repo.concept_url(v['id']))}'>concept record</a>"
        + (f" · concept DOI <code>{_e(concept)}</code>" if concept else "")
        + "</p>"
    )
    access = ""
    if state == "published" and any(
        f["name"].lower().endswith((".nc", ".nc4", ".netcdf", ".cdf", ".zarr.zip")) for f in files
    ):
        access = (
            f"<h2>Access</h2><ul><li>Zarr (v3) over HTTP: <code>{_e(u['zarr'])}</code></li>"
            f"<li>OPeNDAP: <code>{_e(u['opendap'])}</code></li>"
            f"<li>Catalogue entry <code>repo_{v['id']}_v{v['version']}</code> in "
            f"<a href='{_e(prefix)}catalog.yaml'>catalog.yaml</a></li></ul>"
            f"<pre>import xarray as xr\nds = xr.open_zarr({_e(json.dumps(u['zarr']))})</pre>"
        )
    body = (
        f"<h1>{_e(title)}</h1><p><span class='badge {state}'>{state}</span> version {v['version']} · {doi_html}</p>"
        f"<p>Versions: {vlinks}</p>{concept_html}"
        f"<h2>Cite as</h2><p id=citation>{_e(cite)}</p>"
        + (f"<details><summary>BibTeX</summary><pre id=bibtex>{_e(bib)}</pre></details>" if bib else "")
        + "<p>Metadata: <a href='datacite.json'>DataCite JSON</a> · <a href='datacite.xml'>DataCite XML</a> · "
        "<a href='citation.bib'>BibTeX</a> · <a href='citation.txt'>citation</a> · "
        "<a href='schema.jsonld'>schema.org JSON-LD</a>"
        + (" · <a href='stac.json'>STAC Item</a>" if state == "published" and extra.get("facts") else "")
        + "</p>"
        f"<h2>Description</h2><p>{_e(md.get('abstract'))}</p>"
        f"<p><b>Creators:</b> {creators}</p><p><b>Licence:</b> {_e(md.get('licence'))} · <b>Keywords:</b> "
        f"{_e(', '.join(md.get('keywords') or []))}</p>"
        + (
            facts_html(extra.get("facts"))
            if extra.get("facts")
            else (
                f"<p><b>Coverage:</b> box {_e(summary.get('bbox'))}, period {_e(summary.get('time_range'))}</p>"
                if summary
                else ""
            )
        )
        + scores_html(extra.get("scores"))
        + (f"<h2>Provenance</h2><ul>{prov_html}</ul>" if prov_html else "")
        + (
            f"<p><b>Notebook:</b> {_e(nb.get('path'))} <span class=sha>sha256 {_e(nb.get('sha256'))}</span></p>"
            if nb
            else ""
        )
        + f"<h2>Preview</h2><img src='preview.png' alt='map of {_e(title)}' width=480>"
        f"<h2>Files</h2><table><tr><th>file</th><th>size</th><th>SHA-256</th></tr>{frows}</table>{access}"
    )
    head = f"<script type='application/ld+json'>{_json_script(jsonld)}</script>" if jsonld else ""
    head += citation_meta(attributes, files) if doi else ""
    if state != "published":
        head += "<meta name=robots content=noindex>"
    return _page(title, body, prefix, head)


def facts_html(facts: dict[str, Any]) -> str:
    """What the data hold (computed at publication): coverage, bounds, variables."""
    rows = []
    t, g, z = facts.get("time"), facts.get("geospatial"), facts.get("vertical")
    if t:
        rows.append(
            (
                "Time coverage",
                f"{t['start']} → {t['end']} (duration {t['duration']}"
                + (f", step {t['resolution']}" if t.get("resolution") else "")
                + ")",
            )
        )
    if g:
        rows.append(("Box (W, S, E, N)", f"{g['lon_min']}, {g['lat_min']}, {g['lon_max']}, {g['lat_max']}"))
        rows.append(("Bounds", f"{g['bounds']} ({g['bounds_crs']})"))
    if z:
        rows.append(("Vertical", f"{z['min']} to {z['max']} {z.get('units') or ''} (positive {z.get('positive')})"))
    dims = facts.get("dims") or {}
    if dims:
        rows.append(("Dimensions", ", ".join(f"{k}: {n}" for k, n in dims.items())))
    table = "".join(f"<tr><th>{_e(k)}</th><td>{_e(val)}</td></tr>" for k, val in rows)
    variables = "".join(
        f"<tr><td><code>{_e(x['name'])}</code></td><td>{_e(x.get('standard_name'))}</td>"
        f"<td>{_e(x.get('units'))}</td><td>{_e(x.get('long_name'))}</td></tr>"
        for x in facts.get("variables") or []
    )
    return (
        f"<h2>What the data hold</h2><table id=facts>{table}</table>"
        f"<table id=variables><tr><th>variable</th><th>CF standard name</th><th>units</th><th>long name</th></tr>"
        f"{variables}</table>"
    )


def scores_html(scores: dict[str, Any] | None) -> str:
    """compliance-checker's CF and ACDD scores of the data file, and what is still missing."""
    if not scores:
        return ""
    parts = []
    for family in ("cf", "acdd"):
        sc = scores.get(family)
        if sc:
            parts.append(
                f"<li id=score-{family}>{_e(sc['checker'])}: {sc['scored']}/{sc['possible']} points "
                f"({sc['percent']:g} %), {sc['high']} high-priority issue(s)</li>"
            )
    failed = [m for family in ("cf", "acdd") for m in (scores.get(family) or {}).get("failed", [])]
    more = (
        ("<details><summary>Not met</summary><ul>" + "".join(f"<li>{_e(m)}</li>" for m in failed) + "</ul></details>")
        if failed
        else ""
    )
    return (
        f"<h2>Conventions</h2><p>Checked with {_e(scores.get('tool'))} ({_e(scores.get('rule'))}).</p>"
        f"<ul>{''.join(parts)}</ul>{more}"
    )


def citation_meta(attributes: dict[str, Any], files: list[dict[str, Any]]) -> str:
    """Highwire Press ``citation_*`` meta tags (Google Scholar, Zotero, reference managers)."""
    tags: list[tuple[str, Any]] = [("citation_title", (attributes.get("titles") or [{}])[0].get("title"))]
    tags += [("citation_author", c.get("name")) for c in attributes.get("creators") or []]
    tags += [
        ("citation_publication_date", attributes.get("publicationYear")),
        ("citation_publisher", (attributes.get("publisher") or {}).get("name")),
        ("citation_doi", attributes.get("doi")),
        ("citation_version", attributes.get("version")),
        ("citation_abstract_html_url", attributes.get("url")),
    ]
    tags += [("citation_keywords", "; ".join(s["subject"] for s in attributes.get("subjects") or []))]
    return "".join(f"<meta name='{k}' content='{_e(val)}'>" for k, val in tags if val)


def signposting(v: dict[str, Any], attributes: dict[str, Any], repo: Any) -> list[str]:
    """FAIR Signposting ``Link`` header values of a landing page: cite-as, describedby, item, license, type,
    author, collection (https://signposting.org/FAIR/)."""
    from .. import metadata

    u = urls(v, repo)
    doi = v.get("doi")
    links = [f'<{f"https://doi.org/{doi}" if doi and _registered(repo, doi) else u["landing"]}>; rel="cite-as"']
    for name, ctype in (
        ("datacite.xml", "application/vnd.datacite.datacite+xml"),
        ("datacite.json", "application/vnd.datacite.datacite+json"),
        ("schema.jsonld", "application/ld+json"),
    ):
        links.append(f'<{u["landing"]}{name}>; rel="describedby"; type="{ctype}"')
    if v["state"] == "published" and (v.get("extra") or {}).get("facts"):
        links.append(f'<{u["landing"]}stac.json>; rel="describedby"; type="application/geo+json"')
    for f in v["files"]:
        if f["complete"]:
            links.append(f'<{u["files"]}{f["name"]}>; rel="item"; type="{media_type(f["name"])}"')
    lic = metadata.LICENCES.get(v["metadata"].get("licence") or "")
    if lic:
        links.append(f'<{lic[1]}>; rel="license"')
    links += ['<https://schema.org/Dataset>; rel="type"', '<https://schema.org/AboutPage>; rel="type"']
    for c in attributes.get("creators") or []:
        for ni in c.get("nameIdentifiers") or []:
            links.append(f'<{ni["nameIdentifier"]}>; rel="author"')
    links.append(f'<{repo.concept_url(v["id"])}>; rel="collection"; type="text/html"')
    return links


def concept_page(ds_id: str, versions: list[dict[str, Any]], repo: Any) -> str:
    """The landing page of a dataset over all its versions: its concept DOI and every version."""
    from .. import metadata

    prefix = repo.settings.prefix
    latest = versions[-1]
    published = [x for x in versions if x["state"] == "published"]
    concept = next(
        (
            (x.get("extra") or {}).get("concept_doi")
            for x in reversed(published)
            if (x.get("extra") or {}).get("concept_doi")
        ),
        None,
    )
    rows = "".join(
        f"<tr><td><a href='{_e(prefix)}datasets/{x['id']}/v{x['version']}/'>v{x['version']}</a></td>"
        f"<td>{_e(x['metadata'].get('title'))}</td><td class=doi>{_e(x.get('doi'))}</td>"
        f"<td>{_e((x.get('published') or '')[:10]) or x['state']}</td></tr>"
        for x in reversed(versions)
    )
    cite = ""
    if concept and published:
        attrs = dict(published[-1].get("attributes") or {}) | {"doi": concept}
        attrs.pop("version", None)
        cite = metadata.citation(attrs, registered=_registered(repo, concept))
    doi_html = (
        (
            f"<p>Concept DOI (all versions; cite a version's DOI for exact data): <code id=concept-doi>"
            f"{_e(concept)}</code></p><p id=citation>{_e(cite)}</p>"
        )
        if concept
        else "<p>No version is published yet.</p>"
    )
    body = (
        f"<h1>{_e(latest['metadata'].get('title'))}</h1>{doi_html}"
        f"<h2>Versions</h2><table id=versions><tr><th>version</th><th>title</th><th>DOI</th><th>published</th></tr>"
        f"{rows}</table>"
    )
    head = ""
    if concept:
        head = f"<meta name='citation_doi' content='{_e(concept)}'>"
    return _page(str(latest["metadata"].get("title", "")), body, prefix, head)


def export(what: str, v: dict[str, Any], attributes: dict[str, Any], repo: Any) -> tuple[str, str]:
    """``(content type, body)`` of a metadata export of a version."""
    from .. import metadata

    registered = _registered(repo, v.get("doi"))
    if what == "datacite.json":
        return "application/vnd.datacite.datacite+json", json.dumps(attributes, indent=1, ensure_ascii=False)
    if what == "datacite.xml":
        return "application/vnd.datacite.datacite+xml", metadata.datacite_xml(attributes)
    if what == "citation.txt":
        return "text/plain; charset=utf-8", metadata.citation(attributes, registered=registered) + "\n"
    if what == "citation.bib":
        return "application/x-bibtex; charset=utf-8", metadata.bibtex(attributes, registered=registered) + "\n"
    if what == "schema.jsonld":
        u = urls(v, repo)
        files = [f | {"url": u["files"] + f["name"], "format": media_type(f["name"])} for f in v["files"]]
        return "application/ld+json", json.dumps(
            metadata.schema_org(attributes, files, (v.get("extra") or {}).get("facts")), indent=1, ensure_ascii=False
        )
    if what == "stac.json":
        return "application/geo+json", json.dumps(stac_item(v, attributes, repo), indent=1, ensure_ascii=False)
    raise ValueError(what)


def stac_item(v: dict[str, Any], attributes: dict[str, Any], repo: Any) -> dict[str, Any]:
    """The STAC Item of a published version (validated by pystac against the STAC 1.1 schemas)."""
    from .. import metadata
    from . import stac
    from .dissemination import data_file
    from .store import NotFound

    facts = (v.get("extra") or {}).get("facts")
    if v["state"] != "published" or not facts:
        raise NotFound("a STAC Item exists for published versions with a data file only")
    u = urls(v, repo)
    files = [f | {"url": u["files"] + f["name"], "format": media_type(f["name"])} for f in v["files"]]
    served = data_file(v["files"]) is not None
    lic = metadata.LICENCES.get(v["metadata"].get("licence") or "")
    item = stac.item_for(
        f"{v['id']}.v{v['version']}",
        facts,
        v["metadata"],
        doi=v.get("doi"),
        landing_url=u["landing"],
        files=files,
        zarr_url=u["zarr"] if served else None,
        opendap_url=u["opendap"] if served else None,
        published=v.get("published"),
        licence_url=lic[1] if lic else None,
    )
    out = stac.item_dict(item, u["landing"] + "stac.json")
    # added after validation: pystac would follow a root link, i.e. ask this very service while it answers
    out["links"].append({"rel": "root", "href": repo.base_url + "stac/catalog.json", "type": "application/json"})
    return out


def catalog_entry(v: dict[str, Any], repo: Any) -> tuple[str, dict[str, Any]] | None:
    """``(name, entry)`` of a published version for an intake catalogue (``None`` if it has no data file)."""
    from .. import metadata
    from .dissemination import data_file

    if data_file(v["files"]) is None:
        return None
    md = v["metadata"]
    extra = v.get("extra") or {}
    summary = extra.get("summary") or {}
    attributes = v.get("attributes") or {}
    u = urls(v, repo)
    bbox = summary.get("bbox") or md.get("bbox") or [-180, -90, 180, 90]
    bbox = [float(x) for x in bbox][:4]
    tr = summary.get("time_range") or md.get("time_range") or [str(md.get("publication_year", "2026")) + "-01-01", None]
    variables = [
        {
            "name": x["name"],
            "standard_name": x.get("standard_name"),
            "units": x.get("units") or "",
            "long_name": x.get("long_name") or "",
        }
        for x in summary.get("variables") or []
    ] or [{"name": "unknown", "standard_name": None}]
    creators = "; ".join(c["name"] for c in md.get("creators") or [])
    entry = {
        "description": str(md.get("abstract") or ""),
        "driver": "zarr",
        "args": {"urlpath": u["zarr"], "consolidated": True},
        "metadata": {
            "title": md.get("title"),
            "theme": extra.get("theme") or "physics",
            "producer": creators or "unknown",
            "data_centre": md.get("publisher") or "ODATIS",
            "licence": md.get("licence"),
            "doi": v.get("doi"),
            "landing_page": u["landing"],
            "citation": metadata.citation(attributes, registered=_registered(repo, v.get("doi")))
            if attributes
            else md.get("title"),
            "bbox": bbox,
            "time_range": [str(tr[0])[:10] if tr[0] else None, str(tr[1])[:10] if tr[1] else None],
            "variables": variables,
            "keywords": list(md.get("keywords") or []),
            "access": {
                "protocol": "zarr-http",
                "login": False,
                "format": "zarr v3 (xpublish)",
                "root": repo.settings.public_url + repo.settings.prefix,
            },
            "repository": {
                "id": v["id"],
                "version": v["version"],
                "opendap": u["opendap"],
                "files": [
                    {"name": f["name"], "url": u["files"] + f["name"], "sha256": f["sha256"]} for f in v["files"]
                ],
            },
        },
    }
    return f"repo_{v['id']}_v{v['version']}", entry


def catalog_fragment(published: list[dict[str, Any]], repo: Any) -> str:
    """An intake (classic ``sources:``) catalogue of every published version, newest first."""
    sources = {}
    for v in published:
        item = catalog_entry(v, repo)
        if item:
            sources[item[0]] = item[1]
    doc = {
        "metadata": {
            "version": 1,
            "title": "ODATIS repository: published deposits",
            "source": repo.settings.public_url + repo.settings.prefix + "catalog.yaml",
        },
        "sources": sources,
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
