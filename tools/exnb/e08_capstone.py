"""Exercise 8 — Capstone: every NetworkPolicy of the shop (Part A), then HTTPS through the in-cluster proxy (Part B)."""

from __future__ import annotations

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
    CONTROLLER_LOOKALIKES,
    FAKE_DB,
    FAKE_DNS,
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

    Part A (task 1): east-west and egress. Part B (task 2): the shop on HTTPS through the ingress
    controller, and nothing else gets in; the tests check the whole matrix again, end to end.

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
       from outside the cluster will come through the ingress controller in Part B).
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


def capstone_part_b(nb: Notebook) -> None:
    nb.md(task("""
    ## Task 2 — Part B: HTTPS through the ingress controller, and only through it (5 points)

    In production nobody reaches the front end directly: every request comes through
    **ingress-nginx**. The tests start from a **reference solution of Part A in which `shop/web` no
    longer accepts port 80 from every namespace** (everything else exactly as task 1 asks), then
    install ingress-nginx (IngressClass `nginx`; its controller pod `ingress-nginx/ingress-nginx-controller`
    has the labels `app.kubernetes.io/name=ingress-nginx` and `app.kubernetes.io/component=controller`),
    create the Services `web` (80 → the front end's `http` port) and `api` (8080 → the back end's
    `http` port) and the TLS Secret `shop-tls` (a certificate for `shop.example.com` from the
    company's "shop CA", as in exercise 3).

    Write, as one answer:

    1. an Ingress `shop` (class `nginx`) for `https://shop.example.com`: `/api` and every path below
       it → `api`, everything else → `web`, terminating TLS with `shop-tls`;
    2. the NetworkPolicies that let **only the ingress controller** reach `shop/web` on 80/TCP and
       `shop/api` on 8080/TCP.

    The whole matrix of Part A must still hold: nothing else reaches the shop's pods directly, from
    any namespace, and the controller reaches nothing else.

    Points: 1 visible (an Ingress; `https://shop.example.com/` answers with a trusted certificate),
    4 hidden (routes and TLS; the full matrix — 2 points, its visible part checks that another pod
    of the `ingress-nginx` namespace stays out; requests from outside and inside the cluster).
    """))
    nb.code("""
    from grader.tls import mint_ca

    ca = mint_ca("shop CA")
    b = grader.connect("kindnet")
    b.deploy("shop")
    b.install_ingress_controller("ingress-nginx")
    b.apply(shop_policies)   # your Part A ...
    b.delete("networkpolicy/shop/web", missing_ok=True)   # ... without the front end's own rules, as in the tests (adapt if yours differ)
    b.apply([ca.issue(["shop.example.com"]).secret("shop-tls", "shop"),
             {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
             {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"}, "spec": {"selector": {"app": "api"}, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}}])
    print(b.objects())
    """)
    nb.answer("shop_ingress", """
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata:
      name: shop
      namespace: shop
    spec:
      ingressClassName: nginx
      tls:
      - hosts:
        - shop.example.com
        secretName: shop-tls
      rules:
      - host: shop.example.com
        http:
          paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 80
          - path: /api
            pathType: Prefix
            backend:
              service:
                name: api
                port:
                  number: 8080
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: web-from-ingress
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
              kubernetes.io/metadata.name: ingress-nginx
          podSelector:
            matchLabels:
              app.kubernetes.io/name: ingress-nginx
              app.kubernetes.io/component: controller
        ports:
        - protocol: TCP
          port: 80
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: api-from-ingress
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
              kubernetes.io/metadata.name: ingress-nginx
          podSelector:
            matchLabels:
              app.kubernetes.io/name: ingress-nginx
              app.kubernetes.io/component: controller
        ports:
        - protocol: TCP
          port: 8080
    """)
    nb.code(try_cell(
        "# Try it (not graded). The tests also run another pod in the ingress-nginx namespace and a pod elsewhere",
        "# with the controller's labels: only the controller itself may get in.",
        'b.apply("""', pods_yaml(*CONTROLLER_LOOKALIKES), '""")',
        "b.apply(shop_ingress)",
        'address = b.address("ingress/shop/shop")',
        'for client, url in (("host", "https://shop.example.com/"), ("untrusted/attacker", "https://shop.example.com/api/cart")):',
        "    r = b.http(client, url, resolve=address, ca=ca)",
        '    print(client, url, r.http.render(), "| trusted:", r.http.certificate_trusted)',
        'clients = ["ingress-nginx/ingress-nginx-controller", "ingress-nginx/debug", "untrusted/fake-controller", "untrusted/attacker",',
        '           "monitoring/prometheus", "shop/web", "shop/api"]',
        'display(b.matrix(80, sources=clients, destinations=["shop/web"]))',
        'display(b.matrix(8080, sources=clients, destinations=["shop/api"]))'))
    setup = ("check.install_ingress_controller()\n" + given(*SERVICES)
             + '\ncheck.tls_secret("shop-tls", "shop", ["shop.example.com"], ca="shop CA")')
    baseline = given(*PART_A_BASELINE)
    ctor = 'answer="shop_ingress", topology="shop"'
    addr = 'lab_value("address", "ingress/shop/shop")'
    nb.test("cap_b_visible", 1, "an Ingress in shop; HTTPS reaches the front end with a trusted certificate", ctor,
            visible=setup + f"""
check.expect_objects("Ingress", count=1, namespace="shop")
check.expect_http("host", "https://shop.example.com/", resolve={addr}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)""")
    nb.test("cap_b_routes", 1, "routes and TLS on top of Part A", ctor, visible=setup, hidden=baseline + f"""
check.expect_http("host", "https://shop.example.com/api/cart", resolve={addr}, ca="shop CA", status=200, answered_by="shop/api", trusted=True)
check.expect_http("host", "https://shop.example.com/account", resolve={addr}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)
check.expect_http("host", "http://shop.example.com/", resolve={addr}, status=308, location="https://shop.example.com/")""")
    nb.test("cap_b_matrix", 2, "the full matrix: only the controller gets in, and only to web:80 and api:8080", ctor,
            visible=setup + "\n" + add_pods(CONTROLLER_LOOKALIKES[0]) + """
check.expect_probe("ingress-nginx/debug", "shop/web", 80, verdict="blocked")""",
            hidden=baseline + "\n" + add_pods(CONTROLLER_LOOKALIKES[1]) + """
check.expect_matrix(80, sources=["*", "ingress-nginx/*"], destinations="shop/*", default="blocked", allow=["ingress-nginx/ingress-nginx-controller -> shop/web"])
check.expect_matrix(8080, sources=["*", "ingress-nginx/*"], destinations="shop/*", default="blocked", allow=["shop/web -> shop/api", "ingress-nginx/ingress-nginx-controller -> shop/api"])
check.expect_matrix(5432, sources=["*", "ingress-nginx/*"], destinations="shop/*", default="blocked", allow=["shop/api -> shop/db"])
check.expect_matrix(9100, sources=["*", "ingress-nginx/*"], destinations="shop/*", default="blocked", allow=["monitoring/prometheus -> shop/*"])""")
    nb.test("cap_b_clients", 1, "requests from outside and other namespaces arrive through the controller", ctor, visible=setup,
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
"""Part A's reference solution without the front end's ingress rule (the tests of Part B start from it)."""
