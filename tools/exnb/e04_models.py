"""Exercise 4 — Network models: a kind cluster config with the learner's own address ranges (the
seed's next step), AKS IP planning for the flat and overlay models, and which client address a
host outside the cluster sees on each CNI profile."""

from __future__ import annotations

from nbbuild import Notebook

from .common import HOW_GRADED, task

KIND_CONFIG = """
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  podSubnet: 100.64.0.0/16
  serviceSubnet: 100.65.0.0/20
nodes:
- role: control-plane
- role: worker
- role: worker
"""

AVOID = {"company VPN": "10.0.0.0/8", "home network": "192.168.0.0/16", "Docker's default bridge": "172.17.0.0/16"}

PLAN = dict(nodes=40, scale_up=20, max_surge=1, max_pods=50)
"""Contoso's cluster: 40 nodes growing to 60, one surge node, 50 pods per node."""

CLIENT_PROFILES = ("kindnet", "calico-vxlan", "calico-flat", "cilium-tunnel")


def build() -> Notebook:
    from grader.checks import queries as q
    from grader.lab.sim import SimulatedLab

    labs = {}
    for name in CLIENT_PROFILES:
        labs[name] = SimulatedLab(name)
        labs[name].deploy("shop")
    n, up, surge, pods = PLAN["nodes"], PLAN["scale_up"], PLAN["max_surge"], PLAN["max_pods"]
    total = n + up

    nb = Notebook("04-network-models")
    nb.md("""
    # Exercise 4 — Network models: overlay and flat

    Lesson 4 compared the **overlay** model (pods get addresses from a private range that exists
    only inside the cluster; traffic leaving a node is SNATed to the node's address) with the
    **flat** model (pods take addresses of the node network itself, as with Azure CNI Pod Subnet;
    the lab's profile is `calico-flat`). Here you choose address ranges
    for your own kind cluster, size the address space of an AKS cluster with Microsoft's formulas,
    and predict which address a host outside the cluster sees.

    Answers are YAML `key: value` lines (a kind config is YAML too). **Total: 10 points.**
    """)
    nb.md(HOW_GRADED)
    nb.code("""
    import grader
    from grader.kind.configs import validate_config
    from grader.planning import flat_plan, overlay_plan, validate_ranges

    for profile in grader.PROFILES.values():
        print(profile.describe(), end="\\n\\n")
    """)

    # -- task 1 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 1 — Your own address ranges for kind (4 points)

    kind's defaults (pods `10.244.0.0/16`, Services `10.96.0.0/16`) collide with your company VPN,
    which routes **all of 10.0.0.0/8**. Your home network is `192.168.0.0/16`, Docker's default
    bridge uses `172.17.0.0/16` and kind's own network is `172.18.0.0/16`.

    Write a kind cluster config (`kind: Cluster`, `apiVersion: kind.x-k8s.io/v1alpha4`) with **one
    control-plane node and two workers**, whose `networking.podSubnet` and `networking.serviceSubnet`

    * overlap none of those networks, nor each other, nor a range AKS reserves
      (`169.254.0.0/16`, `172.30.0.0/16`, `172.31.0.0/16`, `192.0.2.0/24`), so the same plan also
      works on AKS;
    * are private ranges (RFC 1918, or RFC 6598's shared space `100.64.0.0/10`);
    * give **each node its /24** of pod addresses (kube-controller-manager's default
      `--node-cidr-mask-size`);
    * for Services: between a **/16 and a /24**.

    Check your file as kind would (`validate_config`) and the ranges as Microsoft's planning guidance
    does (`validate_ranges`, below). The hidden tests also start the simulated cluster with your
    ranges and send traffic through it.

    Points: 1 visible (kind accepts the file and both subnets are set), 3 hidden (the nodes; the
    ranges and the cluster running on them — 2 points).
    """))
    nb.answer("kind_config", KIND_CONFIG)
    nb.code(f"""
    # Try it (not graded)
    import yaml

    config = yaml.safe_load(kind_config)
    print(validate_config(config) or "kind accepts it")
    net = config["networking"]
    for finding in validate_ranges(node_subnet="172.18.0.0/16", pod_cidr=net["podSubnet"], service_cidr=net["serviceSubnet"],
                                   peered={list(AVOID.values())!r}):
        print(finding)
    """)
    kc = 'answer="kind_config", format="values", topology=None'
    nb.test("kc_visible", 1, "kind accepts the config; both subnets are set", kc, visible="""
            check.expect("kind_config", aspects=["valid"])
            """)
    nb.test("kc_nodes", 1, "one control-plane node and two workers", kc, hidden="""
            check.expect("kind_config", aspects=["nodes"], nodes={"control-plane": 1, "worker": 2})
            """)
    nb.test("kc_ranges", 2, "the ranges fit and overlap nothing; the cluster runs on them", kc, hidden=f"""
            check.expect("kind_config", aspects=["ranges", "lab"], avoid={AVOID!r}, node_block=24, service_prefix=[16, 24])
            """)

    # -- task 2 ------------------------------------------------------------------------------
    nb.md(task(f"""
    ## Task 2 — Plan the addresses of an AKS cluster (3 points)

    Contoso's AKS cluster will start with **{n} nodes** and grow to **{total}**; upgrades add
    **{surge} surge node**; every node runs up to **{pods} pods** (`--max-pods`). Use Microsoft's formulas
    from lesson 4 (`flat_plan`, `overlay_plan` and `usable` in `grader.planning` implement them; work
    them out by hand first). Azure keeps **5 addresses** of every subnet for itself.

    Flat model (Azure CNI with pods in the node subnet), for {total} nodes plus the surge node:

    * `flat_addresses`: how many addresses the node subnet needs;
    * `flat_prefix`: the prefix length of the smallest subnet that holds them (`20` for a /20);
    * `flat_utilisation`: the share of that subnet's usable addresses the plan takes (a number
      between 0 and 1; two decimals are enough);
    * `flat_nodes_per_24`: how many nodes **with 30 pods each** fit in a flat /24, the surge
      node counted among them (a surge node takes addresses like any other node: 1 + 30).

    Overlay model (Azure CNI Overlay, every node gets a /24 of a private pod CIDR):

    * `overlay_node_prefix`: the prefix of the smallest node subnet for the {total} nodes plus surge;
    * `overlay_pod_prefix`: the prefix of the smallest pod CIDR that gives each of them its /24;
    * `overlay_nodes_per_16`: how many nodes a `/16` pod CIDR serves.

    Answer with one `key: value` line each (numbers only). Points: 1 visible (every key is a
    number), 2 hidden (the flat model; the overlay model).
    """))
    nb.answer("ip_plan", f"""
    flat_addresses: {q.aks_flat_addresses(None, total, pods, surge)}
    flat_prefix: {q.aks_flat_prefix(None, total, pods, surge)}
    flat_utilisation: {q.aks_flat_utilisation(None, total, pods, surge):.2f}
    flat_nodes_per_24: {q.aks_flat_max_nodes(None, 24, 30)}
    overlay_node_prefix: {q.aks_overlay_node_prefix(None, total, pods, surge)}
    overlay_pod_prefix: {q.aks_overlay_pod_prefix(None, total, pods, surge)}
    overlay_nodes_per_16: {q.aks_overlay_nodes(None, "10.244.0.0/16")}
    """)
    nb.code("""
    # Check your method (not graded) on another plan first: 10 nodes growing to 15, one surge node,
    # 30 pods each. Work it out by hand, then compare; then apply the same steps to Contoso's numbers.
    print(flat_plan(10, max_pods=30, max_surge=1, scale_up=5))
    print(overlay_plan(10, max_pods=30, max_surge=1, scale_up=5))
    """)
    plan = 'answer="ip_plan", format="values", topology=None'
    keys = ("flat_addresses", "flat_prefix", "flat_nodes_per_24", "overlay_node_prefix", "overlay_pod_prefix", "overlay_nodes_per_16")
    nb.test("plan_visible", 1, "every key is a number", plan, visible="\n".join(
        [f'check.expect_value("{k}", type="int")' for k in keys] + ['check.expect_value("flat_utilisation", type="number")']))
    nb.test("plan_flat", 1, "the flat model's numbers", plan, hidden=f"""
            check.expect_value("flat_addresses", lab_value("aks_flat_addresses", {total}, {pods}, {surge}))
            check.expect_value("flat_prefix", lab_value("aks_flat_prefix", {total}, {pods}, {surge}))
            check.expect_value("flat_utilisation", lab_value("aks_flat_utilisation", {total}, {pods}, {surge}), type="number", tolerance=0.01)
            check.expect_value("flat_nodes_per_24", lab_value("aks_flat_max_nodes", 24, 30))
            """)
    nb.test("plan_overlay", 1, "the overlay model's numbers", plan, hidden=f"""
            check.expect_value("overlay_node_prefix", lab_value("aks_overlay_node_prefix", {total}, {pods}, {surge}))
            check.expect_value("overlay_pod_prefix", lab_value("aks_overlay_pod_prefix", {total}, {pods}, {surge}))
            check.expect_value("overlay_nodes_per_16", lab_value("aks_overlay_nodes", "10.244.0.0/16"))
            """)

    # -- task 3 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 3 — Who does the VM see? (3 points)

    `shop/web` opens a connection to `vm.internal` (172.18.0.100, a VM on the node network, like a
    VM in the AKS cluster's virtual network) on port 80, and to `api.example.com` on the internet.
    Predict, then check in the lab:

    * `vm_sees`: the source address `vm.internal` sees, on each of the four profiles below;
    * `internet_sees`: the source address `api.example.com` sees on `cilium-tunnel`;
    * `vm_to_pod`: can `vm.internal` open a connection to `shop/web`'s own pod address on port 80
      (`allowed` or `blocked`) on `kindnet` and on `calico-flat`?

    ```yaml
    vm_sees:
      kindnet: <IP>
      calico-vxlan: <IP>
      calico-flat: <IP>
      cilium-tunnel: <IP>
    internet_sees:
      cilium-tunnel: <IP>
    vm_to_pod:
      kindnet: <allowed or blocked>
      calico-flat: <allowed or blocked>
    ```

    Points: 1 visible (addresses and verdicts in the right places), 2 hidden (what the VM sees;
    the internet and the way back in).
    """))
    nb.code("""
    for profile in ("kindnet", "calico-vxlan", "calico-flat", "cilium-tunnel"):
        try_lab = grader.connect(profile)
        try_lab.deploy("shop")
        web = next(p for p in try_lab.pods("shop") if p.name == "web")
        print(f"{profile:14} shop/web is {web.ip} on {web.node}")
        # r = try_lab.probe("shop/web", "vm.internal", 80); print(r.client_ip); print(r.explain())   # once you have predicted
    """)

    def seen(profile: str, dst: str, port: int) -> str:
        return str(q.probe_client_ip(labs[profile], "shop/web", dst, port))

    lines = ["vm_sees:"] + [f"  {p}: {seen(p, 'vm.internal', 80)}" for p in CLIENT_PROFILES]
    lines += ["internet_sees:", f"  cilium-tunnel: {seen('cilium-tunnel', 'api.example.com', 443)}", "vm_to_pod:"]
    lines += [f"  {p}: {q.probe_verdict(labs[p], 'vm.internal', 'shop/web', 80).value}" for p in ("kindnet", "calico-flat")]
    nb.answer("client_ips", "\n".join(lines))
    ips = 'answer="client_ips", format="values", topology="shop"'
    nb.test("ips_visible", 1, "an address for every profile; verdicts for the way back", ips, visible="\n".join(
        [f'check.expect_value(["vm_sees", "{p}"], type="ip")' for p in CLIENT_PROFILES]
        + ['check.expect_value(["internet_sees", "cilium-tunnel"], type="ip")']
        + [f'check.expect_value(["vm_to_pod", "{p}"], type="verdict", one_of=["allowed", "blocked"])' for p in ("kindnet", "calico-flat")]))
    nb.test("ips_vm", 1, "the address vm.internal sees on each profile", ips, hidden="\n".join(
        f'check.expect_value(["vm_sees", "{p}"], lab_value("probe_client_ip", "shop/web", "vm.internal", 80, profile="{p}"))'
        for p in CLIENT_PROFILES))
    nb.test("ips_outside", 1, "what the internet sees; whether the VM gets to the pod", ips, hidden="\n".join(
        ['check.expect_value(["internet_sees", "cilium-tunnel"], lab_value("probe_client_ip", "shop/web", "api.example.com", 443, profile="cilium-tunnel"))']
        + [f'check.expect_value(["vm_to_pod", "{p}"], lab_value("probe_verdict", "vm.internal", "shop/web", 80, profile="{p}"))'
           for p in ("kindnet", "calico-flat")]))
    return nb
