"""Everything JupyterHub and the Dask Gateway load, and what starts them on one machine.

* configuration: :mod:`~odatis_vre.hub.hubconfig` (``vre.yaml`` applied to the hub's traitlets, both modes),
  :mod:`~odatis_vre.hub.modes` (where the local and Kubernetes modes differ — and only there),
  :mod:`~odatis_vre.hub.gateway` (the Dask Gateway's backends and cluster options);
* login and servers: :mod:`~odatis_vre.hub.auth` (local accounts, OAuth/OIDC), :mod:`~odatis_vre.hub.spawners`
  (local processes, Kubernetes pods, one quota check);
* the local mode's machinery: :mod:`~odatis_vre.hub.zygote` (servers forked from a warm process),
  :mod:`~odatis_vre.hub.isolation` (cgroups, rlimits, dropping root), :mod:`~odatis_vre.hub.priority`
  and :mod:`~odatis_vre.hub.provisioner` (user work below the hub's CPU priority), :mod:`~odatis_vre.hub.hubdb`,
  :mod:`~odatis_vre.hub.supervise`, :mod:`~odatis_vre.hub.stack` (``odatis-vre up | down | status``);
* inside every user server and kernel: :mod:`~odatis_vre.hub.server_setup` (the server's proxy allow-list),
  :mod:`~odatis_vre.hub.kernel_setup` (plots that need no CDN).

Class paths given to JupyterHub and dask-gateway as strings live here (``odatis_vre.hub.spawners.VRELocalSpawner``,
``odatis_vre.hub.auth.LocalAccountsAuthenticator``, ``odatis_vre.hub.gateway.VRELocalBackend``...).
"""
