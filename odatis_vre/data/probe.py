"""Is an entry's data reachable? One request to its endpoint (after the local mirror), or a look for its files.

Used by ``odatis-vre catalog check --online`` through :func:`odatis_vre.catalog.check_online`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def probe_url(
    name: str,
    raw: dict[str, Any],
    *,
    timeout: float = 10.0,
    mirror: dict[str, str] | None = None,
    catalog_dir: Path | None = None,
) -> tuple[bool, str]:
    """Probe an entry's endpoint (after the mirror): ``(ok, message)``. Sample entries check their files (in
    ``catalog_dir``, the folder ``{{ CATALOG_DIR }}`` stands for)."""
    import urllib.request

    from . import mirror as mirror_mod

    md = raw.get("metadata") or {}
    access = md.get("access") or {}
    args = raw.get("args") or {}
    proto = access.get("protocol")
    if proto in ("file-netcdf", "file-zarr"):
        import glob

        path = str(args.get("urlpath", "")).replace("{{ CATALOG_DIR }}", str(catalog_dir or Path.cwd()))
        n = len(glob.glob(path))
        return (
            n > 0,
            f"{n} local file(s) match {path}" if n else f"no local file matches {path}; run `odatis-vre data samples`",
        )
    if proto == "copernicusmarine":
        local = mirror_mod.rewrite(f"copernicusmarine://{args.get('dataset_id')}", mirror)
        if local.startswith("copernicusmarine://"):
            try:
                import copernicusmarine  # type: ignore[import-not-found]  # noqa: F401
            except ImportError:
                return (
                    False,
                    "copernicusmarine toolbox not installed (pip install copernicusmarine; then "
                    "`copernicusmarine login`)",
                )
            return (True, "toolbox installed; dataset access needs `copernicusmarine login`")
        url = local.rstrip("/") + "/.zmetadata"
    elif proto == "erddap-tabledap":
        url = f"{args.get('server')}/tabledap/{args.get('dataset_id')}.das"
    elif proto in ("opendap", "erddap-griddap"):
        url = str(args.get("urlpath")) + ".das"
    elif proto == "link":
        return (False, f"not loadable from the VRE: {access.get('reason')} ({access.get('url') or 'no link'})")
    elif proto == "seanoe":
        from .drivers import SEANOE_API, AccessError, seanoe_record_id

        try:
            url = f"{str(args.get('api') or SEANOE_API).rstrip('/')}/find-by-id/{seanoe_record_id(args.get('doi', ''))}"
        except AccessError as exc:
            return (False, str(exc))
    elif proto == "obis-api":
        from .drivers import OBIS_API

        url = f"{str(args.get('api') or OBIS_API).rstrip('/')}/occurrence?size=1"
    else:
        url = str(args.get("urlpath"))
        for pname, p in (raw.get("parameters") or {}).items():
            url = url.replace("{{ " + pname + " }}", str(p.get("default", "")))
    url = mirror_mod.rewrite(url, mirror)
    req = urllib.request.Request(url, method="HEAD" if proto in ("https-netcdf", "https-csv-index") else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return (True, f"HTTP {resp.status} {url}")
    except Exception as exc:  # report, never raise: one dead endpoint must not hide the others
        return (False, f"{url}: {getattr(exc, 'code', '')} {getattr(exc, 'reason', exc)}".replace("  ", " "))
