"""Name, label and port validation exactly as the API server does it
(k8s.io/apimachinery/pkg/util/validation and .../apis/meta/v1/validation)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import FieldProblem, ManifestError, field_path
from ..model import LabelSelector, Labels, Requirement, SelectorOperator
from ..model.cluster import IPNetwork
from .bounded_yaml import not_a_string, shown

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])*$")


class Problems:
    """Collects field problems for one document, then raises them all at once."""

    def __init__(self, document: str) -> None:
        self.document = document
        self.items: list[FieldProblem] = []

    def add(self, path: Sequence[str | int], message: str) -> None:
        self.items.append(FieldProblem(self.document, field_path(path), message))

    def extend(self, problems: Sequence[FieldProblem]) -> None:
        self.items.extend(problems)

    def raise_if_any(self) -> None:
        if self.items:
            raise ManifestError(self.items)


def dns1123_label_errors(value: str) -> list[str]:
    out = []
    if len(value) > 63:
        out.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.match(value):
        out.append("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character")
    return out


def dns1123_subdomain_errors(value: str) -> list[str]:
    out = []
    if len(value) > 253:
        out.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.match(value):
        out.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
    return out


def qualified_name_errors(value: str) -> list[str]:
    """Label keys: ``[prefix/]name`` with a DNS-subdomain prefix and a 63-character name."""
    prefix, sep, name = value.rpartition("/")
    out = []
    if sep:
        if not prefix:
            out.append("prefix part must be non-empty")
        else:
            out += [f"prefix part {m}" for m in dns1123_subdomain_errors(prefix)]
    if not name:
        out.append("name part must be non-empty")
    elif len(name) > 63:
        out.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_NAME.match(name):
        out.append("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character")
    return out


def label_value_errors(value: str) -> list[str]:
    out = []
    if len(value) > 63:
        out.append("must be no more than 63 characters")
    if not _LABEL_VALUE.match(value):
        out.append("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character")
    return out


def port_name_errors(value: str) -> list[str]:
    """IANA_SVC_NAME, as ``validation.IsValidPortName``."""
    out = []
    if len(value) > 15:
        out.append("must be no more than 15 characters")
    if not _IANA_SVC_NAME.match(value):
        out.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    elif "--" in value:
        out.append("must not contain consecutive hyphens")
    if not re.search(r"[a-z]", value):
        out.append("must contain at least one letter (a-z)")
    return out


def port_number_errors(value: int) -> list[str]:
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]


def string_map_problems(raw: Any, path: Sequence[str | int], problems: Problems) -> bool:
    """``map[string]string`` as the API server decodes it (labels, annotations, matchLabels):
    a mapping whose values are strings (or null). An unquoted ``y``, ``yes``, ``on`` or ``1.10`` is a
    boolean or a number to kubectl's YAML, and the API server refuses it. False if anything was wrong."""
    if raw is None:
        return True
    if not isinstance(raw, Mapping):
        problems.add(path, f"expected a mapping of strings, got {type(raw).__name__} {shown(raw)}")
        return False
    ok = True
    for key, value in raw.items():
        if value is not None and not isinstance(value, str):
            problems.add([*path, shown(str(key))[1:-1]], not_a_string(value))
            ok = False
    return ok


def parse_labels(raw: Any, path: Sequence[str | int], problems: Problems) -> Labels:
    if raw is None or not string_map_problems(raw, path, problems):
        return Labels()
    out: dict[str, str] = {}
    for key, value in raw.items():
        shown_key = shown(str(key))[1:-1]
        for msg in qualified_name_errors(str(key)):
            problems.add([*path, shown_key], f"invalid label key {shown(key)}: {msg}")
        text = "" if value is None else str(value)
        for msg in label_value_errors(text):
            problems.add([*path, shown_key], f"invalid label value {shown(text)}: {msg}")
        out[str(key)] = text
    return Labels(out)


def parse_selector(raw: Mapping[str, Any] | None, path: Sequence[str | int], problems: Problems) -> LabelSelector:
    """``metav1.LabelSelector`` with ``ValidateLabelSelector`` semantics. ``None``/``{}`` select all."""
    if not raw:
        return LabelSelector()
    labels = parse_labels(raw.get("matchLabels"), [*path, "matchLabels"], problems)
    reqs = []
    for i, expr in enumerate(raw.get("matchExpressions") or []):
        epath = [*path, "matchExpressions", i]
        key = str(expr.get("key", ""))
        for msg in qualified_name_errors(key):
            problems.add([*epath, "key"], f"invalid key {shown(key)}: {msg}")
        op_text = expr.get("operator")
        raw_values = expr.get("values") or []
        if not isinstance(raw_values, list):
            problems.add([*epath, "values"], f"expected a list of strings, got {type(raw_values).__name__} {shown(raw_values)}")
            raw_values = []
        for j, v in enumerate(raw_values):
            if not isinstance(v, str):
                problems.add([*epath, "values", j], not_a_string(v))
        values = [str(v) for v in raw_values]
        try:
            op = SelectorOperator(op_text)
        except ValueError:
            problems.add([*epath, "operator"], f"{shown(op_text)} is not a valid selector operator: expected In, NotIn, Exists or DoesNotExist")
            continue
        if op in (SelectorOperator.IN, SelectorOperator.NOT_IN) and not values:
            problems.add([*epath, "values"], "must be specified when `operator` is 'In' or 'NotIn'")
        if op in (SelectorOperator.EXISTS, SelectorOperator.DOES_NOT_EXIST) and values:
            problems.add([*epath, "values"], "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        for j, v in enumerate(values):
            for msg in label_value_errors(v):
                problems.add([*epath, "values", j], f"invalid label value {shown(v)}: {msg}")
        reqs.append(Requirement(key, op, tuple(sorted(set(values)))))
    return LabelSelector(labels, tuple(sorted(reqs, key=lambda r: (r.key, r.operator, r.values))))


def parse_cidr(text: str, path: Sequence[str | int], problems: Problems) -> IPNetwork | None:
    """A CIDR as ``IsValidCIDRForLegacyField`` accepts it; host bits are masked off (as ParseCIDRSloppy does)."""
    try:
        if "/" not in text:
            raise ValueError("missing prefix length")
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        problems.add(path, f"{shown(text)} must be a valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)")
        return None


def parse_metadata(body: Mapping[str, Any], problems: Problems, *, namespaced: bool, default_namespace: str) -> tuple[str, str]:
    """Validate ``metadata.name``/``namespace``; returns (namespace, name) with the namespace defaulted."""
    meta = body.get("metadata") or {}
    name = str(meta.get("name") or "")
    if not name:
        problems.add(["metadata", "name"], "name is required")
    else:
        for msg in dns1123_subdomain_errors(name):
            problems.add(["metadata", "name"], f"invalid name {shown(name)}: {msg}")
    namespace = str(meta.get("namespace") or default_namespace) if namespaced else ""
    if namespaced:
        for msg in dns1123_label_errors(namespace):
            problems.add(["metadata", "namespace"], f"invalid namespace {shown(namespace)}: {msg}")
    # ObjectMeta of every kind, custom resources included, decodes labels and annotations as map[string]string.
    string_map_problems(meta.get("labels"), ["metadata", "labels"], problems)
    string_map_problems(meta.get("annotations"), ["metadata", "annotations"], problems)
    return namespace, name
