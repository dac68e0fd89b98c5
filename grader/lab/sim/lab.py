"""The simulated cluster behind the Lab API: in memory, deterministic, answers probes the way
Kubernetes semantics say (each rule cites its source in the engine that implements it)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ...cni import NODE_NETWORK, CniProfile, get_profile
from ...dns import Lookup
from ...errors import FieldProblem, LabError, ManifestError
from ...manifests import Manifest, ManifestSource, ObjectKey, parse_manifests
from ...model import ContainerPort, ExternalHost, Namespace, Pod, PodRef, Protocol
from ...netpol import NetworkPolicyEngine
from ...nsg import NetworkSecurityGroup
from ...reachability import Probe, ProbeResult, Verdict
from ...reachability.endpoints import NamespaceName, label_target
from ...services import Distribution, EndpointsInfo
from ...topology import Topology, load_topology
from ..base import Cell, Lab, PortSpec
from ..results import ServiceList
from .controlplane import ControlPlane
from .kubeproxy import KubeProxy
from .network import Connection, SimNetwork
from .real_commands import probe_command, with_command
from .services_api import SimServices
from .state import ClusterState
from .traffic import Traffic
from .web import WebClient

EXPLAIN_LIMIT = 2500
"""Above this many cells, matrix() skips per-cell explanations (probe() still explains any flow)."""


class SimulatedLab(Lab):
    backend = "sim"

    def __init__(self, profile: str | CniProfile | None = None, *, load_balancer: str | None = None) -> None:
        self.profile = get_profile(profile)
        self.load_balancer = load_balancer
        """Who serves LoadBalancer Services: ``cloud-provider-kind`` (default) or ``azure`` (grader.services.providers)."""
        self.state = ClusterState(self.profile)
        self._topology_keys: set[ObjectKey] = set()
        self._topology: Topology | None = None
        self._engine_cache: tuple[int, NetworkPolicyEngine] | None = None
        self.network = SimNetwork(self.profile, self.state)
        """Datapath, Cilium policy, NSGs and open connections (``grader/lab/sim/network.py``)."""
        self.control_plane = ControlPlane(self.state, self.profile, self.network, load_balancer=load_balancer)
        """Admission, storage and controllers for Services, Ingress and Gateway (``controlplane.py``)."""
        self.kube_proxy = KubeProxy(self.control_plane, self.state, self.profile, self.network)
        """DNS and Service routing (``kubeproxy.py``)."""
        self.traffic = Traffic(self.state, self.kube_proxy, self.network)
        """Endpoint names to packets: sources, destinations after DNAT, the last leg (``traffic.py``)."""
        self.web = WebClient(self.traffic, self.control_plane, self.kube_proxy)
        """HTTP(S) at pods, ingress controllers and Gateways (``web.py``)."""
        self.service_calls = SimServices(self.control_plane, self.kube_proxy, self.traffic, self.web, self.probe)
        """The Services/DNS/HTTP/Ingress/Gateway calls below (``services_api.py``)."""

    # -- state -----------------------------------------------------------------------------
    def deploy(self, topology: str | Topology | Mapping[str, object] = "shop") -> Topology:
        topo = load_topology(topology)
        for ns in topo.namespaces:
            self.state.ensure_namespace(ns)
        for pod in topo.pods:
            self.state.add_pod(pod)
        if topo.policies:
            self._topology_keys |= set(self.apply(list(topo.policies)))
        self._topology = topo
        return topo

    def apply(self, manifests: ManifestSource, *, namespace: str = "default") -> list[ObjectKey]:
        parsed = parse_manifests(manifests, default_namespace=namespace)
        pending_ns = {m.obj.name for m in parsed if m.key.kind == "Namespace"}
        problems = [
            FieldProblem(str(m.key), "metadata.namespace", f'namespaces "{m.key.namespace}" not found: create the namespace first')
            for m in parsed
            if m.key.namespace and m.key.namespace not in self.state.namespaces and m.key.namespace not in pending_ns
        ]
        problems += self._admission_problems(parsed)
        if problems:
            raise ManifestError(problems)
        ordered = sorted(parsed, key=lambda m: m.key.kind != "Namespace")  # namespaces first
        for m in ordered:
            self._store(m)
        return [m.key for m in parsed]

    def _admission_problems(self, parsed: list[Manifest]) -> list[FieldProblem]:
        """Checks that need cluster state (allocation conflicts, missing CRDs). Extended per kind."""
        return self.network.admission_problems(parsed) + self.control_plane.admission_problems(parsed)

    def _store(self, m: Manifest) -> None:
        m = self.control_plane.admitted(m)
        if self.control_plane.store(m):
            return
        if m.key.kind == "Namespace":
            self.state.ensure_namespace(m.obj)
        elif m.key.kind == "Pod":
            self.state.add_pod(m.obj)
        self.state.put(m)

    def delete(self, what: ManifestSource | ObjectKey | str | Iterable[ObjectKey | str], *, missing_ok: bool = False) -> list[ObjectKey]:
        keys = self._keys_of(what)
        deleted = []
        for key in keys:
            stored = self.state.objects.get(key)
            if key.kind == "Namespace":
                found = key.name in self.state.namespaces
                self.state.remove_namespace(key.name)
                self.state.remove(key)
            else:
                found = self.state.remove(key)
                if key.kind == "Pod":
                    found = found or self.state.pod(PodRef(key.namespace, key.name)) is not None
                    self.state.remove_pod(PodRef(key.namespace, key.name))
            if not found and not missing_ok:
                raise LabError(f"{key} not found")
            if found:
                deleted.append(key)
                self.control_plane.on_delete(key, stored)
        return deleted

    def label(self, target: str, labels: Mapping[str, str | None]) -> None:
        parsed = label_target(target)
        if isinstance(parsed, NamespaceName):
            self.state.relabel_namespace(parsed.name, dict(labels))
        else:
            self.state.relabel_pod(parsed.ref, dict(labels))

    def reset(self, *, keep_topology: bool = False) -> None:
        self.network.reset()
        if keep_topology and self._topology is not None:
            for key in self.state.keys():  # noqa: SIM118 - ClusterState.keys() is a method of its own, not a dict's
                if key not in self._topology_keys and key not in self.control_plane.system_keys:
                    self.state.remove(key)
            for pod in self._topology.pods:  # restore labels a lesson may have changed
                current = self.state.pod(pod.ref)
                if current is not None:  # keep its node and address: a reset does not reschedule pods
                    pod = replace(pod, node=current.node, ip=current.ip)
                self.state.add_pod(pod)
            for ns in self._topology.namespaces:
                self.state.ensure_namespace(ns)
            topo_refs = {p.ref for p in self._topology.pods} | self.state.system_pods
            for pod in self.state.pods():
                if pod.ref not in topo_refs:
                    self.state.remove_pod(pod.ref)
            self.control_plane.after_reset()
            return
        self.state.reset()
        self.control_plane.install_system()
        self._topology = None
        self._topology_keys = set()

    def pods(self, namespace: str | None = None) -> list[Pod]:
        if namespace is not None:
            return [p for p in self.state.pods() if p.namespace == namespace]
        return self.state.pods(include_system=False)

    def namespaces(self) -> list[Namespace]:
        return [self.state.namespaces[n] for n in sorted(self.state.namespaces)]

    def external_hosts(self) -> list[ExternalHost]:
        return list(self.state.external_hosts.values())

    def objects(self, kind: str | None = None) -> list[ObjectKey]:
        # What the course created; the cluster's own objects (kube-dns, IngressClasses...) are left
        # out like system pods are (``lab.services()`` still lists system Services).
        return [k for k in self.state.keys(kind) if k not in self.control_plane.system_keys]

    # -- engines ---------------------------------------------------------------------------
    def policy_engine(self) -> NetworkPolicyEngine:
        return self.network.np_engine()

    # -- probes ----------------------------------------------------------------------------
    def probe(self, source: str, destination: str, port: PortSpec = None, protocol: Protocol | str = Protocol.TCP) -> ProbeResult:
        proto = Protocol.parse(protocol)
        result = self._probe(Probe(source, destination, port, proto))
        return with_command(result, probe_command(self.state, source, destination, port, proto))

    def _probe(self, probe: Probe) -> ProbeResult:
        source, destination, port, proto = probe.source, probe.destination, probe.port, probe.protocol
        try:
            src = self.traffic.source(source)
            target = self.traffic.resolve(src, destination, port, proto)
        except LabError as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, str(exc))
        if target.failure is not None or target.endpoint is None:
            return ProbeResult(probe, target.failure or Verdict.PROBE_FAILED, target.reason, hops=target.hops)
        if target.port is None:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"port {port!r} does not name a {proto} port of {target.endpoint.label}", hops=target.hops)
        return self.traffic.deliver(probe, target.source or src, target.endpoint, target.port, proto, target.hops, via=target.via)

    # -- Services, DNS, HTTP, Ingress, Gateway (grader/lab/sim/services_api.py) --------------------
    def http(
        self, source: str, url: str, *, host: str | None = None, sni: str | None = None, method: str = "GET",
        headers: Mapping[str, str] | None = None, ca: Any = None, resolve: str | None = None, now: dt.datetime | None = None,
    ) -> ProbeResult:
        return self.service_calls.http(source, url, host=host, sni=sni, method=method, headers=headers, ca=ca, resolve=resolve, now=now)

    http.__doc__ = SimServices.http.__doc__

    def nslookup(self, source: str, name: str) -> Lookup:
        return self.service_calls.nslookup(source, name)

    def services(self, namespace: str | None = None) -> ServiceList:
        return self.service_calls.services(namespace)

    def endpoints(self, service: str) -> EndpointsInfo:
        return self.service_calls.endpoints(service)

    def distribution(
        self, source: str, destination: str, port: int | str | None = None, *, requests: int = 100,
        protocol: Protocol | str = Protocol.TCP, host: str | None = None, resolve: str | None = None,
    ) -> Distribution:
        return self.service_calls.distribution(source, destination, port, requests=requests, protocol=protocol, host=host, resolve=resolve)

    def set_ready(self, pod: str, ready: bool = True) -> None:
        self.service_calls.set_ready(pod, ready)

    def scale(self, deployment: str, replicas: int) -> list[str]:
        return self.service_calls.scale(deployment, replicas)

    def install_ingress_controller(self, name: str = "ingress-nginx", *, default: bool = False) -> str:
        return self.service_calls.install_ingress_controller(name, default=default)

    def install_gateway_class(self, name: str = "approuting-istio") -> str:
        return self.service_calls.install_gateway_class(name)

    def address(self, what: str) -> str | None:
        return self.service_calls.address(what)

    def status(self, what: str) -> Any:
        return self.service_calls.status(what)

    def node_ip(self, node: str) -> str:
        return str(self.state.node(node).ip)

    def cluster_ip(self, service: str) -> str | None:
        svc = self.control_plane.find_service(service)
        return str(svc.cluster_ip) if svc.cluster_ip is not None else None

    def node_ports(self, service: str) -> dict[str, int]:
        svc = self.control_plane.find_service(service)
        return {p.name or str(p.port): p.node_port for p in svc.ports if p.node_port is not None}

    # -- network model: connections and NSGs (grader/lab/sim/network.py) -------------------------
    def open_connection(self, source: str, destination: str, port: PortSpec = None, protocol: Protocol | str = Protocol.TCP) -> Connection:
        """Open a long-lived connection (like a client that keeps its socket); ``send`` uses it later."""
        return self.network.open(self.probe(source, destination, port, protocol))

    def send(self, connection: Connection | int) -> ProbeResult:
        """Send on an open connection: what a policy or NSG change since it opened does to it depends on the CNI."""
        conn = self.network.get(connection)
        probe = conn.probe
        if not conn.established:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"connection #{conn.id} was never established ({conn.result.verdict.name})")
        try:
            src = self.traffic.source(probe.source)
            target = self.traffic.resolve(src, probe.destination, probe.port, probe.protocol)
        except LabError as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"connection #{conn.id}: the client is gone ({exc})")
        if target.endpoint is None or target.port is None or target.failure is not None:
            return ProbeResult(probe, Verdict.BLOCKED, f"connection #{conn.id}: nothing answers at the other end any more ({target.reason})")
        return self.traffic.deliver(probe, src, target.endpoint, target.port, probe.protocol, target.hops, established=conn.result)

    def close_connection(self, connection: Connection | int) -> None:
        self.network.close(connection)

    def connections(self) -> list[Connection]:
        return self.network.connections()

    def attach_nsg(self, rules: object, *, to: str = "subnet", name: str | None = None) -> NetworkSecurityGroup:
        """Associate an Azure NSG (YAML mirroring ``securityRules``) with the node subnet or ``node:<name>``'s NIC.

        An Azure model: kind has no NSG (there, filter on the nodes or use loadBalancerSourceRanges)."""
        return self.network.attach_nsg(rules, to=to, name=name)

    def detach_nsg(self, to: str = "subnet") -> None:
        self.network.detach_nsg(to)

    def nsg_rules(self, to: str = "subnet") -> NetworkSecurityGroup | None:
        """The NSG attached there, including the rules LoadBalancer Services made Azure add (None if none is attached)."""
        return self.network.nsg_rules(to)

    def add_external_host(self, name: str, ip: str, *, ports: Sequence[int] = (80, 443), where: str | None = None,
                          description: str = "") -> ExternalHost:
        """Another machine outside the cluster with a DNS name (e.g. ``example.com`` next to
        ``api.example.com`` for FQDN-rule edge cases); it serves ``ports`` on TCP. ``where`` is
        ``internet`` unless the address is on the node network (``vnet``). Simulated cluster only."""
        address = ipaddress.ip_address(ip)
        taken = self.state.owner_of(address)
        if taken is not None and getattr(taken, "name", None) != name:
            raise LabError(f"{address} is already used by {getattr(taken, 'name', taken)}")
        zone = where or ("vnet" if address in NODE_NETWORK else "internet")
        host = ExternalHost(name, address, zone, description or f"an extra host added to the lab ({zone})",
                            tuple(ContainerPort(int(p), Protocol.TCP, None) for p in ports))
        self.state.external_hosts[name] = host
        self.state.touch()
        return host

    def _probe_cells(self, cells: Sequence[Cell], port: PortSpec, protocol: Protocol) -> dict[Cell, ProbeResult]:
        explain = len(cells) <= EXPLAIN_LIMIT
        if explain or not isinstance(port, int) or self.network.needs_per_flow_evaluation():
            return {(s, d): self.probe(s, d, port, protocol) for s, d in cells}
        return self._fast_matrix(cells, port, protocol)

    def _fast_matrix(self, cells: Sequence[Cell], port: int, proto: Protocol) -> dict[Cell, ProbeResult]:
        """Pod-to-pod cells straight from the policy engine's matrix (no per-cell explanation)."""
        names = sorted({name for cell in cells for name in cell})
        pods = [self.state.pod(n) for n in names]
        missing = [n for n, p in zip(names, pods, strict=True) if p is None]
        if missing:
            raise LabError(f"no pod/{missing[0]}")
        index = {n: i for i, n in enumerate(names)}
        from ...netpol import policy_matrix  # numpy, loaded for large matrices only

        allowed = policy_matrix(self.policy_engine(), pods, port, proto).allowed  # type: ignore[arg-type]
        out = {}
        for s, d in cells:
            probe = Probe(s, d, port, proto)
            dst_pod = pods[index[d]]
            assert dst_pod is not None
            if not allowed[index[s], index[d]]:
                out[(s, d)] = ProbeResult(probe, Verdict.BLOCKED, f"blocked by NetworkPolicy (lab.probe({s!r}, {d!r}, {port}) explains which)", loopback=s == d)
            elif not dst_pod.serves(port, proto):
                out[(s, d)] = ProbeResult(probe, Verdict.REFUSED, f"{d} does not listen on {port}/{proto}", loopback=s == d)
            else:
                out[(s, d)] = ProbeResult(probe, Verdict.ALLOWED, "allowed by NetworkPolicy", answered_by=d, loopback=s == d)
        return out

