"""What lessons look at: Services as ``kubectl get svc`` shows them, endpoints, and how requests
spread over pods. Frozen, sorted, with text and DataFrame forms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..model.services import Service, ServiceType
from .endpoints import PortEndpoints


def _port_text(svc: Service) -> str:
    parts = []
    for p in svc.ports:
        text = str(p.port)
        if p.node_port:
            text += f":{p.node_port}"
        parts.append(f"{text}/{p.protocol}")
    return ",".join(parts) or "<none>"


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """One row of ``kubectl get svc -o wide``."""

    namespace: str
    name: str
    type: str
    cluster_ip: str
    external_ip: str
    ports: str
    selector: str
    ready_endpoints: int
    service: Service

    @classmethod
    def of(cls, svc: Service, ready: int) -> ServiceInfo:
        if svc.type is ServiceType.EXTERNAL_NAME:
            cluster_ip, external = "<none>", svc.external_name or ""
        else:
            cluster_ip = "None" if svc.headless else str(svc.cluster_ip)
            if svc.type is ServiceType.LOAD_BALANCER:
                external = str(svc.load_balancer_ip) if svc.load_balancer_ip is not None else "<pending>"
            else:
                external = "<none>"
        selector = "<none>" if svc.selector is None else (",".join(f"{k}={v}" for k, v in svc.selector.items()) or "<all pods>")
        return cls(svc.namespace, svc.name, str(svc.type), cluster_ip, external, _port_text(svc), selector, ready, svc)

    def as_row(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace, "name": self.name, "type": self.type, "cluster-ip": self.cluster_ip,
            "external-ip": self.external_ip, "ports": self.ports, "selector": self.selector, "ready endpoints": self.ready_endpoints,
        }


def services_table(rows: Sequence[ServiceInfo]) -> str:
    headers = ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "SELECTOR"]
    data = [[r.namespace, r.name, r.type, r.cluster_ip, r.external_ip, r.ports, r.selector] for r in rows]
    widths = [max(len(h), *(len(d[i]) for d in data)) if data else len(h) for i, h in enumerate(headers)]
    lines = ["   ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["   ".join(c.ljust(w) for c, w in zip(d, widths, strict=True)).rstrip() for d in data]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class EndpointsInfo:
    """The endpoints of a Service, port by port, ready and not."""

    service: str
    ports: tuple[PortEndpoints, ...]

    @property
    def ready(self) -> tuple[str, ...]:
        """Pods (or addresses) that receive traffic, sorted."""
        return tuple(sorted({b.label for pe in self.ports for b in pe.ready}))

    @property
    def not_ready(self) -> tuple[str, ...]:
        return tuple(sorted({b.label for pe in self.ports for b in pe.not_ready} - set(self.ready)))

    def addresses(self, port: int | str | None = None) -> tuple[str, ...]:
        """``ip:port`` of the ready endpoints (of one Service port, by number or name)."""
        out = []
        for pe in self.ports:
            if port is not None and port not in (pe.port.port, pe.port.name):
                continue
            out += [f"{b.ip}:{b.port}" for b in pe.ready]
        return tuple(sorted(out))

    def render(self) -> str:
        lines = [f"endpoints of {self.service}:"]
        if not self.ports:
            lines.append("  (no ports: a headless Service without ports only publishes DNS records)")
        for pe in self.ports:
            name = f" ({pe.port.name})" if pe.port.name else ""
            lines.append(f"  port {pe.port.port}/{pe.port.protocol}{name} → targetPort {pe.port.target_port}")
            if not pe.backends:
                lines.append("    (none)")
            lines += [f"    {b.render()}" for b in pe.backends]
            lines += [f"    left out: {e.pod} {e.reason}" for e in pe.excluded]
        return "\n".join(lines)

    __str__ = render


@dataclass(frozen=True, slots=True)
class Distribution:
    """Which pod answered N requests from one client to one destination."""

    source: str
    destination: str
    requests: int
    counts: tuple[tuple[str, int], ...]
    """(answered by, number of requests), sorted by name."""
    failures: tuple[tuple[str, int], ...] = ()
    """(verdict, number of requests) for requests no pod answered."""

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)

    def share(self, name: str) -> float:
        return dict(self.counts).get(name, 0) / self.requests if self.requests else 0.0

    def to_frame(self) -> Any:
        import pandas as pd

        rows = [{"answered_by": k, "requests": v, "share": v / self.requests} for k, v in self.counts]
        rows += [{"answered_by": f"({k})", "requests": v, "share": v / self.requests} for k, v in self.failures]
        return pd.DataFrame(rows, columns=["answered_by", "requests", "share"]).set_index("answered_by")

    def render(self) -> str:
        width = max([len(k) for k, _ in self.counts + self.failures] or [1])
        lines = [f"{self.requests} requests {self.source} → {self.destination}:"]
        for k, v in self.counts:
            bar = "█" * round(40 * v / self.requests) if self.requests else ""
            lines.append(f"  {k.ljust(width)} {v:5d} {bar}")
        for k, v in self.failures:
            lines.append(f"  {('(' + k + ')').ljust(width)} {v:5d}")
        return "\n".join(lines)

    __str__ = render

    @classmethod
    def count(cls, source: str, destination: str, answers: Sequence[str | None], verdicts: Sequence[str]) -> Distribution:
        counts: dict[str, int] = {}
        failures: dict[str, int] = {}
        for who, verdict in zip(answers, verdicts, strict=True):
            if who is None:
                failures[verdict] = failures.get(verdict, 0) + 1
            else:
                counts[who] = counts.get(who, 0) + 1
        return cls(source, destination, len(answers), tuple(sorted(counts.items())), tuple(sorted(failures.items())))


def as_mapping(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items()))
