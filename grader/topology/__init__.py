"""Topologies as data: namespaces and pods (and optionally policies) a lab deploys.

A topology file is YAML with ``namespaces:`` (name -> ``{labels}``), ``pods:`` (``namespace``,
``name``, ``labels``, ``ports`` [``port``, ``protocol``, ``name``], optional ``ip``, ``node``,
``ready``) and optional ``policies:`` (full manifests). The NetworkPolicy acceptance cases use the
same shape, so any of them loads as a topology too.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ManifestError
from ..manifests.validation import Problems, dns1123_label_errors, dns1123_subdomain_errors, parse_labels, port_name_errors, port_number_errors
from ..model import ContainerPort, Labels, Namespace, Pod, Protocol

BUILTIN = ("e2e", "shop")


@dataclass(frozen=True)
class Topology:
    name: str
    description: str
    namespaces: tuple[Namespace, ...]
    pods: tuple[Pod, ...]
    policies: tuple[dict[str, Any], ...] = ()

    def pod_refs(self) -> list[str]:
        return sorted(str(p.ref) for p in self.pods)


def _parse(raw: Mapping[str, Any], label: str) -> Topology:
    problems = Problems(label)
    if not isinstance(raw, Mapping):
        raise ManifestError.single(label, "", "expected a mapping with namespaces: and pods:")
    namespaces: dict[str, Namespace] = {}
    raw_ns = raw.get("namespaces") or {}
    if not isinstance(raw_ns, Mapping):
        problems.add(["namespaces"], "expected a mapping of namespace name to {labels: {...}}")
        raw_ns = {}
    for ns_name, body in raw_ns.items():
        ns_name = str(ns_name)
        for msg in dns1123_label_errors(ns_name):
            problems.add(["namespaces", ns_name], f"invalid namespace name: {msg}")
        labels = parse_labels((body or {}).get("labels"), ["namespaces", ns_name, "labels"], problems)
        namespaces[ns_name] = Namespace(ns_name, labels)
    pods = []
    seen = set()
    for i, body in enumerate(raw.get("pods") or []):
        path: list[str | int] = ["pods", i]
        if not isinstance(body, Mapping):
            problems.add(path, "expected a mapping with namespace, name, labels, ports")
            continue
        ns, name = str(body.get("namespace", "")), str(body.get("name", ""))
        if ns not in namespaces:
            if ns:
                namespaces[ns] = Namespace(ns)
            else:
                problems.add([*path, "namespace"], "namespace is required")
        for msg in dns1123_subdomain_errors(name):
            problems.add([*path, "name"], f"invalid pod name {name!r}: {msg}")
        if (ns, name) in seen:
            problems.add(path, f"duplicate pod {ns}/{name}")
        seen.add((ns, name))
        labels = parse_labels(body.get("labels"), [*path, "labels"], problems)
        ports = []
        for j, p in enumerate(body.get("ports") or []):
            ppath = [*path, "ports", j]
            number = p.get("port")
            if not isinstance(number, int) or isinstance(number, bool):
                problems.add([*ppath, "port"], f"expected a port number, got {number!r}")
                continue
            for msg in port_number_errors(number):
                problems.add([*ppath, "port"], msg)
            try:
                proto = Protocol.parse(p.get("protocol", "TCP"))
            except ValueError as exc:
                problems.add([*ppath, "protocol"], str(exc))
                continue
            pname = p.get("name")
            if pname is not None:
                for msg in port_name_errors(str(pname)):
                    problems.add([*ppath, "name"], f"invalid port name {pname!r}: {msg}")
            ports.append(ContainerPort(number, proto, pname))
        ip = None
        if body.get("ip") is not None:
            try:
                ip = ipaddress.ip_address(str(body["ip"]))
            except ValueError:
                problems.add([*path, "ip"], f"{body['ip']!r} is not an IP address")
        pods.append(Pod(ns, name, labels, ip, body.get("node"), tuple(ports), bool(body.get("ready", True))))
    policies = tuple(dict(p) for p in (raw.get("policies") or []))
    problems.raise_if_any()
    return Topology(
        str(raw.get("name") or label), str(raw.get("description") or raw.get("notes") or ""),
        tuple(namespaces[n] for n in sorted(namespaces)), tuple(sorted(pods, key=lambda p: p.ref)), policies,
    )


@cache
def _builtin(name: str) -> Topology:
    """A built-in topology, read once per process (checks deploy the same one again and again).
    A Topology is frozen, and its policy mappings are only read (applying them copies them)."""
    text = resources.files("grader.topology").joinpath(f"data/{name}.yaml").read_text("utf-8")
    return _parse(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), f"topology {name}")  # noqa: S506 - a safe loader


def load_topology(source: str | os.PathLike[str] | Mapping[str, Any] | Topology) -> Topology:
    """A built-in topology by name (``"e2e"``, ``"shop"``), a YAML file, or a mapping."""
    if isinstance(source, Topology):
        return source
    if isinstance(source, Mapping):
        return _parse(source, f"topology {source.get('name', '')}".strip())
    text_source = str(source)
    if text_source in BUILTIN:
        return _builtin(text_source)
    path = Path(text_source)
    if not path.is_file():
        raise ManifestError.single(f"topology {text_source}", "", f"no such built-in topology or file; built-in: {', '.join(BUILTIN)}")
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise ManifestError.single(f"topology {path.name}", "", f"not valid YAML: {exc}") from None
    return _parse(raw, f"topology {path.name}")


__all__ = ["BUILTIN", "Labels", "Topology", "load_topology"]
