"""Runs last (file name): every file published during the session still has its published checksum.

The repository stacks of the session (tests/test_repository.py, tests/test_publish_notebook.py)
record their configuration in ``test_repository.STACKS``; their storage outlives the stacks.
"""

from __future__ import annotations

import pytest

from odatis_vre import config
from odatis_vre.publishing.repository.server import Settings
from odatis_vre.publishing.repository.store import Store


def test_published_files_never_changed() -> None:
    import test_repository

    if not test_repository.STACKS:
        pytest.skip("no repository was started in this session (run with tests/test_repository.py)")
    checked = 0
    for path in test_repository.STACKS:
        s = Settings.from_config(config.load(path))
        store = Store(s.storage, s.db_url)
        published = store.list_versions(state="published")
        assert store.fsck() == [], f"fixity problems in {s.storage}"
        checked += sum(len(v["files"]) for v in published)
    assert checked > 0, "the session published nothing to re-verify"
