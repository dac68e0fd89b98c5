"""The fake CNI's own NetworkPolicy evaluator (``support.fakenet.netpol``) against every upstream-derived
acceptance case (tests/acceptance/netpol, format in its README; loaded as the sim engine's test loads it).

The evaluator is independent of ``grader.netpol`` on purpose: these cases are what make it a
trustworthy referee for the kind backend's offline end-to-end tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from acceptance.test_netpol_acceptance import CASES, load
from support.fakenet.netpol import Endpoint, Fate, evaluate, selects


def _endpoints(case: dict) -> dict[str, Endpoint]:
    out = {}
    for p in case["pods"]:
        ports = tuple((pt.get("name", ""), int(pt["port"]), pt.get("protocol", "TCP")) for pt in p.get("ports") or [] if pt.get("name"))
        out[f"{p['namespace']}/{p['name']}"] = Endpoint(p.get("ip") or f"10.0.0.{len(out) + 1}", p["namespace"], p.get("labels") or {}, ports)
    return out


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_the_fake_cni_reproduces_every_upstream_verdict(path: Path) -> None:
    case = load(path)
    pods = _endpoints(case)
    namespaces = {name: (spec or {}).get("labels") or {} for name, spec in (case.get("namespaces") or {}).items()}
    wrong = []
    for e in case["expect"]:
        fate = evaluate(case.get("policies") or [], namespaces, pods[e["from"]], pods[e["to"]], int(e["port"]), e["protocol"])
        if (fate is Fate.ACCEPT) != e["allowed"]:
            wrong.append(f"{e['from']} -> {e['to']} {e['port']}/{e['protocol']}: fake says {fate.name}, upstream allowed={e['allowed']}")
    assert not wrong, "\n".join(wrong)


def test_ip_blocks_with_except_and_port_ranges() -> None:
    pol = {"metadata": {"name": "p", "namespace": "a"}, "spec": {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}}],
                    "ports": [{"port": 8000, "endPort": 8010, "protocol": "TCP"}]}]}}
    client = Endpoint("10.244.1.2", "a", {"app": "c"})
    out = Endpoint("203.0.113.10")
    assert evaluate([pol], {}, client, out, 8005) is Fate.ACCEPT
    assert evaluate([pol], {}, client, out, 8011) is Fate.DROP  # past endPort
    assert evaluate([pol], {}, client, out, 8005, "UDP") is Fate.DROP  # other protocol
    assert evaluate([pol], {}, client, Endpoint("203.0.113.200"), 8005) is Fate.DROP  # in the except range
    assert evaluate([pol], {}, Endpoint("10.244.1.3", "b", {}), Endpoint("203.0.113.200"), 8005) is Fate.ACCEPT  # b is not isolated


def test_label_selector_operators_follow_apimachinery() -> None:
    assert selects({}, {"x": "1"}) and selects(None, {})
    assert selects({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}, {})  # a missing key is "not in"
    assert not selects({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}, {})
    assert selects({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"app": "x"})
    with pytest.raises(ValueError, match="operator"):
        selects({"matchExpressions": [{"key": "k", "operator": "Equals", "values": ["v"]}]}, {})
