"""reset(keep_topology=True) restores labels and removes what was applied, without rescheduling pods."""

from __future__ import annotations

import pytest

import grader


@pytest.mark.parametrize("profile", ["kindnet", "calico-vxlan"])
def test_reset_keeps_nodes_and_addresses(profile):
    lab = grader.connect(profile, backend="sim", quiet=True)
    lab.deploy("shop")
    before = {str(p.ref): (p.node, p.ip) for p in lab.pods()}
    lab.label("shop/web", {"tier": "changed"})
    lab.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
""")
    for _ in range(3):
        lab.reset(keep_topology=True)
        assert {str(p.ref): (p.node, p.ip) for p in lab.pods()} == before
    web = next(p for p in lab.pods("shop") if p.name == "web")
    assert web.labels["tier"] == "frontend"
    assert lab.objects("NetworkPolicy") == []
    assert lab.probe("untrusted/attacker", "shop/db", 5432).verdict is grader.Verdict.ALLOWED
