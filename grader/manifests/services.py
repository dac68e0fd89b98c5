"""Service, EndpointSlice, Deployment and Secret: API-server validation and defaulting.

Sources (kubernetes/kubernetes): ``pkg/apis/core/validation/validation.go`` (ValidateService,
validateServicePort, validateServiceExternalTrafficPolicy, validateClientIPAffinityConfig,
ValidateSecret), ``pkg/apis/core/v1/defaults.go`` (SetDefaults_Service: protocol TCP, targetPort =
port, sessionAffinity None, externalTrafficPolicy Cluster for NodePort/LoadBalancer,
internalTrafficPolicy Cluster, allocateLoadBalancerNodePorts true),
``pkg/apis/apps/validation/validation.go`` (ValidateDeploymentSpec) and
``pkg/apis/discovery/validation/validation.go`` (ValidateEndpointSlice).

What needs cluster state (a free clusterIP or nodePort) is checked at admission by the lab
(``grader.services.allocation``), as the API server's allocators do.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from ..model import ContainerPort, Labels, Protocol
from ..model.services import (
    Deployment,
    EndpointSlice,
    EndpointSliceEndpoint,
    EndpointSlicePort,
    Secret,
    Service,
    ServicePort,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)
from .documents import Document
from .bounded_yaml import shown
from .validation import (
    Problems,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    parse_cidr,
    parse_labels,
    parse_metadata,
    parse_selector,
    port_name_errors,
    port_number_errors,
)

MAX_AFFINITY_TIMEOUT = 86400  # core.MaxClientIPServiceAffinitySeconds
DEFAULT_AFFINITY_TIMEOUT = 10800  # core.DefaultClientIPServiceAffinitySeconds
TLS_SECRET = "kubernetes.io/tls"


def _protocol(raw: Any, path: list[str | int], problems: Problems) -> Protocol:
    try:
        return Protocol(raw if raw is not None else "TCP")
    except ValueError:
        problems.add(path, f'unsupported value {shown(raw)}: supported values: "SCTP", "TCP", "UDP"')
        return Protocol.TCP


def _int_or_name(raw: Any, path: list[str | int], problems: Problems) -> int | str | None:
    """An IntOrString port (``ValidatePortNumOrName``)."""
    if isinstance(raw, bool):
        problems.add(path, "expected a port number or a port name")
        return None
    if isinstance(raw, int):
        for msg in port_number_errors(raw):
            problems.add(path, f"invalid port {raw}: {msg}")
        return raw
    text = str(raw)
    if text.isdigit():
        number = int(text)
        for msg in port_number_errors(number):
            problems.add(path, f"invalid port {number}: {msg}")
        return number
    for msg in port_name_errors(text):
        problems.add(path, f"invalid port name {shown(text)}: {msg}")
    return text


SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
"""Legacy spelling of ``spec.loadBalancerSourceRanges``: comma-separated CIDRs, read by cloud providers
when the spec field is empty (see grader.services.routing for who reads it)."""


def _check_source_ranges_annotation(text: str, stype: ServiceType, problems: Problems) -> None:
    """``ValidateService`` (kubernetes ``pkg/apis/core/validation/validation.go``): when the spec field
    is empty, the annotation is only allowed on LoadBalancer Services and each comma-separated,
    space-trimmed entry must pass ``validation.IsValidCIDR`` (k8s.io/apimachinery
    ``pkg/util/validation/ip.go``: a CIDR without leading zeros, IPv4-mapped IPv6 or bits set past
    the prefix, in canonical form). An empty value means "allow all"."""
    path = ["metadata", f"annotations[{SOURCE_RANGES_ANNOTATION}]"]
    if stype is not ServiceType.LOAD_BALANCER:
        problems.add(path, "may only be used when `type` is 'LoadBalancer'")
    for part in text.strip().split(",") if text.strip() else []:
        value = part.strip()
        quoted = f'"{shown(value)[1:-1]}"'
        if re.fullmatch(r"[0-9.]+/[0-9]+", value) and re.search(r"(^|\.)0[0-9]|/0[0-9]", value):
            problems.add(path, f"{quoted} must not have leading 0s in IP or prefix length")
            continue
        try:
            net = ipaddress.ip_network(value, strict=False) if "/" in value else None
        except ValueError:
            net = None
        if net is None:
            problems.add(path, f"{quoted} is not a CIDR: expected a comma-separated list of CIDRs such as 10.0.0.0/24,192.168.2.0/24")
            continue
        address = ipaddress.ip_address(value.partition("/")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            problems.add(path, f"{quoted} must not have an IPv4-mapped IPv6 address")
        elif address != net.network_address:
            problems.add(path, f"{quoted} must not have bits set beyond the prefix length (the network is {net})")
        elif value != str(net):
            problems.add(path, f"{quoted} must be in canonical form ({str(net)!r})")


def parse_service(doc: Document, default_namespace: str) -> Service:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    for msg in dns1123_label_errors(name):  # ValidateServiceName: a DNS-1035/1123 label (it becomes a DNS name)
        problems.add(["metadata", "name"], f"invalid Service name {shown(name)}: {msg}")
    meta = doc.body.get("metadata") or {}
    annotations = Labels({str(k): str(v) for k, v in (meta.get("annotations") or {}).items()})
    spec = doc.body.get("spec") or {}
    try:
        stype = ServiceType(spec.get("type") or "ClusterIP")
    except ValueError:
        problems.add(["spec", "type"], f'unsupported value {shown(spec.get("type"))}: supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')
        stype = ServiceType.CLUSTER_IP
    raw_ip = spec.get("clusterIP")
    if raw_ip in (None, "") and spec.get("clusterIPs"):
        raw_ip = (spec.get("clusterIPs") or [None])[0]
    headless = raw_ip == "None"
    requested_ip = None
    if raw_ip not in (None, "", "None"):
        try:
            requested_ip = ipaddress.ip_address(str(raw_ip))
        except ValueError:
            problems.add(["spec", "clusterIP"], f"{shown(raw_ip)} must be a valid IP address (or None for a headless Service)")
    if stype is ServiceType.LOAD_BALANCER and headless:
        problems.add(["spec", "clusterIPs", 0], "may not be set to 'None' for LoadBalancer services")
    if stype is ServiceType.NODE_PORT and headless:
        problems.add(["spec", "clusterIPs", 0], "may not be set to 'None' for NodePort services")
    external_name = None
    if stype is ServiceType.EXTERNAL_NAME:
        if raw_ip not in (None, ""):
            problems.add(["spec", "clusterIPs"], "may not be set for ExternalName services")
        cname = str(spec.get("externalName") or "").removesuffix(".")
        if not cname:
            problems.add(["spec", "externalName"], "externalName is required for type ExternalName")
        else:
            for msg in dns1123_subdomain_errors(cname):
                problems.add(["spec", "externalName"], f"invalid value {shown(cname)}: {msg}")
            external_name = cname
    raw_ports = spec.get("ports") or []
    if not raw_ports and not headless and stype is not ServiceType.EXTERNAL_NAME:
        problems.add(["spec", "ports"], "at least one port is required")
    ports: list[ServicePort] = []
    names: set[str] = set()
    seen: set[tuple[int, Protocol]] = set()
    node_ports: set[tuple[int, Protocol]] = set()
    for i, raw in enumerate(raw_ports):
        path: list[str | int] = ["spec", "ports", i]
        raw = raw or {}
        pname = raw.get("name")
        if len(raw_ports) > 1 and not pname:
            problems.add([*path, "name"], "name is required when a Service has more than one port")
        elif pname:
            pname = str(pname)
            for msg in dns1123_label_errors(pname):
                problems.add([*path, "name"], f"invalid port name {shown(pname)}: {msg}")
            if pname in names:
                problems.add([*path, "name"], f"duplicate port name {shown(pname)}")
            names.add(pname)
        number = raw.get("port")
        if not isinstance(number, int) or isinstance(number, bool):
            problems.add([*path, "port"], f"expected a port number, got {shown(number)}")
            continue
        for msg in port_number_errors(number):
            problems.add([*path, "port"], f"invalid port {number}: {msg}")
        protocol = _protocol(raw.get("protocol"), [*path, "protocol"], problems)
        if (number, protocol) in seen:
            problems.add(path, f"duplicate port {number}/{protocol}: each (port, protocol) pair may appear once")
        seen.add((number, protocol))
        target = _int_or_name(raw["targetPort"], [*path, "targetPort"], problems) if raw.get("targetPort") not in (None, 0) else number
        node_port = raw.get("nodePort")
        if node_port:
            if stype is ServiceType.CLUSTER_IP:
                problems.add([*path, "nodePort"], "may not be used when `type` is 'ClusterIP'")
            elif (node_port, protocol) in node_ports:
                problems.add([*path, "nodePort"], f"duplicate nodePort {node_port}/{protocol}")
            node_ports.add((node_port, protocol))
        ports.append(ServicePort(number, target if target is not None else number, protocol, pname or None,
                                 int(node_port) if node_port else None, raw.get("appProtocol")))
    selector = None
    if spec.get("selector") is not None:
        selector = parse_labels(spec.get("selector"), ["spec", "selector"], problems)
    affinity = SessionAffinity.NONE
    timeout = DEFAULT_AFFINITY_TIMEOUT
    try:
        affinity = SessionAffinity(spec.get("sessionAffinity") or "None")
    except ValueError:
        problems.add(["spec", "sessionAffinity"], f'unsupported value {shown(spec.get("sessionAffinity"))}: supported values: "ClientIP", "None"')
    config = spec.get("sessionAffinityConfig")
    if affinity is SessionAffinity.CLIENT_IP:
        raw_timeout = ((config or {}).get("clientIP") or {}).get("timeoutSeconds")
        if raw_timeout is not None:
            if not isinstance(raw_timeout, int) or not 0 < raw_timeout <= MAX_AFFINITY_TIMEOUT:
                problems.add(["spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds"], f"must be greater than 0 and less than {MAX_AFFINITY_TIMEOUT}")
            else:
                timeout = raw_timeout
    elif config is not None:
        problems.add(["spec", "sessionAffinityConfig"], "must not be set when session affinity is None")
    etp = None
    externally = stype in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)
    raw_etp = spec.get("externalTrafficPolicy")
    if raw_etp:
        raw_etp = "Cluster" if raw_etp == "Global" else raw_etp  # the v1 API still accepts the pre-1.14 spelling
        if not externally:
            problems.add(["spec", "externalTrafficPolicy"], "may only be set for externally-accessible services (type NodePort or LoadBalancer)")
        else:
            try:
                etp = TrafficPolicy(raw_etp)
            except ValueError:
                problems.add(["spec", "externalTrafficPolicy"], f'unsupported value {shown(raw_etp)}: supported values: "Cluster", "Local"')
    elif externally:
        etp = TrafficPolicy.CLUSTER
    itp: TrafficPolicy | None = None if stype is ServiceType.EXTERNAL_NAME else TrafficPolicy.CLUSTER
    if spec.get("internalTrafficPolicy"):
        try:
            itp = TrafficPolicy(spec["internalTrafficPolicy"])
        except ValueError:
            problems.add(["spec", "internalTrafficPolicy"], f'unsupported value {shown(spec["internalTrafficPolicy"])}: supported values: "Cluster", "Local"')
    ranges = []
    for i, text in enumerate(spec.get("loadBalancerSourceRanges") or []):
        if stype is not ServiceType.LOAD_BALANCER:
            problems.add(["spec", "loadBalancerSourceRanges"], "may only be used when `type` is 'LoadBalancer'")
            break
        net = parse_cidr(str(text).strip(), ["spec", "loadBalancerSourceRanges", i], problems)
        if net is not None:
            ranges.append(net)
    if not spec.get("loadBalancerSourceRanges") and SOURCE_RANGES_ANNOTATION in annotations:
        _check_source_ranges_annotation(annotations[SOURCE_RANGES_ANNOTATION], stype, problems)
    lb_class = spec.get("loadBalancerClass")
    if lb_class is not None and stype is not ServiceType.LOAD_BALANCER:
        problems.add(["spec", "loadBalancerClass"], "may only be used when `type` is 'LoadBalancer'")
    if spec.get("allocateLoadBalancerNodePorts") is not None and stype is not ServiceType.LOAD_BALANCER:
        problems.add(["spec", "allocateLoadBalancerNodePorts"], "may only be used when `type` is 'LoadBalancer'")
    lb_ip = None
    if spec.get("loadBalancerIP"):
        try:
            lb_ip = ipaddress.ip_address(str(spec["loadBalancerIP"]))
        except ValueError:
            problems.add(["spec", "loadBalancerIP"], f"{shown(spec['loadBalancerIP'])} must be a valid IP address")
    if spec.get("externalIPs"):
        problems.add(["spec", "externalIPs"], "externalIPs are not modelled by the simulated cluster "
                     "(most clusters block them with the DenyServiceExternalIPs admission plugin); use a NodePort or LoadBalancer Service")
    hc = spec.get("healthCheckNodePort")
    if hc and not (stype is ServiceType.LOAD_BALANCER and etp is TrafficPolicy.LOCAL):
        problems.add(["spec", "healthCheckNodePort"], "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'")
    problems.raise_if_any()
    return Service(
        namespace, name, stype, tuple(ports), selector,
        cluster_ip=None, headless=headless, external_name=external_name,
        session_affinity=affinity, affinity_timeout=timeout,
        external_traffic_policy=etp, internal_traffic_policy=itp,
        publish_not_ready_addresses=bool(spec.get("publishNotReadyAddresses")),
        load_balancer_source_ranges=tuple(ranges), load_balancer_class=lb_class,
        requested_load_balancer_ip=lb_ip,
        allocate_load_balancer_node_ports=spec.get("allocateLoadBalancerNodePorts", True) is not False,
        health_check_node_port=int(hc) if hc else None,
        requested_cluster_ip=requested_ip, annotations=annotations,
    )


def parse_endpoint_slice(doc: Document, default_namespace: str) -> EndpointSlice:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    meta = doc.body.get("metadata") or {}
    labels = parse_labels(meta.get("labels"), ["metadata", "labels"], problems)
    address_type = str(doc.body.get("addressType") or "")
    if address_type not in ("IPv4", "IPv6", "FQDN"):
        problems.add(["addressType"], f'unsupported value {shown(address_type)}: supported values: "FQDN", "IPv4", "IPv6"')
    ports = []
    for i, raw in enumerate(doc.body.get("ports") or []):
        raw = raw or {}
        number = raw.get("port")
        if number is not None:
            for msg in port_number_errors(int(number)):
                problems.add(["ports", i, "port"], f"invalid port {number}: {msg}")
        ports.append(EndpointSlicePort(int(number or 0), _protocol(raw.get("protocol"), ["ports", i, "protocol"], problems), raw.get("name")))
    endpoints = []
    for i, raw in enumerate(doc.body.get("endpoints") or []):
        raw = raw or {}
        addresses = []
        for j, text in enumerate(raw.get("addresses") or []):
            if address_type == "FQDN":
                problems.add(["endpoints", i, "addresses", j], "FQDN endpoints are not modelled by the simulated cluster; use IPv4 addresses")
                continue
            try:
                addresses.append(ipaddress.ip_address(str(text)))
            except ValueError:
                problems.add(["endpoints", i, "addresses", j], f"{shown(text)} must be a valid IP address")
        if not raw.get("addresses"):
            problems.add(["endpoints", i, "addresses"], "at least one address is required")
        # discovery/v1: a nil "ready" condition is to be interpreted as ready (EndpointConditions docs).
        ready = (raw.get("conditions") or {}).get("ready")
        target = raw.get("targetRef") or {}
        target_text = f"{target.get('namespace') or namespace}/{target['name']}" if target.get("kind") == "Pod" and target.get("name") else None
        endpoints.append(EndpointSliceEndpoint(tuple(addresses), ready is not False, raw.get("nodeName"), target_text))
    problems.raise_if_any()
    return EndpointSlice(namespace, name, labels.get("kubernetes.io/service-name"), address_type, tuple(ports), tuple(endpoints),
                         labels.get("endpointslice.kubernetes.io/managed-by"))


_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand.SafeEncodeString


def safe_encode(text: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in text)


def template_hash(template: Mapping[str, Any]) -> str:
    """``pod-template-hash`` as the Deployment controller computes it: FNV-32a of the pod template,
    rendered with SafeEncodeString (controller.ComputeHash; here over canonical JSON, so the value
    is stable across runs but not byte-identical to a real cluster's)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return safe_encode(str(h))


def parse_deployment(doc: Document, default_namespace: str) -> Deployment:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    spec = doc.body.get("spec") or {}
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        problems.add(["spec", "replicas"], f"must be greater than or equal to 0, got {shown(replicas)}")
        replicas = 0
    if not spec.get("selector"):
        problems.add(["spec", "selector"], "selector is required (apps/v1)")
    selector = parse_selector(spec.get("selector"), ["spec", "selector"], problems)
    if spec.get("selector") and selector.is_empty:
        problems.add(["spec", "selector"], "empty selector is invalid for deployment")
    template = spec.get("template") or {}
    tmeta = template.get("metadata") or {}
    labels = parse_labels(tmeta.get("labels"), ["spec", "template", "metadata", "labels"], problems)
    if not selector.is_empty and not selector.matches(labels):
        problems.add(["spec", "template", "metadata", "labels"], f"`selector` does not match template `labels` (selector {selector.render()}, labels {labels.render() or 'none'})")
    tspec = template.get("spec") or {}
    containers = tspec.get("containers") or []
    if not containers:
        problems.add(["spec", "template", "spec", "containers"], "at least one container is required")
    ports: list[ContainerPort] = []
    seen: set[str] = set()
    for i, container in enumerate(containers):
        for j, p in enumerate((container or {}).get("ports") or []):
            path: list[str | int] = ["spec", "template", "spec", "containers", i, "ports", j]
            number = p.get("containerPort")
            if not isinstance(number, int):
                problems.add([*path, "containerPort"], f"expected a port number, got {shown(number)}")
                continue
            for msg in port_number_errors(number):
                problems.add([*path, "containerPort"], f"invalid containerPort {number}: {msg}")
            protocol = _protocol(p.get("protocol"), [*path, "protocol"], problems)
            pname = p.get("name")
            if pname is not None:
                for msg in port_name_errors(str(pname)):
                    problems.add([*path, "name"], f"invalid port name {shown(pname)}: {msg}")
                if pname in seen:
                    problems.add([*path, "name"], f"duplicate port name {shown(pname)}")
                seen.add(str(pname))
            ports.append(ContainerPort(number, protocol, pname))
    problems.raise_if_any()
    return Deployment(
        namespace, name, replicas, selector, labels,
        tuple(sorted(ports, key=lambda c: (c.port, c.protocol, c.name or ""))),
        tspec.get("nodeName"), template_hash(template),
    )


def parse_secret(doc: Document, default_namespace: str) -> Secret:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    stype = str(doc.body.get("type") or "Opaque")
    data: dict[str, bytes] = {}
    for key, value in (doc.body.get("data") or {}).items():
        try:
            data[str(key)] = base64.b64decode(str(value or ""), validate=True)
        except (binascii.Error, ValueError):
            problems.add([f"data[{key}]"], "illegal base64 data: data values must be base64-encoded (use stringData for plain text)")
    for key, value in (doc.body.get("stringData") or {}).items():
        data[str(key)] = str(value).encode()  # stringData wins over data for the same key
    if stype == TLS_SECRET:
        # ValidateSecret: a kubernetes.io/tls Secret must carry both keys (their content is the controller's problem).
        for key in ("tls.crt", "tls.key"):
            if key not in data:
                problems.add([f"data[{key}]"], f"required for a Secret of type {TLS_SECRET}")
    problems.raise_if_any()
    return Secret(namespace, name, stype, tuple(sorted(data.items())))
