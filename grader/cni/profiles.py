"""CNI profiles: how each supported network plugin lays out addresses, moves packets and what it enforces.

The names match the files in ``kind-configs/`` (``tests/kind/test_configs.py`` checks that the
subnets here and there agree), so ``connect(profile="calico-vxlan")`` means the same cluster on
the simulated backend and on kind.

Every datapath property below cites where it comes from; the research notes
(``shared/research/kind.md`` §2-§4) hold the longer quotes:

* kindnet: "simple netlink routes" to every other node's podCIDR via that node's InternalIP, no
  encapsulation; an ip-masq agent masquerades everything that is not local and not bound for a
  pod CIDR (kind ``images/kindnetd`` README and ``masq.go``; kubernetes-sigs/kindnet
  ``pkg/masq``). NetworkPolicy by kube-network-policies, on the first packet of new connections.
  Its queue fails open (``FailOpen: true``, fact ``kindnet-new-connections-only``): while kindnetd
  is down, traffic passes unchecked. The simulated cluster's agents never go down, so that state
  is not modelled; the lessons state it.
* Calico 3.32 (operator): IP pool with ``encapsulation: VXLAN`` or ``None`` + BGP; ``natOutgoing``
  masquerades pool traffic bound outside every pool (docs.tigera.io reference/resources/ippool,
  networking/configuring/vxlan-ipip). Felix's VXLAN port defaults to 4789 (FelixConfiguration
  ``vxlanPort``). Policy is checked when a connection is set up; established connections pass on
  conntrack (projectcalico/calico#2759, #6399).
* Cilium 1.20: ``routingMode: tunnel`` with ``tunnelProtocol: vxlan`` on UDP 8472 (the default), or
  ``routingMode: native`` with ``autoDirectNodeRoutes`` on kind's single L2 segment; masquerades
  traffic leaving the cluster to the node IP except traffic to other cluster nodes
  (docs.cilium.io network/concepts/routing, network/concepts/masquerading). Policy is looked up for
  every packet that is not a reply (cilium/cilium#2700), so a new deny cuts established connections.
* ``calico-flat``: AKS's flat model (Azure CNI Pod Subnet / Node Subnet: "assigns IP addresses to
  pods from a subnet from the same Azure virtual network as the AKS nodes", the pod address is
  seen by the destination; learn.microsoft.com/azure/aks/concepts-network-ip-address-planning and
  concepts-network-azure-cni-pod-subnet). Pods get addresses from a range of the node network
  (172.18.128.0/17 of kind's 172.18.0.0/16), every host on the node network reaches them, and
  they keep their address to the node network; only traffic to the internet is SNATed (on AKS by
  the outbound type; Azure CNI's ip-masq-agent keeps VNet destinations unNATed). On kind it is
  built with Calico: one pool inside the node network, no encapsulation, ``natOutgoing: Enabled``
  and a *disabled* pool covering the rest of the node network, because natOutgoing skips
  destinations in any IP pool (docs.tigera.io networking/configuring/workloads-outside-cluster);
  the external hosts get routes to the pod blocks (a Docker bridge cannot deliver to addresses
  behind a node's veths; on AKS the VNet's routing does that without any route).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from ..facts import fact
from ..model import Node
from ..model.cluster import IPNetwork

NODE_NETWORK = ipaddress.ip_network("172.18.0.0/16")
"""kind's docker network ``kind`` (first subnet Docker usually hands out after the default bridge)."""

NETWORKING_V1 = ("networking.k8s.io/v1", "NetworkPolicy")
CILIUM_POLICY = ("cilium.io/v2", "CiliumNetworkPolicy")
CILIUM_CLUSTERWIDE_POLICY = ("cilium.io/v2", "CiliumClusterwideNetworkPolicy")
CALICO_POLICIES = (
    ("projectcalico.org/v3", "NetworkPolicy"),
    ("projectcalico.org/v3", "GlobalNetworkPolicy"),
)
CNI_POLICY_KINDS = frozenset({CILIUM_POLICY, CILIUM_CLUSTERWIDE_POLICY, *CALICO_POLICIES})
"""Policy kinds that only exist when their CNI installed its CRDs."""


class Encapsulation(StrEnum):
    NONE = "none"
    VXLAN = "vxlan"


class Routing(StrEnum):
    """How a packet for a pod on another node finds that node."""

    NODE_ROUTES = "node-routes"
    """kindnet: a static route per node podCIDR via the node's IP (nodes share one L2 segment)."""
    BGP = "bgp"
    """Calico BIRD: routes per /26 block, learned by BGP; peers outside the cluster can learn them too."""
    TUNNEL = "tunnel"
    """Encapsulated: the node network only ever sees node IPs (outer header)."""
    NATIVE = "native"
    """Cilium native routing with autoDirectNodeRoutes: a route per podCIDR via the node IP."""


@dataclass(frozen=True, slots=True)
class CniProfile:
    name: str
    title: str
    cni: str
    """``kindnet``, ``calico`` or ``cilium``."""
    pod_subnet: IPNetwork
    service_subnet: IPNetwork
    node_block_prefix: int
    """Size of the address blocks a node takes from the pod subnet (kindnet/Cilium: its /24 podCIDR; Calico: /26 IPAM blocks)."""
    ipblock_matches_cluster: bool = True
    """False for Cilium: ipBlock does not select pod or node addresses (even 0.0.0.0/0)."""
    workers: int = 2
    cni_version: str = ""
    """The CNI release the kind backend installs (from ``facts.yaml``); kindnet ships with kind."""
    encapsulation: Encapsulation = Encapsulation.NONE
    tunnel_port: int | None = None
    """UDP port of the VXLAN outer header (Calico/Felix 4789, Cilium 8472)."""
    tunnel_device: str | None = None
    routing: Routing = Routing.NODE_ROUTES
    masquerade: bool = True
    """Pod traffic to destinations outside the cluster's pod addresses is SNATed to the node IP."""
    masquerade_to_other_nodes: bool = True
    """Pod traffic to another node's IP is SNATed too (kindnet, Calico natOutgoing; Cilium exempts nodes)."""
    pod_routes_advertised: bool = False
    """Pod blocks are announced to peers on the node network (Calico BGP), so a VM there can route to pods."""
    pods_on_node_network: bool = False
    """Pods get addresses from the node network's own range (AKS flat: Azure CNI Pod/Node Subnet): hosts on it
    reach them, and pod traffic to it keeps the pod address (SNAT only to the internet)."""
    kube_proxy_replacement: bool = False
    kube_proxy_mode: str = "iptables"
    """``networking.kubeProxyMode`` of the profile's kind config: ``iptables`` (kind's default), ``nftables``,
    or ``none`` (Cilium replaces kube-proxy). Decides, e.g., what a ClusterIP does on a port it does not serve."""
    policy_on_established: bool = False
    """Whether a policy change reaches connections that are already established."""
    policy_kinds: frozenset[tuple[str, str]] = frozenset({NETWORKING_V1})
    """(apiVersion, kind) of every policy API this cluster enforces."""
    settings: tuple[tuple[str, str], ...] = ()
    """The CNI settings that make this profile what it is, as ``(key, value)`` (helm values, IPPool fields)."""

    @property
    def node_names(self) -> tuple[str, ...]:
        names = ["kind-control-plane"] + [f"kind-worker{'' if i == 1 else i}" for i in range(1, self.workers + 1)]
        return tuple(names)

    @property
    def encapsulated(self) -> bool:
        return self.encapsulation is not Encapsulation.NONE

    @property
    def model(self) -> str:
        """``flat`` when pods have addresses of the node network itself (AKS's flat model), ``routed`` when
        the pod range is separate but routable from the node network (Calico BGP: not AKS's flat model),
        ``overlay`` when pods are hidden behind node addresses outside the cluster."""
        if self.pods_on_node_network:
            return "flat"
        return "routed" if self.pod_routes_advertised and not self.masquerade else "overlay"

    def enforces(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self.policy_kinds

    def with_cni_version(self, version: str) -> CniProfile:
        """The same profile with another CNI release (behaviour that changed between releases follows it)."""
        return dataclasses.replace(self, cni_version=version)

    def nodes(self) -> tuple[Node, ...]:
        """Control plane first, then workers; addresses .2, .3, ... on the node network, and one
        podCIDR block per node in order (what kube-controller-manager's range allocator does)."""
        blocks: Iterator[IPNetwork] = self.pod_subnet.subnets(new_prefix=max(self.node_block_prefix, 24) if self.cni != "calico" else 24)
        out = []
        for i, name in enumerate(self.node_names):
            role = "control-plane" if i == 0 else "worker"
            out.append(Node(name, NODE_NETWORK[2 + i], role, next(blocks)))
        return tuple(out)

    def describe(self) -> str:
        """A few lines a lesson can print: addressing, encapsulation, SNAT, policies."""
        encap = (f"VXLAN on UDP {self.tunnel_port} ({self.tunnel_device})" if self.encapsulated
                 else f"none ({self.routing.value})")
        snat = ("pod IPs are kept on the node network, SNATed to the node IP only to the internet" if self.pods_on_node_network
                else "pod traffic leaving the cluster is SNATed to the node IP" if self.masquerade else "pod IPs are kept (not SNATed)")
        kinds = ", ".join(f"{k} ({a})" for a, k in sorted(self.policy_kinds))
        lines = [
            f"{self.name}: {self.title}" + (f", {'kindnetd of kind' if self.cni == 'kindnet' else self.cni} {self.cni_version}" if self.cni_version else ""),
            f"  pods {self.pod_subnet} (per node: /{self.node_block_prefix}), services {self.service_subnet}, nodes {NODE_NETWORK}",
            f"  encapsulation: {encap}; model: {self.model}; {snat}",
            f"  kube-proxy: {'replaced by Cilium (eBPF)' if self.kube_proxy_replacement else f'kube-proxy ({self.kube_proxy_mode} mode)'}",
            f"  policy kinds: {kinds}",
        ]
        return "\n".join(lines)


def _version(fact_id: str) -> str:
    return str(fact(fact_id).value).lstrip("v")


def _profiles() -> dict[str, CniProfile]:
    calico = _version("calico-version")
    cilium = _version("cilium-version")
    calico_kinds = frozenset({NETWORKING_V1, *CALICO_POLICIES})
    cilium_kinds = frozenset({NETWORKING_V1, CILIUM_POLICY, CILIUM_CLUSTERWIDE_POLICY})
    pods_kind = ipaddress.ip_network("10.244.0.0/16")
    pods_calico = ipaddress.ip_network("192.168.0.0/16")
    pods_flat = ipaddress.ip_network("172.18.128.0/17")   # the upper half of the node network
    services = ipaddress.ip_network("10.96.0.0/16")
    profiles = (
        CniProfile(
            "kindnet", "kindnet (kind's default CNI)", "kindnet", pods_kind, services, 24,
            cni_version=_version("kind-version"), routing=Routing.NODE_ROUTES, kube_proxy_mode="nftables",
            settings=(("cni", "kindnetd (kind default)"), ("networkpolicy", "kube-network-policies, new connections only")),
        ),
        CniProfile(
            "calico-vxlan", "Calico, VXLAN overlay", "calico", pods_calico, services, 26,
            cni_version=calico, encapsulation=Encapsulation.VXLAN, tunnel_port=4789, tunnel_device="vxlan.calico",
            routing=Routing.TUNNEL, policy_kinds=calico_kinds,
            settings=(("ipPools[0].encapsulation", "VXLAN"), ("ipPools[0].natOutgoing", "Enabled"), ("ipPools[0].blockSize", "26")),
        ),
        CniProfile(
            "calico-flat", "Flat as on AKS: pods addressed from the node network (Calico, no encapsulation)", "calico", pods_flat, services, 26,
            cni_version=calico, routing=Routing.BGP, masquerade=True, masquerade_to_other_nodes=False,
            pod_routes_advertised=True, pods_on_node_network=True, policy_kinds=calico_kinds,
            settings=(("ipPools[0].cidr", str(pods_flat)), ("ipPools[0].encapsulation", "None"), ("ipPools[0].natOutgoing", "Enabled"),
                      ("ipPools[1]", "172.18.0.0/17, disabled: no NAT to the node network"), ("bgp", "Enabled"), ("ipPools[0].blockSize", "26")),
        ),
        CniProfile(
            "calico-bgp", "Calico, BGP routing without encapsulation (routed, not AKS's flat)", "calico", pods_calico, services, 26,
            cni_version=calico, routing=Routing.BGP, masquerade=False, masquerade_to_other_nodes=False,
            pod_routes_advertised=True, policy_kinds=calico_kinds,
            settings=(("ipPools[0].encapsulation", "None"), ("ipPools[0].natOutgoing", "Disabled"), ("bgp", "Enabled"),
                      ("ipPools[0].blockSize", "26")),
        ),
        CniProfile(
            "cilium-tunnel", "Cilium, VXLAN tunnel", "cilium", pods_kind, services, 24,
            ipblock_matches_cluster=False, cni_version=cilium, encapsulation=Encapsulation.VXLAN, tunnel_port=8472,
            tunnel_device="cilium_vxlan", routing=Routing.TUNNEL, masquerade_to_other_nodes=False,
            policy_on_established=True, policy_kinds=cilium_kinds,
            settings=(("routingMode", "tunnel"), ("tunnelProtocol", "vxlan"), ("ipam.mode", "kubernetes"), ("kubeProxyReplacement", "false")),
        ),
        CniProfile(
            "cilium-native", "Cilium, native routing with kube-proxy replacement", "cilium", pods_kind, services, 24,
            ipblock_matches_cluster=False, cni_version=cilium, routing=Routing.NATIVE, masquerade_to_other_nodes=False,
            kube_proxy_replacement=True, kube_proxy_mode="none", policy_on_established=True, policy_kinds=cilium_kinds,
            settings=(("routingMode", "native"), ("ipv4NativeRoutingCIDR", str(pods_kind)), ("autoDirectNodeRoutes", "true"),
                      ("ipam.mode", "kubernetes"), ("kubeProxyReplacement", "true")),
        ),
    )
    return {p.name: p for p in profiles}


PROFILES: dict[str, CniProfile] = _profiles()

DEFAULT_PROFILE = "kindnet"


def get_profile(name: str | CniProfile | None = None) -> CniProfile:
    if isinstance(name, CniProfile):
        return name
    try:
        return PROFILES[name or DEFAULT_PROFILE]
    except KeyError:
        raise ValueError(f"unknown CNI profile {name!r}; choose one of: {', '.join(PROFILES)}") from None
