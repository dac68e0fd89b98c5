"""Scenarios on the ``shop`` topology: the site behind an Ingress (and a Gateway) with TLS, /api
routed to the backend, and the NetworkPolicy that forgets the ingress controller.

Why the policy breaks the site: the controller proxies to the backend pods itself, so the
backend's ingress policy sees the *controller* as the client (kubernetes.io "Network Policies":
policies select pods by labels; ingress-nginx connects to pod endpoints). With
cloud-provider-kind the proxy is an Envoy container outside the pod network and reaches the
Service through the control-plane node, so the backend sees that node's address.
"""

from __future__ import annotations

import pytest

import grader
from grader.reachability import Verdict
from grader.tls import mint_ca

from support.shop import SHOP_SERVICES

SITE = SHOP_SERVICES + """---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  ingressClassName: nginx
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
"""

# The classic mistake: "only pods of this namespace may talk to the shop".
SHOP_ONLY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: shop-internal-only, namespace: shop}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]
"""

ALLOW_CONTROLLER = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-ingress-controller, namespace: shop}
spec:
  podSelector: {matchLabels: {tier: frontend}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}
      podSelector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}
    ports: [{port: http}]
"""


@pytest.fixture(scope="module")
def ca():
    return mint_ca("shop CA")


@pytest.fixture
def shop(ca):
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.install_ingress_controller("ingress-nginx")
    lab.apply([ca.issue(["shop.example.com"]).secret("shop-tls", "shop"), SITE])
    return lab


def get(lab, path: str, ca):
    return lab.http("host", f"https://shop.example.com{path}", resolve=lab.address("ingress/shop/shop"), ca=ca)


def test_site_is_exposed_with_tls_and_api_goes_to_the_backend(shop, ca):
    home, api = get(shop, "/", ca), get(shop, "/api/orders", ca)
    assert (home.http.status, home.answered_by) == (200, "shop/web")
    assert (api.http.status, api.answered_by) == (200, "shop/api")
    for r in (home, api):
        assert r.http.certificate_trusted is True
        assert r.client_ip == str(shop.state.pod("ingress-nginx/ingress-nginx-controller").ip)  # the backend sees the controller
    trace = home.explain()
    for step in ("load-balancer", "nodeport", "ingress-controller", "tls", "ingress-rule", "upstream", "policy"):
        assert f"{step}:" in trace


def test_policy_that_forgets_the_ingress_controller_breaks_the_site_and_says_why(shop, ca):
    shop.apply(SHOP_ONLY)
    r = get(shop, "/", ca)
    assert r.verdict is Verdict.BLOCKED
    assert r.http.status == 504 and r.http.served_by == "ingress-nginx/ingress-nginx-controller"
    assert "shop/shop-internal-only" in r.reason
    assert "ingress to shop/web: BLOCKED" in r.reason and "ingress-nginx/ingress-nginx-controller" in r.reason
    assert "kubernetes.io/metadata.name: ingress-nginx" in r.reason  # the hint names the fix
    # Inside the namespace everything still works, which is why the mistake goes unnoticed.
    assert shop.probe("shop/web", "api", 8080).verdict is Verdict.ALLOWED
    shop.apply(ALLOW_CONTROLLER)
    assert get(shop, "/", ca).http.status == 200
    still = get(shop, "/api/x", ca)
    assert still.verdict is Verdict.BLOCKED and "shop/api" in still.reason  # the fix only opened the frontend


@pytest.mark.parametrize(("profile", "fixed"), [
    ("kindnet", True),
    # Cilium never matches node addresses with ipBlock (docs.cilium.io; fact aks-cilium-ipblock).
    ("cilium-tunnel", False),
])
def test_gateway_on_cloud_provider_kind_needs_the_node_address_allowed(ca, profile, fixed):
    lab = grader.connect(profile, backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply([ca.issue(["shop.example.com"]).secret("shop-tls", "shop"), SHOP_SERVICES, """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    hostname: shop.example.com
    tls: {certificateRefs: [{name: shop-tls}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: public}]
  rules:
  - backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api, port: 8080}]
""", SHOP_ONLY])
    addr = lab.address("gateway/shop/public")
    r = lab.http("host", "https://shop.example.com/", resolve=addr, ca=ca)
    assert r.verdict is Verdict.BLOCKED and r.http.status == 503
    assert "node kind-control-plane (172.18.0.2)" in r.reason and "ipBlock" in r.reason
    lab.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-gateway, namespace: shop}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 172.18.0.2/32}}]}]
""")
    after = lab.http("host", "https://shop.example.com/api", resolve=addr, ca=ca)
    if fixed:
        assert after.answered_by == "shop/api" and after.http.status == 200
    else:
        assert after.verdict is Verdict.BLOCKED and after.http.status == 503
