"""Where a packet goes, per CNI profile: routes, encapsulation, SNAT, and what the node network sees.

``trace()`` is a pure function over a profile and two :class:`Place` s. It returns a :class:`Path`:
the hops a learner reads (pod → node → VXLAN or plain routed → node → pod, SNAT points), whether a
route exists at all, the source address the destination sees, and every packet that crosses a
node's network interface (what an Azure NSG on the node subnet/NICs evaluates).

The world of the simulated lab (all addresses of the node network are kind's docker network):

* nodes on ``NODE_NETWORK`` (172.18.0.2, .3, ...), pods behind them;
* ``host`` = 172.18.0.1, the learner's machine: the node network's gateway. It masquerades traffic
  from the node network to the internet (Docker's ``MASQUERADE`` rule for a bridge network covers
  only that network's own subnet: ``-s 172.18.0.0/16 ! -o br-… -j MASQUERADE``), the way an AKS
  cluster's outbound type (load balancer / NAT gateway) gives egress one public address;
* ``vm.internal`` = 172.18.0.100, a VM on the node network (like a VM in the AKS VNet). When the CNI
  advertises pod routes (Calico BGP), it learned them (a BGP peer / a route table), so it can reach
  pod IPs and pods can talk to it without SNAT - the flat model;
* the internet (``api.example.com`` ...), reached through the gateway only.

Where a rule could be doubted, the comment next to it says where it comes from.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ..model import Node, Protocol
from ..model.cluster import IPAddress, IPNetwork
from .profiles import NODE_NETWORK, CniProfile, Encapsulation, Routing

EDGE_PUBLIC_IP_TEXT = "192.0.2.1"
"""The address the lab's traffic reaches the internet with (RFC 5737 TEST-NET-1 stands in for it):
your machine's public address on kind; the outbound load balancer or NAT gateway IP on AKS."""

GATEWAY_NAME = "host"


class Zone(StrEnum):
    POD = "pod"
    NODE = "node"
    NODE_NETWORK = "node-network"
    """Hosts on the node network that are not nodes: ``host`` (the gateway) and ``vm.internal``."""
    INTERNET = "internet"


@dataclass(frozen=True, slots=True)
class Place:
    """One end of a flow, as the datapath sees it."""

    zone: Zone
    ip: IPAddress
    label: str
    node: str | None = None
    """The node a pod runs on, or the node itself."""
    knows_pod_routes: bool = False
    """For hosts on the node network: whether it learned routes to pod blocks when the CNI advertises them."""
    is_gateway: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """One line of a trace: ``route``, ``encapsulation``, ``snat`` (the lab turns these into probe hops)."""

    step: str
    detail: str


@dataclass(frozen=True, slots=True)
class Packet:
    """An IP packet as one network interface sees it (outer header when encapsulated)."""

    src: IPAddress
    dst: IPAddress
    protocol: Protocol
    src_port: int
    dst_port: int

    def render(self) -> str:
        return f"{self.protocol} {self.src}:{self.src_port} → {self.dst}:{self.dst_port}"


@dataclass(frozen=True, slots=True)
class NicCrossing:
    """A packet leaving (``Outbound``) or entering (``Inbound``) a node's interface on the node network."""

    node: str
    direction: str
    packet: Packet


@dataclass(frozen=True, slots=True)
class Path:
    hops: tuple[Step, ...]
    routable: bool
    reason: str = ""
    """Why there is no path (empty when there is one)."""
    client_ip: IPAddress | None = None
    """The source address the destination sees."""
    crossings: tuple[NicCrossing, ...] = ()
    snat: tuple[tuple[IPAddress, IPAddress, str], ...] = field(default=())
    """Every source rewrite: (from, to, where)."""
    on_source_node: int = 0
    """How many of ``hops`` happen before the packet leaves its source's node (1 for a pod: its veth).
    Egress policy is enforced there, so a trace that egress policy drops stops after these hops."""

    def until_egress(self) -> tuple[Step, ...]:
        """The hops up to the point where egress policy judges the packet (on the source's node)."""
        return self.hops[:self.on_source_node]

    def after_egress(self) -> tuple[Step, ...]:
        """The hops after the packet has left the source's node."""
        return self.hops[self.on_source_node:]


def ephemeral_port(*parts: object) -> int:
    """A deterministic client port from Linux's default ephemeral range 32768-60999."""
    return 32768 + zlib.crc32("|".join(map(str, parts)).encode()) % (60999 - 32768 + 1)


def edge_public_ip() -> IPAddress:
    import ipaddress

    return ipaddress.ip_address(EDGE_PUBLIC_IP_TEXT)


@dataclass
class _Builder:
    profile: CniProfile
    nodes: Mapping[str, Node]
    protocol: Protocol
    port: int
    src_port: int
    hops: list[Step] = field(default_factory=list)
    crossings: list[NicCrossing] = field(default_factory=list)
    snat: list[tuple[IPAddress, IPAddress, str]] = field(default_factory=list)

    def hop(self, step: str, detail: str) -> None:
        self.hops.append(Step(step, detail))

    def cross(self, node: str, direction: str, packet: Packet) -> None:
        self.crossings.append(NicCrossing(node, direction, packet))

    def packet(self, src: IPAddress, dst: IPAddress) -> Packet:
        return Packet(src, dst, self.protocol, self.src_port, self.port)

    on_source_node: int = 0

    def fail(self, reason: str) -> Path:
        self.hop("route", f"no route: {reason}")
        return Path(tuple(self.hops), False, reason, None, tuple(self.crossings), tuple(self.snat), self.on_source_node)

    def done(self, client_ip: IPAddress) -> Path:
        return Path(tuple(self.hops), True, "", client_ip, tuple(self.crossings), tuple(self.snat), self.on_source_node)

    def node_ip(self, name: str) -> IPAddress:
        return self.nodes[name].ip


def trace(
    profile: CniProfile,
    nodes: Mapping[str, Node],
    src: Place,
    dst: Place,
    port: int,
    protocol: Protocol,
    *,
    pod_block: Callable[[IPAddress], IPNetwork | None] = lambda ip: None,
    tunnel_address: Callable[[str], IPAddress | None] = lambda node: None,
) -> Path:
    """The path of one connection attempt from ``src`` to ``dst`` (after any Service DNAT).

    ``pod_block(ip)`` names the route prefix that holds a pod address (the node's podCIDR, or the
    Calico /26 block); ``tunnel_address(node)`` is Calico's per-node tunnel address, if any.
    """
    b = _Builder(profile, nodes, protocol, port, ephemeral_port(src.ip, dst.ip, port, protocol))
    if src.zone is Zone.POD:
        b.hop("route", f"{src.label} ({src.ip}) → node {src.node} over the pod's veth")
        b.on_source_node = len(b.hops)
    if dst.zone is Zone.POD:
        return _to_pod(b, src, dst, pod_block, tunnel_address)
    if dst.zone is Zone.NODE:
        return _to_node(b, src, dst)
    if dst.zone is Zone.NODE_NETWORK:
        return _to_node_network(b, src, dst)
    return _to_internet(b, src, dst)


# -- to a pod ------------------------------------------------------------------------------------
def _to_pod(b: _Builder, src: Place, dst: Place, pod_block: Callable[[IPAddress], IPNetwork | None],
            tunnel_address: Callable[[str], IPAddress | None]) -> Path:
    p = b.profile
    assert dst.node is not None
    if src.zone in (Zone.POD, Zone.NODE) and src.node == dst.node:
        where = "the pod's own node" if src.zone is Zone.NODE else f"the same node ({dst.node})"
        b.hop("route", f"{where}: delivered to {dst.label} over its veth, never on the node network")
        return b.done(src.ip)
    if src.zone in (Zone.POD, Zone.NODE):
        assert src.node is not None
        inner_src = src.ip
        if src.zone is Zone.NODE:
            tunnel = tunnel_address(src.node) if p.cni == "calico" and p.encapsulated else None
            if tunnel is not None:
                # Calico programs remote-block routes on vxlan.calico with its tunnel address as the
                # preferred source, so host-originated traffic to remote pods leaves with that address
                # (docs.tigera.io networking/configuring/vxlan-ipip; calico-node sets the tunnel IP).
                inner_src = tunnel
                b.hop("route", f"node {src.node} sends from its {p.tunnel_device} address {tunnel} (the route's preferred source)")
        _between_nodes(b, src.node, dst.node, inner_src, dst.ip, pod_block(dst.ip))
        b.hop("route", f"node {dst.node} → {dst.label} ({dst.ip}) over the pod's veth")
        return b.done(inner_src)
    if src.zone is Zone.NODE_NETWORK:
        if p.pod_routes_advertised and src.knows_pod_routes:
            block = pod_block(dst.ip)
            via = b.node_ip(dst.node)
            if p.pods_on_node_network:
                b.hop("route", f"{src.label} → {dst.ip} via {via} (node {dst.node}): the pod's address is one of the node network's "
                               f"(flat model, as on AKS, where the VNet routes it; on kind the host has a route to {block or dst.ip})")
            else:
                b.hop("route", f"{src.label} → {dst.ip} via {via} (node {dst.node}): it learned {block or dst.ip} by BGP from Calico "
                               "(routed model: the pod range is separate from the node network, but routable from it)")
            b.cross(dst.node, "Inbound", b.packet(src.ip, dst.ip))
            b.hop("route", f"node {dst.node} → {dst.label} ({dst.ip}) over the pod's veth")
            return b.done(src.ip)
        why = (f"{src.label} has no route to the pod network {p.pod_subnet}: pod addresses exist only inside the cluster"
               + (" (this host did not learn the BGP routes)" if p.pod_routes_advertised else f" ({p.model} model)")
               + "; reach pods from outside through a Service (NodePort or LoadBalancer)")
        return b.fail(why)
    return b.fail(f"pod address {dst.ip} is private to the cluster; the internet has no route to it")


def _between_nodes(b: _Builder, src_node: str, dst_node: str, inner_src: IPAddress, inner_dst: IPAddress,
                   block: IPNetwork | None) -> None:
    """Pod traffic from one node to another: VXLAN or plain routed, and what each node's NIC sees."""
    p = b.profile
    src_ip, dst_ip = b.node_ip(src_node), b.node_ip(dst_node)
    prefix = block or inner_dst
    if p.encapsulation is Encapsulation.VXLAN:
        assert p.tunnel_port is not None
        outer = Packet(src_ip, dst_ip, Protocol.UDP, ephemeral_port("vxlan", inner_src, inner_dst, b.port), p.tunnel_port)
        b.hop("encapsulation", f"{p.tunnel_device} on {src_node} wraps the packet in VXLAN: outer UDP {src_ip} → {dst_ip}:{p.tunnel_port}, "
                               f"inner {b.protocol} {inner_src} → {inner_dst}:{b.port} (the node network only sees node addresses)")
        b.cross(src_node, "Outbound", outer)
        b.cross(dst_node, "Inbound", outer)
        b.hop("encapsulation", f"{p.tunnel_device} on {dst_node} unwraps it")
        return
    how = {
        Routing.NODE_ROUTES: f"kindnet's route {prefix} via {dst_ip}",
        Routing.BGP: f"Calico's BGP route {prefix} via {dst_ip} (block learned from {dst_node})",
        Routing.NATIVE: f"Cilium's direct route {prefix} via {dst_ip} (autoDirectNodeRoutes)",
    }.get(p.routing, f"route {prefix} via {dst_ip}")
    inner = b.packet(inner_src, inner_dst)
    b.hop("route", f"{src_node} → {dst_node}: plain routed, no encapsulation, {how}; on the wire: {inner.render()}")
    b.cross(src_node, "Outbound", inner)
    b.cross(dst_node, "Inbound", inner)


# -- to a node ------------------------------------------------------------------------------------
def _to_node(b: _Builder, src: Place, dst: Place) -> Path:
    p = b.profile
    assert dst.node is not None
    if src.zone is Zone.POD and src.node == dst.node:
        b.hop("route", f"to its own node {dst.node}: local delivery, no SNAT")
        return b.done(src.ip)
    if src.zone is Zone.NODE and src.node == dst.node:
        b.hop("route", f"node {dst.node} to itself (loopback)")
        return b.done(src.ip)
    if src.zone is Zone.POD:
        assert src.node is not None
        seen = src.ip
        if p.masquerade_to_other_nodes:
            seen = b.node_ip(src.node)
            _snat(b, src.ip, seen, f"on {src.node}: " + _masq_reason(p, other_node=True))
        else:
            b.hop("route", f"no SNAT to another node: {_no_masq_reason(p, to_node=True)}")
        b.hop("route", f"{src.node} → {dst.node} on the node network (plain routed)")
        b.cross(src.node, "Outbound", b.packet(seen, dst.ip))
        b.cross(dst.node, "Inbound", b.packet(seen, dst.ip))
        return b.done(seen)
    if src.zone is Zone.NODE:
        assert src.node is not None
        b.hop("route", f"{src.node} → {dst.node} on the node network (same subnet)")
        b.cross(src.node, "Outbound", b.packet(src.ip, dst.ip))
        b.cross(dst.node, "Inbound", b.packet(src.ip, dst.ip))
        return b.done(src.ip)
    if src.zone is Zone.NODE_NETWORK:
        b.hop("route", f"{src.label} → node {dst.node} ({dst.ip}) on the node network (same subnet)")
        b.cross(dst.node, "Inbound", b.packet(src.ip, dst.ip))
        return b.done(src.ip)
    return b.fail(f"node address {dst.ip} is private (kind: a Docker bridge network; AKS: nodes get no public IP); "
                  "the internet reaches a cluster only through a LoadBalancer Service's public IP")


# -- to a host on the node network ----------------------------------------------------------------
def _to_node_network(b: _Builder, src: Place, dst: Place) -> Path:
    p = b.profile
    if src.zone is Zone.POD:
        assert src.node is not None
        if p.masquerade and not p.pods_on_node_network:
            node_ip = b.node_ip(src.node)
            _snat(b, src.ip, node_ip, f"on {src.node}: " + _masq_reason(p, other_node=False))
            b.hop("route", f"{src.node} → {dst.label} ({dst.ip}) on the node network")
            b.cross(src.node, "Outbound", b.packet(node_ip, dst.ip))
            return b.done(node_ip)
        b.hop("route", f"no SNAT: {_no_masq_reason(p, to_node=False)}; {src.node} → {dst.label} ({dst.ip}) with source {src.ip}")
        b.cross(src.node, "Outbound", b.packet(src.ip, dst.ip))
        if not (p.pod_routes_advertised and dst.knows_pod_routes):
            return b.fail(f"the packet arrives, but {dst.label} has no route back to the pod address {src.ip} "
                          f"(it learned no routes to {p.pod_subnet}), so the reply never comes back")
        learned = "its route to the pod's block" if p.pods_on_node_network else "route learned by BGP"
        b.hop("route", f"{dst.label} answers {src.ip} via {b.node_ip(src.node)} ({learned})")
        return b.done(src.ip)
    if src.zone is Zone.NODE:
        assert src.node is not None
        b.hop("route", f"node {src.node} → {dst.label} ({dst.ip}) on the node network")
        b.cross(src.node, "Outbound", b.packet(src.ip, dst.ip))
        return b.done(src.ip)
    if src.zone is Zone.NODE_NETWORK:
        if src.ip == dst.ip:
            b.hop("route", f"{src.label} to itself (loopback)")
        else:
            b.hop("route", f"{src.label} → {dst.label} on the node network (same subnet)")
        return b.done(src.ip)
    return b.fail(f"{dst.label} ({dst.ip}) has a private address on the node network; the internet has no route to it")


# -- to the internet -------------------------------------------------------------------------------
def _to_internet(b: _Builder, src: Place, dst: Place) -> Path:
    p = b.profile
    public = edge_public_ip()
    if src.zone is Zone.INTERNET:
        b.hop("route", f"{src.label} → {dst.label} across the internet")
        return b.done(src.ip)
    current = src.ip
    if src.zone is Zone.POD:
        assert src.node is not None
        if p.masquerade:
            node_ip = b.node_ip(src.node)
            _snat(b, src.ip, node_ip, f"on {src.node}: " + _masq_reason(p, other_node=False))
            current = node_ip
        else:
            b.hop("route", f"no SNAT on the node: {_no_masq_reason(p, to_node=False)}")
        b.cross(src.node, "Outbound", b.packet(current, dst.ip))
        b.hop("route", f"{src.node} → gateway {GATEWAY_NAME} (default route of the node network)")
    elif src.zone is Zone.NODE:
        assert src.node is not None
        b.cross(src.node, "Outbound", b.packet(current, dst.ip))
        b.hop("route", f"node {src.node} → gateway {GATEWAY_NAME} (default route)")
    elif not src.is_gateway:
        b.hop("route", f"{src.label} → gateway {GATEWAY_NAME} (default route)")
    if current.version == NODE_NETWORK.version and current in NODE_NETWORK:
        _snat(b, current, public, f"at the gateway {GATEWAY_NAME}: traffic from the node network {NODE_NETWORK} leaves with one public "
                                  "address (Docker's MASQUERADE for the kind network; on AKS, the cluster's outbound type: load balancer or NAT gateway)")
        b.hop("route", f"→ {dst.label} ({dst.ip}) across the internet")
        return b.done(public)
    return b.fail(f"the gateway masquerades only the node network {NODE_NETWORK}; a packet from the pod address {current} "
                  "leaves unchanged and the reply can never find its way back (flat model without an outbound NAT for pod addresses)")


def _snat(b: _Builder, old: IPAddress, new: IPAddress, why: str) -> None:
    b.snat.append((old, new, why))
    b.hop("snat", f"{old} → {new} {why}")


def _masq_reason(p: CniProfile, *, other_node: bool) -> str:
    if p.cni == "kindnet":
        return "kindnet's ip-masq agent masquerades everything not bound for a pod CIDR or a local address"
    if p.cni == "calico":
        return "Calico natOutgoing: the destination is outside every IP pool"
    return "Cilium masquerades traffic leaving the cluster to the node IP (enable-ipv4-masquerade)"


def _no_masq_reason(p: CniProfile, *, to_node: bool) -> str:
    if p.pods_on_node_network:
        return ("pod addresses belong to the node network, so traffic to it keeps them (Calico natOutgoing skips destinations "
                "in any IP pool, and the node network is a disabled one; on AKS, Azure CNI does not SNAT inside the VNet)")
    if p.cni == "calico":
        return "Calico natOutgoing is Disabled on this pool, so pods keep their own address"
    if p.cni == "cilium" and to_node:
        return "Cilium does not masquerade traffic to other cluster nodes"
    return "this profile does not masquerade"
