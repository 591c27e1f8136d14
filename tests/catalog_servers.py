"""Stand-ins of the pole's data services, served from 127.0.0.1, for the catalogue's tests.

One aiohttp application serves a local copy built by :func:`odatis_vre.data.mirror.build_local_copy`:

* ``/gdac/...``        plain HTTP files (Argo GDAC layout, index files), with Range requests;
* ``/copernicus/...``  Zarr stores over HTTP (what the Copernicus Marine ARCO service serves);
* ``/erddap/tabledap/<id>.csv?cols&constraints`` ERDDAP-style CSV (header, units line, rows),
  with ERDDAP's constraint syntax (``col>=v``, ``col="text"``, ``distinct()``) and its 404
  "no matching results"; ``/erddap/tabledap/<id>.das``;
* ``/erddap/griddap/<id>`` and ``/thredds/dodsC/<path>`` a small **OPeNDAP (DAP2)** server
  (``.dds``, ``.das``, ``.dods`` with ``[start:stride:stop]`` hyperslabs) over NetCDF files;
* ``/seanoe/...`` SEANOE's record API and file server (:mod:`standins.seanoe`);
* ``/obis/v3/occurrence`` the OBIS occurrence API: ``scientificname``, ``taxonid``, ``datasetid``,
  ``geometry`` (WKT polygon, filtered on its bounding box), ``startdate``/``enddate``,
  ``startdepth``/``enddepth``, ``size`` (≤ 10 000) and ``after`` (records after that id, in id
  order) → ``{"total": n, "results": [...]}``.

Written for these tests (xpublish-opendap gave wrong strided reads on this stack, see
/work/shared/probes.md); the tests compare strided reads with xarray's own indexing.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))
from standins.seanoe import SeanoeStandin  # noqa: E402

# ----------------------------------------------------------------------------- ERDDAP tabledap

_CONSTRAINT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(>=|<=|!=|=~|=|<|>)(.*)$")


def erddap_table(frame: pd.DataFrame, query: str, time_cols: tuple[str, ...] = ("time", "date")) -> pd.DataFrame:
    """Apply an ERDDAP tabledap query (already URL-decoded) to a table."""
    parts = query.split("&") if query else [""]
    cols = [c for c in parts[0].split(",") if c] or list(frame.columns)
    unknown = [c for c in cols if c not in frame.columns]
    if unknown:
        raise web.HTTPBadRequest(
            text=f'Error {{ code=400; message="Bad Request: Query error: Unrecognized variable={unknown[0]}"; }}'
        )
    df = frame
    distinct = False
    for part in parts[1:]:
        if part == "distinct()":
            distinct = True
            continue
        m = _CONSTRAINT.match(part)
        if not m or m.group(1) not in frame.columns:
            raise web.HTTPBadRequest(
                text=f'Error {{ code=400; message="Bad Request: Query error: bad constraint {part}"; }}'
            )
        col, op, val = m.groups()
        series = df[col]
        if col in time_cols:
            series = pd.to_datetime(series, utc=True)
            text = val.strip('"')
            try:  # ERDDAP takes a time as ISO 8601 or as seconds since 1970-01-01T00:00:00Z (erddapy sends those)
                value: Any = pd.Timestamp(float(text), unit="s", tz="UTC")
            except ValueError:
                value = pd.Timestamp(text)
                value = value.tz_localize("UTC") if value.tzinfo is None else value
        elif val.startswith('"'):
            value = val.strip('"')
            series = series.astype(str)
        else:
            value = float(val)
        if op == "=~":
            mask = series.astype(str).str.fullmatch(str(value))
        else:
            mask = {
                ">=": series >= value,
                "<=": series <= value,
                ">": series > value,
                "<": series < value,
                "=": series == value,
                "!=": series != value,
            }[op]
        df = df[mask]
    df = df[cols]
    if distinct:
        df = df.drop_duplicates().sort_values(cols)
    return df


def erddap_csv(df: pd.DataFrame, units: dict[str, str]) -> str:
    header = ",".join(df.columns)
    unit_line = ",".join(units.get(c, "") for c in df.columns)
    body = df.to_csv(index=False, header=False)
    return header + "\n" + unit_line + "\n" + body


# ----------------------------------------------------------------------------- OPeNDAP (DAP2)

_DAP_TYPES = {
    "f4": ("Float32", ">f4"),
    "f8": ("Float64", ">f8"),
    "i4": ("Int32", ">i4"),
    "i2": ("Int32", ">i4"),
    "i1": ("Int32", ">i4"),
    "i8": ("Int32", ">i4"),
    "u1": ("Byte", "u1"),
    "u2": ("UInt32", ">u4"),
    "u4": ("UInt32", ">u4"),
}


def _dap_type(var: xr.Variable) -> tuple[str, str] | None:
    return _DAP_TYPES.get(var.dtype.str[1:])


def _slices(spec: str, shape: tuple[int, ...]) -> tuple[slice, ...]:
    found = re.findall(r"\[([^\]]*)\]", spec)
    if not found:
        return tuple(slice(0, n, 1) for n in shape)
    out = []
    for dim, text in zip(shape, found):
        nums = [int(x) for x in text.split(":")]
        if len(nums) == 1:
            start, stride, stop = nums[0], 1, nums[0]
        elif len(nums) == 2:
            start, stride, stop = nums[0], 1, nums[1]
        else:
            start, stride, stop = nums
        if not (0 <= start <= stop < dim) or stride < 1:
            raise web.HTTPBadRequest(text=f'Error {{ code = 1001; message = "bad hyperslab {text} for size {dim}"; }}')
        out.append(slice(start, stop + 1, stride))
    return tuple(out)


def _dds_line(name: str, var: xr.Variable, shape: tuple[int, ...]) -> str:
    typ = _dap_type(var)[0]
    dims = "".join(f"[{d} = {n}]" for d, n in zip(var.dims, shape))
    return f"    {typ} {name}{dims};\n"


def _das_value(v: Any) -> tuple[str, str] | None:
    if isinstance(v, (bytes, str)):
        s = v.decode() if isinstance(v, bytes) else v
        return "String", '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    arr = np.atleast_1d(np.asarray(v))
    if arr.dtype.kind == "f":
        typ = "Float32" if arr.dtype.itemsize == 4 else "Float64"
        return typ, ", ".join("NaN" if np.isnan(x) else repr(float(x)) for x in arr)
    if arr.dtype.kind in "iub":
        return "Int32", ", ".join(str(int(x)) for x in arr)
    return None


@dataclass
class DapDataset:
    """A NetCDF file served through DAP2 (raw values; the client decodes CF)."""

    path: Path
    ds: xr.Dataset = field(init=False)

    def __post_init__(self) -> None:
        self.ds = xr.open_dataset(self.path, decode_cf=False, mask_and_scale=False, decode_times=False).load()

    def _vars(self) -> dict[str, xr.Variable]:
        return {k: v for k, v in self.ds.variables.items() if _dap_type(v) is not None}

    def dds(self, selection: list[tuple[str, tuple[slice, ...]]] | None = None) -> str:
        vars_ = self._vars()
        out = "Dataset {\n"
        if selection is None:
            for name, var in vars_.items():
                out += _dds_line(name, var, var.shape)
        else:
            for name, sl in selection:
                var = vars_[name]
                shape = tuple(len(range(*s.indices(n))) for s, n in zip(sl, var.shape))
                out += _dds_line(name, var, shape)
        return out + f"}} {self.path.stem};\n"

    def das(self) -> str:
        out = "Attributes {\n"
        for name, var in self._vars().items():
            out += f"    {name} {{\n"
            for k, v in var.attrs.items():
                tv = _das_value(v)
                if tv:
                    out += f"        {tv[0]} {k} {tv[1]};\n"
            out += "    }\n"
        out += "    NC_GLOBAL {\n"
        for k, v in self.ds.attrs.items():
            tv = _das_value(v)
            if tv:
                out += f"        {tv[0]} {k} {tv[1]};\n"
        return out + "    }\n}\n"

    def parse(self, constraint: str) -> list[tuple[str, tuple[slice, ...]]]:
        vars_ = self._vars()
        if not constraint:
            return [(n, tuple(slice(0, s, 1) for s in v.shape)) for n, v in vars_.items()]
        out = []
        for item in re.findall(r"[^,\[]+(?:\[[^\]]*\])*", constraint):
            name = item.split("[")[0].strip()
            name = name.split(".")[-1]  # Grid.Array → Array
            if name not in vars_:
                raise web.HTTPNotFound(text=f'Error {{ code = 1001; message = "No such variable {name}"; }}')
            out.append((name, _slices(item, vars_[name].shape)))
        return out

    def dods(self, constraint: str) -> bytes:
        sel = self.parse(constraint)
        body = [self.dds(sel).encode(), b"Data:\n"]
        vars_ = self._vars()
        for name, sl in sel:
            var = vars_[name]
            values = np.asarray(var.values)[sl] if var.ndim else np.asarray(var.values)
            typ, wire = _dap_type(var)
            data = values.astype(wire).tobytes()
            if var.ndim == 0:
                body.append(data if typ != "Byte" else data + b"\0\0\0")
                continue
            n = values.size
            body.append(struct.pack(">II", n, n))
            body.append(data)
            if typ == "Byte" and n % 4:
                body.append(b"\0" * (4 - n % 4))
        return b"".join(body)


# ----------------------------------------------------------------------------- OBIS


def obis_page(records: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """Answer an OBIS ``/occurrence`` query over ``records`` (sorted by ``id``)."""
    out = records
    if query.get("scientificname"):
        names = {n.strip().lower() for n in query["scientificname"].split(",")}
        out = [r for r in out if str(r.get("scientificName", "")).lower() in names]
    if query.get("taxonid"):
        ids = {int(x) for x in query["taxonid"].split(",")}
        out = [r for r in out if r.get("aphiaID") in ids]
    if query.get("datasetid"):
        out = [r for r in out if r.get("dataset_id") == query["datasetid"]]
    if query.get("geometry"):
        nums = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", query["geometry"])]
        if not query["geometry"].upper().startswith("POLYGON") or len(nums) < 8:
            raise web.HTTPBadRequest(text=json.dumps({"message": "geometry: a WKT POLYGON is expected"}))
        xs, ys = nums[0::2], nums[1::2]
        out = [
            r for r in out if min(xs) <= r["decimalLongitude"] <= max(xs) and min(ys) <= r["decimalLatitude"] <= max(ys)
        ]
    for key, keep in (("startdate", lambda d, v: d[:10] >= v), ("enddate", lambda d, v: d.split("/")[0][:10] <= v)):
        if query.get(key):
            out = [r for r in out if keep(r["eventDate"], query[key][:10])]
    for key, keep in (("startdepth", lambda d, v: d >= v), ("enddepth", lambda d, v: d <= v)):
        if query.get(key):
            out = [r for r in out if keep(r["depth"], float(query[key]))]
    total = len(out)
    if query.get("after"):
        out = [r for r in out if r["id"] > query["after"]]
    size = min(int(query.get("size", 5000)), 10_000)
    return {"total": total, "results": out[:size]}


# ----------------------------------------------------------------------------- the server

UNITS = {
    "time": "UTC",
    "date": "UTC",
    "latitude": "degrees_north",
    "longitude": "degrees_east",
    "pres": "decibar",
    "temp": "degree_Celsius",
    "psal": "PSU",
    "depth": "m",
    "doxy_adjusted": "micromole/kg",
    "chla_adjusted": "mg/m3",
}


class DataServer:
    """All stand-ins on one free loopback port, in a background thread.

    >>> server = DataServer(copy_root).start()       # doctest: +SKIP
    >>> server.mirror()["https://data-argo.ifremer.fr"]  # doctest: +SKIP
    'http://127.0.0.1:40123/gdac'
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.tables: dict[str, pd.DataFrame] = {}
        self.dap: dict[str, DapDataset] = {}
        self.requests: list[str] = []
        self.seanoe = SeanoeStandin(self.root / "seanoe")
        self._obis: list[dict[str, Any]] | None = None
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def mirror(self) -> dict[str, str]:
        from odatis_vre.data import mirror

        return mirror.for_server(self.url)

    def _table(self, dataset_id: str) -> pd.DataFrame:
        if dataset_id not in self.tables:
            path = self.root / "erddap" / "tabledap" / f"{dataset_id}.csv"
            if not path.exists():
                raise web.HTTPNotFound(
                    text=f'Error {{ code=404; message="Not Found: Currently unknown datasetID={dataset_id}"; }}'
                )
            self.tables[dataset_id] = pd.read_csv(path, dtype={"platform_number": str})
        return self.tables[dataset_id]

    def _dap(self, key: str) -> DapDataset:
        if key not in self.dap:
            if key.startswith("erddap/griddap/"):
                path = self.root / (key + ".nc")
            else:
                path = self.root / key
            if not path.exists():
                raise web.HTTPNotFound(text=f'Error {{ code = 404; message = "no such dataset {key}"; }}')
            self.dap[key] = DapDataset(path)
        return self.dap[key]

    async def tabledap(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        dataset_id, _, ext = name.rpartition(".")
        frame = self._table(dataset_id)
        if ext == "das":
            return web.Response(text="Attributes {\n" + "".join(f"  {c} {{\n  }}\n" for c in frame.columns) + "}\n")
        if ext != "csv":
            raise web.HTTPBadRequest(text=f"this stand-in answers .csv and .das, not .{ext}")
        query = urllib.parse.unquote(request.rel_url.raw_query_string)
        df = erddap_table(frame, query)
        if df.empty:
            raise web.HTTPNotFound(
                text='Error {\n    code=404;\n    message="Not Found: Your query produced no matching results. (nRows = 0)";\n}\n'
            )
        return web.Response(text=erddap_csv(df, UNITS), content_type="text/csv")

    async def opendap(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        prefix = "erddap/griddap/" if request.path.startswith("/erddap/griddap/") else "thredds/dodsC/"
        for ext in (".dods", ".dds", ".das", ".html"):
            if path.endswith(ext):
                key, kind = prefix + path[: -len(ext)], ext
                break
        else:
            raise web.HTTPBadRequest(text="ask for .dds, .das or .dods")
        ds = self._dap(key)
        constraint = urllib.parse.unquote(request.rel_url.raw_query_string)
        headers = {"XDODS-Server": "DODS/2.0", "XOPeNDAP-Server": "odatis-vre-test/1.0"}
        if kind == ".dds":
            sel = ds.parse(constraint) if constraint else None
            return web.Response(text=ds.dds(sel), headers={**headers, "Content-Description": "dods-dds"})
        if kind == ".das":
            return web.Response(text=ds.das(), headers={**headers, "Content-Description": "dods-das"})
        if kind == ".html":
            return web.Response(text="<html>OPeNDAP stand-in</html>", content_type="text/html")
        return web.Response(
            body=ds.dods(constraint),
            content_type="application/octet-stream",
            headers={**headers, "Content-Description": "dods-data"},
        )

    async def obis(self, request: web.Request) -> web.Response:
        if self._obis is None:
            path = self.root / "obis" / "occurrences.json"
            self._obis = sorted(json.loads(path.read_text()), key=lambda r: r["id"]) if path.exists() else []
        return web.json_response(obis_page(self._obis, dict(request.query)))

    def app(self) -> web.Application:
        app = web.Application()

        @web.middleware
        async def log(request: web.Request, handler: Any) -> web.StreamResponse:
            self.requests.append(f"{request.method} {request.rel_url}")
            return await handler(request)

        app.middlewares.append(log)
        app.router.add_get("/erddap/tabledap/{name}", self.tabledap)
        app.router.add_get("/erddap/griddap/{path:.+}", self.opendap)
        app.router.add_get("/thredds/dodsC/{path:.+}", self.opendap)
        app.router.add_static("/gdac/", self.root / "gdac", show_index=True)
        app.router.add_static("/copernicus/", self.root / "copernicus")
        self.seanoe.add_routes(app, "/seanoe")
        app.router.add_get("/obis/v3/occurrence", self.obis)
        return app

    def preload(self) -> None:
        """Read every served NetCDF file now: the test's client reads OPeNDAP through netCDF4 in this
        same process, and xarray's netCDF4 lock would deadlock a server opening files on demand."""
        for path in sorted((self.root / "erddap" / "griddap").glob("*.nc")):
            self._dap(f"erddap/griddap/{path.stem}")
        for path in sorted((self.root / "thredds" / "dodsC").rglob("*.nc")):
            self._dap(str(path.relative_to(self.root)))

    def start(self) -> DataServer:
        self.preload()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        app = self.app()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.SockSite(self._runner, sock)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="catalog-standins", daemon=True)
        self._thread.start()
        if not ready.wait(20):
            raise RuntimeError("the stand-in data server did not start within 20 s")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
