"""Spawners: local processes (embedded mode) and Kubernetes pods, with one quota check.

Both spawners offer the profiles of ``vre.yaml`` that the user may use, show the
user's remaining quota on the spawn page, and refuse a request above the quota with a
message naming the limit (:mod:`odatis_vre.users.quotas`).
"""

from __future__ import annotations

import asyncio
import functools
import html
import os
import socket
import time
from typing import Any

import psutil
from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import random_port
from tornado import web

from .. import config as config_mod
from ..config import VREConfig, format_bytes, parse_quantity
from ..users import quotas, sysusers
from . import isolation, zygote


def _cfg() -> VREConfig:
    return config_mod.load(os.environ.get(config_mod.ENV_CONFIG), cached=True)


def visible_profiles(cfg: VREConfig, groups: list[str]) -> list[dict[str, Any]]:
    """Profiles offered to a user in ``groups``: not retired, and not restricted to other groups."""
    return [p for p in cfg.profiles if not p.get("retired") and (not p.get("groups") or set(p["groups"]) & set(groups))]


class QuotaMixin:
    """Shared by both spawners: profile choice, quota checks, spawn-page form."""

    user: Any
    name: str
    log: Any

    def _groups(self, cfg: VREConfig) -> list[str]:
        return quotas.user_groups(cfg, self.user.name, [g.name for g in self.user.groups])

    def _running_elsewhere(self) -> int:
        return sum(1 for n, s in self.user.spawners.items() if n != self.name and s.active)

    def vre_quota(self) -> quotas.Quota:
        cfg = _cfg()
        return quotas.for_user(cfg, self.user.name, self._groups(cfg))

    def vre_check(self, profile_name: str | None) -> dict[str, Any]:
        """Return the profile to use, or raise a 403 whose message says which limit was hit."""
        try:
            return self._vre_check(profile_name)
        except web.HTTPError:
            # the hub remembers the last options as the next defaults: never a refused choice
            orm = getattr(self, "orm_spawner", None)
            if orm is not None and orm.user_options:
                orm.user_options = {}
                self.user.db.commit()
            raise

    def _vre_check(self, profile_name: str | None) -> dict[str, Any]:
        cfg = _cfg()
        offered = visible_profiles(cfg, self._groups(cfg))
        if not offered:
            raise web.HTTPError(403, "No profile is offered to you: ask an administrator to add you to a group.")
        if profile_name:
            match = [p for p in offered if p["name"] == profile_name]
            if not match:
                raise web.HTTPError(
                    403,
                    f"The profile {profile_name!r} is not offered to you (retired, restricted to other groups, "
                    f"or unknown). Choose one of: {', '.join(p['name'] for p in offered)}.",
                )
            profile = match[0]
        else:
            profile = next((p for p in offered if p.get("default")), offered[0])
        quota = quotas.for_user(cfg, self.user.name, self._groups(cfg))
        try:
            quotas.check_servers(quota, self._running_elsewhere())
            quotas.check_profile(quota, profile)
        except quotas.QuotaExceeded as exc:
            raise web.HTTPError(403, str(exc)) from None
        return profile

    def vre_options_form(self) -> str:
        cfg = _cfg()
        groups = self._groups(cfg)
        quota = quotas.for_user(cfg, self.user.name, groups)
        running = self._running_elsewhere()
        servers_left = "unlimited" if quota.servers == quotas.UNLIMITED else f"{max(0, quota.servers - running):g}"
        q = quota.as_dict()
        rows = []
        offered = visible_profiles(cfg, groups)
        default = next((p["name"] for p in offered if p.get("default")), offered[0]["name"] if offered else "")
        for p in offered:
            cpu = (p.get("cpu") or {}).get("limit")
            mem = (p.get("memory") or {}).get("limit")
            over = ""
            try:
                quotas.check_profile(quota, p)
            except quotas.QuotaExceeded as exc:
                over = f'<div class="text-danger small">{html.escape(str(exc))}</div>'
            checked = " checked" if p["name"] == default else ""
            disabled = " disabled" if over else ""
            rows.append(
                f'<label class="list-group-item"><input type="radio" name="profile" value="{html.escape(p["name"])}"'
                f"{checked}{disabled}> <strong>{html.escape(p['display_name'])}</strong>"
                f' <span class="text-muted small">({cpu or "?"} CPU, {mem or "?"} memory)</span>'
                f'<div class="small">{html.escape(p.get("description", ""))}</div>{over}</label>'
            )
        dask = (
            f"Dask: {q['dask_clusters'] or 'unlimited'} cluster(s) of up to {q['dask_workers'] or 'unlimited'} workers, "
            f"{q['dask_cores'] or 'unlimited'} cores, {q['dask_worker_memory'] or 'unlimited'} per worker"
        )
        return (
            '<div class="odatis-profiles"><div class="list-group">' + "".join(rows) + "</div>"
            f'<p class="odatis-quota small mt-2">Your quota ({html.escape(quota.source)}): servers left: '
            f"{servers_left}; up to {q['cpu'] or 'unlimited'} CPU and {q['memory'] or 'unlimited'} memory per server; "
            f"storage {q['storage'] or 'unlimited'}. {html.escape(dask)}.</p></div>"
        )

    def vre_options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, Any]:
        return {"profile": (formdata.get("profile") or [""])[0]}

    async def vre_record(
        self, event: str, profile: str = "", cpu: float | None = None, mem: float | None = None
    ) -> None:
        """Usage accounting (:mod:`odatis_vre.admin.usage`); a bookkeeping failure never fails a spawn or a stop."""
        from ..admin import usage

        try:
            # a sqlite write with fsync: in a thread, so a burst of spawns does not stall the hub's loop
            await asyncio.to_thread(
                usage.record_server_event, _cfg().state_dir, event, self.user.name, self.name, profile, cpu, mem
            )
        except Exception:
            self.log.exception("Could not record the %s of %s's server for usage accounting", event, self.user.name)


def _pid_alive(pid: int | None) -> bool:
    """Whether ``pid`` runs; a zombie does not (an orphaned server is reaped only if PID 1 reaps)."""
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


#: How often a running server's cgroup is checked for processes the kernel killed for lack of memory
OOM_CHECK = 1.0


class VRELocalSpawner(QuotaMixin, LocalProcessSpawner):
    """A process per server, run as the user's own system account (:mod:`odatis_vre.users.sysusers`).

    Started as root, the hub never runs user code as root: the server is forked from a warm
    process (:mod:`odatis_vre.hub.zygote`), or started by exec when there is none, and in both cases
    the new process joins its cgroup (memory, CPU, processes: :mod:`odatis_vre.hub.isolation`), then
    takes the account's groups, gid and uid before any user code runs, with an environment made
    by the spawner alone. A server whose kernel runs out of memory is stopped, and the hub's page
    says so. In single-user mode (hub not root) every server runs as the hub's user.

    ``start`` returns only once the server accepts connections, polling every 20 ms, so the hub's
    first check succeeds (its own back-off waits up to seconds).
    """

    #: the cgroup of this server (kept in the hub's database: a restarted hub still finds it)
    vre_cgroup: dict[str, Any] | None = None
    #: why the server stopped, when the hub stopped it (shown on the hub's "not running" page)
    vre_stop_reason: str = ""
    _oom_base = 0
    _oom_task: asyncio.Task[None] | None = None

    @property
    def account(self) -> sysusers.Account | None:
        """The system account of this server in multi-user mode, None in single-user mode."""
        if not sysusers.multi_user():
            return None
        return sysusers.lookup(_cfg(), self.user.name)

    @property
    def home_dir(self) -> str:
        return str(sysusers.home_of(_cfg(), self.user.name))

    def options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, Any]:
        return self.vre_options_from_form(formdata)

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        account = self.account
        env["USER"] = env["LOGNAME"] = account.name if account else sysusers.current().name
        env["HOME"] = self.home_dir
        # the local mode's own shell runs terminals below the hub's priority (odatis_vre.hub.priority.shell)
        shell = self.environment.get("SHELL")
        env["SHELL"] = shell if isinstance(shell, str) and shell else sysusers.SHELL
        return env

    def _limits(self) -> isolation.Limits:
        return isolation.Limits(
            memory=self.mem_limit or None, cpu=self.cpu_limit or None, processes=isolation.enforcer(_cfg()).processes
        )

    def make_preexec_fn(self, name: str) -> Any:
        """For the exec fallback (Popen calls it in the child, after setsid, before exec)."""
        account, group, limits, home = self.account, self.vre_cgroup, self._limits(), self.home_dir

        def preexec() -> None:
            isolation.become(account, group, limits)
            os.chdir(home)

        return preexec

    async def _signal(self, sig: int) -> bool:
        # servers forked by the zygote, or left by a restarted hub, are not our children
        if sig == 0 and self.proc is None:
            return _pid_alive(self.pid)
        return await super()._signal(sig)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        if self.vre_cgroup:
            state["cgroup"] = self.vre_cgroup
            state["oom_base"] = self._oom_base
        if self.vre_stop_reason:
            state["stop_reason"] = self.vre_stop_reason
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        if state.get("cgroup"):
            self.vre_cgroup = state["cgroup"]
            self._oom_base = int(state.get("oom_base", 0))
        self.vre_stop_reason = state.get("stop_reason", "")

    def clear_state(self) -> None:
        # the hub clears the state of a stopped server, then drops the spawner object: the reason it was
        # stopped stays in the state, for the pages that say why (the next start clears it)
        super().clear_state()
        self.vre_cgroup = None

    async def get_options_form(self) -> str:
        cfg = _cfg()
        if len(visible_profiles(cfg, self._groups(cfg))) <= 1:
            return ""
        return self.vre_options_form()

    def _cgroup_name(self, account: sysusers.Account | None) -> str:
        who = account.name if account else sysusers.slug(self.user.name)
        return f"server-{who}" + (f"-{sysusers.slug(self.name)}" if self.name else "")

    async def start(self) -> Any:
        profile = self.vre_check(self.user_options.get("profile"))
        self.profile = profile["name"]
        self.vre_stop_reason = ""
        cpu, mem = profile.get("cpu") or {}, profile.get("memory") or {}
        if "limit" in cpu:
            self.cpu_limit = float(cpu["limit"])
        if "guarantee" in cpu:
            self.cpu_guarantee = float(cpu["guarantee"])
        if "limit" in mem:
            self.mem_limit = int(parse_quantity(mem["limit"]))
        if "guarantee" in mem:
            self.mem_guarantee = int(parse_quantity(mem["guarantee"]))
        env_path = profile.get("environment", "current")
        own_env = not env_path or env_path == "current"
        if not own_env:
            self.cmd = [os.path.join(env_path, "bin", "jupyterhub-singleuser")]
        cfg = _cfg()
        # the account and its home exist before anything is written there (users made before an upgrade too)
        account = await asyncio.to_thread(sysusers.ensure, cfg, self.user.name)
        account = account if sysusers.multi_user() else None
        storage = self.vre_quota().storage
        if storage != quotas.UNLIMITED:
            used = await asyncio.to_thread(isolation.disk_usage, self.home_dir)
            if used > storage:
                raise web.HTTPError(
                    403,
                    f"Your home uses {format_bytes(used)}, above your storage quota of "
                    f"{format_bytes(storage)}: ask an administrator to raise it (`odatis-vre admin "
                    "quotas set GROUP --storage SIZE`) or to free space in your home.",
                )
        self.environment = dict(self.environment) | {
            "ODATIS_VRE_PROFILE": profile["name"],
            "ODATIS_VRE_STORAGE_QUOTA": format_bytes(storage) if storage != quotas.UNLIMITED else "",
        }
        from ..admin.workshop import provide_material

        # workshop material lands in the home before the server starts (files the user changed are kept)
        await asyncio.to_thread(provide_material, cfg, self.user.name, self.home_dir, account)
        enforcer = isolation.enforcer(cfg)
        group = await asyncio.to_thread(enforcer.create, self._cgroup_name(account), self._limits())
        self.vre_cgroup = group.to_dict() if group else None
        self._oom_base = 0
        try:
            started = await self._start_forked(account) if own_env else None
            ip, port = started or await super().start()
            await self._wait_listening(ip or "127.0.0.1", port)
        except BaseException:
            if group is not None:
                await asyncio.to_thread(group.remove)
            self.vre_cgroup = None
            raise
        self._watch_memory()
        await self.vre_record("start", profile["name"], self.cpu_limit, self.mem_limit)
        return ip, port

    async def poll(self) -> int | None:
        group = isolation.Group.from_dict(self.vre_cgroup) if self.vre_cgroup else None
        status = await super().poll()
        if status is None:
            self._watch_memory()  # after a hub restart, the watch resumes with the first poll
        elif group is not None:
            await asyncio.to_thread(group.remove)  # the server is gone: what it started goes too
        return status

    async def stop(self, now: bool = False) -> None:
        if self._oom_task is not None and self._oom_task is not asyncio.current_task():
            self._oom_task.cancel()
        self._oom_task = None
        group = isolation.Group.from_dict(self.vre_cgroup) if self.vre_cgroup else None
        await super().stop(now=now)
        if group is not None:
            # kernels, terminals and whatever they started go with the server
            await asyncio.to_thread(group.remove)
        self.vre_cgroup = None
        await self.vre_record("stop")

    def _watch_memory(self) -> None:
        if self.vre_cgroup and (self._oom_task is None or self._oom_task.done()):
            self._oom_task = asyncio.ensure_future(self._memory_watch())

    async def _memory_watch(self) -> None:
        """Stop the server once the kernel killed one of its processes for lack of memory.

        In a cgroup at its limit the kernel kills the largest process, usually the kernel that
        allocated; the server is then stopped so that the user learns why from the hub's page
        instead of a notebook whose kernel silently died.
        """
        group = isolation.Group.from_dict(self.vre_cgroup or {"name": "", "paths": {}})
        while self.vre_cgroup:
            kills = group.oom_kills()
            if kills > self._oom_base:
                limit = format_bytes(self.mem_limit) if self.mem_limit else "?"
                self.vre_stop_reason = (
                    f"Your server ran out of memory (limit {limit}): a process that needed more "
                    "was stopped by the system, and the server with it. Start it again with a "
                    "larger profile, or use less memory (a Dask cluster for large data)."
                )
                self.log.warning("%s's server ran out of memory (limit %s): stopping it", self.user.name, limit)
                await asyncio.to_thread(group.kill)
                await self.poll_and_notify()
                return
            await asyncio.sleep(OOM_CHECK)

    async def _start_forked(self, account: sysusers.Account | None) -> tuple[str, int] | None:
        """Start the server as a fork of the zygote; None when there is none (start it by exec then)."""
        state = _cfg().state_dir
        if self.port == 0:
            self.port = random_port()
        try:
            self.pid = await asyncio.to_thread(
                zygote.spawn,
                state,
                self.get_args(),
                self.get_env(),
                self.home_dir,
                account=account,
                cgroup=self.vre_cgroup,
                limits=self._limits(),
            )
        except zygote.ZygoteUnavailable as exc:
            self.log.warning("Starting %s's server without the zygote: %s", self.user.name, exc)
            # ready for the next spawn; this one does not wait for it
            await asyncio.to_thread(zygote.ensure, state, hub_pid=os.getpid())
            return None
        self.proc = None  # not our child: poll() and stop() go by pid, as after a hub restart
        self.log.info(
            "Forked %s's server (pid %s, account %s) from the zygote",
            self.user.name,
            self.pid,
            account.name if account else sysusers.current().name,
        )
        return self.ip or "127.0.0.1", self.port

    async def _wait_listening(self, ip: str, port: int) -> None:
        deadline = time.monotonic() + self.http_timeout
        while time.monotonic() < deadline:
            exited = self.proc.poll() is not None if self.proc is not None else not _pid_alive(self.pid)
            if exited:
                code = self.proc.returncode if self.proc is not None else "unknown"
                raise RuntimeError(
                    f"The notebook server of {self.user.name} exited with code {code} before "
                    "listening; the hub's log has its output. Ask an administrator if it happens again."
                )
            try:
                with socket.create_connection((ip, port), timeout=0.2):
                    return
            except OSError:
                await asyncio.sleep(0.02)


@functools.cache
def _kube_spawner_class() -> type:
    from kubespawner import KubeSpawner

    class VREKubeSpawner(QuotaMixin, KubeSpawner):
        """KubeSpawner whose profile list and limits come from vre.yaml."""

        async def start(self) -> Any:
            profile = self.vre_check(self.user_options.get("profile"))
            quota = self.vre_quota()
            if quota.storage != quotas.UNLIMITED:
                self.storage_capacity = format_bytes(quota.storage) + "i"
            self.environment = dict(self.environment) | {"ODATIS_VRE_PROFILE": profile["name"]}
            out = await super().start()
            await self.vre_record(
                "start",
                profile["name"],
                (profile.get("cpu") or {}).get("limit"),
                parse_quantity((profile.get("memory") or {}).get("limit", 0)),
            )
            return out

        async def stop(self, now: bool = False) -> None:
            await super().stop(now=now)
            await self.vre_record("stop")

    return VREKubeSpawner


def kube_profile_list(cfg: VREConfig, groups: list[str] | None = None) -> list[dict[str, Any]]:
    """KubeSpawner's ``profile_list`` from the profiles offered to a user in ``groups``.

    Retired profiles are left out; with ``groups=None`` every non-retired profile is listed.
    """
    out = []
    for p in cfg.profiles:
        if p.get("retired") or (groups is not None and p not in visible_profiles(cfg, groups)):
            continue
        override: dict[str, Any] = {"image": p["image"]}
        cpu, mem = p.get("cpu") or {}, p.get("memory") or {}
        if "guarantee" in cpu:
            override["cpu_guarantee"] = float(cpu["guarantee"])
        if "limit" in cpu:
            override["cpu_limit"] = float(cpu["limit"])
        if "guarantee" in mem:
            override["mem_guarantee"] = format_bytes(parse_quantity(mem["guarantee"]))
        if "limit" in mem:
            override["mem_limit"] = format_bytes(parse_quantity(mem["limit"]))
        if p.get("gpu"):
            override["extra_resource_limits"] = {"nvidia.com/gpu": str(p["gpu"])}
            override["extra_resource_guarantees"] = {"nvidia.com/gpu": str(p["gpu"])}
            # GPU nodes are usually tainted so that only GPU pods land there
            override["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        entry = {
            "display_name": p["display_name"],
            "slug": p["name"],
            "description": p.get("description", ""),
            "kubespawner_override": override,
        }
        if p.get("default"):
            entry["default"] = True
        out.append(entry)
    return out


def profiles_for_spawner(spawner: Any) -> list[dict[str, Any]]:
    """KubeSpawner ``profile_list`` callable: the profiles this spawner's user may pick."""
    cfg = _cfg()
    groups = quotas.user_groups(cfg, spawner.user.name, [g.name for g in spawner.user.groups])
    return kube_profile_list(cfg, groups)


def __getattr__(name: str) -> Any:
    # kubespawner imports the kubernetes client: load it only in Kubernetes mode.
    if name == "VREKubeSpawner":
        return _kube_spawner_class()
    raise AttributeError(name)
