"""Gateway API implementations the simulated cluster knows, and where their data plane runs.

* ``cloud-provider-kind`` (kind): GatewayClass ``cloud-provider-kind``, controllerName
  ``kind.sigs.k8s.io/gateway-controller`` (``pkg/gateway/controller.go``). One Envoy container
  per Gateway on the docker network ``kind`` (its address is the Gateway's address), configured
  over xDS. For a Service backend Envoy connects to the clusterIP (STATIC cluster; headless
  Services by DNS) through a route via the control-plane node (``pkg/gateway/kindcluster.go``,
  route-adder), where kube-proxy DNATs and masquerades the off-cluster source: the backend pod
  sees the control-plane node's address. HTTP and HTTPS (Terminate) listeners; passes the
  Gateway API core conformance tests. Filters: RequestRedirect and RequestHeaderModifier only; a
  rule with any other filter (URLRewrite, ResponseHeaderModifier) is dropped and the route says
  ``PartiallyInvalid`` (``pkg/gateway/httproute.go``).
* ``approuting-istio`` (AKS application routing add-on, fact ``aks-app-routing-gateway-api``):
  Istio without sidecars; for each Gateway it deploys an Envoy Deployment and a LoadBalancer
  Service named ``<gateway>-approuting-istio`` in the Gateway's namespace (Istio "automated
  deployment"), so the data plane is a pod that NetworkPolicies can select, and it sends to pod
  endpoints directly. Its controllerName is not documented by AKS; Istio's default
  ``istio.io/gateway-controller`` is assumed here. Istio implements the header modifiers,
  RequestRedirect and URLRewrite (istio.io "Gateway API" task, conformance reports in
  kubernetes-sigs/gateway-api ``conformance/reports``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..facts import fact
from ..ingress.controllers import Placement, Upstream
from ..model.gateway import ListenerProtocol


@dataclass(frozen=True, slots=True)
class GatewayImplementation:
    name: str
    title: str
    class_name: str
    controller_name: str
    placement: Placement
    upstream: Upstream
    protocols: tuple[ListenerProtocol, ...] = (ListenerProtocol.HTTP, ListenerProtocol.HTTPS)
    filters: tuple[str, ...] = ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite")
    """HTTPRoute filter types it carries out; a rule with another filter is dropped (``attachment.dropped_rules``)."""
    deployment_suffix: str = ""
    """For pod data planes: Deployment/Service name is ``<gateway>-<suffix>``."""
    sources: tuple[str, ...] = ()


CLOUD_PROVIDER_KIND_GATEWAY = GatewayImplementation(
    "cloud-provider-kind", "cloud-provider-kind (Envoy container per Gateway on the kind network)",
    "cloud-provider-kind", "kind.sigs.k8s.io/gateway-controller", Placement.NODE_NETWORK, Upstream.CLUSTER_IP,
    # fact cloud-provider-kind-gateway-filters (pkg/gateway/httproute.go findUnsupportedFilter;
    # pkg/gateway/features.go claims no HTTPRoutePathRewrite/HostRewrite/ResponseHeaderModification).
    filters=tuple(fact("cloud-provider-kind-gateway-filters").value),
    sources=("https://github.com/kubernetes-sigs/cloud-provider-kind/blob/main/docs/user/gateway/gatewayapi.md",
             "https://github.com/kubernetes-sigs/cloud-provider-kind/blob/main/pkg/gateway/httproute.go"),
)

APPROUTING_ISTIO = GatewayImplementation(
    "approuting-istio", "AKS application routing, Gateway API on Istio (Envoy pod per Gateway)",
    "approuting-istio", "istio.io/gateway-controller", Placement.POD, Upstream.ENDPOINTS,
    deployment_suffix="approuting-istio",
    sources=("https://learn.microsoft.com/azure/aks/app-routing-gateway-api",
             "https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/#automated-deployment"),
)

IMPLEMENTATIONS: dict[str, GatewayImplementation] = {i.name: i for i in (CLOUD_PROVIDER_KIND_GATEWAY, APPROUTING_ISTIO)}


def by_controller(controller_name: str) -> GatewayImplementation | None:
    return next((i for i in IMPLEMENTATIONS.values() if i.controller_name == controller_name), None)


def get_implementation(name: str) -> GatewayImplementation:
    try:
        return IMPLEMENTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown Gateway API implementation {name!r}; choose one of: {', '.join(IMPLEMENTATIONS)}") from None
