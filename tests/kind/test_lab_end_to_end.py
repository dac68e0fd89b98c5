"""The live Lab end to end, offline, through its real exec path (issue 12, "Done means").

Nothing of the Lab is replaced: ``LiveLab`` talks to ``fake_apiserver.FakeCluster`` over real HTTP
with the official kubernetes client, creates objects by server-side apply and execs over the
websocket channel protocol (``KubeApi.exec``). The fake API server plays scheduler, kubelet and CNI
for the pods the Lab creates (each pod a loopback address with agnhost netexec's HTTP answers on
its ports, NetworkPolicy drops) and runs each exec'd argv on this machine with stand-ins for what
the agnhost image has and this machine may not (``/agnhost connect``, ``dig``): see that module.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_apiserver import FakeCluster, install
from support.fakenet.standins import can_bind_port_80

from grader.kind.lab import LiveLab
from grader.reachability import Reachability, Verdict

TOPOLOGY = {
    "name": "offline-e2e",
    "namespaces": {"front": {"labels": {"team": "front"}}, "back": {}},
    "pods": [
        {"namespace": "front", "name": "client", "labels": {"app": "client"}, "node": "kind-worker"},
        {"namespace": "back", "name": "api", "labels": {"app": "api"}, "node": "kind-worker2",
         "ports": [{"port": 8080, "name": "http"}]},
        {"namespace": "back", "name": "db", "labels": {"app": "db"}, "ports": [{"port": 5432}], "ready": False},
    ],
}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveLab, FakeCluster]]:
    exec_bin = install(tmp_path / "exec-bin", curl=CURL)  # agnhost, nc, dig stand-ins; curl bound to the pod's address
    with FakeCluster(tmp_path / "pods") as cluster:
        cluster.exec_path = exec_bin
        cluster.add_nodes("kind-worker", "kind-worker2")
        yield cluster.live_lab(tmp_path / "kubeconfig"), cluster


def _applied(cluster: FakeCluster, kind: str, ns: str, name: str) -> dict[str, Any]:
    obj = cluster.get(kind, ns, name)
    assert obj is not None, f"{kind} {ns}/{name} was not created"
    return obj


def test_deploy_creates_the_topology_and_its_pods_serve(live: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = live
    topo = lab.deploy(TOPOLOGY)
    assert topo.pod_refs() == ["back/api", "back/db", "front/client"]
    front = _applied(cluster, "Namespace", "", "front")
    assert front["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "netlab", "team": "front"}
    assert front["_owners"]["metadata.labels.team"] == "netlab"  # server-side apply, field manager netlab
    api = _applied(cluster, "Pod", "back", "api")
    assert api["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "kind-worker2"}
    assert api["spec"]["containers"][0]["args"] == ["netexec", "--http-port=8080", "--udp-port=-1"]
    pods = {str(p.ref): p for p in lab.pods()}
    assert sorted(pods) == ["back/api", "back/db", "front/client"]
    assert pods["back/api"].ready and not pods["back/db"].ready  # db declares ready: false; its readiness probe fails
    assert pods["back/api"].node == "kind-worker2"
    assert len({str(p.ip) for p in pods.values()}) == 3
    # The deployed pods really serve: a probe from the client reaches api's netexec, by the lab's own exec path.
    result = lab.probe("front/client", "back/api", "http")
    assert result.verdict is Verdict.ALLOWED and result.answered_by == "back/api"
    ns, pod, argv = cluster.execs[-1]
    assert (ns, pod) == ("front", "client")
    assert argv[:2] == ["/agnhost", "connect"] and argv[2] == f"{pods['back/api'].ip}:8080"
    assert lab.probe("front/client", "back/api", 8081).verdict is Verdict.REFUSED  # nothing listens there
    # A second deploy keeps the pods (same spec): nothing deleted, same addresses.
    lab.deploy(TOPOLOGY)
    assert {str(p.ref): str(p.ip) for p in lab.pods()} == {r: str(p.ip) for r, p in pods.items()}


DENY_API = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny-api", "namespace": "back"},
            "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"]}}


@pytest.mark.slow  # about 10 s: the canary and each BLOCKED cell wait for agnhost's timeouts
@pytest.mark.skipif(not can_bind_port_80(), reason="the canary's server pod listens on port 80, which needs root here")
def test_check_runs_the_enforcement_canary_then_grades_the_policy(live: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = live
    lab.deploy(TOPOLOGY)
    expected = Reachability(["front/client"], ["back/api"], port=8080).expect("front/client", "back/api", Verdict.BLOCKED)
    lab.apply(DENY_API, namespace="back")
    first = len(cluster.execs)
    comparison = lab.check(expected, timeout=0)
    assert comparison.ok, comparison
    canary = lab.canary_check.result
    assert canary is not None and canary.enforced is True and "default-deny took effect" in canary.message
    ran = [(ns, pod, argv[:3]) for ns, pod, argv in cluster.execs[first:]]
    canary_runs = [r for r in ran if r[0] == "netlab-canary"]
    assert canary_runs and all(r[1] == "client" and r[2][:2] == ["/agnhost", "connect"] for r in canary_runs)
    assert len(canary_runs) >= 3  # allowed before the policy; blocked after it (a TIMEOUT is confirmed once more)
    assert cluster.get("Namespace", "", "netlab-canary") is None  # the canary cleans up its namespace
    assert ("front", "client") in [(ns, pod) for ns, pod, _ in cluster.execs[first:]]  # then the expectation itself
    # The same expectation without the policy does not hold: the grade is observed, not assumed.
    lab.delete(["networkpolicy/back/deny-api"])
    missed = lab.check(expected, timeout=0)
    assert not missed.ok
    assert lab.matrix(8080, sources=["front/client"], destinations=["back/api"]).verdict("front/client", "back/api") is Verdict.ALLOWED


@pytest.mark.skipif(not can_bind_port_80(), reason="the canary's server pod listens on port 80, which needs root here")
def test_a_cluster_that_ignores_network_policy_fails_the_canary(live: tuple[LiveLab, FakeCluster], monkeypatch: pytest.MonkeyPatch) -> None:
    lab, cluster = live
    monkeypatch.setattr(cluster, "enforces_policy", False)  # the fake CNI without NetworkPolicy support (Flannel alone)
    result = lab.canary(timeout=1.5)
    assert result.enforced is False and "NetworkPolicy is NOT enforced" in result.message
    assert [argv[:2] for ns, _, argv in cluster.execs if ns == "netlab-canary"][-1] == ["/agnhost", "connect"]


CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed on this machine (the pods have it)")


@needs_curl
def test_http_runs_curl_in_the_source_pod_and_names_who_answered(live: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = live
    lab.deploy(TOPOLOGY)
    api = {str(p.ref): p for p in lab.pods()}["back/api"]
    r = lab.http("front/client", f"http://{api.ip}:8080/hostname")
    assert r.verdict is Verdict.ALLOWED and r.http is not None and r.http.status == 200
    assert r.http.body == "api" and r.answered_by == "back/api"
    ns, pod, argv = cluster.execs[-1]
    assert (ns, pod, argv[0]) == ("front", "client", "curl") and f"http://{api.ip}:8080/hostname" in argv
    # The result shows the command that ran: the same argv, in the same pod, as one line to type.
    assert r.command is not None and (r.command.namespace, r.command.target, list(r.command.argv)) == (ns, pod, argv)
    assert r.command.line() == (f"kubectl exec -n front client -- curl -k --max-time 5 --connect-timeout 3 "
                                f"-H 'Host: {api.ip}:8080' http://{api.ip}:8080/hostname")
    # Each fake pod connects from its own address (curl bound to it): the server sees the pod's IP.
    seen = lab.probe_client_ip("front/client", "back/api", 8080)
    client = {str(p.ref): p for p in lab.pods()}["front/client"]
    assert seen.verdict is Verdict.ALLOWED and seen.client_ip == str(client.ip)
    refused = lab.http("front/client", f"http://{api.ip}:8081/")
    assert refused.verdict is Verdict.REFUSED
    assert refused.command is not None and list(refused.command.argv) == cluster.execs[-1][2]  # a failed request shows its command too


def test_nslookup_runs_dig_in_the_pod_along_its_search_path(live: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = live
    lab.deploy(TOPOLOGY)
    lab.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "back"},
               "spec": {"selector": {"app": "api"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}, namespace="back")
    cluster_ip = _applied(cluster, "Service", "back", "api")["spec"]["clusterIP"]
    found = lab.nslookup("front/client", "api.back")
    assert [a.query for a in found.answers] == ["api.back.front.svc.cluster.local", "api.back.svc.cluster.local"]
    assert [str(a) for a in found.addresses] == [cluster_ip]
    ns, pod, argv = cluster.execs[-1]
    assert (ns, pod) == ("front", "client") and argv[:2] == ["/bin/sh", "-c"] and "dig +nosearch" in argv[2]
    assert cluster.execs[-2][2] == ["cat", "/etc/resolv.conf"]
    # The lookup shows the dig that ran there, for the name asked (not the first search-path name).
    assert found.command == "kubectl exec -n front client -- dig +search +showsearch api.back"
    assert found.command in found.explain()
    missing = lab.nslookup("front/client", "nope")
    assert not missing.ok and [a.query for a in missing.answers] == [
        "nope.front.svc.cluster.local", "nope.svc.cluster.local", "nope.cluster.local", "nope"]
    assert missing.command == "kubectl exec -n front client -- dig +search +showsearch nope"


@needs_curl
def test_distribution_counts_the_pods_that_answered(live: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = live
    lab.deploy({**TOPOLOGY, "pods": [*TOPOLOGY["pods"],
                                     {"namespace": "back", "name": "api-2", "labels": {"app": "api"}, "ports": [{"port": 8080, "name": "http"}]}]})
    pods = {str(p.ref): p for p in lab.pods()}
    spread = lab.distribution("front/client", str(pods["back/api-2"].ip), 8080, requests=3)
    assert spread.as_dict() == {"back/api-2": 3} and spread.requests == 3
    ns, pod, argv = cluster.execs[-1]  # one exec: a shell loop running curl `requests` times in the source pod
    assert (ns, pod, argv[:2], argv[3:6]) == ("front", "client", ["/bin/sh", "-c"], ["sh", "3", "curl"])
    assert argv[-1] == f"http://{pods['back/api-2'].ip}:8080/hostname"
    refused = lab.distribution("front/client", str(pods["back/api"].ip), 8081, requests=2)
    assert refused.counts == () and refused.failures == (("refused", 2),)


@needs_curl
def test_a_kind_lab_reaches_its_external_hosts_from_a_deployed_pod(fakes, tmp_path: Path) -> None:
    """KindLab (fake kind/docker for the cluster and its external hosts) with its pods behind the fake
    API server: a deployed pod connects to ``host`` and to vm.internal's address by the real exec path."""
    from support.fake_apiserver import _netexec

    from grader.kind.cluster import KindCluster
    from grader.kind.lab import KindLab

    fakes.set(kind_subnet="127.0.0.0/8", kind_reserved=[f"127.0.0.{i}" for i in range(2, 200)])
    cluster = KindCluster("kindnet", progress=False)
    cluster.ensure()
    vm = _netexec("127.0.0.100", 0, "vm-internal")
    port = vm.server_address[1]
    exec_bin = install(tmp_path / "exec-bin")
    (exec_bin / "curl").symlink_to(CURL)  # PATH holds only the fake tools here; the pods have curl
    try:
        with FakeCluster(tmp_path / "pods") as api:
            api.exec_path = exec_bin
            api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "netlab-kindnet-worker"},
                     "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.3"}]}})
            cluster.kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
            cluster.context = "fake"
            lab = KindLab(cluster=cluster, create=False)
            lab.quiet = True
            lab.deploy({"name": "outside", "pods": [{"namespace": "front", "name": "client", "labels": {"app": "client"}}]})
            to_vm = lab.probe("front/client", "127.0.0.100", port)
            assert to_vm.verdict is Verdict.ALLOWED and to_vm.answered_by == "vm.internal (127.0.0.100)"
            assert api.execs[-1] == ("front", "client", ["/agnhost", "connect", f"127.0.0.100:{port}", "--timeout=1s", "--protocol=tcp"])
            seen = lab.http("front/client", f"http://127.0.0.100:{port}/hostname")
            assert seen.verdict is Verdict.ALLOWED and seen.http.body == "vm-internal" and seen.answered_by == "vm.internal (127.0.0.100)"
            assert api.execs[-1][2][0] == "curl"
            assert seen.command is not None and seen.command.line().startswith("kubectl exec -n front client -- curl ")
            assert list(seen.command.argv) == api.execs[-1][2]
            to_host = lab.probe("front/client", "host", port)  # `host` is a lab name: the lab hands out its address
            assert api.execs[-1][2][2].startswith("127.0.0.1:")
            assert to_host.verdict is Verdict.REFUSED  # nothing of this test listens on the gateway address at that port
    finally:
        vm.shutdown()
        vm.server_close()
