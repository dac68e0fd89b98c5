"""NetworkPolicy matrix at scale: 2,000 pods x 200 policies, one port.

Prints the vectorised matrix time and the ratio against a straightforward per-pair evaluation
(the per-flow engine) measured in the same run. Evaluating all 4 million pairs one by one takes
minutes, so the per-pair cost is measured on a seeded random sample of pairs and extrapolated;
the sample is also checked against the matrix, so the speed-up is for identical answers.

Usage: python benchmarks/netpol_scale.py [--pods 2000] [--policies 200] [--sample 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import time

from grader.model import Endpoint, Flow, Protocol
from grader.netpol import NetworkPolicyEngine, policy_matrix
from grader.netpol.synthetic import synthetic_cluster


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--policies", type=int, default=200)
    ap.add_argument("--sample", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    t0 = time.perf_counter()
    cluster = synthetic_cluster(args.pods, args.policies, namespaces=40, seed=args.seed)
    engine = NetworkPolicyEngine(cluster.policies, cluster.namespaces)
    build = time.perf_counter() - t0

    t0 = time.perf_counter()
    matrix = policy_matrix(engine, cluster.pods, 80, Protocol.TCP)
    allowed = matrix.allowed
    fast = time.perf_counter() - t0

    n = len(cluster.pods)
    rng = random.Random(args.seed)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(args.sample)]
    eps = [Endpoint.of_pod(p) for p in cluster.pods]
    t0 = time.perf_counter()
    slow_answers = [engine.evaluate(Flow(eps[s], eps[d], 80, Protocol.TCP)).allowed for s, d in pairs]
    sample_time = time.perf_counter() - t0
    mismatches = sum(1 for (s, d), a in zip(pairs, slow_answers, strict=True) if bool(allowed[s, d]) != a)
    per_pair_total = sample_time / len(pairs) * n * n

    print(f"cluster: {n} pods, {len(cluster.policies)} policies, {len(cluster.namespaces)} namespaces (seed {args.seed}); built in {build:.2f} s")
    print(f"matrix (vectorised): {n * n:,} pairs in {fast:.2f} s; {allowed.mean():.1%} allowed")
    print(f"per-pair engine: {len(pairs):,} sampled pairs in {sample_time:.2f} s -> {per_pair_total:.0f} s for all pairs (extrapolated)")
    print(f"ratio per-pair / vectorised: {per_pair_total / fast:.0f}x")
    print(f"sample agreement: {len(pairs) - mismatches}/{len(pairs)} pairs identical")
    if mismatches:
        raise SystemExit("vectorised matrix disagrees with the per-pair engine")


if __name__ == "__main__":
    main()
