"""The names of probe sources and destinations, parsed once.

Both backends and ``grader.checks`` read endpoint names only through :func:`parse_endpoint`; no
other module takes them apart with ``startswith``/``partition``/regexes
(``tests/reachability/test_endpoints.py`` greps ``grader/`` for that). The grammar
(``docs/architecture.md``, "Endpoint names"):

=============================  ==========================  =====================================
text                           parsed as                   meaning
=============================  ==========================  =====================================
``shop/web``                   :class:`PodName`            a pod (``namespace/name``)
``node:kind-worker``           :class:`NodeName`           a node (its host network)
``node:kind-worker:30080``     :class:`NodePort`           a Service's nodePort on that node
``host``                       :class:`ExternalName`       the learner's machine
``api.example.com``            :class:`ExternalName`       a machine outside the cluster the lab
                                                           knows (``external=`` names it)
``10.96.0.10``, ``fd00::1``    :class:`Address`            whatever owns that address
``web``, ``web.shop``, ...     :class:`DnsName`            resolved as the source resolves it
=============================  ==========================  =====================================

``str()`` of every parsed endpoint gives back the text it was parsed from (canonical form: an IPv6
address is printed compressed), so ``parse_endpoint(str(e)) == e``.

Object references (``service/<ns>/<name>``) are not endpoints: ``ObjectKey.parse`` reads those,
and :func:`label_target` reads what ``Lab.label`` is given (``ns/pod`` or ``namespace/<name>``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass

from ..errors import LabError
from ..model import PodRef
from ..model.cluster import IPAddress

NODE_PREFIX = "node:"
HOST = "host"
"""The learner's machine (outside the cluster, on the node network's gateway)."""
_MAX_PORT = 65535


@dataclass(frozen=True, slots=True)
class PodName:
    namespace: str
    name: str

    @property
    def ref(self) -> PodRef:
        return PodRef(self.namespace, self.name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class NodeName:
    node: str

    def __str__(self) -> str:
        return f"{NODE_PREFIX}{self.node}"


@dataclass(frozen=True, slots=True)
class NodePort:
    """``node:<name>:<nodePort>``: a Service's nodePort on that node."""

    node: str
    port: int

    @property
    def on(self) -> NodeName:
        return NodeName(self.node)

    def __str__(self) -> str:
        return f"{NODE_PREFIX}{self.node}:{self.port}"


@dataclass(frozen=True, slots=True)
class ExternalName:
    """A machine outside the cluster the lab knows by name (``host`` is the learner's machine)."""

    name: str

    @property
    def is_host(self) -> bool:
        return self.name == HOST

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Address:
    ip: IPAddress

    def __str__(self) -> str:
        return str(self.ip)


@dataclass(frozen=True, slots=True)
class DnsName:
    """A name the source resolves (search path, ndots): ``web``, ``web.shop``, ``api.example.com``."""

    name: str

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.name.rstrip(".").split("."))

    def __str__(self) -> str:
        return self.name


EndpointName = PodName | NodeName | NodePort | ExternalName | Address | DnsName


def parse_endpoint(text: str, *, external: Collection[str] = (), field: str = "endpoint") -> EndpointName:
    """``text`` as one of the endpoint types; ``external`` lists the names of the lab's outside
    machines (they parse as :class:`ExternalName` instead of :class:`DnsName`; ``host`` always does).

    Raises :class:`LabError` naming ``field`` (``source``, ``destination``...) for text that is
    none of them: empty, ``node:`` without a name, a nodePort that is not a number in 1-65535,
    ``a/b/c``, whitespace.
    """
    if not isinstance(text, str):
        raise LabError(f"{field}: expected an endpoint name (text), got {type(text).__name__}")
    if not text or text != text.strip() or any(c.isspace() for c in text):
        raise LabError(f"{field}: {text!r} is not an endpoint name (empty or contains whitespace)")
    if text.startswith(NODE_PREFIX):
        return _node(text, field)
    if "/" in text:
        try:
            ref = PodRef.parse(text)
        except ValueError:
            raise LabError(f"{field}: {text!r} is not a pod: expected 'namespace/pod'") from None
        return PodName(ref.namespace, ref.name)
    try:
        return Address(ipaddress.ip_address(text))
    except ValueError:
        pass
    if text == HOST or text in external:
        return ExternalName(text)
    if ":" in text:
        raise LabError(f"{field}: {text!r} is not an endpoint name: a node port is 'node:<name>:<nodePort>'")
    return DnsName(text)


def _node(text: str, field: str) -> NodeName | NodePort:
    node, sep, port = text[len(NODE_PREFIX):].partition(":")
    if not node:
        raise LabError(f"{field}: {text!r} names no node: expected 'node:<name>' or 'node:<name>:<nodePort>'")
    if not sep:
        return NodeName(node)
    if not port.isdigit() or not 1 <= int(port) <= _MAX_PORT:
        raise LabError(f"{field}: {text!r}: the nodePort must be a number from 1 to {_MAX_PORT}, not {port!r}")
    return NodePort(node, int(port))


def try_parse(text: str, *, external: Collection[str] = ()) -> EndpointName | None:
    """:func:`parse_endpoint`, or None for text that is not an endpoint name."""
    try:
        return parse_endpoint(text, external=external)
    except LabError:
        return None


def pod_namespace(text: str) -> str | None:
    """The namespace of a pod endpoint (``shop/web`` → ``shop``), None for any other endpoint."""
    parsed = try_parse(text)
    return parsed.namespace if isinstance(parsed, PodName) else None


@dataclass(frozen=True, slots=True)
class NamespaceName:
    """``namespace/<name>`` as ``Lab.label`` is given it."""

    name: str

    def __str__(self) -> str:
        return f"namespace/{self.name}"


def label_target(text: str) -> PodName | NamespaceName:
    """What ``Lab.label`` changes: a pod (``ns/pod``) or a namespace (``namespace/<name>``)."""
    if text.startswith("namespace/"):
        name = text.removeprefix("namespace/")
        if not name or "/" in name:
            raise LabError(f"target: {text!r} is not a namespace: expected 'namespace/<name>'")
        return NamespaceName(name)
    parsed = try_parse(text)
    if not isinstance(parsed, PodName):
        raise LabError(f"target: {text!r} is neither a pod ('namespace/pod') nor a namespace ('namespace/<name>')")
    return parsed


__all__ = [
    "HOST", "Address", "DnsName", "EndpointName", "ExternalName", "NamespaceName", "NodeName", "NodePort", "PodName",
    "label_target", "parse_endpoint", "pod_namespace", "try_parse",
]
