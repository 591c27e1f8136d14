"""Every bad input gets a message that says what to do (issue 20): the corpus of tests/bad_inputs.yaml.

One parametrised test runs each case of the table: the command line in-process (click's runner,
through the real ``odatis-vre`` group and its error handling), Python calls, HTTP requests to the
real hub and repository, and the explorer page through Bokeh's own client. It checks the answer
(exit status, HTTP status or exception), the three phrases of the message (the input, what is
wrong, what to do), that no traceback reached the user, and that the listed state is unchanged.

Cases that need the VRE (hub, proxy, Dask Gateway, repository) are slow and share one stack
(``corpus_stack``); explorer page cases share one explorer server. The others run alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bad_inputs as corpus
import pytest
import requests
import yaml
from vre_testing import REPO, TEST_CONFIG, VRETestStack, free_port, start_stack

CASES = corpus.load()
PASSWORD = "a-long-password-1"
META = {
    "title": "Sea surface temperature sample, Bay of Biscay (bad-input corpus)",
    "creators": [{"name": "Carberry, Josiah", "orcid": "0000-0002-1825-0097"}],
    "licence": "CC-BY-4.0",
    "keywords": ["sea surface temperature", "Bay of Biscay"],
    "abstract": "Three days of a synthetic SST field, deposited by the bad-input corpus.",
}
#: What good.nc's ACDD attributes are written from: META plus what publication needs (e-mail, platform...).
GOOD_FILE_META = META | {
    "creators": [
        {
            "name": "Carberry, Josiah",
            "orcid": "0000-0002-1825-0097",
            "email": "josiah.carberry@example.org",
            "affiliation": {"name": "Ifremer"},
        }
    ],
    "related_publications": [{"doi": "10.5194/os-19-1-2023"}],
    "funding": [{"funder": "Agence Nationale de la Recherche", "award": "ANR-00-TEST-0000"}],
    "platform": {"name": "Models/Analyses", "vocabulary": "GCMD Platform Keywords"},
    "instrument": {"name": "Computer", "vocabulary": "GCMD Instrument Keywords"},
    "program": "ODATIS",
}


# ----------------------------------------------------------------------------- materials


@dataclass
class Materials:
    """The files the cases give as input, in ``work`` (also the current folder of every case)."""

    work: Path
    cache: Path
    objects: dict[str, Any] = field(default_factory=dict)


def _write_materials(work: Path) -> dict[str, Any]:
    """Broken and good data files, metadata and configurations; returns the Python objects (``@name``)."""
    from odatis_vre.data import samples
    from odatis_vre.publishing import conventions, datafacts, metadata

    ds = samples.sst_dataset(days=3)
    # a file publication accepts: the ACDD attributes a deposit writes (95 % of compliance-checker's points)
    good = conventions.to_netcdf(
        datafacts.annotate(
            ds,
            metadata.load_metadata(GOOD_FILE_META),
            doi="10.5072/corpus",
            landing_url="https://vre.example.org/corpus/",
            publisher_email="repository@vre.example.org",
        ),
        work / "good.nc",
    )
    data = good.read_bytes()
    (work / "truncated.nc").write_bytes(data[: len(data) // 2])
    shutil.copy(good, work / "sst été.nc")
    (work / "notnetcdf.nc").write_text("station,time,temperature\nroscoff,2023-01-01,12.1\n")
    (work / "empty.nc").write_bytes(b"")
    ds.to_netcdf(work / "classic.nc", format="NETCDF3_CLASSIC")
    classic = (work / "classic.nc").read_bytes()
    (work / "classic_truncated.nc").write_bytes(classic[: len(classic) // 2])
    (work / "classic.nc").unlink()
    ds.drop_attrs().to_netcdf(work / "nocf.nc")
    conventions.to_netcdf(ds, work / "source_attrs.nc")  # CF-clean, with only its source's ACDD attributes
    ds.to_zarr(work / "truncated.zarr", mode="w")
    chunk = next(
        p
        for p in sorted((work / "truncated.zarr" / "analysed_sst").rglob("*"))
        if p.is_file() and p.name != "zarr.json"
    )
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    ds.to_zarr(work / "broken.zarr", mode="w")
    (work / "broken.zarr" / "zarr.json").write_text("{not json")
    (work / "plainfolder").mkdir()
    (work / "plainfolder" / "notes.txt").write_text("not data\n")

    (work / "meta.yaml").write_text(yaml.safe_dump(META, sort_keys=False))
    (work / "meta_nocreators.yaml").write_text(yaml.safe_dump({k: v for k, v in META.items() if k != "creators"}))
    (work / "meta_badyaml.yaml").write_text("title: [unclosed\ncreators: x\n")

    cfg = json.loads(json.dumps(TEST_CONFIG)) | {
        "hub": {"ip": "127.0.0.1", "port": 8765, "admin_users": ["admin"], "state_dir": ".vre"}
    }
    (work / "vre.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (work / "cfg_badyaml.yaml").write_text("mode: local\nhub: {port: 8000\n")
    bad = json.loads(json.dumps(cfg))
    bad["groups"]["default"]["quota"]["cpu"] = "two"
    (work / "cfg_type.yaml").write_text(yaml.safe_dump(bad))
    bad = json.loads(json.dumps(cfg))
    bad["groups"]["default"]["quota"]["dask"]["workers"] = -1
    (work / "cfg_negative.yaml").write_text(yaml.safe_dump(bad))
    (work / "cfg_mode.yaml").write_text(yaml.safe_dump(cfg | {"mode": "cloud"}))
    (work / "cfg_unknown.yaml").write_text(yaml.safe_dump(cfg | {"hubb": {"port": 8000}}))
    bad = json.loads(json.dumps(cfg))
    bad["profiles"][0]["cpu"] = {"guarantee": 4, "limit": 1}
    (work / "cfg_guarantee.yaml").write_text(yaml.safe_dump(bad))
    (work / "cfg_latin1.yaml").write_bytes(yaml.safe_dump(cfg).encode() + "# café\n".encode("latin-1"))
    (work / "cfg_list.yaml").write_text("- mode: local\n")

    (work / "catalog_badyaml.yaml").write_text("sources:\n  a: {driver: netcdf\n")
    main = yaml.safe_load((REPO / "catalog" / "odatis.yaml").read_text())
    entry = main["sources"]["sample_sst_zarr"]
    sources = {}
    for name, driver, path in (("broken_netcdf", "netcdf", "truncated.nc"), ("broken_zarr", "zarr", "broken.zarr")):
        e = json.loads(json.dumps(entry))
        e["driver"] = driver
        e["args"] = {"urlpath": str(work / path)}
        sources[name] = e
    (work / "broken_catalog.yaml").write_text(
        yaml.safe_dump({"metadata": main.get("metadata", {}), "sources": sources}, sort_keys=False)
    )
    return {"nocf_dataset": ds.drop_attrs(), "dataarray": ds["analysed_sst"], "sample_dataset": ds}


@pytest.fixture(scope="session")
def materials(tmp_path_factory: pytest.TempPathFactory, sample_data: Path) -> Materials:
    root = tmp_path_factory.mktemp("bad-inputs")
    work, cache = root / "work", root / "deposit-cache"
    work.mkdir()
    cache.mkdir()
    objects = _write_materials(work)
    return Materials(work, cache, objects)


# ----------------------------------------------------------------------------- the stack (slow cases)


@dataclass
class Stack:
    """The shared VRE of the slow cases, its users and their tokens."""

    vre: VRETestStack
    tokens: dict[str, str]
    repo: str

    def h(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"token {self.tokens[user]}"} if user and user != "none" else {}

    def gateway(self, user: str) -> Any:
        from dask_gateway import Gateway
        from dask_gateway.auth import JupyterHubAuth

        from odatis_vre.hub.modes import local_ports

        return Gateway(
            address=f"{self.vre.url}/services/dask-gateway",
            auth=JupyterHubAuth(api_token=self.tokens[user]),
            proxy_address=f"gateway://127.0.0.1:{local_ports(self.vre.cfg)['gateway_tcp']}",
        )


STACK_CONFIG: dict[str, Any] = {
    "profiles": TEST_CONFIG["profiles"]
    + [
        {
            "name": "bigmem",
            "display_name": "Big memory",
            "description": "One core, a lot of memory",
            "image": "ghcr.io/odatis/vre-ocean:test",
            "environment": "current",
            "cpu": {"limit": 1},
            "memory": {"limit": "16G"},
        }
    ],
    "groups": {"tiny": {"users": ["sam"], "quota": {"cpu": 2, "memory": "4G", "servers": 1, "storage": "1M"}}},
    "services": {
        "dask_gateway": {"enabled": True},
        "idle_culler": {"enabled": False},
        "explorer": {"enabled": False},
        "repository": {"enabled": True, "registrar": "local", "max_upload": "8M"},
    },
}


@pytest.fixture(scope="module")
def corpus_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    vre = start_stack(tmp_path_factory.mktemp("bad-inputs-vre"), STACK_CONFIG)
    try:
        tokens = {"admin": vre.admin_token}
        for name in ("alice", "bob", "sam"):
            vre.create_user(name, PASSWORD)
            tokens[name] = vre.user_token(name)
        stack = Stack(vre, tokens, f"{vre.url}/services/repository/")
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(stack.repo + "health", timeout=60).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert time.monotonic() < deadline, "the repository service did not start"
            time.sleep(0.2)
        yield stack
    finally:
        vre.stop()


@pytest.fixture(scope="module")
def explorer_url(tmp_path_factory: pytest.TempPathFactory, sample_data: Path) -> Iterator[str]:
    """The explorer as a user's server runs it (no hub login), on a loopback port."""
    port = free_port()
    log = tmp_path_factory.mktemp("explorer") / "explorer.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "odatis_vre", "explorer", "serve", "--port", str(port), "--no-hub-auth"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        # the first page builds a session (imports, a dataset opened): slow on a loaded machine
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, f"the explorer stopped: {log.read_text()[-2000:]}"
            try:
                if requests.get(url, timeout=120).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert time.monotonic() < deadline, f"the explorer did not answer: {log.read_text()[-2000:]}"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


# ----------------------------------------------------------------------------- what a case runs in


@dataclass
class Ctx:
    case: corpus.Case
    m: Materials
    stack: Stack | None = None
    explorer: str | None = None
    values: dict[str, str] = field(default_factory=dict)

    def fill(self, value: Any) -> Any:
        """Placeholders replaced in strings, lists and dicts; ``@name`` strings become the material objects."""
        if isinstance(value, str):
            if value.startswith("@"):
                return self.m.objects[value[1:]]

            def one(mt: re.Match[str]) -> str:
                name, arg = mt.group(1), mt.group(2)
                if name == "token":
                    assert self.stack is not None, f"{self.case.id}: {{token}} needs the stack"
                    return self.stack.tokens[arg]
                assert name in self.values, f"{self.case.id}: no value for {{{name}}}"
                return self.values[name]

            return re.sub(r"\{(\w+)(?::(\w+))?\}", one, value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@dataclass
class Outcome:
    code: int | None  # exit status, HTTP status, or None for a Python call
    error: BaseException | None
    message: str


# -- setups: state a case needs before it runs (a context manager; state is cleaned up after)


def _new_draft(ctx: Ctx, user: str = "alice") -> dict[str, Any]:
    assert ctx.stack is not None
    r = requests.post(
        ctx.stack.repo + "api/deposits",
        headers=ctx.stack.h(user),
        timeout=60,
        json={"metadata": META, "key": f"setup-{time.monotonic_ns()}"},
    )
    assert r.status_code == 201, r.text
    return r.json()


def _client(ctx: Ctx, user: str = "alice") -> Any:
    from odatis_vre.publishing.repository.client import Client

    assert ctx.stack is not None
    return Client(ctx.stack.repo, ctx.stack.tokens[user], retries=1)


@contextlib.contextmanager
def _setup_draft(ctx: Ctx) -> Iterator[None]:
    ctx.values["draft"] = _new_draft(ctx)["id"]
    yield


@contextlib.contextmanager
def _setup_draft_with_announced_file(ctx: Ctx) -> Iterator[None]:
    v = _new_draft(ctx)
    ctx.values["draft"] = v["id"]
    _client(ctx).announce(v["id"], 1, "w.bin", 10, hashlib.sha256(b"9876543210").hexdigest())
    yield


def _draft_with(ctx: Ctx, path: Path) -> Iterator[None]:
    v = _new_draft(ctx)
    ctx.values["draft"] = v["id"]
    _client(ctx).upload(v["id"], 1, path, progress=False)
    yield


@contextlib.contextmanager
def _setup_draft_with_truncated_file(ctx: Ctx) -> Iterator[None]:
    yield from _draft_with(ctx, ctx.m.work / "truncated.nc")


@contextlib.contextmanager
def _setup_draft_with_non_cf_file(ctx: Ctx) -> Iterator[None]:
    yield from _draft_with(ctx, ctx.m.work / "nocf.nc")


@contextlib.contextmanager
def _setup_published_with_draft(ctx: Ctx) -> Iterator[None]:
    c = _client(ctx)
    v = _new_draft(ctx)
    c.upload(v["id"], 1, ctx.m.work / "good.nc", progress=False)
    c.publish(v["id"], 1)
    c.new_version(v["id"], META | {"title": META["title"] + ", v2"}, key=f"v2-{time.monotonic_ns()}")
    ctx.values["published"] = v["id"]
    yield


@contextlib.contextmanager
def _setup_server_running(ctx: Ctx) -> Iterator[None]:
    assert ctx.stack is not None
    r = ctx.stack.vre.start_server("alice")
    assert r.status_code in (201, 202), r.text
    try:
        yield
    finally:
        ctx.stack.vre.stop_server("alice")


@contextlib.contextmanager
def _setup_home_over_quota(ctx: Ctx) -> Iterator[None]:
    from odatis_vre.users import sysusers

    assert ctx.stack is not None
    cfg = ctx.stack.vre.cfg
    account = sysusers.ensure(cfg, "sam")
    big = sysusers.home_of(cfg, "sam") / "big.bin"
    with open(big, "wb") as fh:
        for _ in range(3):
            fh.write(os.urandom(1024 * 1024))  # 3 MiB of real blocks: du counts them
    os.chown(big, account.uid, account.gid)
    try:
        yield
    finally:
        big.unlink(missing_ok=True)


@contextlib.contextmanager
def _setup_cluster_running(ctx: Ctx) -> Iterator[None]:
    assert ctx.stack is not None
    gw = ctx.stack.gateway("alice")
    name = gw.submit()
    try:
        yield
    finally:
        gw.stop_cluster(name)
        gw.close()


SETUPS: dict[str, Callable[[Ctx], Any]] = {
    "draft": _setup_draft,
    "draft_with_announced_file": _setup_draft_with_announced_file,
    "draft_with_truncated_file": _setup_draft_with_truncated_file,
    "draft_with_non_cf_file": _setup_draft_with_non_cf_file,
    "published_with_draft": _setup_published_with_draft,
    "server_running": _setup_server_running,
    "home_over_quota": _setup_home_over_quota,
    "cluster_running": _setup_cluster_running,
}


# -- snapshots: the state that must not change


def _tree(root: Path, mtimes: bool = True) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size (-1: a folder) and, if ``mtimes``, its modification time."""
    if not root.exists():
        return {}
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            continue
        st = p.stat()
        out[str(p.relative_to(root))] = (
            st.st_size if p.is_file() else -1,
            st.st_mtime_ns if p.is_file() and mtimes else 0,
        )
    return out


def _snap_deposits(ctx: Ctx) -> Any:
    from odatis_vre.publishing.repository.server import Settings
    from odatis_vre.publishing.repository.store import Store

    assert ctx.stack is not None
    s = Settings.from_config(ctx.stack.vre.cfg)
    store = Store(s.storage, s.db_url)
    rows = [
        (
            v["id"],
            v["version"],
            v["state"],
            v["doi"],
            json.dumps(v["metadata"], sort_keys=True),
            [(f["name"], f["size"], f["received"], f["complete"]) for f in v["files"]],
        )
        for v in store.list_versions()
    ]
    store.engine.dispose()
    # sizes, not times: a refused chunk may truncate an empty upload to empty again
    tree = {k: v for k, v in _tree(s.storage, mtimes=False).items() if k.startswith(("drafts", "published"))}
    return rows, tree


def _snap_accounts(ctx: Ctx) -> Any:
    import pwd

    from odatis_vre.users import accounts

    assert ctx.stack is not None
    vre = ctx.stack.vre
    users = sorted((u["name"], tuple(sorted(u["groups"]))) for u in vre.api("GET", "/users").json())
    store = accounts.store_for(vre.cfg.state_dir)
    local = sorted(a.username for a in store.list())
    store.close()
    prefix = vre.cfg.isolation["prefix"]
    system = sorted(e.pw_name for e in pwd.getpwall() if e.pw_name.startswith(prefix))
    return users, local, system


def _snap_servers(ctx: Ctx) -> Any:
    assert ctx.stack is not None
    return sorted(
        (u["name"], sorted((n, bool(s.get("ready"))) for n, s in (u.get("servers") or {}).items()))
        for u in ctx.stack.vre.api("GET", "/users").json()
    )


def _snap_clusters(ctx: Ctx) -> Any:
    assert ctx.stack is not None
    gw = ctx.stack.gateway("alice")
    try:
        return sorted(c.name for c in gw.list_clusters())
    finally:
        gw.close()


def _snap_home(ctx: Ctx) -> Any:
    from odatis_vre.users import sysusers

    assert ctx.stack is not None
    return _tree(sysusers.home_of(ctx.stack.vre.cfg, "sam"))


SNAPSHOTS: dict[str, Callable[[Ctx], Any]] = {
    "work": lambda ctx: _tree(ctx.m.work),
    "config": lambda ctx: (ctx.m.work / "vre.yaml").read_bytes(),
    "stack_config": lambda ctx: ctx.stack.vre.config_path.read_bytes() if ctx.stack else None,
    "cache": lambda ctx: _tree(ctx.m.cache),
    "deposits": _snap_deposits,
    "accounts": _snap_accounts,
    "servers": _snap_servers,
    "clusters": _snap_clusters,
    "home": _snap_home,
}
assert set(SNAPSHOTS) == set(corpus.SNAPSHOTS)


# -- runners: one per kind of input


def _run_cli(ctx: Ctx) -> Outcome:
    from click.testing import CliRunner

    from odatis_vre.cli import main

    a = ctx.fill(ctx.case.action)
    result = CliRunner().invoke(main, a["argv"], env=a.get("env") or {}, catch_exceptions=True, prog_name="odatis-vre")
    # click's own exits (usage errors, SystemExit) are the only exceptions a command may end with
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{ctx.case.id}: the command raised {result.exception!r}") from result.exception
    return Outcome(result.exit_code, None, result.output)


@contextlib.contextmanager
def _as_user(ctx: Ctx, user: str | None) -> Iterator[None]:
    """Inside a user's server: the gateway's address and the user's hub token (what compute.cluster reads)."""
    if not user:
        yield
        return
    import dask.config

    from odatis_vre.hub.modes import local_ports

    assert ctx.stack is not None
    vre = ctx.stack.vre
    saved = os.environ.get("JUPYTERHUB_API_TOKEN")
    os.environ["JUPYTERHUB_API_TOKEN"] = ctx.stack.tokens[user]
    try:
        with dask.config.set(
            {
                "gateway.address": f"{vre.url}/services/dask-gateway",
                "gateway.proxy-address": f"gateway://127.0.0.1:{local_ports(vre.cfg)['gateway_tcp']}",
                "gateway.auth.type": "jupyterhub",
            }
        ):
            yield
    finally:
        if saved is None:
            os.environ.pop("JUPYTERHUB_API_TOKEN", None)
        else:
            os.environ["JUPYTERHUB_API_TOKEN"] = saved


def _run_python(ctx: Ctx) -> Outcome:
    import importlib

    a = ctx.case.action
    module, _, name = a["call"].rpartition(".")
    fn = getattr(importlib.import_module(f"odatis_vre.{module}"), name)
    args, kwargs = ctx.fill(a.get("args") or []), ctx.fill(a.get("kwargs") or {})
    try:
        with _as_user(ctx, a.get("as")):
            obj = fn(*args, **kwargs)
            if a.get("method"):
                obj = getattr(obj, a["method"])(*ctx.fill(a.get("method_args") or []))
    except Exception as exc:  # noqa: BLE001 - the exception is what the case checks
        return Outcome(None, exc, str(exc))
    with contextlib.suppress(Exception):
        obj.shutdown()  # a cluster that should not have started
    return Outcome(None, None, f"no error: {obj!r}"[:500])


def _run_http(ctx: Ctx) -> Outcome:
    assert ctx.stack is not None
    a = ctx.fill(ctx.case.action)
    kw: dict[str, Any] = {"json": a["json"]} if "json" in a else {"data": a["data"].encode()} if "data" in a else {}
    r = requests.request(
        a["method"], a["url"], headers=ctx.stack.h(a.get("user", "alice")) | (a.get("headers") or {}), timeout=120, **kw
    )
    try:
        body = r.json()
        message = body.get("error") or body.get("message") or r.text
    except ValueError:
        message = r.text
    return Outcome(r.status_code, None, message)


def _run_explorer(ctx: Ctx) -> Outcome:
    import panel  # noqa: F401  (registers Panel's models, which the page's document holds)
    from bokeh.client import pull_session

    assert ctx.explorer is not None
    dataset = ctx.case.action["dataset"]
    page = requests.get(ctx.explorer, params={"dataset": dataset}, timeout=180)
    with pull_session(url=ctx.explorer, arguments={"dataset": dataset}) as session:
        alerts = [
            m
            for m in session.document.models
            if "alert" in " ".join(getattr(m, "css_classes", []) or []) or type(m).__name__ == "HTML"
        ]
        texts = []
        for m in alerts:
            text = html.unescape(re.sub(r"<[^>]+>", "", html.unescape(str(getattr(m, "text", "") or ""))))
            if text.strip():
                texts.append(text.strip())
    return Outcome(page.status_code, None, "\n".join(texts))


RUNNERS: dict[str, Callable[[Ctx], Outcome]] = {
    "cli": _run_cli,
    "python": _run_python,
    "http": _run_http,
    "explorer": _run_explorer,
}


# ----------------------------------------------------------------------------- the corpus


def _params() -> list[Any]:
    return [
        pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.stack or c.kind == "explorer" else []) for c in CASES
    ]


@pytest.mark.parametrize("case", _params())
def test_bad_input(
    case: corpus.Case, request: pytest.FixtureRequest, materials: Materials, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = Ctx(case, materials, values={"work": str(materials.work)})
    if case.stack:
        ctx.stack = request.getfixturevalue("corpus_stack")
        ctx.values |= {"repo": ctx.stack.repo, "hub": ctx.stack.vre.url, "stack_config": str(ctx.stack.vre.config_path)}
    if case.kind == "explorer":
        ctx.explorer = request.getfixturevalue("explorer_url")
    monkeypatch.chdir(materials.work)
    monkeypatch.setenv("ODATIS_VRE_DEPOSIT_DIR", str(materials.cache))
    monkeypatch.setenv("ODATIS_VRE_CONFIG", str(materials.work / "vre.yaml"))
    setup = SETUPS[case.setup](ctx) if case.setup else contextlib.nullcontext()
    with setup:
        before = {name: SNAPSHOTS[name](ctx) for name in case.unchanged}
        outcome = RUNNERS[case.kind](ctx)
        after = {name: SNAPSHOTS[name](ctx) for name in case.unchanged}

    where = f"{case.id} answered {outcome.code} / {outcome.error!r}:\n{outcome.message}"
    e = case.expect
    if "exit" in e:
        assert outcome.code == e["exit"], where
    elif "status" in e:
        assert outcome.code == e["status"], where
    else:
        assert outcome.error is not None, where
        assert e["error"] in [c.__name__ for c in type(outcome.error).__mro__], where
    for phrase in (ctx.fill(p) for p in case.phrases):
        assert phrase in outcome.message, f"{where}\n--> the message lacks {phrase!r}"
    assert "Traceback" not in outcome.message and not re.search(r'File ".*", line \d+', outcome.message), where
    for name in case.unchanged:
        assert before[name] == after[name], f"{case.id}: {name} changed (something was half-written)"


# ----------------------------------------------------------------------------- the corpus itself and its page


def test_the_corpus_covers_every_surface_and_cli_group() -> None:
    import click

    from odatis_vre.cli import main

    assert len(CASES) >= 40
    surfaces = {c.surface for c in CASES}
    assert surfaces == set(corpus.SURFACES), f"surfaces without a case: {set(corpus.SURFACES) - surfaces}"
    # every command group of the CLI (and every top-level command) has a case run through it
    first_words = {
        c.action["argv"][i]
        for c in CASES
        if c.kind == "cli"
        for i in range(len(c.action["argv"]))
        if c.action["argv"][i] in main.commands
    }
    visible = {n for n, cmd in main.commands.items() if not cmd.hidden}
    assert visible <= first_words, f"CLI commands without a case: {visible - first_words}"
    assert all(isinstance(main.commands[n], click.Command) for n in first_words)
    # the kinds of input the issue lists
    text = yaml.safe_dump([c.raw for c in CASES], allow_unicode=True, width=10_000)
    for needle in (
        "truncated.nc",
        "truncated.zarr",
        "broken.zarr",
        "nocf",
        "SHA-256 is not the announced",
        "../../evil.nc",
        "été",
        "аdmin",
        "1000000000000000000",
        "2020-01-01/2010-01-01",
        "soon/later",
        "-10,48,-2,43",
        "-10,north,-2,48",
        "quota 'dask.workers'",
        "quota 'dask.cores'",
        "worker_memory: 8",
        "quota 'dask.clusters'",
        "quota 'servers'",
        "above the cpu limit",
        "above the memory limit",
        "storage quota",
        "accepts at most 8M",
    ):
        assert needle in text, f"the corpus has no case with {needle!r}"


def test_errors_page_is_generated_from_the_corpus() -> None:
    expected = corpus.page(CASES)
    assert corpus.PAGE.read_text(encoding="utf-8") == expected, (
        "docs/errors.md is stale: run `make errors-page` (python tests/bad_inputs.py) and commit it"
    )


def test_repository_refuses_a_size_above_its_free_space(tmp_path: Path) -> None:
    """Without max_upload, a huge declared size is refused by the free space of the volume (nothing allocated)."""
    from odatis_vre.publishing.repository.store import RepositoryError, Store

    st = Store(tmp_path / "store")
    v = st.create_deposit("alice", {"title": "T"}, key="k")
    before = _tree(tmp_path / "store" / "drafts")
    with pytest.raises(RepositoryError, match=r"more than the .* GiB free on the repository's volume: split") as err:
        st.start_file(v["id"], 1, "alice", "huge.nc", 10**18, hashlib.sha256(b"").hexdigest())
    assert err.value.status == 507
    assert _tree(tmp_path / "store" / "drafts") == before and st.version(v["id"], 1)["files"] == []


# ----------------------------------------------------------------------------- the real entry point: no traceback


def _odatis_vre(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("odatis-vre")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env=os.environ | {"ODATIS_VRE_CONFIG": str(cwd / "vre.yaml")},
    )


def test_no_traceback_reaches_the_user_unless_debug(materials: Materials) -> None:
    bad = ["catalog", "search", "temperature", "--time", "soon/later"]
    quiet = _odatis_vre(*bad, cwd=materials.work)
    assert quiet.returncode == 2 and "is not a date" in quiet.stderr and "Traceback" not in quiet.stderr
    refused = _odatis_vre("config", "check", str(materials.work / "cfg_latin1.yaml"), cwd=materials.work)
    assert refused.returncode == 1 and refused.stderr.startswith("Error: ") and "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") <= 2  # one message, not a dump
    # --debug shows where an error comes from
    debug = _odatis_vre("--debug", "config", "check", str(materials.work / "cfg_latin1.yaml"), cwd=materials.work)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "ConfigError" in debug.stderr


def test_a_bug_is_one_message_with_exit_70(materials: Materials) -> None:
    """An unexpected exception in a command says it is a bug, in one message, without a traceback."""
    import click
    from click.testing import CliRunner

    from odatis_vre.cli import common as cli_common

    @click.group(cls=cli_common.FriendlyGroup)
    @click.option("--debug", is_flag=True)
    @click.pass_context
    def root(ctx: click.Context, debug: bool) -> None:
        ctx.obj = cli_common.Globals(debug=debug)

    @root.command("boom")
    def boom() -> None:
        {}["missing"]  # noqa: B018 - a bug on purpose

    out = CliRunner().invoke(root, ["boom"])
    assert out.exit_code == 70 and "internal error (KeyError: 'missing')" in out.output
    assert "rerun the command with --debug" in out.output and "Traceback" not in out.output
    out = CliRunner().invoke(root, ["--debug", "boom"])
    assert isinstance(out.exception, KeyError)
