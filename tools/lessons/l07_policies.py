"""Lesson 7: network policies."""

from . import Lesson, code, md, predict

LESSON = Lesson(7, "network-policies", "Network policies", "07-network-policies", [
    md("""
    # Lesson 7 — Network policies

    Every pod of the shop can reach every other pod, the attacker included (lesson 0). A
    **NetworkPolicy** narrows that down for the pods it selects. In this lesson you lock the shop
    down step by step, checking every step with probes.

    **What you will learn**
    - explain *isolation*: a pod accepts everything until a policy selects it, and then only
      what some rule allows;
    - write a default deny for a namespace, then the shop's two rules: the back end only from the
      front end, and the database only from the tier that uses it;
    - let another namespace in with `namespaceSelector`, and tell AND from OR in a list of peers;
    - restrict ports by number, by name and by range (`endPort`);
    - predict where the same YAML gives a different result on another CNI (`ipBlock` on Cilium,
      NodePort traffic, connections already open), and write it so that it works everywhere;
    - map it to AKS: its three policy engines, the retirement of Azure NPM, and what changes when
      you move to Cilium.

    **Core path** (about 40 minutes): sections 1 to 5, and On AKS. **Deep dive** (15 minutes):
    section 6, where the same YAML gives other answers on another CNI.
    """),
    code("""
    import pandas as pd

    import grader
    from grader import Reachability, Verdict
    from grader.course import app_matrix, cite, explain_all
    from grader.render import compare_matrices, draw_topology

    PROFILE = "kindnet"   # try "calico-vxlan" or "cilium-tunnel", then run the notebook again

    lab = grader.connect(PROFILE)
    lab.deploy("shop")
    lab.reset(keep_topology=True)   # no policies yet, whatever ran before

    APP_PORTS = {"shop/web": 80, "shop/api": 8080, "shop/db": 5432}

    def who_can_use(title):
        \"\"\"Every pod of the lab -> each shop service, on that service's own port.\"\"\"
        return app_matrix(lab, APP_PORTS).plot(title)

    who_can_use("before any policy")
    """),

    md("""
    ## 1. How isolation works

    - A NetworkPolicy lives in a namespace and **selects pods** of that namespace with
      `spec.podSelector` (`{}` selects all of them).
    - A selected pod becomes **isolated** for each direction the policy lists in `policyTypes`:
      `Ingress` (traffic to the pod), `Egress` (traffic from it), or both.
    - An isolated pod accepts only what **at least one rule** of **at least one** policy selecting
      it allows. Rules only allow: there is no deny rule and no order, policies simply add up.
    - A connection needs both sides: egress allowed at the client *and* ingress allowed at the
      server.
    - Traffic from the node a pod runs on is always allowed, so the kubelet's health checks keep
      working.

    This lesson works with ingress; lesson 5 isolates egress, where DNS becomes the trap.
    """),

    md("""
    ## 2. Default deny

    A policy that selects every pod of `shop`, isolates ingress and allows nothing. It is the
    usual first policy of a namespace: from then on, each flow the application needs gets its
    own rule.
    """),
    predict("""
    After this policy, can `shop/web` still reach `shop/api` on 8080? Can Prometheus scrape
    `shop/db` on 9100? Can `shop/web` still call `api.example.com` on 443?
    """),
    code("""
    DEFAULT_DENY = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: default-deny-ingress
      namespace: shop
    spec:
      podSelector: {}          # every pod of the namespace
      policyTypes: [Ingress]   # isolate ingress; egress stays open
    '''
    print(*lab.apply(DEFAULT_DENY))
    who_can_use("default deny in shop")
    """),
    code("""
    explain_all([
        lab.probe("shop/web", "shop/api", 8080),
        lab.probe("monitoring/prometheus", "shop/db", 9100),
        lab.probe("shop/web", "api.example.com", 443),
    ])
    """),
    md("""
    Everything *into* the shop is blocked, even between its own tiers. Traffic *out of* it still
    flows, because no policy isolates egress.
    """),

    md("""
    ## 3. The shop's two rules

    Now allow exactly what the shop needs:

    1. **the back end accepts connections only from the front end**: pods with
       `tier=backend` accept `tier=frontend` on 8080;
    2. **the database accepts connections only from the tier that uses it**: pods with
       `tier=database` accept `tier=backend` on 5432;
    3. and the front end must stay open to its users on port 80. A rule without `from` allows
       every source, inside or outside the cluster.

    A `podSelector` in a `from` entry, on its own, selects pods *of the policy's namespace*.
    """),
    code("""
    SHOP_RULES = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: api-from-web
      namespace: shop
    spec:
      podSelector:
        matchLabels: {tier: backend}
      ingress:
      - from:
        - podSelector:
            matchLabels: {tier: frontend}
        ports:
        - port: 8080
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: db-from-api
      namespace: shop
    spec:
      podSelector:
        matchLabels: {tier: database}
      ingress:
      - from:
        - podSelector:
            matchLabels: {tier: backend}
        ports:
        - port: 5432
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: web-from-anywhere
      namespace: shop
    spec:
      podSelector:
        matchLabels: {tier: frontend}
      ingress:
      - ports:
        - port: 80
    '''
    """),
    predict("""
    Which cells of the grid turn green once these three policies are applied on top of the
    default deny?
    """),
    code("""
    print(*lab.apply(SHOP_RULES), sep="\\n")
    who_can_use("default deny + the shop's rules")
    """),
    md("""
    The same flows as arrows between the pods (green allowed, red dashed blocked):
    """),
    code("""
    draw_topology(lab, flows=[
        lab.probe("shop/web", "shop/api", 8080),
        lab.probe("shop/api", "shop/db", 5432),
        lab.probe("shop/web", "shop/db", 5432),
        lab.probe("untrusted/attacker", "shop/api", 8080),
    ])
    """),
    md("""
    ### State it, then check it

    Rather than reading grids, write down what *should* happen and let the lab compare. This is
    how the graded exercises check your answers, usually on more flows than the prompt names.
    (This is about the checking helper, not about NetworkPolicies, which have no order: in
    `Reachability`, a later `.expect(...)` for the same flow replaces an earlier one, so start
    with a general default and then name the exceptions.)
    """),
    code("""
    everyone = [str(p.ref) for p in lab.pods()]
    expected = (
        Reachability(everyone, ["shop/db"], port=5432, default=Verdict.BLOCKED)
        .expect("shop/api", "shop/db", Verdict.ALLOWED)
    )
    check = lab.check(expected)
    print(check.summary())
    check
    """),

    md("""
    ## 4. Other namespaces: `namespaceSelector`, AND versus OR

    Prometheus runs in the `monitoring` namespace and must scrape every shop pod on port 9100. A
    `from` entry can select namespaces by their labels. Compare these two rules. The only
    difference is one dash:

    ```yaml
    # A: one peer with two selectors    # B: two peers
    - from:                              - from:
      - namespaceSelector:                 - namespaceSelector:
          matchLabels:                         matchLabels:
            purpose: monitoring                  purpose: monitoring
        podSelector:                       - podSelector:
          matchLabels:                         matchLabels:
            app: prometheus                      app: prometheus
    ```

    In **A**, both selectors sit in *one* peer and must both match (AND): pods labelled
    `app=prometheus` *in* namespaces labelled `purpose=monitoring`. In **B**, each dash starts a
    separate peer and either may match (OR): *every* pod of a namespace labelled
    `purpose=monitoring`, or pods labelled `app=prometheus` in `shop` itself.

    Namespace labels are set by whoever manages the namespace. Suppose the owners of `untrusted`
    label their namespace `purpose=monitoring`.
    """),
    predict("""
    After that relabelling, can `untrusted/attacker` reach `shop/db` on 9100 under rule A? Under
    rule B?
    """),
    code("""
    RULE_A = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: metrics-from-monitoring
      namespace: shop
    spec:
      podSelector: {}
      ingress:
      - from:
        - namespaceSelector:              # one peer: both selectors must match (AND)
            matchLabels: {purpose: monitoring}
          podSelector:
            matchLabels: {app: prometheus}
        ports:
        - port: 9100
    '''
    RULE_B = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: metrics-from-monitoring
      namespace: shop
    spec:
      podSelector: {}
      ingress:
      - from:
        - namespaceSelector:              # two peers: either one lets traffic in (OR)
            matchLabels: {purpose: monitoring}
        - podSelector:
            matchLabels: {app: prometheus}
        ports:
        - port: 9100
    '''

    shop_pods = ["shop/api", "shop/db", "shop/web"]
    grids = {}
    for name, policy in [("A: one peer (AND)", RULE_A), ("B: two peers (OR)", RULE_B)]:
        lab.apply(policy)
        lab.label("namespace/untrusted", {"purpose": "monitoring"})   # the relabelling
        grids[name] = lab.matrix(9100, sources=everyone, destinations=shop_pods)
        lab.label("namespace/untrusted", {"purpose": None})           # undo it
    compare_matrices(grids, title="9100/TCP after untrusted labels itself purpose=monitoring")
    """),
    md("""
    Outlined cells differ between the two rules: with B, anything in a namespace that *calls
    itself* monitoring gets in. Rule A is what was meant, and it can be made sturdier still: the
    API server puts the label `kubernetes.io/metadata.name` on every namespace, set to its name,
    and nobody can change it. Selecting on it leaves nothing to spoof:
    """),
    code("""
    RULE_BY_NAME = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: metrics-from-monitoring
      namespace: shop
    spec:
      podSelector: {}
      ingress:
      - from:
        - namespaceSelector:              # the namespace's name: set by the API server, not spoofable
            matchLabels: {kubernetes.io/metadata.name: monitoring}
          podSelector:
            matchLabels: {app: prometheus}
        ports:
        - port: 9100
    '''
    lab.apply(RULE_BY_NAME)
    lab.matrix(9100, sources=everyone, destinations=shop_pods)
    """),

    md("""
    ## 5. Ports: by number, by name, by range

    - `port: 9100` matches that number (the protocol defaults to TCP).
    - `port: metrics` matches the **named** container port `metrics` *of each destination pod*.
      Pods may serve the same role on different numbers and one rule still fits them all.
    - `port: 9000` with `endPort: 9199` matches a **range**. The range needs a numeric `port` and an
      `endPort` no smaller than it.
    """),
    predict("""
    Someone types `port: metric` (no `s`). Will `lab.apply` reject the policy? If not, what
    happens to Prometheus' scrapes of `shop/db`?
    """),
    code("""
    TYPO = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: metrics-from-monitoring
      namespace: shop
    spec:
      podSelector: {}
      ingress:
      - from:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: monitoring}
          podSelector:
            matchLabels: {app: prometheus}
        ports:
        - port: metric           # a typo: the pods' port is named metrics
    '''
    print(*lab.apply(TYPO))
    lab.probe("monitoring/prometheus", "shop/db", 9100).explain()
    """),
    md("""
    The policy is valid: a port name is just a string, and nothing checks it against pods that
    may not exist yet. It simply matches no port of `shop/db`, and the explanation points at the
    name that did not resolve. With the right name, or with a range, the scrape works again:
    """),
    code("""
    NAMED = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: metrics-from-monitoring
      namespace: shop
    spec:
      podSelector: {}
      ingress:
      - from:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: monitoring}
          podSelector:
            matchLabels: {app: prometheus}
        ports:
        - port: metrics          # the destination pod's port named metrics
    '''
    RANGE = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: metrics-from-monitoring
      namespace: shop
    spec:
      podSelector: {}
      ingress:
      - from:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: monitoring}
          podSelector:
            matchLabels: {app: prometheus}
        ports:
        - port: 9000             # every port from 9000 to 9199
          endPort: 9199
    '''

    rows = {}
    for name, policy in [("port: metrics", NAMED), ("port: 9000-9199", RANGE)]:
        lab.apply(policy)
        rows[name] = {
            f"{dst} {port}": lab.probe("monitoring/prometheus", dst, port).verdict.name
            for dst in ["shop/api", "shop/db"] for port in (8080, 9090, 9100)
        }
    pd.DataFrame(rows).T
    """),
    md("""
    Look at port 9090. The named port covers exactly the pods' `metrics` port (9100), so 9090 is
    *blocked*. The range also covers 9090: the policy lets the connection through, nothing
    listens there, so it is *refused*. A range opens every port in it, including ports nobody
    meant to expose today. Both facts below matter when a cluster moves to Cilium:
    """),
    code("""
    cite("networkpolicy-endport-ga", "aks-npm-to-cilium-differences")
    """),

    md("""
    ## 6. The same YAML on another CNI

    Kubernetes defines most of NetworkPolicy precisely, but leaves a few corners to the
    implementation. The best known is `ipBlock`: it is meant for addresses *outside* the cluster,
    and whether it also matches pod and node addresses is up to the CNI. kindnet and Calico
    match pod addresses against `ipBlock` like any other address. Cilium does not: it identifies
    pods by their labels, and its `ipBlock` only ever selects addresses outside the cluster, even
    `0.0.0.0/0`.

    The policy below was meant as "the database accepts 5432 from any address". The next cell
    applies it, on top of the default deny, to three simulated clusters, one per CNI. It uses
    simulated clusters on purpose, whatever your backend: on kind each CNI needs its own cluster.
    """),
    predict("""
    On kindnet, Calico and Cilium, which of these reach `shop/db` on 5432: a VM on the node
    network, Prometheus, the back end, the front end, the attacker?
    """),
    code("""
    ANY_ADDRESS = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: db-from-any-address
      namespace: shop
    spec:
      podSelector:
        matchLabels: {tier: database}
      ingress:
      - from:
        - ipBlock: {cidr: 0.0.0.0/0}
        ports:
        - port: 5432
    '''
    SOURCES = ["vm.internal", "monitoring/prometheus", "shop/api", "shop/web", "untrusted/attacker"]
    CNIS = ["kindnet", "calico-vxlan", "cilium-tunnel"]

    def db_matrix(profile, *policies):
        sim = grader.connect(profile, backend="sim", quiet=True)
        sim.deploy("shop")
        sim.apply([DEFAULT_DENY, *policies])
        return sim.matrix(5432, sources=SOURCES, destinations=["shop/db"])

    compare_matrices({cni: db_matrix(cni, ANY_ADDRESS) for cni in CNIS}, title="ipBlock 0.0.0.0/0 -> shop/db 5432")
    """),
    md("""
    On Cilium the VM still gets in but no pod does. The explanation of one blocked probe names
    the reason:
    """),
    code("""
    cilium = grader.connect("cilium-tunnel", backend="sim", quiet=True)
    cilium.deploy("shop")
    cilium.apply([DEFAULT_DENY, ANY_ADDRESS])
    print(cilium.probe("shop/api", "shop/db", 5432).explain().split("path:")[0])
    """),
    md("""
    The portable way to say "every pod" is a selector: `namespaceSelector: {}` selects all pods
    of all namespaces. Add it as a second peer (OR), next to the `ipBlock` that covers the
    outside world:
    """),
    code("""
    PORTABLE = '''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: db-from-any-address
      namespace: shop
    spec:
      podSelector:
        matchLabels: {tier: database}
      ingress:
      - from:
        - ipBlock: {cidr: 0.0.0.0/0}
        - namespaceSelector: {}       # every pod of every namespace, on every CNI
        ports:
        - port: 5432
    '''
    compare_matrices({cni: db_matrix(cni, PORTABLE) for cni in CNIS}, title="ipBlock + namespaceSelector {} -> shop/db 5432")
    """),
    md("""
    Same answer on every CNI now. Another known difference is pod-to-itself (loopback) traffic,
    which CNIs treat differently; the course's checks ignore it, as upstream's tests do.

    ### Traffic through a NodePort or a load balancer

    Microsoft's guide for moving AKS clusters from Azure NPM to Cilium lists one more surprise:
    traffic that arrives through a NodePort or LoadBalancer Service (lesson 2) at a namespace
    with a default deny. The pod's ingress policy judges that traffic *after* kube-proxy
    translated it, and implementations disagree on what it then sees. The next cell exposes the
    front end on nodePort 30080 and asks three simulated clusters, with only the default deny in
    `shop`.
    """),
    predict("""
    Your machine connects to nodePort 30080, once through the node that runs `shop/web` and once
    through another node. Which connections does the default deny stop on kindnet, on Calico and
    on Cilium with kube-proxy replacement (the way AKS runs it)?
    """),
    code("""
    from grader.cni.divergences import AZURE_NPM, DIVERGENCES, external_service_ingress

    NODE_PORT = '''
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: shop
    spec:
      type: NodePort
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: http, nodePort: 30080}
    '''
    rows = {}
    for cni in ("kindnet", "calico-vxlan", "cilium-native"):
        sim = grader.connect(cni, backend="sim", quiet=True)
        sim.deploy("shop")
        sim.apply([DEFAULT_DENY, NODE_PORT])
        web_node = next(p.node for p in sim.pods("shop") if p.name == "web")
        other = next(n.name for n in sim.profile.nodes() if n.name not in (web_node, "kind-control-plane"))
        rows[cni] = {"through web's node": sim.probe("host", f"node:{web_node}:30080").verdict.name,
                     "through another node": sim.probe("host", f"node:{other}:30080").verdict.name}
    npm = external_service_ingress(AZURE_NPM, backend_on_receiving_node=False)
    rows["Azure NPM (documented; AKS only)"] = dict.fromkeys(rows["kindnet"], "BLOCKED" if npm.policy_applies else "ALLOWED")
    pd.DataFrame(rows).T
    """),
    code("""
    for cni, behaviour in next(d for d in DIVERGENCES if d.id == "nodeport-vs-deny-all").behaviour:
        print(f"{cni:<10} {behaviour}")
    """),
    md("""
    - kindnet and Calico: kube-proxy replaces the client address with the receiving node's, and
      traffic from a pod's own node is always allowed. So the connection passes when it arrives
      on web's node and is blocked when it is forwarded from another one.
    - Cilium enforces the policy on this traffic too: the default deny blocks both.
    - Azure NPM let NodePort and LoadBalancer traffic through a default deny. Clusters moved from
      NPM to Cilium must add a rule for it (for example an `ipBlock` of the clients' addresses,
      with `externalTrafficPolicy: Local` so the pod sees them).
    """),

    md("""
    ### Connections that are already open

    A policy is usually applied to a running application, with connections already open: a
    back end keeps a pool of database connections for hours. What does a new deny do to them?
    Kubernetes leaves it to the implementation, and they differ.
    """),
    predict("""
    `shop/api` holds an open connection to `shop/db` on 5432. Then a default deny lands in
    `shop`. On kindnet, Calico and Cilium: does the next message on the open connection get
    through? And a new connection?
    """),
    code("""
    rows = {}
    for cni in ("kindnet", "calico-vxlan", "cilium-tunnel"):
        sim = grader.connect(cni, backend="sim", quiet=True)
        sim.deploy("shop")
        pool = sim.open_connection("shop/api", "shop/db", 5432)
        sim.apply(DEFAULT_DENY)
        rows[cni] = {"open connection, next message": sim.send(pool).verdict.name,
                     "new connection": sim.probe("shop/api", "shop/db", 5432).verdict.name}
        sim.close_connection(pool)
    pd.DataFrame(rows).T
    """),
    md("""
    kindnet and Calico decide when a connection is set up, and let packets of established
    connections through; Cilium looks policy up for every packet and cuts the open connection at
    once. So on kindnet or Calico, a policy you just applied can look ineffective until clients
    reconnect: test with *new* connections (probes always are), and restart clients when a deny
    must take effect now. One more kindnet trait: its policy agent *fails open*, so while
    kindnetd is not running on a node, nothing is enforced there (the simulated cluster's agents
    never stop, so you will not see this here).
    """),

    md("""
    ## On AKS

    - You choose the **network policy engine** when you create the cluster: Cilium (with Azure
      CNI powered by Cilium; Microsoft's recommendation), Azure Network Policy Manager (NPM), or
      Calico. Without one, NetworkPolicy objects are accepted and ignored, like on a kind
      cluster older than v0.24.
    - **Azure NPM is retired on Windows nodes** (support ended on 2026-09-30) and **retires on
      Linux nodes on 2028-09-30**. Moving to Cilium changes a few answers: `ipBlock` no
      longer covers pod and node addresses, named ports should become numbers, and `endPort`
      needs a recent Cilium.
    - The rules themselves are plain Kubernetes: everything in this lesson applies unchanged.
    - **The commands:** the engine is chosen at creation (`--network-dataplane cilium` brings
      Cilium's; `--network-policy calico` or `azure` the others), and an NPM cluster moves to
      Cilium in place:
      ```bash
      az aks create --resource-group shop-rg --name shop-aks \\
          --network-plugin azure --network-plugin-mode overlay --network-dataplane cilium
      az aks update --resource-group shop-rg --name old-aks --network-dataplane cilium   # from Azure NPM
      ```
      Check the differences listed above before you move.
    """),
    code("""
    cite("aks-network-policy-engines", "azure-npm-retirement", "aks-cilium-ipblock", "aks-npm-to-cilium-differences",
         "kind-min-version-netpol", "kindnet-new-connections-only")
    """),
    md("""
    ## Summary

    - Pods are open until a policy selects them; then only what a rule allows gets in. Policies
      add up, and both sides of a connection must allow it.
    - Start a namespace with a default deny, then allow each flow the application needs.
    - One peer with two selectors means AND; two peers mean OR. Select namespaces by
      `kubernetes.io/metadata.name` when you mean one namespace.
    - A wrong port name is valid YAML that matches nothing; `endPort` gives ranges.
    - `ipBlock` is for the world outside the cluster; to mean pods, use selectors.
    """),
])
