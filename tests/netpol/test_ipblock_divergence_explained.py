"""The explanation names the CNI divergence when an ipBlock contains the peer's address but cannot
select it: Cilium never matches pod or node addresses with ipBlock (AKS "Azure CNI powered by
Cilium" limitations, fact aks-cilium-ipblock). Other CNIs match, so there is nothing to note."""

from __future__ import annotations

import grader
from grader.reachability import Verdict

POLICIES = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-any-address, namespace: shop}
spec:
  podSelector: {matchLabels: {tier: database}}
  ingress:
  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
    ports: [{port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {tier: backend}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 172.18.0.0/16}}]
"""


def lab(profile):
    sim = grader.connect(profile, backend="sim", quiet=True)
    sim.deploy("shop")
    sim.apply(POLICIES)
    return sim


def test_cilium_explains_why_ipblock_does_not_select_a_pod_or_a_node():
    sim = lab("cilium-tunnel")
    pod = sim.probe("shop/web", "shop/db", 5432)
    assert pod.verdict is Verdict.BLOCKED
    assert ("shop/db-from-any-address ingress[0] has ipBlock 0.0.0.0/0, which contains" in pod.reason
            and "never matches pod addresses with ipBlock (Cilium)" in pod.reason)
    node = sim.probe("shop/api", "node:kind-worker", 10250)
    assert node.verdict is Verdict.BLOCKED and "never matches node addresses with ipBlock" in node.reason
    outside = sim.probe("shop/api", "172.18.0.100", 80)  # vm.internal by address (DNS is not allowed)
    assert outside.verdict is Verdict.ALLOWED  # an address outside the cluster: ipBlock applies


def test_other_cnis_match_and_have_nothing_to_note():
    sim = lab("kindnet")
    assert sim.probe("shop/web", "shop/db", 5432).verdict is Verdict.ALLOWED
    blocked = sim.probe("shop/web", "shop/db", 9100)  # the port does not match: no ipBlock note
    assert blocked.verdict is Verdict.BLOCKED and "ipBlock" not in blocked.reason
