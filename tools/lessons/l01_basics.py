"""Lesson 1: Kubernetes networking basics."""

from grader.facts import fact

from . import Lesson, code, md, predict

LESSON = Lesson(1, "networking-basics", "Kubernetes networking basics", "01-basics", [
    md("""
    # Lesson 1 — Kubernetes networking basics

    Before controlling traffic you need a picture of where it flows: which addresses exist, who
    hands them out, and what carries a packet from one pod to another.

    **What you will learn**
    - name the three address ranges of a cluster (nodes, pods, Services) and who manages each;
    - find where a pod's IP comes from on each CNI profile: the node's podCIDR, or a Calico block;
    - show that a pod reaches a pod on another node *without NAT*: the server sees the client's
      own pod IP;
    - say what kube-proxy does, name its modes (iptables, nftables, and IPVS, which is
      deprecated), and explain what a Service's virtual IP is;
    - map all of this to AKS: Azure CNI Overlay's /24 per node, AKS's service range, and
      kube-proxy on AKS, and the `az aks create` flags that set them.

    **Core path** (about 30 minutes): sections 1, 3 and 4 and On AKS. **Deep dives**: section 2,
    how each CNI cuts the pod network (10 minutes), and the kube-proxy modes and rules at the end
    of section 4 (10 minutes).
    """),
    code("""
    import ipaddress

    import grader
    from grader.course import cite, explain_all, nodes_table, pods_table, wire_table
    from grader.render import draw_topology

    PROFILE = "kindnet"   # try "calico-vxlan" or "cilium-tunnel" and run the notebook again

    lab = grader.connect(PROFILE)
    lab.deploy("shop")
    lab.reset(keep_topology=True)   # start from the bare shop, whatever ran before
    """),

    md("""
    ## 1. Three networks, three owners

    A cluster uses three separate address ranges:

    - the **node network** holds the nodes' own addresses. The infrastructure owns it: kind's
      Docker network here, the virtual network subnet on AKS.
    - the **pod network** gives every pod its own IP address. The CNI plugin owns it and cuts it
      into per-node ranges, so a node can give addresses to its pods without asking anyone.
    - the **service network** holds the virtual IPs of Services. No machine has these addresses;
      section 4 explains how packets sent to them still arrive.

    Kubernetes asks three things of every CNI plugin (the *Kubernetes network model*): every pod
    gets its own IP; pods reach all other pods, on any node, **without NAT**; and agents on a node
    (the kubelet, for example) reach all pods on that node.
    """),
    code("""
    nodes_table(lab)
    """),
    code("""
    pods_table(lab)
    """),
    code("""
    draw_topology(lab)
    """),
    predict("""
    Add a sixth pod, `shop/cart`. Which range will its IP come from? You cannot know the node in
    advance (the scheduler picks one), but you can say which range the address will be in once
    you know the node.
    """),
    code("""
    # agnhost: the image upstream's network tests use (grader.fact("agnhost-image") names the version)
    lab.apply('''
    apiVersion: v1
    kind: Pod
    metadata:
      name: cart
      namespace: shop
      labels: {app: cart, tier: backend}
    spec:
      containers:
      - name: cart
        image: AGNHOST_IMAGE
        args: ["netexec", "--http-port=8080"]
        ports:
        - {containerPort: 8080, name: http}
    ''')
    pods_table(lab, ["shop"])
    """.replace("AGNHOST_IMAGE", fact("agnhost-image").value)),  # written out at build time: the learner sees the whole Pod
    md("""
    The new pod's address sits in the range of the node it landed on: no central allocator was
    asked at that moment, the node used its own range. Remove it again so the rest of the lesson
    sees the usual shop:
    """),
    code("""
    print("deleted", *lab.delete("pod/shop/cart", missing_ok=True))
    """),

    md("""
    ## 2. Every CNI cuts the pod network its own way (deep dive)

    - **kindnet** and **Cilium** (in its `kubernetes` IPAM mode, as here) use the podCIDR that
      Kubernetes' controller manager gives each node: one /24 per node out of the pod subnet.
    - **Calico** ignores podCIDRs. It cuts its pool into /26 *blocks* (64 addresses); a node claims
      a block when it needs addresses and claims another when that fills up. With the VXLAN
      overlay, the first address of a node's first block goes to its tunnel interface, so pods
      start at the second.

    - **`calico-flat`** stands for AKS's *flat* model: its pods take addresses from the node
      network's own range (172.18.128.0/17 of kind's 172.18.0.0/16), as Azure CNI's pods take
      addresses of the virtual network. Lesson 4 shows what that changes.

    Addressing is a property of the profile, so the next cell asks one *simulated* cluster per
    profile, even when your lab runs on kind: creating that many real clusters would take a long
    time.
    """),
    predict("""
    On `calico-vxlan`, will `shop/web` and `shop/db` have addresses from the same /24 or not?
    """),
    code("""
    import pandas as pd

    from grader.course import pod_range

    rows = {}
    for name in grader.PROFILES:
        sim = grader.connect(name, backend="sim", quiet=True)
        sim.deploy("shop")
        nodes = sim.profile.nodes()
        rows[name] = {f"{p.ref} ({p.node})": f"{p.ip} in {pod_range(p, sim.profile, nodes)}" for p in sim.pods("shop")}
    pd.DataFrame(rows).T
    """),
    md("""
    On `calico-vxlan`, the front end and the database have addresses in the same /24, yet they
    run on different nodes: each address comes from its node's own /26 block. The /24 boundary
    means nothing to Calico, so never infer a pod's node from its first three octets there.
    """),

    md("""
    ## 3. Pod to pod, across nodes

    Take `shop/web` and a pod on another node. A packet between them leaves web's node, crosses
    the node network and enters the other node. How it crosses depends on the profile: kindnet,
    Calico's BGP mode and Cilium's native routing **route** pod addresses between nodes, while
    Calico VXLAN and Cilium's tunnel mode **encapsulate** each pod packet inside a packet between
    the two nodes. Lesson 4 traces this hop by hop. Either way the pod addresses inside are left
    untouched.
    """),
    predict("""
    When `shop/web` connects to a pod on another node, which source address does that pod see:
    web's pod IP, or the IP of web's node?
    """),
    code("""
    web = next(p for p in lab.pods("shop") if p.name == "web")
    other = next(p for p in lab.pods() if p.node != web.node)   # the scheduler decides who that is
    r = lab.probe("shop/web", str(other.ref), other.ports[0].port)
    print(f"web runs on {web.node} with pod IP {web.ip}; {other.ref} runs on {other.node}")
    print(f"{other.ref} saw the client as {r.client_ip}")
    r.explain()
    """),
    md("""
    The server sees the pod IP: no NAT between pods, as the network model requires. (Traffic
    that *leaves* the cluster is often rewritten to the node's address; that is lesson 4.)

    What travels between the two nodes depends on the CNI. The next cell asks three simulated
    clusters what the node network sees of the same flow, `shop/web` to `shop/db` (they run on
    different nodes there):
    """),
    code("""
    for name in ("kindnet", "calico-vxlan", "cilium-tunnel"):
        sim = grader.connect(name, backend="sim", quiet=True)
        sim.deploy("shop")
        leaving = wire_table(sim, "shop/web", "shop/db", 5432).iloc[0]   # the packet leaving web's node
        print(f"{name:<14} {leaving['protocol']} {leaving['source']:<21} → {leaving['destination']:<18} {leaving['carries']}")
    """),
    md("""
    kindnet routes the pod packet as it is. Calico (VXLAN) and Cilium (tunnel mode) wrap it in a
    UDP packet between the two nodes, on ports 4789 and 8472: the pod addresses travel inside.

    The picture below draws that flow and the shop's own: the front end calls the back end, the
    back end calls the database, Prometheus scrapes the front end.
    """),
    code("""
    flows = [
        r,
        lab.probe("shop/web", "shop/api", 8080),
        lab.probe("shop/api", "shop/db", 5432),
        lab.probe("monitoring/prometheus", "shop/web", 9100),
    ]
    draw_topology(lab, flows=flows)
    """),
    predict("""
    The network model's third rule says agents on a node can reach its pods. Can the node
    that runs `shop/db` (the node itself, not a pod on it) open a connection to the database?
    """),
    code("""
    db = next(p for p in lab.pods("shop") if p.name == "db")
    lab.probe(f"node:{db.node}", "shop/db", 5432).explain()
    """),

    md("""
    ## 4. kube-proxy and a Service's virtual IP

    Pods come and go, and a new pod gets a new address. A **Service** gives a set of pods one
    stable name and one stable **virtual IP** (the ClusterIP), taken from the service network.

    No interface anywhere has that address. Instead, **kube-proxy**, which runs on every node,
    watches Services and their endpoints (the ready pods behind them) and programs the node's
    kernel: a packet sent to *virtual IP : port* is rewritten (DNAT) to *one pod's IP : target
    port* before it leaves the client's node, and the kernel's connection tracking rewrites the
    replies back. So the packet that crosses the network is an ordinary pod-to-pod packet, and a
    network policy at the server sees the real client pod.

    kube-proxy has three ways to program the kernel:

    - **iptables**: one chain of rules per Service, an endpoint chosen at random. Still the
      default on Linux.
    - **nftables**: the successor, built on nftables' verdict maps, which stay fast with many
      thousands of Services.
    - **IPVS**: the kernel's own load balancer. Deprecated: use nftables instead.

    Cilium can replace kube-proxy entirely and do the same translation in eBPF (the
    `cilium-native` profile runs that way).
    """),
    code("""
    cite("kube-proxy-nftables-ga", "kube-proxy-ipvs-deprecated")
    """),
    predict("""
    Which range will a ClusterIP come from in this lab, and does it overlap the pod or node
    network?
    """),
    code("""
    from grader.cni import NODE_NETWORK

    ranges = {
        "node network": NODE_NETWORK,
        "pod network": lab.profile.pod_subnet,
        "service network": lab.profile.service_subnet,
    }
    for what, net in ranges.items():
        print(f"{what:<16} {str(net):<16} {net.num_addresses:>6} addresses")
    overlaps = [(a, b) for a in ranges for b in ranges if a < b and ranges[a].overlaps(ranges[b])]
    print("overlaps:", overlaps or "none")
    print("cluster DNS (kube-dns) usually gets the 10th address of the service network:", lab.profile.service_subnet[10])
    """),
    md("""
    The three ranges must not overlap, or a packet could not tell a pod from a Service from a
    node.

    Now a real Service. This one gives the back end a stable address on port 80, forwarded to
    the pods labelled `app=api` on their port named `http` (8080):
    """),
    code("""
    lab.apply('''
    apiVersion: v1
    kind: Service
    metadata:
      name: api
      namespace: shop
    spec:
      selector: {app: api}
      ports:
      - {name: http, port: 80, targetPort: http}
    ''')
    print(lab.services("shop"))
    vip = next(s.cluster_ip for s in lab.services("shop") if s.name == "api")
    """),
    predict("""
    `shop/web` connects to the virtual IP on port 80. Who answers, on which port, and which
    client address does the back end see?
    """),
    code("""
    print(lab.probe("shop/web", vip, 80).explain(full=True))
    """),
    md("""
    The `service` hop is kube-proxy's rule on web's own node: *virtual IP:80* becomes
    *the api pod's IP:8080* (DNAT) before the packet leaves. From there it is ordinary pod-to-pod
    traffic, and the back end sees web's own address.
    """),
    predict("""
    If the virtual IP is not a machine, what happens when your machine (`host`) connects to it?
    And when `shop/web` tries port 8080 on it, a port the Service does not define?
    """),
    code("""
    explain_all([
        lab.probe("host", vip, 80),
        lab.probe("shop/web", vip, 8080),
    ])
    """),
    md("""
    Outside the cluster nobody has a route to the service network: only the nodes' rules know
    the virtual IP. Lesson 2 builds on this: names, load balancing over several pods, and
    Services reachable from outside.

    *Deep dive, kube-proxy modes:* on a port the Service does not define, there is no rule to
    translate the packet: kube-proxy's nftables mode (kindnet here) rejects it at once, while
    iptables mode (the Calico profiles) has no rule at all and the packet is lost.

    **On kind, read the rules themselves** (in a terminal): kube-proxy runs as a DaemonSet on
    the host network, so its pod shows the node's tables:
    `kubectl -n kube-system exec ds/kube-proxy -- nft list table ip kube-proxy` (kindnet, nftables
    mode) or `kubectl -n kube-system exec ds/kube-proxy -- iptables-save -t nat | grep shop/api`
    (Calico and `cilium-tunnel`, iptables mode). `cilium-native` has no kube-proxy:
    `kubectl -n kube-system exec ds/cilium -- cilium-dbg service list`.
    """),

    md("""
    ## On AKS

    - **Nodes** are virtual machines in the cluster's virtual network; their subnet is the node
      network.
    - **Azure CNI Overlay** hands out pod addresses exactly the way kindnet does here: a private
      pod CIDR, cut into one /24 per node. In the *flat* models (pod subnet, node subnet), pods
      take addresses from the virtual network itself, like the `calico-flat` profile; lesson 4
      compares them.
    - The **service network** defaults to `10.0.0.0/16` on AKS (kind uses `10.96.0.0/16`); it must
      not overlap the virtual network, the pod CIDR or networks you peer with.
    - **kube-proxy** runs on AKS in iptables mode unless you configure it; with Azure CNI powered
      by Cilium, Cilium load-balances Services in eBPF instead.
    - **The command** that sets all three ranges (the node subnet comes from `--vnet-subnet-id`,
      or AKS creates a VNet):
      ```bash
      az aks create --resource-group shop-rg --name shop-aks \\
          --network-plugin azure --network-plugin-mode overlay \\
          --pod-cidr 10.244.0.0/16 --service-cidr 10.0.0.0/16 --dns-service-ip 10.0.0.10
      ```
      (`--network-dataplane cilium` replaces kube-proxy with Cilium's eBPF service handling.)
    """),
    code("""
    cite("aks-overlay-defaults", "aks-service-cidr-default", "aks-kube-proxy-config", "aks-cni-commands")
    """),
    predict("""
    With AKS's default overlay pod CIDR and one /24 per node, how many nodes can the cluster
    have before it runs out of pod ranges? Compute it, then compare with the limit Microsoft
    documents.
    """),
    code("""
    overlay = grader.fact("aks-overlay-defaults").value
    pod_cidr = ipaddress.ip_network(overlay["pod_cidr"])
    per_node = 2 ** (overlay["per_node_prefix"] - pod_cidr.prefixlen)
    print(f"{pod_cidr} cut into /{overlay['per_node_prefix']} ranges: {per_node} nodes")
    print(f"documented overlay maximum: {overlay['max_nodes']} nodes")
    for prefix in (14, 12, 11):   # how large must the pod CIDR be for that many /24s?
        print(f"  a /{prefix} pod CIDR holds {2 ** (24 - prefix)} /24 ranges")
    """),
    md("""
    The default /16 runs out at 256 nodes. A /14 holds 1,024 /24s and a /12 4,096, both short of
    the documented 5,000; only a /11 (8,192) covers the maximum. Choose the pod CIDR for the
    largest size the cluster may grow to.
    """),
    md("""
    ## Summary

    - Nodes, pods and Services use three separate ranges, owned by the infrastructure, the CNI
      plugin and the API server.
    - Each node hands out pod addresses from its own range (a /24 podCIDR, or Calico /26 blocks).
    - Pod-to-pod traffic keeps the pod addresses end to end, even across nodes.
    - A Service's virtual IP exists only in kube-proxy's rules: packets are translated to a
      pod's address on the client's node.
    """),
])
