"""Azure NSG model: validation, priority order, default rules, service tags, subnet/NIC order, LB rules.

Sources: learn.microsoft.com/azure/virtual-network/network-security-groups-overview (properties,
priority 100-4096, first match wins, default rules and their priorities, augmented rules, stateful
flow records), …/network-security-group-how-it-works (subnet then NIC inbound, NIC then subnet
outbound), …/service-tags-overview (VirtualNetwork, AzureLoadBalancer, Internet), and
kubernetes-sigs/cloud-provider-azure ``accesscontrol.go`` / ``securitygroup.go`` (LoadBalancer rules).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from grader.errors import ManifestError
from grader.model import Protocol
from grader.nsg import (
    DEFAULT_RULES,
    Access,
    Attachment,
    FiveTuple,
    LoadBalancerFrontend,
    LoadBalancerPort,
    NetworkSecurityGroup,
    NsgDirection,
    TagSpace,
    allow_rule_name,
    evaluate,
    evaluate_attachment,
    load_balancer_rules,
    parse_nsg,
)

ip = ipaddress.ip_address
TAGS = TagSpace((ipaddress.ip_network("172.18.0.0/16"), ipaddress.ip_network("10.244.0.0/16"), ipaddress.ip_network("168.63.129.16/32")))


def rule(name: str, priority: int, access: str = "Allow", direction: str = "Inbound", **extra: Any) -> dict[str, Any]:
    base = {"name": name, "priority": priority, "direction": direction, "access": access, "protocol": "*",
            "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "*"}
    for key in [k for k in extra if k.endswith(("Prefixes", "Ranges"))]:
        base.pop(key[:-2] if key.endswith("Prefixes") else key[:-1], None)
    base.update(extra)
    return base


def pkt(src: str, dst: str, port: int, protocol: Protocol = Protocol.TCP, sport: int = 40000) -> FiveTuple:
    return FiveTuple(ip(src), sport, ip(dst), port, protocol)


def decide(rules: list[dict[str, Any]], direction: NsgDirection, packet: FiveTuple) -> tuple[str, int, Access]:
    d = evaluate(parse_nsg({"securityRules": rules}), direction, packet, TAGS)
    return d.rule.name, d.rule.priority, d.rule.access


# -- default rules -------------------------------------------------------------------------------------------
def test_default_rules_are_the_documented_six() -> None:
    rows = [(r.name, r.priority, r.direction.value, r.access.value) for r in DEFAULT_RULES]
    assert rows == [
        ("AllowVnetInBound", 65000, "Inbound", "Allow"), ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow"),
        ("DenyAllInBound", 65500, "Inbound", "Deny"), ("AllowVnetOutBound", 65000, "Outbound", "Allow"),
        ("AllowInternetOutBound", 65001, "Outbound", "Allow"), ("DenyAllOutBound", 65500, "Outbound", "Deny"),
    ]


DEFAULT_TABLE = [
    # (direction, source, destination, port, expected rule)
    (NsgDirection.INBOUND, "172.18.0.100", "172.18.0.3", 22, "AllowVnetInBound"),
    (NsgDirection.INBOUND, "10.244.1.2", "10.244.2.3", 80, "AllowVnetInBound"),        # pod CIDR is in VirtualNetwork
    (NsgDirection.INBOUND, "168.63.129.16", "172.18.0.3", 10256, "AllowVnetInBound"),  # host VIP is in both tags
    (NsgDirection.INBOUND, "203.0.113.10", "172.18.0.3", 443, "DenyAllInBound"),
    (NsgDirection.OUTBOUND, "172.18.0.3", "172.18.0.4", 8472, "AllowVnetOutBound"),
    (NsgDirection.OUTBOUND, "172.18.0.3", "203.0.113.10", 443, "AllowInternetOutBound"),
    (NsgDirection.OUTBOUND, "172.18.0.3", "10.9.9.9", 443, "DenyAllOutBound"),         # private, outside the VNet: not Internet
]


@pytest.mark.parametrize(("direction", "src", "dst", "port", "expected"), DEFAULT_TABLE)
def test_default_rules_decide_when_nothing_else_matches(direction: NsgDirection, src: str, dst: str, port: int, expected: str) -> None:
    name, priority, _ = decide([], direction, pkt(src, dst, port))
    assert name == expected and priority >= 65000


def test_azure_load_balancer_tag_is_the_host_vip_only() -> None:
    rules = [rule("deny-vnet", 100, "Deny", sourceAddressPrefix="VirtualNetwork")]
    assert decide(rules, NsgDirection.INBOUND, pkt("172.18.0.100", "172.18.0.3", 80))[0] == "deny-vnet"
    allow_lb = [rule("allow-probe", 100, sourceAddressPrefix="AzureLoadBalancer")]
    assert decide(allow_lb, NsgDirection.INBOUND, pkt("168.63.129.16", "172.18.0.3", 80))[0] == "allow-probe"
    assert decide(allow_lb, NsgDirection.INBOUND, pkt("203.0.113.10", "172.18.0.3", 80))[0] == "DenyAllInBound"


# -- priority order ----------------------------------------------------------------------------------------
PRIORITY_TABLE = [
    # rules, packet port, expected (name, access)
    ([rule("allow-80", 200, destinationPortRange="80"), rule("deny-all", 100, "Deny")], 80, ("deny-all", Access.DENY)),
    ([rule("allow-80", 100, destinationPortRange="80"), rule("deny-all", 200, "Deny")], 80, ("allow-80", Access.ALLOW)),
    ([rule("allow-80", 100, destinationPortRange="80"), rule("deny-all", 200, "Deny")], 81, ("deny-all", Access.DENY)),
    ([rule("range", 300, destinationPortRanges=["8000-8080", "443"]), rule("deny-all", 4096, "Deny")], 8080, ("range", Access.ALLOW)),
    ([rule("range", 300, destinationPortRanges=["8000-8080", "443"]), rule("deny-all", 4096, "Deny")], 8081, ("deny-all", Access.DENY)),
    ([rule("udp-only", 100, protocol="Udp")], 53, ("DenyAllInBound", Access.DENY)),    # a TCP packet skips a Udp rule
    ([rule("src-port", 100, sourcePortRange="1000-2000")], 80, ("DenyAllInBound", Access.DENY)),
]


@pytest.mark.parametrize(("rules", "port", "expected"), PRIORITY_TABLE)
def test_lowest_priority_number_that_matches_wins(rules: list[dict[str, Any]], port: int, expected: tuple[str, Access]) -> None:
    name, _, access = decide(rules, NsgDirection.INBOUND, pkt("203.0.113.10", "172.18.0.3", port))
    assert (name, access) == expected


SERVICE_TAG_TABLE = [
    ("Internet", "203.0.113.10", True),
    ("Internet", "172.18.0.100", False),
    ("Internet", "192.168.5.5", False),
    ("VirtualNetwork", "172.18.0.100", True),
    ("VirtualNetwork", "203.0.113.10", False),
    ("*", "198.51.100.20", True),
    ("203.0.113.0/24", "203.0.113.10", True),
    ("203.0.113.7", "203.0.113.10", False),
]


@pytest.mark.parametrize(("prefix", "source", "matches"), SERVICE_TAG_TABLE)
def test_source_prefixes_and_service_tags(prefix: str, source: str, matches: bool) -> None:
    rules = [rule("r", 100, "Allow", sourceAddressPrefix=prefix), rule("deny", 200, "Deny")]
    assert (decide(rules, NsgDirection.INBOUND, pkt(source, "172.18.0.3", 80))[0] == "r") is matches


def test_augmented_rules_take_several_prefixes_and_ports() -> None:
    rules = [rule("multi", 100, sourceAddressPrefixes=["203.0.113.0/24", "198.51.100.20"], destinationPortRanges=["80", "443"]),
             rule("deny", 200, "Deny")]
    assert decide(rules, NsgDirection.INBOUND, pkt("198.51.100.20", "172.18.0.3", 443))[0] == "multi"
    assert decide(rules, NsgDirection.INBOUND, pkt("198.51.100.21", "172.18.0.3", 443))[0] == "deny"


def test_subnet_nsg_first_inbound_and_nic_nsg_first_outbound() -> None:
    subnet = parse_nsg({"name": "subnet-nsg", "securityRules": [rule("allow-in", 100), rule("allow-out", 100, direction="Outbound")]})
    nic = parse_nsg({"name": "nic-nsg", "securityRules": [rule("nic-deny-in", 100, "Deny"), rule("nic-deny-out", 100, "Deny", direction="Outbound")]})
    both = Attachment(subnet, nic)
    inbound = evaluate_attachment(both, "kind-worker", NsgDirection.INBOUND, pkt("203.0.113.10", "172.18.0.3", 80), TAGS)
    assert [(d.nsg, d.allowed) for d in inbound] == [("subnet-nsg", True), ("nic-nsg", False)]
    outbound = evaluate_attachment(both, "kind-worker", NsgDirection.OUTBOUND, pkt("172.18.0.3", "203.0.113.10", 443), TAGS)
    assert [(d.nsg, d.allowed) for d in outbound] == [("nic-nsg", False)]  # processing stops at the first deny
    subnet_deny = Attachment(parse_nsg({"name": "s", "securityRules": [rule("deny", 100, "Deny")]}), nic)
    first = evaluate_attachment(subnet_deny, "kind-worker", NsgDirection.INBOUND, pkt("203.0.113.10", "172.18.0.3", 80), TAGS)
    assert [d.nsg for d in first] == ["s"]


# -- validation -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "path", "text"), [
    ({"priority": 99}, "securityRules[0].priority", "allowed range 100-4096"),
    ({"priority": 65000}, "securityRules[0].priority", "allowed range 100-4096"),
    ({"priority": "100"}, "securityRules[0].priority", "expected an integer"),
    ({"direction": "In"}, "securityRules[0].direction", "Inbound or Outbound"),
    ({"access": "Permit"}, "securityRules[0].access", "Allow or Deny"),
    ({"protocol": "Http"}, "securityRules[0].protocol", "Tcp, Udp, Icmp, Esp, Ah or *"),
    ({"name": "-bad"}, "securityRules[0].name", "invalid name"),
    ({"name": "x" * 81}, "securityRules[0].name", "up to 80"),
    ({"sourceAddressPrefixes": ["10.0.0.0/8"]}, "securityRules[0]", "either sourceAddressPrefix or sourceAddressPrefixes"),
    ({"sourceAddressPrefix": None}, "securityRules[0].sourceAddressPrefix", "is required"),
    ({"destinationAddressPrefix": "10.0.0.5/24"}, "securityRules[0].destinationAddressPrefix", "did you mean 10.0.0.0/24"),
    ({"destinationAddressPrefix": "Storage"}, "securityRules[0].destinationAddressPrefix", "not modelled"),
    ({"destinationAddressPrefix": "nonsense"}, "securityRules[0].destinationAddressPrefix", "not '*', an IP address"),
    ({"destinationPortRange": "90-80"}, "securityRules[0].destinationPortRange", "low to high"),
    ({"destinationPortRange": "70000"}, "securityRules[0].destinationPortRange", "between 0 and 65535"),
    ({"sourceApplicationSecurityGroups": [{"id": "x"}]}, "securityRules[0].sourceApplicationSecurityGroups", "not modelled"),
    ({"bogus": 1}, "securityRules[0].bogus", "unknown field"),
])
def test_invalid_rules_are_reported_with_their_field_path(change: dict[str, Any], path: str, text: str) -> None:
    bad = rule("r", 100)
    bad.update(change)
    bad = {k: v for k, v in bad.items() if v is not None}
    with pytest.raises(ManifestError) as err:
        parse_nsg({"name": "n", "securityRules": [bad]})
    found = [str(p) for p in err.value.problems]
    assert any(p.startswith(f"nsg/n {path}:") and text in p for p in found), found


def test_service_tags_cannot_go_into_the_plural_lists() -> None:
    with pytest.raises(ManifestError, match="cannot be used in a list"):
        parse_nsg([rule("r", 100, sourceAddressPrefixes=["VirtualNetwork", "10.0.0.0/8"])])


def test_duplicate_priorities_per_direction_and_duplicate_names() -> None:
    with pytest.raises(ManifestError) as err:
        parse_nsg([rule("a", 100), rule("b", 100), rule("b", 100, direction="Outbound")])
    text = str(err.value)
    assert "rules 'a' and 'b' have the same priority 100 and direction Inbound" in text
    assert "duplicate rule name 'b'" in text
    parse_nsg([rule("a", 100), rule("b", 100, direction="Outbound")])  # the same priority in the other direction is fine


def test_arm_shape_az_cli_output_and_yaml_text_parse() -> None:
    text = """
name: aks-agentpool-nsg
properties:
  securityRules:
  - name: allow-https
    id: /subscriptions/x/resourceGroups/y/providers/Microsoft.Network/networkSecurityGroups/z/securityRules/allow-https
    properties:
      priority: 100
      direction: Inbound
      access: Allow
      protocol: Tcp
      sourceAddressPrefix: Internet
      sourcePortRange: "*"
      destinationAddressPrefix: "*"
      destinationPortRange: "443"
      provisioningState: Succeeded
"""
    nsg = parse_nsg(text)
    assert nsg.name == "aks-agentpool-nsg" and [r.name for r in nsg.rules] == ["allow-https"]
    with pytest.raises(ManifestError, match="not valid YAML"):
        parse_nsg("securityRules: [\n")


# -- LoadBalancer Services ---------------------------------------------------------------------------------
def lb(name: str, frontend: str, *ports: int, **kw: Any) -> LoadBalancerFrontend:
    return LoadBalancerFrontend(name, ip(frontend), tuple(LoadBalancerPort(p, kw.pop("protocol", Protocol.TCP), 30000 + p) for p in ports), **kw)


def test_public_lb_gets_an_internet_allow_rule_for_frontend_ip_and_service_port() -> None:
    (r,) = load_balancer_rules([lb("shop/web", "20.1.2.3", 80)])
    assert r.name == allow_rule_name(r.protocol, ["Internet"], [80]) and r.name.startswith("k8s-azure-lb_allow_IPv4_")
    assert (r.priority, r.access, r.direction) == (500, Access.ALLOW, NsgDirection.INBOUND)
    assert [p.text for p in r.source] == ["Internet"] and [p.text for p in r.destination] == ["20.1.2.3"]
    assert [x.text for x in r.destination_ports] == ["80"]
    nsg = NetworkSecurityGroup("aks", ())
    allowed = evaluate(nsg, NsgDirection.INBOUND, pkt("203.0.113.10", "20.1.2.3", 80), TAGS, extra=[r])
    assert allowed.allowed and allowed.rule.name == r.name
    assert not evaluate(nsg, NsgDirection.INBOUND, pkt("203.0.113.10", "20.1.2.3", 443), TAGS, extra=[r]).allowed


def test_load_balancer_source_ranges_replace_the_internet_source() -> None:
    rules = load_balancer_rules([lb("shop/web", "20.1.2.3", 80, 443, source_ranges=(ipaddress.ip_network("203.0.113.0/24"),))])
    (r,) = rules
    assert [p.text for p in r.source] == ["203.0.113.0/24"]
    nsg = NetworkSecurityGroup("aks", ())
    assert evaluate(nsg, NsgDirection.INBOUND, pkt("203.0.113.10", "20.1.2.3", 443), TAGS, extra=rules).allowed
    denied = evaluate(nsg, NsgDirection.INBOUND, pkt("198.51.100.20", "20.1.2.3", 443), TAGS, extra=rules)
    assert not denied.allowed and denied.rule.name == "DenyAllInBound"
    # An internal frontend is a VNet address: the VNet still gets in through AllowVnetInBound unless the
    # deny-all annotation is set ("The traffic out of the VNet is already limited by rule DenyAllInBound").
    internal = load_balancer_rules([lb("shop/api", "172.18.255.10", 80, internal=True, source_ranges=(ipaddress.ip_network("203.0.113.0/24"),))])
    assert [p.text for p in internal[0].source] == ["203.0.113.0/24"]
    assert evaluate(nsg, NsgDirection.INBOUND, pkt("172.18.0.100", "172.18.255.10", 80), TAGS, extra=internal).rule.name == "AllowVnetInBound"


def test_deny_all_except_source_ranges_annotation_adds_a_deny_rule_at_the_end() -> None:
    rules = load_balancer_rules([lb("shop/web", "172.18.255.10", 80, source_ranges=(ipaddress.ip_network("203.0.113.0/24"),),
                                    deny_all_except_source_ranges=True)])
    deny = [r for r in rules if r.access is Access.DENY]
    assert [(r.name, r.priority) for r in deny] == [("k8s-azure-lb_deny-all_IPv4", 4095)]
    nsg = NetworkSecurityGroup("aks", ())
    assert evaluate(nsg, NsgDirection.INBOUND, pkt("172.18.0.100", "172.18.255.10", 80), TAGS, extra=rules).rule.name == deny[0].name


def test_internal_lb_gets_no_internet_rule_and_services_with_same_ports_share_one() -> None:
    assert load_balancer_rules([lb("shop/internal", "172.18.255.20", 80, internal=True)]) == ()
    shared = load_balancer_rules([lb("a/one", "20.1.2.3", 80), lb("b/two", "20.1.2.4", 80), lb("c/three", "20.1.2.5", 8080)])
    assert [r.priority for r in shared] == [500, 501]
    assert [[p.text for p in r.destination] for r in shared] == [["20.1.2.3", "20.1.2.4"], ["20.1.2.5"]]


def test_priorities_skip_the_ones_in_use_and_sctp_udp_map_to_their_protocols() -> None:
    rules = load_balancer_rules([lb("a/dns", "20.1.2.3", 53, protocol=Protocol.UDP), lb("b/sctp", "20.1.2.4", 9999, protocol=Protocol.SCTP)],
                                taken_priorities=[500, 501])
    assert sorted((r.protocol.value, r.priority) for r in rules) == [("*", 503), ("Udp", 502)]


def test_without_floating_ip_the_rule_opens_the_node_port() -> None:
    (r,) = load_balancer_rules([lb("shop/web", "20.1.2.3", 80, floating_ip=False)])
    assert [x.text for x in r.destination_ports] == ["30080"]
