"""The CSW client of the harvest: OWSLib's ``CatalogueServiceWeb`` keeping every record element as sent, OGC
filters from the configured constraints, and the socket timeout OWSLib's POST does not pass on.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Sequence
from typing import Any

from ... import __version__ as _version
from .records import GMD, ISO_TAGS, MDB

USER_AGENT = f"odatis-vre/{_version} (catalogue harvester; +https://www.odatis-ocean.fr)"
CSW_NS = "http://www.opengis.net/cat/csw/2.0.2"
#: The record schemas a harvest can ask for: CSW ``outputSchema`` and ``typeNames`` of each.
SCHEMAS = {"iso19139": (GMD, "gmd:MD_Metadata"), "iso19115-3": (MDB, "mdb:MD_Metadata")}


class HarvestError(RuntimeError):
    """A harvest could not finish; the message says what happened and what to do (the previous catalogue stays)."""


def constraints(filters: Sequence[dict[str, str]] | None = None, since: str | None = None) -> list[Any]:
    """OWSLib filter expressions (ANDed) from ``[{"property": P, "equals"|"like": V}, ...]`` and a ``since`` date.

    >>> [type(c).__name__ for c in constraints([{"property": "AnyText", "like": "%ODATIS%"}], "2025-01-01")[0].operations]
    ['PropertyIsLike', 'PropertyIsGreaterThanOrEqualTo']
    """
    from owslib import fes

    exprs: list[Any] = []
    for f in filters or []:
        prop = f.get("property")
        if not prop or not ({"equals", "like"} & set(f)):
            raise HarvestError(
                f"harvest filter {f!r}: give a property and `equals` or `like`, e.g. "
                "{property: AnyText, like: '%ODATIS%'} (docs/catalogue.md)"
            )
        exprs.append(
            fes.PropertyIsEqualTo(prop, str(f["equals"]))
            if "equals" in f
            else fes.PropertyIsLike(prop, str(f["like"]), wildCard="%", matchCase=False)
        )
    if since:
        exprs.append(fes.PropertyIsGreaterThanOrEqualTo("Modified", since))
    if not exprs:
        return []
    return [exprs[0]] if len(exprs) == 1 else [fes.And(exprs)]


@contextlib.contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    # OWSLib's POST does not pass its timeout to requests; urllib3 then falls back to the socket default
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def client(endpoint: str, timeout: float) -> Any:
    from owslib.catalogue.csw2 import CatalogueServiceWeb  # owslib.csw.CatalogueServiceWeb is a factory function

    class _RawRecords(CatalogueServiceWeb):  # type: ignore[misc]
        """Keeps every record element as sent (duplicates too): each is mapped alone, so one bad record is
        reported instead of failing its whole page, as OWSLib's own record parsing would."""

        def _parserecords(self, outputschema: str, esn: str) -> None:
            self.raw_records = [e for tag in ISO_TAGS for e in self._exml.iter(tag)]
            # brief Dublin Core records (the identifiers still upstream, see _upstream_identifiers)
            self.identifiers = [
                (e.text or "").strip() for e in self._exml.iter("{http://purl.org/dc/elements/1.1/}identifier")
            ]

    return _RawRecords(endpoint, version="2.0.2", timeout=timeout, skip_caps=True, headers={"User-Agent": USER_AGENT})
