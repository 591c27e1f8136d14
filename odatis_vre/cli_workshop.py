"""``odatis-vre workshop create | list | share | end``: training sessions (a thin layer over :mod:`odatis_vre.workshop`)."""

from __future__ import annotations

from pathlib import Path

import click

from . import workshop
from .cli_admin import JSON_OPTION, _config_path, _echo_rows, _hub, _load, friendly
from .cli_common import CONFIG_OPTION, examples, hub_options


@click.group("workshop")
@examples("odatis-vre workshop create ocean101 --seats 30 --material notebooks/ --until 2026-12-04",
          "odatis-vre workshop share ocean101 ocean101-03 --with ocean101-07", "odatis-vre workshop end ocean101")
def workshop_group() -> None:
    """Training workshops: temporary accounts with the course material, shared sessions, instructors."""


@workshop_group.command("create")
@click.argument("name")
@click.option("--seats", type=int, required=True, help="Number of participant accounts (NAME-01, NAME-02, ...).")
@click.option("--material", required=True,
              help="The course: a folder, or a git URL (https://..., file://...). Copied into each home as NAME/.")
@click.option("--until", required=True, help="Last day (YYYY-MM-DD) or date-time: the accounts expire then.")
@click.option("--instructor", "instructors", multiple=True,
              help="Instructor login (repeatable; an existing user keeps their password). Default: NAME-instructor.")
@click.option("--quota-from", default="default", show_default=True,
              help="The participants' group starts with a copy of this group's quota.")
@click.option("--title", default="", help="The workshop's title on the sheet.")
@CONFIG_OPTION
@hub_options
@examples("odatis-vre workshop create ocean101 --seats 30 --material notebooks/ --until 2026-12-04",
          "odatis-vre workshop create argo --seats 12 --material https://example.org/course.git --until 2026-06-30 "
          "--instructor ann")
@friendly
def create_cmd(name: str, seats: int, material: str, until: str, instructors: tuple[str, ...], quota_from: str,
               title: str, config_path: Path | None, hub_url: str | None, token: str | None) -> None:
    """Create workshop NAME: accounts, material, instructor access and a printable sheet of logins."""
    ws = workshop.create(_hub(config_path, hub_url, token), _config_path(config_path), name, seats=seats,
                         material=material, until=until, instructors=instructors, quota_from=quota_from, title=title)
    n_instr = sum(1 for s in ws.seats if s.role == "instructor")
    click.echo(f"Workshop {name!r}: {len(ws.seats) - n_instr} participant(s), {n_instr} instructor(s).")
    click.echo(f"  printable sheet (logins, passwords, links): {ws.sheet}")
    click.echo(f"  the same as CSV: {ws.csv}")
    click.echo(f"  participants' quota: `odatis-vre admin quotas set {workshop.group_of(name)} ...`")


@workshop_group.command("list")
@CONFIG_OPTION
@JSON_OPTION
@examples("odatis-vre workshop list", "odatis-vre workshop list -o json")
@friendly
def list_cmd(config_path: Path | None, output: str) -> None:
    """List the running workshops."""
    _echo_rows(workshop.list_workshops(_load(config_path)), output)


@workshop_group.command("share")
@click.argument("name")
@click.argument("owner")
@click.option("--with", "with_user", default=None, help="Give this workshop member access to OWNER's server.")
@click.option("--code", is_flag=True, help="Print a share link instead (whoever opens it, logged in, gets access).")
@click.option("--expires-in", type=click.IntRange(min=60), default=86400, show_default=True,
              help="Validity of a --code link, seconds.")
@CONFIG_OPTION
@hub_options
@examples("odatis-vre workshop share ocean101 ocean101-03 --with ocean101-07",
          "odatis-vre workshop share ocean101 ocean101-03 --code --expires-in 3600")
@friendly
def share_cmd(name: str, owner: str, with_user: str | None, code: bool, expires_in: int, config_path: Path | None,
              hub_url: str | None, token: str | None) -> None:
    """Share OWNER's server in workshop NAME (pair work): with a member, or as a link."""
    if bool(with_user) == bool(code):
        raise click.UsageError("Give exactly one of --with USER or --code.")
    hub, cfg = _hub(config_path, hub_url, token), _load(config_path)
    if code:
        click.echo(workshop.share_code(hub, cfg, name, owner, expires_in))
    else:
        workshop.share(hub, cfg, name, owner, with_user)  # type: ignore[arg-type]
        click.echo(f"{with_user} can now open {owner}'s server ({hub.url}/user/{owner}/).")


@workshop_group.command("end")
@click.argument("name")
@click.option("--keep-homes", is_flag=True, help="Keep the participants' folders after archiving them.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@CONFIG_OPTION
@hub_options
@examples("odatis-vre workshop end ocean101", "odatis-vre workshop end ocean101 --keep-homes --yes")
@friendly
def end_cmd(name: str, keep_homes: bool, yes: bool, config_path: Path | None, hub_url: str | None,
            token: str | None) -> None:
    """End workshop NAME: stop servers, remove its accounts, archive every participant's files."""
    if not yes:
        click.confirm(f"End workshop {name!r}: its accounts will be deleted (their files archived)?", abort=True)
    done = workshop.end(_hub(config_path, hub_url, token), _config_path(config_path), name, keep_homes=keep_homes)
    click.echo(f"Workshop {name!r} ended: {len(done.participants)} participant account(s) removed; "
               f"{done.files} file(s) archived in {done.archive}")
    if done.never_started:
        click.echo(f"  nothing to archive (never started a server or left no files): {', '.join(done.never_started)}")


COMMANDS = [workshop_group]
