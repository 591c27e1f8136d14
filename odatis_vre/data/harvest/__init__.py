"""Harvest a CSW catalogue (Sextant, the pole's GeoNetwork) into an intake catalogue beside the curated one.

:func:`harvest` pages through an OGC CSW 2.0.2 endpoint with OWSLib (``GetRecords``, ISO 19139 or
ISO 19115-3 records), maps each record to a catalogue entry (:func:`entry_from_record`) and writes
``catalog/harvested/<source>.yaml`` atomically; ``catalog/odatis.yaml`` includes it. Entries whose
access link is a protocol the VRE opens (OPeNDAP, ERDDAP griddap/tabledap, Zarr, NetCDF over HTTP,
SEANOE) get a driver and load with :func:`odatis_vre.catalog.load`; the others keep their links and
the reason they do not load (driver :class:`odatis_vre.data.drivers.LinkOnlySource`).

A harvest is **incremental** (records modified since the newest ``dateStamp`` of the previous
harvest), **resumable** (pages already fetched are kept in ``<output>.partial/`` and a new run goes on
from there), **atomic** (the catalogue file is replaced only when every page has arrived) and
**polite** (a minimum interval between requests, a ``User-Agent`` naming the VRE).

Example
-------
>>> from odatis_vre.data import harvest
>>> report = harvest.harvest("https://sextant.ifremer.fr/geonetwork/srv/eng/csw",
...                          "catalog/harvested/sextant.yaml")            # doctest: +SKIP
>>> print(report.summary())                                             # doctest: +SKIP
1 812 records matched, 1 812 fetched in 19 pages: 1 790 entries (512 loadable, 1 278 listed only), 22 skipped

The parts: :mod:`~odatis_vre.data.harvest.records` (one ISO record → one entry),
:mod:`~odatis_vre.data.harvest.csw` (the CSW client and its filters), :mod:`~odatis_vre.data.harvest.run`
(paging, resuming, merging, writing, the report). ``odatis-vre catalog harvest`` runs it.
"""

from __future__ import annotations

from .csw import CSW_NS, SCHEMAS, USER_AGENT, HarvestError, constraints
from .records import (
    GMD,
    MDB,
    SEXTANT_CSW,
    Mapped,
    classify_link,
    entry_from_record,
    entry_name,
    map_element,
    parse_record,
)
from .run import HarvestReport, configured_sources, harvest, partial_dir, state_path, write_catalogue

__all__ = [
    "CSW_NS",
    "GMD",
    "MDB",
    "SCHEMAS",
    "SEXTANT_CSW",
    "USER_AGENT",
    "HarvestError",
    "HarvestReport",
    "Mapped",
    "classify_link",
    "configured_sources",
    "constraints",
    "entry_from_record",
    "entry_name",
    "harvest",
    "map_element",
    "parse_record",
    "partial_dir",
    "state_path",
    "write_catalogue",
]
