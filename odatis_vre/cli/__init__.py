"""The ``odatis-vre`` command: a thin layer over the package.

Each concern adds its own command group from its own module of :mod:`odatis_vre.cli`; what they share (global
options, ``-o`` output, errors without tracebacks) is in :mod:`odatis_vre.cli.common`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import __version__
from .. import config as config_mod
from .common import CONFIG_OPTION, FriendlyGroup, Globals, examples, short_warnings


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="odatis-vre")
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Platform configuration for every command (default: $ODATIS_VRE_CONFIG, else ./vre.yaml).",
)
@click.option("--hub-url", default=None, help="The hub's public URL (default: from the configuration).")
@click.option(
    "--token",
    envvar="ODATIS_VRE_TOKEN",
    default=None,
    show_envvar=True,
    help="A hub API token (admin commands; publish uses it too when given here).",
)
@click.option("--debug", is_flag=True, help="Show the full traceback of an error (for bug reports).")
@examples(
    "odatis-vre up                                  # start the local VRE",
    "odatis-vre --config vre.yaml admin users list -o yaml",
    "odatis-vre catalog search temperature --bbox -10,43,-2,48 --time 2023-01-01/2023-12-31",
    "odatis-vre completion bash > ~/.local/share/bash-completion/completions/odatis-vre",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, hub_url: str | None, token: str | None, debug: bool) -> None:
    """odatis-vre: the ocean virtual research environment (hub, Dask Gateway, catalogue, services).

    Start everything on this machine with `odatis-vre up`; check a configuration with
    `odatis-vre config check vre.yaml`. The options above apply to every command (they may also
    be given after it). A refused input exits with status 1 and one message saying what to change;
    a wrong command line exits with 2; --debug shows tracebacks.
    """
    if not debug and sys.stderr.isatty():  # a person reads it; services' logs keep where a warning came from
        short_warnings()
    source = ctx.get_parameter_source("token")
    ctx.obj = Globals(
        config=config_path,
        hub_url=hub_url,
        token=token,
        debug=debug,
        token_from_command_line=source == click.core.ParameterSource.COMMANDLINE,
    )


@main.group("config")
@examples("odatis-vre config check vre.yaml", "odatis-vre config show -c prod.yaml", "odatis-vre config schema")
def config_group() -> None:
    """Check and show the platform configuration (vre.yaml)."""


@config_group.command("check")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@examples("odatis-vre config check vre.yaml", "odatis-vre --config prod.yaml config check")
def config_check(file: Path | None) -> None:
    """Validate FILE (default: --config, else vre.yaml) against the schema; exit 1 naming every wrong key."""
    from .common import globals_of

    cfg = config_mod.load(file or globals_of().config)
    click.echo(f"{cfg.path}: valid ({cfg.mode} mode, {len(cfg.profiles)} profiles, {len(cfg.groups)} groups)")


@config_group.command("show")
@CONFIG_OPTION
@examples("odatis-vre config show", "odatis-vre config show -c prod.yaml > prod-full.yaml")
def config_show(config_path: Path | None) -> None:
    """Print the configuration with every default filled in."""
    import yaml

    click.echo(yaml.safe_dump(config_mod.load(config_path).data, sort_keys=False))


@config_group.command("schema")
@examples("odatis-vre config schema > vre.schema.json")
def config_schema() -> None:
    """Print the JSON Schema of vre.yaml."""
    import json

    click.echo(json.dumps(config_mod.schema(), indent=2))


@main.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh"]), metavar="SHELL")
@examples(
    "odatis-vre completion bash > ~/.local/share/bash-completion/completions/odatis-vre",
    "source <(odatis-vre completion zsh)          # in ~/.zshrc",
)
def completion(shell: str) -> None:
    """Print the shell completion script of odatis-vre for SHELL (commands, options, choices)."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    click.echo(cls(main, {}, "odatis-vre", "_ODATIS_VRE_COMPLETE").source())


def _register() -> None:
    # One module per command group (odatis_vre/cli/*.py); imported here so `--help` lists them all.
    from . import admin, catalog, explorer, repository, stack, workshop

    for module in (stack, catalog, admin, explorer, workshop, repository):
        for group in module.COMMANDS:
            main.add_command(group)


_register()

if __name__ == "__main__":
    main()
