"""``python -m grader.verify``: compute grades in a process of its own, never in the learner's kernel.

Modes:

``serve``
    JSON lines on stdin/stdout: ``{"op": "check", "spec": ..., "answers": {...}}`` → an
    :class:`grader.checks.Outcome` as JSON. Started once per kernel by test cells
    (:mod:`grader.checks.client`). Each request gets a fresh lab.
``recheck``
    Two JSON lines on stdin. First ``{"cells": [{"grade_id", "source", "visible_source"}...],
    "answer_sources": [source of each answer cell], "reveal": bool}``, sent before the kernel
    starts; then ``{"ledger": PATH}``, sent when it has finished → one line
    ``{grade_id: {"passed", "message", "checks", "outputs"}}``. Run by nbgrader (trusted side),
    see :mod:`grader.checks.trusted` and :mod:`grader.checks.nbgrader_ext`.
``check SPEC.json [NAME=FILE ...]``
    For instructors: evaluate a check spec (as ``Check.spec()`` writes it) against answer files and
    print the message. Exit 0 if it passes, 1 if not.

Only the protocol goes to the real stdout: anything else a library prints is sent to stderr,
which callers capture.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any, TextIO


def _protocol_stream() -> TextIO:
    """A private copy of stdout for the protocol; fd 1 is pointed at stderr from here on."""
    sys.stdout.flush()
    stream = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def _serve(out: TextIO) -> int:
    from .checks.engine import evaluate
    from .checks.outcome import Outcome, request_digest

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            spec, answers = request["spec"], {str(k): str(v) for k, v in request["answers"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            out.write(json.dumps({"fatal": f"bad request: {exc}"}) + "\n")
            continue
        try:
            outcome = evaluate(spec, answers)
        except Exception as exc:  # noqa: BLE001 - a verifier bug must come back as a failed check, not a hang
            outcome = Outcome(str(spec.get("id", "?")), False, (), f"internal error in the verifier: {type(exc).__name__}: {exc}",
                              "internal", tuple(spec.get("answers", ())), digest=request_digest(spec, answers))
        out.write(json.dumps(outcome.to_json()) + "\n")
    return 0


def _recheck(out: TextIO) -> int:
    """Line 1: the cells, the answer cells' sources, ``reveal``; graded at once with the answer
    cells' text (while the kernel runs). Line 2 (or end of input): ``{"ledger": PATH}``, read after
    the kernel finished; cells whose checks ran with other answers are graded again."""
    from .checks.trusted import literal_answers, load_ledger, settle, speculate

    request: dict[str, Any] = json.loads(sys.stdin.readline())
    reveal = bool(request.get("reveal"))
    fallback = literal_answers(request.get("answer_sources", []))
    speculated = speculate(request["cells"], fallback, reveal=reveal)
    rest = sys.stdin.read().strip()
    ledger_path = json.loads(rest).get("ledger") if rest else request.get("ledger")
    out.write(json.dumps(settle(speculated, load_ledger(ledger_path), fallback, reveal=reveal)) + "\n")
    return 0


def _check(out: TextIO, args: list[str]) -> int:
    from .checks.engine import evaluate

    if not args:
        out.write("usage: python -m grader.verify check SPEC.json [NAME=FILE ...]\n")
        return 2
    with open(args[0], encoding="utf-8") as fh:
        spec = json.load(fh)
    answers = {}
    for item in args[1:]:
        name, _, path = item.partition("=")
        with open(path, encoding="utf-8") as fh:
            answers[name] = fh.read()
    outcome = evaluate(spec, answers)
    out.write(outcome.message() + "\n")
    return 0 if outcome.passed else 1


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    warnings.simplefilter("ignore")  # a grade never depends on a library's warning policy
    out = _protocol_stream()
    mode = args[0] if args else ""
    if mode == "serve":
        code = _serve(out)
    elif mode == "recheck":
        code = _recheck(out)
    elif mode == "check":
        code = _check(out, args[1:])
    else:
        out.write("usage: python -m grader.verify serve | recheck | check SPEC.json [NAME=FILE ...]\n")
        code = 2
    out.flush()
    sys.exit(code)


if __name__ == "__main__":
    main()
