"""Every solution notebook runs top to bottom (Run All) the way a learner opens it: NETLAB_BACKEND
unset, so ``grader.connect`` chooses by itself. Exercises 02 and 06 once stopped in their setup cell
there, because ``connect("kindnet", load_balancer="azure")`` raised in auto mode: the Azure model
must give the simulated cluster and say so on stdout. Also covers every *Try it* cell with the
solutions in place: no error, nothing on stderr."""

from __future__ import annotations

import pytest
from nbclient import NotebookClient

from support.kernels import run_all
from support.nbtools import SOLUTIONS, notebooks, read

pytestmark = pytest.mark.slow

NAMES = [p.parent.name for p in notebooks(SOLUTIONS)]
AZURE_LINE = "on the simulated cluster (Azure's load balancer and NSGs exist only there, LoadBalancer Services by azure)"


@pytest.mark.parametrize("name", NAMES)
def test_solution_runs_all_cells_in_auto_mode(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETLAB_BACKEND", raising=False)  # the kernel inherits this environment
    nb = read(SOLUTIONS / name / f"{name}.ipynb")
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(SOLUTIONS / name)}})
    run_all(client)
    errors, stderr = [], []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                errors.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                stderr.append(f"cell {i}: {out.text[:300]!r}")
    assert errors == [] and stderr == []
    azure_cells = [c for c in nb.cells if c.cell_type == "code" and 'load_balancer="azure")' in c.source and "grader.connect(" in c.source]
    for cell in azure_cells:
        said = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert AZURE_LINE in said, said
    assert bool(azure_cells) == (name in ("02-services", "06-nsg"))
