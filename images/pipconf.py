"""The host's pip configuration for pip inside an image build: ``python images/pipconf.py OUT``.

Writes to ``OUT`` one ``pip.conf`` with the settings pip uses here (``pip config list``: the global,
user and site files and the ``PIP_*`` variables, later ones winning as in pip) and prints, one a line,
``HOST_PATH:BUILD_PATH`` for each local path those settings name that exists (certificate bundle,
``find-links`` folders, ``file://`` indexes, constraint files): ``images/build.sh`` mounts each read-only
under ``/host-pip/`` in the build, where the written ``pip.conf`` points (never over the image's own
files: the host's CA bundle mounted at its own place would stop Debian's ca-certificates from installing).
A machine behind a TLS-intercepting proxy, or with a local package mirror, builds the same way
as it installs.

Example
-------
>>> settings = parse(["global.cert='/etc/ssl/certs/ca.crt'", ":env:.default-timeout='180'"])
>>> settings["global"]
{'cert': '/etc/ssl/certs/ca.crt', 'default-timeout': '180'}
>>> local_paths({"global": {"extra-index-url": "file:///nowhere https://pypi.org/simple"}})
[]
>>> relocate({"global": {"cert": "/etc/ca.crt", "index-url": "file:///srv/simple"}}, ["/etc/ca.crt", "/srv"])
{'global': {'cert': '/host-pip/etc/ca.crt', 'index-url': 'file:///host-pip/srv/simple'}}
"""

from __future__ import annotations

import configparser
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

#: where the host's files are mounted inside a build
PREFIX = "/host-pip"
LINE = re.compile(r"^(?P<section>[^.]*)\.(?P<key>[^=]+)=(?P<value>.*)$")


def parse(lines: list[str]) -> dict[str, dict[str, str]]:
    """``{section: {key: value}}`` from ``pip config list`` lines (``:env:`` settings go to ``global``)."""
    out: dict[str, dict[str, str]] = {}
    for line in lines:
        m = LINE.match(line.strip())
        if not m:
            continue
        section = m["section"]
        section = "global" if section in (":env:", "") else section
        value = m["value"]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out.setdefault(section, {})[m["key"]] = value
    return out


def local_paths(settings: dict[str, dict[str, str]]) -> list[str]:
    """Existing absolute paths named by the settings, sorted: plain paths, and for a ``file://`` index the
    folder above it (a local index links to its files with relative URLs, e.g. ``../files/``)."""
    found: set[str] = set()
    for values in settings.values():
        for value in values.values():
            for token in value.split():
                path = os.path.dirname(urlparse(token).path.rstrip("/")) if token.startswith("file://") else token
                if os.path.isabs(path) and os.path.exists(path) and path != "/":
                    found.add(os.path.normpath(path))
    return sorted(found)


def relocate(settings: dict[str, dict[str, str]], paths: list[str]) -> dict[str, dict[str, str]]:
    """``settings`` with every path inside one of ``paths`` (plain or in a ``file://`` URL) moved under :data:`PREFIX`."""

    def move(token: str) -> str:
        url = token.startswith("file://")
        path = urlparse(token).path if url else token
        norm = os.path.normpath(path) if os.path.isabs(path) else ""
        if any(norm == root or norm.startswith(root + "/") for root in paths):
            return ("file://" if url else "") + PREFIX + norm
        return token

    return {
        section: {k: " ".join(move(t) for t in v.split()) for k, v in values.items()}
        for section, values in settings.items()
    }


def render(settings: dict[str, dict[str, str]]) -> str:
    """The ``pip.conf`` text of ``settings``."""
    parser = configparser.ConfigParser(interpolation=None)
    for section, values in sorted(settings.items()):
        parser[section] = values
    buf = io.StringIO()
    parser.write(buf)
    return buf.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.exit("usage: python images/pipconf.py OUT (writes OUT, prints HOST_PATH:BUILD_PATH to mount)")
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    settings = parse(listed)
    paths = local_paths(settings)
    Path(argv[0]).write_text(render(relocate(settings, paths)))
    for path in paths:
        print(f"{path}:{PREFIX}{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
