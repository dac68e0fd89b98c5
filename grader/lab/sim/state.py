"""The simulated cluster's state: nodes, namespaces, pods and every applied object.

Engines never mutate it; they read snapshots (``policies()``, ``pods()``...). Each change bumps
``version`` so derived structures (the policy engine) can be cached between changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ...cni import CniProfile
from ...cni.ipam import Ipam
from ...errors import LabError
from ...manifests import Manifest, ObjectKey
from ...model import ContainerPort, ExternalHost, Labels, Namespace, NetworkPolicy, Node, Pod, PodRef, Protocol
from ...model.cluster import IPAddress
from ..results import default_external_hosts

SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

# CoreDNS as kubeadm deploys it on kind: two replicas labelled k8s-app=kube-dns on the control plane.
COREDNS_PORTS = (
    ContainerPort(53, Protocol.UDP, "dns"),
    ContainerPort(53, Protocol.TCP, "dns-tcp"),
    ContainerPort(9153, Protocol.TCP, "metrics"),
)


class ClusterState:
    def __init__(self, profile: CniProfile) -> None:
        self.profile = profile
        self.nodes: tuple[Node, ...] = profile.nodes()
        self.version = 0
        self._reset()

    def _reset(self) -> None:
        self.ipam = Ipam(self.profile, self.nodes)
        self.namespaces: dict[str, Namespace] = {n: Namespace(n) for n in SYSTEM_NAMESPACES}
        self._pods: dict[PodRef, Pod] = {}
        self.objects: dict[ObjectKey, Manifest] = {}
        self.system_pods: set[PodRef] = set()
        self.external_hosts: dict[str, ExternalHost] = default_external_hosts()
        self._next_worker = 0
        for i in range(2):
            pod = Pod("kube-system", f"coredns-{i}", Labels({"k8s-app": "kube-dns"}), None, self.nodes[0].name, COREDNS_PORTS)
            self.add_pod(pod)
            self.system_pods.add(pod.ref)
        self.touch()

    def reset(self) -> None:
        self._reset()

    def touch(self) -> None:
        self.version += 1

    # -- nodes -----------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise LabError(f"no node/{name}; known: {', '.join(f'node/{n.name}' for n in self.nodes)}")

    def workers(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "worker"] or list(self.nodes)

    def _place(self, pod: Pod) -> str:
        if pod.node:
            self.node(pod.node)
            return pod.node
        if pod.ip is not None:
            for n in self.nodes:
                if n.pod_cidr is not None and pod.ip.version == n.pod_cidr.version and pod.ip in n.pod_cidr:
                    return n.name
        workers = self.workers()
        node = workers[self._next_worker % len(workers)].name
        self._next_worker += 1
        return node

    # -- namespaces and pods ---------------------------------------------------------------
    def ensure_namespace(self, ns: Namespace) -> None:
        self.namespaces[ns.name] = ns
        self.touch()

    def add_pod(self, pod: Pod) -> Pod:
        if pod.namespace not in self.namespaces:
            raise LabError(f'namespaces "{pod.namespace}" not found: create the namespace before pod {pod.ref}')
        old = self._pods.get(pod.ref)
        if old is not None and old.ip is not None and old.ip != pod.ip:
            self.ipam.release(old.ip)
        # An existing pod keeps its node and address (re-applying a pod does not reschedule it).
        node = old.node if old is not None and old.node and not pod.node and pod.ip is None else self._place(pod)
        assert node is not None
        ip = pod.ip
        if ip is None:
            ip = old.ip if old is not None and old.ip is not None and old.node == node else self.ipam.allocate(node)
        else:
            self.ipam.reserve(ip)
        placed = replace(pod, node=node, ip=ip)
        self._pods[pod.ref] = placed
        self.touch()
        return placed

    def remove_pod(self, ref: PodRef) -> None:
        pod = self._pods.pop(ref, None)
        if pod is not None and pod.ip is not None:
            self.ipam.release(pod.ip)
        self.touch()

    def pod(self, ref: PodRef | str) -> Pod | None:
        return self._pods.get(PodRef.parse(ref))

    def pods(self, *, include_system: bool = True) -> list[Pod]:
        return sorted((p for r, p in self._pods.items() if include_system or r not in self.system_pods), key=lambda p: p.ref)

    def relabel_pod(self, ref: PodRef, changes: dict[str, str | None]) -> None:
        pod = self._pods.get(ref)
        if pod is None:
            raise LabError(f"no pod/{ref}")
        self._pods[ref] = replace(pod, labels=pod.labels.merged(changes))
        self.touch()

    def relabel_namespace(self, name: str, changes: dict[str, str | None]) -> None:
        ns = self.namespaces.get(name)
        if ns is None:
            raise LabError(f"no namespace/{name}")
        self.namespaces[name] = Namespace(name, ns.labels.merged(changes))
        self.touch()

    def remove_namespace(self, name: str) -> None:
        self.namespaces.pop(name, None)
        for ref in [r for r in self._pods if r.namespace == name]:
            self.remove_pod(ref)
        for key in [k for k in self.objects if k.namespace == name]:
            del self.objects[key]
        self.touch()

    def owner_of(self, ip: IPAddress) -> Pod | Node | ExternalHost | None:
        for p in self._pods.values():
            if p.ip == ip:
                return p
        for n in self.nodes:
            if n.ip == ip:
                return n
        for h in self.external_hosts.values():
            if h.ip == ip:
                return h
        return None

    # -- objects ---------------------------------------------------------------------------
    def put(self, manifest: Manifest) -> None:
        self.objects[manifest.key] = manifest
        self.touch()

    def remove(self, key: ObjectKey) -> bool:
        found = self.objects.pop(key, None) is not None
        self.touch()
        return found

    def of_kind(self, kind: str) -> list[Any]:
        return [m.obj for k, m in sorted(self.objects.items()) if k.kind == kind]

    def policies(self) -> list[NetworkPolicy]:
        return self.of_kind("NetworkPolicy")

    def keys(self, kind: str | None = None) -> list[ObjectKey]:
        return sorted(k for k in self.objects if kind is None or k.kind == kind)

    def manifests(self, keys: Iterable[ObjectKey] | None = None) -> list[Manifest]:
        return [self.objects[k] for k in (keys if keys is not None else sorted(self.objects))]
