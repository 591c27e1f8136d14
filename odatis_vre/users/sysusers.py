"""System accounts of the local mode: one per hub user, so that no user code runs as root.

Started as root, the local VRE gives every hub user ``alice`` a system account
(``jupyter-alice`` by default, like The Littlest JupyterHub) whose home is
``<homes_dir>/alice`` (mode 0700). Her servers, kernels, terminals and Dask clusters run as
that account (:mod:`odatis_vre.hub.isolation`); she cannot read the hub's state directory,
another user's home or another user's processes. The explorer, the repository and the idle
culler run as one more account, the *service account* (``odatis-services``).

Started as another user (no root), the VRE is in **single-user mode**: every server runs as
that user, and this module creates nothing.

Accounts are made with Debian's ``useradd``/``usermod``/``userdel`` and read with
:mod:`pwd`. Each carries a marker in its comment field naming the deployment, so that an
account of another deployment, or of a person, is never taken over or deleted.

>>> account_name("jupyter-", "alice")
'jupyter-alice'
>>> account_name("jupyter-", "ann.lee@ifremer.fr")   # normalised, with a hash against collisions
'jupyter-ann-lee-ifremer-fr-270d0'
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from ..config import VREConfig

#: Longest account name ``useradd`` takes on Linux
MAX_NAME = 32
VALID_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
SHELL = "/bin/bash"
NO_LOGIN = "/usr/sbin/nologin"
MARK = "odatis-vre"

_LOCK = threading.Lock()


class SystemUserError(RuntimeError):
    """A system account cannot be made or changed; the message says why and what to do."""


@dataclass(frozen=True)
class Account:
    """A system account that runs user code."""

    name: str
    uid: int
    gid: int
    home: Path

    @property
    def groups(self) -> list[int]:
        return os.getgrouplist(self.name, self.gid)

    @classmethod
    def from_pwd(cls, entry: pwd.struct_passwd, home: Path | None = None) -> Account:
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, Path(home or entry.pw_dir))


def multi_user() -> bool:
    """Whether this process can give each user an account of their own (it runs as root)."""
    return os.geteuid() == 0


def current() -> Account:
    """The account this process runs as (every server's, in single-user mode)."""
    entry = pwd.getpwuid(os.getuid())
    return Account.from_pwd(entry)


def slug(hub_name: str) -> str:
    """The part of the account name (and of the home folder) that comes from the hub user's name.

    Lower-case letters, digits, ``-`` and ``_``; a name that had to be changed gets a short hash of the
    original, so that ``a.b`` and ``a-b`` never share an account.
    """
    base = hub_name.lower()
    clean = re.sub(r"[^a-z0-9_-]+", "-", base).strip("-_") or "user"
    if not clean[0].isalpha():
        clean = "u" + clean
    if clean != hub_name:
        clean = f"{clean}-{hashlib.sha1(hub_name.encode()).hexdigest()[:5]}"
    return clean


def account_name(prefix: str, hub_name: str) -> str:
    """The system account of hub user ``hub_name`` (at most 32 characters, as ``useradd`` requires)."""
    name = prefix + slug(hub_name)
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(hub_name.encode()).hexdigest()[:5]
        name = f"{name[: MAX_NAME - 6].rstrip('-_')}-{digest}"
    if not VALID_NAME.match(name):
        raise SystemUserError(
            f"the hub user {hub_name!r} gives the system account name {name!r}, which useradd "
            "refuses: choose another hub.isolation.prefix (a lower-case letter first)."
        )
    return name


def deployment_id(cfg: VREConfig) -> str:
    """A short id of this deployment (its state directory), written in the accounts it creates."""
    return hashlib.sha1(str(cfg.state_dir.resolve()).encode()).hexdigest()[:10]


def _marker(cfg: VREConfig, role: str, hub_name: str = "") -> str:
    # the comment field may not hold ':' or a newline; a hub name can hold anything
    return f"{MARK} {deployment_id(cfg)} {role} {slug(hub_name) if hub_name else ''}".strip()


def _ours(cfg: VREConfig, entry: pwd.struct_passwd) -> bool:
    parts = entry.pw_gecos.split()
    return len(parts) >= 3 and parts[0] == MARK and parts[1] == deployment_id(cfg)


def home_of(cfg: VREConfig, hub_name: str) -> Path:
    """The home of ``hub_name`` in the local mode: ``<homes_dir>/<slug>``."""
    return cfg.homes_dir / slug(hub_name)


def _run(cmd: list[str], what: str) -> None:
    """Run an account tool; retry while another one holds the password file's lock."""
    deadline = time.monotonic() + 30
    while True:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            return
        busy = "lock" in (r.stderr + r.stdout).lower() or r.returncode == 10
        if not busy or time.monotonic() > deadline:
            raise SystemUserError(
                f"Could not {what}: `{' '.join(cmd)}` said: {(r.stderr or r.stdout).strip()} "
                "(the hub must run as root with Debian's passwd package installed)."
            )
        time.sleep(0.1)


def _lookup(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _make_home(home: Path, entry: pwd.struct_passwd, mode: int = 0o700) -> None:
    """``home`` owned by the account, ``mode``; what an earlier account left there is handed over."""
    home.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if home.parent.stat().st_uid == 0:
            os.chmod(home.parent, 0o711)  # traversable, not listable: users do not see each other's names
    home.mkdir(mode=mode, exist_ok=True)
    st = home.stat()
    if (st.st_uid, st.st_gid) != (entry.pw_uid, entry.pw_gid):
        # a home kept from a removed account (same user, new uid): it is theirs again
        for path in _walk(home):
            with contextlib.suppress(FileNotFoundError):
                os.lchown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(home, mode)


def _walk(root: Path) -> Iterator[str]:
    yield str(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            yield os.path.join(dirpath, n)


def _ensure(cfg: VREConfig, name: str, home: Path, marker: str, mode: int) -> Account:
    with _LOCK:
        entry = _lookup(name)
        if entry is not None and not _ours(cfg, entry):
            raise SystemUserError(
                f"The system account {name!r} already exists and was not made by this deployment "
                f"({entry.pw_gecos or 'no comment'}): odatis-vre will not take it over. Choose another "
                "hub.isolation.prefix (or service_account) in vre.yaml."
            )
        if entry is None:
            _run(
                [
                    "useradd",
                    "--comment",
                    marker,
                    "--home-dir",
                    str(home),
                    "--no-create-home",
                    "--shell",
                    SHELL,
                    "--user-group",
                    name,
                ],
                f"create the system account {name}",
            )
        elif entry.pw_shell == NO_LOGIN:
            # a locked account whose hub user is back (same name): same uid, same files
            _run(["usermod", "--expiredate", "", "--shell", SHELL, name], f"unlock the system account {name}")
        entry = pwd.getpwnam(name)
        _make_home(home, entry, mode)
        return Account.from_pwd(entry, home)


def ensure(cfg: VREConfig, hub_name: str) -> Account:
    """The account of hub user ``hub_name``, created (or unlocked) with its home if needed.

    In single-user mode, the account this process runs as (nothing is created; the home is made).
    """
    home = home_of(cfg, hub_name)
    if not multi_user():
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        return Account(current().name, os.getuid(), os.getgid(), home)
    name = account_name(cfg.isolation["prefix"], hub_name)
    return _ensure(cfg, name, home, _marker(cfg, "user", hub_name), 0o700)


def lookup(cfg: VREConfig, hub_name: str) -> Account | None:
    """The account of ``hub_name`` if it exists (single-user mode: this process's account)."""
    if not multi_user():
        return Account(current().name, os.getuid(), os.getgid(), home_of(cfg, hub_name))
    entry = _lookup(account_name(cfg.isolation["prefix"], hub_name))
    return Account.from_pwd(entry, home_of(cfg, hub_name)) if entry and _ours(cfg, entry) else None


def service_account(cfg: VREConfig) -> Account | None:
    """The account of the explorer, the repository and the culler (None in single-user mode).

    Its home is ``services_dir`` (mode 0750): the repository's deposits and the explorer's caches.
    """
    if not multi_user():
        cfg.services_dir.mkdir(parents=True, exist_ok=True)
        return None
    return _ensure(cfg, cfg.isolation["service_account"], cfg.services_dir, _marker(cfg, "services"), 0o750)


def kill_processes(uid: int, timeout: float = 10) -> int:
    """SIGKILL every process of ``uid`` (a removed or locked account keeps nothing running); return how many."""
    procs = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGKILL)
    psutil.wait_procs(procs, timeout=timeout)
    return len(procs)


def lock(cfg: VREConfig, hub_name: str) -> bool:
    """Lock ``hub_name``'s account (no login shell, expired) and stop its processes; its home is kept.

    The hub user was deleted; a user of the same name created later gets the account back.
    Returns whether there was an account to lock.
    """
    account = lookup(cfg, hub_name) if multi_user() else None
    if account is None:
        return False
    with _LOCK:
        _run(
            ["usermod", "--expiredate", "1", "--shell", NO_LOGIN, account.name],
            f"lock the system account {account.name}",
        )
    kill_processes(account.uid)
    return True


def remove(cfg: VREConfig, hub_name: str, *, remove_home: bool = False) -> bool:
    """Delete ``hub_name``'s account (after stopping its processes); return whether there was one.

    The home is deleted only with ``remove_home`` (archive it first: :func:`odatis_vre.admin.workshop.end`).
    """
    if not multi_user():
        if remove_home:
            shutil.rmtree(home_of(cfg, hub_name), ignore_errors=True)
        return False
    account = lookup(cfg, hub_name)
    if remove_home:
        shutil.rmtree(home_of(cfg, hub_name), ignore_errors=True)
    if account is None:
        return False
    _delete(account.name, account.uid)
    return True


def _delete(name: str, uid: int) -> None:
    kill_processes(uid)
    with _LOCK:
        _run(["userdel", name], f"delete the system account {name}")


def accounts(cfg: VREConfig) -> list[pwd.struct_passwd]:
    """Every system account this deployment made (users and the service account)."""
    return [e for e in pwd.getpwall() if _ours(cfg, e)]


def purge(cfg: VREConfig) -> list[str]:
    """Delete every account of this deployment (homes are left): for throw-away deployments and tests."""
    names = []
    for entry in accounts(cfg):
        _delete(entry.pw_name, entry.pw_uid)
        names.append(entry.pw_name)
    return names


def stale_accounts(under: Path) -> list[pwd.struct_passwd]:
    """Accounts of deployments below ``under`` whose folder there is gone (test runs that were killed).

    The folder is the first level below ``under`` (a test run's), not the home itself: an account is
    made a moment before its home, and a run starting in that moment must not take it for stale.
    """
    root = Path(under).resolve()
    stale = []
    for e in pwd.getpwall():
        if not e.pw_gecos.startswith(MARK + " "):
            continue
        try:
            top = Path(e.pw_dir).relative_to(root).parts[0]
        except (ValueError, IndexError):
            continue
        if not (root / top).exists():
            stale.append(e)
    return stale


# ---------------------------------------------------------------------------------------
# what the accounts must be able to reach


def unreachable(paths: list[Path]) -> list[str]:
    """Paths that other accounts cannot reach (a folder above them not traversable by others).

    The VRE's code (the virtualenv, the package, the catalogue) must be readable by every user
    account; a checkout under ``/root`` (mode 0700) is not.
    """
    problems = []
    for path in paths:
        path = Path(path).resolve()
        for parent in [*reversed(path.parents), path]:
            try:
                st = parent.stat()
            except FileNotFoundError:
                break
            need = 0o001 if parent.is_dir() else 0o004
            if not st.st_mode & need:
                problems.append(f"{parent} (mode {st.st_mode & 0o777:o}, needed by {path})")
                break
    return problems


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def describe(cfg: VREConfig) -> str:
    """One line for ``odatis-vre up``: who runs user code."""
    if multi_user():
        return (
            f"multi-user mode: each user's servers, kernels, terminals and Dask clusters run as their own system "
            f"account ({cfg.isolation['prefix']}<name>, home in {cfg.homes_dir}/<name>, mode 0700); the services "
            f"run as {cfg.isolation['service_account']}; {cfg.state_dir} is readable by root only"
        )
    me = current().name
    return (
        f"single-user mode: every server runs as {me} (the VRE was not started as root); "
        "to give each user an account of their own, start it as root (`sudo make up`)"
    )


def info(cfg: VREConfig) -> dict[str, Any]:
    return {
        "multi_user": multi_user(),
        "prefix": cfg.isolation["prefix"],
        "homes": str(cfg.homes_dir),
        "service_account": cfg.isolation["service_account"] if multi_user() else current().name,
    }
