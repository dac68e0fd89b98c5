"""The external hosts on kind: addresses, commands, scripts, Calico routes (pure), and their
lifecycle against the fake docker/kubectl (create, reuse, repair, attach/detach, remove)."""

from __future__ import annotations

import ipaddress
import json

import pytest
from support.corefiles import KUBEADM_COREFILE

from grader.errors import LabError
from grader.facts import fact
from grader.kind.cluster import KindCluster, SetupError
from grader.kind.coredns import patched_entries
from grader.kind.external import ExternalHosts
from grader.kind.external_layout import (
    BGP_PROTO,
    Layout,
    Route,
    calico_routes,
    helper_argv,
    internet_hosts,
    internet_script,
    note,
    parse_network,
    parse_routes,
    pod_routes_script,
    run_argv,
    vm_address,
    vm_script,
)
from grader.kind.workloads import agnhost_image
from grader.lab.results import default_external_hosts

# Multi-step scenarios through fake executables: in make test, not in make test-fast.
pytestmark = pytest.mark.slow

# `docker network inspect kind` on a machine with two kind clusters' worth of containers (kind
# creates the network with an IPv6 ULA subnet only; Docker picked the IPv4 one).
KIND_NETWORK = [{
    "Name": "kind", "Id": "6f0c", "Scope": "local", "Driver": "bridge", "EnableIPv6": True,
    "IPAM": {"Driver": "default", "Options": {}, "Config": [
        {"Subnet": "fc00:f853:ccd:e793::/64", "Gateway": "fc00:f853:ccd:e793::1"},
        {"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]},
    "Options": {"com.docker.network.bridge.enable_ip_masquerade": "true", "com.docker.network.driver.mtu": "1500"},
    "Containers": {
        "a1": {"Name": "netlab-kindnet-control-plane", "EndpointID": "e1", "MacAddress": "02:42:ac:12:00:02",
               "IPv4Address": "172.18.0.2/16", "IPv6Address": "fc00:f853:ccd:e793::2/64"},
        "a2": {"Name": "netlab-kindnet-worker", "EndpointID": "e2", "MacAddress": "02:42:ac:12:00:03",
               "IPv4Address": "172.18.0.3/16", "IPv6Address": "fc00:f853:ccd:e793::3/64"},
        "a3": {"Name": "netlab-api-example-com", "EndpointID": "e3", "MacAddress": "02:42:ac:12:00:05",
               "IPv4Address": "172.18.0.5/16", "IPv6Address": "fc00:f853:ccd:e793::5/64"},
        "a4": {"Name": "netlab-blocked-example-net", "EndpointID": "e4", "MacAddress": "02:42:ac:12:00:06",
               "IPv4Address": "172.18.0.6/16", "IPv6Address": "fc00:f853:ccd:e793::6/64"},
        "a5": {"Name": "netlab-vm-internal", "EndpointID": "e5", "MacAddress": "02:42:ac:12:00:07",
               "IPv4Address": "172.18.0.7/16", "IPv6Address": "fc00:f853:ccd:e793::7/64"},
    },
}]

EXTERNAL_CONTAINERS = ("netlab-api-example-com", "netlab-blocked-example-net", "netlab-vm-internal")


# -- pure parts ------------------------------------------------------------------------------------

def test_the_kind_network_is_read_from_docker_network_inspect() -> None:
    net = parse_network(KIND_NETWORK)
    assert (net.subnet, net.gateway) == (ipaddress.ip_network("172.18.0.0/16"), ipaddress.ip_address("172.18.0.1"))
    assert net.address_of("netlab-api-example-com") == ipaddress.ip_address("172.18.0.5")
    assert net.address_of("nothing") is None
    no_v4 = [{**KIND_NETWORK[0], "IPAM": {"Config": [{"Subnet": "fc00:f853:ccd:e793::/64"}]}}]
    with pytest.raises(LabError, match="no IPv4 subnet"):
        parse_network(no_v4)


def test_vm_internal_is_dot_100_of_whatever_subnet_docker_chose() -> None:
    assert vm_address(parse_network(KIND_NETWORK)) == ipaddress.ip_address("172.18.0.100")
    other = [{**KIND_NETWORK[0], "IPAM": {"Config": [{"Subnet": "172.19.0.0/16", "Gateway": "172.19.0.1"}]}, "Containers": {}}]
    assert vm_address(parse_network(other)) == ipaddress.ip_address("172.19.0.100")
    pool = [{**KIND_NETWORK[0], "IPAM": {"Config": [{"Subnet": "192.168.49.0/24"}]}, "Containers": {}}]
    assert str(parse_network(pool).gateway) == "192.168.49.1" and str(vm_address(parse_network(pool))) == "192.168.49.100"
    # another container holds .100 (Docker does not know the VM's own .100): the VM moves up, its own address does not count
    taken = json.loads(json.dumps(KIND_NETWORK))
    taken[0]["Containers"]["a6"] = {"Name": "kindccm-lb", "IPv4Address": "172.18.0.100/16"}
    taken[0]["Containers"]["a5"]["IPv4Address"] = "172.18.0.101/16"
    assert str(vm_address(parse_network(taken))) == "172.18.0.101"
    tiny = [{**KIND_NETWORK[0], "IPAM": {"Config": [{"Subnet": "172.30.0.0/25"}]}, "Containers": {}}]
    with pytest.raises(LabError, match="too small"):
        vm_address(parse_network(tiny))


def test_the_internet_hosts_are_the_simulated_clusters() -> None:
    sim = {h.name: str(h.ip) for h in default_external_hosts().values() if h.where == "internet"}
    hosts = {h.name: h for h in internet_hosts()}
    assert {n: str(h.address) for n, h in hosts.items()} == sim == {"api.example.com": "203.0.113.10", "blocked.example.net": "198.51.100.20"}
    api = hosts["api.example.com"]
    assert (str(api.subnet), str(api.gateway), api.network, api.container) == (
        "203.0.113.0/24", "203.0.113.1", "netlab-net-api-example-com", "netlab-api-example-com")


def test_the_layout_reports_real_addresses_in_the_simulated_order() -> None:
    net = parse_network(KIND_NETWORK)
    layout = Layout(net, vm_address(net), (("api.example.com", net.address_of("netlab-api-example-com")),
                                           ("blocked.example.net", net.address_of("netlab-blocked-example-net"))))
    hosts = layout.hosts()
    assert [h.name for h in hosts] == list(default_external_hosts())  # host, vm.internal, api..., blocked...
    assert {h.name: str(h.ip) for h in hosts} == {"host": "172.18.0.1", "vm.internal": "172.18.0.100",
                                                 "api.example.com": "203.0.113.10", "blocked.example.net": "198.51.100.20"}
    assert [h.where for h in hosts] == [h.where for h in default_external_hosts().values()]
    assert layout.dns_entries() == {"vm.internal": "172.18.0.100", "api.example.com": "203.0.113.10", "blocked.example.net": "198.51.100.20"}
    assert [r.render() for r in layout.internet_routes()] == ["198.51.100.0/24 via 172.18.0.6", "203.0.113.0/24 via 172.18.0.5"]


def test_containers_run_netexec_on_80_and_443_without_extra_privileges() -> None:
    vm = run_argv("vm.internal", "kind", agnhost_image())
    assert vm[:2] == ["docker", "run"] and "--ip" not in vm  # Docker refuses --ip on kind's network (no user-configured IPv4 subnet)
    assert vm[vm.index("--network") + 1] == "kind" and vm[vm.index("--hostname") + 1] == "vm.internal"
    assert "--cap-add" not in vm and "--privileged" not in vm
    assert vm[vm.index("--tmpfs") + 1] == "/run/netlab" and "--init" in vm
    assert vm[vm.index("--entrypoint") + 1] == "/bin/bash" and vm[vm.index("--entrypoint") + 2] == fact("agnhost-image").value
    serve = vm[-1]
    assert "--http-port=80 --udp-port=-1 &" in serve
    assert "--http-port=443 --udp-port=-1 --tls-cert-file=/localhost.crt --tls-private-key-file=/localhost.key" in serve
    assert serve.endswith("wait -n; exit 1")  # one server gone: the container stops, ensure() restarts it
    api = run_argv("api.example.com", "netlab-net-api-example-com", agnhost_image(), ip=ipaddress.ip_address("203.0.113.10"))
    assert api[api.index("--ip") + 1] == "203.0.113.10" and "netlab/external-host=api.example.com" in api
    helper = helper_argv("netlab-vm-internal", "true", image=fact("kind-node-image").value)
    assert helper[:6] == ["docker", "run", "--rm", "--network", "container:netlab-vm-internal", "--cap-add"]
    assert helper[6] == "NET_ADMIN" and helper[helper.index("--entrypoint") + 2] == fact("kind-node-image").value


def test_scripts_configure_addresses_routes_and_the_edge_snat() -> None:
    net = parse_network(KIND_NETWORK)
    routes = [Route(ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_address("172.18.0.5"))]
    vm = vm_script(net, ipaddress.ip_address("172.18.0.100"), routes).splitlines()
    assert 'ip -4 -o addr show dev "$dev" | grep -q " 172.18.0.100/16 " || ip addr add 172.18.0.100/16 dev "$dev"' in vm
    assert any('[ "$a" = "172.18.0.100/16" ] || ip addr del "$a"' in line for line in vm)
    assert vm.index(next(line for line in vm if "ip addr del" in line)) < vm.index(next(line for line in vm if "ip addr add" in line))
    assert "while ip -4 route del default 2>/dev/null; do :; done; while ip -6 route del default 2>/dev/null; do :; done" in vm
    assert vm[-1] == "ip route replace 203.0.113.0/24 via 172.18.0.5"
    api = next(h for h in internet_hosts() if h.name == "api.example.com")
    edge = internet_script(api, net).splitlines()
    assert "ip route replace 192.0.2.1/32 via 172.18.0.1" in edge
    snat = [line for line in edge if "SNAT" in line]
    assert [line.split(" || ")[1] for line in snat] == [
        "iptables -t nat -A INPUT -s 172.18.0.0/16 -d 203.0.113.10/32 -m comment --comment netlab-edge -j SNAT --to-source 192.0.2.1",
        "iptables -t nat -A INPUT -s 203.0.113.1/32 -d 203.0.113.10/32 -m comment --comment netlab-edge -j SNAT --to-source 192.0.2.1",
    ]
    assert all(line.startswith("iptables -t nat -C INPUT") for line in snat)  # idempotent: check before adding
    assert note(vm_script(net, ipaddress.ip_address("172.18.0.100"), routes)) != note(vm_script(net, ipaddress.ip_address("172.18.0.101"), routes))


# Calico 3.32 BlockAffinity objects as `kubectl get blockaffinities.crd.projectcalico.org -o json` lists them.
AFFINITIES = {"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "BlockAffinity", "metadata": {"name": "netlab-calico-bgp-worker-192-168-45-0-26"},
     "spec": {"cidr": "192.168.45.0/26", "deleted": "false", "node": "netlab-calico-bgp-worker", "state": "confirmed", "type": "host"}},
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "BlockAffinity", "metadata": {"name": "netlab-calico-bgp-worker-192-168-45-64-26"},
     "spec": {"cidr": "192.168.45.64/26", "deleted": "false", "node": "netlab-calico-bgp-worker", "state": "confirmed"}},
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "BlockAffinity", "metadata": {"name": "netlab-calico-bgp-worker2-192-168-210-0-26"},
     "spec": {"cidr": "192.168.210.0/26", "deleted": "false", "node": "netlab-calico-bgp-worker2", "state": "pending"}},
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "BlockAffinity", "metadata": {"name": "netlab-calico-bgp-control-plane-192-168-7-0-26"},
     "spec": {"cidr": "192.168.7.0/26", "deleted": "true", "node": "netlab-calico-bgp-control-plane", "state": "pendingDeletion"}},
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "BlockAffinity", "metadata": {"name": "gone-node-192-168-9-0-26"},
     "spec": {"cidr": "192.168.9.0/26", "deleted": "false", "node": "gone-node", "state": "confirmed"}},
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "BlockAffinity", "metadata": {"name": "virtual-192-168-11-0-26"},
     "spec": {"cidr": "192.168.11.0/26", "deleted": "false", "node": "netlab-calico-bgp-worker2", "state": "confirmed", "type": "virtual"}},
]}
NODE_IPS = {"netlab-calico-bgp-control-plane": "172.18.0.8", "netlab-calico-bgp-worker": "172.18.0.9", "netlab-calico-bgp-worker2": "172.18.0.10"}


def test_calico_routes_are_the_confirmed_blocks_of_known_nodes() -> None:
    routes = calico_routes(AFFINITIES, NODE_IPS)
    assert [r.render() for r in routes] == ["192.168.45.0/26 via 172.18.0.9", "192.168.45.64/26 via 172.18.0.9"]
    assert calico_routes(None, NODE_IPS) == () and calico_routes({"items": []}, NODE_IPS) == ()
    script = pod_routes_script(routes).splitlines()
    assert script == [f"ip -4 route flush proto {BGP_PROTO}",
                      f"ip route replace 192.168.45.0/26 via 172.18.0.9 proto {BGP_PROTO}",
                      f"ip route replace 192.168.45.64/26 via 172.18.0.9 proto {BGP_PROTO}"]
    shown = "192.168.45.0/26 via 172.18.0.9 dev eth0 \n192.168.45.64/26 via 172.18.0.9 dev eth0 \n"
    assert parse_routes(shown) == routes


# -- lifecycle against the fake tools -------------------------------------------------------------

def _calls(fakes, *words: str) -> list[list[str]]:
    return [c for c in fakes.calls("docker") if all(w in c for w in words)]


def test_first_ensure_creates_networks_containers_and_configures_them(fakes) -> None:
    cluster = KindCluster("kindnet")
    cluster.ensure()
    state = fakes.state
    nets = state["networks"]
    assert nets["netlab-net-api-example-com"]["subnet"] == "203.0.113.0/24" and nets["netlab-net-api-example-com"]["gateway"] == "203.0.113.1"
    assert nets["netlab-net-blocked-example-net"]["subnet"] == "198.51.100.0/24"
    assert nets["netlab-net-api-example-com"]["endpoints"] == {"netlab-api-example-com": "203.0.113.10"}
    kind = nets["kind"]["endpoints"]
    assert set(EXTERNAL_CONTAINERS) <= set(kind)  # the internet hosts joined the node network too
    assert all(state["containers"][c] == "running" for c in EXTERNAL_CONTAINERS)
    assert all(state["container_info"][c]["caps"] is None for c in EXTERNAL_CONTAINERS)  # servers without NET_ADMIN
    helpers = state["helper_runs"]
    assert sorted(h["container"] for h in helpers) == sorted(EXTERNAL_CONTAINERS)
    assert {h["image"] for h in helpers} == {fact("kind-node-image").value} and {h["caps"] for h in helpers} == {"NET_ADMIN"}
    vm_setup = state["scripts"]["netlab-vm-internal"][0]
    assert "ip addr add 172.18.0.100/16" in vm_setup and kind["netlab-vm-internal"] != "172.18.0.100"
    assert f"ip route replace 203.0.113.0/24 via {kind['netlab-api-example-com']}" in vm_setup
    # every node routes the documentation subnets to the internet hosts' containers
    for node in state["clusters"]["netlab-kindnet"]["nodes"]:
        assert state["routes"][node] == {"203.0.113.0/24": f"via {kind['netlab-api-example-com']}",
                                         "198.51.100.0/24": f"via {kind['netlab-blocked-example-net']}"}
    corefile = state["clusters"]["netlab-kindnet"]["corefile"]
    assert patched_entries(corefile) == {"vm.internal": "172.18.0.100", "api.example.com": "203.0.113.10", "blocked.example.net": "198.51.100.20"}
    assert state["clusters"]["netlab-kindnet"]["coredns_restarts"] == 1
    assert {h.name: str(h.ip) for h in cluster.external.hosts()}["vm.internal"] == "172.18.0.100"
    assert not any("--ip" in c and "kind" in c for c in _calls(fakes, "run"))


def test_a_second_ensure_changes_nothing(fakes) -> None:
    KindCluster("kindnet").ensure()
    fakes.clear_log()
    before = fakes.state
    KindCluster("kindnet").ensure()
    after = fakes.state
    assert not _calls(fakes, "run") and not _calls(fakes, "network", "create") and not _calls(fakes, "start")
    assert after["helper_runs"] == before["helper_runs"]
    assert after["clusters"]["netlab-kindnet"].get("coredns_restarts") == 1  # CoreDNS not restarted again
    assert len(fakes.calls("docker")) <= 12  # a handful of reads and idempotent route replaces


def test_a_restarted_container_is_reconfigured_and_the_routes_follow_a_moved_host(fakes) -> None:
    cluster = KindCluster("kindnet")
    cluster.ensure()
    state = fakes.state
    # api.example.com's container was recreated by hand and Docker gave it another address on kind
    state["networks"]["kind"]["endpoints"]["netlab-api-example-com"] = "172.18.0.50"
    state["containers"]["netlab-blocked-example-net"] = "exited"
    fakes.set(**state)
    fakes.clear_log()
    cluster.ensure_external_hosts()
    assert _calls(fakes, "start", "netlab-blocked-example-net")
    helpers = [h["container"] for h in fakes.state["helper_runs"][3:]]
    assert sorted(helpers) == ["netlab-blocked-example-net", "netlab-vm-internal"]  # blocked lost its netns, the VM's route moved
    assert "ip route replace 203.0.113.0/24 via 172.18.0.50" in fakes.state["scripts"]["netlab-vm-internal"][-1]
    for node in fakes.state["clusters"]["netlab-kindnet"]["nodes"]:
        assert fakes.state["routes"][node]["203.0.113.0/24"] == "via 172.18.0.50"


def test_a_new_pinned_image_replaces_the_containers(fakes) -> None:
    cluster = KindCluster("kindnet")
    cluster.ensure()
    newer = ExternalHosts(image="registry.k8s.io/e2e-test-images/agnhost:9.99")
    fakes.set(registry=["registry.k8s.io/e2e-test-images/agnhost:9.99"])  # as if facts.yaml pinned this newer tag
    fakes.clear_log()
    newer.ensure()
    assert sorted(c[3] for c in _calls(fakes, "rm", "--force")) == sorted(EXTERNAL_CONTAINERS)
    assert {fakes.state["container_info"][c]["image"] for c in EXTERNAL_CONTAINERS} == {"registry.k8s.io/e2e-test-images/agnhost:9.99"}
    assert sorted(h["container"] for h in fakes.state["helper_runs"][3:]) == sorted(EXTERNAL_CONTAINERS)  # configured afresh


def test_vm_moves_off_an_address_another_container_took(fakes) -> None:
    cluster = KindCluster("kindnet")
    cluster.ensure()
    state = fakes.state
    state["networks"]["kind"]["endpoints"]["kindccm-abc"] = "172.18.0.100"  # a load balancer container got .100
    fakes.set(**state)
    cluster.ensure_external_hosts()
    assert "ip addr add 172.18.0.101/16" in fakes.state["scripts"]["netlab-vm-internal"][-1]
    assert patched_entries(fakes.state["clusters"]["netlab-kindnet"]["corefile"])["vm.internal"] == "172.18.0.101"


def test_calico_bgp_gives_the_vm_routes_to_the_blocks_and_takes_them_on_delete(fakes, no_sleep) -> None:
    cluster = KindCluster("calico-bgp")
    cluster.ensure()
    state = fakes.state
    nodes = state["clusters"]["netlab-calico-bgp"]["nodes"]
    ips = dict(zip(nodes, state["clusters"]["netlab-calico-bgp"]["ips"], strict=True))
    items = [{"spec": {"cidr": f"192.168.{i * 64}.0/26", "node": n, "state": "confirmed", "deleted": "false"}} for i, n in enumerate(nodes)]
    state["clusters"]["netlab-calico-bgp"]["blockaffinities"] = items
    fakes.set(**state)
    assert cluster.sync_pod_routes() is True
    vm_routes = fakes.state["routes"]["netlab-vm-internal"]
    assert {d: v for d, v in vm_routes.items() if v.endswith(f"proto {BGP_PROTO}")} == {
        f"192.168.{i * 64}.0/26": f"via {ips[n]} proto {BGP_PROTO}" for i, n in enumerate(nodes)}
    assert cluster.sync_pod_routes() is False  # nothing changed: no helper run
    kindnet = KindCluster("kindnet")
    kindnet.ensure()
    cluster.delete()  # kindnet stays: the hosts stay, the VM forgets the calico-bgp blocks
    assert not any(v.endswith(f"proto {BGP_PROTO}") for v in fakes.state["routes"]["netlab-vm-internal"].values())
    assert "203.0.113.0/24" in fakes.state["routes"]["netlab-vm-internal"]
    assert fakes.state["containers"]["netlab-vm-internal"] == "running"


def test_detach_restores_coredns_and_node_routes(fakes) -> None:
    cluster = KindCluster("kindnet")
    cluster.ensure()
    cluster.remove_external_hosts()
    state = fakes.state["clusters"]["netlab-kindnet"]
    assert state["corefile"] == KUBEADM_COREFILE  # byte for byte what kubeadm wrote
    assert all(fakes.state["routes"][n] == {} for n in state["nodes"])
    cluster.ensure_external_hosts()  # and back
    assert patched_entries(fakes.state["clusters"]["netlab-kindnet"]["corefile"])


def test_the_last_cluster_takes_the_hosts_with_it(fakes) -> None:
    KindCluster("kindnet").ensure()
    KindCluster("kindnet").delete()
    state = fakes.state
    assert not any(c in state["containers"] for c in EXTERNAL_CONTAINERS)
    assert set(state["networks"]) == {"kind"}  # kind's own network is kind's to remove
    assert ExternalHosts().remove() == []  # idempotent


def test_an_overlapping_docker_network_is_a_setup_error_with_dockers_words(fakes) -> None:
    fakes.set(networks={"kind": {"subnet": "172.18.0.0/16", "gateway": "172.18.0.1", "user_subnet": False, "labels": {}, "endpoints": {}},
                        "someones-lab": {"subnet": "203.0.113.0/24", "gateway": "203.0.113.1", "user_subnet": True, "labels": {}, "endpoints": {}}})
    with pytest.raises(SetupError) as info:
        KindCluster("kindnet").ensure()
    assert "start the lab's external hosts" in str(info.value) and "Pool overlaps" in str(info.value)
