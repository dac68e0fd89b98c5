"""CiliumNetworkPolicy (``cilium.io/v2``): the semantics of the subset the lab models (its types are
``grader.model.cilium``, its parser ``grader.manifests.cilium``, re-exported here).

Enforced only on the Cilium profiles; elsewhere applying one fails the way a missing CRD does
(``no matches for kind "CiliumNetworkPolicy" in version "cilium.io/v2"``).
"""

from .engine import CiliumPolicyEngine, CombinedDirection, CombinedVerdict, endpoint_labels, evaluate
from .fqdn import DnsCache, FqdnSelector, normalize, pattern_regex
from ..manifests.cilium import parse_cilium_clusterwide_network_policy, parse_cilium_network_policy
from ..model.cilium import CidrRule, CiliumNetworkPolicy, CiliumRule, EndpointSelector, Entity, PolicySpec, PortProtocol, PortRule

__all__ = [
    "CidrRule", "CiliumNetworkPolicy", "CiliumPolicyEngine", "CiliumRule", "CombinedDirection", "CombinedVerdict",
    "DnsCache", "EndpointSelector", "Entity", "FqdnSelector", "PolicySpec", "PortProtocol", "PortRule",
    "endpoint_labels", "evaluate", "normalize", "parse_cilium_clusterwide_network_policy", "parse_cilium_network_policy",
    "pattern_regex",
]
