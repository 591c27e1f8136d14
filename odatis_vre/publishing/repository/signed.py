"""Signed, expiring download links: large published files served on the repository's own port.

Through the hub, every byte of a download crosses the hub's proxy (configurable-http-proxy, one Node
process): a 1 GB file arrives at a third of the speed the service sends it directly
(``docs/benchmarks.md``). A download of a published file larger than ``direct_downloads.min_size``
is therefore answered with a redirect to a link on the service's own address, valid for
``direct_downloads.ttl`` seconds and signed with a key that only the service holds (HMAC-SHA256 of
the dataset, version, file name, the file's SHA-256 and the expiry time). The link serves that one
file of that one *published* version: a draft is never served by a link, whatever its signature.

>>> key = b"k" * 32
>>> link = DownloadLink("abcdefghij", 1, "sst.nc", "00" * 32, expires=2_000_000_000)
>>> link.query(key)   # doctest: +ELLIPSIS
'expires=2000000000&sig=...'
>>> link.check(key, link.signature(key), now=1_999_999_999.0)   # no exception: valid
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from .store import RepositoryError

#: where the service keeps its signing key (inside its storage folder, readable by its account only)
KEY_FILE = "download-signing-key"


class LinkRefused(RepositoryError):
    """A signed link that is expired, altered or malformed (HTTP 403; the message says what to do)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=403)


def signing_key(storage: Path) -> bytes:
    """The service's signing key, made on first use (kept across restarts so that links given out stay valid).

    >>> import tempfile; len(signing_key(Path(tempfile.mkdtemp())))
    32
    """
    from ... import atomic

    return bytes.fromhex(atomic.secret(storage / KEY_FILE, lambda: secrets.token_hex(32)))


@dataclass(frozen=True)
class DownloadLink:
    """One file of one published version, until ``expires`` (Unix time, seconds)."""

    ds_id: str
    version: int
    name: str
    sha256: str
    expires: int

    @classmethod
    def new(cls, ds_id: str, version: int, name: str, sha256: str, ttl: int, now: float | None = None) -> DownloadLink:
        """A link valid ``ttl`` seconds from now."""
        return cls(ds_id, int(version), name, sha256, int((time.time() if now is None else now) + ttl))

    def signature(self, key: bytes) -> str:
        """HMAC-SHA256 (hex) of every field: changing any of them, or the file's content, voids the link."""
        msg = f"{self.ds_id}\n{self.version}\n{self.name}\n{self.sha256}\n{self.expires}".encode()
        return hmac.new(key, msg, hashlib.sha256).hexdigest()

    def query(self, key: bytes) -> str:
        """The link's query string (``expires=...&sig=...``)."""
        return urlencode({"expires": self.expires, "sig": self.signature(key)})

    def check(self, key: bytes, sig: str, now: float | None = None) -> None:
        """Raise :class:`LinkRefused` unless ``sig`` signs this link and it has not expired."""
        if not hmac.compare_digest(self.signature(key).encode(), sig.encode()):
            raise LinkRefused(
                "this download link is not valid (altered, or made for another file); open the "
                "file's link on the dataset's landing page again"
            )
        if (time.time() if now is None else now) > self.expires:
            raise LinkRefused(
                f"this download link expired at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(self.expires))}; "
                "open the file's link on the dataset's landing page again for a new one"
            )


def parse_expires(text: str | None) -> int:
    """The ``expires`` query argument as an integer; :class:`LinkRefused` when it is missing or not one.

    >>> parse_expires("1700000000")
    1700000000
    """
    if not text or not text.isdigit() or len(text) > 12:
        raise LinkRefused(
            "this download link has no valid `expires` argument; open the file's link on the "
            "dataset's landing page again"
        )
    return int(text)


__all__ = ["DownloadLink", "KEY_FILE", "LinkRefused", "parse_expires", "signing_key"]
