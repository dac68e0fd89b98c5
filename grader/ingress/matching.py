"""Host and path matching for Ingress rules (kubernetes.io "Ingress" concept page).

* Hosts: exact match of the Host header (port removed, case-insensitive), or a wildcard
  ``*.foo.com`` that matches exactly one more label (``bar.foo.com`` yes, ``baz.bar.foo.com`` and
  ``foo.com`` no) -- "wildcard only covers a single DNS label". An exact host wins over a wildcard.
* ``Exact``: the URL path equals the rule's path (case-sensitive; ``/foo`` does not match ``/foo/``).
* ``Prefix``: element-wise on ``/``-separated elements: ``/foo/bar`` matches ``/foo/bar`` and
  ``/foo/bar/baz``, not ``/foo/barbaz``; a trailing slash on either side is ignored; ``/`` matches
  everything.
* ``ImplementationSpecific``: up to the IngressClass; the controllers modelled here treat it as
  ``Prefix`` (ingress-nginx does, unless its regex annotations are used) and say so.
* Several paths match: the longest path wins; on equal length ``Exact`` beats ``Prefix``.
"""

from __future__ import annotations

from ..model.ingress import PathType


def strip_port(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_matches(rule_host: str, request_host: str, *, wildcard_one_label: bool = True) -> bool:
    rule_host, request_host = rule_host.lower(), strip_port(request_host)
    if not rule_host.startswith("*."):
        return rule_host == request_host
    suffix = rule_host[1:]  # ".foo.com"
    if not request_host.endswith(suffix):
        return False
    head = request_host[: -len(suffix)]
    if not head:
        return False
    return "." not in head if wildcard_one_label else True


def host_rank(rule_host: str | None) -> tuple[int, int]:
    """Sort key: exact hosts first, then wildcards by length (longest suffix first), then no host."""
    if rule_host is None:
        return (2, 0)
    if rule_host.startswith("*."):
        return (1, -len(rule_host))
    return (0, -len(rule_host))


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def path_matches(rule_path: str, path_type: PathType, request_path: str) -> bool:
    request_path = request_path.split("?", 1)[0].split("#", 1)[0] or "/"
    if path_type is PathType.EXACT:
        return request_path == rule_path
    prefix = _elements(rule_path)
    return _elements(request_path)[: len(prefix)] == prefix


def path_rank(rule_path: str, path_type: PathType) -> tuple[int, int]:
    """Sort key for precedence: longest path first, then Exact before Prefix."""
    return (-len(rule_path.rstrip("/") or "/"), 0 if path_type is PathType.EXACT else 1)
