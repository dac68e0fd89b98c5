"""Live tests: real kind clusters on Docker. Skipped (one line, see tests/conftest.py) without Docker.

Each profile's cluster is created once (or reused: clusters are kept, as for learners) and every
live feature is exercised on it: set-up, the enforcement canary, deploy + probe + matrix against
the simulated backend, client-IP probes, API-server validation errors, ownership rules, reset.
"""

from __future__ import annotations

import os

import pytest

from grader.cni import PROFILES
from grader.errors import LabError, ManifestError
from grader.lab.sim import SimulatedLab
from grader.reachability import Verdict

pytestmark = pytest.mark.live

PROFILE_NAMES = [p for p in PROFILES if p in os.environ.get("NETLAB_LIVE_PROFILES", ",".join(PROFILES)).split(",")]

DENY_X = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}], ports: [{port: 80, protocol: TCP}]}]
"""


@pytest.fixture(scope="module", params=PROFILE_NAMES)
def lab(request: pytest.FixtureRequest):
    from grader.kind.lab import KindLab

    lab = KindLab(request.param)
    lab.reset()
    yield lab
    lab.reset()


def test_cluster_is_ready_with_its_profile(lab) -> None:
    status = lab.cluster.status()
    assert status.ready and len(status.nodes) == 3
    assert {n.profile_label for n in status.nodes} == {lab.profile.name}
    assert lab.cluster.marker()["profile"] == lab.profile.name


def test_enforcement_canary(lab) -> None:
    result = lab.canary()
    assert result.enforced is True, result.message


def test_e2e_matrix_equals_the_simulated_backend(lab) -> None:
    sim = SimulatedLab(lab.profile)
    for backend in (lab, sim):
        backend.deploy("e2e")
        backend.apply(DENY_X)
    for port, proto in ((80, "TCP"), (81, "TCP"), (80, "UDP")):
        expected = sim.matrix(port, proto)
        from grader.reachability import Reachability

        reach = Reachability(expected.sources, expected.destinations, port=port, protocol=proto)
        for (s, d), r in expected.results.items():
            reach.expect(s, d, r.verdict)
        comparison = lab.check(reach)
        assert comparison.ok, comparison.report()
    lab.reset(keep_topology=True)
    assert lab.probe("z/b", "x/b", 80).verdict is Verdict.ALLOWED


def test_probe_outcomes_and_client_ip(lab) -> None:
    lab.deploy("shop")
    assert lab.probe("shop/web", "shop/api", 8080).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", "shop/api", 9999).verdict is Verdict.REFUSED
    assert lab.probe("shop/web", "nothing.shop.svc.cluster.local", 80).verdict is Verdict.DNS_FAILED
    assert lab.probe("shop/ghost", "shop/api", 8080).verdict is Verdict.PROBE_FAILED
    web = next(p for p in lab.pods("shop") if p.name == "web")
    seen = lab.probe_client_ip("shop/web", "shop/api", 8080)
    assert seen.verdict is Verdict.ALLOWED and seen.client_ip == str(web.ip)  # pod-to-pod: no SNAT


def test_api_server_errors_have_field_paths(lab) -> None:
    lab.deploy("shop")
    bad = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "bad", "namespace": "shop"},
           "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80, "endPort": 70}]}]}}
    with pytest.raises(ManifestError) as info:
        lab.apply(bad)
    assert any(p.path.startswith("spec.ingress[0].ports[0]") for p in info.value.problems)


def test_ownership_is_enforced(lab) -> None:
    with pytest.raises(ManifestError, match="not owned by the course lab"):
        lab.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "x", "namespace": "kube-system"}, "spec": {"podSelector": {}}})
    with pytest.raises(LabError, match="not owned"):
        lab.delete("namespace/kube-system")
    with pytest.raises(LabError, match="not owned"):
        lab.label("namespace/kube-public", {"a": "b"})


def test_reset_removes_only_course_namespaces(lab) -> None:
    lab.deploy("shop")
    before = {n.name for n in lab.namespaces()}
    lab.reset()
    after = {n.name for n in lab.namespaces()}
    assert {"shop", "monitoring", "untrusted"} <= before
    assert after == before - {"shop", "monitoring", "untrusted"}
    assert {"kube-system", "default"} <= after


def test_bring_your_own_cluster_on_the_kind_context(lab) -> None:
    from grader.kind.lab import ClusterLab

    own = ClusterLab(lab.cluster.context, kubeconfig=str(lab.cluster.kubeconfig), quiet=True)
    assert own.cni.name == lab.profile.cni
    own.deploy("shop")
    assert own.probe("shop/web", "shop/db", 5432).verdict is Verdict.ALLOWED
    with pytest.raises(ManifestError, match="not owned"):
        own.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                   "spec": {"containers": [{"name": "c", "image": "x"}]}})
    own.reset()
