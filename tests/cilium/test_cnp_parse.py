"""CiliumNetworkPolicy parsing: what the CRD schema and the Cilium agent reject, with field paths.

Sources: the CiliumNetworkPolicy CRD (``port`` is a string; protocol and entity enums; FQDN
patterns), ``pkg/policy/api`` ``Rule.Sanitize`` (toFQDNs cannot be combined with other L3
selectors - docs.cilium.io "DNS based"; a rule needs ingress or egress), docs.cilium.io
"Using Kubernetes Constructs in Policy" (namespace defaults for endpoint selectors; namespace
labels ignored in namespaced policies).
"""

from __future__ import annotations

from typing import Any

import pytest

from grader.cilium import CiliumNetworkPolicy, Entity
from grader.errors import ManifestError
from grader.manifests import parse_manifests


def cnp(spec: dict[str, Any], *, name: str = "p", namespace: str = "shop", kind: str = "CiliumNetworkPolicy") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if kind == "CiliumNetworkPolicy":
        meta["namespace"] = namespace
    return {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta, "spec": spec}


def parse(doc: dict[str, Any]) -> CiliumNetworkPolicy:
    (m,) = parse_manifests(doc)
    assert isinstance(m.obj, CiliumNetworkPolicy)
    return m.obj


def problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ManifestError) as err:
        parse_manifests(doc)
    return [str(p) for p in err.value.problems]


def test_dns_and_fqdn_example_parses_with_defaults() -> None:
    policy = parse(cnp({
        "endpointSelector": {"matchLabels": {"app": "web"}},
        "egress": [
            {"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}],
             "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [{"matchPattern": "*"}]}}]},
            {"toFQDNs": [{"matchName": "api.example.com"}], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]},
        ],
    }))
    (spec,) = policy.specs
    assert spec.default_deny_egress and not spec.default_deny_ingress
    assert spec.endpoint_selector.namespace == "shop"
    dns_rule, fqdn_rule = spec.egress
    assert dns_rule.endpoints is not None and dns_rule.endpoints[0].namespace is None  # names its namespace itself
    assert dict(dns_rule.endpoints[0].selector.match_labels) == {"io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns"}
    assert dns_rule.ports[0].dns is not None and dns_rule.ports[0].ports[0].port == 53
    assert fqdn_rule.fqdns is not None and fqdn_rule.ports[0].dns is None


def test_endpoints_without_a_namespace_label_select_the_policys_namespace_but_not_in_a_clusterwide_policy() -> None:
    namespaced = parse(cnp({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "web"}}]}]}))
    rule = namespaced.specs[0].ingress[0]
    assert rule.endpoints is not None and rule.endpoints[0].namespace == "shop"
    clusterwide = parse(cnp({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "web"}}]}]},
                            kind="CiliumClusterwideNetworkPolicy"))
    rule = clusterwide.specs[0].ingress[0]
    assert rule.endpoints is not None and rule.endpoints[0].namespace is None
    assert clusterwide.namespace == "" and clusterwide.specs[0].endpoint_selector.namespace is None


def test_namespace_labels_are_ignored_in_a_namespaced_policy() -> None:
    policy = parse(cnp({"endpointSelector": {}, "ingress": [{"fromEndpoints": [
        {"matchLabels": {"io.cilium.k8s.namespace.labels.team": "platform"}}]}]}))
    sel = policy.specs[0].ingress[0].endpoints[0]  # type: ignore[index]
    assert sel.ignored == ("io.cilium.k8s.namespace.labels.team",) and sel.selector.is_empty


def test_specs_list_and_enable_default_deny() -> None:
    doc = cnp({})
    del doc["spec"]
    doc["specs"] = [{"endpointSelector": {}, "egress": [{"toEntities": ["world"]}], "enableDefaultDeny": {"egress": False}},
                    {"endpointSelector": {"matchLabels": {"app": "db"}}, "ingress": [{}]}]
    policy = parse(doc)
    assert [s.path for s in policy.specs] == ["specs[0]", "specs[1]"]
    assert not policy.specs[0].default_deny_egress
    assert policy.specs[1].default_deny_ingress and policy.specs[1].ingress[0].is_empty
    assert policy.specs[0].egress[0].entities == (Entity.WORLD,)


@pytest.mark.parametrize(("spec", "path", "text"), [
    ({"endpointSelector": {}, "egress": [{"toPorts": [{"ports": [{"port": 443}]}]}]},
     "spec.egress[0].toPorts[0].ports[0].port", "must be of type string"),
    ({"endpointSelector": {}, "egress": [{"toFQDNs": [{"matchName": "a.example.com"}], "toEndpoints": [{}]}]},
     "spec.egress[0].toFQDNs", "cannot be combined"),
    ({"endpointSelector": {}, "egress": [{"toFQDNs": [{"matchName": "a.example.com", "matchPattern": "*.b"}]}]},
     "spec.egress[0].toFQDNs[0]", "exactly one"),
    ({"endpointSelector": {}, "egress": [{"toFQDNs": [{"matchPattern": "*.exa mple.com"}]}]},
     "spec.egress[0].toFQDNs[0].matchPattern", "not a DNS pattern"),
    ({"endpointSelector": {}, "egress": [{"toFQDNs": [{"matchPattern": "api.**.com"}]}]},
     "spec.egress[0].toFQDNs[0].matchPattern", "leading '**.'"),
    ({"endpointSelector": {}, "ingress": [{"toPorts": [{"ports": [{"port": "53"}], "rules": {"dns": [{"matchPattern": "*"}]}}]}]},
     "spec.ingress[0].toPorts[0].rules.dns", "only allowed on egress"),
    ({"endpointSelector": {}, "egress": [{"toEntities": ["wrld"]}]}, "spec.egress[0].toEntities[0]", "unsupported entity"),
    ({"endpointSelector": {}, "ingress": [{"toEntities": ["world"]}]}, "spec.ingress[0].toEntities", "belongs in egress"),
    ({"endpointSelector": {}, "egress": [{"toCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}]}]},
     "spec.egress[0].toCIDRSet[0].except[0]", "must lie inside"),
    ({"endpointSelector": {}, "egress": [{"toPorts": [{"ports": [{"port": "80", "protocol": "ICMP"}]}]}]},
     "spec.egress[0].toPorts[0].ports[0].protocol", "unsupported protocol"),
    ({"endpointSelector": {}, "egress": [{"toPorts": [{"ports": [{"port": "http", "endPort": 90}]}]}]},
     "spec.egress[0].toPorts[0].ports[0].endPort", "numeric port"),
    ({"endpointSelector": {}, "egress": [{"toPorts": [{"ports": [{"port": "80"}], "rules": {"http": [{"method": "GET"}]}}]}]},
     "spec.egress[0].toPorts[0].rules.http", "L7 HTTP rules are not modelled"),
    ({"endpointSelector": {}, "egressDeny": [{"toEntities": ["world"]}]}, "spec.egressDeny", "deny rules are not modelled"),
    ({"endpointSelector": {}}, "spec", "at least one of ingress or egress"),
    ({"egress": [{}]}, "spec.endpointSelector", "endpointSelector is required"),
    ({"endpointSelector": {"matchLabels": {"reserved:host": ""}}, "egress": [{}]},
     "spec.endpointSelector.matchLabels.reserved:host", "label source 'reserved:'"),
    ({"endpointSelector": {}, "egress": [{"toServices": [{"k8sService": {"serviceName": "x"}}]}]},
     "spec.egress[0].toServices", "toServices is not modelled"),
])
def test_rejected_with_field_path(spec: dict[str, Any], path: str, text: str) -> None:
    found = problems(cnp(spec, name="bad"))
    hits = [p for p in found if p.startswith(f"ciliumnetworkpolicy/bad {path}:") and text in p]
    assert hits, found


def test_all_problems_of_a_document_come_back_together() -> None:
    found = problems(cnp({"endpointSelector": {}, "egress": [{"toPorts": [{"ports": [{"port": 53}]}]}, {"toEntities": ["nope"]}],
                          "ingress": [{"fromCIDR": ["not-a-cidr"]}]}, name="bad"))
    assert len(found) == 3
