"""Plausible wrong answers, each with the test cells it must lose and words its message must contain.

Every entry is a mistake learners make (too permissive, too strict, AND/OR swapped, missing DNS
egress, wrong namespace, wrong port, named port without its protocol, ...). ``lose`` is the exact
set of test cells (grade_ids) that must score 0; every other cell of the notebook must still
score full. ``mention`` are fragments the failure message of at least one lost cell must contain,
usually the wrong flow in the grader's own words. ``visible`` marks a typical mistake (the OR peer
instead of AND, a default deny that also blocks the other direction, a numeric targetPort, a load
balancer that hides the client address, DNS forgotten or too open...): the student version's
visible tests must already fail it, so that *Validate* does not say "Success!" for it
(``tests/exercises/test_visible_tests.py``).
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
    visible: bool = False


def _np(name: str, namespace: str | None, spec: str) -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}{ns}\nspec:\n{spec}"


def W(notebook: str, answer: str, label: str, yaml: str, lose: set[str], *mention: str, visible: bool = False) -> Wrong:
    return Wrong(notebook, answer, label, yaml, frozenset(lose), tuple(mention), visible)


NP = "07-network-policies"
DD_ALL = {"np_default_deny_visible", "np_default_deny_all_in", "np_default_deny_rest"}

BANK: list[Wrong] = [
    # -- default_deny ----------------------------------------------------------------------
    W(NP, "default_deny", "too narrow: selects only the front end",
      _np("default-deny-ingress", "shop", "  podSelector: {matchLabels: {tier: frontend}}\n  policyTypes: [Ingress]"),
      {"np_default_deny_all_in"}, "untrusted/attacker → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "default_deny", "also denies egress",
      _np("default-deny-ingress", "shop", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"),
      {"np_default_deny_rest"}, "shop/api → kube-system/coredns-0 53/UDP: expected ALLOWED, observed BLOCKED", visible=True),
    W(NP, "default_deny", "no namespace: lands in default",
      _np("default-deny-ingress", None, "  podSelector: {}\n  policyTypes: [Ingress]"),
      {"np_default_deny_visible", "np_default_deny_all_in"}, "set metadata.namespace: shop",
      "untrusted/attacker → shop/web 80/TCP: expected BLOCKED, observed ALLOWED", visible=True),
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
      {"np_api_who"}, "shop/db → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    W(NP, "api_from_frontend", "wrong port: the front end's own 80",
      _np("api-allow-frontend", "shop", "  podSelector: {matchLabels: {tier: backend}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: frontend}}\n    ports: [{protocol: TCP, port: 80}]"),
      {"np_api_visible", "np_api_who"}, "shop/web → shop/api 8080/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "api_from_frontend", "isolates the front end instead of the back end",
      _np("api-allow-frontend", "shop", "  podSelector: {matchLabels: {tier: frontend}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: frontend}}\n    ports: [{protocol: TCP, port: 8080}]"),
      {"np_api_who", "np_api_ports"}, "untrusted/attacker → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED",
      "untrusted/attacker → shop/web 80/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "api_from_frontend", "egress instead of ingress",
      _np("api-allow-frontend", "shop", "  podSelector: {matchLabels: {tier: backend}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - podSelector: {matchLabels: {tier: frontend}}\n    ports: [{protocol: TCP, port: 8080}]"),
      # api's egress is now isolated without a DNS rule: the name lookup itself fails.
      {"np_api_who", "np_api_ports"}, "shop/api → api.example.com 443/TCP: expected ALLOWED, observed DNS_FAILED"),
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
      {"np_metrics_who"}, "monitoring/grafana → shop/api 9100/TCP: expected BLOCKED, observed ALLOWED", visible=True),
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
      {"np_and_matrix"}, "y/a → x/a 80/TCP: expected BLOCKED, observed ALLOWED", "x/b → x/a 80/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    W(NP, "peer_and", "podSelector alone: b of namespace x",
      _np("a-from-y-b", "x", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {pod: b}}"),
      {"np_and_visible", "np_and_matrix"}, "y/b → x/a 80/TCP: expected ALLOWED, observed BLOCKED"),
    W(NP, "peer_and", "TCP 80 only",
      _np("a-from-y-b", "x", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n      podSelector: {matchLabels: {pod: b}}\n    ports: [{protocol: TCP, port: 80}]"),
      {"np_and_matrix"}, "y/b → x/a 81/UDP: expected ALLOWED, observed BLOCKED"),
    W(NP, "peer_or", "AND instead of OR",
      _np("c-from-y-or-b", "x", "  podSelector: {matchLabels: {pod: c}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n      podSelector: {matchLabels: {pod: b}}"),
      {"np_or_visible", "np_or_matrix"}, "y/a → x/c 80/TCP: expected ALLOWED, observed BLOCKED", visible=True),
    W(NP, "peer_or", "pod b of its own namespace only",
      _np("c-from-y-or-b", "x", "  podSelector: {matchLabels: {pod: c}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n    - podSelector: {matchLabels: {pod: b}}"),
      {"np_or_matrix"}, "z/b → x/c 80/TCP: expected ALLOWED, observed BLOCKED", visible=True),
    W(NP, "peer_or", "every namespace as a peer of its own",
      _np("c-from-y-or-b", "x", "  podSelector: {matchLabels: {pod: c}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {}\n    - podSelector: {matchLabels: {pod: b}}"),
      {"np_or_matrix"}, "z/a → x/c 80/TCP: expected BLOCKED, observed ALLOWED"),
    # -- named_ports -----------------------------------------------------------------------
    W(NP, "named_ports", "named UDP port without its protocol (defaults to TCP)",
      _np("b-named-ports", "x", "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports:\n    - port: serve-81-udp\n    - {protocol: TCP, port: 80, endPort: 81}"),
      {"np_ports_udp"}, "z/a → x/b 81/UDP: expected ALLOWED, observed BLOCKED", visible=True),
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
    *[W(NP, "api_egress", label, _np("api-egress", "shop", "  podSelector: {matchLabels: {app: api}}\n  policyTypes: " + types + "\n  egress:\n" + rules), lose, *mention,
        visible=label in ("missing DNS egress", "Ingress listed in policyTypes too"))
      for label, types, rules, lose, mention in [
          ("missing DNS egress", "[Egress]",
           "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
           "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]",
           {"np_egress_visible", "np_egress_dns"}, ("shop/api → kube-system/coredns-0 53/UDP: expected ALLOWED, observed BLOCKED",
                                                    "shop/api → api.example.com 443/TCP: expected ALLOWED, observed DNS_FAILED")),
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
           {"np_egress_outside"}, ("shop/api → 198.51.100.20 443/TCP: expected BLOCKED, observed ALLOWED",)),
          ("external API on every port", "[Egress]",
           "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
           "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n"
           "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]",
           {"np_egress_outside", "np_egress_dns"}, ("shop/api → 203.0.113.10 80/TCP: expected BLOCKED, observed ALLOWED",
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

_API_DB = "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n"
_API_DNS_PORTS = "    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n"
_API_PAY = "  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]"


def _api_egress(dns_to: str = "[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]",
                pay: str = _API_PAY) -> str:
    return _np("api-egress", "shop", "  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Egress]\n  egress:\n"
               + _API_DB + f"  - to: {dns_to}\n" + _API_DNS_PORTS + pay)


_FRONT = "  podSelector: {matchLabels: {tier: backend}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n"
_DB = "  podSelector: {matchLabels: {tier: database}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n"
BANK += [
    # the gaps an adversarial review found, and typical mistakes the visible tests must show
    W(NP, "api_from_frontend", "the front end by app=web, not by its tier",
      _np("api-allow-frontend", "shop", _FRONT + "    - podSelector: {matchLabels: {app: web}}\n    ports: [{protocol: TCP, port: 8080}]"),
      {"np_api_who"}, "shop/web-v2 → shop/api 8080/TCP: expected ALLOWED, observed BLOCKED",
      "shop/web-debug → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "db_from_backend", "namespace OR back end (two peers)",
      _np("db-allow-backend", "shop", _DB + "    - namespaceSelector: {matchLabels: {team: shop}}\n    - podSelector: {matchLabels: {tier: backend}}\n    ports: [{protocol: TCP, port: 5432}]"),
      {"np_db_who"}, "shop/web → shop/db 5432/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    W(NP, "named_ports", "the UDP port by its number, not its name",
      _np("b-named-ports", "x", "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports:\n    - {protocol: UDP, port: 81}\n    - {protocol: TCP, port: 80, endPort: 81}"),
      {"np_ports_udp"}, "z/a → x/b-next 82/UDP: expected ALLOWED, observed BLOCKED"),
    W(NP, "api_egress", "DNS to every pod of kube-system", _api_egress("[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]"),
      {"np_egress_dns"}, "shop/api → kube-system/dnsmasq 53/UDP: expected BLOCKED, observed ALLOWED", visible=True),
    W(NP, "api_egress", "namespace OR label for DNS (two peers)",
      _api_egress("[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}, {podSelector: {matchLabels: {k8s-app: kube-dns}}}]"),
      {"np_egress_dns"}, "shop/api → kube-system/dnsmasq 53/UDP: expected BLOCKED, observed ALLOWED", visible=True),
    W(NP, "api_egress", "the DNS label in any namespace", _api_egress("[{namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]"),
      {"np_egress_dns"}, "shop/api → untrusted/fake-dns 53/UDP: expected BLOCKED, observed ALLOWED"),
    W(NP, "api_egress", "a /24 for the one address of the payment API", _api_egress(pay=_API_PAY.replace("203.0.113.10/32", "203.0.113.0/24")),
      {"np_egress_outside"}, "shop/api → 203.0.113.11 443/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "api_from_frontend", "the namespace by the team label (team=shop), not by its name",
      _np("api-allow-frontend", "shop", _FRONT + "    - namespaceSelector: {matchLabels: {team: shop}}\n      podSelector: {matchLabels: {tier: frontend}}\n    ports: [{protocol: TCP, port: 8080}]"),
      {"np_api_who"}, "shop-staging/web → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "db_from_backend", "the namespace by the team label (team=shop), not by its name",
      _np("db-allow-backend", "shop", _DB + "    - namespaceSelector: {matchLabels: {team: shop}}\n      podSelector: {matchLabels: {tier: backend}}\n    ports: [{protocol: TCP, port: 5432}]"),
      {"np_db_who"}, "shop-staging/api → shop/db 5432/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "allow_metrics", "the namespace by its team (team=platform), not by purpose=monitoring",
      _np("allow-metrics-scraping", "shop", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: platform}}\n      podSelector: {matchLabels: {app: prometheus}}\n    ports: [{protocol: TCP, port: metrics}]"),
      {"np_metrics_who"}, "logging/prometheus → shop/web 9100/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "allow_metrics", "metrics over UDP too",
      _np("allow-metrics-scraping", "shop", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {purpose: monitoring}}\n      podSelector: {matchLabels: {app: prometheus}}\n    ports: [{protocol: TCP, port: 9100}, {protocol: UDP, port: 9100}]"),
      {"np_metrics_ports"}, "monitoring/prometheus → shop/web 9100/UDP: expected BLOCKED, observed REFUSED"),
    W(NP, "api_egress", "the database by its labels in any namespace",
      _np("api-egress", "shop", "  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Egress]\n  egress:\n"
          + _API_DB.replace("[{podSelector:", "[{namespaceSelector: {}, podSelector:")
          + "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n"
          + _API_DNS_PORTS + _API_PAY),
      {"np_egress_inside"}, "shop/api → untrusted/fake-db 5432/TCP: expected BLOCKED, observed ALLOWED"),
    W(NP, "api_egress", "443 over UDP too", _api_egress(pay=_API_PAY.replace("[{protocol: TCP, port: 443}]", "[{protocol: TCP, port: 443}, {protocol: UDP, port: 443}]")),
      {"np_egress_outside"}, "shop/api → 203.0.113.10 443/UDP: expected BLOCKED, observed REFUSED"),
]

# -- capstone ------------------------------------------------------------------------------
CAP = "08-capstone"


def _capstone(**replace: str) -> str:
    docs = dict(_CAP_DOCS)
    docs.update(replace)
    return "\n---\n".join(d for d in docs.values() if d)


_CAP_DOCS = {
    "deny": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny-all, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]",
    "dns": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-dns, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]",
    "metrics": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-metrics, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {purpose: monitoring}}, podSelector: {matchLabels: {app: prometheus}}}]\n    ports: [{protocol: TCP, port: 9100}]",
    "web": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{namespaceSelector: {}}]\n    ports: [{protocol: TCP, port: 80}]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{protocol: TCP, port: 8080}]",
    "api": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{protocol: TCP, port: 8080}]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n  - to: [{ipBlock: {cidr: 203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]",
    "db": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{protocol: TCP, port: 5432}]",
}
_CAP_DNS, _CAP_API = _CAP_DOCS["dns"], _CAP_DOCS["api"]


BANK += [
    W(CAP, "shop_policies", "default deny for ingress only, and no DNS policy",
      _capstone(dns="", deny="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny-all, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]"),
      {"cap_east_west", "cap_dns", "cap_egress", "cap_new_pod"}, "shop/db → api.example.com 443/TCP: expected BLOCKED, observed ALLOWED",
      "shop/cache → api.example.com 443/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    W(CAP, "shop_policies", "forgot DNS", _capstone(dns=""),
      {"cap_dns", "cap_egress", "cap_new_pod"}, "shop/web → kube-system/coredns-1 53/UDP: expected ALLOWED, observed BLOCKED",
      "shop/api → api.example.com 443/TCP: expected ALLOWED, observed DNS_FAILED", visible=True),
    W(CAP, "shop_policies", "front end only open to its own namespace",
      _capstone(web="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{podSelector: {}}]\n    ports: [{protocol: TCP, port: 80}]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{protocol: TCP, port: 8080}]"),
      {"cap_visible", "cap_east_west"}, "untrusted/attacker → shop/web 80/TCP: expected ALLOWED, observed BLOCKED"),
    W(CAP, "shop_policies", "metrics from the namespace OR the pod",
      _capstone(metrics="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-metrics, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {purpose: monitoring}}}, {podSelector: {matchLabels: {app: prometheus}}}]\n    ports: [{protocol: TCP, port: 9100}]"),
      {"cap_monitoring"}, "monitoring/grafana → shop/api 9100/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    W(CAP, "shop_policies", "API may reach the whole internet on 443",
      _capstone(api="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{protocol: TCP, port: 8080}]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{protocol: TCP, port: 5432}]\n  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n    ports: [{protocol: TCP, port: 443}]"),
      {"cap_egress"}, "shop/api → blocked.example.net 443/TCP: expected BLOCKED, observed ALLOWED"),
    W(CAP, "shop_policies", "front end has no egress rule to the API",
      _capstone(web="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{namespaceSelector: {}}]\n    ports: [{protocol: TCP, port: 80}]"),
      {"cap_visible", "cap_east_west"}, "shop/web → shop/api 8080/TCP: expected ALLOWED, observed BLOCKED", "egress from shop/web: BLOCKED"),
    W(CAP, "shop_policies", "DNS to every pod of kube-system",
      _capstone(dns=_CAP_DNS.replace(", podSelector: {matchLabels: {k8s-app: kube-dns}}", "")),
      {"cap_dns"}, "shop/web → kube-system/dnsmasq 53/UDP: expected BLOCKED, observed ALLOWED", visible=True),
    W(CAP, "shop_policies", "namespace OR label for DNS (two peers)",
      _capstone(dns=_CAP_DNS.replace(", podSelector: {matchLabels: {k8s-app: kube-dns}}}]", "}, {podSelector: {matchLabels: {k8s-app: kube-dns}}}]")),
      {"cap_dns"}, "shop/web → kube-system/dnsmasq 53/UDP: expected BLOCKED, observed ALLOWED", visible=True),
    W(CAP, "shop_policies", "the DNS label in any namespace",
      _capstone(dns=_CAP_DNS.replace("{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}", "{namespaceSelector: {}")),
      {"cap_dns"}, "shop/web → untrusted/fake-dns 53/UDP: expected BLOCKED, observed ALLOWED"),
    W(CAP, "shop_policies", "a /24 for the one address of the payment API", _capstone(api=_CAP_API.replace("203.0.113.10/32", "203.0.113.0/24")),
      {"cap_egress"}, "shop/api → 203.0.113.11 443/TCP: expected BLOCKED, observed ALLOWED"),
    W(CAP, "shop_policies", "the API reaches the database by its labels in any namespace",
      _capstone(api=_CAP_API.replace("  - to: [{podSelector: {matchLabels: {app: db}}}]", "  - to: [{namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}]")),
      {"cap_east_west"}, "shop/api → untrusted/fake-db 5432/TCP: expected BLOCKED, observed ALLOWED"),
    W(CAP, "shop_policies", "the front end's namespace by the team label (team=shop)",
      _capstone(web=_CAP_DOCS["web"].replace("  - to: [{podSelector: {matchLabels: {app: api}}}]", "  - to: [{namespaceSelector: {matchLabels: {team: shop}}, podSelector: {matchLabels: {app: api}}}]")),
      {"cap_east_west"}, "shop/web → shop-staging/api 8080/TCP: expected BLOCKED, observed ALLOWED"),
    W(CAP, "shop_policies", "metrics from the platform team's namespaces (team=platform)",
      _capstone(metrics=_CAP_DOCS["metrics"].replace("purpose: monitoring", "team: platform")),
      {"cap_monitoring"}, "logging/prometheus → shop/web 9100/TCP: expected BLOCKED, observed ALLOWED"),
    W(CAP, "shop_policies", "443 over UDP too",
      _capstone(api=_CAP_API.replace("203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}]", "203.0.113.10/32}}]\n    ports: [{protocol: TCP, port: 443}, {protocol: UDP, port: 443}]")),
      {"cap_egress"}, "shop/api → 203.0.113.10 443/UDP: expected BLOCKED, observed REFUSED"),
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
    W(NP, "cni_divergence", "same on both CNIs", _values(_CNI, cilium_web_to_api="allowed"),
      {"np_cni_values"}, "`cilium_web_to_api`: allowed is not right"),
    W(NP, "cni_divergence", "Cilium blocks the internet too", _values(_CNI, cilium_web_to_internet="blocked"),
      {"np_cni_values"}, "`cilium_web_to_internet`: blocked is not right"),
    W(NP, "cni_divergence", "yes/no instead of verdicts", _values(_CNI, kindnet_web_to_api="yes"),
      {"np_cni_visible", "np_cni_values"}, "`kindnet_web_to_api`: true is not a verdict (YAML reads unquoted yes/no"),
]


# -- exercises 2-6 and capstone part B: variations of the solutions --------------------------------
def _solution(notebook: str, answer: str) -> str:
    from support.nbtools import SOLUTIONS, answers_of, read

    return answers_of(read(SOLUTIONS / notebook / f"{notebook}.ipynb"))[answer]


def V(notebook: str, answer: str, label: str, changes: list[tuple[str, str | None]], lose: set[str], *mention: str,
      visible: bool = False) -> Wrong:
    """A wrong answer made from the solution by text replacements (each must apply, so a changed solution
    is noticed here rather than silently graded as itself)."""
    text = _solution(notebook, answer)
    for old, new in changes:
        assert old in text, f"{notebook}/{answer} ({label}): {old!r} is not in the solution any more"
        text = text[:text.index(old)] if new is None else text.replace(old, new, 1)  # None: cut from there to the end
    return W(notebook, answer, label, text, lose, *mention, visible=visible)


def _forged_secret() -> str:
    """A Secret named like the one the tests create, signed by the learner's own CA of the same name."""
    import yaml

    from grader.tls import mint_ca

    return yaml.safe_dump(mint_ca("shop CA").issue(["shop.example.com"]).secret("shop-tls", "shop"), sort_keys=False)


_FORGED_SECRET = _forged_secret()


SV = "02-services"
BANK += [
    # -- api_service ---------------------------------------------------------------------------
    V(SV, "api_service", "wrong targetPort: the old version's number", [("targetPort: http", "targetPort: 8080")],
      {"svc_api_backends"}, "shop/api-v2-a never answered", "shop/api-v2-a does not listen on 8080/TCP", visible=True),
    V(SV, "api_service", "publishes pods that are not ready", [("spec:\n", "spec:\n  publishNotReadyAddresses: true\n")],
      {"svc_api_backends"}, "shop/api-v2-b answered"),
    V(SV, "api_service", "selects the tier instead of the app", [("    app: api", "    tier: backend")],
      {"svc_api_backends"}, "shop/api-admin answered", "shop/api-v2-a never answered"),
    V(SV, "api_service", "also exposes the pods' own port 8080", [("    targetPort: http\n", "    targetPort: http\n  - name: direct\n    port: 8080\n    targetPort: http\n")],
      {"svc_api_clients"}, "shop/web → api.shop 8080/TCP: expected REFUSED, observed ALLOWED"),
    V(SV, "api_service", "no namespace: lands in default", [("  namespace: shop\n", "")],
      {"svc_api_visible", "svc_api_backends", "svc_api_clients"}, "set metadata.namespace: shop",
      "shop/web → api.shop 80/TCP: expected ALLOWED, observed DNS_FAILED"),
    V(SV, "api_service", "NodePort: the internal API on every node too", [("spec:\n", "spec:\n  type: NodePort\n")],
      {"svc_api_clients"}, "service/shop/api is type NodePort, expected ClusterIP", "vm.internal → node:kind-worker"),
    # -- web_public ----------------------------------------------------------------------------
    V(SV, "web_public", "externalTrafficPolicy Cluster: the node's address", [("  externalTrafficPolicy: Local\n", "")],
      {"lb_client_ip"}, "the server should see client 203.0.113.10, it saw 172.18.0.", visible=True),
    V(SV, "web_public", "a wider range than the partner's /24", [("  - 203.0.113.0/24\n", "  - 203.0.0.0/16\n")],
      {"lb_sources"}, "near-partner.example.org → 192.0.2.10 (service/shop/web-public) 80/TCP: expected BLOCKED, observed ALLOWED"),
    V(SV, "web_public", "no loadBalancerSourceRanges", [("  loadBalancerSourceRanges:\n  - 203.0.113.0/24\n  - 10.244.0.0/16\n", "")],
      {"lb_sources"}, "blocked.example.net → 192.0.2.10 (service/shop/web-public) 80/TCP: expected BLOCKED, observed ALLOWED"),
    V(SV, "web_public", "forgets that pods need the pod CIDR in the ranges", [("  - 10.244.0.0/16\n", "")],
      {"lb_sources"}, "untrusted/attacker → 192.0.2.10 (service/shop/web-public) 80/TCP: expected ALLOWED, observed BLOCKED",
      "is not in loadBalancerSourceRanges"),
    V(SV, "web_public", "also forwards 443 to the front end", [("    targetPort: http\n", "    targetPort: http\n  - name: https\n    port: 443\n    targetPort: http\n")],
      {"lb_ports"}, "api.example.com → 192.0.2.10 (service/shop/web-public) 443/TCP: expected BLOCKED, observed ALLOWED"),
    V(SV, "web_public", "NodePort instead of LoadBalancer", [("  type: LoadBalancer\n", "  type: NodePort\n"), ("  loadBalancerSourceRanges:\n  - 203.0.113.0/24\n  - 10.244.0.0/16\n", "")],
      {"lb_visible", "lb_client_ip", "lb_sources", "lb_ports"}, "service/shop/web-public has no external address yet (is it type LoadBalancer?"),
]

IG = "03-ingress-gateway"
_GW_PEER = ("    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: edge\n"
            "      podSelector:\n")
_SHARED_REF = "  parentRefs:\n  - name: shared\n    namespace: infra\n"
_ALLOW_SHOP = ("    allowedRoutes:\n      namespaces:\n        from: Selector\n        selector:\n          matchLabels:\n"
               "            kubernetes.io/metadata.name: shop\n")
_HTTPS_LISTENER = "  - name: https\n    protocol: HTTPS\n    port: 443\n    hostname: shop.example.com\n"
BANK += [
    # -- shop_route (task 1: an HTTPRoute on the shared approuting-istio Gateway) ----------------
    V(IG, "shop_route", "Exact for /api: the paths below it go to the front end",
      [("        type: PathPrefix\n        value: /api", "        type: Exact\n        value: /api")],
      {"route_prefix"}, "host → http://shop.example.com/api/v1/cart via 172.18.0.5: expected shop/api to answer, but shop/web did", visible=True),
    V(IG, "shop_route", "PathPrefix for /healthz: /healthz/deep goes to the API",
      [("        type: Exact\n        value: /healthz", "        type: PathPrefix\n        value: /healthz")],
      {"route_exact"}, "host → http://shop.example.com/healthz/deep via 172.18.0.5: expected shop/web to answer, but shop/api did"),
    V(IG, "shop_route", "no hostnames: the route takes every name of the listener (*.example.com)", [("  hostnames:\n  - shop.example.com\n", "")],
      {"route_hosts"}, "host → http://other.example.com/ via 172.18.0.5: expected HTTP 404, got HTTP 200 from shop/web", visible=True),
    V(IG, "shop_route", "a wildcard host name", [("  - shop.example.com\n", "  - \"*.example.com\"\n")],
      {"route_hosts"}, "host → http://other.example.com/ via 172.18.0.5: expected HTTP 404, got HTTP 200 from shop/web", visible=True),
    V(IG, "shop_route", "the parentRef without its namespace: a Gateway shop/shared that does not exist",
      [(_SHARED_REF, "  parentRefs:\n  - name: shared\n")],
      {"route_visible", "route_prefix", "route_exact", "route_hosts"},
      "host → http://shop.example.com/ via 172.18.0.5: expected HTTP 200, got HTTP 404", "no HTTPRoute attached to listener http"),
    V(IG, "shop_route", "a listener the shared Gateway does not have", [(_SHARED_REF, _SHARED_REF + "    sectionName: https\n")],
      {"route_visible", "route_prefix", "route_exact", "route_hosts"}, "expected HTTP 200, got HTTP 404"),
    V(IG, "shop_route", "the Service's target port instead of its port for the API",
      [("    - name: api\n      port: 8080\n  - matches:", "    - name: api\n      port: 80\n  - matches:")],
      {"route_prefix", "route_hosts"}, "host → http://shop.example.com/api via 172.18.0.5: expected HTTP 200, got HTTP 500", "has no port 80"),
    V(IG, "shop_route", "the route in infra, next to the Gateway: a namespace the listener does not admit",
      [("  name: shop\n  namespace: shop\n", "  name: shop\n  namespace: infra\n")],
      {"route_visible", "route_prefix", "route_exact", "route_hosts"}, "expected exactly 1 HTTPRoute in namespace shop", "expected HTTP 200, got HTTP 404"),
    V(IG, "shop_route", "no namespace: lands in default", [("  namespace: shop\n", "")],
      {"route_visible", "route_prefix", "route_exact", "route_hosts"}, "set metadata.namespace: shop"),
    # -- shop_tls (task 2: an HTTPS-only Gateway of the shop's own, and the policy for its pods) ----
    V(IG, "shop_tls", "the other Secret: a certificate for the wrong host", [("      - name: shop-tls", "      - name: api-tls")],
      {"tls_visible", "tls_listener"}, "should trust the certificate, but the server presented CN=api.example.com"),
    V(IG, "shop_tls", "an HTTPS listener without certificateRefs", [("      certificateRefs:\n      - name: shop-tls\n", "")],
      {"tls_visible", "tls_listener", "tls_policy"}, "spec.listeners[0].tls.certificateRefs: certificateRefs or options must be specified when mode is Terminate"),
    V(IG, "shop_tls", "brings its own Secret, signed by a CA of the same name",
      [("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway", _FORGED_SECRET.replace("namespace: shop", "namespace: edge") + "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway")],
      {"tls_visible", "tls_listener"}, "should trust the certificate", "not a CA the client trusts"),
    V(IG, "shop_tls", "no listener hostname and no route hostnames: every name is served",
      [("    hostname: shop.example.com\n", ""), ("  hostnames:\n  - shop.example.com\n", "")],
      {"tls_listener"}, "host → https://shop.example.com/ (Host: other.example.com) via 172.18.0.5: expected HTTP 404, got HTTP 200 from shop/web"),
    V(IG, "shop_tls", "routes from every namespace: another team takes /login",
      [(_ALLOW_SHOP, "    allowedRoutes:\n      namespaces:\n        from: All\n")],
      {"tls_listener"}, "host → https://shop.example.com/login via 172.18.0.5: expected shop/web to answer, but untrusted/attacker did"),
    V(IG, "shop_tls", "no allowedRoutes: only routes of edge attach, the shop's route does not", [(_ALLOW_SHOP, "")],
      {"tls_visible", "tls_listener"}, "host → https://shop.example.com/ via 172.18.0.5: expected HTTP 200, got HTTP 404"),
    V(IG, "shop_tls", "a plain HTTP listener too, and the route on both",
      [(_HTTPS_LISTENER, "  - name: http\n    protocol: HTTP\n    port: 80\n    hostname: shop.example.com\n" + _ALLOW_SHOP + _HTTPS_LISTENER)],
      {"tls_listener"}, "host → http://shop.example.com/cart via 172.18.0.5: expected BLOCKED or REFUSED, observed ALLOWED"),
    V(IG, "shop_tls", "any pod of the edge namespace", [(_GW_PEER + "        matchLabels:\n          gateway.networking.k8s.io/gateway-name: public\n",
                                                          "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: edge\n")],
      {"tls_policy"}, "edge/debug → shop/web 80/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    V(IG, "shop_tls", "namespace OR Gateway label (two peers)", [(_GW_PEER, _GW_PEER.replace("      podSelector:", "    - podSelector:"))],
      {"tls_policy"}, "edge/debug → shop/web 80/TCP: expected BLOCKED, observed ALLOWED",
      "edge/debug → shop/api 8080/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    V(IG, "shop_tls", "the Gateway's label in any namespace", [(_GW_PEER, _GW_PEER.replace("kubernetes.io/metadata.name: edge", "{}").replace("        matchLabels:\n          {}", "        {}"))],
      {"tls_policy"}, "untrusted/fake-gateway → shop/web 80/TCP: expected BLOCKED, observed ALLOWED"),
    V(IG, "shop_tls", "the Gateway's label without the namespace: its pods stay out", [(_GW_PEER, "    - podSelector:\n")],
      {"tls_visible", "tls_listener", "tls_policy"}, "expected HTTP 200, got HTTP 503",
      "edge/public-approuting-istio → shop/web 80/TCP: expected ALLOWED, observed BLOCKED", visible=True),
    V(IG, "shop_tls", "every port from the Gateway", [("    ports:\n    - protocol: TCP\n      port: http\n", "")],
      {"tls_policy"}, "edge/public-approuting-istio → shop/web 9100/TCP: expected BLOCKED, observed ALLOWED"),
    # -- shop_gateway ----------------------------------------------------------------------------
    V(IG, "shop_gateway", "the shop route on the http listener", [("  - name: public\n    sectionName: https", "  - name: public\n    sectionName: http")],
      {"gw_visible", "gw_paths", "gw_tls", "gw_rest"}, "host → https://shop.example.com/ via 172.18.0.5: expected HTTP 200, got HTTP 404"),
    V(IG, "shop_gateway", "Exact for /api", [("        type: PathPrefix", "        type: Exact")],
      {"gw_paths"}, "host → https://shop.example.com/api/v1/cart via 172.18.0.5: expected shop/api to answer, but shop/web did", visible=True),
    V(IG, "shop_gateway", "the api certificate on the https listener", [("      - name: shop-tls", "      - name: api-tls")],
      {"gw_visible", "gw_tls", "gw_rest"}, "should trust the certificate, but the server presented CN=api.example.com"),
    V(IG, "shop_gateway", "the shop route on both listeners: plain HTTP reaches the pods",
      [("  - name: public\n    sectionName: https\n", "  - name: public\n")],
      {"gw_tls"}, "host → http://shop.example.com/api/orders via 172.18.0.5: expected HTTP 301, got HTTP 200 from shop/api"),
    V(IG, "shop_gateway", "no redirect route", [("---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: to-https", None)],
      {"gw_tls"}, "expected HTTP 301, got HTTP 404"),
    V(IG, "shop_gateway", "a GatewayClass that does not exist", [("  gatewayClassName: cloud-provider-kind", "  gatewayClassName: nginx")],
      {"gw_visible", "gw_paths", "gw_tls", "gw_rest"}, "gateway/shop/public has no external address yet"),
]

NM = "04-network-models"
BANK += [
    # -- kind_config -----------------------------------------------------------------------------
    V(NM, "kind_config", "kind's default ranges, inside the VPN", [("100.64.0.0/16", "10.244.0.0/16"), ("100.65.0.0/20", "10.96.0.0/16")],
      {"kc_ranges"}, "`networking.podSubnet`: 10.244.0.0/16 overlaps the peered/on-premises network 10.0.0.0/8 (company VPN)"),
    V(NM, "kind_config", "a /23 for three nodes", [("100.64.0.0/16", "100.64.0.0/23")],
      {"kc_ranges"}, "100.64.0.0/23 holds 2 /24 block(s), but each of the 3 nodes gets its own /24"),
    V(NM, "kind_config", "Services inside the pod range", [("100.65.0.0/20", "100.64.128.0/20")],
      {"kc_ranges"}, "`networking.serviceSubnet`: 100.64.128.0/20 overlaps podSubnet 100.64.0.0/16"),
    V(NM, "kind_config", "a range AKS reserves", [("100.65.0.0/20", "172.31.0.0/16")],
      {"kc_ranges"}, "172.31.0.0/16 overlaps 172.31.0.0/16, a range AKS reserves"),
    V(NM, "kind_config", "the field names of another tool", [("  podSubnet:", "  podCIDR:")],
      {"kc_visible", "kc_ranges"}, "unknown field 'podCIDR' in v1alpha4.Networking", "`networking.podSubnet` is missing"),
    V(NM, "kind_config", "only the control plane", [("- role: worker\n- role: worker\n", "")],
      {"kc_nodes"}, "`nodes`: 0 node(s) with role worker, expected 2"),
    # -- ip_plan ---------------------------------------------------------------------------------
    V(NM, "ip_plan", "forgot the surge node", [("flat_addresses: 3111", "flat_addresses: 3060"), ("flat_utilisation: 0.76", "flat_utilisation: 0.75")],
      {"plan_flat"}, "`flat_addresses`: 3060 is not right"),
    V(NM, "ip_plan", "forgot the 5 addresses Azure keeps", [("overlay_node_prefix: 25", "overlay_node_prefix: 26")],
      {"plan_overlay"}, "`overlay_node_prefix`: 26 is not right"),
    V(NM, "ip_plan", "sized the overlay pod CIDR like a flat subnet", [("overlay_pod_prefix: 18", "overlay_pod_prefix: 20")],
      {"plan_overlay"}, "`overlay_pod_prefix`: 20 is not right"),
    V(NM, "ip_plan", "a percentage and a slash", [("flat_utilisation: 0.76", "flat_utilisation: 76"), ("flat_prefix: 20", "flat_prefix: /20")],
      {"plan_visible", "plan_flat"}, "`flat_prefix`: '/20' is not a number", "`flat_utilisation`: 76.0 is not right"),
    # -- client_ips ------------------------------------------------------------------------------
    V(NM, "client_ips", "no SNAT anywhere: the pod's address", [("  kindnet: 172.18.0.4", "  kindnet: 10.244.2.3")],
      {"ips_vm"}, "`vm_sees.kindnet`: 10.244.2.3 is not right"),
    V(NM, "client_ips", "SNAT everywhere, even on the flat profile", [("  calico-flat: 172.18.128.129", "  calico-flat: 172.18.0.4")],
      {"ips_vm"}, "`vm_sees.calico-flat`: 172.18.0.4 is not right"),
    V(NM, "client_ips", "the flat model hides pods like an overlay", [("  calico-flat: allowed", "  calico-flat: blocked")],
      {"ips_outside"}, "`vm_to_pod.calico-flat`: blocked is not right"),
    V(NM, "client_ips", "the internet sees the node", [("  cilium-tunnel: 192.0.2.1", "  cilium-tunnel: 172.18.0.4")],
      {"ips_outside"}, "`internet_sees.cilium-tunnel`: 172.18.0.4 is not right"),
    V(NM, "client_ips", "pods reachable from the VM on every profile", [("  kindnet: blocked", "  kindnet: allowed")],
      {"ips_outside"}, "`vm_to_pod.kindnet`: allowed is not right"),
    V(NM, "client_ips", "node names instead of addresses", [("  kindnet: 172.18.0.4", "  kindnet: kind-worker2")],
      {"ips_visible", "ips_vm"}, "`vm_sees.kindnet`: 'kind-worker2' is not an IP address"),
]

EG = "05-egress"
_DNS_PEER = ("    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n"
             "      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n")
_DNS_DOC = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-dns\n"
BANK += [
    # -- shop_egress -----------------------------------------------------------------------------
    V(EG, "shop_egress", "missing DNS egress", [(_DNS_DOC, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-nothing\n"),
                                                (_DNS_PEER, "    - podSelector:\n        matchLabels:\n          k8s-app: nothing\n")],
      {"eg_visible", "eg_dns"}, "shop/api → api.example.com 443/TCP: expected ALLOWED, observed DNS_FAILED",
      "shop/web → kube-system/coredns-0 53/UDP: expected ALLOWED, observed BLOCKED", visible=True),
    V(EG, "shop_egress", "namespace OR label for DNS (two peers)", [(_DNS_PEER, _DNS_PEER.replace("      podSelector:", "    - podSelector:"))],
      {"eg_dns"}, "shop/web → kube-system/dnsmasq 53/UDP: expected BLOCKED, observed ALLOWED", visible=True),
    V(EG, "shop_egress", "DNS to every pod of kube-system", [(_DNS_PEER, _DNS_PEER.replace("      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n", ""))],
      {"eg_dns"}, "shop/web → kube-system/dnsmasq 53/UDP: expected BLOCKED, observed ALLOWED", visible=True),
    V(EG, "shop_egress", "the DNS label in any namespace", [(_DNS_PEER, _DNS_PEER.replace("        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n", "        {}\n"))],
      {"eg_dns"}, "shop/web → untrusted/fake-dns 53/UDP: expected BLOCKED, observed ALLOWED"),
    V(EG, "shop_egress", "DNS over UDP only", [("    - protocol: UDP\n      port: 53\n    - protocol: TCP\n      port: 53\n", "    - protocol: UDP\n      port: 53\n")],
      {"eg_dns"}, "shop/web → kube-system/coredns-1 53/TCP: expected ALLOWED, observed BLOCKED"),
    V(EG, "shop_egress", "the whole internet on 443", [("        cidr: 203.0.113.10/32", "        cidr: 0.0.0.0/0")],
      {"eg_outside"}, "shop/api → 198.51.100.20 443/TCP: expected BLOCKED, observed ALLOWED"),
    V(EG, "shop_egress", "a /24 for the one address of the payment API", [("        cidr: 203.0.113.10/32", "        cidr: 203.0.113.0/24")],
      {"eg_outside"}, "shop/api → 203.0.113.11 443/TCP: expected BLOCKED, observed ALLOWED"),
    V(EG, "shop_egress", "443 over UDP too", [("    - protocol: TCP\n      port: 443\n", "    - protocol: TCP\n      port: 443\n    - protocol: UDP\n      port: 443\n")],
      {"eg_outside"}, "shop/api → 203.0.113.10 443/UDP: expected BLOCKED, observed REFUSED"),
    V(EG, "shop_egress", "the shop's pods by the team label (team=shop)", [("  - to:\n    - podSelector: {}\n", "  - to:\n    - namespaceSelector:\n        matchLabels:\n          team: shop\n")],
      {"eg_inside"}, "shop/web → shop-staging/web 80/TCP: expected BLOCKED, observed ALLOWED"),
    V(EG, "shop_egress", "forgot that shop pods talk to each other", [("  - to:\n    - podSelector: {}\n", "  - to:\n    - podSelector:\n        matchLabels:\n          app: api\n")],
      {"eg_inside"}, "shop/api → shop/db 5432/TCP: expected ALLOWED, observed BLOCKED"),
    V(EG, "shop_egress", "Ingress in the default deny's policyTypes", [("  podSelector: {}\n  policyTypes:\n  - Egress\n---", "  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Egress\n---")],
      {"eg_inside", "eg_ingress"}, "untrusted/attacker → shop/web 80/TCP: expected ALLOWED, observed BLOCKED",
      "shop/web → shop/api 8080/TCP: expected ALLOWED, observed BLOCKED", visible=True),
    # -- api_fqdn --------------------------------------------------------------------------------
    V(EG, "api_fqdn", "the wildcard alone: example.com itself is not below itself", [("    - matchName: example.com\n", "")],
      {"fq_names"}, "shop/api → example.com 443/TCP: expected ALLOWED, observed BLOCKED", visible=True),
    V(EG, "api_fqdn", "protocol ANY where TCP 443 is asked", [("      - port: \"443\"\n        protocol: TCP", "      - port: \"443\"\n        protocol: ANY")],
      {"fq_names"}, "shop/api → api.example.com 443/UDP: expected BLOCKED, observed REFUSED"),
    V(EG, "api_fqdn", "DNS to every pod of kube-system", [("        k8s:k8s-app: kube-dns\n", "")],
      {"fq_cluster"}, "shop/api → kube-system/dnsmasq 53/UDP: expected BLOCKED, observed ALLOWED"),
    V(EG, "api_fqdn", "the DNS label in any namespace", [("        k8s:io.kubernetes.pod.namespace: kube-system\n        k8s:k8s-app: kube-dns\n",
                                                          "        k8s:k8s-app: kube-dns\n      matchExpressions:\n      - key: k8s:io.kubernetes.pod.namespace\n        operator: Exists\n")],
      {"fq_cluster"}, "shop/api → untrusted/fake-dns 53/UDP: expected BLOCKED, observed ALLOWED"),
    V(EG, "api_fqdn", "** matches deeper names too", [("    - matchName: example.com\n    - matchPattern: \"*.example.com\"", "    - matchName: example.com\n    - matchPattern: \"**.example.com\"")],
      {"fq_names"}, "shop/api → eu.pay.example.com 443/TCP: expected BLOCKED, observed ALLOWED"),
    V(EG, "api_fqdn", "DNS allowed but not through the proxy (no DNS rule)", [("      rules:\n        dns:\n        - matchPattern: \"*\"\n", "")],
      {"fq_visible", "fq_names"}, "shop/api → api.example.com 443/TCP: expected ALLOWED, observed BLOCKED",
      "only a DNS rule (toPorts rules.dns) sends lookups through the proxy"),
    V(EG, "api_fqdn", "names on every port", [("    - matchPattern: \"*.example.com\"\n    toPorts:\n    - ports:\n      - port: \"443\"\n        protocol: TCP\n", "    - matchPattern: \"*.example.com\"\n")],
      {"fq_names"}, "shop/api → api.example.com 80/TCP: expected BLOCKED, observed ALLOWED"),
    V(EG, "api_fqdn", "forgot the database", [("  - toEndpoints:\n    - matchLabels:\n        app: db\n    toPorts:\n    - ports:\n      - port: \"5432\"\n        protocol: TCP\n", "")],
      {"fq_cluster"}, "shop/api → shop/db 5432/TCP: expected ALLOWED, observed BLOCKED"),
    V(EG, "api_fqdn", "selects every pod of shop", [("  endpointSelector:\n    matchLabels:\n      app: api\n", "  endpointSelector: {}\n")],
      {"fq_cluster"}, "shop/web → blocked.example.net 443/TCP: expected ALLOWED, observed BLOCKED"),
    V(EG, "api_fqdn", "an address range instead of names", [("  - toFQDNs:\n    - matchName: example.com\n    - matchPattern: \"*.example.com\"\n", "  - toCIDR:\n    - 203.0.113.0/24\n")],
      {"fq_names"}, "shop/api → eu.pay.example.com 443/TCP: expected BLOCKED, observed ALLOWED"),
]

NS = "06-nsg"
BANK += [
    # -- nsg_inbound -----------------------------------------------------------------------------
    V(NS, "nsg_inbound", "the deny after AKS's allow rule (priority 600 > 500)", [("  priority: 110", "  priority: 600")],
      {"nsg_in_partner"}, "blocked.example.net → 192.0.2.11 (service/shop/api-admin) 8080/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    V(NS, "nsg_inbound", "a wider prefix than the partner's /24", [("  sourceAddressPrefix: 203.0.113.0/24", "  sourceAddressPrefix: 203.0.0.0/16")],
      {"nsg_in_partner"}, "near-partner.example.org → 192.0.2.11 (service/shop/api-admin) 8080/TCP: expected BLOCKED, observed ALLOWED"),
    V(NS, "nsg_inbound", "the deny before the allow", [("  priority: 100", "  priority: 120")],
      {"nsg_in_visible", "nsg_in_partner"}, "api.example.com → 192.0.2.11 (service/shop/api-admin) 8080/TCP: expected ALLOWED, observed BLOCKED",
      "DENY by deny-internet-admin (priority 110)"),
    V(NS, "nsg_inbound", "denies the internet on every port", [("  sourceAddressPrefix: Internet\n  sourcePortRange: \"*\"\n  destinationAddressPrefix: \"*\"\n  destinationPortRange: \"8080\"",
                                                                "  sourceAddressPrefix: Internet\n  sourcePortRange: \"*\"\n  destinationAddressPrefix: \"*\"\n  destinationPortRange: \"*\"")],
      {"nsg_in_rest"}, "blocked.example.net → 192.0.2.10 (service/shop/web-public) 80/TCP: expected ALLOWED, observed BLOCKED", visible=True),
    V(NS, "nsg_inbound", "closes everything else at the end, the virtual network too",
      [("- name: deny-internet-admin", "- name: deny-everything-else\n  priority: 4000\n  direction: Inbound\n  access: Deny\n  protocol: \"*\"\n  sourceAddressPrefix: \"*\"\n  sourcePortRange: \"*\"\n  destinationAddressPrefix: \"*\"\n  destinationPortRange: \"*\"\n- name: deny-internet-admin")],
      {"nsg_in_rest"}, "vm.internal → node:kind-worker 10250/TCP: expected ALLOWED, observed BLOCKED", "deny-everything-else (priority 4000)"),
    V(NS, "nsg_inbound", "the partner rule aimed at the virtual network, not the frontend address",
      [("  sourceAddressPrefix: 203.0.113.0/24\n  sourcePortRange: \"*\"\n  destinationAddressPrefix: \"*\"", "  sourceAddressPrefix: 203.0.113.0/24\n  sourcePortRange: \"*\"\n  destinationAddressPrefix: VirtualNetwork")],
      {"nsg_in_visible", "nsg_in_partner"}, "api.example.com → 192.0.2.11 (service/shop/api-admin) 8080/TCP: expected ALLOWED, observed BLOCKED"),
    V(NS, "nsg_inbound", "a priority Azure keeps for itself", [("  priority: 100", "  priority: 50")],
      {"nsg_in_visible", "nsg_in_partner", "nsg_in_rest"}, "securityRules[0].priority: invalid priority 50: allowed range 100-4096"),
    # -- nsg_outbound ----------------------------------------------------------------------------
    V(NS, "nsg_outbound", "the deny before the allow", [("  priority: 200", "  priority: 150"), ("  priority: 100", "  priority: 300")],
      {"nsg_out_visible", "nsg_out_internet"}, "shop/api → api.example.com 443/TCP: expected ALLOWED, observed BLOCKED", "dropped by Azure NSG nsg-outbound (subnet): deny-internet (priority 150)"),
    V(NS, "nsg_outbound", "denies every destination, the virtual network too", [("  destinationAddressPrefix: Internet", "  destinationAddressPrefix: \"*\"")],
      {"nsg_out_visible", "nsg_out_internet", "nsg_out_vnet"}, "shop/web → shop/db 5432/TCP: expected ALLOWED, observed BLOCKED",
      "shop/api → api.example.com 443/TCP: expected ALLOWED, observed DNS_FAILED"),
    V(NS, "nsg_outbound", "allows the pod addresses, which the NSG never sees (SNAT)", [("  sourceAddressPrefix: \"*\"\n  sourcePortRange: \"*\"\n  destinationAddressPrefix: 203.0.113.10", "  sourceAddressPrefix: 10.244.0.0/16\n  sourcePortRange: \"*\"\n  destinationAddressPrefix: 203.0.113.10")],
      {"nsg_out_visible", "nsg_out_internet"}, "shop/api → api.example.com 443/TCP: expected ALLOWED, observed BLOCKED", "dropped by Azure NSG nsg-outbound (subnet): deny-internet (priority 200)",
      visible=True),
    V(NS, "nsg_outbound", "a /24 for the one address of the payment API", [("  destinationAddressPrefix: 203.0.113.10", "  destinationAddressPrefix: 203.0.113.0/24")],
      {"nsg_out_internet"}, "shop/api → 203.0.113.11 443/TCP: expected BLOCKED, observed ALLOWED"),
    V(NS, "nsg_outbound", "the deny written as Inbound", [("  priority: 200\n  direction: Outbound", "  priority: 200\n  direction: Inbound")],
      {"nsg_out_internet"}, "shop/api → blocked.example.net 443/TCP: expected BLOCKED, observed ALLOWED"),
    V(NS, "nsg_outbound", "the payment API on every port and protocol", [("  protocol: Tcp\n  sourceAddressPrefix: \"*\"\n  sourcePortRange: \"*\"\n  destinationAddressPrefix: 203.0.113.10\n  destinationPortRange: \"443\"",
                                                                         "  protocol: \"*\"\n  sourceAddressPrefix: \"*\"\n  sourcePortRange: \"*\"\n  destinationAddressPrefix: 203.0.113.10\n  destinationPortRange: \"*\"")],
      {"nsg_out_internet"}, "shop/api → 203.0.113.10 80/TCP: expected BLOCKED, observed ALLOWED"),
]

_GW_PEER = ("    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: infra\n"
            "      podSelector:\n")
_GW_LABEL = "        matchLabels:\n          gateway.networking.k8s.io/gateway-name: shared\n"
_GW_NS_ANY = "    - namespaceSelector: {}\n      podSelector:\n"
_API_POLICY = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: api-from-gateway\n"
BANK += [
    V(CAP, "shop_entry", "parentRef without the Gateway's namespace", [("  - name: shared\n    namespace: infra\n", "  - name: shared\n")],
      {"cap_b_visible", "cap_b_routes", "cap_b_clients"}, "expected HTTP 200, got HTTP 404"),
    V(CAP, "shop_entry", "Exact instead of PathPrefix for /api", [("        type: PathPrefix\n", "        type: Exact\n")],
      {"cap_b_routes", "cap_b_clients"}, "host → https://shop.example.com/api/cart"),
    V(CAP, "shop_entry", "gateway label without the namespace", [(_GW_PEER, "    - podSelector:\n"), (_GW_PEER, "    - podSelector:\n")],
      {"cap_b_visible", "cap_b_routes", "cap_b_matrix", "cap_b_clients"}, "expected HTTP 200, got HTTP 503",
      "infra/shared-approuting-istio → shop/web 80/TCP: expected ALLOWED, observed BLOCKED"),
    V(CAP, "shop_entry", "any pod of the infra namespace", [(_GW_PEER + _GW_LABEL, "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: infra\n")],
      {"cap_b_matrix"}, "infra/debug → shop/web 80/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    V(CAP, "shop_entry", "namespace OR gateway label (two peers)", [(_GW_PEER, _GW_PEER.replace("      podSelector:", "    - podSelector:")),
                                                                   (_GW_PEER, _GW_PEER.replace("      podSelector:", "    - podSelector:"))],
      {"cap_b_matrix"}, "infra/debug → shop/web 80/TCP: expected BLOCKED, observed ALLOWED", visible=True),
    V(CAP, "shop_entry", "gateway label in any namespace", [(_GW_PEER, _GW_NS_ANY), (_GW_PEER, _GW_NS_ANY)],
      {"cap_b_matrix"}, "untrusted/fake-gateway → shop/web 80/TCP: expected BLOCKED, observed ALLOWED"),
    V(CAP, "shop_entry", "forgot the back end", [(_API_POLICY, None)],
      {"cap_b_routes", "cap_b_matrix", "cap_b_clients"}, "host → https://shop.example.com/api/cart",
      "infra/shared-approuting-istio → shop/api 8080/TCP: expected ALLOWED, observed BLOCKED"),
    V(CAP, "shop_entry", "every port from the Gateway", [("    ports:\n    - protocol: TCP\n      port: 80\n", "")],
      {"cap_b_matrix"}, "infra/shared-approuting-istio → shop/web 9100/TCP: expected BLOCKED, observed ALLOWED"),
]
