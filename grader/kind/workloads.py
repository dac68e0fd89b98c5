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
    tcp = [p for p in pod.ports if p.protocol is Protocol.TCP]
    if not pod.ready:
        # The topology says this pod is not ready: a readiness probe that can never pass keeps it
        # out of Service endpoints exactly like a crashing app would (nothing listens on port 1).
        containers[0]["readinessProbe"] = {"tcpSocket": {"port": 1}, "periodSeconds": 5}
    elif tcp:
        containers[0]["readinessProbe"] = {"tcpSocket": {"port": tcp[0].port}, "periodSeconds": 2}
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
    body["metadata"]["annotations"] = {SPEC_ANNOTATION: spec_hash(spec)}
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
