"""The fake cluster's network as the API server's store sees it: the Service IP and NodePort
allocators, kube-proxy's sync, the CNI's first-packet decision, and the DNS zone. Mixed into
``support.fake_apiserver.FakeCluster`` (which owns ``objects``, ``lock``, ``proxy``, ``routes``)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from . import dns
from .netpol import Endpoint, Fate, evaluate


KUBE_DNS_IP = "10.96.0.10"
"""The nameserver the fake kubelet writes into each pod's resolv.conf (kind's default service subnet)."""


class NetworkMixin:
    objects: dict[tuple[str, str, str, str], dict[str, Any]]
    lock: Any
    proxy: Any
    routes: dict[str, str]
    flows: list[tuple[str, str, int, str, str, str]]
    enforces_policy: bool
    corefile: Callable[[], str | None] | None
    _next_ip: int
    _next_node_port: int
    _svc_net: str
    _pod_net: str

    def _slices(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def _allocate(self, new: dict[str, Any], old: dict[str, Any] | None) -> None:
        """The Service IP and NodePort allocators (kubernetes ``pkg/registry/core/service/ipallocator``,
        ``portallocator``: 30000-32767): loopback ClusterIPs, so the fake kube-proxy can listen on them."""
        spec, before = new.setdefault("spec", {}), (old or {}).get("spec") or {}
        if not spec.get("clusterIP"):
            if before.get("clusterIP"):
                spec["clusterIP"] = before["clusterIP"]
            else:
                self._next_ip += 1
                spec["clusterIP"] = f"{self._svc_net}.{self._next_ip}"
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            old_ports = {(p.get("name"), p["port"]): p.get("nodePort") for p in before.get("ports") or []}
            for p in spec.get("ports") or []:
                if not p.get("nodePort"):
                    p["nodePort"] = old_ports.get((p.get("name"), p["port"])) or self._node_port()

    def _node_port(self) -> int:
        self._next_node_port = 30000 + (self._next_node_port - 30000 + 1) % 2768
        return self._next_node_port

    # -- the network (support.fakenet) ------------------------------------------------------------------
    def _locked_slices(self) -> list[dict[str, Any]]:
        with self.lock:
            return self._slices()

    @property
    def coredns_ip(self) -> str:
        return f"{self._pod_net}.2"

    def _endpoint(self, ip: str) -> Endpoint:
        """The pod at ``ip`` (labels, named ports), or a bare address. CoreDNS's pod is always there,
        as kubeadm deploys it (``k8s-app: kube-dns`` in kube-system, ports dns/dns-tcp/metrics:
        kubernetes ``cmd/kubeadm/app/phases/addons/dns/manifests.go``)."""
        if ip == self.coredns_ip:
            return Endpoint(ip, "kube-system", {"k8s-app": "kube-dns"}, (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")))
        for (_, plural, ns, _), pod in list(self.objects.items()):
            if plural == "pods" and (pod.get("status") or {}).get("podIP") == ip and not pod["spec"].get("hostNetwork"):
                ports = tuple((cp["name"], int(cp["containerPort"]), cp.get("protocol", "TCP"))
                              for c in pod["spec"].get("containers") or [] for cp in c.get("ports") or [] if cp.get("name"))
                return Endpoint(ip, ns, dict(pod["metadata"].get("labels") or {}), ports)
        return Endpoint(ip)

    def admits(self, src_ip: str, src_port: int, dst_ip: str, dst_port: int, protocol: str = "TCP") -> bool:
        """The CNI's NetworkPolicy verdict on a new connection (after Service translation)."""
        if not self.enforces_policy:
            return True
        with self.lock:
            policies = [copy.deepcopy(o) for (_, plural, _, _), o in self.objects.items() if plural == "networkpolicies"]
            namespaces = {n: dict(o["metadata"].get("labels") or {}) for (_, plural, _, n), o in self.objects.items() if plural == "namespaces"}
            src, dst = self._endpoint(src_ip), self._endpoint(dst_ip)
        return evaluate(policies, namespaces, src, dst, dst_port, protocol) is Fate.ACCEPT

    def first_packet(self, src_ip: str, src_port: int, dst_ip: str, dst_port: int, protocol: str) -> dict[str, Any]:
        """What the datapath does with a new connection's first packet: kube-proxy's DNAT, then the
        NetworkPolicy filter (policies apply to the pod behind the Service address)."""
        if dst_ip == KUBE_DNS_IP and dst_port == 53:  # the kube-dns Service of the kubelet's resolv.conf: CoreDNS's pod
            target: tuple[str, int] | None = (self.coredns_ip, 53)
        else:
            target = self.proxy.translate(src_ip, dst_ip, dst_port, protocol)
        if target is None:
            self.flows.append((src_ip, dst_ip, dst_port, protocol, "reject", ""))
            return {"fate": "reject"}
        fate = "accept" if self.admits(src_ip, src_port, target[0], target[1], protocol) else "drop"
        to = f"{self.routes.get(target[0], target[0])}:{target[1]}"
        self.flows.append((src_ip, dst_ip, dst_port, protocol, fate, to))
        return {"fate": fate, "to": to}

    def _netexec_admits(self, src_ip: str, src_port: int, dst_ip: str, dst_port: int) -> bool:
        return self.admits(src_ip, src_port, dst_ip, dst_port, "TCP")

    def _udp_admits(self, src_ip: str, src_port: int, dst_ip: str, dst_port: int) -> bool:
        return self.admits(src_ip, src_port, dst_ip, dst_port, "UDP")

    def sync_network(self) -> None:
        """kube-proxy's sync: Service frontends and their listeners from the store."""
        with self.lock:
            services = [copy.deepcopy(o) for (_, plural, _, _), o in sorted(self.objects.items()) if plural == "services"]
            nodes = sorted({a["address"] for (_, plural, _, _), o in self.objects.items() if plural == "nodes"
                            for a in (o.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"})
        self.proxy.sync(services, nodes)

    def _corefile(self) -> str | None:
        cm = self.get("ConfigMap", "kube-system", "coredns")
        if cm is not None:
            return str((cm.get("data") or {}).get("Corefile", ""))
        return self.corefile() if self.corefile is not None else None

    def _zone(self) -> str:
        services = [o for (_, plural, _, _), o in sorted(self.objects.items()) if plural == "services"]
        headless = any((o.get("spec") or {}).get("clusterIP") == "None" for o in services)
        slices = self._slices() if headless else []

        def ready(ns: str, name: str) -> list[str]:
            return sorted({a for s in slices if s["metadata"]["namespace"] == ns and s["metadata"]["labels"].get("kubernetes.io/service-name") == name
                           for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready") for a in e.get("addresses") or []})

        return dns.zone(services, self._corefile(), ready)


__all__ = ["KUBE_DNS_IP", "NetworkMixin"]
