"""Exercise 3 — Gateway API with TLS: an HTTPRoute by host and path (PathPrefix vs Exact) on AKS
application routing's shared Gateway (``approuting-istio``), an HTTPS-only Gateway of one's own that
terminates TLS and admits only the shop's routes, with a NetworkPolicy that still lets its Envoy
pods in, and the same shop on kind's own implementation with an HTTP→HTTPS redirect."""

from __future__ import annotations

from nbbuild import Notebook

from .common import HOW_GRADED, SHOP_TABLE, add_pods, given, pods_yaml, task, try_cell

SERVICES = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
     "spec": {"selector": {"app": "api"}, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}},
]
DENY = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny-ingress", "namespace": "shop"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}

SHARED_GATEWAY = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "infra"}},
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "shared", "namespace": "infra"},
     "spec": {"gatewayClassName": "approuting-istio",
              "listeners": [{"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.example.com",
                             "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "shop"}}}}}]}},
]
"""Task 1: the platform team's shared Gateway (AKS application routing's GatewayClass), plain HTTP for
every name under example.com, open to routes from namespaces labelled ``team=shop``."""

ROUTING = """
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
  - matches:
    - path:
        type: Exact
        value: /healthz
    backendRefs:
    - name: api
      port: 8080
  - backendRefs:
    - name: web
      port: 80
"""

TLS = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: public
  namespace: edge
spec:
  gatewayClassName: approuting-istio
  listeners:
  - name: https
    protocol: HTTPS
    port: 443
    hostname: shop.example.com
    tls:
      mode: Terminate
      certificateRefs:
      - name: shop-tls
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchLabels:
            kubernetes.io/metadata.name: shop
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
  namespace: shop
spec:
  parentRefs:
  - name: public
    namespace: edge
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
  name: allow-gateway
  namespace: shop
spec:
  podSelector:
    matchExpressions:
    - key: app
      operator: In
      values: [web, api]
  policyTypes:
  - Ingress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: edge
      podSelector:
        matchLabels:
          gateway.networking.k8s.io/gateway-name: public
    ports:
    - protocol: TCP
      port: http
"""

GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: public
  namespace: shop
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    hostname: shop.example.com
  - name: https
    protocol: HTTPS
    port: 443
    hostname: shop.example.com
    tls:
      mode: Terminate
      certificateRefs:
      - name: shop-tls
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
  namespace: shop
spec:
  parentRefs:
  - name: public
    sectionName: https
  hostnames:
  - shop.example.com
  rules:
  - backendRefs:
    - name: web
      port: 80
  - matches:
    - path:
        type: PathPrefix
        value: /api
    backendRefs:
    - name: api
      port: 8080
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: to-https
  namespace: shop
spec:
  parentRefs:
  - name: public
    sectionName: http
  rules:
  - filters:
    - type: RequestRedirect
      requestRedirect:
        scheme: https
        statusCode: 301
"""


SHARED = 'lab_value("address", "gateway/infra/shared")'
PUBLIC = 'lab_value("address", "gateway/edge/public")'
GATEWAY_POD = "edge/public-approuting-istio"
"""Task 2's Envoy pod: AKS's add-on names a Gateway's Deployment ``<gateway>-approuting-istio``, in the Gateway's namespace."""
GATEWAY_LOOKALIKES = [("edge/debug", {"app": "debug"}, [80]),
                      ("untrusted/fake-gateway", {"gateway.networking.k8s.io/gateway-name": "public"}, [80])]
"""Another pod of the Gateway's namespace, and the Gateway's pod label in another namespace."""
HIJACK = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "attacker", "namespace": "untrusted"},
     "spec": {"selector": {"app": "attacker"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "hijack", "namespace": "untrusted"},
     "spec": {"parentRefs": [{"name": "public", "namespace": "edge"}], "hostnames": ["shop.example.com"],
              "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/login"}}], "backendRefs": [{"name": "attacker", "port": 80}]}]}},
]
"""Another team's HTTPRoute for the shop's host name: a listener open to every namespace lets it take /login."""
GW = 'lab_value("address", "gateway/shop/public")'
SETUP = "check.install_gateway_class()\n" + given(*SERVICES, *SHARED_GATEWAY)
TLS_SETUP = "check.install_gateway_class()\n" + given(*SERVICES)
EDGE = 'check.add_namespace("edge")'
SECRETS = ('check.tls_secret("shop-tls", "edge", ["shop.example.com"], ca="shop CA")\n'
           'check.tls_secret("api-tls", "edge", ["api.example.com"], ca="shop CA")')
GW_SECRETS = ('check.tls_secret("shop-tls", "shop", ["shop.example.com"], ca="shop CA")\n'
              'check.tls_secret("api-tls", "shop", ["api.example.com"], ca="shop CA")')

def build() -> Notebook:
    nb = Notebook("03-ingress-gateway")
    nb.md("""
    # Exercise 3 — Gateway API, with TLS

    Lesson 3 showed how a Gateway routes HTTP requests by host and path, terminates TLS, and
    reaches the pods as a client of its own. Here you write the routing; the tests send HTTP and
    HTTPS requests from outside and inside the cluster and check who answers, which certificate
    came back and whether a client trusts it.

    Tasks 1 and 2 use what AKS recommends today: the **application routing add-on's Gateway API
    implementation**, GatewayClass `approuting-istio` (for each Gateway, a managed Istio control
    plane runs an Envoy Deployment and a LoadBalancer Service named `<gateway>-approuting-istio`
    in the Gateway's namespace; its pods carry the label
    `gateway.networking.k8s.io/gateway-name=<gateway>`). Task 3 writes the same for kind's own
    implementation, cloud-provider-kind: the Gateway API stays the same, only the class and where
    the proxy runs change. Older clusters still route with Ingresses served by ingress-nginx,
    legacy you will still meet: it was retired upstream in March 2026, and Microsoft's support for
    the application routing add-on's managed NGINX ended in November 2026 (sources:
    `from grader.course import cite; cite("ingress-nginx-retired", "aks-app-routing-nginx-support-end")`).

    The tests (and the setup cells below) install the GatewayClass and create two Services in
    `shop`: `web` (port 80 → the front end's `http` port) and `api` (port 8080 → the back end's
    `http` port). A request reaches a Gateway at its address; in the lab, pass it as `resolve=`
    (like curl's `--connect-to`).

    **Total: 12 points.**
    """)
    nb.md(HOW_GRADED)
    nb.md(SHOP_TABLE)
    nb.code("\n".join([
        "import grader",
        "from grader.tls import mint_ca",
        "",
        'lab = grader.connect("kindnet")',
        'lab.deploy("shop")',
        'print("GatewayClass:", lab.install_gateway_class("approuting-istio"))',
        'SERVICES = """' + _yaml(SERVICES) + '"""',
        'SHARED_GATEWAY = """' + _yaml(SHARED_GATEWAY) + '"""',
        'print(*lab.apply([SERVICES, SHARED_GATEWAY]), sep="\\n")',
        'print(lab.status("gateway/infra/shared"))',
    ]))

    # -- task 1 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 1 — Route by host and path through the shared Gateway (4 points)

    The platform team runs one **shared Gateway** `infra/shared` (class `approuting-istio`, set up
    by the cell above). Its listener `http` serves plain HTTP on port 80 for every name under
    `example.com` (`*.example.com`) and accepts routes from namespaces labelled `team=shop`.

    Write an HTTPRoute `shop` in namespace `shop`, attached to that Gateway, for the host
    **`shop.example.com`** only:

    * `/api` **and every path below it** (`/api/v1/cart`) go to `api` (port 8080) — but not paths
      that merely start with the same letters, like `/apiary`;
    * **exactly** `/healthz` goes to `api` too (the load balancer's health check); `/healthz/deep` and
      `/healthz/` do not;
    * every other path goes to `web` (port 80);
    * requests for any other host are not yours to serve: the Gateway answers them 404.

    Points: 1 visible (one HTTPRoute in `shop`; `/` reaches the front end), 3 hidden (PathPrefix —
    its visible part checks `/api/v1/cart`; the Exact path; other hosts — its visible part checks
    `other.example.com` — and clients inside the cluster).
    """))
    nb.answer("shop_route", ROUTING)
    nb.code("""
    # Try it (not graded)
    print(*lab.apply(shop_route))
    print(lab.status("httproute/shop/shop"))
    address = lab.address("gateway/infra/shared")
    for url in ("http://shop.example.com/", "http://shop.example.com/api", "http://shop.example.com/api/v1/cart",
                "http://shop.example.com/apiary", "http://shop.example.com/healthz", "http://shop.example.com/healthz/deep",
                "http://other.example.com/"):
        r = lab.http("host", url, resolve=address)
        print(f"{url:40} {r.http.render() if r.http else r.verdict.value}")
    """)
    ctor = 'answer="shop_route", topology="shop"'
    setup = _indent(SETUP, 0)
    nb.test("route_visible", 1, "one HTTPRoute in shop; / reaches the front end through the shared Gateway", ctor, visible=f"""
            {_indent(SETUP)}
            check.expect_objects("HTTPRoute", count=1, namespace="shop")
            check.expect_http("host", "http://shop.example.com/", resolve={SHARED}, status=200, answered_by="shop/web")
            """)
    nb.test("route_prefix", 1, "/api and below go to the API; /apiary does not", ctor, visible=setup + f"""
check.expect_http("host", "http://shop.example.com/api/v1/cart", resolve={SHARED}, status=200, answered_by="shop/api")""", hidden=f"""
            for path in ("/api", "/api/", "/api/v1/cart"):
                check.expect_http("host", f"http://shop.example.com{{path}}", resolve={SHARED}, status=200, answered_by="shop/api")
            for path in ("/apiary", "/ap", "/v1/api"):
                check.expect_http("host", f"http://shop.example.com{{path}}", resolve={SHARED}, status=200, answered_by="shop/web")
            """)
    nb.test("route_exact", 1, "exactly /healthz goes to the API", ctor, visible=setup, hidden=f"""
            check.expect_http("host", "http://shop.example.com/healthz", resolve={SHARED}, status=200, answered_by="shop/api")
            for path in ("/healthz/", "/healthz/deep", "/healthzz"):
                check.expect_http("host", f"http://shop.example.com{{path}}", resolve={SHARED}, status=200, answered_by="shop/web")
            """)
    nb.test("route_hosts", 1, "other hosts get 404; clients inside the cluster are routed the same way", ctor, visible=setup + f"""
check.expect_http("host", "http://other.example.com/", resolve={SHARED}, status=404)""", hidden=f"""
            for url in ("http://other.example.com/api", "http://www.shop.example.com/", "http://api.example.com/healthz"):
                check.expect_http("host", url, resolve={SHARED}, status=404)
            check.expect_http("untrusted/attacker", "http://shop.example.com/api", resolve={SHARED}, status=200, answered_by="shop/api")
            check.expect_http("monitoring/prometheus", "http://shop.example.com/", resolve={SHARED}, status=200, answered_by="shop/web")
            """)

    # -- task 2 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 2 — An HTTPS-only Gateway, and a policy that still lets its pods in (4 points)

    The shop gets a Gateway of its own, in the namespace `edge` where the company keeps its
    Gateways and their certificates. The tests create `edge` and two TLS Secrets there, both
    issued by the company's certificate authority "shop CA" (the cell below mints the same in your
    lab with `grader.tls`): `shop-tls` with a certificate for `shop.example.com`, and `api-tls`
    with one for `api.example.com`. The shop also runs a **default-deny ingress policy**
    (`default-deny-ingress`: no pod in `shop` accepts any connection).

    Write, as one answer with several documents:

    1. a Gateway `public` in `edge`, class `approuting-istio`, with **one** listener `https`:
       HTTPS on port 443 for `shop.example.com`, terminating TLS with **the right certificate**.
       The shop is **HTTPS only**: no listener for plain HTTP. The listener accepts routes from
       the namespace `shop` **only** (other teams must not be able to take over your host name);
    2. an HTTPRoute `shop` in `shop`, attached to that Gateway: `/api` and below → `api` (8080),
       the rest → `web` (80);
    3. a NetworkPolicy in `shop` that lets **only the Gateway's pods** (namespace `edge`, label
       `gateway.networking.k8s.io/gateway-name=public`) reach the front end and the back end, on
       their `http` ports only. Nothing else gets into `shop`.

    Points: 1 visible (a Gateway, an HTTPRoute and a NetworkPolicy; `https://shop.example.com/`
    answers with a certificate the shop CA vouches for), 3 hidden (the listener: certificate,
    host names, HTTPS only, which namespaces may attach; who reaches the pods, on which ports —
    2 points, its visible part checks that another pod of the `edge` namespace stays out).
    """))
    nb.code(f"""
    ca = mint_ca("shop CA")   # in the tests, a CA of the same name that only the tests hold
    tls_lab = grader.connect("kindnet")
    tls_lab.deploy("shop")
    tls_lab.install_gateway_class("approuting-istio")
    tls_lab.apply(SERVICES)
    tls_lab.apply({{"apiVersion": "v1", "kind": "Namespace", "metadata": {{"name": "edge"}}}})
    tls_lab.apply([ca.issue(["shop.example.com"]).secret("shop-tls", "edge"), ca.issue(["api.example.com"]).secret("api-tls", "edge")])
    tls_lab.apply({_flow(DENY)})
    print(tls_lab.objects())
    """)
    nb.answer("shop_tls", TLS)
    nb.code(try_cell(
        "# Try it (not graded). The tests also run another pod in the edge namespace, a pod elsewhere with the",
        "# Gateway's label, and another team's HTTPRoute that wants /login of your host name: none of them may get in.",
        'tls_lab.apply("""', pods_yaml(*GATEWAY_LOOKALIKES), "---" + _yaml(HIJACK).rstrip(), '""")',
        "tls_lab.apply(shop_tls)",
        'print(tls_lab.status("gateway/edge/public"))',
        'print(tls_lab.status("httproute/untrusted/hijack"))',
        'address = tls_lab.address("gateway/edge/public")',
        'for url in ("https://shop.example.com/api/orders", "https://shop.example.com/login", "http://shop.example.com/"):',
        "    r = tls_lab.http(\"host\", url, resolve=address, ca=ca)",
        '    print(url, "|", r.http.render() if r.http else r.summary(), "|", r.http.certificate if r.http else "", "| trusted:", r.http.certificate_trusted if r.http else None)',
        f'clients = ["{GATEWAY_POD}", "edge/debug", "untrusted/fake-gateway", "untrusted/attacker", "shop/web"]',
        'display(tls_lab.matrix(80, sources=clients, destinations=["shop/web"]))',
        'display(tls_lab.matrix(8080, sources=clients, destinations=["shop/api"]))'))
    tls = 'answer="shop_tls", topology="shop"'
    tls_setup = _indent(TLS_SETUP + "\n" + EDGE + "\n" + SECRETS + "\n" + given(DENY), 0)
    nb.test("tls_visible", 1, "a Gateway, an HTTPRoute and a NetworkPolicy; HTTPS works with a trusted certificate", tls, visible=f"""
            {_indent(tls_setup)}
            check.expect_objects("Gateway", count=1, namespace="edge", name="public")
            check.expect_objects("HTTPRoute", count=1, namespace="shop")
            check.expect_objects("NetworkPolicy", at_least=1, namespace="shop")
            check.expect_http("host", "https://shop.example.com/", resolve={PUBLIC}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)
            """)
    nb.test("tls_listener", 1, "the listener: the shop's certificate on every path, its host name only, HTTPS only, the shop's routes only", tls,
            visible=tls_setup, hidden=f"""
            {_indent(given(*HIJACK))}
            check.expect_http("host", "https://shop.example.com/api/orders", resolve={PUBLIC}, ca="shop CA", status=200, answered_by="shop/api", trusted=True)
            check.expect_http("untrusted/attacker", "https://shop.example.com/cart", resolve={PUBLIC}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)
            check.expect_http("host", "https://shop.example.com/login", resolve={PUBLIC}, ca="shop CA", status=200, answered_by="shop/web")
            check.expect_http("host", "https://shop.example.com/", host="other.example.com", resolve={PUBLIC}, ca="shop CA", status=404)
            # HTTPS only: plain HTTP gets no answer (an Azure load balancer drops a port it has no rule for;
            # cloud-provider-kind's Envoy, with no listener there, resets it)
            check.expect_http("host", "http://shop.example.com/cart", resolve={PUBLIC}, verdict=["blocked", "refused"])
            """)
    nb.test("tls_policy", 2, "only the Gateway's pods reach web and api, only on their http ports", tls,
            visible=tls_setup + "\n" + add_pods(GATEWAY_LOOKALIKES[0]) + """
check.expect_probe("edge/debug", "shop/web", 80, verdict="blocked")""", hidden=f"""
            {_indent(add_pods(GATEWAY_LOOKALIKES[1]))}
            check.expect_matrix(80, sources=["*", "edge/*"], destinations="shop/web", default="blocked",
                                allow=["{GATEWAY_POD} -> shop/web"])
            check.expect_matrix(8080, sources=["*", "edge/*"], destinations="shop/*", default="blocked",
                                allow=["{GATEWAY_POD} -> shop/api"])
            for port in (5432, 9100):
                check.expect_matrix(port, sources=["*", "edge/*"], destinations="shop/*", default="blocked")
            """)

    # -- task 3 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 3 — The same Gateway API on kind's implementation, with a redirect (4 points)

    Gateway API manifests move between implementations: on a kind cluster the same shop runs on
    **cloud-provider-kind** (GatewayClass `cloud-provider-kind`: an Envoy container *outside* the
    cluster per Gateway, which reaches the pods through a node, so a NetworkPolicy cannot select it
    by labels; lesson 3 section 2). This time the shop also keeps port 80 open, only to send
    browsers to HTTPS. `shop-tls` and `api-tls` exist in `shop` (same CA as in task 2); there is
    no network policy. Write, in namespace `shop`:

    1. a Gateway `public` with two listeners for `shop.example.com`: `http` on port 80 and `https`
       on port 443, terminating TLS with the right certificate;
    2. an HTTPRoute `shop` attached to the `https` listener **only**: `/api` and below → `api`
       (8080), the rest → `web` (80);
    3. an HTTPRoute `to-https` attached to the `http` listener that **redirects** every request to
       HTTPS with status **301**: plain HTTP never reaches a pod.

    Points: 1 visible (a Gateway and HTTPRoutes; `https://shop.example.com/` reaches the front end
    with a trusted certificate), 3 hidden (paths — its visible part checks `/api/v1/cart`; certificate
    and redirect; other hosts, ports and clients).
    """))
    nb.code("""
    gw_lab = grader.connect("kindnet")
    gw_lab.deploy("shop")
    gw_lab.apply(SERVICES)
    gw_lab.apply([ca.issue(["shop.example.com"]).secret("shop-tls", "shop"), ca.issue(["api.example.com"]).secret("api-tls", "shop")])
    print(gw_lab.objects())
    """)
    nb.answer("shop_gateway", GATEWAY)
    nb.code("""
    # Try it (not graded)
    gw_lab.apply(shop_gateway)
    print(gw_lab.status("gateway/shop/public"))
    print(gw_lab.status("httproute/shop/shop"))
    address = gw_lab.address("gateway/shop/public")
    for url in ("https://shop.example.com/", "https://shop.example.com/api/v1", "http://shop.example.com/cart"):
        print(url, gw_lab.http("host", url, resolve=address, ca=ca).http.render())
    """)
    gw = 'answer="shop_gateway", topology="shop"'
    gw_setup = _indent(given(*SERVICES) + "\n" + GW_SECRETS, 0)
    nb.test("gw_visible", 1, "a Gateway and HTTPRoutes in shop; HTTPS reaches the front end", gw, visible=f"""
            {_indent(gw_setup)}
            check.expect_objects("Gateway", count=1, namespace="shop", name="public")
            check.expect_objects("HTTPRoute", at_least=1, namespace="shop")
            check.expect_http("host", "https://shop.example.com/", resolve={GW}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)
            """)
    nb.test("gw_paths", 1, "/api and below go to the API, the rest to the front end", gw, visible=gw_setup + f"""
check.expect_http("host", "https://shop.example.com/api/v1/cart", resolve={GW}, ca="shop CA", status=200, answered_by="shop/api")""", hidden=f"""
            for path in ("/api", "/api/v1/cart"):
                check.expect_http("host", f"https://shop.example.com{{path}}", resolve={GW}, ca="shop CA", status=200, answered_by="shop/api")
            for path in ("/apiary", "/cart", "/v1/api"):
                check.expect_http("host", f"https://shop.example.com{{path}}", resolve={GW}, ca="shop CA", status=200, answered_by="shop/web")
            """)
    nb.test("gw_tls", 1, "the shop's certificate, and HTTP redirects to HTTPS with 301", gw, visible=gw_setup, hidden=f"""
            check.expect_http("host", "https://shop.example.com/api/orders", resolve={GW}, ca="shop CA", trusted=True)
            check.expect_http("host", "http://shop.example.com/cart", resolve={GW}, status=301, location="https://shop.example.com/cart")
            check.expect_http("host", "http://shop.example.com/api/orders", resolve={GW}, status=301, location="https://shop.example.com/api/orders")
            """)
    nb.test("gw_rest", 1, "other hosts and ports are not served; pods use the Gateway too", gw, visible=gw_setup, hidden=f"""
            check.expect_http("host", "https://shop.example.com/", host="other.example.com", resolve={GW}, ca="shop CA", status=404)
            check.expect_probe("host", {GW}, 8443, verdict="refused")
            check.expect_http("untrusted/attacker", "https://shop.example.com/api", resolve={GW}, ca="shop CA", status=200, answered_by="shop/api", trusted=True)
            """)
    return nb


def _yaml(docs: list[dict]) -> str:  # type: ignore[type-arg]
    import yaml

    return "\n" + "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)


def _flow(doc: dict) -> str:  # type: ignore[type-arg]
    from .common import flow

    return flow(doc)


def _indent(text: str, spaces: int = 12) -> str:
    """Lines after the first indented to sit inside a dedented block of the builder."""
    lines = text.splitlines()
    return "\n".join(lines[:1] + [" " * spaces + ln for ln in lines[1:]])
