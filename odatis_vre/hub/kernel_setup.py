"""What every IPython kernel of the VRE sets up when it starts (see ``images/ocean/ipython_kernel_config.py``).

HoloViews, hvplot and Panel make a notebook load BokehJS from public CDNs unless they are told to put it
in the notebook itself. Panel reads ``PANEL_INLINE`` (set in every user server's environment), HoloViews'
``hv.extension`` (which ``import hvplot.xarray`` calls too) has only a class parameter: it is set here.
Without it, a plot in a server with no way out of the VRE stays empty ("Bokeh or Panel library is missing").

Example
-------
>>> offline_plots()
True
>>> from holoviews.ipython import notebook_extension
>>> notebook_extension.inline
True
"""

from __future__ import annotations


def offline_plots() -> bool:
    """Make HoloViews (and so hvplot) inline BokehJS into notebooks; False when HoloViews is not installed."""
    try:
        from holoviews.ipython import notebook_extension
    except ImportError:
        return False
    notebook_extension.inline = True
    return True
