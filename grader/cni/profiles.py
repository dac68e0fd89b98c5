"""CNI profiles: how each supported network plugin lays out addresses and what it enforces.

The names match the files in ``kind-configs/`` (``tests/kind/test_configs.py`` checks that the
subnets here and there agree), so ``connect(profile="calico-vxlan")`` means the same cluster on
the simulated backend and on kind.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..model import Node
from ..model.cluster import IPNetwork

NODE_NETWORK = ipaddress.ip_network("172.18.0.0/16")
"""kind's docker network ``kind`` (first subnet Docker usually hands out after the default bridge)."""


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

    @property
    def node_names(self) -> tuple[str, ...]:
        names = ["kind-control-plane"] + [f"kind-worker{'' if i == 1 else i}" for i in range(1, self.workers + 1)]
        return tuple(names)

    def nodes(self) -> tuple[Node, ...]:
        """Control plane first, then workers; addresses .2, .3, ... on the node network, and one
        podCIDR block per node in order (what kube-controller-manager's range allocator does)."""
        blocks = self.pod_subnet.subnets(new_prefix=max(self.node_block_prefix, 24) if self.cni != "calico" else 24)
        out = []
        for i, name in enumerate(self.node_names):
            role = "control-plane" if i == 0 else "worker"
            out.append(Node(name, NODE_NETWORK[2 + i], role, next(blocks)))
        return tuple(out)


PROFILES: dict[str, CniProfile] = {
    p.name: p
    for p in (
        CniProfile("kindnet", "kindnet (kind's default CNI)", "kindnet",
                   ipaddress.ip_network("10.244.0.0/16"), ipaddress.ip_network("10.96.0.0/16"), 24),
        CniProfile("calico-vxlan", "Calico, VXLAN overlay", "calico",
                   ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("10.96.0.0/16"), 26),
        CniProfile("calico-bgp", "Calico, BGP routing without encapsulation", "calico",
                   ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("10.96.0.0/16"), 26),
        CniProfile("cilium-tunnel", "Cilium, VXLAN tunnel", "cilium",
                   ipaddress.ip_network("10.244.0.0/16"), ipaddress.ip_network("10.96.0.0/16"), 24,
                   ipblock_matches_cluster=False),
        CniProfile("cilium-native", "Cilium, native routing with kube-proxy replacement", "cilium",
                   ipaddress.ip_network("10.244.0.0/16"), ipaddress.ip_network("10.96.0.0/16"), 24,
                   ipblock_matches_cluster=False),
    )
}

DEFAULT_PROFILE = "kindnet"


def get_profile(name: str | CniProfile | None = None) -> CniProfile:
    if isinstance(name, CniProfile):
        return name
    try:
        return PROFILES[name or DEFAULT_PROFILE]
    except KeyError:
        raise ValueError(f"unknown CNI profile {name!r}; choose one of: {', '.join(PROFILES)}") from None
