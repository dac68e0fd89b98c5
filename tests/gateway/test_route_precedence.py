"""Route precedence ties (``HTTPRouteRule.matches`` documentation, kubernetes-sigs/gateway-api
``apis/v1/httproute_types.go``): "If ties still exist across multiple Routes, matching precedence
MUST be determined in order of the following criteria, continuing on ties: The oldest Route based
on creation timestamp. The Route appearing first in alphabetical order by {namespace}/{name}."
Creation timestamps have one-second resolution: routes of one apply share a second."""

from __future__ import annotations

import pytest

import grader
from grader.gateway import AttachedRoute, choose_route
from grader.gateway.routing import with_creation_time
from grader.model.gateway import BackendRef, HTTPRoute, ParentRef, RouteRule

from support.shop import SHOP_SERVICES


def _route(name: str, service: str, ns: str = "shop") -> HTTPRoute:
    return HTTPRoute(ns, name, (ParentRef("public", "shop"),), (), (RouteRule(backend_refs=(BackendRef(service, "shop", 80),)),))


def test_same_second_ties_go_to_namespace_name_order_whatever_the_list_order():
    zeta, alpha = _route("zeta", "web"), _route("alpha", "api")
    for attached in ([AttachedRoute(zeta, (), 5), AttachedRoute(alpha, (), 5)], [AttachedRoute(alpha, (), 5), AttachedRoute(zeta, (), 5)]):
        assert choose_route(attached, "h", "GET", "/", {}, {}).route.name == "alpha"


def test_older_route_wins_over_alphabetical_order():
    attached = [AttachedRoute(_route("alpha", "api"), (), 6), AttachedRoute(_route("zeta", "web"), (), 5)]
    assert choose_route(attached, "h", "GET", "/", {}, {}).route.name == "zeta"


def test_namespace_is_part_of_the_alphabetical_key():
    attached = [AttachedRoute(_route("a", "api", "team-b"), (), 1), AttachedRoute(_route("z", "web", "team-a"), (), 1)]
    assert choose_route(attached, "h", "GET", "/", {}, {}).route.ref == "team-a/z"


def test_creation_time_is_kept_on_update_and_set_on_create():
    assert with_creation_time(_route("r", "web"), None, 7).created == 7
    stored = with_creation_time(_route("r", "web"), None, 3)
    assert with_creation_time(_route("r", "api"), stored, 9).created == 3


GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec:
  gatewayClassName: cloud-provider-kind
  listeners: [{name: http, port: 80, protocol: HTTP}]
"""


def route(name: str, service: str, port: int) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: shop}}
spec:
  parentRefs: [{{name: public}}]
  rules: [{{backendRefs: [{{name: {service}, port: {port}}}]}}]
"""


@pytest.fixture
def lab():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(SHOP_SERVICES)
    return lab


def test_one_apply_ties_then_name_decides_and_later_applies_are_younger(lab):
    # Document order puts "zeta" first; both are created in the same second, so "alpha" wins.
    lab.apply([GATEWAY, route("zeta", "web", 80), route("alpha", "api", 8080)])
    addr = lab.address("gateway/shop/public")
    r = lab.http("host", "http://shop.example.com/", resolve=addr)
    assert r.answered_by == "shop/api" and "httproute shop/alpha" in "\n".join(h.detail for h in r.hops)
    # A route created by a later apply is younger: it loses even though its name sorts first.
    lab.apply(route("aaa", "web", 80))
    assert lab.http("host", "http://shop.example.com/", resolve=addr).answered_by == "shop/api"
    # Re-applying keeps the creation time (metadata.creationTimestamp does not change on update).
    lab.apply([route("alpha", "api", 8080), route("zeta", "web", 80)])
    assert lab.http("host", "http://shop.example.com/", resolve=addr).answered_by == "shop/api"
    # Deleted and created again, "alpha" is the youngest: "zeta", now the oldest, wins.
    lab.delete("httproute/shop/alpha")
    lab.apply(route("alpha", "api", 8080))
    assert lab.http("host", "http://shop.example.com/", resolve=addr).answered_by == "shop/web"
