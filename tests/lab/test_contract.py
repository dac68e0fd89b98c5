"""The one backend contract (grader.lab.base.Lab): abstract for what a backend does, written once
for what is shared (matrix, matrices, check over the one ``_probe_cells`` hook), and the two
backends packaged so neither imports the other."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

import pytest

from grader.errors import LabError
from grader.kind.lab import ClusterLab, KindLab, LiveLab
from grader.lab import Lab, SimulatedLab
from grader.lab.base import Cell, PortSpec
from grader.model import Protocol
from grader.reachability import ProbeResult, Reachability, Verdict

GRADER = Path(__file__).resolve().parents[2] / "grader"


def test_the_contract_is_abstract_and_both_backends_implement_all_of_it() -> None:
    required = set(Lab.__abstractmethods__)
    assert {"_probe_cells", "probe", "http", "services", "status", "node_ip", "cluster_ip", "node_ports",
            "open_connection", "attach_nsg", "external_hosts"} <= required
    assert {"matrix", "matrices", "check"}.isdisjoint(required)  # written once
    for backend in (SimulatedLab, LiveLab, KindLab, ClusterLab):
        assert not backend.__abstractmethods__, f"{backend.__name__} leaves {sorted(backend.__abstractmethods__)}"
    with pytest.raises(TypeError, match="abstract"):
        Lab()  # type: ignore[abstract]


def test_no_method_stub_says_not_implemented_yet() -> None:
    text = (GRADER / "lab" / "base.py").read_text()
    assert "yet" not in text and "_unsupported" not in text


class Halved(SimulatedLab):
    """A backend whose hook forgets every other cell (to show the template method notices)."""

    def _probe_cells(self, cells: Sequence[Cell], port: PortSpec, protocol: Protocol) -> dict[Cell, ProbeResult]:
        return {c: r for i, (c, r) in enumerate(super()._probe_cells(cells, port, protocol).items()) if i % 2 == 0}


class Counting(SimulatedLab):
    def __init__(self) -> None:
        super().__init__("kindnet")
        self.batches: list[list[Cell]] = []

    def _probe_cells(self, cells: Sequence[Cell], port: PortSpec, protocol: Protocol) -> dict[Cell, ProbeResult]:
        self.batches.append(list(cells))
        return super()._probe_cells(cells, port, protocol)


def test_matrix_is_one_batch_of_sorted_cells_over_the_pods_by_default() -> None:
    lab = Counting()
    lab.deploy("shop")
    m = lab.matrix(80, namespaces=["shop"], sources=["shop/web", "shop/api"])
    pods = sorted(str(p.ref) for p in lab.pods() if p.namespace == "shop")
    assert m.sources == ("shop/api", "shop/web") and m.destinations == tuple(pods)
    assert lab.batches == [[(s, d) for s in m.sources for d in m.destinations]]
    assert m.results[("shop/api", "shop/web")].verdict is Verdict.ALLOWED


def test_a_hook_that_leaves_cells_out_is_an_error_not_a_smaller_matrix() -> None:
    lab = Halved("kindnet")
    lab.deploy("shop")
    with pytest.raises(LabError, match=r"the sim backend answered no result for \d+ cell\(s\)"):
        lab.matrix(80)


def test_check_observes_through_the_template() -> None:
    lab = Counting()
    lab.deploy("shop")
    lab.batches.clear()
    holds = lab.check(Reachability(["shop/api"], ["shop/web"], port=80))
    fails = lab.check(Reachability(["shop/api"], ["shop/web"], port=80, default=Verdict.BLOCKED))
    assert holds.ok and not fails.ok
    assert lab.batches == [[("shop/api", "shop/web")]] * 2


def test_public_readings_of_nodes_and_services_on_the_simulated_cluster() -> None:
    lab = SimulatedLab("kindnet")
    lab.deploy("shop")
    lab.apply("""
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 80, nodePort: 30080}]
""")
    assert lab.node_ip("kind-worker") == str(lab.state.node("kind-worker").ip)
    assert lab.cluster_ip("service/kube-system/kube-dns") == "10.96.0.10"
    assert lab.node_ports("service/shop/web") == {"http": 30080}
    assert lab.node_ports("service/kube-system/kube-dns") == {}
    ip = lab.cluster_ip("service/shop/web")
    assert ip is not None and lab.probe("shop/api", ip, 80).verdict is Verdict.ALLOWED
    with pytest.raises(LabError, match="no node/kind-nope; known: node/kind-control-plane"):
        lab.node_ip("kind-nope")


def _imports(package: Path) -> set[str]:
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                base = ".".join(path.relative_to(GRADER.parent).with_suffix("").parts[:-1 - (node.level - 1)]) if node.level else ""
                found.add(f"{base}.{node.module}" if node.level else node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
    return found


def test_the_backends_do_not_import_each_other_and_kind_borrows_nothing_from_the_simulator() -> None:
    kind = _imports(GRADER / "kind")
    lab = _imports(GRADER / "lab")
    assert not [m for m in kind if m.startswith("grader.lab.sim")], "grader/kind imports the simulator"
    assert not [m for m in lab if m.startswith("grader.kind")], "grader/lab imports the kind backend"
    assert "grader.lab.base" in kind and "grader.lab.results" in kind  # the contract and its result types


def test_connect_lives_above_both_backends_and_keeps_its_public_names() -> None:
    import grader.backends
    import grader.lab

    assert grader.connect is grader.backends.connect is grader.lab.connect
    assert grader.lab.BACKENDS == grader.backends.BACKENDS == ("auto", "sim", "kind")
    with pytest.raises(AttributeError):
        grader.lab.no_such_name  # noqa: B018
