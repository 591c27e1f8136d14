"""What every ``odatis-vre`` command shares: global options, output formats, errors, aliases.

The command line reads like kubectl or helm::

    odatis-vre --config vre.yaml admin users list -o yaml
    odatis-vre admin users list --config vre.yaml -o json      # the same: global options work after the command too

* ``--config/-c``, ``--hub-url`` and ``--token`` are given once on ``odatis-vre`` (or on any command);
* every listing is ``... list`` and takes ``-o table|json|yaml`` (``--json`` still works);
* a refused input exits 1 with one message ("Error: ..."), a wrong command line exits 2, a bug
  exits 70 — never with a traceback unless ``odatis-vre --debug ...``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .. import errors

#: what ``-o`` accepts on every listing
OUTPUTS = ("table", "json", "yaml")


@dataclass
class Globals:
    """The options given to ``odatis-vre`` itself, before the command."""

    config: Path | None = None
    hub_url: str | None = None
    token: str | None = None
    token_from_command_line: bool = False
    debug: bool = False


def globals_of(ctx: click.Context | None = None) -> Globals:
    """The root command's :class:`Globals` (defaults when a command is invoked alone)."""
    ctx = ctx or click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    return root.obj if root is not None and isinstance(root.obj, Globals) else Globals()


def _inherit(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A command's own value wins; without one, the value given to ``odatis-vre`` itself."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        return getattr(globals_of(ctx), name) if value is None else value

    return callback


CONFIG_OPTION = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    callback=_inherit("config"),
    help="Platform configuration (default: $ODATIS_VRE_CONFIG, else ./vre.yaml).",
)


def hub_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--hub-url`` and ``--token``, for commands that talk to the running hub (also global options)."""
    f = click.option(
        "--token",
        default=None,
        callback=_inherit("token"),
        help="An admin's API token (default: $ODATIS_VRE_TOKEN, else the local CLI token in <state_dir>/cli_token).",
    )(f)
    return click.option(
        "--hub-url",
        default=None,
        callback=_inherit("hub_url"),
        help="The hub's public URL (default: from the configuration).",
    )(f)


def _json_alias(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta["odatis_output"] = "json"
    return value


def output_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-o/--output table|json|yaml`` (and the older ``--json``, hidden) on a listing: the value is ``output``."""

    def resolve(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
        return value or ctx.meta.get("odatis_output") or "table"

    f = click.option(
        "--output",
        "-o",
        "output",
        type=click.Choice(OUTPUTS),
        default=None,
        callback=resolve,
        help="Output format: table (default), json or yaml.",
    )(f)
    # eager, so that -o sees it whatever the order on the command line
    return click.option(
        "--json",
        "json_alias",
        is_flag=True,
        hidden=True,
        is_eager=True,
        expose_value=False,
        callback=_json_alias,
        help="Same as -o json.",
    )(f)


def emit(rows: Any, output: str, table: Callable[[Any], Iterable[str]] | None = None) -> None:
    """Print ``rows`` (a list of dicts, or one dict) as ``output``; ``table`` formats the table view.

    >>> emit([{"name": "a", "n": 1}], "json")
    [
     {
      "name": "a",
      "n": 1
     }
    ]
    """
    if output == "json":
        click.echo(json.dumps(rows, indent=1, default=str, ensure_ascii=False))
    elif output == "yaml":
        import yaml

        click.echo(
            yaml.safe_dump(
                json.loads(json.dumps(rows, default=str)), sort_keys=False, allow_unicode=True, width=110
            ).rstrip()
        )
    else:
        for line in (table or default_table)(rows):
            click.echo(line)


def default_table(rows: Any) -> Iterable[str]:
    """Aligned columns of a list of dicts; ``(none)`` when empty."""
    from ..admin.manage import iter_table

    rows = [rows] if isinstance(rows, dict) else list(rows)
    if not rows:
        yield "(none)"
        return
    flat = [{k: (",".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in r.items()} for r in rows]
    yield from iter_table(flat)


def short_warnings() -> None:
    """Python warnings as one line each (``Warning: ...``) instead of a file, a line number and source code."""
    import warnings

    def show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        click.echo(f"Warning: {message}", err=True)

    warnings.showwarning = show  # type: ignore[assignment]


class InternalError(click.ClickException):
    """A bug of odatis-vre, shown as one message (exit 70) instead of a traceback."""

    exit_code = errors.INTERNAL_EXIT


def as_click_error(exc: BaseException) -> click.ClickException:
    """The one-message form of any exception raised by a command."""
    message = errors.user_message(exc)
    return click.ClickException(message) if message is not None else InternalError(errors.internal_message(exc))


class FriendlyGroup(click.Group):
    """A group whose commands' errors become one message (no traceback unless ``--debug``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if globals_of(ctx).debug:
                raise
            raise as_click_error(exc) from None


def add_alias(group: click.Group, old: str, command: click.Command) -> None:
    """``group old`` runs ``command`` too, not listed in ``--help`` (older scripts and docs keep working).

    >>> g = click.Group("g"); c = click.Command("list", callback=lambda: None); g.add_command(c)
    >>> add_alias(g, "show", c); sorted(g.commands), g.commands["show"].hidden
    (['list', 'show'], True)
    """
    group.add_command(
        click.Command(
            old,
            callback=command.callback,
            params=command.params,
            help=command.help,
            context_settings=command.context_settings,
            hidden=True,
            short_help=f"old name of `{command.name}`",
        )
    )


def examples(*lines: str) -> Callable[[Any], Any]:
    """Append an ``Examples:`` block to a command's help (kept verbatim by click's ``\\b``)."""
    block = "\n\nExamples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)

    def decorate(f: Any) -> Any:
        if isinstance(f, click.Command):
            f.help = (f.help or "").rstrip() + block
        else:  # the docstring's own indentation must go first, or click keeps it
            f.__doc__ = inspect.cleandoc(f.__doc__ or "") + block
        return f

    return decorate
