"""CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy: validation and parsing into model objects.

Two kinds of checks, both reported with field paths:

* what the CRD's OpenAPI schema rejects at ``kubectl apply`` (types: ``port`` is a *string*,
  ``endPort`` an integer; enums for ``protocol`` and entities; DNS name patterns);
* what the Cilium agent rejects when it imports the rule (``Rule.Sanitize``: ``toFQDNs`` combined
  with other L3 selectors, DNS rules on ingress, a rule with neither ingress nor egress). A real
  cluster stores such a policy and reports ``VALID False`` in ``kubectl get cnp``; the lab refuses
  it at apply time and says so, which is the more useful feedback.

Fields outside the modelled subset (deny rules, L7 HTTP/Kafka, ``toServices``, node selectors, ...)
are refused with a clear message rather than silently ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ..model.cilium import (
    NAME_RE,
    NAMESPACE_LABEL,
    NAMESPACE_LABELS_PREFIX,
    PATTERN_RE,
    CidrRule,
    CiliumNetworkPolicy,
    CiliumProtocol,
    CiliumRule,
    EndpointSelector,
    Entity,
    FqdnSelector,
    PolicySpec,
    PortProtocol,
    PortRule,
)
from ..model.cluster import IPNetwork
from .documents import Document
from .validation import Problems, parse_metadata, parse_selector, port_name_errors

INGRESS_FIELDS = ("fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "toPorts")
EGRESS_FIELDS = ("toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toFQDNs", "toPorts")
NOT_MODELLED = {
    "fromRequires": "deprecated (Cilium 1.17+) and not modelled",
    "toRequires": "deprecated (Cilium 1.17+) and not modelled",
    "fromGroups": "cloud provider groups are not modelled", "toGroups": "cloud provider groups are not modelled",
    "fromNodes": "node selectors are not modelled; use fromEntities [host, remote-node]",
    "toNodes": "node selectors are not modelled; use toEntities [host, remote-node]",
    "toServices": "toServices is not modelled; select the backend pods with toEndpoints",
    "icmps": "ICMP rules are not modelled (the lab probes TCP, UDP and SCTP)",
    "authentication": "mutual authentication is not modelled",
}
SPEC_FIELDS = ("endpointSelector", "ingress", "egress", "enableDefaultDeny", "description", "labels")
SPEC_NOT_MODELLED = {
    "ingressDeny": "deny rules are not modelled in the lab's Cilium subset",
    "egressDeny": "deny rules are not modelled in the lab's Cilium subset",
    "nodeSelector": "host policies (nodeSelector) are not modelled",
}
SOURCE_PREFIXES = ("k8s:", "any:")


def parse_cilium_network_policy(doc: Document, default_namespace: str) -> CiliumNetworkPolicy:
    return _parse(doc, default_namespace, clusterwide=False)


def parse_cilium_clusterwide_network_policy(doc: Document, default_namespace: str) -> CiliumNetworkPolicy:
    return _parse(doc, default_namespace, clusterwide=True)


def _parse(doc: Document, default_namespace: str, *, clusterwide: bool) -> CiliumNetworkPolicy:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=not clusterwide, default_namespace=default_namespace)
    for key in doc.body:
        if key not in ("apiVersion", "kind", "metadata", "spec", "specs", "status"):
            problems.add([key], f"unknown field {key!r}; expected spec or specs")
    raw_specs: list[tuple[list[str | int], Any]] = []
    if doc.body.get("spec") is not None:
        raw_specs.append((["spec"], doc.body["spec"]))
    specs_list = doc.body.get("specs")
    if specs_list is not None:
        if not isinstance(specs_list, list):
            problems.add(["specs"], "expected a list of rules")
        else:
            raw_specs += [(["specs", i], s) for i, s in enumerate(specs_list)]
    if not raw_specs:
        problems.add(["spec"], "spec or specs is required")
    specs = []
    for path, raw in raw_specs:
        spec = _parse_spec(raw, path, problems, namespace=None if clusterwide else namespace)
        if spec is not None:
            specs.append(spec)
    problems.raise_if_any()
    return CiliumNetworkPolicy(doc.kind, "" if clusterwide else namespace, name, tuple(specs))


def _parse_spec(raw: Any, path: list[str | int], problems: Problems, *, namespace: str | None) -> PolicySpec | None:
    if not isinstance(raw, Mapping):
        problems.add(path, f"expected a mapping, got {type(raw).__name__}")
        return None
    for key in raw:
        if key in SPEC_NOT_MODELLED:
            problems.add([*path, key], SPEC_NOT_MODELLED[key])
        elif key not in SPEC_FIELDS:
            problems.add([*path, key], f"unknown field {key!r}; expected one of: {', '.join(SPEC_FIELDS)}")
    if "endpointSelector" not in raw or raw["endpointSelector"] is None:
        problems.add([*path, "endpointSelector"], "endpointSelector is required (use {} to select every pod"
                                                  + (" of the namespace)" if namespace else ")"))
        selector = None
    else:
        # The endpointSelector of a namespaced policy always applies to pods of the policy's namespace.
        selector = _endpoint_selector(raw["endpointSelector"], [*path, "endpointSelector"], problems,
                                      namespace=namespace, force_namespace=True)
    has_ingress = raw.get("ingress") is not None
    has_egress = raw.get("egress") is not None
    if not has_ingress and not has_egress and not raw.get("ingressDeny") and not raw.get("egressDeny"):
        problems.add(path, "rule must have at least one of ingress or egress (the Cilium agent rejects it otherwise)")
    ingress = _rules(raw.get("ingress"), [*path, "ingress"], problems, namespace=namespace, egress=False)
    egress = _rules(raw.get("egress"), [*path, "egress"], problems, namespace=namespace, egress=True)
    deny_in, deny_out = bool(ingress), bool(egress)
    dd = raw.get("enableDefaultDeny")
    if dd is not None:
        if not isinstance(dd, Mapping):
            problems.add([*path, "enableDefaultDeny"], "expected a mapping with ingress and/or egress booleans")
        else:
            for key, value in dd.items():
                if key not in ("ingress", "egress") or not isinstance(value, bool):
                    problems.add([*path, "enableDefaultDeny", key], "expected ingress: true|false or egress: true|false")
            if isinstance(dd.get("ingress"), bool):
                deny_in = dd["ingress"]
            if isinstance(dd.get("egress"), bool):
                deny_out = dd["egress"]
    if selector is None:
        return None
    return PolicySpec(selector, ingress, egress, deny_in, deny_out, _render_path(path))


def _render_path(path: list[str | int]) -> str:
    from ..errors import field_path

    return field_path(path)


def _strip_key(key: str, path: list[str | int], problems: Problems) -> str | None:
    for prefix in SOURCE_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    if ":" in key.split("/")[0]:
        source = key.split(":", 1)[0]
        problems.add(path, f"label source {source + ':'!r} is not modelled; use k8s: (or no prefix) for pod labels, "
                           "and toEntities/fromEntities for reserved identities")
        return None
    return key


def _endpoint_selector(raw: Any, path: list[str | int], problems: Problems, *, namespace: str | None,
                       force_namespace: bool = False) -> EndpointSelector | None:
    if not isinstance(raw, Mapping):
        problems.add(path, f"expected a label selector (matchLabels / matchExpressions), got {type(raw).__name__}")
        return None
    for key in raw:
        if key not in ("matchLabels", "matchExpressions"):
            problems.add([*path, key], f"unknown field {key!r}; expected matchLabels or matchExpressions")
    labels: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in (raw.get("matchLabels") or {}).items():
        k = _strip_key(str(key), [*path, "matchLabels", key], problems)
        if k is None:
            continue
        if namespace is not None and k.startswith(NAMESPACE_LABELS_PREFIX):
            ignored.append(k)  # "io.cilium.k8s.namespace.labels will be ignored in CiliumNetworkPolicy resources"
            continue
        labels[k] = value
    expressions = []
    for i, expr in enumerate(raw.get("matchExpressions") or []):
        if not isinstance(expr, Mapping):
            problems.add([*path, "matchExpressions", i], "expected a mapping with key, operator and values")
            continue
        k = _strip_key(str(expr.get("key", "")), [*path, "matchExpressions", i, "key"], problems)
        if k is None:
            continue
        if namespace is not None and k.startswith(NAMESPACE_LABELS_PREFIX):
            ignored.append(k)
            continue
        expressions.append({**expr, "key": k})
    selector = parse_selector({"matchLabels": labels, "matchExpressions": expressions}, path, problems)
    mentions_ns = NAMESPACE_LABEL in labels or any(e["key"] == NAMESPACE_LABEL for e in expressions)
    limit = namespace if namespace is not None and (force_namespace or not mentions_ns) else None
    return EndpointSelector(selector, limit, tuple(ignored))


def _rules(raw: Any, path: list[str | int], problems: Problems, *, namespace: str | None, egress: bool) -> tuple[CiliumRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(path, f"expected a list of rules, got {type(raw).__name__}")
        return ()
    return tuple(r for i, item in enumerate(raw) if (r := _rule(item or {}, [*path, i], problems, namespace, egress)) is not None)


def _rule(raw: Any, path: list[str | int], problems: Problems, namespace: str | None, egress: bool) -> CiliumRule | None:
    if not isinstance(raw, Mapping):
        problems.add(path, f"expected a rule (a mapping), got {type(raw).__name__}")
        return None
    allowed = EGRESS_FIELDS if egress else INGRESS_FIELDS
    start = len(problems.items)
    for key in raw:
        if key in NOT_MODELLED:
            problems.add([*path, key], NOT_MODELLED[key])
        elif key not in allowed:
            other = INGRESS_FIELDS if egress else EGRESS_FIELDS
            hint = f" ({key} belongs in {'ingress' if egress else 'egress'} rules)" if key in other else ""
            problems.add([*path, key], f"unknown field {key!r}{hint}; expected one of: {', '.join(allowed)}")
    pre = "to" if egress else "from"
    endpoints = _list(raw, f"{pre}Endpoints", path, problems,
                      lambda v, p: _endpoint_selector(v, p, problems, namespace=namespace))
    cidrs = _cidrs(raw, pre, path, problems)
    entities = _list(raw, f"{pre}Entities", path, problems, lambda v, p: _entity(v, p, problems))
    fqdns = _list(raw, "toFQDNs", path, problems, lambda v, p: _fqdn(v, p, problems)) if egress else None
    ports = _port_rules(raw.get("toPorts"), [*path, "toPorts"], problems, egress=egress)
    if fqdns and (endpoints or cidrs or entities):
        problems.add([*path, "toFQDNs"], "toFQDNs cannot be combined with toEndpoints, toCIDR/toCIDRSet or toEntities in one "
                                         "rule: write a separate egress rule (the Cilium agent rejects the policy otherwise)")
    if len(problems.items) > start:
        return None
    return CiliumRule(endpoints, cidrs, entities, fqdns, ports)


def _list(raw: Mapping[str, Any], key: str, path: list[str | int], problems: Problems, parse: Any) -> tuple[Any, ...] | None:
    if raw.get(key) is None:
        return None
    values = raw[key]
    if not isinstance(values, list):
        problems.add([*path, key], f"expected a list, got {type(values).__name__}")
        return None
    out = tuple(x for i, v in enumerate(values) if (x := parse(v, [*path, key, i])) is not None)
    return out or None


def _entity(value: Any, path: list[str | int], problems: Problems) -> Entity | None:
    try:
        return Entity(str(value))
    except ValueError:
        problems.add(path, f"unsupported entity {value!r}: expected one of {', '.join(e.value for e in Entity)}")
        return None


def _cidr(text: Any, path: list[str | int], problems: Problems) -> IPNetwork | None:
    try:
        value = str(text)
        if "/" not in value:
            addr = ipaddress.ip_address(value)
            return ipaddress.ip_network(f"{addr}/{addr.max_prefixlen}")
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        problems.add(path, f"{text!r} is not a valid CIDR (e.g. 203.0.113.0/24) or IP address")
        return None


def _cidrs(raw: Mapping[str, Any], pre: str, path: list[str | int], problems: Problems) -> tuple[CidrRule, ...] | None:
    out: list[CidrRule] = []
    plain = _list(raw, f"{pre}CIDR", path, problems, lambda v, p: _cidr(v, p, problems))
    out += [CidrRule(c) for c in plain or ()]
    key = f"{pre}CIDRSet"
    if raw.get(key) is not None:
        if not isinstance(raw[key], list):
            problems.add([*path, key], "expected a list of {cidr, except} entries")
        else:
            for i, entry in enumerate(raw[key]):
                epath = [*path, key, i]
                if not isinstance(entry, Mapping):
                    problems.add(epath, "expected a mapping with cidr and optional except")
                    continue
                for k in entry:
                    if k not in ("cidr", "except"):
                        msg = "CIDR groups are not modelled" if k in ("cidrGroupRef", "cidrGroupSelector") else f"unknown field {k!r}"
                        problems.add([*epath, k], msg + "; expected cidr and except")
                if not entry.get("cidr"):
                    problems.add([*epath, "cidr"], "cidr is required")
                    continue
                cidr = _cidr(entry["cidr"], [*epath, "cidr"], problems)
                excepts = []
                for j, e in enumerate(entry.get("except") or []):
                    ex = _cidr(e, [*epath, "except", j], problems)
                    if ex is not None and cidr is not None and (ex.version != cidr.version or not ex.subnet_of(cidr)):  # type: ignore[arg-type]
                        problems.add([*epath, "except", j], f"{e!r} must lie inside {entry['cidr']!r}")
                        continue
                    if ex is not None:
                        excepts.append(ex)
                if cidr is not None:
                    out.append(CidrRule(cidr, tuple(excepts)))
    return tuple(out) or None


def _fqdn(value: Any, path: list[str | int], problems: Problems) -> FqdnSelector | None:
    if not isinstance(value, Mapping):
        problems.add(path, "expected a mapping with matchName or matchPattern")
        return None
    name, pattern = value.get("matchName"), value.get("matchPattern")
    for k in value:
        if k not in ("matchName", "matchPattern"):
            problems.add([*path, k], f"unknown field {k!r}; expected matchName or matchPattern")
    if (name is None) == (pattern is None):
        problems.add(path, "exactly one of matchName and matchPattern is required")
        return None
    if name is not None:
        text = str(name)
        if len(text) > 255 or not NAME_RE.match(text):
            problems.add([*path, "matchName"], f"{text!r} is not a DNS name (letters, digits, '-', '_' and '.'; use matchPattern for '*')")
            return None
        return FqdnSelector(match_name=text)
    text = str(pattern)
    if len(text) > 255 or not PATTERN_RE.match(text):
        problems.add([*path, "matchPattern"], f"{text!r} is not a DNS pattern (letters, digits, '-', '_', '.' and '*')")
        return None
    if "**" in text and not (text.startswith("**.") and "**" not in text[3:]) and text != "**":
        problems.add([*path, "matchPattern"], f"{text!r}: '**' is only allowed as a leading '**.' (multi-level subdomains)")
        return None
    return FqdnSelector(match_pattern=text)


def _port_rules(raw: Any, path: list[str | int], problems: Problems, *, egress: bool) -> tuple[PortRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(path, "expected a list of port rules ({ports: [...], rules: {...}})")
        return ()
    out = []
    for i, item in enumerate(raw):
        ipath = [*path, i]
        if not isinstance(item, Mapping):
            problems.add(ipath, "expected a mapping with ports and optional rules")
            continue
        for k in item:
            if k not in ("ports", "rules"):
                msg = "not modelled" if k in ("terminatingTLS", "originatingTLS", "serverNames", "listener") else "unknown field"
                problems.add([*ipath, k], f"{msg} {k!r}; expected ports and rules")
        ports = []
        for j, p in enumerate(item.get("ports") or []):
            pp = _port(p, [*ipath, "ports", j], problems)
            if pp is not None:
                ports.append(pp)
        dns: tuple[FqdnSelector, ...] | None = None
        rules = item.get("rules")
        if rules is not None:
            if not isinstance(rules, Mapping):
                problems.add([*ipath, "rules"], "expected a mapping with dns")
            else:
                for k in rules:
                    if k == "dns":
                        continue
                    label = {"http": "HTTP", "kafka": "Kafka", "l7": "generic L7", "l7proto": "generic L7"}.get(k)
                    problems.add([*ipath, "rules", k], f"L7 {label} rules are not modelled in the lab (only rules.dns)" if label
                                 else f"unknown field {k!r}; expected dns")
                if rules.get("dns") is not None:
                    if not egress:
                        problems.add([*ipath, "rules", "dns"], "DNS rules are only allowed on egress (the DNS proxy sees a pod's lookups)")
                    elif not isinstance(rules["dns"], list):
                        problems.add([*ipath, "rules", "dns"], "expected a list of matchName / matchPattern entries")
                    else:
                        dns = tuple(s for k, v in enumerate(rules["dns"])
                                    if (s := _fqdn(v, [*ipath, "rules", "dns", k], problems)) is not None)
        out.append(PortRule(tuple(ports), dns))
    return tuple(out)


def _port(raw: Any, path: list[str | int], problems: Problems) -> PortProtocol | None:
    if not isinstance(raw, Mapping):
        problems.add(path, "expected a mapping with port, optional endPort and protocol")
        return None
    for k in raw:
        if k not in ("port", "endPort", "protocol"):
            problems.add([*path, k], f"unknown field {k!r}; expected port, endPort and protocol")
    port_raw = raw.get("port")
    port: int | str | None = None
    if isinstance(port_raw, bool) or (port_raw is not None and not isinstance(port_raw, str)):
        problems.add([*path, "port"], f"Invalid value: {type(port_raw).__name__} {port_raw!r}: port in body must be of type "
                                      f"string: quote it, e.g. port: \"{port_raw}\" (the CRD declares port as a string)")
        return None
    if port_raw is not None:
        text = port_raw.strip()
        if text.isdigit():
            number = int(text)
            if number > 65535:
                problems.add([*path, "port"], f"invalid port {text}: must be between 0 and 65535 (0 means every port)")
                return None
            port = number or None
        else:
            for msg in port_name_errors(text):
                problems.add([*path, "port"], f"invalid port name {text!r}: {msg}")
            port = text
    end_port = raw.get("endPort")
    if end_port is not None:
        if isinstance(end_port, bool) or not isinstance(end_port, int):
            problems.add([*path, "endPort"], f"expected an integer, got {end_port!r}")
            end_port = None
        elif not isinstance(port, int):
            problems.add([*path, "endPort"], "endPort needs a numeric port (it is ignored for named ports)")
            end_port = None
        elif end_port < port:
            problems.add([*path, "endPort"], f"endPort {end_port} must be >= port {port}")
            end_port = None
    proto_raw = str(raw.get("protocol") or "ANY").upper()
    try:
        protocol = CiliumProtocol(proto_raw)
    except ValueError:
        extra = " (ICMP is matched with icmps rules, not modelled here)" if proto_raw.startswith("ICMP") else ""
        problems.add([*path, "protocol"], f"unsupported protocol {raw.get('protocol')!r}: expected TCP, UDP, SCTP or ANY{extra}")
        return None
    return PortProtocol(port, protocol, end_port)
