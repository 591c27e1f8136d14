"""The Dask Gateway's configuration: authenticated by JupyterHub, limited by the quotas.

``hub/dask_gateway_config.py`` calls :func:`apply` in both modes; the backend classes
below add the one limit Dask Gateway does not have (clusters at once per user) and
route every limit through :mod:`odatis_vre.users.quotas`.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from pathlib import Path
from typing import Any

from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.local import LocalBackend
from dask_gateway_server.models import ClusterStatus
from dask_gateway_server.options import Float, Integer, Options

from .. import config as config_mod
from ..config import VREConfig, format_bytes
from ..users import quotas
from . import isolation
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
            # the workers asked for at creation (odatis_vre.compute.cluster(workers=N)) are checked here,
            # before anything starts: scaling above the quota later is only capped, with a warning
            quotas.check_cluster(
                q, worker_memory=mem, workers=max(1, int(options.workers)), worker_cores=options.worker_cores
            )
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
        Float(
            "worker_memory",
            default=default_mem,
            min=0.25,
            label=f"Memory per worker (GiB, at most {format_bytes(q.dask_worker_memory)})",
        ),
        Integer("workers", default=0, min=0, label="Workers to start with"),
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


class VRELocalBackend(ClusterCountMixin, LocalBackend):
    """Local processes run as the user's system account, each in a cgroup of its own (local mode).

    Started as root (multi-user mode), a scheduler or worker joins its cgroup (memory, CPU and
    processes: :mod:`odatis_vre.hub.isolation`), then becomes the user's account before ``exec``;
    in single-user mode it runs as the gateway's own user. Every process runs below the hub's
    CPU priority (:mod:`odatis_vre.hub.priority`).
    """

    #: the nanny's own memory beside the worker's limit (the nanny restarts a worker near its limit)
    NANNY_MEMORY = 256 * 1024**2

    def _account(self, username: str) -> Any:
        from ..users import sysusers

        if not sysusers.multi_user():
            return None
        return sysusers.ensure(_cfg(), username)

    def set_file_permissions(self, paths: list[str], username: str) -> None:
        # dask-gateway-server 2026.3 adds the TLS paths with `paths.extend(path)`, i.e. one entry per
        # *character*: "/" among them. Only whole paths inside the cluster's folder are handed over.
        account = self._account(username)
        if account is None:
            return
        root = paths[0] if paths else ""  # the cluster's folder comes first
        if not (os.path.isabs(root) and os.path.isdir(root) and root.rstrip(os.sep)):
            raise PublicException("The Dask Gateway could not prepare the cluster's folder; see its log.")
        root = root.rstrip(os.sep)
        inside = [p for p in dict.fromkeys(paths) if p == root or p.startswith(root + os.sep)]
        certs = self.get_certs_directory(root)
        inside += [os.path.join(certs, n) for n in os.listdir(certs)]
        for p in inside:
            os.chown(p, account.uid, account.gid)

    def get_env(self, cluster: Any) -> dict[str, str]:
        env = super().get_env(cluster)
        account = self._account(cluster.username)
        if account is not None:
            env["USER"] = env["LOGNAME"] = account.name
            env["HOME"] = str(account.home)
        return env

    def _limits(self, cluster: Any, name: str) -> isolation.Limits:
        c, processes = cluster.config, isolation.enforcer(_cfg()).processes
        if name == "scheduler":
            return isolation.Limits(memory=int(c.scheduler_memory), cpu=float(c.scheduler_cores), processes=processes)
        return isolation.Limits(
            memory=int(c.worker_memory) + self.NANNY_MEMORY, cpu=float(c.worker_cores), processes=processes
        )

    async def start_process(self, cluster: Any, cmd: list[str], env: dict[str, str], name: str) -> int:
        account = self._account(cluster.username)
        limits = self._limits(cluster, name)
        group = isolation.enforcer(_cfg()).create(f"dask-{cluster.name}-{name}", limits)
        workdir = cluster.state["workdir"]
        log_path = os.path.join(self.get_logs_directory(workdir), name + ".log")
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if account is not None:
                os.fchown(fd, account.uid, account.gid)

            def preexec() -> None:  # in the child, after setsid, before exec
                isolation.become(account, group, limits)
                os.chdir(workdir)

            proc = await asyncio.create_subprocess_exec(
                *cmd, preexec_fn=preexec, start_new_session=True, env=env, stdout=fd, stderr=asyncio.subprocess.STDOUT
            )
        except BaseException:
            if group is not None:
                group.remove()
            raise
        finally:
            os.close(fd)
        return proc.pid

    def _remove_groups(self, cluster_name: str, name: str | None = None) -> None:
        enforcer = isolation.enforcer(_cfg())
        for group in enforcer.groups(f"dask-{cluster_name}-" + (name or "")):
            group.remove()

    async def do_stop_worker(self, worker: Any) -> None:
        await super().do_stop_worker(worker)
        await asyncio.to_thread(self._remove_groups, worker.cluster.name, f"worker-{worker.name}")

    async def do_stop_cluster(self, cluster: Any) -> None:
        await super().do_stop_cluster(cluster)
        await asyncio.to_thread(self._remove_groups, cluster.name)


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


def idle_timeout(cfg: VREConfig) -> float:
    """Seconds of inactivity before the gateway stops a cluster (``services.dask_gateway.idle_timeout``).

    >>> idle_timeout(config_mod.from_dict({"profiles": [{"name": "p", "display_name": "P", "image": "i"}]}))
    1800.0
    """
    return float(cfg.services["dask_gateway"].get("idle_timeout", 1800))


def apply(c: Any, cfg: VREConfig) -> None:
    """Configure a dask-gateway-server traitlets config ``c`` from the platform configuration."""
    c.DaskGateway.authenticator_class = "dask_gateway_server.auth.JupyterHubAuthenticator"
    c.ClusterConfig.environment = worker_environment()
    # an idle cluster is shut down (its workers hold quota and nodes); set on the backend's own class so
    # that it wins over the Helm chart's KubeClusterConfig settings, which the chart applies first
    idle = idle_timeout(cfg)
    prefix = cfg.hub["base_url"].rstrip("/") + "/services/dask-gateway"
    if cfg.mode == "kubernetes":
        c.DaskGateway.backend_class = "odatis_vre.hub.gateway.VREKubeBackend"
        c.KubeBackend.cluster_options = cluster_options
        c.KubeClusterConfig.idle_timeout = idle
        # distributed 2026 has no dask-scheduler / dask-worker commands (dask-gateway's defaults): the `dask` CLI
        c.KubeClusterConfig.scheduler_cmd = ["dask", "scheduler"]
        c.KubeClusterConfig.worker_cmd = ["dask", "worker"]
        return
    ports = local_ports(cfg)
    bindir = Path(sys.executable).parent
    c.DaskGateway.backend_class = "odatis_vre.hub.gateway.VRELocalBackend"
    c.DaskGateway.address = f"127.0.0.1:{ports['gateway_api']}"
    c.Proxy.address = f"127.0.0.1:{ports['gateway_http']}"
    c.Proxy.tcp_address = f"127.0.0.1:{ports['gateway_tcp']}"
    c.Proxy.prefix = prefix
    c.VRELocalBackend.cluster_options = cluster_options
    # each cluster's folder is made private to its user in the system's temporary folder (not in the
    # state directory, which user accounts cannot enter)
    c.LocalClusterConfig.scheduler_cmd = [str(bindir / "dask"), "scheduler"]
    c.LocalClusterConfig.worker_cmd = [str(bindir / "dask"), "worker"]
    c.LocalClusterConfig.idle_timeout = idle
