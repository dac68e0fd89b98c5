"""Azure network security groups, simulated. **An Azure model: kind has no NSG.**

On kind the nearest analogues are node-level filtering (the node containers' own firewall) and a
Service's ``spec.loadBalancerSourceRanges``; the simulated cluster attaches this model to its node
subnet or node NICs so lessons can show how AKS filters traffic for the node VMs.
"""

from .loadbalancer import LoadBalancerFrontend, LoadBalancerPort, allow_rule_name, load_balancer_rules
from .model import (
    DEFAULT_RULES,
    Access,
    AddressPrefix,
    Attachment,
    FiveTuple,
    NetworkSecurityGroup,
    NsgDecision,
    NsgDirection,
    NsgProtocol,
    PortRange,
    SecurityRule,
    ServiceTag,
    TagSpace,
    evaluate,
    evaluate_attachment,
)
from .parse import parse_nsg

__all__ = [
    "DEFAULT_RULES", "Access", "AddressPrefix", "Attachment", "FiveTuple", "LoadBalancerFrontend", "LoadBalancerPort",
    "NetworkSecurityGroup", "NsgDecision", "NsgDirection", "NsgProtocol", "PortRange", "SecurityRule", "ServiceTag",
    "TagSpace", "allow_rule_name", "evaluate", "evaluate_attachment", "load_balancer_rules", "parse_nsg",
]
