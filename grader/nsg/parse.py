"""NSG rules from YAML that mirrors the Azure resource (``Microsoft.Network/networkSecurityGroups``).

Accepted shapes (what ``az network nsg show`` prints works, and so does a hand-written list)::

    name: aks-agentpool-nsg            # optional
    securityRules:                     # or properties.securityRules, or just the list
    - name: allow-https
      priority: 100
      direction: Inbound
      access: Allow
      protocol: Tcp
      sourceAddressPrefix: Internet
      sourcePortRange: "*"
      destinationAddressPrefix: "*"
      destinationPortRanges: ["443", "8443-8444"]
    - name: deny-ssh
      properties: {priority: 200, ...}   # the ARM shape is fine too

Validation follows the Azure API's rules for ``securityRules`` (name up to 80 characters starting
with a word character; priority 100-4096, unique per direction; either the singular or the plural
form of each prefix/port field; at most one service tag, never mixed into the plural lists; one IP
family per rule). Every problem comes back at once, with its field path.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import FieldProblem, ManifestError, field_path
from ..manifests.bounded_yaml import YamlInputError, load_yaml_value, shown
from ..manifests.validation import Problems
from .model import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    Access,
    AddressPrefix,
    NetworkSecurityGroup,
    NsgDirection,
    NsgProtocol,
    PortRange,
    SecurityRule,
    ServiceTag,
)

_NAME = re.compile(r"^\w(?:[\w.-]*\w)?$", re.ASCII)
RULE_FIELDS = (
    "name", "priority", "direction", "access", "protocol", "description",
    "sourceAddressPrefix", "sourceAddressPrefixes", "sourcePortRange", "sourcePortRanges",
    "destinationAddressPrefix", "destinationAddressPrefixes", "destinationPortRange", "destinationPortRanges",
)
_READ_ONLY = {"id", "etag", "type", "provisioningState", "properties"}
_ASG_FIELDS = {"sourceApplicationSecurityGroups", "destinationApplicationSecurityGroups"}
KNOWN_AZURE_TAGS = {
    "azurecloud", "storage", "sql", "azurecosmosdb", "azurekeyvault", "azuremonitor", "azurecontainerregistry",
    "azureactivedirectory", "azurefrontdoor.backend", "azurefrontdoor.frontend", "gatewaymanager", "appservice",
    "azuretrafficmanager", "eventhub", "servicebus", "microsoftcontainerregistry", "azurekubernetesservice",
    "azureplatformdns", "azureplatformimds", "azureplatformlkm", "applicationinsightsavailability", "azurebackup",
}


def _load(source: Any) -> Any:
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                    and source.strip().endswith((".yaml", ".yml", ".json")) and Path(source).is_file()):
        path = Path(source)
        try:
            source = path.read_text("utf-8")
        except OSError as exc:
            raise ManifestError.single(str(path), "", f"cannot read file: {exc.strerror}") from None
    if isinstance(source, str):
        try:
            loaded = load_yaml_value(source, keys_as_written=True)
        except YamlInputError as exc:
            raise ManifestError.single("nsg", exc.where, exc.reason) from None
        return None if loaded is None else loaded.value
    return source


def parse_nsg(source: Any, *, name: str | None = None) -> NetworkSecurityGroup:
    """Parse and validate NSG rules. Raises :class:`ManifestError` listing every problem."""
    raw = _load(source)
    nsg_name = name
    rules_raw: Any
    base: list[str | int] = []
    if isinstance(raw, Mapping):
        nsg_name = nsg_name or (str(raw["name"]) if raw.get("name") else None)
        if "securityRules" in raw:
            rules_raw, base = raw["securityRules"], ["securityRules"]
        elif isinstance(raw.get("properties"), Mapping) and "securityRules" in raw["properties"]:
            rules_raw, base = raw["properties"]["securityRules"], ["properties", "securityRules"]
        else:
            raise ManifestError.single(f"nsg/{nsg_name or 'nsg'}", "", "expected a securityRules list (or a YAML list of rules)")
    elif isinstance(raw, list):
        rules_raw, base = raw, ["securityRules"]
    elif raw is None:
        rules_raw, base = [], []
    else:
        raise ManifestError.single("nsg", "", f"expected a mapping with securityRules or a list of rules, got {type(raw).__name__}")
    nsg_name = nsg_name or "nsg"
    problems = Problems(f"nsg/{nsg_name}")
    if not isinstance(rules_raw, list):
        problems.add(base, f"expected a list of security rules, got {type(rules_raw).__name__}")
        problems.raise_if_any()
    rules: list[tuple[int, SecurityRule]] = []
    for i, item in enumerate(rules_raw):
        rule = _parse_rule(item, [*base, i], problems)
        if rule is not None:
            rules.append((i, rule))
    _check_unique(rules, base, problems)
    problems.raise_if_any()
    return NetworkSecurityGroup(nsg_name, tuple(sorted((r for _, r in rules), key=lambda r: (r.direction, r.priority))))


def _flatten(item: Mapping[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in item.items() if k != "properties"}
    props = item.get("properties")
    if isinstance(props, Mapping):
        flat.update(props)
    return flat


def _parse_rule(item: Any, path: list[str | int], problems: Problems) -> SecurityRule | None:
    if not isinstance(item, Mapping):
        problems.add(path, f"expected a security rule (a mapping), got {type(item).__name__}")
        return None
    if "properties" in item and not isinstance(item["properties"], Mapping):
        problems.add([*path, "properties"], "expected a mapping of rule properties")
        return None
    rule = _flatten(item)
    start = len(problems.items)
    for key in rule:
        if key in _ASG_FIELDS:
            problems.add([*path, key], "application security groups are not modelled in the simulated cluster; use address prefixes")
        elif key not in RULE_FIELDS and key not in _READ_ONLY:
            problems.add([*path, key], f"unknown field {shown(key)}; expected one of: {', '.join(RULE_FIELDS)}")

    name = str(rule.get("name") or "")
    if not name:
        problems.add([*path, "name"], "name is required")
    elif len(name) > 80 or not _NAME.match(name):
        problems.add([*path, "name"], f"invalid name {shown(name)}: up to 80 characters, starting with a letter, digit or '_', "
                                      "ending with one of those, with only word characters, '.', '-' or '_' in between")

    priority = rule.get("priority")
    if priority is None:
        problems.add([*path, "priority"], "priority is required")
    elif isinstance(priority, bool) or not isinstance(priority, int):
        problems.add([*path, "priority"], f"expected an integer, got {shown(priority)}")
        priority = None
    elif not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        problems.add([*path, "priority"], f"invalid priority {priority}: allowed range {PRIORITY_MIN}-{PRIORITY_MAX} "
                                          "(65000 and above belong to Azure's default rules)")
        priority = None

    direction = _enum(NsgDirection, rule.get("direction"), [*path, "direction"], problems)
    access = _enum(Access, rule.get("access"), [*path, "access"], problems)
    protocol = _protocol(rule.get("protocol"), [*path, "protocol"], problems)

    source = _prefixes(rule, "sourceAddressPrefix", path, problems)
    destination = _prefixes(rule, "destinationAddressPrefix", path, problems)
    if source and destination:
        families = {p.network.version for p in (*source, *destination) if p.network is not None}
        if len(families) > 1:
            problems.add(path, "a rule cannot mix IPv4 and IPv6 prefixes")
    source_ports = _ports(rule, "sourcePortRange", path, problems)
    destination_ports = _ports(rule, "destinationPortRange", path, problems)
    if len(problems.items) > start or None in (priority, direction, access, protocol) or not all(
            (source, destination, source_ports, destination_ports)):
        return None
    assert isinstance(priority, int) and direction is not None and access is not None and protocol is not None
    return SecurityRule(name, priority, direction, access, protocol, source, source_ports, destination, destination_ports,
                        str(rule.get("description") or ""))


def _enum(enum: Any, value: Any, path: list[str | int], problems: Problems) -> Any:
    key = path[-1]
    if value is None:
        problems.add(path, f"{key} is required")
        return None
    for member in enum:
        if str(value).lower() == member.value.lower():
            return member
    problems.add(path, f"unsupported value {shown(value)}: expected {' or '.join(m.value for m in enum)}")
    return None


def _protocol(value: Any, path: list[str | int], problems: Problems) -> NsgProtocol | None:
    if value is None:
        problems.add(path, "protocol is required")
        return None
    text = str(value)
    if text.lower() == "any":
        return NsgProtocol.ANY  # what the portal and CLI call "*"
    for member in NsgProtocol:
        if text.lower() == member.value.lower():
            return member
    problems.add(path, f"unsupported value {shown(value)}: expected Tcp, Udp, Icmp, Esp, Ah or * (any)")
    return None


def _one_of(rule: Mapping[str, Any], singular: str, path: list[str | int], problems: Problems) -> tuple[list[Any], list[str | int], bool] | None:
    plural = singular + "es" if singular.endswith("Prefix") else singular + "s"
    has_one = rule.get(singular) not in (None, "")
    has_many = rule.get(plural) not in (None, [])
    if has_one and has_many:
        problems.add(path, f"specify either {singular} or {plural}, not both")
        return None
    if not has_one and not has_many:
        problems.add([*path, singular], f"{singular} (or {plural}) is required")
        return None
    if has_one:
        return [rule[singular]], [*path, singular], False
    values = rule[plural]
    if not isinstance(values, list):
        problems.add([*path, plural], f"expected a list, got {type(values).__name__}")
        return None
    return values, [*path, plural], True


def _prefixes(rule: Mapping[str, Any], singular: str, path: list[str | int], problems: Problems) -> tuple[AddressPrefix, ...]:
    found = _one_of(rule, singular, path, problems)
    if found is None:
        return ()
    values, fpath, plural = found
    out = []
    for i, value in enumerate(values):
        vpath = [*fpath, i] if plural else fpath
        prefix = _prefix(value, vpath, problems)
        if prefix is None:
            continue
        if plural and (prefix.tag is not None or prefix.is_any):
            problems.add(vpath, f"{shown(prefix.text)} cannot be used in a list: augmented rules take IP addresses and ranges; "
                                f"write a single {singular} for a service tag or '*'")
            continue
        out.append(prefix)
    return tuple(out) if len(out) == len(values) else ()


def _prefix(value: Any, path: list[str | int], problems: Problems) -> AddressPrefix | None:
    text = str(value).strip()
    if text in ("*", "") or text.lower() == "any":
        return AddressPrefix("*")
    for tag in ServiceTag:
        if text.lower() == tag.value.lower():
            return AddressPrefix(tag.value, tag=tag)
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            if ipaddress.ip_interface(text).ip != net.network_address:
                problems.add(path, f"{shown(text)} has host bits set: did you mean {net}?")
                return None
            return AddressPrefix(text, net)
        addr = ipaddress.ip_address(text)
        return AddressPrefix(text, ipaddress.ip_network(f"{addr}/{addr.max_prefixlen}"))
    except ValueError:
        pass
    if text.lower().split(".")[0] in KNOWN_AZURE_TAGS or text.lower() in KNOWN_AZURE_TAGS:
        problems.add(path, f"service tag {shown(text)} exists in Azure but is not modelled here (the simulated cluster has no Azure "
                           "services); supported tags: VirtualNetwork, AzureLoadBalancer, Internet")
    else:
        problems.add(path, f"{shown(text)} is not '*', an IP address, a CIDR or a service tag (VirtualNetwork, AzureLoadBalancer, Internet)")
    return None


def _ports(rule: Mapping[str, Any], singular: str, path: list[str | int], problems: Problems) -> tuple[PortRange, ...]:
    found = _one_of(rule, singular, path, problems)
    if found is None:
        return ()
    values, fpath, plural = found
    out = []
    for i, value in enumerate(values):
        vpath = [*fpath, i] if plural else fpath
        rng = _port_range(value, vpath, problems, allow_any=not plural)
        if rng is not None:
            out.append(rng)
    return tuple(out) if len(out) == len(values) else ()


def _port_range(value: Any, path: list[str | int], problems: Problems, *, allow_any: bool) -> PortRange | None:
    text = str(value).strip()
    if text == "*":
        if allow_any:
            return PortRange()
        problems.add(path, "'*' cannot be used in a list of port ranges; write the singular field with '*'")
        return None
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
    if not m:
        problems.add(path, f"{shown(text)} is not a port or range: expected '*', '80' or '1000-2000'")
        return None
    low = int(m.group(1))
    high = int(m.group(2)) if m.group(2) else low
    if not (0 <= low <= 65535 and 0 <= high <= 65535):
        problems.add(path, f"{shown(text)}: ports must be between 0 and 65535")
        return None
    if low > high:
        problems.add(path, f"{shown(text)}: the range must go from low to high")
        return None
    return PortRange(low, high)


def _check_unique(rules: Sequence[tuple[int, SecurityRule]], base: list[str | int], problems: Problems) -> None:
    names: dict[str, int] = {}
    seen: dict[tuple[NsgDirection, int], str] = {}
    for i, rule in rules:
        if rule.name in names:
            problems.items.append(FieldProblem(problems.document, field_path([*base, i, "name"]),
                                               f"duplicate rule name {shown(rule.name)} (also at {field_path([*base, names[rule.name]])})"))
        names.setdefault(rule.name, i)
        key = (rule.direction, rule.priority)
        if key in seen:
            problems.items.append(FieldProblem(problems.document, field_path([*base, i, "priority"]),
                                               f"rules {shown(seen[key])} and {shown(rule.name)} have the same priority {rule.priority} "
                                               f"and direction {rule.direction.value}"))
        seen.setdefault(key, rule.name)
