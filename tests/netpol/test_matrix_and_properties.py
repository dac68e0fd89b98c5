"""The vectorised matrix equals the per-flow engine, and the algebra of NetworkPolicy holds.

Properties (hypothesis, over seeded synthetic clusters):
* adding a policy never un-isolates a pod (isolation is monotone), and for a pod that was
  already isolated it can only add allowed flows (policies are allow-lists);
* an allow-all policy (ingress and egress, every peer) makes everything reachable;
* deny-all (ingress and egress) blocks everything;
* results do not depend on the order of policies or of pods.
"""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.model import Direction, Endpoint, Flow, LabelSelector, NetworkPolicy, Protocol, Rule
from grader.netpol import NetworkPolicyEngine, policy_matrix
from grader.netpol.synthetic import synthetic_cluster

seeds = st.integers(min_value=0, max_value=10_000)


def pairwise(engine: NetworkPolicyEngine, pods, port: int, proto: Protocol) -> np.ndarray:
    eps = [Endpoint.of_pod(p) for p in pods]
    return np.array([[engine.evaluate(Flow(s, d, port, proto)).allowed for d in eps] for s in eps])


@settings(max_examples=25, deadline=None)
@given(seed=seeds, port=st.sampled_from([80, 75, 53, 8080, 443]))
def test_matrix_equals_per_flow_engine(seed: int, port: int) -> None:
    c = synthetic_cluster(30, 25, namespaces=4, seed=seed)
    proto = Protocol.UDP if port == 53 else Protocol.TCP
    engine = NetworkPolicyEngine(c.policies, c.namespaces)
    fast = policy_matrix(engine, c.pods, port, proto).allowed
    slow = pairwise(engine, c.pods, port, proto)
    assert (fast == slow).all()


@settings(max_examples=10, deadline=None)
@given(seed=seeds)
def test_matrix_equals_engine_with_cilium_ipblock_semantics(seed: int) -> None:
    c = synthetic_cluster(25, 30, namespaces=3, seed=seed)
    engine = NetworkPolicyEngine(c.policies, c.namespaces, ipblock_matches_cluster=False)
    assert (policy_matrix(engine, c.pods, 80).allowed == pairwise(engine, c.pods, 80, Protocol.TCP)).all()


@settings(max_examples=25, deadline=None)
@given(seed=seeds, extra=seeds)
def test_adding_a_policy_never_unisolates_and_only_adds_flows_to_isolated_pods(seed: int, extra: int) -> None:
    c = synthetic_cluster(25, 15, namespaces=3, seed=seed)
    more = synthetic_cluster(25, 5, namespaces=3, seed=extra).policies
    before = NetworkPolicyEngine(c.policies, c.namespaces)
    after = NetworkPolicyEngine(c.policies + more, c.namespaces)
    for pod in c.pods:
        for d in Direction:
            if before.isolating(pod, d):
                assert after.isolating(pod, d)
    b = policy_matrix(before, c.pods, 80)
    a = policy_matrix(after, c.pods, 80)
    # Ingress to pods that were already isolated for ingress can only gain allowed sources.
    iso_in = np.array([bool(before.isolating(p, Direction.INGRESS)) for p in c.pods])
    assert (a.ingress[:, iso_in] >= b.ingress[:, iso_in]).all()
    iso_eg = np.array([bool(before.isolating(p, Direction.EGRESS)) for p in c.pods])
    assert (a.egress[iso_eg, :] >= b.egress[iso_eg, :]).all()


def _all_namespaces_policy(ns: str, name: str, allow: bool) -> NetworkPolicy:
    rules = (Rule(),) if allow else ()
    return NetworkPolicy(ns, name, LabelSelector(), frozenset(Direction), rules, rules)


@settings(max_examples=15, deadline=None)
@given(seed=seeds)
def test_allow_all_makes_everything_reachable(seed: int) -> None:
    c = synthetic_cluster(25, 20, namespaces=3, seed=seed)
    allow = [_all_namespaces_policy(ns, "allow-all", True) for ns in c.namespaces]
    engine = NetworkPolicyEngine(c.policies + allow, c.namespaces)
    for port, proto in ((80, Protocol.TCP), (53, Protocol.UDP), (9999, Protocol.SCTP)):
        assert policy_matrix(engine, c.pods, port, proto).allowed.all()


@settings(max_examples=15, deadline=None)
@given(seed=seeds)
def test_deny_all_blocks_everything(seed: int) -> None:
    c = synthetic_cluster(25, 0, namespaces=3, seed=seed)
    deny = [_all_namespaces_policy(ns, "deny-all", False) for ns in c.namespaces]
    engine = NetworkPolicyEngine(deny, c.namespaces)
    assert not policy_matrix(engine, c.pods, 80).allowed.any()


@settings(max_examples=15, deadline=None)
@given(seed=seeds, shuffle=seeds)
def test_order_of_policies_and_pods_does_not_matter(seed: int, shuffle: int) -> None:
    c = synthetic_cluster(30, 25, namespaces=4, seed=seed)
    rng = random.Random(shuffle)
    policies = c.policies[:]
    rng.shuffle(policies)
    pods = c.pods[:]
    rng.shuffle(pods)
    ref = policy_matrix(NetworkPolicyEngine(c.policies, c.namespaces), c.pods, 80).allowed
    got = policy_matrix(NetworkPolicyEngine(policies, c.namespaces), pods, 80).allowed
    index = {p.ref: i for i, p in enumerate(c.pods)}
    order = [index[p.ref] for p in pods]
    assert (got == ref[np.ix_(order, order)]).all()
