"""``calico-flat`` on kind: the second, disabled IP pool that keeps traffic to the node network unNATed.

Calico's ``natOutgoing`` masquerades pod traffic "to destinations outside all Calico IP pools"; a
pool with ``disabled: true`` allocates nothing but still counts as a pool, which is Calico's
documented way to exempt a range from outgoing NAT
(https://docs.tigera.io/calico/latest/networking/configuring/workloads-outside-cluster).
The profile's pod range is the upper half of the node network, so the disabled pool is the lower
half: the nodes, ``vm.internal`` and cloud-provider-kind's load-balancer addresses live there
(Docker hands out addresses from the bottom of the kind network). Pools may not overlap, so the
node network is split rather than covered whole.

In the operator's Installation (docs.tigera.io/calico/latest/reference/installation/api, IPPool)
the pool is kept free of pods twice over: ``nodeSelector: "!all()"`` (no node allocates from it,
the documented way to reserve a pool) and ``disableNewAllocations``; which of the two a given
operator release honours was not verified against a live cluster (no Docker here).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..cni import NODE_NETWORK, CniProfile


def node_network_pool(profile: CniProfile) -> dict[str, Any]:
    """The operator's ``ipPools`` entry for the part of the node network that holds no pods."""
    rest = [n for n in NODE_NETWORK.address_exclude(ipaddress.ip_network(profile.pod_subnet))]  # type: ignore[arg-type]
    if len(rest) != 1:
        raise ValueError(f"{profile.name}: the pod range {profile.pod_subnet} must be one half of {NODE_NETWORK}")
    return {"name": "node-network-no-nat", "cidr": str(rest[0]), "blockSize": profile.node_block_prefix,
            "encapsulation": "None", "natOutgoing": "Disabled", "disableNewAllocations": True, "nodeSelector": "!all()"}
