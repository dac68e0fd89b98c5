"""A connection to a nodePort first travels to the node's own address: that leg has a route (or not)
and crosses the node subnet's NSG like any other packet (regression: it used to skip both, so an NSG
denying the nodePort range, or the missing route from the internet to a private node address, changed
nothing). Sources: Azure "How network security groups filter network traffic"; AKS nodes have no
public address, the internet reaches Services through a load balancer's public frontend."""

from __future__ import annotations

import pytest

import grader
from grader.reachability import Verdict

NODEPORT = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
"""
DENY_NODEPORTS = [{"name": "deny-nodeports", "priority": 100, "direction": "Inbound", "access": "Deny", "protocol": "Tcp",
                   "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
                   "destinationPortRange": "30000-32767"}]


@pytest.fixture
def lab():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(NODEPORT)
    return lab


def test_an_nsg_denying_the_nodeport_range_drops_connections_to_it(lab):
    assert lab.probe("vm.internal", "node:kind-worker:30080").verdict is Verdict.ALLOWED
    lab.attach_nsg(DENY_NODEPORTS)
    for target in ("node:kind-worker:30080", "172.18.0.3"):
        r = lab.probe("vm.internal", target, None if target.startswith("node:") else 30080)
        assert r.verdict is Verdict.BLOCKED, r.explain()
        assert "dropped by Azure NSG nsg (subnet): deny-nodeports (priority 100)" in r.reason
        assert any(h.step == "nsg" and "172.18.0.100" in h.detail and "→ 172.18.0.3:30080" in h.detail for h in r.hops)
    # The kubelet's port is outside the range: still open.
    assert lab.probe("vm.internal", "node:kind-worker", 10250).verdict is Verdict.ALLOWED
    # A pod on the same node never crosses the subnet NSG; a pod on another node does.
    web_node = lab.state.pod("shop/web").node
    same = next(p for p in lab.pods() if p.node == web_node and p.name != "web")
    other = next(p for p in lab.pods() if p.node != web_node)
    assert lab.probe(str(same.ref), f"node:{web_node}:30080").verdict is Verdict.ALLOWED
    assert lab.probe(str(other.ref), f"node:{web_node}:30080").verdict is Verdict.BLOCKED


def test_the_internet_has_no_route_to_a_nodeport(lab):
    r = lab.probe("api.example.com", "node:kind-worker:30080")
    assert r.verdict is Verdict.BLOCKED and "no route" in r.reason and "private" in r.reason
    assert lab.probe("host", "node:kind-worker:30080").verdict is Verdict.ALLOWED  # on the node network: fine


def test_with_an_nsg_the_generated_rule_is_what_drops_sources_outside_load_balancer_source_ranges():
    """Azure writes loadBalancerSourceRanges into the NSG allow rule it adds for the Service; other
    sources then fall through to DenyAllInBound (fact aks-lb-source-ranges). Without an NSG in the
    model, kube-proxy on the node enforces the ranges."""
    lab = grader.connect("kindnet", backend="sim", load_balancer="azure", quiet=True)
    lab.deploy("shop")
    lab.apply(NODEPORT.replace("type: NodePort", "type: LoadBalancer\n  loadBalancerSourceRanges: [203.0.113.0/24]"))
    frontend = lab.address("service/shop/web")
    without = lab.probe("blocked.example.net", frontend, 80)
    assert without.verdict is Verdict.BLOCKED and "kube-proxy on the node drops it" in without.reason
    lab.attach_nsg({"name": "aks-agentpool-nsg", "securityRules": []})
    rule = next(r for r in lab.nsg_rules().rules if r.name.startswith("k8s-azure-lb_allow_IPv4_"))
    assert [p.text for p in rule.source] == ["203.0.113.0/24"]
    dropped = lab.probe("blocked.example.net", frontend, 80)
    assert dropped.verdict is Verdict.BLOCKED and "DenyAllInBound" in dropped.reason
    assert any(h.step == "nsg" and "DENY by default rule DenyAllInBound" in h.detail for h in dropped.hops)
    allowed = lab.probe("api.example.com", frontend, 80)
    assert allowed.verdict is Verdict.ALLOWED
    assert any(h.step == "nsg" and f"ALLOW by {rule.name}" in h.detail for h in allowed.hops)
