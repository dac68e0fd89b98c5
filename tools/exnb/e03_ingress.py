"""Exercise 3 — Ingress and Gateway API with TLS: host and path routing (Prefix vs Exact), TLS
termination with a NetworkPolicy that still lets the ingress controller in, and a Gateway with an
HTTPS listener and HTTPRoutes."""

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

ROUTING = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: shop
spec:
  ingressClassName: nginx
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
      - path: /healthz
        pathType: Exact
        backend:
          service:
            name: api
            port:
              number: 8080
"""

TLS = """
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
  name: allow-ingress-controller
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
          kubernetes.io/metadata.name: ingress-nginx
      podSelector:
        matchLabels:
          app.kubernetes.io/name: ingress-nginx
          app.kubernetes.io/component: controller
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

ING = 'lab_value("address", "ingress/shop/shop")'
CONTROLLER_LOOKALIKES = [("ingress-nginx/debug", {"app": "debug"}, [80]),
                         ("shop/ingress-nginx-controller", {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}, [80])]
"""Another pod of the controller's namespace, and the controller's labels in another namespace."""
GW = 'lab_value("address", "gateway/shop/public")'
SETUP = "check.install_ingress_controller()\n" + given(*SERVICES)
SECRETS = ('check.tls_secret("shop-tls", "shop", ["shop.example.com"], ca="shop CA")\n'
           'check.tls_secret("api-tls", "shop", ["api.example.com"], ca="shop CA")')


def build() -> Notebook:
    nb = Notebook("03-ingress-gateway")
    nb.md("""
    # Exercise 3 — Ingress and Gateway API, with TLS

    Lesson 3 showed how an ingress controller or a Gateway routes HTTP requests by host and path,
    terminates TLS, and reaches the pods as a client of its own. Here you write the routing; the
    tests send HTTP and HTTPS requests from outside and inside the cluster and check who answers,
    which certificate came back and whether a client trusts it.

    Tasks 1 and 2 use **ingress-nginx**, as *legacy you will still meet*: the project was retired
    upstream in March 2026 (no fixes since, not even for security), and Microsoft's support for
    the NGINX of AKS's application routing add-on ended in November 2026. Many clusters still run
    it, and the Ingress API stays (frozen, not removed), so reading and fixing such Ingresses is
    still a skill; new work uses Gateway API (task 3, and AKS's `approuting-istio` Gateway in
    exercise 8).

    The tests (and the setup cell below) run ingress-nginx in the cluster (IngressClass
    `nginx`, its controller pod `ingress-nginx/ingress-nginx-controller`) and create two Services in
    `shop`: `web` (port 80 → the front end's `http` port) and `api` (port 8080 → the back end's
    `http` port). A request reaches the controller at the Ingress's address; in the lab, pass it as
    `resolve=` (like curl's `--resolve`).

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
        'lab.install_ingress_controller("ingress-nginx")',
        'SERVICES = """' + _yaml(SERVICES) + '"""',
        "lab.apply(SERVICES)",
        'print(lab.services("shop"))',
    ]))

    # -- task 1 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 1 — Route by host and path (4 points)

    Write an Ingress `shop` in namespace `shop`, served by ingress-nginx (class `nginx`), for the
    host **`shop.example.com`** only:

    * `/api` **and every path below it** (`/api/v1/cart`) go to `api` (port 8080) — but not paths
      that merely start with the same letters, like `/apiary`;
    * **exactly** `/healthz` goes to `api` too (the load balancer's health check); `/healthz/deep` and
      `/healthz/` do not;
    * every other path goes to `web` (port 80);
    * requests for any other host are not served (the controller answers 404).

    Points: 1 visible (the Ingress exists; `/` reaches the front end), 3 hidden (Prefix paths — its
    visible part checks `/api/v1/cart`; the Exact path; other hosts, and clients inside the cluster).
    """))
    nb.answer("shop_ingress", ROUTING)
    nb.code("""
    # Try it (not graded)
    lab.apply(shop_ingress)
    address = lab.address("ingress/shop/shop")
    for path in ("/", "/api", "/api/v1/cart", "/apiary", "/healthz", "/healthz/deep"):
        r = lab.http("host", f"http://shop.example.com{path}", resolve=address)
        print(f"{path:16} {r.http.render() if r.http else r.verdict.value}")
    """)
    ctor = 'answer="shop_ingress", topology="shop"'
    nb.test("ing_visible", 1, "one Ingress in shop; / reaches the front end", ctor, visible=f"""
            {_indent(SETUP)}
            check.expect_objects("Ingress", count=1, namespace="shop")
            check.expect_http("host", "http://shop.example.com/", resolve={ING}, status=200, answered_by="shop/web")
            """)
    nb.test("ing_prefix", 1, "/api and below go to the API; /apiary does not", ctor, visible=_indent(SETUP, 0) + f"""
check.expect_http("host", "http://shop.example.com/api/v1/cart", resolve={ING}, status=200, answered_by="shop/api")""", hidden=f"""
            for path in ("/api", "/api/", "/api/v1/cart"):
                check.expect_http("host", f"http://shop.example.com{{path}}", resolve={ING}, status=200, answered_by="shop/api")
            for path in ("/apiary", "/ap", "/v1/api"):
                check.expect_http("host", f"http://shop.example.com{{path}}", resolve={ING}, status=200, answered_by="shop/web")
            """)
    nb.test("ing_exact", 1, "exactly /healthz goes to the API", ctor, visible=_indent(SETUP, 0), hidden=f"""
            check.expect_http("host", "http://shop.example.com/healthz", resolve={ING}, status=200, answered_by="shop/api")
            for path in ("/healthz/", "/healthz/deep", "/healthzz"):
                check.expect_http("host", f"http://shop.example.com{{path}}", resolve={ING}, status=200, answered_by="shop/web")
            """)
    nb.test("ing_hosts", 1, "other hosts get 404; clients inside the cluster are routed the same way", ctor,
            visible=_indent(SETUP, 0), hidden=f"""
            for url in ("http://other.example.com/", "http://other.example.com/api", "http://api.example.com/healthz"):
                check.expect_http("host", url, resolve={ING}, status=404)
            check.expect_http("untrusted/attacker", "http://shop.example.com/api", resolve={ING}, status=200, answered_by="shop/api")
            check.expect_http("monitoring/prometheus", "http://shop.example.com/", resolve={ING}, status=200, answered_by="shop/web")
            """)

    # -- task 2 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 2 — TLS, and a policy that still lets the controller in (4 points)

    The shop now serves **HTTPS**. The tests create two TLS Secrets in `shop`, both issued by the
    company's certificate authority "shop CA" (the cell below mints the same in your lab with
    `grader.tls`): `shop-tls` with a certificate for `shop.example.com`, and `api-tls` with one for
    `api.example.com`. The shop also runs a **default-deny ingress policy** (`default-deny-ingress`:
    no pod in `shop` accepts any connection).

    Write, as one answer with two documents:

    1. the Ingress `shop` (class `nginx`, host `shop.example.com`): `/api` and below → `api`, the
       rest → `web`, terminating TLS with **the right certificate** (plain HTTP then redirects to
       HTTPS by itself);
    2. a NetworkPolicy `allow-ingress-controller` in `shop` that lets **only the ingress-nginx
       controller** (namespace `ingress-nginx`, pod labels `app.kubernetes.io/name=ingress-nginx`,
       `app.kubernetes.io/component=controller`) reach the front end and the back end, on their
       `http` ports only. Nothing else gets into `shop`.

    Points: 1 visible (an Ingress and a NetworkPolicy; `https://shop.example.com/` answers with a
    certificate the shop CA vouches for), 3 hidden (certificate and redirect; who reaches the pods,
    on which ports — 2 points, its visible part checks that another pod of the `ingress-nginx`
    namespace stays out).
    """))
    nb.code(f"""
    ca = mint_ca("shop CA")   # in the tests, a CA of the same name that only the tests hold
    tls_lab = grader.connect("kindnet")
    tls_lab.deploy("shop")
    tls_lab.install_ingress_controller("ingress-nginx")
    tls_lab.apply(SERVICES)
    tls_lab.apply([ca.issue(["shop.example.com"]).secret("shop-tls", "shop"), ca.issue(["api.example.com"]).secret("api-tls", "shop")])
    tls_lab.apply({_flow(DENY)})
    print(tls_lab.objects())
    """)
    nb.answer("shop_tls", TLS)
    nb.code(try_cell(
        "# Try it (not graded). The tests also run another pod in the ingress-nginx namespace and a pod in shop",
        "# with the controller's labels: only the controller itself may get in.",
        'tls_lab.apply("""', pods_yaml(*CONTROLLER_LOOKALIKES), '""")',
        "tls_lab.apply(shop_tls)",
        'address = tls_lab.address("ingress/shop/shop")',
        'r = tls_lab.http("host", "https://shop.example.com/api/orders", resolve=address, ca=ca)',
        'print(r.http.render(), "|", r.http.certificate, "| trusted:", r.http.certificate_trusted)',
        'clients = ["ingress-nginx/ingress-nginx-controller", "ingress-nginx/debug", "shop/ingress-nginx-controller", "untrusted/attacker", "shop/web"]',
        'display(tls_lab.matrix(80, sources=clients, destinations=["shop/web"]))',
        'display(tls_lab.matrix(8080, sources=clients, destinations=["shop/api"]))'))
    tls = 'answer="shop_tls", topology="shop"'
    tls_setup = _indent(SETUP + "\n" + SECRETS + "\n" + given(DENY), 0)
    nb.test("tls_visible", 1, "an Ingress and a NetworkPolicy in shop; HTTPS works with a trusted certificate", tls, visible=f"""
            {_indent(tls_setup)}
            check.expect_objects("Ingress", count=1, namespace="shop")
            check.expect_objects("NetworkPolicy", at_least=1, namespace="shop")
            check.expect_http("host", "https://shop.example.com/", resolve={ING}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)
            """)
    nb.test("tls_certificate", 1, "the certificate for shop.example.com on every path; HTTP redirects to HTTPS", tls,
            visible=tls_setup, hidden=f"""
            check.expect_http("host", "https://shop.example.com/api/orders", resolve={ING}, ca="shop CA", status=200, answered_by="shop/api", trusted=True)
            check.expect_http("untrusted/attacker", "https://shop.example.com/cart", resolve={ING}, ca="shop CA", status=200, answered_by="shop/web", trusted=True)
            check.expect_http("host", "http://shop.example.com/cart", resolve={ING}, status=308, location="https://shop.example.com/cart")
            """)
    nb.test("tls_policy", 2, "only the controller reaches web and api, only on their http ports", tls,
            visible=tls_setup + "\n" + add_pods(CONTROLLER_LOOKALIKES[0]) + """
check.expect_probe("ingress-nginx/debug", "shop/web", 80, verdict="blocked")""", hidden=f"""
            {_indent(add_pods(CONTROLLER_LOOKALIKES[1]))}
            check.expect_matrix(80, sources=["*", "ingress-nginx/*"], destinations="shop/web", default="blocked",
                                allow=["ingress-nginx/ingress-nginx-controller -> shop/web"])
            check.expect_matrix(8080, sources=["*", "ingress-nginx/*"], destinations="shop/*", default="blocked",
                                allow=["ingress-nginx/ingress-nginx-controller -> shop/api"])
            for port in (5432, 9100):
                check.expect_matrix(port, sources=["*", "ingress-nginx/*"], destinations="shop/*", default="blocked")
            """)

    # -- task 3 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 3 — The same with the Gateway API (4 points)

    The platform team moves to the **Gateway API**, implemented here by cloud-provider-kind
    (GatewayClass `cloud-provider-kind`: an Envoy container outside the cluster per Gateway). The
    `shop-tls` and `api-tls` Secrets exist as in task 2; there is no ingress-nginx and no policy.
    Write, in namespace `shop`:

    1. a Gateway `public` with two listeners for `shop.example.com`: `http` on port 80 and `https`
       on port 443, terminating TLS with the right certificate;
    2. an HTTPRoute `shop` attached to the `https` listener: `/api` and below → `api` (8080), the
       rest → `web` (80);
    3. an HTTPRoute `to-https` attached to the `http` listener that **redirects** every request to
       HTTPS with status **301**.

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
    gw_setup = _indent(given(*SERVICES) + "\n" + SECRETS, 0)
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
