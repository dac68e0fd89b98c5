"""The simulated cluster's network: datapath per CNI, policy (NetworkPolicy ∪ Cilium), NSGs, connections.

``SimulatedLab`` keeps its own job (state, names, Services) and hands a resolved connection attempt
to :meth:`SimNetwork.deliver`, which walks it through, in the order a packet meets them:

1. the DNS lookup, when a pod named an external host (``api.example.com``, ``vm.internal``): egress
   to kube-dns must be allowed; on Cilium the DNS proxy filters names and feeds ``toFQDNs``;
2. the route (:func:`grader.cni.datapath.trace`): encapsulation, SNAT, or no route at all;
3. egress policy at the source pod (enforced on its node before any SNAT);
4. Azure NSGs (an *Azure* model: kind has no NSG) on every node interface the packet crosses:
   outbound at the sending node, inbound at the receiving one; replies need no rule (stateful);
5. ingress policy at the destination pod, with the source as it arrives (after SNAT);
6. whether anything listens.

Connections opened with :meth:`open_connection` remember that they were established; later
packets on them follow each CNI's documented behaviour (:mod:`grader.cni.divergences`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ...cilium import CiliumNetworkPolicy, CiliumPolicyEngine, CombinedVerdict, DnsCache
from ...cilium import evaluate as evaluate_policy
from ...cni.datapath import GATEWAY_NAME, Path, Place, Zone, trace
from ...cni.divergences import NamedPortResolution, cluster_named_ports, established_connections, named_port_resolution
from ...cni.profiles import CNI_POLICY_KINDS, NODE_NETWORK, CniProfile
from ...errors import FieldProblem, LabError
from ...model import ContainerPort, Endpoint, EndpointKind, ExternalHost, Flow, Protocol
from ...model.cluster import IPAddress
from ...netpol import NetworkPolicyEngine
from ...nsg import (
    Attachment,
    FiveTuple,
    LoadBalancerFrontend,
    NetworkSecurityGroup,
    NsgDecision,
    NsgDirection,
    SecurityRule,
    TagSpace,
    evaluate_attachment,
    load_balancer_rules,
    parse_nsg,
)
from ...reachability import Hop, Probe, ProbeResult, Verdict
from ...reachability.endpoints import NodeName, try_parse

if TYPE_CHECKING:
    from ...manifests import Manifest
    from .state import ClusterState

KUBE_APISERVER_PORT = 6443
KUBELET_PORT = 10250
DNS_PORT = 53


def node_ports(role: str) -> tuple[ContainerPort, ...]:
    """What listens on a node's own address: the kubelet everywhere, kube-apiserver on the control plane (kubeadm defaults)."""
    ports = [ContainerPort(KUBELET_PORT, Protocol.TCP, "kubelet")]
    if role == "control-plane":
        ports.insert(0, ContainerPort(KUBE_APISERVER_PORT, Protocol.TCP, "kube-apiserver"))
    return tuple(ports)


@dataclass(frozen=True, slots=True)
class Connection:
    """A connection opened with ``lab.open_connection``; ``result`` is what opening it observed."""

    id: int
    probe: Probe
    result: ProbeResult

    @property
    def established(self) -> bool:
        return self.result.verdict is Verdict.ALLOWED


@dataclass(frozen=True, slots=True)
class Lookup:
    ok: bool
    verdict: Verdict
    reason: str
    hops: tuple[Hop, ...] = ()


@dataclass
class _NsgState:
    subnet: NetworkSecurityGroup | None = None
    nics: dict[str, NetworkSecurityGroup] = field(default_factory=dict)


class SimNetwork:
    """Network behaviour of one simulated lab (profile-specific, stateful only where the real thing is)."""

    def __init__(self, profile: CniProfile, state: ClusterState) -> None:
        self.profile = profile
        self.state = state
        self.dns_cache = DnsCache()
        self._nsg = _NsgState()
        self._connections: dict[int, Connection] = {}
        self._next_id = 1
        self._np_cache: tuple[int, NetworkPolicyEngine] | None = None
        self._cilium_cache: tuple[int, CiliumPolicyEngine] | None = None
        self.load_balancers: Callable[[], Iterable[LoadBalancerFrontend]] = lambda: ()
        """Set by the Services code: the LoadBalancer Services whose NSG rules the platform adds."""

    def reset(self) -> None:
        self.dns_cache.clear()
        self._cilium_cache = None
        self._nsg = _NsgState()
        self._connections.clear()

    # -- policy engines --------------------------------------------------------------------------
    def np_engine(self) -> NetworkPolicyEngine:
        cached = self._np_cache
        if cached is not None and cached[0] == self.state.version:
            return cached[1]
        legacy = named_port_resolution(self.profile) is NamedPortResolution.CLUSTER_WIDE_EGRESS
        engine = NetworkPolicyEngine(
            self.state.policies(), self.state.namespaces, ipblock_matches_cluster=self.profile.ipblock_matches_cluster,
            egress_named_ports=cluster_named_ports(self.state.pods()) if legacy else None,
        )
        self._np_cache = (self.state.version, engine)
        return engine

    def cilium_policies(self) -> list[CiliumNetworkPolicy]:
        return self.state.of_kind("CiliumNetworkPolicy") + self.state.of_kind("CiliumClusterwideNetworkPolicy")

    def cilium_engine(self) -> CiliumPolicyEngine | None:
        if self.profile.cni != "cilium":
            return None
        cached = self._cilium_cache
        if cached is not None and cached[0] == self.state.version:
            return cached[1]
        apiservers = frozenset(n.name for n in self.state.nodes if n.role == "control-plane")
        engine = CiliumPolicyEngine(self.cilium_policies(), self.state.namespaces, apiservers, self.dns_cache)
        self._cilium_cache = (self.state.version, engine)
        return engine

    def needs_per_flow_evaluation(self) -> bool:
        """True when the vectorised NetworkPolicy matrix would miss something (Cilium policies, NSGs, legacy named ports)."""
        return bool(self.cilium_policies()) or self.nsg_attached() or self.np_engine().egress_named_ports is not None

    def evaluate(self, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol, seen_source: Endpoint | None = None) -> CombinedVerdict:
        return evaluate_policy(self.np_engine(), self.cilium_engine(), Flow(src, dst, port, protocol), ingress_source=seen_source)

    # -- admission -------------------------------------------------------------------------------
    def admission_problems(self, parsed: Iterable[Manifest]) -> list[FieldProblem]:
        """A policy kind of a CNI that is not installed fails like a missing CRD does on a real cluster."""
        out = []
        for m in parsed:
            key = (m.api_version, m.key.kind)
            if key in CNI_POLICY_KINDS and not self.profile.enforces(*key):
                out.append(FieldProblem(
                    str(m.key), "",
                    f'no matches for kind "{m.key.kind}" in version "{m.api_version}": ensure CRDs are installed first '
                    f"(this lab runs {self.profile.name}, which does not install {m.api_version}; the cilium-tunnel and "
                    "cilium-native profiles do)",
                ))
        return out

    # -- places ----------------------------------------------------------------------------------
    def external_host(self, endpoint: Endpoint) -> ExternalHost | None:
        for host in self.state.external_hosts.values():
            if host.ip == endpoint.ip:
                return host
        return None

    def place(self, endpoint: Endpoint) -> Place:
        if endpoint.kind is EndpointKind.POD:
            return Place(Zone.POD, endpoint.ip, endpoint.label, endpoint.node)
        if endpoint.kind is EndpointKind.NODE:
            return Place(Zone.NODE, endpoint.ip, f"node {endpoint.node}", endpoint.node)
        host = self.external_host(endpoint)
        label = host.name if host is not None else endpoint.name
        if host is not None and host.where in ("host", "vnet"):
            return Place(Zone.NODE_NETWORK, endpoint.ip, label, knows_pod_routes=host.where == "vnet",
                         is_gateway=host.name == GATEWAY_NAME)
        if host is None and endpoint.ip.version == NODE_NETWORK.version and endpoint.ip in NODE_NETWORK:
            return Place(Zone.NODE_NETWORK, endpoint.ip, label)
        return Place(Zone.INTERNET, endpoint.ip, label)

    def trace(self, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol) -> Path:
        nodes = {n.name: n for n in self.state.nodes}
        return trace(self.profile, nodes, self.place(src), self.place(dst), port, protocol,
                     pod_block=self._pod_block, tunnel_address=self.state.ipam.tunnel_address)

    def _pod_block(self, ip: IPAddress) -> Any:
        for owned in self.state.ipam.blocks.values():
            for block in owned:
                if ip.version == block.version and ip in block:
                    return block
        for n in self.state.nodes:
            if n.pod_cidr is not None and ip.version == n.pod_cidr.version and ip in n.pod_cidr:
                return n.pod_cidr
        return None

    # -- NSGs (Azure model) ------------------------------------------------------------------------
    def attach_nsg(self, rules: Any, *, to: str = "subnet", name: str | None = None) -> NetworkSecurityGroup:
        nsg = rules if isinstance(rules, NetworkSecurityGroup) else parse_nsg(rules, name=name)
        if name and nsg.name != name:
            nsg = NetworkSecurityGroup(name, nsg.rules)
        if to == "subnet":
            self._nsg.subnet = nsg
        else:
            node = _nic(to, "attach an NSG to")
            self.state.node(node)  # raises LabError for an unknown node
            self._nsg.nics[node] = nsg
        return nsg

    def detach_nsg(self, to: str = "subnet") -> None:
        if to == "subnet":
            self._nsg.subnet = None
        else:
            self._nsg.nics.pop(_nic(to, "detach an NSG from"), None)

    def nsg_attached(self) -> bool:
        return self._nsg.subnet is not None or bool(self._nsg.nics)

    def platform_rules(self, nsg: NetworkSecurityGroup) -> tuple[SecurityRule, ...]:
        """Rules Azure adds to the node subnet's NSG for LoadBalancer Services (none without Services)."""
        return load_balancer_rules(self.load_balancers(), taken_priorities=[r.priority for r in nsg.rules])

    def nsg_rules(self, to: str = "subnet") -> NetworkSecurityGroup | None:
        """The NSG attached there, with the rules LoadBalancer Services added (as the portal would list them)."""
        nsg = self._nsg.subnet if to == "subnet" else self._nsg.nics.get(_nic(to, "read the NSG of"))
        if nsg is None:
            return None
        if to == "subnet":
            return NetworkSecurityGroup(nsg.name, nsg.rules + self.platform_rules(nsg))
        return nsg

    def tags(self) -> TagSpace:
        # VirtualNetwork: the node network (the VNet's address space), the pod CIDR (AKS: pod-to-pod
        # traffic is only affected by *custom* deny rules, so the default AllowVnet rules admit it -
        # concepts-network-azure-cni-overlay "Network security groups"; Calico BGP pod routes are
        # like user-defined routes, which the tag includes) and Azure's host VIP.
        return TagSpace((NODE_NETWORK, self.profile.pod_subnet, ipaddress.ip_network("168.63.129.16/32")))

    def _attachment(self, node: str, extra: tuple[SecurityRule, ...] | None = None) -> Attachment:
        subnet = self._nsg.subnet
        if extra is None:
            extra = self.platform_rules(subnet) if subnet is not None else ()
        return Attachment(subnet, self._nsg.nics.get(node), extra, ())

    def nsg_check(self, path: Path) -> tuple[list[NsgDecision], NsgDecision | None]:
        """Every NSG decision along the path, and the one that dropped it (if any)."""
        decisions: list[NsgDecision] = []
        if not self.nsg_attached():
            return decisions, None
        tags = self.tags()
        extra = self.platform_rules(self._nsg.subnet) if self._nsg.subnet is not None else ()
        for crossing in path.crossings:
            p = crossing.packet
            five = FiveTuple(p.src, p.src_port, p.dst, p.dst_port, p.protocol)
            direction = NsgDirection(crossing.direction)
            for d in evaluate_attachment(self._attachment(crossing.node, extra), crossing.node, direction, five, tags):
                decisions.append(d)
                if not d.allowed:
                    return decisions, d
        return decisions, None

    def admit_from_load_balancer(self, client_ip: IPAddress, frontend_ip: IPAddress, port: int, protocol: Protocol,
                                 node: str, client_port: int = 40000) -> tuple[NsgDecision, ...]:
        """For the Services code: the NSG decisions on ``node``'s NIC for load-balanced traffic.

        Azure LB is pass-through and AKS enables the floating IP, so the NIC sees the client address
        and the frontend IP as destination ("For inbound traffic, network security groups process
        traffic after Azure translates public IP addresses to private IP addresses" - the frontend
        stays the destination with floating IP). Empty when no NSG is attached."""
        if not self.nsg_attached():
            return ()
        five = FiveTuple(client_ip, client_port, frontend_ip, port, protocol)
        return evaluate_attachment(self._attachment(node), node, NsgDirection.INBOUND, five, self.tags())

    # -- DNS lookup of external names ---------------------------------------------------------------
    def lookup(self, src: Endpoint, name: str, address: IPAddress) -> Lookup:
        """A pod resolving ``name`` through kube-dns: egress to CoreDNS must be allowed; on Cilium the DNS
        proxy filters the name when a DNS rule sends the lookup through it, and records the answer."""
        if src.kind is not EndpointKind.POD or src.pod is None:
            return Lookup(True, Verdict.ALLOWED, "", (Hop("dns", f"{name} → {address} (resolver of {src.label})"),))
        dns_pods = [p for p in self.state.pods() if p.labels.get("k8s-app") == "kube-dns" and p.ip is not None]
        if not dns_pods:
            return Lookup(False, Verdict.DNS_FAILED, f"no kube-dns pods: {name} cannot be resolved")
        first_block = ""
        for dns in dns_pods:
            dst = Endpoint.of_pod(dns)
            verdict = self.evaluate(src, dst, DNS_PORT, Protocol.UDP)
            if not verdict.allowed:
                first_block = first_block or f"egress to kube-dns on 53/UDP is not allowed\n{verdict.explain()}"
                continue
            _, dropped = self.nsg_check(self.trace(src, dst, DNS_PORT, Protocol.UDP))
            if dropped is not None:
                first_block = first_block or f"the query to kube-dns was dropped by Azure NSG {dropped.nsg}: {dropped.rule.name} (priority {dropped.rule.priority})"
                continue
            hops = [Hop("dns", f"{src.label} asks kube-dns ({dns.ref}, 53/UDP) for {name}")]
            egress = verdict.egress
            if egress is not None:
                proxied, names = egress.dns_proxy()
                if proxied:
                    assert src.pod.node is not None
                    if names is not None and not any(s.matches(name) for s in names):
                        allowed = "; ".join(s.render() for s in names)
                        return Lookup(False, Verdict.DNS_FAILED,
                                      f"Cilium's DNS proxy refused the query for {name} (REFUSED): the DNS rules that let this pod "
                                      f"reach kube-dns only allow [{allowed}]", (*hops, Hop("dns", f"DNS proxy on {src.pod.node}: REFUSED")))
                    self.dns_cache.record(src.pod.node, name, frozenset({address}))
                    hops.append(Hop("dns", f"Cilium's DNS proxy on {src.pod.node} lets it through and records {name} → {address} "
                                           "for toFQDNs"))
            hops.append(Hop("dns", f"{name} → {address}"))
            return Lookup(True, Verdict.ALLOWED, "", tuple(hops))
        return Lookup(False, Verdict.DNS_FAILED, f"the lookup of {name} failed: {first_block}",
                      (Hop("dns", f"{src.label} → kube-dns 53/UDP: dropped"),))

    # -- delivery ---------------------------------------------------------------------------------
    def first_leg(self, src: Endpoint, node: Endpoint, port: int, protocol: Protocol) -> tuple[str | None, tuple[Hop, ...]]:
        """A client's own connection to a node's address (a nodePort, before kube-proxy's DNAT): the
        route to that address and the NSGs the packet crosses on the way. Returns why it is dropped
        (None when it arrives) and the hops worth showing (NSG decisions; the route when it fails).

        The Services code calls this for ``node:<name>:<nodePort>``: the internet has no route to a
        node's private address, and an NSG on the node subnet or NIC filters the nodePort like any
        other port (learn.microsoft.com "How network security groups filter network traffic")."""
        path = self.trace(src, node, port, protocol)
        if not path.routable:
            return f"no route: {path.reason}", tuple(Hop(s.step, s.detail) for s in path.hops)
        decisions, dropped = self.nsg_check(path)
        hops = tuple(Hop("nsg", d.render()) for d in decisions)
        if dropped is not None:
            return (f"dropped by Azure NSG {dropped.nsg} ({dropped.scope}): {dropped.rule.name} "
                    f"(priority {dropped.rule.priority})", hops)
        return None, hops

    def deliver(self, probe: Probe, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol, hops: tuple[Hop, ...],
                *, established: ProbeResult | None = None, via: str | None = None) -> ProbeResult:
        """``via``: the node where kube-proxy DNATed a NodePort/LoadBalancer connection (Services code);
        the route is traced from there and ``src`` is already the client as the endpoint sees it."""
        hops = tuple(hops)
        name = probe.destination
        host = self.state.external_hosts.get(name)
        if (established is None and host is not None and "." in host.name and src.kind is EndpointKind.POD
                and not any(h.step == "dns" for h in hops)):
            found = self.lookup(src, host.name, host.ip)
            hops = (*hops, *found.hops)
            if not found.ok:
                return ProbeResult(probe, found.verdict, found.reason, hops=hops)
        origin = Endpoint.of_node(self.state.node(via)) if via is not None else src
        path = self.trace(origin, dst, port, protocol)
        # In the order the packet meets them: name resolution, the source's own hops (a pod's veth),
        # the Service translation on its node, then (after egress policy) the route on.
        lookups = tuple(h for h in hops if h.step == "dns")
        translated = tuple(h for h in hops if h.step != "dns")
        before = (*lookups, *(Hop(s.step, s.detail) for s in path.until_egress()), *translated)
        hops = (*before, *(Hop(s.step, s.detail) for s in path.after_egress()))
        if via is not None:
            path = replace(path, client_ip=src.ip)
            seen = src
        else:
            seen = replace(src, ip=path.client_ip) if path.client_ip is not None and path.client_ip != src.ip else src
        verdict = self.evaluate(src, dst, port, protocol, seen_source=seen)
        reason = verdict.explain()
        if not path.routable and (verdict.egress is None or verdict.egress.allowed):
            return ProbeResult(probe, Verdict.BLOCKED, f"no route: {path.reason}", hops=hops)
        if established is not None:
            return self._established(probe, verdict, reason, hops, dst, port, protocol, path)
        if verdict.egress is not None:
            # Egress policy is enforced on the source's node: its hop goes where the packet is judged,
            # and a dropped packet's trace ends there (it never crossed the network).
            word = "allowed" if verdict.egress.allowed else "dropped"
            judged = Hop("policy", f"egress from {src.label}: {word} (enforced on its node, before it leaves)")
            if not verdict.egress.allowed:
                return ProbeResult(probe, Verdict.BLOCKED, reason, loopback=verdict.loopback, hops=(*before, judged))
            hops = (*before, judged, *hops[len(before):])
        decisions, dropped = self.nsg_check(path)
        hops = (*hops, *(Hop("nsg", d.render()) for d in decisions))
        if dropped is not None:
            return ProbeResult(probe, Verdict.BLOCKED, f"{reason}\ndropped by Azure NSG {dropped.nsg} ({dropped.scope}): "
                                                       f"{dropped.rule.name} (priority {dropped.rule.priority})",
                               loopback=verdict.loopback, hops=hops)
        if verdict.ingress is not None:
            word = "allowed" if verdict.ingress.allowed else "dropped"
            hops = (*hops, Hop("policy", f"ingress to {dst.label}: {word}"))
        elif verdict.egress is None:
            hops = (*hops, Hop("policy", "no pod on either side: network policy does not apply"))
        if not verdict.allowed:
            return ProbeResult(probe, Verdict.BLOCKED, reason, loopback=verdict.loopback, hops=hops)
        return self._answer(probe, reason, hops, dst, port, protocol, path, verdict.loopback)

    def _answer(self, probe: Probe, reason: str, hops: tuple[Hop, ...], dst: Endpoint, port: int, protocol: Protocol,
                path: Path, loopback: bool) -> ProbeResult:
        refusal = self.refusal(dst, port, protocol)
        if refusal is not None:
            return ProbeResult(probe, Verdict.REFUSED, f"{reason}\n{refusal}", loopback=loopback, hops=hops)
        client = str(path.client_ip) if path.client_ip is not None else None
        answered = dst.name if dst.pod is not None else dst.label
        return ProbeResult(probe, Verdict.ALLOWED, reason, answered_by=answered, client_ip=client, loopback=loopback,
                           hops=(*hops, Hop("deliver", f"{dst.label} {port}/{protocol} (sees client {client})")))

    def refusal(self, dst: Endpoint, port: int, protocol: Protocol) -> str | None:
        if dst.pod is not None:
            served: tuple[ContainerPort, ...] = dst.pod.ports
            who = dst.name
        elif dst.kind is EndpointKind.NODE and dst.node is not None:
            served = node_ports(self.state.node(dst.node).role)
            who = dst.label
        else:
            host = self.external_host(dst)
            if host is None:
                return f"nothing on {dst.label} listens on {port}/{protocol}"
            served, who = host.ports, host.name
        if any(c.port == port and c.protocol == protocol for c in served):
            return None
        listing = ", ".join(c.render() for c in served) or "nothing"
        return f"{who} does not listen on {port}/{protocol} (it serves {listing})"

    # -- connections --------------------------------------------------------------------------------
    def open(self, result: ProbeResult) -> Connection:
        conn = Connection(self._next_id, result.probe, result)
        self._next_id += 1
        self._connections[conn.id] = conn
        return conn

    def connections(self) -> list[Connection]:
        return [self._connections[i] for i in sorted(self._connections)]

    def close(self, conn: Connection | int) -> None:
        key = conn.id if isinstance(conn, Connection) else conn
        if self._connections.pop(key, None) is None:
            raise LabError(f"no open connection #{key}")

    def get(self, conn: Connection | int) -> Connection:
        key = conn.id if isinstance(conn, Connection) else conn
        found = self._connections.get(key)
        if found is None:
            raise LabError(f"no open connection #{key} (it was closed, or the lab was reset)")
        return found

    def _established(self, probe: Probe, verdict: CombinedVerdict, reason: str, hops: tuple[Hop, ...], dst: Endpoint,
                     port: int, protocol: Protocol, path: Path) -> ProbeResult:
        behaviour = established_connections(self.profile)
        hops = (*hops, Hop("connection", "established: NSG flow records keep it allowed (NSG rules only affect new connections)")
                if self.nsg_attached() else Hop("connection", "established"))
        if verdict.allowed:
            return self._answer(probe, reason, (*hops, Hop("policy", "allowed")), dst, port, protocol, path, verdict.loopback)
        if behaviour.survives_policy_change:
            note = (f"the connection stays open: {behaviour.reason}. A new connection would be blocked:\n{reason}")
            return self._answer(probe, note, (*hops, Hop("policy", "not re-evaluated for an established connection")), dst, port,
                                protocol, path, verdict.loopback)
        return ProbeResult(probe, Verdict.BLOCKED, f"the open connection is cut: {behaviour.reason}\n{reason}",
                           loopback=verdict.loopback, hops=(*hops, Hop("policy", "dropped (re-evaluated on every packet)")))


def _nic(to: str, doing: str) -> str:
    """The node whose NIC ``to`` (``node:<name>``) names; LabError for anything else."""
    parsed = try_parse(to)
    if not isinstance(parsed, NodeName):
        raise LabError(f"to: {doing} 'subnet' (the node subnet) or 'node:<name>' (that node's NIC), not {to!r}")
    return parsed.node
