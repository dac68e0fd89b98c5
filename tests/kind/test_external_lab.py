"""KindLab and the external hosts, offline: the fake docker/kubectl for the containers and the
fake API server for the cluster (``support.fake_apiserver``).

The fake ``kind`` network is given the subnet 127.0.0.0/8 here, so ``host`` is 127.0.0.1 and
``vm.internal`` 127.0.0.100: probes to the VM then really connect, to a netexec stand-in listening
on 127.0.0.100. Pods exec through the Lab's real exec path (the fake API server runs the command
with the agnhost/curl stand-ins, from the pod's own loopback address), and resolve the lab's names
through the fake CoreDNS, which reads the ``hosts`` block from the Corefile the backend patched
into the fake ``kubectl``'s coredns ConfigMap. ``docker exec`` into the VM is answered by the fake
docker (``exec_replies``).
"""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_apiserver import FakeCluster, install

from grader.kind.cluster import KindCluster
from grader.kind.external_layout import VM_NAME
from grader.kind.lab import KindLab
from grader.kind.webprobe import CERTS_MARK, HEADERS_MARK, JSON_MARK
from grader.reachability import Verdict
from grader.render.topology import _lab_parts

# Multi-step scenarios through fake executables: in make test, not in make test-fast.
pytestmark = pytest.mark.slow

OWNED = {"app.kubernetes.io/managed-by": "netlab"}


class ClientIp(http.server.BaseHTTPRequestHandler):
    """netexec stand-in: ``/clientip`` answers the peer as ``ip:port``, ``/hostname`` the VM's name."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = (f"{self.client_address[0]}:{self.client_address[1]}" if self.path == "/clientip" else VM_NAME).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed on this machine (the pods have it)")
TOPOLOGY = {"name": "outside", "namespaces": {"shop": {}},
            "pods": [{"namespace": "shop", "name": "web", "labels": {"app": "web"}, "ports": [{"port": 8080, "name": "http"}]},
                     {"namespace": "shop", "name": "api", "labels": {"app": "api"}, "ports": [{"port": 8081, "name": "http"}]}]}


def _corefile(fakes: Any) -> str | None:
    """The Corefile the backend patched: the fake kubectl keeps the coredns ConfigMap (fake_tools.py)."""
    return fakes.state["clusters"]["netlab-kindnet"].get("corefile")


def curl_reply(body: str, remote_ip: str, code: int = 200) -> str:
    """What curl prints with the lab's --write-out (grader.kind.webprobe.WRITE_OUT)."""
    return f'{body}{JSON_MARK}{{"exitcode": 0, "errormsg": null, "http_code": {code}, "remote_ip": "{remote_ip}"}}{HEADERS_MARK}{{}}{CERTS_MARK}'


@pytest.fixture
def world(fakes, tmp_path: Path) -> Iterator[dict[str, Any]]:
    fakes.set(kind_subnet="127.0.0.0/8", kind_reserved=[f"127.0.0.{i}" for i in range(2, 200)])  # containers from .200 on: .1 and .100 stay free
    cluster = KindCluster("kindnet", progress=False)
    cluster.ensure()
    server = http.server.ThreadingHTTPServer(("127.0.0.100", 0), ClientIp)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    with FakeCluster(tmp_path / "pods") as api:
        api.exec_path = install(tmp_path / "exec-bin", curl=CURL)
        api.corefile = lambda: _corefile(fakes)
        api.routes = {"203.0.113.10": "127.0.0.101", "198.51.100.20": "127.0.0.102"}  # the internet hosts: nothing listens there
        api.add(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}},
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "netlab-kindnet-worker"},
             "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.3"}]}},
        )
        api.pod("netlab-probes", "probe-netlab-kindnet-worker", {"app": "netlab-node-probe"}, "127.0.0.3", node="netlab-kindnet-worker")
        api.get("Pod", "netlab-probes", "probe-netlab-kindnet-worker")["spec"]["hostNetwork"] = True
        cluster.kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")  # the Lab's API client talks to the fake API server
        cluster.context = "fake"
        lab = KindLab(cluster=cluster, create=False)
        lab.quiet = True
        lab.deploy(TOPOLOGY)  # by server-side apply: the fake kubelet gives each pod a loopback address and netexec
        ips = {str(p.ref): str(p.ip) for p in lab.pods()}
        yield {"lab": lab, "cluster": cluster, "fakes": fakes, "port": server.server_address[1], "api": api, "ips": ips}
    server.shutdown()
    server.server_close()


def test_external_hosts_have_their_addresses_on_this_machine(world) -> None:
    lab = world["lab"]
    hosts = {h.name: (str(h.ip), h.where) for h in lab.external_hosts()}
    assert hosts == {"host": ("127.0.0.1", "host"), "vm.internal": ("127.0.0.100", "vnet"),
                     "api.example.com": ("203.0.113.10", "internet"), "blocked.example.net": ("198.51.100.20", "internet")}
    _, _, _, _, drawn = _lab_parts(lab, False)  # pictures draw the same hosts
    assert [h.name for h in drawn] == ["host", "vm.internal", "api.example.com", "blocked.example.net"]


def test_from_this_machine_the_vm_really_answers_and_reports_the_source(world) -> None:
    lab, port = world["lab"], world["port"]
    probe = lab.probe("host", VM_NAME, port)
    assert probe.verdict is Verdict.ALLOWED and probe.answered_by == "vm.internal (127.0.0.100)"
    assert probe.probe.destination == VM_NAME  # the result names what was asked, not the address used
    seen = lab.http("host", f"http://{VM_NAME}:{port}/clientip")
    assert seen.verdict is Verdict.ALLOWED and seen.client_ip == "127.0.0.1"  # host = the kind network's gateway
    assert seen.answered_by == "vm.internal (127.0.0.100)" and seen.http.status == 200
    assert lab.probe("host", "vm.internal", 1).verdict is Verdict.REFUSED  # nothing listens there


@needs_curl
def test_pods_resolve_the_lab_names_themselves(world) -> None:
    lab, api, port, ips = world["lab"], world["api"], world["port"], world["ips"]
    result = lab.probe("shop/web", VM_NAME, port)
    assert result.verdict is Verdict.ALLOWED and result.answered_by == "vm.internal (127.0.0.100)", result.reason
    ns, pod, argv = api.execs[-1]
    assert (ns, pod) == ("shop", "web") and "/agnhost connect" in argv[2] and f"{VM_NAME}:{port}" in argv  # the name ...
    assert "127.0.0.100 vm.internal" in _corefile(world["fakes"])  # ... resolved in the pod by the hosts block the backend wrote
    found = lab.nslookup("shop/web", VM_NAME)
    assert [str(a) for a in found.addresses] == ["127.0.0.100"] and api.execs[-1][2][:2] == ["/bin/sh", "-c"]  # dig in the pod
    seen = lab.http("shop/web", f"http://{VM_NAME}:{port}/clientip")
    assert seen.verdict is Verdict.ALLOWED and seen.client_ip == ips["shop/web"]  # the VM sees the pod's own address
    assert api.execs[-1][2][0] == "curl"
    far = lab.probe("shop/web", "api.example.com", 443)
    assert "api.example.com:443" in api.execs[-1][2]
    assert far.verdict is Verdict.REFUSED  # no server of the fake listens for the internet host
    assert api.flows[-1][1:5] == ("203.0.113.10", 443, "TCP", "accept")  # the pod resolved the name to the hosts block's address
    lab.probe("shop/web", "host", 80)
    assert api.execs[-1][2][:3] == ["/agnhost", "connect", "127.0.0.1:80"]  # `host` is a lab name, never a DNS name
    assert lab.probe("node:kind-worker", "blocked.example.net", 443).verdict is Verdict.REFUSED
    assert api.execs[-1] == ("netlab-probes", "probe-netlab-kindnet-worker", ["/agnhost", "connect", "198.51.100.20:443", "--timeout=1s", "--protocol=tcp"])  # outside the cluster, the lab hands out the address (as the simulation does)


def test_probes_from_the_vm_run_in_its_container(world) -> None:
    lab, fakes = world["lab"], world["fakes"]
    fakes.set(exec_replies={"netlab-vm-internal": [0, "", ""]})
    web = world["ips"]["shop/web"]
    ok = lab.probe(VM_NAME, "shop/web", 80)
    assert fakes.state["execs"][-1] == ["netlab-vm-internal", "/agnhost", "connect", f"{web}:80", "--timeout=1s", "--protocol=tcp"]
    assert ok.verdict is Verdict.ALLOWED and ok.answered_by == "shop/web"
    fakes.set(exec_replies={"netlab-vm-internal": [1, "", f"OTHER: dial tcp {web}:80: connect: network is unreachable\n"]})
    no_route = lab.probe(VM_NAME, "shop/web", 80)
    assert no_route.verdict is Verdict.BLOCKED and "unreachable" in no_route.reason
    lab.probe(VM_NAME, "api.example.com", 443)
    assert fakes.state["execs"][-1][3] == "203.0.113.10:443"
    state = fakes.state
    state["containers"]["netlab-vm-internal"] = "exited"
    fakes.set(**state)
    down = lab.probe(VM_NAME, "shop/web", 80)
    assert down.verdict is Verdict.PROBE_FAILED and "is not running" in down.reason  # never BLOCKED for a broken probe


def test_http_from_the_vm_uses_curl_in_its_container(world) -> None:
    lab, fakes = world["lab"], world["fakes"]
    fakes.set(exec_replies={"netlab-vm-internal": [0, curl_reply("192.0.2.1:40512", "203.0.113.10"), ""]})
    result = lab.http(VM_NAME, "http://api.example.com/clientip")
    argv = fakes.state["execs"][-1]
    assert argv[:2] == ["netlab-vm-internal", "curl"]
    assert argv[argv.index("--connect-to") + 1] == "api.example.com:80:203.0.113.10:80" and argv[-1] == "http://api.example.com:80/clientip"
    assert result.verdict is Verdict.ALLOWED and result.client_ip == "192.0.2.1"
    assert result.answered_by == "api.example.com (203.0.113.10)"


def test_the_internet_hosts_only_answer(world) -> None:
    lab = world["lab"]
    result = lab.probe("api.example.com", "shop/web", 80)
    assert result.verdict is Verdict.PROBE_FAILED and "only answers" in result.reason and "backend='sim'" in result.reason
    assert lab.http("blocked.example.net", "http://vm.internal/").verdict is Verdict.PROBE_FAILED


def test_pod_probes_do_not_need_docker(world) -> None:
    lab, fakes = world["lab"], world["fakes"]
    lab.lab_outside.forget()
    fakes.remove("docker")
    assert lab.probe("shop/web", "shop/api", 8081).verdict is Verdict.ALLOWED
    lab.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
               "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": "http"}]}}, namespace="shop")
    vip = world["api"].get("Service", "shop", "api")["spec"]["clusterIP"]
    assert lab.probe("shop/web", vip, 80).verdict is Verdict.ALLOWED  # an address the lab does not own: still no Docker
    gone = lab.probe("host", VM_NAME, 80)
    assert gone.verdict is Verdict.PROBE_FAILED and "external hosts are not available" in gone.reason


def test_calico_bgp_routes_are_synced_before_the_vm_is_involved(fakes, tmp_path: Path, no_sleep) -> None:
    cluster = KindCluster("calico-bgp", progress=False)
    cluster.ensure()
    state = fakes.state
    node, ip = state["clusters"]["netlab-calico-bgp"]["nodes"][1], state["clusters"]["netlab-calico-bgp"]["ips"][1]
    state["clusters"]["netlab-calico-bgp"]["blockaffinities"] = [
        {"spec": {"cidr": "192.168.45.0/26", "node": node, "state": "confirmed", "deleted": "false"}}]
    state["exec_replies"] = {"netlab-vm-internal": [0, "", ""]}
    fakes.set(**state)
    with FakeCluster(tmp_path / "pods") as api:
        api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": OWNED}})
        api.pod("shop", "db", {"app": "db"}, "192.168.45.3", ports=[{"containerPort": 5432, "name": "pg", "protocol": "TCP"}])
        api.exec_path = install(tmp_path / "exec-bin")
        cluster.kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        cluster.context = "fake"
        lab = KindLab(cluster=cluster, create=False)
        runs = len(fakes.state["helper_runs"])
        assert lab.probe(VM_NAME, "shop/db", 5432).verdict is Verdict.ALLOWED
        assert fakes.state["routes"]["netlab-vm-internal"]["192.168.45.0/26"] == f"via {ip} proto 186"
        assert len(fakes.state["helper_runs"]) == runs + 1
        lab.probe("shop/db", VM_NAME, 443)  # within a few seconds: no new check
        lab.probe("shop/db", "shop/db", 5432)  # the VM is not involved: no check either
        assert len(fakes.state["helper_runs"]) == runs + 1
