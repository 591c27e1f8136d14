"""Quotas: one place that says what a user may use, for notebook servers and Dask clusters alike.

A user's quota is the most generous of the quotas of the groups they belong to; a user
in no configured group gets the ``default`` group's quota.

>>> from odatis_vre import config, quotas
>>> cfg = config.from_dict({"profiles": [{"name": "p", "display_name": "P", "image": "i"}],
...     "groups": {"default": {"quota": {"cpu": 2, "servers": 1}}}})
>>> quotas.for_user(cfg, "ann", []).cpu
2.0
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from ..config import VREConfig, format_bytes, parse_quantity

UNLIMITED = float("inf")


class QuotaExceeded(Exception):
    """A request is above the user's quota; the message names the limit and what to do."""


@dataclass(frozen=True)
class Quota:
    cpu: float = UNLIMITED
    memory: float = UNLIMITED  # bytes
    servers: float = UNLIMITED
    storage: float = UNLIMITED  # bytes
    dask_cores: float = UNLIMITED
    dask_workers: float = UNLIMITED
    dask_worker_memory: float = UNLIMITED  # bytes
    dask_clusters: float = UNLIMITED
    source: str = "none"  # the group(s) the quota comes from, for messages

    @classmethod
    def from_config(cls, q: dict[str, Any], source: str) -> Quota:
        d = q.get("dask") or {}
        vals = {
            "cpu": q.get("cpu"),
            "memory": q.get("memory"),
            "servers": q.get("servers"),
            "storage": q.get("storage"),
            "dask_cores": d.get("cores"),
            "dask_workers": d.get("workers"),
            "dask_worker_memory": d.get("worker_memory"),
            "dask_clusters": d.get("clusters"),
        }
        return cls(**{k: parse_quantity(v) for k, v in vals.items() if v is not None}, source=source)

    def most_generous(self, other: Quota) -> Quota:
        vals = {f.name: max(getattr(self, f.name), getattr(other, f.name)) for f in fields(self) if f.name != "source"}
        return Quota(**vals, source=" + ".join(s for s in (self.source, other.source) if s != "none"))

    def as_dict(self) -> dict[str, Any]:
        """Human-readable values (memory as '4G'), None where unlimited."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "source":
                out[f.name] = v
            elif v == UNLIMITED:
                out[f.name] = None
            elif f.name in ("memory", "storage", "dask_worker_memory"):
                out[f.name] = format_bytes(v)
            else:
                out[f.name] = int(v) if float(v).is_integer() else v
        return out


def user_groups(cfg: VREConfig, username: str, hub_groups: Iterable[str] = ()) -> list[str]:
    """Groups of ``username``: those the hub knows plus those listed in ``vre.yaml``."""
    names = set(hub_groups)
    for g, spec in cfg.groups.items():
        if username in (spec.get("users") or []):
            names.add(g)
    return sorted(names)


def for_user(cfg: VREConfig, username: str, hub_groups: Iterable[str] = ()) -> Quota:
    """The effective quota of ``username`` (most generous of their groups, else ``default``)."""
    groups = [g for g in user_groups(cfg, username, hub_groups) if g in cfg.groups and "quota" in cfg.groups[g]]
    if not groups:
        spec = cfg.groups.get("default", {}).get("quota")
        return Quota.from_config(spec, "group 'default'") if spec else Quota()
    quota = Quota.from_config(cfg.groups[groups[0]]["quota"], f"group '{groups[0]}'")
    for g in groups[1:]:
        quota = quota.most_generous(Quota.from_config(cfg.groups[g]["quota"], f"group '{g}'"))
    return quota


def _fmt(name: str, v: float) -> str:
    return format_bytes(v) if "memory" in name or name == "storage" else f"{v:g}"


def check_profile(quota: Quota, profile: dict[str, Any]) -> None:
    """Refuse a notebook profile whose CPU or memory limit is above the quota."""
    cpu = parse_quantity((profile.get("cpu") or {}).get("limit", 0))
    mem = parse_quantity((profile.get("memory") or {}).get("limit", 0))
    for what, asked, allowed in (("cpu", cpu, quota.cpu), ("memory", mem, quota.memory)):
        if asked > allowed:
            raise QuotaExceeded(
                f"The profile '{profile['name']}' asks for {_fmt(what, asked)} {what.upper() if what == 'cpu' else what}, "
                f"above the {what} limit of {_fmt(what, allowed)} set by your {quota.source}. "
                "Choose a smaller profile, or ask an administrator to raise your group's quota."
            )


def check_servers(quota: Quota, running: int) -> None:
    """Refuse one more server when ``running`` servers already reach the quota."""
    if running + 1 > quota.servers:
        raise QuotaExceeded(
            f"You already run {running} server(s); your {quota.source} allows {quota.servers:g} at once "
            "(quota 'servers'). Stop a server from the hub's home page before starting another one."
        )


def check_cluster(
    quota: Quota,
    *,
    running_clusters: int = 0,
    workers: int | None = None,
    worker_cores: float | None = None,
    worker_memory: float | None = None,
) -> None:
    """Refuse a Dask cluster request above the quota (clusters at once, workers, cores, memory)."""
    if running_clusters + 1 > quota.dask_clusters:
        raise QuotaExceeded(
            f"You already run {running_clusters} Dask cluster(s); your {quota.source} allows "
            f"{quota.dask_clusters:g} at once (quota 'dask.clusters'). Shut one down with cluster.shutdown() "
            "or gateway.list_clusters() / gateway.stop_cluster(name)."
        )
    if worker_memory is not None and worker_memory > quota.dask_worker_memory:
        raise QuotaExceeded(
            f"A worker memory of {format_bytes(worker_memory)} is above the limit of "
            f"{format_bytes(quota.dask_worker_memory)} per worker (quota 'dask.worker_memory', {quota.source}). "
            "Ask for less memory per worker, or more workers."
        )
    if workers is not None and workers > quota.dask_workers:
        raise QuotaExceeded(
            f"{workers} workers is above the limit of {quota.dask_workers:g} workers per cluster "
            f"(quota 'dask.workers', {quota.source})."
        )
    if workers is not None and worker_cores is not None and workers * worker_cores > quota.dask_cores:
        raise QuotaExceeded(
            f"{workers} workers × {worker_cores:g} cores = {workers * worker_cores:g} cores, above the limit of "
            f"{quota.dask_cores:g} cores per cluster (quota 'dask.cores', {quota.source})."
        )
