"""How an error reaches a user: one message that names the input, says what is wrong and what to do.

Every exception class defined in this package (``CatalogError``, ``RepositoryError``,
``ConfigError``, ``QuotaExceeded``, ...) is raised *for the user*: its message is written to be
read as is. Errors of the system (a file that cannot be read, a service that does not answer)
are turned into such a message by :func:`user_message`. Anything else is a bug of odatis-vre:
the command line says so, without a traceback, unless ``--debug`` is given.

>>> user_message(FileNotFoundError(2, "No such file or directory", "meta.yaml"))
'meta.yaml: no such file or folder; check the path (relative paths start from the current folder)'
>>> user_message(KeyError("x")) is None
True
"""

from __future__ import annotations

import errno
import os
from typing import Any

#: exit status of the command line for a bug of odatis-vre (BSD's EX_SOFTWARE), distinct from the
#: 1 of a refused input and the 2 of a wrong command line
INTERNAL_EXIT = 70

_OS_HINTS = {
    errno.ENOENT: "no such file or folder; check the path (relative paths start from the current folder)",
    errno.EACCES: "permission denied; use a file or folder you may read and write, or ask its owner",
    errno.EPERM: "operation not permitted; use a file or folder of your own",
    errno.EISDIR: "is a folder; give the path of a file",
    errno.ENOTDIR: "a part of this path is a file, not a folder; give a folder",
    errno.ENOSPC: "no space left on the device; free some space (or choose another folder) and try again",
    errno.EROFS: "the file system is read-only; choose a writable folder",
    errno.EEXIST: "exists already; choose another name or remove it first",
}


def is_user_error(exc: BaseException) -> bool:
    """True for the package's own exceptions, whose messages are written for users.

    >>> from odatis_vre.catalog import CatalogError
    >>> is_user_error(CatalogError("no entry named 'x'")), is_user_error(TypeError("bug"))
    (True, False)
    """
    return type(exc).__module__.split(".")[0] == "odatis_vre"


def _os_message(exc: OSError) -> str:
    if exc.errno is None and exc.args:  # raised with a message of ours: it is the whole text
        return str(exc)
    hint = _OS_HINTS.get(exc.errno or -1) or (exc.strerror or str(exc)).rstrip(".").lower()
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    return f"{os.fsdecode(where)}: {hint}" if where else hint[:1].upper() + hint[1:]


def _http_message(exc: Any) -> str | None:
    try:
        import requests
    except ImportError:  # pragma: no cover - requests is a dependency
        return None
    if isinstance(exc, requests.ConnectionError):
        url = getattr(getattr(exc, "request", None), "url", None) or "the server"
        return (
            f"{url} does not answer: is the VRE running (`odatis-vre status`), and is the address right "
            f"(--hub-url, --repository-url)?"
        )
    if isinstance(exc, requests.Timeout):
        url = getattr(getattr(exc, "request", None), "url", None) or "the server"
        return f"{url} did not answer in time: the machine may be busy; try again in a minute"
    return None


def user_message(exc: BaseException) -> str | None:
    """The message to show for ``exc``, or ``None`` when it is a bug (show :func:`internal_message`)."""
    if is_user_error(exc):
        return str(exc)
    if isinstance(exc, OSError) and not _is_network(exc):
        return _os_message(exc)
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"cannot read the text: byte {exc.object[exc.start : exc.start + 1]!r} at position {exc.start} is "
            f"not {exc.encoding}; save the file as UTF-8"
        )
    return _http_message(exc)


def _is_network(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("requests", "urllib3")


def internal_message(exc: BaseException) -> str:
    """What the command line says for a bug: the error in one line, and how to see and report it."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (
        f"internal error ({type(exc).__name__}{': ' + text[:300] if text else ''}). This is a bug in odatis-vre, "
        f"not in your input: rerun the command with --debug (odatis-vre --debug ...) to see the traceback, "
        f"and report it with the command you ran."
    )
