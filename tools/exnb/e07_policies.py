"""Exercise 7 — Network policies: isolation, AND/OR peers, namespaces by name, named ports, egress."""

from __future__ import annotations

import ast

from grader.checks.queries import probe_verdict
from grader.lab.sim import SimulatedLab
from nbbuild import Notebook

from .common import (
    DEFAULT_DENY,
    HOW_GRADED,
    SHOP_TABLE,
    add_pods,
    indent,
    namespace_yaml,
    pods_yaml,
    task,
    try_cell,
)
from .trap_pods import (
    API_CLIENTS,
    B_NEXT,
    DB_CLIENTS,
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
    nb = Notebook("07-network-policies")
    nb.md("""
    # Exercise 7 — Network policies

    Lesson 7 showed how NetworkPolicies isolate pods. Here you write them for the shop, and the
    tests probe the traffic. Tasks 1–4, 7 and 8 use the `shop`; tasks 5–6 use the upstream e2e
    topology (namespaces `x`, `y`, `z` labelled `ns=<name>`, pods `a`, `b`, `c` labelled
    `pod=<name>`, each serving 80 and 81 on TCP, UDP and SCTP with ports named
    `serve-<port>-<protocol>`, e.g. `serve-81-udp`).

    **Total: 26 points.**
    """)
    nb.md(HOW_GRADED)
    nb.md(SHOP_TABLE)
    nb.code("""
    import grader

    lab = grader.connect("kindnet")   # the simulated cluster, or kind if you have Docker
    lab.deploy("shop")
    for pod in lab.pods():
        print(f"{str(pod.ref):24} {pod.labels.render():28} {', '.join(p.render() for p in pod.ports)}")
    """)

    # -- task 1 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 1 — Default deny (3 points)

    Write a NetworkPolicy named `default-deny-ingress` in namespace `shop` that makes **every pod in
    `shop`** (including pods created later) refuse all incoming connections, and leaves outgoing
    traffic alone.

    Points: 1 visible test, 2 hidden tests (every flow into `shop`; nothing else changed: the
    visible part of that cell checks that the API still resolves names and calls the payment API).
    """))
    nb.answer("default_deny", """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: default-deny-ingress
      namespace: shop
    spec:
      podSelector: {}
      policyTypes:
      - Ingress
    """)
    nb.code("""
    # Try it (not graded): apply your answer to your lab and look at every port.
    lab.reset(keep_topology=True)
    lab.apply(default_deny)
    for m in lab.matrices():
        display(m)
    # Outgoing traffic must not change: the API still resolves names (DNS) and calls the payment API.
    for dst, port, proto in (("kube-system/coredns-0", 53, "UDP"), ("api.example.com", 443, "TCP")):
        print(lab.probe("shop/api", dst, port, proto).summary())
    """)
    nb.test("np_default_deny_visible", 1, "one NetworkPolicy in shop; the attacker cannot reach the web page",
            f'answer="default_deny", {SHOP}', visible="""
            check.expect_objects("NetworkPolicy", count=1, namespace="shop")
            check.expect_probe("untrusted/attacker", "shop/web", 80, verdict="blocked")
            """)
    nb.test("np_default_deny_all_in", 1, "every connection into shop is blocked",
            f'answer="default_deny", {SHOP}', hidden="""
            check.add_pod("shop/cache", {"app": "cache"}, [6379, "9100/TCP/metrics"])
            for port in (80, 8080, 5432, 6379, 9100):
                check.expect_matrix(port, sources="*", destinations="shop/*", default="blocked")
            check.expect_probe("shop/web", "shop/api", 8080, "UDP", verdict="blocked")
            """)
    nb.test("np_default_deny_rest", 1, "egress and other namespaces are unchanged",
            f'answer="default_deny", {SHOP}', visible="""
            check.expect_probe("shop/api", "kube-system/coredns-0", 53, "UDP", verdict="allowed")
            check.expect_probe("shop/api", "api.example.com", 443, verdict="allowed")
            """, hidden="""
            check.expect_matrix(80, sources="*", destinations="untrusted/*", default="allowed")
            check.expect_matrix(9090, sources="*", destinations="monitoring/*", default="allowed")
            check.expect_probe("shop/api", "kube-system/coredns-0", 53, "TCP", verdict="allowed")
            check.expect_probe("shop/db", "blocked.example.net", 80, verdict="allowed")
            """)

    # -- task 2 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 2 — The back end only from the front end (3 points)

    `shop/api` (the back end, `tier=backend`) must accept connections **only from the front end**
    (pods labelled `tier=frontend` in namespace `shop`) and **only on its HTTP port 8080/TCP**.
    Name the policy `api-allow-frontend`. Nothing else is applied (no default deny): your policy
    alone must do it, and must not change anything for the other pods.

    Points: 1 visible, 2 hidden (who may connect — its visible part checks that the database does
    not get in; on which ports, and nothing else changed).
    """))
    nb.answer("api_from_frontend", """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: api-allow-frontend
      namespace: shop
    spec:
      podSelector:
        matchLabels:
          tier: backend
      policyTypes:
      - Ingress
      ingress:
      - from:
        - podSelector:
            matchLabels:
              tier: frontend
        ports:
        - protocol: TCP
          port: 8080
    """)
    nb.code(try_cell(
        "# Try it (not graded). The tests add pods like these: a second front end, a debugging pod with app=web",
        "# only, and front-end look-alikes in other namespaces (shop-staging has the shop's team label).",
        "# Which of them should reach the API?",
        "lab.reset(keep_topology=True)",
        'lab.apply("""', pods_yaml(*API_CLIENTS), "---", namespace_yaml("shop-staging", {"team": "shop"}), "---", pods_yaml(STAGING_PODS[0]), '""")',
        "lab.apply(api_from_frontend)",
        'print(lab.probe("shop/db", "shop/api", 8080).explain())',
        'display(lab.matrix(8080, destinations=["shop/api"]))'))
    nb.test("np_api_visible", 1, "one NetworkPolicy in shop; the front end reaches the API",
            f'answer="api_from_frontend", {SHOP}', visible="""
            check.expect_objects("NetworkPolicy", count=1, namespace="shop")
            check.expect_probe("shop/web", "shop/api", 8080, verdict="allowed")
            """)
    nb.test("np_api_who", 1, "only the front end of shop reaches the API",
            f'answer="api_from_frontend", {SHOP}', visible="""
            check.expect_probe("shop/db", "shop/api", 8080, verdict="blocked")
            """, hidden=f"""
            {indent(add_pods(*API_CLIENTS))}
            {STAGING}
            {indent(add_pods(STAGING_PODS[0]))}
            check.expect_matrix(8080, sources="*", destinations="shop/api", default="blocked",
                                allow=["shop/web -> shop/api", "shop/web-v2 -> shop/api"])
            """)
    nb.test("np_api_ports", 1, "only port 8080/TCP, and the other pods are unaffected",
            f'answer="api_from_frontend", {SHOP}', hidden="""
            check.expect_matrix(9100, sources="*", destinations="shop/api", default="blocked")
            check.expect_probe("shop/web", "shop/api", 8080, "UDP", verdict="blocked")
            check.expect_matrix(80, sources="*", destinations="shop/web", default="allowed")
            check.expect_matrix(5432, sources="*", destinations="shop/db", default="allowed")
            check.expect_probe("shop/api", "api.example.com", 443, verdict="allowed")
            """)

    # -- task 3 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 3 — The database only from the tier that uses it (3 points)

    `shop/db` (`tier=database`) must accept PostgreSQL connections (5432/TCP) **only from the
    back-end tier**: every pod labelled `tier=backend` in namespace `shop`, including back-end pods
    added later. Nothing else may reach the database, on any port. Name it `db-allow-backend`.
    No other policy is applied.

    Points: 1 visible, 2 hidden (who may connect — its visible part checks that the front end does
    not get in; which ports).
    """))
    nb.answer("db_from_backend", """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: db-allow-backend
      namespace: shop
    spec:
      podSelector:
        matchLabels:
          tier: database
      policyTypes:
      - Ingress
      ingress:
      - from:
        - podSelector:
            matchLabels:
              tier: backend
        ports:
        - protocol: TCP
          port: 5432
    """)
    nb.code(try_cell(
        "# Try it (not graded). The tests add pods like these: another back-end pod, and look-alikes elsewhere",
        "# (shop-staging has the shop's team label).",
        "lab.reset(keep_topology=True)",
        'lab.apply("""', pods_yaml(*DB_CLIENTS), "---", namespace_yaml("shop-staging", {"team": "shop"}), "---", pods_yaml(STAGING_PODS[1]), '""")',
        "lab.apply(db_from_backend)",
        'display(lab.matrix(5432, destinations=["shop/db"]))'))
    nb.test("np_db_visible", 1, "one NetworkPolicy in shop; the API reaches the database",
            f'answer="db_from_backend", {SHOP}', visible="""
            check.expect_objects("NetworkPolicy", count=1, namespace="shop")
            check.expect_probe("shop/api", "shop/db", 5432, verdict="allowed")
            """)
    nb.test("np_db_who", 1, "exactly the back-end tier of shop reaches 5432",
            f'answer="db_from_backend", {SHOP}', visible="""
            check.expect_probe("shop/web", "shop/db", 5432, verdict="blocked")
            """, hidden=f"""
            {indent(add_pods(*DB_CLIENTS))}
            {STAGING}
            {indent(add_pods(STAGING_PODS[1]))}
            check.expect_matrix(5432, sources="*", destinations="shop/db", default="blocked",
                                allow=["shop/api -> shop/db", "shop/api-v2 -> shop/db"])
            """)
    nb.test("np_db_ports", 1, "no other port or protocol reaches the database; other pods unaffected",
            f'answer="db_from_backend", {SHOP}', hidden="""
            check.expect_matrix(9100, sources="*", destinations="shop/db", default="blocked")
            check.expect_probe("shop/api", "shop/db", 5432, "UDP", verdict="blocked")
            check.expect_matrix(8080, sources="*", destinations="shop/api", default="allowed")
            check.expect_probe("shop/db", "api.example.com", 443, verdict="allowed")
            """)

    # -- task 4 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 4 — Let monitoring scrape the metrics (3 points)

    The shop now runs with task 1's `default-deny-ingress` (the tests apply it before your answer).
    Allow **Prometheus** — pods labelled `app=prometheus` **in the namespace labelled
    `purpose=monitoring`** — to scrape the metrics port (9100/TCP, named `metrics`) of **every pod in
    `shop`**. Nothing else. Name it `allow-metrics-scraping`.

    Two conditions on one peer: is that AND or OR in YAML? Points: 1 visible, 2 hidden (who may
    scrape — its visible part checks that Grafana, another pod of `monitoring`, may not; only the
    metrics port, on every pod).
    """))
    nb.answer("allow_metrics", """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: allow-metrics-scraping
      namespace: shop
    spec:
      podSelector: {}
      policyTypes:
      - Ingress
      ingress:
      - from:
        - namespaceSelector:
            matchLabels:
              purpose: monitoring
          podSelector:
            matchLabels:
              app: prometheus
        ports:
        - protocol: TCP
          port: metrics
    """)
    nb.code(try_cell(
        "# Try it (not graded). The tests add pods like these: Grafana next to Prometheus, and pods labelled",
        "# app=prometheus outside the monitoring namespace (logging belongs to the same team). Only",
        "# monitoring/prometheus may scrape.",
        "lab.reset(keep_topology=True)",
        f"lab.apply({DEFAULT_DENY})",
        'lab.apply("""', pods_yaml(*SCRAPERS), "---", namespace_yaml("logging", {"team": "platform"}), "---", pods_yaml(LOGGING_PROMETHEUS), '""")',
        "lab.apply(allow_metrics)",
        'display(lab.matrix(9100, destinations=["shop/api", "shop/db", "shop/web"]))'))
    nb.test("np_metrics_visible", 1, "one NetworkPolicy in shop; Prometheus scrapes the front end",
            f'answer="allow_metrics", {SHOP}', visible=f"""
            check.given({DEFAULT_DENY})
            check.expect_objects("NetworkPolicy", count=1, namespace="shop")
            check.expect_probe("monitoring/prometheus", "shop/web", 9100, verdict="allowed")
            """)
    nb.test("np_metrics_who", 1, "only Prometheus in the monitoring namespace scrapes",
            f'answer="allow_metrics", {SHOP}', visible=f"""
            check.given({DEFAULT_DENY})
            {indent(add_pods(SCRAPERS[0]))}
            check.expect_probe("monitoring/grafana", "shop/web", 9100, verdict="blocked")
            """, hidden=f"""
            {indent(add_pods(*SCRAPERS[1:]))}
            {LOGGING}
            {indent(add_pods(LOGGING_PROMETHEUS))}
            check.expect_matrix(9100, sources="*", destinations="shop/*", default="blocked",
                                allow=["monitoring/prometheus -> shop/*"])
            """)
    nb.test("np_metrics_ports", 1, "only the metrics port, on every pod of shop",
            f'answer="allow_metrics", {SHOP}', visible=f"""
            check.given({DEFAULT_DENY})
            """, hidden="""
            check.add_pod("shop/cache", {"app": "cache", "tier": "cache"}, [6379, "9100/TCP/metrics"])
            check.expect_probe("monitoring/prometheus", "shop/cache", 9100, verdict="allowed")
            check.expect_probe("monitoring/prometheus", "shop/web", 80, verdict="blocked")
            check.expect_probe("monitoring/prometheus", "shop/api", 8080, verdict="blocked")
            check.expect_probe("monitoring/prometheus", "shop/db", 5432, verdict="blocked")
            check.expect_probe("monitoring/prometheus", "shop/cache", 6379, verdict="blocked")
            check.expect_probe("monitoring/prometheus", "shop/web", 9100, "UDP", verdict="blocked")
            """)

    # -- task 5 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 5 — AND or OR? (4 points)

    On the e2e topology, in namespace `x`:

    * `peer_and` — policy `a-from-y-b`: `x/a` accepts connections **only from pods labelled
      `pod=b` in namespace `y`** (both conditions at once).
    * `peer_or` — policy `c-from-y-or-b`: `x/c` accepts connections **from every pod in namespace
      `y`, and from pods labelled `pod=b` in any namespace**.

    Both on every port and protocol. Points: per answer 1 visible and 1 hidden (the full matrix; its
    visible part checks the flow that the AND/OR mix-up gets wrong).
    """))
    nb.code("""
    lab_e2e = grader.connect("kindnet")
    lab_e2e.deploy("e2e")
    display(lab_e2e.matrix(80))
    """)
    nb.answer("peer_and", """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: a-from-y-b
      namespace: x
    spec:
      podSelector:
        matchLabels:
          pod: a
      policyTypes:
      - Ingress
      ingress:
      - from:
        - namespaceSelector:
            matchLabels:
              ns: "y"
          podSelector:
            matchLabels:
              pod: b
    """)
    nb.test("np_and_visible", 1, "one NetworkPolicy in x; y/b reaches x/a",
            'answer="peer_and", topology="e2e"', visible="""
            check.expect_objects("NetworkPolicy", count=1, namespace="x")
            check.expect_probe("y/b", "x/a", 80, verdict="allowed")
            """)
    nb.test("np_and_matrix", 1, "only y/b reaches x/a, on every port and protocol",
            'answer="peer_and", topology="e2e"', visible="""
            check.expect_probe("y/a", "x/a", 80, verdict="blocked")
            """, hidden="""
            for port in ("80/TCP", "81/UDP", "81/SCTP"):
                check.expect_matrix(port, sources="*", destinations="x/a", default="blocked", allow=["y/b -> x/a"])
            check.expect_matrix(80, sources="*", destinations="x/b", default="allowed")
            """)
    nb.answer("peer_or", """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: c-from-y-or-b
      namespace: x
    spec:
      podSelector:
        matchLabels:
          pod: c
      policyTypes:
      - Ingress
      ingress:
      - from:
        - namespaceSelector:
            matchLabels:
              ns: "y"
        - namespaceSelector: {}
          podSelector:
            matchLabels:
              pod: b
    """)
    nb.code("""
    # Try both (not graded)
    lab_e2e.reset(keep_topology=True)
    lab_e2e.apply(peer_and)
    lab_e2e.apply(peer_or)
    display(lab_e2e.matrix(80))
    """)
    nb.test("np_or_visible", 1, "one NetworkPolicy in x; y/a reaches x/c",
            'answer="peer_or", topology="e2e"', visible="""
            check.expect_objects("NetworkPolicy", count=1, namespace="x")
            check.expect_probe("y/a", "x/c", 80, verdict="allowed")
            """)
    nb.test("np_or_matrix", 1, "all of y and every pod b reach x/c; nobody else",
            'answer="peer_or", topology="e2e"', visible="""
            check.expect_probe("z/b", "x/c", 80, verdict="allowed")
            """, hidden="""
            for port in ("80/TCP", "81/UDP"):
                check.expect_matrix(port, sources="*", destinations="x/c", default="blocked",
                                    allow=["y/* -> x/c", "*/b -> x/c"])
            """)

    # -- task 6 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 6 — Named ports and port ranges (3 points)

    Write one policy `b-named-ports` in namespace `x` that lets **every pod of every namespace**
    reach the pods labelled `pod=b` in `x` on

    1. the UDP port named `serve-81-udp`, **by its name** (a new version of `b` may serve that
       port on another number: your rule must follow it), and
    2. TCP ports 80 **through** 81, as **one** port entry (`endPort`).

    Everything else to them is blocked. Points: 1 visible, 2 hidden (the named UDP port — its
    visible part checks 81/UDP; the TCP range and nothing else).
    """))
    nb.answer("named_ports", """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: b-named-ports
      namespace: x
    spec:
      podSelector:
        matchLabels:
          pod: b
      policyTypes:
      - Ingress
      ingress:
      - ports:
        - protocol: UDP
          port: serve-81-udp
        - protocol: TCP
          port: 80
          endPort: 81
    """)
    nb.code(try_cell(
        "# Try it (not graded). The tests also run x/b-next, a new version of b that serves serve-81-udp on 82.",
        "lab_e2e.reset(keep_topology=True)",
        'lab_e2e.apply("""', pods_yaml(B_NEXT), '""")',
        "lab_e2e.apply(named_ports)",
        'for dst, port, proto in (("x/b", 80, "TCP"), ("x/b", 81, "TCP"), ("x/b", 80, "UDP"), ("x/b", 81, "UDP"), ("x/b-next", 82, "UDP")):',
        '    print(lab_e2e.probe("z/a", dst, port, proto).summary())'))
    nb.test("np_ports_visible", 1, "one NetworkPolicy in x; z/a reaches x/b on 80/TCP",
            'answer="named_ports", topology="e2e"', visible="""
            check.expect_objects("NetworkPolicy", count=1, namespace="x")
            check.expect_probe("z/a", "x/b", 80, verdict="allowed")
            """)
    nb.test("np_ports_udp", 1, "the named UDP port is open to everyone, whatever its number; the other UDP port is not",
            'answer="named_ports", topology="e2e"', visible="""
            check.expect_probe("z/a", "x/b", "81/UDP", verdict="allowed")
            """, hidden=f"""
            {indent(add_pods(B_NEXT))}
            check.expect_probe("z/a", "x/b-next", "82/UDP", verdict="allowed")
            check.expect_matrix("81/UDP", sources="*", destinations="x/b", default="allowed")
            check.expect_matrix("80/UDP", sources="*", destinations="x/b", default="blocked")
            """)
    nb.test("np_ports_range", 1, "TCP 80-81 open to everyone, SCTP blocked, other pods unaffected",
            'answer="named_ports", topology="e2e"', hidden="""
            check.expect_matrix("80/TCP", sources="*", destinations="x/b", default="allowed")
            check.expect_matrix("81/TCP", sources="*", destinations="x/b", default="allowed")
            check.expect_matrix("80/SCTP", sources="*", destinations="x/b", default="blocked")
            check.expect_probe("z/c", "x/b", 82, verdict="blocked")
            check.expect_matrix("80/UDP", sources="*", destinations="x/a", default="allowed")
            """)

    # -- task 7 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 7 — Egress: DNS and one external API (4 points)

    `shop/api` (`app=api`) may open connections **only** to

    * the database, `shop/db`, on 5432/TCP;
    * DNS: the CoreDNS pods (namespace `kube-system`, label `k8s-app=kube-dns`) on port 53 over
      **UDP and TCP**, and no other DNS server: not another pod of `kube-system`, nor a pod with
      the same label in another namespace;
    * the payment API `api.example.com`: that one address (203.0.113.10), on 443/TCP only.

    Name it `api-egress`. Its **ingress must stay as it is**, and no other pod is affected.
    Points: 1 visible, 3 hidden (DNS — its visible part checks another pod of `kube-system`; the
    outside world; inside the cluster — its visible part checks that the front end still reaches
    the API).
    """))
    nb.answer("api_egress", """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: api-egress
      namespace: shop
    spec:
      podSelector:
        matchLabels:
          app: api
      policyTypes:
      - Egress
      egress:
      - to:
        - podSelector:
            matchLabels:
              app: db
        ports:
        - protocol: TCP
          port: 5432
      - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
          podSelector:
            matchLabels:
              k8s-app: kube-dns
        ports:
        - protocol: UDP
          port: 53
        - protocol: TCP
          port: 53
      - to:
        - ipBlock:
            cidr: 203.0.113.10/32
        ports:
        - protocol: TCP
          port: 443
    """)
    nb.code(try_cell(
        "# Try it (not graded). The tests also run a DNS look-alike (the label k8s-app=kube-dns in namespace",
        "# untrusted), a pod of kube-system that is not CoreDNS, and a host at 203.0.113.11, next to",
        "# api.example.com: none of them may be reached. Incoming connections to the API must still work.",
        "lab.reset(keep_topology=True)",
        'lab.apply("""', pods_yaml(FAKE_DNS), '""")',
        "lab.apply(api_egress)",
        'for dst, port, proto in (("kube-system/coredns-0", 53, "UDP"), ("untrusted/fake-dns", 53, "UDP"), ("api.example.com", 443, "TCP"),',
        '                         ("api.example.com", 443, "UDP"), ("blocked.example.net", 443, "TCP")):',
        '    print(lab.probe("shop/api", dst, port, proto).explain(), end="\\n\\n")',
        'print(lab.probe("shop/web", "shop/api", 8080).summary())'))
    nb.test("np_egress_visible", 1, "one NetworkPolicy in shop; the API reaches api.example.com on 443",
            f'answer="api_egress", {SHOP}', visible="""
            check.expect_objects("NetworkPolicy", count=1, namespace="shop")
            check.expect_probe("shop/api", "api.example.com", 443, verdict="allowed")
            """)
    nb.test("np_egress_dns", 1, "DNS to CoreDNS over UDP and TCP, and to no other server",
            f'answer="api_egress", {SHOP}', visible=f"""
            {indent(add_pods(KUBE_SYSTEM_OTHER))}
            check.expect_probe("shop/api", "kube-system/dnsmasq", 53, "UDP", verdict="blocked")
            """, hidden=f"""
            {indent(add_pods(FAKE_DNS))}
            check.expect_probe("shop/api", "untrusted/fake-dns", 53, "UDP", verdict="blocked")
            for pod in ("kube-system/coredns-0", "kube-system/coredns-1"):
                check.expect_probe("shop/api", pod, 53, "UDP", verdict="allowed")
                check.expect_probe("shop/api", pod, 53, "TCP", verdict="allowed")
            check.expect_probe("shop/api", "kube-system/coredns-0", 9153, verdict="blocked")
            check.expect_probe("shop/api", "blocked.example.net", 53, "UDP", verdict="blocked")
            check.expect_probe("shop/api", "api.example.com", 53, "UDP", verdict="blocked")
            """)
    nb.test("np_egress_outside", 1, "only api.example.com on 443/TCP outside the cluster",
            f'answer="api_egress", {SHOP}', hidden=f"""
            {NEXT_DOOR}
            check.expect_probe("shop/api", "203.0.113.11", 443, verdict="blocked")
            check.expect_probe("shop/api", "203.0.113.10", 443, "UDP", verdict="blocked")
            check.expect_probe("shop/api", "203.0.113.10", 80, verdict="blocked")
            check.expect_probe("shop/api", "198.51.100.20", 443, verdict="blocked")
            check.expect_probe("shop/api", "172.18.0.100", 443, verdict="blocked")
            check.expect_probe("shop/web", "api.example.com", 443, verdict="allowed")
            check.expect_probe("shop/db", "blocked.example.net", 443, verdict="allowed")
            """)
    nb.test("np_egress_inside", 1, "inside the cluster: only the database; ingress unchanged",
            f'answer="api_egress", {SHOP}', visible="""
            check.expect_probe("shop/web", "shop/api", 8080, verdict="allowed")
            """, hidden=f"""
            {indent(add_pods(FAKE_DB))}
            check.expect_matrix(5432, sources="shop/api", destinations="*", default="blocked", allow=["shop/api -> shop/db"])
            check.expect_matrix(80, sources="shop/api", destinations="*", default="blocked")
            check.expect_matrix(9100, sources="shop/api", destinations="*", default="blocked")
            check.expect_matrix(9090, sources="shop/api", destinations="*", default="blocked")
            check.expect_matrix(8080, sources="*", destinations="shop/api", default="allowed")
            check.expect_probe("shop/web", "kube-system/coredns-0", 53, "UDP", verdict="allowed")
            """)
    # -- task 8 ------------------------------------------------------------------------------
    anywhere = ('"{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: web-egress-anywhere, namespace: shop}, '
                'spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}}"')

    def verdict(profile: str, dst: str, port: int) -> str:
        lab = SimulatedLab(profile)
        lab.deploy("shop")
        lab.apply(ast.literal_eval(anywhere))
        return probe_verdict(lab, "shop/web", dst, port).value

    nb.md(task("""
    ## Task 8 — Same YAML, different CNI (3 points)

    This policy lets `shop/web` send to `0.0.0.0/0` — "anywhere", one would think:

    ```yaml
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: web-egress-anywhere, namespace: shop}
    spec:
      podSelector: {matchLabels: {app: web}}
      policyTypes: [Egress]
      egress:
      - to:
        - ipBlock: {cidr: 0.0.0.0/0}
    ```

    Predict, then check in the lab: on **kindnet** and on **Cilium** (`cilium-tunnel`), is
    `shop/web → shop/api 8080/TCP` allowed or blocked? And `shop/web → 203.0.113.10 443/TCP` (the
    address of `api.example.com`; probing the address keeps DNS out of this question)?
    Answer with `allowed` or `blocked` for the keys `kindnet_web_to_api`, `kindnet_web_to_internet`,
    `cilium_web_to_api`, `cilium_web_to_internet`, one `key: value` line each. (Lesson 7, section 6
    explains the difference.)

    Points: 1 visible, 2 hidden.
    """))
    nb.code(f"""
    anywhere = {anywhere}
    for profile in ("kindnet", "cilium-tunnel"):
        try_lab = grader.connect(profile)
        try_lab.deploy("shop")
        try_lab.apply(anywhere)
        # print(try_lab.probe("shop/web", "shop/api", 8080).explain())   # uncomment once you have predicted
    """)
    nb.answer("cni_divergence", f"""
    kindnet_web_to_api: {verdict("kindnet", "shop/api", 8080)}
    kindnet_web_to_internet: {verdict("kindnet", "203.0.113.10", 443)}
    cilium_web_to_api: {verdict("cilium-tunnel", "shop/api", 8080)}
    cilium_web_to_internet: {verdict("cilium-tunnel", "203.0.113.10", 443)}
    """)
    cni = 'answer="cni_divergence", format="values", topology="shop", profile="kindnet"'
    keys = ("kindnet_web_to_api", "kindnet_web_to_internet", "cilium_web_to_api", "cilium_web_to_internet")
    nb.test("np_cni_visible", 1, "four verdicts", cni, visible="\n".join(
        f'check.expect_value("{k}", type="verdict", one_of=["allowed", "blocked"])' for k in keys))
    nb.test("np_cni_values", 2, "the verdicts match each CNI", cni, hidden=f"""
            check.given({anywhere})
            check.expect_value("kindnet_web_to_api", lab_value("probe_verdict", "shop/web", "shop/api", 8080, profile="kindnet"))
            check.expect_value("kindnet_web_to_internet", lab_value("probe_verdict", "shop/web", "203.0.113.10", 443, profile="kindnet"))
            check.expect_value("cilium_web_to_api", lab_value("probe_verdict", "shop/web", "shop/api", 8080, profile="cilium-tunnel"))
            check.expect_value("cilium_web_to_internet", lab_value("probe_verdict", "shop/web", "203.0.113.10", 443, profile="cilium-tunnel"))
            """)
    return nb

