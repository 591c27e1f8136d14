"""``odatis-vre up | down | status``: the local VRE on this machine."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import click

from .. import config
from ..hub.stack import Stack, StackError
from .common import CONFIG_OPTION, emit, examples, output_option

__all__ = ["CONFIG_OPTION", "COMMANDS"]  # CONFIG_OPTION: imported from here by older cli_* modules


def _stack(config_path: Path | None) -> Stack:
    try:
        return Stack(config_path)
    except (config.ConfigError, StackError) as exc:
        raise click.ClickException(str(exc)) from None


def _make_samples(stack: Stack) -> None:
    from ..data import samples

    data = stack.cfg.catalog_path.parent / "data"
    click.echo(f"Sample data: {data}")
    samples.make_all(data, force=False)
    _make_time_copies(stack)


#: gridded samples whose time-optimised copy makes the explorer's clicks instant
TIME_COPIES = ("sample_sst_zarr", "sample_sst_daily")


def _make_time_copies(stack: Stack) -> None:
    from .. import catalog, timeseries

    cat = catalog.open(stack.cfg.catalog_path)
    for name in TIME_COPIES:
        if name in cat and timeseries.status(name, catalog=cat)["state"] != "fresh":
            click.echo(f"Time-optimised copy of {name} (instant time series in the explorer):")
            timeseries.build(name, catalog=cat)


@click.command("up")
@CONFIG_OPTION
@click.option("--port", type=int, default=None, help="Public port (default: hub.port of the configuration).")
@click.option("--detach", is_flag=True, help="Start in the background and return (stop with `odatis-vre down`).")
@click.option("--no-samples", is_flag=True, help="Do not generate the offline sample data.")
@examples(
    "odatis-vre up                      # in the foreground; Ctrl-C stops everything",
    "odatis-vre up --detach --port 8001",
    "odatis-vre -c prod.yaml up --no-samples",
)
def up(config_path: Path | None, port: int | None, detach: bool, no_samples: bool) -> None:
    """Start the local VRE: hub, proxy, Dask Gateway, explorer, repository. Ctrl-C stops everything."""
    stack = _stack(config_path)
    if port:
        stack.cfg.hub["port"] = port
        raw = config.read_raw(stack.config_path)
        raw.setdefault("hub", {})["port"] = port
        config.save(raw, stack.config_path)
        stack = _stack(config_path)
    if not no_samples:
        _make_samples(stack)
    click.echo("Starting the hub, the proxy and the services...")
    t0 = time.monotonic()
    try:
        info = stack.start()
    except StackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"\nodatis-vre is ready in {time.monotonic() - t0:.1f} s: {info.url}/")
    if info.admin_password:
        click.echo(f"  log in as '{info.admin}' with password: {info.admin_password}")
        click.echo("  (shown once: note it now; add users through the hub's API, see README.md 'Accounts')")
    else:
        click.echo(
            f"  log in as '{info.admin}' (password shown at first start; to set a new one: curl -X PUT "
            f'-H "Authorization: token $(cat {stack.state / "cli_token"})" -d \'{{"password": "..."}}\' '
            f"{info.url}/hub/api/accounts/{info.admin})"
        )
    services = stack.cfg.services
    for key, path, what in (
        ("explorer", "services/explorer/", "data explorer (maps, time series)"),
        ("repository", "services/repository/", "repository (deposits, DOIs, landing pages)"),
        ("dask_gateway", "services/dask-gateway/", "Dask Gateway (from notebooks: odatis_vre.compute.cluster())"),
    ):
        if services[key].get("enabled", True):
            click.echo(f"  {what}: {info.url}/{path}")
    click.echo(f"  logs: {info.log}")
    click.echo("Isolation and limits:")
    for line in stack.isolation_report():
        click.echo(f"  - {line}")
    if detach:
        click.echo("Running in the background; `odatis-vre down` stops it.")
        return
    click.echo("Press Ctrl-C to stop everything.")
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        click.echo("\nStopping user servers, Dask clusters, services and the hub...")
        stack.stop()
        click.echo("Stopped.")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    try:
        while stack.pid():
            time.sleep(1)
        raise click.ClickException(f"The hub stopped by itself; see {info.log}:\n{stack.log_tail()}")
    except KeyboardInterrupt:
        _stop()


@click.command("down")
@CONFIG_OPTION
@examples("odatis-vre down", "odatis-vre down -c prod.yaml")
def down(config_path: Path | None) -> None:
    """Stop the local VRE and every user server."""
    stack = _stack(config_path)
    if not stack.pid():
        click.echo("odatis-vre is not running.")
        return
    stack.stop()
    click.echo("Stopped.")


@click.command("status")
@CONFIG_OPTION
@output_option
@examples("odatis-vre status", "odatis-vre status -o json")
def status(config_path: Path | None, output: str) -> None:
    """Show whether the local VRE runs, its URL, its services and the running servers.

    The table view exits with 3 when the VRE does not run; -o json/yaml always exit 0 (read `running`).
    """
    info = _stack(config_path).status()
    if output != "table":
        emit(info, output)
        return
    if not info["running"]:
        click.echo(f"odatis-vre is not running ({info['config']}). Start it with `make up`.")
        raise SystemExit(3)
    click.echo(f"odatis-vre runs at {info['url']}/ (hub pid {info['pid']}, JupyterHub {info.get('hub_version')})")
    if "error" in info:
        click.echo(f"  warning: {info['error']}")
    click.echo(f"  services: {', '.join(info.get('services', []))}")
    click.echo(f"  running servers: {', '.join(info.get('servers', [])) or 'none'}")
    click.echo(f"  log: {info['log']}")


COMMANDS = [up, down, status]
