"""The NetworkPolicy semantics engine: per-flow verdicts with explanations, and a fast matrix."""

from .engine import DirectionVerdict, NetworkPolicyEngine, PolicyVerdict, RuleMatch, port_matches
from .matrix import PolicyMatrix, policy_matrix

__all__ = ["DirectionVerdict", "NetworkPolicyEngine", "PolicyMatrix", "PolicyVerdict", "RuleMatch", "policy_matrix", "port_matches"]
