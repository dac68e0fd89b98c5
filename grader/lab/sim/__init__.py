"""The simulated cluster: an in-memory Kubernetes network that answers probes by the spec."""

from .lab import SimulatedLab
from .state import ClusterState

__all__ = ["ClusterState", "SimulatedLab"]
