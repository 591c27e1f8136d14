"""odatis-vre: the virtual research environment of the ODATIS ocean data and services pole.

Submodules are imported on demand (``odatis_vre.catalog``, ``odatis_vre.compute``,
``odatis_vre.viz``, ``odatis_vre.analysis``, ``odatis_vre.publish``...), so that
``import odatis_vre`` stays fast inside every notebook server.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {"catalog", "compute", "viz", "analysis", "publish", "config", "quotas", "samples", "provenance"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'odatis_vre' has no attribute {name!r}")
