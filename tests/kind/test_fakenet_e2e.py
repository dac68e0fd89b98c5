"""The fake cluster's network through the live Lab's real exec path (issue 12, "Done means").

``LiveLab`` talks to ``fake_apiserver.FakeCluster`` over HTTP and execs over the websocket channel
protocol; nothing of the Lab is replaced. What these tests add to ``test_lab_end_to_end.py``: the
fake kube-proxy (ClusterIP traffic, its spread over endpoints, ClientIP affinity, a Service with no
ready endpoint, NodePorts), the pods' own source addresses, and NetworkPolicy enforcement by the
fake CNI's independent evaluator, run on a sample of the upstream acceptance cases.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from acceptance.test_netpol_acceptance import CASES, load
from support.fake_apiserver import FakeCluster, install

from grader.kind.lab import LiveLab
from grader.reachability import Verdict

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed on this machine (the pods have it)")

BACKENDS = {
    "name": "fakenet",
    "namespaces": {"front": {}, "back": {}},
    "pods": [
        {"namespace": "front", "name": "client", "labels": {"app": "client"}},
        {"namespace": "front", "name": "other", "labels": {"app": "other"}},
        *({"namespace": "back", "name": f"web-{i}", "labels": {"app": "web"}, "ports": [{"port": 8080, "name": "http"}]} for i in (1, 2, 3)),
    ],
}


def _service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "back"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}], **spec}}


def _web_behind_a_service(lab: LiveLab, cluster: FakeCluster, topology: dict[str, Any] = BACKENDS) -> str:
    """Deploy the back ends and the ``web`` Service in front of them; its ClusterIP."""
    lab.deploy(topology)
    lab.apply(_service("web"), namespace="back")
    return str(cluster.get("Service", "back", "web")["spec"]["clusterIP"])


@pytest.fixture
def net(tmp_path: Path) -> Iterator[tuple[LiveLab, FakeCluster]]:
    exec_bin = install(tmp_path / "exec-bin", curl=CURL)
    with FakeCluster(tmp_path / "pods") as cluster:
        cluster.exec_path = exec_bin
        cluster.proxy.rng = random.Random(12)  # kube-proxy's random choice, seeded: the spread below is reproducible
        cluster.add_nodes("kind-worker")
        yield cluster.live_lab(tmp_path / "kubeconfig"), cluster


def _ips(lab: LiveLab) -> dict[str, str]:
    return {str(p.ref): str(p.ip) for p in lab.pods()}


@pytest.mark.slow  # about 2 s: 21 curl runs
@needs_curl
def test_a_cluster_ip_spreads_connections_over_the_ready_endpoints(net: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = net
    vip = _web_behind_a_service(lab, cluster)
    spread = lab.distribution("front/client", vip, 80, requests=12)
    counts = spread.as_dict()
    assert sorted(counts) == ["back/web-1", "back/web-2", "back/web-3"] and sum(counts.values()) == 12  # named targetPort resolved
    assert max(counts.values()) <= 8  # random per connection (seeded), not pinned to one endpoint
    by_name = lab.distribution("front/client", "http://web.back/hostname", requests=3)  # the name, resolved in the pod
    assert sum(by_name.as_dict().values()) == 3
    lab.set_ready("back/web-2", False)  # out of the EndpointSlice: kube-proxy stops sending to it
    later = lab.distribution("front/client", vip, 80, requests=6).as_dict()
    assert "back/web-2" not in later and sum(later.values()) == 6


@needs_curl
def test_the_endpoint_sees_the_client_pods_own_address_through_the_cluster_ip(net: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = net
    vip = _web_behind_a_service(lab, cluster)
    ips = _ips(lab)
    seen = lab.http("front/client", f"http://{vip}/clientip")
    assert seen.verdict is Verdict.ALLOWED and seen.client_ip == ips["front/client"]  # DNAT only, no SNAT
    other = lab.http("front/other", f"http://{vip}/clientip")
    assert other.client_ip == ips["front/other"] != ips["front/client"]


@pytest.mark.slow  # 14 curl runs
@needs_curl
def test_client_ip_affinity_pins_each_client_to_one_endpoint(net: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = net
    lab.deploy(BACKENDS)
    lab.apply(_service("sticky", sessionAffinity="ClientIP"), namespace="back")
    vip = cluster.get("Service", "back", "sticky")["spec"]["clusterIP"]
    one = lab.distribution("front/client", vip, 80, requests=6).as_dict()
    assert len(one) == 1 and sum(one.values()) == 6
    lab.apply(_service("sticky", sessionAffinity="None"), namespace="back")
    assert len(lab.distribution("front/client", vip, 80, requests=8).as_dict()) > 1


def test_agnhost_connect_to_a_service_without_ready_endpoints_is_refused(net: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = net
    vip = _web_behind_a_service(lab, cluster)
    assert lab.probe("front/client", vip, 80).verdict is Verdict.ALLOWED
    _, _, argv = cluster.execs[-1]
    assert argv[:3] == ["/agnhost", "connect", f"{vip}:80"]
    assert lab.probe("front/client", vip, 81).verdict is Verdict.REFUSED  # no such Service port: nothing listens
    for i in (1, 2, 3):
        lab.set_ready(f"back/web-{i}", False)
    empty = lab.probe("front/client", vip, 80)
    assert empty.verdict is Verdict.REFUSED  # kube-proxy's reject rule for a Service without endpoints


@pytest.mark.slow  # the dropped datagram waits out agnhost's timeout and its retry
def test_udp_through_a_service_and_a_policy_on_udp(net: tuple[LiveLab, FakeCluster]) -> None:
    """UDP pods serve agnhost serve-hostname; `agnhost connect --protocol=udp` and `nc -u` stand-ins get
    kube-proxy's translation of the ClusterIP and the CNI's verdict before their first datagram."""
    lab, cluster = net
    lab.deploy({"name": "udp", "namespaces": {"front": {}, "back": {}},
                "pods": [{"namespace": "front", "name": "client", "labels": {"app": "client"}},
                         *({"namespace": "back", "name": f"dns-{i}", "labels": {"app": "dns"},
                            "ports": [{"port": 5353, "protocol": "UDP", "name": "dns"}]} for i in (1, 2))]})
    lab.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dns", "namespace": "back"},
               "spec": {"selector": {"app": "dns"}, "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"}]}},
              namespace="back")
    vip = cluster.get("Service", "back", "dns")["spec"]["clusterIP"]
    assert lab.probe("front/client", "back/dns-1", 5353, "UDP").verdict is Verdict.ALLOWED
    assert lab.probe("front/client", vip, 53, "UDP").verdict is Verdict.ALLOWED
    assert cluster.flows[-1][1:5] == (vip, 53, "UDP", "accept") and cluster.flows[-1][5].endswith(":5353")
    spread = lab.distribution("front/client", vip, 53, protocol="UDP", requests=4)
    assert sum(spread.as_dict().values()) == 4 and set(spread.as_dict()) <= {"back/dns-1", "back/dns-2"}
    lab.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "tcp-only", "namespace": "back"},
               "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": 5353, "protocol": "TCP"}]}]}},
              namespace="back")
    dropped = lab.probe("front/client", "back/dns-1", 5353, "UDP")
    assert dropped.verdict is Verdict.BLOCKED and "TIMEOUT" in dropped.reason


def test_a_node_port_forwards_from_this_machine(net: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = net
    lab.deploy(BACKENDS)
    lab.apply(_service("np", type="NodePort", ports=[{"name": "web", "port": 80, "targetPort": 8080}]), namespace="back")  # a number
    node_port = cluster.get("Service", "back", "np")["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    cluster.sync_network()
    result = lab.probe("host", f"node:kind-worker:{node_port}")
    assert result.verdict is Verdict.ALLOWED, result.reason
    spread = lab.distribution("host", f"node:kind-worker:{node_port}", requests=3)  # HTTP from this machine, through the forwarder
    assert sum(spread.as_dict().values()) == 3 and set(spread.as_dict()) <= {"back/web-1", "back/web-2", "back/web-3"}


@pytest.mark.slow  # a BLOCKED cell waits out agnhost's timeout and its retry
def test_a_policy_with_peers_and_named_ports_is_enforced_per_source(net: tuple[LiveLab, FakeCluster]) -> None:
    lab, _ = net
    lab.deploy(BACKENDS)
    lab.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "only-client", "namespace": "back"},
               "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "front"}},
                                               "podSelector": {"matchLabels": {"app": "client"}}}],
                                     "ports": [{"port": "http"}]}]}}, namespace="back")
    grid = lab.matrix(8080, sources=["front/client", "front/other"], destinations=["back/web-1"])
    assert grid.verdict("front/client", "back/web-1") is Verdict.ALLOWED
    assert grid.verdict("front/other", "back/web-1") is Verdict.BLOCKED


# -- upstream acceptance cases through the kind backend ---------------------------------------------------
SAMPLE = ("k8s-e2e-allow-from-other-ns-by-nsselector", "k8s-e2e-deny-egress-client-side-even-if-server-allows")
SHIFT = 8000
"""The cases probe ports 80/81, which an unprivileged user cannot bind here: every port number of
the case (pods, policies, expectations) is shifted by the same amount, which changes no verdict."""


def _shifted(case: dict[str, Any]) -> dict[str, Any]:
    def port(p: dict[str, Any]) -> dict[str, Any]:
        out = dict(p)
        for key in ("port", "endPort"):
            if isinstance(out.get(key), int):
                out[key] += SHIFT
        return out

    policies = []
    for pol in case.get("policies") or []:
        spec = dict(pol["spec"])
        for direction in ("ingress", "egress"):
            if spec.get(direction):
                spec[direction] = [{**r, "ports": [port(p) for p in r["ports"]]} if r.get("ports") else r for r in spec[direction]]
        policies.append({**pol, "spec": spec})
    pods = [{k: v for k, v in p.items() if k != "ip"} | {"ports": [port(pt) for pt in p.get("ports") or [] if pt.get("protocol", "TCP") == "TCP"]}
            for p in case["pods"]]
    namespaces = {n: {"labels": {k: v for k, v in ((s or {}).get("labels") or {}).items() if k != "kubernetes.io/metadata.name"}}
                  for n, s in case["namespaces"].items()}
    return {"name": case["name"], "namespaces": namespaces, "pods": pods, "policies": policies}


@pytest.mark.slow  # about 5 s each: every BLOCKED cell waits out agnhost's timeout and its retry
@pytest.mark.parametrize("stem", SAMPLE)
def test_upstream_cases_through_the_kind_backend(net: tuple[LiveLab, FakeCluster], stem: str) -> None:
    lab, _ = net
    case = load(next(p for p in CASES if p.stem == stem))
    lab.deploy(_shifted(case))
    sources = ["x/b", "y/b"]
    destinations = ["x/a", "y/a", "z/c"]
    wanted = {(e["from"], e["to"]): e["allowed"] for e in case["expect"]
              if e["protocol"] == "TCP" and e["port"] == 80 and e["from"] in sources and e["to"] in destinations and not e.get("loopback")}
    grid = lab.matrix(80 + SHIFT, sources=sources, destinations=destinations)
    wrong = [f"{s} -> {d}: {grid.verdict(s, d).name}, upstream allowed={ok}" for (s, d), ok in sorted(wanted.items())
             if (grid.verdict(s, d) is Verdict.ALLOWED) != ok]
    assert not wrong, wrong
    assert len(wanted) == 6 and set(wanted.values()) == {True, False}  # the sample has both verdicts


@pytest.mark.slow  # waits for the fake's threads to end
def test_the_fake_network_leaves_no_threads_or_listeners_behind(tmp_path: Path) -> None:
    """Servers, forwarders and held (dropped) connections all end with the fake cluster (tests run side by side under xdist)."""
    import socket
    import threading
    import time

    def ours() -> set[threading.Thread]:
        names = ("serve_forever", "_accept", "_relay", "process_request_thread")
        return {t for t in threading.enumerate() if any(n in t.name for n in names)}

    before = ours()
    exec_bin = install(tmp_path / "exec-bin")
    with FakeCluster(tmp_path / "pods") as cluster:
        cluster.exec_path = exec_bin
        lab = cluster.live_lab(tmp_path / "kubeconfig")
        lab.deploy(BACKENDS)
        lab.apply(_service("web"), namespace="back")
        lab.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "back"},
                   "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}, namespace="back")
        cluster.sync_network()
        vip = cluster.get("Service", "back", "web")["spec"]["clusterIP"]
        web = _ips(lab)["back/web-1"]
        held = [socket.create_connection((vip, 80), timeout=2), socket.create_connection((web, 8080), timeout=2)]
        for s in held:  # accepted by the kernel, then nothing: the fake CNI dropped them
            s.settimeout(0.3)
            with pytest.raises(TimeoutError):
                s.recv(1)
        assert len(ours() - before) > 2
    deadline = time.monotonic() + 3
    while ours() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ours() - before == set()
    for address in ((vip, 80), (web, 8080)):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, timeout=1)
    for s in held:
        s.close()


@pytest.mark.slow  # each refused lookup waits out dig's +time
def test_dns_is_traffic_an_egress_policy_must_allow(net: tuple[LiveLab, FakeCluster]) -> None:
    """A default-deny egress policy also drops the pod's DNS queries (UDP 53 to kube-dns); a rule for
    port 53 to CoreDNS's pods (kube-system, k8s-app: kube-dns) lets them through again."""
    from grader.errors import LabError

    lab, cluster = net
    lab.deploy(BACKENDS)
    lab.apply(_service("web"), namespace="back")
    assert [str(a) for a in lab.nslookup("front/client", "web.back").addresses] == [cluster.get("Service", "back", "web")["spec"]["clusterIP"]]
    lab.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny-egress", "namespace": "front"},
               "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}, namespace="front")
    with pytest.raises(LabError, match="port 53"):
        lab.nslookup("front/client", "web.back")
    assert cluster.flows[-1][1:5] == ("10.96.0.10", 53, "UDP", "drop")
    if CURL is not None:
        assert lab.http("front/client", "http://web.back/hostname").verdict is Verdict.DNS_FAILED  # curl's lookup times out
    lab.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-dns", "namespace": "front"},
               "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
                   "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                   "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]}}, namespace="front")
    assert lab.nslookup("front/client", "web.back").ok


@needs_curl
def test_a_pod_reaching_itself_through_its_service_is_masqueraded(net: tuple[LiveLab, FakeCluster]) -> None:
    lab, cluster = net
    vip = _web_behind_a_service(lab, cluster, {**BACKENDS, "pods": [p for p in BACKENDS["pods"] if p["name"] not in ("web-2", "web-3")]})
    ips = _ips(lab)
    assert lab.http("front/client", f"http://{vip}/clientip").client_ip == ips["front/client"]
    hairpin = lab.http("back/web-1", f"http://{vip}/clientip")  # its only endpoint is itself
    assert hairpin.verdict is Verdict.ALLOWED and hairpin.client_ip == "127.0.0.1" != ips["back/web-1"]  # the node's address
