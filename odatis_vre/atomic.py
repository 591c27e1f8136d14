"""Files that appear whole or not at all: one way to write them, used by every module.

A reader (the hub, a browser, another process) never sees half a file, and a failure leaves the
previous version in place. Secrets created on first use are owner-only from their first byte.

>>> import tempfile
>>> from pathlib import Path
>>> p = write_bytes(Path(tempfile.mkdtemp()) / "a.txt", b"hello")
>>> p.read_bytes()
b'hello'
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str], *, mode: int | None = None, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    For writers that want a file name (``to_netcdf``, ``tarfile``, ``hv.save``). ``mode`` sets the
    permissions (a temporary file is private to its owner until then); ``suffix`` is for writers
    that choose the format from the name. Without ``mode``, a file that is replaced keeps its
    permissions (a config the services read stays readable to them).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(path.stat().st_mode)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk first unless ``fsync=False``); return the path."""
    path = Path(path)
    with replacing(path, mode=mode) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    return path


def write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None, fsync: bool = True) -> Path:
    """:func:`write_bytes` for UTF-8 text."""
    return write_bytes(path, text.encode("utf-8"), mode=mode, fsync=fsync)


def secret(path: str | os.PathLike[str], make: Callable[[], str]) -> str:
    """The secret kept in ``path``, created with ``make()`` on first use, readable by its owner only."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def open_log(path: str | os.PathLike[str]) -> int:
    """A file descriptor appending to the log ``path``, readable by its owner only.

    Servers inherit the hub's output: a log readable by others could be reopened by any user
    through ``/proc/self/fd/1``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return fd
