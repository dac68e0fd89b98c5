"""A pod named after its Deployment (a Gateway's Envoy in the simulated cluster) on a real cluster,
where the Deployment's pods have generated names: the live Lab finds one, as ``kubectl exec deploy/<name>`` does.

Offline, through the real exec path against ``fake_apiserver.FakeCluster`` (see test_lab_end_to_end.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_apiserver import FakeCluster, install

from grader.kind.lab import LiveLab
from grader.reachability import Verdict

TOPOLOGY = {
    "name": "deployment-pods",
    "namespaces": {"edge": {}, "back": {}},
    "pods": [{"namespace": "back", "name": "api", "labels": {"app": "api"}, "ports": [{"port": 8080, "name": "http"}]}],
}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveLab, FakeCluster]]:
    with FakeCluster(tmp_path / "pods") as cluster:
        cluster.exec_path = install(tmp_path / "exec-bin")
        cluster.add_nodes("kind-worker")
        yield cluster.live_lab(tmp_path / "kubeconfig"), cluster


def _envoy(cluster: FakeCluster, name: str, *, created: str, ready: bool = True, template_hash: str = "5d8f7c9b6",
           deployment: str = "public-approuting-istio") -> dict[str, Any]:
    pod = cluster.pod("edge", name, {"gateway.networking.k8s.io/gateway-name": "public", "pod-template-hash": template_hash},
                      "127.0.0.1", probe=None if ready else ["false"])  # the fake kubelet runs the readiness probe
    pod["metadata"].update(generateName=f"{deployment}-{template_hash}-", creationTimestamp=created,
                           ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{deployment}-{template_hash}",
                                             "uid": "rs-1", "controller": True}])
    cluster.add(pod)
    return pod


def test_a_probe_from_a_deployment_name_runs_in_its_ready_pod(live: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = live
    lab.deploy(TOPOLOGY)
    _envoy(cluster, "public-approuting-istio-5d8f7c9b6-aaaaa", created="2026-11-27T12:00:05Z", ready=False)
    _envoy(cluster, "public-approuting-istio-5d8f7c9b6-x2k4p", created="2026-11-27T12:00:09Z")
    _envoy(cluster, "public-approuting-istio-5d8f7c9b6-b7c8d", created="2026-11-27T12:00:07Z")
    # a look-alike: same prefix, but another Deployment's pods ("public-approuting-istio-canary")
    _envoy(cluster, "public-approuting-istio-canary-7f6d5c4b3-zzzzz", created="2026-11-27T12:00:01Z",
           template_hash="7f6d5c4b3", deployment="public-approuting-istio-canary")

    result = lab.probe("edge/public-approuting-istio", "back/api", "http")

    assert result.verdict is Verdict.ALLOWED, result.reason
    ran_in = [(ns, pod) for ns, pod, argv in cluster.execs if "connect" in " ".join(argv)]
    assert ran_in == [("edge", "public-approuting-istio-5d8f7c9b6-b7c8d")]  # ready, and the older of the two ready ones


def test_no_pod_of_that_name_and_no_deployment_is_probe_failed_not_blocked(live: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = live
    lab.deploy(TOPOLOGY)
    _envoy(cluster, "public-approuting-istio-canary-7f6d5c4b3-zzzzz", created="2026-11-27T12:00:01Z",
           template_hash="7f6d5c4b3", deployment="public-approuting-istio-canary")

    result = lab.probe("edge/public-approuting-istio", "back/api", "http")

    assert result.verdict is Verdict.PROBE_FAILED
    assert "no pod/edge/public-approuting-istio" in result.reason
