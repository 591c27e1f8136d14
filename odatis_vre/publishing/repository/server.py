"""The repository service: ``python -m odatis_vre repository serve --port P`` (a JupyterHub service).

Users are identified by the hub: browsers through OAuth (``HubOAuth``), programs through a hub
API token (``Authorization: token ...``). Writes need a token (never a cookie alone, so a web
page cannot forge them). Every URL lives under ``$JUPYTERHUB_SERVICE_PREFIX``
(``/services/repository/``):

=====================================================  ==========================================
``GET  api/published``                                 published versions (public)
``GET|POST api/deposits``                              my deposits / create one (JSON metadata, key)
``GET|PUT|DELETE api/deposits/<id>/v<n>``              a version / its metadata / drop a draft
``POST api/deposits/<id>/versions``                    a new draft version of a published dataset
``PUT  api/deposits/<id>/share``                       groups that may see the drafts
``POST api/deposits/<id>/v<n>/files``                  announce a file: name, size, sha256
``GET|PUT|DELETE api/deposits/<id>/v<n>/files/<f>``    resume offset / a chunk (Content-Range) / drop
``POST api/deposits/<id>/v<n>/publish``                register the DOI, publish (idempotent)
``GET  datasets/<id>/v<n>/``                           landing page (citation, BibTeX, JSON-LD...)
``GET  datasets/<id>/v<n>/files/<f>``                  download (HTTP Range); a large published file:
                                                       a redirect to a signed link (``direct/...``)
``GET  direct/<id>/v<n>/<f>?expires=..&sig=..``        a signed, expiring link to a published file
``GET  datasets/<id>/v<n>/zarr/...``, ``.../opendap``  Zarr v3 and OPeNDAP (xpublish)
``GET  catalog.yaml``                                  intake catalogue of every published version
=====================================================  ==========================================

The routes are in :func:`make_app`; the handlers by group in :mod:`~odatis_vre.publishing.repository.api`
(the JSON API) and :mod:`~odatis_vre.publishing.repository.web` (pages, downloads, dissemination, harvesting),
on the base and state of :mod:`~odatis_vre.publishing.repository.service`.

Drafts are visible to their owner (and the groups the owner shares them with) only; to anyone
else a draft does not exist (404), whether asked through the API or the landing page.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from tornado import ioloop, web

from .api import (
    DepositAPI,
    DepositsAPI,
    FileAPI,
    FilesAPI,
    PublishAPI,
    PublishedAPI,
    ShareAPI,
    VersionAPI,
    VersionsAPI,
)
from .service import (
    ID,
    VER,
    Base,
    HubOAuthCallbackHandler,
    Repository,
    Settings,
    direct_url,
    log,
)
from .store import NotFound, Store
from .web import (
    OAIPMH,
    CatalogFragment,
    ConceptPage,
    Dissemination,
    Download,
    Health,
    HomePage,
    LandingExport,
    LandingPage,
    LoginPage,
    SignedDownload,
    StacCatalog,
)


def make_app(settings: Settings, store: Store | None = None) -> web.Application:
    """The tornado application of the service (routes under ``settings.prefix``)."""
    repo = Repository(settings, store)
    if settings.oauth_redirect_uri:
        from jupyterhub.services.auth import HubOAuth

        HubOAuth.instance().oauth_redirect_uri = settings.oauth_redirect_uri
    p = re.escape(settings.prefix)
    kw = {"repo": repo}
    routes = [
        (p + r"?", HomePage, kw),
        (p + r"login", LoginPage, kw),
        (p + r"oauth_callback", HubOAuthCallbackHandler),
        (p + r"health", Health, kw),
        (p + r"catalog\.yaml", CatalogFragment, kw),
        (p + r"api/published", PublishedAPI, kw),
        (p + r"api/deposits", DepositsAPI, kw),
        (p + rf"api/deposits/{ID}", DepositAPI, kw),
        (p + rf"api/deposits/{ID}/versions", VersionsAPI, kw),
        (p + rf"api/deposits/{ID}/share", ShareAPI, kw),
        (p + rf"api/deposits/{ID}/{VER}", VersionAPI, kw),
        (p + rf"api/deposits/{ID}/{VER}/files", FilesAPI, kw),
        (p + rf"api/deposits/{ID}/{VER}/files/([^/]+)", FileAPI, kw),
        (p + rf"api/deposits/{ID}/{VER}/publish", PublishAPI, kw),
        (p + rf"datasets/{ID}/?", ConceptPage, kw),
        (p + r"oai", OAIPMH, kw),
        (p + r"stac/catalog\.json", StacCatalog, kw),
        (p + rf"datasets/{ID}/{VER}/", LandingPage, kw),
        (
            p
            + rf"datasets/{ID}/{VER}/(datacite\.json|datacite\.xml|citation\.txt|citation\.bib|schema\.jsonld|stac\.json|preview\.png)",
            LandingExport,
            kw,
        ),
        (p + rf"datasets/{ID}/{VER}/files/([^/]+)", Download, kw),
        (p + rf"direct/{ID}/{VER}/([^/]+)", SignedDownload, kw),
        (p + rf"datasets/{ID}/{VER}/(zarr|opendap)(.*)", Dissemination, kw),
    ]
    return web.Application(
        routes,
        cookie_secret=os.urandom(32),
        xsrf_cookies=False,
        default_handler_class=NotFoundHandler,
        default_handler_args=kw,
        repo=repo,
    )


class NotFoundHandler(Base):
    async def prepare(self) -> None:
        await super().prepare()
        raise NotFound("not found")


def serve(port: int, settings: Settings, address: str = "127.0.0.1") -> None:
    """Run the service until interrupted (SIGTERM/SIGINT stop it cleanly)."""
    import signal

    from tornado.httpserver import HTTPServer

    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s repository] %(message)s")
    app = make_app(settings)
    # bodies are streamed into files (FileAPI sets its own bound per chunk); others stay small
    server = HTTPServer(app, max_body_size=16 * 1024 * 1024, max_buffer_size=64 * 1024 * 1024, xheaders=True)
    server.listen(port, address)
    log.info(
        "repository at %s%s (storage %s, registrar %s, prefix %s)",
        settings.public_url,
        settings.prefix,
        settings.storage,
        settings.registrar,
        settings.doi_prefix,
    )
    loop = ioloop.IOLoop.current()

    def stop(*_: Any) -> None:
        loop.add_callback_from_signal(loop.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    loop.start()


__all__ = ["Repository", "Settings", "direct_url", "make_app", "serve"]
