"""Ingress and IngressClass (``networking.k8s.io/v1``): API-server validation, then model objects.

Source: kubernetes ``pkg/apis/networking/validation/validation.go`` (ValidateIngressSpec,
validateIngressRules, validateHTTPIngressPath, validateIngressBackend, validateIngressTLS,
ValidateIngressClass). Messages follow upstream's wording where a learner will meet them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ..model.ingress import (
    CLASS_ANNOTATION,
    IS_DEFAULT_CLASS,
    Ingress,
    IngressBackend,
    IngressClass,
    IngressPath,
    IngressRule,
    IngressTLS,
    PathType,
)
from .documents import Document
from .bounded_yaml import shown
from .validation import Problems, dns1123_label_errors, dns1123_subdomain_errors, parse_metadata, port_name_errors, port_number_errors

INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")


def wildcard_dns_errors(host: str) -> list[str]:
    """``IsWildcardDNS1123Subdomain``: ``*.`` followed by a DNS subdomain."""
    if not host.startswith("*.") or "*" in host[1:]:
        return ["a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com')"]
    return dns1123_subdomain_errors(host[2:])


def host_errors(host: str) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return ["must be a DNS name, not an IP address"]
    except ValueError:
        pass
    return wildcard_dns_errors(host) if "*" in host else dns1123_subdomain_errors(host)


def _backend(raw: Mapping[str, Any] | None, path: list[str | int], problems: Problems) -> IngressBackend:
    raw = raw or {}
    service = raw.get("service")
    resource = raw.get("resource")
    if service is not None and resource is not None:
        problems.add(path, "cannot set both resource and service backends")
        return IngressBackend()
    if resource is not None:
        return IngressBackend(resource=f"{resource.get('kind', '')}/{resource.get('name', '')}")
    if service is None:
        problems.add(path, "resource or service backend is required")
        return IngressBackend()
    name = str(service.get("name") or "")
    if not name:
        problems.add([*path, "service", "name"], "name is required")
    else:
        for msg in dns1123_label_errors(name):
            problems.add([*path, "service", "name"], f"invalid Service name {shown(name)}: {msg}")
    port = service.get("port") or {}
    pname, number = port.get("name"), port.get("number")
    value: int | str | None = None
    if pname and number:
        problems.add(path, "cannot set both port name & port number")
    elif pname:
        for msg in port_name_errors(str(pname)):
            problems.add([*path, "service", "port", "name"], f"invalid port name {shown(pname)}: {msg}")
        value = str(pname)
    elif number:
        for msg in port_number_errors(int(number)):
            problems.add([*path, "service", "port", "number"], f"invalid port {number}: {msg}")
        value = int(number)
    else:
        problems.add(path, "port name or number is required")
    return IngressBackend(name, value)


def _path(raw: Mapping[str, Any], path: list[str | int], problems: Problems) -> IngressPath | None:
    raw_type = raw.get("pathType")
    if raw_type is None:
        problems.add([*path, "pathType"], "pathType must be specified")
        return None
    try:
        ptype = PathType(raw_type)
    except ValueError:
        problems.add([*path, "pathType"], f'unsupported value {shown(raw_type)}: supported values: "Exact", "ImplementationSpecific", "Prefix"')
        return None
    text = str(raw.get("path") or "")
    if ptype in (PathType.EXACT, PathType.PREFIX):
        if not text.startswith("/"):
            problems.add([*path, "path"], f"{shown(text)} must be an absolute path")
        for seq in INVALID_PATH_SEQUENCES:
            if seq in text:
                problems.add([*path, "path"], f"must not contain '{seq}'")
        for suffix in INVALID_PATH_SUFFIXES:
            if text.endswith(suffix):
                problems.add([*path, "path"], f"cannot end with '{suffix}'")
    elif text and not text.startswith("/"):
        problems.add([*path, "path"], f"{shown(text)} must be an absolute path")
    backend = _backend(raw.get("backend"), [*path, "backend"], problems)
    return IngressPath(text or "/", ptype, backend)


def parse_ingress(doc: Document, default_namespace: str) -> Ingress:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    meta = doc.body.get("metadata") or {}
    spec = doc.body.get("spec") or {}
    rules = []
    for i, raw in enumerate(spec.get("rules") or []):
        raw = raw or {}
        host = raw.get("host") or None
        if host is not None:
            for msg in host_errors(str(host)):
                problems.add(["spec", "rules", i, "host"], f"invalid value {shown(host)}: {msg}")
        paths = []
        http = raw.get("http")
        if http is not None:
            if not http.get("paths"):
                problems.add(["spec", "rules", i, "http", "paths"], "at least one path is required")
            for j, p in enumerate(http.get("paths") or []):
                parsed = _path(p or {}, ["spec", "rules", i, "http", "paths", j], problems)
                if parsed is not None:
                    paths.append(parsed)
        rules.append(IngressRule(str(host) if host else None, tuple(paths)))
    default = _backend(spec["defaultBackend"], ["spec", "defaultBackend"], problems) if spec.get("defaultBackend") else None
    if not rules and default is None:
        problems.add(["spec"], "either `defaultBackend` or `rules` must be specified")
    tls = []
    for i, raw in enumerate(spec.get("tls") or []):
        raw = raw or {}
        hosts = []
        for j, host in enumerate(raw.get("hosts") or []):
            for msg in (wildcard_dns_errors(host) if "*" in host else dns1123_subdomain_errors(host)):
                problems.add(["spec", "tls", i, "hosts", j], f"invalid value {shown(host)}: {msg}")
            hosts.append(str(host))
        secret = raw.get("secretName") or None
        if secret:
            for msg in dns1123_subdomain_errors(secret):
                problems.add(["spec", "tls", i, "secretName"], f"invalid value {shown(secret)}: {msg}")
        tls.append(IngressTLS(tuple(hosts), secret))
    class_name = spec.get("ingressClassName")
    if class_name is not None:
        for msg in dns1123_subdomain_errors(str(class_name)):
            problems.add(["spec", "ingressClassName"], f"invalid value {shown(class_name)}: {msg}")
    annotation = (meta.get("annotations") or {}).get(CLASS_ANNOTATION)
    problems.raise_if_any()
    return Ingress(namespace, name, class_name, annotation, tuple(rules), tuple(tls), default)


def parse_ingress_class(doc: Document, default_namespace: str) -> IngressClass:
    problems = Problems(doc.label)
    _, name = parse_metadata(doc.body, problems, namespaced=False, default_namespace=default_namespace)
    meta = doc.body.get("metadata") or {}
    controller = str((doc.body.get("spec") or {}).get("controller") or "")
    if not controller:
        problems.add(["spec", "controller"], "controller is required")
    elif "/" not in controller or not controller.split("/", 1)[1]:
        # validation.IsDomainPrefixedPath
        problems.add(["spec", "controller"], f"{shown(controller)} must be a domain-prefixed path (such as 'example.com/ingress-controller')")
    else:
        for msg in dns1123_subdomain_errors(controller.split("/", 1)[0]):
            problems.add(["spec", "controller"], f"invalid domain prefix in {shown(controller)}: {msg}")
    is_default = str((meta.get("annotations") or {}).get(IS_DEFAULT_CLASS, "")).lower() == "true"
    problems.raise_if_any()
    return IngressClass(name, controller, is_default)
