"""Local accounts with real passwords, for the embedded (local) mode.

Passwords are stored as salted PBKDF2-SHA256 hashes in a small SQLite file in the
state directory; the hub reads it to log users in, and the admin endpoint
``/hub/api/accounts/<name>`` writes it. Accounts may expire (workshop seats).

>>> store = AccountStore(":memory:")
>>> store.set_password("ann", "correct horse battery")
>>> store.check("ann", "correct horse battery"), store.check("ann", "wrong")
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import string
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ITERATIONS = 200_000
MIN_PASSWORD = 8


class AccountError(ValueError):
    """An account cannot be created or changed; the message says why and what to do."""


@dataclass
class Account:
    username: str
    created: float
    expires: float | None
    disabled: bool


def _hash(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def _verify(password: str, stored: str) -> bool:
    try:
        algo, iterations, salt, _ = stored.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    return hmac.compare_digest(_hash(password, bytes.fromhex(salt), int(iterations)), stored)


def generate_password(length: int = 14) -> str:
    """A random password easy to read aloud in a workshop (no 0/O, 1/l/I)."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
    return "".join(secrets.choice(alphabet) for _ in range(length))


_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def username_problem(name: Any) -> str | None:
    """What is wrong with ``name`` as a user name (``None`` if nothing), with a name to use instead.

    User names become system accounts, folder names and URLs (``/user/<name>/``), and the hub
    lower-cases names at login: plain lower-case ASCII letters, digits, ``.``, ``_`` and ``-``,
    starting with a letter or digit, at most 64 characters.

    >>> username_problem("ann.lee") is None
    True
    >>> username_problem("Élodie")
    "'Élodie' is not a valid user name: use plain lower-case ASCII letters, digits, '.', '_' or '-' (it becomes an account, a folder and a URL), e.g. 'elodie'"
    """
    if isinstance(name, str) and _USERNAME_RE.match(name):
        return None
    if not isinstance(name, str) or not name:
        return "a user name is required: plain lower-case letters, digits, '.', '_' or '-', e.g. 'ann.lee'"
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    plain = re.sub(r"[^a-z0-9._-]+", "-", plain).strip("-._")[:64] or "user"
    if len(name) > 64:
        return f"{name[:20]!r}... is too long for a user name ({len(name)} characters): use at most 64, e.g. {plain!r}"
    return (
        f"{name!r} is not a valid user name: use plain lower-case ASCII letters, digits, '.', '_' or '-' "
        f"(it becomes an account, a folder and a URL), e.g. {plain!r}"
    )


def valid_username(name: str) -> bool:
    """True when ``name`` can be a user name (:func:`username_problem` says why not)."""
    return username_problem(name) is None


class AccountStore:
    """Accounts in a SQLite file (safe to share between the hub and the CLI)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS accounts (username TEXT PRIMARY KEY, hash TEXT NOT NULL, "
            "created REAL NOT NULL, expires REAL, disabled INTEGER NOT NULL DEFAULT 0)"
        )
        if self.path != ":memory:":
            os.chmod(self.path, 0o600)

    def close(self) -> None:
        self._db.close()

    def set_password(self, username: str, password: str, *, expires: float | None = None) -> None:
        """Create the account or change its password."""
        problem = username_problem(username)
        if problem:
            raise AccountError(problem)
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password for {username!r} is too short: use at least {MIN_PASSWORD} characters")
        h = _hash(password, secrets.token_bytes(16))
        self._db.execute(
            "INSERT INTO accounts (username, hash, created, expires) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(username) DO UPDATE SET hash=excluded.hash, expires=excluded.expires, disabled=0",
            (username, h, time.time(), expires),
        )

    def check(self, username: str, password: str) -> bool:
        """True when the password is right and the account neither disabled nor expired."""
        row = self._db.execute("SELECT hash, expires, disabled FROM accounts WHERE username=?", (username,)).fetchone()
        if row is None:
            _verify(password, _hash("x", b"0" * 16))  # same cost whether or not the user exists
            return False
        stored, expires, disabled = row
        if disabled or (expires is not None and expires < time.time()):
            return False
        return _verify(password, stored)

    def remove(self, username: str) -> bool:
        return self._db.execute("DELETE FROM accounts WHERE username=?", (username,)).rowcount > 0

    def disable(self, username: str) -> None:
        self._db.execute("UPDATE accounts SET disabled=1 WHERE username=?", (username,))

    def get(self, username: str) -> Account | None:
        row = self._db.execute(
            "SELECT username, created, expires, disabled FROM accounts WHERE username=?", (username,)
        ).fetchone()
        return Account(row[0], row[1], row[2], bool(row[3])) if row else None

    def list(self) -> list[Account]:
        rows = self._db.execute("SELECT username, created, expires, disabled FROM accounts ORDER BY username")
        return [Account(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def __contains__(self, username: str) -> bool:
        return self.get(username) is not None


def store_for(state_dir: str | os.PathLike[str]) -> AccountStore:
    """The account store of a local deployment (``<state_dir>/accounts.sqlite``)."""
    return AccountStore(Path(state_dir) / "accounts.sqlite")
