"""NetworkPolicy semantics, one rule per test. Source for each: kubernetes.io/docs/concepts/
services-networking/network-policies/ (sections named in the test docstrings) and the
NetworkPolicySpec API reference."""

from __future__ import annotations

from support.netpol_world import World, np

from grader.model import Protocol


def test_no_policy_means_everything_is_allowed(world: World) -> None:
    """'By default, a pod is non-isolated for egress/ingress' (The two sorts of pod isolation)."""
    assert world.allowed("x/a", "y/b")
    verdict = world.engine().evaluate(world.flow("x/a", "y/b"))
    assert "not isolated" in verdict.explain()


def test_empty_ingress_isolates_and_allows_nothing(world: World) -> None:
    world.policy(np("y", "podSelector: {}\npolicyTypes: [Ingress]"))
    assert not world.allowed("x/a", "y/b")
    assert not world.allowed("y/a", "y/b")
    assert world.allowed("y/b", "x/a")  # egress of y is untouched


def test_policy_only_isolates_pods_it_selects(world: World) -> None:
    world.policy(np("y", "podSelector: {matchLabels: {app: b}}\npolicyTypes: [Ingress]"))
    assert not world.allowed("x/a", "y/b")
    assert world.allowed("x/a", "y/a")


def test_policies_apply_only_in_their_namespace(world: World) -> None:
    world.policy(np("x", "podSelector: {}\npolicyTypes: [Ingress]"))
    assert world.allowed("x/a", "y/b")


def test_pod_selector_peer_means_same_namespace(world: World) -> None:
    """'podSelector: selects particular Pods in the same namespace as the NetworkPolicy'."""
    world.policy(np("y", "podSelector: {}\ningress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]"))
    assert world.allowed("y/a", "y/b")
    assert not world.allowed("x/a", "y/b")


def test_namespace_selector_alone_admits_every_pod_of_those_namespaces(world: World) -> None:
    world.policy(np("y", "podSelector: {}\ningress: [{from: [{namespaceSelector: {matchLabels: {team: x}}}]}]"))
    assert world.allowed("x/a", "y/b") and world.allowed("x/b", "y/b")
    assert not world.allowed("y/a", "y/b")


def test_both_selectors_in_one_peer_are_and(world: World) -> None:
    """'namespaceSelector and podSelector' in one element: pods matching both."""
    world.policy(np("y", """
podSelector: {}
ingress:
- from:
  - namespaceSelector: {matchLabels: {team: x}}
    podSelector: {matchLabels: {app: a}}
"""))
    assert world.allowed("x/a", "y/b")
    assert not world.allowed("x/b", "y/b")
    assert not world.allowed("y/a", "y/b")


def test_separate_peers_are_or(world: World) -> None:
    world.policy(np("y", """
podSelector: {}
ingress:
- from:
  - namespaceSelector: {matchLabels: {team: x}}
  - podSelector: {matchLabels: {app: a}}
"""))
    assert world.allowed("x/a", "y/b") and world.allowed("x/b", "y/b")  # namespace x (any pod)
    assert world.allowed("y/a", "y/b")  # app=a in y
    assert not world.allowed("y/b", "y/b")


def test_empty_namespace_selector_means_all_namespaces(world: World) -> None:
    world.policy(np("y", "podSelector: {}\ningress: [{from: [{namespaceSelector: {}}]}]"))
    assert world.allowed("x/b", "y/a") and world.allowed("y/b", "y/a")


def test_rule_without_from_allows_every_source_including_external(world: World) -> None:
    world.policy(np("y", "podSelector: {}\ningress: [{ports: [{port: 80}]}]"))
    assert world.allowed("x/a", "y/a")
    assert world.allowed("203.0.113.7", "y/a")
    assert not world.allowed("x/a", "y/a", 5432)


def test_policies_are_additive(world: World) -> None:
    world.policy(np("y", "podSelector: {}\npolicyTypes: [Ingress]", name="deny"))
    world.policy(np("y", "podSelector: {matchLabels: {app: b}}\ningress: [{from: [{namespaceSelector: {}}]}]", name="allow"))
    assert world.allowed("x/a", "y/b")
    assert not world.allowed("x/a", "y/a")
    verdict = world.engine().evaluate(world.flow("x/a", "y/b"))
    assert "allowed by y/allow ingress[0]" in verdict.explain()
    assert "isolated by y/allow, y/deny" in verdict.explain()


def test_egress_and_ingress_are_both_required(world: World) -> None:
    world.policy(np("x", "podSelector: {matchLabels: {app: a}}\npolicyTypes: [Egress]"))
    world.policy(np("y", "podSelector: {}\ningress: [{}]"))
    assert not world.allowed("x/a", "y/b")
    text = world.engine().evaluate(world.flow("x/a", "y/b")).explain()
    assert "egress from x/a: BLOCKED" in text and "ingress to y/b: allowed" in text


def test_named_port_resolves_on_the_destination_pod_with_protocol(world: World) -> None:
    world.policy(np("y", "podSelector: {}\ningress: [{ports: [{port: pg}]}]"))
    assert world.allowed("x/a", "y/a", 5432)
    assert not world.allowed("x/a", "y/a", 80)
    world.policies.clear()
    world.policy(np("y", "podSelector: {}\ningress: [{ports: [{port: pg, protocol: UDP}]}]"))
    assert not world.allowed("x/a", "y/a", 5432)  # pg is a TCP port: a UDP rule does not resolve it
    text = world.engine().evaluate(world.flow("x/a", "y/a", 5432)).explain()
    assert "has no TCP port with that name" not in text  # the rule is UDP: nothing to report for TCP


def test_named_port_that_does_not_exist_is_explained(world: World) -> None:
    world.policy(np("y", "podSelector: {}\ningress: [{ports: [{port: https}]}]"))
    text = world.engine().evaluate(world.flow("x/a", "y/a", 443)).explain()
    assert "names port 'https', but y/a has no TCP port with that name" in text


def test_named_egress_port_cannot_match_an_external_destination(world: World) -> None:
    world.policy(np("x", "podSelector: {}\npolicyTypes: [Egress]\negress: [{ports: [{port: http}]}]"))
    assert world.allowed("x/a", "y/a", 80)
    assert not world.allowed("x/a", "203.0.113.10", 80)


def test_end_port_range_is_inclusive(world: World) -> None:
    world.policy(np("y", "podSelector: {}\ningress: [{ports: [{port: 5000, endPort: 5432}]}]"))
    assert world.allowed("x/a", "y/a", 5000) and world.allowed("x/a", "y/a", 5432)
    assert not world.allowed("x/a", "y/a", 4999) and not world.allowed("x/a", "y/a", 5433)


def test_protocol_must_match(world: World) -> None:
    world.policy(np("y", "podSelector: {}\ningress: [{ports: [{port: 53, protocol: UDP}]}]"))
    assert world.allowed("x/a", "y/a", 53, Protocol.UDP)
    assert not world.allowed("x/a", "y/a", 53, Protocol.TCP)
    assert not world.allowed("x/a", "y/a", 53, Protocol.SCTP)


def test_port_without_number_matches_all_ports_of_that_protocol(world: World) -> None:
    world.policy(np("y", "podSelector: {}\ningress: [{ports: [{protocol: UDP}]}]"))
    assert world.allowed("x/a", "y/a", 53, Protocol.UDP)
    assert not world.allowed("x/a", "y/a", 80, Protocol.TCP)


def test_ip_block_with_except(world: World) -> None:
    world.policy(np("x", """
podSelector: {}
policyTypes: [Egress]
egress: [{to: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]}]
"""))
    assert world.allowed("x/a", "203.0.113.10")
    assert not world.allowed("x/a", "203.0.113.200")
    assert not world.allowed("x/a", "198.51.100.1")


def test_ip_block_matches_pod_ips_unless_the_cni_excludes_them(world: World) -> None:
    """kindnet/Calico match pod IPs with ipBlock (upstream e2e 'egress to server in CIDR');
    Cilium never does (docs.cilium.io policy language; AKS Azure CNI powered by Cilium)."""
    world.policy(np("x", "podSelector: {}\npolicyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]"))
    assert world.allowed("x/a", "y/a")
    assert not world.allowed("x/a", "y/a", ipblock_matches_cluster=False)
    assert world.allowed("x/a", "203.0.113.10", ipblock_matches_cluster=False)


def test_ipv6_ip_blocks_do_not_match_ipv4(world: World) -> None:
    world.policy(np("x", "podSelector: {}\npolicyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: '::/0'}}]}]"))
    assert not world.allowed("x/a", "203.0.113.10")
    assert world.allowed("x/a", "2001:db8::1")


def test_selectors_never_match_non_pods(world: World) -> None:
    world.policy(np("y", "podSelector: {}\ningress: [{from: [{namespaceSelector: {}}]}]"))
    assert not world.allowed("203.0.113.7", "y/a")


def test_traffic_from_the_pods_own_node_is_always_allowed(world: World) -> None:
    """'traffic to and from the node where a Pod is running is always allowed'."""
    world.policy(np("y", "podSelector: {}\npolicyTypes: [Ingress]"))
    verdict = world.engine().evaluate(world.flow("node", "y/a"))
    assert verdict.allowed and "own node" in verdict.explain()


def test_match_expressions_not_in_matches_missing_key(world: World) -> None:
    """apimachinery labels.Requirement: NotIn matches when the key is absent."""
    world.policy(np("y", "podSelector: {}\ningress: [{from: [{podSelector: {matchExpressions: [{key: role, operator: NotIn, values: [evil]}]}}]}]"))
    assert world.allowed("y/a", "y/b")


def test_match_expressions_exists_and_does_not_exist(world: World) -> None:
    world.policy(np("y", "podSelector: {matchExpressions: [{key: tier, operator: Exists}]}\npolicyTypes: [Ingress]", name="i"))
    world.policy(np("x", "podSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]}\npolicyTypes: [Egress]", name="e"))
    assert not world.allowed("x/a", "y/a")  # y/a isolated (has tier)
    assert world.allowed("y/a", "x/a")  # x/a not selected by the DoesNotExist egress policy


def test_loopback_follows_plain_semantics_and_is_flagged(world: World) -> None:
    world.policy(np("y", "podSelector: {}\npolicyTypes: [Ingress]"))
    verdict = world.engine().evaluate(world.flow("y/a", "y/a"))
    assert not verdict.allowed and verdict.loopback
    assert "loopback" in verdict.explain()


def test_explanation_names_the_matching_rule_peer_and_port(world: World) -> None:
    world.policy(np("y", """
podSelector: {matchLabels: {app: b}}
ingress:
- from: [{podSelector: {matchLabels: {tier: web}}}]
  ports: [{port: 5432}]
""", name="db"))
    text = world.engine().evaluate(world.flow("y/a", "y/b", 5432)).explain()
    assert "allowed by y/db ingress[0] (from[0] podSelector tier=web; port 5432/TCP)" in text
    blocked = world.engine().evaluate(world.flow("x/a", "y/b", 5432)).explain()
    assert "ingress to y/b: BLOCKED, isolated by y/db, and no ingress rule of these policies allows x/a on 5432/TCP" in blocked
