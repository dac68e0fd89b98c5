"""The external hosts in the Lab API of a course kind cluster (a mixin of ``KindLab``).

What the simulated cluster does with ``host``, ``vm.internal``, ``api.example.com`` and
``blocked.example.net``, answered by the containers of :mod:`grader.kind.external`:

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
from dataclasses import replace
from typing import Any

from ..errors import LabError
from ..model import Endpoint, ExternalHost, Protocol
from ..reachability import Hop, Probe, ProbeResult, Verdict
from . import webprobe
from ._run import CommandError
from .external import GATEWAY_NAME, VM_NAME
from .probing import connect_command, host_port, verdict_from_connect

ROUTES_TTL = 5.0
"""Seconds between two checks of vm.internal's routes to Calico blocks (calico-bgp)."""


def _is_pod(name: str) -> bool:
    return "/" in name and not name.startswith(("node:", "http://", "https://"))


class ExternalHostsMixin:
    """Mixed into :class:`grader.kind.lab.KindLab` (which has ``cluster``, ``profile``, ``_destination``...)."""

    cluster: Any
    profile: Any
    _hosts_cache: list[ExternalHost] | None = None
    _routes_checked: float = float("-inf")
    _routes_lock = threading.Lock()
    _hosts_lock = threading.Lock()
    """Class-wide locks: matrix() probes from many threads; one reads the table or syncs the routes."""

    # -- the table -----------------------------------------------------------------------------
    def external_hosts(self) -> list[ExternalHost]:
        with self._hosts_lock:
            if self._hosts_cache is None:
                self._hosts_cache = list(self.cluster.external.hosts())
            return list(self._hosts_cache)

    def _external(self) -> dict[str, ExternalHost]:
        return {h.name: h for h in self.external_hosts()}

    def _external_at(self, address: str) -> ExternalHost | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        return next((h for h in self.external_hosts() if h.ip == ip), None)

    def _external_label(self, host: ExternalHost) -> str:
        return Endpoint.external(host.ip, host.name).label

    def _target(self, source: str, destination: str) -> str:
        """Where ``source`` connects for ``destination``: a pod resolves the lab's DNS names itself;
        other sources get the address; ``host`` is always the kind network's gateway. Pods and
        nodes are left as they are (without asking Docker anything)."""
        if _is_pod(destination) or destination.startswith("node:") or (_is_pod(source) and destination != GATEWAY_NAME):
            return destination
        hosts = self._external()
        if destination == GATEWAY_NAME:
            return str(hosts[GATEWAY_NAME].ip)
        if destination in hosts and not _is_pod(source):
            return str(hosts[destination].ip)
        return destination

    def _internet_source(self, source: str) -> str | None:
        if "/" in source or source.startswith("node:") or source in (GATEWAY_NAME, VM_NAME):
            return None
        host = self._external().get(source)
        if host is None or host.where != "internet":
            return None
        return (f"on kind, {source} only answers: probes start from a pod, a node, 'host' (this machine) or {VM_NAME}. "
                f"The simulated cluster models connections from the internet (connect(backend='sim')).")

    def _sync_vm_routes(self, *names: str) -> None:
        """calico-bgp: vm.internal's routes to the cluster's Calico blocks, when a probe involves it."""
        if not getattr(self.profile, "pod_routes_advertised", False) or all(_is_pod(n) or n.startswith("node:") for n in names):
            return
        try:
            vm = self._external().get(VM_NAME)
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

    # -- L4 probes -------------------------------------------------------------------------------
    def _probe(self, source: str, destination: str, port: Any, proto: Protocol, snapshot: Any) -> ProbeResult:
        probe = Probe(source, destination, port, proto)
        try:
            why = self._internet_source(source)
            if why is not None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, why)
            target = self._target(source, destination)
        except (CommandError, LabError) as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"the lab's external hosts are not available: {exc}")
        self._sync_vm_routes(source, destination, target)
        if source == VM_NAME:
            result = self._probe_from_vm(probe, target, port, proto, snapshot)
        else:
            result = super()._probe(source, target, port, proto, snapshot)  # type: ignore[misc]
        if result.verdict is Verdict.ALLOWED and result.answered_by is None and not _is_pod(destination):
            try:
                host = self._external().get(destination) or self._external_at(target)
            except (CommandError, LabError):
                host = None
            if host is not None:
                result = replace(result, answered_by=self._external_label(host))
        return replace(result, probe=probe) if result.probe != probe else result

    def _probe_from_vm(self, probe: Probe, target: str, port: Any, proto: Protocol, snapshot: Any) -> ProbeResult:
        try:
            address, dst_pod, why = self._destination(target, snapshot)  # type: ignore[attr-defined]
            if address is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, why)
            number = self._port(dst_pod, port, proto)  # type: ignore[attr-defined]
            if number is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, f"port {port!r} does not name a {proto} port of {probe.destination}")
        except Exception as exc:  # noqa: BLE001 - API errors while looking the destination up: the probe did not run
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"the probe could not run: {type(exc).__name__}: {exc}")
        command = connect_command(address, number, proto)
        code, out, err, error = self.cluster.external.exec_in_vm(command)
        verdict, reason = verdict_from_connect(code, err, out, error)
        shown = f"agnhost connect {host_port(address, number)} --protocol={proto.value.lower()}"
        hops = (Hop("probe", f"{VM_NAME}: {shown} (docker exec in its container)"), Hop("result", (err or out).strip() or error or f"exit {code}"))
        answered = str(dst_pod.ref) if verdict is Verdict.ALLOWED and dst_pod is not None else None
        return ProbeResult(probe, verdict, reason, answered_by=answered, hops=hops)

    # -- HTTP ------------------------------------------------------------------------------------
    def _http_target(self, req: webprobe.HttpRequest, source: str) -> tuple[webprobe.HttpRequest, Any, str | None]:
        why = self._internet_source(source)
        if why is not None:
            raise LabError(why)
        target = self._target(source, req.connect_host)
        if target != req.connect_host:
            req = replace(req, connect_host=target)  # curl --connect-to: the URL's name stays for Host and SNI
        self._sync_vm_routes(source, req.hostname, target)
        return super()._http_target(req, source)  # type: ignore[misc]

    def _http_raw(self, source: str, req: webprobe.HttpRequest) -> tuple[webprobe.RawHttp, tuple[Hop, ...]]:
        if source != VM_NAME:
            return super()._http_raw(source, req)  # type: ignore[misc]
        command = webprobe.curl_command(req)
        code, out, err, error = self.cluster.external.exec_in_vm(command, timeout=webprobe.DEFAULT_TIMEOUT + 15)
        shown = " ".join(a for a in command if not a.startswith(r"\n@@netlab"))
        return webprobe.parse_curl(code, out, err, error), (Hop("probe", f"{VM_NAME}: {shown} (docker exec in its container)"),)

    def _answered_by(self, raw: webprobe.RawHttp, req: webprobe.HttpRequest, dst_pod: Any, source_ns: str | None) -> str | None:
        who = super()._answered_by(raw, req, dst_pod, source_ns)  # type: ignore[misc]
        if who is not None:
            return who
        try:
            host = self._external_at(raw.remote_ip) or self._external_at(req.connect_host) or self._external().get(req.hostname)
        except (CommandError, LabError):
            return None
        return self._external_label(host) if host is not None else None

    def _l4_target(self, destination: str, port: Any) -> tuple[str, int]:
        """``distribution`` and ``open_connection``: ``host`` is a lab name; other names stay for the
        source to resolve (``_http_target`` hands non-pod sources the address)."""
        if destination == GATEWAY_NAME:
            destination = str(self._external()[GATEWAY_NAME].ip)
        return super()._l4_target(destination, port)  # type: ignore[misc]

    def _forget_external(self) -> None:
        self._hosts_cache = None
        self.cluster.external.forget()
        self._routes_checked = float("-inf")


__all__ = ["ExternalHostsMixin", "host_port"]
