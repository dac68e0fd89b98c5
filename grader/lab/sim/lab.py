"""The simulated cluster behind the Lab API: in memory, deterministic, answers probes the way
Kubernetes semantics say (each rule cites its source in the engine that implements it)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ...cni import CniProfile, get_profile
from ...errors import FieldProblem, LabError, ManifestError
from ...manifests import Manifest, ManifestSource, ObjectKey, parse_manifests
from ...model import ContainerPort, Endpoint, ExternalHost, Namespace, Pod, PodRef, Protocol
from ...netpol import NetworkPolicyEngine
from ...nsg import NetworkSecurityGroup
from ...reachability import Hop, Probe, ProbeResult, ReachabilityMatrix, Verdict
from ...topology import Topology, load_topology
from ..base import Lab, PortSpec
from .network import Connection, SimNetwork
from .real_commands import probe_command, with_command
from .services_api import ServicesMixin
from .services_net import Routed, ServiceNetwork
from .state import ClusterState
from .web import WebClient

EXPLAIN_LIMIT = 2500
"""Above this many cells, matrix() skips per-cell explanations (probe() still explains any flow)."""


class SimulatedLab(ServicesMixin, Lab):
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
        self.service_network = ServiceNetwork(self)
        self._web = WebClient(self, self.service_network)

    # -- state -----------------------------------------------------------------------------
    def deploy(self, topology: str | Topology | Mapping[str, object] = "shop") -> Topology:
        topo = load_topology(topology)  # type: ignore[arg-type]
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
        return self.network.admission_problems(parsed) + self.service_network.admission_problems(parsed)

    def _store(self, m: Manifest) -> None:
        m = self.service_network.admitted(m)
        if self.service_network.store(m):
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
                self.service_network.on_delete(key, stored)
        return deleted

    def label(self, target: str, labels: Mapping[str, str | None]) -> None:
        if target.startswith("namespace/"):
            self.state.relabel_namespace(target.split("/", 1)[1], dict(labels))
        else:
            self.state.relabel_pod(PodRef.parse(target), dict(labels))

    def reset(self, *, keep_topology: bool = False) -> None:
        self.network.reset()
        if keep_topology and self._topology is not None:
            for key in self.state.keys():
                if key not in self._topology_keys and key not in self.service_network.system_keys:
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
            self.service_network.after_reset()
            return
        self.state.reset()
        self.service_network.install_system()
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
        return [k for k in self.state.keys(kind) if k not in self.service_network.system_keys]

    # -- engines ---------------------------------------------------------------------------
    def policy_engine(self) -> NetworkPolicyEngine:
        return self.network.np_engine()

    # -- probes ----------------------------------------------------------------------------
    def _source(self, name: str) -> Endpoint:
        host = self.state.external_hosts.get(name)
        if host is not None:
            return Endpoint.external(host.ip, host.name)
        if name.startswith("node:"):
            return Endpoint.of_node(self.state.node(name[5:]))
        if "/" in name:
            pod = self.state.pod(name)
            if pod is None:
                raise LabError(f"no pod {name}: known pods are {', '.join(str(p.ref) for p in self.pods())}")
            return Endpoint.of_pod(pod)
        raise LabError(f"unknown source {name!r}: expected 'namespace/pod', 'node:<name>' or an external host ({', '.join(self.state.external_hosts)})")

    def _resolve(self, source: Endpoint, destination: str, port: PortSpec, protocol: Protocol) -> Routed:
        """Turn a destination name into the endpoint that receives the packet (after DNAT)."""
        routed = self.service_network.resolve(source, destination, port, protocol)
        if routed is not None:
            return routed
        endpoint: Endpoint | None = None
        host = self.state.external_hosts.get(destination)
        if host is not None:
            endpoint = Endpoint.external(host.ip, host.name)
        elif destination.startswith("node:"):
            endpoint = Endpoint.of_node(self.state.node(destination[5:]))
        elif "/" in destination:
            pod = self.state.pod(destination)
            if pod is None:
                raise LabError(f"no pod {destination}")
            endpoint = Endpoint.of_pod(pod)
        else:
            try:
                ip = ipaddress.ip_address(destination)
            except ValueError:
                return Routed(None, None, failure=Verdict.DNS_FAILED, reason=f"{destination!r} does not resolve (NXDOMAIN)")
            owner = self.state.owner_of(ip)
            if isinstance(owner, Pod):
                endpoint = Endpoint.of_pod(owner)
            elif isinstance(owner, ExternalHost):
                endpoint = Endpoint.external(owner.ip, owner.name)
            elif owner is not None:
                endpoint = Endpoint.of_node(owner)
            else:
                return Routed(None, None, failure=Verdict.BLOCKED, reason=f"nothing in the lab answers at {ip} (no route)")
        return Routed(endpoint, _port_number(endpoint, port, protocol))

    def probe(self, source: str, destination: str, port: PortSpec = None, protocol: Protocol | str = Protocol.TCP) -> ProbeResult:
        proto = Protocol.parse(protocol)
        result = self._probe(Probe(source, destination, port, proto))
        return with_command(result, probe_command(self.state, source, destination, port, proto))

    def _probe(self, probe: Probe) -> ProbeResult:
        source, destination, port, proto = probe.source, probe.destination, probe.port, probe.protocol
        try:
            src = self._source(source)
            target = self._resolve(src, destination, port, proto)
        except LabError as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, str(exc))
        if target.failure is not None or target.endpoint is None:
            return ProbeResult(probe, target.failure or Verdict.PROBE_FAILED, target.reason, hops=target.hops)
        if target.port is None:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"port {port!r} does not name a {proto} port of {target.endpoint.label}", hops=target.hops)
        return self._deliver(probe, target.source or src, target.endpoint, target.port, proto, target.hops, via=target.via)

    def _deliver(self, probe: Probe, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol, hops: tuple[Hop, ...],
                 *, via: str | None = None) -> ProbeResult:
        """``src`` is the client as ``dst`` sees it (after any SNAT); ``via`` is the node where kube-proxy
        DNATed a NodePort/LoadBalancer connection: the last leg is traced from there."""
        # Route, SNAT, policy (NetworkPolicy and Cilium), NSGs, listening: grader/lab/sim/network.py.
        return self.network.deliver(probe, src, dst, port, protocol, hops, via=via)

    def _refusal(self, dst: Endpoint, port: int, protocol: Protocol) -> str | None:
        """None when something accepts the connection on ``dst``; otherwise why it is refused."""
        if self.service_network.listens(dst, port, protocol):
            return None
        if dst.pod is not None:
            return _refusal_text(dst.name, dst.pod.ports, port, protocol)
        host = self.state.external_hosts.get(dst.name)
        if host is not None:
            return _refusal_text(host.name, host.ports, port, protocol)
        return f"nothing on {dst.label} listens on {port}/{protocol}"

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
            src = self._source(probe.source)
            target = self._resolve(src, probe.destination, probe.port, probe.protocol)
        except LabError as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"connection #{conn.id}: the client is gone ({exc})")
        if target.endpoint is None or target.port is None or target.failure is not None:
            return ProbeResult(probe, Verdict.BLOCKED, f"connection #{conn.id}: nothing answers at the other end any more ({target.reason})")
        return self.network.deliver(probe, src, target.endpoint, target.port, probe.protocol, target.hops, established=conn.result)

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
        from ...cni import NODE_NETWORK

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

    def matrix(
        self, port: int | str, protocol: Protocol | str = Protocol.TCP, *,
        sources: Sequence[str] | None = None, destinations: Sequence[str] | None = None,
        namespaces: Sequence[str] | None = None,
    ) -> ReachabilityMatrix:
        proto = Protocol.parse(protocol)
        default = [str(p.ref) for p in self.pods() if namespaces is None or p.namespace in namespaces]
        srcs = tuple(sorted(sources if sources is not None else default))
        dsts = tuple(sorted(destinations if destinations is not None else default))
        results: dict[tuple[str, str], ProbeResult] = {}
        explain = len(srcs) * len(dsts) <= EXPLAIN_LIMIT
        if explain or isinstance(port, str) or self.network.needs_per_flow_evaluation():
            for s in srcs:
                for d in dsts:
                    results[(s, d)] = self.probe(s, d, port, proto)
        else:
            results = self._fast_matrix(srcs, dsts, int(port), proto)
        return ReachabilityMatrix(port, proto, srcs, dsts, results)

    def _fast_matrix(self, srcs: tuple[str, ...], dsts: tuple[str, ...], port: int, proto: Protocol) -> dict[tuple[str, str], ProbeResult]:
        names = sorted(set(srcs) | set(dsts))
        pods = [self.state.pod(n) for n in names]
        missing = [n for n, p in zip(names, pods, strict=True) if p is None]
        if missing:
            raise LabError(f"no pod {missing[0]}")
        index = {n: i for i, n in enumerate(names)}
        from ...netpol import policy_matrix  # numpy, loaded for large matrices only

        allowed = policy_matrix(self.policy_engine(), pods, port, proto).allowed  # type: ignore[arg-type]
        out = {}
        for s in srcs:
            for d in dsts:
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


def _port_number(endpoint: Endpoint, port: PortSpec, protocol: Protocol) -> int | None:
    if port is None:
        if endpoint.pod is not None:
            served = [c for c in endpoint.pod.ports if c.protocol == protocol]
            return served[0].port if served else None
        return None
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    if endpoint.pod is None:
        return None
    named = endpoint.pod.named_port(port, protocol)
    return named.port if named is not None else None


def _refusal_text(name: str, served: tuple[ContainerPort, ...], port: int, protocol: Protocol) -> str | None:
    if any(c.port == port and c.protocol == protocol for c in served):
        return None
    listing = ", ".join(c.render() for c in served) or "nothing"
    return f"{name} does not listen on {port}/{protocol} (it serves {listing})"

