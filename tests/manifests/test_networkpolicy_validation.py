"""NetworkPolicy: what the API server rejects is rejected, with the field path; defaults applied.

Source for every rule: kubernetes pkg/apis/networking/validation/validation.go
(ValidateNetworkPolicySpec/Port/Peer, ValidateIPBlock), apimachinery ValidateLabelSelector, and
pkg/apis/networking/v1/defaults.go.
"""

from __future__ import annotations

import ipaddress
import textwrap

import pytest

from grader.errors import ManifestError
from grader.manifests import parse_manifests
from grader.model import Direction, Protocol, SelectorOperator


def policy(spec: str, name: str = "p", namespace: str | None = None) -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}{ns}}}\nspec:\n" + textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ") + "\n"
    )


def parse(spec: str, **kw: str):
    return parse_manifests(policy(spec, **kw))[0].obj


def problems(spec: str) -> list[str]:
    with pytest.raises(ManifestError) as err:
        parse_manifests(policy(spec))
    return [str(p) for p in err.value.problems]


# --- defaulting ------------------------------------------------------------------------------

def test_policy_types_default_to_ingress_only() -> None:
    assert parse("podSelector: {}").policy_types == {Direction.INGRESS}


def test_policy_types_default_adds_egress_when_egress_rules_exist() -> None:
    assert parse("podSelector: {}\negress: [{}]").policy_types == {Direction.INGRESS, Direction.EGRESS}


def test_empty_egress_list_does_not_add_egress() -> None:
    # SetDefaults_NetworkPolicySpec checks len(spec.Egress) != 0.
    assert parse("podSelector: {}\negress: []").policy_types == {Direction.INGRESS}


def test_explicit_policy_types_are_kept_even_with_other_rules() -> None:
    p = parse("podSelector: {}\npolicyTypes: [Egress]\ningress: [{}]")
    assert p.policy_types == {Direction.EGRESS}


def test_port_protocol_defaults_to_tcp() -> None:
    p = parse("podSelector: {}\ningress: [{ports: [{port: 80}]}]")
    assert p.ingress[0].ports[0].protocol is Protocol.TCP


def test_namespace_defaults_to_the_callers() -> None:
    assert parse_manifests(policy("podSelector: {}"), default_namespace="shop")[0].obj.namespace == "shop"
    assert parse("podSelector: {}", namespace="x").namespace == "x"


def test_pod_selector_is_optional_since_1_34() -> None:
    p = parse("ingress: [{}]")
    assert p.pod_selector.is_empty


def test_selectors_and_ip_blocks_are_parsed() -> None:
    p = parse("""
        podSelector: {matchExpressions: [{key: app, operator: In, values: [b, a, a]}]}
        ingress:
        - from:
          - ipBlock: {cidr: 10.0.0.1/8, except: [10.1.0.0/16]}
          - namespaceSelector: {matchLabels: {team: x}}
            podSelector: {}
    """)
    req = p.pod_selector.match_expressions[0]
    assert (req.operator, req.values) == (SelectorOperator.IN, ("a", "b"))
    block = p.ingress[0].peers[0].ip_block
    assert block.cidr == ipaddress.ip_network("10.0.0.0/8")  # host bits masked like ParseCIDRSloppy
    assert block.except_ == (ipaddress.ip_network("10.1.0.0/16"),)
    assert p.ingress[0].peers[1].pod_selector.is_empty and p.ingress[0].peers[1].namespace_selector is not None


# --- rejected forms -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]",
         "networkpolicy/p spec.ingress[0].from[0]: ipBlock cannot be combined with podSelector"),
        ("egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}]}]",
         "networkpolicy/p spec.egress[0].to[0]: ipBlock cannot be combined with namespaceSelector"),
        ("ingress: [{from: [{}]}]", "networkpolicy/p spec.ingress[0].from[0]: must specify a peer"),
        ("ingress: [{from: [{ipBlock: {cidr: 10.0.0.0}}]}]", "spec.ingress[0].from[0].ipBlock.cidr: '10.0.0.0' must be a valid CIDR"),
        ("ingress: [{from: [{ipBlock: {cidr: 300.1.1.0/24}}]}]", "spec.ingress[0].from[0].ipBlock.cidr: '300.1.1.0/24' must be a valid CIDR"),
        ("ingress: [{from: [{ipBlock: {cidr: '010.1.1.0/24'}}]}]", "must be a valid CIDR"),
        ("ingress: [{from: [{ipBlock: {cidr: ''}}]}]", "spec.ingress[0].from[0].ipBlock.cidr: cidr is required"),
        ("ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]",
         "spec.ingress[0].from[0].ipBlock.except[0]: '10.1.0.0/24' must be a strict subset of `cidr`"),
        ("ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}}]}]", "must be a strict subset of `cidr`"),
        ("ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: ['2001:db8::/64']}}]}]", "must be a strict subset of `cidr`"),
        ("ingress: [{ports: [{port: 80, endPort: 79}]}]", "spec.ingress[0].ports[0].endPort: endPort 79 must be greater than or equal to `port` (80)"),
        ("ingress: [{ports: [{port: http, endPort: 90}]}]", "spec.ingress[0].ports[0].endPort: may not be specified when `port` is non-numeric"),
        ("ingress: [{ports: [{endPort: 90}]}]", "spec.ingress[0].ports[0].endPort: may not be specified when `port` is not specified"),
        ("ingress: [{ports: [{port: 70000}]}]", "spec.ingress[0].ports[0].port: invalid port 70000: must be between 1 and 65535, inclusive"),
        ("ingress: [{ports: [{port: 0}]}]", "must be between 1 and 65535"),
        ("ingress: [{ports: [{port: 80, endPort: 65536}]}]", "invalid endPort 65536: must be between 1 and 65535"),
        ("ingress: [{ports: [{port: '80'}]}]", "spec.ingress[0].ports[0].port: invalid port name '80': must contain at least one letter"),
        ("ingress: [{ports: [{port: a-very-long-port-name}]}]", "must be no more than 15 characters"),
        ("ingress: [{ports: [{port: Http}]}]", "must contain only alpha-numeric characters"),
        ("ingress: [{ports: [{port: my--port}]}]", "must not contain consecutive hyphens"),
        ("ingress: [{ports: [{port: 80, protocol: ICMP}]}]", 'spec.ingress[0].ports[0].protocol: unsupported value \'ICMP\': supported values: "TCP", "UDP", "SCTP"'),
        ("ingress: [{ports: [{port: 80, protocol: tcp}]}]", "unsupported value 'tcp'"),
        ("podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}",
         "spec.podSelector.matchExpressions[0].operator: 'Equals' is not a valid selector operator"),
        ("podSelector: {matchExpressions: [{key: app, operator: In}]}",
         "spec.podSelector.matchExpressions[0].values: must be specified when `operator` is 'In' or 'NotIn'"),
        ("podSelector: {matchExpressions: [{key: app, operator: Exists, values: [a]}]}",
         "spec.podSelector.matchExpressions[0].values: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
        ("podSelector: {matchLabels: {app: 'not valid!'}}", "spec.podSelector.matchLabels.app: invalid label value 'not valid!'"),
        ("podSelector: {matchLabels: {'-bad-key': x}}", "invalid label key '-bad-key'"),
        ("podSelector: {matchExpressions: [{key: app, operator: NotIn, values: ['bad value']}]}",
         "spec.podSelector.matchExpressions[0].values[0]: invalid label value 'bad value'"),
        ("policyTypes: [Ingress, Egress, Ingress]", "spec.policyTypes: may not specify more than two policyTypes"),
        ("policyTypes: [ingress]", "spec.policyTypes[0]: unsupported value 'ingress'"),
        ("podSelectr: {}", "spec: unknown field 'podSelectr'; expected one of: egress, ingress, podSelector, policyTypes"),
        ("ingress: [{from: [{podSelector: {matchLabels: {app: yes}}}]}]", "expected string, got bool True (YAML reads unquoted"),
        ("ingress: {from: []}", "spec.ingress: expected array"),
    ],
)
def test_rejected(spec: str, expected: str) -> None:
    found = problems(spec)
    assert any(expected in p for p in found), found


def test_invalid_name_and_namespace() -> None:
    with pytest.raises(ManifestError) as err:
        parse_manifests(policy("podSelector: {}", name="Bad_Name", namespace="Shop"))
    text = str(err.value)
    assert "metadata.name: invalid name 'Bad_Name'" in text
    assert "metadata.namespace: invalid namespace 'Shop'" in text


def test_every_problem_in_a_document_is_reported() -> None:
    found = problems("""
        podSelector: {matchExpressions: [{key: a, operator: Foo}]}
        ingress: [{ports: [{port: 80, endPort: 1}], from: [{}]}]
    """)
    assert len(found) == 3
