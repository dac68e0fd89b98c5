"""Live tests of the external hosts on real kind clusters (skipped with one line without Docker).

Per profile: the containers and their addresses, names in CoreDNS, what each host sees as the
client (netexec ``/clientip``) from pods, from this machine and from vm.internal, vm.internal's
routes into a calico-bgp cluster, an ipBlock egress policy to the internet, and the CoreDNS
restore. Every observation is compared with the simulated cluster's answer for the same profile.
"""

from __future__ import annotations

import os
import platform

import pytest

from grader.cni import PROFILES
from grader.kind.coredns import patched_entries
from grader.kind.external_layout import vm_address
from grader.lab.sim import SimulatedLab
from grader.reachability import Reachability, Verdict

pytestmark = pytest.mark.live

PROFILE_NAMES = [p for p in PROFILES if p in os.environ.get("NETLAB_LIVE_PROFILES", ",".join(PROFILES)).split(",")]
on_linux = pytest.mark.skipif(platform.system() != "Linux", reason="Docker Desktop keeps the kind network inside its VM: the host cannot reach it")

PROVIDER_ONLY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: provider-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
  - to: [{ipBlock: {cidr: 203.0.113.0/24}}]
    ports: [{port: 443, protocol: TCP}]
"""


@pytest.fixture(scope="module", params=PROFILE_NAMES)
def labs(request: pytest.FixtureRequest):
    from grader.kind.lab import KindLab

    lab = KindLab(request.param)
    lab.reset()
    sim = SimulatedLab(request.param)
    for backend in (lab, sim):
        backend.deploy("shop")
    yield lab, sim
    lab.reset()


def _pod(lab, ref: str):
    return next(p for p in lab.pods(ref.split("/")[0]) if str(p.ref) == ref)


def _node_ip(lab, node: str) -> str:
    return next(n.internal_ip for n in lab.cluster.nodes() if n.name == node)


def test_hosts_run_with_their_addresses(labs) -> None:
    lab, _ = labs
    net = lab.cluster.external.kind_network()
    hosts = {h.name: h for h in lab.external_hosts()}
    assert hosts["vm.internal"].ip == vm_address(net)  # .100 of the subnet unless another container took it
    assert str(hosts["host"].ip) == str(net.gateway)
    assert (str(hosts["api.example.com"].ip), str(hosts["blocked.example.net"].ip)) == ("203.0.113.10", "198.51.100.20")
    assert set(lab.cluster.external.states().values()) == {"running"}
    corefile = lab.cluster.kubectl.get_json("configmap", "coredns", "-n", "kube-system")["data"]["Corefile"]
    assert patched_entries(corefile) == {n: str(h.ip) for n, h in hosts.items() if "." in n}
    assert [str(a) for a in lab.nslookup("shop/api", "api.example.com").addresses] == ["203.0.113.10"]


def test_pods_reach_the_hosts_as_the_simulation_says(labs) -> None:
    lab, sim = labs
    for destination, port in (("api.example.com", 443), ("blocked.example.net", 80), ("vm.internal", 443), ("api.example.com", 8080)):
        expected = sim.probe("shop/web", destination, port).verdict
        assert lab.probe("shop/web", destination, port).verdict is expected, f"shop/web → {destination}:{port}"


def test_the_internet_sees_the_edge_address_and_the_vm_sees_node_or_pod(labs) -> None:
    lab, sim = labs
    web = _pod(lab, "shop/web")
    internet = lab.http("shop/web", "http://api.example.com/clientip")
    assert internet.verdict is sim.http("shop/web", "http://api.example.com/clientip").verdict
    if internet.verdict is Verdict.ALLOWED:
        assert internet.client_ip == "192.0.2.1"
    vm = lab.http("shop/web", "http://vm.internal/clientip")
    assert vm.verdict is Verdict.ALLOWED
    flat = lab.profile.pod_routes_advertised and not lab.profile.masquerade
    assert vm.client_ip == (str(web.ip) if flat else _node_ip(lab, str(web.node)))


@on_linux
def test_from_this_machine(labs) -> None:
    lab, _ = labs
    gateway = next(str(h.ip) for h in lab.external_hosts() if h.name == "host")
    assert lab.http("host", "http://api.example.com/clientip").client_ip == "192.0.2.1"
    assert lab.http("host", "https://blocked.example.net/clientip").client_ip == "192.0.2.1"
    assert lab.http("host", "http://vm.internal/clientip").client_ip == gateway
    assert lab.probe("host", "vm.internal", 8080).verdict is Verdict.REFUSED


def test_from_the_vm(labs) -> None:
    lab, sim = labs
    assert lab.http("vm.internal", "http://api.example.com/clientip").client_ip == "192.0.2.1"
    assert lab.probe("vm.internal", "node:kind-control-plane", 6443).verdict is Verdict.ALLOWED
    to_pod = lab.probe("vm.internal", "shop/db", 5432)
    assert to_pod.verdict is sim.probe("vm.internal", "shop/db", 5432).verdict, to_pod.reason
    if to_pod.verdict is Verdict.ALLOWED:  # calico-bgp: the VM's routes to the blocks, and the pod sees the VM itself
        vm_ip = next(str(h.ip) for h in lab.external_hosts() if h.name == "vm.internal")
        assert lab.http("vm.internal", f"http://{_pod(lab, 'shop/web').ip}:80/clientip").client_ip == vm_ip
        assert lab.cluster.external.pod_routes()


def test_an_ipblock_egress_policy_to_the_internet(labs) -> None:
    lab, sim = labs
    for backend in (lab, sim):
        backend.apply(PROVIDER_ONLY)
    try:
        for destination, port in (("api.example.com", 443), ("api.example.com", 80), ("blocked.example.net", 443), ("vm.internal", 443)):
            expected = sim.probe("shop/api", destination, port).verdict
            reach = Reachability(["shop/api"], [destination], port=port)
            reach.expect("shop/api", destination, expected)
            assert lab.check(reach).ok, f"shop/api → {destination}:{port}: expected {expected.name}"
    finally:
        lab.delete("networkpolicy/shop/provider-only", missing_ok=True)


def test_coredns_is_restored_and_patched_again(labs) -> None:
    lab, _ = labs
    lab.cluster.remove_external_hosts()
    corefile = lab.cluster.kubectl.get_json("configmap", "coredns", "-n", "kube-system")["data"]["Corefile"]
    assert patched_entries(corefile) == {} and "hosts {" not in corefile
    lab.cluster.ensure_external_hosts()
    assert lab.probe("shop/web", "vm.internal", 443).verdict is Verdict.ALLOWED
