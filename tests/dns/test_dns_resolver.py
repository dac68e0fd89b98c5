"""CoreDNS answers and pod resolver behaviour (kubernetes.io "DNS for Services and Pods";
kubernetes/dns docs/specification.md; resolv.conf(5) for search and ndots)."""

from __future__ import annotations

import ipaddress

import pytest

from grader.dns import ClusterZone, Rcode, query_order, resolve_in_pod, resolve_outside, search_path
from grader.model import Labels
from grader.model.services import Service, ServicePort, ServiceType

WEB = Service("shop", "web", ports=(ServicePort(80, 80),), selector=Labels({"app": "web"}), cluster_ip=ipaddress.ip_address("10.96.12.34"))
DB = Service("shop", "db", selector=Labels({"app": "db"}), headless=True)
EMPTY = Service("shop", "empty", selector=Labels({"app": "none"}), headless=True)
EXT = Service("shop", "payments", type=ServiceType.EXTERNAL_NAME, external_name="api.example.com")
ZONE = ClusterZone(
    [WEB, DB, EMPTY, EXT], ["shop", "default", "kube-system"],
    {"shop/db": [ipaddress.ip_address("10.244.1.5"), ipaddress.ip_address("10.244.2.6")], "shop/empty": []},
    {"api.example.com": ipaddress.ip_address("203.0.113.10")},
)


def test_search_path_for_clusterfirst_pods():
    assert search_path("shop") == ("shop.svc.cluster.local", "svc.cluster.local", "cluster.local")


@pytest.mark.parametrize(("name", "first", "count"), [
    ("web", "web.shop.svc.cluster.local", 4),  # 0 dots < ndots 5: search list first, then as is
    ("web.shop", "web.shop.shop.svc.cluster.local", 4),
    ("api.example.com", "api.example.com.shop.svc.cluster.local", 4),
    ("a.b.c.d.e.f", "a.b.c.d.e.f", 4),  # >= ndots dots: as is first
    ("web.shop.svc.cluster.local.", "web.shop.svc.cluster.local", 1),  # trailing dot: absolute only
])
def test_query_order_ndots_5(name, first, count):
    order = query_order(name, search_path("shop"))
    assert order[0] == first and len(order) == count


def test_short_name_resolves_in_own_namespace_only():
    assert resolve_in_pod(ZONE, "web", "shop", "shop/a", "kube-dns").addresses == (ipaddress.ip_address("10.96.12.34"),)
    other = resolve_in_pod(ZONE, "web", "default", "default/a", "kube-dns")
    assert not other.ok and all(a.rcode is Rcode.NXDOMAIN for a in other.answers)
    assert resolve_in_pod(ZONE, "web.shop", "default", "default/a", "kube-dns").ok


def test_headless_service_returns_ready_pod_addresses():
    found = resolve_in_pod(ZONE, "db", "shop", "shop/a", "kube-dns")
    assert [str(a) for a in found.addresses] == ["10.244.1.5", "10.244.2.6"]


def test_headless_without_ready_endpoints_is_nxdomain():
    # coredns/coredns#1814: NXDOMAIN (as kube-dns did), not NODATA
    answer = ZONE.lookup("empty.shop.svc.cluster.local")
    assert answer.rcode is Rcode.NXDOMAIN and "no ready endpoints" in answer.note


def test_external_name_is_a_cname_chased_upstream():
    answer = ZONE.lookup("payments.shop.svc.cluster.local")
    assert [(r.type, r.value) for r in answer.records] == [("CNAME", "api.example.com"), ("A", "203.0.113.10")]
    found = resolve_in_pod(ZONE, "payments", "shop", "shop/a", "kube-dns")
    assert found.canonical == "api.example.com"


def test_external_names_pay_the_ndots_search_penalty():
    found = resolve_in_pod(ZONE, "api.example.com", "shop", "shop/a", "kube-dns")
    assert found.ok and len(found.answers) == 4 and [a.rcode for a in found.answers[:3]] == [Rcode.NXDOMAIN] * 3


def test_unknown_names_and_namespaces_are_nxdomain_with_a_reason():
    assert "no Service 'nope'" in ZONE.lookup("nope.shop.svc.cluster.local").note
    assert "no namespace 'ghost'" in ZONE.lookup("web.ghost.svc.cluster.local").note


def test_pods_insecure_records():
    answer = ZONE.lookup("10-244-1-5.shop.pod.cluster.local")
    assert answer.addresses == ("10.244.1.5",)


def test_outside_the_cluster_only_upstream_names_resolve():
    assert resolve_outside(ZONE, "api.example.com", "host").ok
    inside = resolve_outside(ZONE, "web.shop.svc.cluster.local", "host")
    assert not inside.ok and "only resolve through CoreDNS" in inside.answers[0].note
