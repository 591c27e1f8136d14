"""Usage accounting: the arithmetic on recorded events, then `odatis-vre admin usage` on a real hub + gateway."""

from __future__ import annotations

import csv
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from dask_gateway import Gateway
from dask_gateway.auth import JupyterHubAuth
from dask_gateway.client import ClusterStatus
from vre_testing import VRETestStack, start_stack

from odatis_vre.admin import usage
from odatis_vre.cli import main
from odatis_vre.hub.modes import local_ports

GiB = 1024**3
H = 3600.0


def test_sessions_pair_starts_and_stops_and_clip_to_the_period(tmp_path: Path) -> None:
    for ts, ev, user, prof, cpu, mem in [
        (0, "start", "ann", "ocean", 2, 4 * GiB),
        (2 * H, "stop", "ann", "", 0, 0),
        (H, "start", "bob", "large", 4, 16 * GiB),  # still running
        (5 * H, "stop", "cid", "", 0, 0),  # a stop without a start (hub restarted): ignored
        (3 * H, "start", "ann", "ocean", 2, 4 * GiB),
        (4 * H, "start", "ann", "ocean", 2, 4 * GiB),  # lost stop
    ]:
        usage.record_server_event(tmp_path, ev, user, "", prof, cpu, mem, ts=ts)
    with pytest.raises(ValueError, match="'start' or 'stop'"):
        usage.record_server_event(tmp_path, "pause", "ann")
    sessions = usage.server_sessions(usage.read_server_events(tmp_path), now=6 * H)
    assert [(s.user, s.start / H, None if s.stop is None else s.stop / H) for s in sessions] == [
        ("ann", 0, 2),
        ("bob", 1, None),
        ("ann", 3, 4),
        ("ann", 4, None),
    ]
    dask = [
        usage.DaskUse("bob", 2 * H, 3 * H, 6 * H, "c1", 1.0),
        usage.DaskUse("bob", 2 * H, 2.5 * H, 6 * H, "c1", 2.0),
    ]
    rep = usage.build_report(
        sessions, dask, since=H, until=5 * H, user_groups={"ann": ["researchers"], "bob": ["researchers", "gpu"]}
    )
    ann, bob = rep.per_user["ann"], rep.per_user["bob"]
    # ann: 1 h of the first session inside the period + 1 h + 1 h (the last clipped at `until`)
    assert (ann.server_hours, ann.cpu_hours, ann.memory_gib_hours) == (3, 6, 12)
    assert (bob.server_hours, bob.cpu_hours, bob.dask_core_hours, len(bob.dask_clusters)) == (4, 16, 2, 1)
    groups = rep.per_group()
    assert groups["researchers"].server_hours == 7 and groups["gpu"].server_hours == 4
    rows = rep.rows("both")
    assert [(r["kind"], r["name"]) for r in rows] == [
        ("user", "ann"),
        ("user", "bob"),
        ("group", "gpu"),
        ("group", "researchers"),
    ]
    usage.write_csv(rows, tmp_path / "u.csv")
    back = list(csv.DictReader((tmp_path / "u.csv").open()))
    assert back[1]["name"] == "bob" and float(back[1]["cpu_hours"]) == 16
    usage.plot(rep, tmp_path / "u.png")
    assert (tmp_path / "u.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="after"):
        usage.build_report([], [], since=2 * H, until=H, user_groups={})


@pytest.mark.slow
def test_usage_command_on_a_real_hub_and_gateway(tmp_path_factory: pytest.TempPathFactory) -> None:
    stack: VRETestStack = start_stack(tmp_path_factory.mktemp("usage"))
    try:
        stack.create_user("ulla", "ulla-password-1", groups=("researchers",))
        t0 = time.time()
        assert stack.start_server("ulla").status_code in (201, 202)
        gw = Gateway(
            address=f"{stack.url}/services/dask-gateway",
            auth=JupyterHubAuth(api_token=stack.user_token("ulla")),
            proxy_address=f"gateway://127.0.0.1:{local_ports(stack.stack.cfg)['gateway_tcp']}",
        )
        name = gw.submit()
        try:
            deadline = time.monotonic() + 60
            while gw.get_cluster(name).status != ClusterStatus.RUNNING and time.monotonic() < deadline:
                time.sleep(0.3)
            gw.scale_cluster(name, 1)
            while time.monotonic() < deadline:  # the worker is in the gateway's records
                if sum(1 for d in usage.dask_usage(usage.gateway_db_path(stack.stack.cfg)) if d.cluster == name) >= 2:
                    break
                time.sleep(0.3)
            # enough Dask time to show in the report (core-hours are written with 3 decimals: 3.6 s)
            while time.monotonic() < deadline:
                mine = [d for d in usage.dask_usage(usage.gateway_db_path(stack.stack.cfg)) if d.cluster == name]
                if sum(d.core_hours(0, time.time()) for d in mine) >= 0.001:
                    break
                time.sleep(0.3)
        finally:
            gw.stop_cluster(name)
            gw.close()
        stack.stop_server("ulla")
        elapsed_h = (time.time() - t0) / H
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            d.stop is None for d in usage.dask_usage(usage.gateway_db_path(stack.stack.cfg)) if d.cluster == name
        ):
            time.sleep(0.3)

        out_csv, out_png = tmp_path_factory.mktemp("out") / "usage.csv", tmp_path_factory.mktemp("out") / "usage.png"
        result = CliRunner().invoke(
            main,
            [
                "admin",
                "usage",
                "--since",
                date.today().isoformat(),
                "--csv",
                str(out_csv),
                "--plot",
                str(out_png),
                "-c",
                str(stack.config_path),
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        rows = {(r["kind"], r["name"]): r for r in csv.DictReader(out_csv.open())}
        ulla = rows[("user", "ulla")]
        hours = float(ulla["server_hours"])
        assert 0 < hours <= elapsed_h + 1e-3
        # the 'ocean' test profile reserves 1 CPU and 2 GiB
        assert float(ulla["cpu_hours"]) == pytest.approx(hours, abs=2e-3)
        assert float(ulla["memory_gib_hours"]) == pytest.approx(2 * hours, abs=2e-3)
        assert float(ulla["dask_core_hours"]) > 0 and ulla["dask_clusters"] == "1" and ulla["servers"] == "1"
        assert ulla["groups"] == "researchers"
        assert rows[("group", "researchers")]["server_hours"] == ulla["server_hours"]
        assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "ulla" in result.output
    finally:
        stack.stop()
