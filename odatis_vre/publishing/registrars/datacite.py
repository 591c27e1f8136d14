"""The ``datacite`` registrar: DataCite's REST API (draft DOI, then ``event: publish``; concept DOIs with
``HasVersion``)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import (
    Any,
)

from .base import (
    _HTTP,
    DATACITE_URL,
    RegistrarError,
    _check_key,
    _check_prefix,
    _error_detail,
    _validated,
    suffix_for,
)

# ----------------------------------------------------------------------------- DataCite


class DataCiteRegistrar:
    """DataCite REST API: a draft DOI at reserve, ``event: publish`` (findable) at publish.

    The suffix is chosen by us from the key (``odatis.xxxx-xxxx-xxxx``), so a retry after a lost
    answer looks the DOI up (``GET /dois/{doi}``) instead of creating another one.
    """

    name = "datacite"
    registered = True

    def __init__(
        self,
        prefix: str,
        *,
        repository_id: str,
        password: str,
        base_url: str = DATACITE_URL,
        timeout: float = 30,
        retries: int = 2,
        backoff: float = 0.5,
    ):
        self.prefix = _check_prefix(prefix)
        auth = base64.b64encode(f"{repository_id}:{password}".encode()).decode()
        self.http = _HTTP(
            "DataCite",
            base_url,
            {
                "Authorization": f"Basic {auth}",
                "Content-Type": "application/vnd.api+json",
                "Accept": "application/vnd.api+json",
            },
            timeout,
            retries,
            backoff,
            f"check DATACITE_REPOSITORY_ID / DATACITE_PASSWORD and that the repository owns prefix {self.prefix}",
        )

    def doi_for(self, key: str) -> str:
        return f"{self.prefix}/{suffix_for(_check_key(key), self.prefix)}"

    def _get(self, doi: str) -> dict[str, Any] | None:
        r = self.http.call("GET", f"/dois/{doi}", ok=(200, 404))
        return None if r.status_code == 404 else r.json()["data"]["attributes"]

    def reserve(self, key: str, attributes: Mapping[str, Any], *, previous_key: str | None = None) -> str:
        attrs = _validated(attributes, drop_doi=True)
        attrs.pop("url", None)  # a draft has no landing page yet
        doi = self.doi_for(key)

        def once() -> str:
            if self._get(doi) is not None:
                return doi
            body = {"data": {"type": "dois", "attributes": {**attrs, "doi": doi}}}
            r = self.http.call("POST", "/dois", json=body, ok=(201, 200, 422))
            if r.status_code == 422:
                # someone (our own lost first attempt) created it in between: fine if it is there now
                if "taken" in _error_detail(r).lower() and self._get(doi) is not None:
                    return doi
                raise RegistrarError(
                    f"DataCite refused the draft DOI {doi}: {_error_detail(r)}", retryable=False, status=422
                )
            return doi

        return self.http.with_retries(once)

    def publish(self, key: str, doi: str, attributes: Mapping[str, Any], url: str, files: Sequence[Path] = ()) -> str:
        if doi.lower() != self.doi_for(key).lower():
            raise RegistrarError(
                f"publish: DOI {doi} was not reserved for key {key!r} (expected {self.doi_for(key)})", retryable=False
            )
        attrs = _validated({**attributes, "doi": doi, "url": url})

        def once() -> str:
            current = self._get(doi)
            if current is not None and current.get("state") == "findable":
                return doi
            body = {"data": {"type": "dois", "attributes": {**attrs, "event": "publish"}}}
            self.http.call("PUT", f"/dois/{doi}", json=body, ok=(200, 201))
            return doi

        return self.http.with_retries(once)

    def concept_doi(self, key: str) -> str:
        return self.doi_for(key)

    def publish_concept(self, key: str, attributes: Mapping[str, Any], url: str, version_key: str) -> str:
        """Create the concept DOI findable at once, or update its record (``PUT``) with the new version list."""
        doi = self.doi_for(key)
        attrs = _validated({**attributes, "doi": doi, "url": url})

        def once() -> str:
            current = self._get(doi)
            body = {"data": {"type": "dois", "attributes": {**attrs, "event": "publish"}}}
            if current is None:
                r = self.http.call("POST", "/dois", json=body, ok=(201, 200, 422))
                if r.status_code != 422:
                    return doi
                if "taken" not in _error_detail(r).lower():  # else: our own lost first attempt, update it below
                    raise RegistrarError(
                        f"DataCite refused the concept DOI {doi}: {_error_detail(r)}", retryable=False, status=422
                    )
            self.http.call("PUT", f"/dois/{doi}", json=body, ok=(200, 201))
            return doi

        return self.http.with_retries(once)

    def status(self, doi: str) -> str | None:
        """DataCite's state of ``doi``: ``draft``, ``registered``, ``findable`` or None."""
        attrs = self._get(doi)
        return None if attrs is None else attrs.get("state")
