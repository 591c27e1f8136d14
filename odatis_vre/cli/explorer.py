"""``odatis-vre explorer ...`` and ``odatis-vre timeseries ...``: the data explorer and instant time series.

Examples::

    odatis-vre explorer serve --port 8050                 # the explorer on http://127.0.0.1:8050/
    odatis-vre timeseries build sample_sst_daily          # write catalog/data/sst_daily.time.zarr
    odatis-vre timeseries status sample_sst_daily         # fresh / stale / missing
    odatis-vre timeseries point sample_sst_zarr analysed_sst --lon -5 --lat 46 --csv
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from .catalog import CATALOG_OPTION, TIME_OPTION
from .common import emit, examples, output_option


def _bytes(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise click.BadParameter(f"{text!r}: give a size such as 512M or 2G", param_hint="--max-memory")
    return int(float(m.group(1)) * 1024 ** " KMGT".index((m.group(2) or " ").upper()))


@click.group("explorer")
@examples("odatis-vre explorer serve --port 8050")
def explorer_group() -> None:
    """The data explorer: search the catalogue, see maps, click for time series, download selections."""


@explorer_group.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True, help="Port to listen on.")
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--prefix", default=None, help="URL prefix (default: $JUPYTERHUB_SERVICE_PREFIX as a hub service, else /)."
)
@click.option(
    "--hub-auth/--no-hub-auth",
    default=None,
    help="Log users in through JupyterHub (default: on when started by the hub as a service). "
    "--no-hub-auth behind jupyter-server-proxy, whose server already checks the user.",
)
@click.option(
    "--unix-socket",
    default=None,
    type=click.Path(),
    help="Listen on this Unix socket instead of a port (jupyter-server-proxy).",
)
@click.option(
    "--allow-websocket-origin",
    "origins",
    multiple=True,
    help="host[:port] the browser pages come from (default: the hub's public address, or this server).",
)
@CATALOG_OPTION
@examples("odatis-vre explorer serve --port 8050", "odatis-vre explorer serve --port 8050 --catalog my-catalogue.yaml")
def serve_cmd(
    port: int,
    address: str,
    prefix: str | None,
    hub_auth: bool | None,
    unix_socket: str | None,
    origins: tuple[str, ...],
    catalog_path: Path | None,
) -> None:
    """Serve the explorer (Panel/Bokeh, all JavaScript served locally) until interrupted."""
    from ..explore import server as explorer

    if catalog_path:
        os.environ["ODATIS_VRE_CATALOG"] = str(catalog_path.resolve())
    try:
        explorer.serve(
            port=port,
            prefix=prefix,
            address=address,
            hub_auth=hub_auth,
            websocket_origins=list(origins) or None,
            unix_socket=unix_socket,
        )
    except explorer.ExplorerError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("timeseries")
@examples(
    "odatis-vre timeseries build sample_sst_daily",
    "odatis-vre timeseries status sample_sst_daily",
    "odatis-vre timeseries point sample_sst_zarr analysed_sst --lon -5 --lat 46 --csv",
)
def timeseries_group() -> None:
    """Time-optimised copies of gridded datasets: instant time series at a point or over a box."""


def _ts_error(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@timeseries_group.command("build")
@click.argument("names", nargs=-1, required=True)
@click.option("--tile", type=click.IntRange(min=1), default=16, show_default=True, help="Grid points per chunk side.")
@click.option("--max-memory", default="512M", show_default=True, help="Memory for one band of the source.")
@click.option("--force", is_flag=True, help="Rebuild even when the copy is fresh.")
@click.option(
    "--dest",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the copy (one NAME only; default: beside the data).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@CATALOG_OPTION
@examples(
    "odatis-vre timeseries build sample_sst_daily",
    "odatis-vre timeseries build 'data/*.nc' --max-memory 2G",
    "odatis-vre timeseries build sample_sst_zarr --force --dest /scratch/sst.time.zarr",
)
def build_cmd(
    names: tuple[str, ...],
    tile: int,
    max_memory: str,
    force: bool,
    dest: Path | None,
    quiet: bool,
    catalog_path: Path | None,
) -> None:
    """Write the time-optimised copy of each NAME (catalogue entry, Zarr store, NetCDF file, glob or folder)."""
    from .. import timeseries

    if dest is not None and len(names) > 1:
        raise click.BadParameter("works with one NAME only; build the others without --dest", param_hint="--dest")
    mem = _bytes(max_memory)
    for name in names:
        try:
            path = timeseries.build(
                name, catalog=catalog_path, dest=dest, tile=tile, max_memory=mem, force=force, progress=not quiet
            )
        except timeseries.TimeSeriesError as exc:
            raise _ts_error(exc) from None
        click.echo(f"{name}: {path}")


@timeseries_group.command("status")
@click.argument("names", nargs=-1, required=True)
@output_option
@CATALOG_OPTION
@examples(
    "odatis-vre timeseries status sample_sst_daily",
    "odatis-vre timeseries status sample_sst_zarr sample_sst_daily -o json",
)
def status_cmd(names: tuple[str, ...], output: str, catalog_path: Path | None) -> None:
    """Say whether each NAME has a fresh, stale or missing copy (exit 1 unless all are fresh)."""
    from .. import timeseries

    rows = []
    for name in names:
        try:
            st = timeseries.status(name, catalog=catalog_path)
        except timeseries.TimeSeriesError as exc:
            raise _ts_error(exc) from None
        rows.append({"name": name, "state": st["state"], "path": str(st["path"]), "reason": st["reason"]})
    emit(rows, output, lambda rs: (f"{r['name']}: {r['state']} ({r['path']}): {r['reason']}" for r in rs))
    sys.exit(0 if all(r["state"] == "fresh" for r in rows) else 1)


@timeseries_group.command("point")
@click.argument("name")
@click.argument("variable")
@click.option("--lon", type=click.FloatRange(-180, 360), required=True, help="Longitude, degrees east.")
@click.option("--lat", type=click.FloatRange(-90, 90), required=True, help="Latitude, degrees north.")
@TIME_OPTION
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (time,value) instead of a summary.")
@CATALOG_OPTION
@examples(
    "odatis-vre timeseries point sample_sst_zarr analysed_sst --lon -5 --lat 46",
    "odatis-vre timeseries point sample_sst_daily analysed_sst --lon -5 --lat 46 --time 2023-06-01/2023-08-31 --csv",
)
def point_cmd(
    name: str,
    variable: str,
    lon: float,
    lat: float,
    period: tuple[str | None, str | None] | None,
    as_csv: bool,
    catalog_path: Path | None,
) -> None:
    """The time series of VARIABLE at the grid point nearest --lon/--lat."""
    import warnings

    from .. import timeseries

    time = period
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", timeseries.SlowPathWarning)
        try:
            s = timeseries.point_series(name, variable, lon, lat, time=time, catalog=catalog_path)
        except timeseries.TimeSeriesError as exc:
            raise _ts_error(exc) from None
    for w in caught:
        click.echo(f"hint: {w.message}", err=True)
    if as_csv:
        click.echo(s.to_series().to_csv(header=[variable]), nl=False)
        return
    coords = {k: float(v) for k, v in s.coords.items() if v.ndim == 0}
    click.echo(
        f"{name} {variable} at {coords}: {s.sizes} values from the {s.attrs['read_from']}, "
        f"mean {float(s.mean()):.4g} {s.attrs.get('units', '')}"
    )


COMMANDS = [explorer_group, timeseries_group]
