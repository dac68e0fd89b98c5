"""The external hosts' layout on kind, computed without touching Docker: names, addresses, the
argv of every ``docker`` command and the scripts the helper container runs (see
``grader.kind.external`` for what the hosts are and :class:`~grader.kind.external.ExternalHosts`
for the lifecycle that runs these).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..cni.datapath import EDGE_PUBLIC_IP_TEXT
from ..errors import LabError
from ..lab.results import default_external_hosts
from ..model import ExternalHost

KIND_NETWORK = "kind"
OWNER_LABEL = "app.kubernetes.io/managed-by=netlab"
HOST_LABEL = "netlab/external-host"
"""Label on every container and network of the external hosts; its value is the host's lab name."""
VM_NAME = "vm.internal"
GATEWAY_NAME = "host"
VM_OFFSET = 100
"""``vm.internal`` is ``.100`` of the kind subnet (172.18.0.100 on the usual 172.18.0.0/16)."""
VM_SEARCH = range(100, 200)
BGP_PROTO = 186
"""``RTPROT_BGP`` (linux/rtnetlink.h): the VM's routes to Calico blocks are tagged as BGP routes."""
STATE_DIR = "/run/netlab"
STATE_FILE = f"{STATE_DIR}/config"
EDGE = ipaddress.IPv4Address(EDGE_PUBLIC_IP_TEXT)
EXEC_TIMEOUT = 60.0

SERVE = (
    "/agnhost netexec --http-port=80 --udp-port=-1 & "
    "/agnhost netexec --http-port=443 --udp-port=-1 --tls-cert-file=/localhost.crt --tls-private-key-file=/localhost.key & "
    "wait -n; exit 1"
)
"""What each external host runs (bash): netexec on 80 (HTTP) and 443 (HTTPS), UDP off, as the
simulated hosts serve 80 and 443/TCP only. When either exits the container stops, and the next
``ensure`` starts and reconfigures it. The servers get no extra capability: netexec has a
``/shell`` endpoint, so with NET_ADMIN any pod could rewrite the VM's routes; the short-lived
helper holds NET_ADMIN instead."""


def container_name(host: str) -> str:
    """``vm.internal`` -> ``netlab-vm-internal``."""
    return "netlab-" + host.replace(".", "-")


def network_name(host: str) -> str:
    """The Docker network of an internet host: ``api.example.com`` -> ``netlab-net-api-example-com``."""
    return "netlab-net-" + host.replace(".", "-")


# -- what exists ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DockerNetwork:
    """A Docker network as ``docker network inspect`` shows it (IPv4 only)."""

    name: str
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    endpoints: tuple[tuple[str, ipaddress.IPv4Address], ...] = ()
    """(container name, its IPv4 address on this network), sorted by name."""

    def address_of(self, container: str) -> ipaddress.IPv4Address | None:
        return next((ip for name, ip in self.endpoints if name == container), None)


def parse_network(doc: Any, name: str = KIND_NETWORK) -> DockerNetwork:
    """``docker network inspect <name>`` (a JSON list with one network) -> :class:`DockerNetwork`."""
    item = doc[0] if isinstance(doc, list) and doc else doc
    if not isinstance(item, dict):
        raise LabError(f"`docker network inspect {name}` printed no network")
    subnet = gateway = None
    for cfg in (item.get("IPAM") or {}).get("Config") or []:
        try:
            net = ipaddress.ip_network(str(cfg.get("Subnet", "")), strict=False)
        except ValueError:
            continue
        if isinstance(net, ipaddress.IPv4Network):
            subnet = net
            gateway = ipaddress.ip_address(cfg["Gateway"]) if cfg.get("Gateway") else net[1]
            break
    if subnet is None or not isinstance(gateway, ipaddress.IPv4Address):
        raise LabError(f"the Docker network {name!r} has no IPv4 subnet: the lab needs IPv4 on kind's network "
                       "(`docker network inspect kind` shows its IPAM config)")
    endpoints = []
    for ep in (item.get("Containers") or {}).values():
        text = str(ep.get("IPv4Address") or "").split("/")[0]
        if ep.get("Name") and text:
            endpoints.append((str(ep["Name"]), ipaddress.IPv4Address(text)))
    return DockerNetwork(str(item.get("Name") or name), subnet, gateway, tuple(sorted(endpoints)))


def vm_address(network: DockerNetwork, *, vm_container: str = container_name(VM_NAME)) -> ipaddress.IPv4Address:
    """``.100`` of the subnet, or the next free one up to ``.199`` when another container holds it.

    Addresses Docker gave other containers count as taken; the VM's own Docker address does not
    (the helper replaces it)."""
    if network.subnet.num_addresses <= max(VM_SEARCH) + 2:
        raise LabError(f"the kind network's subnet {network.subnet} is too small for the lab's VM at .{VM_OFFSET}")
    taken = {ip for name, ip in network.endpoints if name != vm_container} | {network.gateway}
    for offset in VM_SEARCH:
        candidate = network.subnet[offset]
        if candidate not in taken:
            return candidate
    raise LabError(f"no free address for vm.internal in {network.subnet[VM_SEARCH[0]]}-{network.subnet[VM_SEARCH[-1]]} of the kind network")


@dataclass(frozen=True, slots=True, order=True)
class Route:
    destination: ipaddress.IPv4Network
    via: ipaddress.IPv4Address

    def render(self) -> str:
        return f"{self.destination} via {self.via}"


@dataclass(frozen=True, slots=True)
class InternetHost:
    """An internet host: its lab address, its documentation subnet and the Docker network holding it."""

    name: str
    address: ipaddress.IPv4Address
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    """The host's (the learner's machine's) address on that network: Docker's bridge gateway."""

    @property
    def container(self) -> str:
        return container_name(self.name)

    @property
    def network(self) -> str:
        return network_name(self.name)


def internet_hosts() -> tuple[InternetHost, ...]:
    """The simulated cluster's internet hosts, each in the /24 of its documentation address."""

    out = []
    for h in default_external_hosts().values():
        if h.where != "internet":
            continue
        address = ipaddress.IPv4Address(str(h.ip))
        subnet = ipaddress.IPv4Network(f"{address}/24", strict=False)
        out.append(InternetHost(h.name, address, subnet, subnet[1]))
    return tuple(sorted(out, key=lambda h: h.name))


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything is: the kind network, the VM's address, each internet host's next hop."""

    network: DockerNetwork
    vm: ipaddress.IPv4Address
    next_hops: tuple[tuple[str, ipaddress.IPv4Address], ...]
    """(internet host name, its container's address on the kind network), sorted."""
    internet: tuple[InternetHost, ...] = field(default_factory=internet_hosts)

    def hosts(self) -> tuple[ExternalHost, ...]:
        """The lab's external hosts with their addresses here, in the simulated cluster's order."""

        real = {GATEWAY_NAME: self.network.gateway, VM_NAME: self.vm, **{h.name: h.address for h in self.internet}}
        return tuple(replace(h, ip=real[name]) for name, h in default_external_hosts().items() if name in real)

    def dns_entries(self) -> dict[str, str]:
        """What CoreDNS answers for the lab's names (``host`` is a lab name, not a DNS name)."""
        return {h.name: str(h.ip) for h in self.hosts() if "." in h.name}

    def internet_routes(self) -> tuple[Route, ...]:
        hops = dict(self.next_hops)
        return tuple(sorted(Route(h.subnet, hops[h.name]) for h in self.internet if h.name in hops))


# -- commands -----------------------------------------------------------------------------------

def _labels(host: str) -> list[str]:
    return ["--label", OWNER_LABEL, "--label", f"{HOST_LABEL}={host}"]


def network_create_argv(host: InternetHost, docker: str = "docker") -> list[str]:
    return [docker, "network", "create", "--driver", "bridge", "--subnet", str(host.subnet), "--gateway", str(host.gateway),
            *_labels(host.name), host.network]


def run_argv(host: str, network: str, image: str, *, ip: ipaddress.IPv4Address | None = None, docker: str = "docker") -> list[str]:
    """``docker run`` of one external host: netexec on 80 and 443 (:data:`SERVE`), no extra capabilities;
    a tmpfs for the configuration note; ``--init`` so ``docker stop`` needs no timeout."""
    argv = [docker, "run", "--detach", "--name", container_name(host), "--hostname", host, *_labels(host), "--network", network]
    if ip is not None:
        argv += ["--ip", str(ip)]
    return argv + ["--tmpfs", STATE_DIR, "--init", "--entrypoint", "/bin/bash", image, "-c", SERVE]


def helper_argv(container: str, script: str, *, image: str, docker: str = "docker") -> list[str]:
    """A one-shot container in ``container``'s network namespace, with NET_ADMIN, running ``script``
    (``ip`` and ``iptables`` of the kind node image)."""
    return [docker, "run", "--rm", "--network", f"container:{container}", "--cap-add", "NET_ADMIN",
            "--entrypoint", "/bin/sh", image, "-c", script]


def _no_default_route() -> str:
    """No way out to the real world, in either family (the kind network has IPv6 too)."""
    return "while ip -4 route del default 2>/dev/null; do :; done; while ip -6 route del default 2>/dev/null; do :; done"


def vm_script(network: DockerNetwork, vm: ipaddress.IPv4Address, routes: Iterable[Route]) -> str:
    """Make ``vm`` the VM's only IPv4 address on the kind network; no default route; routes to the
    lab's internet through the internet hosts' containers."""
    want = f"{vm}/{network.subnet.prefixlen}"
    lines = [
        "set -e",
        "dev=$(ip -4 -o addr show scope global | awk 'NR==1 {print $2}')",
        '[ -n "$dev" ] || { echo "no IPv4 interface" >&2; exit 1; }',
        f'for a in $(ip -4 -o addr show dev "$dev" scope global | awk \'{{print $4}}\'); do [ "$a" = "{want}" ] || ip addr del "$a" dev "$dev"; done',
        f'ip -4 -o addr show dev "$dev" | grep -q " {want} " || ip addr add {want} dev "$dev"',
        _no_default_route(),
        *(f"ip route replace {r.destination} via {r.via}" for r in sorted(routes)),
    ]
    return "\n".join(lines)


def internet_script(host: InternetHost, network: DockerNetwork, edge: ipaddress.IPv4Address = EDGE) -> str:
    """No default route; a route for the edge address (only looked up before conntrack rewrites a
    reply back to the real client); SNAT of the node network and of the host to the edge address."""
    rules = [f"-s {src} -d {host.address}/32 -m comment --comment netlab-edge -j SNAT --to-source {edge}"
             for src in (network.subnet, f"{host.gateway}/32")]
    lines = [
        "set -e",
        _no_default_route(),
        f"ip route replace {edge}/32 via {network.gateway}",
        *(f"iptables -t nat -C INPUT {r} 2>/dev/null || iptables -t nat -A INPUT {r}" for r in rules),
    ]
    return "\n".join(lines)


def node_routes_script(routes: Iterable[Route]) -> str:
    """Routes on a kind node (a privileged container) to the lab's internet."""
    return "\n".join(["set -e", *(f"ip route replace {r.destination} via {r.via}" for r in sorted(routes))])


def node_routes_removal_script(destinations: Iterable[ipaddress.IPv4Network]) -> str:
    return "\n".join(f"ip route del {d} 2>/dev/null || true" for d in sorted(destinations)) or "true"


def pod_routes_script(routes: Iterable[Route]) -> str:
    """The VM's routes to Calico blocks (``proto bgp``): exactly ``routes`` afterwards."""
    lines = [f"ip -4 route flush proto {BGP_PROTO}"]
    lines += [f"ip route replace {r.destination} via {r.via} proto {BGP_PROTO}" for r in sorted(routes)]
    return "\n".join(lines)


def calico_routes(affinities: Mapping[str, Any] | None, node_ips: Mapping[str, str]) -> tuple[Route, ...]:
    """Routes to every confirmed Calico block via its node (what BIRD advertises to a BGP peer).

    ``affinities``: ``kubectl get blockaffinities.crd.projectcalico.org -o json`` (spec.node,
    spec.cidr, spec.state, spec.deleted; docs.tigera.io reference/resources/blockaffinity).
    Blocks of nodes not in ``node_ips`` are left out."""
    out = set()
    for item in (affinities or {}).get("items") or []:
        spec = item.get("spec") or {}
        if spec.get("state", "confirmed") != "confirmed" or str(spec.get("deleted", "false")).lower() == "true":
            continue
        if spec.get("type", "host") != "host":
            continue
        node_ip = node_ips.get(str(spec.get("node", "")))
        try:
            cidr = ipaddress.ip_network(str(spec.get("cidr", "")), strict=False)
        except ValueError:
            continue
        if node_ip and isinstance(cidr, ipaddress.IPv4Network):
            out.add(Route(cidr, ipaddress.IPv4Address(node_ip)))
    return tuple(sorted(out))


def note(script: str) -> str:
    """What a container keeps in its tmpfs once ``script`` ran: a digest of the script."""
    return hashlib.sha256(script.encode()).hexdigest()[:16]


# -- the lifecycle --------------------------------------------------------------------------------

def parse_routes(output: str) -> tuple[Route, ...]:
    """``ip -4 route show proto bgp`` lines (``192.168.1.0/26 via 172.18.0.3 dev eth0``) -> routes."""
    out = []
    for line in output.splitlines():
        words = line.split()
        if len(words) >= 3 and words[1] == "via":
            try:
                out.append(Route(ipaddress.IPv4Network(words[0], strict=False), ipaddress.IPv4Address(words[2])))
            except ValueError:
                continue
    return tuple(sorted(out))


__all__ = [
    "BGP_PROTO", "calico_routes", "container_name", "DockerNetwork", "EDGE", "EXEC_TIMEOUT", "GATEWAY_NAME", "helper_argv", "HOST_LABEL", "internet_hosts", "internet_script", "InternetHost", "KIND_NETWORK", "Layout", "network_create_argv", "network_name", "node_routes_removal_script", "node_routes_script", "note", "OWNER_LABEL", "parse_network", "parse_routes", "pod_routes_script", "Route", "run_argv", "SERVE", "STATE_DIR", "STATE_FILE", "vm_address", "VM_NAME", "VM_OFFSET", "vm_script", "VM_SEARCH",
]
