"""Pure, immutable model objects. Nothing here does I/O or imports another ``grader`` layer."""

from .cluster import ContainerPort, ExternalHost, IPAddress, IPNetwork, Namespace, Node, Pod, PodRef, Protocol
from .labels import Labels, LabelSelector, Requirement, SelectorOperator
from .networkpolicy import Direction, IPBlock, NetworkPolicy, Peer, PolicyPort, Rule
from .traffic import Endpoint, EndpointKind, Flow

__all__ = [
    "ContainerPort", "Direction", "ExternalHost", "Endpoint", "EndpointKind", "Flow", "IPAddress", "IPBlock", "IPNetwork", "LabelSelector", "Labels",
    "Namespace", "NetworkPolicy", "Node", "Peer", "Pod", "PodRef", "PolicyPort", "Protocol",
    "Requirement", "Rule", "SelectorOperator",
]
