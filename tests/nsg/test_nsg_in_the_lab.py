"""NSGs attached to the simulated cluster's node subnet / NICs (an Azure model: kind has no NSG).

Sources: Azure "How network security groups filter network traffic" (subnet and NIC NSGs,
intra-subnet traffic), "Network security groups overview" (stateful; rule changes affect only new
connections), AKS "Azure CNI Overlay" → "Network security groups" (pod-to-pod traffic that is not
encapsulated is subject to subnet NSG rules; allow node→node, node→pod and pod→pod), Cilium's VXLAN
port 8472 and Calico's 4789 (encapsulated traffic is node-to-node UDP).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from grader.cni import PROFILES
from grader.errors import LabError, ManifestError
from grader.lab import SimulatedLab
from grader.model import Protocol
from grader.nsg import LoadBalancerFrontend, LoadBalancerPort
from grader.reachability import Verdict


def rule(name: str, priority: int, access: str, direction: str = "Inbound", **kw: Any) -> dict[str, Any]:
    base = {"name": name, "priority": priority, "direction": direction, "access": access, "protocol": "*",
            "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "*"}
    for key in [k for k in kw if k.endswith(("Prefixes", "Ranges"))]:
        base.pop(key[:-2] if key.endswith("Prefixes") else key[:-1], None)
    base.update(kw)
    return base


def _lab(name: str) -> SimulatedLab:
    lab = SimulatedLab(name)
    lab.deploy("shop")
    return lab


DENY_VXLAN = [rule("deny-vxlan", 100, "Deny", protocol="Udp", destinationPortRanges=["4789", "8472"])]
DENY_POD_CIDRS = [rule("deny-pods", 100, "Deny", sourceAddressPrefixes=["10.244.0.0/16", "192.168.0.0/16"])]


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_what_a_subnet_nsg_sees_of_cross_node_pod_traffic_depends_on_encapsulation(name: str) -> None:
    encapsulated = PROFILES[name].encapsulated
    lab = _lab(name)
    lab.attach_nsg({"name": "aks-nsg", "securityRules": DENY_VXLAN})
    assert lab.probe("shop/web", "shop/db", 5432).verdict is (Verdict.BLOCKED if encapsulated else Verdict.ALLOWED)
    lab.attach_nsg({"name": "aks-nsg", "securityRules": DENY_POD_CIDRS if PROFILES[name].pod_subnet.prefixlen == 16 else
                    [rule("deny-pods", 100, "Deny", sourceAddressPrefixes=[str(PROFILES[name].pod_subnet)])]})   # calico-flat: a /17 of the node network
    blocked = lab.probe("shop/web", "shop/db", 5432)
    assert blocked.verdict is (Verdict.ALLOWED if encapsulated else Verdict.BLOCKED)
    if not encapsulated:
        assert "dropped by Azure NSG aks-nsg (subnet): deny-pods (priority 100)" in blocked.reason
        assert any(h.step == "nsg" and "DENY by deny-pods (priority 100)" in h.detail for h in blocked.hops)


def test_pods_on_one_node_are_not_filtered_by_the_subnet_nsg() -> None:
    lab = _lab("kindnet")
    db = lab.state.pod("shop/db")
    assert db is not None
    lab.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "same-node", "namespace": "shop"},
               "spec": {"nodeName": db.node, "containers": [{"name": "c"}]}})
    lab.attach_nsg([rule("deny-everything", 100, "Deny"), rule("deny-everything-out", 100, "Deny", "Outbound")])
    assert lab.probe("shop/same-node", "shop/db", 5432).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", "shop/db", 5432).verdict is Verdict.BLOCKED


def test_egress_to_the_internet_is_filtered_after_snat_with_the_node_ip_as_source() -> None:
    lab = _lab("cilium-native")
    web = lab.state.pod("shop/web")
    assert web is not None
    node_ip = lab.state.node(web.node or "").ip
    lab.attach_nsg([rule("deny-https-out", 200, "Deny", "Outbound", protocol="Tcp", destinationAddressPrefix="Internet",
                         destinationPortRange="443")])
    result = lab.probe("shop/web", "api.example.com", 443)
    assert result.verdict is Verdict.BLOCKED
    nsg_hops = [h.detail for h in result.hops if h.step == "nsg"]
    assert nsg_hops and f"outbound TCP {node_ip}:" in nsg_hops[-1] and "DENY by deny-https-out (priority 200)" in nsg_hops[-1]
    assert lab.probe("shop/web", "api.example.com", 80).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", "vm.internal", 443).verdict is Verdict.ALLOWED  # VNet, not Internet


def test_a_nic_nsg_filters_only_its_node() -> None:
    lab = _lab("kindnet")
    lab.attach_nsg([rule("deny-kubelet", 100, "Deny", destinationPortRange="10250")], to="node:kind-worker", name="worker-nic")
    blocked = lab.probe("vm.internal", "node:kind-worker", 10250)
    assert blocked.verdict is Verdict.BLOCKED and "worker-nic (NIC of kind-worker)" in blocked.reason
    assert lab.probe("vm.internal", "node:kind-worker2", 10250).verdict is Verdict.ALLOWED
    lab.detach_nsg("node:kind-worker")
    assert lab.probe("vm.internal", "node:kind-worker", 10250).verdict is Verdict.ALLOWED
    with pytest.raises(LabError, match="no node"):
        lab.attach_nsg([], to="node:kind-worker9")
    with pytest.raises(LabError, match="subnet"):
        lab.attach_nsg([], to="nic")


def test_subnet_nsg_allows_and_nic_nsg_denies() -> None:
    lab = _lab("kindnet")
    lab.attach_nsg([rule("allow-vnet", 100, "Allow", sourceAddressPrefix="VirtualNetwork")], name="subnet")
    lab.attach_nsg([rule("deny-all", 100, "Deny")], to="node:kind-worker", name="nic")
    result = lab.probe("vm.internal", "node:kind-worker", 10250)
    assert result.verdict is Verdict.BLOCKED
    assert [h.detail.split(" ")[1] for h in result.hops if h.step == "nsg"] == ["subnet", "nic"]


def test_stateful_rule_changes_only_affect_new_connections() -> None:
    lab = _lab("kindnet")
    conn = lab.open_connection("vm.internal", "node:kind-worker", 10250)
    lab.attach_nsg([rule("deny-vnet", 100, "Deny", sourceAddressPrefix="VirtualNetwork")])
    assert lab.probe("vm.internal", "node:kind-worker", 10250).verdict is Verdict.BLOCKED
    kept = lab.send(conn)
    assert kept.verdict is Verdict.ALLOWED and any("NSG flow records" in h.detail for h in kept.hops)


def test_invalid_rules_attach_nothing_and_reset_detaches() -> None:
    lab = _lab("kindnet")
    with pytest.raises(ManifestError):
        lab.attach_nsg([rule("bad", 50, "Deny")])
    assert lab.nsg_rules() is None
    lab.attach_nsg([rule("deny-all", 100, "Deny")])
    assert lab.probe("vm.internal", "node:kind-worker", 10250).verdict is Verdict.BLOCKED
    lab.reset(keep_topology=True)
    assert lab.nsg_rules() is None
    assert lab.probe("vm.internal", "node:kind-worker", 10250).verdict is Verdict.ALLOWED


def test_loadbalancer_services_add_their_rules_to_the_subnet_nsg() -> None:
    """The hook the Services code fills: LoadBalancer frontends whose NSG rules Azure adds."""
    lab = _lab("kindnet")
    lab.attach_nsg({"name": "aks-agentpool-nsg", "securityRules": [rule("allow-ssh-admin", 100, "Allow", sourceAddressPrefix="198.51.100.7",
                                                                        destinationPortRange="22")]})
    frontend = ipaddress.ip_address("20.1.2.3")
    lab.network.load_balancers = lambda: [LoadBalancerFrontend("shop/web", frontend, (LoadBalancerPort(80, Protocol.TCP, 30080),),
                                                               source_ranges=(ipaddress.ip_network("203.0.113.0/24"),))]
    nsg = lab.nsg_rules()
    assert nsg is not None
    names = [r.name for r in nsg.rules]
    assert names[0] == "allow-ssh-admin" and names[1].startswith("k8s-azure-lb_allow_IPv4_")
    assert "Azure model" in nsg.render()
    allowed = lab.network.admit_from_load_balancer(ipaddress.ip_address("203.0.113.10"), frontend, 80, Protocol.TCP, "kind-worker")
    assert [d.allowed for d in allowed] == [True] and allowed[0].rule.name == names[1]
    denied = lab.network.admit_from_load_balancer(ipaddress.ip_address("198.51.100.20"), frontend, 80, Protocol.TCP, "kind-worker")
    assert [(d.allowed, d.rule.name) for d in denied] == [(False, "DenyAllInBound")]
    lab.detach_nsg()
    assert lab.network.admit_from_load_balancer(ipaddress.ip_address("198.51.100.20"), frontend, 80, Protocol.TCP, "kind-worker") == ()


def test_return_traffic_needs_no_rule_only_the_initiating_direction_is_evaluated() -> None:
    """"If inbound traffic is allowed over a port, it's not necessary to specify an outbound security rule to respond"."""
    lab = _lab("kindnet")
    lab.attach_nsg([rule("deny-all-out", 100, "Deny", "Outbound")], to="node:kind-worker", name="nic")
    answered = lab.probe("vm.internal", "node:kind-worker", 10250)
    assert answered.verdict is Verdict.ALLOWED
    assert [h.detail for h in answered.hops if h.step == "nsg"][0].startswith("NSG nic (NIC of kind-worker) inbound")
    started = lab.probe("node:kind-worker", "vm.internal", 80)
    assert started.verdict is Verdict.BLOCKED and "deny-all-out (priority 100)" in started.reason
    nic = lab.nsg_rules("node:kind-worker")
    assert nic is not None and [r.name for r in nic.rules] == ["deny-all-out"]
