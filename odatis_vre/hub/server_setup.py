"""What every user server of the VRE sets up when it starts (see ``images/ocean/jupyter_server_config.py``).

jupyter-server-proxy proxies ``<server>/proxy/<host>:<port>/...`` only to the hosts of its allow-list
(``ServerProxy.host_allowlist``, loopback by default). In Kubernetes the Dask Gateway's dashboards go through
the user's server to the gateway's Traefik (``DASK_GATEWAY__PUBLIC_ADDRESS``, :func:`odatis_vre.hub.modes.singleuser_env`):
that host, and only it, joins the list, read from the address the Dask sidebar and ``dask_gateway`` use.

Example
-------
>>> proxy_host_allowlist({"DASK_GATEWAY__PUBLIC_ADDRESS":
...     "{JUPYTERHUB_SERVICE_PREFIX}proxy/traefik-odatis-vre-dask-gateway.odatis:80/services/dask-gateway/"})
['localhost', '127.0.0.1', 'traefik-odatis-vre-dask-gateway.odatis']
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

#: jupyter-server-proxy's own defaults (what a server proxies to without configuration)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")

# jupyter-server-proxy's route to a host (jupyter_server_proxy.handlers.setup_handlers), after the server's prefix
_HOST_ROUTE = re.compile(r"(?:^|[/}])proxy/(?:absolute/)?(?P<host>[^/:@]+):(?P<port>\d+)(?:/|$)")


def proxy_host_allowlist(environ: Mapping[str, str] | None = None) -> list[str]:
    """The hosts this server's jupyter-server-proxy may reach: loopback, plus the Dask dashboards' host.

    The dashboards' host is the one in ``DASK_GATEWAY__PUBLIC_ADDRESS`` when that address is a
    ``proxy/<host>:<port>/`` route of the server (Kubernetes); the local mode's ``proxy/<port>/`` route is
    loopback already.

    Example
    -------
    >>> proxy_host_allowlist({"DASK_GATEWAY__PUBLIC_ADDRESS": "{JUPYTERHUB_SERVICE_PREFIX}proxy/8786/"})
    ['localhost', '127.0.0.1']
    """
    environ = os.environ if environ is None else environ
    hosts = list(LOOPBACK_HOSTS)
    found = _HOST_ROUTE.search(environ.get("DASK_GATEWAY__PUBLIC_ADDRESS", ""))
    if found and found["host"] not in hosts:
        hosts.append(found["host"])
    return hosts
