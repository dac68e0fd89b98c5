"""Result types both backends return, beside the contract (``grader.lab.base``), and the table
of machines outside the cluster every lab has.

The simulated cluster builds them from its model, the live backend from what the API server
says (``grader.kind.views``); lessons and checks read them without knowing which backend answered.
Other result types live with their engines: ``ServiceInfo``, ``EndpointsInfo``, ``Distribution``
(``grader.services``), ``GatewayStatus``/``RouteStatus`` (``grader.gateway``), ``Lookup``
(``grader.dns``), ``ProbeResult`` and ``ReachabilityMatrix`` (``grader.reachability``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..model import ContainerPort, ExternalHost, Protocol
from ..services import ServiceInfo, services_table


@dataclass(frozen=True, slots=True)
class IngressStatus:
    """Which controller serves an Ingress, at which address, or why none does."""

    ingress: str
    class_name: str | None
    controller: str | None
    reason: str
    address: str | None = None

    @property
    def served(self) -> bool:
        return self.controller is not None

    def render(self) -> str:
        if self.controller is None:
            return f"ingress {self.ingress}: not served: {self.reason}"
        addr = self.address or "<pending>"
        return f"ingress {self.ingress}: served by {self.controller} ({self.reason}), address {addr}"

    __str__ = render


@dataclass(frozen=True, slots=True)
class ServiceList:
    rows: tuple[ServiceInfo, ...]

    def __iter__(self) -> Iterator[ServiceInfo]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> ServiceInfo:
        return self.rows[i]

    def render(self) -> str:
        return services_table(self.rows)

    __str__ = render

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([r.as_row() for r in self.rows])


def default_external_hosts() -> dict[str, ExternalHost]:
    """Hosts outside the cluster that every lab has (addresses are documentation ranges, RFC 5737)."""
    web = (ContainerPort(80, Protocol.TCP, "http"), ContainerPort(443, Protocol.TCP, "https"))
    hosts = [
        ExternalHost("host", ipaddress.ip_address("172.18.0.1"), "host",
                     "the learner's machine (on Linux, the kind network's gateway)", ()),
        ExternalHost("vm.internal", ipaddress.ip_address("172.18.0.100"), "vnet",
                     "a VM on the node network, like a VM in the AKS cluster's virtual network", web),
        ExternalHost("api.example.com", ipaddress.ip_address("203.0.113.10"), "internet",
                     "a public API on the internet (TEST-NET-3 documentation address)", web),
        ExternalHost("blocked.example.net", ipaddress.ip_address("198.51.100.20"), "internet",
                     "another internet service, for egress rules that allow one host and not another", web),
    ]
    return {h.name: h for h in hosts}


__all__ = ["IngressStatus", "ServiceList", "default_external_hosts"]
