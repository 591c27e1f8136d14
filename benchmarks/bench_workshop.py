"""A 30-seat workshop starting at once: odatis-vre's workshop vs stock JupyterHub, side by side.

    .venv/bin/python benchmarks/bench_workshop.py [--seats 30] [--runs 1] [--timeout 300]

odatis-vre: ``workshop.create`` makes the seats (accounts with passwords, material, instructor
shares); stock JupyterHub 6.1 (DummyAuthenticator + SimpleLocalProcessSpawner, default settings)
gets the same number of users through its REST API. Then a bounded asyncio client (aiohttp, one
task per participant, all at once) does what each participant's browser does: open the login page,
post the form, follow to the spawn page, poll the hub API (``GET /hub/api/users/<me>``, cookie +
XSRF, every 0.5 s) until the server is ready, then open JupyterLab and call
``/user/<me>/api/status``. Every request's latency is recorded; an error is any unexpected
status, exception, or a seat not ready within ``--timeout``. On loopback only.
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

#: the stock hub's Spawner.http_timeout (--stock-timeout)
STOCK_HTTP_TIMEOUT = 120
from vre_testing import TEST_CONFIG, free_port, write_config  # noqa: E402

from odatis_vre import admin, config  # noqa: E402
from odatis_vre.admin import workshop  # noqa: E402
from odatis_vre.hub.stack import Stack  # noqa: E402
from odatis_vre.users import sysusers  # noqa: E402

os.environ["PATH"] = f"{REPO / '.tools' / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}"


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
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=120)) as s:

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
                    await asyncio.sleep(0.5)
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
    args = ap.parse_args()
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

    def med(rs: list[Result], f) -> float:  # noqa: ANN001
        return statistics.median(f(r) for r in rs)

    base = med(results["stock JupyterHub"], lambda r: r.wall) if "stock JupyterHub" in results else None
    print()
    print(
        "| hub | seats | ready | errors | all ready s | seat ready p50 s | hub API p50 ms | hub API p99 ms "
        "| API requests | login/spawn pages p99 ms | seats created s | end s | ratio (all ready) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, rs in results.items():
        wall = med(rs, lambda r: r.wall)
        print(
            f"| {name} | {rs[0].seats} | {med(rs, lambda r: len(r.ready)):.0f} | "
            f"{med(rs, lambda r: len(r.errors)):.0f} | {wall:.1f} | "
            f"{med(rs, lambda r: pct(r.ready, 50)):.1f} | {med(rs, lambda r: pct(r.api_ms, 50)):.0f} | "
            f"{med(rs, lambda r: pct(r.api_ms, 99)):.0f} | {med(rs, lambda r: len(r.api_ms)):.0f} | "
            f"{med(rs, lambda r: pct(r.page_ms, 99)):.0f} | {med(rs, lambda r: r.setup):.1f} | "
            f"{med(rs, lambda r: r.teardown):.1f} | {wall / base if base else float('nan'):.2f} |"
        )


if __name__ == "__main__":
    main()
