"""Local mirrors: read a remote catalogue entry from a local copy with the same layout.

A mirror maps the root of a remote service to another root, e.g.
``https://data-argo.ifremer.fr`` → ``http://127.0.0.1:8765/gdac``. It is given as JSON in
``$ODATIS_VRE_MIRROR`` (or as ``mirror={...}`` to :func:`odatis_vre.catalog.load`). The longest
matching prefix wins. Copernicus Marine datasets use the pseudo-root ``copernicusmarine://``.

:func:`build_local_copy` writes, from the offline samples, a tree that imitates each provider
(Argo GDAC files and index files, ERDDAP tables and grids, an OceanSITES THREDDS file, Copernicus
Marine Zarr stores); ``tests/catalog_servers.py`` serves it over HTTP / ERDDAP CSV / OPeNDAP / Zarr.

Example
-------
>>> rewrite("https://data-argo.ifremer.fr/dac/coriolis/6901234/6901234_prof.nc",
...         {"https://data-argo.ifremer.fr": "http://127.0.0.1:8765/gdac"})
'http://127.0.0.1:8765/gdac/dac/coriolis/6901234/6901234_prof.nc'
>>> rewrite("https://elsewhere.org/x.nc", {"https://data-argo.ifremer.fr": "http://127.0.0.1:8765/gdac"})
'https://elsewhere.org/x.nc'
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

ENV = "ODATIS_VRE_MIRROR"

#: The remote roots the catalogue uses, and where :func:`build_local_copy` puts each copy
#: (relative to the served root).
ROOTS = {
    "https://data-argo.ifremer.fr": "gdac",
    "https://erddap.ifremer.fr/erddap": "erddap",
    "https://tds0.ifremer.fr/thredds": "thredds",
    "copernicusmarine://": "copernicus/",
    "https://www.seanoe.org": "seanoe",
    "https://api.obis.org": "obis",
}

#: Bump when :func:`build_local_copy` writes something new, so older copies are rebuilt.
COPY_VERSION = 2


class MirrorError(ValueError):
    """``$ODATIS_VRE_MIRROR`` is not valid JSON mapping URL roots to URL roots."""


def mapping(mirror: dict[str, str] | None = None) -> dict[str, str]:
    """The active mapping: ``mirror`` if given, else ``$ODATIS_VRE_MIRROR`` (JSON), else ``{}``."""
    if mirror is not None:
        return dict(mirror)
    text = os.environ.get(ENV, "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MirrorError(
            f"${ENV} is not valid JSON ({exc}); expected e.g. "
            '{"https://data-argo.ifremer.fr": "http://127.0.0.1:8765/gdac"}'
        ) from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise MirrorError(f"${ENV} must be a JSON object of strings (remote root → local root)")
    return value


def rewrite(url: str, mirror: dict[str, str] | None = None) -> str:
    """``url`` with its longest mirrored root replaced (unchanged when nothing matches)."""
    if not isinstance(url, str):
        return url
    m = mapping(mirror)
    best = max((k for k in m if url.startswith(k)), key=len, default=None)
    if best is None:
        return url
    target = m[best]
    rest = url[len(best) :]
    if target.endswith("/") and rest.startswith("/"):
        rest = rest[1:]
    return target + rest


def for_server(base_url: str) -> dict[str, str]:
    """The mapping that sends every remote root of the catalogue to a server of a local copy.

    >>> for_server("http://127.0.0.1:9000")["copernicusmarine://"]
    'http://127.0.0.1:9000/copernicus/'
    """
    base = base_url.rstrip("/")
    return {remote: f"{base}/{local}" for remote, local in ROOTS.items()}


# ----------------------------------------------------------------------------- local copies

GDAC_HEADER = """# Title : Profile directory file of the Argo Global Data Assembly Center
# Description : The directory file describes all individual profile files of the argo GDAC ftp site.
# Project : ARGO
# Format version : 2.0
# Date of update : 20261124000000
# FTP root number 1 : ftp://ftp.ifremer.fr/ifremer/argo/dac
# FTP root number 2 : ftp://usgodae.org/pub/outgoing/argo/dac
# GDAC node : CORIOLIS (odatis-vre local copy: synthetic data)
"""

#: Where each Copernicus dataset's local Zarr copy comes from (sample, renames, extra).
COPERNICUS_COPIES = {
    "METOFFICE-GLO-SST-L4-NRT-OBS-SST-V2": "sst_kelvin",
    "cmems_mod_glo_phy-thetao_anfc_0.083deg_P1D-m": "thetao",
    "cmems_obs-sl_glo_phy-ssh_nrt_allsat-l4-duacs-0.25deg_P1D": "sla",
    "cmems_obs-oc_glo_bgc-plankton_my_l4-gapfree-multi-4km_P1D": "chl",
    "cmems_obs-mob_glo_bgc-car_my_irr-i": "carbon",
}


def _fmt_date(values: Any) -> list[str]:
    import pandas as pd

    return [pd.Timestamp(v).strftime("%Y%m%d%H%M%S") for v in values]


def build_local_copy(root: str | Path, samples_dir: str | Path | None = None, force: bool = False) -> Path:
    """Write provider-shaped copies of the samples under ``root``; return ``root``.

    Layout: ``gdac/`` (Argo GDAC: ``dac/coriolis/<wmo>/<wmo>_prof.nc`` in NetCDF-3 as the GDAC
    ships them, ``ar_index_global_prof.txt[.gz]``, ``argo_bio-profile_index.txt.gz``,
    ``argo_synthetic-profile_index.txt.gz``), ``erddap/tabledap/<id>.csv`` (full tables the ERDDAP
    stand-in filters), ``erddap/griddap/<id>.nc``, ``thredds/dodsC/...`` (NetCDF files served by
    OPeNDAP), ``copernicus/<dataset_id>`` (Zarr stores), ``seanoe/`` (SEANOE API records
    ``api/find-by-id/<id>`` and their files ``data/<group>/<id>/data/<file>``, see
    :func:`write_seanoe_copies`), ``obis/occurrences.json`` (records the OBIS stand-in filters).
    """
    import numpy as np
    import pandas as pd
    import xarray as xr

    from . import samples

    root = Path(root)
    marker = root / f".complete-v{COPY_VERSION}"
    if marker.exists() and not force:
        return root
    src = Path(samples_dir) if samples_dir else samples.default_dest()
    samples.make_all(src, progress=False)
    argo = xr.open_dataset(src / "argo_profiles.nc").load()

    # --- Argo GDAC --------------------------------------------------------------------------
    gdac = root / "gdac"
    rows, bio_rows = [], []
    for wmo in np.unique(argo.PLATFORM_NUMBER.values):
        sel = argo.where(argo.PLATFORM_NUMBER == wmo, drop=True)
        sel["CYCLE_NUMBER"] = sel.CYCLE_NUMBER.astype("int32")
        folder = gdac / "dac" / "coriolis" / str(wmo)
        folder.mkdir(parents=True, exist_ok=True)
        sel.attrs["title"] = "Argo float vertical profile"
        sel.to_netcdf(
            folder / f"{wmo}_prof.nc",
            format="NETCDF3_CLASSIC",
            engine="scipy",
            encoding={"JULD": {"units": "days since 1950-01-01 00:00:00", "dtype": "float64"}},
        )
        for i in range(sel.sizes["N_PROF"]):
            cyc = int(sel.CYCLE_NUMBER.values[i])
            date = _fmt_date([sel.JULD.values[i]])[0]
            common = [
                date,
                f"{float(sel.LATITUDE.values[i]):.3f}",
                f"{float(sel.LONGITUDE.values[i]):.3f}",
                "A",
                "845",
                "IF",
            ]
            rows.append([f"coriolis/{wmo}/profiles/R{wmo}_{cyc:03d}.nc", *common, "20261124000000"])
            bio_rows.append(
                [
                    f"coriolis/{wmo}/profiles/BR{wmo}_{cyc:03d}.nc",
                    *common,
                    "PRES TEMP PSAL DOXY CHLA",
                    "RRRAA",
                    "20261124000000",
                ]
            )
    cols = "file,date,latitude,longitude,ocean,profiler_type,institution,date_update"
    text = GDAC_HEADER + cols + "\n" + "".join(",".join(r) + "\n" for r in rows)
    (gdac / "ar_index_global_prof.txt").write_text(text)
    (gdac / "ar_index_global_prof.txt.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    bcols = "file,date,latitude,longitude,ocean,profiler_type,institution,parameters,parameter_data_mode,date_update"
    btext = GDAC_HEADER + bcols + "\n" + "".join(",".join(r) + "\n" for r in bio_rows)
    (gdac / "argo_bio-profile_index.txt.gz").write_bytes(gzip.compress(btext.encode(), mtime=0))
    stext = btext.replace("/BR", "/SR").replace("RRRAA", "RRRAA")
    (gdac / "argo_synthetic-profile_index.txt.gz").write_bytes(gzip.compress(stext.encode(), mtime=0))

    # --- ERDDAP tabledap tables (full; the stand-in applies the constraints) -------------------------
    tab = root / "erddap" / "tabledap"
    tab.mkdir(parents=True, exist_ok=True)
    flat = argo[["PLATFORM_NUMBER", "CYCLE_NUMBER", "JULD", "LATITUDE", "LONGITUDE", "PRES", "TEMP", "PSAL"]]
    df = flat.to_dataframe().reset_index(drop=True)
    df = df.rename(
        columns={
            "PLATFORM_NUMBER": "platform_number",
            "CYCLE_NUMBER": "cycle_number",
            "JULD": "time",
            "LATITUDE": "latitude",
            "LONGITUDE": "longitude",
            "PRES": "pres",
            "TEMP": "temp",
            "PSAL": "psal",
        }
    )
    df["time"] = pd.to_datetime(df["time"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df.to_csv(tab / "ArgoFloats.csv", index=False)
    rng = np.random.default_rng(7)
    bgc = df.copy()
    bgc["doxy_adjusted"] = (
        250 + 30 * np.exp(-bgc.pres / 100) - 70 * np.exp(-(((bgc.pres - 900) / 300) ** 2)) + rng.normal(0, 2, len(bgc))
    ).round(2)
    bgc["chla_adjusted"] = (0.8 * np.exp(-(((bgc.pres - 30) / 25) ** 2)) + 0.01).round(4)
    bgc[
        ["platform_number", "cycle_number", "time", "latitude", "longitude", "pres", "doxy_adjusted", "chla_adjusted"]
    ].to_csv(tab / "ArgoFloats-synthetic-BGC.csv", index=False)
    idx = pd.DataFrame(rows, columns=cols.split(","))
    idx["date"] = pd.to_datetime(idx["date"], format="%Y%m%d%H%M%S").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    idx.drop(columns=["date_update"]).to_csv(tab / "ArgoFloats-index.csv", index=False)
    # a glider yo-yo section across the shelf break
    n = 2000
    t = pd.date_range("2023-05-01", periods=n, freq="2min")
    depth = 500 * np.abs(np.sin(np.linspace(0, 20 * np.pi, n)))
    glider = pd.DataFrame(
        {
            "platform_code": "SAMPLE-GLIDER-01",
            "time": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "latitude": np.linspace(46.0, 46.4, n).round(4),
            "longitude": np.linspace(-5.0, -4.2, n).round(4),
            "depth": depth.round(1),
            "temp": (16 - 6 * (1 - np.exp(-depth / 120))).round(3),
            "psal": (35.6 - 0.1 * np.exp(-depth / 200)).round(3),
        }
    )
    glider.to_csv(tab / "OceanGlidersGDACTrajectories.csv", index=False)

    # --- ERDDAP griddap: SeaDataCloud T/S climatology (monthly, depth levels) --------------------
    grid = root / "erddap" / "griddap"
    grid.mkdir(parents=True, exist_ok=True)
    sst = xr.open_zarr(src / "sst.zarr").analysed_sst.isel(time=slice(0, 365))
    monthly = sst.groupby("time.month").mean().load()
    dz = np.array([0.0, 10.0, 50.0, 100.0, 500.0, 1000.0])
    temp = (monthly.values[:, None] * np.exp(-dz / 800.0)[None, :, None, None] + 0.5).astype("float32")
    clim = xr.Dataset(
        {
            "Temperature": (
                ("time", "depth", "latitude", "longitude"),
                temp,
                {"standard_name": "sea_water_temperature", "units": "degree_Celsius"},
            ),
            "Salinity": (
                ("time", "depth", "latitude", "longitude"),
                (35.5 + 0.0 * temp + 0.2 * np.exp(-(((dz - 1000) / 300) ** 2))[None, :, None, None]).astype("float32"),
                {"standard_name": "sea_water_salinity", "units": "1e-3"},
            ),
        },
        coords={
            "time": pd.date_range("2010-01-01", periods=12, freq="MS") + pd.Timedelta(days=15),
            "depth": ("depth", dz, {"units": "m", "positive": "down", "standard_name": "depth"}),
            "latitude": (
                "latitude",
                monthly.lat.values.astype("float64"),
                {"units": "degrees_north", "standard_name": "latitude"},
            ),
            "longitude": (
                "longitude",
                monthly.lon.values.astype("float64"),
                {"units": "degrees_east", "standard_name": "longitude"},
            ),
        },
        attrs={"title": "SeaDataCloud T/S climatology (odatis-vre local copy, synthetic)"},
    )
    clim.to_netcdf(
        grid / "SDC_GLO_CLIM_TS_V2_2.nc", encoding={"time": {"units": "days since 1900-01-01", "dtype": "float64"}}
    )

    # --- OceanSITES on THREDDS (OPeNDAP) ---------------------------------------------------------
    os_dir = root / "thredds" / "dodsC" / "CORIOLIS-OCEANSITES-GDAC-OBS" / "DATA_GRIDDED" / "WHOTS"
    os_dir.mkdir(parents=True, exist_ok=True)
    moor = xr.open_dataset(src / "mooring_hourly.nc").load().rename({"time": "TIME"})
    moor = moor.isel(TIME=slice(0, 24 * 60))
    moor.to_netcdf(
        os_dir / "OS_WHOTS_200408-201809_D_MLTS-1H.nc",
        encoding={"TIME": {"units": "days since 1950-01-01", "dtype": "float64"}},
    )

    # --- Copernicus Marine ARCO (Zarr) -----------------------------------------------------------
    cm = root / "copernicus"
    cm.mkdir(parents=True, exist_ok=True)
    sst30 = xr.open_zarr(src / "sst.zarr").isel(time=slice(0, 30)).load()
    sst30 = sst30.rename({"lat": "latitude", "lon": "longitude"})
    chl = xr.open_dataset(src / "chl_monthly.nc").load().rename({"lat": "latitude", "lon": "longitude"})
    made = {
        "sst_kelvin": sst30.assign(
            analysed_sst=(sst30.analysed_sst + 273.15).assign_attrs(
                units="kelvin", standard_name="sea_surface_foundation_temperature"
            )
        ),
        "thetao": xr.Dataset(
            {
                "thetao": (
                    ("time", "depth", "latitude", "longitude"),
                    (sst30.analysed_sst.values[:, None] - np.array([0.0, 1.5, 4.0])[None, :, None, None]),
                    {"standard_name": "sea_water_potential_temperature", "units": "degrees_C"},
                )
            },
            coords={
                "time": sst30.time,
                "depth": ("depth", [0.494, 47.37, 222.5], {"units": "m"}),
                "latitude": sst30.latitude,
                "longitude": sst30.longitude,
            },
        ),
        "sla": xr.Dataset(
            {
                "sla": (
                    sst30.analysed_sst.dims,
                    ((sst30.analysed_sst - sst30.analysed_sst.mean("time")) * 0.04).values,
                    {"standard_name": "sea_surface_height_above_sea_level", "units": "m"},
                )
            },
            coords=sst30.coords,
        ),
        "chl": chl,
        "carbon": xr.Dataset(
            {
                "spco2": (
                    chl.CHL.dims,
                    (38 - 3 * np.log10(chl.CHL.fillna(1).values)).astype("float32"),
                    {"standard_name": "surface_partial_pressure_of_carbon_dioxide_in_sea_water", "units": "Pa"},
                ),
                "ph": (
                    chl.CHL.dims,
                    (8.07 + 0.01 * np.log10(chl.CHL.fillna(1).values)).astype("float32"),
                    {"standard_name": "sea_water_ph_reported_on_total_scale", "units": "1"},
                ),
            },
            coords=chl.coords,
        ),
    }
    import shutil

    for dataset_id, kind in COPERNICUS_COPIES.items():
        store = cm / dataset_id
        if store.exists():
            shutil.rmtree(store)
        ds = made[kind]
        enc = {v: {"units": "days since 1950-01-01", "dtype": "float64"} for v in ("time",) if v in ds.coords}
        ds.to_zarr(store, mode="w", consolidated=True, zarr_format=2, encoding=enc)

    write_seanoe_copies(root / "seanoe")
    write_obis_copy(root / "obis")
    marker.write_text("ok\n")
    return root


# ----------------------------------------------------------------------------- biology & imaging copies


def _write_seanoe_record(
    seanoe: Path, record_id: int, group: str, title: str, files: list[tuple[str, bytes, bool]], **extra: Any
) -> dict[str, Any]:
    """Write ``seanoe/api/find-by-id/<id>`` (the API's JSON) and the files it lists, in SEANOE's layout."""
    import hashlib

    entries = []
    for i, (name, content, open_access) in enumerate(files):
        file_id = record_id * 10 + i
        ext = name.rsplit(".", 1)[-1]
        rel = f"data/{group}/{record_id}/data/{file_id}.{ext}"
        path = seanoe / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        entries.append(
            {
                "id": file_id,
                "fileName": name,
                "fileUrl": f"https://www.seanoe.org/{rel}",
                "size": len(content),
                "checksum": hashlib.sha256(content).hexdigest(),
                "openAccess": open_access,
                "lastUpdateDate": f"2025-0{1 + i}-15T00:00:00Z",
                "label": {"en": name.rsplit(".", 1)[0].replace("_", " ")},
            }
        )
    record = {
        "id": record_id,
        "publicationDoi": f"10.17882/{record_id}",
        "title": {"en": title},
        "date": "2025-01-15",
        "authors": [{"name": "odatis-vre local copy (synthetic data)"}],
        "files": entries,
        **extra,
    }
    api = seanoe / "api" / "find-by-id"
    api.mkdir(parents=True, exist_ok=True)
    (api / str(record_id)).write_text(json.dumps(record, indent=1))
    return record


def write_seanoe_copies(seanoe: str | Path) -> Path:
    """SEANOE-shaped copies (synthetic values, real record numbers) of the catalogue's SEANOE entries.

    * 110112 — flow cytometry at SOMLIT-Astan / SOMLIT-Estacade (Roscoff), twice a month, long table
      (one row per sample and cytometric group: abundance, red fluorescence, side scatter);
    * 104948 — CytoSub automated flow cytometry at MAREL Carnot (Boulogne-sur-Mer), every 2 h;
    * 84672 — TEMPO image annotations (EMSO-Azores, Eiffel Tower): one row per annotation with the
      image name and URL, time, position, label (taxon) and count.

    Each record also lists a PDF note and a restricted file, as real records do.
    """
    import numpy as np
    import pandas as pd

    seanoe = Path(seanoe)
    rng = np.random.default_rng(11)
    pdf = b"%PDF-1.4\n% odatis-vre local copy: documentation placeholder\n"

    # --- 110112: SOMLIT Roscoff flow cytometry -------------------------------------------------
    groups = {
        "Prochlorococcus": 2e3,
        "Synechococcus": 2e4,
        "picoeukaryotes": 8e3,
        "nanoeukaryotes": 1.5e3,
        "cryptophytes": 3e2,
        "heterotrophic bacteria": 8e5,
    }
    rows = []
    for station, lat, lon, start in (
        ("SOMLIT-Astan", 48.778, -3.937, "2000-01-01"),
        ("SOMLIT-Estacade", 48.732, -3.983, "2008-01-01"),
    ):
        dates = pd.date_range(start, "2012-12-31", freq="SMS") + pd.Timedelta(hours=9)
        for t in dates:
            season = 1.0 + 0.8 * np.sin(2 * np.pi * (t.dayofyear - 100) / 365.25)
            for g, base in groups.items():
                rows.append(
                    [
                        station,
                        t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        lat,
                        lon,
                        1.0,
                        g,
                        round(float(base * season * rng.lognormal(0, 0.3)), 1),
                        round(float(rng.uniform(50, 5000)), 1),
                        round(float(rng.uniform(10, 900)), 1),
                    ]
                )
    cyto = pd.DataFrame(
        rows,
        columns=[
            "station",
            "time",
            "latitude",
            "longitude",
            "depth",
            "group",
            "abundance",
            "red_fluorescence",
            "side_scatter",
        ],
    )
    _write_seanoe_record(
        seanoe,
        110112,
        "00989",
        "Marine planktonic microorganisms abundances and optical properties "
        "obtained by flow cytometry (SOMLIT-Astan, SOMLIT-Estacade) [odatis-vre local copy]",
        [
            ("SOMLIT_Roscoff_flow_cytometry.csv", cyto.to_csv(index=False, sep=";").encode(), True),
            ("protocol.pdf", pdf, True),
            ("raw_fcs_files.zip", b"PK\x05\x06" + b"\0" * 18, False),
        ],
        geoExtendList=[{"west": -3.99, "south": 48.73, "east": -3.93, "north": 48.78}],
        temporalExtend={"begin": "2000-01-01", "end": "2012-12-31"},
    )

    # --- 104948: CytoSub at MAREL Carnot -------------------------------------------------------
    t = pd.date_range("2021-04-01", "2021-06-30", freq="2h")
    fg = ["RedPico", "OraPico", "RedNano", "OraNano", "RedMicro", "Crypto"]
    tab = pd.DataFrame(
        {
            "time": np.repeat(t.strftime("%Y-%m-%dT%H:%M:%SZ"), len(fg)),
            "latitude": 50.7422,
            "longitude": 1.5683,
            "depth": 1.0,
            "functional_group": np.tile(fg, len(t)),
            "abundance": np.round(rng.lognormal(6, 1, len(t) * len(fg)), 1),
            "total_red_fluorescence": np.round(rng.lognormal(8, 1, len(t) * len(fg)), 1),
        }
    )
    _write_seanoe_record(
        seanoe,
        104948,
        "00950",
        "High-frequency monitoring of phytoplankton functional groups using an "
        "automated flow cytometer at the MAREL CARNOT station [odatis-vre local copy]",
        [("MAREL_Carnot_CytoSub_2021.csv", tab.to_csv(index=False).encode(), True), ("README.pdf", pdf, True)],
    )

    # --- 84672: TEMPO image annotations, EMSO-Azores ---------------------------------------------
    times = pd.date_range("2012-07-23T00:00Z", "2019-06-10T00:00Z", freq="10D")
    labels = ["Bathymodiolus azoricus", "Segonzacia mesatlantica", "microbial mat", "bare substratum"]
    ann = []
    for ts in times:
        image = f"TEMPO_{ts:%Y%m%d_%H%M}.jpg"
        for lab in labels:
            n = int(rng.poisson(4 if lab == "Segonzacia mesatlantica" else 1))
            if n or lab != "Segonzacia mesatlantica":
                ann.append(
                    [
                        image,
                        f"https://www.seanoe.org/data/00735/84672/images/{image}",
                        ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        37.2893,
                        -32.2757,
                        1695.0,
                        lab,
                        n if lab == "Segonzacia mesatlantica" else 1,
                        round(float(rng.uniform(0, 40)), 2) if lab != "Segonzacia mesatlantica" else None,
                    ]
                )
    annotations = pd.DataFrame(
        ann, columns=["image", "image_url", "time", "latitude", "longitude", "depth", "label", "count", "cover_percent"]
    )
    _write_seanoe_record(
        seanoe,
        84672,
        "00735",
        "Compilation of image annotations and environmental data of 7 years of "
        "monitoring of hydrothermal assemblages using the TEMPO ecological module [odatis-vre local copy]",
        [
            ("TEMPO_annotations_2012-2019.csv", annotations.to_csv(index=False).encode(), True),
            ("TEMPO_images.zip", b"PK\x05\x06" + b"\0" * 18, False),
        ],
    )
    return seanoe


def write_obis_copy(obis: str | Path) -> Path:
    """``obis/occurrences.json``: OBIS-shaped occurrence records (Darwin Core fields) for the OBIS stand-in."""
    import numpy as np
    import pandas as pd

    obis = Path(obis)
    obis.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    taxa = [("Calanus helgolandicus", 104466), ("Acartia clausi", 149755), ("Noctiluca scintillans", 109391)]
    recs = []
    for k in range(3000):
        name, aphia = taxa[k % 3]
        t = pd.Timestamp("2010-01-01") + pd.Timedelta(days=int(rng.integers(0, 365 * 12)))
        recs.append(
            {
                "id": f"{k:08d}-0000-4000-8000-{k:012d}",
                "scientificName": name,
                "aphiaID": aphia,
                "scientificNameID": f"urn:lsid:marinespecies.org:taxname:{aphia}",
                "decimalLongitude": round(float(rng.uniform(-20, 5)), 4),
                "decimalLatitude": round(float(rng.uniform(35, 60)), 4),
                "eventDate": t.strftime("%Y-%m-%d") if k % 7 else f"{t:%Y-%m-%d}/{t + pd.Timedelta(days=2):%Y-%m-%d}",
                "depth": round(float(rng.uniform(0, 200)), 1),
                "individualCount": int(rng.integers(1, 500)),
                "basisOfRecord": "HumanObservation",
                "dataset_id": "00000000-odatis-vre-local-copy",
            }
        )
    (obis / "occurrences.json").write_text(json.dumps(recs))
    return obis
