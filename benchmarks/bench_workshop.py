"""A 30-seat workshop starting at once: odatis-vre's workshop vs stock JupyterHub, side by side.

    .venv/bin/python benchmarks/bench_workshop.py [--seats 30] [--runs 1] [--timeout 300] [--write-docs [FILE]]

odatis-vre: ``workshop.create`` makes the seats (accounts with passwords, material, instructor
shares); stock JupyterHub 6.1 (DummyAuthenticator + SimpleLocalProcessSpawner, default settings but
``http_timeout`` 120 s: stock_hub.py) gets the same number of users through its REST API. Then a
bounded asyncio client (aiohttp, one task per participant, all at once) does what each participant's
browser does: open the login page, post the form, follow to the spawn page, poll the hub API
(``GET /hub/api/users/<me>``, cookie + XSRF, every 0.5 s) until the server is ready, then open
JupyterLab and call ``/user/<me>/api/status``. Every request's latency is recorded; an error is any
unexpected status, exception, or a seat not ready within ``--timeout``. On loopback only.
``--write-docs`` writes the section of docs/benchmarks.md (or FILE) from this run's numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import stock_hub  # noqa: E402
from docs_section import Report, add_docs_argument, verdict  # noqa: E402  (benchmarks/, the script's own folder)
from hub_runs import default_http_timeout, isolation, software  # noqa: E402

#: the stock hub's Spawner.http_timeout (--stock-timeout)
STOCK_HTTP_TIMEOUT = 120
from vre_testing import TEST_CONFIG, free_port, write_config  # noqa: E402

from odatis_vre import admin, config  # noqa: E402
from odatis_vre.admin import workshop  # noqa: E402
from odatis_vre.hub.stack import Stack  # noqa: E402
from odatis_vre.users import sysusers  # noqa: E402

os.environ["PATH"] = f"{REPO / '.tools' / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}"

#: the section's heading: the same whatever --seats (the section is replaced by heading; the seats are in it)
HEADING = "## A workshop starting at once (issues 7, 13)"
SEAT = "each seat's server"  # whose server the isolation sentence speaks of
#: seconds between two polls of the hub API by a participant waiting for their server
POLL_S = 0.5
#: targets (issues 7, 13): a 30-seat workshop all ready within 20 s with no error, hub API p99 below 250 ms
TARGET_SEATS = 30
TARGET_ALL_READY_S = 20.0
TARGET_API_P99_MS = 250.0
#: seconds any one request of a participant may take (more is an error)
REQUEST_TIMEOUT_S = 120


@dataclass
class Seat:
    login: str
    password: str


@dataclass
class Result:
    hub: str
    seats: int
    wall: float = 0.0  # first login → last server ready
    ready: list[float] = field(default_factory=list)  # per seat: login → api/status 200
    api_ms: list[float] = field(default_factory=list)  # /hub/api/* requests
    page_ms: list[float] = field(default_factory=list)  # login and spawn pages
    errors: list[str] = field(default_factory=list)
    setup: float = 0.0  # creating the seats
    teardown: float = 0.0  # `workshop end` (ours) / deleting users (stock)


# ---------------------------------------------------------------------------------------
# the two hubs


class OurHub:
    name = "odatis-vre workshop"

    def __init__(self, folder: Path, seats: int):
        # write_config: accounts of its own (multi-user mode when run as root, as `make up`), a traversable folder
        raw = config.deep_merge(
            TEST_CONFIG, {"hub": {"state_dir": str(folder / ".vre"), "concurrent_spawn_limit": 100}}
        )
        raw["profiles"] = raw["profiles"][:1]  # one profile: the spawn page starts the server (as stock)
        write_config(folder, raw)
        self.config_path = folder / "vre.yaml"
        self.stack = Stack(self.config_path)
        self.stack.start(timeout=120)
        self.url = self.stack.url
        self.hub = admin.HubClient(self.url, self.stack.token)
        t0 = time.perf_counter()
        ws = workshop.create(
            self.hub,
            self.config_path,
            "bench",
            seats=seats,
            material=str(REPO / "notebooks"),
            until=(date.today() + timedelta(days=1)).isoformat(),
            progress=False,
        )
        self.setup = time.perf_counter() - t0
        self.seats = [Seat(s.login, s.password or "") for s in ws.seats if s.role == "participant"]

    def stop(self) -> float:
        t0 = time.perf_counter()
        workshop.end(self.hub, self.config_path, "bench", progress=False)
        took = time.perf_counter() - t0
        try:
            self.stack.stop()
        finally:
            sysusers.purge(self.stack.cfg)
        return took


class StockHub:
    name = "stock JupyterHub"

    def __init__(self, folder: Path, seats: int):
        self.token = stock_hub.TOKEN
        self.url, self.proc, self.log = stock_hub.start(folder, free_port, http_timeout=STOCK_HTTP_TIMEOUT)
        t0 = time.perf_counter()
        self.seats = [Seat(f"bench-{i:02d}", stock_hub.PASSWORD) for i in range(1, seats + 1)]
        h = {"Authorization": f"token {self.token}"}
        requests.post(
            f"{self.url}/hub/api/users", json={"usernames": [s.login for s in self.seats]}, headers=h
        ).raise_for_status()
        self.setup = time.perf_counter() - t0

    def stop(self) -> float:
        h = {"Authorization": f"token {self.token}"}
        t0 = time.perf_counter()
        for s in self.seats:
            requests.delete(f"{self.url}/hub/api/users/{s.login}", headers=h, timeout=120)
        took = time.perf_counter() - t0
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(30)
        return took


# ---------------------------------------------------------------------------------------
# the load client


def _xsrf(jar: aiohttp.CookieJar, prefix: str) -> str:
    found = [c.value for c in jar if c.key == "_xsrf" and c["path"].startswith(prefix)]
    return found[-1] if found else ""


async def participant(url: str, seat: Seat, res: Result, timeout: float, gate: asyncio.Semaphore) -> None:
    async with gate:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as s:

            async def call(
                method: str, path: str, kind: list[float], ok: tuple[int, ...], **kw: object
            ) -> aiohttp.ClientResponse:
                t = time.perf_counter()
                r = await s.request(method, url + path, **kw)  # type: ignore[arg-type]
                await r.read()
                kind.append((time.perf_counter() - t) * 1000)
                if r.status not in ok:
                    raise RuntimeError(f"{method} {path} → {r.status}: {(await r.text())[:200]}")
                return r

            t0 = time.perf_counter()
            try:
                await call("GET", "/hub/login", res.page_ms, (200,))
                await call(
                    "POST",
                    "/hub/login",
                    res.page_ms,
                    (302,),
                    allow_redirects=False,
                    data={"username": seat.login, "password": seat.password, "_xsrf": _xsrf(jar, "/hub")},
                )
                r = await call("GET", "/hub/spawn", res.page_ms, (200, 302), allow_redirects=False)
                if r.status == 200 and 'name="profile"' in await r.text():  # an options form: take the default
                    await call(
                        "POST",
                        "/hub/spawn",
                        res.page_ms,
                        (200, 302),
                        allow_redirects=False,
                        data={"_xsrf": _xsrf(jar, "/hub")},
                    )
                deadline = t0 + timeout
                while True:
                    r = await call(
                        "GET",
                        f"/hub/api/users/{seat.login}",
                        res.api_ms,
                        (200,),
                        headers={"X-XSRFToken": _xsrf(jar, "/hub")},
                    )
                    server = ((await r.json()).get("servers") or {}).get("")
                    if server and server.get("ready"):
                        break
                    if time.perf_counter() > deadline:
                        raise TimeoutError(f"{seat.login}: server not ready within {timeout:.0f} s")
                    await asyncio.sleep(POLL_S)
                await call("GET", f"/user/{seat.login}/lab", res.page_ms, (200,))
                await call(
                    "GET",
                    f"/user/{seat.login}/api/status",
                    res.page_ms,
                    (200,),
                    headers={"X-XSRFToken": _xsrf(jar, f"/user/{seat.login}")},
                )
                res.ready.append(time.perf_counter() - t0)
            except Exception as exc:  # the benchmark counts every failure as an error
                res.errors.append(f"{seat.login}: {type(exc).__name__}: {exc}")


async def load(url: str, seats: list[Seat], res: Result, timeout: float, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)
    t0 = time.perf_counter()
    await asyncio.gather(*(participant(url, s, res, timeout, gate) for s in seats))
    res.wall = time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q / 100 * len(v) + 0.5)) - 1))]


def run_once(cls: type, seats: int, timeout: float, concurrency: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        hub = cls(Path(tmp), seats)
        res = Result(hub.name, seats, setup=hub.setup)
        try:
            asyncio.run(load(hub.url, hub.seats, res, timeout, concurrency))
        finally:
            res.teardown = hub.stop()
    return res


def count(x: float) -> str:
    """A median of counts: an integer, or a half when the runs are even."""
    return f"{x:.0f}" if x == int(x) else f"{x:.1f}"


def report(rep: Report, results: dict[str, list[Result]], args: argparse.Namespace, conc: int) -> str:
    """The section: the per-hub medians, each run when several, the verdicts, what was measured."""

    def med(rs: list[Result], f) -> float:  # noqa: ANN001
        return statistics.median(f(r) for r in rs)

    base = med(results[StockHub.name], lambda r: r.wall) if StockHub.name in results else None
    header = [
        "hub",
        "seats",
        "ready",
        "errors",
        "all ready s",
        "seat ready p50 s",
        "hub API p50 ms",
        "hub API p99 ms",
        "API requests",
        "login/spawn pages p99 ms",
        "seats created s",
        "end s",
    ]
    if base:
        header.append("ratio (all ready) vs stock")
    rows = []
    for name, rs in results.items():
        wall = med(rs, lambda r: r.wall)
        row = [
            name,
            rs[0].seats,
            count(med(rs, lambda r: len(r.ready))),
            count(med(rs, lambda r: len(r.errors))),
            f"{wall:.1f}",
            f"{med(rs, lambda r: pct(r.ready, 50)):.1f}",
            f"{med(rs, lambda r: pct(r.api_ms, 50)):.0f}",
            f"{med(rs, lambda r: pct(r.api_ms, 99)):.0f}",
            count(med(rs, lambda r: len(r.api_ms))),
            f"{med(rs, lambda r: pct(r.page_ms, 99)):.0f}",
            f"{med(rs, lambda r: r.setup):.1f}",
            f"{med(rs, lambda r: r.teardown):.1f}",
        ]
        if base:
            row.append(f"{wall / base:.2f}")
        rows.append(row)
    over = f"medians of {args.runs} runs" if args.runs > 1 else "one run"
    rep.text(f"{args.seats}-seat workshop, all participants at once ({over}):")
    rep.table(header, rows)
    if args.runs > 1:
        rep.text("Each run:")
        rep.table(
            ["run", "hub", "ready", "errors", "all ready s", "hub API p99 ms"],
            [
                (i + 1, name, f"{len(r.ready)} / {r.seats}", len(r.errors), f"{r.wall:.1f}", f"{pct(r.api_ms, 99):.0f}")
                for name, rs in results.items()
                for i, r in enumerate(rs)
            ],
            align="rlrrrr",
        )
    ours = results.get(OurHub.name)
    if ours:
        wall = med(ours, lambda r: r.wall)
        errors = med(ours, lambda r: len(r.errors))
        p99 = med(ours, lambda r: pct(r.api_ms, 99))
        worst = max(ours, key=lambda r: r.wall)
        burst = f"{wall:.1f} s, {count(errors)} errors"
        api = f"{p99:.0f} ms"
        if len(ours) > 1:
            burst += f"; worst run {worst.wall:.1f} s, {max(len(r.errors) for r in ours)} errors"
            api += f"; worst run {max(pct(r.api_ms, 99) for r in ours):.0f} ms"
        rep.text(
            f"Targets ({OurHub.name}, {over}): {args.seats}-seat burst ≤ {TARGET_ALL_READY_S:.0f} s with 0 errors: "
            f"{verdict(wall <= TARGET_ALL_READY_S and errors == 0)} ({burst}); hub API p99 < "
            f"{TARGET_API_P99_MS:.0f} ms: {verdict(p99 < TARGET_API_P99_MS)} ({api})."
            + (
                f" The target is for {TARGET_SEATS} seats; this run had {args.seats}."
                if args.seats != TARGET_SEATS
                else ""
            )
        )
    names = list(results)
    runs = f"{args.runs} runs" if args.runs > 1 else "one run"
    if len(names) > 1:
        hubs = (
            f"Both hubs are measured in this run, one after the other and alternating inside each of the "
            f"{runs} ({' first, then '.join(names)}), each in a new folder and stopped before the next starts, on "
            f"loopback, with the same {software()}."
        )
    else:
        hubs = f"Only {names[0]} is measured (`--only {args.only}`), {runs}, on loopback, with {software()}."
    parts = [hubs]
    if StockHub.name in results:
        parts.append(
            f"Stock JupyterHub: SimpleLocalProcessSpawner + DummyAuthenticator, default settings except "
            f"`Spawner.http_timeout` {STOCK_HTTP_TIMEOUT} s (JupyterHub's default: {default_http_timeout()} s), every "
            f"server running as the hub's user ({sysusers.current().name}); it gets the {args.seats} users through "
            "its REST API."
        )
    if OurHub.name in results:
        parts.append(
            "odatis-vre: the test configuration with one profile (the spawn page starts the server, as stock); "
            f"`workshop.create` makes the {args.seats} seats (accounts with passwords, material from `notebooks/`, "
            f"instructor shares). {isolation(SEAT)}."
        )
    parts.append(
        f"The load client is a bounded asyncio client (aiohttp, one task per seat, {conc} at once): login page → "
        "login form POST → spawn page (an options form, if any, posted with its defaults) → poll "
        f"`GET /hub/api/users/<me>` (cookie + XSRF) every {POLL_S:g} s until the server is ready → open JupyterLab "
        "→ `/user/<me>/api/status` must answer 200. Error = an unexpected status, an exception (a request over "
        f"{REQUEST_TIMEOUT_S} s included), or a seat not ready {args.timeout:g} s after its first request. "
        '"all ready" = from the first participant\'s start until the last is ready or has failed; "seat ready" = '
        'one seat\'s login page → `api/status` 200; "hub API" = every poll; "login/spawn pages" = the other '
        'requests (login and spawn pages, JupyterLab, `api/status`); "seats created" = `workshop.create` (ours) or '
        'the REST call (stock); "end" = `workshop end` (ours) or deleting the users one by one (stock).'
    )
    about = " ".join(parts)
    return rep.write(args.write_docs, about)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seats", type=int, default=30)
    ap.add_argument("--runs", type=int, default=1, help="runs per hub (medians over runs are reported)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds for a seat to be ready")
    ap.add_argument("--concurrency", type=int, default=0, help="participants at once (default: all seats)")
    ap.add_argument("--only", choices=["ours", "stock"], default=None, help="run one hub only")
    ap.add_argument(
        "--stock-timeout",
        type=int,
        default=120,
        help="the stock hub's Spawner.http_timeout in s (default 120, as ours; 30 is JupyterHub's default)",
    )
    add_docs_argument(ap)
    args = ap.parse_args()
    rep = Report(HEADING, "bench_workshop.py")  # the load average at the start
    global STOCK_HTTP_TIMEOUT
    STOCK_HTTP_TIMEOUT = args.stock_timeout
    conc = args.concurrency or args.seats
    hubs = [c for c in (StockHub, OurHub) if args.only is None or (args.only == "ours") == (c is OurHub)]
    results: dict[str, list[Result]] = {}
    for run in range(args.runs):
        for cls in hubs:  # side by side: alternate the hubs inside each run
            r = run_once(cls, args.seats, args.timeout, conc)
            results.setdefault(r.hub, []).append(r)
            print(
                f"run {run + 1} {r.hub}: {len(r.ready)}/{r.seats} ready in {r.wall:.1f} s, "
                f"{len(r.errors)} error(s), API p99 {pct(r.api_ms, 99):.0f} ms",
                flush=True,
            )
            for e in r.errors[:5]:
                print("   ", e, flush=True)

    report(rep, results, args, conc)


if __name__ == "__main__":
    main()
