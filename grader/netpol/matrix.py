"""All pod pairs at once: the same semantics as :mod:`.engine`, vectorised.

Evaluating 2,000 pods x 2,000 pods pair by pair means 4 million calls into the engine. Instead,
every rule becomes two boolean vectors over pods (who it lets in as a peer; on which destination
pods it applies for the probed port), and one matrix product per direction counts, for every
(source, destination), how many rules allow it. Label selectors are evaluated once per distinct
label set, not once per pod. ``tests/netpol/test_matrix.py`` holds this to the per-flow engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..model import Direction, Labels, LabelSelector, Namespace, Peer, Pod, Protocol, Rule
from .engine import NetworkPolicyEngine, port_matches


@dataclass(frozen=True)
class PolicyMatrix:
    """Boolean matrices indexed [source, destination] in the order of ``pods``."""

    pods: tuple[Pod, ...]
    port: int
    protocol: Protocol
    egress: np.ndarray
    ingress: np.ndarray

    @property
    def allowed(self) -> np.ndarray:
        return self.egress & self.ingress


class _Vectors:
    def __init__(self, engine: NetworkPolicyEngine, pods: Sequence[Pod]) -> None:
        self.engine = engine
        self.pods = pods
        self.n = len(pods)
        groups: dict[tuple[str, Labels], int] = {}
        self.group_of = np.empty(self.n, dtype=np.int64)
        self.group_labels: list[Labels] = []
        for i, pod in enumerate(pods):
            key = (pod.namespace, pod.labels)
            if key not in groups:
                groups[key] = len(groups)
                self.group_labels.append(pod.labels)
            self.group_of[i] = groups[key]
        ns_names = sorted({p.namespace for p in pods})
        self.ns_index = {ns: i for i, ns in enumerate(ns_names)}
        self.ns_of = np.array([self.ns_index[p.namespace] for p in pods], dtype=np.int64)
        self.ns_labels = [
            (engine.namespaces.get(ns) or Namespace(ns)).labels for ns in ns_names
        ]
        self._selector_cache: dict[LabelSelector, np.ndarray] = {}
        self._ns_selector_cache: dict[LabelSelector, np.ndarray] = {}
        self._peer_cache: dict[tuple[Peer, str], np.ndarray] = {}
        self._named_cache: dict[tuple[str, Protocol, int], np.ndarray] = {}

    def namespace_is(self, ns: str) -> np.ndarray:
        idx = self.ns_index.get(ns)
        if idx is None:
            return np.zeros(self.n, dtype=bool)
        return self.ns_of == idx

    def pods_matching(self, selector: LabelSelector) -> np.ndarray:
        hit = self._selector_cache.get(selector)
        if hit is None:
            per_group = np.fromiter((selector.matches(labels) for labels in self.group_labels), dtype=bool, count=len(self.group_labels))
            hit = per_group[self.group_of]
            self._selector_cache[selector] = hit
        return hit

    def namespaces_matching(self, selector: LabelSelector) -> np.ndarray:
        hit = self._ns_selector_cache.get(selector)
        if hit is None:
            per_ns = np.fromiter((selector.matches(labels) for labels in self.ns_labels), dtype=bool, count=len(self.ns_labels))
            hit = per_ns[self.ns_of] if len(self.ns_labels) else np.zeros(self.n, dtype=bool)
            self._ns_selector_cache[selector] = hit
        return hit

    def peer(self, peer: Peer, policy_ns: str) -> np.ndarray:
        key = (peer, policy_ns)
        hit = self._peer_cache.get(key)
        if hit is not None:
            return hit
        if peer.ip_block is not None:
            if not self.engine.ipblock_matches_cluster:
                hit = np.zeros(self.n, dtype=bool)
            else:
                block = peer.ip_block
                hit = np.fromiter((p.ip is not None and block.contains(p.ip) for p in self.pods), dtype=bool, count=self.n)
        else:
            ns_mask = self.namespace_is(policy_ns) if peer.namespace_selector is None else self.namespaces_matching(peer.namespace_selector)
            hit = ns_mask if peer.pod_selector is None else ns_mask & self.pods_matching(peer.pod_selector)
        self._peer_cache[key] = hit
        return hit

    def peers(self, rule: Rule, policy_ns: str) -> np.ndarray:
        if not rule.peers:
            return np.ones(self.n, dtype=bool)
        out = np.zeros(self.n, dtype=bool)
        for peer in rule.peers:
            out |= self.peer(peer, policy_ns)
        return out

    def ports(self, rule: Rule, number: int, protocol: Protocol) -> np.ndarray:
        """On which destination pods the rule's ports admit ``number/protocol``."""
        if not rule.ports:
            return np.ones(self.n, dtype=bool)
        out = np.zeros(self.n, dtype=bool)
        for p in rule.ports:
            if isinstance(p.port, str):
                key = (p.port, protocol, number)
                hit = self._named_cache.get(key)
                if hit is None:
                    hit = np.fromiter((port_matches(p, number, protocol, pod) for pod in self.pods), dtype=bool, count=self.n)
                    self._named_cache[key] = hit
                out |= hit
            elif port_matches(p, number, protocol, None):
                return np.ones(self.n, dtype=bool)
        return out


def policy_matrix(engine: NetworkPolicyEngine, pods: Sequence[Pod], port: int, protocol: Protocol = Protocol.TCP) -> PolicyMatrix:
    """Egress and ingress verdicts for every (source, destination) pod pair on ``port/protocol``."""
    vec = _Vectors(engine, pods)
    n = vec.n
    in_src: list[np.ndarray] = []
    in_dst: list[np.ndarray] = []
    eg_src: list[np.ndarray] = []
    eg_dst: list[np.ndarray] = []
    isolated_in = np.zeros(n, dtype=bool)
    isolated_eg = np.zeros(n, dtype=bool)
    for policy in engine.policies:
        selected = vec.namespace_is(policy.namespace) & vec.pods_matching(policy.pod_selector)
        if not selected.any():
            continue
        if policy.affects(Direction.INGRESS):
            isolated_in |= selected
            for rule in policy.ingress:
                applies = selected & vec.ports(rule, port, protocol)
                if applies.any():
                    in_src.append(vec.peers(rule, policy.namespace))
                    in_dst.append(applies)
        if policy.affects(Direction.EGRESS):
            isolated_eg |= selected
            for rule in policy.egress:
                reach = vec.peers(rule, policy.namespace) & vec.ports(rule, port, protocol)
                if reach.any():
                    eg_src.append(selected)
                    eg_dst.append(reach)
    ingress = _any_rule(in_src, in_dst, n) | ~isolated_in[None, :]
    egress = _any_rule(eg_src, eg_dst, n) | ~isolated_eg[:, None]
    return PolicyMatrix(tuple(pods), port, protocol, egress, ingress)


def _any_rule(src: list[np.ndarray], dst: list[np.ndarray], n: int) -> np.ndarray:
    if not src:
        return np.zeros((n, n), dtype=bool)
    s = np.asarray(src, dtype=np.float32)
    d = np.asarray(dst, dtype=np.float32)
    return (s.T @ d) > 0.5
