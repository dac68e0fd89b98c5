"""Per-profile addressing: pod subnets, per-node blocks, node addresses, settings, policy kinds.

Sources: kind ``networking.podSubnet`` default 10.244.0.0/16 and ``serviceSubnet`` 10.96.0.0/16
(kind ``pkg/apis/config/v1alpha4/default.go``); Calico's kind guide uses podSubnet 192.168.0.0/16
and the operator's default pool has ``blockSize: 26`` (calico v3.32.1 ``manifests/custom-resources.yaml``);
kindnet and Cilium (``ipam.mode=kubernetes``) use each node's /24 podCIDR from kube-controller-manager.
"""

from __future__ import annotations

import ipaddress

import pytest

from grader.cni import PROFILES, get_profile
from grader.cni.profiles import CILIUM_POLICY, NETWORKING_V1, NODE_NETWORK, Encapsulation, Routing
from grader.facts import fact
from grader.lab import SimulatedLab

ALL = sorted(PROFILES)


@pytest.fixture(params=ALL)
def lab(request: pytest.FixtureRequest) -> SimulatedLab:
    lab = SimulatedLab(request.param)
    lab.deploy("shop")
    return lab


def test_nodes_sit_on_kinds_docker_network_control_plane_first(lab: SimulatedLab) -> None:
    nodes = lab.state.nodes
    assert [n.name for n in nodes] == ["kind-control-plane", "kind-worker", "kind-worker2"]
    assert [str(n.ip) for n in nodes] == ["172.18.0.2", "172.18.0.3", "172.18.0.4"]
    assert all(n.ip in NODE_NETWORK for n in nodes)


def test_every_pod_address_comes_from_the_profiles_pod_subnet(lab: SimulatedLab) -> None:
    pods = lab.state.pods()
    assert pods
    for pod in pods:
        assert pod.ip is not None and pod.ip in lab.profile.pod_subnet
        assert (pod.ip in NODE_NETWORK) == lab.profile.pods_on_node_network  # only the flat model takes node-network addresses
    assert len({p.ip for p in pods}) == len(pods)


@pytest.mark.parametrize("name", ["kindnet", "cilium-tunnel", "cilium-native"])
def test_kindnet_and_cilium_allocate_from_the_nodes_own_slash24_podcidr_starting_at_dot2(name: str) -> None:
    lab = SimulatedLab(name)
    lab.deploy("shop")
    for pod in lab.state.pods():
        node = lab.state.node(pod.node or "")
        assert node.pod_cidr is not None and node.pod_cidr.prefixlen == 24
        assert pod.ip in node.pod_cidr
        assert int(pod.ip) - int(node.pod_cidr.network_address) >= 2  # .1 is the node side of the pod routes
    assert [str(n.pod_cidr) for n in lab.state.nodes] == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]


@pytest.mark.parametrize("name", ["calico-vxlan", "calico-bgp"])
def test_calico_hands_out_slash26_blocks_per_node(name: str) -> None:
    lab = SimulatedLab(name)
    lab.deploy("shop")
    blocks = lab.state.ipam.blocks
    for pod in lab.state.pods():
        owned = blocks[pod.node or ""]
        assert all(b.prefixlen == 26 for b in owned)
        assert any(pod.ip in b for b in owned)
    all_blocks = [b for owned in blocks.values() for b in owned]
    assert len(all_blocks) == len(set(all_blocks))  # a block belongs to one node


def test_calico_vxlan_gives_each_node_a_tunnel_address_but_calico_bgp_does_not() -> None:
    vx = SimulatedLab("calico-vxlan")
    vx.deploy("shop")
    bgp = SimulatedLab("calico-bgp")
    bgp.deploy("shop")
    tunnel = vx.state.ipam.tunnel_address("kind-worker")
    assert tunnel == vx.state.ipam.blocks["kind-worker"][0].network_address
    assert all(p.ip != tunnel for p in vx.state.pods())
    assert bgp.state.ipam.tunnel_address("kind-worker") is None
    first = bgp.state.ipam.blocks["kind-worker"][0].network_address
    assert any(p.ip == first for p in bgp.state.pods())  # no tunnel device: the first address goes to a pod


def test_datapath_settings_per_profile() -> None:
    rows = {name: (p.encapsulation, p.tunnel_port, p.routing, p.masquerade, p.kube_proxy_replacement, p.model)
            for name, p in PROFILES.items()}
    assert rows == {
        "kindnet": (Encapsulation.NONE, None, Routing.NODE_ROUTES, True, False, "overlay"),
        "calico-vxlan": (Encapsulation.VXLAN, 4789, Routing.TUNNEL, True, False, "overlay"),
        "calico-flat": (Encapsulation.NONE, None, Routing.BGP, True, False, "flat"),
        "calico-bgp": (Encapsulation.NONE, None, Routing.BGP, False, False, "routed"),
        "cilium-tunnel": (Encapsulation.VXLAN, 8472, Routing.TUNNEL, True, False, "overlay"),
        "cilium-native": (Encapsulation.NONE, None, Routing.NATIVE, True, True, "overlay"),
    }


def test_cni_versions_come_from_dated_facts() -> None:
    assert get_profile("cilium-native").cni_version == str(fact("cilium-version").value).lstrip("v")
    assert get_profile("calico-bgp").cni_version == str(fact("calico-version").value).lstrip("v")
    assert get_profile("calico-bgp").with_cni_version("3.31.0").cni_version == "3.31.0"


def test_policy_kinds_networkpolicy_everywhere_cilium_and_calico_kinds_only_on_their_cni() -> None:
    for name, p in PROFILES.items():
        assert p.enforces(*NETWORKING_V1), name
        assert p.enforces(*CILIUM_POLICY) == (p.cni == "cilium"), name
        assert p.enforces("projectcalico.org/v3", "GlobalNetworkPolicy") == (p.cni == "calico"), name


def test_only_cilium_ignores_cluster_addresses_in_ipblock() -> None:
    assert {n for n, p in PROFILES.items() if not p.ipblock_matches_cluster} == {"cilium-tunnel", "cilium-native"}


def test_describe_names_encapsulation_and_snat() -> None:
    text = get_profile("cilium-tunnel").describe()
    assert "VXLAN on UDP 8472" in text and "SNATed to the node IP" in text
    assert "pod IPs are kept" in get_profile("calico-bgp").describe()
    assert ipaddress.ip_network("192.168.0.0/16") == get_profile("calico-vxlan").pod_subnet
