"""What kube-proxy does with a connection to a Service address: which endpoints are eligible,
whether the source is SNATed, and when it rejects or drops instead.

Source: kubernetes ``pkg/proxy/iptables/proxier.go`` (the nftables proxier implements the same
rules) and kubernetes.io "Service" → "Traffic policies", "Using Source IP":

* No ready endpoint at all: the Service's addresses are REJECTed ("has no endpoints"), so the
  client gets *connection refused* at once.
* ``internalTrafficPolicy: Local``: traffic to the clusterIP only goes to endpoints on the
  client's node; with none there it is DROPped ("has no local endpoints"): the client times out.
* NodePort / load-balancer traffic (``KUBE-EXT-*`` chains):
  - ``externalTrafficPolicy: Cluster``: every ready endpoint is eligible and the connection is
    masqueraded to the receiving node's address ("masquerade traffic for ... external
    destinations"), so the reply comes back through that node; the endpoint may be on another node.
  - ``Local``: only endpoints on the receiving node, no SNAT (the client address is preserved);
    none there: DROP. Traffic from pods ("pod traffic for ... external destinations") and from the
    node itself is short-circuited to the Cluster chain, so in-cluster clients are not dropped.
* ``loadBalancerSourceRanges`` (``KUBE-FW-*``): a source outside every range is DROPped. kube-proxy
  reads only ``spec.loadBalancerSourceRanges`` (``pkg/proxy/serviceport.go`` ``newBaseServiceInfo``),
  never the legacy annotation below.

The legacy annotation ``service.beta.kubernetes.io/load-balancer-source-ranges`` (comma-separated
CIDRs) is read only by cloud providers, through ``GetLoadBalancerSourceRanges`` (k8s.io/cloud-provider
``service/helpers/helper.go``): the spec field when it has entries, else the annotation, else allow
all. Who reads what (see :func:`provider_source_ranges`):

* kube-proxy and cloud-provider-kind (``pkg/loadbalancer/proxy.go``, v0.11.1): the spec field only;
* the Azure cloud provider (cloud-provider-azure v1.36, ``pkg/provider/loadbalancer/configuration.go``
  ``AllowedIPRanges``): the annotation too, written into the NSG allow rule it adds; with both the
  spec field and the annotation set it refuses the Service (``accesscontrol.go``: "cannot set both
  spec.LoadBalancerSourceRanges and service annotation"), so the address stays pending.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from ..model.cluster import IPAddress, IPNetwork
from ..model.services import Service, TrafficPolicy
from .endpoints import Backend


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Endpoints kube-proxy may choose from, or why there are none."""

    backends: tuple[Backend, ...]
    snat: bool = False
    """True when the receiving node masquerades the connection to its own address."""
    refused: str = ""
    """Non-empty: kube-proxy REJECTs (connection refused), with this reason."""
    dropped: str = ""
    """Non-empty: kube-proxy DROPs (the client times out), with this reason."""
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.refused and not self.dropped and bool(self.backends)


def _no_endpoints(service: Service, ready: Sequence[Backend], all_backends: Sequence[Backend]) -> str:
    if all_backends and not ready:
        names = ", ".join(b.label for b in all_backends)
        return f"Service {service.ref} has no ready endpoints ({names} not ready): kube-proxy rejects the connection"
    if service.selector is None:
        return f"Service {service.ref} has no selector and no EndpointSlice: no endpoints, kube-proxy rejects the connection"
    selector = ",".join(f"{k}={v}" for k, v in service.selector.items()) or "(empty)"
    return f"Service {service.ref} has no endpoints (no pod in {service.namespace} matches selector {selector}): kube-proxy rejects the connection"


def via_cluster_ip(service: Service, backends: Sequence[Backend], client_node: str | None) -> Eligibility:
    """A connection to the clusterIP from a pod or a node (``client_node``: where the client runs)."""
    ready = tuple(b for b in backends if b.ready)
    if not ready:
        return Eligibility((), refused=_no_endpoints(service, ready, backends))
    if service.internal_traffic_policy is TrafficPolicy.LOCAL:
        local = tuple(b for b in ready if b.node == client_node)
        if not local:
            return Eligibility((), dropped=(
                f"Service {service.ref} has internalTrafficPolicy: Local and no ready endpoint on {client_node} "
                f"(ready endpoints are on {', '.join(sorted({b.node or '?' for b in ready}))}): kube-proxy drops the packet"
            ))
        return Eligibility(local, note=f"internalTrafficPolicy: Local: only endpoints on {client_node}")
    return Eligibility(ready)


def via_node(service: Service, backends: Sequence[Backend], receiving_node: str, *, client_in_cluster: bool) -> Eligibility:
    """A connection arriving at ``receiving_node`` for a nodePort (or, with ``ipMode: VIP``, the LB address)."""
    ready = tuple(b for b in backends if b.ready)
    if not ready:
        return Eligibility((), refused=_no_endpoints(service, ready, backends))
    if service.external_traffic_policy is TrafficPolicy.LOCAL:
        if client_in_cluster:
            return Eligibility(ready, note="externalTrafficPolicy: Local does not apply to traffic from inside the cluster (kube-proxy sends it to any endpoint)")
        local = tuple(b for b in ready if b.node == receiving_node)
        if not local:
            return Eligibility((), dropped=(
                f"Service {service.ref} has externalTrafficPolicy: Local and no ready endpoint on {receiving_node}: "
                f"kube-proxy drops the packet (only {', '.join(sorted({b.node or '?' for b in ready}))} answer)"
            ))
        return Eligibility(local, note=f"externalTrafficPolicy: Local: endpoint on {receiving_node}, client address preserved")
    return Eligibility(ready, snat=True, note=f"externalTrafficPolicy: Cluster: {receiving_node} masquerades the connection to its own address")


def healthy_lb_nodes(service: Service, backends: Sequence[Backend], nodes: Sequence[str]) -> tuple[list[str], str]:
    """Nodes a cloud load balancer's health check keeps (``healthCheckNodePort`` for Local)."""
    if service.external_traffic_policy is TrafficPolicy.LOCAL:
        with_local = [n for n in nodes if any(b.ready and b.node == n for b in backends)]
        if not with_local:
            return [], (f"externalTrafficPolicy: Local and no node has a ready endpoint: every node fails the "
                        f"health check on healthCheckNodePort {service.health_check_node_port}")
        return with_local, f"health check on healthCheckNodePort {service.health_check_node_port} passes only on {', '.join(with_local)}"
    return list(nodes), "health check on kube-proxy :10256/healthz passes on every node"


SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"


def annotation_source_ranges(service: Service) -> tuple[IPNetwork, ...]:
    """The CIDRs of the legacy annotation (comma-separated, spaces trimmed; empty means allow all).
    The API server validates them only while the spec field is empty; entries that do not parse (possible
    next to a spec field) are left out, as cloud-provider-azure's ``AllowedIPRanges`` leaves them out of the rule."""
    text = service.annotations.get(SOURCE_RANGES_ANNOTATION, "").strip()
    out = []
    for part in text.split(",") if text else []:
        try:
            out.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            continue
    return tuple(out)


def cloud_source_ranges(service: Service) -> tuple[tuple[IPNetwork, ...], str]:
    """``GetLoadBalancerSourceRanges``: the spec field if it has entries, else the annotation; and
    which of the two it was (``spec.loadBalancerSourceRanges``, the annotation, or '' for none)."""
    if service.load_balancer_source_ranges:
        return service.load_balancer_source_ranges, "spec.loadBalancerSourceRanges"
    ranges = annotation_source_ranges(service)
    return ranges, (f"annotation {SOURCE_RANGES_ANNOTATION}" if ranges else "")


def provider_source_ranges(service: Service, provider: str) -> tuple[tuple[IPNetwork, ...], str]:
    """The source ranges the load balancer of ``provider`` enforces, and where they come from:
    Azure reads the annotation as well; cloud-provider-kind (and kube-proxy) only the spec field."""
    if provider == "azure":
        return cloud_source_ranges(service)
    ranges = service.load_balancer_source_ranges
    return ranges, ("spec.loadBalancerSourceRanges" if ranges else "")


def ignored_annotation_note(service: Service, provider: str) -> str:
    """'' unless the Service relies on the legacy annotation where ``provider`` does not read it."""
    if service.load_balancer_source_ranges or not annotation_source_ranges(service) or provider == "azure":
        return ""
    return (f"{provider} does not read the {SOURCE_RANGES_ANNOTATION} annotation (only spec.loadBalancerSourceRanges), "
            f"so it does not limit the sources of {service.ref}")


def source_allowed(service: Service, client: IPAddress) -> str:
    """'' when ``client`` may use the LB address as kube-proxy (and cloud-provider-kind) see it:
    ``spec.loadBalancerSourceRanges`` only; otherwise why not."""
    ranges = service.load_balancer_source_ranges
    if not ranges or any(client.version == r.version and client in r for r in ranges):
        return ""
    listed = ", ".join(str(r) for r in ranges)
    return f"{client} is not in loadBalancerSourceRanges of {service.ref} ({listed}): the load balancer drops it"


def cloud_source_allowed(service: Service, client: IPAddress) -> str:
    """'' when the cloud load balancer's own filter (Azure: the NSG rule it adds) admits ``client``:
    the spec field or, when that is empty, the legacy annotation; otherwise why not."""
    ranges, origin = cloud_source_ranges(service)
    if not ranges or any(client.version == r.version and client in r for r in ranges):
        return ""
    listed = ", ".join(str(r) for r in ranges)
    return f"{client} is not in the source ranges of {service.ref} ({origin}: {listed}): the load balancer drops it"
