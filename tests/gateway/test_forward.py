"""The Gateway's decision for one request (``grader.gateway.route_request``), tested directly.

The cases replay kubernetes-sigs/gateway-api conformance tests (snapshot 4564255, 2026-08-21):
``conformance/tests/httproute-rewrite-path.{yaml,go}``, ``httproute-rewrite-host``,
``httproute-redirect-path``, ``httproute-redirect-host-and-status``, ``httproute-redirect-port``
and ``httproute-redirect-port-and-scheme``: the same routes, requests and expected Location, Host
and path the backend received. ``conformance/base/manifests.yaml`` supplies the Gateways
(``same-namespace`` on 80, ``same-namespace-with-https-listener`` on 443, and the 8080 one of the
port-and-scheme test)."""

from __future__ import annotations

import pytest

from grader.gateway import GatewayWorld, listener_certificate, parent_status, replace_prefix, route_request
from grader.gateway.implementations import APPROUTING_ISTIO, CLOUD_PROVIDER_KIND_GATEWAY
from grader.ingress import HttpRequest, Outcome
from grader.manifests import parse_manifests
from grader.model import Namespace, Protocol
from grader.model.gateway import GatewayClass, Listener, ListenerProtocol, SecretRef
from grader.model.services import Service, ServicePort
from grader.tls import mint_ca

NS = "gateway-conformance-infra"
CA = mint_ca("conformance CA")
CERT = CA.issue(["example.org", "*.example.org", "rewrite.example"])


def _gateway(name: str, port: int, https: bool = False, class_name: str = "cloud-provider-kind") -> str:
    listener = f"{{name: {'https' if https else 'http'}, port: {port}, protocol: {'HTTPS' if https else 'HTTP'}"
    listener += ", tls: {certificateRefs: [{name: tls-validity-checks-certificate}]}}" if https else "}"
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: {NS}}}
spec:
  gatewayClassName: {class_name}
  listeners: [{listener}]
"""


def _world(routes_yaml: str, impl=CLOUD_PROVIDER_KIND_GATEWAY):
    cls = impl.class_name
    docs = parse_manifests([_gateway("same-namespace", 80, class_name=cls), _gateway("same-namespace-with-https-listener", 443, https=True, class_name=cls),
                            _gateway("same-namespace-with-http-listener-on-8080", 8080, class_name=cls), routes_yaml,
                            CERT.secret("tls-validity-checks-certificate", NS)], default_namespace=NS)
    gateways = {(m.obj.namespace, m.obj.name): m.obj for m in docs if m.key.kind == "Gateway"}
    routes = tuple(m.obj for m in docs if m.key.kind == "HTTPRoute")
    secrets = {(m.obj.namespace, m.obj.name): m.obj for m in docs if m.key.kind == "Secret"}
    services = {(NS, n): Service(NS, n, ports=(ServicePort(8080, 3000, Protocol.TCP),)) for n in ("infra-backend-v1", "infra-backend-v2")}
    world = GatewayWorld(routes, gateways, {cls: GatewayClass(cls, impl.controller_name)}, {NS: Namespace(NS)}, secrets, (), services)
    return world, {name: gw for (_, name), gw in gateways.items()}, impl


def _send(world_gws, gateway: str, path: str, host: str = "example.com", headers: dict[str, str] | None = None, *, https: bool = False):
    world, gateways, impl = world_gws
    gw = gateways[gateway]
    port = gw.listeners[0].port
    sent = (("Host", host), *(headers or {}).items())
    request = HttpRequest("https" if https else "http", port, "GET", path, sent, host if https else None, "172.18.0.1")
    return route_request(gw, impl, request, world)


# -- httproute-rewrite-path ---------------------------------------------------------------------------
REWRITE_PATH = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rewrite-path, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /prefix/one}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /one}}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /strip-prefix}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /full/one}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /one}}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /full/rewrite-path-and-modify-headers}}]
    filters:
    - {type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /test}}}
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set, value: set-overwrites-values}]
        add: [{name: X-Header-Add, value: header-val-1}, {name: X-Header-Add-Append, value: header-val-2}]
        remove: [X-Header-Remove]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /prefix/rewrite-path-and-modify-headers}}]
    filters:
    - {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /prefix}}}
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set, value: set-overwrites-values}]
        add: [{name: X-Header-Add, value: header-val-1}, {name: X-Header-Add-Append, value: header-val-2}]
        remove: [X-Header-Remove]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
"""

HEADERS_IN = {"X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1", "X-Header-Set": "set-val"}
HEADERS_OUT = {"X-Header-Add": "header-val-1", "X-Header-Add-Append": "append-val-1,header-val-2", "X-Header-Set": "set-overwrites-values"}


@pytest.mark.parametrize(("path", "expected", "headers"), [
    ("/prefix/one/two", "/one/two", None),
    ("/strip-prefix/three", "/three", None),
    ("/strip-prefix", "/", None),
    ("/full/one/two", "/one", None),
    ("/full/rewrite-path-and-modify-headers/test", "/test", HEADERS_IN),
    ("/prefix/rewrite-path-and-modify-headers/one", "/prefix/one", HEADERS_IN),
])
def test_conformance_rewrite_path(path, expected, headers):
    fwd = _send(_world(REWRITE_PATH, APPROUTING_ISTIO), "same-namespace", path, headers=headers)
    assert fwd.outcome is Outcome.FORWARD and fwd.path == expected and fwd.service.name == "infra-backend-v1"
    received = dict(fwd.request_headers)
    assert received["Host"] == "example.com"
    if headers:
        assert {k: received[k] for k in HEADERS_OUT} == HEADERS_OUT and "X-Header-Remove" not in received
        assert ("rewrite", f"URLRewrite: the backend receives Host example.com and path {expected} (client sent example.com{path})") in fwd.notes


def test_rewrite_keeps_the_query_string():
    assert _send(_world(REWRITE_PATH, APPROUTING_ISTIO), "same-namespace", "/prefix/one/two?x=1&y=2").path == "/one/two?x=1&y=2"


MIXED = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mixed, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /rewrite}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: infra-backend-v2, port: 8080}]
"""


def test_cloud_provider_kind_drops_rules_with_a_filter_it_does_not_carry_out():
    # pkg/gateway/httproute.go findUnsupportedFilter: only RequestRedirect and RequestHeaderModifier.
    world = _world(MIXED)
    fwd = _send(world, "same-namespace", "/rewrite/x")
    assert fwd.outcome is Outcome.ANSWER and fwd.status == 404
    assert ('cloud-provider-kind dropped rules it cannot carry out: httproute gateway-conformance-infra/mixed rule[0] has unsupported '
            'filter type "URLRewrite"') in fwd.reason
    assert _send(world, "same-namespace", "/plain").service.name == "infra-backend-v2"
    route, gw = world[0].routes[0], world[1]["same-namespace"]
    status, attached = parent_status(route, route.parent_refs[0], world[0].gateways, world[0].classes, world[0].namespaces, {})
    assert [(c.type, c.status, c.reason) for c in status.conditions] == [("Accepted", "True", "Accepted"), ("PartiallyInvalid", "True", "UnsupportedValue")]
    assert status.condition("PartiallyInvalid").message.startswith('Dropped Rule(s): rule[0] has unsupported filter type "URLRewrite"')
    # Every rule dropped: the route is not accepted at all.
    route = world[0].routes[0]
    only_rewrite = type(route)(route.namespace, route.name, route.parent_refs, (), route.rules[:1])
    status, attached = parent_status(only_rewrite, route.parent_refs[0], world[0].gateways, world[0].classes, world[0].namespaces, {})
    assert status.condition("Accepted").reason == "UnsupportedValue" and not attached and gw.name == "same-namespace"
    # Istio carries the filter out.
    assert _send(_world(MIXED, APPROUTING_ISTIO), "same-namespace", "/rewrite/x").path == "/x"


# -- httproute-rewrite-host ---------------------------------------------------------------------------
REWRITE_HOST = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rewrite-host, namespace: gateway-conformance-infra}
spec:
  hostnames: [rewrite.example]
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /one}}]
    filters: [{type: URLRewrite, urlRewrite: {hostname: one.example.org}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - filters: [{type: URLRewrite, urlRewrite: {hostname: example.org}}]
    backendRefs: [{name: infra-backend-v2, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /rewrite-host-and-modify-headers}}]
    filters:
    - {type: URLRewrite, urlRewrite: {hostname: test.example.org}}
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set, value: set-overwrites-values}]
        add: [{name: X-Header-Add, value: header-val-1}, {name: X-Header-Add-Append, value: header-val-2}]
        remove: [X-Header-Remove]
    backendRefs: [{name: infra-backend-v2, port: 8080}]
"""


@pytest.mark.parametrize(("path", "host", "backend", "headers"), [
    ("/one", "one.example.org", "infra-backend-v1", None),
    ("/two", "example.org", "infra-backend-v2", None),
    ("/rewrite-host-and-modify-headers", "test.example.org", "infra-backend-v2", HEADERS_IN),
])
def test_conformance_rewrite_host(path, host, backend, headers):
    fwd = _send(_world(REWRITE_HOST, APPROUTING_ISTIO), "same-namespace", path, host="rewrite.example", headers=headers)
    assert fwd.outcome is Outcome.FORWARD and fwd.service.name == backend
    assert fwd.host == host and dict(fwd.request_headers)["Host"] == host and fwd.path == path
    assert [k for k, _ in fwd.request_headers].count("Host") == 1
    if headers:
        received = dict(fwd.request_headers)
        assert {k: received[k] for k in HEADERS_OUT} == HEADERS_OUT and "X-Header-Remove" not in received


# -- httproute-redirect-path, -host-and-status, -port ---------------------------------------------------
def _redirect_route(name: str, parent: str, rules: list[tuple[str, str]]) -> str:
    body = "\n".join(f"  - matches: [{{path: {{type: PathPrefix, value: {prefix}}}}}]\n    filters: [{{type: RequestRedirect, requestRedirect: {rr}}}]"
                     for prefix, rr in rules)
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {NS}}}
spec:
  parentRefs: [{{name: {parent}}}]
  rules:
{body}
"""


REDIRECTS = "---".join([
    _redirect_route("redirect-path", "same-namespace", [
        ("/original-prefix", "{path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}}"),
        ("/full", "{path: {type: ReplaceFullPath, replaceFullPath: /full-path-replacement}}"),
        ("/path-and-host", "{hostname: example.org, path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}}"),
        ("/path-and-status", "{path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}, statusCode: 301}"),
        ("/full-path-and-host", "{hostname: example.org, path: {type: ReplaceFullPath, replaceFullPath: /replacement-full}}"),
        ("/full-path-and-status", "{path: {type: ReplaceFullPath, replaceFullPath: /replacement-full}, statusCode: 301}"),
        ("/hostname-redirect", "{hostname: example.org}"),
        ("/host-and-status", "{statusCode: 301, hostname: example.org}"),
        ("/port", "{port: 8083}"),
        ("/port-and-host", "{hostname: example.org, port: 8083}"),
        ("/port-and-status", "{port: 8083, statusCode: 301}"),
    ]),
])


@pytest.mark.parametrize(("path", "status", "location"), [
    ("/original-prefix/lemon", 302, "http://example.com/replacement-prefix/lemon"),
    ("/full/path/original", 302, "http://example.com/full-path-replacement"),
    ("/path-and-host", 302, "http://example.org/replacement-prefix"),
    ("/path-and-status", 301, "http://example.com/replacement-prefix"),
    ("/full-path-and-host", 302, "http://example.org/replacement-full"),
    ("/full-path-and-status", 301, "http://example.com/replacement-full"),
    ("/hostname-redirect", 302, "http://example.org/hostname-redirect"),
    ("/host-and-status", 301, "http://example.org/host-and-status"),
    ("/port", 302, "http://example.com:8083/port"),
    ("/port-and-host", 302, "http://example.org:8083/port-and-host"),
    ("/port-and-status", 301, "http://example.com:8083/port-and-status"),
])
def test_conformance_redirects(path, status, location):
    fwd = _send(_world(REDIRECTS), "same-namespace", path)
    assert fwd.outcome is Outcome.ANSWER and fwd.status == status and fwd.location == location
    assert fwd.response_headers == (("Location", location),) and fwd.service is None


# -- httproute-redirect-port-and-scheme ---------------------------------------------------------------------
PORT_AND_SCHEME = "---".join([
    _redirect_route("http-route-for-listener-on-port-80", "same-namespace", [
        ("/scheme-nil-and-port-nil", "{hostname: example.org}"),
        ("/scheme-nil-and-port-80", "{port: 80, hostname: example.org}"),
        ("/scheme-nil-and-port-8080", "{port: 8080, hostname: example.org}"),
        ("/scheme-https-and-port-nil", "{scheme: https, hostname: example.org}"),
        ("/scheme-https-and-port-443", "{scheme: https, port: 443, hostname: example.org}"),
        ("/scheme-https-and-port-8443", "{scheme: https, port: 8443, hostname: example.org}"),
    ]),
    _redirect_route("http-route-for-listener-on-port-8080", "same-namespace-with-http-listener-on-8080", [
        ("/scheme-nil-and-port-nil", "{hostname: example.org}"),
        ("/scheme-nil-and-port-80", "{port: 80, hostname: example.org}"),
        ("/scheme-https-and-port-nil", "{scheme: https, hostname: example.org}"),
    ]),
    _redirect_route("http-route-for-listener-on-port-443", "same-namespace-with-https-listener", [
        ("/scheme-nil-and-port-nil", "{hostname: example.org}"),
        ("/scheme-nil-and-port-443", "{port: 443, hostname: example.org}"),
        ("/scheme-nil-and-port-8443", "{port: 8443, hostname: example.org}"),
        ("/scheme-http-and-port-nil", "{scheme: http, hostname: example.org}"),
        ("/scheme-http-and-port-80", "{scheme: http, port: 80, hostname: example.org}"),
        ("/scheme-http-and-port-8080", "{scheme: http, port: 8080, hostname: example.org}"),
    ]),
])


@pytest.mark.parametrize(("gateway", "path", "location"), [
    ("same-namespace", "/scheme-nil-and-port-nil", "http://example.org/scheme-nil-and-port-nil"),
    ("same-namespace", "/scheme-nil-and-port-80", "http://example.org/scheme-nil-and-port-80"),
    ("same-namespace", "/scheme-nil-and-port-8080", "http://example.org:8080/scheme-nil-and-port-8080"),
    ("same-namespace", "/scheme-https-and-port-nil", "https://example.org/scheme-https-and-port-nil"),
    ("same-namespace", "/scheme-https-and-port-443", "https://example.org/scheme-https-and-port-443"),
    ("same-namespace", "/scheme-https-and-port-8443", "https://example.org:8443/scheme-https-and-port-8443"),
    ("same-namespace-with-http-listener-on-8080", "/scheme-nil-and-port-nil", "http://example.org:8080/scheme-nil-and-port-nil"),
    ("same-namespace-with-http-listener-on-8080", "/scheme-nil-and-port-80", "http://example.org/scheme-nil-and-port-80"),
    ("same-namespace-with-http-listener-on-8080", "/scheme-https-and-port-nil", "https://example.org/scheme-https-and-port-nil"),
    ("same-namespace-with-https-listener", "/scheme-nil-and-port-nil", "https://example.org/scheme-nil-and-port-nil"),
    ("same-namespace-with-https-listener", "/scheme-nil-and-port-443", "https://example.org/scheme-nil-and-port-443"),
    ("same-namespace-with-https-listener", "/scheme-nil-and-port-8443", "https://example.org:8443/scheme-nil-and-port-8443"),
    ("same-namespace-with-https-listener", "/scheme-http-and-port-nil", "http://example.org/scheme-http-and-port-nil"),
    ("same-namespace-with-https-listener", "/scheme-http-and-port-80", "http://example.org/scheme-http-and-port-80"),
    ("same-namespace-with-https-listener", "/scheme-http-and-port-8080", "http://example.org:8080/scheme-http-and-port-8080"),
])
def test_conformance_redirect_port_and_scheme(gateway, path, location):
    https = gateway == "same-namespace-with-https-listener"
    fwd = _send(_world(PORT_AND_SCHEME), gateway, path, host="example.org", https=https)
    assert fwd.outcome is Outcome.ANSWER and fwd.status == 302 and fwd.location == location
    assert bool(fwd.certificate) is https


# -- HTTPPathModifier.ReplacePrefixMatch: the table in httproute_types.go ------------------------------------
@pytest.mark.parametrize(("path", "prefix", "replacement", "expected"), [
    ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
    ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
    ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"),
    ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
    ("/foo", "/foo", "/xyz", "/xyz"),
    ("/foo/", "/foo", "/xyz", "/xyz/"),
    ("/foo/bar", "/foo", "", "/bar"),
    ("/foo/", "/foo", "", "/"),
    ("/foo", "/foo", "", "/"),
    ("/foo/", "/foo", "/", "/"),
    ("/foo", "/foo", "/", "/"),
])
def test_replace_prefix_table(path, prefix, replacement, expected):
    assert replace_prefix(path, prefix, replacement) == expected


# -- the Gateway's own answers -------------------------------------------------------------------------------
OWN = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: own, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /empty}}]
  - matches: [{path: {type: PathPrefix, value: /zero}}]
    backendRefs: [{name: infra-backend-v1, port: 8080, weight: 0}]
  - matches: [{path: {type: PathPrefix, value: /missing}}]
    backendRefs: [{name: nothing-here, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /split}}]
    backendRefs: [{name: infra-backend-v1, port: 8080, weight: 1}, {name: infra-backend-v2, port: 8080, weight: 3}]
"""


@pytest.mark.parametrize(("path", "status", "fragment"), [
    ("/nowhere", 404, "no HTTPRoute attached to listener http matches GET example.com/nowhere"),
    ("/empty", 500, "the rule has no backendRefs"),
    ("/zero", 500, "every backendRef has weight 0"),
    ("/missing", 500, "BackendNotFound"),
])
def test_gateway_answers_itself(path, status, fragment):
    fwd = _send(_world(OWN), "same-namespace", path)
    assert fwd.outcome is Outcome.ANSWER and fwd.status == status and fragment in fwd.reason and fwd.service is None


def test_weighted_backends_use_the_given_pick_and_the_default_is_the_heaviest():
    world, gateways, _ = _world(OWN)
    request = HttpRequest("http", 80, "GET", "/split", (("Host", "example.com"),), None, "10.0.0.1")
    assert route_request(gateways["same-namespace"], CLOUD_PROVIDER_KIND_GATEWAY, request, world).service.name == "infra-backend-v2"
    seen = []

    def first(refs, weights):
        seen.append(list(weights))
        return refs[0]

    fwd = route_request(gateways["same-namespace"], CLOUD_PROVIDER_KIND_GATEWAY, request, world, pick=first)
    assert fwd.service.name == "infra-backend-v1" and seen == [[1, 3]]
    assert ("route", "weighted backendRefs: picked gateway-conformance-infra/infra-backend-v1:8080 (weight 1/4)") in fwd.notes
    assert dict(fwd.request_headers)["X-Forwarded-For"] == "10.0.0.1" and fwd.service_port.port == 8080


def test_https_without_matching_listener_is_a_failed_handshake_and_http_a_404():
    world = _world(OWN)
    fwd = _send(world, "same-namespace", "/", https=True)
    assert fwd.outcome is Outcome.TLS_FAILED and "no HTTPS listener" in fwd.reason
    gw = world[1]["same-namespace"]  # world = (GatewayWorld, gateways by name, implementation)
    request = HttpRequest("http", 8080, "GET", "/", (("Host", "example.com"),))
    fwd = route_request(gw, CLOUD_PROVIDER_KIND_GATEWAY, request, world[0])
    assert fwd.outcome is Outcome.ANSWER and fwd.status == 404 and "no HTTP listener" in fwd.reason


def test_listener_certificate_is_the_one_covering_the_sni_else_the_first():
    # gateway_types.go: "The GatewayClass MUST use the longest matching SNI out of all available certificates."
    shop, api = CA.issue(["shop.example.com"]), CA.issue(["api.example.com"])
    docs = parse_manifests([shop.secret("shop", NS), api.secret("api", NS)])
    secrets = {(m.obj.namespace, m.obj.name): m.obj for m in docs}
    listener = Listener("https", 443, ListenerProtocol.HTTPS, None, "Terminate", (SecretRef("shop", NS), SecretRef("api", NS), SecretRef("gone", NS)))
    assert listener_certificate(listener, secrets, "api.example.com")[0] == api.certificate
    assert listener_certificate(listener, secrets, "other.example.com")[0] == shop.certificate
    assert listener_certificate(listener, secrets, None)[0] == shop.certificate
    assert listener_certificate(Listener("h", 443, ListenerProtocol.HTTPS, None, "Terminate", (SecretRef("gone", NS),)), secrets, "x") == ()
