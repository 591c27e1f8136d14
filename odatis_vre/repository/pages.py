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

_TYPES = {".nc": "application/x-netcdf", ".nc4": "application/x-netcdf", ".zarr.zip": "application/zip",
          ".csv": "text/csv", ".json": "application/json", ".yaml": "application/yaml", ".md": "text/markdown"}

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
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            f"<title>{_e(title)}</title><style>{STYLE}</style>{head}</head><body>"
            f"<p><a href='{_e(prefix)}'>ODATIS repository</a> · <a href='/hub/home'>VRE home</a></p>{body}</body></html>")


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
    return {"id": v["id"], "version": v["version"], "state": v["state"], "doi": v.get("doi"),
            "title": v["metadata"].get("title"), "owner": v["owner"], "published": v.get("published"),
            "landing_url": repo.landing_url(v["id"], v["version"]),
            "files": [{k: f[k] for k in ("name", "size", "sha256")} for f in v["files"]]}


def error_page(status: int, message: str, prefix: str, *, logged_in: bool) -> str:
    hint = "" if logged_in or status != 404 else \
        f"<p>If this is your draft, <a href='{_e(prefix)}login'>log in</a> to see it.</p>"
    return _page(f"{status}", f"<h1>{status}</h1><p>{_e(message)}</p>{hint}", prefix)


def home_page(published: list[dict[str, Any]], mine: list[dict[str, Any]], repo: Any, user: str | None) -> str:
    prefix = repo.settings.prefix
    rows = "".join(
        f"<tr><td><a href='{_e(prefix)}datasets/{v['id']}/v{v['version']}/'>{_e(v['metadata'].get('title'))}</a></td>"
        f"<td>v{v['version']}</td><td>{_e(v.get('doi'))}</td><td>{_e((v.get('published') or '')[:10])}</td></tr>"
        for v in published) or "<tr><td colspan=4>nothing published yet</td></tr>"
    body = (f"<h1>ODATIS repository</h1><p>Datasets deposited from the VRE, with DOIs, served as files, Zarr and "
            f"OPeNDAP. Catalogue of everything published: <a href='{_e(prefix)}catalog.yaml'>catalog.yaml</a>.</p>"
            f"<h2>Published</h2><table><tr><th>title</th><th>version</th><th>DOI</th><th>date</th></tr>{rows}</table>")
    if user:
        mrows = "".join(
            f"<tr><td><a href='{_e(prefix)}datasets/{v['id']}/v{v['version']}/'>{_e(v['metadata'].get('title'))}</a>"
            f"</td><td>v{v['version']}</td><td><span class='badge {v['state']}'>{v['state']}</span></td></tr>"
            for v in mine) or "<tr><td colspan=3>none</td></tr>"
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
    jsonld = metadata.schema_org(attributes, files) if doi else {}
    state = v["state"]
    title = md.get("title", "")
    doi_html = ""
    if doi:
        doi_html = (f"<a href='https://doi.org/{_e(doi)}'>https://doi.org/{_e(doi)}</a>" if registered else
                    f"<code>doi:{_e(doi)}</code> <span class='badge warn'>local test identifier — NOT REGISTERED, it "
                    f"does not resolve</span>")
    creators = "; ".join(
        _e(c["name"]) + (f" <a href='https://orcid.org/{_e(c['orcid'])}'>ORCID</a>" if c.get("orcid") else "")
        + "".join(f" ({_e(a['name'])}" + (f", <a href='{_e(a['ror'])}'>ROR</a>" if a.get("ror") else "") + ")"
                  for a in (c.get("affiliation") or []))
        for c in md.get("creators") or [])
    cite = metadata.citation(attributes, registered=registered) if doi else "(the citation appears once a DOI is reserved)"
    bib = metadata.bibtex(attributes, registered=registered) if doi else ""
    frows = "".join(
        f"<tr><td><a href='{_e(f['url'])}'>{_e(f['name'])}</a></td><td>{human(f['size'])}</td>"
        f"<td class=sha>{_e(f['sha256'])}</td></tr>" for f in files)
    pending = [f for f in v["files"] if not f["complete"]]
    if pending:
        frows += "".join(f"<tr><td>{_e(f['name'])}</td><td>uploading: {human(f['received'])} of {human(f['size'])}"
                         f"</td><td class=sha>{_e(f['sha256'])}</td></tr>" for f in pending)
    vlinks = " · ".join(
        (f"<b>v{x['version']}</b>" if x["version"] == v["version"] else
         f"<a href='{_e(prefix)}datasets/{x['id']}/v{x['version']}/'>v{x['version']}</a>")
        + ("" if x["state"] == "published" else " (draft)") for x in versions)
    summary = (v.get("extra") or {}).get("summary") or {}
    prov = (v.get("extra") or {}).get("provenance") or []
    prov_html = "".join(
        f"<li>{_e(p.get('title') or p.get('name'))}" + (f" — <a href='https://doi.org/{_e(p['doi'])}'>{_e(p['doi'])}</a>"
                                                       if p.get("doi") else (f" — {_e(p.get('url'))}" if p.get('url') else ""))
        + "</li>" for p in prov)
    nb = (v.get("extra") or {}).get("notebook")
    access = ""
    if state == "published" and any(f["name"].lower().endswith((".nc", ".nc4", ".netcdf", ".cdf", ".zarr.zip")) for f in files):
        access = (f"<h2>Access</h2><ul><li>Zarr (v3) over HTTP: <code>{_e(u['zarr'])}</code></li>"
                  f"<li>OPeNDAP: <code>{_e(u['opendap'])}</code></li>"
                  f"<li>Catalogue entry <code>repo_{v['id']}_v{v['version']}</code> in "
                  f"<a href='{_e(prefix)}catalog.yaml'>catalog.yaml</a></li></ul>"
                  f"<pre>import xarray as xr\nds = xr.open_zarr({_e(json.dumps(u['zarr']))})</pre>")
    body = (
        f"<h1>{_e(title)}</h1><p><span class='badge {state}'>{state}</span> version {v['version']} · {doi_html}</p>"
        f"<p>Versions: {vlinks}</p>"
        f"<h2>Cite as</h2><p id=citation>{_e(cite)}</p>"
        + (f"<details><summary>BibTeX</summary><pre id=bibtex>{_e(bib)}</pre></details>" if bib else "")
        + f"<p>Metadata: <a href='datacite.json'>DataCite JSON</a> · <a href='datacite.xml'>DataCite XML</a> · "
          f"<a href='citation.bib'>BibTeX</a> · <a href='citation.txt'>citation</a> · "
          f"<a href='schema.jsonld'>schema.org JSON-LD</a></p>"
        f"<h2>Description</h2><p>{_e(md.get('abstract'))}</p>"
        f"<p><b>Creators:</b> {creators}</p><p><b>Licence:</b> {_e(md.get('licence'))} · <b>Keywords:</b> "
        f"{_e(', '.join(md.get('keywords') or []))}</p>"
        + (f"<p><b>Coverage:</b> box {_e(summary.get('bbox'))}, period {_e(summary.get('time_range'))}</p>" if summary else "")
        + (f"<h2>Provenance</h2><ul>{prov_html}</ul>" if prov_html else "")
        + (f"<p><b>Notebook:</b> {_e(nb.get('path'))} <span class=sha>sha256 {_e(nb.get('sha256'))}</span></p>" if nb else "")
        + f"<h2>Preview</h2><img src='preview.png' alt='map of {_e(title)}' width=480>"
        f"<h2>Files</h2><table><tr><th>file</th><th>size</th><th>SHA-256</th></tr>{frows}</table>{access}"
    )
    head = f"<script type='application/ld+json'>{_json_script(jsonld)}</script>" if jsonld else ""
    if state != "published":
        head += "<meta name=robots content=noindex>"
    return _page(title, body, prefix, head)


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
        return "application/ld+json", json.dumps(metadata.schema_org(attributes, files), indent=1, ensure_ascii=False)
    raise ValueError(what)


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
    variables = [{"name": x["name"], "standard_name": x.get("standard_name"), "units": x.get("units") or "",
                  "long_name": x.get("long_name") or ""} for x in summary.get("variables") or []] or \
        [{"name": "unknown", "standard_name": None}]
    creators = "; ".join(c["name"] for c in md.get("creators") or [])
    entry = {
        "description": str(md.get("abstract") or ""),
        "driver": "zarr",
        "args": {"urlpath": u["zarr"], "consolidated": True},
        "metadata": {
            "title": md.get("title"), "theme": extra.get("theme") or "physics", "producer": creators or "unknown",
            "data_centre": md.get("publisher") or "ODATIS", "licence": md.get("licence"),
            "doi": v.get("doi"), "landing_page": u["landing"],
            "citation": metadata.citation(attributes, registered=_registered(repo, v.get("doi"))) if attributes else
            md.get("title"),
            "bbox": bbox, "time_range": [str(tr[0])[:10] if tr[0] else None, str(tr[1])[:10] if tr[1] else None],
            "variables": variables, "keywords": list(md.get("keywords") or []),
            "access": {"protocol": "zarr-http", "login": False, "format": "zarr v3 (xpublish)",
                       "root": repo.settings.public_url + repo.settings.prefix},
            "repository": {"id": v["id"], "version": v["version"], "opendap": u["opendap"],
                           "files": [{"name": f["name"], "url": u["files"] + f["name"], "sha256": f["sha256"]}
                                     for f in v["files"]]},
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
    doc = {"metadata": {"version": 1, "title": "ODATIS repository: published deposits",
                        "source": repo.settings.public_url + repo.settings.prefix + "catalog.yaml"},
           "sources": sources}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
