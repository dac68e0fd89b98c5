"""Exercise 1 — Pods, nodes and addresses: values read from the simulated cluster's addressing."""

from __future__ import annotations

from nbbuild import Notebook

from .common import HOW_GRADED, task


# ------------------------------------------------------------------------------------------
def build() -> Notebook:
    from grader.checks.queries import (
        addresses_per_block,
        blocks_in_pod_subnet,
        next_hop,
        pod_block,
        pod_ips_per_node,
    )
    from grader.lab.sim import SimulatedLab

    kindnet = SimulatedLab("kindnet")
    kindnet.deploy("shop")
    calico = SimulatedLab("calico-vxlan")
    calico.deploy("shop")

    def pod(lab: SimulatedLab, ref: str):
        found = lab.state.pod(ref)
        assert found is not None
        return found

    def node(lab: SimulatedLab, name: str):
        return lab.state.node(name)

    web, db = pod(kindnet, "shop/web"), pod(kindnet, "shop/db")
    hops = ("10.244.2.9", "10.244.0.5", "10.244.1.200")
    cweb = pod(calico, "shop/web")

    nb = Notebook("01-basics")
    nb.md("""
    # Exercise 1 — Pods, nodes and addresses

    Every pod gets its own IP address from the **pod network**; nodes have addresses on the **node
    network** (kind's Docker network, 172.18.0.0/16; on AKS the virtual network's subnet). How pod
    addresses are carved up depends on the CNI plugin. Answer with values read from, and reasoned
    about, the lab: the tests compare them with the addresses the simulator actually handed out.

    Answers here are YAML lines `key: value` (an IP, a CIDR like `10.244.1.0/24`, or a number).
    **Total: 9 points.**
    """)
    nb.md(HOW_GRADED)
    nb.code("""
    import grader

    lab = grader.connect("kindnet")
    lab.deploy("shop")
    for pod in lab.pods():
        print(f"{str(pod.ref):24} {str(pod.ip):14} on {pod.node}")
    print()
    for node in lab.profile.nodes():
        print(f"{node.name:20} {node.role:14} node IP {str(node.ip):12} podCIDR {node.pod_cidr}")
    """)

    nb.md(task("""
    ## Task 1 — Where do the shop's pods live? (3 points)

    On the `kindnet` profile, after `lab.deploy("shop")`: give `shop/web`'s pod IP, the node it runs
    on, that node's IP, and the podCIDR that node hands addresses out from; and the same pod IP and
    node for `shop/db`.

    Answer in this shape:

    ```yaml
    web_ip: <IP>
    web_node: <node name>
    web_node_ip: <IP>
    web_node_pod_cidr: <CIDR>
    db_ip: <IP>
    db_node: <node name>
    ```

    Points: 1 visible (keys present, addresses on the right networks), 2 hidden (values).
    """))
    nb.answer("shop_addresses", f"""
    web_ip: {web.ip}
    web_node: {web.node}
    web_node_ip: {node(kindnet, str(web.node)).ip}
    web_node_pod_cidr: {node(kindnet, str(web.node)).pod_cidr}
    db_ip: {db.ip}
    db_node: {db.node}
    """)
    values = 'answer="shop_addresses", format="values", topology="shop", profile="kindnet"'
    nb.test("basics_addresses_visible", 1, "every key is there; pod IPs in the pod network, node IPs in the node network",
            values, visible="""
            check.expect_value("web_ip", type="ip", within="10.244.0.0/16")
            check.expect_value("db_ip", type="ip", within="10.244.0.0/16")
            check.expect_value("web_node_ip", type="ip", within="172.18.0.0/16")
            check.expect_value("web_node_pod_cidr", type="cidr")
            check.expect_value("web_node", type="text")
            check.expect_value("db_node", type="text")
            """)
    nb.test("basics_addresses_values", 2, "the values match the lab",
            values, hidden="""
            check.expect_value("web_ip", lab_value("pod_ip", "shop/web"))
            check.expect_value("web_node", lab_value("pod_node", "shop/web"))
            check.expect_value("web_node_ip", lab_value("pod_node_ip", "shop/web"))
            check.expect_value("web_node_pod_cidr", lab_value("pod_node_pod_cidr", "shop/web"))
            check.expect_value("db_ip", lab_value("pod_ip", "shop/db"))
            check.expect_value("db_node", lab_value("pod_node", "shop/db"))
            """)

    nb.md(task(f"""
    ## Task 2 — Across nodes without a tunnel (3 points)

    kindnet routes pod traffic between nodes **without encapsulation**: every node has a route for
    each other node's podCIDR *via that node's IP* on the node network. For each destination pod
    address below, give the IP of the node the packet is delivered to (`next_hop`); then give how
    many pod addresses one node can hand out from its /24 (`pod_ips_per_node`: kindnet's host-local
    IPAM never hands out the network address, `.1` — the node's side of the pod routes — or the
    broadcast address).

    Answer in this shape:

    ```yaml
    next_hop:
      {hops[0]}: <node IP>
      {hops[1]}: <node IP>
      {hops[2]}: <node IP>
    pod_ips_per_node: <number>
    ```

    Points: 1 visible, 2 hidden.
    """))
    nb.answer("routing", "\n".join(
        ["next_hop:"] + [f"  {ip}: {next_hop(kindnet, ip)}" for ip in hops]
        + [f"pod_ips_per_node: {pod_ips_per_node(kindnet, 'kind-worker')}"]))
    routing = 'answer="routing", format="values", topology="shop", profile="kindnet"'
    nb.test("basics_routing_visible", 1, "every destination has a node IP; the count is a number",
            routing, visible="\n".join(
                [f'check.expect_value(["next_hop", "{ip}"], type="ip", within="172.18.0.0/16")' for ip in hops]
                + ['check.expect_value("pod_ips_per_node", type="int")']))
    nb.test("basics_routing_values", 2, "next hops and the per-node count match the lab",
            routing, hidden="\n".join(
                [f'check.expect_value(["next_hop", "{ip}"], lab_value("next_hop", "{ip}"))' for ip in hops]
                + ['check.expect_value("pod_ips_per_node", lab_value("pod_ips_per_node", "kind-worker"))']))

    nb.md(task("""
    ## Task 3 — Calico's IPAM blocks (3 points)

    Calico does not use the node's podCIDR. It cuts its pool (here `192.168.0.0/16`) into **/26
    blocks**; a node claims a whole block when it needs addresses, and another when that one fills.
    Deploy the shop on the `calico-vxlan` profile and answer: how many addresses one block holds
    (`addresses_per_block`), how many blocks the pool holds (`blocks_in_pool`), which block
    `shop/web`'s address came from (`web_block`, as a CIDR) and which node claimed it (`web_node`),
    as `key: value` lines.

    Points: 1 visible, 2 hidden.
    """))
    nb.code("""
    calico = grader.connect("calico-vxlan")
    calico.deploy("shop")
    for pod in calico.pods():
        print(f"{str(pod.ref):24} {str(pod.ip):14} on {pod.node}")
    """)
    nb.answer("calico_blocks", f"""
    addresses_per_block: {addresses_per_block(calico)}
    blocks_in_pool: {blocks_in_pod_subnet(calico)}
    web_block: {pod_block(calico, "shop/web")}
    web_node: {cweb.node}
    """)
    blocks = 'answer="calico_blocks", format="values", topology="shop", profile="calico-vxlan"'
    nb.test("basics_calico_visible", 1, "every key is there with the right kind of value", blocks, visible="""
            check.expect_value("addresses_per_block", type="int")
            check.expect_value("blocks_in_pool", type="int")
            check.expect_value("web_block", type="cidr")
            check.expect_value("web_node", type="text")
            """)
    nb.test("basics_calico_values", 2, "block size, block count and web's block match the lab", blocks,
            hidden="""
            check.expect_value("addresses_per_block", lab_value("addresses_per_block"))
            check.expect_value("blocks_in_pool", lab_value("blocks_in_pod_subnet"))
            check.expect_value("web_block", lab_value("pod_block", "shop/web"))
            check.expect_value("web_node", lab_value("pod_node", "shop/web"))
            """)

    return nb

