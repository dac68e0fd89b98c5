"""Plausible wrong answers, each with the test cells it must lose and words its message must contain.

Every entry is a mistake learners make (too permissive, too strict, AND/OR swapped, missing DNS
egress, wrong namespace, wrong port, named port without its protocol, ...). ``lose`` is the exact
set of test cells (grade_ids) that must score 0; every other cell of the notebook must still
score full. ``mention`` are fragments the failure message of at least one lost cell must contain,
usually the wrong flow in the grader's own words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wrong:
    notebook: str
    answer: str
    label: str
    yaml: str
    lose: frozenset[str]
    mention: tuple[str, ...]


def _np(name: str, namespace: str | None, spec: str) -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}{ns}\nspec:\n{spec}"


def W(notebook: str, answer: str, label: str, yaml: str, lose: set[str], *mention: str) -> Wrong:
    return Wrong(notebook, answer, label, yaml, frozenset(lose), tuple(mention))


NP = "07-network-policies"
DD_ALL = {"np_default_deny_visible", "np_default_deny_all_in", "np_default_deny_rest"}

BANK: list[Wrong] = [
    # -- default_deny ----------------------------------------------------------------------
    W(NP, "default_deny", "too narrow: selects only the front end",
      _np("default-deny-ingress", "shop", "  podSelector: {matchLabels: {tier: frontend}}\n  policyTypes: [Ingress]"),
      {"np_default_deny_all_in"}, "untrusted/attacker → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "default_deny", "also denies egress",
      _np("default-deny-ingress", "shop", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"),
      {"np_default_deny_rest"}, "shop/api → kube-system/coredns-0 53/UDP: expected ALLOWED, observed BLOCKED"),
    W(NP, "default_deny", "no namespace: lands in default",
      _np("default-deny-ingress", None, "  podSelector: {}\n  policyTypes: [Ingress]"),
      {"np_default_deny_visible", "np_default_deny_all_in"}, "set metadata.namespace: shop",
      "untrusted/attacker → shop/web 80/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "default_deny", "allow-all rule instead of deny",
      _np("default-deny-ingress", "shop", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - {}"),
      {"np_default_deny_visible", "np_default_deny_all_in"}, "expected BLOCKED, observed ALLOWED", "allowed by shop/default-deny-ingress ingress[0]"),
    W(NP, "default_deny", "lists today's tiers: misses pods added later",
      _np("default-deny-ingress", "shop", "  podSelector:\n    matchExpressions:\n    - {key: tier, operator: In, values: [frontend, backend, database]}\n  policyTypes: [Ingress]"),
      {"np_default_deny_all_in"}, "→ shop/cache 6379/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "default_deny", "invalid policyTypes value",
      _np("default-deny-ingress", "shop", "  podSelector: {}\n  policyTypes: [ingress]"),
      DD_ALL, "networkpolicy/default-deny-ingress spec.policyTypes[0]"),
    W(NP, "default_deny", "broken YAML indentation",
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny-ingress\n namespace: shop\nspec:\n  podSelector: {}\n",
      DD_ALL, "not valid YAML", "line 6"),  # line 6 of the answer cell (its first line is `default_deny = """`)
    # -- api_from_frontend -----------------------------------------------------------------
    W(NP, "api_from_frontend", "no ports: every port from the front end",
      _np("api-allow-frontend", "shop", "  podSelector: {matchLabels: {tier: backend}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: frontend}}"),
      {"np_api_ports"}, "shop/web → shop/api 9100/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "api_from_frontend", "front ends of any namespace",
      _np("api-allow-frontend", "shop", "  podSelector: {matchLabels: {tier: backend}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {}\n      podSelector: {matchLabels: {tier: frontend}}\n    ports: [{protocol: TCP, port: 8080}]"),
      {"np_api_who"}, "untrusted/fake-web → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "api_from_frontend", "namespace OR front end (two peers)",
      _np("api-allow-frontend", "shop", "  podSelector: {matchLabels: {tier: backend}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: shop}}\n    - podSelector: {matchLabels: {tier: frontend}}\n    ports: [{protocol: TCP, port: 8080}]"),
      {"np_api_who"}, "shop/db → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "api_from_frontend", "wrong port: the front end's own 80",
      _np("api-allow-frontend", "shop", "  podSelector: {matchLabels: {tier: backend}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: frontend}}\n    ports: [{protocol: TCP, port: 80}]"),
      {"np_api_visible", "np_api_who"}, "shop/web → shop/api 8080/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "api_from_frontend", "isolates the front end instead of the back end",
      _np("api-allow-frontend", "shop", "  podSelector: {matchLabels: {tier: frontend}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: frontend}}\n    ports: [{protocol: TCP, port: 8080}]"),
      {"np_api_who", "np_api_ports"}, "untrusted/attacker → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED",
      "untrusted/attacker → shop/web 80/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "api_from_frontend", "egress instead of ingress",
      _np("api-allow-frontend", "shop", "  podSelector: {matchLabels: {tier: backend}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - podSelector: {matchLabels: {tier: frontend}}\n    ports: [{protocol: TCP, port: 8080}]"),
      {"np_api_who", "np_api_ports"}, "shop/api → api.example.com 443/TCP: expected ALLOWED, observed BLOCKED"),
    # -- db_from_backend -------------------------------------------------------------------
    W(NP, "db_from_backend", "the pod, not the tier (app=api)",
      _np("db-allow-backend", "shop", "  podSelector: {matchLabels: {tier: database}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: api}}\n    ports: [{protocol: TCP, port: 5432}]"),
      {"np_db_who"}, "shop/api-v2 → shop/db 5432/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "db_from_backend", "no ports",
      _np("db-allow-backend", "shop", "  podSelector: {matchLabels: {tier: database}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: backend}}"),
      {"np_db_ports"}, "shop/api → shop/db 9100/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "db_from_backend", "back ends of any namespace",
      _np("db-allow-backend", "shop", "  podSelector: {matchLabels: {tier: database}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {}\n      podSelector: {matchLabels: {tier: backend}}\n    ports: [{protocol: TCP, port: 5432}]"),
      {"np_db_who"}, "untrusted/fake-api → shop/db 5432/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "db_from_backend", "port without peers: anyone on 5432",
      _np("db-allow-backend", "shop", "  podSelector: {matchLabels: {tier: database}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{protocol: TCP, port: 5432}]"),
      {"np_db_who"}, "untrusted/attacker → shop/db 5432/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "db_from_backend", "wrong port: MySQL's 3306",
      _np("db-allow-backend", "shop", "  podSelector: {matchLabels: {tier: database}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: backend}}\n    ports: [{protocol: TCP, port: 3306}]"),
      {"np_db_visible", "np_db_who"}, "shop/api → shop/db 5432/TCP: expected ALLOWED, observed BLOCKED"),
    # -- allow_metrics ---------------------------------------------------------------------
    W(NP, "allow_metrics", "OR: namespace and pod as two peers",
      _np("allow-metrics-scraping", "shop", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {purpose: monitoring}}\n    - podSelector: {matchLabels: {app: prometheus}}\n    ports: [{protocol: TCP, port: 9100}]"),
      {"np_metrics_who"}, "monitoring/grafana → shop/api 9100/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "allow_metrics", "podSelector alone: Prometheus of shop only",
      _np("allow-metrics-scraping", "shop", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: prometheus}}\n    ports: [{protocol: TCP, port: 9100}]"),
      {"np_metrics_visible", "np_metrics_who", "np_metrics_ports"}, "monitoring/prometheus → shop/web 9100/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "allow_metrics", "the whole monitoring namespace",
      _np("allow-metrics-scraping", "shop", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {purpose: monitoring}}\n    ports: [{protocol: TCP, port: 9100}]"),
      {"np_metrics_who"}, "monitoring/grafana → shop/db 9100/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "allow_metrics", "no ports: Prometheus reaches everything",
      _np("allow-metrics-scraping", "shop", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {purpose: monitoring}}\n      podSelector: {matchLabels: {app: prometheus}}"),
      {"np_metrics_ports"}, "monitoring/prometheus → shop/web 80/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "allow_metrics", "only today's tiers",
      _np("allow-metrics-scraping", "shop", "  podSelector:\n    matchExpressions:\n    - {key: tier, operator: In, values: [frontend, backend, database]}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {purpose: monitoring}}\n      podSelector: {matchLabels: {app: prometheus}}\n    ports: [{protocol: TCP, port: 9100}]"),
      {"np_metrics_ports"}, "monitoring/prometheus → shop/cache 9100/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "allow_metrics", "misspelt named port",
      _np("allow-metrics-scraping", "shop", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {purpose: monitoring}}\n      podSelector: {matchLabels: {app: prometheus}}\n    ports: [{protocol: TCP, port: metric}]"),
      {"np_metrics_visible", "np_metrics_who", "np_metrics_ports"}, "names port 'metric', but shop/web has no TCP port with that name"),
    # -- peer_and / peer_or ----------------------------------------------------------------
    W(NP, "peer_and", "OR instead of AND",
      _np("a-from-y-b", "x", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n    - podSelector: {matchLabels: {pod: b}}"),
      {"np_and_matrix"}, "y/a → x/a 80/TCP: expected BLOCKED, observed ALLOWED", "x/b → x/a 80/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "peer_and", "podSelector alone: b of namespace x",
      _np("a-from-y-b", "x", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {pod: b}}"),
      {"np_and_visible", "np_and_matrix"}, "y/b → x/a 80/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "peer_and", "TCP 80 only",
      _np("a-from-y-b", "x", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n      podSelector: {matchLabels: {pod: b}}\n    ports: [{protocol: TCP, port: 80}]"),
      {"np_and_matrix"}, "y/b → x/a 81/UDP: expected ALLOWED, observed BLOCKED"),
    W(NP, "peer_or", "AND instead of OR",
      _np("c-from-y-or-b", "x", "  podSelector: {matchLabels: {pod: c}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n      podSelector: {matchLabels: {pod: b}}"),
      {"np_or_visible", "np_or_matrix"}, "y/a → x/c 80/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "peer_or", "pod b of its own namespace only",
      _np("c-from-y-or-b", "x", "  podSelector: {matchLabels: {pod: c}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n    - podSelector: {matchLabels: {pod: b}}"),
      {"np_or_matrix"}, "z/b → x/c 80/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "peer_or", "every namespace as a peer of its own",
      _np("c-from-y-or-b", "x", "  podSelector: {matchLabels: {pod: c}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {}\n    - podSelector: {matchLabels: {pod: b}}"),
      {"np_or_matrix"}, "z/a → x/c 80/TCP: expected BLOCKED, observed ALLOWED"),
    # -- named_ports -----------------------------------------------------------------------
    W(NP, "named_ports", "named UDP port without its protocol (defaults to TCP)",
      _np("b-named-ports", "x", "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports:\n    - port: serve-81-udp\n    - {protocol: TCP, port: 80, endPort: 81}"),
      {"np_ports_udp"}, "z/a → x/b 81/UDP: expected ALLOWED, observed BLOCKED"),
    W(NP, "named_ports", "range without endPort",
      _np("b-named-ports", "x", "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports:\n    - {protocol: UDP, port: serve-81-udp}\n    - {protocol: TCP, port: 80}"),
      {"np_ports_range"}, "y/c → x/b 81/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "named_ports", "from podSelector {}: namespace x only",
      _np("b-named-ports", "x", "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {}\n    ports:\n    - {protocol: UDP, port: serve-81-udp}\n    - {protocol: TCP, port: 80, endPort: 81}"),
      {"np_ports_visible", "np_ports_udp", "np_ports_range"}, "z/a → x/b 80/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "named_ports", "every UDP port",
      _np("b-named-ports", "x", "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports:\n    - {protocol: UDP}\n    - {protocol: TCP, port: 80, endPort: 81}"),
      {"np_ports_udp"}, "x/a → x/b 80/UDP: expected BLOCKED, observed ALLOWED"),
    W(NP, "named_ports", "endPort below port",
      _np("b-named-ports", "x", "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports:\n    - {protocol: UDP, port: serve-81-udp}\n    - {protocol: TCP, port: 81, endPort: 80}"),
      {"np_ports_visible", "np_ports_udp", "np_ports_range"}, "spec.ingress[0].ports[1].endPort"),
    # -- api_egress ------------------------------------------------------------------------
    *[W(NP, "api_egress", label, _np("api-egress", "shop", "  podSelector: {matchLabels: {app: api}}\n  policyTypes: " + types + "\n  egress:\n" + rules), lose, *mention)
      for label, types, rules, lose, mention in [
          ("missing DNS egress", "[Egress]",
           "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
           "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]",
           {"np_egress_dns"}, ("shop/api → kube-system/coredns-0 53/UDP: expected ALLOWED, observed BLOCKED",)),
          ("DNS over UDP only", "[Egress]",
           "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
           "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{protocol: UDP, port: 53}]\n"
           "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]",
           {"np_egress_dns"}, ("shop/api → kube-system/coredns-0 53/TCP: expected ALLOWED, observed BLOCKED",)),
          ("DNS to any server", "[Egress]",
           "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
           "  - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n"
           "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]",
           {"np_egress_dns"}, ("shop/api → blocked.example.net 53/UDP: expected BLOCKED, observed REFUSED",)),
          ("the whole internet on 443", "[Egress]",
           "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
           "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n"
           "  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n    ports: [{protocol: TCP, port: 443}]",
           {"np_egress_outside"}, ("shop/api → blocked.example.net 443/TCP: expected BLOCKED, observed ALLOWED",)),
          ("external API on every port", "[Egress]",
           "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
           "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n"
           "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]",
           {"np_egress_outside", "np_egress_dns"}, ("shop/api → api.example.com 80/TCP: expected BLOCKED, observed ALLOWED",
                                                    "shop/api → api.example.com 53/UDP: expected BLOCKED, observed REFUSED")),
          ("Ingress listed in policyTypes too", "[Ingress, Egress]",
           "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
           "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n"
           "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]",
           {"np_egress_inside"}, ("shop/web → shop/api 8080/TCP: expected ALLOWED, observed BLOCKED",)),
          ("database by a label it does not have", "[Egress]",
           "  - to: [{podSelector: {matchLabels: {tier: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
           "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n"
           "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]",
           {"np_egress_inside"}, ("shop/api → shop/db 5432/TCP: expected ALLOWED, observed BLOCKED",)),
      ]],
    W(NP, "api_egress", "selects every pod of shop",
      _np("api-egress", "shop", "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n"
          "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
          "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n"
          "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]"),
      {"np_egress_outside", "np_egress_inside"}, "shop/db → blocked.example.net 443/TCP: expected ALLOWED, observed BLOCKED",
      "shop/web → shop/api 8080/TCP: expected ALLOWED, observed BLOCKED"),
]

# -- capstone ------------------------------------------------------------------------------
CAP = "08-capstone"


def _capstone(**replace: str) -> str:
    docs = {
        "deny": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny-all, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]",
        "dns": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-dns, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]",
        "metrics": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-metrics, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {purpose: monitoring}}, podSelector: {matchLabels: {app: prometheus}}}]\n    ports: [{protocol: TCP, port: 9100}]",
        "web": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{namespaceSelector: {}}]\n    ports: [{protocol: TCP, port: 80}]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{protocol: TCP, port: 8080}]",
        "api": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{protocol: TCP, port: 8080}]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]",
        "db": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{protocol: TCP, port: 5432}]",
    }
    docs.update(replace)
    return "\n---\n".join(d for d in docs.values() if d)


BANK += [
    W(CAP, "shop_policies", "default deny for ingress only, and no DNS policy",
      _capstone(dns="", deny="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny-all, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]"),
      {"cap_east_west", "cap_dns", "cap_egress", "cap_new_pod"}, "shop/db → api.example.com 443/TCP: expected BLOCKED, observed ALLOWED",
      "shop/cache → api.example.com 443/TCP: expected BLOCKED, observed ALLOWED"),
    W(CAP, "shop_policies", "forgot DNS", _capstone(dns=""),
      {"cap_dns", "cap_new_pod"}, "shop/web → kube-system/coredns-1 53/UDP: expected ALLOWED, observed BLOCKED"),
    W(CAP, "shop_policies", "front end only open to its own namespace",
      _capstone(web="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{podSelector: {}}]\n    ports: [{protocol: TCP, port: 80}]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{protocol: TCP, port: 8080}]"),
      {"cap_visible", "cap_east_west"}, "untrusted/attacker → shop/web 80/TCP: expected ALLOWED, observed BLOCKED"),
    W(CAP, "shop_policies", "metrics from the namespace OR the pod",
      _capstone(metrics="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-metrics, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {purpose: monitoring}}}, {podSelector: {matchLabels: {app: prometheus}}}]\n    ports: [{protocol: TCP, port: 9100}]"),
      {"cap_monitoring"}, "monitoring/grafana → shop/api 9100/TCP: expected BLOCKED, observed ALLOWED"),
    W(CAP, "shop_policies", "API may reach the whole internet on 443",
      _capstone(api="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{protocol: TCP, port: 8080}]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n    ports: [{protocol: TCP, port: 443}]"),
      {"cap_egress"}, "shop/api → blocked.example.net 443/TCP: expected BLOCKED, observed ALLOWED"),
    W(CAP, "shop_policies", "front end has no egress rule to the API",
      _capstone(web="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{namespaceSelector: {}}]\n    ports: [{protocol: TCP, port: 80}]"),
      {"cap_visible", "cap_east_west"}, "shop/web → shop/api 8080/TCP: expected ALLOWED, observed BLOCKED", "egress from shop/web: BLOCKED"),
]

# -- basics --------------------------------------------------------------------------------
B = "01-basics"
def _simulated_answers() -> tuple[dict[str, str], dict[str, str], str]:
    """The right basics answers, read from the simulator (the bank varies them), and next hops."""
    from grader.lab.sim import SimulatedLab

    kindnet, calico = SimulatedLab("kindnet"), SimulatedLab("calico-vxlan")
    kindnet.deploy("shop")
    calico.deploy("shop")
    web, db, cweb = kindnet.state.pod("shop/web"), kindnet.state.pod("shop/db"), calico.state.pod("shop/web")
    assert web is not None and db is not None and cweb is not None
    node = kindnet.state.node(str(web.node))
    addr = {"web_ip": str(web.ip), "web_node": str(web.node), "web_node_ip": str(node.ip),
            "web_node_pod_cidr": str(node.pod_cidr), "db_ip": str(db.ip), "db_node": str(db.node)}
    block = next(b for b in calico.state.ipam.blocks[str(cweb.node)] if cweb.ip in b)
    blocks = {"addresses_per_block": "64", "blocks_in_pool": "1024", "web_block": str(block), "web_node": str(cweb.node)}
    return addr, blocks, str(cweb.ip)


_ADDR, _BLOCKS, _CALICO_WEB_IP = _simulated_answers()


def _values(base: dict[str, str], **changes: str) -> str:
    merged = {**base, **changes}
    return "\n".join(f"{k}: {v}" for k, v in merged.items())


_HOPS = "next_hop:\n  10.244.2.9: {a}\n  10.244.0.5: {b}\n  10.244.1.200: {c}\npod_ips_per_node: {n}"
_CNI = {"kindnet_web_to_api": "allowed", "kindnet_web_to_internet": "allowed", "cilium_web_to_api": "blocked", "cilium_web_to_internet": "allowed"}

BANK += [
    W(B, "shop_addresses", "node name where the node IP goes", _values(_ADDR, web_node_ip="kind-worker2"),
      {"basics_addresses_visible", "basics_addresses_values"}, "`web_node_ip`: 'kind-worker2' is not an IP address"),
    W(B, "shop_addresses", "web and db swapped", _values(_ADDR, web_ip=_ADDR["db_ip"], db_ip=_ADDR["web_ip"]),
      {"basics_addresses_values"}, f"`web_ip`: {_ADDR['db_ip']} is not right"),
    W(B, "shop_addresses", "pod IP with a /24 instead of the podCIDR", _values(_ADDR, web_node_pod_cidr=_ADDR["web_ip"] + "/24"),
      {"basics_addresses_visible", "basics_addresses_values"}, "has host bits set"),
    W(B, "shop_addresses", "the node's pod gateway as the node IP", _values(_ADDR, web_node_ip=_ADDR["web_node_pod_cidr"].replace(".0/24", ".1")),
      {"basics_addresses_visible", "basics_addresses_values"}, "is not inside 172.18.0.0/16"),
    W(B, "routing", "pod gateways instead of node IPs", _HOPS.format(a="10.244.2.1", b="10.244.0.1", c="10.244.1.1", n=253),
      {"basics_routing_visible", "basics_routing_values"}, "is not inside 172.18.0.0/16"),
    W(B, "routing", "control plane mixed up with the first worker", _HOPS.format(a="172.18.0.4", b="172.18.0.3", c="172.18.0.2", n=253),
      {"basics_routing_values"}, "`next_hop.10.244.0.5`: 172.18.0.3 is not right"),
    W(B, "routing", "254 usable addresses (forgot the gateway)", _HOPS.format(a="172.18.0.4", b="172.18.0.2", c="172.18.0.3", n=254),
      {"basics_routing_values"}, "`pod_ips_per_node`: 254 is not right"),
    W(B, "calico_blocks", "thinks in /24s", _values(_BLOCKS, addresses_per_block="256", blocks_in_pool="256", web_block="192.168.0.0/24"),
      {"basics_calico_values"}, "`addresses_per_block`: 256 is not right", "`web_block`: 192.168.0.0/24 is not right"),
    W(B, "calico_blocks", "the node's podCIDR, which Calico ignores", _values(_BLOCKS, web_block="192.168.2.0/24"),
      {"basics_calico_values"}, "`web_block`: 192.168.2.0/24 is not right"),
    W(B, "calico_blocks", "pod address with the block's prefix", _values(_BLOCKS, web_block=_CALICO_WEB_IP + "/26"),
      {"basics_calico_visible", "basics_calico_values"}, f"{_CALICO_WEB_IP}/26 has host bits set"),
    W(B, "cni_divergence", "same on both CNIs", _values(_CNI, cilium_web_to_api="allowed"),
      {"basics_cni_values"}, "`cilium_web_to_api`: allowed is not right"),
    W(B, "cni_divergence", "Cilium blocks the internet too", _values(_CNI, cilium_web_to_internet="blocked"),
      {"basics_cni_values"}, "`cilium_web_to_internet`: blocked is not right"),
    W(B, "cni_divergence", "yes/no instead of verdicts", _values(_CNI, kindnet_web_to_api="yes"),
      {"basics_cni_visible", "basics_cni_values"}, "`kindnet_web_to_api`: true is not a verdict (YAML reads unquoted yes/no"),
]
