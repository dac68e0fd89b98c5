"""Gateway API v1beta1 in the simulated lab: the same objects as v1.

The Gateway API release the course pins (fact ``gateway-api-version``, v1.6.1) still serves
``gateway.networking.k8s.io/v1beta1`` for GatewayClass, Gateway and HTTPRoute (standard-channel
CRDs: ``served: true``, ``storage: false``; the schema is v1's, the Go types are aliases), so a
manifest written with it must behave exactly as with v1 (fact ``gateway-api-v1beta1-served``).
"""

from __future__ import annotations

import pytest

import grader
from grader.facts import fact
from grader.reachability import Verdict
from grader.tls import mint_ca

from support.shop import SHOP_SERVICES

CA = mint_ca("shop CA")


def _objects(version: str, class_version: str | None = None) -> str:
    class_version = class_version or version
    return f"""
apiVersion: gateway.networking.k8s.io/{class_version}
kind: GatewayClass
metadata: {{name: approuting-istio}}
spec: {{controllerName: istio.io/gateway-controller}}
---
apiVersion: gateway.networking.k8s.io/{version}
kind: Gateway
metadata: {{name: public, namespace: shop}}
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - {{name: http, port: 80, protocol: HTTP}}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: shop.example.com
    tls: {{mode: Terminate, certificateRefs: [{{name: shop-tls}}]}}
---
apiVersion: gateway.networking.k8s.io/{version}
kind: HTTPRoute
metadata: {{name: to-https, namespace: shop}}
spec:
  parentRefs: [{{name: public, sectionName: http}}]
  rules:
  - filters: [{{type: RequestRedirect, requestRedirect: {{scheme: https, statusCode: 301}}}}]
---
apiVersion: gateway.networking.k8s.io/{version}
kind: HTTPRoute
metadata: {{name: shop, namespace: shop}}
spec:
  parentRefs: [{{name: public, sectionName: https}}]
  hostnames: [shop.example.com]
  rules:
  - backendRefs: [{{name: web, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /api}}}}]
    backendRefs: [{{name: api, port: 8080}}]
"""


def _lab(objects: str):
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(SHOP_SERVICES)
    lab.apply([CA.issue(["shop.example.com"]).secret("shop-tls", "shop"), objects])
    return lab


def _observed(lab) -> list[tuple[object, ...]]:
    addr = lab.address("gateway/shop/public")
    out = []
    for url, kwargs in [("http://shop.example.com/cart", {}), ("https://shop.example.com/", {"ca": CA}),
                        ("https://shop.example.com/api/v1/cart", {"ca": CA}), ("https://shop.example.com/", {"ca": CA, "host": "other.example.com"})]:
        r = lab.http("host", url, resolve=addr, **kwargs)
        out.append((url, r.verdict, r.http.status, r.answered_by, r.http.location, r.http.certificate_trusted))
    out.append(("status", lab.status("gateway/shop/public").render(), lab.status("httproute/shop/shop").render()))
    return out


def test_v1beta1_gateway_and_routes_behave_exactly_as_v1() -> None:
    v1 = _observed(_lab(_objects("v1")))
    beta = _observed(_lab(_objects("v1beta1")))
    assert beta == v1
    redirect, home, api, other_host, _ = beta
    assert redirect[2] == 301 and redirect[4] == "https://shop.example.com/cart"
    assert home[1] is Verdict.ALLOWED and home[3] == "shop/web" and home[5] is True
    assert api[3] == "shop/api"
    assert other_host[2] == 404


@pytest.mark.parametrize("route_version, gateway_version", [("v1beta1", "v1"), ("v1", "v1beta1")])
def test_versions_mix_a_route_of_one_attaches_to_a_gateway_of_the_other(route_version: str, gateway_version: str) -> None:
    objects = _objects(route_version).replace(f"gateway.networking.k8s.io/{route_version}\nkind: Gateway\n",
                                               f"gateway.networking.k8s.io/{gateway_version}\nkind: Gateway\n")
    assert f"{gateway_version}\nkind: Gateway\n" in objects
    lab = _lab(objects)
    r = lab.http("host", "https://shop.example.com/api", resolve=lab.address("gateway/shop/public"), ca=CA)
    assert r.answered_by == "shop/api"


def test_the_same_object_under_either_version_is_one_object() -> None:
    lab = _lab(_objects("v1beta1"))
    before = sorted(str(k) for k in lab.objects("HTTPRoute"))
    lab.apply(_objects("v1"))  # kubectl apply of the v1 spelling updates the objects, it adds none
    assert sorted(str(k) for k in lab.objects("HTTPRoute")) == before == ["httproute/shop/shop", "httproute/shop/to-https"]
    addr = lab.address("gateway/shop/public")
    assert lab.http("host", "http://shop.example.com/", resolve=addr).http.status == 301
    lab.delete("gateway/shop/public")  # deleting it by name deletes the object, whichever version made it
    assert lab.objects("Gateway") == []
    assert lab.http("host", "http://shop.example.com/", resolve=addr).verdict is not Verdict.ALLOWED


def test_v1beta1_is_validated_like_v1() -> None:
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    bad = _objects("v1beta1").replace("statusCode: 301", "statusCode: 305")
    with pytest.raises(grader.errors.ManifestError, match=r"httproute/to-https spec.rules\[0\].filters\[0\].requestRedirect.statusCode"):
        lab.apply(bad)


def test_the_fact_cites_the_pinned_release() -> None:
    served = fact("gateway-api-v1beta1-served")
    assert served.value == {"version": fact("gateway-api-version").value, "kinds": ["GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant"]}
    assert any("v1.6.1" in s for s in served.sources)
