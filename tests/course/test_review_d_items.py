"""The factual errors and stale statements of the newcomer review (section d) stay fixed.

One test per item that text can hold; the trace order after a drop is checked on the simulated
cluster itself (tests/cni/test_datapath_trace.py), the flat model in the same file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from grader.facts import fact

ROOT = Path(__file__).resolve().parents[2]


def _text(path: Path) -> str:
    nb = json.loads(path.read_text("utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"])


LESSONS = {p.stem: _text(p) for p in sorted((ROOT / "course").glob("*.ipynb"))}
SOLUTIONS = {p.parent.name: _text(p) for p in sorted((ROOT / "solutions").glob("*/*.ipynb"))}
EVERYTHING = {**LESSONS, **SOLUTIONS}


def _prose(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_d1_managed_nginx_support_is_in_the_past_and_no_lesson_builds_on_ingress_nginx() -> None:
    assert "limited time" not in _prose(LESSONS["03-ingress-and-gateway"])
    assert "ended in November 2026" in fact("aks-app-routing-nginx-support-end").text
    for name, text in LESSONS.items():
        assert 'install_ingress_controller("ingress-nginx")' not in text, name
    for name in ("03-ingress-and-gateway", "08-capstone"):
        assert 'install_gateway_class("approuting-istio")' in LESSONS[name]
    assert 'install_gateway_class("approuting-istio")' in SOLUTIONS["08-capstone"]
    assert "ingress-nginx" not in SOLUTIONS["08-capstone"]
    # Exercise 3 builds on the same Gateway API implementation; ingress-nginx is one sentence of legacy.
    ex3 = SOLUTIONS["03-ingress-gateway"]
    assert 'install_gateway_class("approuting-istio")' in ex3 and "install_ingress_controller" not in ex3
    assert "kind: Ingress\n" not in ex3 and "ingressClassName" not in ex3 and _prose(ex3).replace('"ingress-nginx-retired"', "").count("ingress-nginx") == 1


def test_d1_ingress_nginx_is_called_legacy_in_the_past_tense_where_it_appears() -> None:
    for name, text in EVERYTHING.items():
        if "ingress-nginx" in text:
            prose = _prose(text)
            assert "retired upstream in March 2026" in prose and "legacy" in prose, name


def test_d2_npm_on_windows_is_past_tense() -> None:
    assert "support on Windows nodes ended on 2026-09-30" in fact("azure-npm-retirement").text
    assert "is being retired" not in _prose(LESSONS["07-network-policies"])


def test_d3_the_cilium_ipblock_task_lives_in_exercise_7_with_the_right_reference() -> None:
    assert "cni_divergence" not in SOLUTIONS["01-basics"]
    ex7 = _prose(SOLUTIONS["07-network-policies"])
    assert "cni_divergence" in ex7 and "Lesson 7, section 6 explains the difference" in ex7
    assert "Lesson 4 explains" not in ex7


def test_d4_overlay_node_count_arithmetic() -> None:
    prose = _prose(LESSONS["01-networking-basics"])
    assert "a /14 gives" not in prose
    assert "only a /11 (8,192) covers the maximum" in prose


def test_d5_lesson_6_calls_the_dropped_pod_blocked_not_refused() -> None:
    prose = _prose(LESSONS["06-network-security-groups"])
    assert "pod is refused" not in prose
    assert "**blocked** too (dropped, not refused" in prose


def test_d6_flat_means_pods_on_the_node_network() -> None:
    for name in ("01-networking-basics", "04-network-models"):
        assert "calico-flat" in LESSONS[name]
    assert "calico-bgp (flat)" not in LESSONS["04-network-models"]
    assert "routed" in _prose(LESSONS["04-network-models"])
    assert "calico-flat" in SOLUTIONS["04-network-models"] and "calico-bgp" not in SOLUTIONS["04-network-models"]


@pytest.mark.parametrize("name", ["07-network-policies", "08-capstone"])
def test_d8_no_lesson_says_later_rules_override(name: str) -> None:
    prose = _prose(LESSONS[name])
    assert "Rules written later override" not in prose and "Later lines override" not in prose
    assert "not about NetworkPolicies, which have no order" in prose


def test_d9_exercise_4_says_whether_the_surge_node_counts() -> None:
    assert "the surge node counted among them" in _prose(SOLUTIONS["04-network-models"])


def test_d_part_b_does_not_guess_the_learners_policy_names() -> None:
    ex8 = SOLUTIONS["08-capstone"]
    assert 'delete("networkpolicy/shop/web"' not in ex8
    assert "PART_A_REFERENCE" in ex8


def test_lessons_mark_a_core_path_with_times() -> None:
    for name, text in LESSONS.items():
        assert re.search(r"\*\*Core path\*\* \(about \d+ minutes\)", text), name
