"""Gateway and HTTPRoute conditions as data (type, status, reason, message), read through the
public ``lab.status(...)``, with the condition types and reasons of the v1 API
(kubernetes-sigs/gateway-api ``apis/v1/gateway_types.go``, ``httproute_types.go``)."""

from __future__ import annotations

import pytest

import grader
from grader.gateway import Condition, ConditionRow, ConditionStatus

from support.shop import SHOP_SERVICES

T, F, U = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


def test_condition_status_is_an_enum_and_plain_strings_are_converted():
    c = Condition("Accepted", "True", "Accepted")
    assert c.status is T and c.ok and c.status == "True"
    assert Condition("Programmed", "Unknown", "Pending").status is U
    with pytest.raises(ValueError, match="condition Accepted: status must be True, False or Unknown, got 'yes'"):
        Condition("Accepted", "yes", "Accepted")


MANIFESTS = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: https, port: 443, protocol: HTTPS, hostname: shop.example.com, tls: {certificateRefs: [{name: missing-tls}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: orphan, namespace: shop}
spec:
  gatewayClassName: nobody
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: public, sectionName: http}, {name: public, sectionName: nope}]
  rules: [{backendRefs: [{name: no-such-service, port: 80}]}]
"""


@pytest.fixture(scope="module")
def lab():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(SHOP_SERVICES)
    lab.apply(MANIFESTS)
    return lab


def test_gateway_and_listener_conditions(lab):
    status = lab.status("gateway/shop/public")
    assert status.condition("Accepted") == Condition("Accepted", T, "Accepted", "accepted by cloud-provider-kind (Envoy container per Gateway on the kind network)")
    assert status.condition("Programmed").status is T and status.condition("Nope") is None
    https = status.listener("https")
    assert https.condition("ResolvedRefs") == Condition("ResolvedRefs", F, "InvalidCertificateRef", "Secret shop/missing-tls does not exist")
    assert https.condition("Programmed") == Condition("Programmed", F, "Invalid", "the listener has no usable certificate")
    assert status.listener("http").condition("Programmed").status is T and status.listener("http").attached_routes == 1
    with pytest.raises(KeyError, match="gateway shop/public has no listener 'ftp' \\(listeners: http, https\\)"):
        status.listener("ftp")


def test_gateway_without_controller_is_pending(lab):
    status = lab.status("gateway/shop/orphan")
    assert [(c.type, c.status, c.reason) for c in status.conditions] == [("Accepted", U, "Pending"), ("Programmed", U, "Pending")]
    assert "GatewayClass 'nobody' does not exist" in status.condition("Accepted").message


def test_route_conditions_per_parent(lab):
    status = lab.status("httproute/shop/shop")
    http = status.parents[0]
    assert http.condition("Accepted").status is T and http.listeners == ("http",)
    assert http.condition("ResolvedRefs") == Condition("ResolvedRefs", F, "BackendNotFound", "rules[0].backendRefs[0]: Service shop/no-such-service does not exist")
    nope = status.parents[1]
    assert nope.condition("Accepted").status is F and nope.condition("Accepted").reason == "NoMatchingParent"
    assert status.parent("shop/public") is http
    with pytest.raises(KeyError, match="httproute shop/shop has no parentRef 'shop/other'"):
        status.parent("shop/other")


def test_rows_list_every_condition_with_its_owner(lab):
    rows = lab.status("gateway/shop/public").rows()
    assert all(isinstance(r, ConditionRow) for r in rows)
    assert [(r.object, r.condition.type) for r in rows][:2] == [("gateway shop/public", "Accepted"), ("gateway shop/public", "Programmed")]
    assert ("gateway shop/public listener https", "ResolvedRefs", F) in [(r.object, r.condition.type, r.condition.status) for r in rows]
    route_rows = lab.status("httproute/shop/shop").rows()
    # ResolvedRefs is reported on every parent the controller owns, accepted or not.
    assert [r.render() for r in route_rows if r.condition.type == "ResolvedRefs"] == [
        f"httproute shop/shop gateway shop/public (listener {name}): ResolvedRefs=False (BackendNotFound): "
        "rules[0].backendRefs[0]: Service shop/no-such-service does not exist" for name in ("http", "nope")]
