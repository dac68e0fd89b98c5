"""Live tests of the kind backend's Services/DNS/HTTP/Ingress/Gateway calls on a real kind cluster.

Skipped without Docker and kind (one line, see tests/conftest.py). One cluster per profile in
``NETLAB_LIVE_PROFILES`` (default: kindnet), kept between runs as for learners. Each test states
the behaviour the simulated cluster also shows (tests/lab/test_sim_*), so a failure here is a
disagreement to look at, not a flaky probe: waits are explicit where the cluster is asynchronous.
"""

from __future__ import annotations

import os
import platform
import time

import pytest

from grader.errors import LabError
from grader.reachability import Verdict
from grader.tls import mint_ca

pytestmark = pytest.mark.live

PROFILE_NAMES = os.environ.get("NETLAB_LIVE_PROFILES", "kindnet").split(",")
linux_host = pytest.mark.skipif(platform.system() != "Linux", reason="the kind network is reachable from the host only on Linux (Docker Desktop runs a VM)")

SERVICES = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080, targetPort: http}]
"""

ECHO = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers: [{name: c, image: agnhost, ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: shop}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def ingress(tls: bool = False, cls: str | None = None) -> str:
    tls_block = "\n  tls: [{hosts: [shop.example.com], secretName: shop-tls}]" if tls else ""
    cls_line = f"\n  ingressClassName: {cls}" if cls else ""
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: shop, namespace: shop}}
spec:{cls_line}{tls_block}
  rules:
  - host: shop.example.com
    http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{name: http}}}}}}}}]}}
"""


def wait_for(fn, timeout: float = 120.0, interval: float = 2.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@pytest.fixture(scope="module", params=PROFILE_NAMES)
def lab(request: pytest.FixtureRequest):
    from grader.kind.lab import KindLab

    lab = KindLab(request.param)
    lab.reset()
    lab.deploy("shop")
    lab.apply(SERVICES)
    yield lab
    lab.reset()


def test_services_and_endpoints_read_the_cluster(lab) -> None:
    rows = {(r.namespace, r.name): r for r in lab.services()}
    assert rows[("kube-system", "kube-dns")].cluster_ip == "10.96.0.10"
    assert rows[("shop", "web")].type == "LoadBalancer"
    eps = wait_for(lambda: lab.endpoints("shop/web").ready)
    assert eps == ("shop/web",)


def test_nslookup_follows_the_search_path(lab) -> None:
    found = lab.nslookup("untrusted/attacker", "web.shop")
    assert [a.query for a in found.answers] == ["web.shop.untrusted.svc.cluster.local", "web.shop.svc.cluster.local"]
    assert found.ok and found.resolver.startswith("kube-dns")
    assert not lab.nslookup("shop/api", "nope").ok


def test_http_from_a_pod_names_the_backend_and_sees_no_snat(lab) -> None:
    r = lab.http("shop/api", "http://web.shop/hostname")
    assert r.verdict is Verdict.ALLOWED and r.http.status == 200 and r.answered_by == "shop/web"
    api_ip = str(next(p.ip for p in lab.pods("shop") if p.name == "api"))
    assert lab.http("shop/api", "http://web.shop/clientip").client_ip == api_ip
    tls = lab.http("shop/api", "https://web.shop:80/")
    assert tls.verdict is Verdict.PROBE_FAILED and "plain HTTP" in tls.http.error  # as the simulation words it


def test_load_balancer_address_and_client_ip_from_the_host(lab) -> None:
    addr = wait_for(lambda: lab.address("service/shop/web"))
    assert addr, "cloud-provider-kind gave no address (is its container running? netlab up starts it)"
    if platform.system() != "Linux":
        pytest.skip("the kind network is reachable from the host only on Linux")
    r = wait_for(lambda: (x := lab.http("host", f"http://{addr}/clientip")).verdict is Verdict.ALLOWED and x)
    assert r and r.http.status == 200
    node_ips = {lab.node_ip(n.name) for n in lab.profile.nodes()}
    assert r.client_ip in node_ips  # Envoy → nodePort, kube-proxy SNAT to the receiving node (externalTrafficPolicy Cluster)


@linux_host
def test_ingress_served_by_cloud_provider_kind_with_tls(lab) -> None:
    ca = mint_ca("live CA")
    lab.apply(ca.issue(["shop.example.com"]).secret("shop-tls", "shop"))
    lab.apply(ingress(tls=True))
    status = wait_for(lambda: (s := lab.status("ingress/shop/shop")).address and s)
    assert status and status.controller == "cloud-provider-kind"
    r = wait_for(lambda: (x := lab.http("host", "https://shop.example.com/hostname", resolve=status.address, ca=ca)).verdict is Verdict.ALLOWED and x)
    assert r and r.http.status == 200 and r.answered_by == "shop/web" and r.http.certificate_trusted is True
    cp = lab.node_ip(next(n.name for n in lab.profile.nodes() if n.role == "control-plane"))
    assert lab.http("host", "http://shop.example.com/clientip", resolve=status.address).client_ip == cp  # fact cloud-provider-kind-ingress
    assert lab.http("host", "http://other.example.com/", resolve=status.address).http.status == 404
    lab.delete("ingress/shop/shop")


@linux_host
def test_gateway_and_route_status(lab) -> None:
    lab.apply("""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec: {gatewayClassName: cloud-provider-kind, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: public}]
  hostnames: [shop.example.com]
  rules: [{backendRefs: [{name: web, port: 80}]}]
""")
    gw = wait_for(lambda: (s := lab.status("gateway/shop/public")).programmed and s)
    assert gw and gw.addresses and lab.address("gateway/shop/public") == gw.addresses[0]
    assert wait_for(lambda: lab.status("httproute/shop/shop").accepted)
    assert lab.status("gatewayclass/cloud-provider-kind")[0].ok
    r = wait_for(lambda: (x := lab.http("host", "http://shop.example.com/hostname", resolve=gw.addresses[0])).verdict is Verdict.ALLOWED and x)
    assert r and r.answered_by == "shop/web"
    lab.delete(["httproute/shop/shop", "gateway/shop/public"])


def test_scale_distribution_and_readiness(lab) -> None:
    lab.apply(ECHO)
    pods = lab.scale("deployment/shop/echo", 3)
    assert len(pods) == 3
    spread = lab.distribution("shop/api", "echo", 80, requests=60)
    assert sorted(spread.as_dict()) == sorted(pods) and sum(spread.as_dict().values()) == 60
    lab.set_ready(pods[0], False)  # the shorthand `image: agnhost` has the lab's readiness probe
    assert pods[0] in lab.endpoints("shop/echo").not_ready
    after = lab.distribution("shop/api", "echo", 80, requests=40)
    assert pods[0] not in after.as_dict() and sum(after.as_dict().values()) == 40
    lab.set_ready(pods[0], True)
    assert len(lab.scale("deployment/shop/echo", 1)) == 1


def test_probe_from_the_host_and_node_ports(lab) -> None:
    lab.apply(SERVICES.replace("type: LoadBalancer", "type: NodePort").replace("targetPort: http}]", "targetPort: http, nodePort: 30080}]", 1))
    assert wait_for(lambda: lab.probe("shop/api", "node:kind-worker:30080").verdict is Verdict.ALLOWED)
    if platform.system() == "Linux":
        assert wait_for(lambda: lab.probe("host", "node:kind-worker2:30080").verdict is Verdict.ALLOWED)
    lab.apply(SERVICES)


def test_connections_and_what_kind_cannot_do(lab) -> None:
    c = lab.open_connection("shop/api", "shop/web", 80)
    assert c.established and c.result.answered_by == "shop/web"
    assert lab.send(c).verdict is Verdict.ALLOWED
    lab.close_connection(c)
    with pytest.raises(LabError, match="kind has no NSG"):
        lab.attach_nsg("securityRules: []")


@linux_host
def test_ingress_nginx_is_a_pod_behind_a_load_balancer(lab) -> None:
    assert lab.install_ingress_controller("ingress-nginx") == "nginx"
    assert not [p for p in lab.pods() if p.namespace == "ingress-nginx"]  # a system component, not the learner's
    lab.apply(ingress(cls="nginx"))
    addr = wait_for(lambda: lab.address("ingress/shop/shop"))
    assert addr and addr == lab.address("service/ingress-nginx/ingress-nginx-controller")
    r = wait_for(lambda: (x := lab.http("host", "http://shop.example.com/hostname", resolve=addr)).http is not None and x.http.status == 200 and x)
    assert r and r.answered_by == "shop/web"
    nginx_ip = str(next(p.ip for p in lab.pods("ingress-nginx") if p.name.startswith("ingress-nginx-controller")))
    assert lab.http("host", "http://shop.example.com/clientip", resolve=addr).client_ip == nginx_ip  # the controller pod proxies to the pod
    lab.delete("ingress/shop/shop")
    lab.reset(keep_topology=True)
    assert lab.install_ingress_controller("cloud-provider-kind") == "cloud-provider-kind"
