"""HTTPRoute filters: what the parser accepts (the CRD's schema and CEL rules,
kubernetes-sigs/gateway-api ``apis/v1/httproute_types.go``), what it refuses because the simulated
cluster does not carry it out, and what a learner sees in the HTTP answer after a URLRewrite."""

from __future__ import annotations

import pytest

import grader
from grader.errors import ManifestError
from grader.manifests import parse_manifests
from grader.model.gateway import URLRewrite

from support.shop import SHOP_SERVICES


def route(rule: dict) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"parentRefs": [{"name": "public"}], "rules": [rule]}}


def problems(rule: dict) -> str:
    with pytest.raises(ManifestError) as info:
        parse_manifests(route(rule))
    return str(info.value)


HEADERS = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "x", "value": "1"}]}}


@pytest.mark.parametrize(("ftype", "field"), [
    ("RequestMirror", {"requestMirror": {"backendRef": {"name": "web", "port": 80}}}),
    ("CORS", {"cors": {"allowOrigins": ["https://example.com"]}}),
    ("ExtensionRef", {"extensionRef": {"group": "example.com", "kind": "Filter", "name": "f"}}),
])
def test_unmodelled_filters_are_refused_with_their_field_path(ftype, field):
    text = problems({"filters": [HEADERS, {"type": ftype, **field}], "backendRefs": [{"name": "web", "port": 80}]})
    assert f"httproute/web spec.rules[0].filters[1].type: {ftype} is not supported by this course's simulated cluster" in text


def test_url_rewrite_is_parsed():
    [m] = parse_manifests(route({"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                                 "filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": "api.internal",
                                                                                   "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}}}],
                                 "backendRefs": [{"name": "api", "port": 8080}]}))
    assert m.obj.rules[0].filters[0].url_rewrite == URLRewrite("api.internal", "ReplacePrefixMatch", "/v2")


@pytest.mark.parametrize(("rule", "path", "fragment"), [
    ({"filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/x"}}}]},
     "spec.rules[0]", "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified"),
    ({"matches": [{"path": {"type": "Exact", "value": "/a"}}],
      "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/x"}}}]},
     "spec.rules[0]", "exactly one PathPrefix match must be specified"),
    ({"filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath"}}}]},
     "spec.rules[0].filters[0].urlRewrite.path", "replaceFullPath must be specified when type is set to 'ReplaceFullPath'"),
    ({"filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/a", "replacePrefixMatch": "/b"}}}]},
     "spec.rules[0].filters[0].urlRewrite.path", "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set"),
    ({"filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": "*.example.com"}}]},
     "spec.rules[0].filters[0].urlRewrite.hostname", "must be a precise hostname"),
    ({"filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": "a.example.com"}},
                  {"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}]},
     "spec.rules[0].filters", "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both"),
    ({"filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": "a.example.com"}, "requestRedirect": {"scheme": "https"}}]},
     "spec.rules[0].filters[0]", "filter.requestRedirect must be nil if the filter.type is not RequestRedirect"),
    ({"backendRefs": [{"name": "web", "port": 80, "filters": [
        {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/x"}}}]}]},
     "spec.rules[0]", "Within backendRefs, when using URLRewrite filter with path.replacePrefixMatch"),
])
def test_url_rewrite_validation(rule, path, fragment):
    text = problems(rule)
    assert f"{path}: " in text and fragment in text, text


GATEWAY = """
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
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: shop}
spec:
  parentRefs: [{name: public}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /shop-api}}]
    filters: [{type: URLRewrite, urlRewrite: {hostname: api.internal, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v1}}}]
    backendRefs: [{name: api, port: 8080}]
  - backendRefs: [{name: web, port: 80}]
"""


def test_the_answer_shows_the_path_and_host_the_backend_received():
    # On AKS's Istio-based Gateway API (URLRewrite supported); cloud-provider-kind drops such a rule.
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(SHOP_SERVICES)
    lab.apply(GATEWAY)
    addr = lab.address("gateway/shop/public")
    rewritten = lab.http("host", "http://shop.example.com/shop-api/items?page=2", resolve=addr)
    assert rewritten.answered_by == "shop/api"
    assert rewritten.http.request_path == "/v1/items?page=2" and rewritten.http.request_host == "api.internal"
    assert any(h.step == "rewrite" and "api.internal" in h.detail for h in rewritten.hops)
    plain = lab.http("host", "http://shop.example.com/cart", resolve=addr)
    assert plain.answered_by == "shop/web" and plain.http.request_path == "/cart" and plain.http.request_host == "shop.example.com"
    direct = lab.http("shop/web", "http://api.shop:8080/health")
    assert direct.http.request_path == "/health"


def test_cloud_provider_kind_reports_the_dropped_rule():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(SHOP_SERVICES)
    lab.apply(GATEWAY.replace("gatewayClassName: approuting-istio", "gatewayClassName: cloud-provider-kind"))
    status = lab.status("httproute/shop/api").parent("shop/public")
    assert status.condition("Accepted").ok and status.condition("PartiallyInvalid").reason == "UnsupportedValue"
    r = lab.http("host", "http://shop.example.com/shop-api/items", resolve=lab.address("gateway/shop/public"))
    assert r.answered_by == "shop/web" and r.http.request_path == "/shop-api/items"  # the catch-all rule, unrewritten
