"""Lab queries: expected values the verifier reads from the lab instead of hard-coding them.

``lab_value("pod_ip", "shop/web")`` in a test cell becomes ``pod_ip(lab, "shop/web")`` here, so an
addressing question is graded against the addresses the lab actually handed out for the profile.
Add a query with ``@query("name")``; arguments are JSON values from the test cell.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from ..lab import SimulatedLab
from ..model import Node, Pod, Protocol
from ..reachability import Verdict
from ..reachability.endpoints import pod_namespace
from .vocabulary import SpecError

Query = Callable[..., Any]
QUERIES: dict[str, Query] = {}


def query(name: str) -> Callable[[Query], Query]:
    def register(fn: Query) -> Query:
        QUERIES[name] = fn
        return fn

    return register


def _nodes(lab: Any) -> list[Node]:
    """The profile's node plan (the simulated cluster's nodes are exactly those; kind's carry its names)."""
    return list(lab.profile.nodes())


def _node(lab: Any, name: str) -> Node:
    for n in _nodes(lab):
        if n.name == name:
            return n
    raise SpecError(f"no node/{name} in profile {lab.profile.name}")


def _pod(lab: Any, ref: str) -> Pod:
    for p in lab.pods(pod_namespace(ref)):
        if str(p.ref) == ref:
            return p
    raise SpecError(f"no pod/{ref} in the lab")


def _state(lab: Any, what: str) -> Any:
    if not isinstance(lab, SimulatedLab):
        raise SpecError(f"{what} needs the simulated cluster's IPAM state (backend {lab.backend})")
    return lab.state


@query("pod_ip")
def pod_ip(lab: Any, ref: str) -> Any:
    return _pod(lab, ref).ip


@query("pod_node")
def pod_node(lab: Any, ref: str) -> str:
    return str(_pod(lab, ref).node)


@query("node_ip")
def node_ip(lab: Any, node: str) -> Any:
    return _node(lab, node).ip


@query("node_pod_cidr")
def node_pod_cidr(lab: Any, node: str) -> Any:
    """The podCIDR kube-controller-manager gave the node (``spec.podCIDR``)."""
    return _node(lab, node).pod_cidr


@query("node_blocks")
def node_blocks(lab: Any, node: str) -> list[Any]:
    """The address blocks the CNI's IPAM gave this node so far: its podCIDR (kindnet, Cilium) or
    the /26 blocks it claimed (Calico)."""
    blocks = _state(lab, "node_blocks").ipam.blocks.get(node)
    if blocks:
        return list(blocks)
    cidr = _node(lab, node).pod_cidr
    return [cidr] if cidr is not None and lab.profile.cni != "calico" else []


@query("next_hop")
def next_hop(lab: Any, ip: str) -> Any:
    """The node IP a packet to pod address ``ip`` is routed to: the node owning the block it is in."""
    address = ipaddress.ip_address(ip)
    for n in _nodes(lab):
        for block in node_blocks(lab, n.name):
            if address in block:
                return n.ip
    raise SpecError(f"{ip} is in no node's pod block in profile {lab.profile.name}")


@query("pod_subnet")
def pod_subnet(lab: Any) -> Any:
    return lab.profile.pod_subnet


@query("addresses_per_block")
def addresses_per_block(lab: Any) -> int:
    return 2 ** (lab.profile.pod_subnet.max_prefixlen - lab.profile.node_block_prefix)


@query("blocks_in_pod_subnet")
def blocks_in_pod_subnet(lab: Any) -> int:
    return 2 ** (lab.profile.node_block_prefix - lab.profile.pod_subnet.prefixlen)


@query("pod_ips_per_node")
def pod_ips_per_node(lab: Any, node: str) -> int:
    """How many pod addresses the node's IPAM can hand out, counted by allocating from a fresh IPAM."""
    from ..cni.ipam import Ipam

    if lab.profile.cni == "calico":
        raise SpecError("Calico nodes claim more blocks as they fill up: pod_ips_per_node has no fixed answer")
    ipam = Ipam(lab.profile, tuple(_nodes(lab)))
    count = 0
    while True:
        try:
            ipam.allocate(node)
        except RuntimeError:
            return count
        count += 1


@query("probe_verdict")
def probe_verdict(lab: Any, source: str, destination: str, port: int | str | None = None, protocol: str = "TCP") -> Verdict:
    return lab.probe(source, destination, port, Protocol.parse(protocol)).verdict


@query("pod_block")
def pod_block(lab: Any, ref: str) -> Any:
    """The IPAM block (or podCIDR) that ``ref``'s address was allocated from."""
    pod = _pod(lab, ref)
    for block in node_blocks(lab, str(pod.node)):
        if pod.ip in block:
            return block
    raise SpecError(f"{ref} ({pod.ip}) is in none of node {pod.node}'s blocks")


@query("pod_node_ip")
def pod_node_ip(lab: Any, ref: str) -> Any:
    """The IP of the node ``ref`` runs on."""
    return _node(lab, pod_node(lab, ref)).ip


@query("pod_node_pod_cidr")
def pod_node_pod_cidr(lab: Any, ref: str) -> Any:
    """The podCIDR of the node ``ref`` runs on."""
    return _node(lab, pod_node(lab, ref)).pod_cidr


# -- Services and traffic --------------------------------------------------------------------------
@query("address")
def address(lab: Any, what: str) -> str:
    """The external address of ``service/ns/name`` (LoadBalancer), ``ingress/ns/name`` or
    ``gateway/ns/name``. A missing object or a pending address is the learner's to fix."""
    from ..errors import LabError
    from .vocabulary import NotFound

    try:
        found = lab.address(what)
    except LabError as exc:
        raise NotFound(f"{what} is needed by this test: {exc}") from None
    if found is None:
        kind = what.split("/")[0]
        hint = {"service": "is it type LoadBalancer?", "ingress": "does an ingress controller serve its ingressClassName?",
                "gateway": "does its gatewayClassName exist?"}.get(kind, "")
        raise NotFound(f"{what} has no external address yet ({hint} lab.status or kubectl get would show <pending>)")
    return str(found)


@query("probe_client_ip")
def probe_client_ip(lab: Any, source: str, destination: str, port: int | str | None = None, protocol: str = "TCP") -> Any:
    """The source address the destination sees for this connection (after every SNAT on the way)."""
    result = lab.probe(source, destination, port, Protocol.parse(protocol))
    if result.verdict is not Verdict.ALLOWED or result.client_ip is None:
        raise SpecError(f"probe_client_ip: {source} → {destination} {port} is {result.verdict.name} in this lab: {result.reason}")
    return ipaddress.ip_address(result.client_ip)


# -- AKS IP planning (grader.planning: Microsoft's formulas) ---------------------------------------
def _flat(nodes: int, max_pods: int, max_surge: int, scale_up: int) -> Any:
    from ..planning import flat_plan

    return flat_plan(int(nodes), max_pods=int(max_pods), max_surge=int(max_surge), scale_up=int(scale_up))


def _overlay(nodes: int, max_pods: int, max_surge: int, scale_up: int) -> Any:
    from ..planning import overlay_plan

    return overlay_plan(int(nodes), max_pods=int(max_pods), max_surge=int(max_surge), scale_up=int(scale_up))


@query("aks_flat_addresses")
def aks_flat_addresses(lab: Any, nodes: int, max_pods: int, max_surge: int = 1, scale_up: int = 0) -> int:
    """Flat model (Azure CNI node subnet): ``(nodes + surge) + (nodes + surge) × maxPods``."""
    return int(_flat(nodes, max_pods, max_surge, scale_up).addresses)


@query("aks_flat_prefix")
def aks_flat_prefix(lab: Any, nodes: int, max_pods: int, max_surge: int = 1, scale_up: int = 0) -> int:
    """The prefix length of the smallest node subnet that holds the flat plan (Azure keeps 5 addresses)."""
    return int(_flat(nodes, max_pods, max_surge, scale_up).prefix)


@query("aks_flat_utilisation")
def aks_flat_utilisation(lab: Any, nodes: int, max_pods: int, max_surge: int = 1, scale_up: int = 0) -> float:
    """Share of that subnet's usable addresses the flat plan takes (0..1)."""
    from ..planning import usable

    plan = _flat(nodes, max_pods, max_surge, scale_up)
    return float(plan.addresses / usable(plan.prefix))


@query("aks_flat_max_nodes")
def aks_flat_max_nodes(lab: Any, prefix: int, max_pods: int) -> int:
    """How many nodes (with ``max_pods`` pods each) a flat node subnet ``/prefix`` holds."""
    from ..planning import max_nodes_flat

    return int(max_nodes_flat(int(prefix), int(max_pods)))


@query("aks_overlay_node_prefix")
def aks_overlay_node_prefix(lab: Any, nodes: int, max_pods: int, max_surge: int = 1, scale_up: int = 0) -> int:
    """Overlay model: the smallest node subnet (it holds only the nodes)."""
    return int(_overlay(nodes, max_pods, max_surge, scale_up).node_subnet_prefix)


@query("aks_overlay_pod_prefix")
def aks_overlay_pod_prefix(lab: Any, nodes: int, max_pods: int, max_surge: int = 1, scale_up: int = 0) -> int:
    """Overlay model: the smallest pod CIDR that gives every node its /24."""
    return int(_overlay(nodes, max_pods, max_surge, scale_up).pod_cidr_prefix)


@query("aks_overlay_nodes")
def aks_overlay_nodes(lab: Any, pod_cidr: str) -> int:
    """Overlay model: how many nodes a pod CIDR serves (one /24 each, capped by AKS's node limit)."""
    from ..planning import overlay_nodes_for

    return int(overlay_nodes_for(pod_cidr))
