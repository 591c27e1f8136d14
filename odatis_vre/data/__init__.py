"""How the catalogue finds and reaches datasets: its files and index, the harvest, intake drivers, local mirrors,
offline samples, coastlines.

* :mod:`odatis_vre.data.entries` — the catalogue file and what an entry must hold; :mod:`odatis_vre.data.probe` —
  is an entry's endpoint reachable;
* :mod:`odatis_vre.data.catalog_index` — each catalogue file's columnar search index; :mod:`odatis_vre.data.search`
  — matching and ranking on it;
* :mod:`odatis_vre.data.harvest` — the records of Sextant's CSW into the harvested catalogue;
* :mod:`odatis_vre.data.drivers` — intake drivers for the pole's services (ERDDAP, Argo, Copernicus Marine,
  SEANOE, OBIS, files), one module per provider;
* :mod:`odatis_vre.data.mirror` — local copies with the layout of a remote entry (offline work, tests);
* :mod:`odatis_vre.data.samples` — deterministic small datasets that make the catalogue work offline;
* :mod:`odatis_vre.data.coastlines` — world coastlines shipped with the package (``ne_50m_coastline.geojson``);
* :mod:`odatis_vre.data.timecopy` — the time-optimised copies behind instant time series.

The user-facing API over them is :mod:`odatis_vre.catalog` and :mod:`odatis_vre.timeseries`; nothing here
imports those.
"""
