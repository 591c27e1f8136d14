"""Python client of the repository service: deposits, chunked resumable uploads, publication.

Inside a VRE server, no argument is needed (the hub's token and the repository's address come
from the environment)::

    >>> from odatis_vre.publishing.repository.client import Client
    >>> repo = Client()                                                       # doctest: +SKIP
    >>> d = repo.create({"title": "...", ...}, key="my-sst-2023")             # doctest: +SKIP
    >>> repo.upload(d["id"], d["version"], "sst.nc")                          # doctest: +SKIP
    >>> repo.publish(d["id"], d["version"])["doi"]                            # doctest: +SKIP
    '10.5072/odatis.…'

An interrupted upload resumes where the service stopped receiving (run the same call again);
``create`` with the same ``key`` returns the same deposit, so a whole deposit can be retried.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from .store import RepositoryError

DEFAULT_CHUNK = 64 * 1024 * 1024
ENV_URL = "ODATIS_VRE_REPOSITORY_URL"
ENV_TOKEN = "ODATIS_VRE_REPOSITORY_TOKEN"
K8S_URL = "http://proxy-public/services/repository/"


def default_url(environ: dict[str, str] | None = None) -> str:
    """Where the repository is: ``$ODATIS_VRE_REPOSITORY_URL``, else from the VRE configuration.

    In a local-mode server the hub's address comes from ``$ODATIS_VRE_CONFIG``; in Kubernetes
    mode the hub's proxy is ``http://proxy-public``.
    """
    env = dict(os.environ if environ is None else environ)
    if env.get(ENV_URL):
        return env[ENV_URL].rstrip("/") + "/"
    if env.get("ODATIS_VRE_MODE") == "kubernetes":
        return K8S_URL
    from ... import config

    try:
        cfg = config.load(env.get(config.ENV_CONFIG) or None)
    except config.ConfigError as exc:
        raise RepositoryError(
            f"cannot find the repository: set ${ENV_URL} (e.g. "
            f"http://127.0.0.1:8000/services/repository/) or pass repository_url= ({exc})"
        ) from None
    return f"{cfg.hub_url}/services/repository/"


def default_token(environ: dict[str, str] | None = None) -> str:
    """``$ODATIS_VRE_REPOSITORY_TOKEN``, else ``$JUPYTERHUB_API_TOKEN`` (set in every VRE server)."""
    env = dict(os.environ if environ is None else environ)
    token = env.get(ENV_TOKEN) or env.get("JUPYTERHUB_API_TOKEN")
    if not token:
        raise RepositoryError(
            "no hub API token: inside a VRE server $JUPYTERHUB_API_TOKEN is set; elsewhere create "
            f"one at <hub>/hub/token and pass token= or set ${ENV_TOKEN}",
            status=401,
        )
    return token


def sha256_file(path: str | os.PathLike[str], progress: bool = False, desc: str = "checksum") -> str:
    """SHA-256 of a file, with a progress bar for big files."""
    from tqdm.auto import tqdm

    p = Path(path)
    h = hashlib.sha256()
    size = p.stat().st_size
    with (
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            desc=f"{desc} {p.name}",
            disable=not progress or size < 2**24,
            leave=False,
        ) as bar,
        open(p, "rb", buffering=0) as fh,
    ):
        while True:
            block = fh.read(8 * 1024 * 1024)
            if not block:
                break
            h.update(block)
            bar.update(len(block))
    return h.hexdigest()


class Client:
    """Talk to the repository service at ``url`` with a hub API ``token``."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 300,
        retries: int = 8,
        backoff: float = 0.5,
    ):
        self.url = (url or default_url()).rstrip("/") + "/"
        self.token = token or default_token()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"

    def __repr__(self) -> str:
        return f"<repository Client {self.url}>"

    # -- plumbing
    def _request(
        self, method: str, path: str, *, ok: Iterable[int] = (200, 201, 204), retry: bool = True, **kw: Any
    ) -> requests.Response:
        """One call, retried on connection errors and 502/503/504 (the service restarting, a registrar hiccup)."""
        kw.setdefault("timeout", (10, self.timeout))
        attempts = self.retries if retry else 1
        last: Exception | None = None
        for i in range(attempts):
            try:
                r = self.session.request(method, self.url + path, **kw)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = exc
                time.sleep(min(self.backoff * 2**i, 10))
                continue
            if r.status_code in ok:
                return r
            err = _error(r)
            if r.status_code in (502, 503, 504) and (err.retryable or r.status_code != 502) and i + 1 < attempts:
                last = err
                time.sleep(min(self.backoff * 2**i, 10))
                continue
            raise err
        if isinstance(last, RepositoryError):
            raise last
        raise RepositoryError(
            f"the repository at {self.url} did not answer after {attempts} attempts: {last}", status=503
        )

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        r = self._request(method, path, **kw)
        return r.json() if r.content else None

    # -- the service
    def publisher(self) -> dict[str, Any]:
        """Who publishes (``{"url", "email"}``, written as ACDD ``publisher_*`` in deposited files), from the
        service's public health answer."""
        return dict(self._json("GET", "health").get("publisher") or {})

    # -- deposits
    def create(
        self,
        metadata: dict[str, Any],
        *,
        key: str,
        provenance: list[dict[str, Any]] | None = None,
        notebook: dict[str, Any] | None = None,
        theme: str | None = None,
        groups: list[str] | None = None,
        registrar: str | None = None,
    ) -> dict[str, Any]:
        """A new deposit (draft v1) — or the one created before with the same ``key``.

        ``registrar``: refuse unless the repository registers DOIs with this one.
        """
        return self._json(
            "POST",
            "api/deposits",
            json={
                "metadata": metadata,
                "key": key,
                "provenance": provenance or [],
                "notebook": notebook,
                "theme": theme,
                "groups": groups,
                "registrar": registrar,
            },
        )

    @staticmethod
    def _id(ds_id: str) -> str:
        """A dataset id as the service writes them, before it goes into a URL (``../x`` would leave the API)."""
        if not isinstance(ds_id, str) or not re.fullmatch(r"[a-z0-9]{10}", ds_id):
            raise RepositoryError(
                f"dataset id {ds_id!r}: not an id of this repository (10 lower-case letters and "
                f"digits, e.g. 'k3x9abcd2e': see `odatis-vre repository list` or the landing page)",
                status=404,
            )
        return ds_id

    def new_version(
        self,
        ds_id: str,
        metadata: dict[str, Any],
        *,
        key: str,
        provenance: list[dict[str, Any]] | None = None,
        notebook: dict[str, Any] | None = None,
        theme: str | None = None,
        registrar: str | None = None,
    ) -> dict[str, Any]:
        """Draft v<n+1> of a published dataset (idempotent per ``key``)."""
        return self._json(
            "POST",
            f"api/deposits/{self._id(ds_id)}/versions",
            json={
                "metadata": metadata,
                "key": key,
                "provenance": provenance or [],
                "notebook": notebook,
                "theme": theme,
                "registrar": registrar,
            },
        )

    def get(self, ds_id: str, version: int | None = None) -> dict[str, Any]:
        return self._json("GET", f"api/deposits/{self._id(ds_id)}" + (f"/v{version}" if version else ""))

    def mine(self) -> list[dict[str, Any]]:
        return self._json("GET", "api/deposits")

    def published(self) -> list[dict[str, Any]]:
        return self._json("GET", "api/published")

    def share(self, ds_id: str, groups: list[str]) -> dict[str, Any]:
        return self._json("PUT", f"api/deposits/{self._id(ds_id)}/share", json={"groups": groups})

    def delete_draft(self, ds_id: str, version: int) -> None:
        self._request("DELETE", f"api/deposits/{self._id(ds_id)}/v{version}")

    def publish(self, ds_id: str, version: int) -> dict[str, Any]:
        """Publish a draft; retried while the registrar or the service is temporarily unavailable."""
        return self._json(
            "POST", f"api/deposits/{self._id(ds_id)}/v{version}/publish", timeout=(10, max(self.timeout, 600))
        )

    # -- files
    def announce(self, ds_id: str, version: int, name: str, size: int, sha256: str) -> dict[str, Any]:
        return self._json(
            "POST",
            f"api/deposits/{self._id(ds_id)}/v{version}/files",
            json={"name": name, "size": size, "sha256": sha256},
        )

    def file_state(self, ds_id: str, version: int, name: str) -> dict[str, Any]:
        return self._json("GET", f"api/deposits/{self._id(ds_id)}/v{version}/files/{name}")

    def upload(
        self,
        ds_id: str,
        version: int,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        sha256: str | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        progress: bool = True,
    ) -> dict[str, Any]:
        """Upload ``path`` in chunks, resuming from what the service already has; returns the file's state.

        The service checks the SHA-256 when the last byte arrives; a mismatch discards the upload
        (:class:`RepositoryError` with status 422).
        """
        from tqdm.auto import tqdm

        p = Path(path)
        name = name or p.name
        size = p.stat().st_size
        digest = sha256 or sha256_file(p, progress=progress)
        state = self.announce(ds_id, version, name, size, digest)
        failures = 0
        with (
            tqdm(
                total=size,
                initial=state["received"],
                unit="B",
                unit_scale=True,
                desc=f"upload {name}",
                disable=not progress,
                leave=False,
            ) as bar,
            open(p, "rb") as fh,
        ):
            while not state["complete"]:
                offset = state["received"]
                fh.seek(offset)
                data = fh.read(min(chunk_size, size - offset)) if size else b""
                last = offset + len(data) - 1
                headers = {
                    "Content-Range": f"bytes {offset}-{last}/{size}" if size else "bytes */0",
                    "Content-Type": "application/octet-stream",
                }
                try:
                    r = self.session.put(
                        f"{self.url}api/deposits/{self._id(ds_id)}/v{version}/files/{name}",
                        data=data,
                        headers=headers,
                        timeout=(10, self.timeout),
                    )
                except (requests.ConnectionError, requests.Timeout):
                    r = None
                if r is not None and r.status_code == 200:
                    state = r.json()
                    bar.update(state["received"] - bar.n)
                    failures = 0
                    continue
                if r is not None and r.status_code not in (409, 502, 503, 504):
                    raise _error(r)
                # interrupted, or the service restarted: ask where it stands and go on from there
                failures += 1
                if failures > self.retries:
                    raise (
                        _error(r)
                        if r is not None
                        else RepositoryError(
                            f"upload of {name} interrupted {failures} times; run the same call again to resume",
                            status=503,
                        )
                    )
                time.sleep(min(self.backoff * 2 ** (failures - 1), 10))
                state = self._resync(ds_id, version, name, size, digest)
                bar.update(state["received"] - bar.n)
        return state

    def _resync(self, ds_id: str, version: int, name: str, size: int, digest: str) -> dict[str, Any]:
        try:
            return self.file_state(ds_id, version, name)
        except RepositoryError as exc:
            if exc.status == 404:  # announced state lost with a deleted draft file: start again
                return self.announce(ds_id, version, name, size, digest)
            raise

    # -- reading
    def catalog(self, dest: str | os.PathLike[str]) -> Path:
        """Save the intake catalogue of published datasets to ``dest`` (atomically) and return its path.

        >>> from odatis_vre import catalog                           # doctest: +SKIP
        >>> ds = catalog.load("repo_abc_v1", catalog=Client().catalog("repo.yaml"))  # doctest: +SKIP
        """
        r = self._request("GET", "catalog.yaml")
        p = Path(dest)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        tmp.write_bytes(r.content)
        os.replace(tmp, p)
        return p

    def download(
        self,
        ds_id: str,
        version: int,
        name: str,
        dest: str | os.PathLike[str],
        *,
        progress: bool = True,
        chunk_size: int = 8 * 1024 * 1024,
    ) -> Path:
        """Download a file (resuming a partial ``dest.part`` with HTTP Range); checks its SHA-256."""
        from tqdm.auto import tqdm

        info = next((f for f in self.get(ds_id, version)["files"] if f["name"] == name), None)
        if info is None:
            raise RepositoryError(f"dataset {ds_id} v{version} has no file {name!r}", status=404)
        p = Path(dest)
        part = p.with_name(p.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        url = f"{self.url}datasets/{self._id(ds_id)}/v{version}/files/{name}"
        with self.session.get(url, headers=headers, stream=True, timeout=(10, self.timeout)) as r:
            if r.status_code not in (200, 206):
                raise _error(r)
            mode = "ab" if r.status_code == 206 else "wb"
            with (
                open(part, mode) as fh,
                tqdm(
                    total=info["size"],
                    initial=have if mode == "ab" else 0,
                    unit="B",
                    unit_scale=True,
                    desc=f"download {name}",
                    disable=not progress,
                    leave=False,
                ) as bar,
            ):
                for block in r.iter_content(chunk_size):
                    fh.write(block)
                    bar.update(len(block))
        got = sha256_file(part)
        if got != info["sha256"]:
            part.unlink()
            raise RepositoryError(
                f"{name}: downloaded SHA-256 {got} differs from the published {info['sha256']}; download it again",
                status=422,
            )
        os.replace(part, p)
        return p


def _error(r: requests.Response) -> RepositoryError:
    try:
        body = r.json()
        message = body.get("error") or r.text
        retryable = bool(body.get("retryable"))
    except ValueError:  # not the service's JSON: a proxy's or server's page; its status says enough
        html_page = "html" in r.headers.get("Content-Type", "") or r.text.lstrip().startswith("<")
        message = (r.reason or "error") if html_page else (r.text or r.reason or "")[:500]
        retryable = False
        if r.status_code == 404:
            message += " (no repository service at this address: check --repository-url / $ODATIS_VRE_REPOSITORY_URL)"
    err = RepositoryError(f"{r.request.method} {r.url}: {r.status_code}: {message}", status=r.status_code)
    err.retryable = retryable or r.status_code in (503, 504)  # type: ignore[attr-defined]
    return err
