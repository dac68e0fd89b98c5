"""grader: the course's Python package.

A small facade: everything a lesson, an exercise or a test needs is importable from here.

    >>> import grader
    >>> lab = grader.connect("kindnet", backend="sim", quiet=True)
    >>> _ = lab.deploy("shop")
    >>> lab.probe("shop/web", "shop/db", 5432).verdict
    <Verdict.ALLOWED: 'allowed'>
"""

from typing import TYPE_CHECKING, Any

from .cni import PROFILES, CniProfile, get_profile
from .errors import FieldProblem, LabError, ManifestError, NetlabError
from .facts import fact
from .backends import connect
from .lab import Lab, SimulatedLab
from .manifests import Manifest, ObjectKey, parse_manifests
from .model import Direction, Labels, NetworkPolicy, Pod, PodRef, Protocol
from .netpol import NetworkPolicyEngine
from .reachability import Comparison, Probe, ProbeResult, Reachability, ReachabilityMatrix, Verdict
from .topology import Topology, load_topology

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .netpol import policy_matrix


def __getattr__(name: str) -> Any:
    # numpy, which policy_matrix needs, is imported on first use (see grader.netpol)
    if name == "policy_matrix":
        from .netpol import policy_matrix

        return policy_matrix
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "CniProfile", "Comparison", "Direction", "FieldProblem", "Lab", "LabError", "Labels", "Manifest",
    "ManifestError", "NetlabError", "NetworkPolicy", "NetworkPolicyEngine", "ObjectKey", "PROFILES", "Pod",
    "PodRef", "Probe", "ProbeResult", "Protocol", "Reachability", "ReachabilityMatrix", "SimulatedLab",
    "Topology", "Verdict", "connect", "fact", "get_profile", "load_topology", "parse_manifests", "policy_matrix",
]
