"""Lesson 4: network models, overlay and flat."""

from . import Lesson, code, md, predict

LESSON = Lesson(4, "network-models", "Network models: overlay and flat", "04-network-models", [
    md("""
    # Lesson 4 — Network models: overlay and flat

    Pods have addresses (lesson 1). Whether anything *outside* the cluster can use those
    addresses is the choice between two network models. In an **overlay** model, pod addresses
    come from a private range that only the cluster routes; everything outside sees node
    addresses. In a **flat** model, pod addresses are ordinary addresses of the network the
    nodes live on. AKS offers both, and the choice decides how much address space you need.

    **What you will learn**
    - tell the node subnet from the pod CIDR, and say who outside the cluster can reach a pod
      address in each model;
    - read a flow trace and see on the wire whether a CNI routes pod packets as they are or wraps
      them in VXLAN;
    - find where source NAT (SNAT) happens and which address a machine outside the cluster sees;
    - compare an overlay (`calico-vxlan`) and a flat (`calico-flat`: pods take addresses of the
      node network, as on AKS) cluster side by side;
    - size the address space of an AKS cluster for the overlay and the flat model with
      Microsoft's formulas, and create either with `az aks create`.

    **Core path** (about 30 minutes): sections 1, 3, 4, 5 and On AKS. **Deep dives**: section 2,
    what crosses the wire per CNI (15 minutes), and the `calico-bgp` notes in sections 3 and 4
    (5 minutes).
    """),
    code("""
    import pandas as pd

    import grader
    from grader.course import app_matrix, cite, explain_all, nodes_table, path_table, wire_table
    from grader.render import compare_matrices, draw_topology

    PROFILE = "kindnet"   # try "calico-flat" (flat, as on AKS) and run the notebook again

    lab = grader.connect(PROFILE)
    lab.deploy("shop")
    lab.reset(keep_topology=True)
    print(lab.profile.describe())
    """),

    md("""
    ## 1. Two ranges: the node subnet and the pod CIDR

    The nodes have addresses on the **node subnet** (kind's Docker network here, a subnet of
    the virtual network on AKS). Pods get theirs from the **pod CIDR**, cut into one block per
    node. Machines on the node subnet, like your own machine (`host`, the gateway of kind's
    network), know how to reach the nodes. Whether they can reach the pods depends on whether
    anyone told them where the pod blocks are.
    """),
    code("""
    nodes_table(lab)
    """),
    predict("""
    Your machine sits on the same network as the nodes. Can it open a connection straight to
    the database pod's address, `shop/db` on 5432? And to the node that runs it?
    """),
    code("""
    db_node = next(p.node for p in lab.pods("shop") if p.name == "db")
    explain_all([
        lab.probe("host", "shop/db", 5432),
        lab.probe("host", f"node:{db_node}", 10250),
    ])
    """),
    md("""
    Your machine has no route to the pod CIDR: pod addresses exist only inside the cluster, and
    the way in is a Service (NodePort, LoadBalancer) or a Gateway, as in lessons 2 and 3. In this
    lab your machine stands for one *outside* the cluster's network (your laptop, not a VM in the
    VNet), so that holds on every profile; section 4 shows a VM inside the network, `vm.internal`,
    and what the flat model changes for it.
    """),

    md("""
    ## 2. What crosses the node network

    A packet from `shop/web` to `shop/db` on another node must cross the node network, whose
    switches and routers know nothing about pods. CNIs solve this in one of two ways:

    - **routing**: the pod packet travels as it is, and each node has a route "this pod block
      is behind that node" (kindnet, Calico with BGP, Cilium native routing);
    - **encapsulation**: the node wraps the pod packet in a UDP packet from its own address to
      the other node's address (VXLAN: UDP 4789 for Calico, 8472 for Cilium); the node network
      only ever sees node addresses.

    The next cells ask simulated clusters, one per profile, what crosses the wire. The
    simulated cluster knows every packet of a flow; on kind you would capture them (see the tip
    below).
    """),
    predict("""
    For `shop/web` → `shop/db` on 5432: on `kindnet` and on `calico-vxlan`, which source and
    destination addresses does a capture on the node network show?
    """),
    code("""
    sims = {}
    for name in ("kindnet", "calico-vxlan", "calico-flat", "calico-bgp"):
        sims[name] = grader.connect(name, backend="sim", quiet=True)
        sims[name].deploy("shop")

    for name in ("kindnet", "calico-vxlan"):
        display(wire_table(sims[name], "shop/web", "shop/db", 5432))
    """),
    md("""
    On kindnet the capture shows the pods' own addresses and port 5432. On `calico-vxlan` it
    shows two *node* addresses and UDP 4789: the TCP packet between the pods is inside. The full
    trace of that flow, hop by hop:
    """),
    code("""
    path_table(sims["calico-vxlan"].probe("shop/web", "shop/db", 5432))
    """),
    md("""
    Encapsulation costs 50 bytes of every packet (the outer headers), so the pods' MTU is
    smaller than the nodes'. In exchange, the node network needs no routes for pods at all.

    **On kind, capture it yourself** (in a terminal, with Docker): run a capture tool in a
    node's network namespace, then probe across nodes from the notebook:
    `docker run --rm --net container:kind-worker nicolaka/netshoot tcpdump -ni eth0 udp port 4789`
    on the `calico-vxlan` cluster (8472 on `cilium-tunnel`, `tcp port 5432` on kindnet).
    """),

    md("""
    ## 3. Leaving the cluster: SNAT

    When a pod talks to something outside the cluster, an overlay network must hide the pod
    address: nothing outside could send a reply to it. The node **masquerades** the packet
    (SNAT): the source becomes the node's own address. At the edge of the network, one more
    SNAT gives all traffic a public address (your machine's on kind; on AKS, the cluster's
    outbound load balancer or NAT gateway).
    """),
    predict("""
    Which client address does `vm.internal` see when `shop/web` connects to it, on each
    profile? And `api.example.com`, on the internet?
    """),
    code("""
    rows = {}
    for name in grader.PROFILES:
        sim = sims.get(name) or grader.connect(name, backend="sim", quiet=True)
        sim.deploy("shop")
        web = next(p for p in sim.pods("shop") if p.name == "web")
        to_vm = sim.probe("shop/web", "vm.internal", 443)
        to_internet = sim.probe("shop/web", "api.example.com", 443)
        rows[name] = {
            "model": sim.profile.model, "shop/web's address": str(web.ip),
            "vm.internal sees": to_vm.client_ip or to_vm.verdict.name,
            "api.example.com sees": to_internet.client_ip or to_internet.verdict.name,
        }
    pd.DataFrame(rows).T
    """),
    md("""
    - On the overlay profiles (`model: overlay`) the VM sees the node (SNAT on the node) and the
      internet sees the edge address 192.0.2.1 (a second SNAT at the gateway).
    - On the flat profile `calico-flat` (`model: flat`) the pod's address is one of the node
      network's, and the VM sees it: no SNAT inside the network. Only traffic to the internet is
      translated, as on AKS, where the outbound type does it for every address of the VNet.

    *Deep dive, `calico-bgp` (`model: routed`):* its pods have a separate range (192.168.0.0/16)
    that Calico announces by BGP, with no SNAT at all. That is **not** AKS's flat model: it is a
    routed pod network. Its VM still sees pod addresses, but its pods cannot reach the internet,
    and the trace says why: the lab's gateway only translates the node network.
    """),
    code("""
    print(sims["calico-bgp"].probe("shop/web", "api.example.com", 443).explain(full=True))
    """),

    md("""
    ## 4. Overlay and flat, side by side

    The same question to two clusters that differ only in their network model: which machines
    outside the cluster can reach each shop service *directly* (no Service, no ingress)?
    """),
    predict("""
    Fill in the two grids before running: rows `host` (your machine) and `vm.internal`, columns
    the three shop pods.
    """),
    code("""
    APP_PORTS = {"shop/web": 80, "shop/api": 8080, "shop/db": 5432}
    OUTSIDE = ["host", "vm.internal"]
    compare_matrices({
        "calico-vxlan (overlay)": app_matrix(sims["calico-vxlan"], APP_PORTS, sources=OUTSIDE),
        "calico-flat (flat)": app_matrix(sims["calico-flat"], APP_PORTS, sources=OUTSIDE),
    }, title="direct connections from outside the cluster")
    """),
    md("""
    Only the VM reaches the pods, and only in the flat cluster: the pods' addresses belong to
    its network. (On AKS the virtual network routes every pod address by itself. On kind, a
    Docker bridge cannot deliver to addresses behind a node's veths, so the lab gives the VM a
    route to each node's pod block; the simulated cluster models the AKS behaviour.) Your
    machine stays outside. The same flows in the flat cluster, drawn:
    """),
    code("""
    flat = sims["calico-flat"]
    draw_topology(flat, flows=[
        flat.probe("vm.internal", "shop/db", 5432),
        flat.probe("shop/web", "vm.internal", 443),
        flat.probe("host", "shop/web", 80),
    ], title="calico-flat: a flat network, as on AKS")
    """),
    md("""
    A flat network lets VMs and on-premises systems talk to pods without a load balancer, and
    shows them real pod addresses (firewalls and logs can tell pods apart). The price is address
    space: every pod needs an address of the network the nodes live on.
    """),

    md("""
    ## 5. Planning addresses for AKS

    AKS offers both models:

    - **Azure CNI Overlay**: nodes take addresses from the VNet subnet; pods take them from a
      private pod CIDR, a fixed **/24 per node**. Pod traffic leaving the cluster is SNATed to
      the node, as in the overlay profiles here (Azure routes the pod CIDR inside the cluster
      without encapsulation).
    - **Flat**: pods take VNet addresses, from a dedicated pod subnet, or (the older model) from
      the node subnet itself, reserved in advance for each node's maximum pod count.

    `grader.planning` implements Microsoft's formulas (also in a terminal:
    `netlab plan --nodes 50 --max-pods 30 --model flat`). For the node-subnet model, every node
    reserves its maximum pods up front, and upgrades add surge nodes:
    `(nodes + surge) + (nodes + surge) × maxPods`.
    """),
    predict("""
    50 nodes with at most 30 pods each, one surge node: how many addresses does the flat
    node subnet need, and which subnet size is the smallest that fits? And for the overlay model?
    """),
    code("""
    from grader.planning import flat_plan, overlay_plan, usable

    flat_50 = flat_plan(50, max_pods=30)
    overlay_50 = overlay_plan(50, max_pods=30)
    print(f"flat:    {flat_50.formula} addresses -> node subnet /{flat_50.prefix} ({usable(flat_50.prefix):,} usable)")
    print(f"overlay: node subnet /{overlay_50.node_subnet_prefix} ({usable(overlay_50.node_subnet_prefix)} usable) "
          f"+ a private pod CIDR of at least /{overlay_50.pod_cidr_prefix} ({overlay_50.pod_cidr_nodes} nodes at one /24 each)")
    example = grader.fact("aks-flat-planning-example").value
    print(f"Microsoft's worked example: {example['addresses']:,} addresses, a /{example['prefix']}")
    """),
    md("""
    The flat subnet must hold every pod; the overlay subnet only the nodes, and the pod CIDR
    costs nothing in the VNet (it must just not overlap anything it routes to). The gap grows
    with the cluster:
    """),
    code("""
    sizes = {}
    for nodes in (10, 50, 200, 1000):
        fp, op = flat_plan(nodes, max_pods=30), overlay_plan(nodes)
        sizes[f"{nodes} nodes"] = {
            "flat: VNet addresses": f"{fp.addresses:,} (/{fp.prefix})",
            "overlay: VNet addresses": f"{nodes + 1:,} (/{op.node_subnet_prefix})",
            "overlay: pod CIDR": f"/{op.pod_cidr_prefix} (private)",
            "overlay: max pods per node": op.max_pods,
        }
    pd.DataFrame(sizes).T
    """),
    md("""
    Ranges must also not collide. AKS rejects pod, service and VNet ranges that overlap each
    other or a few reserved ranges, and traffic to a peered or on-premises network that
    overlaps the pod CIDR would never leave the cluster. `validate_ranges` checks a plan:
    """),
    predict("""
    This plan reuses `10.244.0.0/16` as pod CIDR although an on-premises network is
    `10.244.128.0/20`, and picks `172.16.0.0/12` as service CIDR. How many problems will AKS (or
    the routing) have with it?
    """),
    code("""
    from grader.planning import validate_ranges

    for finding in validate_ranges(node_subnet="10.240.0.0/16", pod_cidr="10.244.0.0/16",
                                   service_cidr="172.16.0.0/12", dns_service_ip="172.16.0.10",
                                   peered=["10.244.128.0/20"]):
        print(finding)
    """),

    md("""
    ## On AKS

    - **Azure CNI Overlay** is the overlay model: node IPs from the VNet, pods from a private CIDR
      (default `10.244.0.0/16`), one /24 per node, up to 250 pods per node and 5,000 nodes. Pods are
      not reachable from outside the cluster, and their egress is SNATed to the node.
    - **Azure CNI Pod Subnet** and the legacy **Node Subnet** mode are flat: pods get VNet
      addresses, reachable from peered networks. Plan the subnets for the maximum pods per node
      (default 30 for Node Subnet, 110 for Pod Subnet).
    - **kubenet**, the older overlay with route tables, is being retired; clusters move to Azure
      CNI Overlay.
    - Azure reserves 5 addresses in every subnet, which the calculator accounts for.
    - **The commands** (the ranges are yours to choose; check them with `validate_ranges` first):
      ```bash
      # overlay: nodes in your subnet, pods from a private CIDR, Services from another
      az aks create --resource-group shop-rg --name shop-aks --vnet-subnet-id "$NODE_SUBNET_ID" \\
          --network-plugin azure --network-plugin-mode overlay \\
          --pod-cidr 10.244.0.0/16 --service-cidr 10.0.0.0/16 --dns-service-ip 10.0.0.10
      # flat (Pod Subnet): pods take addresses of a second subnet of the same VNet
      az aks create --resource-group shop-rg --name shop-flat --network-plugin azure \\
          --vnet-subnet-id "$NODE_SUBNET_ID" --pod-subnet-id "$POD_SUBNET_ID" \\
          --service-cidr 10.0.0.0/16 --dns-service-ip 10.0.0.10 --max-pods 30
      ```
      Add `--network-dataplane cilium` to either for Cilium's dataplane and policy engine
      (lesson 7). `az aks show --resource-group shop-rg --name shop-aks --query networkProfile`
      shows what a cluster got.
    """),
    code("""
    cite("aks-overlay-defaults", "aks-flat-planning-example", "aks-default-max-pods", "aks-reserved-ranges",
         "azure-subnet-reserved-addresses", "kubenet-retirement", "aks-cni-commands")
    """),
    md("""
    ## Summary

    - The node subnet belongs to the network; the pod CIDR to the CNI. In an overlay model only
      the cluster routes the pod CIDR; in a flat model pods have the network's own addresses.
      `calico-bgp` is neither: a routed pod network, not AKS's flat model.
    - Between nodes, pod packets are either routed as they are or wrapped in VXLAN (UDP 4789 or
      8472), which hides pod addresses from the node network.
    - Leaving an overlay cluster, pod traffic is SNATed to the node, then to the edge address.
      Flat pods keep their address inside the network; the edge still has to translate them.
    - Flat networks spend VNet addresses on every pod: size them with
      `(nodes + surge) × (1 + maxPods)`. Overlay networks spend them on nodes only.
    """),
])
