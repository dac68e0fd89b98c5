"""How much the network model (route trace, SNAT, Cilium union, NSGs) adds to a probe.

Prints, per profile, the CPU time of ``lab.probe()`` pod → pod (the full path: trace, policy,
NSGs, listener) against the bare NetworkPolicy engine deciding the same flows, as a ratio. Uses
process CPU time and the best of several rounds, so a busy machine does not skew it.
Run: ``python benchmarks/network_probe.py``.
"""

from __future__ import annotations

import time

from grader.lab import SimulatedLab
from grader.model import Endpoint, Flow, Protocol

ROUNDS = 5
NSG = {"name": "bench", "securityRules": [{
    "name": "deny-ssh", "priority": 100, "direction": "Inbound", "access": "Deny", "protocol": "Tcp",
    "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "22"}]}


def best(fn: object) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    for profile in ("kindnet", "calico-vxlan", "cilium-native"):
        for with_nsg in (False, True):
            lab = SimulatedLab(profile)
            lab.deploy("e2e")
            if with_nsg:
                lab.attach_nsg(NSG)
            pods = lab.pods()
            names = [str(p.ref) for p in pods]
            engine = lab.policy_engine()
            flows = [Flow(Endpoint.of_pod(a), Endpoint.of_pod(b), 80, Protocol.TCP) for a in pods for b in pods]
            probe_t = best(lambda lab=lab, names=names: [lab.probe(s, d, 80) for s in names for d in names])
            engine_t = best(lambda engine=engine, flows=flows: [engine.evaluate(f) for f in flows])
            n = len(flows)
            label = f"{profile}{' + NSG' if with_nsg else ''}"
            print(f"{label:<22} probe {probe_t / n * 1e6:7.1f} us   engine only {engine_t / n * 1e6:6.1f} us   ratio {probe_t / engine_t:5.1f}x")


if __name__ == "__main__":
    main()
