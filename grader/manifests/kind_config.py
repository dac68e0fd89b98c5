"""kind's cluster config (``kind.x-k8s.io/v1alpha4``), validated the way kind does before it
creates anything: kind decodes the file strictly (unknown fields are rejected, kind#3048) and then
runs ``pkg/internal/apis/config/validate.go`` (roles, ipFamily, kubeProxyMode, subnets, ports). The
field table below is ``pkg/apis/config/v1alpha4/types.go`` (kind v0.33.0).

Pure (no Docker, no files): ``grader.kind.configs`` uses it for the course's configs, and
``grader.checks`` for a learner's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from ..errors import FieldProblem
from .validation import Problems, label_value_errors, qualified_name_errors

API_VERSION = "kind.x-k8s.io/v1alpha4"

# --- kind v1alpha4 schema (types.go): field -> type; nested structs by name --------------------
_STR, _BOOL, _INT, _STRLIST, _STRMAP, _BOOLMAP = "string", "boolean", "integer", "[]string", "map[string]string", "map[string]bool"
CLUSTER_FIELDS: dict[str, Any] = {
    "kind": _STR, "apiVersion": _STR, "name": _STR, "nodes": ["Node"], "networking": "Networking",
    "featureGates": _BOOLMAP, "runtimeConfig": _STRMAP, "kubeadmConfigPatches": _STRLIST,
    "kubeadmConfigPatchesJSON6902": ["PatchJSON6902"], "containerdConfigPatches": _STRLIST,
    "containerdConfigPatchesJSON6902": _STRLIST,
}
STRUCTS: dict[str, dict[str, Any]] = {
    "Cluster": CLUSTER_FIELDS,
    "Node": {
        "role": _STR, "image": _STR, "labels": _STRMAP, "extraMounts": ["Mount"], "extraPortMappings": ["PortMapping"],
        "kubeadmConfigPatches": _STRLIST, "kubeadmConfigPatchesJSON6902": ["PatchJSON6902"],  # no gpus: v1alpha4 Node has none (N1)
    },
    "Networking": {
        "ipFamily": _STR, "apiServerPort": _INT, "apiServerAddress": _STR, "podSubnet": _STR, "serviceSubnet": _STR,
        "disableDefaultCNI": _BOOL, "kubeProxyMode": _STR, "dnsSearch": _STRLIST,
    },
    "PatchJSON6902": {"group": _STR, "version": _STR, "kind": _STR, "patch": _STR},
    "Mount": {"containerPath": _STR, "hostPath": _STR, "readOnly": _BOOL, "selinuxRelabel": _BOOL, "propagation": _STR},
    "PortMapping": {"containerPort": _INT, "hostPort": _INT, "listenAddress": _STR, "protocol": _STR},
}
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Node", "role"): ("control-plane", "worker"),
    ("Networking", "ipFamily"): ("ipv4", "ipv6", "dual"),
    # "none" is the internal NoneProxyMode; the v1alpha4 field is a plain string converted as is.
    ("Networking", "kubeProxyMode"): ("iptables", "ipvs", "nftables", "none"),
    ("Mount", "propagation"): ("None", "HostToContainer", "Bidirectional"),
    ("PortMapping", "protocol"): ("TCP", "UDP", "SCTP"),
}
_VALID_NAME = re.compile(r"^[a-z0-9.-]+$")  # validate.go validNameRE


def _check_type(value: Any, typ: Any, path: list[str | int], problems: Problems) -> None:
    if isinstance(typ, list):
        if not isinstance(value, list):
            problems.add(path, f"expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check_struct(item, typ[0], [*path, i], problems)
    elif typ in STRUCTS:
        _check_struct(value, typ, path, problems)
    elif typ == _STR:
        if not isinstance(value, str):
            hint = " (quote it: YAML reads yes/no/true/false as booleans)" if isinstance(value, bool) else ""
            problems.add(path, f"expected a string, got {type(value).__name__} {value!r}{hint}")
    elif typ == _BOOL:
        if not isinstance(value, bool):
            problems.add(path, f"expected true or false, got {value!r}")
    elif typ == _INT:
        if not isinstance(value, int) or isinstance(value, bool):
            problems.add(path, f"expected an integer, got {value!r}")
    elif typ == _STRLIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.add(path, "expected a list of strings")
    elif typ in (_STRMAP, _BOOLMAP):
        want = str if typ == _STRMAP else bool
        if not isinstance(value, Mapping) or not all(isinstance(v, want) for v in value.values()):
            problems.add(path, f"expected a mapping of string to {want.__name__}")


def _check_struct(value: Any, struct: str, path: list[str | int], problems: Problems) -> None:
    if not isinstance(value, Mapping):
        problems.add(path, f"expected a mapping ({struct}), got {type(value).__name__}")
        return
    fields = STRUCTS[struct]
    for key, item in value.items():
        if key not in fields:
            problems.add([*path, str(key)], f"unknown field {key!r} in v1alpha4.{struct}; expected one of: {', '.join(sorted(fields))}")
            continue
        _check_type(item, fields[key], [*path, str(key)], problems)
        allowed = ENUMS.get((struct, str(key)))
        if allowed and isinstance(item, str) and item not in allowed:
            problems.add([*path, str(key)], f"unsupported value {item!r}: expected one of {', '.join(allowed)}")


def _check_subnet(value: Any, family: str, path: list[str | int], problems: Problems) -> None:
    if not isinstance(value, str):
        return
    parts = value.split(",")
    nets = []
    for part in parts:
        try:
            nets.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            problems.add(path, f"failed to parse cidr value {part!r}")
            return
    if family == "dual":
        if len(nets) > 2 or (len(nets) == 2 and {n.version for n in nets} != {4, 6}):
            problems.add(path, "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking")
    elif len(nets) > 1:
        problems.add(path, "only one CIDR allowed for single-stack networking")
    elif family == "ipv4" and nets[0].version != 4:
        problems.add(path, "expected IPv4 CIDR for IPv4 family")
    elif family == "ipv6" and nets[0].version != 6:
        problems.add(path, "expected IPv6 CIDR for IPv6 family")


def validate_config(doc: Any, document: str = "kind config") -> list[FieldProblem]:
    """Every way ``doc`` would be rejected by kind (decode + validate.go); empty when kind accepts it."""
    problems = Problems(document)
    if not isinstance(doc, Mapping):
        problems.add([], "expected a mapping with kind: Cluster and apiVersion: kind.x-k8s.io/v1alpha4")
        return problems.items
    if doc.get("kind") != "Cluster":
        problems.add(["kind"], f"expected Cluster, got {doc.get('kind')!r}")
    if doc.get("apiVersion") != API_VERSION:
        problems.add(["apiVersion"], f"expected {API_VERSION}, got {doc.get('apiVersion')!r}")
    _check_struct(doc, "Cluster", [], problems)
    name = doc.get("name")
    if name is not None and isinstance(name, str) and not _VALID_NAME.match(name):
        problems.add(["name"], f"{name!r} is not a valid cluster name, cluster names must match `^[a-z0-9.-]+$`")
    net = doc.get("networking") or {}
    if isinstance(net, Mapping):
        family = net.get("ipFamily", "ipv4")
        for key in ("podSubnet", "serviceSubnet"):
            if key in net:
                _check_subnet(net[key], family if isinstance(family, str) else "ipv4", ["networking", key], problems)
        port = net.get("apiServerPort")
        if isinstance(port, int) and not -1 <= port <= 65535:
            problems.add(["networking", "apiServerPort"], f"invalid port number: {port}")
    nodes = doc.get("nodes")
    if isinstance(nodes, list):
        roles = [n.get("role", "control-plane") for n in nodes if isinstance(n, Mapping)]
        if "control-plane" not in roles:
            problems.add(["nodes"], "must have at least one control-plane node")
        for i, node in enumerate(nodes):
            if not isinstance(node, Mapping):
                continue
            for key, value in (node.get("labels") or {}).items() if isinstance(node.get("labels"), Mapping) else ():
                for msg in qualified_name_errors(str(key)):
                    problems.add(["nodes", i, "labels", str(key)], f"invalid label key: {msg}")
                for msg in label_value_errors(str(value)):
                    problems.add(["nodes", i, "labels", str(key)], f"invalid label value: {msg}")
            for j, pm in enumerate(node.get("extraPortMappings") or []):
                if not isinstance(pm, Mapping):
                    continue
                for key in ("containerPort", "hostPort"):
                    value = pm.get(key)
                    if isinstance(value, int) and not -1 <= value <= 65535:
                        problems.add(["nodes", i, "extraPortMappings", j, key], f"invalid port number: {value}")
    return problems.items


# --- what the course creates -------------------------------------------------------------------


__all__ = ["API_VERSION", "ENUMS", "STRUCTS", "validate_config"]
