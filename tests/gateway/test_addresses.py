"""Every Gateway, LoadBalancer Service and namespace of Ingresses has its own address, however
the objects are applied (cloud-provider-kind runs one Envoy container per Gateway,
``pkg/gateway/envoy.go`` ``gatewayName``; one per LoadBalancer Service; one singleton Gateway per
namespace with Ingresses, ``pkg/ingress/README.md``; the Gateway API conformance base manifest
creates several Gateways in one file)."""

from __future__ import annotations

import ipaddress

import pytest

import grader
from grader.model.gateway import Gateway
from grader.model.services import Service, ServiceType
from grader.services.addresses import held_address, held_addresses, next_free

from support.shop import SHOP_SERVICES

IP = ipaddress.ip_address


def test_next_free_skips_held_addresses_in_candidate_order():
    candidates = [IP("172.18.0.5"), IP("172.18.0.6"), IP("172.18.0.7")]
    assert next_free(candidates, {IP("172.18.0.5")}) == IP("172.18.0.6")
    assert next_free(candidates, set(candidates)) is None


def test_held_addresses_of_load_balancers_and_gateways():
    gw = Gateway("shop", "a", "cloud-provider-kind", (), IP("172.18.0.9"))
    lb = Service("shop", "lb", ServiceType.LOAD_BALANCER, (), load_balancer_ip=IP("172.18.0.8"))
    plain = Service("shop", "web", ServiceType.CLUSTER_IP, ())
    assert held_address("Gateway", gw) == IP("172.18.0.9")
    assert held_address("Service", plain) is None
    assert held_addresses([("Gateway", gw), ("Service", lb), ("Service", plain), ("Pod", object())]) == {IP("172.18.0.8"), IP("172.18.0.9")}


def _gateway(name: str, ns: str = "shop") -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: {ns}}}
spec:
  gatewayClassName: cloud-provider-kind
  listeners: [{{name: http, port: 80, protocol: HTTP}}]
"""


def _route(name: str, gateway: str, service: str, port: int) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: shop}}
spec:
  parentRefs: [{{name: {gateway}}}]
  rules: [{{backendRefs: [{{name: {service}, port: {port}}}]}}]
"""


def _lb(name: str) -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec:
  type: LoadBalancer
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


def _ingress(name: str, ns: str) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: {name}, namespace: {ns}}}
spec:
  rules:
  - host: {name}.example.com
    http:
      paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}]
"""


@pytest.fixture
def lab():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(SHOP_SERVICES)
    lab.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: blog}\n")
    return lab


def test_one_apply_gives_every_gateway_lb_and_ingress_namespace_its_own_address(lab):
    # Kinds interleaved on purpose: an Ingress before the Gateways, LB Services between them.
    lab.apply([_ingress("shop", "shop"), _gateway("one"), _lb("lb-a"), _gateway("two"), _ingress("blog", "blog"),
               _lb("lb-b"), _gateway("three"), _ingress("more", "shop")])
    addresses = {what: lab.address(what) for what in (
        "gateway/shop/one", "gateway/shop/two", "gateway/shop/three", "service/shop/lb-a", "service/shop/lb-b",
        "ingress/shop/shop", "ingress/blog/blog")}
    assert None not in addresses.values()
    assert len(set(addresses.values())) == len(addresses), addresses
    # Ingresses of one namespace share their namespace's Gateway (cloud-provider-kind's singleton).
    assert lab.address("ingress/shop/more") == addresses["ingress/shop/shop"]
    node_ips = {str(n.ip) for n in lab.state.nodes}
    assert not node_ips & set(addresses.values())


def test_a_request_to_the_second_gateway_uses_its_own_routes(lab):
    lab.apply([_gateway("one"), _gateway("two"), _route("to-web", "one", "web", 80), _route("to-api", "two", "api", 8080)])
    one, two = lab.address("gateway/shop/one"), lab.address("gateway/shop/two")
    assert one != two
    assert lab.http("host", "http://shop.example.com/", resolve=one).answered_by == "shop/web"
    assert lab.http("host", "http://shop.example.com/", resolve=two).answered_by == "shop/api"


def test_reapplying_keeps_addresses_and_later_objects_get_new_ones(lab):
    lab.apply([_gateway("one"), _lb("lb-a")])
    first = (lab.address("gateway/shop/one"), lab.address("service/shop/lb-a"))
    lab.apply([_gateway("one"), _lb("lb-a"), _gateway("two")])
    assert (lab.address("gateway/shop/one"), lab.address("service/shop/lb-a")) == first
    assert lab.address("gateway/shop/two") not in first
