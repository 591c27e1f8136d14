"""Time-optimised copies of gridded datasets: the format behind instant time series.

* :mod:`~odatis_vre.data.timecopy.source` — where a dataset lives (Zarr store, NetCDF file, glob or folder of
  files), where its copy goes, its fingerprint; the errors of time series;
* :mod:`~odatis_vre.data.timecopy.build` — writing a copy (whole-period chunks, uncompressed, Fortran order);
* :mod:`~odatis_vre.data.timecopy.read` — reading it (one ``pread`` per point, dask blocks, tiles reduced in place).

Users go through :mod:`odatis_vre.timeseries`, which finds the dataset (a catalogue entry or a path) and
decides whether its copy is fresh.
"""
