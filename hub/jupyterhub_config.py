# The hub configuration of odatis-vre, the same file in every mode: the local mode runs
# `jupyterhub -f hub/jupyterhub_config.py`; the Helm chart mounts it into the hub pod.
# Everything comes from vre.yaml ($ODATIS_VRE_CONFIG); the logic lives in odatis_vre.hub.hubconfig.
from odatis_vre import config
from odatis_vre.hub import hubconfig

hubconfig.apply(c, config.load())  # noqa: F821 (c is provided by JupyterHub)
