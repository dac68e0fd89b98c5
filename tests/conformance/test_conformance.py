"""Backend conformance: every scenario on the simulated cluster (always) and on kind (``-m live``).

On kind each scenario also runs on the simulated backend and every disagreement between the two
is reported (``make conformance`` prints them in the terminal summary), so a semantic gap in the
simulation shows up as a named scenario, probe and pair of verdicts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.cni import PROFILES, CniProfile
from grader.lab.base import Lab
from grader.lab.sim import SimulatedLab
from grader.manifests import PARSERS
from grader.reachability import Verdict

SCENARIOS: list[dict[str, Any]] = yaml.safe_load(Path(__file__).with_name("scenarios.yaml").read_text())
DISAGREEMENTS: list[str] = []
_KIND_LABS: dict[str, Lab] = {}

PROFILE_NAMES = [p for p in PROFILES if p in os.environ.get("NETLAB_CONFORMANCE_PROFILES", "kindnet,calico-vxlan,cilium-tunnel").split(",")]


def expected_verdict(cell: Any, profile: CniProfile) -> Verdict:
    return Verdict(cell[profile.cni] if isinstance(cell, dict) else cell)


def run(lab: Lab, scenario: dict[str, Any]) -> list[tuple[str, Verdict, str]]:
    """Deploy, apply, probe: ``(probe label, verdict, reason)`` per probe."""
    lab.deploy(scenario["topology"])
    if scenario.get("manifests"):
        lab.apply(scenario["manifests"])
    out = []
    for source, destination, port, protocol, _ in scenario["probes"]:
        result = lab.probe(source, destination, port, protocol)
        out.append((f"{source} → {destination} {port}/{protocol}", result.verdict, result.reason))
    return out


def _kind_lab(profile: str) -> Lab:
    if profile not in _KIND_LABS:
        from grader.kind.lab import KindLab

        _KIND_LABS[profile] = KindLab(profile)
    lab = _KIND_LABS[profile]
    lab.reset()
    return lab


def _requires(scenario: dict[str, Any]) -> None:
    kinds = {k for _, k in PARSERS}
    missing = [k for k in scenario.get("requires", []) if k not in kinds]
    if missing:
        pytest.skip(f"the lab does not parse {', '.join(missing)} yet")


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
@pytest.mark.parametrize("backend", ["sim", pytest.param("kind", marks=pytest.mark.live)])
def test_scenario(backend: str, scenario: dict[str, Any], profile: str) -> None:
    _requires(scenario)
    prof = PROFILES[profile]
    sim = run(SimulatedLab(prof), scenario)
    observed = sim if backend == "sim" else run(_kind_lab(profile), scenario)
    wrong = []
    for (label, verdict, reason), probe, (_, sim_verdict, _) in zip(observed, scenario["probes"], sim, strict=True):
        want = expected_verdict(probe[4], prof)
        if verdict is not want:
            wrong.append(f"{label}: expected {want.name}, observed {verdict.name} ({reason.splitlines()[0] if reason else ''})")
        if backend != "sim" and verdict is not sim_verdict:
            DISAGREEMENTS.append(f"[{profile}] {scenario['name']}: {label}: simulated {sim_verdict.name}, kind {verdict.name}")
    assert not wrong, f"{scenario['name']} on {backend}/{profile} ({scenario['why']}):\n" + "\n".join(wrong)


def test_every_scenario_is_well_formed() -> None:
    names = [s["name"] for s in SCENARIOS]
    assert len(names) == len(set(names))
    for s in SCENARIOS:
        assert s["topology"] in ("e2e", "shop") and s["why"] and s["probes"]
        for probe in s["probes"]:
            assert len(probe) == 5
            for prof in PROFILES.values():
                expected_verdict(probe[4], prof)
