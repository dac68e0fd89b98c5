"""CNI profiles (kindnet, Calico, Cilium): addressing, datapath (encapsulation, SNAT), what each enforces."""

from .profiles import DEFAULT_PROFILE, NODE_NETWORK, PROFILES, CniProfile, Encapsulation, Routing, get_profile

__all__ = ["CniProfile", "DEFAULT_PROFILE", "Encapsulation", "NODE_NETWORK", "PROFILES", "Routing", "get_profile"]
