"""The layer table of docs/architecture.md, checked: every import between grader's packages points
up the table (or sideways along an edge listed here), and no two packages import each other.

Every import counts: top-level, inside a function ("lazy") and under ``if TYPE_CHECKING:``; a lazy
import hides a dependency from the reader, not from the design. The graph comes from ``ast`` (no
code is imported), so the test runs in well under a second.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "grader"

# docs/architecture.md's table, top to bottom: a unit may import units of its own row only along
# ALLOWED_SIDEWAYS, and units of rows above it. A unit is the first name below `grader.`.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "facts", "session"),
    ("model",),
    ("manifests",),
    ("topology",),
    ("netpol", "cni", "services", "dns", "ingress", "gateway", "tls", "cilium", "nsg", "planning"),
    ("reachability",),
    ("render",),
    ("lab", "kind"),
    ("backends",),  # connect(): chooses a backend, so it sits above both (branch issue11-contract)
    ("course",),
    ("checks", "verify"),
    ("cli",),
)
# `python -m grader.verify` is the checks layer's entry point; the package root (grader/__init__.py)
# is the public facade and sits above everything.
ROOT_UNIT = "grader"

ALLOWED_SIDEWAYS: dict[tuple[str, str], str] = {
    ("cilium", "netpol"): "Cilium policy is unioned with NetworkPolicy",
    ("gateway", "ingress"): "Gateway implementations reuse the ingress controllers' table",
    ("gateway", "tls"): "listeners pick certificates by SNI",
    ("ingress", "tls"): "an Ingress terminates TLS with the certificate its tls section names for the host",
    ("kind", "lab"): "the live backend implements the contract in lab.base and uses its shared types",
    ("checks", "verify"): "the re-check entry point and the checks it runs are one layer",
    ("verify", "checks"): "the re-check entry point and the checks it runs are one layer",
}

# Upward edges that are harmless: they read the package's own metadata, nothing else.
ALLOWED_UP: dict[tuple[str, str], str] = {
    ("grader.course", "grader"): "reads grader.__version__ for doctor()",
    ("grader.checks.client", "grader"): "reads grader.__file__ to start the verifier from the same tree",
    ("grader.checks.sandbox", "grader"): "reads grader.__file__ to mount the package in the sandbox",
    ("grader.checks.kernel_startup.preload_grader", "grader"): (
        "not a module anything imports: the grading kernel's startup file, which imports the package as the "
        "notebook's first cells do, earlier"),
}

# Within an allowed edge, module prefixes a unit must still never import.
FORBIDDEN: dict[tuple[str, str], str] = {
    ("grader.kind", "grader.lab.sim"): "the live backend must not depend on the simulator's internals",
}

# Known edges that break the contract and are being removed, each with its reason and the branch
# removing it. Empty since the backend-contract refactor (issue 11) landed; keep it that way.
PENDING_REMOVAL: frozenset[tuple[str, str]] = frozenset()

# Packages whose modules must not import each other in a circle (module level, every kind of import).
ACYCLIC_PACKAGES = ("grader.checks",)


@dataclass(frozen=True, slots=True)
class Edge:
    source: str  # module, e.g. grader.kind.views
    target: str  # module or package, e.g. grader.lab.sim.services_api
    where: str  # file:line of the import statement
    kind: str  # "top", "lazy" or "type"

    def __str__(self) -> str:
        return f"{self.where}: {self.source} imports {self.target} ({self.kind})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(tree: ast.AST, context: str = "top") -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with where it runs: "top", "lazy" (in a function) or "type"
    (under ``if TYPE_CHECKING:``), in one pass over the tree."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, context
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), "type")
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), context)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _imports(node, "lazy" if context == "top" else context)
        else:
            yield from _imports(node, context)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    if not (origin == ROOT_UNIT or origin.startswith(ROOT_UNIT + ".")):
        return [origin]
    submodules = [f"{origin}.{alias.name}" for alias in node.names if _is_module(f"{origin}.{alias.name}")]
    # `from . import a, b` of submodules imports only those (the package is already being imported);
    # `from .pkg import name` imports pkg/__init__.py.
    return submodules if len(submodules) == len(node.names) else [origin, *submodules]


@cache
def edges() -> tuple[Edge, ...]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node, context in _imports(tree):
            for target in _targets(node, module, path.name == "__init__.py"):
                if target == ROOT_UNIT or target.startswith(ROOT_UNIT + "."):
                    found.append(Edge(module, target, f"{path.relative_to(ROOT)}:{node.lineno}", context))
    return tuple(sorted(found, key=lambda e: (e.where, e.target)))


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT_UNIT


RANK = {name: i for i, row in enumerate(LAYERS) for name in row}


def _problem(edge: Edge) -> str | None:
    """Why this edge breaks the contract, or None."""
    source, target = unit(edge.source), unit(edge.target)
    for (src_prefix, dst_prefix), why in FORBIDDEN.items():
        if _under(edge.source, src_prefix) and _under(edge.target, dst_prefix):
            return why
    if source in (target, ROOT_UNIT):
        return None
    if target == ROOT_UNIT:
        return None if (edge.source, edge.target) in ALLOWED_UP else "imports the package facade (grader/__init__.py), which sits above every layer"
    if RANK[target] < RANK[source]:
        return None
    if RANK[target] == RANK[source]:
        return None if (source, target) in ALLOWED_SIDEWAYS else f"sideways edge {source} -> {target} is not in ALLOWED_SIDEWAYS"
    return f"points down the layer table ({source} is above {target})"


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _current() -> list[Edge]:
    return [e for e in edges() if (e.source, e.target) not in PENDING_REMOVAL]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted; sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(out)


def _explain_cycle(component: list[str], by_key: dict[tuple[str, str], list[Edge]]) -> str:
    members = set(component)
    lines = [f"cycle between {', '.join(component)}:"]
    for (src, dst), found in sorted(by_key.items()):
        if src in members and dst in members:
            lines.extend(f"    {e}" for e in found)
    return "\n".join(lines)


# --- the contract -------------------------------------------------------------------------------


def test_every_unit_has_a_row_in_the_layer_table() -> None:
    units = {unit(_module_name(p)) for p in PACKAGE.rglob("*.py")} - {ROOT_UNIT}
    missing = sorted(units - set(RANK))
    assert not missing, f"grader/{missing[0]} is in no row of LAYERS: add it where docs/architecture.md puts it"


def test_every_import_points_up_the_layer_table() -> None:
    bad = [f"{e}: {why}" for e in _current() if (why := _problem(e)) is not None]
    assert not bad, "imports that break the layer table of docs/architecture.md:\n" + "\n".join(bad)


def test_no_two_packages_import_each_other() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    by_key: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for e in _current():
        a, b = unit(e.source), unit(e.target)
        if a != b and ROOT_UNIT not in (a, b):
            graph[a].add(b)
            by_key[(a, b)].append(e)
    found = _cycles(graph)
    assert not found, "\n".join(_explain_cycle(c, by_key) for c in found)


@pytest.mark.parametrize("package", ACYCLIC_PACKAGES)
def test_no_modules_import_each_other_in_a_circle(package: str) -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    by_key: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for e in _current():
        if _under(e.source, package) and _under(e.target, package) and package not in (e.source, e.target) and e.source != e.target:
            graph[e.source].add(e.target)
            by_key[(e.source, e.target)].append(e)
    found = _cycles(graph)
    assert not found, "\n".join(_explain_cycle(c, by_key) for c in found)


def test_pending_edges_still_exist() -> None:
    """PENDING_REMOVAL lists edges that are on their way out; once one is gone, so must its entry."""
    present = {(e.source, e.target) for e in edges()}
    gone = sorted(PENDING_REMOVAL - present)
    assert not gone, "no longer imported, remove from PENDING_REMOVAL in tests/test_import_contract.py: " + ", ".join(f"{s} -> {t}" for s, t in gone)


def test_the_allow_lists_name_real_units_and_edges() -> None:
    for a, b in ALLOWED_SIDEWAYS:
        assert RANK[a] == RANK[b], (a, b)
    present = {(e.source, e.target) for e in edges()}
    assert set(ALLOWED_UP) <= present, sorted(set(ALLOWED_UP) - present)


# --- the checker itself, on small trees -----------------------------------------------------------


def _parse_one(source: str, module: str = "grader.kind.views", is_package: bool = False) -> list[tuple[str, str]]:
    return [(t, context) for node, context in _imports(ast.parse(source)) for t in _targets(node, module, is_package)]


def test_relative_lazy_and_type_checking_imports_are_all_seen() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from ..lab.sim import services_api\n"
        "if TYPE_CHECKING:\n    from ..model import Pod\nelse:\n    import json\n"
        "def f():\n    import grader.cli\n    if TYPE_CHECKING:\n        import grader.render\n"
        "class C:\n    def m(self):\n        from .. import errors\n"
    )
    assert sorted(_parse_one(source)) == [
        ("grader.cli", "lazy"), ("grader.errors", "lazy"), ("grader.lab.sim.services_api", "top"),
        ("grader.model", "type"), ("grader.render", "type"), ("json", "top"), ("typing", "top"),
    ]


def test_a_downward_edge_is_reported_with_its_file_and_line() -> None:
    edge = Edge("grader.manifests", "grader.cilium.parse", "grader/manifests/__init__.py:18", "top")
    assert _problem(edge) == "points down the layer table (manifests is above cilium)"
    assert str(edge) == "grader/manifests/__init__.py:18: grader.manifests imports grader.cilium.parse (top)"
    assert _problem(Edge("grader.kind.views", "grader.lab.sim.services_api", "x:1", "lazy")) == FORBIDDEN[("grader.kind", "grader.lab.sim")]
    assert _problem(Edge("grader.kind.lab", "grader.lab.base", "x:1", "top")) is None
    assert _problem(Edge("grader.lab", "grader.kind", "x:1", "lazy")) == "sideways edge lab -> kind is not in ALLOWED_SIDEWAYS"
    assert _problem(Edge("grader.checks.engine", "grader.model", "x:1", "top")) is None


def test_cycles_are_found_and_named() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_architecture_doc_lists_the_allowed_sideways_edges() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    for a, b in ALLOWED_SIDEWAYS:
        if {a, b} == {"checks", "verify"}:
            continue
        assert f"`{a}` → `{b}`" in doc, f"docs/architecture.md does not list the sideways edge `{a}` → `{b}`"
