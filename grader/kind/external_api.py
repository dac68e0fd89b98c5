"""The lab's machines outside the cluster, as the live Lab's probing and HTTP parts see them.

What the simulated cluster does with ``host``, ``vm.internal``, ``api.example.com`` and
``blocked.example.net``, answered on a course kind cluster by the containers of
:mod:`grader.kind.external` (:class:`LabOutside`); a cluster you brought has none of them
(:class:`NoOutside`).

* ``lab.external_hosts()`` lists them with their addresses here (``vm.internal`` is ``.100`` of
  whatever subnet Docker gave the ``kind`` network), so lessons print real addresses.
* As destinations: a pod names them and resolves the name through CoreDNS, which answers from
  the course's ``hosts`` block, so the lookup is traffic NetworkPolicy judges (as in the
  simulation). Sources outside the cluster (``host``, ``node:<name>``, ``vm.internal``) resolve
  nothing through kube-dns in the simulation either: the lab hands them the address. ``host`` is
  a lab name, never a DNS name: it is the ``kind`` network's gateway.
* As sources: ``host`` is this machine (as before) and ``vm.internal`` runs ``agnhost connect`` /
  curl in its container (``docker exec``). The internet hosts only answer: a probe *from* them is
  PROBE_FAILED with the reason (the simulated cluster answers those).
* Who answered: an external host answers as ``<name> (<address>)``, the simulation's label;
  ``/clientip`` is netexec's report of the source address it saw.
* calico-bgp: before a probe that involves ``vm.internal``, the VM's routes to Calico's blocks are
  brought up to date (blocks appear as pods land on nodes), at most every few seconds.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from ..errors import LabError
from ..model import Endpoint, ExternalHost
from ..reachability.endpoints import HOST, NodeName, NodePort, PodName, try_parse
from ._run import CommandError
from .external_layout import GATEWAY_NAME, VM_NAME
from .kubeapi import ExecResult

ROUTES_TTL = 5.0
"""Seconds between two checks of vm.internal's routes to Calico blocks (calico-bgp)."""


def is_pod(name: str) -> bool:
    return isinstance(try_parse(name), PodName)


def _in_cluster(name: str) -> bool:
    return isinstance(try_parse(name), PodName | NodeName | NodePort)


class Outside(Protocol):
    """What probing and HTTP ask about the machines outside the cluster."""

    def hosts(self) -> list[ExternalHost]: ...

    def target(self, source: str, destination: str) -> str:
        """Where ``source`` connects for ``destination`` (a name, or the address the lab hands it)."""

    def internet_source(self, source: str) -> str | None:
        """Why ``source`` cannot start a probe here (an internet host only answers), or None."""

    def sync_routes(self, *names: str) -> None: ...

    def runs(self, source: str) -> bool:
        """Whether ``source`` is an outside machine the lab runs commands in (``vm.internal``)."""

    def exec(self, command: list[str], timeout: float) -> ExecResult: ...

    def label_of(self, candidates: Sequence[str]) -> str | None:
        """``<name> (<address>)`` of the first outside machine named or addressed by ``candidates``."""

    def gateway_address(self) -> str | None:
        """The address of ``host`` (the learner's machine), where the lab knows it."""

    def forget(self) -> None: ...


def lab_world_host(name: str) -> str | None:
    """``<name> (<address>)`` when ``name`` (a host name or address, optionally ``:port``) is one of
    the simulated lab's external hosts other than ``host`` (grader.lab.results.default_external_hosts)."""
    from ..lab.results import default_external_hosts

    bare = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    for host in default_external_hosts().values():
        if host.name != HOST and bare in (host.name, str(host.ip)):
            return f"{host.name} ({host.ip})"
    return None


class NoOutside:
    """A cluster you brought: the lab knows no machine outside it (``host`` is this machine, as a source)."""

    def hosts(self) -> list[ExternalHost]:
        return []

    def target(self, source: str, destination: str) -> str:
        """A destination the lab's simulated world has (``vm.internal``, ``api.example.com``,
        ``blocked.example.net`` or their documentation addresses) does not exist on a cluster you
        brought: the probe would go to the real internet and read DNS_FAILED or BLOCKED, so it is
        refused here and the probe is PROBE_FAILED with this reason (review L4)."""
        lab_only = lab_world_host(destination)
        if lab_only is not None:
            raise LabError(f"{lab_only} exists only on the simulated cluster and the course's kind clusters, not on a cluster you "
                           "brought; probe a machine of your own network instead")
        return destination

    def internet_source(self, source: str) -> str | None:
        return None

    def sync_routes(self, *names: str) -> None:
        return None

    def runs(self, source: str) -> bool:
        return False

    def exec(self, command: list[str], timeout: float) -> ExecResult:
        raise LabError("this lab has no machine outside the cluster to run commands in")

    def label_of(self, candidates: Sequence[str]) -> str | None:
        return None

    def gateway_address(self) -> str | None:
        return None

    def forget(self) -> None:
        return None


class LabOutside:
    """The course kind cluster's external hosts (``cluster.external``), with calico-bgp route sync."""

    def __init__(self, cluster: Any, profile: Any) -> None:
        self.cluster = cluster
        self.profile = profile
        self._cache: list[ExternalHost] | None = None
        self._routes_checked = float("-inf")
        self._routes_lock = threading.Lock()
        self._hosts_lock = threading.Lock()
        """matrix() probes from many threads; one reads the table or syncs the routes."""

    # -- the table -----------------------------------------------------------------------------
    def hosts(self) -> list[ExternalHost]:
        with self._hosts_lock:
            if self._cache is None:
                self._cache = list(self.cluster.external.hosts())
            return list(self._cache)

    def _by_name(self) -> dict[str, ExternalHost]:
        return {h.name: h for h in self.hosts()}

    def _at(self, address: str) -> ExternalHost | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        return next((h for h in self.hosts() if h.ip == ip), None)

    def label_of(self, candidates: Sequence[str]) -> str | None:
        try:
            for text in candidates:
                host = self._by_name().get(text) or self._at(text)
                if host is not None:
                    return Endpoint.external(host.ip, host.name).label
        except (CommandError, LabError):
            return None
        return None

    def gateway_address(self) -> str | None:
        return str(self._by_name()[GATEWAY_NAME].ip)

    def target(self, source: str, destination: str) -> str:
        """A pod resolves the lab's DNS names itself; other sources get the address; ``host`` is
        always the kind network's gateway. Pods and nodes are left as they are (without asking
        Docker anything)."""
        if _in_cluster(destination) or (is_pod(source) and destination != GATEWAY_NAME):
            return destination
        hosts = self._by_name()
        if destination == GATEWAY_NAME:
            return str(hosts[GATEWAY_NAME].ip)
        if destination in hosts and not is_pod(source):
            return str(hosts[destination].ip)
        return destination

    def internet_source(self, source: str) -> str | None:
        if _in_cluster(source) or source in (GATEWAY_NAME, VM_NAME):
            return None
        host = self._by_name().get(source)
        if host is None or host.where != "internet":
            return None
        return (f"on kind, {source} only answers: probes start from a pod, a node, '{HOST}' (this machine) or {VM_NAME}. "
                f"The simulated cluster models connections from the internet (connect(backend='sim')).")

    def sync_routes(self, *names: str) -> None:
        """calico-bgp: vm.internal's routes to the cluster's Calico blocks, when a probe involves it."""
        if not getattr(self.profile, "pod_routes_advertised", False) or all(_in_cluster(n) for n in names):
            return
        try:
            vm = self._by_name().get(VM_NAME)
        except (CommandError, LabError):
            return
        if vm is None or not any(n == VM_NAME or n == str(vm.ip) for n in names):
            return
        with self._routes_lock:
            if time.monotonic() - self._routes_checked < ROUTES_TTL:
                return
            try:
                self.cluster.sync_pod_routes()
            except (CommandError, LabError):
                pass  # the probe then shows what the network does without them
            self._routes_checked = time.monotonic()

    def routes_stale(self) -> None:
        """New pods may sit in new Calico blocks (calico-bgp): sync before the next probe."""
        self._routes_checked = float("-inf")

    def runs(self, source: str) -> bool:
        return source == VM_NAME

    def exec(self, command: list[str], timeout: float) -> ExecResult:
        code, out, err, error = self.cluster.external.exec_in_vm(command, timeout=timeout)
        return code, out, err, error

    def forget(self) -> None:
        self._cache = None
        self.cluster.external.forget()
        self.routes_stale()


__all__ = ["LabOutside", "NoOutside", "Outside", "is_pod"]
