"""Answers that test the input layer (grader.manifests.bounded_yaml and the API rules it serves),
in the format of :mod:`support.wrong_answers`: which cells each must lose (``lose``) and words the
failure message must contain (``mention``).

* an alias bomb loses exactly its own answer's cells, with a message naming the alias limit;
* an unquoted YAML 1.1 boolean (``y``) as a label value fails like ``kubectl apply`` does, naming
  the field path and what to write instead;
* a correct answer written with ``gateway.networking.k8s.io/v1beta1`` (still served upstream)
  loses nothing.
"""

from __future__ import annotations

from support.wrong_answers import NP, V, W, Wrong

IG = "03-ingress-gateway"

_LAUGH = "lol"
ALIAS_BOMB = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny-ingress\n  namespace: shop\n"
    "  annotations:\n"
    f"    a: &a [\"{_LAUGH}\", \"{_LAUGH}\", \"{_LAUGH}\", \"{_LAUGH}\", \"{_LAUGH}\", \"{_LAUGH}\", \"{_LAUGH}\", \"{_LAUGH}\", \"{_LAUGH}\"]\n"
    + "".join(f"    {n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True))
    + "spec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n"
)
"""600-odd bytes that stand for 9**8 (43 million) strings: the 'billion laughs'."""

INPUT_BANK: list[Wrong] = [
    W(NP, "default_deny", "a YAML alias bomb ('billion laughs') in the annotations", ALIAS_BOMB,
      {"np_default_deny_visible", "np_default_deny_all_in", "np_default_deny_rest"},
      "YAML aliases expand this to more than 10000 nodes (an alias bomb?)", "write the objects out", "line 12"),  # line 12 of the cell: `e:`, 9**5 strings
    V(NP, "peer_and", "namespace label value y unquoted: kubectl's YAML reads it as true",
      [('          ns: "y"', "          ns: y")],
      {"np_and_visible", "np_and_matrix"},
      "networkpolicy/a-from-y-b spec.ingress[0].from[0].namespaceSelector.matchLabels.ns: expected string, got bool True",
      'YAML reads unquoted y as a boolean: write "y"'),
    V(NP, "peer_or", "namespace label value Y (upper case) unquoted",
      [('          ns: "y"', "          ns: Y")],
      {"np_or_visible", "np_or_matrix"},
      "networkpolicy/c-from-y-or-b spec.ingress[0].from[0].namespaceSelector.matchLabels.ns: expected string, got bool True",
      'write "Y"'),
    V(IG, "shop_gateway", "right, written with gateway.networking.k8s.io/v1beta1 (still served)",
      [("gateway.networking.k8s.io/v1\nkind: Gateway", "gateway.networking.k8s.io/v1beta1\nkind: Gateway"),
       ("gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: shop", "gateway.networking.k8s.io/v1beta1\nkind: HTTPRoute\nmetadata:\n  name: shop"),
       ("gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: to-https", "gateway.networking.k8s.io/v1beta1\nkind: HTTPRoute\nmetadata:\n  name: to-https")],
      set()),
]
