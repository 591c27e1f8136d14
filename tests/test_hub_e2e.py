"""The whole local VRE, really started: hub, proxy, servers, Dask Gateway, a real kernel."""

from __future__ import annotations

import sqlite3

import pytest
import requests
from dask_gateway import Gateway
from dask_gateway.auth import JupyterHubAuth
from vre_testing import VRETestStack

from odatis_vre.admin import remote
from odatis_vre.hub import priority
from odatis_vre.users import sysusers

pytestmark = pytest.mark.slow

USERS = {"alice": "alice-pass-1", "bruno": "bruno-pass-2"}

KERNEL_CODE = """
from odatis_vre import catalog, compute
cat = catalog.open()
ds = catalog.load("sample_sst_zarr", catalog=cat)
var = "analysed_sst"
expected = float(ds[var].isel(time=slice(0, 30)).mean().compute(scheduler="sync"))
cl = compute.cluster()
print("gateway:", type(cl).__module__)
cl.scale(2)
client = cl.get_client()
client.wait_for_workers(2, timeout=120)
print("workers:", len(client.scheduler_info()["workers"]))
# the workers' allocator keeps whole-period blocks on the heap (odatis_vre.hub.gateway.WORKER_MALLOC)
print("malloc:", sorted(set(client.run(lambda: __import__("os").environ.get("MALLOC_MMAP_THRESHOLD_")).values())))
# ...and they run below the hub's CPU priority, their session's autogroup too (odatis_vre.hub.priority)
print("priority:", sorted(set(client.run(lambda: (__import__("os").nice(0),
      open(f"/proc/{__import__('os').getppid()}/autogroup").read().split()[-1])).values())))
got = float(ds[var].isel(time=slice(0, 30)).mean().compute())
print("mean:", got, expected)
assert abs(got - expected) < 1e-6
client.close()
cl.shutdown()
print("done")
"""


@pytest.fixture(scope="module")
def users(vre_stack: VRETestStack) -> dict[str, requests.Session]:
    sessions = {}
    for name, password in USERS.items():
        vre_stack.create_user(name, password)
        sessions[name] = vre_stack.login(name, password)
    return sessions


def _gateway(stack: VRETestStack, token: str) -> Gateway:
    from odatis_vre.hub.modes import local_ports

    return Gateway(
        address=f"{stack.url}/services/dask-gateway",
        auth=JupyterHubAuth(api_token=token),
        proxy_address=f"gateway://127.0.0.1:{local_ports(stack.stack.cfg)['gateway_tcp']}",
    )


def test_login_spawn_kernel_catalogue_and_gateway(vre_stack: VRETestStack, users: dict, sample_data) -> None:
    s = users["alice"]
    # the login form led to the hub; start the default server as the browser would
    r = s.post(f"{vre_stack.url}/hub/spawn", data={"profile": "ocean", "_xsrf": s.cookies.get("_xsrf")})
    assert r.status_code == 200, r.text[:500]
    vre_stack.wait_server("alice")
    assert vre_stack.browse_api(s, "alice", "api/status").status_code == 200
    out = remote.run_code(vre_stack.server_url("alice"), vre_stack.user_token("alice"), KERNEL_CODE, timeout=300)
    assert "gateway: dask_gateway.client" in out.stdout
    assert "workers: 2" in out.stdout
    assert f"malloc: ['{64 * 1024**2}']" in out.stdout
    assert f"priority: [({priority.SERVER_NICENESS}, '{priority.SERVER_NICENESS}')]" in out.stdout
    assert "done" in out.stdout


def test_isolation_between_users(vre_stack: VRETestStack, users: dict) -> None:
    vre_stack.start_server("alice")
    a_token, b_token = vre_stack.user_token("alice"), vre_stack.user_token("bruno")
    # bruno's browser session cannot open alice's server, nor its API
    b = users["bruno"]
    r = vre_stack.browse_api(b, "alice", "api/status")
    assert r.status_code in (403, 404) or "/user/alice/" not in r.url
    r = requests.get(f"{vre_stack.url}/user/alice/api/contents", headers={"Authorization": f"token {b_token}"})
    assert r.status_code == 403
    # bruno cannot stop alice's server through the hub API
    # (the hub answers 404 rather than reveal that the user exists)
    assert vre_stack.api("DELETE", "/users/alice/server", token=b_token).status_code in (403, 404)
    assert vre_stack.api("GET", "/users/alice").json()["servers"][""]["ready"]
    # nor list, connect to or stop alice's Dask cluster
    ga, gb = _gateway(vre_stack, a_token), _gateway(vre_stack, b_token)
    # (submit/stop by name: the test process need not open a scheduler connection). Connecting and
    # stopping as bruno go through the gateway's REST API, the calls `Gateway.connect` and
    # `stop_cluster` make: a refused `connect` leaves a half-made client whose garbage collection can
    # block the client library's event loop (its __del__ waits on that same loop), hanging later calls
    api = f"{vre_stack.url}/services/dask-gateway/api/v1/clusters/"

    def as_user(token: str) -> dict[str, str]:
        return {"Authorization": f"jupyterhub {token}"}

    name = ga.submit()
    try:
        assert name in [c.name for c in ga.list_clusters()]
        assert name not in [c.name for c in gb.list_clusters()]
        r = requests.get(api + name, headers=as_user(b_token), timeout=30)  # what connect() asks first
        assert r.status_code == 403, r.text
        r = requests.delete(api + name, headers=as_user(b_token), timeout=30)
        assert r.status_code == 403, r.text
        # the refusal was answered before anything was done: alice's cluster still runs
        assert name in [c.name for c in ga.list_clusters()]
        assert requests.get(api + name, headers=as_user(a_token), timeout=30).status_code == 200
    finally:
        ga.stop_cluster(name)
        ga.close()
        gb.close()


def test_anonymous_reaches_only_the_login_page(vre_stack: VRETestStack, users: dict) -> None:
    anon = requests.Session()
    r = anon.get(f"{vre_stack.url}/user/alice/lab")
    assert r.url.startswith(f"{vre_stack.url}/hub/login")
    r = anon.get(f"{vre_stack.url}/hub/home")
    assert r.url.startswith(f"{vre_stack.url}/hub/login")
    assert anon.get(f"{vre_stack.url}/hub/api/users").status_code == 403
    assert anon.post(f"{vre_stack.url}/hub/api/users/alice/server").status_code == 403
    assert anon.put(f"{vre_stack.url}/hub/api/accounts/mallory", json={"password": "x" * 12}).status_code == 403
    assert anon.get(f"{vre_stack.url}/services/dask-gateway/api/v1/clusters/").status_code == 401
    anon.get(f"{vre_stack.url}/hub/login")
    r = anon.post(
        f"{vre_stack.url}/hub/login",
        data={"username": "alice", "password": "wrong-password", "_xsrf": anon.cookies.get("_xsrf")},
    )
    assert "Invalid username or password" in r.text


def test_quota_refusals_name_the_limit(vre_stack: VRETestStack, users: dict) -> None:
    vre_stack.stop_server("bruno")
    r = vre_stack.start_server("bruno", profile="large")
    assert r.status_code == 403
    assert "asks for 8 CPU" in r.json()["message"] and "group 'default'" in r.json()["message"]
    # a second server at once is above the 'servers' quota of the default group
    assert vre_stack.start_server("bruno").status_code in (201, 202)
    r = vre_stack.api("POST", "/users/bruno/servers/second", json={})
    assert r.status_code == 403 and "quota 'servers'" in r.json()["message"], r.text
    # the researchers' quota allows two servers at once (a default and a named one), not three
    vre_stack.create_user("rita", "rita-pass-1234", groups=("researchers",))
    assert vre_stack.start_server("rita").status_code in (201, 202)
    r = vre_stack.api("POST", "/users/rita/servers/analysis", json={})
    assert r.status_code in (201, 202), r.text
    r = vre_stack.api("POST", "/users/rita/servers/third", json={})
    assert r.status_code == 403 and "allows 2 at once (quota 'servers')" in r.json()["message"], r.text
    for path in ("/users/rita/servers/analysis", "/users/rita/server"):
        vre_stack.api("DELETE", path)
    gb = _gateway(vre_stack, vre_stack.user_token("bruno"))
    try:
        opts = gb.cluster_options()
        opts.worker_memory = 8
        with pytest.raises(ValueError, match="quota 'dask.worker_memory'"):
            gb.submit(opts)
        first = gb.submit()
        try:
            with pytest.raises(ValueError, match="quota 'dask.clusters'"):
                gb.submit()
        finally:
            gb.stop_cluster(first)
    finally:
        gb.close()


def test_hub_restart_keeps_servers(vre_stack: VRETestStack, users: dict) -> None:
    vre_stack.start_server("alice")
    token = vre_stack.user_token("alice")
    kernel = remote.start_kernel(vre_stack.server_url("alice"), token)
    remote.run_code(vre_stack.server_url("alice"), token, "x = 41", kernel_id=kernel)
    vre_stack.stack.kill_hub()
    # the hub database commits through a write-ahead log (odatis_vre.hub.hubdb): killed mid-flight, it
    # comes back with every committed server
    db = vre_stack.stack.state / "jupyterhub.sqlite"
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    vre_stack.stack.start(timeout=120)
    model = vre_stack.api("GET", "/users/alice").json()
    assert model["servers"][""]["ready"]
    # same kernel, same state: the server survived the hub
    out = remote.run_code(vre_stack.server_url("alice"), token, "print(x + 1)", kernel_id=kernel)
    assert out.stdout.strip() == "42"
    s = vre_stack.login("alice", USERS["alice"])
    assert vre_stack.browse_api(s, "alice", "api/status").status_code == 200


def test_stop_leaves_no_orphan(vre_stack: VRETestStack, users: dict) -> None:
    """`odatis-vre down` (Stack.stop) ends servers, gateway, clusters, services, proxy and hub."""
    import psutil

    vre_stack.start_server("alice")
    gw = _gateway(vre_stack, vre_stack.user_token("alice"))
    gw.submit()  # a scheduler process, started by the gateway
    # servers started before a hub restart are no longer the hub's children: find every process working
    # inside the deployment's state directory (hub, proxy, services) or run by one of its accounts (servers,
    # clusters, services)
    state = str(vre_stack.stack.state)
    uids = {e.pw_uid for e in sysusers.accounts(vre_stack.cfg)}

    def in_state(p: psutil.Process) -> bool:
        try:
            return p.cwd().startswith(state) or p.uids().real in uids
        except (psutil.Error, OSError):
            return False

    family = [p for p in psutil.process_iter() if in_state(p)]
    names = " ".join(" ".join(p.cmdline()) for p in family)
    assert "jupyterhub-singleuser" in names and "dask-gateway-server" in names and "configurable-http-proxy" in names
    vre_stack.stack.stop()
    gone, alive = psutil.wait_procs(family, timeout=30)
    assert not alive, [" ".join(p.cmdline()) for p in alive]
    assert vre_stack.stack.pid() is None
    # the stack is the session's: later test modules use it again
    vre_stack.stack.start(timeout=120)
