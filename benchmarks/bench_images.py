"""Image build times (cold and cached) and sizes, and a server's ready time from the ocean image under podman
beside the local mode's zygote, in one run.

    .venv/bin/python benchmarks/bench_images.py [--cached-runs 3] [--cold] [--ready-runs 5] [--write-docs]

- cold: ``images/build.sh`` with an empty pip cache and a debootstrap base of its own (``BASE_SALT``), so no
  layer, wheel or base is reused (one run: it downloads everything); its images are removed afterwards;
- cached: the same build again with nothing changed (podman's layer cache), median of ``--cached-runs``;
- sizes: ``podman image inspect`` of base, ocean and hub;
- ready: ``podman run`` of the ocean image's JupyterLab server (host network, a free port) until
  ``/api/status`` answers 200, vs a login to ready on a local-mode hub whose servers fork from the zygote
  (``bench_spawn.login_to_ready``), median of ``--ready-runs`` each, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))
from bench_spawn import OurHub, login_to_ready  # noqa: E402
from docs_section import Report, add_docs_argument, counted, thousands  # noqa: E402  (benchmarks/, the script's own folder)
from vre_testing import free_port  # noqa: E402

IMAGES = ("base", "ocean", "hub")
REGISTRY = "localhost/odatis-vre-bench"
SECTION = "## Images: build times, sizes, a server from the ocean image (issue 14)"
#: What each image holds, for the table.
CONTENTS = {
    "base": "Debian minbase + Python + JupyterLab server",
    "ocean": "base + the user environment's lock + odatis_vre + catalogue + tutorials",
    "hub": "base + JupyterHub/KubeSpawner/dask-gateway-server/pycurl + odatis_vre",
}


def build(tag: str, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    out = subprocess.run(
        ["sh", str(REPO / "images" / "build.sh"), tag],
        capture_output=True,
        text=True,
        env=os.environ | {"IMAGES": " ".join(IMAGES), "REGISTRY": REGISTRY, "PYTHON": sys.executable} | (env or {}),
    )
    if out.returncode != 0:
        sys.exit(f"images/build.sh failed:\n{out.stdout[-3000:]}\n{out.stderr[-2000:]}")
    return time.perf_counter() - start


def size_mb(image: str) -> float:
    info = json.loads(
        subprocess.run(["podman", "image", "inspect", image], capture_output=True, text=True, check=True).stdout
    )[0]
    return info["Size"] / 1e6


def podman_ready(image: str) -> float:
    """``podman run`` → the ocean image's server answers ``/api/status``."""
    port, token = free_port(), secrets.token_hex(16)
    name = f"bench-ready-{port}"
    start = time.perf_counter()
    subprocess.run(
        [
            "podman",
            "run",
            "-d",
            "--rm",
            "--name",
            name,
            "--network",
            "host",
            image,
            "jupyter",
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
        ],
        check=True,
        capture_output=True,
    )
    try:
        while True:
            try:
                r = requests.get(
                    f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"}, timeout=2
                )
                if r.status_code == 200:
                    return time.perf_counter() - start
            except requests.RequestException:
                pass
            if time.perf_counter() - start > 180:
                raise RuntimeError("the server in the container was not ready within 180 s")
            time.sleep(0.02)
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "2", name], capture_output=True)


def _about(args: argparse.Namespace, container_runs: int, zygote_runs: int) -> str:
    """What the run measured, for the docs: podman and its set-up, the builds, the images, the ready times."""
    info = json.loads(subprocess.run(["podman", "info", "--format", "json"], capture_output=True, text=True).stdout)
    host, store = info["host"], info["store"]
    who = "rootless" if host["security"]["rootless"] else "as root"
    backing = store.get("graphStatus", {}).get("Backing Filesystem", "?")
    return (
        f"Podman {info['version']['Version']} {who}, {host['ociRuntime']['name']}, {host['cgroupManager']}, "
        f"{store['graphDriverName']} on {backing}. Builds: `images/build.sh` of base, ocean and hub "
        f"(`{REGISTRY}/vre-*:bench`)"
        + (
            "; cold: an empty pip cache and a debootstrap base of its own (`BASE_SALT`), so no layer, wheel or "
            "base is reused (it downloads everything), its images removed afterwards"
            if args.cold
            else "; no cold build in this run (it takes `--cold`)"
        )
        + f"; cached: the same build again with nothing changed, {counted(args.cached_runs, 'time')} after one reference "
        "build. Sizes: `podman image inspect` (MB = 10⁶ bytes). Ready: `podman run` of the ocean image's "
        "JupyterLab server (host network, a free port) until `/api/status` answers 200, after one start out of "
        f"the timing (it reads the image's layers), {counted(container_runs, 'run')}; beside it, a local-mode hub whose "
        "servers fork from the zygote, login → `/user/<name>/api/status` (`bench_spawn.login_to_ready`), after one "
        f"login out of the timing (it warms the zygote), {counted(zygote_runs, 'run')}."
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cached-runs", type=int, default=3)
    ap.add_argument("--ready-runs", type=int, default=5)
    ap.add_argument("--cold", action="store_true", help="also one cold build (downloads everything: minutes)")
    add_docs_argument(ap)
    args = ap.parse_args()
    rep = Report(SECTION, "bench_images.py")
    print(f"cpu count {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    rows = []
    if args.cold:
        cache = Path(tempfile.mkdtemp(prefix="odatis-vre-cold-"))
        salt = secrets.token_hex(4)
        try:
            t = build("cold", {"ODATIS_VRE_CACHE": str(cache), "BASE_SALT": salt})
            rows.append(
                (
                    "build base + ocean + hub, **cold** (a new debootstrap base, an empty pip cache, no layer), one run",
                    f"{t:.0f} s",
                )
            )
        finally:
            # the cold build's images and its own base (the cached ones and their layers stay)
            key = subprocess.run(
                [
                    "sh",
                    "-c",
                    f"printf '%s %s%s' bookworm http://deb.debian.org/debian ' {salt}' | sha256sum | cut -c1-12",
                ],
                capture_output=True,
                text=True,
            ).stdout.strip()
            for image in [f"{REGISTRY}/vre-{n}:cold" for n in reversed(IMAGES)] + [
                f"localhost/odatis-vre-debian:bookworm-{key}"
            ]:
                subprocess.run(["podman", "rmi", "-f", image], capture_output=True)
            shutil.rmtree(cache, ignore_errors=True)
    build("bench")  # the reference build the cached runs repeat
    cached = [build("bench") for _ in range(args.cached_runs)]
    rows.append(
        (
            f"build base + ocean + hub, **cached** (nothing changed: podman's layer cache), median of {len(cached)}",
            f"{statistics.median(cached):.1f} s",
        )
    )
    for name in IMAGES:
        mb = size_mb(f"{REGISTRY}/vre-{name}:bench")
        rows.append((f"size `vre-{name}` ({CONTENTS[name]})", f"{thousands(mb)} MB"))
    podman_ready(f"{REGISTRY}/vre-ocean:bench")  # a first start reads the image's layers from disk
    container = [podman_ready(f"{REGISTRY}/vre-ocean:bench") for _ in range(args.ready_runs)]
    folder = Path(tempfile.mkdtemp(prefix="bench-images-"))
    os.chmod(folder, 0o711)
    hub = OurHub(folder)
    try:
        zygote = []
        for i in range(args.ready_runs + 1):
            user = f"ready{i}"
            hub.add_user(user)
            t = login_to_ready(hub, user)
            if i:  # the first login warms the zygote, as the first container start warms the page cache
                zygote.append(t)
    finally:
        hub.stop()
    rows.append(
        (
            "server ready, **ocean image under podman**: `podman run` → `/api/status` answers 200, "
            f"median of {len(container)}",
            f"{statistics.median(container):.2f} s (min {min(container):.2f}, max {max(container):.2f})",
        )
    )
    rows.append(
        (
            "server ready, **local mode** beside it: login → `/user/<name>/api/status`, zygote fork, "
            f"median of {len(zygote)}",
            f"{statistics.median(zygote):.2f} s (min {min(zygote):.2f}, max {max(zygote):.2f})",
        )
    )
    ratio = statistics.median(container) / statistics.median(zygote)
    rows.append(("server ready: container / zygote (medians)", f"{ratio:.1f}×"))
    rep.table(["measure", "this run"], rows, align="lr")
    rep.text(
        f"No target here. A server from the ocean image under podman took {ratio:.1f}× as long to be ready as one "
        f"forked by the local mode's zygote in the same run (medians {statistics.median(container):.2f} s and "
        f"{statistics.median(zygote):.2f} s)."
    )
    rep.write(args.write_docs, _about(args, len(container), len(zygote)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
