"""The enforcement canary: does this cluster enforce NetworkPolicy at all?

A default-deny ingress policy in a scratch namespace must turn an allowed connection into a
blocked one within a deadline. ``LiveLab.check`` runs it (once per lab) before grading any
expectation with a BLOCKED cell, so a cluster whose CNI ignores NetworkPolicy raises a clear
LabError instead of grading every policy exercise as wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import LabError
from ..model import ContainerPort, Labels, Namespace, Pod, Protocol
from ..reachability import ProbeResult, Verdict
from .apply import CANARY_NAMESPACE, Applier
from .workloads import OWNER_LABEL, OWNER_VALUE, namespace_manifest, pod_manifest

ProbeFn = Callable[[str, str, int], ProbeResult]
"""``probe(source, destination, port)`` (TCP)."""


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """Outcome of the enforcement canary: ``enforced`` is None when even unrestricted traffic failed."""

    enforced: bool | None
    seconds: float
    message: str


class Canary:
    """Collaborators: the :class:`Applier` (apply, wait, delete the scratch namespace), the lab's
    ``probe`` and a ``say`` callable (stdout)."""

    def __init__(self, applier: Applier, probe: ProbeFn, say: Callable[[str], None]) -> None:
        self.applier = applier
        self.probe = probe
        self.say = say
        self.result: CanaryResult | None = None
        """The last outcome (None until the canary has run)."""

    def run(self, timeout: float = 30.0) -> CanaryResult:
        started = time.monotonic()
        ns = CANARY_NAMESPACE
        server = Pod(ns, "server", Labels({"role": "server"}), ports=(ContainerPort(80, Protocol.TCP, "http"),))
        client = Pod(ns, "client", Labels({"role": "client"}))
        try:
            self.applier.ssa(namespace_manifest(Namespace(ns)))
            for pod in (server, client):
                self.applier.ssa(pod_manifest(pod))
            self.applier.wait_ready([server, client], timeout=120)
            before = self.probe(f"{ns}/client", f"{ns}/server", 80)
            if before.verdict is not Verdict.ALLOWED:
                return CanaryResult(None, time.monotonic() - started,
                                    f"the canary could not connect even without any policy ({before.verdict.name}: {before.reason}); pod networking is broken")
            self.applier.ssa({
                "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny", "namespace": ns, "labels": {OWNER_LABEL: OWNER_VALUE}},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            })
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                after = self.probe(f"{ns}/client", f"{ns}/server", 80)
                if after.verdict is Verdict.BLOCKED:
                    return CanaryResult(True, time.monotonic() - started, f"NetworkPolicy enforced (default-deny took effect; canary {time.monotonic() - started:.0f}s)")
                time.sleep(1)
            return CanaryResult(False, time.monotonic() - started, (
                f"NetworkPolicy is NOT enforced on this cluster: a default-deny ingress policy did not block traffic within {timeout:.0f}s. "
                "Policy exercises cannot be graded here. On kind, use kind >= v0.24 (kindnet enforces since then) or a Calico/Cilium "
                "profile; on your own cluster, enable a network policy engine (AKS: --network-policy cilium or calico)."
            ))
        finally:
            try:
                self.applier.kube.core.delete_namespace(ns)
            except Exception:  # noqa: BLE001 - cleanup is best effort; the next canary re-applies everything
                pass

    def require(self) -> CanaryResult:
        """Run the canary unless it already showed enforcement; LabError when it does not hold."""
        if self.result is None or self.result.enforced is not True:
            self.result = self.run()
            self.say(f"netlab: enforcement canary: {self.result.message}")
        if self.result.enforced is not True:
            raise LabError(self.result.message)
        return self.result


__all__ = ["Canary", "CanaryResult"]
