"""Services and kube-proxy: allocation, endpoints, traffic policies, load balancing, LB providers.

Pure semantics over model objects; the simulated lab holds the state and calls in here.
"""

from .allocation import NODE_PORT_RANGE, Allocator, dns_service_ip, kubernetes_service_ip
from .balancing import Balancer
from .endpoints import Backend, Exclusion, PortEndpoints, port_endpoints, ready_pod_addresses, selected_pods, service_endpoints
from .providers import DEFAULT_PROVIDER, PROVIDERS, LoadBalancerProvider, backend_nodes, get_provider
from .routing import (
    SOURCE_RANGES_ANNOTATION,
    Eligibility,
    annotation_source_ranges,
    cloud_source_allowed,
    cloud_source_ranges,
    healthy_lb_nodes,
    ignored_annotation_note,
    provider_source_ranges,
    source_allowed,
    via_cluster_ip,
    via_node,
)
from .views import Distribution, EndpointsInfo, ServiceInfo, services_table

__all__ = [
    "SOURCE_RANGES_ANNOTATION", "annotation_source_ranges", "cloud_source_allowed", "cloud_source_ranges", "ignored_annotation_note",
    "provider_source_ranges", "Allocator", "Backend", "Balancer", "DEFAULT_PROVIDER", "Distribution", "Eligibility", "EndpointsInfo", "Exclusion",
    "LoadBalancerProvider", "NODE_PORT_RANGE", "PROVIDERS", "PortEndpoints", "ServiceInfo", "backend_nodes",
    "dns_service_ip", "get_provider", "healthy_lb_nodes", "kubernetes_service_ip", "port_endpoints", "ready_pod_addresses",
    "selected_pods", "service_endpoints", "services_table", "source_allowed", "via_cluster_ip", "via_node",
]
