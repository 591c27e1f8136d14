"""Training workshops: temporary accounts with the course material, shared sessions, an instructor role.

``create`` makes ``seats`` accounts ``<name>-01`` … that expire at ``until``, a group
``workshop-<name>`` (with its own quota) and a group ``workshop-<name>-instructors``
whose members can open every participant's server (a JupyterHub share of each
participant's server, granted to each instructor; after a hub restart also a
role, see :func:`odatis_vre.hub.hubconfig.workshop_roles`). The material (a folder or a git
repository) is snapshotted once into ``<state_dir>/workshops/<name>/material`` and copied
into each participant's home at each server start, leaving files the participant
changed alone. A printable sheet lists login, password and link for every seat.

``end`` stops the servers, removes the accounts, archives every participant's home
into ``<state_dir>/archives/`` (one ``.tar.gz`` written atomically, checked against its
manifest) and only then deletes the homes and the groups.

>>> from odatis_vre import admin, config
>>> from odatis_vre.admin import workshop
>>> hub = admin.HubClient.from_config(config.load("vre.yaml"))                 # doctest: +SKIP
>>> ws = workshop.create(hub, "vre.yaml", "ocean101", seats=30,
...                      material="notebooks/", until="2026-12-04")            # doctest: +SKIP
>>> ws.sheet                                                                   # doctest: +SKIP
PosixPath('.vre/workshops/ocean101/sheet.html')
>>> workshop.end(hub, "vre.yaml", "ocean101").archive                          # doctest: +SKIP
PosixPath('.vre/archives/workshop-ocean101-20261204T180000.tar.gz')
"""

from __future__ import annotations

import copy
import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import atomic
from .. import config as config_mod
from ..config import VREConfig
from ..users import sysusers
from ..users.accounts import generate_password, username_problem, valid_username
from . import manage as admin
from .manage import AdminError, HubClient

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
GIT_RE = re.compile(r"^(https?://|file://|ssh://|git@).+|.+\.git/?$")
MAX_SEATS = 500
SKIP = {".git", ".ipynb_checkpoints", "__pycache__"}


class WorkshopError(AdminError):
    """A workshop cannot be created, shared or ended; the message says why and what to do."""


@dataclass
class Seat:
    login: str
    password: str | None  # None for an existing user made instructor (their own password)
    link: str
    role: str  # "participant" | "instructor"


@dataclass
class Workshop:
    name: str
    seats: list[Seat]
    until: float
    sheet: Path
    csv: Path


@dataclass
class Ended:
    name: str
    archive: Path
    participants: list[str]
    files: int
    never_started: list[str] = field(default_factory=list)


def group_of(name: str) -> str:
    return f"workshop-{name}"


def instructors_group_of(name: str) -> str:
    return f"workshop-{name}-instructors"


def workshop_dir(cfg: VREConfig, name: str) -> Path:
    return cfg.state_dir / "workshops" / name


def home_of(cfg: VREConfig, user: str) -> Path:
    """The user's home in the local mode (:func:`odatis_vre.users.sysusers.home_of`)."""
    return sysusers.home_of(cfg, user)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------
# material


def snapshot_material(source: str, dest: Path) -> int:
    """Copy a folder, or clone a git repository (``file://``, ``https://``…), into ``dest``; return its file count.

    The snapshot is made beside ``dest`` and renamed into place, so ``dest`` is either the
    old snapshot or the complete new one.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".material-"))
    try:
        folder = Path(source).expanduser()
        if folder.is_dir():
            shutil.copytree(folder, tmp / "m", ignore=shutil.ignore_patterns(*SKIP))
        elif GIT_RE.match(source):
            r = subprocess.run(
                ["git", "clone", "--quiet", "--depth", "1", source, str(tmp / "m")],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if r.returncode != 0:
                raise WorkshopError(
                    f"Could not clone the material {source!r}: {r.stderr.strip() or r.stdout.strip()}. "
                    "Check the URL (a repository reachable from this machine), or give a folder."
                )
            shutil.rmtree(tmp / "m" / ".git", ignore_errors=True)
        else:
            raise WorkshopError(
                f"--material {source!r} is neither a folder nor a git URL "
                "(https://…, file://…, ssh://…, or ending in .git)."
            )
        count = sum(1 for p in (tmp / "m").rglob("*") if p.is_file())
        if count == 0:
            raise WorkshopError(f"The material {source!r} holds no file: give the folder or repository of the course.")
        old = dest.with_name(dest.name + ".old")
        if dest.exists():
            os.replace(dest, old)
        os.replace(tmp / "m", dest)
        shutil.rmtree(old, ignore_errors=True)
        return count
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def provide_material(
    cfg: VREConfig, username: str, home: str | os.PathLike[str], account: sysusers.Account | None = None
) -> list[str]:
    """Copy the material of ``username``'s workshops into ``home/<workshop>/``; return the files copied.

    Called by the spawner before each start. A file already in the home is never
    overwritten (the participant's edits win); material added since the last start is copied.
    With ``account`` (multi-user mode), what is copied belongs to that account.

    >>> cfg = config_mod.from_dict({"profiles": [{"name": "p", "display_name": "P", "image": "i"}]})
    >>> provide_material(cfg, "ann", "/tmp/nowhere")
    []
    """
    copied: list[str] = []
    for name, ws in (cfg.data.get("workshops") or {}).items():
        if username not in (ws.get("participants") or []) + (ws.get("instructors") or []):
            continue
        src = Path(ws.get("material_dir") or workshop_dir(cfg, name) / "material")
        if not src.is_dir():
            continue
        target = Path(home) / ws.get("folder", name)
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src)
            if any(part in SKIP for part in rel.parts) or not path.is_file():
                continue
            dest = target / rel
            if dest.exists():
                continue
            made = _makedirs(dest.parent, Path(home))
            tmp = dest.with_name(f".{dest.name}.copying")
            shutil.copy2(path, tmp)
            if account is not None:
                for d in made:
                    os.lchown(d, account.uid, account.gid)
                os.lchown(tmp, account.uid, account.gid)
            os.replace(tmp, dest)
            copied.append(str(Path(ws.get("folder", name)) / rel))
    return copied


def _makedirs(folder: Path, top: Path) -> list[Path]:
    """``mkdir -p folder`` below ``top``; return the folders it made (to hand them to the user)."""
    made: list[Path] = []
    for d in [*reversed(folder.relative_to(top).parents), folder.relative_to(top)]:
        path = top / d
        if not path.exists():
            path.mkdir()
            made.append(path)
    return made


# ---------------------------------------------------------------------------------------
# create


def _seat_names(name: str, seats: int) -> list[str]:
    width = max(2, len(str(seats)))
    return [f"{name}-{i:0{width}d}" for i in range(1, seats + 1)]


def nbgitpuller_link(
    hub_url: str, repo: str, *, branch: str = "main", folder: str | None = None, open_path: str = ""
) -> str:
    """A link that pulls the course from git into each user's home and opens it (nbgitpuller), in both modes.

    Opened by a logged-in user, the hub starts their server (``user-redirect``), and the server's nbgitpuller
    extension clones ``repo`` into ``folder`` of the home, or on a later click merges the new commits without
    overwriting the user's changes; then JupyterLab opens ``folder/open_path``. The server fetches the
    repository itself: it must be reachable from user servers (pods or the local machine).

    >>> nbgitpuller_link("https://vre.example.org", "https://git.example.org/ocean101.git", folder="ocean101")
    'https://vre.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgit.example.org%2Focean101.git&branch=main&targetpath=ocean101&urlpath=lab%2Ftree%2Focean101%2F'
    """
    from urllib.parse import urlencode

    if not GIT_RE.match(repo or "") or Path(repo).expanduser().is_dir():
        raise WorkshopError(
            f"{repo!r} is not a git URL (https://…, file://…, ssh://…, or ending in .git): nbgitpuller "
            "links pull from a repository that user servers can reach."
        )
    if not re.match(r"^https?://", hub_url or ""):
        raise WorkshopError(f"{hub_url!r} is not the hub's address: give its public URL, e.g. https://vre.example.org.")
    folder = folder or Path(repo.rstrip("/")).name.removesuffix(".git") or "material"
    if "/" in folder or folder in (".", ".."):
        raise WorkshopError(f"--folder {folder!r}: give one folder name (the course lands in ~/{folder}).")
    query = urlencode(
        {"repo": repo, "branch": branch, "targetpath": folder, "urlpath": f"lab/tree/{folder}/{open_path.lstrip('/')}"}
    )
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def login_link(cfg_url: str, folder: str) -> str:
    """The link on the sheet: log in, then open the workshop folder in JupyterLab (starting the server)."""
    return f"{cfg_url}/hub/login?next=/hub/user-redirect/lab/tree/{folder}"


def create(
    hub: HubClient,
    path: str | os.PathLike[str],
    name: str,
    *,
    seats: int,
    material: str,
    until: str | float,
    instructors: Iterable[str] = (),
    quota_from: str | None = "default",
    title: str = "",
    progress: bool = True,
) -> Workshop:
    """Create workshop ``name``: accounts, groups, instructor access, material snapshot, printable sheet.

    Everything is checked before anything is created; if the hub refuses something halfway,
    what was created is removed again.
    """
    cfg = config_mod.load(path)
    if cfg.data["auth"]["type"] != "local":
        raise WorkshopError("Workshops create local accounts: they need auth.type 'local' in the configuration.")
    if not NAME_RE.match(name or ""):
        raise WorkshopError(
            f"{name!r} is not a workshop name: lower-case letters, digits and '-', starting with a "
            "letter, 24 characters at most (e.g. ocean101)."
        )
    if name in (cfg.data.get("workshops") or {}):
        raise WorkshopError(
            f"A workshop named {name!r} already exists: end it first (`odatis-vre workshop end {name}`) "
            "or choose another name."
        )
    if not 1 <= seats <= MAX_SEATS:
        raise WorkshopError(
            f"--seats {seats}: a workshop has 1 to {MAX_SEATS} participant seats; give a number in "
            f"that range (instructors come on top)."
        )
    until_ts = float(until) if isinstance(until, (int, float)) else admin.parse_date(until)
    if until_ts <= time.time():
        raise WorkshopError(f"--until {until}: the date is in the past; give the workshop's last day (YYYY-MM-DD).")
    group, igroup = group_of(name), instructors_group_of(name)
    for g in (group, igroup):
        if g in cfg.groups:
            raise WorkshopError(f"The group {g!r} already exists in {cfg.path}: remove it or choose another name.")
    if quota_from and quota_from not in cfg.groups:
        raise WorkshopError(f"--quota-from {quota_from!r}: no such group (groups: {', '.join(cfg.groups)}).")
    participants = _seat_names(name, seats)
    instructors = list(instructors) or [f"{name}-instructor"]
    for u in instructors:
        if not valid_username(u):
            raise WorkshopError(f"--instructor: {username_problem(u)}")
    taken = [u for u in participants if hub.exists(f"/users/{u}")]
    if taken:
        raise WorkshopError(f"User(s) {', '.join(taken[:5])} already exist in the hub: choose another workshop name.")
    existing_instructors = {u for u in instructors if hub.exists(f"/users/{u}")}
    new_instructors = [u for u in instructors if u not in existing_instructors]

    material_dir = workshop_dir(cfg, name) / "material"
    entry: dict[str, Any] = {
        "title": title or name,
        "created": _iso(time.time()),
        "until": _iso(until_ts),
        "seats": seats,
        "material": material,
        "material_dir": str(material_dir),
        "folder": name,
        "group": group,
        "instructors_group": igroup,
        "participants": participants,
        "instructors": instructors,
        "created_accounts": participants + new_instructors,
    }

    def change(raw: dict[str, Any]) -> None:
        if raw.get("groups") is None:
            raw["groups"] = {}
        groups = raw["groups"]
        # fresh copies: shared lists would be written as YAML anchors
        gspec: dict[str, Any] = {
            "description": f"Participants of the workshop {title or name}",
            "users": list(participants),
        }
        if quota_from and "quota" in (groups.get(quota_from) or {}):
            gspec["quota"] = copy.deepcopy(groups[quota_from]["quota"])
        groups[group] = gspec
        groups[igroup] = {"description": f"Instructors of the workshop {title or name}", "users": list(instructors)}
        if raw.get("workshops") is None:
            raw["workshops"] = {}
        raw["workshops"][name] = copy.deepcopy(entry)

    # validate the configuration change before touching the hub
    raw = config_mod.read_raw(cfg.path)  # type: ignore[arg-type]
    change(raw)
    config_mod.from_dict(raw, str(cfg.path))

    n_files = snapshot_material(material, material_dir)
    seats_out: list[Seat] = []
    created_users: list[str] = []
    try:
        hub.ensure_group(group)
        hub.ensure_group(igroup)
        bar = tqdm(
            participants + new_instructors, desc=f"workshop {name}: accounts", unit="account", disable=not progress
        )
        for u in bar:
            password = generate_password(10)
            role = "participant" if u in participants else "instructor"
            created_users.append(u)  # before the request: a half-done creation is rolled back too
            hub.request(
                "PUT",
                f"/accounts/{u}",
                json={
                    "password": password,
                    "groups": [group if role == "participant" else igroup],
                    "expires": until_ts,
                },
            )
            seats_out.append(Seat(u, password, login_link(hub.url, name), role))
        for u in sorted(existing_instructors):
            hub.request("POST", f"/groups/{igroup}/users", json={"users": [u]})
            seats_out.append(Seat(u, None, login_link(hub.url, name), "instructor"))
        # instructors open participants' servers: a share of each (default) server to each instructor
        for u in tqdm(participants, desc=f"workshop {name}: instructor access", unit="server", disable=not progress):
            grant_instructors(hub, u, instructors)
        sheet, csv_path = write_sheet(workshop_dir(cfg, name), name, title or name, until_ts, seats_out, n_files)
        admin.edit_config(cfg.path, change)  # type: ignore[arg-type]
    except BaseException:
        _rollback(hub, created_users, [group, igroup])
        shutil.rmtree(workshop_dir(cfg, name), ignore_errors=True)
        raise
    return Workshop(name, seats_out, until_ts, sheet, csv_path)


def grant_instructors(hub: HubClient, participant: str, instructors: Iterable[str]) -> None:
    """Let each instructor open, start and stop ``participant``'s default server.

    One share per instructor, not one for the instructors' group: JupyterHub 6.1 leaves group
    shares out of the scopes of OAuth tokens (``scopes.get_scopes_for``), so a group share
    lets an instructor through the hub's API but not into the server itself.
    """
    server = f"{participant}/"
    for instructor in instructors:
        hub.request(
            "POST",
            f"/shares/{participant}/",
            json={"user": instructor, "scopes": [f"access:servers!server={server}", f"servers!server={server}"]},
        )


def _rollback(hub: HubClient, users: list[str], groups: list[str]) -> None:
    for u in users:
        try:
            hub.request("DELETE", f"/users/{u}", ok=(204, 404))
            hub.request("DELETE", f"/accounts/{u}", ok=(204, 404))
        except AdminError:
            pass
    for g in groups:
        try:
            hub.request("DELETE", f"/groups/{g}", ok=(204, 404))
        except AdminError:
            pass


def write_sheet(
    folder: Path, name: str, title: str, until: float, seats: list[Seat], n_files: int
) -> tuple[Path, Path]:
    """A printable HTML sheet (one card per seat, cut along the lines) and the same as CSV; readable by the owner only."""
    until_text = datetime.fromtimestamp(until).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    cards = []
    for s in seats:
        pw = html.escape(s.password) if s.password else "<em>your own password</em>"
        cards.append(
            f'<div class="card"><div class="role">{html.escape(title)} — {s.role}</div>'
            f'<div>Login: <b class="mono">{html.escape(s.login)}</b></div>'
            f'<div>Password: <b class="mono">{pw}</b></div>'
            f'<div>Link: <span class="mono">{html.escape(s.link)}</span></div>'
            f'<div class="small">Valid until {html.escape(until_text)}. Your work is archived at the end.</div></div>'
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Workshop "
        f"{html.escape(title)} — accounts</title><style>"
        "body{font-family:sans-serif;margin:1cm} .card{border:1px dashed #555;padding:.4cm;margin:.2cm;"
        "width:8.5cm;display:inline-block;vertical-align:top;page-break-inside:avoid}"
        ".mono{font-family:monospace;font-size:1.1em} .role{font-weight:bold;margin-bottom:.2cm}"
        ".small{font-size:.8em;color:#444;margin-top:.2cm}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{len(seats)} accounts, {n_files} material files in the folder "
        f"<span class='mono'>{html.escape(name)}/</span> of each home.</p>" + "".join(cards) + "</body></html>"
    )
    sheet = folder / "sheet.html"
    atomic.write_bytes(sheet, page.encode(), mode=0o600)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["login", "password", "link", "role"])
    for s in seats:
        w.writerow([s.login, s.password or "", s.link, s.role])
    csv_path = folder / "accounts.csv"
    atomic.write_bytes(csv_path, buf.getvalue().encode(), mode=0o600)
    return sheet, csv_path


# ---------------------------------------------------------------------------------------
# sharing


def _workshop(cfg: VREConfig, name: str) -> dict[str, Any]:
    ws = (cfg.data.get("workshops") or {}).get(name)
    if ws is None:
        names = ", ".join(cfg.data.get("workshops") or {}) or "none"
        raise WorkshopError(f"No workshop named {name!r} (workshops: {names}; `odatis-vre workshop list`).")
    return ws


def share(hub: HubClient, cfg: VREConfig, name: str, owner: str, with_user: str) -> dict[str, Any]:
    """Give ``with_user`` access to ``owner``'s server (both in workshop ``name``); return the hub's share model."""
    ws = _workshop(cfg, name)
    members = set(ws["participants"]) | set(ws["instructors"])
    for u in (owner, with_user):
        if u not in members:
            raise WorkshopError(f"{u!r} is not in the workshop {name!r}.")
    if owner == with_user:
        raise WorkshopError("A participant already has access to their own server.")
    return hub.request("POST", f"/shares/{owner}/", json={"user": with_user}).json()


def share_code(hub: HubClient, cfg: VREConfig, name: str, owner: str, expires_in: int = 86400) -> str:
    """A link that gives whoever opens it (logged in) access to ``owner``'s server, valid ``expires_in`` seconds."""
    ws = _workshop(cfg, name)
    if owner not in set(ws["participants"]) | set(ws["instructors"]):
        raise WorkshopError(f"{owner!r} is not in the workshop {name!r}.")
    model = hub.request("POST", f"/share-codes/{owner}/", json={"expires_in": expires_in}).json()
    return hub.url + model["accept_url"]


def list_workshops(cfg: VREConfig) -> list[dict[str, Any]]:
    return [
        {
            "name": n,
            "title": ws.get("title", n),
            "seats": ws.get("seats"),
            "until": ws.get("until"),
            "instructors": ",".join(ws.get("instructors") or []),
            "material": ws.get("material"),
        }
        for n, ws in (cfg.data.get("workshops") or {}).items()
    ]


# ---------------------------------------------------------------------------------------
# end


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: caches and the server's runtime files (tokens): not the participant's work
ARCHIVE_SKIP = (".cache", ".npm", ".local/share/jupyter/runtime", ".ipython/profile_default/history.sqlite")


def _runtime_file(rel: Path) -> bool:
    text = rel.as_posix()
    return any(text == s or text.startswith(s + "/") for s in ARCHIVE_SKIP)


def archive_homes(
    cfg: VREConfig | None, name: str, users: list[str], dest_dir: Path, progress: bool = True, homes: Path | None = None
) -> tuple[Path, int, list[str]]:
    """Write ``<name>/<user>/…`` for every existing home + ``MANIFEST.json`` into one tar.gz; verify it.

    Homes are the local mode's (``cfg``), or ``homes/<user>`` (Kubernetes: the Job of :func:`archive_job`
    mounts each user's volume there). Returns (archive, number of files, users with nothing to keep). The
    archive appears under its final name only once complete and checked.
    """
    stamp = time.strftime("%Y%m%dT%H%M%S")
    final = dest_dir / f"workshop-{name}-{stamp}.tar.gz"
    dest_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"workshop": name, "created": _iso(time.time()), "users": {}, "never_started": []}
    count = 0
    with atomic.replacing(final, mode=0o600) as tmp:
        with tarfile.open(tmp, "w:gz") as tar:
            for u in tqdm(users, desc=f"workshop {name}: archive", unit="home", disable=not progress):
                home = homes / u if homes is not None else home_of(cfg, u)  # type: ignore[arg-type]
                # Accounts get their (empty) home when created, so "never started" means
                # "nothing to keep", not "no home folder".
                kept = (
                    [
                        p
                        for p in sorted(home.rglob("*"))
                        if p.is_file() and not p.is_symlink() and not _runtime_file(p.relative_to(home))
                    ]
                    if home.is_dir()
                    else []
                )
                if not kept:
                    manifest["never_started"].append(u)
                    continue
                files = {}
                for p in kept:
                    rel = p.relative_to(home)
                    tar.add(p, arcname=f"{name}/{u}/{rel}", recursive=False)
                    files[str(rel)] = {"size": p.stat().st_size, "sha256": _sha256(p)}
                manifest["users"][u] = files
                count += len(files)
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(f"{name}/MANIFEST.json")
            info.size, info.mtime = len(data), int(time.time())
            tar.addfile(info, io.BytesIO(data))
        with tarfile.open(tmp, "r:gz") as tar:  # read it back: every manifest entry must be there
            names = set(tar.getnames())
        missing = [
            f"{name}/{u}/{f}" for u, fs in manifest["users"].items() for f in fs if f"{name}/{u}/{f}" not in names
        ]
        if missing:
            raise WorkshopError(f"The archive misses {len(missing)} file(s), e.g. {missing[0]}; nothing was deleted.")
    return final, count, manifest["never_started"]


#: where the archive Job mounts the users' volumes and the archives' volume
JOB_HOMES, JOB_ARCHIVES = "/homes", "/archives"


def archive_job(
    name: str,
    users: list[str],
    image: str,
    *,
    namespace: str = "odatis",
    claim_template: str = "claim-{user}",
    archives_claim: str = "odatis-vre-archives",
) -> dict[str, Any]:
    """The Kubernetes Job that archives ``users``' home volumes of workshop ``name`` (Kubernetes mode).

    Each user's volume (KubeSpawner's ``claim-<user>``) is mounted read-only at ``/homes/<user>``, the chart's
    ``odatis-vre-archives`` volume at ``/archives``; the Job runs ``odatis-vre workshop archive-homes`` from the
    ocean image, which writes the same archive as the local mode's ``workshop end`` (files, MANIFEST.json with
    SHA-256, checked before it gets its final name). Apply it with ``kubectl apply -f``; stop the users'
    servers first (a volume is ReadWriteOnce).

    >>> job = archive_job("ocean101", ["ocean101-01"], "ghcr.io/odatis/vre-ocean:2026.11.24")
    >>> job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]
    {'claimName': 'claim-ocean101-01', 'readOnly': True}
    """
    if not NAME_RE.match(name or ""):
        raise WorkshopError(f"{name!r} is not a workshop name (lower-case letters, digits and '-').")
    if not users:
        raise WorkshopError("Give at least one user whose home volume to archive (--user).")
    bad = [u for u in users if not valid_username(u)]
    if bad:
        raise WorkshopError(f"{', '.join(bad)}: not a user name.")
    volumes = [
        {"name": f"home-{i}", "persistentVolumeClaim": {"claimName": claim_template.format(user=u), "readOnly": True}}
        for i, u in enumerate(users)
    ]
    mounts = [{"name": f"home-{i}", "mountPath": f"{JOB_HOMES}/{u}", "readOnly": True} for i, u in enumerate(users)]
    volumes.append({"name": "archives", "persistentVolumeClaim": {"claimName": archives_claim}})
    mounts.append({"name": "archives", "mountPath": JOB_ARCHIVES})
    labels = {
        "app.kubernetes.io/part-of": "odatis-vre",
        "app.kubernetes.io/component": "workshop-archive",
        "odatis.fr/workshop": name,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"workshop-archive-{name}", "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": 2,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100, "runAsNonRoot": True},
                    "containers": [
                        {
                            "name": "archive",
                            "image": image,
                            "command": [
                                "odatis-vre",
                                "workshop",
                                "archive-homes",
                                name,
                                "--homes",
                                JOB_HOMES,
                                "--dest",
                                JOB_ARCHIVES,
                                *[a for u in users for a in ("--user", u)],
                            ],
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "256Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi"},
                            },
                            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }


def end(
    hub: HubClient, path: str | os.PathLike[str], name: str, *, keep_homes: bool = False, progress: bool = True
) -> Ended:
    """End workshop ``name``: stop servers, remove accounts, archive the homes, then delete homes and groups.

    Safe to run again after a failure: each step skips what is already done, and homes are
    deleted only after the archive is written and checked.
    """
    cfg = config_mod.load(path)
    ws = _workshop(cfg, name)
    participants = list(ws["participants"])
    created = list(ws.get("created_accounts") or participants)
    # 1. nobody works any more: servers stopped, logins and hub users removed (their cookies die with them)
    for u in tqdm(created, desc=f"workshop {name}: accounts", unit="account", disable=not progress):
        hub.stop_servers(u)
        hub.request("DELETE", f"/users/{u}", ok=(204, 404))
        hub.request("DELETE", f"/accounts/{u}", ok=(204, 404))
    # 2. the archive, complete and checked, before anything is deleted
    archive, files, never = archive_homes(cfg, name, created, cfg.state_dir / "archives", progress)
    # 3. homes and system accounts (nothing left in /etc/passwd), groups, material, configuration
    for u in created:
        sysusers.remove(cfg, u, remove_home=not keep_homes)
    for g in (ws.get("group") or group_of(name), ws.get("instructors_group") or instructors_group_of(name)):
        hub.request("DELETE", f"/groups/{g}", ok=(204, 404))

    def change(raw: dict[str, Any]) -> None:
        (raw.get("workshops") or {}).pop(name, None)
        if raw.get("workshops") == {}:
            raw.pop("workshops")
        for g in (group_of(name), instructors_group_of(name)):
            (raw.get("groups") or {}).pop(g, None)

    admin.edit_config(cfg.path, change)  # type: ignore[arg-type]
    # the material snapshot and the sheet (passwords of accounts that no longer exist)
    shutil.rmtree(workshop_dir(cfg, name), ignore_errors=True)
    return Ended(name, archive, participants, files, never)
