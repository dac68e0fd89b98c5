"""Lesson 7: network policies."""

from . import Lesson, code, md, predict

# TODO(network-models): once the simulator explains CNI divergences in explain() (issue 4), add a
# cell in section 6 that prints the Cilium probe's explanation. When Services land, add the second
# documented NPM -> Cilium difference: NodePort/LoadBalancer traffic against a deny-all ingress
# policy (fact aks-npm-to-cilium-differences).

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
    - predict where the same YAML gives a different result on another CNI (`ipBlock` on Cilium),
      and write it so that it works everywhere;
    - map it to AKS: its three policy engines, the retirement of Azure NPM, and what changes when
      you move to Cilium.
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
    Rules written later override earlier ones, so start general:
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
    def metrics_policy(peers):
        return f'''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: metrics-from-monitoring
      namespace: shop
    spec:
      podSelector: {{}}
      ingress:
      - from:
    {peers}
        ports:
        - port: 9100
    '''

    RULE_A = '''\\
        - namespaceSelector:
            matchLabels: {purpose: monitoring}
          podSelector:
            matchLabels: {app: prometheus}'''
    RULE_B = '''\\
        - namespaceSelector:
            matchLabels: {purpose: monitoring}
        - podSelector:
            matchLabels: {app: prometheus}'''

    shop_pods = ["shop/api", "shop/db", "shop/web"]
    grids = {}
    for name, peers in [("A: one peer (AND)", RULE_A), ("B: two peers (OR)", RULE_B)]:
        lab.apply(metrics_policy(peers))
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
    RULE_BY_NAME = '''\\
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: monitoring}
          podSelector:
            matchLabels: {app: prometheus}'''
    lab.apply(metrics_policy(RULE_BY_NAME))
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
    TYPO = metrics_policy(RULE_BY_NAME).replace("port: 9100", "port: metric")
    print(*lab.apply(TYPO))
    print(lab.probe("monitoring/prometheus", "shop/db", 9100).explain())
    """),
    md("""
    The policy is valid: a port name is just a string, and nothing checks it against pods that
    may not exist yet. It simply matches no port of `shop/db`, and the explanation points at the
    name that did not resolve. With the right name, or with a range, the scrape works again:
    """),
    code("""
    NAMED = metrics_policy(RULE_BY_NAME).replace("port: 9100", "port: metrics")
    RANGE = metrics_policy(RULE_BY_NAME).replace("port: 9100", "port: 9000\\n      endPort: 9199")

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
    On Cilium the VM still gets in but no pod does. The portable way to say "every pod" is a
    selector: `namespaceSelector: {}` selects all pods of all namespaces. Add it as a second peer
    (OR), next to the `ipBlock` that covers the outside world:
    """),
    code("""
    PORTABLE = ANY_ADDRESS.replace(
        "    - ipBlock: {cidr: 0.0.0.0/0}\\n",
        "    - ipBlock: {cidr: 0.0.0.0/0}\\n    - namespaceSelector: {}\\n",
    )
    print(PORTABLE)
    compare_matrices({cni: db_matrix(cni, PORTABLE) for cni in CNIS}, title="ipBlock + namespaceSelector {} -> shop/db 5432")
    """),
    md("""
    Same answer on every CNI now. Another known difference is pod-to-itself (loopback) traffic,
    which CNIs treat differently; the course's checks ignore it, as upstream's tests do.
    """),

    md("""
    ## On AKS

    - You choose the **network policy engine** when you create the cluster: Cilium (with Azure
      CNI powered by Cilium; Microsoft's recommendation), Azure Network Policy Manager (NPM), or
      Calico. Without one, NetworkPolicy objects are accepted and ignored, like on a kind
      cluster older than v0.24.
    - **Azure NPM is being retired**, and moving to Cilium changes a few answers: `ipBlock` no
      longer covers pod and node addresses, named ports should become numbers, and `endPort`
      needs a recent Cilium.
    - The rules themselves are plain Kubernetes: everything in this lesson applies unchanged.
    """),
    code("""
    cite("aks-network-policy-engines", "azure-npm-retirement", "aks-cilium-ipblock",
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
