"""An ingress controller's decision for one request (``grader.ingress.ingress_request``), tested
directly: TLS certificate choice, ingress-nginx's ssl-redirect and default certificate, the
controller-specific statuses of ``controllers.py`` (ingress-nginx 503 for a missing Service,
cloud-provider-kind 500 as Gateway API requires), and the request the backend receives."""

from __future__ import annotations

import pytest

from grader.ingress import CLOUD_PROVIDER_KIND, INGRESS_NGINX, HttpRequest, Outcome, ingress_request
from grader.manifests import parse_manifests
from grader.model import Protocol
from grader.model.services import Service, ServicePort
from grader.tls import mint_ca

CA = mint_ca("ingress CA")
SHOP = CA.issue(["shop.example.com"])


def _ingress(body: str) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: shop, namespace: shop}}
spec:
{body}
"""


RULES = """  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
      - {path: /gone, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}
      - {path: /gone-named, pathType: Prefix, backend: {service: {name: gone, port: {name: http}}}}
      - {path: /wrong-port, pathType: Prefix, backend: {service: {name: api, port: {number: 9}}}}"""
TLS = """  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
"""
SERVICES = {("shop", "web"): Service("shop", "web", ports=(ServicePort(80, 8080, Protocol.TCP, "http"),)),
            ("shop", "api"): Service("shop", "api", ports=(ServicePort(8080, 8080, Protocol.TCP),))}


def _decide(ctl, path: str, *, https: bool = False, sni: str | None = "shop.example.com", tls: bool = True, host: str = "shop.example.com"):
    docs = parse_manifests([_ingress((TLS if tls else "") + RULES), SHOP.secret("shop-tls", "shop")], default_namespace="shop")
    ingresses = [m.obj for m in docs if m.key.kind == "Ingress"]
    secrets = {(m.obj.namespace, m.obj.name): m.obj for m in docs if m.key.kind == "Secret"}
    request = HttpRequest("https" if https else "http", 443 if https else 80, "GET", path, (("Host", host),), sni if https else None, "10.244.1.5")
    return ingress_request(ctl, ingresses, request, secrets, SERVICES)


def test_nginx_redirects_plain_http_for_tls_hosts():
    fwd = _decide(INGRESS_NGINX, "/cart?x=1")
    assert fwd.outcome is Outcome.ANSWER and fwd.status == 308 and fwd.location == "https://shop.example.com/cart?x=1"
    assert fwd.response_headers == (("Location", "https://shop.example.com/cart?x=1"),)
    assert _decide(CLOUD_PROVIDER_KIND, "/cart").outcome is Outcome.FORWARD  # no ssl-redirect there


def test_https_presents_the_secret_matching_the_sni():
    fwd = _decide(INGRESS_NGINX, "/", https=True)
    assert fwd.outcome is Outcome.FORWARD and fwd.certificate and not fwd.default_certificate
    assert "shop.example.com" in fwd.certificate[0].subject.rfc4514_string()


def test_unknown_sni_falls_back_per_controller():
    nginx = _decide(INGRESS_NGINX, "/", https=True, sni="other.example.com")
    assert nginx.default_certificate and not nginx.certificate and "falls back to its default certificate" in nginx.tls_note
    cpk = _decide(CLOUD_PROVIDER_KIND, "/", https=True, sni="other.example.com")
    assert cpk.certificate and "Envoy presents the listener's first certificate" in cpk.tls_reason
    none = _decide(CLOUD_PROVIDER_KIND, "/", https=True, tls=False)
    assert none.outcome is Outcome.TLS_FAILED and "has no certificate to offer" in none.reason


@pytest.mark.parametrize(("path", "nginx", "cpk"), [
    ("/gone", 503, 500),          # missing Service: nginx's 503, Gateway API's 500
    ("/gone-named", 503, 404),    # cloud-provider-kind cannot resolve a named port of a missing Service: rule dropped
    ("/wrong-port", 503, 404),
])
def test_backend_problems_are_answered_by_the_controller(path, nginx, cpk):
    for ctl, status in ((INGRESS_NGINX, nginx), (CLOUD_PROVIDER_KIND, cpk)):
        fwd = _decide(ctl, path, tls=False)
        assert fwd.outcome is Outcome.ANSWER and fwd.status == status, (ctl.name, fwd.reason)


def test_no_rule_is_the_default_backend():
    fwd = _decide(INGRESS_NGINX, "/", tls=False, host="nothing.example.com")
    assert fwd.outcome is Outcome.ANSWER and fwd.status == 404 and "default backend" in fwd.reason


def test_forwarded_request_names_service_port_and_headers():
    fwd = _decide(INGRESS_NGINX, "/api/items", tls=False)
    assert fwd.outcome is Outcome.FORWARD and fwd.service.name == "api" and fwd.service_port.port == 8080 and fwd.path == "/api/items"
    headers = dict(fwd.request_headers)
    assert headers["Host"] == "shop.example.com" and headers["X-Forwarded-For"] == "10.244.1.5" and headers["X-Real-IP"] == "10.244.1.5"
    assert headers["X-Forwarded-Host"] == "shop.example.com" and headers["X-Forwarded-Proto"] == "http"
    assert "X-Real-IP" not in dict(_decide(CLOUD_PROVIDER_KIND, "/api", tls=False).request_headers)
    assert fwd.notes == (("ingress-rule", "ingress shop/shop: host shop.example.com path /api (Prefix) → service api:8080"),)
