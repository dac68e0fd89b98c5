"""The legacy ``service.beta.kubernetes.io/load-balancer-source-ranges`` annotation.

Upstream, sources read 2026-08:
* API server (kubernetes ``pkg/apis/core/validation/validation.go`` ``ValidateService``): when
  ``spec.loadBalancerSourceRanges`` is empty, the annotation is only allowed on LoadBalancer
  Services and each comma-separated entry must be a CIDR (``IsValidCIDR``); when the spec field is
  set the annotation is not looked at.
* k8s.io/cloud-provider ``service/helpers`` ``GetLoadBalancerSourceRanges``: spec field first, the
  annotation only when the field is empty.
* Azure (cloud-provider-azure v1.36 ``AllowedIPRanges``): the annotation's CIDRs go into the NSG
  allow rule; both the field and the annotation set is refused ("cannot set both").
* kube-proxy (``newBaseServiceInfo``) and cloud-provider-kind v0.11.1 (``proxy.go``): the spec field only.
"""

from __future__ import annotations

import pytest

import grader
from grader.errors import ManifestError
from grader.reachability import Verdict

ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"


def service(annotation: str | None = None, spec_ranges: str | None = None, kind: str = "LoadBalancer") -> str:
    ann = f"\n  annotations:\n    {ANNOTATION}: \"{annotation}\"" if annotation is not None else ""
    ranges = f"\n  loadBalancerSourceRanges: {spec_ranges}" if spec_ranges is not None else ""
    return f"""
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop{ann}
spec:
  type: {kind}
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]{ranges}
"""


def azure_lab():
    lab = grader.connect("kindnet", backend="sim", load_balancer="azure", quiet=True)
    lab.deploy("shop")
    return lab


def kind_lab():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    return lab


# -- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value, message", [
    ("10.0.0.0/33", '"10.0.0.0/33" is not a CIDR'),
    ("203.0.113.0/24,10.0.0.0/33", '"10.0.0.0/33" is not a CIDR'),
    ("10.0.0.1/24", '"10.0.0.1/24" must not have bits set beyond the prefix length (the network is 10.0.0.0/24)'),
    ("010.0.0.0/8", '"010.0.0.0/8" must not have leading 0s'),
    ("shop.example.com", '"shop.example.com" is not a CIDR'),
    ("2001:DB8::/32", '"2001:DB8::/32" must be in canonical form (\'2001:db8::/32\')'),
])
def test_a_bad_cidr_in_the_annotation_is_refused_with_its_field_path(value: str, message: str) -> None:
    with pytest.raises(ManifestError) as err:
        kind_lab().apply(service(value))
    assert f"service/web metadata.annotations[{ANNOTATION}]: {message}" in str(err.value)


def test_the_annotation_is_only_for_load_balancers() -> None:
    with pytest.raises(ManifestError, match=rf"metadata.annotations\[{ANNOTATION}\]: may only be used when `type` is 'LoadBalancer'"):
        kind_lab().apply(service("203.0.113.0/24", kind="ClusterIP"))


def test_spaces_and_an_empty_value_are_fine() -> None:
    lab = kind_lab()
    lab.apply(service(" 203.0.113.0/24 , 10.244.0.0/16 "))
    lab.apply(service(""))  # empty: allow all


def test_with_the_spec_field_set_the_annotation_is_not_validated() -> None:
    lab = kind_lab()
    lab.apply(service("not a cidr", spec_ranges="[203.0.113.0/24]"))  # the API server only looks at the field
    assert lab.address("service/shop/web") is not None


# -- Azure: the annotation alone limits the sources ----------------------------------------------
def test_azure_annotation_alone_blocks_sources_outside_and_admits_sources_inside() -> None:
    lab = azure_lab()
    lab.apply(service("203.0.113.0/24"))
    frontend = lab.address("service/shop/web")
    assert frontend is not None
    outside = lab.probe("blocked.example.net", frontend, 80)
    assert outside.verdict is Verdict.BLOCKED, outside.explain()
    assert f"annotation {ANNOTATION}: 203.0.113.0/24" in outside.reason and "kube-proxy does not read the annotation" in outside.reason
    inside = lab.probe("api.example.com", frontend, 80)  # 203.0.113.10
    assert inside.verdict is Verdict.ALLOWED and inside.answered_by == "shop/web"


def test_azure_without_the_annotation_everyone_gets_in() -> None:
    lab = azure_lab()
    lab.apply(service())
    assert lab.probe("blocked.example.net", lab.address("service/shop/web"), 80).verdict is Verdict.ALLOWED


def test_azure_writes_the_annotation_into_the_nsg_allow_rule() -> None:
    lab = azure_lab()
    lab.apply(service("203.0.113.0/24"))
    frontend = lab.address("service/shop/web")
    lab.attach_nsg({"name": "aks-agentpool-nsg", "securityRules": []})
    rule = next(r for r in lab.nsg_rules().rules if r.name.startswith("k8s-azure-lb_allow_IPv4_"))
    assert [p.text for p in rule.source] == ["203.0.113.0/24"]
    dropped = lab.probe("blocked.example.net", frontend, 80)
    assert dropped.verdict is Verdict.BLOCKED and "DenyAllInBound" in dropped.reason
    assert lab.probe("api.example.com", frontend, 80).verdict is Verdict.ALLOWED


def test_azure_pods_are_not_filtered_by_the_annotation_because_kube_proxy_ignores_it() -> None:
    lab = azure_lab()
    lab.apply(service("203.0.113.0/24"))
    frontend = lab.address("service/shop/web")
    assert lab.probe("shop/api", frontend, 80).verdict is Verdict.ALLOWED
    lab.apply(service(spec_ranges="[203.0.113.0/24]"))  # the spec field: kube-proxy filters pods too
    assert lab.probe("shop/api", frontend, 80).verdict is Verdict.BLOCKED


def test_azure_refuses_both_the_spec_field_and_the_annotation() -> None:
    lab = azure_lab()
    lab.apply(service("198.51.100.0/24", spec_ranges="[203.0.113.0/24]"))
    assert lab.address("service/shop/web") is None  # EnsureLoadBalancer fails: "cannot set both"
    assert next(s for s in lab.services("shop") if s.name == "web").external_ip == "<pending>"


# -- the spec field wins; cloud-provider-kind reads only the spec field -------------------------------
def test_the_spec_field_wins_over_the_annotation() -> None:
    lab = kind_lab()
    lab.apply(service("0.0.0.0/0", spec_ranges="[10.0.0.0/8]"))
    addr = lab.address("service/shop/web")
    r = lab.probe("host", addr, 80)  # 172.18.0.1: outside the field's 10.0.0.0/8, inside the annotation's 0.0.0.0/0
    assert r.verdict is Verdict.BLOCKED and "loadBalancerSourceRanges" in r.reason


def test_cloud_provider_kind_ignores_the_annotation_and_says_so() -> None:
    lab = kind_lab()
    lab.apply(service("10.0.0.0/8"))
    addr = lab.address("service/shop/web")
    r = lab.probe("host", addr, 80)
    assert r.verdict is Verdict.ALLOWED and r.answered_by == "shop/web"
    assert any(h.step == "load-balancer" and f"cloud-provider-kind does not read the {ANNOTATION} annotation" in h.detail for h in r.hops)


def test_source_range_helpers() -> None:
    import ipaddress

    from grader.model.labels import Labels
    from grader.model.services import Service
    from grader.services import cloud_source_ranges, provider_source_ranges

    net = ipaddress.ip_network
    with_annotation = Service("shop", "web", annotations=Labels({ANNOTATION: " 203.0.113.0/24,10.0.0.0/8 "}))
    assert cloud_source_ranges(with_annotation) == ((net("203.0.113.0/24"), net("10.0.0.0/8")), f"annotation {ANNOTATION}")
    assert provider_source_ranges(with_annotation, "cloud-provider-kind") == ((), "")
    both = Service("shop", "web", load_balancer_source_ranges=(net("192.0.2.0/24"),), annotations=with_annotation.annotations)
    assert cloud_source_ranges(both) == ((net("192.0.2.0/24"),), "spec.loadBalancerSourceRanges")
