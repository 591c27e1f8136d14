"""Dask usage in Kubernetes mode, from what exists there: the gateway's DaskCluster objects and their pods.

The local mode reads the Dask Gateway's own database (:func:`odatis_vre.admin.usage.dask_usage`); the Kubernetes
backend keeps none, its clusters are DaskCluster objects whose scheduler and worker pods come and go. The hub
runs ``python -m odatis_vre.admin.kube_usage`` as a service (:func:`odatis_vre.hub.hubconfig.services`): every
``--every`` seconds it lists the DaskClusters and their pods with the hub's service account (the chart's Role
``odatis-vre-usage`` allows reading them) and records, in the same ``usage.sqlite`` as the servers, when each
scheduler and worker pod was first and last seen running, and with how many cores.
``odatis-vre admin usage`` then counts Dask core-hours the same way in both modes.

>>> import tempfile
>>> state = tempfile.mkdtemp()
>>> dc = {"metadata": {"name": "c1"}, "spec": {"username": "ann", "config": {"worker_cores": 2, "scheduler_cores": 1}}}
>>> pod = {"metadata": {"name": "w1", "labels": {"gateway.dask.org/cluster": "c1",
...        "app.kubernetes.io/component": "dask-worker"}}, "status": {"phase": "Running"}}
>>> observe(state, [dc], [pod], now=0)
>>> observe(state, [dc], [], now=3600)
>>> [(u.user, u.core_hours(0, 7200)) for u in read_dask_usage(state, now=7200)]
[('ann', 2.0)]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from typing import Any

from .usage import _dask_pods_db as _db
from .usage import read_dask_usage as read_dask_usage

log = logging.getLogger("odatis_vre.admin.kube_usage")
COMPONENTS = {"dask-scheduler": "scheduler", "dask-worker": "worker"}


def observe(
    state_dir: str | os.PathLike[str],
    clusters: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    now: float | None = None,
) -> None:
    """Record one look at the cluster: running Dask pods start (once), pods gone since the last look stop.

    A pod is counted from the first look that sees it running to the first look that does not: the
    precision is the polling period.
    """
    now = time.time() if now is None else now
    owners = {c["metadata"]["name"]: c.get("spec") or {} for c in clusters}
    seen: set[str] = set()
    db = _db(state_dir)
    try:
        db.execute("BEGIN")
        for pod in pods:
            labels = pod["metadata"].get("labels") or {}
            kind = COMPONENTS.get(labels.get("app.kubernetes.io/component", ""))
            spec = owners.get(labels.get("gateway.dask.org/cluster", ""))
            if kind is None or spec is None or (pod.get("status") or {}).get("phase") != "Running":
                continue
            name = pod["metadata"]["name"]
            seen.add(name)
            conf = spec.get("config") or {}
            cores = float(conf.get(f"{kind}_cores") or 1)
            db.execute(
                "INSERT OR IGNORE INTO dask_pods VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (name, labels["gateway.dask.org/cluster"], spec.get("username", "?"), kind, cores, now),
            )
        running = [r[0] for r in db.execute("SELECT pod FROM dask_pods WHERE stop IS NULL")]
        for name in running:
            if name not in seen:
                db.execute("UPDATE dask_pods SET stop = ? WHERE pod = ?", (now, name))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.close()


async def poll_once(state_dir: str | os.PathLike[str], namespace: str, instance: str, api: Any = None) -> int:
    """List the gateway's DaskClusters and Dask pods in ``namespace`` and :func:`observe` them; return the pods seen."""
    from kubernetes_asyncio import client, config

    own = api is None
    if own:
        try:
            config.load_incluster_config()
        except config.ConfigException:
            await config.load_kube_config()
        api = client.ApiClient()
    try:
        selector = f"gateway.dask.org/instance={instance}"
        clusters = await client.CustomObjectsApi(api).list_namespaced_custom_object(
            "gateway.dask.org", "v1alpha1", namespace, "daskclusters", label_selector=selector
        )
        pods = await client.CoreV1Api(api).list_namespaced_pod(
            namespace, label_selector=selector, _preload_content=False
        )
        import json

        items = json.loads(await pods.read())["items"]
        await asyncio.to_thread(observe, state_dir, clusters["items"], items)
        return len(items)
    finally:
        if own:
            await api.close()


async def run(state_dir: str, namespace: str, instance: str, every: float) -> None:
    """Poll forever; a failed look is logged and the next one tries again."""
    while True:
        try:
            n = await poll_once(state_dir, namespace, instance)
            log.debug("%d Dask pods seen", n)
        except Exception:
            log.exception("Could not read the Dask clusters for usage accounting; trying again in %.0f s", every)
        await asyncio.sleep(every)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Record Dask usage from the Kubernetes API (Kubernetes mode).")
    parser.add_argument("--state-dir", required=True, help="where usage.sqlite is (vre.yaml hub.state_dir)")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--instance", default="odatis-vre-dask-gateway", help="the gateway's instance label")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between two looks (default 60)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s %(asctime)s kube_usage] %(message)s")
    asyncio.run(run(args.state_dir, args.namespace, args.instance, args.every))


if __name__ == "__main__":
    main()
