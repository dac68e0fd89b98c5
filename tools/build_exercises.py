"""Write the nbgrader source notebooks in ``solutions/`` (answers + hidden tests).

    python tools/build_exercises.py            # rewrite solutions/*/*.ipynb
    python tools/build_exercises.py --out DIR  # write elsewhere (the sync test compares)
    make release                               # then regenerate exercises/ with nbgrader

Answers are YAML text in triple quotes; tests build a ``grader.checks.Check``. Values that come
from the simulator's addressing (basics) are computed here from the simulator, so solutions stay
right when the simulator changes; the hidden tests read them from the lab at grading time.
Adding an exercise: write a function returning a ``Notebook`` and list it in ``NOTEBOOKS``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbbuild import Notebook

ROOT = Path(__file__).resolve().parents[1]

from exnb.common import DEFAULT_DENY, HOW_GRADED, SHOP_TABLE, add_pods, indent, namespace_yaml, pods_yaml, task, try_cell  # noqa: E402

SHOP = 'topology="shop"'

# Extra pods of exercise 7's tests (the *Try it* cells create the same ones in the learner's lab).
API_CLIENTS = [("shop/web-v2", {"app": "web-v2", "tier": "frontend"}, [80]),   # a second front end: gets in
               ("shop/web-debug", {"app": "web"}, [80]),                        # app=web but not the front-end tier: stays out
               ("untrusted/fake-web", {"app": "web", "tier": "frontend"}, [80]),
               ("monitoring/web", {"app": "web", "tier": "frontend"}, [80])]
DB_CLIENTS = [("shop/api-v2", {"app": "api-v2", "tier": "backend"}, [8080]),
              ("untrusted/fake-api", {"app": "api", "tier": "backend"}, [8080])]
SCRAPERS = [("monitoring/grafana", {"app": "grafana"}, [3000]),
            ("untrusted/prometheus", {"app": "prometheus"}, [9090]),
            ("shop/prometheus", {"app": "prometheus"}, [9090])]
B_NEXT = ("x/b-next", {"pod": "b"}, ["82/UDP/serve-81-udp", "80/TCP/serve-80-tcp", "81/TCP/serve-81-tcp"])
"""A new version of x/b that serves the UDP port named serve-81-udp on 82: a rule by name follows it, a rule by number does not."""
KUBE_SYSTEM_OTHER = ("kube-system/dnsmasq", {"app": "dnsmasq"}, ["53/UDP", "53/TCP"])
"""A pod of kube-system that is not CoreDNS (tests only: on kind the lab does not create pods in kube-system)."""
CONTROLLER_LOOKALIKES = [("ingress-nginx/debug", {"app": "debug"}, [80]),
                         ("untrusted/fake-controller", {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}, [80])]
"""Another pod of the controller's namespace, and the controller's labels in another namespace."""
STAGING = 'check.add_namespace("shop-staging", {"team": "shop"})'
"""Another namespace with the shop's team label: a namespaceSelector team=shop matches it, but the tasks mean namespace shop."""
STAGING_PODS = [("shop-staging/web", {"app": "web", "tier": "frontend"}, [80]),
                ("shop-staging/api", {"app": "api", "tier": "backend"}, [8080])]
LOGGING = 'check.add_namespace("logging", {"team": "platform"})'
"""Another namespace of the platform team, which is not the monitoring namespace."""
LOGGING_PROMETHEUS = ("logging/prometheus", {"app": "prometheus"}, [9090])
FAKE_DB = ("untrusted/fake-db", {"app": "db", "tier": "database"}, [5432])
"""The database's labels in another namespace."""
FAKE_DNS = ("untrusted/fake-dns", {"k8s-app": "kube-dns"}, ["53/UDP", "53/TCP"])
"""CoreDNS's label in another namespace."""
NEXT_DOOR = 'check.add_neighbour_host("next-door.example.com", "203.0.113.11")'
"""A host at the address next to api.example.com (203.0.113.10): a /24 lets the API reach it."""


# ------------------------------------------------------------------------------------------
def network_policies() -> Notebook:
    nb = Notebook("07-network-policies")
    nb.md("""
    # Exercise 7 — Network policies

    Lesson 7 showed how NetworkPolicies isolate pods. Here you write them for the shop, and the
    tests probe the traffic. Tasks 1–4 and 7 use the `shop`; tasks 5–6 use the upstream e2e
    topology (namespaces `x`, `y`, `z` labelled `ns=<name>`, pods `a`, `b`, `c` labelled
    `pod=<name>`, each serving 80 and 81 on TCP, UDP and SCTP with ports named
    `serve-<port>-<protocol>`, e.g. `serve-81-udp`).

    **Total: 23 points.**
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
    return nb


# ------------------------------------------------------------------------------------------
def basics() -> Notebook:
    from grader.checks.queries import addresses_per_block, blocks_in_pod_subnet, next_hop, pod_block, pod_ips_per_node
    from grader.lab.sim import SimulatedLab

    kindnet = SimulatedLab("kindnet")
    kindnet.deploy("shop")
    calico = SimulatedLab("calico-vxlan")
    calico.deploy("shop")

    def pod(lab: SimulatedLab, ref: str):
        found = lab.state.pod(ref)
        assert found is not None
        return found

    def node(lab: SimulatedLab, name: str):
        return lab.state.node(name)

    web, db = pod(kindnet, "shop/web"), pod(kindnet, "shop/db")
    hops = ("10.244.2.9", "10.244.0.5", "10.244.1.200")
    cweb = pod(calico, "shop/web")

    nb = Notebook("01-basics")
    nb.md("""
    # Exercise 1 — Pods, nodes and addresses

    Every pod gets its own IP address from the **pod network**; nodes have addresses on the **node
    network** (kind's Docker network, 172.18.0.0/16; on AKS the virtual network's subnet). How pod
    addresses are carved up depends on the CNI plugin. Answer with values read from, and reasoned
    about, the lab: the tests compare them with the addresses the simulator actually handed out.

    Answers here are YAML lines `key: value` (an IP, a CIDR like `10.244.1.0/24`, a number, or a
    verdict word: `allowed` / `blocked`). **Total: 12 points.**
    """)
    nb.md(HOW_GRADED)
    nb.code("""
    import grader

    lab = grader.connect("kindnet")
    lab.deploy("shop")
    for pod in lab.pods():
        print(f"{str(pod.ref):24} {str(pod.ip):14} on {pod.node}")
    print()
    for node in lab.profile.nodes():
        print(f"{node.name:20} {node.role:14} node IP {str(node.ip):12} podCIDR {node.pod_cidr}")
    """)

    nb.md(task("""
    ## Task 1 — Where do the shop's pods live? (3 points)

    On the `kindnet` profile, after `lab.deploy("shop")`: give `shop/web`'s pod IP, the node it runs
    on, that node's IP, and the podCIDR that node hands addresses out from; and the same pod IP and
    node for `shop/db`.

    Answer in this shape:

    ```yaml
    web_ip: <IP>
    web_node: <node name>
    web_node_ip: <IP>
    web_node_pod_cidr: <CIDR>
    db_ip: <IP>
    db_node: <node name>
    ```

    Points: 1 visible (keys present, addresses on the right networks), 2 hidden (values).
    """))
    nb.answer("shop_addresses", f"""
    web_ip: {web.ip}
    web_node: {web.node}
    web_node_ip: {node(kindnet, str(web.node)).ip}
    web_node_pod_cidr: {node(kindnet, str(web.node)).pod_cidr}
    db_ip: {db.ip}
    db_node: {db.node}
    """)
    values = 'answer="shop_addresses", format="values", topology="shop", profile="kindnet"'
    nb.test("basics_addresses_visible", 1, "every key is there; pod IPs in the pod network, node IPs in the node network",
            values, visible="""
            check.expect_value("web_ip", type="ip", within="10.244.0.0/16")
            check.expect_value("db_ip", type="ip", within="10.244.0.0/16")
            check.expect_value("web_node_ip", type="ip", within="172.18.0.0/16")
            check.expect_value("web_node_pod_cidr", type="cidr")
            check.expect_value("web_node", type="text")
            check.expect_value("db_node", type="text")
            """)
    nb.test("basics_addresses_values", 2, "the values match the lab",
            values, hidden="""
            check.expect_value("web_ip", lab_value("pod_ip", "shop/web"))
            check.expect_value("web_node", lab_value("pod_node", "shop/web"))
            check.expect_value("web_node_ip", lab_value("pod_node_ip", "shop/web"))
            check.expect_value("web_node_pod_cidr", lab_value("pod_node_pod_cidr", "shop/web"))
            check.expect_value("db_ip", lab_value("pod_ip", "shop/db"))
            check.expect_value("db_node", lab_value("pod_node", "shop/db"))
            """)

    nb.md(task(f"""
    ## Task 2 — Across nodes without a tunnel (3 points)

    kindnet routes pod traffic between nodes **without encapsulation**: every node has a route for
    each other node's podCIDR *via that node's IP* on the node network. For each destination pod
    address below, give the IP of the node the packet is delivered to (`next_hop`); then give how
    many pod addresses one node can hand out from its /24 (`pod_ips_per_node`: kindnet's host-local
    IPAM never hands out the network address, `.1` — the node's side of the pod routes — or the
    broadcast address).

    Answer in this shape:

    ```yaml
    next_hop:
      {hops[0]}: <node IP>
      {hops[1]}: <node IP>
      {hops[2]}: <node IP>
    pod_ips_per_node: <number>
    ```

    Points: 1 visible, 2 hidden.
    """))
    nb.answer("routing", "\n".join(
        ["next_hop:"] + [f"  {ip}: {next_hop(kindnet, ip)}" for ip in hops]
        + [f"pod_ips_per_node: {pod_ips_per_node(kindnet, 'kind-worker')}"]))
    routing = 'answer="routing", format="values", topology="shop", profile="kindnet"'
    nb.test("basics_routing_visible", 1, "every destination has a node IP; the count is a number",
            routing, visible="\n".join(
                [f'check.expect_value(["next_hop", "{ip}"], type="ip", within="172.18.0.0/16")' for ip in hops]
                + ['check.expect_value("pod_ips_per_node", type="int")']))
    nb.test("basics_routing_values", 2, "next hops and the per-node count match the lab",
            routing, hidden="\n".join(
                [f'check.expect_value(["next_hop", "{ip}"], lab_value("next_hop", "{ip}"))' for ip in hops]
                + ['check.expect_value("pod_ips_per_node", lab_value("pod_ips_per_node", "kind-worker"))']))

    nb.md(task("""
    ## Task 3 — Calico's IPAM blocks (3 points)

    Calico does not use the node's podCIDR. It cuts its pool (here `192.168.0.0/16`) into **/26
    blocks**; a node claims a whole block when it needs addresses, and another when that one fills.
    Deploy the shop on the `calico-vxlan` profile and answer: how many addresses one block holds
    (`addresses_per_block`), how many blocks the pool holds (`blocks_in_pool`), which block
    `shop/web`'s address came from (`web_block`, as a CIDR) and which node claimed it (`web_node`),
    as `key: value` lines.

    Points: 1 visible, 2 hidden.
    """))
    nb.code("""
    calico = grader.connect("calico-vxlan")
    calico.deploy("shop")
    for pod in calico.pods():
        print(f"{str(pod.ref):24} {str(pod.ip):14} on {pod.node}")
    """)
    nb.answer("calico_blocks", f"""
    addresses_per_block: {addresses_per_block(calico)}
    blocks_in_pool: {blocks_in_pod_subnet(calico)}
    web_block: {pod_block(calico, "shop/web")}
    web_node: {cweb.node}
    """)
    blocks = 'answer="calico_blocks", format="values", topology="shop", profile="calico-vxlan"'
    nb.test("basics_calico_visible", 1, "every key is there with the right kind of value", blocks, visible="""
            check.expect_value("addresses_per_block", type="int")
            check.expect_value("blocks_in_pool", type="int")
            check.expect_value("web_block", type="cidr")
            check.expect_value("web_node", type="text")
            """)
    nb.test("basics_calico_values", 2, "block size, block count and web's block match the lab", blocks,
            hidden="""
            check.expect_value("addresses_per_block", lab_value("addresses_per_block"))
            check.expect_value("blocks_in_pool", lab_value("blocks_in_pod_subnet"))
            check.expect_value("web_block", lab_value("pod_block", "shop/web"))
            check.expect_value("web_node", lab_value("pod_node", "shop/web"))
            """)

    anywhere = ('"{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: web-egress-anywhere, namespace: shop}, '
                'spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}}"')
    from grader.checks.queries import probe_verdict

    def verdict(profile: str, dst: str, port: int) -> str:
        lab = SimulatedLab(profile)
        lab.deploy("shop")
        lab.apply(eval(anywhere))  # noqa: S307 - our own literal
        return probe_verdict(lab, "shop/web", dst, port).value

    nb.md(task("""
    ## Task 4 — Same YAML, different CNI (3 points)

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
    `cilium_web_to_api`, `cilium_web_to_internet`, one `key: value` line each. (Lesson 4 explains
    the difference.)

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
    nb.test("basics_cni_visible", 1, "four verdicts", cni, visible="\n".join(
        f'check.expect_value("{k}", type="verdict", one_of=["allowed", "blocked"])' for k in keys))
    nb.test("basics_cni_values", 2, "the verdicts match each CNI", cni, hidden=f"""
            check.given({anywhere})
            check.expect_value("kindnet_web_to_api", lab_value("probe_verdict", "shop/web", "shop/api", 8080, profile="kindnet"))
            check.expect_value("kindnet_web_to_internet", lab_value("probe_verdict", "shop/web", "203.0.113.10", 443, profile="kindnet"))
            check.expect_value("cilium_web_to_api", lab_value("probe_verdict", "shop/web", "shop/api", 8080, profile="cilium-tunnel"))
            check.expect_value("cilium_web_to_internet", lab_value("probe_verdict", "shop/web", "203.0.113.10", 443, profile="cilium-tunnel"))
            """)
    return nb


# ------------------------------------------------------------------------------------------
def capstone() -> Notebook:
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
    from exnb.common import given
    from exnb.e03_ingress import SERVICES

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


from exnb import e02_services, e03_ingress, e04_models, e05_egress, e06_nsg  # noqa: E402

NOTEBOOKS = (basics, e02_services.build, e03_ingress.build, e04_models.build, e05_egress.build, e06_nsg.build, network_policies, capstone)


def build(out: Path) -> list[Path]:
    return [make().write(out) for make in NOTEBOOKS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "solutions", help="where to write (default: solutions/)")
    args = parser.parse_args()
    for path in build(args.out):
        print(path)


if __name__ == "__main__":
    main()
