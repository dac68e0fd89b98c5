"""Cluster DNS (CoreDNS) semantics and pod name resolution (search path, ndots)."""

from .resolver import CLUSTER_DOMAIN, NDOTS, Answer, ClusterZone, Lookup, Rcode, Record, query_order, resolve_in_pod, resolve_outside, search_path

__all__ = ["Answer", "CLUSTER_DOMAIN", "ClusterZone", "Lookup", "NDOTS", "Rcode", "Record", "query_order", "resolve_in_pod", "resolve_outside", "search_path"]
