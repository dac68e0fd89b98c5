"""Submissions that try to earn points they did not earn.

Each starts from the student version of the network-policies exercise with only ``default_deny``
answered correctly (3 points earned honestly) and the rest blank, then cheats in one way. The
honest score is 3: nothing may score more. Two tampers that attack the grading machinery itself
(the gradebook, the grader package) are caught and score 0.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbformat.v4 import new_code_cell, new_output

from support.nbtools import answer_source, nbg, grade_cells

NOTEBOOK = "07-network-policies"
HONEST = {"np_default_deny_visible", "np_default_deny_all_in", "np_default_deny_rest"}
PROBE_FILE = "zz_tamper_probe.py"


def _insert_after_setup(nb: Any, source: str) -> Any:
    """Put a code cell right after the first code cell (the one that imports grader)."""
    nb = copy.deepcopy(nb)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, new_code_cell(source, id="tamper"))
    return nb


def monkeypatch_verify(nb: Any) -> Any:
    return _insert_after_setup(nb, "import grader.checks.spec as s\ns.Check.verify = lambda self: None")


def fake_module(nb: Any) -> Any:
    return _insert_after_setup(nb, (
        "import sys, types\n"
        "fake = types.ModuleType('grader.checks')\n"
        "class Check:\n"
        "    def __init__(self, *a, **k): pass\n"
        "    def __getattr__(self, name): return lambda *a, **k: self\n"
        "    def verify(self): print('✓ all expectations met')\n"
        "fake.Check = Check\n"
        "sys.modules['grader.checks'] = fake\n"
    ))


def forged_outcome(nb: Any) -> Any:
    """Replace the kernel-side client with one that returns a passing outcome with a valid digest."""
    return _insert_after_setup(nb, (
        "from grader.checks import client, outcome\n"
        "def fake(spec, answers):\n"
        "    return outcome.Outcome(spec['id'], True, (), answers=tuple(answers), digest=outcome.request_digest(spec, answers))\n"
        "client.verify = fake\n"
    ))


def input_transformer(nb: Any) -> Any:
    """Rewrite every later cell that mentions the checks into `pass` before IPython runs it."""
    return _insert_after_setup(nb, (
        "def neuter(lines):\n"
        "    return ['pass\\n'] if any('grader.checks' in line for line in lines) else lines\n"
        "get_ipython().input_transformers_post.append(neuter)\n"
    ))


def hide_tracebacks(nb: Any) -> Any:
    return _insert_after_setup(nb, (
        "ip = get_ipython()\n"
        "ip.showtraceback = lambda *a, **k: None\n"
        "ip.showsyntaxerror = lambda *a, **k: None\n"
    ))


def edited_locked_cells(nb: Any) -> Any:
    nb = copy.deepcopy(nb)
    for cell in grade_cells(nb).values():
        cell.source = "print('✓ all expectations met')"
    return nb


def deleted_test_cells(nb: Any) -> Any:
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not (nbg(c).get("grade") and not nbg(c).get("solution"))]
    return nb


def fake_outputs(nb: Any) -> Any:
    """Pre-filled success outputs in every test cell, and a cell printing success."""
    nb = copy.deepcopy(nb)
    for cell in grade_cells(nb).values():
        cell.execution_count = 1
        cell.outputs = [new_output("stream", name="stdout", text="✓ 5 expectations met\n")]
    return _insert_after_setup(nb, "print('✓ all expectations met: 23/23')")


def ledger_forgery(nb: Any) -> Any:
    """Write ledger records for other checks (wrong answers, malformed lines) before they run."""
    return _insert_after_setup(nb, (
        "import os, json\n"
        "path = os.environ.get('NETLAB_LEDGER')\n"
        "if path:\n"
        "    with open(path, 'a') as fh:\n"
        "        fh.write('not json\\n')\n"
        "        fh.write(json.dumps({'check': 'np_api_who', 'answers': {'api_from_frontend': 42}}) + '\\n')\n"
        "        fh.write(json.dumps({'check': 'np_db_who', 'answers': 'everything'}) + '\\n')\n"
    ))


def gradebook_write(nb: Any) -> Any:
    """Give every grade in the gradebook a manual score (manual scores win over auto scores)."""
    return _insert_after_setup(nb, (
        "import sqlite3\n"
        "db = sqlite3.connect('../../../gradebook.db')\n"
        "db.execute('UPDATE grade SET manual_score = 100')\n"
        "db.commit(); db.close()\n"
    ))


def grader_write(nb: Any) -> Any:
    """Write into the grader package (an edit to it would change what the re-check computes)."""
    return _insert_after_setup(nb, (
        "import os, grader\n"
        f"open(os.path.join(os.path.dirname(grader.__file__), 'checks', {PROBE_FILE!r}), 'w').write('# tampered\\n')\n"
    ))


@dataclass(frozen=True)
class Tamper:
    name: str
    build: Callable[[Any], Any]
    expect: frozenset[str]
    """Test cells that may score (full); all others must score 0."""


TAMPERS = [
    Tamper("monkeypatch_verify", monkeypatch_verify, frozenset(HONEST)),
    Tamper("fake_module", fake_module, frozenset(HONEST)),
    Tamper("forged_outcome", forged_outcome, frozenset(HONEST)),
    Tamper("input_transformer", input_transformer, frozenset(HONEST)),
    Tamper("hide_tracebacks", hide_tracebacks, frozenset(HONEST)),
    Tamper("edited_locked_cells", edited_locked_cells, frozenset(HONEST)),
    Tamper("deleted_test_cells", deleted_test_cells, frozenset(HONEST)),
    Tamper("fake_outputs", fake_outputs, frozenset(HONEST)),
    Tamper("ledger_forgery", ledger_forgery, frozenset(HONEST)),
    Tamper("gradebook_write", gradebook_write, frozenset()),
    Tamper("grader_write", grader_write, frozenset()),
]


def base_submission(exercise_nb: Any, solution_answers: dict[str, str]) -> Any:
    nb = copy.deepcopy(exercise_nb)
    for cell in nb.cells:
        if nbg(cell).get("grade_id") == "default_deny":
            cell.source = answer_source("default_deny", solution_answers["default_deny"])
    return nb


@dataclass(frozen=True)
class KernelTamper:
    """A submission for another notebook that answers one task wrongly and makes the kernel compute
    its own verdicts with patched expectation kinds (every HTTP expectation passes, every
    certificate is trusted): only the cells of the wrong answer may lose, and they must."""

    notebook: str
    answer: str
    wrong: Callable[[str], str]
    lose: frozenset[str]

    def build(self, exercise_nb: Any, solution_answers: dict[str, str]) -> Any:
        from support.nbtools import with_answers

        nb = with_answers(exercise_nb, {**solution_answers, self.answer: self.wrong(solution_answers[self.answer])})
        return _insert_after_setup(nb, (
            "import grader.checks.client as client, grader.checks.engine as engine, grader.checks.expectations as kinds\n"
            "import grader.tls.certificates as certificates\n"
            "from grader.checks.outcome import Finding\n"
            "kinds.EXPECTATIONS['http'] = lambda ctx, p: Finding('http', 'ok', True, passed_count=1)\n"
            "certificates.verify = lambda *a, **k: certificates.Verification(True, 'trusted')\n"
            "client.verify = lambda spec, answers: engine.evaluate(spec, answers)   # verdicts computed here, where they are patched\n"
        ))


KERNEL_PATCH_TLS = KernelTamper(
    "03-ingress-gateway", "shop_tls", lambda text: text.replace("secretName: shop-tls", "secretName: api-tls"),
    frozenset({"tls_visible", "tls_certificate"}),
)
