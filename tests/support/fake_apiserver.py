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

Not served: exec (tests run exec'd commands on this machine instead), watch, apply, discovery.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PLURALS = {
    "Namespace": "namespaces", "Pod": "pods", "Service": "services", "Node": "nodes", "EndpointSlice": "endpointslices",
    "Ingress": "ingresses", "IngressClass": "ingressclasses", "Deployment": "deployments", "Gateway": "gateways",
    "HTTPRoute": "httproutes", "GatewayClass": "gatewayclasses", "Job": "jobs",
}
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


class FakeCluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._next_ip = 10
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

    # -- HTTP -------------------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        self.requests.append((method, path))
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
            if method == "GET":
                return 200, found
            if method == "PATCH" and body is not None:
                key = (found["apiVersion"], plural, found["metadata"].get("namespace", ""), found["metadata"]["name"])
                stored = _merge(self.objects[key], body)
                return 200, copy.deepcopy(stored)
        return 405, _status(405, f"{method} not supported by the fake")

    # -- lifecycle ----------------------------------------------------------------------------------------
    def __enter__(self) -> FakeCluster:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
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


def _status(code: int, message: str) -> dict[str, Any]:
    reason = {404: "NotFound", 405: "MethodNotAllowed"}.get(code, "BadRequest")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        body = None
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = json.loads(self.rfile.read(length))
        code, payload = self.cluster.route(method, parts.path, parse_qs(parts.query), body)
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PATCH(self) -> None:
        self._handle("PATCH")


FAKE_NC = '''#!{python}
"""Stand-in for OpenBSD nc (agnhost's image has it; this machine may not): ``nc [-u] host port``
connects, copies stdin to the socket and the socket to stdout, and reports a failed connect as
``nc: connect to <host> port <port> (tcp) failed: <reason>``."""
import socket, sys, threading
args = [a for a in sys.argv[1:] if a]
udp = "-u" in args
host, port = [a for a in args if a != "-u"][:2]
kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
try:
    s.connect((host, int(port)))
except OSError as exc:
    sys.stderr.write(f"nc: connect to {{host}} port {{port}} ({{'udp' if udp else 'tcp'}}) failed: {{exc.strerror}}\\n")
    sys.exit(1)
def pump():
    while True:
        data = sys.stdin.buffer.read1(4096)
        if not data:
            return
        s.send(data)
threading.Thread(target=pump, daemon=True).start()
while True:
    try:
        data = s.recv(4096)
    except OSError:
        sys.exit(1)
    if not data:
        sys.exit(0)
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
'''
