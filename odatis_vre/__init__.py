"""odatis-vre: the virtual research environment of the ODATIS ocean data and services pole.

What users and notebooks import sits at the top: :mod:`odatis_vre.catalog`, :mod:`odatis_vre.compute`,
:mod:`odatis_vre.viz`, :mod:`odatis_vre.analysis`, :mod:`odatis_vre.timeseries`, :mod:`odatis_vre.publish`
and :mod:`odatis_vre.provenance`, beside the foundations every part uses (:mod:`odatis_vre.config`,
:mod:`odatis_vre.errors`, :mod:`odatis_vre.atomic`). The parts behind them are subpackages, by concern:
``cli`` (the ``odatis-vre`` command), ``hub`` (what JupyterHub and the Dask Gateway load), ``admin``,
``explore`` (the data explorer), ``publishing`` (metadata, DOIs, the repository), ``data`` (drivers,
mirrors, samples, time-optimised copies) and ``users`` (accounts and quotas). ``docs/architecture.md``
draws the parts and the one direction of their imports.

Submodules are imported on demand (``odatis_vre.catalog``...), so that ``import odatis_vre`` stays fast
inside every notebook server.

>>> import odatis_vre
>>> odatis_vre.samples.__name__
'odatis_vre.data.samples'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: ``odatis_vre.<name>`` → the module it loads (``from odatis_vre import samples`` in the tutorials keeps working)
_SUBMODULES = {
    **{
        name: name
        for name in ("catalog", "compute", "viz", "analysis", "timeseries", "publish", "provenance", "config")
    },
    "samples": "data.samples",
    "quotas": "users.quotas",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{_SUBMODULES[name]}", __name__)
    raise AttributeError(f"module 'odatis_vre' has no attribute {name!r}")
