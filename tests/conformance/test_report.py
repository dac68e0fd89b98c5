"""The conformance report and the order/tear-down of kind scenarios, offline (no Docker needed)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from conformance.conformance_report import Disagreement, Report, Row, kind_order

from grader.kind.progress import StepTime


def test_report_lists_steps_scenarios_and_disagreements(tmp_path: Path) -> None:
    report = Report()
    report.up("kindnet", [StepTime("pull the node image", 41.26, True), StepTime("create the kind cluster", 63.0, True)])
    report.scenario("kindnet", "default-deny-ingress", "sim", [Row("y/a → x/a 80/TCP", "BLOCKED")])
    report.scenario("kindnet", "default-deny-ingress", "kind", [Row("y/a → x/a 80/TCP", "ALLOWED", ("expected BLOCKED, observed ALLOWED (connected)",))])
    report.disagreement("kindnet", Disagreement("default-deny-ingress", "y/a → x/a 80/TCP", "BLOCKED", "ALLOWED"))
    report.deleted("kindnet", True)
    md, js = report.write(tmp_path / "conformance-report")
    text = md.read_text()
    assert "| pull the node image | 41.3 | ok |" in text and "| total | 104.3 | |" in text
    assert "| default-deny-ingress | kind | no | y/a → x/a 80/TCP: expected BLOCKED, observed ALLOWED (connected) |" in text
    assert "| default-deny-ingress | y/a → x/a 80/TCP | BLOCKED | ALLOWED |" in text
    assert "Cluster: deleted after its scenarios." in text
    doc = json.loads(js.read_text())
    (prof,) = doc["profiles"]
    assert prof["profile"] == "kindnet" and prof["deleted"] is True
    assert [s["as_expected"] for s in prof["scenarios"]] == [True, False]
    assert prof["disagreements"] == [{"kind": "ALLOWED", "label": "y/a → x/a 80/TCP", "scenario": "default-deny-ingress", "simulated": "BLOCKED"}]


def test_kind_items_run_profile_by_profile_and_the_last_one_is_known() -> None:
    """R11: the clusters are deleted after each profile's last scenario, so they must run grouped."""
    def item(backend: str, profile: str, name: str) -> SimpleNamespace:
        return SimpleNamespace(callspec=SimpleNamespace(params={"backend": backend, "profile": profile}), nodeid=name)

    items = [item("kind", "kindnet", "k1"), item("sim", "kindnet", "s1"), item("kind", "calico-vxlan", "c1"),
             item("kind", "kindnet", "k2"), item("kind", "calico-vxlan", "c2")]
    last = kind_order(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == ["s1", "k1", "k2", "c1", "c2"]
    assert last == {"kindnet": "k2", "calico-vxlan": "c2"}
