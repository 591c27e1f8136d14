"""The Dask Gateway's configuration: authenticated by JupyterHub, limited by the quotas.

``hub/dask_gateway_config.py`` calls :func:`apply` in both modes; the backend classes
below add the one limit Dask Gateway does not have (clusters at once per user) and
route every limit through :mod:`odatis_vre.quotas`.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.local import UnsafeLocalBackend
from dask_gateway_server.models import ClusterStatus
from dask_gateway_server.options import Float, Integer, Options

from . import config as config_mod
from . import priority, quotas
from .config import VREConfig, format_bytes
from .modes import local_ports

ACTIVE = [ClusterStatus.PENDING, ClusterStatus.RUNNING]
GiB = 1024**3

#: glibc's allocator in the workers (set by distributed's nanny before it starts a worker). Its default
#: returns every freed block above 64 KiB to the system at once, so an analysis over whole-period blocks
#: (tens of MB each) gets fresh pages, which the kernel zeroes, for every array of every task: a monthly
#: climatology on the gateway ran well below the same tasks in one process (docs/benchmarks.md, P2). Arrays up
#: to 64 MiB now come from the heap, and up to 128 MiB of freed memory waits for the next task.
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": 64 * 1024**2, "MALLOC_TRIM_THRESHOLD_": 128 * 1024**2}


def worker_environment() -> dict[str, str]:
    """Environment of schedulers and workers, in both modes (``ClusterConfig.environment``).

    The value is a Python literal: dask keeps its keys' case (glibc's variable names are case-sensitive).
    The nanny merges it into its ``distributed.nanny.pre-spawn-environ`` defaults.
    """
    return {"DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON": repr(dict(WORKER_MALLOC))}


def _cfg() -> VREConfig:
    return config_mod.load(os.environ.get(config_mod.ENV_CONFIG), cached=True)


def _quota(user: Any) -> quotas.Quota:
    return quotas.for_user(_cfg(), user.name, getattr(user, "groups", ()) or ())


def cluster_options(user: Any) -> Options:
    """The options a user may set (worker cores and memory); bounds come from their quota."""
    q = _quota(user)
    default_mem = min(2.0, q.dask_worker_memory / GiB)

    def handler(options: Any, user: Any) -> dict[str, Any]:
        q = _quota(user)
        mem = float(options.worker_memory) * GiB
        try:
            quotas.check_cluster(q, worker_memory=mem, workers=1, worker_cores=options.worker_cores)
        except quotas.QuotaExceeded as exc:
            raise PublicException(str(exc)) from None
        return {
            "worker_cores": int(options.worker_cores),
            "worker_memory": int(mem),
            # dask-gateway counts the scheduler's core inside cluster_max_cores
            "cluster_max_cores": None if q.dask_cores == quotas.UNLIMITED else q.dask_cores + 1,
            "cluster_max_workers": None if q.dask_workers == quotas.UNLIMITED else int(q.dask_workers),
        }

    return Options(
        Integer("worker_cores", default=1, min=1, label="Cores per worker"),
        Float("worker_memory", default=default_mem, min=0.25,
              label=f"Memory per worker (GiB, at most {format_bytes(q.dask_worker_memory)})"),
        handler=handler,
    )


class ClusterCountMixin:
    """Refuse a new cluster when the user already runs as many as their quota allows."""

    async def start_cluster(self, user: Any, cluster_options: dict[str, Any]) -> str:
        running = await self.list_clusters(username=user.name, statuses=ACTIVE)  # type: ignore[attr-defined]
        try:
            quotas.check_cluster(_quota(user), running_clusters=len(running))
        except quotas.QuotaExceeded as exc:
            raise PublicException(str(exc)) from None
        return await super().start_cluster(user, cluster_options)  # type: ignore[misc]


class VRELocalBackend(ClusterCountMixin, UnsafeLocalBackend):
    """Local processes (every cluster runs as the hub's OS user — local mode only)."""

    def make_preexec_fn(self, cluster: Any) -> Any:
        parent = super().make_preexec_fn(cluster)

        def preexec() -> None:  # in the child, after setsid: schedulers and workers below the hub
            parent()
            priority.lower_priority()

        return preexec


@functools.cache
def _kube_backend() -> type:
    from dask_gateway_server.backends.kubernetes import KubeBackend

    class VREKubeBackend(ClusterCountMixin, KubeBackend):
        """Kubernetes pods, with the VRE's quotas."""

    return VREKubeBackend


def __getattr__(name: str) -> Any:
    # The Kubernetes backend imports kubernetes_asyncio; only load it when asked for.
    if name == "VREKubeBackend":
        return _kube_backend()
    raise AttributeError(name)


def apply(c: Any, cfg: VREConfig) -> None:
    """Configure a dask-gateway-server traitlets config ``c`` from the platform configuration."""
    c.DaskGateway.authenticator_class = "dask_gateway_server.auth.JupyterHubAuthenticator"
    c.ClusterConfig.environment = worker_environment()
    prefix = cfg.hub["base_url"].rstrip("/") + "/services/dask-gateway"
    if cfg.mode == "kubernetes":
        c.DaskGateway.backend_class = "odatis_vre.gateway.VREKubeBackend"
        c.KubeBackend.cluster_options = cluster_options
        return
    ports = local_ports(cfg)
    bindir = Path(sys.executable).parent
    c.DaskGateway.backend_class = "odatis_vre.gateway.VRELocalBackend"
    c.DaskGateway.address = f"127.0.0.1:{ports['gateway_api']}"
    c.Proxy.address = f"127.0.0.1:{ports['gateway_http']}"
    c.Proxy.tcp_address = f"127.0.0.1:{ports['gateway_tcp']}"
    c.Proxy.prefix = prefix
    c.VRELocalBackend.cluster_options = cluster_options
    c.VRELocalBackend.clusters_directory = str(cfg.state_dir / "dask-clusters")
    c.LocalClusterConfig.scheduler_cmd = [str(bindir / "dask"), "scheduler"]
    c.LocalClusterConfig.worker_cmd = [str(bindir / "dask"), "worker"]
    c.LocalClusterConfig.idle_timeout = 3600
