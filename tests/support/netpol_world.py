"""Small builders for engine tests: a cluster of pods and policies from compact data."""

from __future__ import annotations

import ipaddress

from grader.manifests import parse_manifests
from grader.model import ContainerPort, Endpoint, Flow, Labels, Namespace, Node, Pod, Protocol
from grader.netpol import NetworkPolicyEngine


class World:
    def __init__(self) -> None:
        self.namespaces = {n: Namespace(n, Labels({"team": n})) for n in ("x", "y")}
        self.pods: dict[str, Pod] = {}
        self.policies: list = []
        self.node = Node("worker", ipaddress.ip_address("172.18.0.3"), "worker")
        n = 10
        for ns in ("x", "y"):
            for name, labels in (("a", {"app": "a", "tier": "web"}), ("b", {"app": "b", "tier": "db"})):
                n += 1
                self.pods[f"{ns}/{name}"] = Pod(
                    ns, name, Labels(labels), ipaddress.ip_address(f"10.244.1.{n}"), "worker",
                    (ContainerPort(80, Protocol.TCP, "http"), ContainerPort(53, Protocol.UDP, "dns"), ContainerPort(5432, Protocol.TCP, "pg")),
                )

    def policy(self, yaml_text: str) -> World:
        self.policies += [m.obj for m in parse_manifests(yaml_text)]
        return self

    def engine(self, **kw: bool) -> NetworkPolicyEngine:
        return NetworkPolicyEngine(self.policies, self.namespaces, **kw)

    def flow(self, src: str, dst: str, port: int = 80, proto: Protocol = Protocol.TCP) -> Flow:
        def ep(name: str) -> Endpoint:
            if name in self.pods:
                return Endpoint.of_pod(self.pods[name])
            if name == "node":
                return Endpoint.of_node(self.node)
            return Endpoint.external(ipaddress.ip_address(name))
        return Flow(ep(src), ep(dst), port, proto)

    def allowed(self, src: str, dst: str, port: int = 80, proto: Protocol = Protocol.TCP, **kw: bool) -> bool:
        return self.engine(**kw).evaluate(self.flow(src, dst, port, proto)).allowed


def np(ns: str, spec: str, name: str = "p") -> str:
    body = "\n".join("  " + line for line in spec.strip().splitlines())
    return f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: \"{ns}\"}}\nspec:\n{body}\n"


