"""Banking and citing datasets: metadata, conventions, DOIs and the repository service.

* what a deposit must carry: :mod:`~odatis_vre.publishing.metadata` (the researcher's metadata, checked),
  :mod:`~odatis_vre.publishing.datafacts` (facts computed from the data), :mod:`~odatis_vre.publishing.conventions`
  (CF/ACDD checks);
* how it is cited: :mod:`~odatis_vre.publishing.datacite_record` (DataCite attributes, XML, validation),
  :mod:`~odatis_vre.publishing.citations` (citation text, BibTeX, schema.org);
* who mints the DOI: :mod:`odatis_vre.publishing.registrars` (``local``, ``datacite``, ``zenodo``: one module each);
* where it lives: :mod:`odatis_vre.publishing.repository` (store, service, client, landing pages, dissemination).

The one call most users need is :func:`odatis_vre.publish.deposit`.
"""
