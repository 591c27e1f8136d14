"""Compute: a Dask cluster that fits where the code runs.

Inside a VRE server, :func:`cluster` asks the Dask Gateway (authenticated by the hub,
limited by your group's quota); elsewhere it starts a ``LocalCluster`` on this machine,
so the same notebook runs on a laptop, in the local VRE and on Kubernetes.

>>> from odatis_vre import compute
>>> with compute.cluster(workers=2) as cl, cl.get_client() as client:   # doctest: +SKIP
...     client.submit(sum, [1, 2]).result()
3
"""

from __future__ import annotations

import os
from typing import Any


class ComputeError(RuntimeError):
    """A cluster could not be created; the message says why (e.g. which quota) and what to do."""


def in_hub() -> bool:
    """True inside a VRE user server (the gateway address and a hub token are set)."""
    import dask.config

    return bool(dask.config.get("gateway.address", None) and os.environ.get("JUPYTERHUB_API_TOKEN"))


def gateway() -> Any:
    """The Dask Gateway client of this VRE (address and authentication from the environment)."""
    from dask_gateway import Gateway

    return Gateway()


def cluster(
    workers: int = 0,
    *,
    worker_cores: int | None = None,
    worker_memory: float | None = None,
    adapt: tuple[int, int] | None = None,
    local: bool | None = None,
) -> Any:
    """Start a Dask cluster and return it (use ``cluster.get_client()`` to compute).

    Parameters
    ----------
    workers : number of workers to scale to right away.
    worker_cores, worker_memory : per-worker cores and memory (GiB), within your quota.
    adapt : ``(minimum, maximum)`` workers for adaptive scaling instead of a fixed count.
    local : force a ``LocalCluster`` (True) or the gateway (False); default: gateway inside the hub.
    """
    use_gateway = in_hub() if local is None else not local
    if not use_gateway:
        from dask.distributed import LocalCluster

        cl = LocalCluster(
            n_workers=workers,
            threads_per_worker=worker_cores or 1,
            processes=True,
            dashboard_address=":0",
            memory_limit=f"{worker_memory}GiB" if worker_memory else "auto",
        )
        if adapt:
            cl.adapt(minimum=adapt[0], maximum=adapt[1])
        return cl
    gw = gateway()
    options = gw.cluster_options()
    try:
        if worker_cores is not None:
            options.worker_cores = worker_cores
        if worker_memory is not None:
            options.worker_memory = worker_memory
        if "workers" in options:  # checked against the quota by the gateway, before the cluster starts
            options.workers = max(workers, adapt[1] if adapt else 0)
    except (TypeError, ValueError) as exc:  # the options' own bounds (e.g. at least 1 core)
        raise ComputeError(f"cluster options: {exc}; see compute.cluster's parameters") from None
    try:
        cl = gw.new_cluster(options)
    except ValueError as exc:  # the gateway's refusal carries the quota message
        raise ComputeError(str(exc)) from None
    if adapt:
        cl.adapt(minimum=adapt[0], maximum=adapt[1])
    elif workers:
        cl.scale(workers)
    return cl


def list_clusters() -> list[Any]:
    """Your running gateway clusters (names, status, options)."""
    return gateway().list_clusters()


def shutdown_all() -> int:
    """Stop every gateway cluster you own; return how many were stopped."""
    gw = gateway()
    reports = gw.list_clusters()
    for r in reports:
        gw.stop_cluster(r.name)
    return len(reports)
