"""The NetworkPolicy semantics engine: per-flow verdicts with explanations, and a fast matrix.

The matrix (``policy_matrix``) needs numpy, whose import costs about a tenth of a second; it is
loaded on first use, so that a notebook that never asks for a large matrix (every lesson and
exercise: the lab explains small matrices flow by flow) does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine import DirectionVerdict, NetworkPolicyEngine, PolicyVerdict, RuleMatch, port_matches

if TYPE_CHECKING:
    from .matrix import PolicyMatrix, policy_matrix

__all__ = ["DirectionVerdict", "NetworkPolicyEngine", "PolicyMatrix", "PolicyVerdict", "RuleMatch", "policy_matrix", "port_matches"]

_LAZY = {"PolicyMatrix", "policy_matrix"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import matrix

        return getattr(matrix, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
