"""Services, DNS and load balancing through the Lab API of the simulated cluster.

Each test states the Kubernetes behaviour it checks and where it is documented:
kubernetes.io "Service" (traffic policies, NodePort, LoadBalancer), "Using Source IP",
"DNS for Services and Pods", "Network Policies"; kube-proxy's iptables proxier; cloud-provider-kind.
"""

from __future__ import annotations

import pytest

import grader
from grader.errors import LabError, ManifestError
from grader.reachability import Verdict
from grader.services import get_provider


def web_service(extra: str = "", kind: str = "ClusterIP") -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec:
  type: {kind}
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
{extra}
"""


def deployment(name: str, replicas: int, node: str | None = None, ns: str = "shop") -> str:
    node_line = f"\n      nodeName: {node}" if node else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:{node_line}
      containers: [{{name: c, image: agnhost, ports: [{{containerPort: 8080, name: http}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


@pytest.fixture
def lab():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    return lab


def test_system_services_exist_like_on_kind(lab):
    names = {(s.namespace, s.name): s for s in lab.services()}
    assert names[("kube-system", "kube-dns")].cluster_ip == "10.96.0.10"  # kubeadm: 10th address of the service CIDR
    assert names[("default", "kubernetes")].cluster_ip == "10.96.0.1"


def test_cluster_ip_by_short_name_dnat_to_a_ready_endpoint(lab):
    lab.apply(web_service())
    r = lab.probe("shop/api", "web", 80)
    assert r.verdict is Verdict.ALLOWED and r.answered_by == "shop/web"
    assert r.client_ip == str(lab.state.pod("shop/api").ip)  # no SNAT inside the cluster
    steps = [h.step for h in r.hops]
    assert steps[:3] == ["dns", "route", "service"] and "DNAT" in r.hops[2].detail  # kube-proxy translates on the client's node


def test_network_policy_is_evaluated_on_the_pod_after_dnat(lab):
    lab.apply(web_service())
    lab.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: http}]}]
""")
    assert lab.probe("shop/api", "web.shop", 80).verdict is Verdict.ALLOWED
    blocked = lab.probe("untrusted/attacker", "web.shop", 80)
    assert blocked.verdict is Verdict.BLOCKED
    assert "shop/web-from-api" in blocked.reason and "80/TCP" in blocked.reason  # targetPort, not the Service port name


def test_cluster_ip_is_not_reachable_from_outside(lab):
    lab.apply(web_service())
    ip = next(s.cluster_ip for s in lab.services("shop") if s.name == "web")
    r = lab.probe("host", ip, 80)
    assert r.verdict is Verdict.BLOCKED and "virtual address" in r.reason


def test_no_endpoints_is_refused_and_a_wrong_port_depends_on_the_proxy_mode(lab):
    lab.apply(web_service().replace("app: web}", "app: nothing}"))
    r = lab.probe("shop/api", "web", 80)
    assert r.verdict is Verdict.REFUSED and "no pod in shop matches selector app=nothing" in r.reason
    lab.apply(web_service())
    # kindnet's kind config runs kube-proxy in nftables mode, which rejects undefined ports of a
    # ClusterIP (kubernetes#122692); iptables mode (the Calico profiles) has no rule and the packet is lost.
    assert lab.probe("shop/api", "web", 81).verdict is Verdict.REFUSED
    calico = grader.connect("calico-vxlan", backend="sim", quiet=True)
    calico.deploy("shop")
    calico.apply(web_service())
    assert calico.probe("shop/api", "web", 81).verdict is Verdict.BLOCKED


def test_nodeport_from_the_host_cluster_policy_snat_to_node(lab):
    lab.apply(web_service(kind="NodePort"))
    svc = next(s for s in lab.services("shop") if s.name == "web")
    node_port = svc.service.ports[0].node_port
    for target in (f"node:kind-worker:{node_port}", "172.18.0.3"):
        r = lab.probe("host", target, node_port if target[0].isdigit() else None)
        assert r.verdict is Verdict.ALLOWED, r.explain()
        assert r.answered_by == "shop/web"
        assert r.client_ip == "172.18.0.3"  # externalTrafficPolicy Cluster: SNAT to the receiving node
    via_other = lab.probe("host", f"node:kind-control-plane:{node_port}")
    assert via_other.verdict is Verdict.ALLOWED and any(h.step == "forward" for h in via_other.hops)  # may hop nodes


def test_nodeport_local_preserves_client_and_drops_on_nodes_without_endpoints(lab):
    lab.apply(web_service("  externalTrafficPolicy: Local", kind="NodePort"))
    node_port = next(s for s in lab.services("shop") if s.name == "web").service.ports[0].node_port
    web_node = lab.state.pod("shop/web").node
    other = next(n.name for n in lab.state.nodes if n.name != web_node)
    ok = lab.probe("host", f"node:{web_node}:{node_port}")
    assert ok.verdict is Verdict.ALLOWED and ok.client_ip == "172.18.0.1"  # the learner's machine, preserved
    dropped = lab.probe("host", f"node:{other}:{node_port}")
    assert dropped.verdict is Verdict.BLOCKED and "no ready endpoint on" in dropped.reason
    # Traffic from inside the cluster is not subject to Local (kube-proxy "pod traffic for external destinations").
    assert lab.probe("shop/api", f"node:{other}:{node_port}").verdict is Verdict.ALLOWED


def test_load_balancer_on_cloud_provider_kind(lab):
    lab.apply(web_service(kind="LoadBalancer"))
    addr = lab.address("service/shop/web")
    assert addr == "172.18.0.5"  # the first free address on the kind network after three nodes
    r = lab.probe("host", addr, 80)
    assert r.verdict is Verdict.ALLOWED and r.answered_by == "shop/web"
    assert any(h.step == "load-balancer" and "Envoy" in h.detail for h in r.hops)
    assert r.client_ip in {"172.18.0.3", "172.18.0.4"}  # Cluster: the worker that SNATed
    lab.apply(web_service("  externalTrafficPolicy: Local", kind="LoadBalancer"))
    local = lab.probe("host", addr, 80)
    assert local.verdict is Verdict.ALLOWED and local.client_ip == addr  # Envoy proxies: the pod sees the LB container


def test_load_balancer_source_ranges(lab):
    lab.apply(web_service("  loadBalancerSourceRanges: [10.0.0.0/8]", kind="LoadBalancer"))
    addr = lab.address("service/shop/web")
    r = lab.probe("host", addr, 80)
    assert r.verdict is Verdict.BLOCKED and "loadBalancerSourceRanges" in r.reason
    lab.apply(web_service("  loadBalancerSourceRanges: [172.18.0.0/16]", kind="LoadBalancer"))
    assert lab.probe("host", addr, 80).verdict is Verdict.ALLOWED
    assert lab.probe("api.example.com", addr, 80).verdict is Verdict.BLOCKED


def test_pass_through_load_balancer_local_preserves_the_client_address(lab):
    lab.control_plane.provider = get_provider("azure")
    lab.apply(web_service("  externalTrafficPolicy: Local", kind="LoadBalancer"))
    addr = lab.address("service/shop/web")
    assert addr.startswith("192.0.2.")
    r = lab.probe("api.example.com", addr, 80)
    assert r.verdict is Verdict.ALLOWED and r.client_ip == "203.0.113.10"
    # kube-proxy enforces loadBalancerSourceRanges for pods too (AKS: add the pod CIDR)
    lab.apply(web_service("  loadBalancerSourceRanges: [203.0.113.0/24]", kind="LoadBalancer"))
    inside = lab.probe("shop/api", addr, 80)
    assert inside.verdict is Verdict.BLOCKED and "pod CIDR" in inside.reason


def test_load_balancer_class_nobody_serves_stays_pending(lab):
    lab.apply(web_service("  loadBalancerClass: example.com/other", kind="LoadBalancer"))
    assert lab.address("service/shop/web") is None
    assert next(s for s in lab.services("shop") if s.name == "web").external_ip == "<pending>"


def test_internal_traffic_policy_local(lab):
    lab.apply(deployment("echo", 1, node="kind-worker2"))
    lab.apply(deployment("echo", 1, node="kind-worker2").replace("  ports: [{name: http, port: 80, targetPort: http}]",
                                                                   "  internalTrafficPolicy: Local\n  ports: [{name: http, port: 80, targetPort: http}]"))
    on_worker = next(p for p in lab.pods("shop") if p.node == "kind-worker")
    on_worker2 = next(p for p in lab.pods("shop") if p.node == "kind-worker2" and not p.name.startswith("echo"))
    assert lab.probe(str(on_worker.ref), "echo", 80).verdict is Verdict.BLOCKED
    assert lab.probe(str(on_worker2.ref), "echo", 80).verdict is Verdict.ALLOWED


def test_not_ready_pod_gets_nothing_and_scaling_changes_the_spread(lab):
    pods = lab.apply(deployment("echo", 3)) and [p for p in lab.pods("shop") if p.name.startswith("echo-")]
    assert len(pods) == 3
    spread = lab.distribution("shop/api", "echo", 80, requests=300)
    assert len(spread.counts) == 3 and all(60 < n < 140 for _, n in spread.counts)
    lab.set_ready(str(pods[0].ref), False)
    assert str(pods[0].ref) in lab.endpoints("shop/echo").not_ready
    after = lab.distribution("shop/api", "echo", 80, requests=200)
    assert str(pods[0].ref) not in after.as_dict() and sum(after.as_dict().values()) == 200
    owned = lab.scale("deployment/shop/echo", 5)
    assert len(owned) == 5
    assert len(lab.distribution("shop/api", "echo", 80, requests=400).counts) == 4  # 5 pods, one not ready
    lab.scale("deployment/shop/echo", 1)
    assert len([p for p in lab.pods("shop") if p.name.startswith("echo-")]) == 1


def test_distribution_is_reproducible_after_reset(lab):
    lab.apply(deployment("echo", 3))
    first = lab.distribution("shop/api", "echo", 80, requests=50).as_dict()
    lab.reset(keep_topology=True)
    lab.apply(deployment("echo", 3))
    assert lab.distribution("shop/api", "echo", 80, requests=50).as_dict() == first


def test_session_affinity_client_ip_pins_a_client(lab):
    lab.apply(deployment("echo", 3).replace("  ports: [{name: http, port: 80, targetPort: http}]",
                                            "  sessionAffinity: ClientIP\n  ports: [{name: http, port: 80, targetPort: http}]"))
    assert len(lab.distribution("shop/api", "echo", 80, requests=40).counts) == 1
    assert len(lab.distribution("shop/web", "echo", 80, requests=40).counts) == 1


def test_dns_is_traffic_isolated_egress_without_port_53_fails_as_dns(lab):
    lab.apply(deployment("echo", 1))
    lab.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: echo}}}], ports: [{port: 8080}]}]
""")
    by_name = lab.probe("shop/web", "echo", 80)
    assert by_name.verdict is Verdict.DNS_FAILED
    assert "UDP and TCP port 53" in by_name.reason and "shop/web-egress" in by_name.reason
    ip = next(s.cluster_ip for s in lab.services("shop") if s.name == "echo")
    assert lab.probe("shop/web", ip, 80).verdict is Verdict.ALLOWED  # the same flow by IP works: DNS was the problem
    assert lab.probe("shop/web", "api.example.com", 443).verdict is Verdict.DNS_FAILED  # external names too
    with pytest.raises(LabError, match="port 53"):
        lab.nslookup("shop/web", "echo")
    lab.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
""")
    assert lab.probe("shop/web", "echo", 80).verdict is Verdict.ALLOWED


def test_headless_and_external_name(lab):
    lab.apply("""
apiVersion: v1
kind: Service
metadata: {name: db-direct, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: payments, namespace: shop}
spec:
  type: ExternalName
  externalName: api.example.com
""")
    found = lab.nslookup("shop/api", "db-direct")
    assert [str(a) for a in found.addresses] == [str(lab.state.pod("shop/db").ip)]
    r = lab.probe("shop/api", "db-direct", 5432)
    assert r.verdict is Verdict.ALLOWED and r.answered_by == "shop/db" and not any(h.step == "service" for h in r.hops)
    ext = lab.probe("shop/api", "payments", 443)
    assert ext.verdict is Verdict.ALLOWED and ext.answered_by.startswith("api.example.com")
    assert lab.nslookup("shop/api", "payments").canonical == "api.example.com"
    assert lab.probe("shop/api", "nope", 80).verdict is Verdict.DNS_FAILED


def test_nslookup_shows_the_search_path(lab):
    lab.apply(web_service())
    found = lab.nslookup("untrusted/attacker", "web.shop")
    assert [a.query for a in found.answers] == ["web.shop.untrusted.svc.cluster.local", "web.shop.svc.cluster.local"]
    assert lab.nslookup("host", "api.example.com").ok


def test_allocation_conflicts_are_rejected_and_nothing_is_applied(lab):
    lab.apply(web_service("", kind="NodePort").replace("targetPort: http}", "targetPort: http, nodePort: 30080}"))
    with pytest.raises(ManifestError) as exc:
        lab.apply("""
apiVersion: v1
kind: Service
metadata: {name: other, namespace: shop}
spec:
  type: NodePort
  selector: {app: api}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: other2, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  ports: [{port: 80}]
""")
    text = str(exc.value)
    assert "service/shop/other spec.ports[0].nodePort" in text and "already allocated (to Service shop/web)" in text
    assert "service/shop/other2 spec.clusterIPs" in text and "kube-system/kube-dns" in text
    assert {s.name for s in lab.services("shop")} == {"web"}


def test_delete_frees_and_reset_restores_system_objects(lab):
    lab.apply(web_service(kind="LoadBalancer"))
    addr = lab.address("service/shop/web")
    lab.delete("service/shop/web")
    lab.apply(web_service(kind="LoadBalancer").replace("name: web,", "name: web2,"))
    assert lab.address("service/shop/web2") == addr  # the address was released
    lab.reset()
    assert {s.name for s in lab.services()} == {"kubernetes", "kube-dns"}


def test_deployment_delete_removes_its_pods(lab):
    lab.apply(deployment("echo", 2))
    assert len([p for p in lab.pods("shop") if p.name.startswith("echo-")]) == 2
    lab.delete("deployment/shop/echo")
    assert not [p for p in lab.pods("shop") if p.name.startswith("echo-")]


def test_pod_matrix_still_uses_pods_directly(lab):
    lab.apply(web_service())
    m = lab.matrix(80, namespaces=["shop"])
    assert m.verdict("shop/api", "shop/web") is Verdict.ALLOWED


def test_requested_load_balancer_ip_is_honoured_when_free(lab):
    lab.apply(web_service("  loadBalancerIP: 172.18.0.200", kind="LoadBalancer"))
    assert lab.address("service/shop/web") == "172.18.0.200"
    lab.apply(web_service("  loadBalancerIP: 172.18.0.100", kind="LoadBalancer").replace("name: web,", "name: taken,"))
    assert lab.address("service/shop/taken") is None  # vm.internal already has that address: stays <pending>


def test_pods_reach_a_cloud_provider_kind_address_through_envoy(lab):
    lab.apply(web_service(kind="LoadBalancer"))
    r = lab.probe("shop/api", lab.address("service/shop/web"), 80)
    assert r.verdict is Verdict.ALLOWED and r.answered_by == "shop/web"
    assert any(h.step == "egress" and "ipMode: Proxy" in h.detail for h in r.hops)


@pytest.mark.parametrize(("profile", "local_backend_sees"), [
    ("kindnet", "node"),         # kube-proxy masquerades externalTrafficPolicy: Cluster traffic (kubernetes.io "Using Source IP")
    ("cilium-native", "client"),  # Cilium's kube-proxy replacement keeps the client for a backend on the receiving node
])
def test_external_traffic_policy_cluster_source_depends_on_the_datapath(profile, local_backend_sees):
    lab = grader.connect(profile, backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(web_service(kind="NodePort").replace("targetPort: http}", "targetPort: http, nodePort: 30080}"))
    web_node = lab.state.pod("shop/web").node
    local = lab.probe("host", f"node:{web_node}:30080")
    node_ip = str(lab.state.node(web_node).ip)
    assert local.client_ip == (node_ip if local_backend_sees == "node" else "172.18.0.1")
    other = next(n for n in lab.state.nodes if n.name != web_node)
    assert lab.probe("host", f"node:{other.name}:30080").client_ip == str(other.ip)  # remote backend: SNAT everywhere
