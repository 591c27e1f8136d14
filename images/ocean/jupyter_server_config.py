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

# JupyterLab's extension manager: read-only. The environment is the image's (curated, locked, shared by every
# user), servers have no way out to PyPI, and the "pypi" manager builds an HTTPS client (CA bundle and all) in
# every server at start: a sixth of a server's start-up CPU, measured with py-spy in a 30-seat burst.
c.LabApp.extension_manager = "readonly"
# jupyter-lsp: no language server is installed in the images; scanning every package's entry points for one
# took an eighth of a server's start-up CPU. A profile that ships one names it in LanguageServerManager.language_servers.
c.LanguageServerManager.autodetect = False
