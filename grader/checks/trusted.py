"""Grading outside the learner's kernel: the ledger of answers and the trusted re-check.

Why: learner code runs in the same kernel as the test cells, so anything the kernel computes or
displays can be faked (patch ``grader``, replace ``sys.modules``, rewrite cells with an IPython
input transformer, display a value nbgrader reads as the score). A signature would not help
either: the kernel could read any key. What the kernel cannot fake is a computation it never
takes part in. So during ``nbgrader autograde``:

1. :class:`grader.checks.nbgrader_ext.VerifiedExecute` gives the (sandboxed) kernel a fresh
   *ledger* path (``NETLAB_LEDGER``). Each check the kernel runs appends its answer texts there,
   keyed by check id, and computes nothing else.
2. A fresh process (``python -I -S -m grader.verify recheck``) executes the source of every test
   cell *as restored by nbgrader from its database* (so the hidden tests are the instructor's),
   with :class:`grader.checks.Check` in trusted mode: the verdict is computed right there, in a
   process the kernel never touched. It starts grading with the answer cells' literal text while
   the kernel runs (:func:`speculate`) and grades again only the cells whose checks the kernel
   ran with other answers (:func:`settle`).
3. Its outputs replace the test cells' outputs; nbgrader scores those alone.

The ledger holds only answer texts. A kernel can write anything into it, but that only chooses
which answer gets graded, never the verdict: the worst a forged ledger can do is submit a correct
answer, which is what the learner was asked to do. When the kernel recorded nothing for a check
(it died, was patched, or its cells were rewritten), the answer is read from the answer cell
itself: a string literal assigned to the answer's name, found without running any learner code.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


def grading_in_kernel() -> bool:
    """True in a kernel that nbgrader autograde runs (with a ledger): checks only record answers there."""
    return bool(os.environ.get(LEDGER_ENV)) and os.environ.get("NBGRADER_EXECUTION") == "autograde"


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
MAX_MESSAGE_CHARS = 6000
"""A failure message in a graded notebook is cut here: an answer can make messages long (every
wrong flow, every field problem), and a graded notebook and its feedback page must stay small."""


def cap(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit("\n", 1)[0] + f"\n… (message cut at {limit} characters)"


class _Cell:
    def __init__(self, ledger: Mapping[str, dict[str, str]], fallback: Mapping[str, str], pictures: bool) -> None:
        self.ledger = ledger
        self.fallback = fallback
        self.pictures = pictures
        self.created: list[str] = []
        self.outcomes: list[Outcome] = []
        self.used: dict[str, dict[str, str]] = {}


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
    _state.used[check.id] = {n: answers[n] for n in names if n in answers}
    missing = [n for n in names if n not in answers]
    if missing:
        outcome = Outcome(check.id, False, (), f"no answer {', '.join(f'`{n}`' for n in missing)} could be read: the test did not run to "
                          "its end in the notebook, and the answer cell does not assign plain text between triple quotes",
                          "answer", tuple(names))
    else:
        outcome = evaluate(check.spec(), answers, pictures=_state.pictures)
    _state.outcomes.append(outcome)
    if not outcome.passed:
        raise CheckFailed(outcome.message())


@dataclass(frozen=True)
class CellResult:
    """What one test cell's source computed in trusted mode."""

    passed: bool
    message: str
    checks: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    used: Mapping[str, Mapping[str, str]]
    """The answers each check of the cell was graded with, by check id."""

    def still_valid(self, ledger: Mapping[str, Mapping[str, str]]) -> bool:
        """Whether grading again with ``ledger`` would grade the same answers (so give the same result)."""
        return all(ledger.get(check, used) == used for check, used in self.used.items()) and \
            not any(check in ledger for check in self.checks if check not in self.used)


def run_cell(grade_id: str, source: str, ledger: Mapping[str, dict[str, str]], fallback: Mapping[str, str],
             *, pictures: bool = False) -> CellResult:
    """Execute one test cell's source with :class:`grader.checks.Check` in trusted mode. A cell that
    builds no check fails (closed, not open): every grade cell of a course notebook is a check."""
    global _state
    _state = _Cell(ledger, fallback, pictures)
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
    if not state.created and not error:
        error = "this test cell built no check, so it cannot be graded outside the notebook; tell your instructor"
    passed = not error and bool(state.outcomes) and all(o.passed for o in state.outcomes)
    return CellResult(passed, cap(error), tuple(state.created), tuple(state.outcomes), dict(state.used))


def _outputs(result: CellResult, pictures: tuple[Outcome, ...]) -> list[dict[str, Any]]:
    """The cell's outputs in the graded notebook: pictures, then the summary (pass) or the error (fail).
    Never an ``execute_result``: nbgrader would read it as partial credit."""
    from .outcome import display_bundles, error_output

    out: list[dict[str, Any]] = []
    for outcome in pictures:
        for bundle in display_bundles(outcome):
            out.append({"output_type": "display_data", "data": bundle, "metadata": {}})
    if result.passed:
        text = "\n".join(o.summary() for o in result.outcomes)
        out.append({"output_type": "stream", "name": "stdout", "text": f"{text}\n(graded outside the notebook)\n"})
    else:
        out.append(error_output(result.message or "failed"))
    return out


@dataclass(frozen=True)
class Graded:
    cell: Mapping[str, str]
    result: CellResult
    pictures: tuple[Outcome, ...]

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {"passed": r.passed, "message": r.message, "checks": list(r.checks), "outputs": _outputs(r, self.pictures)}


def _grade(cell: Mapping[str, str], ledger: Mapping[str, dict[str, str]], fallback: Mapping[str, str], reveal: bool) -> Graded:
    grade_id, source, visible = str(cell["grade_id"]), str(cell["source"]), cell.get("visible_source")
    result = run_cell(grade_id, source, ledger, fallback, pictures=reveal)
    pictures: tuple[Outcome, ...] = ()
    if reveal:
        pictures = result.outcomes
    elif not result.passed and visible:
        pictures = run_cell(grade_id, str(visible), ledger, fallback, pictures=True).outcomes
    return Graded(cell, result, pictures)


def speculate(cells: Iterable[Mapping[str, str]], fallback: Mapping[str, str], *, reveal: bool = False) -> list[Graded]:
    """Grade every cell with the answers read from the answer cells, before the kernel has run
    (the trusted side does this while the kernel runs); :func:`settle` keeps what still holds."""
    return [_grade(c, {}, fallback, reveal) for c in cells]


def settle(speculated: Iterable[Graded], ledger: Mapping[str, dict[str, str]], fallback: Mapping[str, str],
           *, reveal: bool = False) -> dict[str, dict[str, Any]]:
    """Final results: a cell whose checks the kernel ran with other answers than the answer cells'
    text (computed answers) is graded again with the kernel's answers."""
    out = {}
    for g in speculated:
        if not g.result.still_valid(ledger):
            g = _grade(g.cell, ledger, fallback, reveal)
        out[str(g.cell["grade_id"])] = g.to_json()
    return out


def recheck(cells: Iterable[Mapping[str, str]], ledger: Mapping[str, dict[str, str]],
            fallback: Mapping[str, str] | None = None, *, reveal: bool = False) -> dict[str, dict[str, Any]]:
    """Grade each test cell from its source (as nbgrader restored it, hidden tests included).

    Each cell is ``{"grade_id", "source", "visible_source"}``: ``visible_source`` is the cell as
    learners see it (nbgrader's ClearHiddenTests applied; the trusted side computes it).

    Returns ``{grade_id: {"passed", "message", "checks", "outputs"}}``; ``outputs`` are what the
    graded notebook shows in that cell, and what nbgrader scores. Answers: those the kernel's check
    recorded in the ledger, else the answer cell's literal text. Pictures: for a failure, those of
    the visible part of the cell only (computed again from ``visible_source``), so feedback names
    the wrong flows without revealing the hidden expectations or the pods they add; ``reveal=True``
    (after the deadline) shows every picture instead. A passing cell shows its summary."""
    fallback = fallback or {}
    return settle(speculate(cells, fallback, reveal=reveal), ledger, fallback, reveal=reveal)
