"""Built-in topologies and topology-file validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import ManifestError, load_topology
from grader.model import Protocol


def test_e2e_is_the_upstream_model() -> None:
    t = load_topology("e2e")
    assert [n.name for n in t.namespaces] == ["x", "y", "z"]
    assert t.pod_refs() == [f"{ns}/{p}" for ns in "xyz" for p in "abc"]
    pod = t.pods[0]
    assert {(c.port, c.protocol, c.name) for c in pod.ports} == {
        (port, proto, f"serve-{port}-{proto.lower()}") for port in (80, 81) for proto in Protocol
    }
    assert dict(pod.labels) == {"pod": "a"}
    assert t.namespaces[1].labels["kubernetes.io/metadata.name"] == "y"


def test_shop_has_three_tiers_monitoring_and_untrusted() -> None:
    t = load_topology("shop")
    tiers = {p.labels.get("tier") for p in t.pods if p.namespace == "shop"}
    assert tiers == {"frontend", "backend", "database"}
    assert {n.name for n in t.namespaces} == {"shop", "monitoring", "untrusted"}


def test_topology_file_errors_name_the_field(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("namespaces: {x: {labels: {ok: 'no good'}}}\npods:\n- {namespace: x, name: A, ports: [{port: 99999}, {port: 80, protocol: ICMP}]}\n")
    with pytest.raises(ManifestError) as err:
        load_topology(f)
    text = str(err.value)
    assert "topology bad.yaml namespaces.x.labels.ok: invalid label value 'no good'" in text
    assert "pods[0].name: invalid pod name 'A'" in text
    assert "pods[0].ports[0].port: must be between 1 and 65535" in text
    assert "pods[0].ports[1].protocol: unknown protocol 'ICMP'" in text


def test_unknown_topology_name() -> None:
    with pytest.raises(ManifestError, match="no such built-in topology or file; built-in: e2e, shop"):
        load_topology("mall")
