"""CNI profiles (kindnet, Calico, Cilium): addressing, encapsulation, what each enforces."""

from .profiles import DEFAULT_PROFILE, NODE_NETWORK, PROFILES, CniProfile, get_profile

__all__ = ["CniProfile", "DEFAULT_PROFILE", "NODE_NETWORK", "PROFILES", "get_profile"]
