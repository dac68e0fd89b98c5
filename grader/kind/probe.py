"""L4 probes on a real cluster: ``agnhost connect`` exec'd in the source pod, as upstream e2e does
(a node-network helper pod for ``node:<name>``, this Python process for ``host``, ``docker exec``
in the VM for ``vm.internal``), in parallel over one pod snapshot for a matrix.

Collaborators (declared, all public): the API handle, the :class:`~grader.kind.apply.Applier`
(owned namespaces, node helper pods), an ``exec`` callable and the outside machines
(:mod:`grader.kind.external_api`). Endpoint names are read by :func:`grader.reachability.endpoints.parse_endpoint`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from ..errors import LabError
from ..lab.base import Cell, PortSpec
from ..model import Namespace, Pod, PodRef, Protocol
from ..reachability import Hop, Probe, ProbeResult, Verdict
from ..reachability.commands import connect, host_port, in_pod
from ..reachability.endpoints import (
    HOST,
    NodeName,
    NodePort,
    PodName,
    parse_endpoint,
    try_parse,
)
from ._run import CommandError
from .apply import PROBE_NAMESPACE, Applier
from .external_api import NoOutside, Outside, is_pod
from .hostnet import HostReach, l4_probe, measure
from .kubeapi import Exec, KubeApi, model_pod, pod_state
from .probing import RETRY_TIMEOUT, confirm_blocked, connect_command, verdict_from_connect
from .workloads import namespace_manifest, probe_pod_manifest

Snapshot = Mapping[str, Any]
"""``ns/pod`` -> V1Pod of every owned namespace, read once per matrix."""


@dataclass(frozen=True)
class LiveSource:
    """A probe source after lookup: the pod to exec in (None for a node whose helper pod is missing)."""

    pod: Pod | None = None
    container: str = ""
    running: bool = True
    why_not: str = ""


@dataclass(frozen=True)
class ExecTarget:
    """Where a command of the lab runs: a running pod and its container."""

    pod: Pod
    container: str


class Prober:
    def __init__(self, kube: KubeApi, applier: Applier, exec_: Exec, outside: Outside, *,
                 node_map: Callable[[str], str] | None = None, workers: int = 16) -> None:
        self.kube = kube
        self.applier = applier
        self.exec = exec_
        self.outside = outside
        self.node_map = node_map
        self.workers = workers
        self._reach: HostReach | None = None
        self._reach_lock = threading.Lock()

    # -- what is there ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        pods = {}
        for ns in sorted(self.applier.owned()):
            for p in self.kube.core.list_namespaced_pod(ns).items:
                pods[f"{ns}/{p.metadata.name}"] = p
        return pods

    def lookup_pod(self, name: str, snapshot: Snapshot | None) -> Any:
        from kubernetes.client.rest import ApiException

        if snapshot is not None and name in snapshot:
            return snapshot[name]
        ref = PodRef.parse(name)
        try:
            return self.kube.core.read_namespaced_pod(ref.name, ref.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
        return self.pod_of_deployment(ref)

    def pod_of_deployment(self, ref: PodRef) -> Any:
        """A pod of the Deployment ``ref`` names, when no pod has that exact name (None if neither).

        The simulated cluster names a controller's data-plane pod after its Deployment (a Gateway's
        Envoy ``edge/public-approuting-istio``); on a cluster its pods are ``<deployment>-<pod-template-hash>-<suffix>``
        (ReplicaSet controller: ``generateName`` is the ReplicaSet's name plus ``-``, and the ReplicaSet's
        name is the Deployment's plus ``-<pod-template-hash>``; kubernetes pkg/controller/deployment/sync.go,
        pkg/controller/controller_utils.go ``getPodsPrefix``). Like ``kubectl exec deploy/<name>``
        (kubectl polymorphichelpers ``attachablePodForObject`` -> ``GetFirstPod``, ``ByLogging`` order), the
        pick prefers a running, ready pod, then the oldest; then the name, so the choice is stable."""
        candidates = []
        for pod in self.kube.core.list_namespaced_pod(ref.namespace).items:
            meta = pod.metadata
            template_hash = (meta.labels or {}).get("pod-template-hash")
            owners = [o.kind for o in meta.owner_references or []]
            if template_hash and "ReplicaSet" in owners and meta.generate_name == f"{ref.name}-{template_hash}-":
                candidates.append(pod)
        if not candidates:
            return None

        def order(pod: Any) -> tuple[bool, bool, str, str]:
            created = pod.metadata.creation_timestamp
            return (pod.status.phase != "Running", not pod_state(pod)[0], created.isoformat() if created else "", pod.metadata.name)

        return min(candidates, key=order)

    def real_node(self, node: str) -> str:
        return self.node_map(node) if self.node_map else node

    def source(self, name: str, snapshot: Snapshot | None) -> LiveSource:
        parsed = try_parse(name)
        if isinstance(parsed, NodeName):
            pod = self._node_probe_pod(parsed.node)
            return LiveSource(None, "probe", True, "") if pod is None else LiveSource(model_pod(pod), "probe", pod.status.phase == "Running", "")
        if not isinstance(parsed, PodName):
            return LiveSource(running=False, why_not=f"unknown source {name!r}: on a live cluster probes start from a pod ('namespace/pod'), a node ('node:<name>') or 'host' (this machine)")
        p = self.lookup_pod(name, snapshot)
        if p is None:
            return LiveSource(running=False, why_not=f"no pod/{name}")
        _, why = pod_state(p)
        running = p.status.phase == "Running" and all(cs.ready or cs.started for cs in (p.status.container_statuses or []))
        container = p.spec.containers[0].name
        return LiveSource(model_pod(p), container, running, "" if running else f"pod {name} is not running ({why})")

    def running_source(self, name: str) -> ExecTarget:
        """The pod (and container) a command from ``name`` runs in; LabError when there is none that runs."""
        src = self.source(name, None)
        if not src.running or src.pod is None:
            raise LabError(src.why_not or f"no pod for {name}")
        return ExecTarget(src.pod, src.container)

    def _node_probe_pod(self, node: str) -> Any:
        from kubernetes.client.rest import ApiException

        body = probe_pod_manifest(self.real_node(node), PROBE_NAMESPACE)
        name = body["metadata"]["name"]
        try:
            return self.kube.core.read_namespaced_pod(name, PROBE_NAMESPACE)
        except ApiException as exc:
            if exc.status != 404:
                raise
        self.applier.ssa(namespace_manifest(Namespace(PROBE_NAMESPACE)))
        self.applier.ssa(body)
        self.applier.wait_ready([Pod(PROBE_NAMESPACE, name)], timeout=120)
        return self.kube.core.read_namespaced_pod(name, PROBE_NAMESPACE)

    def node_ip(self, node: str) -> str | None:
        """The InternalIP of a course node name (None when it has none); LabError when there is no such node."""
        real = self.real_node(node)
        for n in self.kube.core.list_node().items:
            if n.metadata.name == real:
                return next((a.address for a in n.status.addresses or [] if a.type == "InternalIP"), None)
        raise LabError(f"no node/{real}")

    def destination(self, name: str, snapshot: Snapshot | None) -> tuple[str | None, Pod | None, str]:
        """(address to dial, destination pod if any, failure reason)."""
        parsed = try_parse(name)
        if isinstance(parsed, NodeName | NodePort):
            try:
                ip = self.node_ip(parsed.node)
            except LabError as exc:
                return None, None, str(exc)
            return ip, None, "" if ip else f"node {self.real_node(parsed.node)} has no InternalIP"
        if isinstance(parsed, PodName):
            p = self.lookup_pod(name, snapshot)
            if p is None:
                return None, None, f"no pod/{name}"
            pod = model_pod(p)
            if pod.ip is None:
                return None, pod, f"pod {name} has no IP yet ({pod_state(p)[1]})"
            return str(pod.ip), pod, ""
        return name, None, ""  # an IP or a DNS name: the source pod resolves it, as an app would

    @staticmethod
    def port(pod: Pod | None, port: PortSpec, protocol: Protocol) -> int | None:
        if port is None:
            served = [c for c in (pod.ports if pod else ()) if c.protocol == protocol]
            return served[0].port if served else None
        if isinstance(port, int):
            return port
        if port.isdigit():
            return int(port)
        named = pod.named_port(port, protocol) if pod else None
        return named.port if named else None

    # -- this machine's view of the cluster network (review C4) ------------------------------------
    def host_reach(self) -> HostReach:
        """Whether this machine reaches the nodes' network, measured once per lab: a TCP connect to
        the control plane's API port on its node address (kind); on a cluster you brought the lab
        cannot tell, so pod and node addresses count as out of reach from ``host``."""
        with self._reach_lock:
            if self._reach is None:
                self._reach = self._measure_reach()
            return self._reach

    def _measure_reach(self) -> HostReach:
        import ipaddress

        try:
            nodes = self.kube.core.list_node().items
        except Exception as exc:  # noqa: BLE001 - the API is down: nothing to measure against
            return HostReach(False, f"the node addresses could not be read ({type(exc).__name__})")
        addrs = [(n, next((a.address for a in n.status.addresses or [] if a.type == "InternalIP"), "")) for n in nodes]
        cidrs = sorted({c for n, _ in addrs if n.spec is not None for c in (n.spec.pod_cidrs or ([n.spec.pod_cidr] if n.spec.pod_cidr else []))})
        if isinstance(self.outside, NoOutside):
            nets = tuple(cidrs + [f"{ip}/32" for _, ip in addrs if ip])
            return HostReach(False, "on a cluster you brought the lab does not know whether this machine reaches pod and node addresses", nets)
        plane = next((ip for n, ip in addrs if ip and "node-role.kubernetes.io/control-plane" in (n.metadata.labels or {})),
                     next((ip for _, ip in addrs if ip), ""))
        if not plane:
            return HostReach(True, "no node address to measure against")
        kind_net = str(ipaddress.ip_network(f"{plane}/16", strict=False))  # Docker gives the kind network a /16 as a rule
        return measure(plane, 6443, networks=(kind_net, *cidrs))

    # -- probes -----------------------------------------------------------------------------------
    def probe(self, source: str, destination: str, port: PortSpec, proto: Protocol, snapshot: Snapshot | None = None) -> ProbeResult:
        """One probe, as ``Lab.probe`` answers it (never raises: PROBE_FAILED with the reason)."""
        probe = Probe(source, destination, port, proto)
        try:
            why = self.outside.internet_source(source)
            if why is not None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, why)
            target = self.outside.target(source, destination)
        except (CommandError, LabError) as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"the lab's external hosts are not available: {exc}")
        self.outside.sync_routes(source, destination, target)
        if self.outside.runs(source):
            result = self._probe_from_outside(probe, target, port, proto, snapshot)
        else:
            result = self._probe(source, target, port, proto, snapshot)
        if result.verdict is Verdict.ALLOWED and result.answered_by is None and not is_pod(destination):
            label = self.outside.label_of((destination, target))
            if label is not None:
                result = replace(result, answered_by=label)
        return replace(result, probe=probe) if result.probe != probe else result

    def _probe(self, source: str, destination: str, port: PortSpec, proto: Protocol, snapshot: Snapshot | None) -> ProbeResult:
        probe = Probe(source, destination, port, proto)
        try:
            parsed = parse_endpoint(destination, field="destination")
        except LabError as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, str(exc))
        if isinstance(parsed, NodePort):  # node:<name>:<nodePort>, as the simulated cluster accepts it
            destination, port = str(parsed.on), parsed.port
        if source == HOST:
            return self._probe_from_host(probe, destination, port, proto, snapshot)
        try:
            src = self.source(source, snapshot)
            if not src.running or src.pod is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, src.why_not or f"no probe pod for {source}")
            address, dst_pod, why = self.destination(destination, snapshot)
            if address is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, why)
            number = self.port(dst_pod, port, proto)
            if number is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, f"port {port!r} does not name a {proto} port of {destination}")
            command = connect_command(address, number, proto)
            code, out, err, exec_error = self.exec(src.pod.namespace, src.pod.name, src.container, command)
        except LabError as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 - API errors while looking things up: the probe did not run
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"the probe could not run: {type(exc).__name__}: {exc}")
        first = verdict_from_connect(code, err, out, exec_error)
        pod = src.pod  # not None: checked above

        def again() -> tuple[Verdict, str]:  # R2: one missed 1 s handshake on a busy laptop is not a block
            nonlocal code, out, err
            code, out, err, error = self.exec(pod.namespace, pod.name, src.container,
                                              connect_command(address, number, proto, RETRY_TIMEOUT))
            return verdict_from_connect(code, err, out, error)

        verdict, reason = confirm_blocked(first, again)
        shown = f"agnhost connect {host_port(address, number)} --protocol={proto.value.lower()}"
        hops = (Hop("probe", f"{source}: {shown}"), Hop("result", (err or out).strip() or f"exit {code}"))
        answered = str(dst_pod.ref) if verdict is Verdict.ALLOWED and dst_pod is not None else None
        ran = in_pod(connect(address, number, proto), src.pod.namespace, src.pod.name)  # the argv above, as a line to type
        return ProbeResult(probe, verdict, reason, answered_by=answered, loopback=source == destination, hops=hops, command=ran)

    def _probe_from_host(self, probe: Probe, destination: str, port: PortSpec, proto: Protocol, snapshot: Snapshot | None) -> ProbeResult:
        """``host`` is the learner's machine: a connection made by this Python process (``grader.kind.hostnet``)."""
        try:
            address, dst_pod, why = self.destination(destination, snapshot)
        except Exception as exc:  # noqa: BLE001 - API errors while looking the destination up: the probe did not run
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"the probe could not run: {type(exc).__name__}: {exc}")
        if address is None:
            return ProbeResult(probe, Verdict.PROBE_FAILED, why)
        number = self.port(dst_pod, port, proto)
        if number is None:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"port {port!r} does not name a {proto} port of {probe.destination}")
        verdict, reason, _ = l4_probe(address, number, proto, reach=self.host_reach())
        answered = str(dst_pod.ref) if verdict is Verdict.ALLOWED and dst_pod is not None else None
        hops = (Hop("probe", f"host: {proto} connection to {host_port(address, number)} from this machine"),)
        return ProbeResult(probe, verdict, reason, answered_by=answered, hops=hops)

    def _probe_from_outside(self, probe: Probe, target: str, port: PortSpec, proto: Protocol, snapshot: Snapshot | None) -> ProbeResult:
        """From ``vm.internal``: ``agnhost connect`` in its container (``docker exec``)."""
        try:
            address, dst_pod, why = self.destination(target, snapshot)
            if address is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, why)
            number = self.port(dst_pod, port, proto)
            if number is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, f"port {port!r} does not name a {proto} port of {probe.destination}")
        except Exception as exc:  # noqa: BLE001 - API errors while looking the destination up: the probe did not run
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"the probe could not run: {type(exc).__name__}: {exc}")
        command = connect_command(address, number, proto)
        code, out, err, error = self.outside.exec(command, 30.0)
        verdict, reason = verdict_from_connect(code, err, out, error)
        shown = f"agnhost connect {host_port(address, number)} --protocol={proto.value.lower()}"
        hops = (Hop("probe", f"{probe.source}: {shown} (docker exec in its container)"), Hop("result", (err or out).strip() or error or f"exit {code}"))
        answered = str(dst_pod.ref) if verdict is Verdict.ALLOWED and dst_pod is not None else None
        return ProbeResult(probe, verdict, reason, answered_by=answered, hops=hops)

    def probe_cells(self, cells: Sequence[Cell], port: PortSpec, proto: Protocol) -> dict[Cell, ProbeResult]:
        """Every cell in parallel (``workers`` threads) over one pod snapshot."""
        snapshot = self.snapshot()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = list(pool.map(lambda c: self.probe(c[0], c[1], port, proto, snapshot), cells))
        return dict(zip(cells, results, strict=True))

    def probe_all(self, probes: Iterable[Probe]) -> list[ProbeResult]:
        items = list(probes)
        snapshot = self.snapshot()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(lambda p: self.probe(p.source, p.destination, p.port, Protocol.parse(p.protocol), snapshot), items))


__all__ = ["ExecTarget", "LiveSource", "Prober", "Snapshot"]
