"""Ingress matching, straight from the tables of kubernetes.io "Ingress" (Examples, Hostname
wildcards, Multiple matches) plus class selection (DefaultIngressClass admission plugin)."""

from __future__ import annotations

import pytest

from grader.ingress import CLOUD_PROVIDER_KIND, INGRESS_NGINX, class_of, default_class, host_matches, match_request, path_matches, select_tls
from grader.model.ingress import Ingress, IngressBackend, IngressClass, IngressPath, IngressRule, IngressTLS, PathType

P, E = PathType.PREFIX, PathType.EXACT


@pytest.mark.parametrize(("ptype", "rule", "request_path", "ok"), [
    # kubernetes.io "Ingress" → Examples table
    (P, "/", "/anything", True),                    # Prefix / matches all paths
    (E, "/foo", "/foo", True),
    (E, "/foo", "/bar", False),
    (E, "/foo", "/foo/", False),
    (E, "/foo/", "/foo", False),
    (P, "/foo", "/foo", True),
    (P, "/foo", "/foo/", True),
    (P, "/foo/", "/foo", True),
    (P, "/foo/", "/foo/", True),
    (P, "/aaa/bb", "/aaa/bbb", False),
    (P, "/aaa/bbb", "/aaa/bbb", True),
    (P, "/aaa/bbb/", "/aaa/bbb", True),             # ignores trailing slash
    (P, "/aaa/bbb", "/aaa/bbb/", True),             # matches trailing slash
    (P, "/aaa/bbb", "/aaa/bbb/ccc", True),          # matches subpath
    (P, "/aaa/bbb", "/aaa/bbbxyz", False),          # does not match string prefix
    (P, "/foo/bar", "/foo/barbaz", False),          # the note under Prefix
    (P, "/foo", "/foo?x=1", True),                  # the query string is not part of the path
])
def test_path_types(ptype, rule, request_path, ok):
    assert path_matches(rule, ptype, request_path) is ok


@pytest.mark.parametrize(("rule", "host", "ok"), [
    ("*.foo.com", "bar.foo.com", True),       # matches based on shared suffix
    ("*.foo.com", "baz.bar.foo.com", False),  # wildcard only covers a single DNS label
    ("*.foo.com", "foo.com", False),
    ("foo.bar.com", "foo.bar.com:8443", True),  # the port is not part of the host
    ("foo.bar.com", "FOO.bar.com", True),
])
def test_host_wildcards(rule, host, ok):
    assert host_matches(rule, host) is ok


def test_cloud_provider_kind_wildcards_follow_gateway_api():
    # cloud-provider-kind pkg/ingress/README.md "Known Incompatibilities"
    assert host_matches("*.foo.com", "baz.bar.foo.com", wildcard_one_label=CLOUD_PROVIDER_KIND.wildcard_one_label)


def svc(name: str, port: int | str = 80) -> IngressBackend:
    return IngressBackend(name, port)


def ing(name: str, rules: list[IngressRule], default: IngressBackend | None = None, tls: tuple = ()) -> Ingress:
    return Ingress("shop", name, "nginx", None, tuple(rules), tls, default)


def rule(host: str | None, *paths: tuple[str, PathType, str]) -> IngressRule:
    return IngressRule(host, tuple(IngressPath(p, t, svc(b)) for p, t, b in paths))


MULTI = [ing("a", [rule(None, ("/", P, "root"), ("/aaa", P, "aaa"), ("/aaa/bbb", P, "bbb"))])]


@pytest.mark.parametrize(("ingresses", "path", "backend"), [
    # Examples table rows with several paths
    (MULTI, "/aaa/ccc", "aaa"),
    (MULTI, "/aaa/bbb", "bbb"),
    (MULTI, "/ccc", "root"),
    ([ing("a", [rule(None, ("/aaa", P, "aaa"))])], "/ccc", None),  # no match: default backend
    ([ing("a", [rule(None, ("/foo", P, "prefix"), ("/foo", E, "exact"))])], "/foo", "exact"),  # Mixed: prefers Exact
    ([ing("a", [rule(None, ("/foo", P, "prefix"), ("/foo", E, "exact"))])], "/foo/x", "prefix"),
])
def test_precedence_longest_then_exact(ingresses, path, backend):
    m = match_request(INGRESS_NGINX, ingresses, "shop.example.com", path)
    assert (m.backend.service if m else None) == backend


def test_exact_host_beats_wildcard_beats_hostless():
    ingresses = [ing("a", [rule("*.example.com", ("/", P, "wild")), rule("shop.example.com", ("/", P, "exact")), rule(None, ("/", P, "any"))])]
    assert match_request(INGRESS_NGINX, ingresses, "shop.example.com", "/").backend.service == "exact"
    assert match_request(INGRESS_NGINX, ingresses, "api.example.com", "/").backend.service == "wild"
    assert match_request(INGRESS_NGINX, ingresses, "10.0.0.1", "/").backend.service == "any"


def test_rules_for_one_host_merge_across_ingresses_oldest_wins_ties():
    old = ing("old", [rule("shop.example.com", ("/api", P, "old-api"))])
    new = ing("new", [rule("shop.example.com", ("/", P, "web"), ("/api", P, "new-api"))])
    assert match_request(INGRESS_NGINX, [old, new], "shop.example.com", "/api/x").backend.service == "old-api"
    assert match_request(INGRESS_NGINX, [old, new], "shop.example.com", "/").backend.service == "web"


def test_default_backend_catches_what_no_rule_matches():
    i = ing("a", [rule("shop.example.com", ("/api", P, "api"))], default=svc("fallback"))
    m = match_request(INGRESS_NGINX, [i], "shop.example.com", "/other")
    assert m.default_backend and m.backend.service == "fallback"
    assert match_request(INGRESS_NGINX, [i], "unknown.example.com", "/").backend.service == "fallback"


def test_implementation_specific_is_treated_as_prefix_and_says_so():
    i = ing("a", [rule(None, ("/api", PathType.IMPLEMENTATION_SPECIFIC, "api"))])
    m = match_request(INGRESS_NGINX, [i], "x", "/api/v1")
    assert m.backend.service == "api" and "treats it as Prefix" in m.note
    assert match_request(INGRESS_NGINX, [i], "x", "/apiv1") is None


def test_tls_selection_by_sni_exact_before_wildcard():
    i = ing("a", [], tls=(IngressTLS(("*.example.com",), "wild"), IngressTLS(("shop.example.com",), "shop")))
    assert select_tls(INGRESS_NGINX, [i], "shop.example.com").tls.secret_name == "shop"
    assert select_tls(INGRESS_NGINX, [i], "api.example.com").tls.secret_name == "wild"
    assert select_tls(INGRESS_NGINX, [i], "a.b.example.com") is None
    assert select_tls(INGRESS_NGINX, [i], None) is None


CLASSES = {"nginx": IngressClass("nginx", "k8s.io/ingress-nginx"), "cloud-provider-kind": IngressClass("cloud-provider-kind", "kind.sigs.k8s.io/ingress-controller", True)}


@pytest.mark.parametrize(("class_name", "annotation", "controller", "served"), [
    ("nginx", None, INGRESS_NGINX, True),
    ("nginx", None, CLOUD_PROVIDER_KIND, False),
    ("missing", None, INGRESS_NGINX, False),
    (None, "nginx", INGRESS_NGINX, True),  # the deprecated kubernetes.io/ingress.class annotation
    (None, None, INGRESS_NGINX, False),
])
def test_class_selection(class_name, annotation, controller, served):
    i = Ingress("shop", "a", class_name, annotation, (), (), svc("web"))
    assert class_of(i, controller, CLASSES).served is served


def test_default_ingress_class_admission():
    chosen, problem = default_class(list(CLASSES.values()))
    assert chosen is not None and chosen.name == "cloud-provider-kind" and not problem
    two = [*CLASSES.values(), IngressClass("other", "example.com/x", True)]
    chosen, problem = default_class(two)
    assert chosen is None and "2 default IngressClasses were found" in problem
