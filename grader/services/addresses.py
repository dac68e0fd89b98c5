"""Which external addresses are in use, so that every new Gateway, LoadBalancer Service and
namespace of Ingresses gets one of its own.

Upstream each of them is a separate Envoy container on the docker network ``kind`` whose container
address is the object's address: cloud-provider-kind names one container per Gateway
(``pkg/gateway/envoy.go`` ``gatewayName(clusterName, namespace, name)``, "a unique name for the
gateway container"), one per LoadBalancer Service (``pkg/loadbalancer``), and one singleton Gateway
per namespace with Ingresses (``pkg/ingress/README.md``, "Singleton Namespace Gateway"). Docker
never hands one address to two containers, and the Gateway API conformance suite creates several
Gateways in one file (``conformance/base/manifests.yaml``: ``same-namespace``,
``same-namespace-with-https-listener``, ``all-namespaces``, ``backend-namespaces``) and expects
each to be reachable at its own address.

So an address is *held* from the moment an object is admitted, before it is stored: objects of
one ``apply`` see each other's addresses, whatever their kinds and order in the manifest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model.cluster import IPAddress


def held_address(kind: str, obj: Any) -> IPAddress | None:
    """The external address an object of ``kind`` holds (LoadBalancer Service, Gateway), if any."""
    if kind == "Service":
        ip: IPAddress | None = getattr(obj, "load_balancer_ip", None)
        return ip
    if kind == "Gateway":
        gw_ip: IPAddress | None = getattr(obj, "address", None)
        return gw_ip
    return None


def held_addresses(objects: Iterable[tuple[str, Any]]) -> set[IPAddress]:
    """Addresses held by ``(kind, object)`` pairs: stored objects and those admitted in the current apply."""
    return {ip for kind, obj in objects if (ip := held_address(kind, obj)) is not None}


def next_free(candidates: Iterable[IPAddress], taken: Iterable[IPAddress]) -> IPAddress | None:
    """The first candidate nobody holds (candidates come in the provider's order)."""
    busy = set(taken)
    return next((ip for ip in candidates if ip not in busy), None)
