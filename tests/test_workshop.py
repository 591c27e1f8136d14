"""`odatis-vre workshop` on a real hub: accounts + material, sharing, the instructor, the end and its archive."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import tarfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from vre_testing import VRETestStack, start_stack

from odatis_vre.admin import remote, workshop
from odatis_vre.cli import main
from odatis_vre.users import sysusers

pytestmark = pytest.mark.slow

NAME = "ocean101"
P1, P2, P3 = f"{NAME}-01", f"{NAME}-02", f"{NAME}-03"
INSTRUCTOR = f"{NAME}-instructor"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> VRETestStack:
    st = start_stack(tmp_path_factory.mktemp("workshop"))
    yield st
    st.stop()


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("material")
    (folder / "01-intro.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    (folder / "data").mkdir()
    (folder / "data" / "stations.csv").write_text("id,lat,lon\n1,43.1,5.9\n")
    return folder


def cli(stack: VRETestStack, *args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(main, [*args, "-c", str(stack.config_path)], catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def put_file(stack: VRETestStack, session, user: str, path: str, text: str) -> None:
    """Write a file in ``user``'s server through the Jupyter contents API, as the browser does."""
    lab = stack.browse_api(session, user, "api/status")
    assert lab.status_code == 200
    xsrf = session.cookies.get("_xsrf", path=f"/user/{user}/") or session.cookies.get("_xsrf")
    r = session.put(
        f"{stack.url}/user/{user}/api/contents/{path}",
        headers={"X-XSRFToken": xsrf},
        json={"type": "file", "format": "text", "content": text},
    )
    assert r.status_code in (200, 201), r.text


def test_material_snapshot_from_git_and_bad_sources(tmp_path: Path, material: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "lesson.py").write_text("print('ocean')\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "lesson"],
        check=True,
    )
    dest = tmp_path / "snap"
    assert workshop.snapshot_material(f"file://{repo}", dest) == 1
    assert (dest / "lesson.py").read_text() == "print('ocean')\n" and not (dest / ".git").exists()
    with pytest.raises(workshop.WorkshopError, match="Could not clone"):
        workshop.snapshot_material(f"file://{tmp_path}/missing.git", tmp_path / "snap2")
    with pytest.raises(workshop.WorkshopError, match="neither a folder nor a git URL"):
        workshop.snapshot_material(str(tmp_path / "nowhere"), tmp_path / "snap3")
    assert not (tmp_path / "snap2").exists() and not (tmp_path / "snap3").exists()


def test_workshop_lifecycle(stack: VRETestStack, material: Path) -> None:
    until = (date.today() + timedelta(days=2)).isoformat()
    past = cli(
        stack,
        "workshop",
        "create",
        "old",
        "--seats",
        "2",
        "--material",
        str(material),
        "--until",
        "2020-01-01",
        ok=False,
    )
    assert "in the past" in past.output and stack.api("GET", "/users/old-01").status_code == 404

    cli(
        stack,
        "workshop",
        "create",
        NAME,
        "--seats",
        "3",
        "--material",
        str(material),
        "--until",
        until,
        "--title",
        "Ocean data 101",
    )
    state = stack.stack.state
    seats = {r["login"]: r for r in csv.DictReader((state / "workshops" / NAME / "accounts.csv").open())}
    assert sorted(seats) == [P1, P2, P3, INSTRUCTOR]
    sheet = (state / "workshops" / NAME / "sheet.html").read_text()
    assert all(s["login"] in sheet and s["password"] in sheet for s in seats.values())
    assert f"/hub/user-redirect/lab/tree/{NAME}" in sheet
    assert (state / "workshops" / NAME / "accounts.csv").stat().st_mode & 0o077 == 0
    cfg = yaml.safe_load(stack.config_path.read_text())
    assert cfg["workshops"][NAME]["participants"] == [P1, P2, P3]
    assert stack.api("GET", f"/groups/workshop-{NAME}").json()["users"] == [P1, P2, P3]
    listed = yaml.safe_load(cli(stack, "workshop", "list", "--json").output)
    assert listed[0]["name"] == NAME and listed[0]["seats"] == 3

    s = {u: stack.login(u, seats[u]["password"]) for u in seats}
    for u in (P1, P2, P3):
        assert stack.start_server(u).status_code in (201, 202)
    # the material is in every participant's home
    r = stack.browse_api(s[P1], P1, f"api/contents/{NAME}/data/stations.csv")
    assert r.status_code == 200 and r.json()["content"] == "id,lat,lon\n1,43.1,5.9\n"
    for u in (P1, P2, P3):
        put_file(stack, s[u], u, f"{NAME}/answer-{u}.txt", f"work of {u}")
    if sysusers.multi_user():
        # each seat is a separate system account: its kernel runs as it, its home and material are its own
        accounts = {u: stack.account(u) for u in seats}
        assert len({a.uid for a in accounts.values()}) == len(seats)
        for u in (P1, P2, P3):
            me = accounts[u]
            out = remote.run_code(
                stack.server_url(u),
                stack.user_token(u),
                f"import os; print(os.getuid()); print(os.access({str(accounts[P1 if u != P1 else P2].home)!r}, os.R_OK))",
            )
            assert out.stdout.split() == [str(me.uid), "False"]
            material_file = me.home / NAME / "data" / "stations.csv"
            assert material_file.stat().st_uid == me.uid and me.home.stat().st_mode & 0o777 == 0o700

    # participants cannot reach each other's servers...
    assert stack.browse_other(s[P2], P1, "api/contents").status_code == 403
    assert stack.browse_other(s[P3], P2, "api/contents").status_code == 403
    # ...unless shared: P1 makes a share code with their own token, P3 accepts it
    code = stack.api("POST", f"/share-codes/{P1}/", token=stack.user_token(P1), json={}).json()["code"]
    hub_xsrf = next(c.value for c in s[P3].cookies if c.name == "_xsrf" and c.path.startswith("/hub"))
    r = s[P3].post(f"{stack.url}/hub/accept-share", data={"code": code, "_xsrf": hub_xsrf})
    assert r.status_code == 200
    r = stack.browse_other(s[P3], P1, f"api/contents/{NAME}/answer-{P1}.txt")
    assert r.status_code == 200 and r.json()["content"] == f"work of {P1}"
    assert stack.browse_other(s[P2], P1, "api/contents").status_code == 403  # P2 still not
    # the admin's command shares P2's server with P1 (pair work), or prints a share link
    cli(stack, "workshop", "share", NAME, P2, "--with", P1)
    assert stack.browse_other(s[P1], P2, "api/contents").status_code == 200
    link = cli(stack, "workshop", "share", NAME, P3, "--code").output.strip()
    assert link.startswith(f"{stack.url}/hub/accept-share?code=")
    assert "not in the workshop" in cli(stack, "workshop", "share", NAME, P1, "--with", "admin", ok=False).output

    # the instructor opens every participant's server without any share code
    for u in (P1, P2, P3):
        r = stack.browse_other(s[INSTRUCTOR], u, f"api/contents/{NAME}/answer-{u}.txt")
        assert r.status_code == 200 and r.json()["content"] == f"work of {u}"

    # after a hub restart the instructors hold a real role on the workshop's group
    stack.stack.kill_hub()
    stack.stack.start(timeout=120)
    roles = stack.api("GET", f"/groups/workshop-{NAME}-instructors").json()["roles"]
    assert roles == [f"workshop-{NAME}-instructor"]
    s[INSTRUCTOR] = stack.login(INSTRUCTOR, seats[INSTRUCTOR]["password"])
    assert stack.browse_other(s[INSTRUCTOR], P3, "api/contents").status_code == 200

    out = cli(stack, "workshop", "end", NAME, "--yes").output
    archive = Path(out.split("archived in ")[1].split()[0])
    assert archive.parent == state / "archives" and archive.exists()
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        for u in (P1, P2, P3):
            member = f"{NAME}/{u}/{NAME}/answer-{u}.txt"
            assert member in names
            assert tar.extractfile(member).read().decode() == f"work of {u}"
            assert f"{NAME}/{u}/{NAME}/data/stations.csv" in names
        manifest = json.loads(tar.extractfile(f"{NAME}/MANIFEST.json").read())
    assert sorted(manifest["users"]) == [P1, P2, P3] and manifest["never_started"] == [INSTRUCTOR]
    # no workshop account can log in any more; nothing of the workshop is left in the hub or vre.yaml
    for u, seat in seats.items():
        with pytest.raises(AssertionError, match="failed"):
            stack.login(u, seat["password"])
        assert stack.api("GET", f"/users/{u}").status_code == 404
        assert not sysusers.home_of(stack.cfg, u).exists()
    # nothing of the seats is left in /etc/passwd (their accounts were deleted, not only locked)
    passwd = Path("/etc/passwd").read_text()
    for u in seats:
        assert sysusers.account_name(stack.cfg.isolation["prefix"], u) + ":" not in passwd
    assert all(f" user {u}" not in e.pw_gecos for e in sysusers.accounts(stack.cfg) for u in seats)
    assert stack.api("GET", f"/groups/workshop-{NAME}").status_code == 404
    cfg = yaml.safe_load(stack.config_path.read_text())
    assert "workshops" not in cfg and f"workshop-{NAME}" not in cfg["groups"]
    assert not (state / "workshops" / NAME).exists()


def test_nbgitpuller_link_pulls_the_course_into_the_home(
    stack: VRETestStack, material: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The link of `workshop link` (both modes): the hub redirects to the user's server, whose nbgitpuller clones
    the repository into the home, then keeps the user's edits when new commits arrive."""
    from urllib.parse import parse_qs, urlparse

    import requests
    from vre_testing import readable

    repo = tmp_path_factory.mktemp("course") / "ocean-course"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "01-intro.ipynb").write_text((material / "01-intro.ipynb").read_text())
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "safe.directory=*"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "course"], check=True)
    readable(repo.parent)
    link = CliRunner().invoke(main, ["workshop", "link", f"file://{repo}", "--config", str(stack.config_path)])
    assert link.exit_code == 0, link.output
    url = link.output.strip()
    assert url.startswith(f"{stack.url}/hub/user-redirect/git-pull?")
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    assert query["targetpath"] == "ocean-course" and query["urlpath"] == "lab/tree/ocean-course/"

    stack.create_user("puller", "a-long-password-1")
    s = stack.login("puller", "a-long-password-1")
    # a local repository stands for the course's remote one: git refuses a repository another account owns
    account = stack.account("puller")
    for p in [repo, *repo.rglob("*")]:
        os.lchown(p, account.uid, account.gid)
    stack.start_server("puller")
    # the link, followed as a browser would: the hub sends the user to their server's git-pull page
    r = s.get(url, timeout=60)
    assert r.status_code == 200 and "/user/puller/git-pull" in r.url, r.url
    # the page pulls through the extension's API (an event stream that ends with the result)
    token = stack.user_token("puller")
    api = f"{stack.url}/user/puller/git-pull/api"
    params = {k: query[k] for k in ("repo", "branch", "targetpath")}
    r = requests.get(api, params=params, headers={"Authorization": f"token {token}"}, timeout=120)
    assert r.status_code == 200 and '"phase": "finished"' in r.text, r.text[-2000:]
    home = stack.account("puller").home
    pulled = home / "ocean-course" / "01-intro.ipynb"
    assert pulled.read_text() == (material / "01-intro.ipynb").read_text()
    assert pulled.stat().st_uid == stack.account("puller").uid  # the user's own files
    # the participant edits the notebook; the instructor adds a file; a second click merges
    pulled.write_text(pulled.read_text().replace('"cells": []', '"cells": [], "edited": 1'))
    (repo / "02-next.ipynb").write_text((material / "01-intro.ipynb").read_text())
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "more"], check=True)
    r = requests.get(api, params=params, headers={"Authorization": f"token {token}"}, timeout=120)
    assert r.status_code == 200 and '"phase": "finished"' in r.text, r.text[-2000:]
    assert (home / "ocean-course" / "02-next.ipynb").exists() and '"edited": 1' in pulled.read_text()


def test_nbgitpuller_link_refuses_what_is_not_a_repository(stack: VRETestStack, material: Path) -> None:
    out = CliRunner().invoke(main, ["workshop", "link", str(material), "--config", str(stack.config_path)])
    assert out.exit_code != 0 and "is not a git URL" in out.output
    out = CliRunner().invoke(
        main,
        ["workshop", "link", "https://git.example.org/c.git", "--folder", "a/b", "--config", str(stack.config_path)],
    )
    assert out.exit_code != 0 and "give one folder name" in out.output
