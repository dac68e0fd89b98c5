"""Seeded synthetic clusters for scale benchmarks and property tests.

Labels come from small vocabularies so selectors hit realistic fractions of pods; every policy
shape the engine supports appears (pod/namespace selectors, both, ipBlock with except, named and
numbered ports, endPort ranges, egress).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Mapping
from dataclasses import dataclass

from ..model import (
    ContainerPort,
    Direction,
    IPBlock,
    Labels,
    LabelSelector,
    Namespace,
    NetworkPolicy,
    Peer,
    Pod,
    PolicyPort,
    Protocol,
    Requirement,
    Rule,
    SelectorOperator,
)

APPS = ("web", "api", "db", "cache", "queue", "auth", "search", "batch")
TIERS = ("frontend", "backend", "data")
TEAMS = ("red", "blue", "green", "gold")


@dataclass(frozen=True)
class SyntheticCluster:
    namespaces: dict[str, Namespace]
    pods: list[Pod]
    policies: list[NetworkPolicy]


def _selector(rng: random.Random, keys: Mapping[str, tuple[str, ...]]) -> LabelSelector:
    roll = rng.random()
    if roll < 0.15:
        return LabelSelector()
    key = rng.choice(sorted(keys))
    if roll < 0.7:
        return LabelSelector(Labels({key: rng.choice(keys[key])}))
    op = rng.choice(list(SelectorOperator))
    values = tuple(sorted(set(rng.sample(keys[key], k=min(2, len(keys[key])))))) if op in (SelectorOperator.IN, SelectorOperator.NOT_IN) else ()
    return LabelSelector(Labels(), (Requirement(key, op, values),))


def _peer(rng: random.Random) -> Peer:
    roll = rng.random()
    if roll < 0.1:
        base = ipaddress.IPv4Network(f"10.{rng.randrange(240, 248)}.0.0/16")
        return Peer(ip_block=IPBlock(base, (next(base.subnets(new_prefix=20)),)))
    pod_keys = {"app": APPS, "tier": TIERS}
    ns_keys = {"team": TEAMS}
    if roll < 0.45:
        return Peer(pod_selector=_selector(rng, pod_keys))
    if roll < 0.7:
        return Peer(namespace_selector=_selector(rng, ns_keys))
    return Peer(pod_selector=_selector(rng, pod_keys), namespace_selector=_selector(rng, ns_keys))


def _ports(rng: random.Random) -> tuple[PolicyPort, ...]:
    roll = rng.random()
    if roll < 0.3:
        return ()
    if roll < 0.6:
        return (PolicyPort(Protocol.TCP, 80),)
    if roll < 0.75:
        return (PolicyPort(Protocol.TCP, "http"),)
    if roll < 0.9:
        return (PolicyPort(Protocol.TCP, 70, 90),)
    return (PolicyPort(Protocol.UDP, 53), PolicyPort(Protocol.TCP, 8080))


def _rules(rng: random.Random) -> tuple[Rule, ...]:
    out = []
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
        peers = () if rng.random() < 0.1 else tuple(_peer(rng) for _ in range(rng.choice((1, 1, 2, 3))))
        out.append(Rule(peers, _ports(rng)))
    return tuple(out)


def synthetic_cluster(pods: int, policies: int, *, namespaces: int = 20, seed: int = 0) -> SyntheticCluster:
    rng = random.Random(seed)
    ns_names = [f"ns{i:02d}" for i in range(namespaces)]
    ns_objs = {n: Namespace(n, Labels({"team": rng.choice(TEAMS)})) for n in ns_names}
    pod_list = []
    for i in range(pods):
        ns = rng.choice(ns_names)
        labels = {"app": rng.choice(APPS), "tier": rng.choice(TIERS)}
        ports = [ContainerPort(80, Protocol.TCP, "http")] if rng.random() < 0.8 else [ContainerPort(8080, Protocol.TCP, "http")]
        pod_list.append(Pod(ns, f"pod-{i:05d}", Labels(labels), ipaddress.ip_address(f"10.244.{i // 250}.{i % 250 + 2}"), None, tuple(ports)))
    pol_list = []
    for i in range(policies):
        ns = rng.choice(ns_names)
        roll = rng.random()
        types = {Direction.INGRESS} if roll < 0.6 else ({Direction.EGRESS} if roll < 0.8 else {Direction.INGRESS, Direction.EGRESS})
        pol_list.append(NetworkPolicy(
            ns, f"policy-{i:04d}", _selector(rng, {"app": APPS, "tier": TIERS}), frozenset(types),
            _rules(rng) if Direction.INGRESS in types else (), _rules(rng) if Direction.EGRESS in types else (),
        ))
    return SyntheticCluster(ns_objs, sorted(pod_list, key=lambda p: p.ref), pol_list)
