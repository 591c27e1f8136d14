"""Harvested entries the VRE cannot open (an OGC WMS layer, a web page, an FTP server...): their link and the
reason, as an intake source named in the harvested catalogue by ``odatis_vre.data.drivers.LinkOnlySource``.
"""

from __future__ import annotations

from typing import Any

from intake.source.base import DataSource, Schema

from .base import AccessError


class LinkOnlySource(DataSource):
    """A harvested entry the VRE cannot open: its link and the reason, as an intake source.

    Listed and searchable like the others; reading it raises :class:`odatis_vre.data.drivers.AccessError`
    with the reason and the link (open it in a browser, or with the service's own client).

    >>> src = LinkOnlySource("https://sextant.ifremer.fr/services/wms/x", "an OGC WMS layer (map images, not data)")
    >>> src.read()
    Traceback (most recent call last):
    ...
    odatis_vre.data.drivers.base.AccessError: not loadable from the VRE: an OGC WMS layer (map images, not data). Its link: https://sextant.ifremer.fr/services/wms/x (open it in a browser or with that service's own client)
    """

    container = "python"
    name = "link_only"
    version = "1.0"
    partition_access = False

    def __init__(self, url: str | None = None, reason: str = "no data service", metadata: dict[str, Any] | None = None):
        self.url, self.reason = url, reason
        super().__init__(metadata=metadata)

    def message(self) -> str:
        """Why this entry does not load, and where its link goes."""
        where = (
            f" Its link: {self.url} (open it in a browser or with that service's own client)"
            if self.url
            else " The record has no online resource; ask its data centre."
        )
        return f"not loadable from the VRE: {self.reason}.{where}"

    def _get_schema(self) -> Schema:
        return Schema(datashape=None, dtype=None, shape=None, npartitions=0, extra_metadata={"url": self.url})

    def read(self) -> Any:
        raise AccessError(self.message())

    to_dask = read

    def _get_partition(self, i: int) -> Any:
        return self.read()
