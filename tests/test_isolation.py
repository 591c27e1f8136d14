"""No user code runs as root: every hub user is a separate system account, checked from inside, as an attacker would.

A real local VRE started as root (as `make up` runs it): two users run code in their own kernels and terminals
and try to read the hub's secrets, each other's homes and processes, and to escape their limits. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect
from vre_testing import REPO, VRETestStack, start_stack

from odatis_vre import admin
from odatis_vre.admin import remote
from odatis_vre.hub import isolation
from odatis_vre.users import sysusers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="multi-user mode needs root (single-user mode: below)"),
]

USERS = {
    "alice": "alice-pass-1",
    "bruno": "bruno-pass-2",
    "carla": "carla-pass-3",
    "dan": "dan-pass-44",
    "erin": "erin-pass-55",
    "frank": "frank-pass-6",
}

CONFIG = {
    "profiles": [
        {
            "name": "ocean",
            "display_name": "Ocean",
            "description": "Standard",
            "image": "i",
            "environment": "current",
            "cpu": {"limit": 1},
            "memory": {"limit": "2G"},
            "default": True,
        },
        {
            "name": "tiny",
            "display_name": "Tiny",
            "description": "Small",
            "image": "i",
            "environment": "current",
            "cpu": {"limit": 0.3},
            "memory": {"limit": "400M"},
        },
    ],
    "groups": {
        "default": {
            "quota": {
                "cpu": 2,
                "memory": "4G",
                "servers": 1,
                "storage": "1G",
                "dask": {"cores": 2, "workers": 2, "worker_memory": "1G", "clusters": 1},
            }
        },
        "small-disk": {"users": ["dan"], "quota": {"cpu": 2, "memory": "4G", "servers": 1, "storage": "2M"}},
    },
    "services": {"idle_culler": {"enabled": True}, "explorer": {"enabled": True}, "repository": {"enabled": True}},
}


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> VRETestStack:
    st = start_stack(tmp_path_factory.mktemp("isolation"), CONFIG)
    for name, password in USERS.items():
        st.create_user(name, password)
    yield st
    st.stop()


def run(stack: VRETestStack, user: str, code: str, timeout: float = 120) -> str:
    return remote.run_code(stack.server_url(user), stack.user_token(user), code, timeout=timeout).stdout


def running(stack: VRETestStack, user: str, profile: str | None = None) -> None:
    model = stack.api("GET", f"/users/{user}").json()
    if not (model.get("servers") or {}).get("", {}).get("ready"):
        r = stack.start_server(user, profile)
        assert r.status_code in (201, 202), r.text


def secrets_of(stack: VRETestStack) -> dict[str, str]:
    """Every secret of the hub side, read as root: none may be seen by a user."""
    state = stack.stack.state
    out = {
        name: (state / name).read_text().strip()
        for name in ("cli_token", "jupyterhub_cookie_secret", "gateway_encrypt_key")
    }
    import psutil

    # the hub makes the proxy's token in memory and hands it to the proxy in its environment
    proxy = [
        p for p in psutil.Process(stack.stack.pid()).children() if "configurable-http-proxy" in " ".join(p.cmdline())
    ]
    assert len(proxy) == 1, proxy
    out["proxy token"] = proxy[0].environ()["CONFIGPROXY_AUTH_TOKEN"]
    return out


ATTACK = r"""
import json, os, pwd
state, other_home, homes, services, repo = {state!r}, {other_home!r}, {homes!r}, {services!r}, {repo!r}

def probe(path, how):
    try:
        if how == "read":
            with open(path, "rb") as f:
                f.read(1)
        elif how == "reopen":
            # non-blocking: fd 1 may be a pipe, and reading an empty pipe would wait forever
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        elif how == "list":
            os.listdir(path)
        elif how == "write":
            with open(path, "wb") as f:
                f.write(b"x")
        return "OK"
    except PermissionError:
        return "denied"
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        return f"errno {{e.errno}}"

targets = {{
    "cli token": (state + "/cli_token", "read"), "cookie secret": (state + "/jupyterhub_cookie_secret", "read"),
    "accounts": (state + "/accounts.sqlite", "read"), "hub db": (state + "/jupyterhub.sqlite", "read"),
    "gateway key": (state + "/gateway_encrypt_key", "read"), "hub log": (state + "/logs/hub.log", "read"),
    "state dir": (state, "list"), "other home": (other_home, "list"), "other file": (other_home + "/secret.txt", "read"),
    "homes": (homes, "list"), "write homes": (homes + "/x", "write"), "write repo": (repo + "/x", "write"),
    "write etc": ("/etc/odatis-x", "write"), "write services": (services + "/x", "write"),
    "write state": (state + "/x", "write"), "services dir": (services, "list"),
    "my stdout reopened": ("/proc/self/fd/1", "reopen"),
    "parent stdout reopened": (f"/proc/{{os.getppid()}}/fd/1", "reopen"),
}}
got = {{k: probe(p, how) for k, (p, how) in targets.items()}}
try:
    os.setuid(0)
    got["setuid 0"] = "OK"
except PermissionError:
    got["setuid 0"] = "denied"
mine = os.getuid()
environs, cmdlines = [], []
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        st = os.stat(f"/proc/{{pid}}")
        cmdlines.append(open(f"/proc/{{pid}}/cmdline", "rb").read().decode(errors="replace"))
    except OSError:
        continue
    try:
        env = open(f"/proc/{{pid}}/environ", "rb").read().decode(errors="replace")
        environs.append([int(pid), st.st_uid, env])
    except OSError:
        pass
print(json.dumps({{"uid": mine, "my stdout": os.readlink("/proc/self/fd/1"), "ppid": os.getppid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
                  "name": pwd.getpwuid(mine).pw_name, "home": os.environ["HOME"], "cwd": os.getcwd(),
                  "probes": got, "environs": environs, "cmdlines": cmdlines, "env": dict(os.environ)}}))
"""


def attack(stack: VRETestStack, user: str, other: str) -> dict[str, Any]:
    cfg = stack.cfg
    code = ATTACK.format(
        state=str(stack.stack.state),
        other_home=str(sysusers.home_of(cfg, other)),
        homes=str(cfg.homes_dir),
        services=str(cfg.services_dir),
        repo=str(REPO),
    )
    return json.loads(run(stack, user, code).strip().splitlines()[-1])


def test_accounts_exist_from_creation(stack: VRETestStack) -> None:
    """The accounts API made each user's system account at once, with a private home."""
    uids = set()
    for name in USERS:
        account = stack.account(name)
        entry = pwd.getpwnam(account.name)
        assert account.name == f"{stack.cfg.isolation['prefix']}{name}" and account.uid >= 1000
        assert entry.pw_shell == sysusers.SHELL
        st = account.home.stat()
        assert (st.st_uid, st.st_mode & 0o777) == (account.uid, 0o700)
        uids.add(account.uid)
    assert len(uids) == len(USERS)
    assert stack.stack.state.stat().st_mode & 0o777 == 0o700
    # the service account runs the explorer, the repository and the culler; the gateway alone keeps root
    svc = pwd.getpwnam(stack.cfg.isolation["service_account"])
    import psutil

    owners: dict[str, set[int]] = {}
    for p in psutil.Process(stack.stack.pid()).children(recursive=True):
        line = " ".join(p.cmdline())
        for key in (
            "odatis_vre explorer serve",
            "odatis_vre repository serve",
            "jupyterhub_idle_culler",
            "dask-gateway-server",
        ):
            if key in line:
                owners.setdefault(key, set()).add(p.uids().real)
    assert owners.pop("dask-gateway-server") == {0}
    assert set(owners) == {"odatis_vre explorer serve", "odatis_vre repository serve", "jupyterhub_idle_culler"}
    assert all(uids == {svc.pw_uid} for uids in owners.values()), owners


@pytest.mark.parametrize("user,other", [("alice", "bruno"), ("bruno", "alice")])
def test_a_kernel_is_its_users_account_and_nothing_more(stack: VRETestStack, user: str, other: str) -> None:
    running(stack, user)
    running(stack, other)
    run(stack, other, "open('secret.txt', 'w').write('only mine')")
    me = stack.account(user)
    got = attack(stack, user, other)
    assert (got["uid"], got["euid"], got["gid"]) == (me.uid, me.uid, me.gid)
    assert got["name"] == me.name and got["home"] == str(me.home) == got["cwd"]
    assert 0 not in got["groups"]
    probes = got["probes"]
    for key in (
        "cli token",
        "cookie secret",
        "accounts",
        "hub db",
        "gateway key",
        "hub log",
        "state dir",
        "other home",
        "other file",
        "homes",
        "write homes",
        "write repo",
        "write etc",
        "write services",
        "write state",
        "services dir",
        "setuid 0",
    ):
        assert probes[key] == "denied", (key, probes[key])
    # the server's output is the hub's log: it cannot be reopened for reading; the kernel's own output is a
    # pipe to its server, never a file of the hub's
    assert probes["parent stdout reopened"] == "denied", probes
    assert got["my stdout"].startswith("pipe:"), got["my stdout"]
    # no other account's environment can be read; what can be read (own processes) holds no secret
    assert all(uid == me.uid for _, uid, _ in got["environs"]), [(p, u) for p, u, _ in got["environs"] if u != me.uid]
    seen = "\n".join(env for _, _, env in got["environs"]) + "\n".join(got["cmdlines"]) + json.dumps(got["env"])
    for name, secret in secrets_of(stack).items():
        assert secret not in seen, f"{user} can see the {name}"
    for key in ("CONFIGPROXY_AUTH_TOKEN", "ODATIS_VRE_CLI_TOKEN", "DASK_GATEWAY_ENCRYPT_KEYS", "JPY_COOKIE_SECRET"):
        assert key not in got["env"]
    # the server process itself (the kernel's parent) runs as the user too, in its cgroup with the profile's limits
    assert _uid_of(got["ppid"]) == me.uid
    memory = Path("/sys/fs/cgroup/memory") / _cgroup_of(got["ppid"], "memory").lstrip("/")
    assert isolation.enforcer(stack.cfg).top in str(memory)
    assert int((memory / "memory.limit_in_bytes").read_text()) == 2 * 1024**3


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            real, effective, saved, fs = map(int, line.split()[1:])
            assert real == effective == saved == fs
            return real
    raise AssertionError(f"no Uid line for {pid}")


def _cgroup_of(pid: int, controller: str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctl, path = line.split(":", 2)
        if controller in ctl.split(","):
            return path
    raise AssertionError(f"{pid} has no {controller} cgroup")


def _terminal(stack: VRETestStack, user: str, command: str, timeout: float = 60) -> str:
    """Run ``command`` in a new JupyterLab terminal of ``user`` (REST + websocket, as the browser does)."""
    token = stack.user_token(user)
    server = stack.server_url(user).rstrip("/")
    r = requests.post(f"{server}/api/terminals", headers={"Authorization": f"token {token}"}, timeout=60)
    assert r.status_code == 200, r.text
    name = r.json()["name"]

    async def talk() -> str:
        ws = await websocket_connect(
            HTTPRequest(
                f"{server.replace('http://', 'ws://')}/terminals/websocket/{name}",
                headers={"Authorization": f"token {token}"},
            )
        )
        await ws.write_message(json.dumps(["stdin", f"{command}; echo END-$((40+2))\r"]))
        out = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while "END-42" not in out:
            msg = await asyncio.wait_for(ws.read_message(), max(0.1, deadline - loop.time()))
            if msg is None:
                break
            kind, *data = json.loads(msg)
            if kind == "stdout":
                out += data[0]
        ws.close()
        return out

    try:
        return asyncio.run(talk())
    finally:
        requests.delete(f"{server}/api/terminals/{name}", headers={"Authorization": f"token {token}"}, timeout=60)


def test_a_terminal_is_its_users_account(stack: VRETestStack) -> None:
    running(stack, "alice")
    me = stack.account("alice")
    out = _terminal(
        stack,
        "alice",
        f"id -u; id -un; cat {stack.stack.state}/cli_token; ls {sysusers.home_of(stack.cfg, 'bruno')}; "
        "touch /etc/odatis-terminal",
    )
    assert f"\n{me.uid}\r" in out.replace("\r\n", "\r\n") or f"{me.uid}\r\n" in out, out
    assert me.name in out
    assert out.count("Permission denied") >= 3, out
    assert not Path("/etc/odatis-terminal").exists()


def test_dask_workers_run_as_their_user_with_limits(stack: VRETestStack) -> None:
    running(stack, "alice")
    running(stack, "bruno")
    alice = stack.account("alice")
    out = run(
        stack,
        "alice",
        """
import json, os
from odatis_vre import compute
cl = compute.cluster()
cl.scale(1)
client = cl.get_client()
client.wait_for_workers(1, timeout=120)
info = list(client.run(lambda: (os.getpid(), os.getuid(), os.getcwd())).values())[0]
sched = client.run_on_scheduler(lambda: (os.getpid(), os.getuid()))
print(json.dumps({"worker": info, "scheduler": sched, "name": cl.name}))
""",
        timeout=300,
    )
    got = json.loads(out.strip().splitlines()[-1])
    wpid, wuid, wdir = got["worker"]
    spid, suid = got["scheduler"]
    assert wuid == suid == alice.uid
    assert _uid_of(wpid) == alice.uid and _uid_of(spid) == alice.uid
    nanny = int(Path(f"/proc/{wpid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert _uid_of(nanny) == alice.uid
    # each Dask process in a cgroup of its own, below the VRE's, with the cluster's memory and CPU
    enforcer = isolation.enforcer(stack.cfg)
    assert enforcer.version == 1
    mem_path = _cgroup_of(wpid, "memory")
    assert enforcer.top in mem_path and f"dask-{got['name']}-worker" in mem_path
    mount = Path("/sys/fs/cgroup/memory")
    limit = int((mount / mem_path.lstrip("/") / "memory.limit_in_bytes").read_text())
    assert limit == 1024**3 + 256 * 1024**2
    quota = int((Path("/sys/fs/cgroup/cpu") / _cgroup_of(wpid, "cpu").lstrip("/") / "cpu.cfs_quota_us").read_text())
    assert quota == isolation.CPU_PERIOD
    # the cluster's folder (TLS key, logs) is alice's alone: bruno cannot look inside, nor read her worker's memory
    probe = run(
        stack,
        "bruno",
        f"""
import os
for path in ({wdir!r}, {wdir + "/.certs/dask.pem"!r}, '/proc/{wpid}/environ', '/proc/{wpid}/mem'):
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read(1)
        print('OK', path)
    except PermissionError:
        print('denied', path)
""",
    )
    assert probe.count("denied") == 4, probe
    assert Path("/").stat().st_uid == 0  # dask-gateway-server 2026.3 would chown "/" to the user (see gateway.py)
    run(stack, "alice", f"from dask_gateway import Gateway; Gateway().stop_cluster({got['name']!r})")
    wait_for("the worker's cgroup removed", lambda: not (mount / mem_path.lstrip("/")).exists(), 60)


def test_cpu_limit_throttles(stack: VRETestStack) -> None:
    running(stack, "carla", "tiny")
    account = stack.account("carla")
    pid = int(run(stack, "carla", "import os; print(os.getpid())").strip())
    path = Path("/sys/fs/cgroup/cpu") / _cgroup_of(pid, "cpu").lstrip("/")
    assert int((path / "cpu.cfs_quota_us").read_text()) == int(0.3 * isolation.CPU_PERIOD)
    before = dict(line.split() for line in (path / "cpu.stat").read_text().splitlines())
    out = run(
        stack,
        "carla",
        """
import time
t0, c0 = time.monotonic(), time.process_time()
while time.monotonic() - t0 < 1.5:
    pass
print(round((time.process_time() - c0) / (time.monotonic() - t0), 2))
""",
    )
    after = dict(line.split() for line in (path / "cpu.stat").read_text().splitlines())
    assert int(after["nr_throttled"]) > int(before["nr_throttled"])
    assert float(out.strip()) < 0.6, out  # a busy loop gets about 0.3 of a core, not all of it
    assert _uid_of(pid) == account.uid


def test_out_of_memory_stops_the_server_and_says_so(stack: VRETestStack) -> None:
    running(stack, "carla", "tiny")
    running(stack, "alice")
    session = stack.login("carla", USERS["carla"])
    with pytest.raises((ConnectionError, TimeoutError, remote.RemoteError, OSError)):
        run(
            stack,
            "carla",
            "import numpy as np\nblocks = [np.ones(50 * 2**20 // 8) for _ in range(40)]\nprint(len(blocks))",
            timeout=60,
        )
    wait_for("carla's server stopped", lambda: not (stack.api("GET", "/users/carla").json().get("servers") or {}), 60)
    page = session.get(f"{stack.url}/user/carla/lab", timeout=60)
    assert "ran out of memory (limit 400M)" in page.text, page.text[:2000]
    home = session.get(f"{stack.url}/hub/home", timeout=60)
    assert "ran out of memory (limit 400M)" in home.text
    # the hub and the other servers live on
    assert stack.api("GET", "/").status_code == 200
    assert stack.api("GET", "/users/alice").json()["servers"][""]["ready"]
    assert run(stack, "alice", "print(6 * 7)").strip() == "42"
    # a new start clears the message
    running(stack, "carla")
    assert "ran out of memory" not in session.get(f"{stack.url}/hub/home", timeout=60).text
    stack.stop_server("carla")


def test_storage_quota_refuses_a_full_home(stack: VRETestStack) -> None:
    running(stack, "dan")
    run(stack, "dan", "open('big.bin', 'wb').write(__import__('os').urandom(3 * 2**20))")
    stack.stop_server("dan")
    r = stack.api("POST", "/users/dan/server", json={})
    assert r.status_code == 403, r.text
    message = r.json()["message"]
    assert "above your storage quota of 2M" in message and "free space" in message
    (sysusers.home_of(stack.cfg, "dan") / "big.bin").unlink()
    running(stack, "dan")
    stack.stop_server("dan")


def test_rlimits_where_there_is_no_cgroup(stack: VRETestStack) -> None:
    """hub.isolation.limits 'rlimit' (what a machine without cgroups gets): memory per process, processes per account."""

    def set_limits(value: str | None) -> None:
        def change(raw: dict[str, Any]) -> None:
            iso = raw["hub"].setdefault("isolation", {})
            iso.pop("limits", None) if value is None else iso.__setitem__("limits", value)

        admin.edit_config(stack.config_path, change)

    set_limits("rlimit")
    try:
        running(stack, "erin", "tiny")
        out = run(
            stack,
            "erin",
            "import resource, json; print(json.dumps([resource.getrlimit(resource.RLIMIT_DATA),"
            " resource.getrlimit(resource.RLIMIT_NPROC), open('/proc/self/cgroup').read()]))",
        )
        (data_soft, _), (nproc, _), groups = json.loads(out.strip())
        assert data_soft == 400 * 1024**2
        assert nproc == stack.cfg.isolation["max_processes"]
        assert "odatis-vre-" not in groups
        with pytest.raises(remote.RemoteError, match="MemoryError"):
            run(stack, "erin", "import numpy as np; np.ones(600 * 2**20 // 8)")
        assert _uid_of(int(run(stack, "erin", "import os; print(os.getpid())").strip())) == stack.account("erin").uid
    finally:
        stack.stop_server("erin")
        set_limits(None)


def test_deleted_user_is_locked_and_comes_back(stack: VRETestStack) -> None:
    running(stack, "frank")
    account = stack.account("frank")
    # something the user left running on purpose, in a session of its own
    run(stack, "frank", "import subprocess; subprocess.Popen(['setsid', 'sleep', '600'])")
    assert stack.api("DELETE", "/users/frank").status_code == 204
    entry = pwd.getpwnam(account.name)
    assert entry.pw_shell == sysusers.NO_LOGIN
    import psutil

    wait_for(
        "frank's processes gone",
        lambda: not [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == account.uid],
        30,
    )
    assert account.home.is_dir()  # kept: archived or handed back, never silently deleted
    stack.create_user("frank", USERS["frank"])
    again = stack.account("frank")
    assert again.uid == account.uid and pwd.getpwnam(again.name).pw_shell == sysusers.SHELL


def test_hub_killed_and_restarted_keeps_servers_as_their_users(stack: VRETestStack) -> None:
    running(stack, "alice")
    run(stack, "alice", "kept = 'still here'")
    kid = remote.start_kernel(stack.server_url("alice"), stack.user_token("alice"))
    remote.run_code(stack.server_url("alice"), stack.user_token("alice"), "kept = 'still here'", kernel_id=kid)
    stack.stack.kill_hub()
    stack.stack.start(timeout=120)
    out = remote.run_code(
        stack.server_url("alice"), stack.user_token("alice"), "import os; print(kept, os.getuid())", kernel_id=kid
    ).stdout
    assert out.split() == ["still", "here", str(stack.account("alice").uid)]


def test_single_user_mode_runs_every_server_as_that_user(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Started by an ordinary user, the VRE says so and runs every server as that user."""
    from vre_testing import write_config

    owner = f"ovt{os.getpid() % 10000}solo"
    subprocess.run(
        [
            "useradd",
            "--create-home",
            "--home-dir",
            f"/tmp/odatis-vre-tests/{owner}",
            "--comment",
            "odatis-vre tests single-user",
            owner,
        ],
        check=True,
        capture_output=True,
    )
    try:
        folder = Path(f"/tmp/odatis-vre-tests/{owner}/vre")
        folder.mkdir()
        config = write_config(
            folder,
            {
                "services": {
                    "explorer": {"enabled": False},
                    "repository": {"enabled": False},
                    "idle_culler": {"enabled": False},
                }
            },
        )
        subprocess.run(["chown", "-R", f"{owner}:{owner}", str(folder.parent)], check=True)
        env = {"PATH": os.environ["PATH"], "HOME": str(folder.parent), "LANG": "C.UTF-8"}
        cmd = ["runuser", "-u", owner, "--", str(REPO / ".venv" / "bin" / "odatis-vre")]
        up = subprocess.run(
            [*cmd, "up", "--detach", "--no-samples", "-c", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        try:
            assert up.returncode == 0, up.stdout + up.stderr
            assert f"single-user mode: every server runs as {owner}" in up.stdout
            assert "memory: per process (RLIMIT_DATA)" in up.stdout
            from odatis_vre import config as config_mod

            cfg = config_mod.load(config)
            token = (cfg.state_dir / "cli_token").read_text().strip()
            hub = admin.HubClient(cfg.hub_url, token)
            hub.request("PUT", "/accounts/solo-user", json={"password": "solo-pass-1"})
            # 202: the spawn goes on in the background (a busy machine), the wait below covers it
            hub.request("POST", "/users/solo-user/server", json={}, ok=(201, 202))
            model = wait_for(
                "the server ready",
                lambda: (
                    (hub.get("/users/solo-user").get("servers") or {}).get("", {}).get("ready")
                    and hub.get("/users/solo-user")
                ),
                120,
            )
            assert model
            owner_uid = pwd.getpwnam(owner).pw_uid
            out = remote.run_code(
                f"{cfg.hub_url}/user/solo-user/",
                hub.request("POST", "/users/solo-user/tokens", json={}).json()["token"],
                "import os; print(os.getuid())",
            ).stdout
            assert int(out) == owner_uid
            assert sysusers.accounts(cfg) == []  # nothing was created in /etc/passwd
        finally:
            subprocess.run([*cmd, "down", "-c", str(config)], env=env, capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run(["pkill", "-KILL", "-u", owner], capture_output=True)
        subprocess.run(["userdel", "--remove", owner], capture_output=True)
