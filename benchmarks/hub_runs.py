"""What the hub benchmarks (bench_spawn, bench_workshop) write about the hubs they ran: versions, settings, isolation."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from pathlib import Path

from odatis_vre.users import sysusers


def software() -> str:
    """The versions both hubs run with, read here (the same environment and PATH as the hubs)."""

    def dist(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    chp = "?"
    exe = shutil.which("configurable-http-proxy")
    if exe:
        try:
            chp = json.loads((Path(exe).resolve().parents[1] / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            pass
    return (
        f"JupyterHub {dist('jupyterhub')}, configurable-http-proxy {chp}, Jupyter Server {dist('jupyter-server')} "
        f"and JupyterLab {dist('jupyterlab')}"
    )


def default_http_timeout() -> int:
    """JupyterHub's own default ``Spawner.http_timeout`` (s)."""
    from jupyterhub.spawner import Spawner

    return Spawner.class_traits()["http_timeout"].default_value


def isolation(whose: str = "each user's server") -> str:
    """What the run's odatis-vre isolates: multi-user mode when run as root (``sysusers.multi_user``), as `make up`."""
    if sysusers.multi_user():
        return (
            "Isolation on: the script runs as root, so odatis-vre is in multi-user mode (as `make up` as root) and "
            f"{whose} runs as a system account of its own"
        )
    return (
        f"Isolation off: the script does not run as root, so odatis-vre is in single-user mode and every server "
        f"runs as {sysusers.current().name}"
    )
