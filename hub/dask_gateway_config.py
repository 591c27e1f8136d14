# The Dask Gateway configuration of odatis-vre, the same file in every mode
# (`dask-gateway-server -f hub/dask_gateway_config.py`; mounted by the Helm chart).
from odatis_vre import config
from odatis_vre.hub import gateway

gateway.apply(c, config.load())  # noqa: F821 (c is provided by dask-gateway-server)
