"""The repository: deposits with DOIs, landing pages and dissemination of published datasets.

* :mod:`odatis_vre.publishing.repository.store` — metadata in SQL (SQLite by default, PostgreSQL via ``db_url``)
  and files on a volume; states draft → published; immutable versions; fixity checks.
* :mod:`odatis_vre.publishing.repository.server` — the hub service (``python -m odatis_vre repository serve``):
  upload API, landing pages, downloads, Zarr / OPeNDAP, the catalogue fragment.
* :mod:`odatis_vre.publishing.repository.client` — the Python client (chunked, resumable uploads with progress).

The one call most users need is :func:`odatis_vre.publish.deposit`.
"""

from __future__ import annotations

from .store import RepositoryError, Store

__all__ = ["RepositoryError", "Store"]
