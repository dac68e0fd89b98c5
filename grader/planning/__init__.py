"""AKS IP address planning: Microsoft's formulas for the overlay and flat network models.

Sources (Microsoft Learn, AKS docs; dated values live in ``grader/data/facts.yaml``):

* "IP address planning for your AKS clusters" (``concepts-network-ip-address-planning``): a flat
  node subnet needs ``(nodes + max surge) + (nodes + max surge) × max pods`` addresses
  (50 nodes, 30 pods → 1,581 → /21; +10 nodes → 1,891); the service CIDR must be smaller than /12
  and the DNS service IP must not be its first address; default/maximum pods per node.
* "Azure CNI Overlay" (``concepts-network-azure-cni-overlay``, ``azure-cni-overlay``): each node
  gets a fixed /24 of the private pod CIDR (so a /16 serves 256 nodes); up to 5,000 nodes and 250
  pods per node; the pod CIDR must not overlap the cluster subnet, peered or on-premises networks;
  RFC 1918 / RFC 6598 ranges are recommended; AKS rejects a few reserved ranges.
* Azure reserves 5 addresses in every subnet (``virtual-networks-faq``), which is why a /24 holds
  251 nodes in the overlay model and only 8 nodes of 30 pods (248 addresses) in the flat one.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import FieldProblem, ManifestError
from ..facts import fact
from ..model.cluster import IPAddress, IPNetwork

OVERLAY_NODE_PREFIX = 24
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
RFC6598 = ipaddress.ip_network("100.64.0.0/10")


def reserved_per_subnet() -> int:
    return int(fact("azure-subnet-reserved-addresses").value)


def usable(prefix: int, version: int = 4) -> int:
    """Addresses Azure lets you use in a subnet of this size (total minus the 5 it reserves)."""
    bits = 32 if version == 4 else 128
    return max(0, 2 ** (bits - prefix) - reserved_per_subnet())


def smallest_prefix(addresses: int) -> int:
    """The longest prefix (smallest IPv4 subnet) with at least ``addresses`` usable addresses."""
    if addresses < 1:
        raise ValueError("a subnet needs at least one address")
    for prefix in range(29, -1, -1):  # Azure's smallest subnet is a /29
        if usable(prefix) >= addresses:
            return prefix
    raise ValueError(f"{addresses} addresses do not fit in any IPv4 subnet")


def _max_pods_bounds() -> tuple[int, int]:
    value = fact("aks-max-pods-bounds").value
    return int(value["min"]), int(value["max"])


def default_max_pods(model: str) -> int:
    """Default max pods per node: ``overlay``, ``pod_subnet``, ``node_subnet`` or ``kubenet``."""
    return int(fact("aks-default-max-pods").value[model])


# -- results --------------------------------------------------------------------------------------------
class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.value}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class FlatPlan:
    """Flat model (Azure CNI node subnet): nodes and pods take addresses from the same VNet subnet."""

    nodes: int
    max_surge: int
    max_pods: int
    addresses: int
    prefix: int
    formula: str

    @property
    def subnet_size(self) -> str:
        return f"/{self.prefix} ({usable(self.prefix):,} usable addresses)"


@dataclass(frozen=True, slots=True)
class OverlayPlan:
    """Overlay model (Azure CNI Overlay): nodes in the VNet subnet, pods in a private CIDR, a /24 per node."""

    nodes: int
    max_surge: int
    max_pods: int
    node_subnet_prefix: int
    pod_cidr_prefix: int
    pod_cidr_nodes: int
    """How many nodes the chosen (or smallest sufficient) pod CIDR serves."""
    findings: tuple[Finding, ...] = field(default=())


def flat_plan(nodes: int, *, max_pods: int | None = None, max_surge: int = 1, scale_up: int = 0) -> FlatPlan:
    """Node-subnet size for the flat model: ``(n + surge) + (n + surge) × maxPods``.

    ``scale_up`` adds the extra nodes you expect to scale to (Microsoft's second example)."""
    pods = default_max_pods("node_subnet") if max_pods is None else max_pods
    _check_counts(nodes, pods, max_surge, scale_up)
    total_nodes = nodes + scale_up + max_surge
    addresses = total_nodes + total_nodes * pods
    formula = f"({nodes}{f' + {scale_up}' if scale_up else ''} + {max_surge}) + ({total_nodes} × {pods}) = {addresses:,}"
    return FlatPlan(nodes + scale_up, max_surge, pods, addresses, smallest_prefix(addresses), formula)


def max_nodes_flat(prefix: int, max_pods: int) -> int:
    """How many nodes (counting any surge node among them) a flat node subnet of ``/prefix`` holds."""
    return usable(prefix) // (1 + max_pods)


def overlay_nodes_for(pod_cidr: IPNetwork | str) -> int:
    """Nodes a pod CIDR can serve in the overlay model: one /24 each (2^(24 - prefix)), capped by AKS's node limit."""
    net = ipaddress.ip_network(pod_cidr) if isinstance(pod_cidr, str) else pod_cidr
    if net.prefixlen > OVERLAY_NODE_PREFIX:
        return 0
    return min(2 ** (OVERLAY_NODE_PREFIX - net.prefixlen), _overlay_limit("max_nodes"))


def _overlay_limit(key: str) -> int:
    return int(fact("aks-overlay-defaults").value[key])


def overlay_plan(nodes: int, *, max_pods: int | None = None, max_surge: int = 1, scale_up: int = 0,
                 pod_cidr: str | IPNetwork | None = None) -> OverlayPlan:
    """Node subnet and pod CIDR sizes for the overlay model (the pod CIDR is checked if given)."""
    pods = _overlay_limit("max_pods_default") if max_pods is None else max_pods
    _check_counts(nodes, pods, max_surge, scale_up)
    total = nodes + scale_up + max_surge
    findings = []
    if total > _overlay_limit("max_nodes"):
        findings.append(Finding(Level.ERROR, "nodes", f"{total:,} nodes (with surge) exceed Azure CNI Overlay's limit of "
                                                      f"{_overlay_limit('max_nodes'):,}"))
    if pods > _overlay_limit("max_pods_max"):
        findings.append(Finding(Level.ERROR, "max_pods", f"{pods} pods per node exceed the overlay maximum of {_overlay_limit('max_pods_max')}"))
    needed_prefix = OVERLAY_NODE_PREFIX - math.ceil(math.log2(max(total, 1)))
    if pod_cidr is not None:
        net = ipaddress.ip_network(pod_cidr) if isinstance(pod_cidr, str) else pod_cidr
        capacity = overlay_nodes_for(net)
        if capacity < total:
            findings.append(Finding(Level.ERROR, "pod_cidr", f"{net} gives {capacity:,} /24 blocks, but {total:,} nodes (with surge) "
                                                             f"need a /{needed_prefix} or larger"))
        prefix = net.prefixlen
    else:
        prefix, capacity = needed_prefix, overlay_nodes_for(ipaddress.ip_network(f"10.0.0.0/{max(needed_prefix, 0)}"))
    node_prefix = smallest_prefix(total)
    return OverlayPlan(nodes + scale_up, max_surge, pods, node_prefix, prefix, capacity, tuple(findings))


def _check_counts(nodes: int, pods: int, surge: int, scale_up: int) -> None:
    low, high = _max_pods_bounds()
    problems = []
    if nodes < 1:
        problems.append(FieldProblem("plan", "nodes", f"must be at least 1, got {nodes}"))
    if surge < 0:
        problems.append(FieldProblem("plan", "max_surge", f"must be 0 or more, got {surge}"))
    if scale_up < 0:
        problems.append(FieldProblem("plan", "scale_up", f"must be 0 or more, got {scale_up}"))
    if not low <= pods <= high:
        problems.append(FieldProblem("plan", "max_pods", f"must be between {low} and {high} (AKS), got {pods}"))
    if problems:
        raise ManifestError(problems)


# -- validating proposed ranges --------------------------------------------------------------------------
def _parse(field_name: str, text: str | IPNetwork | None, problems: list[FieldProblem]) -> IPNetwork | None:
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        return text
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        problems.append(FieldProblem("plan", field_name, f"{text!r} is not a valid CIDR (e.g. 10.244.0.0/16)"))
        return None
    if ipaddress.ip_interface(text).ip != net.network_address:
        problems.append(FieldProblem("plan", field_name, f"{text!r} has host bits set: did you mean {net}?"))
        return None
    return net


def validate_ranges(*, node_subnet: str | IPNetwork | None = None, pod_cidr: str | IPNetwork | None = None,
                    service_cidr: str | IPNetwork | None = None, dns_service_ip: str | None = None,
                    peered: Sequence[str | IPNetwork] = (), vnet: str | IPNetwork | None = None) -> tuple[Finding, ...]:
    """Check proposed CIDRs the way AKS does and as Microsoft's planning guidance asks.

    Raises :class:`ManifestError` for values that are not CIDRs at all; returns findings for
    plans that AKS would reject (errors) or that Microsoft advises against (warnings)."""
    problems: list[FieldProblem] = []
    nets: dict[str, IPNetwork] = {}
    for name, value in (("vnet", vnet), ("node_subnet", node_subnet), ("pod_cidr", pod_cidr), ("service_cidr", service_cidr)):
        net = _parse(name, value, problems)
        if net is not None:
            nets[name] = net
    peers = []
    for i, p in enumerate(peered):
        net = _parse(f"peered[{i}]", p, problems)
        if net is not None:
            peers.append((f"peered[{i}]", net))
    dns: IPAddress | None = None
    if dns_service_ip:
        try:
            dns = ipaddress.ip_address(dns_service_ip)
        except ValueError:
            problems.append(FieldProblem("plan", "dns_service_ip", f"{dns_service_ip!r} is not an IP address"))
    if problems:
        raise ManifestError(problems)
    findings: list[Finding] = []
    reserved = [ipaddress.ip_network(r) for r in fact("aks-reserved-ranges").value]
    for name, net in [*nets.items(), *peers]:
        if name.startswith("peered"):
            continue
        for r in reserved:
            if net.version == r.version and net.overlaps(r):
                findings.append(Finding(Level.ERROR, name, f"{net} overlaps {r}, a range AKS reserves"))
    pairs = [("node_subnet", "pod_cidr"), ("node_subnet", "service_cidr"), ("pod_cidr", "service_cidr"), ("vnet", "pod_cidr"),
             ("vnet", "service_cidr")]
    for a, b in pairs:
        if a in nets and b in nets and _overlap(nets[a], nets[b]):
            findings.append(Finding(Level.ERROR, b, f"{nets[b]} overlaps {a} {nets[a]}"))
    for pname, pnet in peers:
        for name in ("node_subnet", "pod_cidr", "service_cidr", "vnet"):
            if name in nets and _overlap(nets[name], pnet):
                findings.append(Finding(Level.ERROR, name, f"{nets[name]} overlaps the peered/on-premises network {pnet} ({pname})"))
    if "vnet" in nets and "node_subnet" in nets and not _inside(nets["node_subnet"], nets["vnet"]):
        findings.append(Finding(Level.ERROR, "node_subnet", f"{nets['node_subnet']} is not inside the VNet {nets['vnet']}"))
    if "service_cidr" in nets:
        svc = nets["service_cidr"]
        if svc.version == 4 and svc.prefixlen <= 12:
            findings.append(Finding(Level.ERROR, "service_cidr", f"{svc} is too large: the service CIDR must be smaller than /12"))
        if dns is not None:
            if dns.version != svc.version or dns not in svc:
                findings.append(Finding(Level.ERROR, "dns_service_ip", f"{dns} is not inside the service CIDR {svc}"))
            elif dns in (svc.network_address, svc.network_address + 1):
                findings.append(Finding(Level.ERROR, "dns_service_ip", f"{dns} is the first address of {svc}: it belongs to "
                                                                       "kubernetes.default.svc.cluster.local"))
            elif svc.version == 4 and dns == svc.broadcast_address:
                findings.append(Finding(Level.ERROR, "dns_service_ip", f"{dns} is the broadcast address of {svc}"))
    if "pod_cidr" in nets:
        pod = nets["pod_cidr"]
        private = pod.version == 4 and (any(pod.subnet_of(r) for r in RFC1918) or pod.subnet_of(RFC6598))  # type: ignore[arg-type]
        if pod.version == 4 and not private:
            findings.append(Finding(Level.WARNING, "pod_cidr", f"{pod} is not an RFC 1918 or RFC 6598 range: AKS does not block it, "
                                                               "but public ranges are outside Microsoft's support scope"))
        if pod.version == 4 and pod.prefixlen > OVERLAY_NODE_PREFIX:
            findings.append(Finding(Level.ERROR, "pod_cidr", f"{pod} is smaller than the /24 every overlay node needs"))
    return tuple(sorted(findings, key=lambda f: (f.level != Level.ERROR, f.field, f.message)))


def _overlap(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.overlaps(b)


def _inside(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.subnet_of(b)  # type: ignore[arg-type]


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.level is Level.ERROR]


__all__ = [
    "FlatPlan", "Finding", "Level", "OverlayPlan", "default_max_pods", "errors", "flat_plan", "max_nodes_flat",
    "overlay_nodes_for", "overlay_plan", "smallest_prefix", "usable", "validate_ranges",
]
