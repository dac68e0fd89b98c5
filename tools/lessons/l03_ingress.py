"""Lesson 3: Ingress and Gateway API."""

from . import Lesson, code, md, predict

LESSON = Lesson(3, "ingress-and-gateway", "Ingress and Gateway API", "03-ingress-gateway", [
    md("""
    # Lesson 3 — Ingress and Gateway API

    A LoadBalancer Service gives one component one address (lesson 2). A web application has
    several components behind one name: the shop's pages, its API, maybe an admin site. An
    **HTTP proxy** in front of them can route each request by its host name and path, and
    terminate TLS once for all of them. Kubernetes has two APIs to configure such a proxy:
    **Ingress**, and its successor, **Gateway API**.

    **What you will learn**
    - route requests for one address to several Services by host and by path, and predict
      which rule wins;
    - terminate TLS at the proxy with a certificate you mint, and check who trusts it;
    - describe a route with Gateway API (GatewayClass, Gateway, HTTPRoute), read its status
      conditions, and split traffic between two versions by weight;
    - run the Gateway API implementation AKS recommends today (application routing's
      `approuting-istio`), whose proxies are pods, and find the network policy that forgot them;
    - map it to AKS: the commands that enable it, the Azure DNS records it manages, and why
      ingress-nginx is legacy.

    **Core path** (about 35 minutes): sections 1 to 4 and On AKS. **Deep dive** (10 minutes):
    the cloud-provider-kind details in section 4's last paragraph.
    """),
    code("""
    import pandas as pd

    import grader
    from grader.course import cite, pods_table, results_grid
    from grader.render import compare_matrices, draw_distribution
    from grader.tls import mint_ca

    PROFILE = "kindnet"   # try "calico-vxlan" or "cilium-tunnel" and run the notebook again

    lab = grader.connect(PROFILE)
    lab.deploy("shop")
    lab.reset(keep_topology=True)   # no Services, Ingresses, Gateways or policies from an earlier run

    SERVICES = '''
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: shop
    spec:
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: http}
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: api
      namespace: shop
    spec:
      selector: {app: api}
      ports:
      - {name: http, port: 8080, targetPort: http}
    '''
    print(*lab.apply(SERVICES), sep="\\n")
    """),

    md("""
    ## 1. An Ingress: rules by host and path

    An **Ingress** lists rules: for a host name, which path goes to which Service and port. It
    does nothing by itself; an **ingress controller** (a proxy plus the program that configures
    it) reads Ingresses and serves them. Which controller serves an Ingress is decided by its
    `ingressClassName`, or by the cluster's default IngressClass when it names none.

    On kind, cloud-provider-kind is that default: it serves each namespace's Ingresses from an
    Envoy proxy container on the kind network, with an address of its own.

    *Legacy you will still meet:* most Ingress examples on the web use **ingress-nginx**
    (`ingressClassName: nginx`). The project was retired upstream in March 2026 (no fixes,
    not even security fixes, since), and Microsoft's support for the NGINX of AKS's application
    routing add-on ended in November 2026. Existing clusters still run it; new ones should not,
    and this course does not build on it.
    """),
    code("""
    INGRESS = '''
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata:
      name: shop
      namespace: shop
    spec:
      rules:
      - host: shop.example.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
          - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
      - host: api.shop.example.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
    '''
    print(*lab.apply(INGRESS))
    print(lab.status("ingress/shop/shop"))
    entry = lab.address("ingress/shop/shop")
    """),
    md("""
    No DNS server knows `shop.example.com` here, so requests connect to the Ingress's address
    and carry the name in the `Host` header, like `curl --resolve`: that is the `resolve=`
    argument. (`agnhost` names itself at the path `/hostname`; under other paths it answers
    without saying who it is, so on kind the "answered by" column can stay empty for them.)
    """),
    predict("""
    Which component answers each of these: `/hostname`, `/api/hostname`, `/apis`, `/API`, and
    `/hostname` on the host `api.shop.example.com`, and on `other.example.com`?
    """),
    code("""
    def requests(urls, via, **options):
        rows = {}
        for url in urls:
            r = lab.http("host", url, resolve=via, **options)
            rows[url] = {"verdict": r.verdict.name, "status": r.http.status if r.http and r.http.status else "",
                         "answered by": r.answered_by or ""}
        return pd.DataFrame(rows).T

    requests([
        "http://shop.example.com/hostname",
        "http://shop.example.com/api/hostname",
        "http://shop.example.com/apis",
        "http://shop.example.com/API",
        "http://api.shop.example.com/hostname",
        "http://other.example.com/hostname",
    ], via=entry)
    """),
    md("""
    - `Prefix` matches whole path elements: `/api` matches `/api` and `/api/...`, but not `/apis`;
      paths are case-sensitive, so `/API` falls through to `/`.
    - The longest matching path wins, whatever the order of the rules.
    - A host no rule names gets 404 from the proxy: no Service is involved.
    """),

    md("""
    ## 2. TLS termination

    For HTTPS, the proxy holds the certificate and private key and **terminates** TLS: it
    decrypts, routes by host and path, and talks plain HTTP to the pods. The key lives in a
    Kubernetes **Secret** of type `kubernetes.io/tls`, which the Ingress names under `tls`.

    A real site gets its certificate from a public authority (or cert-manager, or Azure Key
    Vault). Here the lesson mints its own small certificate authority (CA), then a certificate
    for `shop.example.com` signed by it.
    """),
    code("""
    ca = mint_ca("shop lesson CA")
    certificate = ca.issue(["shop.example.com"])
    secret = certificate.secret("shop-tls", "shop")   # a kubernetes.io/tls Secret manifest
    INGRESS_TLS = '''
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata:
      name: shop
      namespace: shop
    spec:
      tls:                         # new: terminate TLS for this host with this Secret
      - hosts: [shop.example.com]
        secretName: shop-tls
      rules:
      - host: shop.example.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
          - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
      - host: api.shop.example.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
    '''
    print(*lab.apply([secret, INGRESS_TLS]), sep="\\n")
    r = lab.http("host", "https://shop.example.com/hostname", resolve=entry, ca=ca)
    print(r.explain(full=True))
    """),
    md("""
    The path shows TLS ending at the proxy (`tls:` hop) and the request going on to the pod
    as plain HTTP. `ca=` says which authority the client trusts; a browser would not know the
    lesson's CA.
    """),
    predict("""
    Three clients connect: one trusts the lesson's CA, one trusts another CA, one asks for the
    certificate of `api.shop.example.com` (a name the certificate does not cover). Which of them
    accept the certificate they get?
    """),
    code("""
    other_ca = mint_ca("someone else's CA")
    checks = {
        "trusts the lesson CA": lab.http("host", "https://shop.example.com/hostname", resolve=entry, ca=ca),
        "trusts another CA": lab.http("host", "https://shop.example.com/hostname", resolve=entry, ca=other_ca),
        "asks for api.shop.example.com": lab.http("host", "https://api.shop.example.com/hostname", resolve=entry, ca=ca),
    }
    pd.DataFrame({
        client: {"verdict": r.verdict.name, "accepts the certificate": r.http.certificate_trusted if r.http else None,
                 "why": r.http.trust_reason if r.http else r.reason.splitlines()[0]}
        for client, r in checks.items()
    }).T
    """),

    md("""
    ## 3. Gateway API, the successor

    The Ingress API is frozen: it will stay, but gains nothing new, and everything beyond host
    and path (redirects, header matches, traffic splits, TLS details) ended up in
    controller-specific annotations. **Gateway API** puts those in the API itself, and splits
    the configuration by role:

    - a **GatewayClass** (infrastructure provider) names the controller that implements it;
    - a **Gateway** (cluster operator) is one proxy instance: listeners with ports, protocols,
      host names and certificates;
    - **HTTPRoutes** (application teams) attach to a Gateway and route requests to Services.

    Every object reports **status conditions**, so you can ask it whether it worked.
    """),
    code("""
    for condition in lab.status("gatewayclass/cloud-provider-kind"):
        print("gatewayclass cloud-provider-kind:", condition.render())
    """),
    md("""
    The shop team is about to release a new front end, `web-v2`, and wants 10% of requests on
    it first (a *canary*). The Gateway has an HTTP and an HTTPS listener (reusing the lesson's
    certificate); the route sends `/api` to the back end and splits the rest 90/10.
    """),
    code("""
    WEB_V2 = '''
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web-v2
      namespace: shop
    spec:
      replicas: 1
      selector:
        matchLabels: {app: web-v2}
      template:
        metadata:
          labels: {app: web-v2, tier: frontend}
        spec:
          containers:
          - name: web
            image: agnhost
            ports:
            - {containerPort: 80, name: http}
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: web-v2
      namespace: shop
    spec:
      selector: {app: web-v2}
      ports:
      - {name: http, port: 80, targetPort: http}
    '''
    GATEWAY = '''
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata:
      name: public
      namespace: shop
    spec:
      gatewayClassName: cloud-provider-kind
      listeners:
      - {name: http, port: 80, protocol: HTTP}
      - name: https
        port: 443
        protocol: HTTPS
        hostname: shop.example.com
        tls:
          mode: Terminate
          certificateRefs:
          - {name: shop-tls}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata:
      name: shop
      namespace: shop
    spec:
      parentRefs:
      - {name: public}
      hostnames: [shop.example.com]
      rules:
      - matches:
        - path: {type: PathPrefix, value: /api}
        backendRefs:
        - {name: api, port: 8080}
      - backendRefs:               # everything else: a 90/10 canary
        - {name: web, port: 80, weight: 90}
        - {name: web-v2, port: 80, weight: 10}
    '''
    print(*lab.apply([WEB_V2, GATEWAY]), sep="\\n")
    print(lab.status("gateway/shop/public"))
    print(lab.status("httproute/shop/shop"))
    gateway = lab.address("gateway/shop/public")
    """),
    predict("""
    Out of 300 HTTPS requests to `shop.example.com`, how many will `web-v2` answer?
    """),
    code("""
    canary = lab.distribution("host", "https://shop.example.com/hostname", resolve=gateway, requests=300)
    draw_distribution(canary, title="HTTPRoute weights 90/10, 300 requests through the Gateway")
    """),
    md("""
    About 30, and never exactly: the Gateway draws a backend per request with those weights.
    Rolling out means raising the weight of `web-v2`, step by step, in the same route.

    Status conditions are where Gateway API tells you what is wrong, instead of silently
    ignoring it. An app team adds a route for an admin site whose Service does not exist yet:
    """),
    predict("""
    Will the route be accepted by the Gateway? What does a request to `admin.shop.example.com`
    get?
    """),
    code("""
    lab.apply('''
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata:
      name: admin
      namespace: shop
    spec:
      parentRefs:
      - {name: public, sectionName: http}
      hostnames: [admin.shop.example.com]
      rules:
      - backendRefs:
        - {name: admin, port: 80}
    ''')
    print(lab.status("httproute/shop/admin"))
    r = lab.http("host", "http://admin.shop.example.com/", resolve=gateway)
    print(r.summary(), "-", r.http.render() if r.http else r.reason)
    """),
    md("""
    Accepted (it attached to the listener) but `ResolvedRefs=False`: the backend does not
    exist, and Gateway API requires a 500 for requests to it rather than sending them elsewhere.
    """),

    md("""
    ## 4. AKS's Gateway API implementation: the proxy is a pod

    cloud-provider-kind runs its proxies *outside* the cluster. Many implementations run them
    *inside*: a Deployment of proxy pods behind a LoadBalancer Service. AKS's recommended one
    today is the **application routing add-on's Gateway API implementation**, GatewayClass
    `approuting-istio`: for each Gateway, a managed Istio control plane creates an Envoy
    Deployment and a LoadBalancer Service named `<gateway>-approuting-istio` in the Gateway's
    namespace. Those Envoy pods connect to the backend pods themselves, so a backend sees the
    **Gateway's pod** as its client, and the backend's network policy must allow that pod.

    A common layout: the platform team owns one shared Gateway in its own namespace, `infra`,
    with the certificate; application teams attach their HTTPRoutes to it from their namespaces.
    """),
    code("""
    print("GatewayClass:", lab.install_gateway_class("approuting-istio"))
    SHARED_GATEWAY = \'\'\'
    apiVersion: v1
    kind: Namespace
    metadata:
      name: infra
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata:
      name: shared
      namespace: infra
    spec:
      gatewayClassName: approuting-istio
      listeners:
      - name: https
        port: 443
        protocol: HTTPS
        hostname: shop.example.com
        tls:
          mode: Terminate
          certificateRefs:
          - {name: shop-tls}       # the Secret lives next to the Gateway, in infra
        allowedRoutes:
          namespaces: {from: All}  # routes from any namespace may attach
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata:
      name: shop-via-shared
      namespace: shop
    spec:
      parentRefs:
      - {name: shared, namespace: infra}
      hostnames: [shop.example.com]
      rules:
      - matches:
        - path: {type: PathPrefix, value: /api}
        backendRefs:
        - {name: api, port: 8080}
      - backendRefs:
        - {name: web, port: 80}
    \'\'\'
    print(*lab.apply(SHARED_GATEWAY), sep="\\n")
    print(*lab.apply(certificate.secret("shop-tls", "infra")))
    print(lab.status("gateway/infra/shared"))
    shared = lab.address("gateway/infra/shared")
    gateway_pod = next(str(p.ref) for p in lab.pods("infra")
                       if p.labels.get("gateway.networking.k8s.io/gateway-name") == "shared")
    pods_table(lab, ["infra"]).loc[[gateway_pod]]
    """),
    code("""
    r = lab.http("host", "https://shop.example.com/clientip", resolve=shared, ca=ca)
    print(f"{r.verdict.name}: answered by {r.answered_by}, which saw the client as {r.client_ip}")
    """),
    md("""
    The client address `web` sees is the Gateway pod's own. Now a policy that looks
    reasonable: a default deny for the shop, and the front end open to *the shop's own pods*
    on port 80.
    """),
    predict("""
    With these two policies, does `https://shop.example.com/` still work through the shared
    Gateway? And through cloud-provider-kind's Envoy (the Ingress of section 2), which is not a
    pod at all?
    """),
    code("""
    FORGETFUL = \'\'\'
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: default-deny-ingress
      namespace: shop
    spec:
      podSelector: {}
      policyTypes: [Ingress]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: web-from-the-shop
      namespace: shop
    spec:
      podSelector:
        matchLabels: {tier: frontend}
      ingress:
      - from:
        - podSelector: {}        # pods of namespace shop only
        ports:
        - port: 80
    \'\'\'
    print(*lab.apply(FORGETFUL), sep="\\n")
    for proxy, address in (("the shared Gateway", shared), ("cloud-provider-kind", entry)):
        r = lab.http("host", "https://shop.example.com/hostname", resolve=address, ca=ca)
        print(f"via {proxy}:", r.summary(), "-", r.http.render() if r.http else r.reason.splitlines()[0])
    """),
    md("""
    Both break: each proxy accepted your request and answered 503, because its own connection
    to `web` was dropped. The fix for the shared Gateway is a rule for its pods, selected by
    their namespace *and* the label Istio puts on every pod of a Gateway,
    `gateway.networking.k8s.io/gateway-name`.
    """),
    code("""
    FROM_THE_GATEWAY = \'\'\'
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: web-from-the-shared-gateway
      namespace: shop
    spec:
      podSelector:
        matchLabels: {tier: frontend}
      ingress:
      - from:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: infra}
          podSelector:
            matchLabels: {gateway.networking.k8s.io/gateway-name: shared}
        ports:
        - port: 80
    \'\'\'
    def who_reaches_web():
        # the two entry points (HTTPS requests through each proxy) next to two pods connecting directly
        return results_grid({
            "https via the shared Gateway": lab.http("host", "https://shop.example.com/hostname", resolve=shared, ca=ca),
            "https via cloud-provider-kind": lab.http("host", "https://shop.example.com/hostname", resolve=entry, ca=ca),
            "shop/api, directly": lab.probe("shop/api", "shop/web", 80),
            "untrusted/attacker, directly": lab.probe("untrusted/attacker", "shop/web", 80),
        }, "shop/web")

    before = who_reaches_web()
    print(*lab.apply(FROM_THE_GATEWAY))
    compare_matrices({"forgetful policy": before, "+ web-from-the-shared-gateway": who_reaches_web()}, title="who reaches shop/web")
    """),
    md("""
    Only the path through the shared Gateway came back; the attacker is still out. This is the
    pattern for any in-cluster proxy (a Gateway's pods, an ingress controller, a service mesh
    ingress): allow *its* pods, by namespace and labels, on the backend's port. Had the
    Gateway been in `shop` itself, the default deny would have cut off the Gateway's own pods
    too: they would need a rule admitting clients on 443.

    *Deep dive:* cloud-provider-kind's Envoy reaches `web` through the control-plane node,
    which masquerades it, so `web` sees that node. A policy can only allow it with an `ipBlock`
    of the node's address, which Cilium does not match; lesson 7 explains why.
    """),

    md("""
    ## On AKS

    - **What to use today:** the application routing add-on's Gateway API implementation
      (GatewayClass `approuting-istio`, section 4). The add-on's managed NGINX, configured with
      Ingress objects, lost Microsoft's support in November 2026, after the upstream
      ingress-nginx project was retired in March 2026. Application Gateway for Containers is
      the Azure-hosted alternative (Ingress and Gateway API); the Istio service mesh add-on
      another (it cannot run next to `approuting-istio`).
    - **The commands** (Azure CLI 2.86 or newer): on a new cluster, or on an existing one,
      ```bash
      az aks create --resource-group shop-rg --name shop-aks \\
          --enable-gateway-api --enable-app-routing-istio     # ... plus the network flags of lessons 1 and 4
      az aks update --resource-group shop-rg --name shop-aks --enable-gateway-api
      az aks approuting gateway istio enable --resource-group shop-rg --name shop-aks
      ```
      `--enable-gateway-api` installs AKS's *managed* Gateway API CRDs (standard channel, a
      version per Kubernetes minor version: v1.5.1 from 1.36). Then `kubectl get gatewayclass`
      lists `approuting-istio`, and a Gateway like section 4's gets an Azure Load Balancer
      address.
    - **DNS is managed for you:** attach your Azure DNS zone to the add-on and it publishes
      records for the host names of your Gateways and routes as you create them (through the
      operator's ExternalDNS resources):
      ```bash
      ZONE_ID=$(az network dns zone show --resource-group dns-rg --name example.com --query id --output tsv)
      az aks approuting zone add --resource-group shop-rg --name shop-aks --ids "$ZONE_ID" --attach-zones
      ```
    - **Network policy:** the Gateway's Envoy pods run in the Gateway's namespace with the
      label `gateway.networking.k8s.io/gateway-name`, exactly as in section 4: allow them on the
      backend's port.
    - The **Ingress API** itself stays (frozen, not removed); new features go to Gateway API.
      kind's cloud-provider-kind, used in sections 1 to 3, serves Ingress by translating it to
      Gateway API.
    """),
    code("""
    cite("aks-app-routing-gateway-api", "aks-managed-gateway-api-crds", "aks-app-routing-dns",
         "aks-app-routing-nginx-support-end", "ingress-nginx-retired", "ingress-api-frozen", "gateway-api-version",
         "cloud-provider-kind-ingress")
    """),
    md("""
    ## Summary

    - An Ingress routes by host and path (longest path wins; `Prefix` matches path elements);
      an ingress controller serves it, picked by the IngressClass.
    - The proxy terminates TLS with a certificate from a `kubernetes.io/tls` Secret; clients
      must trust the CA that signed it, for the name they asked for.
    - Gateway API splits the job into GatewayClass, Gateway and HTTPRoute, reports status
      conditions, and has traffic splitting, redirects and header matching built in.
    - An in-cluster proxy (AKS's `approuting-istio` Gateways) connects to the pods itself:
      backend policies must allow its pods, by namespace and labels.
    """),
])
