"""Core v1 kinds the simulated cluster keeps: Namespace and Pod (labels and container ports)."""

from __future__ import annotations

from ..model import ContainerPort, Namespace, Pod, Protocol
from .documents import Document
from .bounded_yaml import shown
from .validation import Problems, dns1123_label_errors, parse_labels, parse_metadata, port_name_errors, port_number_errors


def parse_namespace(doc: Document, default_namespace: str) -> Namespace:
    problems = Problems(doc.label)
    _, name = parse_metadata(doc.body, problems, namespaced=False, default_namespace=default_namespace)
    for msg in dns1123_label_errors(name):
        problems.add(["metadata", "name"], f"invalid namespace name {shown(name)}: {msg}")
    labels = parse_labels((doc.body.get("metadata") or {}).get("labels"), ["metadata", "labels"], problems)
    problems.raise_if_any()
    return Namespace(name, labels)


def parse_pod(doc: Document, default_namespace: str) -> Pod:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    meta = doc.body.get("metadata") or {}
    labels = parse_labels(meta.get("labels"), ["metadata", "labels"], problems)
    spec = doc.body.get("spec") or {}
    ports: list[ContainerPort] = []
    seen_names: set[str] = set()
    for i, container in enumerate(spec.get("containers") or []):
        for j, p in enumerate(container.get("ports") or []):
            path: list[str | int] = ["spec", "containers", i, "ports", j]
            number = p.get("containerPort")
            for msg in port_number_errors(int(number or 0)):
                problems.add([*path, "containerPort"], f"invalid containerPort {number}: {msg}")
            try:
                protocol = Protocol(p.get("protocol", "TCP"))
            except ValueError:
                problems.add([*path, "protocol"], f'unsupported value {shown(p.get("protocol"))}: supported values: "TCP", "UDP", "SCTP"')
                protocol = Protocol.TCP
            pname = p.get("name")
            if pname is not None:
                for msg in port_name_errors(str(pname)):
                    problems.add([*path, "name"], f"invalid port name {shown(pname)}: {msg}")
                if pname in seen_names:
                    problems.add([*path, "name"], f"duplicate port name {shown(pname)}")
                seen_names.add(str(pname))
            ports.append(ContainerPort(int(number or 0), protocol, pname))
    problems.raise_if_any()
    return Pod(
        namespace, name, labels, None, spec.get("nodeName"),
        tuple(sorted(ports, key=lambda c: (c.port, c.protocol, c.name or ""))),
        host_network=bool(spec.get("hostNetwork")),
    )
