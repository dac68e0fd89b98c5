"""The fake cluster's kube-proxy: Service virtual IPs that really forward, on loopback addresses.

What it imitates (kubernetes ``pkg/proxy/nftables/proxier.go``, kube-proxy's default-to-be mode,
and the same choices in ``pkg/proxy/iptables/proxier.go``):

* each Service port's ClusterIP:port (and NodePort on the node addresses, ``type: NodePort`` or
  ``LoadBalancer``) leads to one of the Service's **ready** endpoints, picked at random per new
  connection (``numgen random mod N vmap`` in the service chain); the choice is made once per
  connection, at its first packet, and kept for the connection (conntrack);
* ``targetPort`` by number or by name comes resolved in the EndpointSlice's port, matched to the
  Service port by port name (``pkg/proxy/endpointslicecache.go``);
* ``sessionAffinity: ClientIP`` pins a client address to the endpoint it got first for
  ``sessionAffinityConfig.clientIP.timeoutSeconds`` (default 10800), the ``affinity`` set of the
  service chain;
* a Service port with no ready endpoint rejects new connections (the ``no-endpoint-services`` map
  and ``reject-chain``: the client sees ``connection refused``). Here the listener is closed while
  there are no endpoints, so the kernel refuses; a port the Service does not define is rejected too
  (the ``cluster-ips-check`` chain, "traffic to unallocated ClusterIPs and undefined ports of
  ClusterIPs"), which here is the kernel's answer for a port nothing listens on;
* the source address is kept (DNAT only): the endpoint sees the client pod's IP, except for hairpin
  traffic (a pod reaching itself through its Service), which is masqueraded (``ip saddr <endpoint>
  jump mark-for-masquerade`` in each endpoint chain): in the forwarder, it leaves from the node.

Clients of the fake that can ask (the exec stand-ins, ``support.fakenet.standins``) get the
translation from :meth:`KubeProxy.translate` before they connect and then connect to the endpoint
directly, which is what DNAT amounts to. Real binaries (curl) connect to the virtual address, where a
small TCP forwarder accepts, makes the same choice, and relays from the client's own address.

Only addresses this machine can bind (127.0.0.0/8) get listeners; UDP Services are translated for
stand-ins but have no forwarder.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .standins import hold, pump, reset

DEFAULT_AFFINITY_SECONDS = 10800
"""``sessionAffinityConfig.clientIP.timeoutSeconds`` default (kubernetes ``pkg/apis/core/v1/defaults.go``)."""


@dataclass(frozen=True)
class Frontend:
    """One address:port/protocol of a Service port, and where its endpoints come from."""

    namespace: str
    service: str
    port_name: str
    ip: str
    port: int
    protocol: str
    affinity_seconds: int | None


Slices = Callable[[], Sequence[Mapping[str, Any]]]
Admit = Callable[[str, int, str, int, str], bool]


class KubeProxy:
    """Frontends of every Service, their listeners, conntrack and affinity; see the module docstring."""

    def __init__(self, slices: Slices, admit: Admit, *, rng: random.Random | None = None) -> None:
        self._slices, self._admit = slices, admit
        self.rng = rng or random.Random()
        self.frontends: dict[tuple[str, int, str], Frontend] = {}
        self._ready: dict[tuple[str, int, str], list[tuple[str, int]]] = {}
        """Ready endpoints per frontend, as of the last sync (kube-proxy programs rules at sync time)."""
        self._listeners: dict[tuple[str, int, str], socket.socket] = {}
        self._affinity: dict[tuple[str, str, str, str], tuple[str, int, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.node_ip = "127.0.0.1"
        """The address hairpin connections are masqueraded to (the fake kubelet's hostIP)."""

    # -- configuration (the proxier's syncProxyRules) ---------------------------------------------------
    def sync(self, services: Sequence[Mapping[str, Any]], node_ips: Sequence[str]) -> None:
        """Frontends from ``services`` (stored objects); listeners open exactly for those with a ready endpoint."""
        frontends: dict[tuple[str, int, str], Frontend] = {}
        for svc in services:
            meta, spec = svc["metadata"], svc.get("spec") or {}
            affinity = None
            if spec.get("sessionAffinity") == "ClientIP":
                affinity = int(((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds") or DEFAULT_AFFINITY_SECONDS)
            for sp in spec.get("ports") or []:
                proto = sp.get("protocol", "TCP")
                addresses = [(spec["clusterIP"], int(sp["port"]))] if spec.get("clusterIP") not in (None, "", "None") else []
                if sp.get("nodePort") and spec.get("type") in ("NodePort", "LoadBalancer"):
                    addresses += [(ip, int(sp["nodePort"])) for ip in node_ips]
                for ip, port in addresses:
                    frontends[(ip, port, proto)] = Frontend(meta["namespace"], meta["name"], sp.get("name") or "", ip, port, proto, affinity)
        slices = list(self._slices()) if frontends else []  # one read per sync (the fake kubelet runs readiness probes on each read)
        ready = {key: self.endpoints(fe, slices) for key, fe in frontends.items()}
        with self._lock:
            self.frontends, self._ready = frontends, ready
        for key, fe in sorted(frontends.items()):
            wanted = fe.protocol == "TCP" and fe.ip.startswith("127.") and bool(ready[key])
            if wanted and key not in self._listeners:
                self._listen(key)
            elif not wanted and key in self._listeners:
                self._listeners.pop(key).close()
        for key in [k for k in self._listeners if k not in frontends]:
            self._listeners.pop(key).close()

    def endpoints(self, fe: Frontend, slices: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
        """Ready endpoint addresses of ``fe``'s Service port (EndpointSlice ports matched by name), sorted."""
        out = set()
        for s in slices:
            labels = s["metadata"].get("labels") or {}
            if s["metadata"].get("namespace") != fe.namespace or labels.get("kubernetes.io/service-name") != fe.service:
                continue
            for p in s.get("ports") or []:
                if (p.get("name") or "") != fe.port_name or p.get("protocol", "TCP") != fe.protocol or p.get("port") is None:
                    continue
                for e in s.get("endpoints") or []:
                    if (e.get("conditions") or {}).get("ready", True):
                        out.update((a, int(p["port"])) for a in e.get("addresses") or [])
        return sorted(out)

    # -- the datapath ------------------------------------------------------------------------------------
    def translate(self, client_ip: str, ip: str, port: int, protocol: str) -> tuple[str, int] | None:
        """Where a new connection to ip:port goes: itself when it is no Service address, an endpoint,
        or None when the Service port has no ready endpoint (rejected)."""
        fe = self.frontends.get((ip, port, protocol))
        if fe is None:
            return ip, port
        endpoints = self._ready.get((ip, port, protocol)) or []
        if not endpoints:
            return None
        key = (fe.namespace, fe.service, fe.port_name, client_ip)
        now = time.monotonic()
        with self._lock:
            pinned = self._affinity.get(key)
            if fe.affinity_seconds is not None and pinned and pinned[2] > now and (pinned[0], pinned[1]) in endpoints:
                return pinned[0], pinned[1]
            chosen = self.rng.choice(endpoints)
            if fe.affinity_seconds is not None:
                self._affinity[key] = (chosen[0], chosen[1], now + fe.affinity_seconds)
        return chosen

    def _listen(self, key: tuple[str, int, str]) -> None:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            srv.bind((key[0], key[1]))
        except OSError:  # a NodePort on an address another test process uses: no forwarder for it here
            srv.close()
            return
        srv.listen(64)
        srv.settimeout(0.1)
        self._listeners[key] = srv
        t = threading.Thread(target=self._accept, args=(srv, key), daemon=True)
        t.start()
        self._threads.append(t)

    def _accept(self, srv: socket.socket, key: tuple[str, int, str]) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by sync() or close()
            t = threading.Thread(target=self._relay, args=(conn, peer, key), daemon=True)
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _relay(self, conn: socket.socket, peer: tuple[str, int], key: tuple[str, int, str]) -> None:
        with conn:
            target = self.translate(peer[0], key[0], key[1], key[2])
            if target is None:
                reset(conn)
                return
            if not self._admit(peer[0], peer[1], target[0], target[1], key[2]):
                hold(conn, self._stop)
                return
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                if peer[0] == target[0]:  # hairpin: masqueraded to the node (the endpoint chain's mark-for-masquerade)
                    upstream.bind((self.node_ip, 0))
                elif peer[0].startswith("127."):
                    upstream.bind((peer[0], 0))  # DNAT only: the endpoint sees the client's address
                upstream.settimeout(3)
                upstream.connect(target)
                upstream.settimeout(None)
            except OSError:
                upstream.close()
                reset(conn)  # the endpoint refused the DNAT'd SYN
                return
            with upstream:
                conn.settimeout(None)
                pump(conn, upstream, self._stop)

    def close(self) -> None:
        self._stop.set()
        for srv in self._listeners.values():
            srv.close()
        self._listeners.clear()
        for t in self._threads:
            t.join(timeout=2)
        self._threads.clear()


__all__ = ["DEFAULT_AFFINITY_SECONDS", "Frontend", "KubeProxy"]
