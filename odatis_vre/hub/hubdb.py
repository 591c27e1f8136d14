"""The hub's SQLite database in the local mode: commits that do not wait for the disk.

JupyterHub commits its SQLite database after nearly every request that changes state (a login, a
spawn step, a server's activity report, a token). In SQLite's default mode each commit waits for
``fsync``; during a workshop's first minute that made commits about a third of the hub's event loop
time, and every API answer waited behind them. Write-ahead logging with ``synchronous=NORMAL``
commits without waiting for the disk, and the database stays consistent after a crash (the last
transactions before a power cut can be lost; a server's state is then re-checked at the next start).

Used in the local mode only: a hub database on a network volume (Kubernetes) cannot use
write-ahead logging, and deployments there should use PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from typing import Any


class TunedConnection(sqlite3.Connection):
    """An SQLite connection in write-ahead-log mode with ``synchronous=NORMAL``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA journal_mode=WAL")  # persistent in the file; cheap to repeat
        self.execute("PRAGMA synchronous=NORMAL")


def engine_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``create_engine`` (``c.JupyterHub.db_kwargs``) of a local SQLite hub database.

    >>> import sqlalchemy
    >>> engine = sqlalchemy.create_engine("sqlite://", **engine_kwargs())
    >>> with engine.connect() as conn:
    ...     conn.exec_driver_sql("PRAGMA synchronous").scalar()
    1
    """
    # check_same_thread=False is what JupyterHub sets for SQLite when no connect_args are given
    return {"connect_args": {"check_same_thread": False, "factory": TunedConnection}}
