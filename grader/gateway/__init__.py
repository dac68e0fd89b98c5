"""Gateway API (gateway.networking.k8s.io/v1, and v1beta1, still served for the same objects): implementations, attachment and status, request routing."""

from .attachment import (
    Condition,
    ConditionRow,
    ConditionStatus,
    GatewayStatus,
    ListenerStatus,
    ParentStatus,
    RouteStatus,
    backend_problem,
    class_status,
    effective_hostnames,
    hostname_intersection,
    implementation_for,
    listener_conditions,
    parent_status,
    resolved_refs,
)
from .filters import apply_header_modifier, modify_path, redirect_location, replace_prefix, rewrite_url
from .forward import GatewayWorld, attached_routes, heaviest, listener_certificate, route_request
from .implementations import APPROUTING_ISTIO, CLOUD_PROVIDER_KIND_GATEWAY, IMPLEMENTATIONS, GatewayImplementation, by_controller, get_implementation
from .routing import (
    AttachedRoute,
    RouteChoice,
    choose_route,
    gateway_host_matches,
    path_match,
    request_matches,
    select_listener,
)

__all__ = [
    "ConditionRow", "ConditionStatus",
    "GatewayWorld", "attached_routes", "heaviest", "listener_certificate", "modify_path", "replace_prefix", "rewrite_url", "route_request",
    "APPROUTING_ISTIO", "AttachedRoute", "CLOUD_PROVIDER_KIND_GATEWAY", "Condition", "GatewayImplementation", "GatewayStatus",
    "IMPLEMENTATIONS", "ListenerStatus", "ParentStatus", "RouteChoice", "RouteStatus", "apply_header_modifier", "backend_problem",
    "by_controller", "choose_route", "class_status", "effective_hostnames", "gateway_host_matches", "get_implementation",
    "hostname_intersection", "implementation_for", "listener_conditions", "parent_status", "path_match", "redirect_location",
    "request_matches", "resolved_refs", "select_listener",
]
