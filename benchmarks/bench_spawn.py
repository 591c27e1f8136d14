"""Login → server ready, and a burst of simultaneous spawns: odatis-vre vs stock JupyterHub, side by side.

    .venv/bin/python benchmarks/bench_spawn.py [--runs 10] [--burst 30] [--write-docs [FILE]]

Both hubs run here on loopback with the same JupyterHub, proxy and JupyterLab; the stock one uses
SimpleLocalProcessSpawner and DummyAuthenticator (as in ../shared/anchors.md) with default settings but
``http_timeout`` 120 s (stock_hub.py).
For each run a new user logs in through the HTML form (which starts the server, no options form)
and we poll ``/user/<name>/api/status`` with the user's token until it answers 200.
Memory: the hub's RSS, and the median RSS / USS of the servers left running by the logins.
``--write-docs`` writes the section of docs/benchmarks.md (or FILE) from this run's numbers.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import stock_hub  # noqa: E402
from docs_section import Report, add_docs_argument, verdict  # noqa: E402  (benchmarks/, the script's own folder)
from hub_runs import default_http_timeout, isolation, software  # noqa: E402

#: the stock hub's Spawner.http_timeout (--stock-timeout)
STOCK_HTTP_TIMEOUT = 120
from vre_testing import TEST_CONFIG, free_port, write_config  # noqa: E402

from odatis_vre import config  # noqa: E402
from odatis_vre.hub.stack import Stack  # noqa: E402
from odatis_vre.users import sysusers  # noqa: E402

TOOLS = REPO / ".tools" / "node_modules" / ".bin"
os.environ["PATH"] = f"{TOOLS}:{Path(sys.executable).parent}:{os.environ['PATH']}"

HEADING = "## Spawning servers: login → ready, and many users at once (issues 2, 13)"
#: seconds between two polls of /user/<name>/api/status
POLL_S = 0.02
#: seconds a login may take to be ready before it counts as failed
READY_TIMEOUT_S = 300
#: targets: login → ready p50 (issue 13), a burst of new users all ready (issue 2)
TARGET_READY_S = 1.0
TARGET_BURST_S = 60.0


class Hub:
    name = ""
    url = ""
    token = ""

    def add_user(self, user: str) -> None: ...
    def password(self, user: str) -> str: ...
    def pids(self) -> list[int]: ...
    def stop(self) -> None: ...


class OurHub(Hub):
    name = "odatis-vre"

    def __init__(self, folder: Path):
        # write_config: accounts of its own (multi-user mode when run as root, as `make up`), a traversable folder
        raw = config.deep_merge(
            TEST_CONFIG, {"hub": {"state_dir": str(folder / ".vre"), "concurrent_spawn_limit": 100}}
        )
        raw["profiles"] = raw["profiles"][:1]  # one profile: the login goes straight to the spawn
        raw["groups"]["default"]["quota"]["servers"] = 1
        write_config(folder, raw)
        self.stack = Stack(folder / "vre.yaml")
        self.stack.start(timeout=120)
        self.url, self.token = self.stack.url, self.stack.token

    def add_user(self, user: str) -> None:
        r = self.stack.api("PUT", f"/accounts/{user}", json={"password": self.password(user)})
        r.raise_for_status()

    def password(self, user: str) -> str:
        return f"{user}-password"

    def pids(self) -> list[int]:
        pid = self.stack.pid()
        return [pid] if pid else []

    def stop(self) -> None:
        try:
            self.stack.stop()
        finally:
            sysusers.purge(self.stack.cfg)


class StockHub(Hub):
    name = "stock JupyterHub"

    def __init__(self, folder: Path):
        self.token = stock_hub.TOKEN
        self.url, self.proc, self.log = stock_hub.start(folder, free_port, http_timeout=STOCK_HTTP_TIMEOUT)

    def add_user(self, user: str) -> None:
        requests.post(
            f"{self.url}/hub/api/users/{user}", headers={"Authorization": f"token {self.token}"}
        ).raise_for_status()

    def password(self, user: str) -> str:
        return stock_hub.PASSWORD

    def pids(self) -> list[int]:
        return [self.proc.pid]

    def stop(self) -> None:
        h = {"Authorization": f"token {self.token}"}
        for u in requests.get(f"{self.url}/hub/api/users", headers=h).json():
            if u.get("servers"):
                requests.delete(f"{self.url}/hub/api/users/{u['name']}/server", headers=h)
        time.sleep(2)
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(30)


def user_token(hub: Hub, user: str) -> str:
    r = requests.post(
        f"{hub.url}/hub/api/users/{user}/tokens",
        json={"note": "bench"},
        headers={"Authorization": f"token {hub.token}"},
    )
    r.raise_for_status()
    return r.json()["token"]


def login_to_ready(hub: Hub, user: str, timeout: float = READY_TIMEOUT_S) -> float:
    """Seconds from the login form POST to /user/<name>/api/status answering 200."""
    hub.add_user(user)
    token = user_token(hub, user)
    s = requests.Session()
    s.get(f"{hub.url}/hub/login")
    t0 = time.perf_counter()
    s.post(
        f"{hub.url}/hub/login",
        data={"username": user, "password": hub.password(user), "_xsrf": s.cookies.get("_xsrf")},
        allow_redirects=False,
    )
    s.get(f"{hub.url}/hub/spawn", allow_redirects=False)  # what the browser follows to
    while time.perf_counter() - t0 < timeout:
        try:
            r = requests.get(
                f"{hub.url}/user/{user}/api/status",
                headers={"Authorization": f"token {token}"},
                allow_redirects=False,
                timeout=10,
            )
            if r.status_code == 200:
                return time.perf_counter() - t0
        except requests.RequestException:
            pass
        time.sleep(POLL_S)
    raise TimeoutError(f"{user} not ready in {timeout} s on {hub.name}")


def rss_mib(pids: list[int]) -> float:
    return sum(psutil.Process(p).memory_info().rss for p in pids if psutil.pid_exists(p)) / 2**20


def server_memory(folder: Path) -> tuple[float, float, int]:
    """Median RSS and USS (MiB) of the single-user servers running under ``folder``, and their count.

    USS (memory that only this process holds) is what one more user costs the machine;
    RSS also counts pages shared with other processes.
    """
    rss, uss = [], []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if "jupyterhub-singleuser" in " ".join(p.info["cmdline"] or []) and p.cwd().startswith(str(folder)):
                full = p.memory_full_info()
                rss.append(full.rss / 2**20)
                uss.append(full.uss / 2**20)
        except psutil.Error:
            continue
    if not rss:
        return float("nan"), float("nan"), 0
    return statistics.median(rss), statistics.median(uss), len(rss)


def report(rep: Report, rows: list[dict], args: argparse.Namespace) -> str:
    """The section: one table (and the burst when asked), the verdicts, what was measured; printed, maybe written."""
    base = rows[0]["median"]  # the stock hub runs first
    header = ["hub", "median s", "min s", "max s", "ratio vs stock", "hub RSS MiB", "server RSS MiB", "server USS MiB"]
    if args.burst:
        header += [f"{args.burst} at once s", "ready"]
    table = []
    for r in rows:
        line = [
            r["hub"],
            f"{r['median']:.2f}",
            f"{r['min']:.2f}",
            f"{r['max']:.2f}",
            f"{r['median'] / base:.2f}",
            f"{r['hub_mib']:.0f}",
            f"{r['server'][0]:.0f}",
            f"{r['server'][1]:.0f}",
        ]
        if args.burst:
            line += [f"{r['burst'][0]:.1f}", f"{r['burst'][1]} / {args.burst}"]
        table.append(line)
    rep.text(
        f"Login → server ready, {args.runs} new users one after the other"
        + (f", then {args.burst} new users at once:" if args.burst else ":")
    )
    rep.table(header, table)
    ours = next(r for r in rows if r["hub"] == OurHub.name)
    targets = [
        f"login → ready p50 ≤ {TARGET_READY_S:.1f} s: {verdict(ours['median'] <= TARGET_READY_S)} "
        f"({ours['median']:.2f} s)"
    ]
    if args.burst:
        took, ok = ours["burst"]
        targets.append(
            f"{args.burst}-user burst ≤ {TARGET_BURST_S:.0f} s with every server ready: "
            f"{verdict(took <= TARGET_BURST_S and ok == args.burst)} ({took:.1f} s, {ok} / {args.burst} ready)"
        )
    rep.text(f"Targets ({OurHub.name}): " + "; ".join(targets) + ".")
    found = ", ".join(f"{r['server'][2]} for {r['hub']}" for r in rows)
    about = (
        f"Both hubs are measured in this run, one after the other (stock first, each stopped before the next "
        f"starts), on loopback, with the same {software()}. Stock JupyterHub: SimpleLocalProcessSpawner + "
        f"DummyAuthenticator, default settings except `Spawner.http_timeout` {STOCK_HTTP_TIMEOUT} s (JupyterHub's "
        f"default: {default_http_timeout()} s), every server running as the hub's user ({sysusers.current().name}). "
        "odatis-vre: the test configuration with one profile, so the login "
        f"goes straight to the spawn. {isolation()}. Measure: login form POST → `/user/<name>/api/status` answers "
        f"200 (polled every {POLL_S * 1000:.0f} ms with the user's token), a new user each of the {args.runs} runs; "
        "median, min and max over the runs, ratio = median / stock median"
        + (
            f"; then {args.burst} new users log in at once (one thread each), timed until the last is ready or has "
            f'failed (a server not ready in {READY_TIMEOUT_S} s fails, and "ready" counts the others)'
            if args.burst
            else ""
        )
        + f". Memory, after the {args.runs} logins: the hub process's RSS, and the median RSS and USS (memory only "
        f"that process holds: what one more user costs) of the servers those logins left running (found: {found})."
    )
    return rep.write(args.write_docs, about)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10, help="logins measured per hub (median reported)")
    ap.add_argument("--burst", type=int, default=0, help="also start this many servers at once on each hub")
    ap.add_argument(
        "--stock-timeout",
        type=int,
        default=120,
        help="the stock hub's Spawner.http_timeout in s (default 120, as ours; 30 is JupyterHub's default)",
    )
    add_docs_argument(ap)
    args = ap.parse_args()
    rep = Report(HEADING, "bench_spawn.py")  # the load average at the start
    global STOCK_HTTP_TIMEOUT
    STOCK_HTTP_TIMEOUT = args.stock_timeout
    rows = []
    for cls in (StockHub, OurHub):
        with tempfile.TemporaryDirectory() as tmp:
            hub = cls(Path(tmp))
            try:
                times = [login_to_ready(hub, f"u{i}") for i in range(args.runs)]
                row = {
                    "hub": hub.name,
                    "median": statistics.median(times),
                    "min": min(times),
                    "max": max(times),
                    "hub_mib": rss_mib(hub.pids()),
                    "server": server_memory(Path(tmp)),
                }
                if args.burst:
                    t0 = time.perf_counter()
                    with cf.ThreadPoolExecutor(args.burst) as ex:
                        futs = [ex.submit(login_to_ready, hub, f"b{i}") for i in range(args.burst)]
                        ok = sum(1 for f in futs if not f.exception())
                    row["burst"] = (time.perf_counter() - t0, ok)
                rows.append(row)
            finally:
                hub.stop()
    report(rep, rows, args)


if __name__ == "__main__":
    main()
