"""The baseline of the hub benchmarks: stock JupyterHub with sensible settings, on loopback.

DummyAuthenticator + SimpleLocalProcessSpawner, as in ../shared/anchors.md, plus one service
token (``bench``) that the benchmark uses to create users and tokens. The one setting changed from
the defaults is the one any admin changes after their first busy morning: ``Spawner.http_timeout``
(30 s by default, which fails most servers of a 30-seat burst on 2 cores) raised to 120 s, as ours.
``--stock-timeout 30`` on the benchmarks gives back the stock 30 s.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import requests

TOKEN = "b" * 32
PASSWORD = "stock-password"

STOCK_CONFIG = """
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{folder}/home/{{username}}"
c.Spawner.args = ["--ServerApp.allow_root=True"]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = {http_timeout}
c.Spawner.start_timeout = 300
c.JupyterHub.services = [{{"name": "bench", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [{{"name": "bench", "services": ["bench"], "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"]}}]
"""


def start(folder: Path, free_port, *, http_timeout: int = 120) -> tuple[str, subprocess.Popen, IO[bytes]]:
    """Start a stock hub in ``folder``; return (url, process, log file) once its API answers."""
    port = free_port()
    (folder / "jupyterhub_config.py").write_text(
        STOCK_CONFIG.format(
            port=port,
            hub_port=free_port(),
            proxy_port=free_port(),
            folder=folder,
            token=TOKEN,
            password=PASSWORD,
            http_timeout=http_timeout,
        )
    )
    url = f"http://127.0.0.1:{port}"
    log = open(folder / "hub.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", "jupyterhub_config.py"],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(600):
        try:
            if requests.get(f"{url}/hub/api/", timeout=1).status_code == 200:
                return url, proc, log
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the stock hub did not start; see {folder / 'hub.log'}")
