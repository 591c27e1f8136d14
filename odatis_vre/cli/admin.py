"""``odatis-vre admin ...``: images, quotas, users, groups and usage (a thin layer over :mod:`odatis_vre.admin`)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import config as config_mod
from ..admin import manage as admin
from .common import CONFIG_OPTION, add_alias, emit, examples, hub_options, output_option


def _config_path(config_path: Path | None) -> Path:
    return Path(config_path or config_mod.default_path()).resolve()


def _load(config_path: Path | None) -> config_mod.VREConfig:
    return config_mod.load(_config_path(config_path))


def _hub(config_path: Path | None, hub_url: str | None, token: str | None) -> admin.HubClient:
    return admin.HubClient.from_config(_load(config_path), hub_url, token)


def friendly(f: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the package's errors into a one-message exit (no traceback), also when a command runs alone."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return f(*args, **kw)
        except (admin.AdminError, config_mod.ConfigError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _echo_rows(rows: list[dict[str, Any]], output: str | bool) -> None:
    """``rows`` as ``output`` (table, json, yaml; ``True`` is json, for older callers)."""
    emit(rows, "json" if output is True else "table" if output is False else output)


#: -o table|json|yaml (and the older --json): the command receives ``output``
JSON_OPTION = output_option


@click.group("admin")
@examples(
    "odatis-vre admin users add ann --group researchers",
    "odatis-vre admin quotas list -o yaml",
    "odatis-vre admin images list",
    "odatis-vre admin usage --by group",
)
def admin_group() -> None:
    """Administer the VRE: images (profiles), quotas, users, groups, usage.

    Configuration changes are validated and written atomically to vre.yaml; the hub and the
    Dask Gateway apply them to the next server / cluster, without a restart.
    """


# -- images --------------------------------------------------------------------------------


@admin_group.group("images")
@examples("odatis-vre admin images list", "odatis-vre admin images retire ocean-2026")
def images() -> None:
    """Images (profiles) offered on the spawn page."""


@images.command("list")
@CONFIG_OPTION
@JSON_OPTION
@examples("odatis-vre admin images list", "odatis-vre admin images list -o yaml")
@friendly
def images_list(config_path: Path | None, output: str) -> None:
    """List every profile, retired ones included."""
    _echo_rows(admin.list_images(_load(config_path)), output)


@images.command("add")
@click.argument("name")
@click.option(
    "--image", required=True, help="Container image (Kubernetes mode), e.g. ghcr.io/odatis/vre-ocean:2026.12."
)
@click.option("--display-name", default=None, help="Title on the spawn page (default: NAME).")
@click.option("--description", default="", help="One line on the spawn page: what is inside, how big.")
@click.option(
    "--environment",
    default=None,
    help="Local mode: 'current' or the path of a Python environment with jupyterhub-singleuser.",
)
@click.option("--cpu", type=float, default=None, help="CPU limit (cores).")
@click.option("--memory", default=None, help="Memory limit, e.g. 4G.")
@click.option("--cpu-guarantee", type=float, default=None, help="CPU guarantee (cores).")
@click.option("--memory-guarantee", default=None, help="Memory guarantee, e.g. 1G.")
@click.option("--group", "groups", multiple=True, help="Offer only to this group (repeatable; default: everyone).")
@click.option("--default", is_flag=True, help="Pre-select this profile on the spawn page.")
@CONFIG_OPTION
@examples(
    "odatis-vre admin images add ocean-2027 --image ghcr.io/odatis/vre-ocean:2027.01 --cpu 2 --memory 4G",
    "odatis-vre admin images add big --image ghcr.io/odatis/vre-ocean:2027.01 --cpu 8 --memory 32G --group researchers",
)
@friendly
def images_add(
    name: str,
    image: str,
    display_name: str | None,
    description: str,
    environment: str | None,
    cpu: float | None,
    memory: str | None,
    cpu_guarantee: float | None,
    memory_guarantee: str | None,
    groups: tuple[str, ...],
    default: bool,
    config_path: Path | None,
) -> None:
    """Offer a new profile NAME for new servers."""
    admin.add_image(
        _config_path(config_path),
        name,
        image,
        display_name=display_name,
        description=description,
        environment=environment,
        cpu=cpu,
        memory=memory,
        cpu_guarantee=cpu_guarantee,
        memory_guarantee=memory_guarantee,
        groups=groups,
        default=default,
    )
    click.echo(f"Profile {name!r} ({image}) is offered to new servers.")


@images.command("retire")
@click.argument("name")
@CONFIG_OPTION
@examples("odatis-vre admin images retire ocean-2026")
@friendly
def images_retire(name: str, config_path: Path | None) -> None:
    """Stop offering profile NAME to new servers; running servers keep it."""
    changed = admin.retire_image(_config_path(config_path), name)
    click.echo(
        f"Profile {name!r} is retired: new servers cannot use it; running servers keep it."
        if changed
        else f"Profile {name!r} was already retired."
    )


# -- quotas --------------------------------------------------------------------------------


@admin_group.group("quotas")
@examples("odatis-vre admin quotas list", "odatis-vre admin quotas set researchers --cpu 4 --memory 16G")
def quotas_group() -> None:
    """Per-group limits for notebook servers and Dask clusters."""


@quotas_group.command("list")
@click.argument("group", required=False)
@click.option("--user", default=None, help="Show the quota that applies to this user instead.")
@CONFIG_OPTION
@hub_options
@JSON_OPTION
@examples(
    "odatis-vre admin quotas list",
    "odatis-vre admin quotas list researchers -o json",
    "odatis-vre admin quotas list --user ann",
)
@friendly
def quotas_show(
    group: str | None, user: str | None, config_path: Path | None, hub_url: str | None, token: str | None, output: str
) -> None:
    """List each group's quota (or GROUP's, or --user's effective quota). Empty = unlimited."""
    cfg = _load(config_path)
    if user:
        try:
            hub = _hub(config_path, hub_url, token)
            q = admin.effective_quota(cfg, user, hub)
        except admin.AdminError:
            q = admin.effective_quota(cfg, user)  # no hub: groups listed in vre.yaml only
        _echo_rows([{"user": user} | q], output)
        return
    table = admin.show_quotas(cfg)
    if group:
        if group not in table:
            raise click.ClickException(f"No group named {group!r} (groups: {', '.join(table)}).")
        table = {group: table[group]}
    _echo_rows([{"group": g} | q for g, q in table.items()], output)


add_alias(quotas_group, "show", quotas_show)


def _quota_option(name: str, help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        f"--{name}",
        name.replace("-", "_"),
        default=None,
        metavar="VALUE",
        help=help_text + " ('unlimited' removes the limit)",
    )


@quotas_group.command("set")
@click.argument("group")
@_quota_option("cpu", "Largest CPU limit of one server, cores.")
@_quota_option("memory", "Largest memory limit of one server, e.g. 8G.")
@_quota_option("servers", "Servers a user may run at once.")
@_quota_option("storage", "Home storage, e.g. 20G.")
@_quota_option("dask-cores", "Cores of one Dask cluster.")
@_quota_option("dask-workers", "Workers of one Dask cluster.")
@_quota_option("dask-worker-memory", "Memory of one Dask worker, e.g. 4G.")
@_quota_option("dask-clusters", "Dask clusters a user may run at once.")
@CONFIG_OPTION
@examples(
    "odatis-vre admin quotas set researchers --cpu 4 --memory 16G --servers 2 --storage 50G",
    "odatis-vre admin quotas set researchers --dask-workers 8 --dask-worker-memory 8G",
    "odatis-vre admin quotas set researchers --dask-clusters unlimited",
)
@friendly
def quotas_set(group: str, config_path: Path | None, **values: Any) -> None:
    """Change GROUP's quota; the next server and the next Dask cluster follow it (no restart)."""
    quota = admin.set_quota(_config_path(config_path), group, **values)
    click.echo(f"Quota of {group!r} is now: {json.dumps(quota)}")


# -- users ---------------------------------------------------------------------------------


@admin_group.group("users")
@examples("odatis-vre admin users list -o json", "odatis-vre admin users add ann --group researchers")
def users() -> None:
    """Accounts and group membership (in the running hub and vre.yaml)."""


@users.command("add")
@click.argument("name")
@click.option("--group", "groups", multiple=True, help="Add to this group (repeatable).")
@click.option(
    "--password-file",
    type=click.File("r"),
    default=None,
    help="Read the password from this file ('-' for stdin); default: generate one and print it once.",
)
@click.option("--expires", default=None, help="Account expiry date, YYYY-MM-DD[THH:MM] (local accounts).")
@CONFIG_OPTION
@hub_options
@examples(
    "odatis-vre admin users add ann --group researchers",
    "odatis-vre admin users add bob --expires 2026-12-31",
    "odatis-vre admin users add carl --password-file - < password.txt",
)
@friendly
def users_add(
    name: str,
    groups: tuple[str, ...],
    password_file: Any,
    expires: str | None,
    config_path: Path | None,
    hub_url: str | None,
    token: str | None,
) -> None:
    """Create user NAME (or update its password and groups)."""
    password = password_file.read().strip() if password_file else None
    pw = admin.add_user(
        _hub(config_path, hub_url, token),
        _config_path(config_path),
        name,
        groups=groups,
        password=password,
        expires=admin.parse_date(expires) if expires else None,
    )
    click.echo(f"User {name!r} is ready" + (f" in {', '.join(groups)}" if groups else "") + ".")
    if pw and not password:
        click.echo(f"  password (shown once): {pw}")


@users.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@CONFIG_OPTION
@hub_options
@examples("odatis-vre admin users remove ann", "odatis-vre admin users remove bob --yes")
@friendly
def users_remove(name: str, yes: bool, config_path: Path | None, hub_url: str | None, token: str | None) -> None:
    """Stop NAME's servers and delete the user (login, hub record, group memberships). Files stay on disk."""
    if not yes:
        click.confirm(f"Delete user {name!r} and stop their servers?", abort=True)
    admin.remove_user(_hub(config_path, hub_url, token), _config_path(config_path), name)
    click.echo(f"User {name!r} removed.")


@users.command("list")
@click.option("--group", default=None, help="Only members of this group.")
@CONFIG_OPTION
@hub_options
@JSON_OPTION
@examples("odatis-vre admin users list", "odatis-vre admin users list --group researchers -o yaml")
@friendly
def users_list(
    group: str | None, config_path: Path | None, hub_url: str | None, token: str | None, output: str
) -> None:
    """List users: groups, admin, running servers, last activity, account expiry."""
    _echo_rows(admin.list_users(_hub(config_path, hub_url, token), _load(config_path), group), output)


# -- groups --------------------------------------------------------------------------------


@admin_group.group("groups", invoke_without_command=True)
@examples("odatis-vre admin groups list", "odatis-vre admin groups add trainees --quota-from default")
@CONFIG_OPTION
@hub_options
@JSON_OPTION
@click.pass_context
@friendly
def groups(ctx: click.Context, config_path: Path | None, hub_url: str | None, token: str | None, output: str) -> None:
    """Groups and their members: list, add, remove (`admin groups` alone lists them, as before)."""
    if ctx.invoked_subcommand is not None:
        return
    _list_groups(config_path, hub_url, token, output)


@groups.command("list")
@CONFIG_OPTION
@hub_options
@JSON_OPTION
@examples("odatis-vre admin groups list", "odatis-vre admin groups list -o json")
@friendly
def groups_list(config_path: Path | None, hub_url: str | None, token: str | None, output: str) -> None:
    """List groups, their members and descriptions (from the hub and vre.yaml)."""
    _list_groups(config_path, hub_url, token, output)


def _list_groups(config_path: Path | None, hub_url: str | None, token: str | None, output: str) -> None:
    cfg = _load(config_path)
    try:
        hub: admin.HubClient | None = _hub(config_path, hub_url, token)
        rows = admin.list_groups(cfg, hub)
    except admin.AdminError as exc:
        click.echo(f"(hub not reached: {exc}; showing vre.yaml only)", err=True)
        rows = admin.list_groups(cfg, None)
    _echo_rows(rows, output)


@groups.command("add")
@click.argument("name")
@click.option("--description", default="", help="What the group is for.")
@click.option("--quota-from", default=None, help="Start from a copy of this group's quota.")
@CONFIG_OPTION
@hub_options
@examples("odatis-vre admin groups add trainees --description 'Summer school' --quota-from default")
@friendly
def groups_add(
    name: str,
    description: str,
    quota_from: str | None,
    config_path: Path | None,
    hub_url: str | None,
    token: str | None,
) -> None:
    """Create group NAME in vre.yaml and in the running hub."""
    try:
        hub: admin.HubClient | None = _hub(config_path, hub_url, token)
        hub.get("/")  # type: ignore[union-attr]
    except admin.AdminError:
        hub = None
    admin.add_group(_config_path(config_path), name, description=description, quota_from=quota_from, hub=hub)
    click.echo(f"Group {name!r} created" + ("" if hub else " in vre.yaml (the hub creates it at its next start)") + ".")


@groups.command("remove")
@click.argument("name")
@CONFIG_OPTION
@hub_options
@examples("odatis-vre admin groups remove trainees")
@friendly
def groups_remove(name: str, config_path: Path | None, hub_url: str | None, token: str | None) -> None:
    """Delete group NAME from vre.yaml and the hub (members keep their other groups)."""
    try:
        hub: admin.HubClient | None = _hub(config_path, hub_url, token)
        hub.get("/")  # type: ignore[union-attr]
    except admin.AdminError:
        hub = None
    admin.remove_group(_config_path(config_path), name, hub=hub)
    click.echo(f"Group {name!r} removed.")


# -- usage ---------------------------------------------------------------------------------


@admin_group.command("usage")
@click.option("--since", default=None, help="Start, YYYY-MM-DD[THH:MM] (default: 30 days ago).")
@click.option("--until", default=None, help="End, YYYY-MM-DD[THH:MM] (default: now).")
@click.option(
    "--by",
    type=click.Choice(["user", "group", "both"]),
    default="both",
    show_default=True,
    help="Rows per user, per group, or both.",
)
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None, help="Write the table as CSV here.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None, help="Write a PNG bar chart here.")
@click.option(
    "--gateway-db",
    default=None,
    help="The Dask Gateway's database URL (default: the local mode's <state_dir>/dask-gateway.sqlite).",
)
@CONFIG_OPTION
@hub_options
@JSON_OPTION
@examples(
    "odatis-vre admin usage",
    "odatis-vre admin usage --since 2026-01-01 --until 2026-03-31 --by group -o yaml",
    "odatis-vre admin usage --csv usage.csv --plot usage.png",
)
@friendly
def usage_cmd(
    since: str | None,
    until: str | None,
    by: str,
    csv_path: Path | None,
    plot_path: Path | None,
    gateway_db: str | None,
    config_path: Path | None,
    hub_url: str | None,
    token: str | None,
    output: str,
) -> None:
    """Server hours, CPU-hours, memory-hours (GiB) and Dask core-hours per user and group."""
    import time

    from ..admin import usage

    cfg = _load(config_path)
    t1 = admin.parse_date(until) if until else time.time()
    t0 = admin.parse_date(since, end_of_day=False) if since else t1 - 30 * 86400
    if t0 >= t1:
        raise click.BadParameter(
            f"{since or '(30 days before --until)'} is not before --until {until or '(now)'}: "
            f"give a period that starts before it ends",
            param_hint="--since",
        )
    try:
        hub: admin.HubClient | None = _hub(config_path, hub_url, token)
        hub.get("/")  # type: ignore[union-attr]
    except admin.AdminError:
        hub = None
    report = usage.report(cfg, t0, t1, hub=hub, gateway_db=gateway_db)
    rows = report.rows(by)
    _echo_rows([usage.display_row(r) for r in rows], output)
    if csv_path:
        usage.write_csv(rows, csv_path)
        click.echo(f"CSV: {csv_path}")
    if plot_path:
        usage.plot(report, plot_path)
        click.echo(f"Plot: {plot_path}")


COMMANDS = [admin_group]
