"""Benchmark: open + search over a 2 000-entry catalogue (target: < 100 ms median).

Generates ``benchmarks/data/catalog-2000.yaml`` (entries shaped like the real ones, themes,
boxes and periods varied deterministically), then times, side by side in one run:

* baseline — plain ``intake.open_catalog`` + a naive loop over every entry's metadata;
* odatis_vre cold — :func:`odatis_vre.catalog.open` with no index cache (libyaml parse + index) + search;
* odatis_vre warm — the same with the index cache (what a user gets from the second open on).

Run: ``python benchmarks/bench_catalog.py [--entries 2000] [--runs 7]``; ``--daily [--runs 3]`` times
opening the 730 daily files of ``sample_sst_daily`` instead (open_mfdataset vs the cached file index).

``--harvested [--entries 20000] [--runs 9] [--baseline-sizes 2000,5000,20000] [--baseline-budgets 900,1800,1800]
[--baseline-budgets-ttl 900,1800,3600]``:
the pole's whole catalogue at ten times Sextant's size. Records are harvested once from the CSW
stand-in (``tests/standins/csw.py``, on 127.0.0.1) with ``odatis_vre.data.harvest`` and repeated under new
names up to ``--entries``, each copy with an abstract as long as a real record's (common words and a
Zipf tail of rarer ones, so that the vocabulary grows as a real catalogue's does); the curated
catalogue includes the result. Times, in one run: ``catalog.search`` cold (a new user's first open:
the harvest's index beside the file, no user cache) and warm for every kind of query (words already
searched, and words never searched before), the explorer's picker, a new process; then, side by side
at each baseline size, plain ``intake.open_catalog`` + a loop search (in a child process, stopped
after its budget and reported as such) against ``catalog.search`` cold and warm, with the hits compared.
Plain intake runs twice: as it comes (its catalogues have a 60 s ``ttl``: past that, the next access
reads the whole file again, which at these sizes happens over and over during one loop) and with
``ttl=None`` (read once).
The machine's load average is printed with each table.

Each mode prints its section of docs/benchmarks.md at the end (the tables of this run, its command line, the
load average at the start and the end); ``--write-docs [FILE]`` also writes it into docs/benchmarks.md (or
``FILE``), replacing that mode's section: ``## Catalogue — open + search (issue 3)``, ``## Catalogue — opening
one entry's daily NetCDF files (issue 3)``, ``## Catalogue — search over a harvested catalogue (issue 16)``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from docs_section import Report, add_docs_argument, counted, thousands, verdict  # noqa: E402  (benchmarks/, the script's own folder)

#: The targets: open + search, warm (issue 3); search over a harvested catalogue, warm and cold (issue 16).
TARGET_MS = 100.0
TARGET_WARM_MS = 50.0
TARGET_COLD_MS = 1000.0

THEMES = {
    "physics": [
        "sea_water_temperature",
        "sea_water_salinity",
        "sea_surface_height_above_sea_level",
        "eastward_sea_water_velocity",
    ],
    "biogeochemistry": [
        "mass_concentration_of_chlorophyll_a_in_sea_water",
        "sea_water_ph_reported_on_total_scale",
        "moles_of_oxygen_per_unit_mass_in_sea_water",
    ],
    "in_situ": ["sea_water_temperature", "sea_water_practical_salinity", "sea_water_pressure"],
    "biology_imaging": ["number_concentration_of_biological_taxon_in_sea_water"],
}
WORDS = [
    "Argo",
    "mooring",
    "glider",
    "cruise",
    "CTD",
    "ferrybox",
    "satellite",
    "model",
    "reanalysis",
    "climatology",
    "Bay of Biscay",
    "Mediterranean",
    "Channel",
    "North Atlantic",
    "Iroise",
    "coastal",
    "ocean colour",
    "SOMLIT",
]


def make_catalogue(path: Path, n: int, seed: int = 42) -> Path:
    rng = random.Random(seed)
    sources = {}
    for i in range(n):
        theme = rng.choice(list(THEMES))
        w = round(rng.uniform(-180, 170), 2)
        s = round(rng.uniform(-80, 70), 2)
        y0 = rng.randint(1950, 2024)
        words = rng.sample(WORDS, 3)
        vars_ = rng.sample(THEMES[theme], min(2, len(THEMES[theme])))
        sources[f"dataset_{i:05d}"] = {
            "description": f"{' '.join(words)} observations number {i}",
            "driver": "netcdf",
            "args": {"urlpath": f"https://data.example.org/{theme}/{i:05d}.nc", "chunks": {}},
            "metadata": {
                "title": f"{words[0]} {theme.replace('_', ' ')} dataset {i}",
                "theme": theme,
                "producer": rng.choice(["Ifremer", "CNRS", "IRD", "SHOM", "Météo-France"]),
                "data_centre": rng.choice(["Coriolis", "SISMER", "AERIS", "CNES/AVISO"]),
                "licence": "CC-BY-4.0",
                "doi": f"10.17882/{10000 + i}",
                "landing_page": f"https://www.seanoe.org/data/{i}/",
                "citation": f"Producer ({y0}). {words[0]} dataset {i}. SEANOE. https://doi.org/10.17882/{10000 + i}",
                "bbox": [
                    w,
                    s,
                    round(min(w + rng.uniform(0.5, 40), 180), 2),
                    round(min(s + rng.uniform(0.5, 30), 90), 2),
                ],
                "time_range": [
                    f"{y0}-01-01",
                    None if rng.random() < 0.3 else f"{min(y0 + rng.randint(0, 10), 2026)}-12-31",
                ],
                "variables": [{"name": v.split("_")[-1], "standard_name": v, "units": "1"} for v in vars_],
                "access": {"protocol": "https-netcdf", "login": False},
                "keywords": words,
            },
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"metadata": {"version": 1}, "sources": sources}, sort_keys=False))
    return path


QUERY = dict(text="temperature", bbox=(-10.0, 40.0, 0.0, 52.0), time=("2010-01-01", "2020-12-31"))


def _ms(x: float) -> str:
    """Milliseconds for the docs: two decimals below 1, one below 1 000, whole numbers above (``1 991``)."""
    return f"{x:.2f}" if x < 1 else f"{x:.1f}" if x < 1000 else thousands(x)


def _query(q: dict[str, Any]) -> str:
    """A query for the docs: its text in backquotes, then e.g. ``box (-10.0, 40.0, 0.0, 52.0)``,
    ``period 2010-01-01 – 2020-12-31``."""
    out = []
    for k, v in q.items():
        if k == "text":
            out.append(f"`{v}`")
        elif k == "bbox":
            out.append(f"box {tuple(v)}")
        elif k == "time":
            out.append(f"period {v[0] or '…'} – {v[1] or '…'}")
        elif k == "variables":
            out.append("variables " + ", ".join(f"`{x}`" for x in v))
        elif k == "limit":
            out.append(f"limit {v}")
        else:
            out.append(f"{k.replace('_', ' ')} `{v}`")
    return ", ".join(out)


def baseline(path: Path) -> int:
    """Plain intake: open, then loop over every entry's metadata."""
    import intake

    cat = intake.open_catalog(str(path))
    w, s, e, n = QUERY["bbox"]
    out = []
    for name in cat:
        md = cat[name].metadata
        blob = " ".join(
            [
                name,
                md.get("title", ""),
                cat[name].description or "",
                " ".join(v.get("standard_name", "") for v in md.get("variables", [])),
            ]
        ).lower()
        if QUERY["text"] not in blob:
            continue
        bw, bs, be, bn = md["bbox"]
        if be < w or bw > e or bn < s or bs > n:
            continue
        t0, t1 = md["time_range"]
        if (t1 or "9999") < QUERY["time"][0] or t0 > QUERY["time"][1]:
            continue
        out.append(name)
    return len(out)


def ours(path: Path, use_cache: bool) -> int:
    from odatis_vre import catalog

    cat = catalog.open(path, use_cache=use_cache)
    return len(catalog.search(catalog=cat, **QUERY))


def timeit(fn, runs: int, cpu: list[float] | None = None) -> tuple[float, float, int]:  # noqa: ANN001
    """``(median ms, min ms, last result)`` of ``runs`` calls; ``cpu`` receives the median CPU time
    (this process) in ms: the work itself, whatever the other processes on the machine do."""
    times, cpus, result = [], [], 0
    for _ in range(runs):
        c = time.process_time()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    if cpu is not None:
        cpu.append(statistics.median(cpus) * 1000)
    return statistics.median(times) * 1000, min(times) * 1000, result


def main(args: argparse.Namespace) -> None:
    """Open + search over ``args.entries`` generated entries: plain intake vs ours, cold and warm."""
    rep = Report("## Catalogue — open + search (issue 3)", "bench_catalog.py")
    path = make_catalogue(HERE / "data" / f"catalog-{args.entries}.yaml", args.entries)
    os.environ["ODATIS_VRE_CACHE_DIR"] = tempfile.mkdtemp(prefix="odatis-bench-cache-")
    import intake  # noqa: F401  (imports outside the timings, as in a running kernel)
    import jsonschema  # noqa: F401

    from odatis_vre import catalog  # noqa: F401

    ours(path, True)  # fill the cache once
    rows = [
        ("plain intake.open_catalog + loop search", *timeit(lambda: baseline(path), args.baseline_runs)),
        ("odatis_vre open+search, cold (no cache)", *timeit(lambda: ours(path, False), args.runs)),
        ("odatis_vre open+search, warm (index cache)", *timeit(lambda: ours(path, True), args.runs)),
    ]
    mb = path.stat().st_size / 1e6
    print(f"\nOpen + search over {args.entries} entries ({mb:.1f} MB YAML); query: {QUERY}")
    print(f"{'method':<44} {'median ms':>10} {'min ms':>9} {'hits':>6}")
    for name, med, mn, hits in rows:
        print(f"{name:<44} {med:>10.1f} {mn:>9.1f} {hits:>6}")
    assert rows[0][3] == rows[1][3] == rows[2][3], "the methods disagree on the hits"
    base, cold, warm = (r[1] for r in rows)
    print(
        f"target < {TARGET_MS:.0f} ms (warm): {'MET' if warm < TARGET_MS else 'MISSED'}; "
        f"speed-up vs baseline: {base / warm:.0f}x warm, {base / cold:.1f}x cold"
    )
    labels = [
        f"plain `intake.open_catalog` + loop over `cat[name].metadata` (baseline, {counted(args.baseline_runs, 'run')})",
        f"`odatis_vre.catalog.open` + `search`, cold (no index cache: libyaml parse + index; {counted(args.runs, 'run')})",
        f"`odatis_vre.catalog.open` + `search`, warm (index cache; {counted(args.runs, 'run')})",
    ]
    rep.table(
        ["method", "median ms", "min ms", "hits"],
        [
            (label, f"**{_ms(med)}**" if i == 2 else _ms(med), _ms(mn), thousands(hits))  # the warm median in bold
            for i, (label, (_, med, mn, hits)) in enumerate(zip(labels, rows))
        ],
    )
    rep.text(
        f"Target < {TARGET_MS:.0f} ms median (warm): {verdict(warm < TARGET_MS)} ({_ms(warm)} ms), with the index "
        f"cache (the first open after a change to the file pays the cold cost once). Speed-up vs plain intake: "
        f"{thousands(base / warm)}× warm, {base / cold:.1f}× cold."
    )
    rep.write(
        args.write_docs,
        f"Data: a generated {thousands(args.entries)}-entry catalogue (`benchmarks/data/{path.name}`, {mb:.1f} MB YAML). "
        f"Query: {_query(QUERY)}. Medians of {counted(args.runs, 'run')} ({args.baseline_runs} for plain intake), the three "
        f"methods side by side in one run, after one untimed open that fills the index cache; all three return the "
        f"same {thousands(rows[2][3])} hits (the script asserts it).",
    )


def daily_files(runs: int, docs: str | None = None) -> None:
    """Open the 730 daily NetCDF files of ``sample_sst_daily``: ``xr.open_mfdataset`` (with the
    entry's former options) vs :func:`odatis_vre.data.drivers.open_files_indexed`, cold (index
    built) and warm (index cached), and ``catalog.load("sample_sst_daily")``; checks the datasets are
    identical. Writes the section into ``docs`` if given (``--write-docs``)."""
    rep = Report("## Catalogue — opening one entry's daily NetCDF files (issue 3)", "bench_catalog.py")
    import glob

    import xarray as xr

    from odatis_vre import catalog
    from odatis_vre.data import samples
    from odatis_vre.data.drivers import open_files_indexed

    samples.make_all(progress=False)
    files = sorted(glob.glob(str(HERE.parent / "catalog" / "data" / "sst_daily" / "*.nc")))

    def mf() -> Any:
        return xr.open_mfdataset(
            files, combine="by_coords", data_vars="minimal", coords="minimal", compat="override", chunks={}
        )

    def cold() -> object:
        os.environ["ODATIS_VRE_CACHE_DIR"] = tempfile.mkdtemp(prefix="odatis-bench-idx-")
        return open_files_indexed(files)

    ref = mf()
    xr.testing.assert_identical(ref, open_files_indexed(files))
    rows = [
        ("xr.open_mfdataset (baseline)", *timeit(mf, runs)[:2]),
        ("open_files_indexed, cold (builds the index)", *timeit(cold, runs)[:2]),
        ("open_files_indexed, warm (index cached)", *timeit(lambda: open_files_indexed(files), runs)[:2]),
        ("catalog.load('sample_sst_daily'), warm", *timeit(lambda: catalog.load("sample_sst_daily"), runs)[:2]),
    ]
    print(f"\nOpen {len(files)} daily NetCDF files (sample_sst_daily); datasets identical: yes")
    print(f"{'method':<44} {'median ms':>10} {'min ms':>9} {'vs baseline':>12}")
    for name, med, mn in rows:
        print(f"{name:<44} {med:>10.1f} {mn:>9.1f} {rows[0][1] / med:>11.1f}x")
    labels = [
        '`xr.open_mfdataset(combine="by_coords", data_vars/coords="minimal", compat="override", chunks={})` (baseline)',
        "`open_files_indexed`, cold (builds the index)",
        "`open_files_indexed`, warm (index cached)",
        '`catalog.load("sample_sst_daily")`, warm',
    ]
    rep.table(
        ["method", "median ms", "min ms", "vs baseline"],
        [(label, _ms(med), _ms(mn), f"{rows[0][1] / med:.1f}×") for label, (_, med, mn) in zip(labels, rows)],
    )
    mf_ms, cold_ms, warm_ms, load_ms = (r[1] for r in rows)
    rep.text(
        f"No target. Speed-up vs `xr.open_mfdataset`: **{mf_ms / warm_ms:.1f}×** with the index cached "
        f"({_ms(warm_ms)} ms vs {_ms(mf_ms)} ms), {mf_ms / cold_ms:.1f}× when building the index (cold), "
        f"{mf_ms / load_ms:.1f}× through `catalog.load`."
    )
    mb = sum(Path(f).stat().st_size for f in files) / 1e6
    rep.write(
        docs,
        f"Data: the {thousands(len(files))} daily NetCDF files of `sample_sst_daily` (`catalog/data/sst_daily/`, "
        f"{mb:.1f} MB in all). Medians of {counted(runs, 'run')}, the four methods side by side in one run; the cold runs "
        f"each start from an empty index cache. The dataset of `open_files_indexed` is checked identical to "
        f"`xr.open_mfdataset`'s (`xr.testing.assert_identical`) before the timings.",
    )


#: Words of real ocean-data abstracts (common ones), mixed into the generated abstracts below.
OCEAN_WORDS = (
    "the of and in from to for with by on at as data dataset datasets measurements observations "
    "temperature salinity pressure depth sea surface water ocean oceanic coastal marine current currents "
    "velocity wave waves height level tide tidal chlorophyll oxygen nitrate phosphate silicate carbon "
    "alkalinity ph turbidity fluorescence plankton phytoplankton zooplankton fish benthic sediment "
    "bathymetry mooring moorings buoy float floats glider gliders profile profiles cruise cruises ctd "
    "adcp xbt argo satellite altimetry radiometer model reanalysis climatology monthly daily hourly "
    "annual seasonal interannual gridded interpolated quality controlled processed raw calibrated "
    "validated real-time delayed-mode near-real-time network programme project campaign station "
    "stations transect section deployment recovered instrument sensor sensors resolution spatial "
    "temporal vertical horizontal north south east west atlantic mediterranean channel biscay iroise "
    "pacific indian southern arctic tropical gulf bay estuary shelf slope basin open french european "
    "ifremer cnrs ird shom cnes coriolis sismer seanoe seadatanet copernicus emodnet odatis"
).split()


def _enrich(entry: dict, rng: random.Random, zipf: list[int], vocab: int) -> dict:  # noqa: F821
    """A copy of a harvested entry whose abstract is as long as a real record's (~120 words), with
    common words and a long tail of rarer ones (Zipf-distributed pseudo-words): the stand-in's
    one-line abstracts would make the vocabulary, hence the search, unrealistically small."""
    import copy

    out = copy.deepcopy(entry)
    words = []
    for _k in range(120):
        if rng.random() < 0.6:
            words.append(rng.choice(OCEAN_WORDS))
        else:
            r = zipf[rng.randrange(len(zipf))] % vocab
            words.append(_pseudo_word(r))
    out["description"] = f"{entry.get('description', '')} {' '.join(words)}."
    return out


def _pseudo_word(r: int) -> str:
    syll = ("ka", "ro", "mi", "te", "sa", "lu", "ne", "po", "vi", "da", "ge", "bo", "fi", "zu", "ha", "qe")
    out = []
    r += 1
    while r:
        r, d = divmod(r, len(syll))
        out.append(syll[d])
    return "".join(out)


def _harvested_catalogue(n: int) -> Path:
    """``benchmarks/data/harvested-<n>/``: the curated catalogue including ``n`` harvested entries.

    Records are harvested once from the CSW stand-in (2 200 records, loopback) and repeated under new
    names up to ``n``, each copy with its own long abstract (:func:`_enrich`).
    """
    import json
    import shutil

    import numpy as np

    from odatis_vre.data import harvest

    folder = HERE / "data" / f"harvested-v2-{n}"
    main = folder / "odatis.yaml"
    if main.exists() and (folder / "harvested" / "sextant.yaml").exists():
        return main
    seed = HERE / "data" / "harvested-seed" / "sextant.yaml"
    if not seed.exists():
        sys.path.insert(0, str(HERE.parent / "tests"))
        from standins.csw import CswStandin, generate

        csw = CswStandin(generate(2200)).start()
        try:
            harvest.harvest(
                csw.url, seed, filters=[{"property": "Subject", "equals": "ODATIS"}], min_interval=0, progress=False
            )
        finally:
            csw.stop()
    base = json.loads(seed.read_text())["sources"]
    rng = random.Random(16)
    zipf = np.random.default_rng(16).zipf(1.15, size=200_000).tolist()
    sources: dict = {}
    copy = 0
    while len(sources) < n:
        for name, entry in base.items():
            if len(sources) >= n:
                break
            sources[f"{name}_{copy}" if copy else name] = _enrich(entry, rng, zipf, 400_000)
        copy += 1
    (folder / "harvested").mkdir(parents=True, exist_ok=True)
    harvest.write_catalogue(folder / "harvested" / "sextant.yaml", sources)
    shutil.copy(HERE.parent / "catalog" / "odatis.yaml", main)
    return main


def baseline_all(paths: list[Path], **open_kwargs: Any) -> tuple[int, float]:
    """Plain intake over several catalogue files (first file wins a name), the same matching rules as ours:
    ``(hits, seconds spent in intake.open_catalog)``."""
    import intake

    w, s, e, n = QUERY["bbox"]
    seen, out, opening = set(), 0, 0.0
    for path in paths:
        t = time.perf_counter()
        cat = intake.open_catalog(str(path), **open_kwargs)
        opening += time.perf_counter() - t
        for name in cat:
            if name in seen:
                continue
            seen.add(name)
            md = cat[name].metadata
            blob = " ".join(
                [
                    name,
                    str(md.get("title", "")),
                    " ".join(map(str, md.get("keywords") or [])),
                    " ".join(
                        " ".join(str(v.get(k) or "") for k in ("name", "standard_name", "long_name"))
                        for v in md.get("variables") or []
                    ),
                    cat[name].description or "",
                    str(md.get("producer") or ""),
                    str(md.get("data_centre") or ""),
                    str(md.get("theme") or ""),
                ]
            ).lower()
            if QUERY["text"] not in blob or not md.get("bbox") or not md.get("time_range"):
                continue
            bw, bs, be, bn = md["bbox"]
            if be < w or bw > e or bn < s or bs > n:
                continue
            t0, t1 = md["time_range"]
            if (t1 or "9999") < QUERY["time"][0] or (t0 or "0000") > QUERY["time"][1]:
                continue
            out += 1
    return out, opening


def _baseline_worker(args: list[str]) -> None:
    """``--baseline-worker TTL MAIN HARVESTED``: one timed plain-intake open + loop search, JSON on stdout.

    ``TTL`` is ``default`` (intake's own: a catalogue older than 60 s is read again at its next access)
    or ``none`` (``ttl=None``: read once)."""
    import json

    import intake  # noqa: F401  (imported before the clock starts, as in a running kernel)

    ttl, paths = args[0], args[1:]
    t = time.perf_counter()
    hits, opening = baseline_all([Path(p) for p in paths], **({} if ttl == "default" else {"ttl": None}))
    print(json.dumps({"ms": (time.perf_counter() - t) * 1000, "open_ms": opening * 1000, "hits": hits}))


def _baseline(main: Path, hfile: Path, budget: float, ttl: str) -> dict[str, Any] | None:
    """Plain intake in a child process, stopped after ``budget`` seconds: ``{ms, open_ms, hits}`` or ``None``
    (a budget of 0: not run)."""
    import json
    import subprocess

    if budget <= 0:
        return None

    try:
        res = subprocess.run(
            [sys.executable, __file__, "--baseline-worker", ttl, str(main), str(hfile)],
            capture_output=True,
            text=True,
            timeout=budget,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def harvested(
    n: int, runs: int, sizes: list[int], budgets: list[float], budgets_ttl: list[float], docs: str | None = None
) -> None:
    """Search over the curated catalogue + ``n`` harvested entries (every query kind, warm and with words
    never searched, cold, the explorer's picker), then plain intake at each of ``sizes``, as it comes
    (within ``budgets``) and with ``ttl=None`` (within ``budgets_ttl``). Writes the section into ``docs``
    if given (``--write-docs``)."""
    rep = Report("## Catalogue — search over a harvested catalogue (issue 16)", "bench_catalog.py")
    import inspect
    import subprocess

    main = _harvested_catalogue(n)
    hfile = main.parent / "harvested" / "sextant.yaml"
    os.environ["ODATIS_VRE_CACHE_DIR"] = tempfile.mkdtemp(prefix="odatis-bench-cache-")
    import intake  # (imports outside the timings, as in a running kernel)

    from odatis_vre import catalog
    from odatis_vre.explore import explorer

    #: intake's own ``ttl`` (s): a catalogue older than that is read again at its next access
    ttl_s = inspect.signature(intake.catalog.Catalog.__init__).parameters["ttl"].default

    queries = {
        "text+box+period": QUERY,
        "two words": dict(text="sea temperature"),
        "three words": dict(text="argo float salinity"),
        "one letter (worst case)": dict(text="e"),
        "rare word": dict(text="kasaro"),
        "box": dict(bbox=(-10.0, 40.0, 0.0, 52.0)),
        "period": dict(time=("2010-01-01", "2012-12-31")),
        "theme+centre": dict(theme="in_situ", data_centre="coriolis"),
        "centre with a space": dict(data_centre="ocean colour"),
        "variable": dict(variables=["temperature"]),
        "everything, limit 20": dict(text="sea", bbox=(-180, -90, 180, 90), time=(None, None), limit=20),
    }

    def cold() -> int:
        catalog._PARTS.clear()
        os.environ["ODATIS_VRE_CACHE_DIR"] = tempfile.mkdtemp(prefix="odatis-bench-cold-")
        return len(catalog.search(catalog=catalog.open(main), **QUERY))

    cat = catalog.open(main)
    big = cat.parts[-1].columns
    mb = hfile.stat().st_size / 1e6
    n_tokens, vocab_mb = len(big.vstarts), len(big.vocab) / 1e6
    postings_m = sum(len(v) for v in big.prows.values()) / 1e6
    print(
        f"\nSearch over the curated catalogue + {n} harvested entries ({mb:.1f} MB; "
        f"vocabulary {n_tokens} tokens, {vocab_mb:.1f} MB; postings {postings_m:.1f} M); {_load()}"
    )
    print(f"{'method':<60} {'median ms':>10} {'min ms':>9} {'cpu ms':>8} {'hits':>6}", flush=True)
    rows = []  # (label, median ms, min ms, hits, cpu ms, label in the docs)

    def row(label: str, fn, k: int, doc: str) -> None:  # noqa: ANN001
        cpu: list[float] = []
        rows.append((label, *timeit(fn, k, cpu), cpu[0], doc))
        print(f"{label:<60} {rows[-1][1]:>10.1f} {rows[-1][2]:>9.1f} {cpu[0]:>8.1f} {rows[-1][3]:>6}", flush=True)

    row(
        "open+search, cold (index beside file, no user cache)",
        cold,
        runs,
        "open + search, cold (index beside the file, no user cache): text + box + period",
    )
    for label, q in queries.items():
        row(
            f"search warm: {label}",
            lambda q=q: len(catalog.search(catalog=cat, **q)),
            runs,
            f"search warm, {label}: {_query(q)}",
        )

    def fresh_words(q: dict) -> int:  # the catalogue open, but none of the words searched before
        for part in cat.parts:
            part.columns.forget()
        return len(catalog.search(catalog=cat, **q))

    for label, q in queries.items():
        row(
            f"search, words never searched: {label}",
            lambda q=q: fresh_words(q),
            runs,
            f"words never searched before, {label}: {_query(q)}",
        )
    row(
        "catalog.search(..., catalog=path) (re-open from memory)",
        lambda: len(catalog.search(**QUERY, catalog=str(main))),
        runs,
        "`catalog.search(..., catalog=path)` (re-open from memory)",
    )
    row(
        "explorer picker, empty query (50 shown)",
        lambda: len(explorer.mappable_entries("", catalog=cat)),
        runs,
        "explorer picker: empty query (hits: the entries shown)",
    )

    def picker_typing() -> int:  # one keystroke more: a word never searched
        for part in cat.parts:
            part.columns.forget()
        return len(explorer.mappable_entries("temperat", catalog=cat))

    row("explorer picker, 'temperat' never searched", picker_typing, runs, "explorer picker: `temperat` never searched")
    assert rows[0][3] == rows[1][3] == rows[1 + len(queries)][3] == rows[1 + 2 * len(queries)][3], (
        "cold, warm, words never searched and re-open disagree on the hits"
    )
    # a new process: interpreter, imports, first open and first search (what `odatis-vre catalog search` costs)
    proc_q = dict(text="temperature", bbox=(-10, 40, 0, 52))
    code = (
        f"import time; t=time.perf_counter(); from odatis_vre import catalog; "
        f"h=catalog.search(**{proc_q!r}, catalog=catalog.open({str(main)!r})); "
        f"print((time.perf_counter()-t)*1000, len(h))"
    )
    env = dict(os.environ, ODATIS_VRE_CACHE_DIR=tempfile.mkdtemp(prefix="odatis-bench-proc-"))
    procs, proc_hits = [], 0
    for _ in range(max(3, runs // 3)):
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        ms, proc_hits = res.stdout.split()[:2]
        procs.append(float(ms))
    print(
        f"{'new process: imports + open + search':<60} {statistics.median(procs):>10.1f} {min(procs):>9.1f}", flush=True
    )
    warm = [r for r in rows if r[0].startswith(("search", "explorer"))]
    worst = max(warm, key=lambda r: r[1])
    print(
        f"targets: warm < {TARGET_WARM_MS:.0f} ms {'MET' if worst[1] < TARGET_WARM_MS else 'MISSED'} "
        f"(worst median {worst[1]:.1f} ms: {worst[0]}); "
        f"cold < {TARGET_COLD_MS / 1000:.0f} s {'MET' if rows[0][1] < TARGET_COLD_MS else 'MISSED'} "
        f"({rows[0][1]:.0f} ms); {_load()}",
        flush=True,
    )
    table = [
        # the two medians the targets are about in bold: cold, and the worst warm one
        (doc, f"**{_ms(med)}**" if i == 0 or rows[i] is worst else _ms(med), _ms(mn), _ms(cpu), thousands(hits))
        for i, (_, med, mn, hits, cpu, doc) in enumerate(rows)
    ]
    table.append(
        (
            f"a new process: interpreter + imports + open + search ({_query(proc_q)}; {counted(len(procs), 'run')})",
            _ms(statistics.median(procs)),
            _ms(min(procs)),
            "",  # not this process's CPU
            thousands(int(proc_hits)),
        )
    )
    rep.table(["method", "median ms", "min ms", "CPU ms", "hits"], table)
    rep.text(
        f"Targets: warm < {TARGET_WARM_MS:.0f} ms {verdict(worst[1] < TARGET_WARM_MS)} (worst median {_ms(worst[1])} ms: "
        f"{worst[5]}); cold < {TARGET_COLD_MS / 1000:.0f} s {verdict(rows[0][1] < TARGET_COLD_MS)} "
        f"({_ms(rows[0][1])} ms; {_ms(statistics.median(procs))} ms for a whole new Python process)."
    )
    about = (
        f"Data: the curated catalogue ({thousands(len(cat) - len(cat.parts[-1]))} entries) including a harvested "
        f"catalogue of {thousands(len(cat.parts[-1]))} entries (`{hfile.relative_to(HERE.parent)}`, {mb:.1f} MB; "
        f"vocabulary {thousands(n_tokens)} tokens, {vocab_mb:.1f} MB; {postings_m:.1f} M postings), made by harvesting the "
        f"CSW stand-in's records once (`odatis_vre.data.harvest`, loopback) and repeating them under new names, "
        f"each copy with an abstract as long as a real record's. Medians of {counted(runs, 'run')} ({len(procs)} for a new "
        f"process), every row in this one run; CPU ms is this process's median CPU time (the work itself, "
        f"whatever else the machine runs). Cold, warm, words never searched and re-open return the same hits "
        f"for the query {_query(QUERY)} (the script asserts it)."
    )
    if not sizes:
        rep.write(docs, about)
        return

    # side by side with plain intake, at each size, each within its time budget (a child process, stopped)
    print(f"\nPlain intake.open_catalog + loop search vs odatis_vre (query {QUERY}); {_load()}")
    print(
        f"plain intake: as it comes (ttl {ttl_s} s: a catalogue older than that is read again at its next access), "
        "and with ttl=None; times in s, the opening's share in brackets"
    )
    print(
        f"{'entries':>8} {'intake (ttl ' + str(ttl_s) + ' s)':>22} {'intake ttl=None':>22} {'odatis cold ms':>15} "
        f"{'odatis warm ms':>15} {'hits':>6} {'speed-up warm':>14}",
        flush=True,
    )

    def cell(res: dict[str, Any] | None, budget: float, hits: int) -> str:
        if res is None:
            return f"> {budget:.0f} (stopped)" if budget > 0 else "not run"
        assert res["hits"] == hits, f"plain intake and odatis_vre disagree on the hits ({res['hits']} vs {hits})"
        return f"{res['ms'] / 1000:.1f} ({res['open_ms'] / 1000:.1f})"

    def doc_cell(res: dict[str, Any] | None, budget: float) -> str:
        if res is None:
            return f"> {budget:.0f} s (stopped by its budget)" if budget > 0 else "not run (budget 0)"
        return f"{res['ms'] / 1000:.1f} s ({res['open_ms'] / 1000:.1f} s opening)"

    doc_rows = []
    for size, budget, budget_ttl in zip(sizes, budgets, budgets_ttl):
        m = _harvested_catalogue(size)
        h = m.parent / "harvested" / "sextant.yaml"
        catalog._PARTS.clear()
        c = catalog.open(m)

        def cold_s(m: Path = m) -> int:
            catalog._PARTS.clear()
            os.environ["ODATIS_VRE_CACHE_DIR"] = tempfile.mkdtemp(prefix="odatis-bench-cold-")
            return len(catalog.search(catalog=catalog.open(m), **QUERY))

        cold_ms, _, hits = timeit(cold_s, runs)
        warm_ms = timeit(lambda c=c: len(catalog.search(catalog=c, **QUERY)), runs)[0]
        as_is = _baseline(m, h, budget, "default")
        no_ttl = _baseline(m, h, budget_ttl, "none")
        best = min([r["ms"] for r in (as_is, no_ttl) if r] or [max(budget, budget_ttl) * 1000])
        ratio = f"{best / warm_ms:.0f}x" if (as_is or no_ttl) else f"> {best / warm_ms:.0f}x"
        print(
            f"{size:>8} {cell(as_is, budget, hits):>22} {cell(no_ttl, budget_ttl, hits):>22} {cold_ms:>15.1f} "
            f"{warm_ms:>15.1f} {hits:>6} {ratio:>14}   ({_load()})",
            flush=True,
        )
        doc_rows.append(
            (
                thousands(size),
                doc_cell(as_is, budget),
                doc_cell(no_ttl, budget_ttl),
                _ms(cold_ms),
                _ms(warm_ms),
                thousands(hits),
                ("" if (as_is or no_ttl) else "> ") + f"{thousands(best / warm_ms)}×",
            )
        )
    rep.text(
        f"Plain `intake.open_catalog` + a loop search over the entries (the same query and matching rules), side "
        f"by side with ours in the same run at each size, each plain intake run in a child process stopped after "
        f"its budget (a budget of 0: not run). Plain intake as it comes re-reads a catalogue older than its `ttl` ({ttl_s} s) at the next "
        f"access, which at these sizes happens over and over during one loop; with `ttl=None` it reads it once. "
        f"Times in s, the opening's share in brackets; ours: medians of {counted(runs, 'run')} (cold: a new user, no user "
        f"cache). Where plain intake finished, both return the same hits (the script asserts it)."
    )
    rep.table(
        [
            "entries",
            f"plain intake, as it comes (ttl {ttl_s} s)",
            "plain intake, `ttl=None`",
            "ours cold ms",
            "ours warm ms",
            "hits",
            "ours warm vs best plain intake",
        ],
        doc_rows,
        align="rrrrrrr",
    )
    rep.write(docs, about)


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Catalogue benchmarks (issues 3 and 16); see the module's docstring.")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--daily", action="store_true", help="time opening the daily NetCDF files of sample_sst_daily")
    mode.add_argument("--harvested", action="store_true", help="time search over a harvested catalogue")
    ap.add_argument(
        "--entries", type=int, default=None, help="catalogue entries (default 2000; 20000 with --harvested)"
    )
    ap.add_argument(
        "--runs", type=int, default=None, help="timed runs per method (default 7; 3 with --daily, 9 with --harvested)"
    )
    ap.add_argument("--baseline-runs", type=int, default=3, help="runs of plain intake (default mode)")
    ap.add_argument(
        "--baseline-sizes",
        default="2000,5000,20000",
        help="--harvested: catalogue sizes at which plain intake is timed (comma-separated; '' for none)",
    )
    ap.add_argument(
        "--baseline-budgets",
        default="900,1800,1800",
        help="--harvested: seconds plain intake (as it comes, ttl 60 s) gets at each size before it is stopped",
    )
    ap.add_argument(
        "--baseline-budgets-ttl",
        default="900,1800,3600",
        help="--harvested: seconds plain intake with ttl=None gets at each size before it is stopped",
    )
    add_docs_argument(ap)
    a = ap.parse_args()
    if a.entries is None:
        a.entries = 20000 if a.harvested else 2000
    if a.runs is None:
        a.runs = 9 if a.harvested else 3 if a.daily else 7
    a.sizes = [int(x) for x in a.baseline_sizes.split(",") if x]
    a.budgets = [float(x) for x in a.baseline_budgets.split(",") if x]
    a.budgets_ttl = [float(x) for x in a.baseline_budgets_ttl.split(",") if x]
    if a.harvested and not len(a.budgets) == len(a.budgets_ttl) == len(a.sizes):
        ap.error("--baseline-budgets and --baseline-budgets-ttl need one number per size in --baseline-sizes")
    return a


if __name__ == "__main__":
    if "--baseline-worker" in sys.argv:
        _baseline_worker(sys.argv[sys.argv.index("--baseline-worker") + 1 :])
    else:
        args = _args()
        if args.harvested:
            harvested(args.entries, args.runs, args.sizes, args.budgets, args.budgets_ttl, args.write_docs)
        elif args.daily:
            daily_files(args.runs, args.write_docs)
        else:
            main(args)
