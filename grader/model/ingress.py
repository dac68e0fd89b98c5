"""``networking.k8s.io/v1`` Ingress and IngressClass, validated and immutable."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

IS_DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"


class PathType(StrEnum):
    EXACT = "Exact"
    PREFIX = "Prefix"
    IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"


@dataclass(frozen=True, slots=True)
class IngressBackend:
    """A Service and one of its ports (``port`` is the Service port number or its name), or a
    resource backend (``resource`` = ``Kind/name``), which no controller modelled here serves."""

    service: str | None = None
    port: int | str | None = None
    resource: str | None = None

    def render(self) -> str:
        if self.service is None:
            return f"resource {self.resource}"
        return f"service {self.service}:{self.port}"


@dataclass(frozen=True, slots=True)
class IngressPath:
    path: str
    path_type: PathType
    backend: IngressBackend


@dataclass(frozen=True, slots=True)
class IngressRule:
    host: str | None
    paths: tuple[IngressPath, ...] = ()


@dataclass(frozen=True, slots=True)
class IngressTLS:
    hosts: tuple[str, ...]
    secret_name: str | None


@dataclass(frozen=True, slots=True)
class Ingress:
    namespace: str
    name: str
    class_name: str | None = None
    """``spec.ingressClassName`` (after the DefaultIngressClass admission plugin ran)."""
    class_annotation: str | None = None
    """The deprecated ``kubernetes.io/ingress.class`` annotation, which controllers still honour."""
    rules: tuple[IngressRule, ...] = ()
    tls: tuple[IngressTLS, ...] = ()
    default_backend: IngressBackend | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class IngressClass:
    name: str
    controller: str
    is_default: bool = False
