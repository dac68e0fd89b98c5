"""Lesson 6: network security groups (an Azure model in the simulated cluster)."""

from . import Lesson, code, md, predict

LESSON = Lesson(6, "network-security-groups", "Network security groups", "06-nsg", [
    md("""
    # Lesson 6 — Network security groups

    On Azure, a **network security group** (NSG) filters traffic to and from virtual machines:
    the nodes of an AKS cluster are such VMs. NSGs know addresses, ports and protocols, not pods
    or labels, so they protect nodes and the cluster's edge, while network policies protect pods.
    This lesson shows where that line runs.

    **What you will learn**
    - read an NSG: priorities, first match, Azure's default rules and service tags, and where it
      is attached (node subnet or a node's NIC);
    - predict which packets of a pod's connection an NSG sees: pod addresses when routed, only
      node addresses when encapsulated, nothing between pods of one node;
    - find the rule Azure adds for a LoadBalancer Service, and narrow it with
      `loadBalancerSourceRanges`;
    - decide what belongs in an NSG and what in a network policy.

    **An Azure model.** kind has no NSGs (on kind, the nearest tools are a Service's
    `loadBalancerSourceRanges` and the nodes' own firewall). This lesson therefore always uses
    the simulated cluster's model of Azure, with Azure's load balancer behind LoadBalancer
    Services, whatever backend the other lessons use. The model follows Azure's documented rule
    semantics; it is not Azure.

    **Core path** (about 30 minutes): sections 1, 3 and 4, the NSG-versus-policy table, and On
    AKS. **Deep dive** (10 minutes): section 2, what an NSG sees of overlay and routed pod traffic.
    """),
    code("""
    import pandas as pd

    import grader
    from grader.course import cite, explain_all
    from grader.render import compare_matrices

    PROFILE = "kindnet"   # routed like Azure CNI Overlay; try "calico-vxlan" (encapsulated) and run again

    lab = grader.connect(PROFILE, backend="sim", load_balancer="azure")
    lab.deploy("shop")
    lab.reset(keep_topology=True)   # no NSG, Services or policies from an earlier run

    def verdicts(results):
        # one row per probe: the verdict, and the NSG rule that decided (if an NSG saw the packet)
        rows = {}
        for r in results:
            nsg = [f"{'in' if ' inbound ' in h.detail else 'out'}: {h.detail.split(': ')[-1]}" for h in r.hops if h.step == "nsg"]
            rows[f"{r.probe.source} → {r.probe.destination} {r.port_label}"] = {
                "verdict": r.verdict.name, "NSG decisions": "; ".join(nsg) or "(no NSG on the path)"}
        return pd.DataFrame(rows).T
    """),

    md("""
    ## 1. An NSG and its rules

    An NSG is a list of rules, each with a **priority** (100-4096, lower first), a direction, an
    action (Allow or Deny), a protocol, and source and destination addresses and ports. For each
    new connection Azure goes down the list and **the first matching rule decides**. Behind your
    rules, every NSG has Azure's **default rules**: allow everything within the virtual network
    (the `VirtualNetwork` service tag), allow Azure's load-balancer health probes, deny the rest
    inbound; allow the virtual network and the internet outbound. NSGs are **stateful**: replies
    need no rule.

    An NSG is associated with a **subnet** (all nodes of a node pool) or a node's **NIC**.
    Here is one on the node subnet, with two rules of our own. In this model it plays the NSG
    that AKS manages for the nodes, the one LoadBalancer Services add their rules to (section 3):
    """),
    code("""
    ADMIN_ONLY_SSH = {
        "name": "aks-agentpool-nsg",
        "securityRules": [
            {"name": "allow-ssh-from-admin", "priority": 100, "direction": "Inbound", "access": "Allow",
             "protocol": "Tcp", "sourceAddressPrefix": "198.51.100.7", "sourcePortRange": "*",
             "destinationAddressPrefix": "*", "destinationPortRange": "22"},
            {"name": "deny-vm-to-kubelet", "priority": 200, "direction": "Inbound", "access": "Deny",
             "protocol": "Tcp", "sourceAddressPrefix": "172.18.0.100", "sourcePortRange": "*",
             "destinationAddressPrefix": "*", "destinationPortRange": "10250"},
        ],
    }
    lab.attach_nsg(ADMIN_ONLY_SSH)
    print(lab.nsg_rules().render())
    """),
    predict("""
    Who reaches the kubelet (port 10250) of `kind-worker` now: `vm.internal` (172.18.0.100),
    your machine `host`, the pod `shop/web`?
    """),
    code("""
    verdicts([
        lab.probe("vm.internal", "node:kind-worker", 10250),
        lab.probe("host", "node:kind-worker", 10250),
        lab.probe("shop/web", "node:kind-worker", 10250),
    ])
    """),
    md("""
    The VM is stopped by our rule at priority 200; the others fall through to the default
    `AllowVnetInBound`, because the node subnet and the pod CIDR both count as the virtual
    network. (A pod on `kind-worker` itself would not even cross the NIC.)
    """),

    md("""
    ## 2. What an NSG sees of pod traffic

    An NSG filters packets where they cross a node's network interface. Whether it sees a pod's
    connection, and with which addresses, depends on the network model (lesson 4):

    - routed pod traffic (kindnet here, **Azure CNI Overlay** on AKS) crosses it with the pods'
      own addresses, so a subnet rule can hit pod traffic;
    - encapsulated traffic (`calico-vxlan`, `cilium-tunnel`) crosses it as UDP between two node
      addresses: the NSG cannot see which pods talk, on which port;
    - traffic between pods on the **same node** never crosses it at all.

    Suppose someone tries to protect the database with an NSG rule: deny inbound TCP 5432.
    """),
    predict("""
    With that rule, which of `shop/api`, `shop/web`, `untrusted/attacker` and
    `monitoring/prometheus` can still open 5432 on `shop/db`, on kindnet and on calico-vxlan?
    (Look at the topology drawing of lesson 0 for who runs on which node.)
    """),
    code("""
    DENY_5432 = [{"name": "deny-postgres", "priority": 300, "direction": "Inbound", "access": "Deny", "protocol": "Tcp",
                  "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
                  "destinationPortRange": "5432"}]
    DB_FROM_API = '''
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
    '''
    CLIENTS = ["monitoring/prometheus", "shop/api", "shop/web", "untrusted/attacker"]

    def db_grid(profile, nsg_rules=None, policy=None):
        sim = grader.connect(profile, backend="sim", quiet=True)
        sim.deploy("shop")
        if nsg_rules:
            sim.attach_nsg(nsg_rules)
        if policy:
            sim.apply(policy)
        return sim.matrix(5432, sources=CLIENTS, destinations=["shop/db"])

    compare_matrices({
        "kindnet + NSG deny 5432": db_grid("kindnet", DENY_5432),
        "calico-vxlan + NSG deny 5432": db_grid("calico-vxlan", DENY_5432),
        "any CNI + NetworkPolicy": db_grid(PROFILE, policy=DB_FROM_API),
    }, title="who opens shop/db:5432")
    """),
    md("""
    - On kindnet the NSG blocks the pods on *other* nodes, the back end included (which needs
      the database), and lets in every pod on the database's own node, the attacker included.
    - On calico-vxlan the NSG blocks nothing: it only ever sees UDP 4789 between nodes.
    - The network policy does what was meant on every CNI: it selects pods by label, wherever
      they run, and it is enforced at the pod.

    Microsoft says the same for AKS: blocking traffic *within* the cluster's subnet with NSGs is
    unsupported; use network policies for pods.
    """),
    code("""
    explain_all([db_grid("kindnet", DENY_5432).result("shop/api", "shop/db")])
    """),

    md("""
    ## 3. The rules a LoadBalancer Service adds

    Traffic from the internet reaches an AKS cluster through a load balancer's frontend IP.
    By default the NSG above would drop it (`DenyAllInBound`): nothing allows the internet in.
    When you create a LoadBalancer Service, AKS's cloud provider creates the load-balancer rule
    (lesson 2) **and** adds an allow rule for it to the node NSG: source `Internet`, destination
    the frontend IP and the Service's port. You do not write that rule; it follows the Service.
    """),
    predict("""
    Can `api.example.com`, a client on the internet, reach the shop's front end before the
    Service exists? And after?
    """),
    code("""
    WEB_LB = '''
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: shop
    spec:
      type: LoadBalancer
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: http}
    '''
    before = lab.probe("api.example.com", "node:kind-worker2", 80)   # no Service: only private node addresses
    lab.apply(WEB_LB)
    frontend = lab.address("service/shop/web")
    print(lab.nsg_rules().render())
    verdicts([before, lab.probe("api.example.com", frontend, 80)])
    """),
    md("""
    The rule's name (`k8s-azure-lb_allow_IPv4_…`) comes from the cloud provider, which keeps it
    in step with the Service: delete the Service and the rule goes.

    ## 4. Narrowing it: `loadBalancerSourceRanges`

    `spec.loadBalancerSourceRanges` lists the client ranges a LoadBalancer Service accepts. On
    Azure it becomes the source of that generated NSG rule, and kube-proxy enforces it on the
    nodes as well. Say only the partner network `203.0.113.0/24` may use the shop:
    """),
    predict("""
    With `loadBalancerSourceRanges: [203.0.113.0/24]`, who reaches the frontend:
    `api.example.com` (203.0.113.10), `blocked.example.net` (198.51.100.20), and the pod
    `shop/api`, which calls the shop's public address?
    """),
    code("""
    WEB_LB_PARTNER_ONLY = '''
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: shop
    spec:
      type: LoadBalancer
      loadBalancerSourceRanges: [203.0.113.0/24]
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: http}
    '''
    lab.apply(WEB_LB_PARTNER_ONLY)
    print([r.render() for r in lab.nsg_rules().rules if r.name.startswith("k8s-azure-lb")][0])
    verdicts([lab.probe(client, frontend, 80) for client in ("api.example.com", "blocked.example.net", "shop/api")])
    """),
    md("""
    The partner gets in; the other internet client is dropped by the NSG's `DenyAllInBound`
    (the generated rule no longer matches it); and the cluster's own pod is **blocked** too (dropped,
    not refused: nothing answers, the connection times out): inside the cluster, kube-proxy handles
    the frontend address itself, applies the same ranges to the pod's address and drops what they
    do not cover. If pods must use the public address, add the pod CIDR to the ranges:
    """),
    code("""
    POD_SUBNET = lab.profile.pod_subnet   # the profile's pod range: 10.244.0.0/16 on kindnet
    WEB_LB_PARTNER_AND_PODS = f'''
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: shop
    spec:
      type: LoadBalancer
      loadBalancerSourceRanges: [203.0.113.0/24, {POD_SUBNET}]
      selector:
        app: web
      ports:
      - name: http
        port: 80
        targetPort: http
    '''
    lab.apply(WEB_LB_PARTNER_AND_PODS)
    print(lab.probe("shop/api", frontend, 80).summary())
    """),
    md("""
    The whole edge at a glance: each client against the shop's public address and against a
    node's kubelet, through the NSG of section 1, the generated rule and the source ranges.
    """),
    code("""
    from grader.course import app_matrix

    EDGE = {frontend: 80, "node:kind-worker": 10250}
    CLIENTS_OUTSIDE = ["api.example.com", "blocked.example.net", "host", "vm.internal", "shop/api"]
    app_matrix(lab, EDGE, sources=CLIENTS_OUTSIDE).plot("through the NSG: the shop's frontend and a node's kubelet")
    """),

    md("""
    ## NSGs for nodes, network policies for pods

    | | NSG (Azure) | NetworkPolicy (Kubernetes) |
    |---|---|---|
    | protects | VMs: node subnet or a node's NIC | pods, selected by labels |
    | matches on | addresses, ports, service tags | pod and namespace labels, ports, `ipBlock` |
    | sees pod traffic | only when it crosses a node, and only unencapsulated | always, at the pod |
    | written by | the platform team, and the cloud provider for LoadBalancer Services | the application team |
    | good for | the cluster's edge, node ports, management access | east-west traffic between workloads |
    """),

    md("""
    ## On AKS

    - AKS creates and manages an NSG for the nodes, and LoadBalancer Services keep their rules
      in it. An NSG you associate with a subnet you bring is yours: AKS does not change it, so it
      must allow what the cluster needs (node to node, node to pods, pods to pods) and the
      traffic of your load balancers.
    - LoadBalancer Services add and remove their allow rules (from priority 500 up) on their own;
      `loadBalancerSourceRanges` becomes their source, and kube-proxy enforces it too, so pods
      that call the public address need the pod CIDR in the ranges.
    - NSGs cannot filter by name, so they cannot restrict AKS's egress to the FQDNs it needs
      (lesson 5: Azure Firewall); for pod-to-pod rules use network policies (lesson 7).
    - **The commands** for section 1's NSG on a node subnet of your own (the rule fields map one
      to one onto the flags):
      ```bash
      az network nsg create --resource-group shop-rg --name nodes-nsg
      az network nsg rule create --resource-group shop-rg --nsg-name nodes-nsg --name allow-ssh-from-admin \\
          --priority 100 --direction Inbound --access Allow --protocol Tcp \\
          --source-address-prefixes 198.51.100.7 --destination-port-ranges 22
      az network nsg rule create --resource-group shop-rg --nsg-name nodes-nsg --name deny-vm-to-kubelet \\
          --priority 200 --direction Inbound --access Deny --protocol Tcp \\
          --source-address-prefixes 172.18.0.100 --destination-port-ranges 10250
      az network vnet subnet update --resource-group shop-rg --vnet-name shop-vnet --name nodes \\
          --network-security-group nodes-nsg
      az network nsg rule list --resource-group shop-rg --nsg-name nodes-nsg --output table
      ```
    """),
    code("""
    cite("aks-nsg-requirements", "azure-nsg-lb-rule-priorities", "aks-lb-source-ranges", "aks-loadbalancer-service")
    """),
    md("""
    ## Summary

    - An NSG's rules are checked by priority, first match wins, Azure's default rules come last;
      NSGs are stateful and see only addresses, ports and service tags.
    - On a node's interface an NSG sees routed pod traffic with pod addresses, encapsulated
      traffic as node-to-node UDP, and traffic between pods of one node not at all.
    - A LoadBalancer Service brings its own NSG allow rule; `loadBalancerSourceRanges` narrows
      its source (add the pod CIDR when pods use the public address).
    - Protect nodes and the edge with NSGs, pods with network policies.
    """),
])
