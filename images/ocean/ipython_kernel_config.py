# IPython kernels of the VRE: installed as <environment>/etc/ipython/ipython_kernel_config.py (`make install` for
# the local mode, images/ocean/Dockerfile for the image), read by every kernel at start.
# Plots (HoloViews, hvplot, Panel) carry BokehJS in the notebook instead of loading it from a public CDN: user
# servers may have no way out, and no request should leave the VRE (odatis_vre.hub.kernel_setup).
c = get_config()  # noqa: F821 (defined by IPython when it reads this file)
c.InteractiveShellApp.exec_lines = ["import odatis_vre.hub.kernel_setup as _k; _k.offline_plots(); del _k"]
