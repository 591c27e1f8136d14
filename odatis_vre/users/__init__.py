"""Who may use the VRE and how much: accounts, system accounts and quotas, shared by the hub and the administration.

* :mod:`odatis_vre.users.accounts` — local accounts with real passwords (the embedded mode's login);
* :mod:`odatis_vre.users.sysusers` — one system account per hub user in the local mode (no user code runs as root);
* :mod:`odatis_vre.users.quotas` — what a user may use, for notebook servers and Dask clusters alike.

These modules import nothing of the VRE but :mod:`odatis_vre.config`: the hub (:mod:`odatis_vre.hub`) and the
administration (:mod:`odatis_vre.admin`) both build on them.
"""
