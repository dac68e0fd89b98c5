"""Verdicts, probes, observed matrices and expectations: the vocabulary both lab backends speak."""

from .expectations import Comparison, Mismatch, Reachability, matches
from .matrix import ReachabilityMatrix
from .probe import Hop, HttpExchange, Probe, ProbeResult
from .render import Heatmap
from .verdict import LEGEND, Verdict

__all__ = [
    "Comparison", "Heatmap", "Hop", "HttpExchange", "LEGEND", "Mismatch", "Probe", "ProbeResult",
    "Reachability", "ReachabilityMatrix", "Verdict", "matches",
]
