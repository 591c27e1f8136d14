"""The ``odatis-vre`` command: a thin layer over the package.

Each concern adds its own command group from its own ``cli_*`` module.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from . import config as config_mod
from .cli_stack import CONFIG_OPTION



@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="odatis-vre")
def main() -> None:
    """odatis-vre: the ocean virtual research environment (hub, Dask Gateway, catalogue, services).

    Start everything on this machine with `odatis-vre up`; check a configuration with
    `odatis-vre config check vre.yaml`.
    """


@main.group("config")
def config_group() -> None:
    """Check and show the platform configuration (vre.yaml)."""


@config_group.command("check")
@click.argument("file", type=click.Path(path_type=Path), required=False)
def config_check(file: Path | None) -> None:
    """Validate FILE (default: vre.yaml) against the schema; exit 1 naming every wrong key."""
    try:
        cfg = config_mod.load(file)
    except config_mod.ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"{cfg.path}: valid ({cfg.mode} mode, {len(cfg.profiles)} profiles, {len(cfg.groups)} groups)")


@config_group.command("show")
@CONFIG_OPTION
def config_show(config_path: Path | None) -> None:
    """Print the configuration with every default filled in."""
    import yaml

    try:
        cfg = config_mod.load(config_path)
    except config_mod.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(yaml.safe_dump(cfg.data, sort_keys=False))


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of vre.yaml."""
    import json

    click.echo(json.dumps(config_mod.schema(), indent=2))


def _register() -> None:
    # Each concern's commands live beside its code; imported here so `--help` lists them all.
    from . import cli_admin, cli_catalog, cli_explorer, cli_repository, cli_stack, cli_workshop

    for group in cli_stack.COMMANDS + cli_catalog.COMMANDS + cli_admin.COMMANDS + cli_explorer.COMMANDS + cli_workshop.COMMANDS + cli_repository.COMMANDS:
        main.add_command(group)


_register()

if __name__ == "__main__":
    main()
