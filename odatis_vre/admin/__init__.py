"""Administration: images, quotas, users and groups (:mod:`~odatis_vre.admin.manage`, whose names are importable
from here: ``admin.add_user``, ``admin.HubClient``...), usage accounting (:mod:`~odatis_vre.admin.usage`,
:mod:`~odatis_vre.admin.kube_usage`), training workshops (:mod:`~odatis_vre.admin.workshop`) and code run in a
user's kernel (:mod:`~odatis_vre.admin.remote`).

>>> from odatis_vre import admin
>>> admin.set_quota("vre.yaml", "researchers", cpu=4, dask_clusters=2)      # doctest: +SKIP
"""

from __future__ import annotations

# the administration API, where ``odatis_vre.admin`` has always offered it
from .manage import (
    ENV_TOKEN,
    QUOTA_KEYS,
    AdminError,
    HubClient,
    add_group,
    add_image,
    add_user,
    edit_config,
    effective_quota,
    iter_table,
    list_groups,
    list_images,
    list_users,
    parse_date,
    remove_group,
    remove_user,
    retire_image,
    set_quota,
    show_quotas,
)

__all__ = [
    "ENV_TOKEN",
    "QUOTA_KEYS",
    "AdminError",
    "HubClient",
    "add_group",
    "add_image",
    "add_user",
    "edit_config",
    "effective_quota",
    "iter_table",
    "list_groups",
    "list_images",
    "list_users",
    "parse_date",
    "remove_group",
    "remove_user",
    "retire_image",
    "set_quota",
    "show_quotas",
]
