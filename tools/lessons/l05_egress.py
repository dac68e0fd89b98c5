"""Lesson 5: controlling egress."""

from . import Lesson, code, md, predict

LESSON = Lesson(5, "controlling-egress", "Controlling egress", "05-egress", [
    md("""
    # Lesson 5 — Controlling egress

    Lesson 7 protects pods from what comes *in*. This lesson is about what goes *out*: a
    compromised pod that can open any connection can reach the internet, download tools and send
    data away. Egress rules limit pods to the destinations they need, and the first thing they
    usually break is something nobody thought of: DNS.

    **What you will learn**
    - see that egress is unrestricted by default, inside and outside the cluster;
    - isolate a namespace's egress and explain why *every* name lookup then fails (the DNS trap);
    - allow DNS, the application's own flows, and one external range with `ipBlock`;
    - allow an external service by name with a Cilium `toFQDNs` rule, and say why it needs a DNS
      rule next to it;
    - map it to AKS: outbound types, the addresses AKS nodes themselves must reach, Azure
      Firewall, and FQDN filtering for pods.

    **Core path** (about 30 minutes): sections 1 and 2, and On AKS. **Deep dive** (15 minutes):
    section 3, rules by name with Cilium's DNS proxy.
    """),
    code("""
    import grader
    from grader.course import app_matrix, cite, explain_all
    from grader.render import compare_matrices

    PROFILE = "kindnet"   # try "calico-vxlan" and run the notebook again

    lab = grader.connect(PROFILE)
    lab.deploy("shop")
    lab.reset(keep_topology=True)   # no policies left from an earlier run

    SHOP = ["shop/api", "shop/db", "shop/web"]
    OUTSIDE = ["api.example.com", "blocked.example.net", "vm.internal"]

    def outbound():
        # every shop pod -> three machines outside the cluster, on 443, by name
        return lab.matrix(443, sources=SHOP, destinations=OUTSIDE)

    open_egress = outbound()
    open_egress.plot("shop pods → outside, 443/TCP, no policies")
    """),
    md("""
    `api.example.com` is the payment provider the back end must call; `blocked.example.net`
    stands for everything else on the internet; `vm.internal` is a VM in the same network as
    the nodes. Without policies every shop pod reaches all three, the database included.
    """),

    md("""
    ## 1. Default deny for egress, and the DNS trap

    A policy with `policyTypes: [Egress]` and no egress rules isolates the egress of the pods it
    selects: from then on they may only open connections some egress rule allows. Ingress stays
    as it was.
    """),
    predict("""
    After a default-deny egress policy for namespace `shop`, what verdict does each cell of the
    grid get: allowed, blocked, or something else?
    """),
    code("""
    DENY_EGRESS = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: default-deny-egress
      namespace: shop
    spec:
      podSelector: {}
      policyTypes: [Egress]
    '''
    print(*lab.apply(DENY_EGRESS))
    denied = outbound()
    denied.plot("default deny egress in shop")
    """),
    code("""
    explain_all([
        lab.probe("shop/api", "api.example.com", 443),
        lab.probe("shop/api", "203.0.113.10", 443),   # the same server, by address
    ])
    """),
    md("""
    Every cell is a **DNS failure**, not a block. To connect to `api.example.com`, the pod first
    asks kube-dns for its address, and that query is a connection too (UDP and TCP port 53 to
    the CoreDNS pods), which the new policy does not allow. By address, the same connection is
    simply blocked.

    This is the DNS trap: egress isolation breaks name resolution first, so *everything* fails
    at once, often with confusing timeouts. The fix is a rule for DNS in every namespace whose
    egress you isolate, and it is worth a policy of its own.
    """),
    code("""
    ALLOW_DNS = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: allow-dns
      namespace: shop
    spec:
      podSelector: {}
      policyTypes: [Egress]
      egress:
      - to:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: kube-system}
          podSelector:
            matchLabels: {k8s-app: kube-dns}
        ports:
        - {protocol: UDP, port: 53}
        - {protocol: TCP, port: 53}
    '''
    print(*lab.apply(ALLOW_DNS))
    print(lab.nslookup("shop/api", "api.example.com"))
    outbound().plot("default deny egress + DNS")
    """),
    md("""
    Names resolve again, and now the connections themselves are blocked, as intended. Egress
    isolation also applies *inside* the cluster: the shop's own flows broke with it.
    """),
    predict("""
    Can `shop/web` still call `shop/api` on 8080? Can Prometheus still scrape `shop/web`?
    """),
    code("""
    explain_all([
        lab.probe("shop/web", "shop/api", 8080),
        lab.probe("monitoring/prometheus", "shop/web", 9100),
    ])
    """),
    md("""
    The front end cannot reach the back end any more: its *egress* is isolated. Prometheus
    still scrapes, because `shop`'s policies isolate only the egress of shop pods; the ingress
    of `shop/web` is still open.
    """),

    md("""
    ## 2. Allow what the shop needs

    Each flow the shop needs gets an egress rule at the client, next to the ingress rules of
    lesson 7 at the server:

    - the front end calls the back end on 8080;
    - the back end calls the database on 5432, and the payment provider on 443.

    The payment provider publishes the address range it serves from, `203.0.113.0/24`, so an
    `ipBlock` can name it. An egress `ipBlock` is checked against the destination address as
    the pod sent it, before any SNAT on the node.
    """),
    code("""
    SHOP_EGRESS = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: web-egress
      namespace: shop
    spec:
      podSelector:
        matchLabels: {tier: frontend}
      policyTypes: [Egress]
      egress:
      - to:
        - podSelector:
            matchLabels: {tier: backend}
        ports:
        - port: 8080
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: api-egress
      namespace: shop
    spec:
      podSelector:
        matchLabels: {tier: backend}
      policyTypes: [Egress]
      egress:
      - to:
        - podSelector:
            matchLabels: {tier: database}
        ports:
        - port: 5432
      - to:
        - ipBlock: {cidr: 203.0.113.0/24}   # the payment provider's published range
        ports:
        - port: 443
    '''
    print(*lab.apply(SHOP_EGRESS), sep="\\n")
    """),
    predict("""
    Which cells of the outbound grid turn green? And do the shop's internal flows work again?
    """),
    code("""
    allowed = outbound()
    compare_matrices({"no policy": open_egress, "default deny": denied, "deny + DNS + shop rules": allowed},
                     title="shop pods → outside, 443/TCP")
    """),
    code("""
    APP_PORTS = {"shop/web": 80, "shop/api": 8080, "shop/db": 5432}
    app_matrix(lab, APP_PORTS, sources=SHOP).plot("the shop's own flows, from shop pods")
    """),
    md("""
    Only the back end reaches the payment provider, and nothing else leaves. Inside, exactly two
    flows remain: the front end to the back end, and the back end to the database.

    `ipBlock` has limits: providers change their addresses, a CDN serves thousands of sites from
    the same addresses, and a range written into a policy is easily forgotten when it changes.
    That is why some policy engines can match **names**.
    """),

    md("""
    ## 3. Rules by name: Cilium `toFQDNs`

    Standard NetworkPolicy has no way to say "api.example.com". Cilium's own policy kind,
    **CiliumNetworkPolicy**, does, with `toFQDNs`. It works through Cilium's **DNS proxy**: DNS
    answers pass through the agent on each node, which remembers which address belongs to which
    name, and allows connections to the addresses of the names the policy lists. So a `toFQDNs`
    rule needs a **DNS rule** next to it (`rules.dns` on port 53), or the proxy never sees a
    lookup and learns nothing.

    This part needs Cilium: the cell below connects to a second lab with the `cilium-tunnel`
    profile. (On kind, the first run creates that cluster, which takes a few minutes; the
    policy kind does not exist on the other CNIs, the API server would reject it.)
    """),
    code("""
    cilium = grader.connect("cilium-tunnel")
    cilium.deploy("shop")
    cilium.reset(keep_topology=True)

    FQDN = '''
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata:
      name: api-egress-by-name
      namespace: shop
    spec:
      endpointSelector:
        matchLabels: {tier: backend}
      egress:
      - toEndpoints:                  # DNS, through Cilium's DNS proxy
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s:k8s-app: kube-dns
        toPorts:
        - ports:
          - {port: "53", protocol: ANY}
          rules:
            dns:
            - matchPattern: "*"
      - toFQDNs:                      # the payment provider, by name
        - matchName: api.example.com
        toPorts:
        - ports:
          - {port: "443", protocol: TCP}
    '''
    print(*cilium.apply(FQDN))
    cilium.matrix(443, sources=SHOP, destinations=OUTSIDE).plot("cilium-tunnel: toFQDNs api.example.com for the back end")
    """),
    code("""
    explain_all([
        cilium.probe("shop/api", "api.example.com", 443),
        cilium.probe("shop/api", "blocked.example.net", 443),
    ])
    """),
    md("""
    The back end reaches the provider by name, and nothing else; the other shop pods are not
    selected by this policy and stay open. The trace shows the DNS proxy recording
    `api.example.com → 203.0.113.10`, and the second probe failing because the address it got
    belongs to a name no selector matches.
    """),
    predict("""
    Someone "simplifies" the DNS rule: port 53 stays allowed, but without `rules.dns`. Does the
    back end still reach `api.example.com`?
    """),
    code("""
    cilium.reset(keep_topology=True)   # a fresh start: no policies, and the DNS proxy forgets what it saw
    FQDN_NO_DNS_RULE = '''
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata:
      name: api-egress-by-name
      namespace: shop
    spec:
      endpointSelector:
        matchLabels: {tier: backend}
      egress:
      - toEndpoints:                  # DNS still allowed, but no rules.dns: the proxy is bypassed
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s:k8s-app: kube-dns
        toPorts:
        - ports:
          - {port: "53", protocol: ANY}
      - toFQDNs:
        - matchName: api.example.com
        toPorts:
        - ports:
          - {port: "443", protocol: TCP}
    '''
    print(*cilium.apply(FQDN_NO_DNS_RULE))
    cilium.probe("shop/api", "api.example.com", 443).explain()
    """),
    md("""
    Blocked: DNS itself works, but the lookup no longer goes through the proxy, so the policy
    has no address for `api.example.com`. A `toFQDNs` rule is only as good as the DNS rule that
    feeds it.
    """),

    md("""
    ## On AKS

    - Traffic leaving an AKS cluster goes out through its **outbound type**: the cluster's
      load balancer (the default), a NAT gateway, or your own route to a firewall
      (`userDefinedRouting`). That choice decides the public address the internet sees, like
      the lab's gateway address 192.0.2.1.
    - The **nodes** themselves need a list of Microsoft endpoints (the API server, the container
      registry, package mirrors) on 443. They are names without fixed addresses, so an NSG
      cannot lock egress down: Microsoft's answer is **Azure Firewall** with the
      `AzureKubernetesService` FQDN tag, reached through `userDefinedRouting`.
    - For **pods**, NetworkPolicy egress rules work as in this lesson, with every engine. Rules
      by name need Azure CNI powered by Cilium with Advanced Container Networking Services:
      the same CiliumNetworkPolicy `toFQDNs` as section 3.
    - **The commands:** the outbound type is chosen at creation; rules by name are switched on
      with Advanced Container Networking Services on a Cilium cluster:
      ```bash
      az aks create --resource-group shop-rg --name shop-aks \\
          --network-plugin azure --network-plugin-mode overlay --network-dataplane cilium \\
          --vnet-subnet-id "$NODE_SUBNET_ID" --outbound-type userDefinedRouting   # default: loadBalancer
      az aks update --resource-group shop-rg --name shop-aks --enable-acns
      ```
      With `userDefinedRouting` the node subnet's route table must already send `0.0.0.0/0` to
      your firewall (`az network route-table route create ... --next-hop-type VirtualAppliance`),
      and the firewall must allow the `AzureKubernetesService` FQDN tag.
    """),
    code("""
    cite("aks-outbound-types", "aks-required-egress", "aks-fqdn-filtering", "aks-network-policy-engines", "aks-cni-commands")
    """),
    md("""
    ## Summary

    - Egress is open by default. An egress policy isolates the pods it selects; from then on
      each connection needs an egress rule at the client *and* (when isolated) an ingress rule
      at the server.
    - Isolated egress blocks DNS too: allow UDP and TCP 53 to kube-dns, or every name fails.
    - `ipBlock` allows external ranges by address, checked before SNAT; it ages as providers
      change addresses.
    - Cilium's `toFQDNs` allows names; it needs a DNS rule so the DNS proxy can learn the
      addresses.
    """),
])
