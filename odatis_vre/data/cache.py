"""Where the VRE keeps what it can download or compute again: ``$ODATIS_VRE_CACHE_DIR``, else ``~/.cache/odatis-vre``.

The catalogue's index, downloaded files (:mod:`odatis_vre.data.drivers`) and time-optimised copies of data in
read-only folders (:mod:`odatis_vre.data.timecopy`) live below it.

>>> import os; os.environ["ODATIS_VRE_CACHE_DIR"] = "/tmp/odatis-cache"
>>> cache_dir()
PosixPath('/tmp/odatis-cache')
>>> del os.environ["ODATIS_VRE_CACHE_DIR"]
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE = "ODATIS_VRE_CACHE_DIR"


def cache_dir() -> Path:
    """The user's cache folder for odatis-vre (not created here)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "odatis-vre"
