"""Ingress controllers the simulated cluster can run, and where they differ.

The Ingress API leaves much to the controller ("Ideally, all Ingress controllers should fit the
reference specification. In reality, the various Ingress controllers operate slightly
differently", kubernetes.io "Ingress"). Each entry records what its controller does where the spec
is silent, with the source:

* ``ingress-nginx`` -- the controller pod runs in its own namespace (``ingress-nginx``), behind a
  ``LoadBalancer`` Service, and proxies to the backend **pods** directly (it watches
  EndpointSlices; kubernetes/ingress-nginx ``deploy/static/provider/kind``). So backends see the
  controller pod's address and a NetworkPolicy on the backends must allow that pod. Spec host
  wildcards (one label), ``ImplementationSpecific`` = ``Prefix`` without regex annotations, 308
  redirect to HTTPS for hosts listed under ``tls`` (``ssl-redirect``), the self-signed
  "Kubernetes Ingress Controller Fake Certificate" when no valid certificate matches the SNI,
  404 from the default backend when nothing matches, 503 when the Service is missing or has no
  ready endpoint, 504 when connecting to the pod times out, 502 when it is refused
  (kubernetes.github.io/ingress-nginx "TLS/HTTPS", "Default backend"). Retired in March 2026
  (fact ``ingress-nginx-retired``): modelled because it is the reference most material describes.
* ``cloud-provider-kind`` -- translates every Ingress of a namespace into one Gateway
  ``kind-ingress-gateway`` plus HTTPRoutes, served by an Envoy container on the node network
  (not a pod: NetworkPolicies cannot select it). Envoy sends to the Service's clusterIP, routed
  through the control-plane node, where kube-proxy masquerades the off-cluster source: backends
  see the control-plane node's address. Hosts follow Gateway API: ``*.foo.com`` also matches
  ``baz.bar.foo.com`` (documented in its ``pkg/ingress/README.md`` as a known incompatibility).
  No HTTP-to-HTTPS redirect; 404 when no route matches; 500 for a missing backend Service
  (Gateway API); Envoy's 503 when the upstream connection fails (fact ``cloud-provider-kind-ingress``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..model import Labels


class Placement(StrEnum):
    POD = "pod"
    """The proxy is a pod in the cluster (NetworkPolicies can select it)."""
    NODE_NETWORK = "node-network container"
    """The proxy is a container next to the nodes (kind's docker network), outside the pod network."""


class Upstream(StrEnum):
    ENDPOINTS = "endpoints"
    """The proxy connects to backend pod addresses itself."""
    CLUSTER_IP = "cluster-ip"
    """The proxy connects to the Service's clusterIP through a node (kube-proxy DNATs and SNATs)."""


@dataclass(frozen=True, slots=True)
class IngressController:
    name: str
    title: str
    class_name: str
    controller: str
    """``spec.controller`` of its IngressClass."""
    placement: Placement
    upstream: Upstream
    default_class: bool = False
    annotation_class: str | None = None
    """The ``kubernetes.io/ingress.class`` annotation value it honours."""
    namespace: str | None = None
    pod_name: str | None = None
    pod_labels: Labels = field(default_factory=Labels)
    service_name: str | None = None
    wildcard_one_label: bool = True
    ssl_redirect: bool = False
    default_certificate: bool = False
    """Serves a self-signed fallback certificate when no configured one fits the SNI."""
    per_namespace_address: bool = False
    no_route_status: int = 404
    no_endpoints_status: int = 503
    missing_backend_status: int = 503
    upstream_timeout_status: int = 504
    upstream_refused_status: int = 502
    server: str = "nginx"
    sources: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.placement is Placement.POD:
            return f"{self.namespace}/{self.pod_name}"
        return f"{self.name} (Envoy container)"


INGRESS_NGINX = IngressController(
    "ingress-nginx", "ingress-nginx (controller pod in namespace ingress-nginx)", "nginx", "k8s.io/ingress-nginx",
    Placement.POD, Upstream.ENDPOINTS, default_class=False, annotation_class="nginx",
    namespace="ingress-nginx", pod_name="ingress-nginx-controller",
    pod_labels=Labels({"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx",
                       "app.kubernetes.io/component": "controller"}),
    service_name="ingress-nginx-controller", wildcard_one_label=True, ssl_redirect=True, default_certificate=True,
    sources=("https://kubernetes.github.io/ingress-nginx/user-guide/tls/",
             "https://github.com/kubernetes/ingress-nginx/tree/main/deploy/static/provider/kind"),
)

CLOUD_PROVIDER_KIND = IngressController(
    "cloud-provider-kind", "cloud-provider-kind (Ingress translated to Gateway API, Envoy container per namespace)",
    "cloud-provider-kind", "kind.sigs.k8s.io/ingress-controller", Placement.NODE_NETWORK, Upstream.CLUSTER_IP,
    default_class=True, wildcard_one_label=False, ssl_redirect=False, default_certificate=False,
    per_namespace_address=True, missing_backend_status=500, upstream_timeout_status=503, upstream_refused_status=503,
    server="envoy",
    sources=("https://github.com/kubernetes-sigs/cloud-provider-kind/blob/main/pkg/ingress/README.md",
             "https://kind.sigs.k8s.io/docs/user/ingress/"),
)

CONTROLLERS: dict[str, IngressController] = {c.name: c for c in (INGRESS_NGINX, CLOUD_PROVIDER_KIND)}


def get_controller(name: str) -> IngressController:
    try:
        return CONTROLLERS[name]
    except KeyError:
        raise ValueError(f"unknown ingress controller {name!r}; choose one of: {', '.join(CONTROLLERS)}") from None
