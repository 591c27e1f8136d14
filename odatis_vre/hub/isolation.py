"""Limits the kernel enforces on user code in the local mode, and the step that drops root.

Each server (with its kernels and terminals) and each Dask scheduler or worker gets a
**cgroup** of its own, created *below* the cgroup the VRE was started in, never above it:

* cgroup v1 (these build machines): ``memory.limit_in_bytes``, ``cpu.cfs_quota_us``, ``pids.max``;
* cgroup v2: ``memory.max``, ``cpu.max``, ``pids.max`` (needs the controllers delegated to the
  VRE's cgroup, e.g. a systemd unit with ``Delegate=yes``);
* neither (no root, no delegation): per-process rlimits, ``RLIMIT_DATA`` for memory and
  ``RLIMIT_NPROC`` for processes; the CPU is then shared by priority only (:mod:`odatis_vre.hub.priority`).
  ``RLIMIT_DATA`` (heap, anonymous mappings, thread stacks: what a process can fill) rather than
  ``RLIMIT_AS``: a Jupyter kernel with numpy reserves about 1.3 GB of address space for 80 MB
  resident (thread stacks, malloc arenas), so an address-space limit of 400M stops it from starting
  threads at all.

:func:`become` runs in the new process, after ``fork`` and before any user code: it joins the
cgroup (or sets the rlimits), lowers the priority, then sets the groups, gid and uid of the
user's account — the order matters, as only root may join a cgroup.

>>> Limits(memory=2 * 1024**3, cpu=1.5).describe()
'memory 2G, 1.5 CPU'
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import VREConfig, format_bytes
from . import priority

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The CFS period: quotas are fractions of it
CPU_PERIOD = 100_000
CONTROLLERS = ("memory", "cpu", "pids")


@dataclass(frozen=True)
class Limits:
    """What one process tree may use; None means not limited."""

    memory: int | None = None
    cpu: float | None = None
    processes: int | None = None

    def describe(self) -> str:
        parts = []
        if self.memory:
            parts.append(f"memory {format_bytes(self.memory)}")
        if self.cpu:
            parts.append(f"{self.cpu:g} CPU")
        if self.processes:
            parts.append(f"{self.processes} processes")
        return ", ".join(parts) or "no limit"


@dataclass
class Group:
    """One cgroup, as paths per controller (v1) or one path (v2); plain data, so it can travel to a child."""

    name: str
    paths: dict[str, str] = field(default_factory=dict)  # controller (or "unified") → folder
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Group:
        return cls(data["name"], dict(data["paths"]), int(data.get("version", 1)))

    def _folders(self) -> list[Path]:
        return [Path(p) for p in dict.fromkeys(self.paths.values())]

    def join(self, pid: int = 0) -> None:
        """Move ``pid`` (default: the calling process) into this cgroup; its children follow."""
        pid = pid or os.getpid()
        for folder in self._folders():
            (folder / "cgroup.procs").write_text(str(pid))

    def pids(self) -> list[int]:
        out: set[int] = set()
        for folder in self._folders():
            with contextlib.suppress(OSError, ValueError):
                out.update(int(x) for x in (folder / "cgroup.procs").read_text().split())
        return sorted(out)

    def oom_kills(self) -> int:
        """How many processes the kernel killed here for lack of memory."""
        path = Path(self.paths.get("memory") or self.paths.get("unified", ""))
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in (path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def memory_peak(self) -> int:
        path = Path(self.paths.get("memory") or self.paths.get("unified", ""))
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int((path / name).read_text())
        except (OSError, ValueError):
            return 0

    def kill(self, timeout: float = 10) -> None:
        """SIGKILL everything in the cgroup (a stopped server leaves nothing behind) and wait until it is empty."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)

    def remove(self) -> None:
        """Kill what is left and delete the cgroup."""
        self.kill()
        for folder in self._folders():
            deadline = time.monotonic() + 5
            while folder.exists():
                try:
                    folder.rmdir()
                except OSError as exc:
                    if exc.errno == errno.ENOENT:
                        break
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)  # the last killed process is still being reaped


# ---------------------------------------------------------------------------------------
# which mechanism this machine offers


def _own_cgroups() -> dict[str, str]:
    """The cgroup of this process per v1 controller, plus ``"unified"`` for v2 (``/proc/self/cgroup``)."""
    out: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if not controllers:
            out["unified"] = path
        for c in controllers.split(","):
            if c:
                out[c] = path
    return out


def _mounts() -> dict[str, Path]:
    """Mount points of the v1 controllers we use, and of the v2 hierarchy (``"unified"``)."""
    out: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or not rfields:
            continue
        fstype, mount, root = rfields[0], Path(fields[4]), fields[3]
        if root != "/":
            continue  # a bind of a sub-tree: paths from /proc/self/cgroup would not line up
        if fstype == "cgroup2":
            out.setdefault("unified", mount)
        elif fstype == "cgroup":
            opts = set(rfields[2].split(",")) if len(rfields) > 2 else set()
            for c in CONTROLLERS:
                if c in opts:
                    out.setdefault(c, mount)
    return out


class Enforcer:
    """Creates the cgroups of one deployment, or falls back to rlimits; ``kind`` says which."""

    def __init__(self, cfg: VREConfig, *, want: str | None = None):
        from ..users.sysusers import deployment_id

        self.want = want or cfg.isolation.get("limits", "auto")
        self.processes = int(cfg.isolation.get("max_processes") or 0) or None
        self.top = f"odatis-vre-{deployment_id(cfg)}"
        self.version = 0
        self.bases: dict[str, Path] = {}
        self.reason = ""
        self._detect()
        if self.want == "cgroup" and not self.version:
            from ..config import ConfigError

            raise ConfigError(
                f"hub.isolation.limits is 'cgroup' but no cgroup can be made here: {self.reason}. "
                "Set it to 'auto' (rlimits where cgroups are missing) or run the VRE as root."
            )

    @property
    def kind(self) -> str:
        return f"cgroup v{self.version}" if self.version else "rlimit"

    def _detect(self) -> None:
        if self.want == "rlimit":
            self.reason = "hub.isolation.limits is 'rlimit'"
            return
        if os.geteuid() != 0:
            self.reason = "the VRE does not run as root"
            return
        try:
            own, mounts = _own_cgroups(), _mounts()
        except OSError as exc:
            self.reason = f"cannot read /proc/self/cgroup: {exc}"
            return
        v1 = {
            c: mounts[c] / own[c].lstrip("/") / self.top for c in ("memory", "cpu", "pids") if c in mounts and c in own
        }
        if "memory" in v1 and "cpu" in v1:
            if self._try_make(v1):
                self.version, self.bases = 1, v1
                return
        if "unified" in mounts and "unified" in own:
            parent = mounts["unified"] / own["unified"].lstrip("/")
            if self._delegate_v2(parent):
                self.version, self.bases = 2, {"unified": parent / self.top}
                return
        self.reason = self.reason or "no memory and cpu cgroup controllers are mounted"

    def _try_make(self, bases: dict[str, Path]) -> bool:
        try:
            for base in bases.values():
                base.mkdir(exist_ok=True)
            return True
        except OSError as exc:
            self.reason = f"cannot create {base}: {exc.strerror}"
            return False

    def _delegate_v2(self, parent: Path) -> bool:
        try:
            available = set((parent / "cgroup.controllers").read_text().split())
            missing = {"memory", "cpu"} - available
            if missing:
                self.reason = f"the cgroup v2 controllers {', '.join(sorted(missing))} are not delegated to {parent}"
                return False
            enabled = set((parent / "cgroup.subtree_control").read_text().split())
            want = [c for c in CONTROLLERS if c in available and c not in enabled]
            if want:
                # refused (EBUSY) when the VRE's own cgroup holds processes: run it in a delegated unit
                (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in want))
            top = parent / self.top
            top.mkdir(exist_ok=True)
            ctl = set((top / "cgroup.controllers").read_text().split())
            sub = [c for c in CONTROLLERS if c in ctl]
            (top / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sub))
            return True
        except OSError as exc:
            self.reason = f"cgroup v2 at {parent} is not delegated to the VRE ({exc.strerror})"
            return False

    # -- one group per process tree ----------------------------------------------------
    def create(self, name: str, limits: Limits) -> Group | None:
        """The cgroup ``name`` with ``limits`` (replacing a leftover one); None when rlimits are used."""
        if not self.version:
            return None
        group = Group(name, {c: str(b / name) for c, b in self.bases.items()}, self.version)
        if any(Path(p).exists() for p in group.paths.values()):
            group.remove()  # left by a server that died with its hub: nothing of it may survive
        for folder in group._folders():
            folder.mkdir(exist_ok=True)
        processes = limits.processes or self.processes
        if self.version == 1:
            mem, cpu = Path(group.paths["memory"]), Path(group.paths["cpu"])
            if limits.memory:
                (mem / "memory.limit_in_bytes").write_text(str(int(limits.memory)))
                with contextlib.suppress(OSError):  # only where swap is accounted
                    (mem / "memory.memsw.limit_in_bytes").write_text(str(int(limits.memory)))
            if limits.cpu:
                (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD))
                (cpu / "cpu.cfs_quota_us").write_text(str(max(1000, int(limits.cpu * CPU_PERIOD))))
            if processes and "pids" in group.paths:
                (Path(group.paths["pids"]) / "pids.max").write_text(str(processes))
        else:
            folder = Path(group.paths["unified"])
            if limits.memory:
                (folder / "memory.max").write_text(str(int(limits.memory)))
                with contextlib.suppress(OSError):
                    (folder / "memory.swap.max").write_text("0")
            if limits.cpu:
                (folder / "cpu.max").write_text(f"{max(1000, int(limits.cpu * CPU_PERIOD))} {CPU_PERIOD}")
            if processes:
                with contextlib.suppress(OSError):
                    (folder / "pids.max").write_text(str(processes))
        return group

    def group(self, name: str) -> Group | None:
        """The existing cgroup ``name`` (after a hub restart), or None."""
        if not self.version:
            return None
        group = Group(name, {c: str(b / name) for c, b in self.bases.items()}, self.version)
        return group if any(Path(p).exists() for p in group.paths.values()) else None

    def groups(self, prefix: str) -> list[Group]:
        """The existing cgroups whose name starts with ``prefix``."""
        if not self.version:
            return []
        base = next(iter(self.bases.values()))
        names = sorted(p.name for p in base.glob(prefix + "*") if p.is_dir()) if base.exists() else []
        return [Group(n, {c: str(b / n) for c, b in self.bases.items()}, self.version) for n in names]

    def describe(self, multi_user: bool) -> str:
        """What enforces which limit, for ``odatis-vre up``."""
        if self.version == 1:
            how = (
                "cgroup v1 (memory.limit_in_bytes, cpu.cfs_quota_us"
                + (", pids.max" if "pids" in self.bases else "")
                + ")"
            )
            return f"memory, CPU and processes of each server and Dask process: enforced by the kernel through {how}"
        if self.version == 2:
            return "memory, CPU and processes of each server and Dask process: enforced by the kernel through cgroup v2"
        nproc = " and processes per account (RLIMIT_NPROC)" if multi_user else ""
        return (
            f"memory: per process (RLIMIT_DATA){nproc}; CPU: NOT enforced, user work runs at low priority "
            f"(no cgroup here: {self.reason})"
        )


_ENFORCERS: dict[tuple[str, str], Enforcer] = {}


def enforcer(cfg: VREConfig) -> Enforcer:
    """The :class:`Enforcer` of ``cfg``'s deployment (made once per process and ``limits`` setting)."""
    from ..users.sysusers import deployment_id

    key = (deployment_id(cfg), str(cfg.isolation.get("limits", "auto")))
    if key not in _ENFORCERS:
        _ENFORCERS[key] = Enforcer(cfg)
    return _ENFORCERS[key]


def disk_usage(path: str | os.PathLike[str]) -> int:
    """Bytes a folder takes on disk (each hard-linked file once), like ``du -s``; 0 if it does not exist."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [os.fspath(path)]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with entries:
            for e in entries:
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
    return total


# ---------------------------------------------------------------------------------------
# in the new process


def rlimits(limits: Limits, *, per_account: bool) -> None:
    """The fallback where there is no cgroup: writable memory per process, processes per account."""
    if limits.memory:
        resource.setrlimit(resource.RLIMIT_DATA, (int(limits.memory), int(limits.memory)))
    if limits.processes and per_account:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


def become(
    account: Any | None,
    group: Group | dict[str, Any] | None = None,
    limits: Limits | None = None,
    *,
    new_session: bool = False,
) -> None:
    """In a freshly forked process, before any user code: limits, priority, then the user's identity.

    ``account`` (:class:`odatis_vre.users.sysusers.Account`) is None in single-user mode (no change of
    identity). Raises if the identity could not be dropped: a process that is still root must
    never run user code.
    """
    if new_session:
        os.setsid()
    if isinstance(group, dict):
        group = Group.from_dict(group)
    if group is not None:
        group.join()
    elif limits is not None:
        rlimits(limits, per_account=account is not None)
    priority.lower_priority()
    os.umask(0o022)  # the same for forked and exec'd servers (the hub's own is 077); homes are 0700
    if account is None:
        return
    os.setgroups(account.groups)
    os.setgid(account.gid)
    os.setuid(account.uid)
    if os.getuid() != account.uid or os.geteuid() != account.uid or os.getegid() != account.gid:
        raise PermissionError(f"could not become {account.name}")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise PermissionError(f"{account.name} could get root back: refusing to run user code")
