"""grader.services: allocation (API server allocators), endpoints (EndpointSlice controller),
kube-proxy's eligibility rules and the seeded balancer. Each test names its source."""

from __future__ import annotations

import ipaddress
from collections import Counter

import pytest

from grader.model import ContainerPort, Labels, Pod, Protocol
from grader.model.services import EndpointSlice, EndpointSliceEndpoint, EndpointSlicePort, Service, ServicePort, ServiceType, SessionAffinity, TrafficPolicy
from grader.services import (
    Allocator,
    Backend,
    Balancer,
    healthy_lb_nodes,
    port_endpoints,
    ready_pod_addresses,
    source_allowed,
    via_cluster_ip,
    via_node,
)
from grader.services.allocation import ip_band_size, node_port_band_size

CIDR = ipaddress.ip_network("10.96.0.0/16")


def service(name: str = "web", **kw: object) -> Service:
    base = {"ports": (ServicePort(80, 8080),), "selector": Labels({"app": "web"})}
    base.update(kw)
    return Service("shop", name, **base)  # type: ignore[arg-type]


def pod(name: str, ip: str, node: str = "kind-worker", ready: bool = True, labels: dict | None = None, ports: tuple = ()) -> Pod:
    return Pod("shop", name, Labels(labels or {"app": "web"}), ipaddress.ip_address(ip), node, ports, ready)


# -- allocation (KEP-3070 / KEP-3668; pkg/registry/core/service/ipallocator, portallocator) ------

def test_band_sizes_follow_the_keps():
    assert ip_band_size(CIDR) == 256  # min(max(16, 65534/16), 256)
    assert node_port_band_size() == 86  # min(max(16, 2768/32), 128)


def test_dynamic_allocation_avoids_the_static_band_and_is_stable():
    a = Allocator(CIDR)
    s, probs = a.allocate(service(), [], None, "service/web")
    assert not probs
    assert s.cluster_ip is not None and int(s.cluster_ip) - int(CIDR.network_address) > 256
    again, _ = a.allocate(service(), [], None, "service/web")
    assert again.cluster_ip == s.cluster_ip


def test_requested_cluster_ip_out_of_range_is_rejected_with_api_server_words():
    _, probs = Allocator(CIDR).allocate(service(requested_cluster_ip=ipaddress.ip_address("10.97.0.5")), [], None, "service/web")
    assert "the provided IP (10.97.0.5) is not in the valid range. The range of valid IPs is 10.96.0.0/16" in str(probs[0])


def test_requested_cluster_ip_taken_is_rejected():
    other = service("dns", cluster_ip=ipaddress.ip_address("10.96.0.10"))
    _, probs = Allocator(CIDR).allocate(service(requested_cluster_ip=ipaddress.ip_address("10.96.0.10")), [other], None, "service/web")
    assert "provided IP is already allocated" in str(probs[0]) and "shop/dns" in str(probs[0])


def test_cluster_ip_is_immutable_and_kept_on_update():
    a = Allocator(CIDR)
    first, _ = a.allocate(service(), [], None, "service/web")
    kept, probs = a.allocate(service(), [], first, "service/web")
    assert kept.cluster_ip == first.cluster_ip and not probs
    _, probs = a.allocate(service(requested_cluster_ip=ipaddress.ip_address("10.96.0.99")), [], first, "service/web")
    assert "may not change once set" in str(probs[0])


def test_node_ports_allocated_in_range_and_conflicts_rejected():
    a = Allocator(CIDR)
    np, _ = a.allocate(service(type=ServiceType.NODE_PORT), [], None, "service/web")
    assert 30086 <= (np.ports[0].node_port or 0) <= 32767  # dynamic band first
    clash = service("api", type=ServiceType.NODE_PORT, ports=(ServicePort(80, 8080, node_port=np.ports[0].node_port),))
    _, probs = a.allocate(clash, [np], None, "service/api")
    assert "provided port is already allocated" in str(probs[0])
    _, probs = a.allocate(service("x", type=ServiceType.NODE_PORT, ports=(ServicePort(80, 80, node_port=8080),)), [], None, "service/x")
    assert "The range of valid ports is 30000-32767" in str(probs[0])


def test_load_balancer_local_gets_health_check_node_port():
    s, _ = Allocator(CIDR).allocate(service(type=ServiceType.LOAD_BALANCER, external_traffic_policy=TrafficPolicy.LOCAL), [], None, "service/web")
    assert s.health_check_node_port is not None and s.ports[0].node_port is not None


def test_headless_and_external_name_get_no_cluster_ip():
    a = Allocator(CIDR)
    assert a.allocate(service(headless=True), [], None, "x")[0].cluster_ip is None
    assert a.allocate(service(type=ServiceType.EXTERNAL_NAME, external_name="api.example.com"), [], None, "x")[0].cluster_ip is None


# -- endpoints (pkg/controller/endpointslice; kubernetes.io "Service" → targetPort by name) -----

def test_target_port_by_name_resolves_per_pod_and_skips_pods_without_it():
    svc = service(ports=(ServicePort(80, "http"),))
    pods = [
        pod("a", "10.244.1.2", ports=(ContainerPort(8080, Protocol.TCP, "http"),)),
        pod("b", "10.244.2.2", ports=(ContainerPort(9090, Protocol.TCP, "http"),)),
        pod("c", "10.244.2.3", ports=(ContainerPort(8080, Protocol.TCP, "web"),)),
        pod("other", "10.244.2.4", labels={"app": "api"}, ports=(ContainerPort(8080, Protocol.TCP, "http"),)),
    ]
    pe = port_endpoints(svc, svc.ports[0], pods)
    assert [(b.pod, b.port) for b in pe.backends] == [("shop/a", 8080), ("shop/b", 9090)]
    assert [e.pod for e in pe.excluded] == ["shop/c"]


def test_not_ready_pods_are_not_ready_endpoints_unless_publish_not_ready():
    pods = [pod("a", "10.244.1.2"), pod("b", "10.244.2.2", ready=False)]
    pe = port_endpoints(service(), service().ports[0], pods)
    assert [b.pod for b in pe.ready] == ["shop/a"] and [b.pod for b in pe.not_ready] == ["shop/b"]
    pub = service(publish_not_ready_addresses=True)
    assert len(port_endpoints(pub, pub.ports[0], pods).ready) == 2


def test_selector_only_matches_the_services_namespace():
    foreign = Pod("other", "a", Labels({"app": "web"}), ipaddress.ip_address("10.244.1.9"), "kind-worker")
    assert port_endpoints(service(), service().ports[0], [foreign]).backends == ()


def test_selectorless_service_uses_endpoint_slices():
    svc = service(selector=None, ports=(ServicePort(80, 80, name="http"),))
    es = EndpointSlice("shop", "web-1", "web", "IPv4", (EndpointSlicePort(8080, Protocol.TCP, "http"),),
                       (EndpointSliceEndpoint((ipaddress.ip_address("172.18.0.100"),)),))
    pe = port_endpoints(svc, svc.ports[0], [], [es])
    assert [(str(b.ip), b.port) for b in pe.ready] == [("172.18.0.100", 8080)]


def test_headless_addresses_are_ready_pods_only():
    pods = [pod("a", "10.244.1.2"), pod("b", "10.244.2.2", ready=False)]
    assert [str(ip) for _, ip in ready_pod_addresses(service(headless=True), pods)] == ["10.244.1.2"]


# -- kube-proxy rules (pkg/proxy/iptables/proxier.go; kubernetes.io "Service" → Traffic policies) --

B1 = Backend(ipaddress.ip_address("10.244.1.2"), 8080, Protocol.TCP, "shop/a", "kind-worker")
B2 = Backend(ipaddress.ip_address("10.244.2.2"), 8080, Protocol.TCP, "shop/b", "kind-worker2")
NOT_READY = Backend(ipaddress.ip_address("10.244.2.3"), 8080, Protocol.TCP, "shop/c", "kind-worker2", ready=False)


@pytest.mark.parametrize(("svc", "backends", "client_node", "expect"), [
    (service(), [B1, B2], "kind-worker", ("ok", {"shop/a", "shop/b"})),
    (service(), [NOT_READY], "kind-worker", ("refused", "no ready endpoints")),  # REJECT: "has no endpoints"
    (service(), [], "kind-worker", ("refused", "no endpoints")),
    (service(internal_traffic_policy=TrafficPolicy.LOCAL), [B1, B2], "kind-worker", ("ok", {"shop/a"})),
    (service(internal_traffic_policy=TrafficPolicy.LOCAL), [B2], "kind-worker", ("dropped", "internalTrafficPolicy: Local")),  # DROP: "has no local endpoints"
])
def test_cluster_ip_eligibility(svc, backends, client_node, expect):
    e = via_cluster_ip(svc, backends, client_node)
    kind, detail = expect
    if kind == "ok":
        assert e.ok and {b.pod for b in e.backends} == detail
    elif kind == "refused":
        assert e.refused and detail in e.refused
    else:
        assert e.dropped and detail in e.dropped


def test_external_traffic_policy_cluster_snats_and_may_hop():
    e = via_node(service(external_traffic_policy=TrafficPolicy.CLUSTER), [B1, B2], "kind-worker", client_in_cluster=False)
    assert e.snat and {b.pod for b in e.backends} == {"shop/a", "shop/b"}


def test_external_traffic_policy_local_keeps_client_and_only_local_endpoints():
    svc = service(external_traffic_policy=TrafficPolicy.LOCAL)
    e = via_node(svc, [B1, B2], "kind-worker", client_in_cluster=False)
    assert not e.snat and [b.pod for b in e.backends] == ["shop/a"]
    dropped = via_node(svc, [B2], "kind-worker", client_in_cluster=False)
    assert dropped.dropped and "no ready endpoint on kind-worker" in dropped.dropped
    # "pod traffic for ... external destinations" goes to the cluster chain: not dropped.
    assert via_node(svc, [B2], "kind-worker", client_in_cluster=True).ok


def test_lb_health_checks_follow_external_traffic_policy():
    local = service(external_traffic_policy=TrafficPolicy.LOCAL, health_check_node_port=31000)
    nodes, _ = healthy_lb_nodes(local, [B2], ["kind-worker", "kind-worker2"])
    assert nodes == ["kind-worker2"]
    cluster_nodes, _ = healthy_lb_nodes(service(external_traffic_policy=TrafficPolicy.CLUSTER), [B2], ["kind-worker", "kind-worker2"])
    assert cluster_nodes == ["kind-worker", "kind-worker2"]


def test_load_balancer_source_ranges():
    svc = service(load_balancer_source_ranges=(ipaddress.ip_network("172.18.0.0/16"),))
    assert source_allowed(svc, ipaddress.ip_address("172.18.0.1")) == ""
    assert "not in loadBalancerSourceRanges" in source_allowed(svc, ipaddress.ip_address("203.0.113.10"))
    assert source_allowed(service(), ipaddress.ip_address("203.0.113.10")) == ""  # no ranges: everyone


# -- balancing (iptables statistic random / nftables numgen: uniform; -m recent for ClientIP) ----

def test_balancer_is_seeded_and_roughly_uniform():
    picks = [Balancer(7).pick(service(), 80, [B1, B2], "1.2.3.4")[0].pod for _ in range(3)]
    assert len(set(picks)) == 1  # same seed, same first pick
    b = Balancer(0)
    counts = Counter(b.pick(service(), 80, [B1, B2], "1.2.3.4")[0].pod for _ in range(2000))
    assert 900 < counts["shop/a"] < 1100


def test_session_affinity_client_ip_pins_until_endpoint_leaves():
    svc = service(session_affinity=SessionAffinity.CLIENT_IP)
    b = Balancer(3)
    first = b.pick(svc, 80, [B1, B2], "10.0.0.1")[0]
    assert all(b.pick(svc, 80, [B1, B2], "10.0.0.1")[0] == first for _ in range(50))
    other = [x for x in (B1, B2) if x != first][0]
    assert b.pick(svc, 80, [other], "10.0.0.1")[0] == other  # pinned endpoint gone: re-pinned
