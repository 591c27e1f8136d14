"""Usage accounting: server hours, CPU-hours, memory-hours and Dask core-hours, per user and per group.

JupyterHub keeps no spawn history, so the spawners record each server's start and stop in
``<state_dir>/usage.sqlite`` (:func:`record_server_event`). Dask clusters come from the
Dask Gateway's own database in the local mode (its ``clusters`` and ``workers`` tables, in
``<state_dir>/dask-gateway.sqlite``) and, in Kubernetes mode, from the scheduler and worker pods
the hub's recorder saw (:mod:`odatis_vre.admin.kube_usage`).

What is counted, for the time inside ``[since, until]``:

- server hours: wall-clock time between a server's start and its stop (or now);
- CPU-hours and memory-hours: server hours × the profile's CPU limit / memory limit (GiB),
  i.e. what was reserved for the user, not what the kernel used;
- Dask core-hours: each worker's running time × its cores, plus the scheduler's core for
  the cluster's whole life.

>>> ev = [ServerEvent(0, "start", "ann", "", "ocean", 2, 4 * GiB), ServerEvent(3600, "stop", "ann", "", "", 0, 0)]
>>> [(s.user, s.hours(0, 7200), s.cpu_hours(0, 7200)) for s in server_sessions(ev, now=7200)]
[('ann', 1.0, 2.0)]
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from ..config import VREConfig

GiB = 1024**3
EVENTS_FILE = "usage.sqlite"
GATEWAY_DB = "dask-gateway.sqlite"
COLUMNS = [
    "kind",
    "name",
    "groups",
    "server_hours",
    "cpu_hours",
    "memory_gib_hours",
    "dask_core_hours",
    "dask_clusters",
    "servers",
]


# ---------------------------------------------------------------------------------------
# server events (written by the hub's spawners)


@dataclass(frozen=True)
class ServerEvent:
    ts: float
    event: str  # "start" | "stop"
    user: str
    server: str
    profile: str
    cpu: float  # cores reserved (profile limit); 0 when unknown
    memory: float  # bytes reserved (profile limit); 0 when unknown


def _events_db(state_dir: str | os.PathLike[str]) -> sqlite3.Connection:
    path = Path(state_dir) / EVENTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS server_events (ts REAL NOT NULL, event TEXT NOT NULL, "
        "user TEXT NOT NULL, server TEXT NOT NULL, profile TEXT, cpu REAL, memory REAL)"
    )
    return db


def record_server_event(
    state_dir: str | os.PathLike[str],
    event: str,
    user: str,
    server: str = "",
    profile: str = "",
    cpu: float | None = None,
    memory: float | None = None,
    ts: float | None = None,
) -> None:
    """Append a server start/stop to ``<state_dir>/usage.sqlite`` (one transaction: no partial row)."""
    if event not in ("start", "stop"):
        raise ValueError(f"event must be 'start' or 'stop', not {event!r}")
    db = _events_db(state_dir)
    try:
        db.execute(
            "INSERT INTO server_events VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time.time() if ts is None else ts, event, user, server, profile, cpu or 0.0, memory or 0.0),
        )
    finally:
        db.close()


def read_server_events(state_dir: str | os.PathLike[str]) -> list[ServerEvent]:
    """Every recorded event, oldest first (empty when nothing was recorded yet)."""
    if not (Path(state_dir) / EVENTS_FILE).exists():
        return []
    db = _events_db(state_dir)
    try:
        rows = db.execute("SELECT ts, event, user, server, profile, cpu, memory FROM server_events ORDER BY ts, rowid")
        return [ServerEvent(*r) for r in rows]
    finally:
        db.close()


@dataclass(frozen=True)
class Interval:
    """Something that ran from ``start`` to ``stop`` (UNIX seconds; ``stop`` None = still running)."""

    user: str
    start: float
    stop: float | None
    now: float

    def hours(self, since: float, until: float) -> float:
        """Hours of the interval inside ``[since, until]``."""
        end = min(self.stop if self.stop is not None else self.now, until)
        return max(0.0, end - max(self.start, since)) / 3600


@dataclass(frozen=True)
class ServerSession(Interval):
    server: str = ""
    profile: str = ""
    cpu: float = 0.0
    memory: float = 0.0

    def cpu_hours(self, since: float, until: float) -> float:
        return self.hours(since, until) * self.cpu

    def memory_hours(self, since: float, until: float) -> float:
        return self.hours(since, until) * self.memory / GiB


def server_sessions(events: Iterable[ServerEvent], now: float | None = None) -> list[ServerSession]:
    """Pair each start with the next stop of the same (user, server); a stop without a start is ignored."""
    now = time.time() if now is None else now
    open_: dict[tuple[str, str], ServerEvent] = {}
    out: list[ServerSession] = []
    for e in sorted(events, key=lambda e: e.ts):
        key = (e.user, e.server)
        if e.event == "start":
            if key in open_:  # the hub lost the stop (crash): close the older one at this start
                s = open_.pop(key)
                out.append(ServerSession(s.user, s.ts, e.ts, now, s.server, s.profile, s.cpu, s.memory))
            open_[key] = e
        elif key in open_:
            s = open_.pop(key)
            out.append(ServerSession(s.user, s.ts, e.ts, now, s.server, s.profile, s.cpu, s.memory))
    out.extend(ServerSession(s.user, s.ts, None, now, s.server, s.profile, s.cpu, s.memory) for s in open_.values())
    return sorted(out, key=lambda s: s.start)


# ---------------------------------------------------------------------------------------
# Dask clusters (the gateway's database)


@dataclass(frozen=True)
class DaskUse(Interval):
    """One worker (``cores`` = its cores) or one scheduler (1 core) of ``cluster``."""

    cluster: str = ""
    cores: float = 1.0

    def core_hours(self, since: float, until: float) -> float:
        return self.hours(since, until) * self.cores


def gateway_db_path(cfg: VREConfig) -> Path:
    """Where the local mode's Dask Gateway keeps its database (set in :mod:`odatis_vre.hub.hubconfig`)."""
    return cfg.state_dir / GATEWAY_DB


def dask_usage(db_url: str | os.PathLike[str], now: float | None = None) -> list[DaskUse]:
    """Schedulers and workers recorded by dask-gateway-server (``sqlite:///path`` or a path)."""
    now = time.time() if now is None else now
    text = str(db_url)
    path = Path(text[len("sqlite:///") :] if text.startswith("sqlite:///") else text)
    if not path.exists():
        return []
    # read-only: the gateway owns this file
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"clusters", "workers"} <= tables:
            return []
        out: list[DaskUse] = []
        clusters = {}
        for cid, name, user, cfg_blob, start, stop in db.execute(
            "SELECT id, name, username, config, start_time, stop_time FROM clusters"
        ):
            conf = json.loads(bytes(cfg_blob).decode()) if cfg_blob else {}
            clusters[cid] = (name, user, float(conf.get("worker_cores") or 1))
            out.append(
                DaskUse(
                    user,
                    start / 1000,
                    stop / 1000 if stop else None,
                    now,
                    name,
                    float(conf.get("scheduler_cores") or 1),
                )
            )
        for cid, start, stop in db.execute("SELECT cluster_id, start_time, stop_time FROM workers"):
            if cid in clusters:
                name, user, cores = clusters[cid]
                out.append(DaskUse(user, start / 1000, stop / 1000 if stop else None, now, name, cores))
        return out
    finally:
        db.close()


# ---------------------------------------------------------------------------------------
# the report


def _dask_pods_db(state_dir: str | os.PathLike[str]) -> sqlite3.Connection:
    """``usage.sqlite`` (the server events' database) with the table of Dask pods (Kubernetes mode)."""
    db = _events_db(state_dir)
    db.execute(
        "CREATE TABLE IF NOT EXISTS dask_pods (pod TEXT PRIMARY KEY, cluster TEXT NOT NULL, user TEXT NOT NULL, "
        "kind TEXT NOT NULL, cores REAL NOT NULL, start REAL NOT NULL, stop REAL)"
    )
    return db


def read_dask_usage(state_dir: str | os.PathLike[str], now: float | None = None) -> list[DaskUse]:
    """Every recorded scheduler and worker pod as :class:`DaskUse` (empty when none): what the hub's recorder
    (:mod:`odatis_vre.admin.kube_usage`) saw in Kubernetes mode."""
    if not (Path(state_dir) / EVENTS_FILE).exists():
        return []
    now = time.time() if now is None else now
    db = _dask_pods_db(state_dir)
    try:
        rows = db.execute("SELECT user, start, stop, cluster, cores FROM dask_pods ORDER BY start").fetchall()
    finally:
        db.close()
    return [DaskUse(user, start, stop, now, cluster, cores) for user, start, stop, cluster, cores in rows]


@dataclass
class Totals:
    server_hours: float = 0.0
    cpu_hours: float = 0.0
    memory_gib_hours: float = 0.0
    dask_core_hours: float = 0.0
    dask_clusters: set[str] = field(default_factory=set)
    servers: int = 0

    def add(self, other: Totals) -> None:
        self.server_hours += other.server_hours
        self.cpu_hours += other.cpu_hours
        self.memory_gib_hours += other.memory_gib_hours
        self.dask_core_hours += other.dask_core_hours
        self.dask_clusters |= other.dask_clusters
        self.servers += other.servers


@dataclass
class Report:
    since: float
    until: float
    per_user: dict[str, Totals]
    user_groups: dict[str, list[str]]

    def per_group(self) -> dict[str, Totals]:
        """Each group's total (a user in two groups counts in both; users in none go to 'default')."""
        out: dict[str, Totals] = defaultdict(Totals)
        for user, t in self.per_user.items():
            for g in self.user_groups.get(user) or ["default"]:
                out[g].add(t)
        return dict(sorted(out.items()))

    def rows(self, by: str = "both") -> list[dict[str, Any]]:
        """Table rows (``by`` = 'user', 'group' or 'both'), numbers rounded to 1/1000."""
        rows = []
        if by in ("user", "both"):
            for u, t in sorted(self.per_user.items()):
                rows.append(_row("user", u, ",".join(self.user_groups.get(u) or ["default"]), t))
        if by in ("group", "both"):
            for g, t in self.per_group().items():
                rows.append(_row("group", g, "", t))
        return rows


def _row(kind: str, name: str, groups: str, t: Totals) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "groups": groups,
        "server_hours": round(t.server_hours, 3),
        "cpu_hours": round(t.cpu_hours, 3),
        "memory_gib_hours": round(t.memory_gib_hours, 3),
        "dask_core_hours": round(t.dask_core_hours, 3),
        "dask_clusters": len(t.dask_clusters),
        "servers": t.servers,
    }


def display_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row with numbers shortened for a terminal table."""
    return {k: (f"{v:.2f}" if isinstance(v, float) else v) for k, v in row.items()}


def build_report(
    sessions: Iterable[ServerSession],
    dask: Iterable[DaskUse],
    since: float,
    until: float,
    user_groups: dict[str, list[str]],
) -> Report:
    """Sum sessions and Dask use inside ``[since, until]`` per user."""
    if until <= since:
        raise ValueError("--until must be after --since")
    per_user: dict[str, Totals] = defaultdict(Totals)
    for s in sessions:
        h = s.hours(since, until)
        if h <= 0:
            continue
        t = per_user[s.user]
        t.server_hours += h
        t.cpu_hours += s.cpu_hours(since, until)
        t.memory_gib_hours += s.memory_hours(since, until)
        t.servers += 1
    for d in dask:
        ch = d.core_hours(since, until)
        if ch <= 0:
            continue
        t = per_user[d.user]
        t.dask_core_hours += ch
        t.dask_clusters.add(d.cluster)
    return Report(since, until, dict(per_user), user_groups)


def report(
    cfg: VREConfig,
    since: float,
    until: float,
    *,
    hub: Any = None,
    gateway_db: str | None = None,
    now: float | None = None,
) -> Report:
    """The usage report of a deployment: hub records + gateway records, groups from the hub and vre.yaml."""
    from ..users import quotas

    sessions = server_sessions(read_server_events(cfg.state_dir), now)
    # the local gateway's database, or in Kubernetes mode the pods the hub's recorder saw (odatis_vre.admin.kube_usage)
    dask = dask_usage(gateway_db or gateway_db_path(cfg), now) + read_dask_usage(cfg.state_dir, now)
    users = {s.user for s in sessions} | {d.user for d in dask}
    hub_groups: dict[str, list[str]] = {}
    if hub is not None:
        hub_groups = {u["name"]: list(u.get("groups") or []) for u in hub.users()}
    groups = {
        u: [g for g in quotas.user_groups(cfg, u, hub_groups.get(u, [])) if not g.endswith("-instructors")]
        for u in users
    }
    return build_report(sessions, dask, since, until, groups)


def write_csv(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """The report's rows as CSV (written atomically)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    w.writerows(rows)
    atomic.write_bytes(path, buf.getvalue().encode())


def plot(rep: Report, path: str | os.PathLike[str]) -> None:
    """A PNG with two bar charts, per user and per group: server hours, CPU-hours, memory GiB-hours, Dask core-hours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = [("per user", rep.per_user), ("per group", rep.per_group())]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    measures = [
        ("server_hours", "server hours"),
        ("cpu_hours", "CPU-hours"),
        ("memory_gib_hours", "memory GiB-hours"),
        ("dask_core_hours", "Dask core-hours"),
    ]
    for ax, (title, table) in zip(axes, panels):
        names = sorted(table)
        x = np.arange(len(names))
        width = 0.8 / len(measures)
        for i, (attr, label) in enumerate(measures):
            ax.bar(x + (i - 1.5) * width, [getattr(table[n], attr) for n in names], width, label=label)
        ax.set_xticks(x, names, rotation=45 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center")
        ax.set_title(f"Usage {title}")
        ax.set_ylabel("hours")
        if not names:
            ax.text(0.5, 0.5, "no usage in this period", ha="center", va="center", transform=ax.transAxes)
    axes[0].legend(fontsize="small")
    fmt = "%Y-%m-%d %H:%M"
    fig.suptitle(
        f"odatis-vre usage {time.strftime(fmt, time.localtime(rep.since))} → "
        f"{time.strftime(fmt, time.localtime(rep.until))}"
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic.write_bytes(path, buf.getvalue())
