"""Lesson 8: capstone, securing the shop end to end."""

from . import Lesson, code, md, predict

LESSON = Lesson(8, "capstone", "Capstone: secure the shop end to end", "08-capstone", [
    md("""
    # Lesson 8 — Capstone: secure the shop end to end

    Every lesson so far secured one direction of traffic. This one puts them together: users
    reach the shop only through its ingress, with TLS; inside, each tier talks only to the tier
    it needs; and only the back end leaves the cluster, to the one provider it calls. The lesson
    walks through an approach and checks a reference design against the full matrix; your
    version, with its own requirements, is the graded exercise.

    **What you will learn**
    - turn a security requirement into expected reachability, *before* writing any policy;
    - build policies in an order that keeps the design reviewable: default deny, DNS, then one
      policy per workload covering both directions;
    - verify a design with the full matrix of every port, plus the flows a matrix cannot show
      (names, the internet, HTTPS through the ingress, a pod added later);
    - read a failed check and find the missing rule;
    - map the design to the layers AKS offers (application routing's Gateway API, network
      policy engine, NSGs, outbound control), down to the `az` commands that build the cluster.

    **Core path** (about 40 minutes): sections 1 to 5 and On AKS. **Deep dive** (10 minutes):
    section 6, reading a failed check.
    """),
    code("""
    import pandas as pd

    import grader
    from grader import Reachability, Verdict
    from grader.course import app_matrix, cite, explain_all
    from grader.render import compare_matrices, draw_topology
    from grader.tls import mint_ca

    PROFILE = "kindnet"   # try "calico-vxlan" or "cilium-tunnel" and run the notebook again

    lab = grader.connect(PROFILE)
    lab.deploy("shop")
    lab.reset(keep_topology=True)   # the bare shop: no Services, Ingresses or policies

    # AKS application routing's Gateway API implementation (lesson 3, section 4): each Gateway of
    # this class becomes Envoy pods in the Gateway's namespace, behind a LoadBalancer Service.
    print("GatewayClass:", lab.install_gateway_class("approuting-istio"))
    """),

    md("""
    ## 1. The requirements

    | direction | requirement |
    |---|---|
    | ingress | users reach the shop only at `https://shop.example.com`, through the platform team's shared Gateway (namespace `infra`), with a certificate the shop's CA signed; nothing reaches the front end directly |
    | east-west | the front end calls the back end on 8080; the back end calls the database on 5432; Prometheus (namespace `monitoring`) scrapes every shop pod on 9100; nothing else |
    | egress | shop pods resolve names through the cluster DNS; the back end calls `api.example.com` on 443; nothing else leaves the shop |
    | later | a pod added to `shop` tomorrow gets nothing it was not given |

    ## 2. Expectations first

    A requirement is only testable once it is a list of flows with a verdict. Write those
    first, as `Reachability` objects (the graded exercises check answers the same way), one per
    port, over every pod that could try. (In a `Reachability`, a later `.expect(...)` for the
    same flow replaces an earlier one: this is about the checking helper, not about
    NetworkPolicies, which have no order.) So each starts general and then names the exceptions. The way in through the Gateway is checked end to
    end, with HTTPS requests, in section 5.
    """),
    code("""
    EVERYONE = [str(p.ref) for p in lab.pods()]
    SHOP = ["shop/api", "shop/db", "shop/web"]

    expectations = [
        Reachability(EVERYONE, ["shop/web", "untrusted/attacker"], port=80)
        .expect("*", "shop/web", Verdict.BLOCKED)                  # no pod reaches the front end directly
        .expect("shop/*", "untrusted/attacker", Verdict.BLOCKED),  # shop pods reach nothing outside their flows
        Reachability(EVERYONE, ["shop/api"], port=8080, default=Verdict.BLOCKED)
        .expect("shop/web", "shop/api", Verdict.ALLOWED),
        Reachability(EVERYONE, ["shop/db"], port=5432, default=Verdict.BLOCKED)
        .expect("shop/api", "shop/db", Verdict.ALLOWED),
        Reachability(EVERYONE, SHOP, port=9100, default=Verdict.BLOCKED)
        .expect("monitoring/prometheus", "shop/*", Verdict.ALLOWED),
        Reachability(EVERYONE, ["monitoring/prometheus"], port=9090)
        .expect("shop/*", "monitoring/prometheus", Verdict.BLOCKED),
    ]

    def check_all(title):
        results = [lab.check(e) for e in expectations]
        wrong = sum(len(r.wrong) for r in results)
        total = sum(r.right + len(r.wrong) for r in results)
        print(f"{title}: {total - wrong} of {total} flows as expected")
        return results

    APP_PORTS = {"shop/web": 80, "shop/api": 8080, "shop/db": 5432}
    open_grid = app_matrix(lab, APP_PORTS, sources=EVERYONE)
    before = check_all("the open shop")
    """),
    md("""
    Most of them fail on the open shop, as they should: a check that passes before the work is
    done would prove nothing.

    ## 3. The reference design

    The order matters less to the cluster (policies simply add up) than to the people who review
    them. This design reads top to bottom:

    1. a **default deny** for both directions in `shop`: from here on, every flow is a decision;
    2. **DNS** for every shop pod, in its own policy (lesson 5's trap);
    3. **one policy per workload**, naming its ingress *and* egress, so each reads like the
       workload's contract;
    4. the **metrics** rule for Prometheus, by namespace name *and* pod label (lesson 7);
    5. the **entry point** and names: Services for the front and back end, and the shared
       Gateway (GatewayClass `approuting-istio`, its certificate in `infra`) with the shop's
       HTTPRoute.
    """),
    code("""
    POLICIES = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: default-deny, namespace: shop}
    spec:
      podSelector: {}
      policyTypes: [Ingress, Egress]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: dns, namespace: shop}
    spec:
      podSelector: {}
      policyTypes: [Egress]
      egress:
      - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
          podSelector: {matchLabels: {k8s-app: kube-dns}}
        ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: metrics, namespace: shop}
    spec:
      podSelector: {}
      policyTypes: [Ingress]
      ingress:
      - from:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
          podSelector: {matchLabels: {app: prometheus}}
        ports: [{port: 9100}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: web, namespace: shop}
    spec:
      podSelector: {matchLabels: {tier: frontend}}
      policyTypes: [Ingress, Egress]
      ingress:                                   # only the shared Gateway's pods, on 80
      - from:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: infra}}
          podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: shared}}
        ports: [{port: 80}]
      egress:                                    # only the back end, on 8080
      - to: [{podSelector: {matchLabels: {tier: backend}}}]
        ports: [{port: 8080}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: api, namespace: shop}
    spec:
      podSelector: {matchLabels: {tier: backend}}
      policyTypes: [Ingress, Egress]
      ingress:                                   # only the front end, on 8080
      - from: [{podSelector: {matchLabels: {tier: frontend}}}]
        ports: [{port: 8080}]
      egress:                                    # the database, and the payment provider
      - to: [{podSelector: {matchLabels: {tier: database}}}]
        ports: [{port: 5432}]
      - to: [{ipBlock: {cidr: 203.0.113.10/32}}]
        ports: [{port: 443}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: db, namespace: shop}
    spec:
      podSelector: {matchLabels: {tier: database}}
      policyTypes: [Ingress]
      ingress:                                   # only the back end, on 5432
      - from: [{podSelector: {matchLabels: {tier: backend}}}]
        ports: [{port: 5432}]
    '''

    ca = mint_ca("shop CA")
    ENTRY = '''
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: shop}
    spec:
      selector: {app: web}
      ports: [{name: http, port: 80, targetPort: http}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: api, namespace: shop}
    spec:
      selector: {app: api}
      ports: [{name: http, port: 8080, targetPort: http}]
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: infra}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: shared, namespace: infra}
    spec:
      gatewayClassName: approuting-istio
      listeners:
      - name: https
        port: 443
        protocol: HTTPS
        hostname: shop.example.com
        tls: {mode: Terminate, certificateRefs: [{name: shop-tls}]}
        allowedRoutes: {namespaces: {from: All}}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop, namespace: shop}
    spec:
      parentRefs: [{name: shared, namespace: infra}]
      hostnames: [shop.example.com]
      rules:
      - backendRefs: [{name: web, port: 80}]
    '''
    print(*lab.apply([ENTRY, ca.issue(["shop.example.com"]).secret("shop-tls", "infra"), POLICIES]), sep="\\n")
    """),

    md("""
    ## 4. Verify: the full matrix

    Every expectation is checked against a fresh probe of its whole grid: every source to every
    destination serving that port.
    """),
    predict("""
    Will every expectation hold now? If one fails, which requirement is it likely to be?
    """),
    code("""
    after = check_all("the reference design")
    for comparison in after:
        if not comparison.ok:
            print(comparison.report())
    compare_matrices({"open shop": open_grid, "reference design": app_matrix(lab, APP_PORTS, sources=EVERYONE)},
                     title="who uses which shop service")
    """),
    md("""
    Every flow is as required. The grids above cover each service on its own port; the metrics
    and Prometheus ports are in the checks too. Drawn on the cluster, the flows that remain, and
    two attempts that fail:
    """),
    code("""
    draw_topology(lab, flows=[
        lab.probe("shop/web", "shop/api", 8080),
        lab.probe("shop/api", "shop/db", 5432),
        lab.probe("monitoring/prometheus", "shop/db", 9100),
        lab.probe("untrusted/attacker", "shop/web", 80),
        lab.probe("shop/web", "shop/db", 5432),
    ], title="the secured shop")
    """),

    md("""
    ## 5. What a matrix cannot show

    A pod-to-pod matrix says nothing about names, the internet, HTTPS through the Gateway, or
    pods that do not exist yet. Each needs its own probe.
    """),
    predict("""
    Which of these work: HTTPS to the shop through the Gateway (trusting the shop's CA); the front
    end calling the back end by its Service name `api`; the back end calling `api.example.com` on
    443, and on 80; the front end calling `api.example.com`; the database calling
    `blocked.example.net`; the database resolving `api.example.com`?
    """),
    code("""
    shop_entry = lab.address("gateway/infra/shared")
    site = lab.http("host", "https://shop.example.com/hostname", resolve=shop_entry, ca=ca)
    rows = {
        "host → https://shop.example.com (via the shared Gateway)": site.verdict.name + (
            f", HTTP {site.http.status}, certificate trusted: {site.http.certificate_trusted}" if site.http else ""),
    }
    for source, target, port in [("shop/web", "api", 8080), ("shop/api", "api.example.com", 443),
                                 ("shop/api", "api.example.com", 80), ("shop/web", "api.example.com", 443),
                                 ("shop/db", "blocked.example.net", 443)]:
        rows[f"{source} → {target}:{port}"] = lab.probe(source, target, port).verdict.name
    try:
        found = lab.nslookup("shop/db", "api.example.com")
        rows["shop/db resolves api.example.com"] = "resolves to " + ", ".join(map(str, found.addresses))
    except grader.LabError as exc:
        rows["shop/db resolves api.example.com"] = f"fails: {exc}"
    pd.Series(rows, name="result").to_frame()
    """),
    md("""
    Names resolve for every shop pod (the `dns` policy), and only the back end's port 443 to the
    provider's address leaves. Now a pod that did not exist when the policies were written: a
    cache the team adds tomorrow.
    """),
    predict("""
    The new pod `shop/cache` serves 6379 and 9100. Who can reach it, and what can it reach?
    """),
    code("""
    CACHE = '''
    apiVersion: v1
    kind: Pod
    metadata:
      name: cache
      namespace: shop
      labels: {app: cache, tier: cache}
    spec:
      containers:
      - name: cache
        image: agnhost
        ports:
        - {containerPort: 6379, name: redis}
        - {containerPort: 9100, name: metrics}
    '''
    print(*lab.apply(CACHE))
    explain_all([
        lab.probe("shop/api", "shop/cache", 6379),
        lab.probe("monitoring/prometheus", "shop/cache", 9100),
        lab.probe("shop/cache", "api.example.com", 443),
    ])
    """),
    md("""
    The default deny and the namespace-wide policies (DNS, metrics) select it at once: it is
    scraped and can resolve names, and can do nothing else until its own policy says so. That is
    the point of writing the defaults for `podSelector: {}` rather than for today's pods.

    ## 6. Reading a failed check

    Designs break in review. Suppose the `dns` policy is dropped because "nothing in the
    requirements table mentions port 53".
    """),
    predict("""
    Which of the expectations fail without it? What else breaks?
    """),
    code("""
    lab.delete("networkpolicy/shop/dns", missing_ok=True)
    check_all("without the dns policy")
    print()
    site = lab.http("host", "https://shop.example.com/hostname", resolve=shop_entry, ca=ca)
    print("the site:                  ", site.summary())
    print("the back end, by name:     ", lab.probe("shop/api", "api.example.com", 443).summary())
    print("the back end, by address:  ", lab.probe("shop/api", "203.0.113.10", 443).summary())
    print("the front end, by Service: ", lab.probe("shop/web", "api", 8080).summary())
    """),
    md("""
    None of them: the pod-to-pod checks connect to pod addresses and never ask DNS. The site
    still works too: the Gateway's Envoy sends to the endpoints it was given and resolves nothing. What breaks is every
    connection *by name* from the shop: the payment provider (by address it still works), and
    the Service name the front end uses for the back end. A design is checked with names as
    well as addresses.
    """),
    code("""
    print(*lab.apply(POLICIES), sep="\\n")   # restore the reference design
    print(lab.probe("shop/api", "api.example.com", 443).summary())
    """),

    md("""
    ## On AKS

    The same design maps onto AKS layer by layer:

    - **ingress**: the application routing add-on's Gateway API implementation
      (`approuting-istio`), as here: the front end's policy allows the Gateway's pods by
      namespace and `gateway.networking.k8s.io/gateway-name`. (Its managed NGINX lost
      Microsoft's support in November 2026.) The Azure Load Balancer in front of the Gateway
      gets its NSG rule automatically, and the add-on publishes `shop.example.com` in your Azure
      DNS zone;
    - **east-west**: the same NetworkPolicies, enforced by the engine chosen at cluster
      creation, Cilium recommended (mind lesson 7's differences, such as `ipBlock`);
    - **egress**: NetworkPolicy for pods, `toFQDNs` with Advanced Container Networking Services
      for names, and for the nodes' own traffic an outbound type routed through Azure Firewall.

    ### The next step: build it

    The commands for the shop's cluster: Azure CNI Overlay with your own pod and Service ranges
    (lesson 1 and 4: they must not overlap the virtual network or anything it peers with), the
    Cilium dataplane (policy engine and kube-proxy replacement), outbound through the load
    balancer (lesson 5: `userDefinedRouting` with Azure Firewall for FQDN control of the nodes),
    and application routing's Gateway API with a DNS zone (lesson 3).

    ```bash
    az group create --name shop-rg --location westeurope
    az network vnet create --resource-group shop-rg --name shop-vnet \\
        --address-prefixes 10.10.0.0/16 --subnet-name nodes --subnet-prefixes 10.10.0.0/22
    SUBNET_ID=$(az network vnet subnet show --resource-group shop-rg --vnet-name shop-vnet \\
        --name nodes --query id --output tsv)
    az aks create --resource-group shop-rg --name shop-aks --node-count 3 \\
        --vnet-subnet-id "$SUBNET_ID" \\
        --network-plugin azure --network-plugin-mode overlay \\
        --pod-cidr 10.244.0.0/16 --service-cidr 10.0.0.0/16 --dns-service-ip 10.0.0.10 \\
        --network-dataplane cilium \\
        --outbound-type loadBalancer \\
        --enable-gateway-api --enable-app-routing-istio \\
        --generate-ssh-keys
    ZONE_ID=$(az network dns zone show --resource-group dns-rg --name example.com --query id --output tsv)
    az aks approuting zone add --resource-group shop-rg --name shop-aks --ids "$ZONE_ID" --attach-zones
    az aks get-credentials --resource-group shop-rg --name shop-aks
    kubectl apply -f shop.yaml        # the Services, the Gateway and route, and POLICIES above
    ```

    Then run this lesson's checks against it: `from grader.kind.lab import ClusterLab` and
    `lab = ClusterLab("shop-aks")` bring your own cluster (by its kubeconfig context; the lab only
    touches namespaces it creates).
    """),
    code("""
    cite("aks-overlay-defaults", "aks-service-cidr-default", "aks-network-policy-engines", "aks-outbound-types",
         "aks-app-routing-gateway-api", "aks-app-routing-dns", "aks-lb-source-ranges", "aks-fqdn-filtering",
         "aks-required-egress")
    """),
    md("""
    ## Summary

    - Write the expected flows first, per port and over every possible source, then the
      policies; a check that passes before the work proves nothing.
    - Default deny both ways, DNS in its own policy, then one policy per workload with both
      directions; namespace-wide rules cover pods added later.
    - Verify with the full matrix *and* the flows it cannot show: names, the internet, the
      entry point with TLS, a new pod.
    - Your turn: the graded exercise asks for its own variant of this design and checks it with
      hidden tests, the same way.
    """),
])
