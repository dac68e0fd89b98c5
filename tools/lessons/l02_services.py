"""Lesson 2: Services and load balancing."""

from . import Lesson, code, md, predict

LESSON = Lesson(2, "services-and-load-balancing", "Services and load balancing", "02-services", [
    md("""
    # Lesson 2 — Services and load balancing

    Pods come and go, and each new pod gets a new address. A **Service** gives a group of pods one
    name and one address that stay put, and spreads connections over the pods behind it. This
    lesson follows connections into a Service from inside the cluster, then from outside.

    **What you will learn**
    - create a ClusterIP Service, read its endpoints, and follow one connection through kube-proxy's
      translation to a pod;
    - resolve a Service by its DNS names (short, `name.namespace`, fully qualified) and say why a
      short name fails from another namespace;
    - measure how connections spread over replicas, and what readiness and session affinity change;
    - reach the shop from outside with a NodePort and a LoadBalancer Service, and predict which
      client address the pod sees with `externalTrafficPolicy` Cluster and Local;
    - map it to AKS: the Azure load balancer a LoadBalancer Service creates, and why it shows pods
      a different client address than kind's load balancer.

    **Core path** (about 35 minutes): sections 1, 2, 3 and 5, and On AKS. **Deep dive** (15
    minutes): section 4, NodePort and `externalTrafficPolicy` on each node.
    """),
    code("""
    import pandas as pd

    import grader
    from grader.course import cite, explain_all, lab_nodes
    from grader.render import draw_distribution

    PROFILE = "kindnet"   # try "calico-vxlan" or "cilium-native" and run the notebook again

    lab = grader.connect(PROFILE)
    lab.deploy("shop")
    lab.reset(keep_topology=True)   # no Services or policies left from an earlier run
    """),

    md("""
    ## 1. A ClusterIP Service

    The shop gets a new back-end component, `catalog`, run by a **Deployment** with three
    replicas. The Deployment creates three identical pods labelled `app=catalog`; the Service
    selects them by that label:

    - `selector` says which pods belong to the Service;
    - `port` is what clients connect to, `targetPort` the pod's port (here by its name, `http`);
    - the API server gives the Service a **ClusterIP** from the service network;
    - the **endpoints** are the addresses of the *ready* pods that match the selector, which the
      control plane keeps up to date as pods come and go.

    `image: agnhost` is the course's shorthand for the test server upstream Kubernetes uses: it
    answers on the declared port and tells who answered.
    """),
    code("""
    CATALOG = '''
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: catalog
      namespace: shop
    spec:
      replicas: 3
      selector:
        matchLabels: {app: catalog}
      template:
        metadata:
          labels: {app: catalog, tier: backend}
        spec:
          containers:
          - name: catalog
            image: agnhost
            ports:
            - {containerPort: 8080, name: http}
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: catalog
      namespace: shop
    spec:
      selector: {app: catalog}     # the pods behind the Service
      ports:
      - name: http
        port: 80                   # what clients connect to
        targetPort: http           # the pods' port named http (8080)
    '''
    print(*lab.apply(CATALOG), sep="\\n")
    print()
    print(lab.services("shop"))
    print()
    print(lab.endpoints("shop/catalog"))
    """),
    predict("""
    `shop/web` connects to `catalog` on port 80. Which address does its packet carry when it
    leaves web's node: the Service's ClusterIP or a pod's address? And which port?
    """),
    code("""
    r = lab.probe("shop/web", "catalog", 80)
    print(r.explain(full=True))
    """),
    md("""
    Read the path from the top. The name is resolved by the cluster's DNS to the ClusterIP; on
    web's own node, kube-proxy's rules replace *ClusterIP:80* with *one pod's IP:8080* (DNAT);
    from there on it is an ordinary pod-to-pod connection, and the pod sees web's own address.
    That is why a network policy on the catalog pods must name port 8080, not 80: it judges the
    connection after the translation.
    """),

    md("""
    ## 2. Names

    Every Service gets a DNS name, `<service>.<namespace>.svc.cluster.local`. A pod's resolver
    also has a **search path** that starts with its own namespace, so inside `shop`, `catalog` is
    enough; from another namespace you add the namespace, `catalog.shop`.
    """),
    predict("""
    `untrusted/attacker` tries `catalog` and then `catalog.shop`. Which one resolves?
    """),
    code("""
    explain_all([
        lab.probe("untrusted/attacker", "catalog", 80),
        lab.probe("untrusted/attacker", "catalog.shop", 80),
    ])
    """),
    md("""
    The short name is looked up as `catalog.untrusted.svc.cluster.local` first, then along the
    rest of the search path, and never in `shop`. Names are a convenience, not a barrier:
    `catalog.shop` works from anywhere, and only a network policy keeps the attacker out.

    `nslookup` shows every query a name costs. A name with fewer than five dots is tried with
    each search suffix first (the resolver's `ndots:5`), so outside names cost extra queries:
    """),
    code("""
    print(lab.nslookup("shop/web", "catalog.shop"))
    print()
    print(lab.nslookup("shop/web", "api.example.com"))
    """),

    md("""
    ## 3. Spreading connections over replicas

    For each **new connection**, kube-proxy picks one ready endpoint at random (iptables'
    `statistic` match, nftables' `numgen random`). It balances connections, not requests: a
    client that keeps one connection open (HTTP keep-alive, gRPC) talks to one pod all along.
    """),
    predict("""
    `shop/web` opens 300 connections to `catalog`. Do the three replicas get exactly 100 each,
    or not?
    """),
    code("""
    spread = lab.distribution("shop/web", "catalog", 80, requests=300)
    draw_distribution(spread, title="300 connections from shop/web to catalog")
    """),
    md("""
    Close to a third each, never exactly: every connection is a fresh draw. (The simulated
    cluster uses a seeded random generator, so its numbers are the same on every run.)

    ### Readiness

    A pod's **readiness probe** tells Kubernetes whether it can take traffic right now. A pod
    that fails it keeps running, but leaves the endpoints of every Service that selects it.
    """),
    predict("""
    One catalog replica starts failing its readiness probe. How do 300 new connections spread
    now, and does the not-ready pod still answer when you connect to its own address?
    """),
    code("""
    replicas = sorted(str(p.ref) for p in lab.pods("shop") if p.name.startswith("catalog-"))
    tired = replicas[0]
    lab.set_ready(tired, False)
    print(lab.endpoints("shop/catalog"))
    after = lab.distribution("shop/web", "catalog", 80, requests=300)
    print()
    print(lab.probe("shop/web", tired, 8080).summary(), "(its own address, no Service)")
    draw_distribution({"three ready": spread, f"{tired.split('/')[1]} not ready": after},
                      title="connections to catalog")
    """),
    md("""
    The not-ready pod gets no new connection through the Service, yet it still answers on its
    own address: readiness steers Services, it does not firewall the pod.

    ### Session affinity

    `sessionAffinity: ClientIP` makes kube-proxy remember, per client address, the endpoint it
    chose, and send that client's next connections to it (for three hours by default).
    """),
    predict("""
    With affinity on, `shop/web` and `shop/api` each open 100 connections. How many replicas
    answer each of them?
    """),
    code("""
    lab.set_ready(tired, True)
    CATALOG_AFFINITY = '''
    apiVersion: v1
    kind: Service
    metadata:
      name: catalog
      namespace: shop
    spec:
      selector: {app: catalog}
      sessionAffinity: ClientIP    # new: one endpoint per client address
      ports:
      - name: http
        port: 80
        targetPort: http
    '''
    print(*lab.apply(CATALOG_AFFINITY))
    pinned = {f"from {client}": lab.distribution(client, "catalog", 80, requests=100)
              for client in ("shop/web", "shop/api")}
    draw_distribution(pinned, title="sessionAffinity: ClientIP")
    """),
    md("""
    Each client sticks to one replica (maybe the same one for both, maybe not). Affinity keys
    on the *address* kube-proxy sees: clients behind one NAT address all stick to one pod.
    """),

    md("""
    ## 4. From outside the cluster: NodePort

    A ClusterIP exists only in the rules on the cluster's nodes, so nothing outside can use it.
    A **NodePort** Service also opens one port (30000-32767) on *every* node; a connection to
    any node on that port is translated to an endpoint, wherever that endpoint runs.

    The next cells expose the front end, `shop/web`, on nodePort 30080 and call it from `host`,
    your machine, once through each node. The request goes to the path `/clientip`, where the
    server answers with the client address it saw.
    """),
    code("""
    # the front end as a NodePort Service, on nodePort 30080
    WEB_NODEPORT = '''
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: shop
    spec:
      type: NodePort
      externalTrafficPolicy: Cluster
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: http, nodePort: 30080}
    '''

    def through_each_node():
        # one request per node: connect to that node's address on port 30080 (resolve=, like curl --resolve)
        rows = {}
        for node in lab_nodes(lab):
            r = lab.http("host", "http://shop.example.com:30080/clientip", resolve=f"node:{node.name}")
            rows[node.name] = {"verdict": r.verdict.name, "answered by": r.answered_by or "",
                               "web saw the client as": r.client_ip or ""}
        return pd.DataFrame(rows).T

    lab.apply(WEB_NODEPORT)
    web_node = next(p.node for p in lab.pods("shop") if p.name == "web")
    print(f"shop/web runs on {web_node}; node addresses:", ", ".join(f"{n.name} {n.ip}" for n in lab_nodes(lab)))
    through_each_node()
    """),
    md("""
    Every node answers, even the two that do not run `shop/web`: kube-proxy forwards the
    connection to the node that does. To make the reply come back the same way, it also
    replaces the client's address with the receiving node's own (SNAT). So `web` sees a node,
    never your machine. That is `externalTrafficPolicy: Cluster`, the default.
    """),
    predict("""
    With `externalTrafficPolicy: Local`, kube-proxy only uses endpoints on the node that received
    the connection, and does not SNAT. Which nodes still answer, and what client address does
    `web` see?
    """),
    code("""
    WEB_NODEPORT_LOCAL = '''
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: shop
    spec:
      type: NodePort
      externalTrafficPolicy: Local
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: http, nodePort: 30080}
    '''
    lab.apply(WEB_NODEPORT_LOCAL)
    through_each_node()
    """),
    md("""
    Only the node that runs `web` answers, and it shows your machine's real address. The other
    nodes drop the connection: they have no local endpoint. Local trades even spreading and
    reachability through every node for the client's address, which logs, rate limits and
    `ipBlock` rules need.
    """),

    md("""
    ## 5. LoadBalancer

    A **LoadBalancer** Service is a NodePort Service plus a load balancer outside the cluster
    that the platform creates for it, with an address of its own (the EXTERNAL-IP). Clients use
    that one address; the load balancer sends their connections to the nodes' nodePort.

    On kind, **cloud-provider-kind** plays the cloud: for each LoadBalancer Service it starts an
    Envoy proxy container on the kind network, whose container address becomes the EXTERNAL-IP.
    It is a *proxy*: it ends your TCP connection and opens its own to a node.
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
      externalTrafficPolicy: Cluster
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: http, nodePort: 30080}
    '''
    lab.apply(WEB_LB)
    address = lab.address("service/shop/web")
    print(lab.services("shop"))
    print()
    print(lab.http("host", f"http://{address}/clientip").explain(full=True))
    """),
    predict("""
    Switch this LoadBalancer Service to `externalTrafficPolicy: Local`. On kind, will `web`
    finally see your machine's address?
    """),
    code("""
    WEB_LB_LOCAL = '''
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: shop
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Local
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: http, nodePort: 30080}
    '''
    WEB_LB_BY_POLICY = {"Cluster": WEB_LB, "Local": WEB_LB_LOCAL}

    seen = {}
    for policy, service in WEB_LB_BY_POLICY.items():
        lab.apply(service)
        r = lab.http("host", f"http://{address}/clientip")
        seen[f"externalTrafficPolicy: {policy}"] = {"answered by": r.answered_by, "web saw the client as": r.client_ip}
    print("load balancer address:", address)
    pd.DataFrame(seen).T
    """),
    md("""
    No: with Local, `web` sees the load balancer's own address. Envoy is the client of the
    second connection, and Local faithfully keeps *that* client's address. Local only preserves
    the real client when the load balancer passes packets through without proxying them, which
    is what Azure's load balancer does (next section).
    """),

    md("""
    ## On AKS

    - A **LoadBalancer** Service makes AKS create (or extend) an **Azure Load Balancer**: a
      frontend IP (public, or private with the annotation
      `service.beta.kubernetes.io/azure-load-balancer-internal: "true"`), a load-balancing rule
      per port, a health probe, and the nodes as backend pool. It also adds the rules the
      traffic needs to the nodes' network security group (lesson 6). cloud-provider-kind does
      the same job on kind, with an Envoy container instead of an Azure resource.
    - Azure's load balancer works at layer 4 and **passes packets through** to the nodes
      without proxying: with `externalTrafficPolicy: Local` pods see the real client address,
      and Azure's health probe on the `healthCheckNodePort` keeps traffic on nodes with a ready
      endpoint.
    - kube-proxy runs in iptables mode on AKS unless configured otherwise; with Azure CNI
      powered by Cilium, Cilium does the Service translation in eBPF.
    - **The commands:** the load balancer is built by the Service itself (`kubectl apply`); the
      Azure CLI shows what AKS made of it, in the cluster's node resource group:
      ```bash
      NODE_RG=$(az aks show --resource-group shop-rg --name shop-aks --query nodeResourceGroup --output tsv)
      az network lb show --resource-group "$NODE_RG" --name kubernetes --query "frontendIPConfigurations[].name"
      az network lb rule list --resource-group "$NODE_RG" --lb-name kubernetes --output table
      az network lb probe list --resource-group "$NODE_RG" --lb-name kubernetes --output table
      ```
      (An internal Service's frontend lives on a second load balancer, `kubernetes-internal`.)
    """),
    code("""
    cite("aks-loadbalancer-service", "cloud-provider-kind-lb-proxy", "aks-kube-proxy-config")
    """),
    md("""
    The simulated cluster has a model of Azure's load balancer, so you can compare the two.
    It is a model (kind cannot run Azure), which is why the cell below asks for the simulated
    cluster explicitly. The client is `api.example.com`, a machine on the internet:
    """),
    predict("""
    Fill in the four client addresses before running: {kind, Azure} × {Cluster, Local}.
    """),
    code("""
    def client_seen(load_balancer, policy):
        sim = grader.connect(PROFILE, backend="sim", load_balancer=load_balancer, quiet=True)
        sim.deploy("shop")
        sim.apply(WEB_LB_BY_POLICY[policy])
        frontend = sim.address("service/shop/web")
        r = sim.http("api.example.com", f"http://{frontend}/clientip")
        return f"{r.client_ip} (frontend {frontend})"

    pd.DataFrame({
        lb: {policy: client_seen(lb, policy) for policy in ("Cluster", "Local")}
        for lb in ("cloud-provider-kind", "azure")
    })
    """),
    md("""
    `api.example.com` has the address 203.0.113.10. Only the pass-through Azure load balancer
    with Local delivers it to the pod; in every other cell the pod sees a node or the proxy.

    ## Summary

    - A Service is a selector, ports and a stable ClusterIP; its endpoints are the ready pods it
      selects. kube-proxy translates the ClusterIP to one endpoint on the client's node.
    - `name.namespace` works from everywhere; short names only inside the namespace.
    - Connections, not requests, are spread at random; not-ready pods get none through the
      Service; `sessionAffinity: ClientIP` pins a client address to one pod.
    - NodePort opens a port on every node; LoadBalancer adds an address in front of the nodes.
    - `externalTrafficPolicy: Cluster` hides the client behind a node; Local keeps the client's
      address, as long as nothing in front of the nodes proxies the connection.
    """),
])
