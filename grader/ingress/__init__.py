"""Ingress (networking.k8s.io/v1): controllers, class selection, host/path matching, TLS selection."""

from .controllers import CLOUD_PROVIDER_KIND, CONTROLLERS, INGRESS_NGINX, IngressController, Placement, Upstream, get_controller
from .forward import Forward, HttpRequest, Outcome, ingress_request
from .matching import host_matches, path_matches, path_rank, strip_port
from .router import ClassDecision, IngressMatch, TlsChoice, class_of, default_class, match_request, select_tls, tls_enabled_for

__all__ = [
    "Forward", "HttpRequest", "Outcome", "ingress_request",
    "CLOUD_PROVIDER_KIND", "CONTROLLERS", "ClassDecision", "INGRESS_NGINX", "IngressController", "IngressMatch", "Placement",
    "TlsChoice", "Upstream", "class_of", "default_class", "get_controller", "host_matches", "match_request", "path_matches",
    "path_rank", "select_tls", "strip_port", "tls_enabled_for",
]
