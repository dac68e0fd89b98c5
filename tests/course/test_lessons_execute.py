"""Every lesson runs top to bottom on the simulated cluster: no error, nothing on stderr, and the
pictures are there. Run time per lesson is printed (``-s``); benchmarks/lessons_runtime.py keeps
the numbers, this test only guards correctness."""

from __future__ import annotations

import time

import nbformat
import pytest
from support.kernels import execute_cells, run_all, running_kernel
from support.lesson_helpers import ROOT, lesson_names
from nbclient import NotebookClient

pytestmark = pytest.mark.slow


def execute(name: str, monkeypatch: pytest.MonkeyPatch, profile: str | None = None) -> tuple[nbformat.NotebookNode, float]:
    monkeypatch.setenv("NETLAB_BACKEND", "sim")
    nb = nbformat.read(ROOT / "course" / f"{name}.ipynb", as_version=4)
    if profile is not None:  # what a learner does: edit the PROFILE line and run again
        edited = 0
        for cell in nb.cells:
            if cell.cell_type == "code" and 'PROFILE = "kindnet"' in cell.source:
                cell.source = cell.source.replace('PROFILE = "kindnet"', f'PROFILE = "{profile}"')
                edited += 1
        assert edited == 1, f"{name} should set PROFILE in exactly one cell"
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", allow_errors=False,
        resources={"metadata": {"path": str(ROOT / "course")}},
    )
    start = time.perf_counter()
    run_all(client)
    return nb, time.perf_counter() - start


@pytest.mark.parametrize("name", lesson_names())
def test_lesson_runs_cleanly_on_the_simulated_cluster(name, monkeypatch):
    nb, seconds = execute(name, monkeypatch)
    print(f"{name}: {seconds:.1f} s")
    stderr, errors, images, html_grids = [], [], 0, 0
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stderr":
                stderr.append(f"cell {i}: {out.text[:300]!r}")
            elif out.output_type == "error":
                errors.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type in ("display_data", "execute_result"):
                images += "image/png" in out.data
                html_grids += "Reachability" in out.data.get("text/html", "")
    assert not errors, errors
    assert not stderr, f"{name} wrote to stderr: {stderr}"
    assert images >= 2, f"{name} shows {images} pictures"
    first_code = next(c for c in nb.cells if c.cell_type == "code" and "grader.connect(" in c.source)
    said = "".join(o.get("text", "") for o in first_code.outputs if o.output_type == "stream")
    assert "on the simulated cluster" in said, "the lab says which backend it uses"
    if name.startswith("00-"):
        assert html_grids >= 1, "lesson 0 shows a coloured reachability table"


@pytest.mark.parametrize("name", lesson_names())
def test_lesson_runs_with_another_profile(name, monkeypatch):
    """Calico takes other code paths (IPAM blocks instead of podCIDRs); the lesson must still run."""
    nb, _ = execute(name, monkeypatch, profile="calico-vxlan")
    said = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
    assert "netlab: profile calico-vxlan on the simulated cluster" in said
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error" or o.get("name") == "stderr"]


@pytest.mark.parametrize("name", lesson_names())
def test_rerunning_a_lesson_in_the_same_kernel_gives_the_same_outputs(name, monkeypatch):
    """Re-running every cell (same kernel, state left by the first run) changes no output."""
    monkeypatch.setenv("NETLAB_BACKEND", "sim")
    nb = nbformat.read(ROOT / "course" / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "course")}})

    def texts() -> list[str]:
        out = []
        for cell in nb.cells:
            if "machine-state" in cell.metadata.get("tags", []):
                continue  # reports free memory and the like, which change between runs
            for o in cell.get("outputs", []):
                data = o.get("data", {})
                if o.output_type == "stream" and out and out[-1][0] == (id(cell), o.name):
                    # The kernel flushes a cell's printing in chunks whose boundaries depend on timing:
                    # compare the text a cell printed, not how it was chunked.
                    out[-1] = (out[-1][0], out[-1][1] + o.text)
                    continue
                # A rich output's text/plain is a repr (it may hold an address); compare the rich part.
                plain = "" if "image/png" in data or "text/html" in data else str(data.get("text/plain", ""))
                key = (id(cell), o.name) if o.output_type == "stream" else (id(cell), "rich")
                out.append((key, o.get("text", "") + plain + str(data.get("text/html", "")) + str(data.get("image/png", ""))))
        return [text for _, text in out]

    with running_kernel(client):
        execute_cells(client)
        first = texts()
        execute_cells(client)
        assert texts() == first
