"""Grading outside the learner's kernel: the ledger of answers and the trusted re-check.

Why: learner code runs in the same kernel as the test cells, so anything the kernel computes or
displays can be faked (patch ``grader``, replace ``sys.modules``, rewrite cells with an IPython
input transformer, hide tracebacks). A signature would not help either: the kernel runs as the
same user as any signer and can read its key. What the kernel cannot fake is a computation it
never takes part in. So during ``nbgrader autograde``:

1. :class:`grader.checks.nbgrader_ext.VerifiedExecute` gives the kernel a fresh *ledger* path
   (``NETLAB_LEDGER``). Each check the kernel runs appends its answer texts there, keyed by check id.
2. After the kernel finishes, a fresh process (``python -I -m grader.verify recheck``) executes the
   source of every test cell *as restored by nbgrader from its database* (so the hidden tests are
   the instructor's), with :class:`grader.checks.Check` in trusted mode: answers come from the
   ledger, the verdict is computed right there, in a process the kernel never touched.
3. A test cell scores only if the kernel run *and* the re-check pass.

The ledger holds only answer texts. A kernel can write anything into it, but that only chooses
which answer gets graded, never the verdict: the worst a forged ledger can do is submit a correct
answer, which is what the learner was asked to do. When the kernel recorded nothing for a check
(it was patched, or its cells were rewritten), the answer is read from the answer cell itself: a
string literal assigned to the answer's name, found without running any learner code.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from .outcome import CheckFailed, Outcome

LEDGER_ENV = "NETLAB_LEDGER"
LEDGER_MAX_BYTES = 20_000_000


# -- ledger --------------------------------------------------------------------------------
def record(check_id: str, answers: Mapping[str, str]) -> None:
    """Append the answers of one check run to the ledger named by ``NETLAB_LEDGER`` (if any)."""
    path = os.environ.get(LEDGER_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"check": check_id, "answers": dict(answers)}) + "\n")


def load_ledger(path: str | None) -> dict[str, dict[str, str]]:
    """Last recorded answers per check id. Malformed lines are skipped (the kernel could write them)."""
    out: dict[str, dict[str, str]] = {}
    if not path or not os.path.isfile(path) or os.path.getsize(path) > LEDGER_MAX_BYTES:
        return out
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                raw = json.loads(line)
            except ValueError:
                continue
            if not isinstance(raw, dict) or not isinstance(raw.get("check"), str) or not isinstance(raw.get("answers"), dict):
                continue
            answers = {str(k): v for k, v in raw["answers"].items() if isinstance(v, str)}
            out[raw["check"]] = answers
    return out


# -- answers read from the notebook without running it -------------------------------------
def _literal_text(node: ast.AST) -> str | None:
    """The value of a string expression made only of literals (``"..."``, implicit or ``+``
    concatenation, f-strings without placeholders); None for anything that needs running code."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [_literal_text(v) for v in node.values]
        return "".join(parts) if all(p is not None for p in parts) else None  # type: ignore[arg-type]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_text(node.left), _literal_text(node.right)
        return left + right if left is not None and right is not None else None
    return None


def literal_answers(sources: Iterable[str]) -> dict[str, str]:
    """``name = \"\"\"...\"\"\"`` at the top level of answer cells, later cells winning. A name
    assigned anything else is dropped (its value would need the learner's code to run)."""
    out: dict[str, str] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                name = stmt.targets[0].id
                text = _literal_text(stmt.value)
                if text is None:
                    out.pop(name, None)
                else:
                    out[name] = text
    return out


# -- trusted mode --------------------------------------------------------------------------
class _Cell:
    def __init__(self, ledger: Mapping[str, dict[str, str]], fallback: Mapping[str, str]) -> None:
        self.ledger = ledger
        self.fallback = fallback
        self.created: list[str] = []
        self.outcomes: list[Outcome] = []


_state: _Cell | None = None


def active() -> bool:
    return _state is not None


def note_created(check: Any) -> None:
    if _state is not None:
        _state.created.append(check.id)


def verify_here(check: Any) -> None:
    """Trusted mode: grade with the ledger's answers, in this process."""
    __tracebackhide__ = True
    from .engine import evaluate

    assert _state is not None
    names = check.spec()["answers"]
    answers = _state.ledger.get(check.id)
    if answers is None:
        answers = {n: _state.fallback[n] for n in names if n in _state.fallback}
    missing = [n for n in names if n not in answers]
    if missing:
        outcome = Outcome(check.id, False, (), f"no answer {', '.join(f'`{n}`' for n in missing)} could be read: the test did not run to "
                          "its end in the notebook, and the answer cell does not assign plain text between triple quotes",
                          "answer", tuple(names))
    else:
        outcome = evaluate(check.spec(), answers)
    _state.outcomes.append(outcome)
    if not outcome.passed:
        raise CheckFailed(outcome.message())


def recheck(cells: Iterable[Mapping[str, str]], ledger: Mapping[str, dict[str, str]],
            fallback: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Execute each test cell's source in trusted mode. Cells that neither import ``grader.checks``
    nor build a :class:`Check` are not ours to judge and are left out of the result; a cell that
    imports it but fails before building one fails (closed, not open)."""
    global _state
    results: dict[str, dict[str, Any]] = {}
    for cell in cells:
        grade_id, source = str(cell["grade_id"]), str(cell["source"])
        _state = _Cell(ledger, fallback or {})
        error = ""
        try:
            code = compile(source, f"<test cell {grade_id}>", "exec")
            exec(code, {"__name__": "__graded_cell__"})  # noqa: S102 - instructor code restored from the gradebook
        except CheckFailed as exc:
            error = exc.message
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of the cell is a failure
            error = f"{type(exc).__name__}: {exc}"
        finally:
            state, _state = _state, None
        if not state.created and "grader.checks" not in source:
            continue
        if not state.created and not error:
            error = "the test cell built no check"
        passed = not error and bool(state.outcomes) and all(o.passed for o in state.outcomes)
        results[grade_id] = {"passed": passed, "message": error, "checks": state.created}
    return results
