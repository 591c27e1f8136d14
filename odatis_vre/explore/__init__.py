"""The data explorer: a Panel app served as a hub service and in JupyterLab's launcher.

* :mod:`odatis_vre.explore.explorer` — the data side, no Panel: which entries can be mapped, a dataset's fields,
  the series at a point and over a box (through :mod:`odatis_vre.timeseries`);
* :mod:`odatis_vre.explore.app` — the page (search, map, click for a time series, draw a box, download);
* :mod:`odatis_vre.explore.server` — serving it behind the hub's login (``odatis-vre explorer serve``) and the
  JupyterLab launcher entry (jupyter-server-proxy).
"""
