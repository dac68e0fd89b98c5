"""What the API server's allocators do when a Service is created or updated.

* ClusterIPs come from the service CIDR (kind: 10.96.0.0/16). The range is split in a lower
  *static* band for hand-picked IPs and an upper *dynamic* band the allocator prefers
  (KEP-3070, ``pkg/registry/core/service/ipallocator``: band = min(max(16, size/16), 256)).
  ``.1`` is the ``kubernetes`` Service and ``.10`` is ``kube-dns`` (kubeadm's default clusterDNS).
* NodePorts come from 30000-32767 with the same two-band scheme (KEP-3668:
  band = min(max(16, size/32), 128), so 30000-30085 is the static band). One nodePort number
  belongs to one Service whatever the protocol (the allocator is a single bitmap).
* A requested IP or port outside the range, or already taken, is rejected with the API server's
  words; a Service keeps its IP and nodePorts across updates and ``spec.clusterIP`` cannot change.

Deliberate difference: the real allocators pick at random; here the pick is a hash of
``namespace/name`` probed linearly, so the same Service gets the same address every run (lessons
can print it) while different Services still spread over the dynamic band.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import replace

from ..errors import FieldProblem
from ..model.cluster import IPAddress, IPNetwork
from ..model.services import Service, ServicePort, ServiceType, TrafficPolicy

NODE_PORT_RANGE = (30000, 32767)
KUBERNETES_SERVICE_OFFSET = 1
DNS_SERVICE_OFFSET = 10


def _stable(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def ip_band_size(cidr: IPNetwork) -> int:
    size = cidr.num_addresses - 2
    return min(max(16, size // 16), 256)


def node_port_band_size(low: int = NODE_PORT_RANGE[0], high: int = NODE_PORT_RANGE[1]) -> int:
    size = high - low + 1
    return min(max(16, size // 32), 128)


def service_ip(cidr: IPNetwork, offset: int) -> IPAddress:
    return cidr[offset]


class Allocator:
    """Computes allocations against the Services that already exist (the cluster's state)."""

    def __init__(self, cidr: IPNetwork, node_ports: tuple[int, int] = NODE_PORT_RANGE) -> None:
        self.cidr = cidr
        self.node_ports = node_ports

    # -- clusterIP --------------------------------------------------------------------------
    def _free_ip(self, key: str, used: set[IPAddress]) -> IPAddress:
        size = self.cidr.num_addresses - 2  # network and broadcast addresses are never handed out
        band = ip_band_size(self.cidr)
        dynamic = size - band
        start = _stable(key) % dynamic
        for i in range(dynamic):
            ip = self.cidr[1 + band + (start + i) % dynamic]
            if ip not in used:
                return ip
        for i in range(1, band + 1):  # the dynamic band is full: fall back to the static band
            if self.cidr[i] not in used:
                return self.cidr[i]
        raise RuntimeError(f"service CIDR {self.cidr} is full")

    def _free_node_port(self, key: str, used: set[int]) -> int:
        low, high = self.node_ports
        band = node_port_band_size(low, high)
        dynamic = high - low + 1 - band
        start = _stable(key) % dynamic
        for i in range(dynamic):
            port = low + band + (start + i) % dynamic
            if port not in used:
                return port
        for port in range(low, low + band):
            if port not in used:
                return port
        raise RuntimeError("node port range is full")

    def allocate(self, svc: Service, existing: Iterable[Service], previous: Service | None, label: str) -> tuple[Service, list[FieldProblem]]:
        """``svc`` with clusterIP, nodePorts and healthCheckNodePort filled in, or the problems.

        ``existing`` are the other Services of the cluster; ``previous`` is this Service's stored
        version when the apply is an update.
        """
        problems: list[FieldProblem] = []
        others = [s for s in existing if (s.namespace, s.name) != (svc.namespace, svc.name)]
        used_ips = {s.cluster_ip for s in others if s.cluster_ip is not None}
        used_ports = {p.node_port for s in others for p in s.ports if p.node_port} | {s.health_check_node_port for s in others if s.health_check_node_port}
        key = f"{svc.namespace}/{svc.name}"
        cluster_ip: IPAddress | None = None
        if svc.type is not ServiceType.EXTERNAL_NAME and not svc.headless:
            prev_ip = previous.cluster_ip if previous is not None and previous.type is not ServiceType.EXTERNAL_NAME else None
            wanted = svc.requested_cluster_ip
            if prev_ip is not None and wanted is not None and wanted != prev_ip:
                problems.append(FieldProblem(label, "spec.clusterIPs[0]", f"Invalid value: {str(wanted)!r}: may not change once set (it is {prev_ip})"))
            elif prev_ip is not None:
                cluster_ip = prev_ip
            elif wanted is not None:
                if wanted.version != self.cidr.version or wanted not in self.cidr:
                    problems.append(FieldProblem(label, "spec.clusterIPs", f"Invalid value: [{str(wanted)!r}]: failed to allocate IP {wanted}: the provided IP ({wanted}) is not in the valid range. The range of valid IPs is {self.cidr}"))
                elif wanted in used_ips:
                    owner = next(s.ref for s in others if s.cluster_ip == wanted)
                    problems.append(FieldProblem(label, "spec.clusterIPs", f"Invalid value: [{str(wanted)!r}]: failed to allocate IP {wanted}: provided IP is already allocated (to Service {owner})"))
                else:
                    cluster_ip = wanted
            else:
                cluster_ip = self._free_ip(key, used_ips)
        elif previous is not None and previous.headless != svc.headless and svc.type is not ServiceType.EXTERNAL_NAME and previous.type is not ServiceType.EXTERNAL_NAME:
            problems.append(FieldProblem(label, "spec.clusterIPs[0]", "may not change once set (a Service cannot switch to or from headless; delete and recreate it)"))
        ports: list[ServicePort] = []
        needs_node_ports = svc.type is ServiceType.NODE_PORT or (svc.type is ServiceType.LOAD_BALANCER and svc.allocate_load_balancer_node_ports)
        taken_here: set[int] = set()
        for i, port in enumerate(svc.ports):
            if not needs_node_ports:
                ports.append(replace(port, node_port=None))
                continue
            prev_port = None
            if previous is not None:
                prev_port = next((p.node_port for p in previous.ports if p.node_port and (p.port, p.protocol) == (port.port, port.protocol)), None)
            number = port.node_port or prev_port
            if port.node_port is not None:
                low, high = self.node_ports
                if not low <= port.node_port <= high:
                    problems.append(FieldProblem(label, f"spec.ports[{i}].nodePort", f"Invalid value: {port.node_port}: provided port is not in the valid range. The range of valid ports is {low}-{high}"))
                    ports.append(port)
                    continue
                if port.node_port in used_ports:
                    owner = next((s.ref for s in others if any(p.node_port == port.node_port for p in s.ports) or s.health_check_node_port == port.node_port), "another Service")
                    problems.append(FieldProblem(label, f"spec.ports[{i}].nodePort", f"Invalid value: {port.node_port}: provided port is already allocated (to Service {owner})"))
                    ports.append(port)
                    continue
            if number is None or (number in taken_here and not any(p.node_port == number and p.port == port.port for p in ports)):
                number = self._free_node_port(f"{key}/{port.port}/{port.protocol}", used_ports | taken_here)
            taken_here.add(number)
            ports.append(replace(port, node_port=number))
        hc = None
        if svc.type is ServiceType.LOAD_BALANCER and svc.external_traffic_policy is TrafficPolicy.LOCAL:
            hc = svc.health_check_node_port or (previous.health_check_node_port if previous is not None else None)
            if svc.health_check_node_port and svc.health_check_node_port in used_ports | taken_here:
                problems.append(FieldProblem(label, "spec.healthCheckNodePort", f"Invalid value: {svc.health_check_node_port}: provided port is already allocated"))
            if hc is None:
                hc = self._free_node_port(f"{key}/healthz", used_ports | taken_here)
        allocated = replace(svc, cluster_ip=cluster_ip, ports=tuple(ports), health_check_node_port=hc,
                            load_balancer_ip=previous.load_balancer_ip if previous is not None and svc.type is ServiceType.LOAD_BALANCER else None)
        return allocated, problems


def kubernetes_service_ip(cidr: IPNetwork) -> IPAddress:
    return service_ip(cidr, KUBERNETES_SERVICE_OFFSET)


def dns_service_ip(cidr: IPNetwork) -> IPAddress:
    return service_ip(cidr, DNS_SERVICE_OFFSET)


def parse_ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)
