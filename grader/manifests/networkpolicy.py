"""NetworkPolicy: API-server validation and defaulting, then the immutable model object.

Sources: kubernetes ``pkg/apis/networking/validation/validation.go`` (ValidateNetworkPolicy*,
ValidateIPBlock) and ``pkg/apis/networking/v1/defaults.go`` (SetDefaults_NetworkPolicySpec,
SetDefaults_NetworkPolicyPort).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Direction, IPBlock, NetworkPolicy, Peer, PolicyPort, Protocol, Rule
from .documents import Document
from .bounded_yaml import shown
from .validation import (
    Problems,
    parse_cidr,
    parse_metadata,
    parse_selector,
    port_name_errors,
    port_number_errors,
)


def _parse_port(raw: Mapping[str, Any], path: list[str | int], problems: Problems) -> PolicyPort:
    protocol_text = raw.get("protocol", "TCP")  # SetDefaults_NetworkPolicyPort: nil protocol -> TCP
    try:
        protocol = Protocol(protocol_text)
    except ValueError:
        problems.add([*path, "protocol"], f'unsupported value {shown(protocol_text)}: supported values: "TCP", "UDP", "SCTP"')
        protocol = Protocol.TCP
    port = raw.get("port")
    end_port = raw.get("endPort")
    if isinstance(port, bool):
        problems.add([*path, "port"], "expected a port number or a port name")
        port = None
    if port is not None and isinstance(port, int):
        for msg in port_number_errors(port):
            problems.add([*path, "port"], f"invalid port {port}: {msg}")
        if end_port is not None:
            if end_port < port:
                problems.add([*path, "endPort"], f"endPort {end_port} must be greater than or equal to `port` ({port})")
            for msg in port_number_errors(end_port):
                problems.add([*path, "endPort"], f"invalid endPort {end_port}: {msg}")
    elif port is not None:
        port = str(port)
        if end_port is not None:
            problems.add([*path, "endPort"], f"may not be specified when `port` is non-numeric ({shown(port)} is a port name)")
        for msg in port_name_errors(port):
            problems.add([*path, "port"], f"invalid port name {shown(port)}: {msg}")
    elif end_port is not None:
        problems.add([*path, "endPort"], "may not be specified when `port` is not specified")
    return PolicyPort(protocol, port, end_port)


def _parse_peer(raw: Mapping[str, Any], path: list[str | int], problems: Problems) -> Peer | None:
    has_pod = "podSelector" in raw and raw["podSelector"] is not None
    has_ns = "namespaceSelector" in raw and raw["namespaceSelector"] is not None
    has_ip = "ipBlock" in raw and raw["ipBlock"] is not None
    if not (has_pod or has_ns or has_ip):
        problems.add(path, "must specify a peer: podSelector, namespaceSelector and/or ipBlock")
        return None
    if has_ip and (has_pod or has_ns):
        other = "podSelector" if has_pod else "namespaceSelector"
        problems.add(path, f"ipBlock cannot be combined with {other} (the API server says: may not specify both ipBlock and another peer)")
        return None
    if has_ip:
        block = raw["ipBlock"]
        bpath = [*path, "ipBlock"]
        cidr_text = block.get("cidr")
        if not cidr_text:
            problems.add([*bpath, "cidr"], "cidr is required")
            return None
        cidr = parse_cidr(str(cidr_text), [*bpath, "cidr"], problems)
        excepts = []
        for i, text in enumerate(block.get("except") or []):
            ex = parse_cidr(str(text), [*bpath, "except", i], problems)
            if ex is None or cidr is None:
                continue
            if ex.version != cidr.version or not ex.subnet_of(cidr) or ex.prefixlen <= cidr.prefixlen:  # type: ignore[arg-type]
                problems.add([*bpath, "except", i], f"{shown(text)} must be a strict subset of `cidr` ({cidr_text})")
                continue
            excepts.append(ex)
        if cidr is None:
            return None
        return Peer(ip_block=IPBlock(cidr, tuple(sorted(excepts, key=lambda n: (n.version, n)))))
    pod_sel = parse_selector(raw["podSelector"], [*path, "podSelector"], problems) if has_pod else None
    ns_sel = parse_selector(raw["namespaceSelector"], [*path, "namespaceSelector"], problems) if has_ns else None
    return Peer(pod_selector=pod_sel, namespace_selector=ns_sel)


def _parse_rules(raw_rules: Sequence[Mapping[str, Any]] | None, key: str, peers_key: str, problems: Problems) -> tuple[Rule, ...]:
    rules = []
    for i, raw in enumerate(raw_rules or []):
        raw = raw or {}
        rpath: list[str | int] = ["spec", key, i]
        ports = tuple(_parse_port(p or {}, [*rpath, "ports", j], problems) for j, p in enumerate(raw.get("ports") or []))
        peers = []
        for j, p in enumerate(raw.get(peers_key) or []):
            peer = _parse_peer(p or {}, [*rpath, peers_key, j], problems)
            if peer is not None:
                peers.append(peer)
        rules.append(Rule(tuple(peers), ports))
    return tuple(rules)


def parse_network_policy(doc: Document, default_namespace: str) -> NetworkPolicy:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    spec = doc.body.get("spec") or {}
    # podSelector is optional since Kubernetes 1.34; omitted or {} selects every pod in the namespace.
    pod_selector = parse_selector(spec.get("podSelector"), ["spec", "podSelector"], problems)
    ingress = _parse_rules(spec.get("ingress"), "ingress", "from", problems)
    egress = _parse_rules(spec.get("egress"), "egress", "to", problems)
    raw_types = spec.get("policyTypes") or []
    if len(raw_types) > 2:
        problems.add(["spec", "policyTypes"], "may not specify more than two policyTypes")
    types = set()
    for i, t in enumerate(raw_types):
        try:
            types.add(Direction(t))
        except ValueError:
            problems.add(["spec", "policyTypes", i], f'unsupported value {shown(t)}: supported values: "Ingress", "Egress"')
    if not raw_types:
        # SetDefaults_NetworkPolicySpec: Ingress always, Egress when egress rules exist.
        types = {Direction.INGRESS} | ({Direction.EGRESS} if spec.get("egress") else set())
    problems.raise_if_any()
    return NetworkPolicy(namespace, name, pod_selector, frozenset(types), ingress, egress)
