"""DOI registrars, pluggable: ``local`` (embedded default), ``datacite`` (REST API), ``zenodo`` (Zenodo's
InvenioRDM records API).

Every registrar does these things, all **idempotent per key** (the caller's deposit key, e.g.
``"<dataset id>/v2"``), so that a deposit interrupted at any step can simply be retried:

- ``reserve(key, attributes, previous_key=None) -> doi``: a draft DOI. Calling it again with the same key
  returns the same DOI and never creates a second one, even when the first call's answer was lost.
  ``previous_key`` names the published version this one follows (Zenodo makes a new version of its record).
- ``publish(key, doi, attributes, url, files) -> doi``: makes the DOI findable (DataCite) or
  publishes the record with its files (Zenodo). Publishing an already published DOI is a no-op.
- ``concept_doi(key)`` / ``publish_concept(key, attributes, url, version_key) -> doi``: the DOI over every
  version (DataCite: registered by us with ``HasVersion``; Zenodo: its parent record's, read back).

Attributes are DataCite REST ``attributes`` from :func:`odatis_vre.publishing.metadata.datacite_attributes`;
they are checked with :func:`odatis_vre.publishing.metadata.validate_datacite` before anything is sent.

Example
-------
>>> import tempfile
>>> from odatis_vre.publishing import metadata, registrars
>>> reg = registrars.get("local", prefix="10.5072", state_dir=Path(tempfile.mkdtemp()))
>>> md = metadata.load_metadata({"title": "T", "creators": ["Doe, Jane"], "licence": "CC-BY-4.0",
...                              "keywords": ["k"], "abstract": "A."})
>>> doi = reg.reserve("ds-1/v1", metadata.datacite_attributes(md, doi=None))
>>> doi == reg.reserve("ds-1/v1", metadata.datacite_attributes(md, doi=None)), doi.startswith("10.5072/odatis.")
(True, True)
>>> reg.registered
False

One module per registrar (:mod:`~odatis_vre.publishing.registrars.local`,
:mod:`~odatis_vre.publishing.registrars.datacite`, :mod:`~odatis_vre.publishing.registrars.zenodo`), what they
share in :mod:`~odatis_vre.publishing.registrars.base`; a new registrar is a module here, a name in
:data:`NAMES` and a branch of :func:`get`.

Failures raise :class:`RegistrarError`; ``retryable`` says whether trying again later can help
(timeouts, 5xx, dropped connections) or whether something must be fixed first (credentials,
refused metadata).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .base import (
    DATACITE_TEST_URL,
    DATACITE_URL,
    NAMES,
    ZENODO_SANDBOX_URL,
    ZENODO_URL,
    Registrar,
    RegistrarError,
    suffix_for,
)
from .datacite import DataCiteRegistrar
from .local import LocalRegistrar
from .zenodo import ZenodoRegistrar, rdm_metadata

__all__ = [
    "DATACITE_TEST_URL",
    "DATACITE_URL",
    "NAMES",
    "ZENODO_SANDBOX_URL",
    "ZENODO_URL",
    "DataCiteRegistrar",
    "LocalRegistrar",
    "Registrar",
    "RegistrarError",
    "ZenodoRegistrar",
    "get",
    "rdm_metadata",
    "suffix_for",
]


# ----------------------------------------------------------------------------- factory


def get(
    name: str,
    *,
    prefix: str,
    environ: Mapping[str, str] = os.environ,
    base_url: str | None = None,
    state_dir: Path | None = None,
    timeout: float = 30,
    retries: int = 2,
    backoff: float = 0.5,
) -> Registrar:
    """The registrar ``name`` (``local``, ``datacite`` or ``zenodo``).

    - ``local``: DOIs ``<prefix>/odatis.<suffix from key>``, not registered (citations say so).
    - ``datacite``: credentials from ``DATACITE_REPOSITORY_ID`` / ``DATACITE_PASSWORD``; ``base_url``
      (or ``DATACITE_API_URL``) defaults to https://api.datacite.org (test: https://api.test.datacite.org).
    - ``zenodo``: token from ``ZENODO_TOKEN``; ``base_url`` (or ``ZENODO_API_URL``) defaults to
      https://zenodo.org/api (sandbox: https://sandbox.zenodo.org/api); InvenioRDM's records API
      (:class:`ZenodoRegistrar`). Zenodo chooses the DOI itself (its own prefix); ``prefix`` is only
      checked for form.

    ``retries`` retryable failures are retried inside each call (``backoff`` s, doubling); the
    call raises :class:`RegistrarError` after that, and calling it again later is safe.

    >>> get("datacite", prefix="10.5072", environ={})
    Traceback (most recent call last):
    ...
    odatis_vre.publishing.registrars.base.RegistrarError: registrar 'datacite' needs the environment variables DATACITE_REPOSITORY_ID, DATACITE_PASSWORD (the repository account of your DataCite member; a Kubernetes secret in production)
    """
    if name not in NAMES:
        raise ValueError(f"registrar {name!r}: use one of {', '.join(NAMES)}")
    state = Path(state_dir) if state_dir else None
    if name == "local":
        return LocalRegistrar(prefix, state)

    def need(*names: str, why: str) -> list[str]:
        missing = [n for n in names if not environ.get(n)]
        if missing:
            raise RegistrarError(
                f"registrar {name!r} needs the environment variable{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} ({why})",
                retryable=False,
            )
        return [environ[n] for n in names]

    if name == "datacite":
        repo, pw = need(
            "DATACITE_REPOSITORY_ID",
            "DATACITE_PASSWORD",
            why="the repository account of your DataCite member; a Kubernetes secret in production",
        )
        return DataCiteRegistrar(
            prefix,
            repository_id=repo,
            password=pw,
            base_url=base_url or environ.get("DATACITE_API_URL") or DATACITE_URL,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )
    (token,) = need("ZENODO_TOKEN", why="a personal access token with scopes deposit:write and deposit:actions")
    return ZenodoRegistrar(
        prefix,
        token=token,
        base_url=base_url or environ.get("ZENODO_API_URL") or ZENODO_URL,
        state_dir=state,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
    )
