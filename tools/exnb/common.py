"""Text and helpers shared by every exercise notebook (``tools/build_exercises.py``)."""

from __future__ import annotations

from typing import Any

import yaml

HOW_GRADED = """
## How this notebook is graded
* Each answer is **YAML text between triple quotes** in an answer cell. Keep the variable name and
  replace the line `# YOUR ANSWER HERE (YAML)` with your YAML.
* **Work task by task**: run a task's cells in order, from its prompt down to its last test cell,
  then go on to the next task. Do not use *Run All* to check your work: it stops at the first test
  cell that fails, and the cells of every later task (their *Try it* cells too) do not run.
* Test cells below each answer state their points. Run them as you go, or press *Validate*.
  **Visible tests**, and the visible part of each *Hidden test* cell, check the basics and, in
  tasks about traffic, the mistake most learners make, with a flow that shows it. **Hidden
  tests** run when your notebook is graded: they probe every flow that must work and every flow
  that must not, including some the task does not spell out (other namespaces, other ports, UDP
  vs TCP, DNS, pods added later, look-alike pods and hosts next door). Passing the visible tests
  does not mean full points: the *Try it* cells show you the traps, use them.
* A failing test names each wrong flow, e.g. `shop/web → shop/db 5432/TCP: expected BLOCKED,
  observed ALLOWED`, with the engine's reason, and draws the matrix with ✗ on the wrong cells.
  Invalid YAML or an invalid manifest costs only that answer's points; the message names the field.
* Tests apply your answer to a fresh copy of the lab (the simulated cluster unless your instructor
  grades on kind), never to the `lab` you explore with below. Explore freely.
* Grades are computed outside this notebook's kernel: editing test cells or the `grader` package
  changes nothing.
"""

TASK_BY_TASK = "*Run this task's cells in order, down to its last test cell, before you start the next task (Run All stops at the first failing test).*"
"""The last line of every task's prompt (see HOW_GRADED)."""


def task(text: str) -> str:
    """A task's prompt (markdown, indented as in the builder) with the task-by-task line at its end."""
    from nbbuild import dedent

    return dedent(text) + "\n\n" + TASK_BY_TASK


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


PortSpec = int | str
"""``80``, ``"53/UDP"`` or ``"8080/TCP/http"`` (number/protocol/name), as ``Check.add_pod`` takes them."""
PodSpec = tuple[str, dict[str, str], list[PortSpec]]
"""``("shop/web-v2", {"app": "web-v2", "tier": "frontend"}, [80])``: an extra pod of a test."""


def add_pods(*pods: PodSpec) -> str:
    """``check.add_pod(...)`` lines for a test cell."""
    import json

    return "\n".join(f"check.add_pod({json.dumps(ref)}, {json.dumps(labels)}, {json.dumps(ports)})" for ref, labels, ports in pods)


def pods_yaml(*pods: PodSpec) -> str:
    """The same pods as YAML for a *Try it* cell (``image: agnhost``: the course's server, on the
    simulated cluster and on kind), one flow-style document per pod."""
    docs = []
    for ref, labels, ports in pods:
        ns, _, name = ref.partition("/")
        container_ports = []
        for port in ports:
            number, _, rest = str(port).partition("/")
            proto, _, pname = rest.partition("/")
            entry: dict[str, Any] = {"containerPort": int(number)}
            if proto and proto.upper() != "TCP":
                entry["protocol"] = proto.upper()
            if pname:
                entry["name"] = pname
            container_ports.append(entry)
        meta = yaml.safe_dump({"name": name, "namespace": ns, "labels": labels}, default_flow_style=True, width=10_000, sort_keys=False).strip()
        spec = yaml.safe_dump({"containers": [{"name": "main", "image": "agnhost", "ports": container_ports}]},
                              default_flow_style=True, width=10_000, sort_keys=False).strip()
        docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {meta}\nspec: {spec}")
    return "\n---\n".join(docs)


def indent(text: str, spaces: int = 12) -> str:
    """Lines after the first indented by ``spaces``, so that a multi-line text put into an indented
    block of the builder (``f\"\"\"...{indent(text)}...\"\"\"``) is dedented with the block."""
    lines = text.splitlines()
    return "\n".join(lines[:1] + [" " * spaces + ln for ln in lines[1:]])


def try_cell(*lines: str) -> str:
    """A code cell's source from lines (multi-line YAML strings stay as they are)."""
    return "\n".join(lines)


def namespace_yaml(name: str, labels: dict[str, str]) -> str:
    """A Namespace for a *Try it* cell, in the style of ``pods_yaml`` (put it before the pods that live there)."""
    meta = yaml.safe_dump({"name": name, "labels": labels}, default_flow_style=True, width=10_000, sort_keys=False).strip()
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {meta}"
