"""LoadBalancer providers: who gives a ``type: LoadBalancer`` Service its address, and how traffic
to that address reaches the nodes.

* ``cloud-provider-kind`` (kind; kubernetes-sigs/cloud-provider-kind ``pkg/loadbalancer``): one
  Envoy container per LoadBalancer Service on the docker network ``kind``; its container address
  *is* the EXTERNAL-IP, handed out by Docker after the node containers (kind's Ingress page shows
  ``172.18.0.5`` on a default three-node setup). Envoy terminates the client's TCP connection and
  opens a new one to ``<node InternalIP>:<nodePort>`` of every node, health-checked on kube-proxy's
  ``:10256/healthz`` (``Cluster``) or the Service's ``healthCheckNodePort`` (``Local``), so with
  ``Local`` only nodes with a ready local endpoint receive traffic. The status sets
  ``ipMode: Proxy``, so kube-proxy does not short-circuit in-cluster traffic to the address: pods
  go through Envoy too. ``loadBalancerSourceRanges`` become an Envoy source-IP filter.
  Because Envoy proxies, a backend never sees the original client address: with ``Cluster`` it
  sees the node that SNATed, with ``Local`` the Envoy container's address (fact ``cloud-provider-kind-lb-proxy``).
* ``azure`` (AKS; learn.microsoft.com "Use a public standard load balancer in AKS"): a
  pass-through layer-4 load balancer; the client address survives to the node, so
  ``externalTrafficPolicy: Local`` preserves it. kube-proxy answers for the address inside the
  cluster (``ipMode: VIP``), and enforces ``loadBalancerSourceRanges`` on the host as the NSG does
  outside (so pods need the pod CIDR in the ranges to reach the address, fact
  ``aks-lb-source-ranges``).

Nodes labelled ``node.kubernetes.io/exclude-from-external-load-balancers`` (kubeadm puts it on
control-plane nodes) are never load-balancer backends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..model import Node
from ..model.cluster import IPAddress, IPNetwork
from ..model.services import Service
from .routing import SOURCE_RANGES_ANNOTATION, annotation_source_ranges


@dataclass(frozen=True, slots=True)
class LoadBalancerProvider:
    name: str
    title: str
    proxy: bool
    """True when the load balancer terminates connections (backends never see the client IP)."""
    ip_mode: str
    """``Proxy`` or ``VIP`` (``status.loadBalancer.ingress[].ipMode``)."""
    pool: IPNetwork | None
    """Where addresses come from; None means the node network (after the nodes' own addresses)."""
    pool_start: int = 0
    source: str = ""

    def candidates(self, node_network: IPNetwork, taken: set[IPAddress]) -> Iterator[IPAddress]:
        net = self.pool or node_network
        for i, host in enumerate(net.hosts()):
            ip = ipaddress.ip_address(int(host))
            if i >= self.pool_start and ip not in taken:
                yield ip

    def assign(self, svc: Service, node_network: IPNetwork, taken: set[IPAddress]) -> tuple[IPAddress | None, str]:
        """The address for ``svc`` and a note ('' when assigned as usual)."""
        if svc.load_balancer_class is not None:
            return None, (f"spec.loadBalancerClass is {svc.load_balancer_class!r}: {self.name} only serves Services "
                          "without a class, so the address stays <pending> until a controller for that class exists")
        if self.name == "azure" and svc.load_balancer_source_ranges and annotation_source_ranges(svc):
            # cloud-provider-azure v1.36 pkg/provider/loadbalancer/accesscontrol.go NewAccessControl:
            # ErrSetBothLoadBalancerSourceRangesAndAllowedIPRanges fails EnsureLoadBalancer.
            return None, (f"both spec.loadBalancerSourceRanges and the {SOURCE_RANGES_ANNOTATION} annotation are set: the Azure "
                          "cloud provider refuses that (\"cannot set both spec.LoadBalancerSourceRanges and service annotation\"), "
                          "so the address stays <pending>; keep only the spec field")
        wanted = svc.requested_load_balancer_ip
        if wanted is not None:
            net = self.pool or node_network
            if wanted in taken or wanted not in net:
                return None, f"spec.loadBalancerIP {wanted} is not available from {self.name} (taken or outside {net}); the address stays <pending>"
            return wanted, ""
        return next(self.candidates(node_network, taken), None), ""


PROVIDERS: dict[str, LoadBalancerProvider] = {
    "cloud-provider-kind": LoadBalancerProvider(
        "cloud-provider-kind", "cloud-provider-kind (an Envoy container per Service on the kind network)",
        proxy=True, ip_mode="Proxy", pool=None,
        source="https://github.com/kubernetes-sigs/cloud-provider-kind (pkg/loadbalancer/server.go, proxy.go)",
    ),
    "azure": LoadBalancerProvider(
        "azure", "Azure Standard Load Balancer (pass-through, public frontend IP)",
        proxy=False, ip_mode="VIP", pool=ipaddress.ip_network("192.0.2.0/24"), pool_start=9,
        source="https://learn.microsoft.com/azure/aks/load-balancer-standard",
    ),
}
"""The Azure pool is TEST-NET-1 (RFC 5737), standing in for public frontend IPs."""

DEFAULT_PROVIDER = "cloud-provider-kind"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def get_provider(name: str | LoadBalancerProvider | None) -> LoadBalancerProvider:
    if isinstance(name, LoadBalancerProvider):
        return name
    try:
        return PROVIDERS[name or DEFAULT_PROVIDER]
    except KeyError:
        raise ValueError(f"unknown load-balancer provider {name!r}; choose one of: {', '.join(PROVIDERS)}") from None


def backend_nodes(nodes: Iterable[Node]) -> list[Node]:
    """Nodes a cloud load balancer sends to: not the control plane (kubeadm labels it
    ``node.kubernetes.io/exclude-from-external-load-balancers``), unless it is the only node."""
    nodes = list(nodes)
    workers = [n for n in nodes if n.role != "control-plane"]
    return workers or nodes
