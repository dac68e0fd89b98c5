"""Exercise 2 — Services and load balancing: a ClusterIP Service by port name that skips pods that are
not ready; a LoadBalancer on AKS that keeps the client address and admits only some sources."""

from __future__ import annotations

from nbbuild import Notebook

from .common import HOW_GRADED, SHOP_TABLE, given, task

V2_PODS = [
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": name, "namespace": "shop", "labels": {"app": "api", "version": "v2"}},
     "spec": {"containers": [{"name": "main", "image": "agnhost", "ports": [{"containerPort": 9090, "name": "http"}]}]}}
    for name in ("api-v2-a", "api-v2-b")
]
"""The new version of the back end: HTTP on 9090, also named ``http``; api-v2-b is not ready."""

API_SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: shop
spec:
  selector:
    app: api
  ports:
  - name: http
    protocol: TCP
    port: 80
    targetPort: http
"""

WEB_PUBLIC = """
apiVersion: v1
kind: Service
metadata:
  name: web-public
  namespace: shop
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector:
    app: web
  loadBalancerSourceRanges:
  - 203.0.113.0/24
  - 10.244.0.0/16
  ports:
  - name: http
    protocol: TCP
    port: 80
    targetPort: http
"""

LB_ADDR = 'lab_value("address", "service/shop/web-public")'
PARTNER_HOST = ("shop-partner.example.org", "203.0.113.77")
"""Another machine of the partner network: admitted, and the front end sees its own address."""
OUTSIDE_PARTNER = ("near-partner.example.org", "203.0.114.10")
"""The address just past the partner's /24: a wider range would admit it."""


def build() -> Notebook:
    nb = Notebook("02-services")
    nb.md("""
    # Exercise 2 — Services and load balancing

    Lesson 2 showed how a Service picks its endpoints, how kube-proxy spreads connections over them,
    and what a LoadBalancer Service does with the client's address. Here you write the Services; the
    tests send real connections through them (on the simulated cluster: ClusterIP, DNS, kube-proxy
    and the load balancer are modelled hop by hop) and count who answers.

    **Total: 7 points.**
    """)
    nb.md(HOW_GRADED)
    nb.md(SHOP_TABLE)
    nb.code("""
    import grader

    lab = grader.connect("kindnet")
    lab.deploy("shop")
    for pod in lab.pods("shop"):
        print(f"{str(pod.ref):16} {pod.labels.render():28} {', '.join(p.render() for p in pod.ports)}")
    """)

    # -- task 1 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 1 — Find the pods by port name, and only the ready ones (3 points)

    The back end is being upgraded. Next to `shop/api` (HTTP on **8080**, port named `http`), two
    pods of the new version run with the labels `app=api`, `version=v2`, and the new version serves
    HTTP on **9090**, also named `http`: `shop/api-v2-a` and `shop/api-v2-b`. `shop/api-v2-b` is still
    warming up: it **fails its readiness probe**. The cell below creates them in your lab.

    Write a Service named `api` in namespace `shop` that

    * listens on **port 80/TCP** (name the port `http`) and sends every connection to the `http`
      port of the pod it picks, **whatever number that pod uses**;
    * load-balances over the back-end pods of every version (`app=api`) and nothing else;
    * never sends a connection to a pod that is not ready;
    * exposes nothing else: no other port, and nothing outside the cluster (it is the shop's
      internal API).

    Points: 1 visible (the Service exists; `shop/web` reaches `api.shop:80`), 2 hidden (which pods
    answer — its visible part sends 40 connections and checks that both ready versions answer; who
    reaches it, by which names and ports).
    """))
    nb.code("\n".join([
        "# The new version, as the tests create it (not graded)",
        'V2 = """' + _block_yaml(V2_PODS) + '"""',
        "lab.apply(V2)",
        'lab.set_ready("shop/api-v2-b", False)',
        'print([str(p.ref) for p in lab.pods("shop")])',
    ]))
    nb.answer("api_service", API_SERVICE)
    nb.code("""
    # Try it (not graded): who answers 60 connections from the front end? Every ready pod of every version
    # should get its share; "refused" means a pod that does not listen on the port the Service sends to.
    lab.apply(api_service)
    print(lab.endpoints("shop/api"))
    print(lab.distribution("shop/web", "api.shop", 80, requests=60))
    """)
    ctor = 'answer="api_service", topology="shop"'
    nb.test("svc_api_visible", 1, "one Service shop/api; the front end reaches api.shop on port 80", ctor, visible="""
            check.expect_objects("Service", count=1, namespace="shop", name="api")
            check.expect_probe("shop/web", "api.shop", 80, verdict="allowed")
            """)
    nb.test("svc_api_backends", 1, "both ready versions answer, the pod that is not ready never does", ctor,
            visible=given(*V2_PODS) + '\ncheck.set_ready("shop/api-v2-b", False)'
            + '\ncheck.expect_distribution("shop/web", "api.shop", 80, answered_by=["shop/api", "shop/api-v2-a"], requests=40)', hidden="""
            check.add_pod("shop/api-admin", {"app": "api-admin", "tier": "backend"}, ["8080/TCP/http"])
            check.expect_distribution("untrusted/attacker", "api.shop.svc.cluster.local", 80, answered_by=["shop/api", "shop/api-v2-a"], requests=20)
            """)
    nb.test("svc_api_clients", 1, "every namespace reaches it by name on port 80, on no other port, and only inside the cluster", ctor, hidden="""
            check.expect("service_type", service="shop/api", type="ClusterIP")
            check.expect_probe("untrusted/attacker", "api.shop", 80, verdict="allowed", answered_by="shop/api")
            check.expect_probe("monitoring/prometheus", "api.shop.svc.cluster.local", 80, verdict="allowed")
            check.expect_probe("shop/db", "api", 80, verdict="allowed")
            check.expect_probe("untrusted/attacker", "api", 80, verdict="dns")
            check.expect_probe("shop/web", "api.shop", 8080, verdict="refused")
            check.expect_probe("shop/web", "api.shop", 9090, verdict="refused")
            """)

    # -- task 2 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 2 — A public front end on AKS (4 points)

    The shop goes public on AKS. There, a LoadBalancer Service gets an address from **Azure's
    Standard Load Balancer**, a pass-through layer-4 load balancer (unlike kind's
    cloud-provider-kind, which proxies). The lab models it with
    `grader.connect("kindnet", load_balancer="azure")`.

    Write a Service `web-public` in namespace `shop`, type **LoadBalancer**, port **80/TCP** to the
    front end's `http` port, such that

    * the front-end pods see the **real client address** (the shop rate-limits by client IP);
    * from outside the cluster, **only the partner network 203.0.113.0/24** may connect: every
      other internet address, and the machines of the virtual network (`vm.internal`, `host`, the
      nodes), must be turned away;
    * pods of the cluster, in any namespace, can still use the public address (the checkout service
      calls the shop by its public URL). Remember what kube-proxy sees as the source of a pod's
      connection, and that the lab's pod CIDR is `10.244.0.0/16`.

    Points: 1 visible (the Service gets an address; the partner's `api.example.com` connects),
    3 hidden (the client address — its visible part checks what `shop/web` sees of `api.example.com`;
    who is admitted; other ports and protocols).
    """))
    nb.code("""
    aks = grader.connect("kindnet", load_balancer="azure")   # always the simulated cluster: Azure's load balancer is a model
    aks.deploy("shop")
    print(aks.services())
    """)
    nb.answer("web_public", WEB_PUBLIC)
    nb.code("""
    # Try it (not graded)
    aks.reset(keep_topology=True)
    aks.add_external_host("near-partner.example.org", "203.0.114.10")   # just outside the partner network (the tests add it too)
    aks.apply(web_public)
    address = aks.address("service/shop/web-public")
    for client in ("api.example.com", "near-partner.example.org", "blocked.example.net", "vm.internal", "shop/api"):
        r = aks.probe(client, address, 80)
        print(f"{client:24} {r.verdict.value:8} the pod saw {r.client_ip}")   # the client's own address, or a node's?
    """)
    lb = 'answer="web_public", topology="shop", load_balancer="azure"'
    nb.test("lb_visible", 1, "one Service shop/web-public with an address; the partner connects", lb, visible=f"""
            check.expect_objects("Service", count=1, namespace="shop", name="web-public")
            check.expect_probe("api.example.com", {LB_ADDR}, 80, verdict="allowed")
            """)
    nb.test("lb_client_ip", 1, "the front end sees the client's own address", lb, visible=f"""
            check.expect_probe("api.example.com", {LB_ADDR}, 80, verdict="allowed", answered_by="shop/web", client_ip="203.0.113.10")
            """, hidden=f"""
            check.add_external_host("{PARTNER_HOST[0]}", "{PARTNER_HOST[1]}")
            check.expect_probe("{PARTNER_HOST[0]}", {LB_ADDR}, 80, verdict="allowed", answered_by="shop/web", client_ip="{PARTNER_HOST[1]}")
            """)
    nb.test("lb_sources", 1, "the partner network and the cluster's pods get in; nobody else", lb, hidden=f"""
            check.add_external_host("{OUTSIDE_PARTNER[0]}", "{OUTSIDE_PARTNER[1]}")
            for client in ("{OUTSIDE_PARTNER[0]}", "blocked.example.net", "vm.internal", "host", "node:kind-worker"):
                check.expect_probe(client, {LB_ADDR}, 80, verdict="blocked")
            for client in ("untrusted/attacker", "monitoring/prometheus", "shop/api"):
                check.expect_probe(client, {LB_ADDR}, 80, verdict="allowed", answered_by="shop/web")
            """)
    nb.test("lb_ports", 1, "only 80/TCP is open, and the Service still works inside the cluster", lb, hidden=f"""
            check.expect_probe("api.example.com", {LB_ADDR}, 443, verdict="blocked")
            check.expect_probe("api.example.com", {LB_ADDR}, 8080, verdict="blocked")
            check.expect_probe("api.example.com", {LB_ADDR}, "80/UDP", verdict="blocked")
            check.expect_probe("shop/api", "web-public.shop", 80, verdict="allowed", answered_by="shop/web")
            """)
    return nb


def _block_yaml(docs: list[dict]) -> str:  # type: ignore[type-arg]
    import yaml

    return "\n" + "---\n".join(yaml.safe_dump(d, sort_keys=False, default_flow_style=None) for d in docs)
