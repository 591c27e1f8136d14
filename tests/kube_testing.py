"""A small Kubernetes for the tests of the Kubernetes mode: kmock's in-memory API server, a pod network of
network namespaces on a bridge, and a "kubelet" that runs the pods it is told to with podman.

Nothing here is ours in production: it stands where the cluster would be, so that the hub image, the
ocean image, zero-to-jupyterhub's and dask-gateway's own code run as they would in pods.

- :class:`KubeAPI`: kmock's ``KubernetesEmulator`` (objects created, patched, listed, watched over HTTP) plus
  what an API server adds that kmock leaves out: ``metadata.namespace``/``uid``/``resourceVersion``/
  ``creationTimestamp`` on create, JSON patches (RFC 6902, used by dask-gateway), and label selectors on
  lists and watches (equality and existence; others are refused so that no test silently sees too much), and
  ``watch=True`` as the Python client spells it.
- :class:`PodNetwork`: a Linux bridge with the host at ``.1`` and one network namespace per pod, each with its
  own address; every container of a pod runs in its namespace (``podman run --network ns:...``), so pods bind
  their usual ports without meeting each other or the host's services.
- :class:`Kubelet`: turns a pod spec (rendered by Helm or created by a spawner) into ``podman run``: image,
  command and args, environment (values, Secret/ConfigMap keys, the pod's namespace, Service variables),
  volumes (ConfigMap and Secret files, claims as folders), user and group, and a hosts file that plays the
  cluster DNS for the Services it knows.

Loopback and the bridge only: no traffic leaves the machine.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import jsonpatch
import kmock
import requests

#: resources the hub, the spawner and the gateway use (kmock serves discovery for declared ones)
RESOURCES = [
    "v1/pods",
    "v1/persistentvolumeclaims",
    "v1/events",
    "v1/services",
    "v1/endpoints",
    "v1/secrets",
    "v1/configmaps",
    "gateway.dask.org/v1alpha1/daskclusters",
    "traefik.io/v1alpha1/ingressroutes",
    "traefik.io/v1alpha1/ingressroutetcps",
]
SELECTOR = re.compile(r"^(?P<neg>!)?(?P<key>[A-Za-z0-9./_-]+)(?:(?P<op>==|=|!=)(?P<value>[A-Za-z0-9._-]*))?$")


def json_patch_as_merge(ops: list[dict[str, Any]]) -> dict[str, Any]:
    """The merge patch (RFC 7386) doing what ``add``/``replace``/``remove`` operations on object members do.

    >>> json_patch_as_merge([{"op": "add", "path": "/spec/replicas", "value": 2}, {"op": "remove", "path": "/x"}])
    {'spec': {'replicas': 2}, 'x': None}
    """
    out: dict[str, Any] = {}
    for op in ops:
        if op["op"] not in ("add", "replace", "remove"):
            raise ValueError(f"JSON patch op {op['op']!r} is not emulated")
        keys = [k.replace("~1", "/").replace("~0", "~") for k in op["path"].lstrip("/").split("/")]
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = None if op["op"] == "remove" else op["value"]
    return out


def label_selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Kubernetes label selector semantics for ``k=v``, ``k==v``, ``k!=v``, ``k`` and ``!k``.

    >>> label_selector_matches("app=hub,tier", {"app": "hub", "tier": "x"})
    True
    >>> label_selector_matches("app!=hub", {"app": "hub"})
    False
    """
    for term in filter(None, (t.strip() for t in selector.split(","))):
        m = SELECTOR.match(term)
        if not m:
            raise ValueError(f"label selector {term!r}: only k=v, k!=v, k and !k are emulated")
        key, op, value = m["key"], m["op"], m["value"]
        if m["neg"]:
            ok = key not in labels
        elif op is None:
            ok = key in labels
        elif op == "!=":
            ok = labels.get(key) != value
        else:
            ok = labels.get(key) == value
        if not ok:
            return False
    return True


@attrs.define(kw_only=True)
class _APIServer(kmock.KubernetesEmulator):
    """kmock's emulator with the API server's own bookkeeping (see the module's docstring)."""

    _version: int = 0

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    async def _handle(self, request: Any) -> Any:
        if request.action == kmock.action.LIST and request.params.get("watch", "").lower() in ("true", "1"):
            # kubernetes_asyncio asks for watch=True (kmock recognises only "true")
            object.__setattr__(request, "action", kmock.action.WATCH)
        if request.resource is not None and request.action == kmock.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            if request.namespace:
                meta.setdefault("namespace", request.namespace)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + secrets.token_hex(3)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            meta["resourceVersion"] = self._next_version()
            if request.resource.plural == "pods":
                request.data.setdefault("status", {"phase": "Pending"})  # until a kubelet reports otherwise
        elif request.resource is not None and request.action == kmock.action.UPDATE and request.name:
            key = (request.resource, request.namespace, request.name)
            if isinstance(request.data, list) and key in self.objects:
                # a JSON patch, checked against the stored object, then given to the emulator (which merges
                # dicts) as the equivalent merge patch; kmock's requests are frozen and matched by identity, so
                # the parsed body is replaced in place
                jsonpatch.apply_patch(self.objects[key].raw, request.data)  # raises on a patch that does not apply
                object.__setattr__(request, "data", json_patch_as_merge(request.data))
            if isinstance(request.data, dict):
                request.data.setdefault("metadata", {})["resourceVersion"] = self._next_version()
        return await super()._handle(request)

    async def _serve_list(self, request: Any) -> Any:
        result = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        if selector:
            result["items"] = [
                o
                for o in result["items"]
                if label_selector_matches(selector, (o.get("metadata") or {}).get("labels") or {})
            ]
        result["metadata"]["resourceVersion"] = str(self._version)
        return result

    async def _serve_watch(self, request: Any) -> Any:
        selector = request.params.get("labelSelector")
        async for event in super()._serve_watch(request):
            if selector and isinstance(event, dict):
                labels = ((event.get("object") or {}).get("metadata") or {}).get("labels") or {}
                if not label_selector_matches(selector, labels):
                    continue
            yield event


class KubeAPI:
    """An in-memory Kubernetes API server on ``host`` (a random port), served from a thread of its own.

    >>> api = KubeAPI("127.0.0.1")                                           # doctest: +SKIP
    >>> api.objects("v1/pods", "odatis")                                     # doctest: +SKIP
    []
    """

    def __init__(self, host: str = "127.0.0.1"):
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.url = ""
        self._thread = threading.Thread(target=self._run, args=(host,), daemon=True, name="kmock")
        self._thread.start()
        if not self._ready.wait(30) or self._error:
            raise RuntimeError(f"the in-memory API server did not start: {self._error!r}")

    def _run(self, host: str) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            try:
                async with _APIServer() as handler, kmock.Server(handler, host=host) as server:
                    for res in RESOURCES:
                        handler.resources[res].namespaced = True
                    self.handler = handler
                    self.url = str(server.url).rstrip("/")
                    self._ready.set()
                    await self._stop.wait()
            except BaseException as exc:  # reported by __init__
                self._error = exc
                self._ready.set()

        self._loop.run_until_complete(main())

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def kubeconfig(self, path: Path, namespace: str) -> Path:
        """A kubeconfig for this server (what a pod's service account would give the hub and the gateway)."""
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "test",
                    "clusters": [{"name": "test", "cluster": {"server": self.url}}],
                    "users": [{"name": "test", "user": {"token": "test"}}],
                    "contexts": [
                        {"name": "test", "context": {"cluster": "test", "user": "test", "namespace": namespace}}
                    ],
                }
            )
        )
        return path

    def _path(self, resource: str, namespace: str, name: str = "") -> str:
        group_version, plural = resource.rsplit("/", 1)
        base = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
        return f"{self.url}{base}/namespaces/{namespace}/{plural}" + (f"/{name}" if name else "")

    def objects(self, resource: str, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        """The stored objects of ``resource`` (``v1/pods``, ``gateway.dask.org/v1alpha1/daskclusters``...)."""
        r = requests.get(
            self._path(resource, namespace), params={"labelSelector": selector} if selector else None, timeout=30
        )
        r.raise_for_status()
        return r.json()["items"]

    def create(self, resource: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        r = requests.post(self._path(resource, namespace), json=obj, timeout=30)
        r.raise_for_status()
        return r.json()

    def patch(self, resource: str, namespace: str, name: str, patch: dict[str, Any], subresource: str = "") -> None:
        """A merge patch, through HTTP like any client (watchers see the change)."""
        url = self._path(resource, namespace, name) + (f"/{subresource}" if subresource else "")
        r = requests.patch(url, json=patch, headers={"Content-Type": "application/merge-patch+json"}, timeout=30)
        r.raise_for_status()


def wait_for(what: str, check: Any, timeout: float, every: float = 0.2) -> Any:
    """Poll ``check()`` until it returns something true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def run(*cmd: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return out


class PodNetwork:
    """A bridge ``odv<hex>`` at ``10.<a>.<b>.1/24`` and one network namespace per pod (root only)."""

    def __init__(self) -> None:
        tag = secrets.token_hex(2)
        self.bridge = f"odv{tag}"
        # a /24 of 10.x chosen per run, on a bridge this run makes: only this machine's namespaces are there
        self.prefix = f"10.{200 + int(tag[0], 16)}.{int(tag[1:], 16) % 250 + 1}"
        self.host_ip = f"{self.prefix}.1"
        self.pods: dict[str, str] = {}  # pod name -> namespace path
        self._next = 2
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{self.host_ip}/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")

    def add(self, pod: str) -> tuple[str, str]:
        """A namespace with its own address for ``pod``: ``(ip, /run/netns/... path)``."""
        ip = f"{self.prefix}.{self._next}"
        self._next += 1
        ns, veth = f"{self.bridge}-{self._next}", f"{self.bridge}v{self._next}"
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "link", "set", veth, "master", self.bridge, "up")
        run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ip}/24", "dev", "eth0")
        run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
        run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        run("ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", self.host_ip)
        self.pods[pod] = f"/run/netns/{ns}"
        return ip, self.pods[pod]

    def hosts_file(self, pod: str, entries: dict[str, str]) -> None:
        """``/etc/hosts`` of a process started with ``ip netns exec`` in ``pod``'s namespace (``ip`` mounts
        ``/etc/netns/<namespace>/hosts`` over it): the cluster DNS for a process that is not a container."""
        folder = Path("/etc/netns") / Path(self.pods[pod]).name
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["127.0.0.1 localhost"] + [f"{ip} {name}" for name, ip in entries.items()]
        (folder / "hosts").write_text("\n".join(lines) + "\n")

    def close(self) -> None:
        for path in self.pods.values():
            shutil.rmtree(Path("/etc/netns") / Path(path).name, ignore_errors=True)
            run("ip", "netns", "del", Path(path).name, check=False)
        run("ip", "link", "del", self.bridge, check=False)


class Kubelet:
    """Runs pod specs with podman, each pod in a namespace of ``network`` (see the module's docstring)."""

    def __init__(
        self,
        network: PodNetwork,
        workdir: Path,
        namespace: str,
        configmaps: dict[str, dict[str, str]] | None = None,
        secrets_: dict[str, dict[str, str]] | None = None,
    ):
        self.network, self.workdir, self.namespace = network, workdir, namespace
        self.configmaps = dict(configmaps or {})
        self.secrets = dict(secrets_ or {})
        self.services: dict[str, tuple[str, dict[str, int]]] = {}  # name -> (ip, {port name: port})
        self.claims: dict[str, Path] = {}
        self.containers: list[str] = []
        self.ips: dict[str, str] = {}

    # ------------------------------------------------------------------ cluster state
    def add_objects(self, docs: Iterable[dict[str, Any]]) -> None:
        """ConfigMaps and Secrets (rendered manifests or API objects) whose keys pods may mount or read."""
        for d in docs:
            if d.get("kind") == "ConfigMap":
                self.configmaps[d["metadata"]["name"]] = dict(d.get("data") or {})
            elif d.get("kind") == "Secret":
                data = {k: base64.b64decode(v).decode() for k, v in (d.get("data") or {}).items()}
                self.secrets[d["metadata"]["name"]] = data | dict(d.get("stringData") or {})

    def add_service(self, name: str, ip: str, ports: dict[str, int]) -> None:
        self.services[name] = (ip, ports)

    def claim(self, name: str, source: Path | None = None) -> Path:
        """The folder standing for claim ``name`` (``source`` to bind an existing folder)."""
        if name not in self.claims:
            path = source or self.workdir / "claims" / name
            if source is None:
                path.mkdir(parents=True, exist_ok=True)
                os.chown(path, 1000, 100)
            self.claims[name] = path
        return self.claims[name]

    def dns(self) -> dict[str, str]:
        """``{host name: IP}``: every Service under its short and namespaced names (the cluster DNS)."""
        out = {}
        for name, (ip, _) in self.services.items():
            for host in (
                name,
                f"{name}.{self.namespace}",
                f"{name}.{self.namespace}.svc",
                f"{name}.{self.namespace}.svc.cluster.local",
            ):
                out[host] = ip
        return out

    def hosts(self) -> list[str]:
        """``--add-host`` arguments for :meth:`dns`."""
        return [a for host, ip in self.dns().items() for a in ("--add-host", f"{host}:{ip}")]

    def service_env(self) -> dict[str, str]:
        """What Kubernetes sets for each Service in every pod: ``<NAME>_SERVICE_HOST`` / ``_PORT`` / ``_PORT_<P>``."""
        env = {}
        for name, (ip, ports) in self.services.items():
            key = name.upper().replace("-", "_")
            env[f"{key}_SERVICE_HOST"] = ip
            if ports:
                env[f"{key}_SERVICE_PORT"] = str(next(iter(ports.values())))
            for pname, port in ports.items():
                if pname:
                    env[f"{key}_SERVICE_PORT_{pname.upper().replace('-', '_')}"] = str(port)
        return env

    # ------------------------------------------------------------------ one pod
    def _env(self, container: dict[str, Any]) -> dict[str, str]:
        env = self.service_env()
        for e in container.get("env") or []:
            if "value" in e:
                env[e["name"]] = str(e["value"])
                continue
            ref = e.get("valueFrom") or {}
            if "secretKeyRef" in ref or "configMapKeyRef" in ref:
                kind = "secretKeyRef" if "secretKeyRef" in ref else "configMapKeyRef"
                store = self.secrets if kind == "secretKeyRef" else self.configmaps
                src = ref[kind]
                value = (store.get(src["name"]) or {}).get(src["key"])
                if value is None:
                    if src.get("optional"):
                        continue
                    raise KeyError(f"{e['name']}: {src['name']}/{src['key']} does not exist in the test cluster")
                env[e["name"]] = value
            elif (ref.get("fieldRef") or {}).get("fieldPath") == "metadata.namespace":
                env[e["name"]] = self.namespace
            else:
                raise ValueError(f"{e['name']}: valueFrom {ref} is not emulated")
        return env

    def _volume(self, pod_name: str, vol: dict[str, Any]) -> Path:
        root = self.workdir / "volumes" / pod_name / vol["name"]
        if "configMap" in vol or "secret" in vol:
            if "configMap" in vol:
                data = self.configmaps[vol["configMap"]["name"]]
                items = vol["configMap"].get("items")
            else:
                data = self.secrets[vol["secret"]["secretName"]]
                items = vol["secret"].get("items")
            root.mkdir(parents=True, exist_ok=True)
            os.chmod(root, 0o755)
            mapping = {i["key"]: i["path"] for i in items} if items else {k: k for k in data}
            for key, rel in mapping.items():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(data[key])
                os.chmod(root / rel, 0o644)
            return root
        if "persistentVolumeClaim" in vol:
            return self.claim(vol["persistentVolumeClaim"]["claimName"])
        if "emptyDir" in vol:
            root.mkdir(parents=True, exist_ok=True)
            os.chmod(root, 0o1777)
            return root
        raise ValueError(f"volume {vol['name']}: {sorted(vol)} is not emulated")

    def address(self, name: str) -> str:
        """The pod's IP (its network namespace is made on first use, so Services can point at it before it runs)."""
        if name not in self.ips:
            self.ips[name] = self.network.add(name)[0]
        return self.ips[name]

    def run_pod(
        self,
        name: str,
        spec: dict[str, Any],
        *,
        container: str | None = None,
        env: dict[str, str] | None = None,
        entrypoint_args: list[str] | None = None,
        mounts: dict[str, str] | None = None,
    ) -> str:
        """Start the pod's (first, or named) container; return the pod's IP. ``env`` adds to the pod's own;
        ``mounts`` (``{host path: container path}``) are what the kubelet itself would provide (a service
        account's credentials)."""
        ip, netns = self.address(name), self.network.pods[name]
        c = next(x for x in spec["containers"] if container in (None, x["name"]))
        volumes = {v["name"]: self._volume(name, v) for v in spec.get("volumes") or []}
        args = [
            "podman",
            "run",
            "-d",
            "--name",
            f"{self.network.bridge}-{name}",
            "--network",
            f"ns:{netns}",
            "--hostname",
            name,
            *self.hosts(),
        ]
        sc = {**(spec.get("securityContext") or {}), **(c.get("securityContext") or {})}
        if "runAsUser" in sc:
            args += ["--user", f"{sc['runAsUser']}:{sc.get('runAsGroup', sc.get('fsGroup', 0))}"]
        if "fsGroup" in sc:
            args += ["--group-add", str(sc["fsGroup"])]
        for k, v in {**self._env(c), **(env or {})}.items():
            args += ["--env", f"{k}={v}"]
        for m in c.get("volumeMounts") or []:
            host = volumes[m["name"]] / m.get("subPath", "") if m.get("subPath") else volumes[m["name"]]
            args += ["-v", f"{host}:{m['mountPath']}" + (":ro" if m.get("readOnly") else "")]
        for host_path, path in (mounts or {}).items():
            args += ["-v", f"{host_path}:{path}:ro"]
        if spec.get("automountServiceAccountToken", True):
            # what the kubelet mounts for the pod's service account (clients read their namespace there)
            sa = self.workdir / "volumes" / name / "serviceaccount"
            sa.mkdir(parents=True, exist_ok=True)
            (sa / "namespace").write_text(self.namespace)
            (sa / "token").write_text("test")
            for f in (sa, *sa.iterdir()):
                os.chmod(f, 0o755 if f.is_dir() else 0o644)
            args += ["-v", f"{sa}:/var/run/secrets/kubernetes.io/serviceaccount:ro"]
        if c.get("workingDir"):
            args += ["--workdir", c["workingDir"]]
        if c.get("command"):
            args += ["--entrypoint", json.dumps(c["command"])]
        args += [c["image"], *(entrypoint_args if entrypoint_args is not None else c.get("args") or [])]
        cid = run(*args).stdout.strip()
        self.containers.append(cid)
        return ip

    def logs(self, name: str) -> str:
        out = run("podman", "logs", f"{self.network.bridge}-{name}", check=False)
        return out.stdout + out.stderr

    def running(self, name: str) -> bool:
        out = run("podman", "inspect", "-f", "{{.State.Running}}", f"{self.network.bridge}-{name}", check=False)
        return out.stdout.strip() == "true"

    def close(self) -> None:
        for cid in reversed(self.containers):
            run("podman", "rm", "-f", "-t", "5", cid, check=False, timeout=60)
        self.containers.clear()


def port_open(ip: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def mark_running(api: KubeAPI, namespace: str, pod: str, ip: str) -> None:
    """What the kubelet reports once the pod's container runs: phase Running, its IP, containers ready."""
    obj = next(p for p in api.objects("v1/pods", namespace) if p["metadata"]["name"] == pod)
    statuses = [
        {
            "name": c["name"],
            "ready": True,
            "restartCount": 0,
            "image": c["image"],
            "imageID": "",
            "state": {"running": {"startedAt": obj["metadata"].get("creationTimestamp")}},
        }
        for c in obj["spec"]["containers"]
    ]
    api.patch(
        "v1/pods",
        namespace,
        pod,
        {
            "status": {
                "phase": "Running",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "hostIP": ip,
                "containerStatuses": statuses,
                "conditions": [{"type": "Ready", "status": "True"}],
            }
        },
        subresource="status",
    )


def publish_endpoints(api: KubeAPI, namespace: str, service: dict[str, Any], ip: str) -> None:
    """What Kubernetes' endpoints controller does for a Service whose pod runs: an Endpoints object with its address."""
    meta = service["metadata"]
    ports = [
        {"name": p.get("name", ""), "port": p.get("targetPort", p["port"]), "protocol": p.get("protocol", "TCP")}
        for p in service["spec"]["ports"]
    ]
    api.create(
        "v1/endpoints",
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": meta["name"], "labels": meta.get("labels") or {}},
            "subsets": [{"addresses": [{"ip": ip}], "ports": ports}],
        },
    )
