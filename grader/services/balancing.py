"""How kube-proxy picks one endpoint per connection, reproducibly.

kube-proxy's iptables mode picks with ``-m statistic --mode random --probability 1/n, 1/(n-1)…``
and nftables with ``numgen random mod n``: a uniform random choice per new connection
(kubernetes ``pkg/proxy/iptables/proxier.go`` writeServiceToEndpointRules; nftables proxier).
Here the randomness comes from a seeded generator, so a lesson's distribution is the same on
every run. ``sessionAffinity: ClientIP`` (``-m recent --rcheck --seconds <timeout>``) sends a
client address back to the endpoint it got first while that endpoint stays eligible.
Envoy and ingress controllers spread requests over upstream endpoints too; they use the same
seeded generator.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from ..model.services import Service, SessionAffinity
from .endpoints import Backend

T = TypeVar("T")


class Balancer:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        self._rng = random.Random(self.seed)
        self._affinity: dict[tuple[str, int, str, str], Backend] = {}

    def choice(self, items: Sequence[T]) -> T:
        return items[0] if len(items) == 1 else items[self._rng.randrange(len(items))]

    def weighted(self, items: Sequence[T], weights: Sequence[int]) -> T | None:
        total = sum(weights)
        if total <= 0:
            return None
        point = self._rng.randrange(total)
        for item, weight in zip(items, weights, strict=True):
            if point < weight:
                return item
            point -= weight
        return items[-1]

    def pick(self, service: Service, port: int, backends: Sequence[Backend], client_ip: str) -> tuple[Backend, str]:
        """One backend for a new connection, and a note when session affinity decided it."""
        if service.session_affinity is SessionAffinity.CLIENT_IP:
            key = (service.namespace, port, service.name, client_ip)
            remembered = self._affinity.get(key)
            if remembered is not None and remembered in backends:
                return remembered, f"sessionAffinity: ClientIP pins {client_ip} to {remembered.label}"
            chosen = self.choice(backends)
            self._affinity[key] = chosen
            return chosen, f"sessionAffinity: ClientIP: {client_ip} is now pinned to {chosen.label} (for {service.affinity_timeout}s)"
        return self.choice(backends), ""
