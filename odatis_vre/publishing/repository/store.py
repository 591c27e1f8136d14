"""Deposits on a volume, their metadata in SQL: drafts, published immutable versions, fixity.

Layout of the volume (``root``)::

    repository.sqlite                 metadata (unless ``db_url`` names another database)
    drafts/<id>/v<n>/<file>           files of a draft, checksum verified on arrival
    drafts/<id>/v<n>/.parts/<file>    uploads in progress (their size is the resume offset)
    published/<id>/v<n>/<file>        published files: read-only, never rewritten

A draft becomes published by one ``os.replace`` of its folder (same file system), *after* the
DOI registrar said yes and *before* the database says "published": an interruption at any
point leaves either a draft (nothing visible) or a folder the next :meth:`Store.recover` or
publish retry finishes, never a half-published version.

Example
-------
>>> import tempfile, hashlib
>>> st = Store(tempfile.mkdtemp())
>>> v = st.create_deposit("alice", {"title": "T"}, key="k1")
>>> f = st.start_file(v["id"], 1, "alice", "a.nc", 3, hashlib.sha256(b"abc").hexdigest())
>>> with open(st.part_path(v["id"], 1, "a.nc"), "ab") as fh: _ = fh.write(b"abc")
>>> st.complete_file(v["id"], 1, "alice", "a.nc")["sha256"][:8]
'ba7816bf'
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

STATES = ("draft", "published")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
_ID_RE = re.compile(r"^[a-z0-9]{10}$")
HASH_BLOCK = 4 * 1024 * 1024


class RepositoryError(ValueError):
    """A refused operation; ``status`` is the HTTP status the service answers with.

    The message says what is wrong and what to do.
    """

    status = 400
    retryable = False

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class NotFound(RepositoryError):
    status = 404


class Conflict(RepositoryError):
    status = 409


class TooLarge(RepositoryError):
    status = 413


class ChecksumMismatch(RepositoryError):
    status = 422


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def check_name(name: str) -> str:
    """Return ``name`` if it is a safe file name, else raise :class:`RepositoryError`.

    >>> check_name("sst_2023.nc")
    'sst_2023.nc'
    >>> check_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    odatis_vre.publishing.repository.store.RepositoryError: file name '../etc/passwd' is refused: use a plain file name of letters, digits, '.', '_', '-', '+' (no folder, no '..', not starting with '.' or '-'; at most 200 characters)
    """
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise RepositoryError(
            f"file name {name!r} is refused: use a plain file name of letters, digits, '.', '_', "
            f"'-', '+' (no folder, no '..', not starting with '.' or '-'; at most 200 characters)"
        )
    return name


def no_dataset(ds_id: str, number: int | None = None) -> NotFound:
    """The one answer for a dataset that does not exist *or* that this user may not see (a draft of someone else's).

    >>> str(no_dataset("abcdefghij", 2))
    "no dataset 'abcdefghij' version 2: check the id and version (GET api/deposits lists yours, api/published the published ones)"
    """
    return NotFound(
        f"no dataset {ds_id!r}"
        + (f" version {number}" if number is not None else "")
        + ": check the id and version (GET api/deposits lists yours, api/published the published ones)"
    )


def check_id(ds_id: str) -> str:
    if not isinstance(ds_id, str) or not _ID_RE.match(ds_id):
        raise no_dataset(ds_id)
    return ds_id


def sha256_file(path: Path, progress: Any = None) -> str:
    """SHA-256 of a file, read in 4 MiB blocks (``progress.update(n)`` called if given)."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        while True:
            block = fh.read(HASH_BLOCK)
            if not block:
                break
            h.update(block)
            if progress is not None:
                progress.update(len(block))
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_META = sa.MetaData()
DATASETS = sa.Table(
    "datasets",
    _META,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("owner", sa.String(255), nullable=False, index=True),
    sa.Column("groups", sa.JSON, nullable=False, default=list),
    sa.Column("created", sa.String(40), nullable=False),
)
VERSIONS = sa.Table(
    "versions",
    _META,
    sa.Column("dataset_id", sa.String(16), sa.ForeignKey("datasets.id"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(255), nullable=False),
    # the client's idempotency key: creating twice with the same key gives the same draft
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("extra", sa.JSON, nullable=False),
    sa.Column("attributes", sa.JSON, nullable=True),
    sa.Column("doi", sa.String(255), nullable=True),
    sa.Column("created", sa.String(40), nullable=False),
    sa.Column("published", sa.String(40), nullable=True),
    sa.UniqueConstraint("owner", "key", name="uq_owner_key"),
)
FILES = sa.Table(
    "files",
    _META,
    sa.Column("dataset_id", sa.String(16), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("complete", sa.Boolean, nullable=False, default=False),
    sa.Column("created", sa.String(40), nullable=False),
)


class Store:
    """The repository's files (``root``) and metadata (``db_url``, default SQLite in ``root``).

    ``max_upload`` bounds the size of one file in bytes (``None``: no bound).
    """

    def __init__(self, root: str | os.PathLike[str], db_url: str | None = None, *, max_upload: int | None = None):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        for sub in ("drafts", "published"):
            (self.root / sub).mkdir(exist_ok=True)
        self.max_upload = max_upload
        url = db_url or f"sqlite:///{self.root / 'repository.sqlite'}"
        self.engine = sa.create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":

            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA busy_timeout=10000")
                cur.close()

        _META.create_all(self.engine)

    # ------------------------------------------------------------------ paths
    def draft_dir(self, ds_id: str, number: int) -> Path:
        return self.root / "drafts" / check_id(ds_id) / f"v{int(number)}"

    def published_dir(self, ds_id: str, number: int) -> Path:
        return self.root / "published" / check_id(ds_id) / f"v{int(number)}"

    def part_path(self, ds_id: str, number: int, name: str) -> Path:
        return self.draft_dir(ds_id, number) / ".parts" / check_name(name)

    def file_path(self, ds_id: str, number: int, name: str) -> Path:
        """Where a complete file of a version lives (draft or published folder)."""
        v = self.version(ds_id, number)
        base = self.published_dir(ds_id, number) if v["state"] == "published" else self.draft_dir(ds_id, number)
        return base / check_name(name)

    # ------------------------------------------------------------------ reading
    def _row_version(self, row: Any, conn: Any) -> dict[str, Any]:
        v = dict(row._mapping)
        ds = conn.execute(sa.select(DATASETS).where(DATASETS.c.id == v["dataset_id"])).one()._mapping
        files = conn.execute(
            sa.select(FILES)
            .where(FILES.c.dataset_id == v["dataset_id"], FILES.c.number == v["number"])
            .order_by(FILES.c.name)
        ).all()
        v["id"] = v.pop("dataset_id")
        v["version"] = v.pop("number")
        v["groups"] = list(ds["groups"] or [])
        v["files"] = [self._file_dict(f._mapping, v) for f in files]
        return v

    def _file_dict(self, f: Any, v: dict[str, Any]) -> dict[str, Any]:
        d = {"name": f["name"], "size": f["size"], "sha256": f["sha256"], "complete": bool(f["complete"])}
        if not d["complete"]:
            part = self.root / "drafts" / v["id"] / f"v{v['version']}" / ".parts" / f["name"]
            d["received"] = part.stat().st_size if part.exists() else 0
        else:
            d["received"] = f["size"]
        return d

    def version(self, ds_id: str, number: int | None = None) -> dict[str, Any]:
        """One version as a dict (``number=None``: the latest); :class:`NotFound` if absent."""
        check_id(ds_id)
        with self.engine.connect() as conn:
            q = sa.select(VERSIONS).where(VERSIONS.c.dataset_id == ds_id)
            q = (
                q.where(VERSIONS.c.number == int(number))
                if number is not None
                else q.order_by(VERSIONS.c.number.desc()).limit(1)
            )
            row = conn.execute(q).first()
            if row is None:
                raise no_dataset(ds_id, number)
            return self._row_version(row, conn)

    def versions(self, ds_id: str) -> list[dict[str, Any]]:
        """Every version of a dataset, oldest first."""
        check_id(ds_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(VERSIONS).where(VERSIONS.c.dataset_id == ds_id).order_by(VERSIONS.c.number)
            ).all()
            return [self._row_version(r, conn) for r in rows]

    def list_versions(self, *, state: str | None = None, owner: str | None = None) -> list[dict[str, Any]]:
        """Versions filtered by state and/or owner, newest first."""
        with self.engine.connect() as conn:
            q = sa.select(VERSIONS)
            if state:
                q = q.where(VERSIONS.c.state == state)
            if owner:
                q = q.where(VERSIONS.c.owner == owner)
            rows = conn.execute(q.order_by(VERSIONS.c.created.desc(), VERSIONS.c.number.desc())).all()
            return [self._row_version(r, conn) for r in rows]

    @staticmethod
    def can_read(v: dict[str, Any], user: str | None, groups: Iterable[str] = ()) -> bool:
        """Published versions are public; a draft is seen by its owner and the groups it is shared with."""
        if v["state"] == "published":
            return True
        if not user:
            return False
        return user == v["owner"] or bool(set(v.get("groups") or ()) & set(groups))

    def readable(self, ds_id: str, number: int | None, user: str | None, groups: Iterable[str] = ()) -> dict[str, Any]:
        """The version if ``user`` may see it; otherwise :class:`NotFound` (a draft's existence is not revealed)."""
        v = self.version(ds_id, number)
        if not self.can_read(v, user, groups):
            raise no_dataset(ds_id, number)
        return v

    def owned(self, ds_id: str, number: int | None, user: str) -> dict[str, Any]:
        """The version if ``user`` owns it (writes are the owner's only); else :class:`NotFound`."""
        v = self.version(ds_id, number)
        if v["owner"] != user:
            raise no_dataset(ds_id, number)
        return v

    # ------------------------------------------------------------------ writing
    def create_deposit(
        self,
        owner: str,
        metadata: dict[str, Any],
        *,
        key: str,
        extra: dict[str, Any] | None = None,
        groups: Iterable[str] = (),
    ) -> dict[str, Any]:
        """A new dataset with draft v1 — or the existing one created with the same ``key`` by ``owner``."""
        key = self._check_key(key)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(VERSIONS).where(VERSIONS.c.owner == owner, VERSIONS.c.key == key)).first()
            if row is not None:
                return self._row_version(row, conn) | {"existing": True}
            ds_id = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(10))
            conn.execute(DATASETS.insert().values(id=ds_id, owner=owner, groups=sorted(set(groups)), created=now()))
            conn.execute(
                VERSIONS.insert().values(
                    dataset_id=ds_id,
                    number=1,
                    owner=owner,
                    key=key,
                    state="draft",
                    metadata=metadata,
                    extra=extra or {},
                    created=now(),
                )
            )
        self.draft_dir(ds_id, 1).mkdir(parents=True, exist_ok=True)
        return self.version(ds_id, 1) | {"existing": False}

    def new_version(
        self, ds_id: str, owner: str, metadata: dict[str, Any], *, key: str, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Draft v<n+1> of a published dataset (old versions are never touched); idempotent per ``key``."""
        key = self._check_key(key)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(VERSIONS).where(VERSIONS.c.owner == owner, VERSIONS.c.key == key)).first()
            if row is not None:
                if row._mapping["dataset_id"] != ds_id:
                    raise Conflict(
                        f"key {key!r} was already used for dataset {row._mapping['dataset_id']}; "
                        f"use a new key for a new version"
                    )
                return self._row_version(row, conn) | {"existing": True}
            latest = conn.execute(
                sa.select(VERSIONS).where(VERSIONS.c.dataset_id == ds_id).order_by(VERSIONS.c.number.desc()).limit(1)
            ).first()
            if latest is None or latest._mapping["owner"] != owner:
                raise no_dataset(ds_id)
            if latest._mapping["state"] != "published":
                raise Conflict(
                    f"dataset {ds_id} already has a draft (v{latest._mapping['number']}): finish or "
                    f"delete it before starting another version"
                )
            number = latest._mapping["number"] + 1
            conn.execute(
                VERSIONS.insert().values(
                    dataset_id=ds_id,
                    number=number,
                    owner=owner,
                    key=key,
                    state="draft",
                    metadata=metadata,
                    extra=extra or {},
                    created=now(),
                )
            )
        self.draft_dir(ds_id, number).mkdir(parents=True, exist_ok=True)
        return self.version(ds_id, number) | {"existing": False}

    @staticmethod
    def _check_key(key: str) -> str:
        if not isinstance(key, str) or not (1 <= len(key) <= 200) or not key.isprintable():
            raise RepositoryError(
                "key: give a printable idempotency key of 1 to 200 characters "
                "(the same key again returns the same deposit)"
            )
        return key

    def _draft(self, ds_id: str, number: int, owner: str) -> dict[str, Any]:
        v = self.owned(ds_id, number, owner)
        if v["state"] != "draft":
            raise Conflict(
                f"dataset {ds_id} v{number} is published and can no longer change; start a new version to change it"
            )
        return v

    def set_metadata(
        self, ds_id: str, number: int, owner: str, metadata: dict[str, Any], extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Replace a draft's metadata (and provenance/notebook ``extra``)."""
        self._draft(ds_id, number, owner)
        values: dict[str, Any] = {"metadata": metadata}
        if extra is not None:
            values["extra"] = extra
        with self.engine.begin() as conn:
            conn.execute(
                VERSIONS.update()
                .where(VERSIONS.c.dataset_id == ds_id, VERSIONS.c.number == number, VERSIONS.c.state == "draft")
                .values(**values)
            )
        return self.version(ds_id, number)

    def share(self, ds_id: str, owner: str, groups: Iterable[str]) -> dict[str, Any]:
        """Let members of ``groups`` see the drafts of a dataset (read only)."""
        self.owned(ds_id, None, owner)
        with self.engine.begin() as conn:
            conn.execute(DATASETS.update().where(DATASETS.c.id == ds_id).values(groups=sorted(set(groups))))
        return self.version(ds_id)

    def set_doi(self, ds_id: str, number: int, doi: str) -> None:
        """Remember the DOI reserved for a draft (set once; a different DOI later is a bug)."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(VERSIONS.c.doi).where(VERSIONS.c.dataset_id == ds_id, VERSIONS.c.number == number)
            ).one()
            if row.doi and row.doi != doi:
                raise Conflict(f"dataset {ds_id} v{number} already has DOI {row.doi}; the registrar answered {doi}")
            conn.execute(
                VERSIONS.update().where(VERSIONS.c.dataset_id == ds_id, VERSIONS.c.number == number).values(doi=doi)
            )

    def start_file(self, ds_id: str, number: int, owner: str, name: str, size: int, sha256: str) -> dict[str, Any]:
        """Announce a file (name, size, SHA-256) of a draft; returns its state (``received`` = resume offset).

        Announcing the same file again with the same size and checksum resumes it; with other values,
        it restarts it.
        """
        self._draft(ds_id, number, owner)
        check_name(name)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise RepositoryError(f"file {name}: size must be a whole number of bytes, not {size!r}")
        if self.max_upload is not None and size > self.max_upload:
            from ...config import format_bytes

            raise TooLarge(
                f"file {name} is {size} bytes; this repository accepts at most "
                f"{format_bytes(self.max_upload)} ({self.max_upload} bytes) per file "
                f"(services.repository.max_upload): split the dataset into smaller files"
            )
        free = shutil.disk_usage(self.root).free
        if size > free:
            raise RepositoryError(
                f"file {name} is {size} bytes, more than the {free / 1024**3:.1f} GiB free on the "
                f"repository's volume: split the dataset, or ask the VRE admins for space",
                status=507,
            )
        if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise RepositoryError(
                f"file {name}: sha256 must be 64 lowercase hexadecimal digits (hashlib.sha256().hexdigest())"
            )
        part = self.part_path(ds_id, number, name)
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(FILES).where(FILES.c.dataset_id == ds_id, FILES.c.number == number, FILES.c.name == name)
            ).first()
            if row is not None:
                m = row._mapping
                if m["size"] == size and m["sha256"] == sha256:
                    return self._file_state(ds_id, number, name)
                conn.execute(
                    FILES.delete().where(FILES.c.dataset_id == ds_id, FILES.c.number == number, FILES.c.name == name)
                )
            conn.execute(
                FILES.insert().values(
                    dataset_id=ds_id, number=number, name=name, size=size, sha256=sha256, complete=False, created=now()
                )
            )
        part.unlink(missing_ok=True)
        (self.draft_dir(ds_id, number) / name).unlink(missing_ok=True)
        part.parent.mkdir(parents=True, exist_ok=True)
        part.touch()
        return self._file_state(ds_id, number, name)

    def _file_state(self, ds_id: str, number: int, name: str) -> dict[str, Any]:
        v = self.version(ds_id, number)
        for f in v["files"]:
            if f["name"] == name:
                return f
        raise NotFound(f"dataset {ds_id} v{number} has no file {name!r}: announce it first (POST .../files)")

    def file_state(self, ds_id: str, number: int, owner: str, name: str) -> dict[str, Any]:
        self.owned(ds_id, number, owner)
        return self._file_state(ds_id, number, check_name(name))

    def complete_file(
        self, ds_id: str, number: int, owner: str, name: str, sha256: str | None = None
    ) -> dict[str, Any]:
        """Check a fully received file against its announced SHA-256 and move it in place.

        ``sha256`` is the digest computed while receiving (else the file is read again). On a
        mismatch the upload is discarded and :class:`ChecksumMismatch` says to upload it again.
        """
        self._draft(ds_id, number, owner)
        f = self._file_state(ds_id, number, check_name(name))
        if f["complete"]:
            return f
        part = self.part_path(ds_id, number, name)
        got = part.stat().st_size if part.exists() else 0
        if got != f["size"]:
            raise Conflict(f"file {name}: received {got} of {f['size']} bytes; send the rest from offset {got}")
        digest = sha256 or sha256_file(part)
        if digest != f["sha256"]:
            part.unlink(missing_ok=True)
            part.touch()
            raise ChecksumMismatch(
                f"file {name}: SHA-256 of the received bytes is {digest}, but {f['sha256']} was "
                f"announced; the upload was discarded: check the file and upload it again"
            )
        os.chmod(part, 0o444)
        os.replace(part, self.draft_dir(ds_id, number) / name)
        with self.engine.begin() as conn:
            conn.execute(
                FILES.update()
                .where(FILES.c.dataset_id == ds_id, FILES.c.number == number, FILES.c.name == name)
                .values(complete=True)
            )
        return self._file_state(ds_id, number, name)

    def delete_file(self, ds_id: str, number: int, owner: str, name: str) -> None:
        self._draft(ds_id, number, owner)
        check_name(name)
        with self.engine.begin() as conn:
            conn.execute(
                FILES.delete().where(FILES.c.dataset_id == ds_id, FILES.c.number == number, FILES.c.name == name)
            )
        self.part_path(ds_id, number, name).unlink(missing_ok=True)
        (self.draft_dir(ds_id, number) / name).unlink(missing_ok=True)

    def delete_draft(self, ds_id: str, number: int, owner: str) -> None:
        """Remove a draft version and its files (published versions cannot be deleted)."""
        self._draft(ds_id, number, owner)
        with self.engine.begin() as conn:
            conn.execute(FILES.delete().where(FILES.c.dataset_id == ds_id, FILES.c.number == number))
            conn.execute(
                VERSIONS.delete().where(
                    VERSIONS.c.dataset_id == ds_id, VERSIONS.c.number == number, VERSIONS.c.state == "draft"
                )
            )
            if (
                conn.execute(
                    sa.select(sa.func.count()).select_from(VERSIONS).where(VERSIONS.c.dataset_id == ds_id)
                ).scalar()
                == 0
            ):
                conn.execute(DATASETS.delete().where(DATASETS.c.id == ds_id))
        shutil.rmtree(self.draft_dir(ds_id, number), ignore_errors=True)

    def ready_to_publish(self, ds_id: str, number: int, owner: str) -> dict[str, Any]:
        """The draft if it can be published (files all complete); :class:`RepositoryError` saying what is missing."""
        v = self.owned(ds_id, number, owner)
        if v["state"] == "published":
            return v
        if not v["files"]:
            raise RepositoryError(f"dataset {ds_id} v{number} has no file: upload at least one before publishing")
        todo = [f"{f['name']} ({f['received']} of {f['size']} bytes)" for f in v["files"] if not f["complete"]]
        if todo:
            raise Conflict(
                f"dataset {ds_id} v{number}: incomplete upload(s): {', '.join(todo)}; resume them "
                f"(the client resumes from the received offset) or delete them"
            )
        return v

    def finish_publish(
        self, ds_id: str, number: int, owner: str, *, doi: str, attributes: dict[str, Any]
    ) -> dict[str, Any]:
        """Make a draft published: move its folder (atomic), make files read-only, then record the state.

        Call it only after the DOI registrar published the DOI. Idempotent: a retry after an
        interruption between the move and the database update finishes the job.
        """
        v = self.owned(ds_id, number, owner)
        if v["state"] == "published":
            return v
        src, dst = self.draft_dir(ds_id, number), self.published_dir(ds_id, number)
        if src.exists():
            shutil.rmtree(src / ".parts", ignore_errors=True)
            names = {f["name"] for f in v["files"]}
            extra = [p.name for p in src.iterdir() if p.name not in names]
            for name in extra:  # files no longer listed (a deleted upload) must not be published
                (src / name).unlink(missing_ok=True)
            for f in v["files"]:
                os.chmod(src / f["name"], 0o444)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.exists():
                raise Conflict(f"{dst} exists already while {src} is a draft: run `odatis-vre repository fsck`")
            os.replace(src, dst)
            _fsync_dir(dst.parent)
        elif not dst.exists():
            raise RepositoryError(
                f"dataset {ds_id} v{number}: neither {src} nor {dst} exists; run `odatis-vre repository fsck`",
                status=500,
            )
        with self.engine.begin() as conn:
            conn.execute(
                VERSIONS.update()
                .where(VERSIONS.c.dataset_id == ds_id, VERSIONS.c.number == number)
                .values(state="published", doi=doi, attributes=attributes, published=now())
            )
        return self.version(ds_id, number)

    def recover(self) -> list[str]:
        """After a crash: a draft whose folder was already moved to ``published/`` is recorded as published.

        The move happens only after the registrar published the DOI and the attributes were
        stored with it, so finishing is safe. Returns what was done.
        """
        done = []
        for v in self.list_versions(state="draft"):
            src, dst = self.draft_dir(v["id"], v["version"]), self.published_dir(v["id"], v["version"])
            if dst.exists() and not src.exists() and v.get("doi") and v.get("attributes"):
                shutil.rmtree(dst / ".parts", ignore_errors=True)
                with self.engine.begin() as conn:
                    conn.execute(
                        VERSIONS.update()
                        .where(VERSIONS.c.dataset_id == v["id"], VERSIONS.c.number == v["version"])
                        .values(state="published", published=now())
                    )
                done.append(f"{v['id']} v{v['version']}: publication finished after an interruption")
        return done

    def stage_attributes(self, ds_id: str, number: int, attributes: dict[str, Any]) -> None:
        """Keep the DataCite attributes sent to the registrar (needed by :meth:`recover`)."""
        with self.engine.begin() as conn:
            conn.execute(
                VERSIONS.update()
                .where(VERSIONS.c.dataset_id == ds_id, VERSIONS.c.number == number, VERSIONS.c.state == "draft")
                .values(attributes=attributes)
            )

    # ------------------------------------------------------------------ fixity
    def fsck(self, progress: Any = None) -> list[str]:
        """Re-verify every published file (presence, size, SHA-256, read-only); ``[]`` when all is well.

        Also reports unexpected files in published folders and drafts stuck half-way.
        """
        problems: list[str] = []
        published = self.list_versions(state="published")
        for v in published:
            d = self.published_dir(v["id"], v["version"])
            if not d.is_dir():
                problems.append(f"{v['id']} v{v['version']}: folder {d} is missing")
                continue
            names = {f["name"] for f in v["files"]}
            for p in d.iterdir():
                if p.name not in names:
                    problems.append(f"{v['id']} v{v['version']}: unexpected file {p.name} in {d}")
            for f in v["files"]:
                p = d / f["name"]
                if not p.is_file():
                    problems.append(f"{v['id']} v{v['version']}: file {f['name']} is missing")
                    continue
                st = p.stat()
                if st.st_size != f["size"]:
                    problems.append(
                        f"{v['id']} v{v['version']}: file {f['name']} has {st.st_size} bytes, "
                        f"{f['size']} were published"
                    )
                    continue
                if st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
                    problems.append(f"{v['id']} v{v['version']}: file {f['name']} is writable (should be read-only)")
                digest = sha256_file(p, progress)
                if digest != f["sha256"]:
                    problems.append(
                        f"{v['id']} v{v['version']}: file {f['name']} SHA-256 {digest} differs from "
                        f"the published {f['sha256']}"
                    )
        for v in self.list_versions(state="draft"):
            if self.published_dir(v["id"], v["version"]).exists():
                problems.append(
                    f"{v['id']} v{v['version']}: draft with a published folder (interrupted publication; "
                    f"retry the publication or restart the service)"
                )
        return problems

    def published_bytes(self) -> int:
        """Total size of the published files (for fsck's progress bar)."""
        return sum(f["size"] for v in self.list_versions(state="published") for f in v["files"])

    def to_json(self, v: dict[str, Any]) -> str:
        return json.dumps(v, indent=1, default=str)
