"""HTTP(S) through the Lab API: plain pods, Ingress controllers, Gateways, TLS termination.

Sources: kubernetes.io "Ingress" (rules, TLS, IngressClass), ingress-nginx "TLS/HTTPS" (308
redirect, default certificate), cloud-provider-kind (``pkg/ingress``, ``pkg/gateway``),
Gateway API v1 types (matching, filters, backendRefs, status).
"""

from __future__ import annotations

import datetime as dt

import pytest

import grader
from grader.errors import ManifestError
from grader.reachability import Verdict
from grader.tls import mint_ca

from support.shop import SHOP_SERVICES


@pytest.fixture(scope="module")
def ca():
    return mint_ca("shop CA")


@pytest.fixture
def lab():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(SHOP_SERVICES)
    return lab


def ingress(name: str = "shop", cls: str | None = "nginx", rules: str = "", tls: str = "", default: str = "") -> str:
    cls_line = f"\n  ingressClassName: {cls}" if cls else ""
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: {name}, namespace: shop}}
spec:{cls_line}{tls}{default}
  rules:
{rules}
"""


SHOP_RULES = """  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}"""


def test_plain_pod_answers_http_and_refuses_tls(lab):
    r = lab.http("shop/api", "http://web.shop/")
    assert r.verdict is Verdict.ALLOWED and r.http.status == 200 and r.answered_by == "shop/web" and r.http.body == "web"
    tls = lab.http("shop/api", "https://web.shop:80/")
    assert tls.verdict is Verdict.PROBE_FAILED and "plain HTTP" in tls.http.error


def test_dns_failure_for_ingress_hosts_suggests_resolve(lab):
    r = lab.http("host", "http://shop.example.com/")
    assert r.verdict is Verdict.DNS_FAILED and "resolve=" in r.reason


def test_ingress_without_class_gets_the_default_cloud_provider_kind(lab):
    lab.apply(ingress(cls=None, rules=SHOP_RULES))
    status = lab.status("ingress/shop/shop")
    assert status.controller == "cloud-provider-kind" and status.address == "172.18.0.5"
    r = lab.http("host", "http://shop.example.com/api/v1", resolve=status.address)
    assert r.http.status == 200 and r.answered_by == "shop/api"
    assert r.client_ip == "172.18.0.2"  # Envoy → clusterIP via the control plane, masqueraded there
    assert any("masquerades" in h.detail for h in r.hops)


def test_two_default_classes_refuse_classless_ingresses(lab):
    lab.install_ingress_controller("ingress-nginx", default=False)
    lab.apply("""
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
spec: {controller: k8s.io/ingress-nginx}
""")
    with pytest.raises(ManifestError, match="2 default IngressClasses were found"):
        lab.apply(ingress(cls=None, rules=SHOP_RULES))
    lab.apply(ingress(cls="nginx", rules=SHOP_RULES))  # naming a class is always fine


def test_ingress_class_nobody_implements(lab):
    lab.apply(ingress(cls="traefik", rules=SHOP_RULES))
    status = lab.status("ingress/shop/shop")
    assert not status.served and "names no IngressClass" in status.reason


@pytest.fixture
def nginx(lab):
    lab.install_ingress_controller("ingress-nginx")
    return lab


def test_nginx_missing_service_and_port_answer_503(nginx):
    rules = """  - host: shop.example.com
    http:
      paths:
      - {path: /gone, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}
      - {path: /badport, pathType: Prefix, backend: {service: {name: web, port: {name: nope}}}}"""
    nginx.apply(ingress(rules=rules))
    addr = nginx.address("ingress/shop/shop")
    for path, fragment in (("/gone", "does not exist"), ("/badport", "has no port 'nope'")):
        r = nginx.http("host", f"http://shop.example.com{path}", resolve=addr)
        assert r.verdict is Verdict.ALLOWED and r.http.status == 503 and fragment in r.reason
        assert r.http.served_by == "ingress-nginx/ingress-nginx-controller"
    nohost = nginx.http("host", "http://other.example.com/", resolve=addr)
    assert nohost.http.status == 404


def test_cloud_provider_kind_missing_backend_is_500(lab):
    rules = """  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}"""
    lab.apply(ingress(cls="cloud-provider-kind", rules=rules))
    r = lab.http("host", "http://shop.example.com/", resolve=lab.address("ingress/shop/shop"))
    assert r.http.status == 500


def test_wildcard_host_one_label_on_nginx_any_depth_on_cloud_provider_kind(nginx):
    rules = """  - host: "*.example.com"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}"""
    nginx.apply(ingress(rules=rules))
    nginx.apply(ingress(name="kind", cls="cloud-provider-kind", rules=rules))
    via_nginx = nginx.address("ingress/shop/shop")
    via_kind = nginx.address("ingress/shop/kind")
    assert via_nginx != via_kind
    assert nginx.http("host", "http://a.example.com/", resolve=via_nginx).http.status == 200
    assert nginx.http("host", "http://a.b.example.com/", resolve=via_nginx).http.status == 404
    deep = nginx.http("host", "http://a.b.example.com/", resolve=via_kind)
    assert deep.http.status == 200 and "more than one label" in "\n".join(h.detail for h in deep.hops)


def test_tls_termination_sni_and_trust(nginx, ca):
    cert = ca.issue(["shop.example.com"])
    nginx.apply([cert.secret("shop-tls", "shop"), ingress(rules=SHOP_RULES, tls="\n  tls: [{hosts: [shop.example.com], secretName: shop-tls}]")])
    addr = nginx.address("ingress/shop/shop")
    ok = nginx.http("host", "https://shop.example.com/", resolve=addr, ca=ca)
    assert ok.http.status == 200 and ok.http.certificate_trusted is True and "CN=shop.example.com" in ok.http.certificate
    assert ("X-Forwarded-Proto", "https") in ok.http.request_headers  # the backend sees plain HTTP behind the proxy
    other_ca = nginx.http("host", "https://shop.example.com/", resolve=addr, ca=mint_ca("other"))
    assert other_ca.http.certificate_trusted is False and "not a CA the client trusts" in other_ca.http.trust_reason
    # No tls entry for this SNI: ingress-nginx's self-signed default certificate, which no client trusts.
    wrong_sni = nginx.http("host", "https://shop.example.com/", resolve=addr, ca=ca, sni="www.example.com")
    assert "Fake Certificate" in wrong_sni.http.certificate and wrong_sni.http.certificate_trusted is False
    redirect = nginx.http("host", "http://shop.example.com/cart", resolve=addr)
    assert redirect.http.status == 308 and redirect.http.location == "https://shop.example.com/cart"
    later = nginx.http("host", "https://shop.example.com/", resolve=addr, ca=ca, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=120))
    assert later.http.certificate_trusted is False and "expired" in later.http.trust_reason


def test_certificate_that_does_not_cover_the_host_falls_back_to_default(nginx, ca):
    cert = ca.issue(["api.example.com"])
    nginx.apply([cert.secret("shop-tls", "shop"), ingress(rules=SHOP_RULES, tls="\n  tls: [{hosts: [shop.example.com], secretName: shop-tls}]")])
    r = nginx.http("host", "https://shop.example.com/", resolve=nginx.address("ingress/shop/shop"), ca=ca)
    assert "Fake Certificate" in r.http.certificate and "does not cover shop.example.com" in r.reason


GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: shop.example.com
    tls: {mode: Terminate, certificateRefs: [{name: shop-tls}]}
"""


def route(body: str, name: str = "shop") -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: shop}}
spec:
{body}
"""


def test_gateway_listener_without_certificate_is_not_programmed(lab):
    lab.apply(GATEWAY)
    status = lab.status("gateway/shop/public")
    https = next(ls for ls in status.listeners if ls.name == "https")
    assert not https.programmed and "InvalidCertificateRef" in https.render() and "does not exist" in https.render()
    r = lab.http("host", "https://shop.example.com/", resolve=lab.address("gateway/shop/public"))
    assert r.verdict is Verdict.PROBE_FAILED and "not programmed" in r.http.error


def test_gateway_weights_split_traffic(lab):
    lab.apply([GATEWAY, route("""  parentRefs: [{name: public, sectionName: http}]
  rules:
  - backendRefs: [{name: web, port: 80, weight: 80}, {name: api, port: 8080, weight: 20}]""")])
    spread = lab.distribution("host", "http://shop.example.com/", resolve=lab.address("gateway/shop/public"), requests=500)
    share = spread.share("shop/web")
    assert 0.72 < share < 0.88 and spread.share("shop/api") == pytest.approx(1 - share)


def test_gateway_header_match_and_redirect(lab, ca):
    cert = ca.issue(["shop.example.com"])
    lab.apply([cert.secret("shop-tls", "shop"), GATEWAY,
               route("""  parentRefs: [{name: public, sectionName: http}]
  rules:
  - filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]""", "to-https"),
               route("""  parentRefs: [{name: public, sectionName: https}]
  rules:
  - backendRefs: [{name: web, port: 80}]
  - matches: [{headers: [{name: x-version, value: v2}]}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-served, value: canary}]}}]
    backendRefs: [{name: api, port: 8080}]""")])
    addr = lab.address("gateway/shop/public")
    redirect = lab.http("host", "http://shop.example.com/a", resolve=addr)
    assert redirect.http.status == 301 and redirect.http.location == "https://shop.example.com/a"
    plain = lab.http("host", "https://shop.example.com/", resolve=addr, ca=ca)
    assert plain.answered_by == "shop/web" and plain.http.certificate_trusted
    canary = lab.http("host", "https://shop.example.com/", resolve=addr, ca=ca, headers={"X-Version": "v2"})
    # cloud-provider-kind carries out RequestHeaderModifier (not ResponseHeaderModifier: pkg/gateway/httproute.go)
    assert canary.answered_by == "shop/api" and ("x-served", "canary") in canary.http.request_headers
    wrong_host = lab.http("host", "https://shop.example.com/", resolve=addr, host="other.example.com", ca=ca)
    assert wrong_host.http.status == 404  # SNI chose the listener, the Host header must match it too


def test_route_status_explains_why_it_is_not_attached(lab):
    lab.apply("""
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared, namespace: infra}
spec:
  gatewayClassName: cloud-provider-kind
  listeners: [{name: http, port: 80, protocol: HTTP}]
""")
    lab.apply(route("  parentRefs: [{name: shared, namespace: infra}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]"))
    text = lab.status("httproute/shop/shop").render()
    assert "NotAllowedByListeners" in text and "allowedRoutes.namespaces.from: Same" in text
    r = lab.http("host", "http://shop.example.com/", resolve=lab.address("gateway/infra/shared"))
    assert r.http.status == 404
    lab.apply(route("  parentRefs: [{name: missing}]"))
    assert "no Gateway shop/missing" in lab.status("httproute/shop/shop").render()


def test_approuting_istio_gateway_is_a_pod_the_backend_sees(lab):
    lab.apply("""
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: approuting-istio}
spec: {controllerName: istio.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec:
  gatewayClassName: approuting-istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
""")
    lab.apply(route("  parentRefs: [{name: public}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]"))
    gw_pod = lab.state.pod("shop/public-approuting-istio")
    assert gw_pod is not None and gw_pod.labels["gateway.networking.k8s.io/gateway-name"] == "public"
    addr = lab.address("gateway/shop/public")
    r = lab.http("host", "http://shop.example.com/", resolve=addr)
    assert r.answered_by == "shop/web" and r.client_ip == str(gw_pod.ip)
    lab.delete("gateway/shop/public")
    assert lab.state.pod("shop/public-approuting-istio") is None


def test_install_gateway_class_gives_the_aks_app_routing_class_and_its_pods(lab):
    assert "approuting-istio" not in lab.control_plane.gateway_classes()
    assert lab.install_gateway_class("approuting-istio") == "approuting-istio"
    lab.apply("""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec:
  gatewayClassName: approuting-istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
""")
    lab.apply(route("  parentRefs: [{name: public}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]"))
    assert [c.render().split(" ")[0] for c in lab.status("gatewayclass/approuting-istio")] == ["Accepted=True"]
    gw_pod = lab.state.pod("shop/public-approuting-istio")
    assert gw_pod is not None
    r = lab.http("host", "http://shop.example.com/", resolve=lab.address("gateway/shop/public"))
    assert r.answered_by == "shop/web" and r.client_ip == str(gw_pod.ip)
    with pytest.raises(ValueError, match="unknown Gateway API implementation"):
        lab.install_gateway_class("nginx")
