"""Text and helpers shared by every exercise notebook (``tools/build_exercises.py``)."""

from __future__ import annotations

from typing import Any

import yaml

HOW_GRADED = """
## How this notebook is graded
* Each answer is **YAML text between triple quotes** in an answer cell. Keep the variable name and
  replace the line `# YOUR ANSWER HERE (YAML)` with your YAML.
* Test cells below each answer state their points. **Visible tests** check the basics now: run them,
  or press *Validate*. **Hidden tests** run when your notebook is graded: they probe every flow that
  must work and every flow that must not, including some the task does not spell out (other
  namespaces, other ports, UDP vs TCP, DNS, pods added later).
* A failing test names each wrong flow, e.g. `shop/web → shop/db 5432/TCP: expected BLOCKED,
  observed ALLOWED`, with the engine's reason, and draws the matrix with ✗ on the wrong cells.
  Invalid YAML or an invalid manifest costs only that answer's points; the message names the field.
* Tests apply your answer to a fresh copy of the lab (the simulated cluster unless your instructor
  grades on kind), never to the `lab` you explore with below. Explore freely.
* Grades are computed outside this notebook's kernel: editing test cells or the `grader` package
  changes nothing.
"""

SHOP_TABLE = """
The `shop` topology (deploy it with `lab.deploy("shop")`):

| pod | labels | ports |
|---|---|---|
| `shop/web` | `app=web`, `tier=frontend` | 80/TCP `http`, 9100/TCP `metrics` |
| `shop/api` | `app=api`, `tier=backend` | 8080/TCP `http`, 9100/TCP `metrics` |
| `shop/db` | `app=db`, `tier=database` | 5432/TCP `postgres`, 9100/TCP `metrics` |
| `monitoring/prometheus` | `app=prometheus` | 9090/TCP `http` |
| `untrusted/attacker` | `app=attacker` | 80/TCP `http` |
| `kube-system/coredns-0`, `-1` | `k8s-app=kube-dns` | 53/UDP `dns`, 53/TCP `dns-tcp`, 9153/TCP `metrics` |

Namespaces: `shop` (`team=shop`), `monitoring` (`team=platform`, `purpose=monitoring`),
`untrusted` (`team=unknown`); the API server also labels every namespace
`kubernetes.io/metadata.name=<name>`. Outside the cluster: `api.example.com` (203.0.113.10) and
`blocked.example.net` (198.51.100.20) serve 80 and 443/TCP; `vm.internal` (172.18.0.100) is a VM
on the node network.
"""

DEFAULT_DENY = ('"{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: default-deny-ingress, '
                'namespace: shop}, spec: {podSelector: {}, policyTypes: [Ingress]}}"')
"""Task 1's policy as one line of flow-style YAML (test cells and try-it cells apply it first)."""


def flow(doc: dict[str, Any]) -> str:
    """One manifest as a one-line flow-style YAML string literal, for ``check.given(...)`` in a test cell
    (test cells are self-contained: the trusted re-check runs each one on its own)."""
    text = yaml.safe_dump(doc, default_flow_style=True, width=10_000, sort_keys=False).strip()
    return '"' + text.replace('"', '\\"') + '"'


def given(*docs: dict[str, Any]) -> str:
    """``check.given("...")`` lines for a test cell."""
    return "\n".join(f"check.given({flow(d)})" for d in docs)
