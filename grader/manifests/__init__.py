"""Parsing layer: YAML in, validated and defaulted model objects out.

``parse_manifests`` is the one entry point. It loads every document, checks it against the
Kubernetes schema, then runs the kind's own parser, which applies the API server's validation and
defaulting. All problems of all documents are reported together, each with document and field path.

To support a new kind, write ``parse_<kind>(doc, default_namespace) -> model object`` and add it to
``PARSERS``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import FieldProblem, ManifestError
from .bounded_yaml import capped_problem, shown, with_source
from .cilium import parse_cilium_clusterwide_network_policy, parse_cilium_network_policy
from .core import parse_namespace, parse_pod
from .documents import Document, ManifestSource, load_documents
from .gateway import parse_gateway, parse_gateway_class, parse_http_route, parse_reference_grant
from .ingress import parse_ingress, parse_ingress_class
from .networkpolicy import parse_network_policy
from .schema import has_schema, schema_problems
from .services import parse_deployment, parse_endpoint_slice, parse_secret, parse_service

Parser = Callable[[Document, str], Any]

PARSERS: dict[tuple[str, str], Parser] = {
    ("v1", "Namespace"): parse_namespace,
    ("v1", "Pod"): parse_pod,
    ("networking.k8s.io/v1", "NetworkPolicy"): parse_network_policy,
    # Services, workloads, Ingress and Gateway API (services-ingress issue)
    ("v1", "Service"): parse_service,
    ("v1", "Secret"): parse_secret,
    ("apps/v1", "Deployment"): parse_deployment,
    ("discovery.k8s.io/v1", "EndpointSlice"): parse_endpoint_slice,
    ("networking.k8s.io/v1", "Ingress"): parse_ingress,
    ("networking.k8s.io/v1", "IngressClass"): parse_ingress_class,
    ("gateway.networking.k8s.io/v1", "GatewayClass"): parse_gateway_class,
    ("gateway.networking.k8s.io/v1", "Gateway"): parse_gateway,
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): parse_http_route,
    ("gateway.networking.k8s.io/v1", "ReferenceGrant"): parse_reference_grant,
    # v1beta1 of GatewayClass, Gateway and HTTPRoute is still served by the Gateway API CRDs the
    # course pins (fact gateway-api-v1beta1-served: v1.6.1 standard channel, `served: true`,
    # `storage: false`, no `deprecated` flag) with a schema identical to v1 but for descriptions,
    # and the Go types are aliases of v1's: the same objects, so the same parsers.
    ("gateway.networking.k8s.io/v1beta1", "GatewayClass"): parse_gateway_class,
    ("gateway.networking.k8s.io/v1beta1", "Gateway"): parse_gateway,
    ("gateway.networking.k8s.io/v1beta1", "HTTPRoute"): parse_http_route,
    ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"): parse_reference_grant,
    ("cilium.io/v2", "CiliumNetworkPolicy"): parse_cilium_network_policy,
    ("cilium.io/v2", "CiliumClusterwideNetworkPolicy"): parse_cilium_clusterwide_network_policy,
}
"""(apiVersion, kind) -> parser. Other layers extend this table at import time of ``grader.manifests``."""

CLUSTER_SCOPED = {"Namespace", "IngressClass", "GatewayClass", "CiliumClusterwideNetworkPolicy", "NetworkSecurityGroup"}


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """Identity of an object in a cluster: kind, namespace ('' when cluster-scoped), name."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.namespace + '/' if self.namespace else ''}{self.name}"

    @classmethod
    def parse(cls, text: str, default_namespace: str = "default") -> ObjectKey:
        """``kind/name`` or ``kind/namespace/name`` as kubectl spells them (``netpol/shop/db``,
        ``ingressclass/nginx``). Raises ValueError for anything else."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"{shown(text)}: expected kind/namespace/name (or kind/name in {default_namespace})")
        kind = kind_from_alias(parts[0])
        if kind in CLUSTER_SCOPED:
            return cls(kind, "", parts[-1])
        if len(parts) == 2:
            return cls(kind, default_namespace, parts[1])
        return cls(kind, parts[1], parts[2])


@dataclass(frozen=True, slots=True)
class Manifest:
    """One parsed object: its identity, the raw body (namespace filled in) and the model object."""

    key: ObjectKey
    api_version: str
    body: dict[str, Any] = field(compare=False, repr=False)
    obj: Any = field(compare=False)


def parse_manifests(source: ManifestSource, *, default_namespace: str = "default") -> list[Manifest]:
    """Parse every object in ``source``.

    Raises:
        ManifestError: listing every problem of every document (YAML, schema, API-server rules,
            unsupported kinds), so a learner fixes them in one go.
    """
    try:
        docs = load_documents(source)
    except ManifestError as exc:
        raise ManifestError([capped_problem(p) for p in exc.problems]) from None
    problems: list[FieldProblem] = []
    out: list[Manifest] = []
    for doc in docs:
        if not doc.kind or not doc.api_version:
            missing = [k for k in ("apiVersion", "kind") if not doc.body.get(k)]
            problems.append(FieldProblem(doc.label, "", f"{' and '.join(missing)} required"))
            continue
        parser = PARSERS.get((doc.api_version, doc.kind))
        if parser is None:
            problems.append(FieldProblem(doc.label, "", _unsupported(doc)))
            continue
        found = schema_problems(doc.body, doc.label)
        if found:
            problems.extend(with_source(found, doc.plain_scalars))
            continue
        try:
            obj = parser(doc, default_namespace)
        except ManifestError as exc:
            problems.extend(with_source(list(exc.problems), doc.plain_scalars))
            continue
        namespace = "" if doc.kind in CLUSTER_SCOPED else getattr(obj, "namespace", default_namespace)
        body = copy.deepcopy(doc.body)
        if namespace:
            body.setdefault("metadata", {})["namespace"] = namespace
        out.append(Manifest(ObjectKey(doc.kind, namespace, doc.name), doc.api_version, body, obj))
    if problems:
        raise ManifestError([capped_problem(p) for p in problems])
    return out


SHORT_NAMES = {
    "netpol": "NetworkPolicy", "ns": "Namespace", "svc": "Service", "ing": "Ingress", "cnp": "CiliumNetworkPolicy", "ccnp": "CiliumClusterwideNetworkPolicy", "nsg": "NetworkSecurityGroup",
    "deploy": "Deployment", "endpointslice": "EndpointSlice", "gtw": "Gateway", "gw": "Gateway", "gc": "GatewayClass", "gatewayclass": "GatewayClass",
    "httproute": "HTTPRoute", "route": "HTTPRoute", "referencegrant": "ReferenceGrant", "refgrant": "ReferenceGrant", "ingressclass": "IngressClass",
}


def kind_from_alias(text: str) -> str:
    """``networkpolicy``, ``netpol`` or ``NetworkPolicy`` -> ``NetworkPolicy`` (as kubectl resolves them)."""
    lower = text.lower()
    if lower in SHORT_NAMES:
        return SHORT_NAMES[lower]
    for _, kind in PARSERS:
        if kind.lower() in (lower, lower.removesuffix("s"), lower.removesuffix("es")):
            return kind
    raise ValueError(f"unknown kind {shown(text)}; known: {', '.join(sorted({k for _, k in PARSERS}))}")


def _unsupported(doc: Document) -> str:
    same_kind = sorted(api for api, kind in PARSERS if kind == doc.kind)
    if same_kind:
        return f"apiVersion {shown(doc.api_version)} is not served for kind {doc.kind}: expected {' or '.join(same_kind)}"
    kinds = ", ".join(sorted({kind for _, kind in PARSERS}))
    return f"kind {shown(doc.kind)} ({shown(doc.api_version)[1:-1]}) is not supported by the lab; supported kinds: {kinds}"


__all__ = ["CLUSTER_SCOPED", "SHORT_NAMES", "kind_from_alias", "Document", "Manifest", "ManifestSource", "ObjectKey", "PARSERS", "has_schema", "load_documents", "parse_manifests"]
