"""Pod address allocation per CNI, deterministic so tables and lessons are reproducible.

* kindnet and Cilium (``ipam.mode=kubernetes``): each node owns the /24 podCIDR that
  kube-controller-manager gave it; the CNI's host-local allocator hands out .2, .3, ... (.1 is
  the node side of the pod routes).
* Calico: the pool is cut into /26 IPAM blocks; a node claims the next free block when it needs
  addresses and takes another when one fills. With an encapsulated pool (VXLAN/IPIP) the first
  address of a node's first block goes to its tunnel device (vxlan.calico / tunl0), as calico-node
  does for overlay pools; a pool without encapsulation gets no tunnel address.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..model import Node
from ..model.cluster import IPAddress, IPNetwork
from .profiles import CniProfile


def _addresses(network: IPNetwork) -> Iterable[IPAddress]:
    """The network's addresses in order (typed: iterating the IPv4/IPv6 union directly infers their common base)."""
    return network


class Ipam:
    def __init__(self, profile: CniProfile, nodes: tuple[Node, ...]) -> None:
        self.profile = profile
        self.nodes = {n.name: n for n in nodes}
        self._used: set[IPAddress] = set()
        self._free_blocks: Iterator[IPNetwork] = profile.pod_subnet.subnets(new_prefix=profile.node_block_prefix)
        self.blocks: dict[str, list[IPNetwork]] = {}

    def _candidates(self, node: str) -> Iterator[IPAddress]:
        if self.profile.cni == "calico":
            owned = self.blocks.setdefault(node, [])
            tunnel = self.profile.encapsulated
            for block in list(owned):
                yield from (ip for i, ip in enumerate(_addresses(block)) if not (tunnel and i == 0 and block == owned[0]))
            while True:
                block = next(self._free_blocks)
                owned.append(block)
                yield from (ip for i, ip in enumerate(_addresses(block)) if not (tunnel and i == 0 and block == owned[0]))
        else:
            cidr = self.nodes[node].pod_cidr
            assert cidr is not None
            self.blocks.setdefault(node, [cidr])
            yield from (ip for i, ip in enumerate(_addresses(cidr)) if i >= 2 and ip != cidr.broadcast_address)

    def allocate(self, node: str) -> IPAddress:
        for ip in self._candidates(node):
            if ip not in self._used:
                self._used.add(ip)
                return ip
        raise RuntimeError(f"node {node} has no free pod addresses")

    def reserve(self, ip: IPAddress) -> None:
        self._used.add(ip)

    def release(self, ip: IPAddress) -> None:
        self._used.discard(ip)

    def tunnel_address(self, node: str) -> IPAddress | None:
        """Calico's per-node tunnel address (first address of its first block), once it has one."""
        owned = self.blocks.get(node)
        if self.profile.cni != "calico" or not self.profile.encapsulated or not owned:
            return None
        return owned[0][0]
