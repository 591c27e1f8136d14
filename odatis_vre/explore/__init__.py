"""The data explorer: a Panel app served as a hub service and in JupyterLab's launcher.

:mod:`odatis_vre.explore.explorer` holds the app (search, map, click for a time series, draw a box,
download); :mod:`odatis_vre.explore.server` serves it behind the hub's login (``odatis-vre explorer serve``).
It reads data through the public API (:mod:`odatis_vre.catalog`, :mod:`odatis_vre.timeseries`).
"""
