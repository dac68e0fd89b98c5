"""``lab.install_gateway_class("approuting-istio")`` on kind: upstream Istio as a stand-in for the
Gateway API implementation of AKS's application routing add-on (fact ``aks-app-routing-gateway-api``).

What AKS runs: a managed Istio control plane without sidecar injection or Istio CRDs, which
deploys, for each Gateway of GatewayClass ``approuting-istio``, an Envoy Deployment and a
LoadBalancer Service named ``<gateway>-approuting-istio`` in the Gateway's namespace
(https://learn.microsoft.com/azure/aks/app-routing-gateway-api).

What this installs (pinned, fact ``istio-version``), the way Istio documents a Helm install
(https://istio.io/latest/docs/setup/install/helm/):

1. ``helm upgrade --install istio-base base`` and ``istiod istiod`` from
   ``https://istio-release.storage.googleapis.com/charts`` into ``istio-system``. Gateway API
   support is on by default in istiod (``PILOT_ENABLE_GATEWAY_API``, default true); it is set
   explicitly so the intent is visible. No namespace is labelled for injection, so no pod gets
   a sidecar: like AKS's implementation, Istio only runs Gateways here.
2. The Gateway API CRDs come from cloud-provider-kind, which installs the standard channel
   (v1.6.1, research/kind.md §6); Istio 1.30 and newer need v1.5 or newer (fact ``istio-version``).
3. A GatewayClass ``approuting-istio`` with Istio's controllerName ``istio.io/gateway-controller``.
   Istio's automated deployment names what it creates ``<gateway>-<gatewayclass>``
   (https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/#automated-deployment),
   which gives the ``<gateway>-approuting-istio`` names AKS documents; that Istio reconciles a
   GatewayClass other than its built-in ``istio`` when the controllerName is its own is how the
   Gateway API assigns classes (gateway-api.sigs.k8s.io/api-types/gatewayclass); AKS does not
   document its controllerName, so this is the course's assumption (``grader.gateway.implementations``).

What differs from AKS's managed implementation, stated to the learner when it is installed:
the Istio version (AKS does not publish the one it runs), no HorizontalPodAutoscaler or
PodDisruptionBudget per Gateway, no Azure DNS or Key Vault integration, the Gateway's address
comes from cloud-provider-kind (an address on the kind network) instead of an Azure Load Balancer.
"""

from __future__ import annotations

from typing import Any

from ..facts import fact

CHART_REPO = "https://istio-release.storage.googleapis.com/charts"
NAMESPACE = "istio-system"
CLASS_NAME = "approuting-istio"
CONTROLLER_NAME = "istio.io/gateway-controller"
RELEASES = (("istio-base", "base"), ("istiod", "istiod"))
ISTIOD_VALUES = ("pilot.env.PILOT_ENABLE_GATEWAY_API=true",)
DIFFERENCES = ("upstream Istio {version} stands in for AKS's managed control plane (AKS does not publish its Istio version); "
               "no autoscaler or disruption budget per Gateway; no Azure DNS or Key Vault integration; "
               "the Gateway's address comes from cloud-provider-kind on the kind network, not from an Azure Load Balancer")


def version() -> str:
    return str(fact("istio-version").value)


def helm_argv(kubeconfig: str, *, helm: str = "helm", timeout_s: int = 600) -> list[list[str]]:
    """The two ``helm upgrade --install`` commands, in order (base first: it holds the CRDs istiod needs)."""
    out = []
    for release, chart in RELEASES:
        argv = [helm, "upgrade", "--install", release, chart, "--repo", CHART_REPO, "--version", version(),
                "--namespace", NAMESPACE, "--create-namespace", "--kubeconfig", kubeconfig, "--wait", "--timeout", f"{timeout_s}s"]
        if chart == "istiod":
            for value in ISTIOD_VALUES:
                argv += ["--set", value]
        out.append(argv)
    return out


def gateway_class() -> dict[str, Any]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
            "metadata": {"name": CLASS_NAME, "labels": {"app.kubernetes.io/managed-by": "netlab"}},
            "spec": {"controllerName": CONTROLLER_NAME,
                     "description": "AKS application routing's Gateway API implementation, modelled with upstream Istio"}}


def install_notice() -> str:
    return (f"netlab: installing Istio {version()} (Helm charts base + istiod) and GatewayClass {CLASS_NAME} as a stand-in for "
            f"AKS application routing's Gateway API implementation. Differences: {DIFFERENCES.format(version=version())}.")
