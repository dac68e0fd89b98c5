"""Flow traces per profile: encapsulation on the wire, SNAT points, what external hosts see, missing routes.

Sources: Cilium routing modes and ports (docs.cilium.io network/concepts/routing: VXLAN 8472/UDP);
Calico VXLAN port 4789 (FelixConfiguration ``vxlanPort`` default) and natOutgoing semantics
(docs.tigera.io reference/resources/ippool); kindnet's masquerade agent (kind ``images/kindnetd``,
kubernetes-sigs/kindnet ``pkg/masq``: everything not local and not bound for a pod CIDR);
Cilium masquerading except to cluster nodes (docs.cilium.io network/concepts/masquerading);
Docker masquerades only the bridge network's own subnet (the gateway model in ``grader.cni.datapath``).
"""

from __future__ import annotations

import ipaddress

import pytest

from grader.cni import PROFILES
from grader.cni.datapath import EDGE_PUBLIC_IP_TEXT
from grader.lab import SimulatedLab
from grader.model import Protocol
from grader.reachability import Verdict

ALL = sorted(PROFILES)


def _lab(name: str) -> SimulatedLab:
    lab = SimulatedLab(name)
    lab.deploy("shop")
    return lab


def _cross_node_pair(lab: SimulatedLab) -> tuple[str, str]:
    web, db = lab.state.pod("shop/web"), lab.state.pod("shop/db")
    assert web is not None and db is not None and web.node != db.node
    return "shop/web", "shop/db"


@pytest.mark.parametrize(("name", "port", "device"), [("calico-vxlan", 4789, "vxlan.calico"), ("cilium-tunnel", 8472, "cilium_vxlan")])
def test_overlay_profiles_wrap_cross_node_pod_traffic_in_vxlan_between_node_ips(name: str, port: int, device: str) -> None:
    lab = _lab(name)
    src, dst = _cross_node_pair(lab)
    result = lab.probe(src, dst, 5432)
    assert result.verdict is Verdict.ALLOWED
    encap = [h.detail for h in result.hops if h.step == "encapsulation"]
    assert len(encap) == 2 and device in encap[0]
    web, db = lab.state.pod(src), lab.state.pod(dst)
    assert web is not None and db is not None
    src_node, dst_node = lab.state.node(web.node or ""), lab.state.node(db.node or "")
    assert f"outer UDP {src_node.ip} → {dst_node.ip}:{port}" in encap[0]
    assert f"inner TCP {web.ip} → {db.ip}:5432" in encap[0]
    path = lab.network.trace(lab.traffic.source(src), lab.traffic.source(dst), 5432, Protocol.TCP)
    wire = {(c.node, c.direction): c.packet for c in path.crossings}
    assert wire[(src_node.name, "Outbound")].protocol is Protocol.UDP
    assert wire[(src_node.name, "Outbound")].dst_port == port
    assert (wire[(dst_node.name, "Inbound")].src, wire[(dst_node.name, "Inbound")].dst) == (src_node.ip, dst_node.ip)


@pytest.mark.parametrize("name", ["kindnet", "calico-bgp", "cilium-native"])
def test_routed_profiles_put_pod_addresses_on_the_node_network_without_encapsulation(name: str) -> None:
    lab = _lab(name)
    src, dst = _cross_node_pair(lab)
    result = lab.probe(src, dst, 5432)
    assert result.verdict is Verdict.ALLOWED
    assert not [h for h in result.hops if h.step == "encapsulation"]
    assert any("plain routed, no encapsulation" in h.detail for h in result.hops)
    path = lab.network.trace(lab.traffic.source(src), lab.traffic.source(dst), 5432, Protocol.TCP)
    web, db = lab.state.pod(src), lab.state.pod(dst)
    assert web is not None and db is not None
    assert {(c.packet.src, c.packet.dst, c.packet.dst_port) for c in path.crossings} == {(web.ip, db.ip, 5432)}


@pytest.mark.parametrize("name", ALL)
def test_pods_on_the_same_node_never_touch_the_node_network(name: str) -> None:
    lab = _lab(name)
    lab.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "neighbour", "namespace": "shop"},
               "spec": {"nodeName": lab.state.pod("shop/db").node,  # type: ignore[union-attr]
                        "containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}})
    path = lab.network.trace(lab.traffic.source("shop/neighbour"), lab.traffic.source("shop/db"), 5432, Protocol.TCP)
    assert path.routable and not path.crossings
    assert path.client_ip == lab.state.pod("shop/neighbour").ip  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ALL)
def test_pod_to_pod_keeps_the_pod_ip_on_every_profile(name: str) -> None:
    lab = _lab(name)
    src, dst = _cross_node_pair(lab)
    result = lab.probe(src, dst, 5432)
    assert result.client_ip == str(lab.state.pod(src).ip)  # type: ignore[union-attr]
    assert not [h for h in result.hops if h.step == "snat"]


# (profile, what vm.internal sees, what api.example.com sees) - the SNAT table of the network models.
SNAT_TABLE = [
    ("kindnet", "node", "edge"),
    ("calico-vxlan", "node", "edge"),
    ("calico-bgp", "pod", None),
    ("calico-flat", "pod", "edge"),
    ("cilium-tunnel", "node", "edge"),
    ("cilium-native", "node", "edge"),
]


@pytest.mark.parametrize(("name", "vm_sees", "internet_sees"), SNAT_TABLE)
def test_snat_seen_by_the_vm_on_the_node_network_and_by_the_internet_host(name: str, vm_sees: str, internet_sees: str | None) -> None:
    lab = _lab(name)
    pod = lab.state.pod("shop/web")
    assert pod is not None
    node_ip = str(lab.state.node(pod.node or "").ip)
    vm = lab.probe("shop/web", "vm.internal", 80)
    assert vm.verdict is Verdict.ALLOWED
    assert vm.client_ip == (node_ip if vm_sees == "node" else str(pod.ip))
    internet = lab.probe("shop/web", "api.example.com", 443)
    if internet_sees is None:
        # Flat without an outbound NAT for pod addresses: the gateway only masquerades the node network.
        assert internet.verdict is Verdict.BLOCKED
        assert "masquerades only the node network" in internet.reason
    else:
        assert internet.verdict is Verdict.ALLOWED
        assert internet.client_ip == EDGE_PUBLIC_IP_TEXT
        snats = [h.detail for h in internet.hops if h.step == "snat"]
        assert len(snats) == 2  # pod -> node on the node, node -> public at the gateway
        assert snats[0].startswith(f"{pod.ip} → {node_ip}") and snats[1].startswith(f"{node_ip} → {EDGE_PUBLIC_IP_TEXT}")


@pytest.mark.parametrize(("name", "snat"), [("kindnet", True), ("calico-vxlan", True), ("calico-bgp", False),
                                            ("calico-flat", False), ("cilium-tunnel", False), ("cilium-native", False)])
def test_pod_to_another_nodes_ip_masquerade_per_cni(name: str, snat: bool) -> None:
    """kindnet and Calico natOutgoing masquerade to other node IPs; Cilium exempts cluster nodes."""
    lab = _lab(name)
    pod = lab.state.pod("shop/web")
    assert pod is not None
    other = next(n for n in lab.state.nodes if n.name != pod.node)
    result = lab.probe("shop/web", f"node:{other.name}", 10250)
    assert result.verdict is Verdict.ALLOWED
    expected = lab.state.node(pod.node or "").ip if snat else pod.ip
    assert result.client_ip == str(expected)


@pytest.mark.parametrize("name", ALL)
def test_pod_to_its_own_node_is_local_and_not_snated(name: str) -> None:
    lab = _lab(name)
    pod = lab.state.pod("shop/web")
    assert pod is not None
    result = lab.probe("shop/web", f"node:{pod.node}", 10250)
    assert result.verdict is Verdict.ALLOWED and result.client_ip == str(pod.ip)


@pytest.mark.parametrize(("name", "reachable"), [("kindnet", False), ("calico-vxlan", False), ("calico-bgp", True),
                                                 ("calico-flat", True), ("cilium-tunnel", False), ("cilium-native", False)])
def test_vm_on_the_node_network_reaches_pod_ips_only_in_the_flat_and_routed_models(name: str, reachable: bool) -> None:
    lab = _lab(name)
    result = lab.probe("vm.internal", "shop/db", 5432)
    if reachable:
        assert result.verdict is Verdict.ALLOWED and result.client_ip == "172.18.0.100"
        assert lab.profile.model in ("flat", "routed")
    else:
        assert result.verdict is Verdict.BLOCKED and "no route" in result.reason


@pytest.mark.parametrize("name", ALL)
def test_the_learners_host_has_no_pod_routes_on_any_profile(name: str) -> None:
    lab = _lab(name)
    assert lab.probe("host", "shop/db", 5432).verdict is Verdict.BLOCKED


def test_flat_pod_traffic_to_a_host_without_pod_routes_gets_no_reply() -> None:
    lab = _lab("calico-bgp")
    result = lab.probe("shop/web", "host", 80)
    assert result.verdict is Verdict.BLOCKED and "no route back" in result.reason


@pytest.mark.parametrize("name", ALL)
def test_the_internet_cannot_reach_node_or_pod_addresses(name: str) -> None:
    lab = _lab(name)
    assert lab.probe("api.example.com", "node:kind-worker", 10250).verdict is Verdict.BLOCKED
    assert lab.probe("api.example.com", "shop/web", 80).verdict is Verdict.BLOCKED


@pytest.mark.parametrize("name", ALL)
def test_nodes_reach_the_internet_through_the_gateway_nat(name: str) -> None:
    lab = _lab(name)
    result = lab.probe("node:kind-worker", "api.example.com", 443)
    assert result.verdict is Verdict.ALLOWED and result.client_ip == EDGE_PUBLIC_IP_TEXT


def test_calico_vxlan_node_to_remote_pod_uses_the_tunnel_address_as_source() -> None:
    lab = _lab("calico-vxlan")
    db = lab.state.pod("shop/db")
    assert db is not None
    other = next(n for n in lab.state.nodes if n.name != db.node and n.role == "worker")
    result = lab.probe(f"node:{other.name}", "shop/db", 5432)
    tunnel = lab.state.ipam.tunnel_address(other.name)
    assert tunnel is not None and tunnel in lab.profile.pod_subnet
    assert result.client_ip == str(tunnel)
    routed = _lab("calico-bgp")
    assert routed.probe(f"node:{other.name}", "shop/db", 5432).client_ip == str(other.ip)


def test_listeners_on_nodes_kubelet_everywhere_apiserver_on_the_control_plane() -> None:
    lab = _lab("kindnet")
    assert lab.probe("vm.internal", "node:kind-control-plane", 6443).verdict is Verdict.ALLOWED
    assert lab.probe("vm.internal", "node:kind-worker", 6443).verdict is Verdict.REFUSED
    assert lab.probe("vm.internal", "node:kind-worker", 10250).verdict is Verdict.ALLOWED


def test_edge_address_is_a_documentation_address() -> None:
    assert ipaddress.ip_address(EDGE_PUBLIC_IP_TEXT) in ipaddress.ip_network("192.0.2.0/24")  # RFC 5737 TEST-NET-1


DENY_EGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-no-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{protocol: UDP, port: 53}]
"""


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("destination", ["api.example.com", "shop/db"])
def test_a_trace_dropped_by_egress_policy_stops_on_the_source_node(name: str, destination: str) -> None:
    lab = _lab(name)
    lab.apply(DENY_EGRESS)
    result = lab.probe("shop/web", destination, 443 if "." in destination else 5432)
    assert result.verdict is Verdict.BLOCKED
    steps = [(h.step, h.detail) for h in result.hops if h.step != "dns"]
    assert steps[0][0] == "route" and "over the pod's veth" in steps[0][1]
    assert steps[-1][0] == "policy" and "dropped" in steps[-1][1] and "before it leaves" in steps[-1][1]
    assert len(steps) == 2, f"nothing happens to a packet after it is dropped: {steps}"


@pytest.mark.parametrize("name", [n for n in ALL if n != "calico-bgp"])   # calico-bgp: no NAT, no way back from the internet
def test_an_allowed_trace_judges_egress_on_the_source_node_before_the_route_on(name: str) -> None:
    lab = _lab(name)
    lab.apply(DENY_EGRESS.replace("ports: [{protocol: UDP, port: 53}]", "ports: [{protocol: UDP, port: 53}]\n  - ports: [{protocol: TCP, port: 443}]"))
    result = lab.probe("shop/web", "api.example.com", 443)
    assert result.verdict is Verdict.ALLOWED
    steps = [h.step for h in result.hops if h.step != "dns"]
    egress = next(i for i, h in enumerate(result.hops) if h.step == "policy" and "egress from" in h.detail)
    assert steps.index("route") < steps.index("policy")
    assert any(h.step == "snat" for h in result.hops[egress:]), "the SNAT happens after the packet was allowed out"
    assert not any(h.step == "snat" for h in result.hops[:egress])


def test_a_service_probe_dropped_by_egress_policy_is_translated_on_the_source_node_and_goes_nowhere() -> None:
    lab = _lab("kindnet")
    lab.apply(DENY_EGRESS.replace("  egress:\n  - to:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"
                                  "      podSelector: {matchLabels: {k8s-app: kube-dns}}\n    ports: [{protocol: UDP, port: 53}]\n", ""))
    result = lab.probe("shop/web", "10.96.0.10", 53, "UDP")   # kube-dns's clusterIP
    assert result.verdict is Verdict.BLOCKED
    assert [h.step for h in result.hops] == ["route", "service", "policy"], result.hops


def test_flat_as_on_aks_pods_have_node_network_addresses_vms_reach_them_and_see_them() -> None:
    """AKS flat (Azure CNI Pod/Node Subnet): pod addresses come from the nodes' network; a VM there
    connects to a pod's address and sees the pod's address when the pod connects to it."""
    from grader.cni import NODE_NETWORK

    lab = _lab("calico-flat")
    web = lab.state.pod("shop/web")
    assert web is not None and web.ip in NODE_NETWORK and lab.profile.model == "flat"
    inbound = lab.probe("vm.internal", "shop/web", 80)
    assert inbound.verdict is Verdict.ALLOWED and inbound.client_ip == "172.18.0.100"
    assert not any(h.step in ("snat", "encapsulation") for h in inbound.hops)
    outbound = lab.probe("shop/web", "vm.internal", 80)
    assert outbound.verdict is Verdict.ALLOWED and outbound.client_ip == str(web.ip)
    assert not any(h.step == "snat" for h in outbound.hops)
    internet = lab.probe("shop/web", "api.example.com", 443)
    assert internet.verdict is Verdict.ALLOWED and internet.client_ip == EDGE_PUBLIC_IP_TEXT


@pytest.mark.parametrize("name", ["kindnet", "calico-vxlan", "cilium-tunnel", "cilium-native"])
def test_overlay_profiles_hide_pods_behind_the_node_address(name: str) -> None:
    lab = _lab(name)
    web = lab.state.pod("shop/web")
    assert web is not None and lab.profile.model == "overlay"
    result = lab.probe("shop/web", "vm.internal", 80)
    assert result.client_ip == str(lab.state.node(web.node or "").ip)
    assert lab.probe("vm.internal", "shop/web", 80).verdict is Verdict.BLOCKED


def test_calico_bgp_is_routed_not_flat() -> None:
    from grader.cni import NODE_NETWORK

    lab = _lab("calico-bgp")
    web = lab.state.pod("shop/web")
    assert web is not None and web.ip not in NODE_NETWORK and lab.profile.model == "routed"
