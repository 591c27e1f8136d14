"""``odatis-vre publish ...`` and ``odatis-vre repository serve | fsck | list``.

Examples::

    odatis-vre publish sst_anomaly.nc --metadata meta.yaml            # inside a VRE server
    odatis-vre publish sst.zarr --metadata meta.yaml --draft          # a draft, not published yet
    odatis-vre repository list --state published
    odatis-vre repository fsck                                        # re-verify every published checksum
    odatis-vre repository serve --port 8123                           # what the hub runs (a service)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import CONFIG_OPTION, emit, examples, globals_of, output_option


def _settings(config_path: Path | None, port: int | None = None):  # noqa: ANN202
    from .. import config
    from ..publishing.repository.server import Settings

    try:
        return Settings.from_config(config.load(config_path), port=port)
    except config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _store(config_path: Path | None):  # noqa: ANN202
    from ..publishing.repository.store import Store

    s = _settings(config_path)
    return Store(s.storage, s.db_url, max_upload=s.max_upload)


@click.command("publish")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--metadata",
    "-m",
    "metadata_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="YAML: title, creators (ORCID, affiliation/ROR), licence, keywords, abstract, ...",
)
@click.option(
    "--registrar",
    type=click.Choice(["local", "datacite", "zenodo"]),
    default=None,
    help="Expected DOI registrar (the repository's own is used; a different one is refused).",
)
@click.option("--draft", is_flag=True, help="Upload only: leave a draft (visible to you only) instead of publishing.")
@click.option("--new-version-of", metavar="ID", default=None, help="Make this the next version of a published dataset.")
@click.option(
    "--theme",
    type=click.Choice(["physics", "biogeochemistry", "in_situ", "biology_imaging"]),
    default=None,
    help="Catalogue theme of the dataset (default physics).",
)
@click.option(
    "--repository-url",
    default=None,
    help="Default: $ODATIS_VRE_REPOSITORY_URL, else <hub>/services/repository/ of --hub-url or --config.",
)
@click.option(
    "--token",
    envvar="ODATIS_VRE_REPOSITORY_TOKEN",
    default=None,
    help="Hub API token (default: $ODATIS_VRE_REPOSITORY_TOKEN, odatis-vre --token, else "
    "$JUPYTERHUB_API_TOKEN inside a VRE server).",
)
@click.option(
    "--annotate",
    is_flag=True,
    help="Write the file's ACDD attributes from the metadata, coverage and bounds computed from its data "
    "(default: deposit the file as it is).",
)
@output_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@examples(
    "odatis-vre publish sst_anomaly.nc --metadata meta.yaml",
    "odatis-vre publish sst.zarr --metadata meta.yaml --draft",
    "odatis-vre publish sst_v2.nc -m meta.yaml --new-version-of k3x9abcdef -o json",
)
def publish_cmd(
    path: Path,
    metadata_path: Path,
    registrar: str | None,
    draft: bool,
    new_version_of: str | None,
    theme: str | None,
    repository_url: str | None,
    token: str | None,
    annotate: bool,
    output: str,
    quiet: bool,
) -> None:
    """Deposit PATH (NetCDF file or Zarr folder) in the VRE repository and publish it with a DOI.

    Checks the file, the metadata and the CF/ACDD conventions first (nothing is sent if they fail),
    uploads in resumable chunks, then registers the DOI. Run the same command again after an
    interruption: it resumes and never makes a second DOI.
    """
    from .. import publish

    g = globals_of()
    if token is None and g.token_from_command_line:
        token = g.token
    if repository_url is None and not _env_repository_url():
        hub = g.hub_url or (_hub_url_of(g.config) if g.config else None)
        repository_url = f"{hub.rstrip('/')}/services/repository/" if hub else None
    d = publish.deposit(
        path,
        metadata_path,
        registrar=registrar,
        repository_url=repository_url,
        token=token,
        publish=not draft,
        new_version_of=new_version_of,
        theme=theme,
        progress=not (quiet or output != "table"),
        annotate=annotate,
    )
    if output != "table":
        emit(d.__dict__, output)
        return
    click.echo(f"{d.state}: {d.id} v{d.version}  DOI {d.doi}")
    click.echo(f"landing page: {d.landing_url}")
    if d.citation:
        click.echo(f"cite as: {d.citation}")


def _env_repository_url() -> str | None:
    import os

    from ..publishing.repository.client import ENV_URL

    return os.environ.get(ENV_URL) or None


def _hub_url_of(config_path: Path) -> str:
    from .. import config

    return config.load(config_path).hub_url


@click.group("repository")
@examples("odatis-vre repository list --state published", "odatis-vre repository fsck")
def repository_group() -> None:
    """The repository service: deposits with DOIs, landing pages, Zarr/OPeNDAP (run by the hub)."""


@repository_group.command("serve")
@click.option(
    "--port", type=click.IntRange(1, 65535), required=True, help="Port to listen on (the hub's proxy forwards to it)."
)
@click.option(
    "--address",
    default=None,
    help="Address to listen on (default: 127.0.0.1 in local mode, all interfaces in a Kubernetes pod).",
)
@CONFIG_OPTION
@examples("odatis-vre repository serve --port 8123", "odatis-vre repository serve --port 8123 --address 0.0.0.0")
def serve_cmd(port: int, address: str | None, config_path: Path | None) -> None:
    """Run the service (the hub starts it with its service environment: JUPYTERHUB_API_TOKEN, ...)."""
    from .. import config
    from ..publishing.repository import server

    if address is None:
        try:
            mode = config.load(config_path).mode
        except config.ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        address = "0.0.0.0" if mode == "kubernetes" else "127.0.0.1"  # noqa: S104 — the pod's Service reaches it
    server.serve(port, _settings(config_path, port), address)


@repository_group.command("fsck")
@output_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@CONFIG_OPTION
@examples("odatis-vre repository fsck", "odatis-vre repository fsck -o json -q")
def fsck_cmd(output: str, quiet: bool, config_path: Path | None) -> None:
    """Re-verify every published file (size, SHA-256, read-only); exit 1 if any problem."""
    from tqdm import tqdm

    store = _store(config_path)
    versions = store.list_versions(state="published")
    n_files = sum(len(v["files"]) for v in versions)
    with tqdm(
        total=store.published_bytes(), unit="B", unit_scale=True, desc="fsck", disable=quiet or output != "table"
    ) as bar:
        problems = store.fsck(progress=bar)
    if output != "table":
        emit({"versions": len(versions), "files": n_files, "problems": problems}, output)
    else:
        click.echo(
            f"{len(versions)} published versions, {n_files} files checked: "
            + ("all checksums match" if not problems else f"{len(problems)} problem(s)")
        )
        for p in problems:
            click.echo(f"  - {p}")
    sys.exit(1 if problems else 0)


@repository_group.command("list")
@click.option("--state", type=click.Choice(["draft", "published"]), default=None)
@click.option("--owner", default=None)
@output_option
@CONFIG_OPTION
@examples("odatis-vre repository list --state published", "odatis-vre repository list --owner ann -o yaml")
def list_cmd(state: str | None, owner: str | None, output: str, config_path: Path | None) -> None:
    """List deposits (id, version, state, DOI, owner, title) from the repository's database."""
    store = _store(config_path)
    rows = store.list_versions(state=state, owner=owner)
    if output != "table":
        emit(
            [
                {k: v[k] for k in ("id", "version", "state", "doi", "owner", "created", "published")}
                | {"title": v["metadata"].get("title"), "files": v["files"]}
                for v in rows
            ],
            output,
        )
        return
    for v in rows:
        click.echo(
            f"{v['id']}  v{v['version']:<3} {v['state']:<9} {str(v['doi'] or '-'):<32} {v['owner']:<12} "
            f"{v['metadata'].get('title', '')}"
        )
    if not rows:
        click.echo("no deposits")


COMMANDS = [publish_cmd, repository_group]
