"""What every driver shares: access errors, requests, downloads into the user's cache (pooch)."""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ..cache import cache_dir

TIMEOUT = 60


class AccessError(RuntimeError):
    """A data service could not be reached or refused the request; the message says what to do."""


def _fetch(url: str, what: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:  # noqa: S310 (http/https only, checked below)
            return resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()[:300].decode("utf-8", "replace")
        raise AccessError(f"{what}: {url} answered HTTP {exc.code}: {body.strip()}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise AccessError(
            f"{what}: cannot reach {url} ({getattr(exc, 'reason', exc)}); check the network, "
            f"or set $ODATIS_VRE_MIRROR to a local copy"
        ) from None


# ----------------------------------------------------------------------------- downloads

_DIGESTS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


def _checksum_spec(checksum: str | None) -> str | None:
    """pooch's ``known_hash`` (``"sha256:ab12..."``) from that form or a bare hex digest (algorithm from its length).

    >>> _checksum_spec("AB" * 32)[:10], _checksum_spec("not a checksum")
    ('sha256:aba', None)
    """
    if not checksum:
        return None
    algo, _, digest = str(checksum).strip().lower().rpartition(":")
    digest = digest.strip()
    algo = algo.strip() or _DIGESTS.get(len(digest), "")
    if algo not in hashlib.algorithms_available or not re.fullmatch(r"[0-9a-f]+", digest):
        return None  # a checksum we cannot interpret is not a reason to refuse the file
    return f"{algo}:{digest}"


def cache_root() -> Path:
    """Where downloaded files are kept: ``$ODATIS_VRE_CACHE_DIR/downloads`` (default ``~/.cache/odatis-vre``)."""
    return cache_dir() / "downloads"


def _cached(dest: Path, size: int | None, spec: str | None) -> bool:
    """Whether ``dest`` already holds the expected file (size, then checksum when one is known)."""
    import pooch

    if not dest.is_file() or (size is not None and dest.stat().st_size != int(size)):
        return False
    return spec is None or pooch.file_hash(str(dest), alg=spec.split(":")[0]) == spec.split(":")[1]


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    size: int | None = None,
    checksum: str | None = None,
    progress: bool = True,
    what: str = "download",
) -> Path:
    """Download ``url`` to ``dest`` once with :mod:`pooch`: atomic, length and checksum checked.

    A file already at ``dest`` with the expected size (and checksum, when given) is reused; one that
    does not match is downloaded again. pooch writes into a temporary file beside ``dest`` and moves it
    into place only once its hash matched, so on any failure nothing is left at ``dest`` (nor a partial
    file) and :class:`AccessError` says what happened. ``checksum`` is ``"sha256:<hex>"`` or a bare hex
    digest. The progress bar is tqdm's (a widget in a notebook).

    >>> download("http://127.0.0.1:9/x.nc", "/tmp/odatis-doc-x.nc", progress=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    odatis_vre.data.drivers.base.AccessError: download: cannot reach http://127.0.0.1:9/x.nc (...); ...
    """
    import pooch
    import requests
    from tqdm.auto import tqdm

    dest = Path(dest)
    spec = _checksum_spec(checksum)
    if _cached(dest, size, spec):
        return dest
    dest.unlink(missing_ok=True)  # a damaged or stale copy: pooch would otherwise keep a file without a hash
    dest.parent.mkdir(parents=True, exist_ok=True)
    bar = (
        tqdm(
            total=int(size) if size is not None else None,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=dest.name,
            leave=False,
        )
        if progress
        else False
    )
    downloader = pooch.HTTPDownloader(progressbar=bar, timeout=TIMEOUT)
    try:
        pooch.retrieve(
            url, known_hash=spec, fname=dest.name, path=dest.parent, downloader=downloader, progressbar=False
        )
    except requests.HTTPError as exc:
        body = exc.response.text[:300] if exc.response is not None else ""
        code = exc.response.status_code if exc.response is not None else "?"
        raise AccessError(f"{what}: {url} answered HTTP {code}: {body.strip()}") from None
    except requests.exceptions.ChunkedEncodingError:
        raise AccessError(
            f"{what}: the download of {url} was interrupted (the connection closed early); nothing was kept, "
            f"run the load again"
        ) from None
    except ValueError as exc:  # pooch: the downloaded file's hash differs from known_hash
        if "hash" not in str(exc).lower():
            raise
        raise AccessError(
            f"{what}: {url} does not match its {spec.split(':')[0] if spec else ''} checksum "
            f"(expected {spec.split(':')[1] if spec else '?'}); the file was discarded, "
            f"run the load again"
        ) from None
    except (requests.ConnectionError, requests.Timeout, OSError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise AccessError(
            f"{what}: cannot reach {url} ({reason}); check the network, or set $ODATIS_VRE_MIRROR to a local copy"
        ) from None
    finally:
        if bar is not False:
            bar.close()
    if size is not None and dest.stat().st_size != int(size):
        got = dest.stat().st_size
        dest.unlink(missing_ok=True)
        raise AccessError(f"{what}: {url} has {got} bytes but its record says {size}; nothing was kept")
    return dest


def _utc_column(df: Any, column: str | None) -> Any:
    """Parse ``column`` (if present) as UTC datetimes, in place; returns ``df``."""
    import pandas as pd

    if column and column in df.columns:
        df[column] = pd.to_datetime(df[column], utc=True, errors="coerce")
    return df
