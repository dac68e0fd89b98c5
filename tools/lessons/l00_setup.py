"""Lesson 0: setup and the lab."""

from . import MACHINE_STATE, Lesson, code, md, predict

LESSON = Lesson(0, "setup-and-the-lab", "Setup and the lab", "01-basics", [
    md("""
    # Lesson 0 — Setup and the lab

    This course is about how applications on Kubernetes reach each other and the outside world, and
    how Azure Kubernetes Service (AKS) builds on that: kube-proxy and Services, load balancing,
    Ingress and Gateway API with TLS, overlay and flat networks, egress control, network security
    groups and network policies. You learn it by poking at a cluster: you send connections, look at
    what happened, and read why.

    **What you will learn**
    - check that your machine is ready, and which kind of cluster the lessons will use;
    - choose a *backend* (simulated or kind) and a *CNI profile*, and say what each one means;
    - read the two clusters of the course, `shop` and `e2e`, from a picture;
    - send your first probes and read a verdict with its explanation;
    - read a reachability matrix, as a table and as a heatmap.

    Run the cells from top to bottom (Shift+Enter). Any cell can be run again.

    **Core path** (about 25 minutes): sections 1 and 3 to 6, and On AKS. **Deep dives**: the
    five CNI profiles of section 2 (5 minutes) and the e2e topology of section 7 (10 minutes).
    """),

    md("""
    ## 1. Is this machine ready?

    In a terminal, `netlab doctor` checks the machine. The cell below does the same from Python:
    Python and package versions, whether Docker and kind are there, and which cluster the lessons
    will therefore use.
    """),
    code("""
    import grader
    from grader.course import doctor

    doctor()
    """, tags=(MACHINE_STATE,)),

    md("""
    ## 2. Two backends, five CNI profiles

    Every lesson talks to a **lab**: a cluster you can deploy to, apply manifests to and probe. Two
    *backends* answer the same calls:

    - the **simulated cluster** lives in memory. It answers every probe the way Kubernetes'
      rules say it must, and explains which rule decided. It needs nothing but Python and runs a
      lesson in seconds.
    - **kind** runs real Kubernetes nodes as Docker containers on your machine. Probes are real
      connections between real pods. It needs Docker, and the first start takes a few minutes.

    `grader.connect(profile)` picks kind when Docker and kind work, and the simulated cluster
    otherwise; it prints one line saying which and why. To force a choice, pass `backend="sim"`
    or `backend="kind"`, or set the environment variable `NETLAB_BACKEND` before starting Jupyter.

    The **CNI profile** is the network plugin: it hands out pod addresses, carries packets between
    nodes and enforces network policies. The profiles have the same names on both backends:
    """),
    code("""
    from grader.course import profiles_table

    profiles_table()
    """),
    md("""
    `kindnet` is kind's own plugin and the default here. Calico and Cilium are two of the network
    policy engines AKS offers, and Cilium is also the data plane of *Azure CNI powered by Cilium*.
    Change `PROFILE` below and run the notebook again to see another one; the lessons point out
    where the answers differ.
    """),
    code("""
    PROFILE = "kindnet"   # or "calico-vxlan", "calico-flat", "calico-bgp", "cilium-tunnel", "cilium-native"

    lab = grader.connect(PROFILE)
    lab
    """),

    md("""
    ## 3. The shop

    Most lessons use one small application, the **shop**:

    - `shop/web`, the front end (`tier=frontend`): the only part users should reach;
    - `shop/api`, the back end (`tier=backend`): only the front end should call it;
    - `shop/db`, the database (`tier=database`): only the back end should use it;
    - `monitoring/prometheus` scrapes metrics from every tier on port 9100;
    - `untrusted/attacker` stands for any workload that must not get in.

    `lab.deploy("shop")` creates the namespaces and pods (running it again changes nothing), and
    `lab.reset(keep_topology=True)` removes whatever an earlier run of a lesson applied on top.
    """),
    code("""
    from grader.render import draw_topology

    lab.deploy("shop")
    lab.reset(keep_topology=True)
    draw_topology(lab, labels=True)
    """),
    md("""
    How to read the picture: each grey box is a **node** (a machine; here a container that kind
    runs). The nodes sit on one **node network**, the dark bar. Each pod got its own IP address
    from its node's range, printed in the node's header. Colours are namespaces; the labels under
    each pod are what policies will select on. On the right and below: machines outside the
    cluster, which probes can start from or go to: `host` (your machine), `vm.internal` (a VM on the
    node network) and two services on the internet.
    """),

    md("""
    ## 4. Your first probe

    A **probe** is one connection attempt: `lab.probe(source, destination, port)`. Sources and
    destinations are named `namespace/pod`, `node:<node name>`, `host`, an external host name, or
    an IP address.
    """),
    predict("""
    No network policy exists yet. Can `untrusted/attacker` open a TCP connection to the
    database, `shop/db`, on port 5432? Write down your answer, then run the cell.
    """),
    code("""
    result = lab.probe("untrusted/attacker", "shop/db", 5432)
    result.verdict
    """),
    code("""
    result.explain()
    """),
    md("""
    It connects. Unless a policy says otherwise, **every pod can reach every pod**, in any
    namespace: that is Kubernetes' default, and most of this course is about narrowing it.

    `explain()` says *why*: for each side of the connection, whether a network policy isolates
    that pod and which rule let the traffic through. A probe's verdict is one of:

    | verdict | in tables | meaning |
    |---|---|---|
    | `ALLOWED` | `.` | the connection was made |
    | `BLOCKED` | `X` | dropped on the way (a policy, a firewall rule); the client times out |
    | `REFUSED` | `R` | it reached the destination, but nothing listens on that port |
    | `DNS_FAILED` | `D` | the name did not resolve |
    | `PROBE_FAILED` | `!` | the probe itself could not run; this says nothing about the network |
    | `UNKNOWN` | `?` | not probed |
    """),
    predict("""
    The database listens on 5432 and 9100 only. What does the front end get when it tries port
    80 on the database? And what if it probes a pod that does not exist?
    """),
    code("""
    from grader.course import explain_all

    explain_all([
        lab.probe("shop/web", "shop/db", 80),
        lab.probe("shop/web", "shop/nope", 80),
    ])
    """),
    md("""
    A port can also be given by **name**. The name is looked up among the destination pod's
    container ports, the way network policies and Services resolve names:
    """),
    code("""
    lab.probe("shop/api", "shop/db", "postgres").explain()
    """),

    md("""
    ## 5. From one probe to a matrix

    `lab.matrix(port)` probes every pod to every pod on one port: rows are sources, columns are
    destinations, and each cell is a verdict. Hover over a cell to read its explanation.
    """),
    predict("""
    Only `shop/web` and `untrusted/attacker` listen on port 80. Which columns of the 80/TCP
    matrix are green, and what colour are the others?
    """),
    code("""
    lab.matrix(80)
    """),
    md("""
    The same matrix as a heatmap, and as the plain-text table upstream Kubernetes tests print
    (`.` allowed, `X` blocked, `R` refused):
    """),
    code("""
    m80 = lab.matrix(80)
    print(m80.text())
    m80.plot()
    """),
    md("""
    One matrix per port is exact, but the question you usually ask is *who can use which
    service*. `app_matrix` probes each destination on its own port (the front end on 80, the back
    end on 8080, the database on 5432):
    """),
    code("""
    from grader.course import app_matrix

    APP_PORTS = {"shop/web": 80, "shop/api": 8080, "shop/db": 5432}
    app_matrix(lab, APP_PORTS).plot("who can use which shop service (no policies)")
    """),
    md("""
    Everything is green, the attacker included. By the end of lesson 7 only the flows the shop
    needs will be.
    """),

    md("""
    ## 6. Outside the cluster

    Pods also call things outside the cluster, such as a public API or a VM on the same network.
    Arrows in the picture are flows: green means allowed.
    """),
    code("""
    outside = [
        lab.probe("shop/api", "api.example.com", 443),
        lab.probe("shop/web", "vm.internal", 80),
    ]
    explain_all(outside)
    draw_topology(lab, flows=outside)
    """),

    md("""
    ## 7. The e2e topology

    The second cluster of the course comes from Kubernetes' own network policy tests: namespaces
    `x`, `y` and `z`, each with pods `a`, `b` and `c` labelled `pod=<name>`, every pod serving
    ports 80 and 81 on TCP, UDP and SCTP. The simulated cluster is checked against upstream's test
    cases on it, and some exercises use it because it is regular enough to reason about.
    """),
    code("""
    draw_topology("e2e")
    """),
    md("""
    Deploy it next to the shop. Without policies its matrix is all green, like the shop's. For a
    preview of lesson 7, the next cell also applies one policy: every pod in namespace `x` accepts
    connections only from pods of `x` itself.
    """),
    predict("""
    Which cells of the 80/TCP matrix turn red: whole rows, whole columns, or something else?
    """),
    code("""
    lab.deploy("e2e")
    lab.apply('''
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: only-from-x
      namespace: x
    spec:
      podSelector: {}        # every pod of namespace x
      ingress:
      - from:
        - podSelector: {}    # ...accepts pods of namespace x, and nothing else
    ''')
    lab.matrix(80, namespaces=["x", "y", "z"]).plot("e2e, 80/TCP: x admits only its own pods")
    """),
    md("""
    The three columns of `x` (destinations) are red, except where the source is in `x` too: a
    policy protects the pods it *selects*, so the red appears as columns, not rows.
    `lab.probe("y/a", "x/b", 80).explain()` names the policy that decided.
    """),

    md("""
    ## On AKS

    - The lab's nodes are what an AKS **node pool** gives you: virtual machines (a VM scale set)
      with addresses in the cluster's **virtual network** subnet. kind's Docker network plays
      that subnet here.
    - The CNI profile corresponds to the networking you choose when you create an AKS cluster:
      the network plugin (Azure CNI in overlay or flat mode), the data plane (Azure or Cilium) and
      the network policy engine. The `cilium-*` profiles are closest to *Azure CNI powered by
      Cilium*, which Microsoft recommends for network policy.
    - Every lesson's On AKS part ends with the `az` commands that build what it describes; the
      capstone (lesson 8) puts them together for the shop. The smallest cluster like the lab's
      `cilium-*` profiles:
      ```bash
      az group create --name shop-rg --location westeurope
      az aks create --resource-group shop-rg --name shop-aks --node-count 3 \\
          --network-plugin azure --network-plugin-mode overlay --network-dataplane cilium
      az aks get-credentials --resource-group shop-rg --name shop-aks
      ```
    - The course targets one Kubernetes version; dated facts like these are cited with their
      date and source:
    """),
    code("""
    from grader.course import cite

    cite("kubernetes-version", "aks-network-policy-engines", "azure-npm-retirement", "kubenet-retirement", "aks-cni-commands")
    """),
    md("""
    ## Summary

    - `grader.connect(PROFILE)` gives you a lab on kind or on the simulated cluster, with the same
      calls on both: `deploy`, `apply`, `probe`, `matrix`, `reset`.
    - A probe's verdict is one of allowed, blocked, refused, DNS failure or probe failure, and
      `explain()` tells you why.
    - With no policies, every pod reaches every pod. Lessons 1 to 8 explain how traffic moves
      and how to narrow it.
    """),
])
