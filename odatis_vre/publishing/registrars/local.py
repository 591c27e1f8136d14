"""The ``local`` registrar (embedded default): DOIs ``<prefix>/odatis.<suffix from key>``, not registered anywhere
(citations say so)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import (
    Any,
)

from .. import metadata as _md
from .base import (
    RegistrarError,
    _check_key,
    _check_prefix,
    _JSONState,
    _validated,
    suffix_for,
)

# ----------------------------------------------------------------------------- local


class LocalRegistrar:
    """Identifiers under a test prefix, kept in ``state_dir/local-dois.json``: NOT registered anywhere.

    The suffix is derived from the key, so reserve is idempotent without any state; the state file
    records draft/published for the landing pages and ``fsck``.
    """

    name = "local"
    registered = False

    def __init__(self, prefix: str, state_dir: Path | None = None):
        self.prefix = _check_prefix(prefix)
        self.state = _JSONState(Path(state_dir) / "local-dois.json" if state_dir else None)
        _md.mark_unregistered_prefix(self.prefix)

    def doi_for(self, key: str) -> str:
        """The DOI that ``reserve(key, ...)`` gives (known in advance for this registrar)."""
        return f"{self.prefix}/{suffix_for(_check_key(key), self.prefix)}"

    def reserve(self, key: str, attributes: Mapping[str, Any], *, previous_key: str | None = None) -> str:
        _validated(attributes, drop_doi=True)
        doi = self.doi_for(key)

        def add(data: dict[str, Any]) -> None:
            data.setdefault(doi, {"key": key, "state": "draft", "reserved": time.time()})

        self.state.update(add)
        return doi

    def publish(self, key: str, doi: str, attributes: Mapping[str, Any], url: str, files: Sequence[Path] = ()) -> str:
        if doi.lower() != self.doi_for(key).lower():
            raise RegistrarError(
                f"publish: DOI {doi} was not reserved for key {key!r} (expected {self.doi_for(key)})", retryable=False
            )
        _validated({**attributes, "doi": doi, "url": url})

        def pub(data: dict[str, Any]) -> None:
            rec = data.setdefault(doi, {"key": key, "reserved": time.time()})
            if rec.get("state") != "published":
                rec.update(state="published", url=url, published=time.time())

        self.state.update(pub)
        return doi

    def status(self, doi: str) -> str | None:
        """``draft``, ``published`` or None (unknown DOI)."""
        return (self.state.load().get(doi) or {}).get("state")

    def concept_doi(self, key: str) -> str:
        return self.doi_for(key)

    def publish_concept(self, key: str, attributes: Mapping[str, Any], url: str, version_key: str) -> str:
        doi = self.doi_for(key)
        attrs = _validated({**attributes, "doi": doi, "url": url})
        versions = [
            r["relatedIdentifier"] for r in attrs.get("relatedIdentifiers") or [] if r["relationType"] == "HasVersion"
        ]

        def pub(data: dict[str, Any]) -> None:
            rec = data.setdefault(doi, {"key": key, "reserved": time.time()})
            rec.update(state="published", url=url, versions=versions, updated=time.time())

        self.state.update(pub)
        return doi
