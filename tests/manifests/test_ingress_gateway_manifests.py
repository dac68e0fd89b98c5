"""Ingress/IngressClass validation (kubernetes ``pkg/apis/networking/validation/validation.go``) and
Gateway API validation (the CRDs' schema and CEL rules, kubernetes-sigs/gateway-api ``apis/v1``)."""

from __future__ import annotations

import pytest

from grader.errors import ManifestError
from grader.manifests import parse_manifests
from grader.model.gateway import FromNamespaces, PathMatchType
from grader.model.ingress import PathType


def ingress(spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop", "namespace": "shop"}, "spec": spec}


def path(p: str, ptype: str = "Prefix", port: dict | None = None) -> dict:
    return {"path": p, "pathType": ptype, "backend": {"service": {"name": "web", "port": port if port is not None else {"number": 80}}}}


def rules(*paths: dict, host: str | None = "shop.example.com") -> list[dict]:
    rule: dict = {"http": {"paths": list(paths)}}
    if host is not None:
        rule["host"] = host
    return [rule]


def err(doc: dict) -> str:
    with pytest.raises(ManifestError) as exc:
        parse_manifests(doc)
    return str(exc.value)


def test_ingress_parses_paths_tls_and_class():
    [m] = parse_manifests(ingress({
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
        "rules": rules(path("/"), path("/api", "Exact", {"name": "http"})),
    }))
    ing = m.obj
    assert ing.class_name == "nginx"
    assert ing.tls[0].secret_name == "shop-tls"
    assert [p.path_type for p in ing.rules[0].paths] == [PathType.PREFIX, PathType.EXACT]
    assert ing.rules[0].paths[1].backend.port == "http"


@pytest.mark.parametrize(("spec", "path_", "fragment"), [
    ({}, "spec", "either `defaultBackend` or `rules` must be specified"),
    ({"rules": rules(path("api"))}, "spec.rules[0].http.paths[0].path", "must be an absolute path"),
    ({"rules": rules(path("/a//b"))}, "spec.rules[0].http.paths[0].path", "must not contain '//'"),
    ({"rules": rules(path("/a/.."))}, "spec.rules[0].http.paths[0].path", "cannot end with '/..'"),
    ({"rules": rules(path("/", "Regex"))}, "spec.rules[0].http.paths[0].pathType", "unsupported value"),
    ({"rules": rules(path("/"), host="10.0.0.1")}, "spec.rules[0].host", "must be a DNS name, not an IP address"),
    ({"rules": rules(path("/"), host="*.*.example.com")}, "spec.rules[0].host", "wildcard"),
    ({"rules": rules(path("/", port={"name": "http", "number": 80}))}, "spec.rules[0].http.paths[0].backend", "cannot set both port name & port number"),
    ({"rules": rules(path("/", port={}))}, "spec.rules[0].http.paths[0].backend", "port name or number is required"),
])
def test_ingress_api_server_rejects(spec, path_, fragment):
    text = err(ingress(spec))
    assert f"ingress/shop {path_}" in text
    assert fragment in text


def test_pathtype_is_required_in_v1():
    text = err(ingress({"rules": [{"http": {"paths": [{"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}))
    assert "pathType" in text


def test_ingress_class_default_annotation():
    [m] = parse_manifests({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                           "metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
                           "spec": {"controller": "k8s.io/ingress-nginx"}})
    assert m.obj.is_default and m.key.namespace == ""
    text = err({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "x"}, "spec": {"controller": "nginx"}})
    assert "domain-prefixed path" in text


GW = "gateway.networking.k8s.io/v1"


def gateway(listeners: list[dict], **spec: object) -> dict:
    return {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "public", "namespace": "shop"},
            "spec": {"gatewayClassName": "cloud-provider-kind", "listeners": listeners, **spec}}


def test_gateway_defaults_allowed_routes_same_namespace():
    [m] = parse_manifests(gateway([{"name": "http", "port": 80, "protocol": "HTTP"}]))
    assert m.obj.listeners[0].allowed_from is FromNamespaces.SAME


@pytest.mark.parametrize(("listeners", "fragment"), [
    # gateway-api v1.6: HTTPS listeners must configure tls
    ([{"name": "https", "port": 443, "protocol": "HTTPS"}], "tls must be specified for protocol HTTPS"),
    ([{"name": "http", "port": 80, "protocol": "HTTP", "tls": {"mode": "Terminate", "certificateRefs": [{"name": "x"}]}}], "tls must not be specified"),
    ([{"name": "https", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Terminate"}}], "certificateRefs or options must be specified when mode is Terminate"),
    ([{"name": "a", "port": 80, "protocol": "HTTP"}, {"name": "a", "port": 81, "protocol": "HTTP"}], "must be unique"),
    ([{"name": "a", "port": 80, "protocol": "HTTP"}, {"name": "b", "port": 80, "protocol": "HTTP"}], "Combination of port, protocol and hostname must be unique"),
    ([{"name": "a", "port": 80, "protocol": "HTTP", "hostname": "10.0.0.1"}], "IP addresses are not allowed"),
    ([{"name": "a", "port": 80, "protocol": "HTTP", "hostnme": "x.example.com"}], "unknown field 'hostnme'"),
    ([{"name": "a", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "Selector"}}}], "selector must be specified"),
])
def test_gateway_validation(listeners, fragment):
    assert fragment in err(gateway(listeners))


def route(spec: dict) -> dict:
    return {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}


def test_httproute_defaults():
    [m] = parse_manifests(route({"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}))
    r = m.obj
    assert r.parent_refs[0].namespace == "shop" and r.parent_refs[0].kind == "Gateway"
    assert r.rules[0].matches[0].path.type is PathMatchType.PATH_PREFIX and r.rules[0].matches[0].path.value == "/"
    assert r.rules[0].backend_refs[0].weight == 1 and r.rules[0].backend_refs[0].namespace == "shop"


@pytest.mark.parametrize(("rule", "fragment"), [
    ({"backendRefs": [{"name": "web"}]}, "Must have port for Service reference"),
    ({"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}], "backendRefs": [{"name": "web", "port": 80}]},
     "RequestRedirect filter must not be used together with backendRefs"),
    ({"matches": [{"path": {"type": "PathPrefix", "value": "api"}}]}, "must be an absolute path"),
    ({"matches": [{"method": "FETCH"}]}, "unsupported value 'FETCH'"),
    ({"filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 404}}]}, "supported values: 301, 302, 303, 307, 308"),
    ({"filters": [{"type": "RequestHeaderModifier"}]}, "filter.requestHeaderModifier must be specified"),
    ({"backendRefs": [{"name": "web", "port": 80, "weight": -1}]}, "must be between 0 and 1000000"),
])
def test_httproute_validation(rule, fragment):
    assert fragment in err(route({"parentRefs": [{"name": "public"}], "rules": [rule]}))


def test_reference_grant_v1_and_v1beta1():
    for api in (GW, "gateway.networking.k8s.io/v1beta1"):
        [m] = parse_manifests({"apiVersion": api, "kind": "ReferenceGrant", "metadata": {"name": "g", "namespace": "backend"},
                               "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "shop"}],
                                        "to": [{"group": "", "kind": "Service"}]}})
        assert m.obj.permits("gateway.networking.k8s.io", "HTTPRoute", "shop", "", "Service", "anything")
        assert not m.obj.permits("gateway.networking.k8s.io", "HTTPRoute", "other", "", "Service", "anything")
