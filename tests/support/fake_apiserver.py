"""A tiny Kubernetes API server for the live Lab's offline tests.

It serves, over real HTTP on 127.0.0.1, the REST paths the live Lab reads and patches, from an
in-memory store of objects in ``kubectl get -o json`` form, so the official ``kubernetes`` client
runs unchanged (URL building, query parameters, deserialisation into its models). Two
controllers are imitated, each in a few lines, because the Lab's calls observe their effects:

* the kubelet's readiness: a container's exec readiness probe is run (with ``/bin/sh``, its
  ``/tmp`` mapped to ``<root>/<ns>/<pod>/``) whenever the pod is read, and sets the Ready condition;
* the EndpointSlice controller: one slice per Service port, from the pods the selector matches
  (named targetPorts resolved in each pod, ready = the pod's Ready condition);
* the ReplicaSet controller, for ``PATCH .../deployments/<name>/scale``: pods created or deleted
  at once, newest first.

Also served, as the API server does (issue 12, review F1), so the live Lab's own code runs offline:

* discovery (``/version``, ``/api``, ``/apis``, ``/api/v1``, ``/apis/<group>/<version>``), which the
  dynamic client reads before its first call (kubernetes ``dynamic/discovery.py``);
* server-side apply: ``PATCH`` with ``Content-Type: application/apply-patch+yaml``, ``fieldManager``
  (required), ``force``, ``dryRun=All`` (nothing stored), creation of a missing object, and a 409
  ``Conflict`` when another manager owns a field the apply changes and ``force`` is not set
  (apiserver ``pkg/endpoints/handlers/fieldmanager``; message format of ``internal/conflict.go``);
* ``DELETE`` of one object (a Namespace takes its objects with it);
* exec over the Kubernetes websocket protocol (``v5.channel.k8s.io``, else ``v4``; apimachinery
  ``pkg/util/httpstream/wsstream/conn.go``): binary frames whose first byte is the channel (1
  stdout, 2 stderr, 3 error), the command's status on the error channel as a ``metav1.Status``
  (``Success``, or ``NonZeroExitCode`` with the code in ``details.causes``, or a failure without
  a code when the executable is missing: kubelet ``pkg/kubelet/cri/streaming/remotecommand``), then a
  close frame. The command runs on this machine (``exec_path`` first on PATH, the pod's
  ``/tmp/netlab`` and ``/etc/resolv.conf`` mapped under ``<root>/<ns>/<pod>/``).

* the scheduler, kubelet and CNI for a Pod created by server-side apply (what ``deploy`` and the
  enforcement canary create): the pod is bound to the node its ``kubernetes.io/hostname``
  nodeSelector names (else ``kind-worker``), gets its own loopback address ``127.<a>.<b>.<n>`` as pod
  IP, is Running, and each ``agnhost netexec --http-port=P`` container of it really serves on
  ``<podIP>:P`` what netexec serves (kubernetes ``test/images/agnhost/netexec/netexec.go``:
  ``/hostname`` answers the pod's hostname, ``/clientip`` the peer's ``ip:port``, ``/`` ``NOW: <time>``);
  deleting the pod or its namespace stops the servers;
* the network (``support.fakenet``, each module citing what it imitates): every new connection's
  first packet goes through one datapath, :meth:`FakeCluster.first_packet`: kube-proxy's Service
  translation (``fakenet.kubeproxy``: ClusterIPs on loopback addresses with real forwarders, random
  ready endpoint, named targetPorts, ClientIP affinity, NodePorts) and then the CNI's NetworkPolicy
  verdict (``fakenet.netpol``, an evaluator independent of ``grader.netpol``). Exec'd clients bind
  to their pod's address, so servers see the pod's IP (``fakenet.standins``);
* CoreDNS for exec'd ``dig``, ``agnhost`` and ``curl`` (``fakenet.dns``): Service names (the
  ``kubernetes`` plugin) and the ``hosts`` entries of the coredns ConfigMap the backend patched
  (read from this store, or from ``corefile`` when the fake ``kubectl`` holds it).

Not served: watch.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from support.fakenet.cluster import NetworkMixin
from support.fakenet.kubeproxy import KubeProxy
from support.fakenet.standins import FAKE_AGNHOST, FAKE_CURL, FAKE_DIG, FAKE_NC, ServeHostnameUdp, _netexec, install, stop_netexec
from support.fakenet.wire import _Handler, _status

if TYPE_CHECKING:
    from grader.kind.lab import LiveLab

PLURALS = {
    "Namespace": "namespaces", "Pod": "pods", "Service": "services", "Node": "nodes", "EndpointSlice": "endpointslices",
    "Ingress": "ingresses", "IngressClass": "ingressclasses", "Deployment": "deployments", "Gateway": "gateways",
    "HTTPRoute": "httproutes", "GatewayClass": "gatewayclasses", "Job": "jobs", "NetworkPolicy": "networkpolicies",
    "ConfigMap": "configmaps",
}
GROUP_VERSIONS = {
    "v1": ("Namespace", "Pod", "Service", "Node", "ConfigMap"), "apps/v1": ("Deployment",), "batch/v1": ("Job",),
    "discovery.k8s.io/v1": ("EndpointSlice",), "networking.k8s.io/v1": ("Ingress", "IngressClass", "NetworkPolicy"),
    "gateway.networking.k8s.io/v1": ("Gateway", "HTTPRoute", "GatewayClass"),
}
"""What discovery serves: which kinds each group/version has."""
CLUSTER_SCOPED = {"Namespace", "Node", "IngressClass", "GatewayClass"}
APPLY_PATCH = "application/apply-patch+yaml"
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""PATH inside the agnhost container (alpine's default, the image sets no other): exec'd commands
find this machine's system tools there, never the test's fake kind/docker/kubectl."""
KINDS = {v: k for k, v in PLURALS.items()}
_PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))(?P<rest>/.*)?$")


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch."""
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)
    return target


def _matches(labels: dict[str, str], selector: str | None) -> bool:
    if not selector:
        return True
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


def _claim_network(seed: int) -> tuple[Any, tuple[int, int]]:
    """(open lock file, (a, b)) of a free pair of loopback /24s ``127.a.b`` and ``127.a.b+128``,
    held with ``flock`` until the file is closed (a crashed process releases it with its files)."""
    import fcntl
    import tempfile

    where = Path(tempfile.gettempdir()) / "netlab-fakenet"
    where.mkdir(exist_ok=True)
    for i in range(250 * 128):
        n = (seed * 7919 + i) % (250 * 128)
        a, b = 1 + n // 128, n % 128
        fh = open(where / f"127.{a}.{b}.lock", "w")  # noqa: SIM115 - held open: the claim lasts as long as the cluster
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        return fh, (a, b)
    raise RuntimeError("no free loopback network for a fake cluster")


class FakeCluster(NetworkMixin):
    _instances = 0
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self._next_ip = 10
        self._next_pod_ip = 10
        self._next_node_port = 30000 + (os.getpid() * 37) % 2000
        FakeCluster._instances += 1
        self._net_claim, net = _claim_network(os.getpid() + FakeCluster._instances)
        self._pod_net = f"127.{net[0]}.{net[1]}"
        """Loopback /24 of this cluster's pods, claimed with a lock file so that test processes running
        side by side (xdist) never share addresses."""
        self._svc_net = f"127.{net[0]}.{128 + net[1]}"
        """Loopback /24 of its Service ClusterIPs (the fake kube-proxy listens there)."""
        self.enforces_policy = True
        """False: a CNI without NetworkPolicy support (Flannel alone): every policy is ignored."""
        self.corefile: Callable[[], str | None] | None = None
        """Where the Corefile lives when the coredns ConfigMap is not in this store (the fake kubectl's state)."""
        self.proxy = KubeProxy(self._locked_slices, self.admits)
        self.flows: list[tuple[str, str, int, str, str, str]] = []
        """(source, destination, port, protocol, fate, delivered to) of every first packet the stand-ins asked about."""
        self.routes: dict[str, str] = {}
        """Off-machine address -> the loopback address that stands in for it (the lab's internet hosts
        on their Docker networks): where the fake's datapath delivers a connection to it, so the
        outcome does not depend on this machine's own network."""
        self.execs: list[tuple[str, str, list[str]]] = []
        """(namespace, pod, argv) of every exec, in order."""
        self.servers: dict[tuple[str, str], list[Any]] = {}
        """The netexec servers of pods the fake kubelet started, by (namespace, pod)."""
        handler = type("Handler", (_Handler,), {"cluster": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- store --------------------------------------------------------------------------------------
    def add(self, *objs: dict[str, Any]) -> None:
        for obj in objs:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta.setdefault("uid", f"uid-{meta['name']}")
            meta.setdefault("resourceVersion", "1")
            meta.setdefault("creationTimestamp", "2026-11-27T12:00:00Z")
            gv = obj["apiVersion"]
            self.objects[(gv, PLURALS[obj["kind"]], meta.get("namespace", ""), meta["name"])] = obj

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return next((o for (gv, plural, ns, n), o in self.objects.items() if plural == PLURALS[kind] and ns == namespace and n == name), None)

    def pod(self, namespace: str, name: str, labels: dict[str, str], ip: str, *, ports: list[dict[str, Any]] | None = None,
            node: str = "kind-worker", annotations: dict[str, str] | None = None, probe: list[str] | None = None) -> dict[str, Any]:
        container: dict[str, Any] = {"name": "c", "image": "agnhost", "ports": ports or []}
        if probe:
            container["readinessProbe"] = {"exec": {"command": probe}, "periodSeconds": 1}
        obj = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations or {}},
               "spec": {"containers": [container], "nodeName": node},
               "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}],
                          "containerStatuses": [{"name": "c", "ready": True, "started": True, "restartCount": 0, "image": "agnhost", "imageID": ""}]}}
        self.add(obj)
        (self.root / namespace / name).mkdir(parents=True, exist_ok=True)
        return obj

    # -- controllers ----------------------------------------------------------------------------------
    def _kubelet(self, pod: dict[str, Any]) -> dict[str, Any]:
        pod = copy.deepcopy(pod)
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        ready = True
        for c in pod["spec"]["containers"]:
            command = ((c.get("readinessProbe") or {}).get("exec") or {}).get("command")
            if command:
                here = f"{self.root}/{ns}/{name}/"
                done = subprocess.run([a.replace("/tmp/netlab", f"{here}netlab") for a in command], capture_output=True, check=False)
                ready &= done.returncode == 0
        pod["status"]["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
        for cs in pod["status"].get("containerStatuses") or []:
            cs["ready"] = ready
        return pod

    def _pods(self) -> list[dict[str, Any]]:
        return [self._kubelet(o) for (_, plural, _, _), o in self.objects.items() if plural == "pods"]

    def _slices(self) -> list[dict[str, Any]]:
        pods = self._pods()
        out = []
        for (_, plural, ns, name), svc in list(self.objects.items()):
            selector = (svc.get("spec") or {}).get("selector") if plural == "services" else None
            if not selector:
                continue
            chosen = [p for p in pods if p["metadata"]["namespace"] == ns and all(p["metadata"]["labels"].get(k) == v for k, v in selector.items())]
            for sp in svc["spec"].get("ports") or []:
                target = sp.get("targetPort", sp["port"])
                endpoints, number = [], None
                for p in chosen:
                    ports = [cp for c in p["spec"]["containers"] for cp in c.get("ports") or []]
                    n = target if isinstance(target, int) else next((cp["containerPort"] for cp in ports if cp.get("name") == target), None)
                    if n is None or not p["status"].get("podIP"):
                        continue
                    number = n
                    ready = p["status"]["conditions"][0]["status"] == "True"
                    endpoints.append({"addresses": [p["status"]["podIP"]], "nodeName": p["spec"].get("nodeName"),
                                      "conditions": {"ready": ready, "serving": ready, "terminating": False},
                                      "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": "x"}})
                port = {"port": number, "protocol": sp.get("protocol", "TCP")}
                if sp.get("name"):
                    port["name"] = sp["name"]
                out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                            "metadata": {"name": f"{name}-{sp.get('name') or sp['port']}", "namespace": ns, "uid": "s", "resourceVersion": "1",
                                         "labels": {"kubernetes.io/service-name": name}},
                            "endpoints": endpoints, "ports": [port] if number is not None else []})
        return out

    def _scale(self, namespace: str, name: str, replicas: int) -> dict[str, Any]:
        dep = self.get("Deployment", namespace, name)
        assert dep is not None
        dep["spec"]["replicas"] = replicas
        labels = dep["spec"]["selector"]["matchLabels"]
        owned = sorted((k for k, o in self.objects.items() if k[1] == "pods" and k[2] == namespace and _matches(o["metadata"]["labels"], ",".join(f"{a}={b}" for a, b in labels.items()))),
                       key=lambda k: k[3])
        while len(owned) > replicas:
            del self.objects[owned.pop()]
        i = 0
        while len(owned) < replicas:
            pod_name = f"{name}-7d9f-{i}"
            i += 1
            if any(k[3] == pod_name for k in owned):
                continue
            template = dep["spec"]["template"]
            self._next_ip += 1
            obj = self.pod(namespace, pod_name, dict(template["metadata"]["labels"]), f"10.244.9.{self._next_ip}",
                           ports=template["spec"]["containers"][0].get("ports"))
            owned.append(("v1", "pods", namespace, obj["metadata"]["name"]))
        return {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": name, "namespace": namespace},
                "spec": {"replicas": replicas}, "status": {"replicas": replicas}}

    # -- discovery, server-side apply, delete (F1) ----------------------------------------------------
    def discovery(self, path: str) -> tuple[int, dict[str, Any]] | None:
        if path == "/version":
            return 200, {"major": "1", "minor": "37", "gitVersion": "v1.37.0", "platform": "linux/amd64"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            groups = [{"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                       "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}} for gv in GROUP_VERSIONS if "/" in gv]
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        gv = "v1" if path == "/api/v1" else path.removeprefix("/apis/") if path.count("/") == 3 and path.startswith("/apis/") else None
        if gv is None or gv not in GROUP_VERSIONS:
            return None
        verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        resources = [{"name": PLURALS[k], "singularName": k.lower(), "namespaced": k not in CLUSTER_SCOPED, "kind": k, "verbs": verbs}
                     for k in GROUP_VERSIONS[gv]]
        if gv == "v1":
            resources.append({"name": "pods/exec", "singularName": "", "namespaced": True, "kind": "PodExecOptions", "verbs": ["create", "get"]})
        return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def apply(self, gv: str, plural: str, ns: str, name: str, body: dict[str, Any], query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        manager = (query.get("fieldManager") or [""])[0]
        if not manager:
            return 422, _status(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch')
        meta_in = body.get("metadata") or {}
        if body.get("apiVersion") != gv or PLURALS.get(str(body.get("kind"))) != plural or meta_in.get("name") != name:
            return 400, _status(400, f"the apply body ({body.get('apiVersion')} {body.get('kind')} {meta_in.get('name')}) does not match the URL")
        force = (query.get("force") or ["false"])[0] == "true"
        dry = (query.get("dryRun") or [""])[0] == "All"
        key = (gv, plural, ns, name)
        old = self.objects.get(key)
        owners: dict[str, str] = dict((old or {}).get("_owners") or {})
        fields = _leaves(body, skip=("apiVersion", "kind", "metadata.name", "metadata.namespace"))
        before = _leaves(old or {})
        conflicts = sorted(f for f, v in fields.items() if owners.get(f, manager) != manager and before.get(f) != v)
        if conflicts and not force:
            by = owners[conflicts[0]]
            text = ", ".join(f".{f}" for f in conflicts)
            plural_s = "s" if len(conflicts) > 1 else ""
            return 409, {**_status(409, f'Apply failed with {len(conflicts)} conflict{plural_s}: conflict with "{by}": {text}'),
                         "details": {"causes": [{"reason": "FieldManagerConflict", "message": f'conflict with "{by}"', "field": f".{f}"}
                                                for f in conflicts]}}
        new = copy.deepcopy(body)
        meta = new.setdefault("metadata", {})
        if ns:
            meta["namespace"] = ns
        base = (old or {}).get("metadata") or {}
        meta["uid"] = base.get("uid", f"uid-{name}")
        meta["resourceVersion"] = str(int(base.get("resourceVersion", "0")) + 1)
        meta["creationTimestamp"] = base.get("creationTimestamp", "2026-11-27T12:00:00Z")
        if old is not None and "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        for f in fields:
            owners[f] = manager
        meta["managedFields"] = [{"manager": m, "operation": "Apply", "apiVersion": gv} for m in sorted(set(owners.values()))]
        code = 200 if old is not None else 201
        if dry:
            return code, new
        if plural == "pods" and old is None:
            self._start_pod(new)
        if plural == "services":
            self._allocate(new, old)
        self.objects[key] = {**copy.deepcopy(new), "_owners": owners}
        if plural == "namespaces":
            (self.root / name).mkdir(parents=True, exist_ok=True)
        return code, new

    def delete(self, gv: str, plural: str, ns: str, name: str) -> tuple[int, dict[str, Any]]:
        key = (gv, plural, ns, name)
        if key not in self.objects:
            return 404, _status(404, f'{plural} "{name}" not found')
        self.objects.pop(key)
        if plural == "pods":
            self._stop_pod(ns, name)
        if plural == "namespaces":
            for other in [k for k in self.objects if k[2] == name]:
                self.objects.pop(other)
                if other[1] == "pods":
                    self._stop_pod(name, other[3])
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": {"name": name, "kind": plural}}

    # -- scheduler, kubelet and CNI for pods the Lab creates ------------------------------------------
    def _start_pod(self, pod: dict[str, Any]) -> None:
        meta, spec = pod["metadata"], pod.setdefault("spec", {})
        self._next_pod_ip += 1
        ip = f"{self._pod_net}.{self._next_pod_ip}"
        spec.setdefault("nodeName", (spec.get("nodeSelector") or {}).get("kubernetes.io/hostname", "kind-worker"))
        containers = spec.get("containers") or []
        pod["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "127.0.0.1",
                         "conditions": [{"type": "Ready", "status": "True"}],
                         "containerStatuses": [{"name": c["name"], "ready": True, "started": True, "restartCount": 0,
                                                "image": c.get("image", ""), "imageID": ""} for c in containers]}
        here = self.root / meta["namespace"] / meta["name"]
        here.mkdir(parents=True, exist_ok=True)
        # dnsPolicy ClusterFirst, as the kubelet writes it (kubernetes pkg/kubelet/network/dns/dns.go)
        (here / "resolv.conf").write_text(f"search {meta['namespace']}.svc.cluster.local svc.cluster.local cluster.local\n"
                                          "nameserver 10.96.0.10\noptions ndots:5\n")
        servers = []
        for c in containers:
            args = c.get("args") or []
            port = next((a.split("=", 1)[1] for a in args if a.startswith("--http-port=")), None)
            if args[:1] == ["netexec"] and port is not None:
                servers.append(_netexec(ip, int(port), meta["name"], self._netexec_admits))
            udp_port = next((a.split("=", 1)[1] for a in args if a.startswith("--port=")), None)
            if args[:2] == ["serve-hostname", "--udp"] and udp_port is not None:
                servers.append(ServeHostnameUdp(ip, int(udp_port), meta["name"], self._udp_admits))
        self.servers[(meta["namespace"], meta["name"])] = servers

    def _stop_pod(self, ns: str, name: str) -> None:
        for srv in self.servers.pop((ns, name), []):
            stop_netexec(srv)

    # -- exec (F1) -------------------------------------------------------------------------------------
    image_path = IMAGE_PATH
    """PATH of the pods' image after ``exec_path``."""
    exec_path: Path | None = None
    """A directory put first on PATH for exec'd commands (fake ``nc``, ``dig``, ``agnhost`` ...)."""

    def run_exec(self, ns: str, pod: str, command: list[str], timeout: float = 30.0) -> tuple[bytes, bytes, dict[str, Any]]:
        """(stdout, stderr, metav1.Status for the error channel) of one exec, as the kubelet reports it."""
        with self.lock:
            if self.get("Pod", ns, pod) is None:
                return b"", b"", _status(404, f'pods "{pod}" not found')
        self.execs.append((ns, pod, list(command)))
        here = self.root / ns / pod
        here.mkdir(parents=True, exist_ok=True)
        argv = [a.replace("/etc/resolv.conf", f"{here}/resolv.conf").replace("/tmp/netlab", f"{here}/netlab") for a in command]
        if self.exec_path is not None:  # /agnhost (the image's root-level binary) -> the stand-in, also inside `sh -c` scripts
            rooted = re.compile(r"(?<![\w/.-])/(" + "|".join(sorted(re.escape(f.name) for f in self.exec_path.iterdir())) + r")(?![\w/.-])")
            argv = [rooted.sub(lambda m: str(self.exec_path / m.group(1)), a) for a in argv] if any(self.exec_path.iterdir()) else argv
        path = self.image_path
        self.sync_network()
        with self.lock:
            zone = self._zone()
            found = self.get("Pod", ns, pod) or {}
        pod_ip = (found.get("status") or {}).get("podIP") or ""
        (here / "zone").write_text(zone)
        host, port = self.server.server_address[:2]
        env = {**os.environ, "PATH": f"{self.exec_path}:{path}" if self.exec_path else path,
               "FAKE_ZONE": str(here / "zone"), "FAKE_RESOLV": str(here / "resolv.conf"), "FAKE_POD_IP": pod_ip,
               "FAKE_CNI": f"{host}:{port}"}
        try:
            done = subprocess.run(argv, capture_output=True, env=env, timeout=timeout, check=False)
        except FileNotFoundError:
            return b"", b"", {**_status(500, (
                "Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: "
                f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{command[0]}": '
                "executable file not found in $PATH: unknown"))}
        if done.returncode == 0:
            return done.stdout, done.stderr, {"metadata": {}, "status": "Success"}
        return done.stdout, done.stderr, {
            "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: error executing command {command}, exit code {done.returncode}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(done.returncode)}]},
        }

    # -- controllers ----------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any] | None,
              content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
        self.requests.append((method, path))
        if method == "GET":
            found_discovery = self.discovery(path)
            if found_discovery is not None:
                return found_discovery
        m = _PATH.match(path)
        if not m:
            return 404, _status(404, f"no route {path}")
        gv = "v1" if m.group("core") else f"{m.group('group')}/{m.group('version')}"
        parts = [p for p in (m.group("rest") or "").split("/") if p]
        ns = ""
        if len(parts) >= 3 and parts[0] == "namespaces":
            ns, parts = parts[1], parts[2:]
        plural = parts[0] if parts else ""
        name = parts[1] if len(parts) > 1 else None
        sub = parts[2] if len(parts) > 2 else None
        if plural not in KINDS:
            return 404, _status(404, f"the server could not find the requested resource ({plural})")
        with self.lock:
            if method == "PATCH" and content_type == APPLY_PATCH and name and body is not None and sub is None:
                return self.apply(gv, plural, ns, name, body, query)
            if method == "DELETE" and name and sub is None:
                return self.delete(gv, plural, ns, name)
            if method == "PATCH" and plural == "deployments" and sub == "scale" and body is not None:
                if self.get("Deployment", ns, name or "") is None:
                    return 404, _status(404, f'deployments.apps "{name}" not found')
                return 200, self._scale(ns, name or "", int(body["spec"]["replicas"]))
            if plural == "pods":
                items = self._pods()
            elif plural == "endpointslices":
                items = self._slices()
            else:
                items = [copy.deepcopy(o) for (g, p, _, _), o in self.objects.items() if g == gv and p == plural]
            if ns:
                items = [o for o in items if o["metadata"].get("namespace") == ns]
            if name is None and method == "GET":
                selector = (query.get("labelSelector") or [None])[0]
                items = [o for o in items if _matches(o["metadata"].get("labels") or {}, selector)]
                return 200, {"apiVersion": gv, "kind": f"{KINDS[plural]}List", "metadata": {"resourceVersion": "1"}, "items": items}
            found = next((o for o in items if o["metadata"]["name"] == name), None)
            if found is None:
                return 404, _status(404, f'{plural} "{name}" not found')
            found.pop("_owners", None)
            if method == "GET":
                return 200, found
            if method == "PATCH" and body is not None:
                key = (found["apiVersion"], plural, found["metadata"].get("namespace", ""), found["metadata"]["name"])
                stored = _merge(self.objects[key], body)
                return 200, {k: v for k, v in copy.deepcopy(stored).items() if k != "_owners"}
        return 405, _status(405, f"{method} not supported by the fake")

    # -- lifecycle ----------------------------------------------------------------------------------------
    def __enter__(self) -> FakeCluster:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for ns, name in list(self.servers):
            self._stop_pod(ns, name)
        self.proxy.close()
        self._net_claim.close()
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig(self, path: Path) -> Path:
        host, port = self.server.server_address[:2]
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: fake, cluster: {{server: 'http://{host}:{port}'}}}}]\n"
            "contexts: [{name: fake, context: {cluster: fake, user: u}}]\ncurrent-context: fake\n"
            "users: [{name: u, user: {token: t}}]\n"
        )
        return path

    def add_nodes(self, *names: str, address: str = "127.0.0.1") -> None:
        """Nodes with an InternalIP (every fake node is this machine unless told otherwise)."""
        self.add(*({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
                    "status": {"addresses": [{"type": "InternalIP", "address": address}]}} for n in names))

    def live_lab(self, kubeconfig: Path, profile: str = "kindnet") -> LiveLab:
        """The live Lab on this fake API server, through a kubeconfig written to ``kubeconfig``."""
        from grader.kind.lab import LiveLab

        return LiveLab(profile, kubeconfig=str(self.kubeconfig(kubeconfig)), context="fake", quiet=True)


_SERVER_FIELDS = ("metadata.uid", "metadata.resourceVersion", "metadata.creationTimestamp", "metadata.managedFields")


def _leaves(obj: Any, prefix: str = "", skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """``spec.replicas`` -> value for every leaf the client set (lists are one leaf, as SSA's atomic lists are)."""
    out: dict[str, Any] = {}
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        path = f"{prefix}{k}"
        if path in skip or path in _SERVER_FIELDS or (not prefix and k in ("status", "_owners")):
            continue
        if isinstance(v, dict) and v:
            out.update(_leaves(v, path + ".", skip))
        else:
            out[path] = v
    return out


__all__ = ["FAKE_AGNHOST", "FAKE_CURL", "FAKE_DIG", "FAKE_NC", "FakeCluster", "_netexec", "install"]
