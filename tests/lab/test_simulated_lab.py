"""The simulated Lab's state handling and probe results (NetworkPolicy layer)."""

from __future__ import annotations

import ipaddress

import pytest

from grader import LabError, ManifestError, SimulatedLab, Verdict, connect
from grader.model import Protocol

DENY_DB = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-only-from-api, namespace: shop}
spec:
  podSelector: {matchLabels: {tier: database}}
  ingress:
  - from: [{podSelector: {matchLabels: {tier: backend}}}]
    ports: [{port: postgres}]
"""


@pytest.fixture
def lab() -> SimulatedLab:
    lab = SimulatedLab("kindnet")
    lab.deploy("shop")
    return lab


def test_deploy_places_pods_on_workers_with_addresses_from_their_node_cidr(lab: SimulatedLab) -> None:
    nodes = {n.name: n for n in lab.state.nodes}
    for pod in lab.pods():
        assert pod.node in ("kind-worker", "kind-worker2")
        assert pod.ip in nodes[pod.node].pod_cidr
    assert len({p.ip for p in lab.pods()}) == len(lab.pods())


def test_deploy_is_idempotent(lab: SimulatedLab) -> None:
    before = [(p.ref, p.ip, p.node) for p in lab.pods()]
    lab.deploy("shop")
    assert [(p.ref, p.ip, p.node) for p in lab.pods()] == before


def test_calico_profile_allocates_from_26_blocks() -> None:
    lab = SimulatedLab("calico-vxlan")
    lab.deploy("e2e")
    for blocks in lab.state.ipam.blocks.values():
        assert all(b.prefixlen == 26 and b.subnet_of(ipaddress.ip_network("192.168.0.0/16")) for b in blocks)
    for pod in lab.pods():
        assert any(pod.ip in b for b in lab.state.ipam.blocks[pod.node])
        assert pod.ip != lab.state.ipam.tunnel_address(pod.node)


def test_apply_then_probe_explains(lab: SimulatedLab) -> None:
    keys = lab.apply(DENY_DB)
    assert [str(k) for k in keys] == ["networkpolicy/shop/db-only-from-api"]
    blocked = lab.probe("shop/web", "shop/db", 5432)
    assert blocked.verdict is Verdict.BLOCKED
    assert "isolated by shop/db-only-from-api" in blocked.reason
    ok = lab.probe("shop/api", "shop/db", "postgres")
    assert ok.verdict is Verdict.ALLOWED and ok.answered_by == "shop/db"
    assert ok.client_ip == str(lab.state.pod("shop/api").ip)


def test_apply_is_all_or_nothing(lab: SimulatedLab) -> None:
    bad = DENY_DB + "---\n" + DENY_DB.replace("db-only-from-api", "broken").replace("port: postgres", "port: 0")
    with pytest.raises(ManifestError, match=r"networkpolicy/broken spec.ingress\[0\].ports\[0\].port"):
        lab.apply(bad)
    assert lab.objects() == []


def test_apply_into_a_missing_namespace_fails_like_the_api_server(lab: SimulatedLab) -> None:
    with pytest.raises(ManifestError, match='namespaces "nowhere" not found'):
        lab.apply(DENY_DB.replace("namespace: shop", "namespace: nowhere"))


def test_namespace_in_the_same_apply_is_created_first(lab: SimulatedLab) -> None:
    lab.apply(DENY_DB.replace("namespace: shop", "namespace: fresh") + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: fresh, labels: {env: test}}\n")
    assert any(n.name == "fresh" and n.labels["env"] == "test" for n in lab.namespaces())


def test_delete_by_manifest_key_or_name(lab: SimulatedLab) -> None:
    lab.apply(DENY_DB)
    assert lab.delete("networkpolicy/shop/db-only-from-api") and lab.objects() == []
    lab.apply(DENY_DB)
    lab.delete(DENY_DB)
    assert lab.probe("shop/web", "shop/db", 5432).verdict is Verdict.ALLOWED
    with pytest.raises(LabError, match="not found"):
        lab.delete("netpol/shop/db-only-from-api")
    assert lab.delete("netpol/shop/db-only-from-api", missing_ok=True) == []


def test_label_changes_take_effect(lab: SimulatedLab) -> None:
    lab.apply(DENY_DB)
    lab.label("shop/web", {"tier": "backend"})
    assert lab.probe("shop/web", "shop/db", 5432).verdict is Verdict.ALLOWED
    lab.label("shop/web", {"tier": None})
    assert "tier" not in lab.state.pod("shop/web").labels


def test_namespace_labels_take_effect(lab: SimulatedLab) -> None:
    lab.apply(DENY_DB.replace("- from: [{podSelector: {matchLabels: {tier: backend}}}]", "- from: [{namespaceSelector: {matchLabels: {trusted: 'yes'}}}]"))
    assert lab.probe("monitoring/prometheus", "shop/db", 5432).verdict is Verdict.BLOCKED
    lab.label("namespace/monitoring", {"trusted": "yes"})
    assert lab.probe("monitoring/prometheus", "shop/db", 5432).verdict is Verdict.ALLOWED


def test_reset_keep_topology_removes_applied_objects_and_restores_labels(lab: SimulatedLab) -> None:
    lab.apply(DENY_DB)
    lab.label("shop/web", {"tier": "backend"})
    lab.reset(keep_topology=True)
    assert lab.objects() == []
    assert lab.state.pod("shop/web").labels["tier"] == "frontend"
    assert len(lab.pods()) == 5


def test_full_reset_leaves_an_empty_cluster(lab: SimulatedLab) -> None:
    lab.apply(DENY_DB)
    lab.reset()
    assert lab.pods() == [] and lab.objects() == []
    assert {n.name for n in lab.namespaces()} == {"default", "kube-node-lease", "kube-public", "kube-system"}


def test_probe_failures_are_never_reported_as_blocked(lab: SimulatedLab) -> None:
    assert lab.probe("shop/nope", "shop/db", 5432).verdict is Verdict.PROBE_FAILED
    assert lab.probe("shop/web", "shop/nope", 5432).verdict is Verdict.PROBE_FAILED
    assert lab.probe("shop/web", "shop/db", "no-such-port").verdict is Verdict.PROBE_FAILED
    assert lab.probe("shop/web", "shop/db", 6000).verdict is Verdict.REFUSED
    assert "does not listen on 6000/TCP (it serves 5432/TCP (postgres), 9100/TCP (metrics))" in lab.probe("shop/web", "shop/db", 6000).reason


def test_probe_by_ip_and_to_external_hosts(lab: SimulatedLab) -> None:
    db_ip = str(lab.state.pod("shop/db").ip)
    assert lab.probe("shop/web", db_ip, 5432).answered_by == "shop/db"
    assert lab.probe("shop/web", "api.example.com", 443).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", "api.example.com", 22).verdict is Verdict.REFUSED


def test_probe_from_a_node_to_an_isolated_pod_on_it(lab: SimulatedLab) -> None:
    lab.apply(DENY_DB)
    node = lab.state.pod("shop/db").node
    assert lab.probe(f"node:{node}", "shop/db", 5432).verdict is Verdict.ALLOWED


def test_matrices_cover_every_declared_port(lab: SimulatedLab) -> None:
    ports = [(m.port, m.protocol) for m in lab.matrices()]
    assert ports == [(80, Protocol.TCP), (5432, Protocol.TCP), (8080, Protocol.TCP), (9090, Protocol.TCP), (9100, Protocol.TCP)]
    m9100 = next(m for m in lab.matrices() if m.port == 9100)
    assert m9100.destinations == ("shop/api", "shop/db", "shop/web")


def test_large_matrices_use_the_vectorised_path_with_the_same_verdicts() -> None:
    from grader.netpol.synthetic import synthetic_cluster

    c = synthetic_cluster(60, 40, namespaces=4, seed=3)
    lab = SimulatedLab()
    lab.deploy({"namespaces": {n: {"labels": dict(ns.labels)} for n, ns in c.namespaces.items()},
                "pods": [{"namespace": p.namespace, "name": p.name, "labels": dict(p.labels), "ports": [{"port": 80, "name": "http"}]} for p in c.pods]})
    for pol in c.policies:
        lab.state.put(_manifest(pol))
    fast = lab.matrix(80)  # 3600 cells > EXPLAIN_LIMIT
    assert "explains which" in next(r.reason for r in fast.results.values() if r.verdict is Verdict.BLOCKED)
    for (s, d), r in list(fast.results.items())[::97]:
        assert lab.probe(s, d, 80).verdict is r.verdict


def _manifest(policy):
    from grader.manifests import Manifest, ObjectKey

    return Manifest(ObjectKey("NetworkPolicy", policy.namespace, policy.name), "networking.k8s.io/v1", {}, policy)


def test_connect_picks_the_simulated_backend_without_docker_and_says_so(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETLAB_BACKEND", "sim")
    lab = connect("calico-bgp")
    out = capsys.readouterr()
    assert isinstance(lab, SimulatedLab) and lab.profile.name == "calico-bgp"
    assert "simulated cluster" in out.out and out.err == ""


def test_connect_rejects_unknown_backends_and_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETLAB_BACKEND", "minikube")
    with pytest.raises(LabError, match="unknown backend 'minikube'"):
        connect(quiet=True)
    monkeypatch.delenv("NETLAB_BACKEND")
    with pytest.raises(ValueError, match="unknown CNI profile 'flannel'"):
        connect("flannel", quiet=True)
