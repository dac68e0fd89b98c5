"""The live Lab's Services/DNS/HTTP calls end to end, offline.

The API server is ``fake_apiserver.FakeCluster`` (real HTTP, the real kubernetes client), and "exec
in a pod" is the Lab's own exec over the websocket channel protocol: the fake runs the argv on this
machine with the pod's ``/tmp`` and ``/etc/resolv.conf`` mapped to a directory of its own. Servers
the pods would be are local HTTP servers on 127.0.0.1; ``dig``, ``nc`` and ``/agnhost`` (absent
here, present in agnhost's image) are the fake's stand-ins (``support.fakenet.standins``). What runs
for real: the Lab's code and exec path, the kubernetes client, curl, /bin/sh, setsid, tail, the
readiness probe commands.
"""

from __future__ import annotations

import http.server
import itertools
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_apiserver import FakeCluster, install

from grader.errors import LabError, ManifestError
from grader.kind.lab import LiveLab
from grader.kind.workloads import READINESS_ANNOTATION, readiness_probe
from grader.reachability import Verdict

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed on this machine (the pods have it)")
OWNED = {"app.kubernetes.io/managed-by": "netlab"}


class Names(http.server.BaseHTTPRequestHandler):
    """agnhost netexec stand-in: /hostname answers the next name of ``names``; /clientip the peer."""

    protocol_version = "HTTP/1.1"
    names: Iterator[str] = itertools.cycle(["web"])

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/hostname":
            body = next(self.names)
        elif self.path == "/clientip":
            body = f"{self.client_address[0]}:{self.client_address[1]}"
        else:
            body = "NOW: 2026-11-27 12:00:00"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(names: list[str]) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = type("H", (Names,), {"names": itertools.cycle(names)})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return srv, srv.server_address[1]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    web_srv, web_port = serve(["web"])
    lb_srv, lb_port = serve(["echo-a", "echo-b", "echo-a", "echo-c"])
    bin_dir = install(tmp_path / "bin", curl=shutil.which("curl"))
    with FakeCluster(tmp_path / "pods") as cluster:
        cluster.exec_path = bin_dir
        cluster.add(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": OWNED}},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}},
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "kind-worker"},
             "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
             "spec": {"clusterIP": "10.96.0.10", "selector": {"k8s-app": "kube-dns"}, "type": "ClusterIP",
                      "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}]}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
             "spec": {"type": "LoadBalancer", "clusterIP": "10.96.40.40", "selector": {"app": "web"}, "externalTrafficPolicy": "Cluster",
                      "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080, "protocol": "TCP"}]},
             "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.5", "ipMode": "Proxy"}]}}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo", "namespace": "shop"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "echo"}},
                      "template": {"metadata": {"labels": {"app": "echo"}},
                                   "spec": {"containers": [{"name": "c", "image": "agnhost", "ports": [{"containerPort": 8080, "name": "http"}]}]}}}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "cloud-provider-kind", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
             "spec": {"controller": "kind.sigs.k8s.io/ingress-controller"}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop", "namespace": "shop"},
             "spec": {"ingressClassName": "cloud-provider-kind"}, "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.6"}]}}},
            {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "shop"},
             "spec": {"gatewayClassName": "cloud-provider-kind", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
             "status": {"addresses": [{"type": "IPAddress", "value": "172.18.0.7"}],
                        "conditions": [{"type": "Programmed", "status": "True", "reason": "Programmed"}]}},
            {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "shop", "namespace": "shop"},
             "spec": {"parentRefs": [{"name": "public"}]},
             "status": {"parents": [{"parentRef": {"name": "public"}, "controllerName": "kind.sigs.k8s.io/gateway-controller",
                                     "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}]}},
            {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "cloud-provider-kind"},
             "spec": {"controllerName": "kind.sigs.k8s.io/gateway-controller"},
             "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}},
        )
        probe = readiness_probe(True)["exec"]["command"]
        cluster.pod("shop", "web", {"app": "web"}, "127.0.0.1", ports=[{"containerPort": web_port, "name": "http", "protocol": "TCP"}],
                    annotations={READINESS_ANNOTATION: "c"}, probe=probe)
        cluster.pod("shop", "api", {"app": "api"}, "10.244.1.2")
        for name in ("echo-a", "echo-b", "echo-c"):
            cluster.pod("shop", name, {"app": "lb"}, "10.244.2.2")
        (tmp_path / "pods" / "shop" / "api" / "resolv.conf").write_text(
            "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
        kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig")
        lab = LiveLab("kindnet", kubeconfig=str(kubeconfig), context="fake", quiet=True)
        yield {"lab": lab, "cluster": cluster, "web_port": web_port, "lb_port": lb_port}
    web_srv.shutdown()
    lb_srv.shutdown()


def test_services_and_endpoints_from_the_cluster(world) -> None:
    lab = world["lab"]
    rows = {(r.namespace, r.name): r for r in lab.services()}
    assert rows[("shop", "web")].external_ip == "172.18.0.5" and rows[("shop", "web")].ports == "80:30080/TCP"
    assert rows[("shop", "web")].ready_endpoints == 1 and rows[("kube-system", "kube-dns")].cluster_ip == "10.96.0.10"
    assert [r.name for r in lab.services("shop")] == ["web"]
    eps = lab.endpoints("shop/web")
    assert eps.ready == ("shop/web",) and eps.addresses("http") == (f"127.0.0.1:{world['web_port']}",)
    assert lab.endpoints("web.shop").service == "shop/web"  # the same spellings the simulated cluster accepts
    with pytest.raises(LabError, match="no service/shop/nope"):
        lab.endpoints("shop/nope")


def test_set_ready_flips_a_real_readiness_probe(world) -> None:
    lab = world["lab"]
    lab.set_ready("shop/web", False)
    assert lab.endpoints("shop/web").not_ready == ("shop/web",)
    assert next(r for r in lab.services("shop")).ready_endpoints == 0
    assert (world["cluster"].root / "shop" / "web" / "netlab-not-ready").exists()  # the marker the probe tests
    lab.set_ready("shop/web", True)
    assert lab.endpoints("shop/web").ready == ("shop/web",)
    with pytest.raises(LabError, match="no netlab readiness probe"):
        lab.set_ready("shop/api", False)
    with pytest.raises(LabError, match="not owned"):
        lab.set_ready("kube-system/coredns", False)


def test_scale_creates_and_removes_pods(world) -> None:
    lab = world["lab"]
    assert lab.scale("deployment/shop/echo", 3) == ["shop/echo-7d9f-0", "shop/echo-7d9f-1", "shop/echo-7d9f-2"]
    assert lab.scale("shop/echo", 1) == ["shop/echo-7d9f-0"]
    with pytest.raises(LabError, match="no deployment/shop/gone"):
        lab.scale("shop/gone", 2)


def test_addresses_and_status_are_what_controllers_wrote(world) -> None:
    lab = world["lab"]
    assert lab.address("service/shop/web") == "172.18.0.5"
    assert lab.address("ingress/shop/shop") == "172.18.0.6"
    assert lab.address("gateway/shop/public") == "172.18.0.7"
    assert lab.status("ingress/shop/shop").controller == "cloud-provider-kind"
    assert lab.status("gateway/shop/public").programmed
    assert lab.status("httproute/shop/shop").accepted
    assert lab.status("gatewayclass/cloud-provider-kind")[0].ok
    with pytest.raises(LabError, match="has no address"):
        lab.address("pod/shop/web")
    with pytest.raises(LabError, match="no gateway/shop/none"):
        lab.status("gateway/shop/none")


@needs_curl
def test_http_from_a_pod_and_from_the_host_name_the_pod_that_answered(world) -> None:
    lab, cluster = world["lab"], world["cluster"]
    port = world["web_port"]
    r = lab.http("shop/api", f"http://web.shop:{port}/hostname", resolve="127.0.0.1")
    assert r.verdict is Verdict.ALLOWED and r.http.status == 200 and r.answered_by == "shop/web" and r.http.body == "web"
    assert cluster.execs[-1][2][0] == "curl" and cluster.execs[-1][:2] == ("shop", "api")  # curl ran in the source pod
    root = lab.http("shop/api", f"http://127.0.0.1:{port}/")
    assert root.answered_by == "shop/web"  # a pod's own address: it answered, whatever the body
    host = lab.http("host", f"http://127.0.0.1:{port}/clientip")
    assert host.verdict is Verdict.ALLOWED and host.client_ip == "127.0.0.1"
    assert lab.http("host", "http://shop.example.com.invalid/").verdict is Verdict.DNS_FAILED
    assert lab.http("api.example.com", "http://x/").verdict is Verdict.PROBE_FAILED  # no such source on a real cluster


@needs_curl
def test_distribution_counts_who_answered_hostname(world) -> None:
    lab = world["lab"]
    spread = lab.distribution("shop/api", "127.0.0.1", world["lb_port"], requests=8)
    assert spread.as_dict() == {"shop/echo-a": 4, "shop/echo-b": 2, "shop/echo-c": 2} and spread.requests == 8
    from_host = lab.distribution("host", f"http://127.0.0.1:{world['lb_port']}/hostname", requests=4)
    assert sum(from_host.as_dict().values()) == 4
    refused = lab.distribution("shop/api", "127.0.0.1", 1, requests=2)
    assert refused.counts == () and refused.failures == (("refused", 2),)  # Verdict values, as the simulated cluster counts them


def test_nslookup_runs_dig_for_each_name_of_the_search_path(world) -> None:
    lab = world["lab"]
    found = lab.nslookup("shop/api", "web")
    assert [a.query for a in found.answers] == ["web.shop.svc.cluster.local"] and [str(a) for a in found.addresses] == ["10.96.40.40"]
    missing = lab.nslookup("shop/api", "nope")
    assert not missing.ok and [a.query for a in missing.answers][:2] == ["nope.shop.svc.cluster.local", "nope.svc.cluster.local"]


def test_probes_from_the_host_and_to_node_ports(world) -> None:
    lab = world["lab"]
    r = lab.probe("host", "shop/web", "http")
    assert r.verdict is Verdict.ALLOWED and r.answered_by == "shop/web"
    assert lab.probe("host", f"node:kind-worker:{world['web_port']}").verdict is Verdict.ALLOWED  # node:<name>:<port>
    assert lab.probe("host", "127.0.0.1", 1).verdict is Verdict.REFUSED


@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid")
def test_a_connection_is_a_process_in_the_source_pod(world) -> None:
    lab = world["lab"]
    c = lab.open_connection("shop/api", "shop/web", world["web_port"])
    assert c.established and c.result.answered_by == "shop/web"
    assert lab.connections() == [c]
    again = lab.send(c)
    assert again.verdict is Verdict.ALLOWED and again.answered_by == "shop/web"
    lab.close_connection(c)
    assert lab.connections() == []
    with pytest.raises(LabError, match="no open connection"):
        lab.send(c)


def test_what_kind_cannot_do_says_why(world) -> None:
    lab = world["lab"]
    with pytest.raises(LabError, match="kind has no NSG"):
        lab.attach_nsg("securityRules: []")
    with pytest.raises(LabError, match="only does that on its own kind clusters"):
        lab.install_ingress_controller("ingress-nginx")
    with pytest.raises(LabError, match="unknown ingress controller"):
        lab.install_ingress_controller("traefik")


def test_the_cloud_provider_kind_class_can_be_made_default_on_an_owned_cluster(world) -> None:
    lab = world["lab"]
    lab.controllers.owns_cluster = True  # as on a course kind cluster (KindLab.owns_cluster)
    world["cluster"].add({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                          "metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
                          "spec": {"controller": "k8s.io/ingress-nginx"}})
    assert lab.install_ingress_controller("cloud-provider-kind", default=True) == "cloud-provider-kind"
    nginx = world["cluster"].get("IngressClass", "", "nginx")
    assert "ingressclass.kubernetes.io/is-default-class" not in nginx["metadata"]["annotations"]


def test_exec_failures_are_probe_failed_not_blocked(world, monkeypatch) -> None:
    lab, cluster = world["lab"], world["cluster"]
    empty = cluster.root / "empty-image"
    empty.mkdir()
    monkeypatch.setattr(cluster, "exec_path", empty)  # no curl in the pod's image
    monkeypatch.setattr(cluster, "image_path", str(empty))
    r = lab.http("shop/api", "http://127.0.0.1/")
    assert r.verdict is Verdict.PROBE_FAILED


@needs_curl
def test_a_hostname_shared_by_pods_of_several_namespaces_names_the_service_endpoint(world) -> None:
    """e2e has x/a, y/a, z/a: "a" is ambiguous until we ask which one is a ready endpoint of a Service."""
    lab, cluster = world["lab"], world["cluster"]
    cluster.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other", "labels": OWNED}})
    cluster.pod("other", "web", {"app": "not-behind-a-service"}, "10.244.3.3")
    r = lab.http("host", f"http://shop.example.com:{world['web_port']}/hostname", resolve="127.0.0.1")
    assert r.answered_by == "shop/web"
    assert lab.service_calls.pod_named("web", []) == "shop/web"
    lab.set_ready("shop/web", False)  # no longer an endpoint: the name alone no longer tells which pod it was
    assert lab.service_calls.pod_named("web", []) is None and lab.service_calls.pod_named("web", ["other"]) == "other/web"


def test_deploy_and_reset_restore_the_readiness_the_topology_declares(world) -> None:
    from grader.model import Pod

    lab = world["lab"]
    lab.set_ready("shop/web", False)
    lab._restore_readiness([Pod("shop", "web", ready=True), Pod("shop", "gone")])  # what deploy() and reset(keep_topology) run
    assert lab.endpoints("shop/web").ready == ("shop/web",)


def test_public_readings_of_nodes_and_services(world) -> None:
    """What tests used to dig out of internal state, read the same way as on the simulated cluster."""
    lab = world["lab"]
    assert lab.node_ip("kind-worker") == "127.0.0.1"
    assert lab.cluster_ip("service/shop/web") == "10.96.40.40" and lab.cluster_ip("service/kube-system/kube-dns") == "10.96.0.10"
    assert lab.node_ports("service/shop/web") == {"http": 30080} and lab.node_ports("service/kube-system/kube-dns") == {}
    with pytest.raises(LabError, match="no node/kind-nope"):
        lab.node_ip("kind-nope")


@pytest.mark.parametrize("call", [
    lambda lab: lab.endpoints("shop/nope"),
    lambda lab: lab.address("service/shop/nope"),
    lambda lab: lab.scale("deployment/shop/gone", 1),
    lambda lab: lab.set_ready("shop/ghost"),
    lambda lab: lab.status("gateway/shop/none"),
    lambda lab: lab.status("httproute/shop/none"),
    lambda lab: lab.status("ingress/shop/none"),
    lambda lab: lab.node_ip("kind-nope"),
], ids=["endpoints", "address", "scale", "set_ready", "gateway", "httproute", "ingress", "node"])
def test_a_missing_object_is_named_the_same_way_on_both_backends(world, call) -> None:
    from grader.lab import SimulatedLab

    sim = SimulatedLab("kindnet")
    sim.deploy("shop")
    said = []
    for lab in (sim, world["lab"]):
        with pytest.raises(LabError) as err:
            call(lab)
        said.append(str(err.value).split(";")[0])
    assert said[0] == said[1], said
    assert re.fullmatch(r"no (service|deployment|pod|gateway|httproute|ingress|node)/[a-z/-]+", said[0])


def test_address_waits_for_cloud_provider_kind(world, capsys: pytest.CaptureFixture[str]) -> None:
    """C5: right after apply() a LoadBalancer Service has no address on kind (cloud-provider-kind
    writes it seconds later); address() used to return None at once, and lesson 2 requested
    http://None/. Now it waits, saying so on one line, and returns the address."""
    import threading

    lab, cluster = world["lab"], world["cluster"]
    lab.quiet = False
    cluster.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "late", "namespace": "shop"},
                 "spec": {"type": "LoadBalancer", "clusterIP": "10.96.40.41", "selector": {"app": "web"},
                          "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30081, "protocol": "TCP"}]}})

    def controller() -> None:
        with cluster.lock:
            cluster.get("Service", "shop", "late")["status"] = {"loadBalancer": {"ingress": [{"ip": "172.18.0.9"}]}}

    timer = threading.Timer(1.5, controller)
    timer.start()
    assert lab.address("service/shop/late", wait=20) == "172.18.0.9"
    assert "netlab: waiting for cloud-provider-kind to assign an address to service/shop/late" in capsys.readouterr().out
    assert lab.address("service/kube-system/kube-dns") is None  # not a LoadBalancer: no wait, no address


def test_a_cluster_you_brought_has_no_lab_external_hosts(world) -> None:
    """L4: on a cluster you brought, vm.internal / api.example.com / blocked.example.net do not exist;
    a probe to them went to the real internet and read BLOCKED or DNS_FAILED."""
    lab = world["lab"]
    for destination in ("api.example.com", "203.0.113.10", "vm.internal"):
        result = lab.probe("shop/api", destination, 80)
        assert result.verdict is Verdict.PROBE_FAILED and "exists only on the simulated cluster and the course's kind clusters" in result.reason


def test_host_probes_to_cluster_addresses_on_a_cluster_you_brought_are_probe_failed(world) -> None:
    """C4/L4: from this machine, a node or pod address of a cluster you brought may be out of reach;
    silence from it is PROBE_FAILED, never BLOCKED (the Prober measures once per lab)."""
    lab, cluster = world["lab"], world["cluster"]
    cluster.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "aks-node"},
                 "spec": {"podCIDR": "192.0.2.0/24"}, "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.4"}]}})
    reach = lab.prober.host_reach()
    assert not reach.reachable and reach.covers("192.0.2.77") and not reach.covers("198.51.100.1")
    from grader.kind.hostnet import l4_probe

    verdict, reason, _ = l4_probe("192.0.2.77", 80, "TCP", timeout=0.3, reach=reach)
    assert verdict is Verdict.PROBE_FAILED and "cannot reach 192.0.2.77 at all" in reason


def test_a_manifest_without_namespace_on_a_cluster_you_brought_says_what_to_do(world) -> None:
    """L5: lesson manifests without a namespace go to `default`, which a cluster you brought keeps for
    its owner; the refusal now says what to do instead of only "not owned"."""
    lab = world["lab"]
    world["cluster"].add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    policy = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {podSelector: {}}\n"
    with pytest.raises(ManifestError, match=r"on a cluster you brought, manifests without a namespace go to .default., which stays yours"):
        lab.apply(policy)
    assert lab.apply(policy, namespace="shop")  # a namespace the lab owns: applied (server-side apply on the fake API server)
    assert world["cluster"].get("NetworkPolicy", "shop", "deny") is not None


def test_probes_run_through_the_real_exec_path(world, tmp_path: Path) -> None:
    """F1: the live Lab's own exec (KubeApi.exec over the websocket channel protocol, exit status on
    the error channel) runs offline against the fake API server; `_exec` is not replaced here."""
    cluster = world["cluster"]  # its exec_path holds the agnhost stand-in
    lab = LiveLab("kindnet", kubeconfig=str(tmp_path / "kubeconfig"), context="fake", quiet=True)
    assert lab.kube.exec("shop", "api", "c", ["/bin/sh", "-c", "echo hi; exit 3"]) == (3, "hi\n", "", "")
    allowed = lab.probe("shop/api", "shop/web", "http")
    assert allowed.verdict is Verdict.ALLOWED and allowed.answered_by == "shop/web"
    free = socket_free_port()
    refused = lab.probe("shop/api", "shop/web", free)
    assert refused.verdict is Verdict.REFUSED and "REFUSED" in refused.reason
    grid = lab.matrix("http", sources=["shop/api"], destinations=["shop/web"])  # the same path, through Lab.matrix's threads
    assert grid.result("shop/api", "shop/web").verdict is Verdict.ALLOWED
    cluster.exec_path = tmp_path / "empty"  # no /agnhost in the image: the exec itself fails
    (tmp_path / "empty").mkdir()
    broken = lab.probe("shop/api", "shop/web", "http")
    assert broken.verdict is Verdict.PROBE_FAILED and 'exec: "/agnhost": executable file not found' in broken.reason


def socket_free_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)
