# Every user server of the VRE reads this file: installed as <environment>/etc/jupyter/jupyter_server_config.py
# (`make install` for the local mode, images/ocean/Dockerfile for the image).
import os

from odatis_vre.hub.server_setup import proxy_host_allowlist

c = get_config()  # noqa: F821 (defined by Jupyter when it reads this file)

# jupyter-resource-usage: memory against MEM_LIMIT (bytes, exported by JupyterHub's spawners from the profile) and
# CPU against CPU_LIMIT. JupyterHub gives CPU_LIMIT in cores, jupyter-resource-usage compares it with a CPU
# percentage (100 per core): without the conversion a 1-core server would be "over its limit" at 2 %.
c.ResourceUseDisplay.track_cpu_percent = True
if float(os.environ.get("CPU_LIMIT") or 0) > 0:
    c.ResourceUseDisplay.cpu_limit = 100.0 * float(os.environ["CPU_LIMIT"])

# jupyter-server-proxy: loopback, and in Kubernetes the Dask Gateway's Traefik, whose dashboards the Dask sidebar
# opens through this server (DASK_GATEWAY__PUBLIC_ADDRESS)
c.ServerProxy.host_allowlist = proxy_host_allowlist()
