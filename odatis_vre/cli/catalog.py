"""``odatis-vre catalog ...`` and ``odatis-vre data ...``: the catalogue from the command line.

Examples::

    odatis-vre data samples                      # generate the offline samples into catalog/data/
    odatis-vre catalog list --theme physics
    odatis-vre catalog search chlorophyll --bbox -10,43,-2,48 --time 2023-01-01/2023-12-31
    odatis-vre catalog show argo_gdac_float
    odatis-vre catalog cite argo_gdac_float --bibtex
    odatis-vre catalog check [--online]
    odatis-vre catalog harvest [--full]           # Sextant's records into catalog/harvested/sextant.yaml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from .common import emit, examples, output_option

CATALOG_OPTION = click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Catalogue file (default: $ODATIS_VRE_CATALOG, else catalog/odatis.yaml).",
)


def _open(path: Path | None):  # noqa: ANN202
    from .. import catalog

    try:
        return catalog.open(path)
    except catalog.CatalogError as exc:
        raise click.ClickException(str(exc)) from None


def _bbox(ctx: click.Context, param: click.Parameter, text: str | None) -> tuple[float, ...] | None:
    """--bbox W,S,E,N, checked by the catalogue's own rules (a wrong box exits 2 naming the option)."""
    from .. import catalog

    if not text:
        return None
    try:
        return catalog.parse_bbox(text)
    except catalog.CatalogError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _period(ctx: click.Context, param: click.Parameter, text: str | None) -> tuple[str | None, str | None] | None:
    """--time START/END, checked (real dates, end not before start)."""
    from .. import catalog

    if not text:
        return None
    try:
        return catalog.parse_period(text)
    except catalog.CatalogError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A folder to write into: created when missing, refused when it is a file."""
    if value is not None and value.exists() and not value.is_dir():
        raise click.BadParameter(f"{value} is a file: give a folder (it is created if missing)", ctx, param)
    return value


#: --bbox and --time, for every command that cuts data or searches the catalogue
BBOX_OPTION = click.option("--bbox", callback=_bbox, help="west,south,east,north in degrees, e.g. -10,43,-2,48")
TIME_OPTION = click.option(
    "--time", "period", callback=_period, help="start/end as ISO dates, e.g. 2023-01-01/2023-12-31 (empty side = open)"
)


@click.group("catalog")
@examples(
    "odatis-vre catalog list --theme physics",
    "odatis-vre catalog search chlorophyll --bbox -10,43,-2,48",
    "odatis-vre catalog show argo_gdac_float",
    "odatis-vre catalog cite argo_gdac_float --bibtex",
)
def catalog_group() -> None:
    """Find, describe, cite and check the datasets of the pole's catalogue."""


@catalog_group.command("list")
@click.option("--theme", type=click.Choice(["physics", "biogeochemistry", "in_situ", "biology_imaging"]), default=None)
@output_option
@CATALOG_OPTION
@examples("odatis-vre catalog list", "odatis-vre catalog list --theme in_situ -o yaml")
def list_cmd(theme: str | None, output: str, catalog_path: Path | None) -> None:
    """List the entries (name, theme, title); [sample] = offline, [login] = needs an account."""
    from .. import catalog

    cat = _open(catalog_path)
    rows = catalog.entries(theme, catalog=cat)
    if output != "table":
        emit(rows, output)
        return
    width = max((len(r["name"]) for r in rows), default=10)
    for r in rows:
        flags = (" [sample]" if r["sample"] else "") + (" [login]" if r["login"] else "")
        click.echo(f"{r['name']:<{width}}  {str(r['theme']):<15}  {r['title']}{flags}")
    click.echo(f"{len(rows)} entries in {cat.path}", err=True)


@catalog_group.command("search")
@click.argument("text", required=False)
@BBOX_OPTION
@TIME_OPTION
@click.option("--variable", "-v", "variables", multiple=True, help="variable name or CF standard name (repeatable)")
@click.option("--theme", type=click.Choice(["physics", "biogeochemistry", "in_situ", "biology_imaging"]), default=None)
@click.option("--data-centre", "data_centre", help="part of the data centre's name, e.g. coriolis")
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True, help="At most this many results (0: all)."
)
@output_option
@CATALOG_OPTION
@examples(
    "odatis-vre catalog search chlorophyll --bbox -10,43,-2,48 --time 2023-01-01/2023-12-31",
    "odatis-vre catalog search --variable sea_water_temperature --theme in_situ -o json",
    "odatis-vre catalog search temperature --data-centre coriolis",
)
def search_cmd(
    text: str | None,
    bbox: tuple[float, ...] | None,
    period: tuple[str | None, str | None] | None,
    variables: tuple[str, ...],
    theme: str | None,
    data_centre: str | None,
    limit: int,
    output: str,
    catalog_path: Path | None,
) -> None:
    """Search by words, box, period, variables and theme; best matches first (exit 1 when nothing matches)."""
    from .. import catalog

    cat = _open(catalog_path)
    try:
        hits = catalog.search(
            text,
            bbox=bbox,
            time=period,
            variables=list(variables) or None,
            theme=theme,
            data_centre=data_centre,
            catalog=cat,
            limit=limit,
        )
    except catalog.CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    if output != "table":
        emit(hits, output)
        return
    if not hits:
        click.echo("no entry matches; try fewer words or a larger box (`odatis-vre catalog list` shows all)", err=True)
        sys.exit(1)
    for h in hits:
        click.echo(f"{h['score']:7.2f}  {h['name']:<28}  {str(h['theme']):<15}  {h['title']}")


@catalog_group.command("show")
@click.argument("name")
@CATALOG_OPTION
@examples("odatis-vre catalog show argo_gdac_float", "odatis-vre catalog show sample_sst_zarr --catalog my.yaml")
def show_cmd(name: str, catalog_path: Path | None) -> None:
    """Show everything about entry NAME (metadata, access, parameters, problems)."""
    import yaml

    from .. import catalog

    cat = _open(catalog_path)
    try:
        d = catalog.describe(name, catalog=cat)
    except catalog.CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=110))


@catalog_group.command("cite")
@click.argument("name")
@click.option("--bibtex", is_flag=True, help="BibTeX instead of the citation text.")
@CATALOG_OPTION
@examples("odatis-vre catalog cite argo_gdac_float", "odatis-vre catalog cite argo_gdac_float --bibtex >> refs.bib")
def cite_cmd(name: str, bibtex: bool, catalog_path: Path | None) -> None:
    """Print how to cite entry NAME."""
    from .. import catalog

    cat = _open(catalog_path)
    try:
        click.echo(catalog.cite(name, "bibtex" if bibtex else "text", catalog=cat))
    except catalog.CatalogError as exc:
        raise click.ClickException(str(exc)) from None


@catalog_group.command("check")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option("--online", is_flag=True, help="Also probe every endpoint (honours $ODATIS_VRE_MIRROR).")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True, help="Seconds per probe."
)
@examples("odatis-vre catalog check", "odatis-vre catalog check my-catalogue.yaml --online --timeout 20")
def check_cmd(file: Path | None, online: bool, timeout: float) -> None:
    """Validate every entry of FILE against the schema (exit 1 naming each wrong field)."""
    from .. import catalog

    cat = _open(file)
    bad = catalog.check(cat)
    for name, problems in bad.items():
        for p in problems:
            click.echo(f"{name}: {p}", err=True)
    failed = bool(bad)
    if online:
        for name, (ok, msg) in catalog.check_online(cat, timeout=timeout).items():
            click.echo(f"{'ok  ' if ok else 'FAIL'}  {name}: {msg}")
            failed |= not ok
    n = len(cat)
    click.echo(f"{cat.path}: {n - len(bad)}/{n} entries valid" + (", endpoints probed" if online else ""), err=True)
    if failed:
        sys.exit(1)


@catalog_group.command(
    "harvest", epilog="A failed page leaves the previous catalogue in force; run the same command again to resume."
)
@click.argument("source", required=False)
@click.option("--endpoint", help="CSW 2.0.2 URL (default: the source's, from the catalogue's `harvest:` block).")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="PROP=VALUE|PROP~PATTERN",
    help="Constraint on a CSW queryable (repeatable, ANDed): AnyText~%ODATIS% (like, % = any text), "
    "Subject=ODATIS (equals). Replaces the source's filters.",
)
@click.option("--dest", type=click.Path(path_type=Path), help="Harvested catalogue to write (default: the source's).")
@click.option(
    "--full",
    is_flag=True,
    help="Harvest every record again instead of those modified since the last harvest "
    "(drops the entries no longer upstream, which an incremental harvest counts).",
)
@click.option(
    "--schema",
    type=click.Choice(["iso19139", "iso19115-3"]),
    default=None,
    help="ISO records to ask for (outputSchema gmd or mdb) [the source's, else iso19139].",
)
@click.option("--restart", is_flag=True, help="Discard the pages of an interrupted harvest instead of resuming it.")
@click.option("--page-size", type=click.IntRange(1, 1000), default=None, help="Records per GetRecords request [100].")
@click.option("--max-records", type=click.IntRange(1), default=None, help="Stop after this many records (a trial).")
@click.option(
    "--min-interval",
    type=click.FloatRange(0),
    default=None,
    help="Seconds between two requests, to spare the server [1.0].",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@output_option
@CATALOG_OPTION
@examples(
    "odatis-vre catalog harvest",
    "odatis-vre catalog harvest --full",
    "odatis-vre catalog harvest --schema iso19115-3",
    "odatis-vre catalog harvest --max-records 200 -o json",
    "odatis-vre catalog harvest --endpoint https://sextant.ifremer.fr/geonetwork/srv/eng/csw "
    "--filter Subject=ODATIS --dest /tmp/sextant.yaml",
)
def harvest_cmd(
    source: str | None,
    endpoint: str | None,
    filters: tuple[str, ...],
    dest: Path | None,
    full: bool,
    schema: str | None,
    restart: bool,
    page_size: int | None,
    max_records: int | None,
    min_interval: float | None,
    quiet: bool,
    output: str,
    catalog_path: Path | None,
) -> None:
    """Harvest ISO records from a CSW catalogue (Sextant) into a catalogue included by the curated one.

    Without options: the Sextant source set under `harvest:` in catalog/odatis.yaml, records modified since
    the last harvest; --full fetches everything again (records deleted upstream disappear), --max-records
    makes a trial. Records modified since the last harvest are fetched page by page (OWSLib, OGC CSW 2.0.2), mapped to
    entries (title, abstract, keywords, contacts, licence, DOI, box, period, every link); entries whose
    link is OPeNDAP, ERDDAP, Zarr, NetCDF over HTTP or SEANOE load with `catalog.load`, the others are
    listed with their link and the reason. The report says how many records, loadable, skipped and why.
    """
    from ..data import harvest

    try:
        configured = harvest.configured_sources(catalog_path)
    except harvest.HarvestError as exc:
        raise click.ClickException(str(exc)) from None
    if source is None:
        source = next(iter(configured), "sextant")
    spec = dict(configured.get(source) or {})
    if not spec and not (endpoint and dest):
        known = ", ".join(configured) or "none"
        raise click.ClickException(
            f"no harvest source {source!r} in the catalogue (configured: {known}); give "
            f"--endpoint and --dest, or add it under `harvest:` (docs/catalogue.md)"
        )
    parsed = []
    for f in filters:
        m = re.match(r"^([A-Za-z:]+)\s*([=~])\s*(.+)$", f)
        if not m:
            raise click.BadParameter(
                f"{f!r}: write PROPERTY=VALUE or PROPERTY~PATTERN, e.g. Subject=ODATIS or AnyText~%ODATIS%",
                param_hint="--filter",
            )
        parsed.append({"property": m.group(1), ("equals" if m.group(2) == "=" else "like"): m.group(3)})
    try:
        report = harvest.harvest(
            endpoint or spec["endpoint"],
            dest or spec["output"],
            filters=parsed or spec.get("filters"),
            source=source,
            incremental=not full,
            restart=restart,
            schema=schema or str(spec.get("schema", "iso19139")),
            page_size=page_size or int(spec.get("page_size", 100)),
            max_records=max_records,
            min_interval=min_interval if min_interval is not None else float(spec.get("min_interval", 1.0)),
            progress=not (quiet or output != "table"),
        )
    except harvest.HarvestError as exc:
        raise click.ClickException(str(exc)) from None
    if output != "table":
        emit(report.to_dict(), output)
    else:
        click.echo(report.summary())


@click.group("data")
@examples("odatis-vre data samples", "odatis-vre data local-copy /srv/mirror")
def data_group() -> None:
    """Offline sample datasets and local copies of the remote services."""


@data_group.command("samples")
@click.option(
    "--dest", type=click.Path(path_type=Path), callback=_folder, default=None, help="Folder (default: catalog/data)."
)
@click.option("--force", is_flag=True, help="Regenerate even if present.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@examples("odatis-vre data samples", "odatis-vre data samples --dest /data/odatis-samples --force -q")
def samples_cmd(dest: Path | None, force: bool, quiet: bool) -> None:
    """Generate the deterministic sample datasets the sample_* entries read."""
    from ..data import samples

    paths = samples.make_all(dest, force=force, progress=not quiet)
    for name, path in paths.items():
        click.echo(f"{name:<14} {path}")


@data_group.command("local-copy")
@click.argument("dest", type=click.Path(path_type=Path), callback=_folder)
@click.option("--force", is_flag=True, help="Rewrite the copy even if present.")
@examples("odatis-vre data local-copy /srv/mirror", "ODATIS_VRE_MIRROR=... odatis-vre catalog check --online")
def local_copy_cmd(dest: Path, force: bool) -> None:
    """Write provider-shaped copies (GDAC, ERDDAP, THREDDS, Copernicus Zarr) of the samples into DEST."""
    from ..data import mirror

    root = mirror.build_local_copy(dest, force=force)
    click.echo(f"local copy in {root}; serve it and set ODATIS_VRE_MIRROR (see docs/catalogue.md)")


COMMANDS = [catalog_group, data_group]
