"""Exercise 6 — Network security groups (an Azure model: kind has no NSG): inbound rules that open
an admin port to a partner network without closing the public Service or the virtual network,
and outbound rules that let the cluster reach one internet service only."""

from __future__ import annotations

from nbbuild import Notebook

from .common import HOW_GRADED, SHOP_TABLE, given, task

SERVICES = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-public", "namespace": "shop"},
     "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api-admin", "namespace": "shop"},
     "spec": {"type": "LoadBalancer", "selector": {"app": "api"}, "ports": [{"name": "admin", "port": 8080, "targetPort": "http"}]}},
]

INBOUND = """
securityRules:
- name: allow-partner-admin
  priority: 100
  direction: Inbound
  access: Allow
  protocol: Tcp
  sourceAddressPrefix: 203.0.113.0/24
  sourcePortRange: "*"
  destinationAddressPrefix: "*"
  destinationPortRange: "8080"
- name: deny-internet-admin
  priority: 110
  direction: Inbound
  access: Deny
  protocol: "*"
  sourceAddressPrefix: Internet
  sourcePortRange: "*"
  destinationAddressPrefix: "*"
  destinationPortRange: "8080"
"""

OUTBOUND = """
securityRules:
- name: allow-payments
  priority: 100
  direction: Outbound
  access: Allow
  protocol: Tcp
  sourceAddressPrefix: "*"
  sourcePortRange: "*"
  destinationAddressPrefix: 203.0.113.10
  destinationPortRange: "443"
- name: deny-internet
  priority: 200
  direction: Outbound
  access: Deny
  protocol: "*"
  sourceAddressPrefix: "*"
  sourcePortRange: "*"
  destinationAddressPrefix: Internet
  destinationPortRange: "*"
"""

WEB = 'lab_value("address", "service/shop/web-public")'
ADMIN = 'lab_value("address", "service/shop/api-admin")'
OUTSIDE_PARTNER = ("near-partner.example.org", "203.0.114.10")
"""The address just past the partner's /24: a wider source prefix would admit it to the admin port."""
NEXT_DOOR = ("next-door.example.com", "203.0.113.11")
"""The address next to api.example.com (203.0.113.10): a wider destination prefix would let the cluster reach it."""


def build() -> Notebook:
    nb = Notebook("06-nsg")
    nb.md("""
    # Exercise 6 — Network security groups

    Lesson 6 showed how an Azure network security group filters the traffic of the node VMs: rules
    by priority (lowest number first, first match wins), Azure's default rules behind yours, and
    the allow rules AKS adds by itself for every LoadBalancer Service (priority 500 and up). This is
    an **Azure model**: kind has no NSG; the simulated cluster attaches your rules to its node subnet
    and every probe crosses them.

    Each answer is an NSG rule set in YAML that mirrors the Azure resource's `securityRules`: `name`,
    `priority` (100-4096), `direction` (`Inbound`/`Outbound`), `access` (`Allow`/`Deny`), `protocol`
    (`Tcp`, `Udp`, `*`), `sourceAddressPrefix`, `sourcePortRange`, `destinationAddressPrefix`,
    `destinationPortRange` (or the plural forms with lists). Prefixes may be addresses, CIDRs, `*`
    or the service tags `Internet`, `VirtualNetwork`, `AzureLoadBalancer`. The tests attach it to the
    node subnet of an AKS-like cluster (Azure's load balancer: `load_balancer="azure"`).

    **Total: 6 points.**
    """)
    nb.md(HOW_GRADED)
    nb.md(SHOP_TABLE)
    nb.code("\n".join([
        "import grader",
        "",
        'aks = grader.connect("kindnet", load_balancer="azure")   # always the simulated cluster: NSGs are an Azure model',
        'aks.deploy("shop")',
        'SERVICES = """\n' + "---\n".join(_yaml(d) for d in SERVICES) + '"""',
        "aks.apply(SERVICES)",
        'print("web-public:", aks.address("service/shop/web-public"), " api-admin:", aks.address("service/shop/api-admin"))',
        'aks.attach_nsg({"name": "aks-nsg", "securityRules": []})',
        "print(aks.nsg_rules().render())   # what Azure processes: the rules AKS added for the two Services, then the defaults",
    ]))

    # -- task 1 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 1 — Open the admin port to the partner only (3 points)

    Two LoadBalancer Services run in `shop` (created above and by the tests): `web-public` (port
    80, the public shop) and `api-admin` (port **8080**, the back end's admin interface). For each,
    AKS added an NSG rule that allows **the whole internet** to its port, at priority 500 and up.
    You may not change the Services. Write the inbound rules of the node subnet's NSG so that

    * `api-admin` on 8080 can be reached from the internet **only from the partner network
      `203.0.113.0/24`** (where `api.example.com` lives), over TCP;
    * the public shop (`web-public`, port 80) stays open to the whole internet;
    * nothing inside the virtual network breaks: the jump host `vm.internal` still reaches the
      nodes' kubelet (10250), pods still talk across nodes, names still resolve.

    Points: 1 visible (the rules parse; the partner reaches the admin port), 2 hidden (the rest of
    the internet on the admin port — its visible part checks `blocked.example.net`; everything else
    still working — its visible part checks that the whole internet still reaches the public shop).
    """))
    nb.answer("nsg_inbound", INBOUND)
    nb.code("""
    # Try it (not graded): the partner, a host just outside its network (the tests add it too), the rest of the internet
    aks.attach_nsg(nsg_inbound)
    aks.add_external_host("near-partner.example.org", "203.0.114.10")
    admin = aks.address("service/shop/api-admin")
    for client in ("api.example.com", "near-partner.example.org", "blocked.example.net"):
        print(aks.probe(client, admin, 8080).summary())
    print(aks.probe("blocked.example.net", aks.address("service/shop/web-public"), 80).summary())
    """)
    ctor = 'answer="nsg_inbound", format="nsg", topology="shop", load_balancer="azure"'
    nb.test("nsg_in_visible", 1, "inbound rules; the partner reaches the admin port", ctor, visible=f"""
            {_indent(given(*SERVICES))}
            check.expect("nsg_rules", direction="Inbound", at_least=1)
            check.expect_probe("api.example.com", {ADMIN}, 8080, verdict="allowed")
            """)
    nb.test("nsg_in_partner", 1, "no one else on the internet reaches the admin port", ctor, visible=given(*SERVICES) + f"""
check.expect_probe("blocked.example.net", {ADMIN}, 8080, verdict="blocked")""", hidden=f"""
            check.add_external_host("{OUTSIDE_PARTNER[0]}", "{OUTSIDE_PARTNER[1]}")
            check.expect_probe("{OUTSIDE_PARTNER[0]}", {ADMIN}, 8080, verdict="blocked")
            check.expect_probe("blocked.example.net", {ADMIN}, 8080, verdict="blocked")
            check.expect_probe("api.example.com", {ADMIN}, 8080, verdict="allowed", answered_by="shop/api")
            """)
    nb.test("nsg_in_rest", 1, "the public shop, the jump host, pods across nodes and DNS still work", ctor,
            visible=given(*SERVICES) + f"""
check.expect_probe("blocked.example.net", {WEB}, 80, verdict="allowed", answered_by="shop/web")""", hidden=f"""
            for client in ("api.example.com", "blocked.example.net"):
                check.expect_probe(client, {WEB}, 80, verdict="allowed", answered_by="shop/web")
            check.expect_probe("vm.internal", "node:kind-worker", 10250, verdict="allowed")
            check.expect_probe("vm.internal", "node:kind-control-plane", 6443, verdict="allowed")
            check.expect_probe("shop/web", "shop/db", 5432, verdict="allowed")
            check.expect_probe("shop/web", "api.example.com", 443, verdict="allowed")
            check.expect_probe("untrusted/attacker", "api-admin.shop", 8080, verdict="allowed")
            """)

    # -- task 2 ------------------------------------------------------------------------------
    nb.md(task("""
    ## Task 2 — Let the cluster out to one service only (3 points)

    Security wants the cluster's **outgoing** internet traffic limited at the NSG, whatever the
    pods' policies say. Write the outbound rules of the node subnet's NSG so that

    * every pod (and node) may reach the payment API **`api.example.com`: that one address
      (203.0.113.10), on 443/TCP**;
    * **nothing else on the internet** is reachable (`blocked.example.net`, other ports of the
      payment API);
    * traffic inside the virtual network is untouched: pods across nodes, DNS, the VM
      `vm.internal`, the nodes talking to the API server.

    Remember what address a pod's packet carries when it leaves the node (lesson 4): on this
    profile, pods are SNATed to the node's address on their way out.

    Points: 1 visible (the rules parse; the API reaches `api.example.com` on 443), 2 hidden (the
    rest of the internet; the virtual network).
    """))
    nb.answer("nsg_outbound", OUTBOUND)
    nb.code("""
    # Try it (not graded). The tests also run a host at 203.0.113.11, next to api.example.com: it must stay out of reach.
    aks.attach_nsg(nsg_outbound)
    aks.add_external_host("next-door.example.com", "203.0.113.11")
    for dst, port in (("api.example.com", 443), ("api.example.com", 80), ("next-door.example.com", 443), ("blocked.example.net", 443), ("vm.internal", 443)):
        print(aks.probe("shop/api", dst, port).summary())
    """)
    out = 'answer="nsg_outbound", format="nsg", topology="shop", load_balancer="azure"'
    nb.test("nsg_out_visible", 1, "outbound rules; the API reaches api.example.com on 443", out, visible="""
            check.expect("nsg_rules", direction="Outbound", at_least=1)
            check.expect_probe("shop/api", "api.example.com", 443, verdict="allowed")
            """)
    nb.test("nsg_out_internet", 1, "the payment API on 443 from every pod and node; nothing else on the internet", out, hidden=f"""
            check.add_external_host("{NEXT_DOOR[0]}", "{NEXT_DOOR[1]}")
            check.expect_probe("shop/api", "{NEXT_DOOR[1]}", 443, verdict="blocked")
            check.expect_probe("shop/web", "api.example.com", 443, verdict="allowed")
            check.expect_probe("node:kind-worker", "api.example.com", 443, verdict="allowed")
            check.expect_probe("shop/api", "203.0.113.10", 80, verdict="blocked")
            check.expect_probe("shop/api", "blocked.example.net", 443, verdict="blocked")
            check.expect_probe("shop/db", "198.51.100.20", 80, verdict="blocked")
            check.expect_probe("node:kind-worker2", "198.51.100.20", 443, verdict="blocked")
            check.expect_probe("shop/api", "203.0.113.10", "443/UDP", verdict="blocked")
            """)
    nb.test("nsg_out_vnet", 1, "inside the virtual network nothing changes", out, hidden="""
            check.expect_probe("shop/web", "vm.internal", 443, verdict="allowed")
            check.expect_probe("shop/web", "shop/db", 5432, verdict="allowed")
            check.expect_probe("shop/web", "kube-system/coredns-0", "53/UDP", verdict="allowed")
            check.expect_probe("node:kind-worker", "node:kind-control-plane", 6443, verdict="allowed")
            check.expect_probe("vm.internal", "node:kind-worker", 10250, verdict="allowed")
            """)
    return nb


def _yaml(doc: dict) -> str:  # type: ignore[type-arg]
    import yaml

    return yaml.safe_dump(doc, sort_keys=False)


def _indent(text: str, spaces: int = 12) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:1] + [" " * spaces + ln for ln in lines[1:]])
