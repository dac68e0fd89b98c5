"""Gateway API semantics, from the v1 types' documentation (kubernetes-sigs/gateway-api
``apis/v1/httproute_types.go``, ``gateway_types.go``, ``shared_types.go``)."""

from __future__ import annotations

import pytest

from grader.gateway import (
    AttachedRoute,
    apply_header_modifier,
    choose_route,
    effective_hostnames,
    hostname_intersection,
    listener_conditions,
    parent_status,
    redirect_location,
    resolved_refs,
    select_listener,
)
from grader.gateway.implementations import CLOUD_PROVIDER_KIND_GATEWAY
from grader.model import Labels, LabelSelector, Namespace
from grader.model.gateway import (
    BackendRef,
    FromNamespaces,
    Gateway,
    GatewayClass,
    GrantFrom,
    GrantTo,
    HeaderMatch,
    HeaderModifier,
    HTTPRoute,
    Listener,
    ListenerProtocol,
    ParentRef,
    PathMatch,
    PathMatchType,
    ReferenceGrant,
    RequestRedirect,
    RouteMatch,
    RouteRule,
    SecretRef,
)
from grader.model.services import Secret, Service, ServicePort
from grader.tls import mint_ca

HTTP, HTTPS = ListenerProtocol.HTTP, ListenerProtocol.HTTPS


@pytest.mark.parametrize(("listener", "route", "expected"), [
    # HTTPRouteSpec.hostnames documentation
    ("test.example.com", "test.example.com", "test.example.com"),
    ("test.example.com", "*.example.com", "test.example.com"),
    ("*.example.com", "test.example.com", "test.example.com"),
    ("*.example.com", "foo.test.example.com", "foo.test.example.com"),
    ("*.example.com", "*.example.com", "*.example.com"),
    ("*.example.com", "example.com", None),
    ("*.example.com", "test.example.net", None),
    ("test.example.com", "other.example.com", None),
    (None, "anything.example.org", "anything.example.org"),
])
def test_hostname_intersection(listener, route, expected):
    assert hostname_intersection(listener, route) == expected


def test_effective_hostnames_ignore_non_matching_route_hostnames():
    lst = Listener("https", 443, HTTPS, "*.example.com")
    route = HTTPRoute("shop", "r", (), ("test.example.com", "test.example.net"))
    assert effective_hostnames(lst, route) == ("test.example.com",)
    assert effective_hostnames(lst, HTTPRoute("shop", "r", ())) == ("*.example.com",)
    assert effective_hostnames(Listener("http", 80, HTTP), HTTPRoute("shop", "r", ())) == ()


def test_listener_selection_most_specific_hostname():
    listeners = (Listener("any", 443, HTTPS), Listener("wild", 443, HTTPS, "*.example.com"), Listener("shop", 443, HTTPS, "shop.example.com"))
    assert select_listener(listeners, 443, HTTPS, "shop.example.com").name == "shop"
    assert select_listener(listeners, 443, HTTPS, "api.example.com").name == "wild"
    assert select_listener(listeners, 443, HTTPS, "example.org").name == "any"
    assert select_listener(listeners, 80, HTTP, "shop.example.com") is None


def rr(matches: list[RouteMatch], backend: str) -> RouteRule:
    return RouteRule(tuple(matches), (), (BackendRef(backend, "shop", 80),))


def prefix(v: str) -> RouteMatch:
    return RouteMatch(PathMatch(PathMatchType.PATH_PREFIX, v))


def test_match_precedence_across_rules_and_routes():
    exact = RouteMatch(PathMatch(PathMatchType.EXACT, "/api"))
    with_method = RouteMatch(PathMatch(PathMatchType.PATH_PREFIX, "/api"), method="POST")
    with_header = RouteMatch(PathMatch(PathMatchType.PATH_PREFIX, "/api"), headers=(HeaderMatch("x-canary", "true"),))
    old = HTTPRoute("shop", "zzz-old", (), (), (rr([prefix("/")], "root"), rr([prefix("/api")], "api")))
    new = HTTPRoute("shop", "aaa-new", (), (), (rr([exact], "exact"), rr([with_method], "post"), rr([with_header], "canary")))
    attached = [AttachedRoute(old, (), 0), AttachedRoute(new, (), 1)]

    def pick(method: str, path: str, headers: dict | None = None) -> str:
        c = choose_route(attached, "shop.example.com", method, path, headers or {}, {})
        return c.rule.backend_refs[0].name if c else "404"

    assert pick("GET", "/api") == "exact"                    # Exact beats every prefix
    assert pick("POST", "/api/x") == "post"                  # method match beats header/none at equal prefix
    assert pick("GET", "/api/x", {"x-canary": "true"}) == "canary"  # more header matches
    assert pick("GET", "/api/x") == "api"                    # same specificity: the oldest route
    assert pick("GET", "/apix") == "root"                    # PathPrefix is element-wise
    assert pick("GET", "/") == "root"


def test_tie_between_routes_goes_to_oldest_then_alphabetical():
    a = HTTPRoute("shop", "a", (), (), (rr([prefix("/")], "a"),))
    b = HTTPRoute("shop", "b", (), (), (rr([prefix("/")], "b"),))
    assert choose_route([AttachedRoute(b, (), 0), AttachedRoute(a, (), 1)], "h", "GET", "/", {}, {}).route.name == "b"
    assert choose_route([AttachedRoute(b, (), 0), AttachedRoute(a, (), 0)], "h", "GET", "/", {}, {}).route.name == "a"


def test_hostname_specificity_beats_path_specificity():
    wild = HTTPRoute("shop", "wild", (), ("*.example.com",), (rr([RouteMatch(PathMatch(PathMatchType.EXACT, "/x"))], "wild"),))
    exact = HTTPRoute("shop", "exact", (), ("shop.example.com",), (rr([prefix("/")], "exact"),))
    attached = [AttachedRoute(wild, ("*.example.com",), 0), AttachedRoute(exact, ("shop.example.com",), 1)]
    assert choose_route(attached, "shop.example.com", "GET", "/x", {}, {}).route.name == "exact"
    assert choose_route(attached, "a.b.example.com", "GET", "/x", {}, {}).route.name == "wild"  # Gateway API wildcard: any depth


@pytest.mark.parametrize(("redirect", "scheme", "listener_port", "path", "expected"), [
    (RequestRedirect(scheme="https", status_code=301), "http", 80, "/x?a=1", "https://shop.example.com/x?a=1"),  # well-known port omitted
    (RequestRedirect(hostname="www.example.com"), "http", 8080, "/", "http://www.example.com:8080/"),  # no scheme: listener port
    (RequestRedirect(scheme="https", port=8443), "http", 80, "/", "https://shop.example.com:8443/"),
    (RequestRedirect(path_type="ReplaceFullPath", path_value="/new"), "http", 80, "/old/x", "http://shop.example.com/new"),
    (RequestRedirect(path_type="ReplacePrefixMatch", path_value="/v2"), "http", 80, "/v1/items", "http://shop.example.com/v2/items"),
])
def test_redirect_location(redirect, scheme, listener_port, path, expected):
    assert redirect_location(redirect, scheme, "shop.example.com", listener_port, path, prefix("/v1")) == expected


def test_header_modifier_set_add_remove():
    mod = HeaderModifier(set=(("X-Env", "prod"),), add=(("X-Tag", "b"),), remove=("X-Debug",))
    out = apply_header_modifier([("Host", "h"), ("x-env", "dev"), ("X-Tag", "a"), ("X-Debug", "1")], mod)
    assert dict(out) == {"Host": "h", "X-Env": "prod", "X-Tag": "a,b"}


GW = Gateway("infra", "public", "cloud-provider-kind", (
    Listener("http", 80, HTTP, None, allowed_from=FromNamespaces.SAME),
    Listener("shop", 443, HTTPS, "shop.example.com", "Terminate", (SecretRef("shop-tls", "infra"),), FromNamespaces.SELECTOR,
             LabelSelector(Labels({"team": "shop"}))),
))
CLASSES = {"cloud-provider-kind": GatewayClass("cloud-provider-kind", "kind.sigs.k8s.io/gateway-controller")}
NAMESPACES = {"shop": Namespace("shop", Labels({"team": "shop"})), "infra": Namespace("infra"), "other": Namespace("other")}


def status(route: HTTPRoute, parent: ParentRef):
    return parent_status(route, parent, {("infra", "public"): GW}, CLASSES, NAMESPACES, {})


def test_route_attachment_reasons():
    ref = ParentRef("public", "infra")
    ok, attached = status(HTTPRoute("shop", "r", (ref,), ("shop.example.com",)), ref)
    assert ok.accepted and [lst.name for lst, _ in attached] == ["shop"]  # Same-namespace HTTP listener refuses, Selector admits
    denied, _ = status(HTTPRoute("other", "r", (ref,)), ref)
    assert denied.conditions[0].reason == "NotAllowedByListeners"
    nohost, _ = status(HTTPRoute("shop", "r", (ref,), ("api.example.com",)), ref)
    assert nohost.conditions[0].reason == "NoMatchingListenerHostname"
    section = ParentRef("public", "infra", section_name="https")
    missing, _ = status(HTTPRoute("shop", "r", (section,)), section)
    assert missing.conditions[0].reason == "NoMatchingParent"
    nogw = ParentRef("nope", "infra")
    pending, _ = status(HTTPRoute("shop", "r", (nogw,)), nogw)
    assert pending.conditions[0].status == "Unknown" and "no Gateway infra/nope" in pending.conditions[0].message


def test_resolved_refs_backend_not_found_and_ref_not_permitted():
    services = {("shop", "web"): Service("shop", "web", ports=(ServicePort(80, 80),)), ("backend", "api"): Service("backend", "api", ports=(ServicePort(80, 80),))}
    route = HTTPRoute("shop", "r", (), (), (RouteRule((RouteMatch(),), (), (BackendRef("api", "backend", 80),)),))
    assert resolved_refs(route, services, []).reason == "RefNotPermitted"
    grant = ReferenceGrant("backend", "g", (GrantFrom("gateway.networking.k8s.io", "HTTPRoute", "shop"),), (GrantTo("", "Service"),))
    assert resolved_refs(route, services, [grant]).ok
    missing = HTTPRoute("shop", "r", (), (), (RouteRule((RouteMatch(),), (), (BackendRef("gone", "shop", 80),)),))
    assert resolved_refs(missing, services, []).reason == "BackendNotFound"
    wrong_port = HTTPRoute("shop", "r", (), (), (RouteRule((RouteMatch(),), (), (BackendRef("web", "shop", 81),)),))
    assert "has no port 81" in resolved_refs(wrong_port, services, []).message
    kind = HTTPRoute("shop", "r", (), (), (RouteRule((RouteMatch(),), (), (BackendRef("web", "shop", 80, kind="Pod"),)),))
    assert resolved_refs(kind, services, []).reason == "InvalidKind"


def test_listener_certificate_conditions():
    ca = mint_ca()
    pair = ca.issue(["shop.example.com"])
    good = Secret("infra", "shop-tls", "kubernetes.io/tls", (("tls.crt", pair.cert_pem.encode()), ("tls.key", pair.key_pem.encode())))
    https = GW.listeners[1]
    conds = {c.type: c for c in listener_conditions(GW, https, CLOUD_PROVIDER_KIND_GATEWAY, {("infra", "shop-tls"): good}, [])}
    assert conds["ResolvedRefs"].ok and conds["Programmed"].ok
    conds = {c.type: c for c in listener_conditions(GW, https, CLOUD_PROVIDER_KIND_GATEWAY, {}, [])}
    assert conds["ResolvedRefs"].reason == "InvalidCertificateRef" and not conds["Programmed"].ok
    broken = Secret("infra", "shop-tls", "kubernetes.io/tls", (("tls.crt", b"nope"), ("tls.key", pair.key_pem.encode())))
    conds = {c.type: c for c in listener_conditions(GW, https, CLOUD_PROVIDER_KIND_GATEWAY, {("infra", "shop-tls"): broken}, [])}
    assert "not a PEM certificate" in conds["ResolvedRefs"].message
    cross = Gateway("infra", "x", "cloud-provider-kind", (Listener("s", 443, HTTPS, None, "Terminate", (SecretRef("shop-tls", "certs"),)),))
    conds = {c.type: c for c in listener_conditions(cross, cross.listeners[0], CLOUD_PROVIDER_KIND_GATEWAY, {("certs", "shop-tls"): good}, [])}
    assert conds["ResolvedRefs"].reason == "RefNotPermitted"


def test_http_and_https_on_one_port_conflict():
    gw = Gateway("infra", "x", "cloud-provider-kind", (Listener("a", 8443, HTTP), Listener("b", 8443, HTTPS, None, "Terminate", (SecretRef("s", "infra"),))))
    conds = {c.type: c for c in listener_conditions(gw, gw.listeners[0], CLOUD_PROVIDER_KIND_GATEWAY, {}, [])}
    assert conds["Conflicted"].ok and conds["Conflicted"].reason == "ProtocolConflict"
