"""Kubernetes manifests for a topology: owned namespaces and pods that really serve their ports.

Servers follow upstream's NetworkPolicy e2e (``test/e2e/network/netpol/kubemanager.go``): one
agnhost container per declared (port, protocol), named ``cont-<port>-<proto>``:

* UDP: ``agnhost serve-hostname --udp --http=false --port N`` (as e2e).
* SCTP: ``agnhost porter`` with ``SERVE_SCTP_PORT_N=foo`` (as e2e).
* TCP: ``agnhost netexec --http-port=N --udp-port=-1``. e2e uses ``serve-hostname --tcp``; both
  accept a TCP handshake, which is all ``agnhost connect`` needs, and netexec also answers HTTP
  (``/hostname``, ``/clientip``, ``/echo``), which Service, Ingress and SNAT probes need.

A pod with no ports runs ``agnhost pause`` (it can still be a probe source: every container is
agnhost, so ``agnhost connect`` can be exec'd in the first one).

Readiness (``lab.set_ready``): the first container of every topology pod has an exec readiness
probe on a marker file (agnhost's image is Alpine, so ``/bin/sh`` and ``test`` are there):
``test ! -e /tmp/netlab-not-ready`` for a pod the topology declares ready, ``test -e
/tmp/netlab-ready`` for one it declares not ready. ``set_ready`` writes or removes those files
with an exec, so the pod fails or passes a *real* readiness probe and the kubelet, the
EndpointSlice controller and kube-proxy do the rest, exactly as for an application whose health
check starts failing. The pod carries the annotation ``netlab/readiness: <container>`` naming the
container with that probe. (Readiness gates -- ``spec.readinessGates`` set through the status
API -- would work too, but every new pod of a Deployment would then stay unready until something
sets its condition; a probe needs nobody.)

Shorthand for lessons that also run on the simulated cluster: a container whose image is the
bare name ``agnhost`` is the course's server: on a real cluster it becomes the pinned agnhost
image serving its declared ports like a topology pod (netexec for TCP...), with the readiness
probe above (:func:`expand_agnhost`). Any other image is applied as written.

Ownership: namespaces carry ``app.kubernetes.io/managed-by=netlab``; the lab changes nothing
outside such namespaces. (This label is visible to namespaceSelectors; lessons select on their own
keys, so it changes no verdict, but a selector like ``{key: app.kubernetes.io/managed-by,
operator: DoesNotExist}`` would see it.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from ..facts import fact
from ..model import ContainerPort, Namespace, Pod, Protocol

OWNER_LABEL = "app.kubernetes.io/managed-by"
OWNER_VALUE = "netlab"
OWNER_SELECTOR = f"{OWNER_LABEL}={OWNER_VALUE}"
TOPOLOGY_ANNOTATION = "netlab/topology"
SPEC_ANNOTATION = "netlab/spec-hash"
FIELD_MANAGER = "netlab"
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane"
READINESS_ANNOTATION = "netlab/readiness"
NOT_READY_FILE = "/tmp/netlab-not-ready"
READY_FILE = "/tmp/netlab-ready"
SHORTHAND_IMAGE = "agnhost"


def readiness_probe(initially_ready: bool = True) -> dict[str, Any]:
    """The exec readiness probe :func:`set_ready_command` toggles (period 1 s, one failure suffices)."""
    test = f"test ! -e {NOT_READY_FILE}" if initially_ready else f"test -e {READY_FILE}"
    return {"exec": {"command": ["/bin/sh", "-c", test]}, "periodSeconds": 1, "failureThreshold": 1, "successThreshold": 1}


def set_ready_command(ready: bool) -> list[str]:
    """Exec'd in the container named by the pod's ``netlab/readiness`` annotation: both marker files
    are written consistently, so it works whichever way the pod started."""
    if ready:
        script = f"rm -f {NOT_READY_FILE} && touch {READY_FILE}"
    else:
        script = f"rm -f {READY_FILE} && touch {NOT_READY_FILE}"
    return ["/bin/sh", "-c", script]


def agnhost_image() -> str:
    return str(fact("agnhost-image").value)


def container_name(port: ContainerPort) -> str:
    """``cont-80-tcp`` (upstream e2e's naming)."""
    return f"cont-{port.port}-{port.protocol.value.lower()}"


def server_container(port: ContainerPort, image: str) -> dict[str, Any]:
    """One agnhost container serving ``port`` (see the module docstring for the commands)."""
    spec: dict[str, Any] = {"name": container_name(port), "image": image, "imagePullPolicy": "IfNotPresent"}
    if port.protocol is Protocol.TCP:
        spec["args"] = ["netexec", f"--http-port={port.port}", "--udp-port=-1"]
    elif port.protocol is Protocol.UDP:
        spec["args"] = ["serve-hostname", "--udp", "--http=false", f"--port={port.port}"]
    else:
        spec["args"] = ["porter"]
        spec["env"] = [{"name": f"SERVE_SCTP_PORT_{port.port}", "value": "foo"}]
    cport: dict[str, Any] = {"containerPort": port.port, "protocol": port.protocol.value}
    if port.name:
        cport["name"] = port.name
    spec["ports"] = [cport]
    return spec


def namespace_manifest(ns: Namespace, topology: str | None = None) -> dict[str, Any]:
    labels = {k: v for k, v in ns.labels.items() if k != "kubernetes.io/metadata.name"}
    labels[OWNER_LABEL] = OWNER_VALUE
    meta: dict[str, Any] = {"name": ns.name, "labels": dict(sorted(labels.items()))}
    if topology:
        meta["annotations"] = {TOPOLOGY_ANNOTATION: topology}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def pod_manifest(
    pod: Pod, *, image: str | None = None, node_name: Callable[[str], str | None] | None = None,
    control_plane: str | None = None,
) -> dict[str, Any]:
    """A Pod that serves every port ``pod`` declares.

    Args:
        node_name: maps a topology node name (the simulated cluster's ``kind-worker``) to the real
            node (``netlab-kindnet-worker``); None means the topology's name is used as is.
        control_plane: the real control-plane node name, to add the toleration pinned pods need.
    """
    image = image or agnhost_image()
    containers = [server_container(p, image) for p in sorted(pod.ports, key=lambda c: (c.protocol, c.port))]
    if not containers:
        containers = [{"name": "cont-idle", "image": image, "imagePullPolicy": "IfNotPresent", "args": ["pause"]}]
    # A not-ready topology pod fails its readiness probe until lab.set_ready(pod) (module docstring).
    containers[0]["readinessProbe"] = readiness_probe(pod.ready)
    spec: dict[str, Any] = {"containers": containers, "terminationGracePeriodSeconds": 1, "enableServiceLinks": False}
    if pod.host_network:
        spec["hostNetwork"] = True
    if pod.node:
        target = node_name(pod.node) if node_name else pod.node
        if target:
            spec["nodeSelector"] = {"kubernetes.io/hostname": target}
            if control_plane and target == control_plane:
                spec["tolerations"] = [{"key": CONTROL_PLANE_TAINT, "operator": "Exists", "effect": "NoSchedule"}]
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": dict(pod.labels.items())},
        "spec": spec,
    }
    body["metadata"]["annotations"] = {SPEC_ANNOTATION: spec_hash(spec), READINESS_ANNOTATION: containers[0]["name"]}
    return body


def _server_args(port: ContainerPort) -> dict[str, Any]:
    spec = server_container(port, "")
    return {k: v for k, v in spec.items() if k in ("args", "env")}


def expand_agnhost(body: dict[str, Any], image: str | None = None) -> dict[str, Any]:
    """Expand the ``image: agnhost`` shorthand in a Pod or a workload's pod template (in place;
    returns ``body``). A bare ``agnhost`` container without command/args serves its first declared
    port as a topology pod would, and each further port from an extra container named
    ``<name>-<port>-<proto>``; the first expanded container gets the readiness probe and the pod
    the ``netlab/readiness`` annotation, so ``lab.set_ready`` works on it."""
    image = image or agnhost_image()
    kind = body.get("kind")
    if kind == "Pod":
        meta, spec = body.setdefault("metadata", {}), body.get("spec")
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        template = (body.get("spec") or {}).get("template") or {}
        meta, spec = template.setdefault("metadata", {}), template.get("spec")
    else:
        return body
    if not isinstance(spec, dict):
        return body
    out: list[dict[str, Any]] = []
    probed: str | None = None
    for c in spec.get("containers") or []:
        if not isinstance(c, dict) or c.get("image") != SHORTHAND_IMAGE:
            out.append(c)
            continue
        c = dict(c, image=image, imagePullPolicy=c.get("imagePullPolicy") or "IfNotPresent")
        ports = [ContainerPort(int(p["containerPort"]), Protocol.parse(p.get("protocol") or "TCP"), p.get("name"))
                 for p in c.get("ports") or [] if isinstance(p, dict) and p.get("containerPort")]
        extra: list[dict[str, Any]] = []
        if not c.get("command") and not c.get("args"):
            if ports:
                c.update(_server_args(ports[0]))
                c["ports"] = [p for p in c["ports"] if int(p["containerPort"]) == ports[0].port and Protocol.parse(p.get("protocol") or "TCP") == ports[0].protocol]
                for port in ports[1:]:
                    more = server_container(port, image)
                    more["name"] = f"{c['name']}-{port.port}-{port.protocol.value.lower()}"
                    extra.append(more)
            else:
                c["args"] = ["pause"]
        if probed is None and "readinessProbe" not in c:
            c["readinessProbe"] = readiness_probe(True)
            probed = c["name"]
        out += [c, *extra]
    spec["containers"] = out
    if probed is not None:
        meta["annotations"] = {**(meta.get("annotations") or {}), READINESS_ANNOTATION: probed}
    return body


def spec_hash(spec: dict[str, Any]) -> str:
    """Pods are mostly immutable: a changed hash means delete and recreate."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def probe_pod_manifest(node: str, namespace: str, image: str | None = None) -> dict[str, Any]:
    """A host-network agnhost pod pinned to ``node``: probes that start from a node run in it."""
    image = image or agnhost_image()
    name = "probe-" + node.replace(".", "-")[:50]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "netlab-node-probe"}},
        "spec": {
            "hostNetwork": True, "nodeName": node, "terminationGracePeriodSeconds": 1,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "probe", "image": image, "imagePullPolicy": "IfNotPresent", "args": ["pause"]}],
        },
    }
