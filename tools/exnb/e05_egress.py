"""Exercise 5 — Controlling egress: default-deny egress for a namespace with the DNS rule and one
external address, then a CiliumNetworkPolicy that allows external services by name (toFQDNs)."""

from __future__ import annotations

from nbbuild import Notebook

from .common import HOW_GRADED, SHOP_TABLE, add_pods, indent, pods_yaml, task, try_cell

SHOP_EGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-egress
  namespace: shop
spec:
  podSelector: {}
  policyTypes:
  - Egress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-dns
  namespace: shop
spec:
  podSelector: {}
  policyTypes:
  - Egress
  egress:
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
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-within-shop
  namespace: shop
spec:
  podSelector: {}
  policyTypes:
  - Egress
  egress:
  - to:
    - podSelector: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-to-payments
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: api
  policyTypes:
  - Egress
  egress:
  - to:
    - ipBlock:
        cidr: 203.0.113.10/32
    ports:
    - protocol: TCP
      port: 443
"""

API_FQDN = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: api-egress
  namespace: shop
spec:
  endpointSelector:
    matchLabels:
      app: api
  egress:
  - toEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: kube-system
        k8s:k8s-app: kube-dns
    toPorts:
    - ports:
      - port: "53"
        protocol: ANY
      rules:
        dns:
        - matchPattern: "*"
  - toEndpoints:
    - matchLabels:
        app: db
    toPorts:
    - ports:
      - port: "5432"
        protocol: TCP
  - toFQDNs:
    - matchName: example.com
    - matchPattern: "*.example.com"
    toPorts:
    - ports:
      - port: "443"
        protocol: TCP
"""

HOSTS = (("example.com", "203.0.113.20"), ("pay.example.com", "203.0.113.30"), ("eu.pay.example.com", "203.0.113.40"))
ADD_HOSTS = "\n".join(f'check.add_external_host("{name}", "{ip}")' for name, ip in HOSTS)
KUBE_SYSTEM_OTHER = ("kube-system/dnsmasq", {"app": "dnsmasq"}, ["53/UDP", "53/TCP"])
"""A pod of kube-system that is not CoreDNS (tests only: on kind the lab does not create pods in kube-system)."""
FAKE_DNS = ("untrusted/fake-dns", {"k8s-app": "kube-dns"}, ["53/UDP", "53/TCP"])
"""CoreDNS's label in another namespace."""
NEXT_DOOR = 'check.add_neighbour_host("next-door.example.com", "203.0.113.11")'
"""A host at the address next to api.example.com (203.0.113.10): a /24 lets the API reach it."""


def build() -> Notebook:
    nb = Notebook("05-egress")
    nb.md("""
    # Exercise 5 — Controlling egress

    Lesson 5 showed that egress is open by default, that an egress policy which forgets DNS breaks
    every connection by name, and that plain NetworkPolicy can only name addresses while Cilium's
    policy can name hosts. Here you lock down the shop's outgoing traffic twice: with
    NetworkPolicies on any CNI, then by name with Cilium.

    **Total: 9 points.**
    """)
    nb.md(HOW_GRADED)
    nb.md(SHOP_TABLE)
    nb.code("""
    import grader

    lab = grader.connect("kindnet")
    lab.deploy("shop")
    for dst, port in (("api.example.com", 443), ("blocked.example.net", 443), ("vm.internal", 80)):
        print(lab.probe("shop/api", dst, port).summary())
    """)

    # -- task 1 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 1 — Default-deny egress for the shop (5 points)

    Write the NetworkPolicies (several documents in one answer, all in namespace `shop`) so that

    1. **no pod of `shop`** — including pods created later — opens connections anywhere, except:
    2. every pod of `shop` may **resolve names**: DNS to the CoreDNS pods (namespace `kube-system`,
       label `k8s-app=kube-dns`) on port 53 over **UDP and TCP**, and to no other DNS server: not
       another pod of `kube-system`, nor one that carries the same label somewhere else;
    3. pods of `shop` may connect to each other, on any port;
    4. `shop/api` (`app=api`) may call the payment API **`api.example.com`: that one address
       (203.0.113.10), on 443/TCP only**, and nothing else outside the cluster.

    Incoming connections are not your concern here: they must work exactly as before.

    Points: 1 visible (policies in `shop`; the API reaches `https://api.example.com` by name),
    4 hidden (DNS — its visible part checks another pod of `kube-system`; the outside world; inside
    the cluster; incoming traffic unchanged — its visible part checks the attacker still reaches the
    front end, as before).
    """))
    nb.answer("shop_egress", SHOP_EGRESS)
    nb.code(try_cell(
        "# Try it (not graded). The tests also run a DNS look-alike (the label k8s-app=kube-dns in namespace",
        "# untrusted), a pod of kube-system that is not CoreDNS, and a host at 203.0.113.11, next to",
        "# api.example.com: none of them may be reached. Incoming connections must work as before.",
        "lab.reset(keep_topology=True)",
        'lab.apply("""', pods_yaml(FAKE_DNS), '""")',
        "lab.apply(shop_egress)",
        'for src, dst, port in (("shop/api", "api.example.com", "443/TCP"), ("shop/api", "203.0.113.10", "443/UDP"), ("shop/web", "api.example.com", "443/TCP"),',
        '                       ("shop/web", "untrusted/fake-dns", "53/UDP"), ("shop/web", "shop/api", "8080/TCP"), ("untrusted/attacker", "shop/web", "80/TCP")):',
        "    print(lab.probe(src, dst, port).summary())",
        'display(lab.matrix(80, sources=["shop/api", "shop/web", "shop/db"], destinations=["untrusted/attacker", "shop/web"]))'))
    ctor = 'answer="shop_egress", topology="shop"'
    nb.test("eg_visible", 1, "NetworkPolicies in shop; the API calls api.example.com by name", ctor, visible="""
            check.expect_objects("NetworkPolicy", at_least=1, namespace="shop")
            check.expect_probe("shop/api", "api.example.com", 443, verdict="allowed")
            """)
    nb.test("eg_dns", 1, "every shop pod resolves names through CoreDNS, and through nothing else", ctor, visible=f"""
            {indent(add_pods(KUBE_SYSTEM_OTHER))}
            check.expect_probe("shop/web", "kube-system/dnsmasq", "53/UDP", verdict="blocked")
            """, hidden=f"""
            {indent(add_pods(FAKE_DNS))}
            check.add_pod("shop/cache", {{"app": "cache"}}, [6379])
            for pod in ("shop/web", "shop/db", "shop/cache"):
                check.expect_probe(pod, "kube-system/coredns-0", "53/UDP", verdict="allowed")
                check.expect_probe(pod, "kube-system/coredns-1", "53/TCP", verdict="allowed")
            check.expect_probe("shop/db", "kube-system/dnsmasq", "53/TCP", verdict="blocked")
            check.expect_probe("shop/web", "untrusted/fake-dns", "53/UDP", verdict="blocked")
            check.expect_probe("shop/api", "198.51.100.20", "53/UDP", verdict="blocked")
            check.expect_probe("shop/web", "kube-system/coredns-0", 9153, verdict="blocked")
            """)
    nb.test("eg_outside", 1, "only the API leaves the cluster, only to api.example.com on 443", ctor, hidden=f"""
            {NEXT_DOOR}
            check.expect_probe("shop/api", "203.0.113.11", 443, verdict="blocked")
            check.expect_probe("shop/api", "203.0.113.10", "443/UDP", verdict="blocked")
            check.expect_probe("shop/api", "203.0.113.10", 80, verdict="blocked")
            check.expect_probe("shop/api", "198.51.100.20", 443, verdict="blocked")
            check.expect_probe("shop/web", "203.0.113.10", 443, verdict="blocked")
            check.expect_probe("shop/db", "198.51.100.20", 80, verdict="blocked")
            check.expect_probe("shop/web", "172.18.0.100", 80, verdict="blocked")
            check.expect_probe("shop/api", "node:kind-worker", 10250, verdict="blocked")
            """)
    nb.test("eg_inside", 1, "shop pods reach each other, pods added later included; other namespaces not", ctor, hidden="""
            check.add_namespace("shop-staging", {"team": "shop"})
            check.add_pod("shop-staging/web", {"app": "web", "tier": "frontend"}, [80])
            check.expect_probe("shop/web", "shop-staging/web", 80, verdict="blocked")
            check.add_pod("shop/cache", {"app": "cache"}, [6379])
            for port in (80, 8080, 5432, 6379, 9100):
                check.expect_matrix(port, sources="shop/*", destinations="shop/*", default="allowed")
            check.expect_matrix(80, sources="shop/*", destinations="untrusted/*", default="blocked")
            check.expect_matrix(9090, sources="shop/*", destinations="monitoring/*", default="blocked")
            check.expect_probe("shop/cache", "203.0.113.10", 443, verdict="blocked")
            """)
    nb.test("eg_ingress", 1, "incoming connections are unchanged", ctor, visible="""
            check.expect_probe("untrusted/attacker", "shop/web", 80, verdict="allowed")
            """, hidden="""
            check.expect_matrix(80, sources=["untrusted/*", "monitoring/*"], destinations="shop/*", default="allowed")
            check.expect_matrix(9100, sources="monitoring/*", destinations="shop/*", default="allowed")
            check.expect_probe("untrusted/attacker", "shop/db", 5432, verdict="allowed")
            """)

    # -- task 2 ------------------------------------------------------------------------------
    hosts = ", ".join(f"`{name}` ({ip})" for name, ip in HOSTS)
    nb.md(task(f"""
    ## Task 2 — By name, with Cilium (4 points)

    Addresses change; names stay. On the **`cilium-tunnel`** profile, write one
    **CiliumNetworkPolicy** `api-egress` in namespace `shop` for `shop/api` (`app=api`) so that it may
    open connections **only** to

    * CoreDNS (and no other pod of `kube-system`, nor its label elsewhere), to look names up: a DNS
      rule that sends **every** lookup through Cilium's DNS proxy (`matchPattern: "*"`), so the
      `toFQDNs` rule below is what decides where it may connect;
    * the database `shop/db` on 5432/TCP;
    * on **443/TCP only**: `example.com` itself and every name **directly** below it
      (`api.example.com`, `pay.example.com`) — but not deeper names such as `eu.pay.example.com`,
      and nothing else on the internet.

    Other pods of `shop` are not affected. Besides `api.example.com` and `blocked.example.net`, the
    tests add three hosts: {hosts}; the cell below adds them to your lab.

    Points: 1 visible (one CiliumNetworkPolicy; the API reaches `api.example.com`), 3 hidden (names
    — 2 points, its visible part checks `example.com` itself; inside the cluster).
    """))
    nb.code("\n".join([
        'cilium = grader.connect("cilium-tunnel")',
        'cilium.deploy("shop")',
        *[f'cilium.add_external_host("{name}", "{ip}")' for name, ip in HOSTS],
    ]))
    nb.answer("api_fqdn", API_FQDN)
    nb.code("""
    # Try it (not graded)
    cilium.reset(keep_topology=True)
    cilium.apply(api_fqdn)
    for name in ("api.example.com", "example.com", "pay.example.com", "eu.pay.example.com", "blocked.example.net"):
        print(cilium.probe("shop/api", name, 443).summary())
    """)
    fq = 'answer="api_fqdn", topology="shop", profile="cilium-tunnel"'
    nb.test("fq_visible", 1, "one CiliumNetworkPolicy in shop; the API reaches api.example.com", fq, visible=f"""
            {_indent(ADD_HOSTS)}
            check.expect_objects("CiliumNetworkPolicy", count=1, namespace="shop")
            check.expect_probe("shop/api", "api.example.com", 443, verdict="allowed")
            """)
    nb.test("fq_names", 2, "example.com and the names directly below it, on 443 only; nothing deeper or elsewhere", fq,
            visible=ADD_HOSTS + """
check.expect_probe("shop/api", "example.com", 443, verdict="allowed")""", hidden="""
            check.expect_probe("shop/api", "api.example.com", "443/UDP", verdict="blocked")
            check.expect_probe("shop/api", "203.0.113.30", "443/UDP", verdict="blocked")
            for name in ("example.com", "pay.example.com", "api.example.com"):
                check.expect_probe("shop/api", name, 443, verdict="allowed")
            check.expect_probe("shop/api", "eu.pay.example.com", 443, verdict="blocked")
            check.expect_probe("shop/api", "blocked.example.net", 443, verdict="blocked")
            check.expect_probe("shop/api", "api.example.com", 80, verdict="blocked")
            check.expect_probe("shop/api", "203.0.113.40", 443, verdict="blocked")
            """)
    nb.test("fq_cluster", 1, "the database and DNS still work, only CoreDNS; other pods are not affected", fq, visible=ADD_HOSTS, hidden=f"""
            {indent(add_pods(KUBE_SYSTEM_OTHER, FAKE_DNS))}
            check.expect_probe("shop/api", "kube-system/dnsmasq", "53/UDP", verdict="blocked")
            check.expect_probe("shop/api", "untrusted/fake-dns", "53/UDP", verdict="blocked")
            check.expect_probe("shop/api", "shop/db", 5432, verdict="allowed")
            check.expect_probe("shop/api", "kube-system/coredns-0", "53/UDP", verdict="allowed")
            check.expect_probe("shop/api", "shop/web", 80, verdict="blocked")
            check.expect_probe("shop/api", "untrusted/attacker", 80, verdict="blocked")
            check.expect_probe("shop/web", "blocked.example.net", 443, verdict="allowed")
            check.expect_probe("shop/web", "shop/api", 8080, verdict="allowed")
            check.expect_probe("shop/db", "eu.pay.example.com", 443, verdict="allowed")
            """)
    return nb


def _indent(text: str, spaces: int = 12) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:1] + [" " * spaces + ln for ln in lines[1:]])
