"""Publish a dataset from the VRE: conventions checked, DataCite metadata with provenance, a DOI, a landing page.

Example
-------
>>> from odatis_vre import catalog, publish
>>> sst = catalog.load("sample_sst_zarr")                                     # doctest: +SKIP
>>> anomaly = (sst - sst.mean("time")).assign_attrs(sst.attrs)                 # doctest: +SKIP
>>> d = publish.deposit(anomaly, "meta.yaml")                                  # doctest: +SKIP
>>> d.doi, d.landing_url                                                       # doctest: +SKIP
('10.5072/odatis.k3x9-…', 'http://127.0.0.1:8000/services/repository/datasets/…/v1/')
>>> print(d.citation)                                                          # doctest: +SKIP
Doe, J. (2026): SST anomalies .... Version 1. ODATIS. (Dataset). doi:10.5072/... (local test identifier, NOT REGISTERED...)

What happens, in order — nothing is sent before every local check passed:

0. the data must be readable: a missing, empty, truncated or damaged file, or one that is not
   NetCDF/Zarr, is refused at once (:func:`odatis_vre.publishing.conventions.check_readable`), and so is a
   file name the repository cannot store (:func:`upload_name`);
1. the metadata (YAML file or dict) is checked (:func:`odatis_vre.publishing.metadata.load_metadata`);
2. an ``xarray.Dataset`` (or a file, with ``annotate=True``) gets ACDD attributes computed from its data
   (coverage, bounds, variables, one ``history`` line per step of the session) and written from the
   metadata (:func:`odatis_vre.publishing.datafacts.annotate`; the repository's publisher is read from its public
   ``health`` answer); the data are checked with compliance-checker: no high-priority CF issue, ACDD at
   95 % of its points (:func:`odatis_vre.publishing.conventions.require`). A refusal names the **metadata fields**
   to add (``creators[].email``, ``platform``...) for a Dataset, the attributes to fix for a file
   deposited as it is;
3. the DataCite metadata are built with the provenance of this session (every catalogue entry
   opened, :mod:`odatis_vre.provenance`), the software and the notebook, and validated;
4. the repository service creates the deposit (idempotent: the same data and metadata give the
   same deposit), the file (with the deposit's DOI as its ``id``) is uploaded in resumable chunks
   (SHA-256 checked on arrival), and the service checks it again, registers the DOI and publishes.

Run the same call again after any interruption: it resumes, and never makes a second DOI.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import provenance as provenance_mod

# what deposit() raises, caught where the call is: ``except publish.MetadataError``
from .publishing.conventions import ConventionsError as ConventionsError
from .publishing.metadata import MetadataError as MetadataError

ENV_DEPOSIT_CACHE = "ODATIS_VRE_DEPOSIT_DIR"


@dataclass
class Deposit:
    """A deposit in the repository (``state`` is ``draft`` until published)."""

    id: str
    version: int
    doi: str | None
    landing_url: str
    state: str
    citation: str = ""
    bibtex: str = ""
    registered: bool = False
    files: list[dict[str, Any]] = field(default_factory=list)
    catalog_entry: str = ""
    #: compliance-checker's CF and ACDD scores of the published file (as the landing page shows them)
    scores: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Deposit {self.id} v{self.version} {self.state} doi={self.doi} {self.landing_url}>"

    def _repr_html_(self) -> str:
        import html

        return (
            f"<p><b>{html.escape(self.state)}</b> v{self.version} · DOI <code>{html.escape(str(self.doi))}</code>"
            f"{'' if self.registered else ' (local test identifier, not registered)'} · "
            f"<a href='{html.escape(self.landing_url)}' target=_blank>landing page</a></p>"
            f"<p>{html.escape(self.citation)}</p>"
        )


def _cache_dir() -> Path:
    env = os.environ.get(ENV_DEPOSIT_CACHE)
    base = (
        Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "odatis-vre" / "deposits"
    )
    base.mkdir(parents=True, exist_ok=True)
    return base


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return (s or "dataset")[:60]


def _dataset_digest(ds: Any) -> str:
    """A content hash of an in-memory Dataset (values, coordinates, attributes), for the idempotency key."""
    import numpy as np

    h = hashlib.sha256()
    h.update(json.dumps(ds.attrs, sort_keys=True, default=str).encode())
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        h.update(name.encode())
        h.update(json.dumps(var.attrs, sort_keys=True, default=str).encode())
        h.update(str(var.dims).encode())
        values = np.ascontiguousarray(np.asarray(var.values))
        h.update(str(values.dtype).encode())
        h.update(values.tobytes() if values.dtype != object else repr(values.tolist()).encode())
    return h.hexdigest()


def _write_netcdf(ds: Any, dest: Path) -> None:
    from .publishing import conventions

    conventions.to_netcdf(ds, dest)  # atomic, and CF-clean encodings (no _FillValue on coordinates...)


def _zip_zarr(folder: Path, dest: Path) -> None:
    """A Zarr folder as one stored (uncompressed) zip, entries sorted with a fixed date: same folder, same bytes."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    info = zipfile.ZipInfo(str(p.relative_to(folder)), date_time=(1980, 1, 1, 0, 0, 0))
                    info.external_attr = 0o644 << 16
                    with p.open("rb") as src, zf.open(info, "w", force_zip64=True) as out:
                        shutil.copyfileobj(src, out, 8 * 1024 * 1024)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def prepare_file(ds_or_path: Any, title: str) -> tuple[Path, bool]:
    """The file to upload for a Dataset / NetCDF path / Zarr folder; ``(path, made_here)``."""
    import xarray as xr

    if isinstance(ds_or_path, xr.Dataset):
        digest = _dataset_digest(ds_or_path)
        dest = _cache_dir() / digest[:16] / f"{_slug(title)}.nc"
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            _write_netcdf(ds_or_path, dest)
        return dest, True
    p = Path(ds_or_path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder; give a NetCDF file, a Zarr folder or an xarray.Dataset")
    if p.is_dir():
        if not ((p / "zarr.json").exists() or (p / ".zgroup").exists() or (p / ".zmetadata").exists()):
            raise ValueError(
                f"{p} is a folder but not a Zarr store (no zarr.json or .zgroup); give a Zarr store or a NetCDF file"
            )
        stamp = hashlib.sha256(
            str(p.resolve()).encode() + str(max(f.stat().st_mtime_ns for f in p.rglob("*"))).encode()
        )
        dest = _cache_dir() / stamp.hexdigest()[:16] / (p.name.removesuffix(".zarr") + ".zarr.zip")
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            _zip_zarr(p, dest)
        return dest, True
    return p, False


def upload_name(path: Path) -> str:
    """The name ``path`` gets in the repository, or :class:`~odatis_vre.publishing.repository.store.RepositoryError`
    suggesting a name it accepts (plain ASCII letters, digits, ``.``, ``_``, ``-``, ``+``).

    >>> upload_name(Path("/data/sst_2023.nc"))
    'sst_2023.nc'
    >>> upload_name(Path("/data/température été.nc"))
    Traceback (most recent call last):
    ...
    odatis_vre.publishing.repository.store.RepositoryError: file name 'température été.nc' cannot be stored in the repository (plain letters, digits, '.', '_', '-', '+' only; at most 200 characters): rename the file, e.g. to 'temperature_ete.nc'
    """
    import unicodedata

    from .publishing.repository.store import RepositoryError, check_name

    try:
        return check_name(path.name)
    except RepositoryError:
        plain = unicodedata.normalize("NFKD", path.name).encode("ascii", "ignore").decode()
        stem, dot, ext = plain.rpartition(".") if "." in plain.lstrip(".") else (plain, "", "")
        safe = re.sub(r"[^A-Za-z0-9_+-]+", "_", stem).strip("_.-")[:180] or "data"
        suggestion = f"{safe}{dot}{re.sub(r'[^A-Za-z0-9]+', '', ext)}"
        raise RepositoryError(
            f"file name {path.name!r} cannot be stored in the repository (plain letters, digits, "
            f"'.', '_', '-', '+' only; at most 200 characters): rename the file, e.g. to "
            f"{suggestion!r}"
        ) from None


def notebook_record(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """``{path, sha256}`` of the notebook that runs this code (``$JPY_SESSION_NAME`` in Jupyter), if any."""
    p = Path(path) if path else (Path(os.environ["JPY_SESSION_NAME"]) if os.environ.get("JPY_SESSION_NAME") else None)
    if p is None or not p.is_file():
        return None
    return {"path": p.name if not path else str(path), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}


def session_provenance() -> list[dict[str, Any]]:
    """Catalogue entries opened in this session (this process, plus ``$ODATIS_VRE_PROVENANCE_FILE``), once each."""
    seen, out = set(), []
    for rec in provenance_mod.read_file() + provenance_mod.opened():
        key = (rec.get("name"), rec.get("doi"), rec.get("url"))
        if key not in seen:
            seen.add(key)
            item = {k: rec.get(k) for k in ("name", "title", "doi", "url", "opened_at")}
            if rec.get("args"):
                item["args"] = rec["args"]
            out.append(item)
    return out


def deposit(
    ds_or_path: Any,
    metadata: Any,
    *,
    registrar: str | None = None,
    repository_url: str | None = None,
    token: str | None = None,
    publish: bool = True,
    new_version_of: str | None = None,
    theme: str | None = None,
    notebook: str | os.PathLike[str] | None = None,
    key: str | None = None,
    groups: list[str] | None = None,
    progress: bool = True,
    annotate: bool = False,
) -> Deposit:
    """Deposit a dataset in the VRE's repository and (by default) publish it with a DOI.

    Parameters
    ----------
    ds_or_path : an ``xarray.Dataset``, a NetCDF file or a Zarr folder.
    metadata : a YAML file or a dict (see :mod:`odatis_vre.publishing.metadata`): title, creators (ORCID,
        affiliation with ROR), licence (SPDX), keywords, abstract, funding, related publications.
    registrar : ``local``, ``datacite`` or ``zenodo``: checked against the repository's registrar
        (the service holds the registrar credentials, not the notebook).
    repository_url, token : default to the VRE's repository and ``$JUPYTERHUB_API_TOKEN``.
    publish : ``False`` leaves a draft (only you, and groups you share it with, can see it).
    new_version_of : a published dataset id: make this its next version (old ones never change).
    theme : the catalogue theme (physics, biogeochemistry, in_situ, biology_imaging).
    notebook : the notebook's path (found automatically inside Jupyter).
    key : the idempotency key (default: derived from the data and the metadata).
    annotate : for a NetCDF file or Zarr folder: open it and deposit it as a Dataset, i.e. with its ACDD
        attributes computed from its data and written from ``metadata`` (default: the file as it is).

    Raises :class:`MetadataError`, :class:`ConventionsError` (both importable from this module; nothing
    sent) or :class:`odatis_vre.publishing.repository.RepositoryError` (what the service refused).
    """
    import xarray as xr

    from .publishing import conventions
    from .publishing import metadata as metadata_mod
    from .publishing.repository.client import Client, sha256_file

    if not isinstance(ds_or_path, (xr.Dataset, str, os.PathLike)):
        raise TypeError(
            f"deposit(): give an xarray.Dataset, or the path of a NetCDF file or a Zarr folder, not "
            f"{type(ds_or_path).__name__} (a DataArray: da.to_dataset())"
        )
    if not isinstance(ds_or_path, xr.Dataset):
        conventions.check_readable(ds_or_path)
        if not annotate:  # annotated, it is uploaded under a name made from the title
            upload_name(
                Path(ds_or_path)
                if not Path(ds_or_path).is_dir()
                else Path(ds_or_path).with_name(Path(ds_or_path).name.removesuffix(".zarr") + ".zarr.zip")
            )
    if new_version_of is not None:
        Client._id(new_version_of)
    if annotate and not isinstance(ds_or_path, xr.Dataset):
        with _opened(ds_or_path) as ds:
            return deposit(
                ds,
                metadata,
                registrar=registrar,
                repository_url=repository_url,
                token=token,
                publish=publish,
                new_version_of=new_version_of,
                theme=theme,
                notebook=notebook,
                key=key,
                groups=groups,
                progress=progress,
            )
    raw = _read_metadata(metadata)
    suggested = metadata_mod.from_dataset(ds_or_path) if _is_dataset_like(ds_or_path) else {}
    md = metadata_mod.load_metadata({**suggested, **raw})

    prov = session_provenance()
    steps = provenance_mod.steps()
    nb = notebook_record(notebook)
    client = Client(repository_url, token)
    if isinstance(ds_or_path, xr.Dataset):
        # the file carries attributes computed from these data (coverage, bounds, history, DOI): check them
        # as they will be written, with the repository's publisher and placeholders for the DOI and page
        _require_publishable(_annotated(ds_or_path, md, prov, steps, {"publisher": client.publisher()}))
        digest = _dataset_digest(ds_or_path)
        files = [{"name": f"{_slug(md['title'])}.nc", "size": ds_or_path.nbytes, "sha256": "0" * 64}]
    else:
        if _is_zarr_dir(ds_or_path):
            _require_file(str(ds_or_path))
        path, _made = prepare_file(ds_or_path, md["title"])
        if not path.name.endswith(".zarr.zip"):
            _require_file(str(path))  # the very file that is uploaded
        digest = sha256_file(path, progress=progress)
        files = [{"name": path.name, "size": path.stat().st_size, "sha256": digest}]
    # the same checks the service makes, before anything leaves this machine
    metadata_mod.validate_datacite(
        metadata_mod.datacite_attributes(
            md, doi="10.5072/check", url="https://example.org/check", files=files, provenance=prov, notebook=nb
        )
    )
    key = (
        key
        or "sha256:"
        + hashlib.sha256(json.dumps([md, digest, new_version_of], sort_keys=True, default=str).encode()).hexdigest()
    )
    body: dict[str, Any] = {"key": key, "provenance": prov, "notebook": nb, "theme": theme, "registrar": registrar}
    if new_version_of:
        v = client.new_version(new_version_of, md, **body)
    else:
        v = client.create(md, groups=groups, **body)
    if v["state"] != "published":
        if isinstance(ds_or_path, xr.Dataset):
            path = _write_annotated(ds_or_path, md, prov, steps, v, digest)
            sha = sha256_file(path, progress=progress)
        else:
            sha = digest
        client.upload(v["id"], v["version"], path, sha256=sha, progress=progress)
        if publish:
            v = client.publish(v["id"], v["version"])
        else:
            v = client.get(v["id"], v["version"])
    from . import catalog

    catalog.refresh()  # the VRE catalogue includes the repository's: show the new dataset at once
    return _as_deposit(client, v)


def _require_file(path: str) -> None:
    """:func:`conventions.require` on a file deposited as it is; a refusal also says how to have the VRE write
    the attributes from the metadata instead."""
    from .publishing import conventions

    try:
        conventions.require(path)
    except conventions.ConventionsError as exc:
        exc.args = (
            f"{exc}\nOr let the deposit write them from your metadata (coverage and bounds computed from "
            f"the data): publish.deposit({path!r}, metadata, annotate=True), or on the command line "
            f"odatis-vre publish {path} --metadata meta.yaml --annotate.",
        )
        raise


class _opened:
    """A NetCDF file or Zarr folder opened lazily as an ``xarray.Dataset`` for the time of a deposit."""

    def __init__(self, path: Any):
        self.path = Path(path)

    def __enter__(self) -> Any:
        import xarray as xr

        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or folder; give a NetCDF file or a Zarr folder")
        self.ds = xr.open_zarr(self.path) if self.path.is_dir() else xr.open_dataset(self.path)
        return self.ds

    def __exit__(self, *exc: Any) -> None:
        self.ds.close()


def _require_publishable(annotated: Any) -> None:
    """:func:`conventions.require` on a Dataset annotated from the user's metadata; a refusal names the
    metadata fields to add (``creators[].email``, ``platform``...), not the attributes they give."""
    from .publishing import conventions, datafacts

    try:
        conventions.require(annotated)
    except conventions.ConventionsError as exc:
        raise datafacts.metadata_refusal(exc) from None


def _annotated(
    ds: Any, md: dict[str, Any], prov: list[dict[str, Any]], steps: list[dict[str, Any]], v: dict[str, Any] | None
) -> Any:
    """``ds`` with ACDD attributes computed from its data, the user's metadata and the deposit's DOI."""
    from .publishing import datafacts

    pub = (v or {}).get("publisher") or {}
    return datafacts.annotate(
        ds,
        md,
        doi=(v or {}).get("doi") or "10.5072/pending",
        landing_url=(v or {}).get("landing_url") or "https://example.org/pending/",
        provenance=prov,
        steps=steps,
        created=_stamp((v or {}).get("created")),
        publisher_url=pub.get("url"),
        publisher_email=pub.get("email"),
    )


def _stamp(created: str | None) -> str | None:
    """The deposit's creation time as ACDD writes dates (``2026-01-02T10:00:00Z``): a retry writes the same file."""
    import datetime as dt

    if not created:
        return None
    t = dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_annotated(
    ds: Any, md: dict[str, Any], prov: list[dict[str, Any]], steps: list[dict[str, Any]], v: dict[str, Any], digest: str
) -> Path:
    """The NetCDF file of a deposit (cached per data and deposit: a resumed deposit uploads the same file)."""
    dest = _cache_dir() / digest[:16] / f"{v['id']}.v{v['version']}" / f"{_slug(md['title'])}.nc"
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        _write_netcdf(_annotated(ds, md, prov, steps, v), dest)
    return dest


def _read_metadata(metadata: Any) -> dict[str, Any]:
    """The user's metadata as written (a dict, or a YAML file), before checks."""
    import yaml

    from .publishing.metadata import MetadataError

    if isinstance(metadata, dict):
        return dict(metadata)
    p = Path(metadata)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataError([f"{p}: no such file; write the metadata as YAML (see docs/repository.md)"]) from None
    except yaml.YAMLError as exc:
        raise MetadataError(
            [
                f"{p}: not valid YAML ({exc}); fix the file: `key: value` lines, lists in [ ] or "
                f"as `- item` lines (docs/repository.md has an example)"
            ]
        ) from None
    if not isinstance(data, dict):
        raise MetadataError([f"{p}: the file must hold a YAML mapping (title: ..., creators: ...)"])
    return data


def _is_dataset_like(obj: Any) -> bool:
    try:
        import xarray as xr
    except ImportError:
        return False
    return isinstance(obj, xr.Dataset) or (isinstance(obj, (str, os.PathLike)) and Path(obj).exists())


def _is_zarr_dir(obj: Any) -> bool:
    """A Zarr store given as a folder (it is zipped before the upload)."""
    return isinstance(obj, (str, os.PathLike)) and Path(obj).is_dir()


def _as_deposit(client: Any, v: dict[str, Any]) -> Deposit:
    base = f"{client.url}datasets/{v['id']}/v{v['version']}/"
    citation = bib = ""
    if v.get("doi"):
        citation = client._request("GET", f"datasets/{v['id']}/v{v['version']}/citation.txt").text.strip()
        bib = client._request("GET", f"datasets/{v['id']}/v{v['version']}/citation.bib").text.strip()
    return Deposit(
        id=v["id"],
        version=v["version"],
        doi=v.get("doi"),
        landing_url=v.get("landing_url") or base,
        state=v["state"],
        citation=citation,
        bibtex=bib,
        registered="NOT REGISTERED" not in citation,
        files=v.get("files") or [],
        catalog_entry=f"repo_{v['id']}_v{v['version']}",
        scores=v.get("scores") or {},
    )
