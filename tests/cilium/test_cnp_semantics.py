"""CiliumNetworkPolicy semantics in the simulated cluster, and FQDN egress through the DNS proxy.

Sources: docs.cilium.io security/policy/language (default deny once a policy with rules in a
direction selects an endpoint; entities; CIDR rules never match cluster endpoints; L4-only rules;
``toFQDNs`` needs a DNS rule so the DNS proxy sees the lookup; IPs learned per agent), the
``EnableDefaultDeny`` field docs in ``pkg/policy/api/rule.go``, and "Using Kubernetes Constructs in
Policy" (namespaces). On non-Cilium profiles the kind is missing like an absent CRD.
"""

from __future__ import annotations

from typing import Any

import pytest

from grader.cni import PROFILES
from grader.errors import ManifestError
from grader.lab import SimulatedLab
from grader.reachability import Verdict

KUBE_DNS = {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}


def cnp(name: str, spec: dict[str, Any], namespace: str = "shop") -> dict[str, Any]:
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def dns_rule(*patterns: dict[str, str]) -> dict[str, Any]:
    return {"toEndpoints": [KUBE_DNS], "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}],
                                                     "rules": {"dns": list(patterns) or [{"matchPattern": "*"}]}}]}


def fqdn_rule(*selectors: dict[str, str], port: str = "443") -> dict[str, Any]:
    return {"toFQDNs": list(selectors), "toPorts": [{"ports": [{"port": port, "protocol": "TCP"}]}]}


@pytest.fixture(params=["cilium-tunnel", "cilium-native"])
def lab(request: pytest.FixtureRequest) -> SimulatedLab:
    lab = SimulatedLab(request.param)
    lab.deploy("shop")
    return lab


# -- admission ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n, p in PROFILES.items() if p.cni != "cilium"])
@pytest.mark.parametrize("kind", ["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"])
def test_cilium_kinds_fail_like_a_missing_crd_elsewhere(name: str, kind: str) -> None:
    lab = SimulatedLab(name)
    lab.deploy("shop")
    doc = cnp("x", {"endpointSelector": {}, "egress": [{}]})
    doc["kind"] = kind
    with pytest.raises(ManifestError) as err:
        lab.apply(doc)
    assert f'no matches for kind "{kind}" in version "cilium.io/v2"' in str(err.value)
    assert lab.objects(kind) == []  # nothing applied


def test_cilium_kinds_are_accepted_on_cilium(lab: SimulatedLab) -> None:
    keys = lab.apply(cnp("x", {"endpointSelector": {}, "egress": [{}]}))
    assert [str(k) for k in keys] == ["ciliumnetworkpolicy/shop/x"]
    lab.delete("cnp/shop/x")
    assert lab.objects("CiliumNetworkPolicy") == []


# -- default deny and union with NetworkPolicy ---------------------------------------------------------------
def test_a_policy_with_an_empty_egress_rule_is_default_deny_egress_only(lab: SimulatedLab) -> None:
    lab.apply(cnp("deny-egress", {"endpointSelector": {"matchLabels": {"app": "web"}}, "egress": [{}]}))
    assert lab.probe("shop/web", "shop/api", 8080).verdict is Verdict.BLOCKED
    assert lab.probe("shop/api", "shop/web", 80).verdict is Verdict.ALLOWED  # ingress of web untouched


def test_enable_default_deny_false_lets_a_policy_allow_without_isolating(lab: SimulatedLab) -> None:
    lab.apply(cnp("broad", {"endpointSelector": {"matchLabels": {"app": "web"}},
                            "egress": [{"toEntities": ["world"]}], "enableDefaultDeny": {"egress": False}}))
    assert lab.probe("shop/web", "shop/api", 8080).verdict is Verdict.ALLOWED


def test_cilium_policy_and_networkpolicy_allow_lists_are_unioned(lab: SimulatedLab) -> None:
    lab.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "db-from-api", "namespace": "shop"},
               "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}]}]}})
    assert lab.probe("shop/web", "shop/db", 5432).verdict is Verdict.BLOCKED
    lab.apply(cnp("db-from-web", {"endpointSelector": {"matchLabels": {"app": "db"}},
                                  "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "web"}}], "toPorts": [{"ports": [{"port": "5432", "protocol": "TCP"}]}]}]}))
    assert lab.probe("shop/web", "shop/db", 5432).verdict is Verdict.ALLOWED
    assert lab.probe("shop/api", "shop/db", 5432).verdict is Verdict.ALLOWED
    assert lab.probe("untrusted/attacker", "shop/db", 5432).verdict is Verdict.BLOCKED
    result = lab.probe("shop/web", "shop/db", 5432)
    assert "cnp shop/db-from-web spec.ingress[0]" in result.reason and "isolated by shop/db-from-api, cnp shop/db-from-web" in result.reason


def test_from_endpoints_default_to_the_policys_namespace(lab: SimulatedLab) -> None:
    lab.apply(cnp("web-from-app", {"endpointSelector": {"matchLabels": {"app": "web"}},
                                   "ingress": [{"fromEndpoints": [{"matchExpressions": [{"key": "app", "operator": "Exists"}]}]}]}))
    assert lab.probe("shop/api", "shop/web", 80).verdict is Verdict.ALLOWED
    assert lab.probe("untrusted/attacker", "shop/web", 80).verdict is Verdict.BLOCKED  # has app=... but another namespace
    lab.apply(cnp("web-from-untrusted", {"endpointSelector": {"matchLabels": {"app": "web"}},
                                         "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "untrusted"}}]}]}))
    assert lab.probe("untrusted/attacker", "shop/web", 80).verdict is Verdict.ALLOWED


def test_endpoint_selector_of_a_namespaced_policy_never_leaves_its_namespace(lab: SimulatedLab) -> None:
    lab.apply(cnp("everything", {"endpointSelector": {}, "ingress": [{}]}))
    assert lab.probe("shop/web", "shop/api", 8080).verdict is Verdict.BLOCKED
    assert lab.probe("shop/web", "untrusted/attacker", 80).verdict is Verdict.ALLOWED


def test_clusterwide_policy_selects_across_namespaces(lab: SimulatedLab) -> None:
    lab.apply({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "lock"},
               "spec": {"endpointSelector": {"matchLabels": {"app": "attacker"}}, "egress": [{}]}})
    assert lab.probe("untrusted/attacker", "shop/web", 80).verdict is Verdict.BLOCKED


def test_to_ports_without_peers_allows_those_ports_to_everyone_and_ports_are_strings(lab: SimulatedLab) -> None:
    lab.apply(cnp("web-out", {"endpointSelector": {"matchLabels": {"app": "web"}},
                              "egress": [{"toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}, {"port": "5000", "endPort": 5500, "protocol": "TCP"}]}]}]}))
    assert lab.probe("shop/web", "shop/api", 8080).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", "shop/db", 5432).verdict is Verdict.ALLOWED      # in the 5000-5500 range
    assert lab.probe("shop/web", "shop/api", 9100).verdict is Verdict.BLOCKED
    assert lab.probe("shop/web", "172.18.0.100", 80).verdict is Verdict.BLOCKED
    assert lab.probe("shop/web", "vm.internal", 80).verdict is Verdict.DNS_FAILED  # 53 is not among the ports


def test_named_ports_in_to_ports_resolve_on_the_destination(lab: SimulatedLab) -> None:
    lab.apply(cnp("metrics", {"endpointSelector": {"matchLabels": {"app": "prometheus"}}, "egress": [
        {"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "shop"}}], "toPorts": [{"ports": [{"port": "metrics", "protocol": "TCP"}]}]}]},
        namespace="monitoring"))
    assert lab.probe("monitoring/prometheus", "shop/api", 9100).verdict is Verdict.ALLOWED
    assert lab.probe("monitoring/prometheus", "shop/api", 8080).verdict is Verdict.BLOCKED


# -- entities and CIDRs -------------------------------------------------------------------------------------
ENTITY_TABLE = [
    # (entity, destination, port, allowed)
    ("world", "172.18.0.100", 80, True),      # by address: a name would need a lookup through kube-dns
    ("world", "shop/api", 8080, False),
    ("cluster", "shop/api", 8080, True),
    ("cluster", "node:kind-control-plane", 6443, True),
    ("cluster", "172.18.0.100", 80, False),
    ("kube-apiserver", "node:kind-control-plane", 6443, True),
    ("kube-apiserver", "node:kind-worker", 10250, False),
    ("remote-node", "node:kind-control-plane", 6443, True),
    ("all", "vm.internal", 80, True),         # by name: kube-dns is in "all" too
    ("all", "shop/api", 8080, True),
]


@pytest.mark.parametrize(("entity", "destination", "port", "allowed"), ENTITY_TABLE)
def test_to_entities(lab: SimulatedLab, entity: str, destination: str, port: int, allowed: bool) -> None:
    lab.apply(cnp("e", {"endpointSelector": {"matchLabels": {"app": "web"}}, "egress": [{"toEntities": [entity]}]}))
    assert lab.probe("shop/web", destination, port).verdict is (Verdict.ALLOWED if allowed else Verdict.BLOCKED)


def test_host_is_the_pods_own_node_and_remote_node_the_others(lab: SimulatedLab) -> None:
    web = lab.state.pod("shop/web")
    assert web is not None
    own = f"node:{web.node}"
    other = next(f"node:{n.name}" for n in lab.state.nodes if n.name not in (web.node, "kind-control-plane"))
    lab.apply(cnp("host", {"endpointSelector": {"matchLabels": {"app": "web"}}, "egress": [{"toEntities": ["host"]}]}))
    assert lab.probe("shop/web", own, 10250).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", other, 10250).verdict is Verdict.BLOCKED


def test_ingress_from_the_pods_own_node_is_always_allowed(lab: SimulatedLab) -> None:
    web = lab.state.pod("shop/web")
    assert web is not None
    lab.apply(cnp("deny-in", {"endpointSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}))
    assert lab.probe(f"node:{web.node}", "shop/web", 80).verdict is Verdict.ALLOWED
    other = next(n.name for n in lab.state.nodes if n.name != web.node)
    assert lab.probe(f"node:{other}", "shop/web", 80).verdict is Verdict.BLOCKED


def test_cidr_rules_match_outside_addresses_never_pods(lab: SimulatedLab) -> None:
    lab.apply(cnp("cidr", {"endpointSelector": {"matchLabels": {"app": "web"}}, "egress": [
        {"toCIDRSet": [{"cidr": "0.0.0.0/0", "except": ["198.51.100.0/24"]}]}]}))
    assert lab.probe("shop/web", "172.18.0.100", 80).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", "198.51.100.20", 443).verdict is Verdict.BLOCKED
    assert lab.probe("shop/web", "203.0.113.10", 443).verdict is Verdict.ALLOWED
    blocked = lab.probe("shop/web", "shop/api", 8080)
    assert blocked.verdict is Verdict.BLOCKED and "CIDR rules never match pods" in blocked.reason


# -- FQDN egress ------------------------------------------------------------------------------------------
def test_fqdn_allows_the_looked_up_name_and_blocks_another(lab: SimulatedLab) -> None:
    lab.apply(cnp("fqdn", {"endpointSelector": {"matchLabels": {"app": "web"}},
                           "egress": [dns_rule(), fqdn_rule({"matchName": "api.example.com"})]}))
    ok = lab.probe("shop/web", "api.example.com", 443)
    assert ok.verdict is Verdict.ALLOWED
    assert any("DNS proxy" in h.detail and "records api.example.com" in h.detail for h in ok.hops)
    denied = lab.probe("shop/web", "blocked.example.net", 443)
    assert denied.verdict is Verdict.BLOCKED and "none of its selectors matches" in denied.reason
    assert lab.probe("shop/web", "api.example.com", 80).verdict is Verdict.BLOCKED  # toPorts limits it to 443


def test_fqdn_match_pattern_does_not_cover_the_parent_domain(lab: SimulatedLab) -> None:
    lab.state.external_hosts["example.com"] = lab.state.external_hosts["api.example.com"].__class__(
        "example.com", __import__("ipaddress").ip_address("203.0.113.20"), "internet", "", lab.state.external_hosts["api.example.com"].ports)
    lab.apply(cnp("fqdn", {"endpointSelector": {"matchLabels": {"app": "web"}},
                           "egress": [dns_rule(), fqdn_rule({"matchPattern": "*.example.com"})]}))
    assert lab.probe("shop/web", "api.example.com", 443).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", "example.com", 443).verdict is Verdict.BLOCKED


def test_fqdn_without_a_dns_rule_never_learns_addresses(lab: SimulatedLab) -> None:
    lab.apply(cnp("fqdn", {"endpointSelector": {"matchLabels": {"app": "web"}}, "egress": [
        {"toEndpoints": [KUBE_DNS], "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}]}]},   # DNS allowed, but no rules.dns
        fqdn_rule({"matchName": "api.example.com"})]}))
    result = lab.probe("shop/web", "api.example.com", 443)
    assert result.verdict is Verdict.BLOCKED
    assert "only a DNS rule (toPorts rules.dns) sends lookups through the proxy" in result.reason
    assert not any("DNS proxy" in h.detail for h in result.hops if h.step == "dns")


def test_fqdn_with_dns_blocked_entirely_fails_the_lookup(lab: SimulatedLab) -> None:
    lab.apply(cnp("fqdn", {"endpointSelector": {"matchLabels": {"app": "web"}}, "egress": [fqdn_rule({"matchName": "api.example.com"})]}))
    result = lab.probe("shop/web", "api.example.com", 443)
    assert result.verdict is Verdict.DNS_FAILED and "egress to kube-dns" in result.reason


def test_the_dns_proxy_refuses_names_outside_its_dns_rules(lab: SimulatedLab) -> None:
    lab.apply(cnp("fqdn", {"endpointSelector": {"matchLabels": {"app": "web"}},
                           "egress": [dns_rule({"matchName": "api.example.com"}), fqdn_rule({"matchPattern": "*"})]}))
    assert lab.probe("shop/web", "api.example.com", 443).verdict is Verdict.ALLOWED
    refused = lab.probe("shop/web", "blocked.example.net", 443)
    assert refused.verdict is Verdict.DNS_FAILED and "REFUSED" in refused.reason


def test_connecting_by_address_works_only_after_a_lookup_on_the_same_node(lab: SimulatedLab) -> None:
    lab.apply(cnp("fqdn", {"endpointSelector": {}, "egress": [dns_rule(), fqdn_rule({"matchName": "api.example.com"})]}))
    web = lab.state.pod("shop/web")
    assert web is not None
    neighbour = next(p for p in lab.pods("shop") if p.node == web.node and p.name != "web")
    elsewhere = next(p for p in lab.pods("shop") if p.node != web.node)
    assert lab.probe("shop/web", "203.0.113.10", 443).verdict is Verdict.BLOCKED   # no lookup yet
    assert lab.probe("shop/web", "api.example.com", 443).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", "203.0.113.10", 443).verdict is Verdict.ALLOWED   # the node's agent learned the address
    assert lab.probe(str(neighbour.ref), "203.0.113.10", 443).verdict is Verdict.ALLOWED  # shared by every pod of that agent
    assert lab.probe(str(elsewhere.ref), "203.0.113.10", 443).verdict is Verdict.BLOCKED  # another node's agent did not
    lab.reset(keep_topology=True)
    assert lab.network.dns_cache.names_for(web.node or "", __import__("ipaddress").ip_address("203.0.113.10")) == []


def test_dns_rules_and_plain_networkpolicy_for_port_53_widen_the_proxy_to_every_name(lab: SimulatedLab) -> None:
    """A port with L7 DNS rules that another rule allows without L7 becomes an L7 wildcard, still proxied."""
    lab.apply(cnp("fqdn", {"endpointSelector": {"matchLabels": {"app": "web"}},
                           "egress": [dns_rule({"matchName": "api.example.com"}), fqdn_rule({"matchPattern": "*.example.net"})]}))
    assert lab.probe("shop/web", "blocked.example.net", 443).verdict is Verdict.DNS_FAILED
    lab.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "dns", "namespace": "shop"},
               "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}})
    assert lab.probe("shop/web", "blocked.example.net", 443).verdict is Verdict.ALLOWED
