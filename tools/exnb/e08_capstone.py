"""Exercise 8 — Capstone: every NetworkPolicy of the shop (Part A), then HTTPS through the in-cluster proxy (Part B)."""

from __future__ import annotations

import yaml
from nbbuild import Notebook

from .common import (
    HOW_GRADED,
    SHOP_TABLE,
    add_pods,
    given,
    indent,
    pods_yaml,
    task,
    try_cell,
)
from .e03_ingress import SERVICES
from .trap_pods import (
    FAKE_DB,
    FAKE_DNS,
    GATEWAY_LOOKALIKES,
    KUBE_SYSTEM_OTHER,
    LOGGING,
    LOGGING_PROMETHEUS,
    NEXT_DOOR,
    SCRAPERS,
    SHOP,
    STAGING,
    STAGING_PODS,
)


# ------------------------------------------------------------------------------------------
def build() -> Notebook:
    nb = Notebook("08-capstone")
    nb.md("""
    # Exercise 8 — Capstone: secure the shop

    Write **all** the NetworkPolicies that lock the shop down, as one YAML answer with several
    documents separated by `---`. The tests apply them to a fresh shop and probe the full matrix,
    east-west and egress, including a pod added after your policies.

    Part A (task 1): east-west and egress. Part B (task 2): the shop on HTTPS through the shared
    Gateway (AKS application routing's `approuting-istio`), and nothing else gets in; the tests check the whole matrix again, end to end.

    **Total: 13 points.**
    """)
    nb.md(HOW_GRADED)
    nb.md(SHOP_TABLE)
    nb.code("""
    import grader

    lab = grader.connect("kindnet")
    lab.deploy("shop")
    """)
    nb.md(task("""
    ## Task 1 — Secure the shop (8 points)

    1. **Default deny**, ingress and egress, for every pod in `shop` (including pods added later).
    2. `shop/web` serves 80/TCP to every pod in every namespace (the public front end; traffic
       from outside the cluster will come through the shared Gateway in Part B).
    3. `shop/web` → `shop/api` on 8080/TCP, and `shop/api` → `shop/db` on 5432/TCP. No other
       traffic between shop pods.
    4. Prometheus (`app=prometheus` in the namespace labelled `purpose=monitoring`) scrapes
       9100/TCP (`metrics`) on every pod in `shop`; no one else may.
    5. Every pod in `shop` may resolve names: DNS to CoreDNS (`kube-system`, `k8s-app=kube-dns`) on
       53 over UDP and TCP, and to no other DNS server (not another pod of `kube-system`, nor a pod
       with the same label in another namespace).
    6. `shop/api` may call `api.example.com`: that one address (203.0.113.10), on 443/TCP only.
       Nothing else in `shop` leaves the cluster or reaches other namespaces.

    Points: 1 visible; hidden: east-west 2, monitoring 1, DNS 1, egress 2, a new pod 1. The visible
    parts of the monitoring, DNS and egress cells check one flow each that a common mistake gets
    wrong (Grafana scraping, another pod of `kube-system` on port 53, the database calling out).
    """))
    nb.answer("shop_policies", """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: default-deny-all, namespace: shop}
    spec:
      podSelector: {}
      policyTypes: [Ingress, Egress]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: allow-dns, namespace: shop}
    spec:
      podSelector: {}
      policyTypes: [Egress]
      egress:
      - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
          podSelector: {matchLabels: {k8s-app: kube-dns}}
        ports:
        - {protocol: UDP, port: 53}
        - {protocol: TCP, port: 53}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: allow-metrics, namespace: shop}
    spec:
      podSelector: {}
      policyTypes: [Ingress]
      ingress:
      - from:
        - namespaceSelector: {matchLabels: {purpose: monitoring}}
          podSelector: {matchLabels: {app: prometheus}}
        ports:
        - {protocol: TCP, port: 9100}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: web, namespace: shop}
    spec:
      podSelector: {matchLabels: {app: web}}
      policyTypes: [Ingress, Egress]
      ingress:
      - from:
        - namespaceSelector: {}
        ports:
        - {protocol: TCP, port: 80}
      egress:
      - to:
        - podSelector: {matchLabels: {app: api}}
        ports:
        - {protocol: TCP, port: 8080}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: api, namespace: shop}
    spec:
      podSelector: {matchLabels: {app: api}}
      policyTypes: [Ingress, Egress]
      ingress:
      - from:
        - podSelector: {matchLabels: {app: web}}
        ports:
        - {protocol: TCP, port: 8080}
      egress:
      - to:
        - podSelector: {matchLabels: {app: db}}
        ports:
        - {protocol: TCP, port: 5432}
      - to:
        - ipBlock: {cidr: 203.0.113.10/32}
        ports:
        - {protocol: TCP, port: 443}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: db, namespace: shop}
    spec:
      podSelector: {matchLabels: {app: db}}
      policyTypes: [Ingress]
      ingress:
      - from:
        - podSelector: {matchLabels: {app: api}}
        ports:
        - {protocol: TCP, port: 5432}
    """)
    nb.code("""
    # Try it (not graded): the full picture
    lab.reset(keep_topology=True)
    lab.apply(shop_policies)
    for m in lab.matrices():
        display(m)
    """)
    nb.code(try_cell(
        "# Try it (not graded): the traps. The tests also run Grafana next to Prometheus, a DNS look-alike (the",
        "# label k8s-app=kube-dns in namespace untrusted), a pod of kube-system that is not CoreDNS and a host",
        "# at 203.0.113.11, next to api.example.com. All of these must be blocked:",
        "lab.reset(keep_topology=True)",
        'lab.apply("""', pods_yaml(SCRAPERS[0], FAKE_DNS), '""")',
        "lab.apply(shop_policies)",
        'for src, dst, port in (("monitoring/grafana", "shop/web", "9100/TCP"), ("shop/web", "untrusted/fake-dns", "53/UDP"),',
        '                       ("shop/api", "203.0.113.10", "443/UDP"), ("shop/db", "203.0.113.10", "443/TCP")):',
        "    print(lab.probe(src, dst, port).summary())"))
    ctor = f'answer="shop_policies", {SHOP}'
    nb.test("cap_visible", 1, "NetworkPolicies in shop; the front end is reachable and reaches the API", ctor, visible="""
            check.expect_objects("NetworkPolicy", at_least=1, namespace="shop")
            check.expect_probe("untrusted/attacker", "shop/web", 80, verdict="allowed")
            check.expect_probe("shop/web", "shop/api", 8080, verdict="allowed")
            """)
    nb.test("cap_east_west", 2, "east-west: the three allowed flows and nothing else", ctor, hidden=f"""
            {STAGING}
            {indent(add_pods(*STAGING_PODS, FAKE_DB))}
            check.expect_probe("shop/web", "shop-staging/api", 8080, verdict="blocked")
            check.expect_probe("shop/api", "untrusted/fake-db", 5432, verdict="blocked")
            check.expect_matrix(80, sources="*", destinations="shop/*", default="allowed",
                                block=["shop/api -> shop/web", "shop/db -> shop/web"])
            check.expect_matrix(8080, sources="*", destinations="shop/*", default="blocked", allow=["shop/web -> shop/api"])
            check.expect_matrix(5432, sources="*", destinations="shop/*", default="blocked", allow=["shop/api -> shop/db"])
            check.expect_matrix(80, sources="shop/*", destinations="untrusted/*", default="blocked")
            check.expect_matrix(9090, sources="shop/*", destinations="monitoring/*", default="blocked")
            """)
    nb.test("cap_monitoring", 1, "only Prometheus scrapes, only the metrics port", ctor, visible=f"""
            {indent(add_pods(SCRAPERS[0]))}
            check.expect_probe("monitoring/grafana", "shop/web", 9100, verdict="blocked")
            """, hidden=f"""
            {indent(add_pods(SCRAPERS[1]))}
            {LOGGING}
            {indent(add_pods(LOGGING_PROMETHEUS))}
            check.expect_matrix(9100, sources="*", destinations="shop/*", default="blocked", allow=["monitoring/prometheus -> shop/*"])
            check.expect_probe("monitoring/prometheus", "shop/web", 9100, "UDP", verdict="blocked")
            """)
    nb.test("cap_dns", 1, "every shop pod resolves names through CoreDNS only", ctor, visible=f"""
            {indent(add_pods(KUBE_SYSTEM_OTHER))}
            check.expect_probe("shop/web", "kube-system/coredns-1", 53, "UDP", verdict="allowed")
            check.expect_probe("shop/web", "kube-system/dnsmasq", 53, "UDP", verdict="blocked")
            """, hidden=f"""
            {indent(add_pods(FAKE_DNS))}
            for pod in ("shop/web", "shop/api", "shop/db"):
                check.expect_probe(pod, "untrusted/fake-dns", 53, "UDP", verdict="blocked")
            check.expect_probe("shop/api", "kube-system/dnsmasq", 53, "TCP", verdict="blocked")
            for pod in ("shop/web", "shop/api", "shop/db"):
                check.expect_probe(pod, "kube-system/coredns-1", 53, "UDP", verdict="allowed")
                check.expect_probe(pod, "kube-system/coredns-0", 53, "TCP", verdict="allowed")
            check.expect_probe("shop/web", "blocked.example.net", 53, "UDP", verdict="blocked")
            check.expect_probe("shop/db", "kube-system/coredns-0", 9153, verdict="blocked")
            """)
    nb.test("cap_egress", 2, "only the API leaves the cluster, only to api.example.com:443", ctor, visible="""
            check.expect_probe("shop/db", "203.0.113.10", 443, verdict="blocked")
            """, hidden=f"""
            {NEXT_DOOR}
            check.expect_probe("shop/api", "203.0.113.11", 443, verdict="blocked")
            check.expect_probe("shop/api", "203.0.113.10", 443, "UDP", verdict="blocked")
            check.expect_probe("shop/api", "api.example.com", 443, verdict="allowed")
            check.expect_probe("shop/api", "api.example.com", 80, verdict="blocked")
            check.expect_probe("shop/api", "blocked.example.net", 443, verdict="blocked")
            check.expect_probe("shop/api", "vm.internal", 443, verdict="blocked")
            check.expect_probe("shop/web", "api.example.com", 443, verdict="blocked")
            check.expect_probe("shop/db", "api.example.com", 443, verdict="blocked")
            check.expect_probe("shop/db", "blocked.example.net", 80, verdict="blocked")
            """)
    nb.test("cap_new_pod", 1, "a pod added later is locked down too", ctor, hidden="""
            check.add_pod("shop/cache", {"app": "cache", "tier": "cache"}, [6379, "9100/TCP/metrics"])
            check.expect_matrix(6379, sources="*", destinations="shop/cache", default="blocked")
            check.expect_probe("monitoring/prometheus", "shop/cache", 9100, verdict="allowed")
            check.expect_probe("shop/cache", "kube-system/coredns-0", 53, "UDP", verdict="allowed")
            check.expect_probe("shop/cache", "api.example.com", 443, verdict="blocked")
            check.expect_probe("shop/cache", "shop/db", 5432, verdict="blocked")
            """)
    capstone_part_b(nb)
    return nb


SHARED_GATEWAY = [
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "shared", "namespace": "infra"},
     "spec": {"gatewayClassName": "approuting-istio",
              "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "shop.example.com",
                             "tls": {"mode": "Terminate", "certificateRefs": [{"name": "shop-tls"}]},
                             "allowedRoutes": {"namespaces": {"from": "All"}}}]}},
]
"""The platform team's shared Gateway of Part B (AKS application routing's GatewayClass)."""
GATEWAY_POD = "infra/shared-approuting-istio"
"""The Gateway's Envoy pod (``<gateway>-<class>``, in the Gateway's namespace)."""


def capstone_part_b(nb: Notebook) -> None:
    nb.md(task("""
    ## Task 2 — Part B: HTTPS through the shared Gateway, and only through it (5 points)

    In production nobody reaches the front end directly: every request comes through the
    platform team's **shared Gateway** `infra/shared`, of GatewayClass `approuting-istio` (AKS
    application routing's Gateway API implementation, lesson 3 section 4; its Envoy pod is
    `infra/shared-approuting-istio`, with the label `gateway.networking.k8s.io/gateway-name=shared`).
    Its HTTPS listener for `shop.example.com` terminates TLS with the Secret `infra/shop-tls` (a
    certificate from the company's "shop CA") and accepts routes from every namespace.

    The tests start from a **reference solution of Part A in which `shop/web` accepts nothing**
    (everything else exactly as task 1 asks; the setup cell below applies the same one, so your
    own Part A's names do not matter), install the GatewayClass, create the namespace `infra`,
    the Gateway and its Secret, and the Services `web` (80 → the front end's `http` port) and
    `api` (8080 → the back end's `http` port).

    Write, as one answer:

    1. an HTTPRoute `shop` in `shop`, attached to `infra/shared`, for `shop.example.com`: `/api`
       and every path below it → `api`, everything else → `web`;
    2. the NetworkPolicies that let **only the Gateway's pods** reach `shop/web` on 80/TCP and
       `shop/api` on 8080/TCP.

    The whole matrix of Part A must still hold: nothing else reaches the shop's pods directly, from
    any namespace, and the Gateway reaches nothing else.

    Points: 1 visible (an HTTPRoute; `https://shop.example.com/` answers with a trusted
    certificate), 4 hidden (routes; the full matrix — 2 points, its visible part checks that
    another pod of the `infra` namespace stays out; requests from outside and inside the cluster).
    """))
    nb.code(f"""
    from grader.tls import mint_ca

    ca = mint_ca("shop CA")
    b = grader.connect("kindnet")
    b.deploy("shop")
    b.install_gateway_class("approuting-istio")
    PART_A_REFERENCE = \'\'\'
    {indent(yaml.safe_dump_all(PART_A_BASELINE, sort_keys=False).strip(), 4)}
    \'\'\'
    PLATFORM = \'\'\'
    {indent(yaml.safe_dump_all([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "infra"}}, *SHARED_GATEWAY, *SERVICES],
                               sort_keys=False).strip(), 4)}
    \'\'\'
    print(*b.apply([PART_A_REFERENCE, PLATFORM, ca.issue(["shop.example.com"]).secret("shop-tls", "infra")]), sep="\\n")
    """)
    nb.answer("shop_entry", """
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata:
      name: shop
      namespace: shop
    spec:
      parentRefs:
      - name: shared
        namespace: infra
      hostnames:
      - shop.example.com
      rules:
      - matches:
        - path:
            type: PathPrefix
            value: /api
        backendRefs:
        - name: api
          port: 8080
      - backendRefs:
        - name: web
          port: 80
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: web-from-gateway
      namespace: shop
    spec:
      podSelector:
        matchLabels:
          app: web
      policyTypes:
      - Ingress
      ingress:
      - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: infra
          podSelector:
            matchLabels:
              gateway.networking.k8s.io/gateway-name: shared
        ports:
        - protocol: TCP
          port: 80
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: api-from-gateway
      namespace: shop
    spec:
      podSelector:
        matchLabels:
          app: api
      policyTypes:
      - Ingress
      ingress:
      - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: infra
          podSelector:
            matchLabels:
              gateway.networking.k8s.io/gateway-name: shared
        ports:
        - protocol: TCP
          port: 8080
    """)
    nb.code(try_cell(
        "# Try it (not graded). The tests also run another pod in the infra namespace and a pod elsewhere",
        "# with the Gateway's label: only the Gateway's own pod may get in.",
        'b.apply("""', pods_yaml(*GATEWAY_LOOKALIKES), '""")',
        "b.apply(shop_entry)",
        'address = b.address("gateway/infra/shared")',
        'for client, url in (("host", "https://shop.example.com/"), ("untrusted/attacker", "https://shop.example.com/api/cart")):',
        "    r = b.http(client, url, resolve=address, ca=ca)",
        '    print(client, url, r.http.render() if r.http else r.summary(), "| trusted:", r.http.certificate_trusted if r.http else None)',
        f'clients = ["{GATEWAY_POD}", "infra/debug", "untrusted/fake-gateway", "untrusted/attacker",',
        '           "monitoring/prometheus", "shop/web", "shop/api"]',
        'display(b.matrix(80, sources=clients, destinations=["shop/web"]))',
        'display(b.matrix(8080, sources=clients, destinations=["shop/api"]))'))
    setup = ("check.install_gateway_class()\n" + 'check.add_namespace("infra")\n' + given(*SERVICES, *SHARED_GATEWAY)
             + '\ncheck.tls_secret("shop-tls", "infra", ["shop.example.com"], ca="shop CA")')
    baseline = given(*PART_A_BASELINE)
    ctor = 'answer="shop_entry", topology="shop"'
    addr = 'lab_value("address", "gateway/infra/shared")'
    nb.test("cap_b_visible", 1, "an HTTPRoute in shop; HTTPS reaches the front end with a trusted certificate", ctor,
            visible=setup + f"""
check.expect_objects("HTTPRoute", count=1, namespace="shop")
check.expect_http("host", "https://shop.example.com/", resolve={addr}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)""")
    nb.test("cap_b_routes", 1, "routes on top of Part A", ctor, visible=setup, hidden=baseline + f"""
check.expect_http("host", "https://shop.example.com/api/cart", resolve={addr}, ca="shop CA", status=200, answered_by="shop/api", trusted=True)
check.expect_http("host", "https://shop.example.com/account", resolve={addr}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)
check.expect_http("host", "https://shop.example.com/apis", resolve={addr}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)""")
    nb.test("cap_b_matrix", 2, "the full matrix: only the Gateway's pod gets in, and only to web:80 and api:8080", ctor,
            visible=setup + "\n" + add_pods(GATEWAY_LOOKALIKES[0]) + """
check.expect_probe("infra/debug", "shop/web", 80, verdict="blocked")""",
            hidden=baseline + "\n" + add_pods(GATEWAY_LOOKALIKES[1]) + f"""
check.expect_matrix(80, sources=["*", "infra/*"], destinations="shop/*", default="blocked", allow=["{GATEWAY_POD} -> shop/web"])
check.expect_matrix(8080, sources=["*", "infra/*"], destinations="shop/*", default="blocked", allow=["shop/web -> shop/api", "{GATEWAY_POD} -> shop/api"])
check.expect_matrix(5432, sources=["*", "infra/*"], destinations="shop/*", default="blocked", allow=["shop/api -> shop/db"])
check.expect_matrix(9100, sources=["*", "infra/*"], destinations="shop/*", default="blocked", allow=["monitoring/prometheus -> shop/*"])""")
    nb.test("cap_b_clients", 1, "requests from outside and other namespaces arrive through the Gateway", ctor, visible=setup,
            hidden=baseline + f"""
for client in ("untrusted/attacker", "monitoring/prometheus"):
    check.expect_http(client, "https://shop.example.com/", resolve={addr}, ca="shop CA", status=200, answered_by="shop/web")
check.expect_http("shop/db", "https://shop.example.com/", resolve={addr}, verdict="blocked")
check.expect_http("vm.internal", "https://shop.example.com/api/orders", resolve={addr}, ca="shop CA", status=200, answered_by="shop/api")
check.expect_probe("shop/api", "api.example.com", 443, verdict="allowed")""")


PART_A_BASELINE = [
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny-all", "namespace": "shop"},
     "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-dns", "namespace": "shop"},
     "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                                                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                                                                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-metrics", "namespace": "shop"},
     "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"purpose": "monitoring"}},
                                                                                  "podSelector": {"matchLabels": {"app": "prometheus"}}}],
                                                                         "ports": [{"protocol": "TCP", "port": 9100}]}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"],
              "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"protocol": "TCP", "port": 8080}]}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "api", "namespace": "shop"},
     "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress", "Egress"],
              "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"protocol": "TCP", "port": 8080}]}],
              "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"protocol": "TCP", "port": 5432}]},
                         {"to": [{"ipBlock": {"cidr": "203.0.113.10/32"}}], "ports": [{"protocol": "TCP", "port": 443}]}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "db", "namespace": "shop"},
     "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
              "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"protocol": "TCP", "port": 5432}]}]}},
]
"""Part A's reference solution without the front end's ingress rule (the tests of Part B, and its setup cell, start from it)."""
