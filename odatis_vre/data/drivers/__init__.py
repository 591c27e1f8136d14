"""Intake drivers (classic ``sources:`` format) for the pole's services that intake-xarray lacks.

They are named in ``catalog/odatis.yaml`` by their class path in this package
(``odatis_vre.data.drivers.ErddapTabledapSource``...), so plain
``intake.open_catalog(...)`` uses them too, and they honour the local mirror
(``mirror={...}`` argument, else ``$ODATIS_VRE_MIRROR``; see :mod:`odatis_vre.data.mirror`):

* :class:`ErddapTabledapSource` — ERDDAP ``tabledap`` CSV queries, constraints pushed to the server,
  a lazy dask DataFrame with one request per time window.
* :class:`ArgoIndexSource` — Argo GDAC index files (``ar_index_global_prof.txt[.gz]`` and friends).
* :class:`CopernicusMarineSource` — Copernicus Marine ARCO datasets through the ``copernicusmarine``
  toolbox (free account needed: ``copernicusmarine login``).
* :class:`SeanoeSource` — one file of a SEANOE record (DOI ``10.17882/<id>``), found through SEANOE's
  JSON API, downloaded once into a local cache (atomic, checked), opened with xarray or pandas.
* :class:`ObisOccurrenceSource` — species occurrences from the OBIS API (``/v3/occurrence``).
* :class:`NetCDFFilesSource` — many local NetCDF files as one dataset (indexed: one file read per open).
* :class:`LinkOnlySource` — a harvested record the VRE cannot open: reading it says why, and gives its link.

One module per provider (``erddap``, ``argo``, ``copernicus``, ``seanoe``, ``obis``, ``files``, ``link``); what they share
(errors, requests, downloads into the cache) is in :mod:`odatis_vre.data.drivers.base`. A new driver is a new
module here, exported below, and named in the catalogue by ``odatis_vre.data.drivers.<Class>``.

Example
-------
>>> import intake
>>> cat = intake.open_catalog("catalog/odatis.yaml")               # doctest: +SKIP
>>> df = cat.argo_erddap_profiles(start="2023-03-01", end="2023-03-10").read()   # doctest: +SKIP
"""

from __future__ import annotations

from .argo import ArgoIndexSource
from .base import TIMEOUT, AccessError, cache_root, download
from .copernicus import CopernicusMarineSource, copernicus_credentials
from .erddap import ErddapTabledapSource
from .files import NetCDFFilesSource, open_files_indexed
from .link import LinkOnlySource
from .obis import OBIS_API, ObisOccurrenceSource
from .seanoe import SEANOE_API, SeanoeSource, seanoe_record_id

__all__ = [
    "AccessError",
    "ArgoIndexSource",
    "CopernicusMarineSource",
    "ErddapTabledapSource",
    "LinkOnlySource",
    "NetCDFFilesSource",
    "OBIS_API",
    "ObisOccurrenceSource",
    "SEANOE_API",
    "SeanoeSource",
    "TIMEOUT",
    "cache_root",
    "copernicus_credentials",
    "download",
    "open_files_indexed",
    "seanoe_record_id",
]
