"""Backend conformance: every scenario on the simulated cluster (always) and on kind (``-m live``).

On kind each scenario also runs on the simulated backend and every disagreement between the two
is reported (``make conformance`` prints them in the terminal summary), so a semantic gap in the
simulation shows up as a named scenario, probe and pair of outcomes.

Scenarios (``scenarios.yaml``) have L4 ``probes`` and HTTP ``http`` requests. Values that differ
per backend by nature (load-balancer and node addresses) are written as placeholders and resolved
on each backend (:func:`resolve`); expectations stay the same. On kind, where Services, policies
and load balancers converge asynchronously, a scenario is observed again until it matches or
:data:`CONVERGE_S` pass; what still differs then is a disagreement.
"""

from __future__ import annotations

import ipaddress
import os
import platform
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.cni import PROFILES, CniProfile
from grader.errors import LabError
from grader.lab.base import Lab
from grader.lab.sim import SimulatedLab
from grader.manifests import PARSERS
from grader.reachability import ProbeResult, Verdict

from conformance.conformance_report import REPORT, Disagreement, Row

SCENARIOS: list[dict[str, Any]] = yaml.safe_load(Path(__file__).with_name("scenarios.yaml").read_text())
_KIND_LABS: dict[str, Lab] = {}
CONVERGE_S = 60.0
ADDRESS_WAIT_S = 120.0
_PLACEHOLDER = re.compile(r"\{(address|node|node-of|external|pod):([^}\s][^}]*)\}|\{nodes-cidr\}")
"""``{kind:argument}`` without a space after the colon (``{pod: a}`` is a YAML flow mapping, not a placeholder)."""

PROFILE_NAMES = [p for p in PROFILES if p in os.environ.get("NETLAB_CONFORMANCE_PROFILES", "kindnet,calico-vxlan,cilium-tunnel").split(",")]


def expected_verdict(cell: Any, profile: CniProfile) -> Verdict:
    if isinstance(cell, dict):
        return Verdict(cell[profile.name] if profile.name in cell else cell[profile.cni])
    return Verdict(cell)


def expected_http(expect: dict[str, Any], profile: CniProfile) -> dict[str, Any]:
    """An http expectation, or a mapping profile name / cni -> expectation (or just a verdict)."""
    if "verdict" in expect:
        return expect
    chosen = expect[profile.name] if profile.name in expect else expect[profile.cni]
    return chosen if isinstance(chosen, dict) else {"verdict": chosen}


# -- what differs per backend by nature -------------------------------------------------------------

def nodes(lab: Lab) -> list[tuple[str, str]]:
    """(role, address) of every node."""
    if isinstance(lab, SimulatedLab):
        return [(n.role, str(n.ip)) for n in lab.state.nodes]
    out = []
    for n in lab.kube.core.list_node().items:  # type: ignore[attr-defined]
        role = "control-plane" if "node-role.kubernetes.io/control-plane" in (n.metadata.labels or {}) else "worker"
        ip = next((a.address for a in n.status.addresses or [] if a.type == "InternalIP"), "")
        out.append((role, ip))
    return out


def node_address(lab: Lab, name: str) -> str:
    """The address of the node a pod runs on (``name`` as the lab reports it)."""
    return lab.node_ip(name)


def pod_of(lab: Lab, ref: str) -> Any:
    namespace = ref.split("/", 1)[0]
    found = next((p for p in lab.pods(namespace) if str(p.ref) == ref), None)
    if found is None or found.ip is None:
        raise LabError(f"no pod {ref} with an address")
    return found


def address_of(lab: Lab, what: str) -> str:
    deadline = time.monotonic() + (0 if isinstance(lab, SimulatedLab) else ADDRESS_WAIT_S)
    while True:
        found = lab.address(what)
        if found:
            return found
        if time.monotonic() >= deadline:
            raise LabError(f"{what} has no address (after {ADDRESS_WAIT_S:.0f}s on kind: is cloud-provider-kind running?)")
        time.sleep(2)


def resolve(lab: Lab, text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(0) == "{nodes-cidr}":
            cp = next(ip for role, ip in nodes(lab) if role == "control-plane")
            return str(ipaddress.ip_network(f"{cp}/16", strict=False))
        if m.group(1) == "address":
            return address_of(lab, m.group(2))
        if m.group(1) == "external":
            return next(str(h.ip) for h in lab.external_hosts() if h.name == m.group(2))
        if m.group(1) == "pod":
            return str(pod_of(lab, m.group(2)).ip)
        if m.group(1) == "node-of":
            return node_address(lab, str(pod_of(lab, m.group(2)).node))
        if m.group(2) == "any":
            return m.group(0)  # matched against every node address in check()
        return next(ip for role, ip in nodes(lab) if role == m.group(2))

    return _PLACEHOLDER.sub(one, text)


# -- running a scenario ------------------------------------------------------------------------------

def observe(lab: Lab, scenario: dict[str, Any]) -> list[tuple[str, ProbeResult, dict[str, Any]]]:
    """(label, result, expectation) for every probe and HTTP request of the scenario."""
    prof = lab.profile
    out = []
    for source, destination, port, protocol, want in scenario.get("probes") or []:
        label = f"{source} → {destination} {port}/{protocol}"
        if _skip_host(lab, source):
            continue
        out.append((label, lab.probe(source, destination, port, protocol), {"verdict": expected_verdict(want, prof).value}))
    for req in scenario.get("http") or []:
        if _skip_host(lab, req["source"]):
            continue
        url = resolve(lab, req["url"])
        kwargs = {k: resolve(lab, req[k]) for k in ("resolve", "host") if k in req}
        label = f"{req['source']} → {req['url']}" + (f" (resolve {req['resolve']})" if "resolve" in req else "")
        out.append((label, lab.http(req["source"], url, **kwargs), expected_http(req["expect"], prof)))
    return out


def _skip_host(lab: Lab, source: str) -> bool:
    # Docker Desktop (macOS, Windows): the kind network is not reachable from the host (kind "Known issues").
    return source == "host" and not isinstance(lab, SimulatedLab) and platform.system() != "Linux"


def check(lab: Lab, result: ProbeResult, want: dict[str, Any]) -> list[str]:
    """What differs from the expectation (empty: as expected)."""
    wrong = []
    if result.verdict is not Verdict(want["verdict"]):
        first = result.reason.splitlines()[0] if result.reason else ""
        wrong.append(f"expected {Verdict(want['verdict']).name}, observed {result.verdict.name} ({first})")
    if "status" in want and (result.http is None or result.http.status != want["status"]):
        wrong.append(f"expected HTTP {want['status']}, observed {result.http.status if result.http else 'no HTTP answer'}")
    if "answered_by" in want and result.answered_by != want["answered_by"]:
        wrong.append(f"expected an answer from {want['answered_by']}, observed {result.answered_by}")
    if "client_ip" in want:
        expected = resolve(lab, want["client_ip"])
        allowed = {ip for _, ip in nodes(lab)} if expected == "{node:any}" else {expected}
        if result.client_ip not in allowed:
            wrong.append(f"expected the backend to see {want['client_ip']} ({', '.join(sorted(allowed))}), observed {result.client_ip}")
    return wrong


def run(lab: Lab, scenario: dict[str, Any], *, converge: bool = False) -> list[tuple[str, ProbeResult, list[str]]]:
    """Deploy, apply, observe: ``(label, result, what differs from the expectation)``."""
    lab.deploy(scenario["topology"])
    if scenario.get("manifests"):
        lab.apply(resolve(lab, scenario["manifests"]))
    deadline = time.monotonic() + (CONVERGE_S if converge else 0)
    while True:
        rows = [(label, r, check(lab, r, want)) for label, r, want in observe(lab, scenario)]
        if not converge or all(not w for _, _, w in rows) or time.monotonic() >= deadline:
            return rows
        time.sleep(2)


def _kind_lab(profile: str) -> Lab:
    """The profile's kind lab: ``netlab up`` first (its steps and times go to the report), then the lab."""
    if profile not in _KIND_LABS:
        from grader.kind.cluster import KindCluster
        from grader.kind.lab import KindLab

        cluster = KindCluster(profile)
        try:
            cluster.ensure()
        except LabError as exc:
            REPORT.up(profile, cluster.step_times, str(exc))
            raise
        REPORT.up(profile, cluster.step_times)
        _KIND_LABS[profile] = KindLab(profile)
    lab = _KIND_LABS[profile]
    lab.reset()
    return lab


def forget_kind_lab(profile: str) -> bool:
    """Drop the lab of a profile whose cluster is about to be deleted (conftest.py); whether the run
    made one (a skipped or failed `netlab up` made none, and then there is nothing to delete)."""
    return _KIND_LABS.pop(profile, None) is not None


def _requires(scenario: dict[str, Any]) -> None:
    kinds = {k for _, k in PARSERS}
    missing = [k for k in scenario.get("requires", []) if k not in kinds]
    if missing:
        pytest.skip(f"the lab does not parse {', '.join(missing)} yet")


def _outcome(result: ProbeResult) -> str:
    http = f" HTTP {result.http.status}" if result.http is not None and not result.http.error else ""
    who = f" by {result.answered_by}" if result.answered_by else ""
    seen = f" seeing {result.client_ip}" if result.client_ip else ""
    return f"{result.verdict.name}{http}{who}{seen}"


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
@pytest.mark.parametrize("backend", ["sim", pytest.param("kind", marks=pytest.mark.live)])
def test_scenario(backend: str, scenario: dict[str, Any], profile: str) -> None:
    _requires(scenario)
    prof = PROFILES[profile]
    sim = run(SimulatedLab(prof), scenario)
    observed = sim if backend == "sim" else run(_kind_lab(profile), scenario, converge=True)
    if backend != "sim":
        REPORT.scenario(profile, scenario["name"], "sim", [Row(label, _outcome(r), tuple(p)) for label, r, p in sim])
        REPORT.scenario(profile, scenario["name"], "kind", [Row(label, _outcome(r), tuple(p)) for label, r, p in observed])
    sim_by_label = {label: (r, p) for label, r, p in sim}
    wrong = []
    for label, result, problems in observed:
        wrong += [f"{label}: {p}" for p in problems]
        mine, mine_problems = sim_by_label.get(label, (None, []))
        differs = mine is not None and (mine.verdict is not result.verdict or bool(problems) != bool(mine_problems))
        if backend != "sim" and differs and mine is not None:
            REPORT.disagreement(profile, Disagreement(scenario["name"], label, _outcome(mine), _outcome(result)))
    assert not wrong, f"{scenario['name']} on {backend}/{profile} ({scenario['why']}):\n" + "\n".join(wrong)


def test_every_scenario_is_well_formed() -> None:
    names = [s["name"] for s in SCENARIOS]
    assert len(names) == len(set(names))
    for s in SCENARIOS:
        assert s["topology"] in ("e2e", "shop") and s["why"] and (s.get("probes") or s.get("http"))
        for probe in s.get("probes") or []:
            assert len(probe) == 5
            for prof in PROFILES.values():
                expected_verdict(probe[4], prof)
        for req in s.get("http") or []:
            assert set(req) <= {"source", "url", "resolve", "host", "expect"} and req["url"].startswith("http")
            for prof in PROFILES.values():
                want = expected_http(req["expect"], prof)
                assert set(want) <= {"verdict", "status", "answered_by", "client_ip"}
                Verdict(want["verdict"])
