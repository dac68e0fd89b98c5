"""Cluster DNS as CoreDNS answers it, and name lookup as a pod's resolver performs it.

Sources:
* kubernetes.io "DNS for Services and Pods": ``<service>.<namespace>.svc.<zone>`` A records for
  the clusterIP; headless Services answer with the addresses of their ready endpoints (all of
  them with ``publishNotReadyAddresses``); ExternalName Services answer with a CNAME; a pod's
  ``/etc/resolv.conf`` (dnsPolicy ClusterFirst) is ``nameserver <kube-dns clusterIP>``,
  ``search <ns>.svc.cluster.local svc.cluster.local cluster.local``, ``options ndots:5``.
* The Kubernetes DNS specification (kubernetes/dns ``docs/specification.md``) and CoreDNS's
  ``kubernetes`` plugin: a headless Service without ready endpoints answers NXDOMAIN
  (coredns/coredns#1814, #6210); ``pods insecure`` (kubeadm's Corefile) answers
  ``a-b-c-d.<ns>.pod.cluster.local`` with ``a.b.c.d``; the CNAME target of an ExternalName
  Service is resolved upstream and returned with it; every other name is forwarded to the node's
  resolver (``forward . /etc/resolv.conf``).
* resolv.conf(5): a name with fewer dots than ``ndots`` is tried with each search suffix first,
  then as is; a name with at least ``ndots`` dots is tried as is first; a trailing dot means
  "absolute, no search". Every attempt is a query to the DNS server (hence the well-known cost
  of ``ndots:5`` for external names).

Not modelled: AAAA queries (IPv4 only), SRV records, pod hostname/subdomain records, custom
``dnsPolicy``/``dnsConfig``, NodeLocal DNSCache, negative caching.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..model.cluster import IPAddress
from ..model.services import Service, ServiceType

CLUSTER_DOMAIN = "cluster.local"
NDOTS = 5


class Rcode(StrEnum):
    NOERROR = "NOERROR"
    NXDOMAIN = "NXDOMAIN"


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    type: str
    """``A`` or ``CNAME``."""
    value: str

    def render(self) -> str:
        return f"{self.name}. {self.type} {self.value}"


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to one query."""

    query: str
    rcode: Rcode
    records: tuple[Record, ...] = ()
    source: str = ""
    """Who answered: ``kubernetes`` (CoreDNS's cluster zone), ``upstream``, ``pods insecure``..."""
    note: str = ""

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(r.value for r in self.records if r.type == "A")

    def render(self) -> str:
        head = f"{self.query}. → {self.rcode}"
        if self.records:
            head += ": " + ", ".join(f"{r.type} {r.value}" for r in self.records)
        if self.note:
            head += f" ({self.note})"
        return head


@dataclass(frozen=True, slots=True)
class Lookup:
    """A name resolved the way the client's resolver does it: every query it sent, in order."""

    name: str
    client: str
    resolver: str
    """``kube-dns (10.96.0.10)`` for pods, ``node resolver`` for nodes and machines outside."""
    answers: tuple[Answer, ...] = ()
    search: tuple[str, ...] = ()
    ndots: int = NDOTS
    command: str = ""
    """The command that runs the same lookup on a cluster (``grader.reachability.commands.dig``), when known."""

    @property
    def final(self) -> Answer | None:
        """The answer that ended the lookup (the first NOERROR with addresses), if any."""
        return next((a for a in self.answers if a.rcode is Rcode.NOERROR and a.addresses), None)

    @property
    def ok(self) -> bool:
        return self.final is not None

    @property
    def addresses(self) -> tuple[IPAddress, ...]:
        final = self.final
        return tuple(ipaddress.ip_address(a) for a in final.addresses) if final else ()

    @property
    def canonical(self) -> str:
        final = self.final
        if final is None:
            return ""
        cnames = [r for r in final.records if r.type == "CNAME"]
        return cnames[-1].value if cnames else final.query

    def explain(self) -> str:
        lines = [f"{self.client} resolves {self.name!r} via {self.resolver}"]
        if self.search:
            lines.append(f"  search {' '.join(self.search)}; ndots {self.ndots}")
        lines += [f"  {a.render()}" for a in self.answers]
        if not self.ok:
            lines.append(f"  → {self.name!r} does not resolve (NXDOMAIN)")
        if self.command:
            lines.append(f"  $ {self.command}")
        return "\n".join(lines)

    __str__ = explain


def search_path(namespace: str, domain: str = CLUSTER_DOMAIN) -> tuple[str, ...]:
    return (f"{namespace}.svc.{domain}", f"svc.{domain}", domain)


def query_order(name: str, search: Sequence[str], ndots: int = NDOTS) -> list[str]:
    """The fully qualified names a resolver tries for ``name``, in order (resolv.conf(5))."""
    name = name.strip()
    if name.endswith("."):
        return [name[:-1].lower()]
    name = name.lower()
    expanded = [f"{name}.{s}" for s in search]
    return [name, *expanded] if name.count(".") >= ndots else [*expanded, name]


@dataclass
class ClusterZone:
    """What CoreDNS knows: the cluster's Services and pods, plus the outside world it forwards to."""

    services: Sequence[Service]
    namespaces: Iterable[str]
    headless_addresses: Mapping[str, Sequence[IPAddress]] = field(default_factory=dict)
    """``ns/name`` of each headless Service → addresses of its ready endpoints."""
    upstream: Mapping[str, IPAddress] = field(default_factory=dict)
    """Names the node's resolver knows (the lab's external hosts)."""
    domain: str = CLUSTER_DOMAIN

    def __post_init__(self) -> None:
        self._services = {(s.namespace, s.name): s for s in self.services}
        self._namespaces = set(self.namespaces)

    def resolve_upstream(self, fqdn: str) -> Answer:
        ip = self.upstream.get(fqdn)
        if ip is None:
            return Answer(fqdn, Rcode.NXDOMAIN, source="upstream")
        return Answer(fqdn, Rcode.NOERROR, (Record(fqdn, "A", str(ip)),), source="upstream")

    def lookup(self, fqdn: str) -> Answer:
        """CoreDNS's answer to one query (an A query for ``fqdn``)."""
        fqdn = fqdn.rstrip(".").lower()
        suffix = f".{self.domain}"
        if not (fqdn.endswith(suffix) or fqdn == self.domain):
            return self.resolve_upstream(fqdn)
        labels = fqdn[: -len(suffix)].split(".") if fqdn != self.domain else []
        if len(labels) == 3 and labels[2] == "svc":
            return self._service(fqdn, labels[0], labels[1])
        if len(labels) == 3 and labels[2] == "pod":
            return self._pod(fqdn, labels[0], labels[1])
        return Answer(fqdn, Rcode.NXDOMAIN, source="kubernetes")

    def _service(self, fqdn: str, name: str, namespace: str) -> Answer:
        svc = self._services.get((namespace, name))
        if svc is None:
            why = f"no Service {name!r} in namespace {namespace!r}" if namespace in self._namespaces else f"no namespace {namespace!r}"
            return Answer(fqdn, Rcode.NXDOMAIN, source="kubernetes", note=why)
        if svc.type is ServiceType.EXTERNAL_NAME and svc.external_name:
            target = svc.external_name.rstrip(".").lower()
            records = [Record(fqdn, "CNAME", target)]
            chained = self.lookup(target) if target != fqdn else Answer(target, Rcode.NXDOMAIN)
            records += list(chained.records)
            rcode = Rcode.NOERROR if chained.rcode is Rcode.NOERROR else Rcode.NXDOMAIN
            note = f"ExternalName Service {svc.ref}" + ("" if chained.addresses else f"; {target} does not resolve")
            return Answer(fqdn, rcode, tuple(records), "kubernetes", note)
        if svc.headless:
            addresses = list(self.headless_addresses.get(svc.ref, ()))
            if not addresses:
                return Answer(fqdn, Rcode.NXDOMAIN, source="kubernetes", note=f"headless Service {svc.ref} has no ready endpoints")
            return Answer(fqdn, Rcode.NOERROR, tuple(Record(fqdn, "A", str(ip)) for ip in addresses), "kubernetes", f"headless Service {svc.ref}: one record per ready pod")
        if svc.cluster_ip is None:
            return Answer(fqdn, Rcode.NXDOMAIN, source="kubernetes")
        return Answer(fqdn, Rcode.NOERROR, (Record(fqdn, "A", str(svc.cluster_ip)),), "kubernetes", f"Service {svc.ref} clusterIP")

    def _pod(self, fqdn: str, dashed: str, namespace: str) -> Answer:
        try:
            ip = ipaddress.ip_address(dashed.replace("-", "."))
        except ValueError:
            return Answer(fqdn, Rcode.NXDOMAIN, source="kubernetes")
        if namespace not in self._namespaces:
            return Answer(fqdn, Rcode.NXDOMAIN, source="kubernetes", note=f"no namespace {namespace!r}")
        return Answer(fqdn, Rcode.NOERROR, (Record(fqdn, "A", str(ip)),), "pods insecure", "pod A record built from the name (CoreDNS 'pods insecure')")


def resolve_in_pod(zone: ClusterZone, name: str, namespace: str, client: str, resolver: str, *, ndots: int = NDOTS) -> Lookup:
    """Resolve ``name`` as a pod in ``namespace`` does (ClusterFirst), stopping at the first answer."""
    search = search_path(namespace, zone.domain)
    answers = []
    for fqdn in query_order(name, search, ndots):
        answer = zone.lookup(fqdn)
        answers.append(answer)
        if answer.rcode is Rcode.NOERROR and answer.addresses:
            break
    return Lookup(name, client, resolver, tuple(answers), search, ndots)


def resolve_outside(zone: ClusterZone, name: str, client: str) -> Lookup:
    """Resolve ``name`` from a node or a machine outside the cluster: only upstream names resolve;
    cluster names are unknown there (a kind node's resolv.conf points at Docker's DNS, not CoreDNS)."""
    fqdn = name.rstrip(".").lower()
    answer = zone.resolve_upstream(fqdn)
    if answer.rcode is Rcode.NXDOMAIN and (fqdn.endswith(f".{zone.domain}") or "." not in fqdn or fqdn.split(".")[-1] in zone._namespaces):
        answer = Answer(fqdn, Rcode.NXDOMAIN, source="upstream", note="cluster DNS names only resolve through CoreDNS, inside pods")
    return Lookup(name, client, "node resolver (not CoreDNS)", (answer,), (), 1)
