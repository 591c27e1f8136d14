"""Copernicus Marine ARCO datasets through the ``copernicusmarine`` toolbox (free account needed:
``copernicusmarine login``), or a local mirror of them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from intake.source.base import DataSource, Schema

from .. import mirror as _mirror
from .base import AccessError

LOGIN_HINT = (
    "run `copernicusmarine login` once (free account at https://data.marine.copernicus.eu/register), "
    "or set COPERNICUSMARINE_SERVICE_USERNAME and COPERNICUSMARINE_SERVICE_PASSWORD"
)


def copernicus_credentials(environ: dict[str, str] | None = None) -> bool:
    """Whether Copernicus Marine credentials are set (environment, or the file `copernicusmarine login` writes)."""
    env = os.environ if environ is None else environ
    if env.get("COPERNICUSMARINE_SERVICE_USERNAME") and env.get("COPERNICUSMARINE_SERVICE_PASSWORD"):
        return True
    # where the toolbox (2.x) looks: <dir or home>/.copernicusmarine/.copernicusmarine-credentials, or a .netrc
    base = Path(env.get("COPERNICUSMARINE_CREDENTIALS_DIRECTORY") or Path.home())
    if (base / ".copernicusmarine" / ".copernicusmarine-credentials").is_file():
        return True
    netrc = Path.home() / ".netrc"
    try:
        return any(h in netrc.read_text() for h in ("marine.copernicus.eu", "cmems-du.eu"))
    except OSError:
        return False


class CopernicusMarineSource(DataSource):
    """A Copernicus Marine dataset opened lazily (ARCO Zarr) through the ``copernicusmarine`` toolbox.

    Needs the toolbox (``pip install copernicusmarine``) and a free account (``copernicusmarine login``).
    With ``$ODATIS_VRE_MIRROR`` mapping ``copernicusmarine://`` to a URL, the dataset is read from
    ``<that URL>/<dataset_id>`` as Zarr instead (local copies, tests).

    >>> src = CopernicusMarineSource("METOFFICE-GLO-SST-L4-NRT-OBS-SST-V2", variables=["analysed_sst"])
    >>> src.mirror_url() is None or src.mirror_url().endswith("METOFFICE-GLO-SST-L4-NRT-OBS-SST-V2")
    True
    """

    container = "xarray"
    name = "copernicusmarine"
    version = "1.0"
    partition_access = False

    def __init__(
        self,
        dataset_id: str,
        product_id: str | None = None,
        variables: list[str] | None = None,
        west: float | None = None,
        south: float | None = None,
        east: float | None = None,
        north: float | None = None,
        start: str | None = None,
        end: str | None = None,
        min_depth: float | None = None,
        max_depth: float | None = None,
        chunks: Any = None,
        mirror: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self.mirror = mirror
        self.dataset_id, self.product_id = dataset_id, product_id
        self.variables = list(variables or []) or None
        self.box = dict(west=west, south=south, east=east, north=north)
        self.start, self.end = start, end
        self.depth = (min_depth, max_depth)
        self.chunks = chunks
        self._ds = None
        super().__init__(metadata=metadata)

    def mirror_url(self) -> str | None:
        url = _mirror.rewrite(f"copernicusmarine://{self.dataset_id}", self.mirror)
        return None if url.startswith("copernicusmarine://") else url

    def _open(self) -> Any:
        local = self.mirror_url()
        if local is not None:
            import xarray as xr

            try:
                ds = xr.open_zarr(local, chunks=self.chunks if self.chunks is not None else {})
            except Exception as exc:
                raise AccessError(
                    f"Copernicus Marine mirror {local}: cannot open Zarr ({type(exc).__name__}: {exc})"
                ) from None
            return self._subset(ds)
        try:
            import copernicusmarine  # type: ignore[import-not-found]
        except ImportError:
            raise AccessError(
                f"Copernicus Marine dataset {self.dataset_id}: the `copernicusmarine` toolbox is not "
                f"installed. Install it (`pip install copernicusmarine`), then {LOGIN_HINT}."
            ) from None
        if not copernicus_credentials():
            # without them the toolbox would prompt for a password, which hangs a notebook or a service
            raise AccessError(f"Copernicus Marine dataset {self.dataset_id} needs a login: {LOGIN_HINT}.")
        b = self.box
        kwargs = dict(
            dataset_id=self.dataset_id,
            variables=self.variables,
            minimum_longitude=b["west"],
            maximum_longitude=b["east"],
            minimum_latitude=b["south"],
            maximum_latitude=b["north"],
            start_datetime=self.start,
            end_datetime=self.end,
            minimum_depth=self.depth[0],
            maximum_depth=self.depth[1],
        )
        try:
            return copernicusmarine.open_dataset(**{k: v for k, v in kwargs.items() if v is not None})
        except Exception as exc:  # the toolbox raises its own types; credentials problems name themselves
            text = f"{type(exc).__name__}: {exc}"
            if any(
                w in text.lower() for w in ("credential", "login", "password", "username", "unauthori", "401", "403")
            ):
                raise AccessError(
                    f"Copernicus Marine dataset {self.dataset_id} needs a login: {LOGIN_HINT}. ({text})"
                ) from None
            raise AccessError(f"Copernicus Marine dataset {self.dataset_id}: {text}") from None

    def _subset(self, ds: Any) -> Any:
        from ..query import subset_xarray

        if self.variables:
            ds = ds[self.variables]
        b = self.box
        bbox = None if b["west"] is None else (b["west"], b["south"], b["east"], b["north"])
        time = None if self.start is None and self.end is None else (self.start, self.end)
        return subset_xarray(ds, bbox=bbox, time=time)

    def _get_schema(self) -> Schema:
        if self._ds is None:
            self._ds = self._open()
        return Schema(
            datashape=None,
            dtype=None,
            shape=None,
            npartitions=None,
            extra_metadata={"dims": dict(self._ds.sizes), "data_vars": list(self._ds.data_vars)},
        )

    def to_dask(self) -> Any:
        """The lazy :class:`xarray.Dataset`."""
        self._load_metadata()
        return self._ds

    read = to_dask

    def _get_partition(self, i: int) -> Any:
        return self.to_dask()

    def _close(self) -> None:
        self._ds = None
