"""``odatis-vre workshop create | list | share | end``: training sessions (a thin layer over :mod:`odatis_vre.admin.workshop`)."""

from __future__ import annotations

from pathlib import Path

import click

from ..admin import workshop
from .admin import JSON_OPTION, _config_path, _echo_rows, _hub, _load, friendly
from .common import CONFIG_OPTION, examples, hub_options


@click.group("workshop")
@examples(
    "odatis-vre workshop create ocean101 --seats 30 --material notebooks/ --until 2026-12-04",
    "odatis-vre workshop share ocean101 ocean101-03 --with ocean101-07",
    "odatis-vre workshop end ocean101",
)
def workshop_group() -> None:
    """Training workshops: temporary accounts with the course material, shared sessions, instructors."""


@workshop_group.command("create")
@click.argument("name")
@click.option("--seats", type=int, required=True, help="Number of participant accounts (NAME-01, NAME-02, ...).")
@click.option(
    "--material",
    required=True,
    help="The course: a folder, or a git URL (https://..., file://...). Copied into each home as NAME/.",
)
@click.option("--until", required=True, help="Last day (YYYY-MM-DD) or date-time: the accounts expire then.")
@click.option(
    "--instructor",
    "instructors",
    multiple=True,
    help="Instructor login (repeatable; an existing user keeps their password). Default: NAME-instructor.",
)
@click.option(
    "--quota-from",
    default="default",
    show_default=True,
    help="The participants' group starts with a copy of this group's quota.",
)
@click.option("--title", default="", help="The workshop's title on the sheet.")
@CONFIG_OPTION
@hub_options
@examples(
    "odatis-vre workshop create ocean101 --seats 30 --material notebooks/ --until 2026-12-04",
    "odatis-vre workshop create argo --seats 12 --material https://example.org/course.git --until 2026-06-30 "
    "--instructor ann",
)
@friendly
def create_cmd(
    name: str,
    seats: int,
    material: str,
    until: str,
    instructors: tuple[str, ...],
    quota_from: str,
    title: str,
    config_path: Path | None,
    hub_url: str | None,
    token: str | None,
) -> None:
    """Create workshop NAME: accounts, material, instructor access and a printable sheet of logins."""
    ws = workshop.create(
        _hub(config_path, hub_url, token),
        _config_path(config_path),
        name,
        seats=seats,
        material=material,
        until=until,
        instructors=instructors,
        quota_from=quota_from,
        title=title,
    )
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
@click.option(
    "--expires-in",
    type=click.IntRange(min=60),
    default=86400,
    show_default=True,
    help="Validity of a --code link, seconds.",
)
@CONFIG_OPTION
@hub_options
@examples(
    "odatis-vre workshop share ocean101 ocean101-03 --with ocean101-07",
    "odatis-vre workshop share ocean101 ocean101-03 --code --expires-in 3600",
)
@friendly
def share_cmd(
    name: str,
    owner: str,
    with_user: str | None,
    code: bool,
    expires_in: int,
    config_path: Path | None,
    hub_url: str | None,
    token: str | None,
) -> None:
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
def end_cmd(
    name: str, keep_homes: bool, yes: bool, config_path: Path | None, hub_url: str | None, token: str | None
) -> None:
    """End workshop NAME: stop servers, remove its accounts, archive every participant's files."""
    if not yes:
        click.confirm(f"End workshop {name!r}: its accounts will be deleted (their files archived)?", abort=True)
    done = workshop.end(_hub(config_path, hub_url, token), _config_path(config_path), name, keep_homes=keep_homes)
    click.echo(
        f"Workshop {name!r} ended: {len(done.participants)} participant account(s) removed; "
        f"{done.files} file(s) archived in {done.archive}"
    )
    if done.never_started:
        click.echo(f"  nothing to archive (never started a server or left no files): {', '.join(done.never_started)}")


COMMANDS = [workshop_group]


@workshop_group.command("link")
@click.argument("repo")
@click.option("--branch", default="main", show_default=True, help="The branch to pull.")
@click.option(
    "--folder", default=None, help="Folder of each home that receives the course (default: the repository's name)."
)
@click.option("--open", "open_path", default="", help="A notebook to open in that folder, e.g. 01-intro.ipynb.")
@click.option("--hub-url", default=None, help="The hub's public address (default: the hub of the configuration).")
@CONFIG_OPTION
@examples(
    "odatis-vre workshop link https://gitlab.example.org/ocean101/course.git --open 01-intro.ipynb",
    "odatis-vre workshop link file:///srv/courses/argo.git --branch 2026 --folder argo-course",
)
@friendly
def link_cmd(
    repo: str, branch: str, folder: str | None, open_path: str, hub_url: str | None, config_path: Path | None
) -> None:
    """Print an nbgitpuller link for REPO (a git URL): participants click it to get the course in their home.

    Works in both modes (the user images carry nbgitpuller and git); put it on the workshop's page or sheet.
    """
    url = hub_url or _load(config_path).hub_url
    click.echo(workshop.nbgitpuller_link(url, repo, branch=branch, folder=folder, open_path=open_path))


@workshop_group.command("archive-job")
@click.argument("name")
@click.option(
    "--user", "users", multiple=True, required=True, help="A participant whose home volume to archive (repeat)."
)
@click.option("--image", required=True, help="The ocean image (the default profile's image of vre.yaml).")
@click.option("--namespace", default="odatis", show_default=True)
@click.option(
    "--archives-claim",
    default="odatis-vre-archives",
    show_default=True,
    help="The volume that receives the archive (the chart makes odatis-vre-archives).",
)
@examples(
    "odatis-vre workshop archive-job ocean101 --user ocean101-01 --user ocean101-02 "
    "--image registry.example.org/odatis-vre/ocean:2026.12 | kubectl apply -f -"
)
@friendly
def archive_job_cmd(name: str, users: tuple[str, ...], image: str, namespace: str, archives_claim: str) -> None:
    """Print the Job (YAML) that archives NAME's home volumes in Kubernetes mode: `... | kubectl apply -f -`."""
    import yaml

    click.echo(
        yaml.safe_dump(
            workshop.archive_job(name, list(users), image, namespace=namespace, archives_claim=archives_claim),
            sort_keys=False,
        ),
        nl=False,
    )


@workshop_group.command("archive-homes")
@click.argument("name")
@click.option(
    "--homes",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Folder holding one folder per user (the Job mounts each volume there).",
)
@click.option("--user", "users", multiple=True, required=True, help="A participant (repeat).")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), required=True, help="Where the archive goes.")
@examples(
    "odatis-vre workshop archive-homes ocean101 --homes /homes --user ocean101-01 --user ocean101-02 --dest /archives"
)
@friendly
def archive_homes_cmd(name: str, homes: Path, users: tuple[str, ...], dest: Path) -> None:
    """Archive HOMES/<user> of every --user into DEST/workshop-NAME-<time>.tar.gz (what the archive Job runs)."""
    archive, files, never = workshop.archive_homes(None, name, list(users), dest, progress=False, homes=homes)
    click.echo(f"{archive}: {files} files" + (f"; nothing to keep for {', '.join(never)}" if never else ""))
