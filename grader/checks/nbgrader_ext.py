"""nbgrader side (trusted): run a submission in a sandbox, then grade every test cell outside it.

``nbgrader_config.py`` puts :class:`NormalizeSubmission` first in ``Autograde.sanitize_preprocessors``
and :class:`VerifiedExecute` in place of nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``.

How a score is decided (the README's "How a score is decided" says the same for instructors):

1. :class:`NormalizeSubmission` maps the submission onto the released notebook: copies of answer or
   test cells (pasted, duplicated) become ordinary cells, cells with broken or unknown grading
   metadata likewise, released test cells that are missing are put back; a note at the top of the
   graded notebook says what was ignored. nbgrader then restores every test cell's source from
   the gradebook (hidden tests included).
2. :class:`VerifiedExecute` starts the trusted re-check (``python -I -S -m grader.verify recheck``, a
   process the kernel never touches) and, at the same time, runs the notebook in a kernel inside
   the sandbox (:mod:`grader.checks.sandbox`). In that kernel a test cell only records which
   answers it ran into a ledger; it computes nothing that counts.
3. The re-check grades every test cell from its restored source, with the answers the kernel
   recorded (else the literal text of the answer cell), and returns each cell's outputs: the
   summary when it passes, the message (and the pictures of the visible part) when it fails.
4. Those outputs *replace* whatever the kernel put in every test cell. nbgrader's
   ``determine_grade`` then reads only them: an ``error`` output scores 0, no error scores full.
   Nothing the kernel printed, displayed or returned reaches a score.

A kernel that dies part-way costs nothing: the cells that did not run are still graded from the
answers. The kernel is started again if it dies before running anything
(``kernel_start_retries``: jupyter_client's port race, jupyter/jupyter_client#487, hits graders
that run several autogrades at once; the sandbox's Unix sockets avoid it altogether).

Grading stops (:class:`GradingStopped`, nbgrader exits non-zero) instead of zeroing anybody when
the environment is broken: no sandbox, a re-check that cannot run, or the grader package,
``nbgrader_config.py`` or the gradebook changing while a sandboxed notebook ran (which that notebook
cannot do, so the message does not blame it). Without the sandbox (``sandbox = "none"``, for
trusted submissions only), such a change is blamed on the notebook that ran: its test cells score
0 and the gradebook is restored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Enum, Integer

from .client import bootstrap_argv
from .outcome import error_output
from .trusted import LEDGER_ENV, cap

RECHECK_TITLE = "Checked again outside the notebook's kernel"
NOTE_MARK = "netlab_grading_note"
"""Metadata key of the markdown cell that tells the learner what grading ignored or restored."""
ANSWER_COPY_MARK = "netlab_answer_copy"
"""Metadata key of a copy of an answer cell: graded as ordinary code, still read for the answer's text."""


class GradingStopped(SystemExit):
    """Grading cannot go on without risking wrong grades for everyone after this point. A
    ``SystemExit``, so that nbgrader's per-submission ``except Exception`` does not swallow it;
    nbgrader then exits with :data:`STOPPED_EXIT` (the Makefile tells it from a failed submission)."""

    def __init__(self, message: str) -> None:
        super().__init__(STOPPED_EXIT)
        self.message = f"GRADING STOPPED: {message}"

    def __str__(self) -> str:
        return self.message


STOPPED_EXIT = 75
"""nbgrader's exit code when grading stopped (EX_TEMPFAIL: fix the environment, then run it again)."""


def fingerprint(paths: list[Path]) -> str:
    """SHA-256 over every file under ``paths`` (files or folders), names included, except bytecode
    caches: any Python that imports the package rewrites those, and the re-check never reads them
    (it keeps its bytecode in a folder of its own)."""
    h = hashlib.sha256()
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for f in files:
            h.update(str(f).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _sqlite_path(db_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]) if db_url.startswith(prefix) else None


def _error_output(message: str) -> NotebookNode:
    return NotebookNode(error_output(message))


def _nbgrader_meta(cell: NotebookNode) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _is_grade_code(cell: NotebookNode) -> bool:
    nbg = _nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(nbg.get("grade")) and not nbg.get("solution")


def _is_answer(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and (bool(_nbgrader_meta(cell).get("solution")) or
                                        bool(cell.get("metadata", {}).get(ANSWER_COPY_MARK)))


def _who(resources: dict[str, Any]) -> str:
    nbg = resources.get("nbgrader", {})
    return f"{nbg.get('student', '?')}/{nbg.get('assignment', '?')}/{nbg.get('notebook', '?')}"


# -- 1. the submission mapped onto the released notebook --------------------------------------
class NormalizeSubmission(NbGraderPreprocessor):
    """Before nbgrader's own sanitising: a submission whose cells were pasted, duplicated, retyped or
    deleted is graded from the released cells, never crashes grading, and is told what was ignored.

    nbgrader alone empties the metadata of a duplicated cell (``DeduplicateIds``), and then
    ``OverwriteCells`` with ``add_missing_cells`` crashes on the copy's missing ``grade_id``: the
    whole notebook scores 0 with "There was an error processing assignment" and no feedback."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        from nbgrader.api import Gradebook, MissingEntry

        nbg = resources["nbgrader"]
        try:
            with Gradebook(nbg["db_url"]) as gb:
                source = gb.find_notebook(nbg["notebook"], nbg["assignment"])
                released = [(c.name, c.cell_type, c.source, c.checksum) for c in source.source_cells]
                points = {c.name: c.max_score for c in source.grade_cells}
                answers = {c.name for c in source.solution_cells}
        except MissingEntry:
            return nb, resources
        known = {name: kind for name, kind, _, _ in released}
        notes: list[str] = []
        seen: set[str] = set()
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            answer_like = isinstance(meta, dict) and bool(meta.get("solution")) and cell.cell_type == "code"
            problem = None
            if not isinstance(meta, dict) or not isinstance(gid, str) or not gid:
                if isinstance(meta, dict) and not (meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
                    continue  # a plain cell with empty nbgrader metadata: nothing to grade
                problem = "its grading information is incomplete"
            elif gid not in known:
                problem = f"`{gid}` is not a cell of the released notebook"
            elif gid in seen:
                problem = f"it is a copy of `{gid}` (the first one is graded)"
            elif known[gid] != cell.cell_type:
                problem = f"it was changed from a {known[gid]} cell to a {cell.cell_type} cell"
            if problem is None and gid is not None:
                seen.add(gid)
                continue
            del cell.metadata["nbgrader"]
            cell.metadata.pop("deletable", None)
            cell.metadata.pop("editable", None)
            if answer_like:
                cell.metadata[ANSWER_COPY_MARK] = True  # still an answer source, read after the first
            notes.append(f"cell {index + 1}: ignored for grading because {problem}; it still ran as ordinary code")
        # nbgrader's feedback refuses hidden-test markers outside test cells: drop those lines (comments)
        from nbgrader.preprocessors import ClearHiddenTests

        delimiters = ClearHiddenTests(parent=self)
        markers = (delimiters.begin_test_delimeter, delimiters.end_test_delimeter)
        for index, cell in enumerate(nb.cells):
            if _nbgrader_meta(cell).get("grade") and not _nbgrader_meta(cell).get("solution"):
                continue
            lines = cell.source.splitlines(keepends=True)
            kept = [line for line in lines if not any(m in line for m in markers)]
            if len(kept) != len(lines):
                cell.source = "".join(kept)
                notes.append(f"cell {index + 1}: lines with nbgrader's markers for hidden tests were removed (only test cells may hold them)")
        # released test and answer cells that are missing: put back after the previous released cell present
        present = {_nbgrader_meta(c).get("grade_id") for c in nb.cells}
        for position, (name, kind, text, checksum) in enumerate(released):
            if name in present or (name not in points and name not in answers):
                continue
            meta = {"grade": name in points, "grade_id": name, "locked": name not in answers, "solution": name in answers,
                    "schema_version": 3, "checksum": checksum, "cell_type": kind}
            if name in points:
                meta["points"] = points[name]
            new = NotebookNode(cell_type=kind, source=text, id=f"restored-{name}"[:64],
                               metadata=NotebookNode(nbgrader=NotebookNode(meta)))
            if kind == "code":
                new.outputs, new.execution_count = [], None
            earlier = {n for n, _, _, _ in released[:position]}
            after = max((i for i, c in enumerate(nb.cells) if _nbgrader_meta(c).get("grade_id") in earlier), default=-1)
            nb.cells.insert(after + 1, new)
            present.add(name)
            notes.append(f"the {'answer' if name in answers else 'test'} cell `{name}` was missing and was put back" +
                         (" (with the empty answer)" if name in answers else ""))
        if notes:
            text = "**Notes from grading**\n\n" + "\n".join(f"- {n}" for n in notes)
            note = NotebookNode(cell_type="markdown", source=text, metadata=NotebookNode({NOTE_MARK: True}), id="netlab-grading-note")
            nb.cells.insert(0, note)
            self.log.warning("%s: %s", _who(resources), "; ".join(notes))
        return nb, resources


# -- 2-4. run sandboxed, re-check outside, replace the test cells' outputs ---------------------
class _Recheck:
    """The trusted re-check process: started before the kernel with the cells and the answer
    cells' text (it grades with them while the kernel runs), finished with the ledger."""

    def __init__(self, payload: dict[str, Any], pycache: str) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process; closed when it is finished
        env = {k: v for k, v in os.environ.items() if k != LEDGER_ENV}
        env.setdefault("NETLAB_BACKEND", "sim")
        self.proc = subprocess.Popen(bootstrap_argv("recheck", pycache=pycache), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env, cwd=tempfile.gettempdir(), start_new_session=True)
        # Written by a thread: a payload larger than the pipe's buffer would otherwise hold the
        # kernel's start until the re-check has imported the grader and begun to read.
        self.sender = threading.Thread(target=self._send, args=((json.dumps(payload) + "\n").encode(),), daemon=True)
        self.sender.start()

    def _send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the process died; finish() reports it

    def finish(self, ledger: str, timeout: float) -> dict[str, Any]:
        """Send the ledger's path and read the results: one line, taken as soon as it is written
        (the process's own exit, a tenth of a second with numpy loaded, is not waited for)."""
        self.sender.join(timeout)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        reply: list[bytes] = []
        try:
            self.proc.stdin.write((json.dumps({"ledger": ledger}) + "\n").encode())
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass  # it died; the empty reply below says so
        reader = threading.Thread(target=lambda: reply.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            self.proc.kill()
            raise subprocess.TimeoutExpired(self.proc.args, timeout)
        if not reply or not reply[0].strip():
            code = self.proc.wait()
            raise RuntimeError(f"exit {code}: {self.stderr_tail()}")
        results = json.loads(reply[0].decode("utf-8"))
        if not isinstance(results, dict):
            raise RuntimeError(f"unexpected reply {str(results)[:200]}")
        return results

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-3000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.sender.join()
        self.stderr.close()


class VerifiedExecute(Execute):
    """nbgrader's Execute in a sandbox; every test cell's outputs come from the trusted re-check."""

    sandbox = Enum(["bwrap", "none"], "bwrap", help=(
        "How student code is isolated while it is graded: 'bwrap' (bubblewrap; grading refuses to start "
        "without it) or 'none' (no isolation: only for submissions you trust, or when nbgrader itself runs "
        "as a throw-away user in a container).")).tag(config=True)
    reveal_hidden = Bool(False, help=(
        "Show every picture of the hidden tests in graded notebooks and feedback (after the deadline). "
        "Off: a failing hidden test shows its points and the wrong flows with their reasons only.")).tag(config=True)
    recheck_timeout = Integer(900, help="Seconds allowed for re-checking all test cells of one notebook outside the kernel.").tag(config=True)
    kernel_start_retries = Integer(2, help="Times to start the kernel again when it dies before the first cell runs.").tag(config=True)
    max_output_chars = Integer(200_000, help=(
        "Text kept of one cell's outputs in the graded notebook (learner code can print without end; "
        "pictures over this size are dropped).")).tag(config=True)

    kernel_name: str  # nbclient's trait, declared for mypy (nbgrader's Execute is untyped); no value: the trait stays
    _pycache: str | None = None
    """The re-check's bytecode folder: one per grading process, outside any sandbox."""

    # -- kernel ----------------------------------------------------------------------------------
    def create_kernel_manager(self) -> Any:
        box = getattr(self, "_sandbox_for_run", None)
        if box is None:
            return super().create_kernel_manager()
        from .sandbox import SandboxedKernelManager

        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        self.km = SandboxedKernelManager(sandbox=box, kernel_name=self.kernel_name, config=self.config)
        return self.km

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> tuple[NotebookNode, Any]:
        self._cells_started = index + 1
        return super().preprocess_cell(cell, resources, index)

    def _run_kernel(self, nb: NotebookNode, resources: Any, km: Any) -> str:
        """nbgrader's Execute; a kernel that dies before any cell ran is started again (nothing of the
        submission has run). Returns a note when the kernel stopped part-way ("" otherwise)."""
        attempt = 0
        while True:
            self._cells_started = 0
            try:
                super().preprocess(nb, resources, km=km)
                return ""
            except Exception as exc:  # any way the kernel can fail (logged below)
                if self._cells_started:
                    self.log.warning("The kernel for %s stopped at cell %d (%s: %s); the test cells are still graded from the answers",
                                     _who(resources), self._cells_started, type(exc).__name__, str(exc)[:200])
                    return (f"The notebook's kernel stopped while running cell {self._cells_started} ({type(exc).__name__}); "
                            "the cells after it did not run. Every test cell was still graded, from the answer cells' text.")
                if km is not None or attempt >= self.kernel_start_retries:
                    raise
                attempt += 1
                self.log.warning("The kernel for %s did not start (%s: %s); starting it again (%d of %d)",
                                 _who(resources), type(exc).__name__, exc, attempt, self.kernel_start_retries)
                time.sleep(0.5 * attempt)

    def _visible(self, cell: NotebookNode) -> str:
        """The test cell as learners see it: nbgrader's own ClearHiddenTests, as this course configures it."""
        import copy

        from nbgrader.preprocessors import ClearHiddenTests

        shown = copy.deepcopy(cell)
        ClearHiddenTests(config=self.config)._remove_hidden_test_region(shown)
        return str(shown.source)

    def _watched(self) -> list[Path]:
        from nbgrader.coursedir import CourseDirectory

        from .sandbox import grader_package_dir

        paths = [grader_package_dir()]
        config = Path(CourseDirectory(config=self.config).root) / "nbgrader_config.py"
        if config.is_file():
            paths.append(config)
        return paths

    # -- the whole run ---------------------------------------------------------------------------
    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> tuple[NotebookNode, Any]:
        resources = resources if resources is not None else {}
        try:
            return self._grade(nb, resources, km)
        except GradingStopped as stop:
            self.log.critical("%s", stop.message)
            # nothing of this submission was graded: remove its folder so that the next plain
            # `nbgrader autograde` (without --force) grades it instead of skipping it
            workdir = resources.get("metadata", {}).get("path")
            if workdir and os.path.isdir(workdir):
                shutil.rmtree(workdir, ignore_errors=True)
            raise

    def _grade(self, nb: NotebookNode, resources: Any, km: Any) -> tuple[NotebookNode, Any]:
        who = _who(resources)
        if self.sandbox == "bwrap":
            from .sandbox import SandboxUnavailable, probe

            try:
                probe()
            except SandboxUnavailable as exc:
                raise GradingStopped(str(exc)) from None
        if VerifiedExecute._pycache is None:
            import atexit

            VerifiedExecute._pycache = tempfile.mkdtemp(prefix="netlab-recheck-pycache-")
            atexit.register(shutil.rmtree, VerifiedExecute._pycache, True)
        private = tempfile.mkdtemp(prefix="netlab-grading-")
        os.chmod(private, 0o755)
        ledger = os.path.join(private, "ledger.jsonl")
        Path(ledger).touch()
        watched = self._watched()
        before = fingerprint(watched)
        db_path = _sqlite_path(str(resources.get("nbgrader", {}).get("db_url", "")))
        db_before = db_path.read_bytes() if db_path is not None and db_path.is_file() else None
        grade_cells = [c for c in nb.cells if _is_grade_code(c)]
        payload = {"cells": [{"grade_id": _nbgrader_meta(c)["grade_id"], "source": c.source, "visible_source": self._visible(c)}
                             for c in grade_cells],
                   "answer_sources": [c.source for c in nb.cells if _is_answer(c)], "reveal": bool(self.reveal_hidden)}
        recheck = _Recheck(payload, VerifiedExecute._pycache)
        started = time.perf_counter()
        try:
            stopped = self._run_sandboxed(nb, resources, km, private, ledger)
            ran = time.perf_counter()
            tampering = []
            if fingerprint(watched) != before:
                tampering.append("the grader package or nbgrader_config.py changed on disk")
            if db_before is not None and db_path is not None and db_path.read_bytes() != db_before:
                db_path.write_bytes(db_before)
                tampering.append("the gradebook database was modified (restored)")
            if tampering and self.sandbox == "bwrap":
                raise GradingStopped(
                    f"{' and '.join(tampering)} while {who} was being graded. That notebook ran in the sandbox, which "
                    "cannot reach these files, so something else on this machine changed them (another nbgrader, "
                    "the formgrader, an editor). No grade was recorded for it; fix the cause and run autograde again.")
            if tampering:
                self.log.error("Tampering detected in %s: %s", who, "; ".join(tampering))
                for cell in grade_cells:
                    cell.outputs = [_error_output(f"{RECHECK_TITLE}: not graded, because {'; and '.join(tampering)} "
                                                  f"while this notebook ({who}) ran without a sandbox")]
                return nb, resources
            try:
                results = recheck.finish(ledger, self.recheck_timeout)
            except subprocess.TimeoutExpired:
                results = {}
                self.log.error("The re-check of %s took longer than %d s; its test cells score 0", who, self.recheck_timeout)
            except (RuntimeError, ValueError) as exc:
                raise GradingStopped(f"the trusted re-check could not run while grading {who}; the grading environment "
                                     f"is broken, not the submission, so no grade was recorded for it. {exc}") from None
            self._apply(nb, grade_cells, results, stopped)
            done = time.perf_counter()
            self.log.info("%s: kernel %.2f s, then the re-check %.2f s more (%d test cells)", who, ran - started, done - ran, len(grade_cells))
        finally:
            recheck.close()
            shutil.rmtree(private, ignore_errors=True)
        return nb, resources

    def _run_sandboxed(self, nb: NotebookNode, resources: Any, km: Any, private: str, ledger: str) -> str:
        env_keys = (LEDGER_ENV, "NETLAB_BACKEND")
        saved = {k: os.environ.get(k) for k in env_keys}
        self._sandbox_for_run = None
        if self.sandbox == "bwrap":
            from .sandbox import Sandbox

            workdir = resources.get("metadata", {}).get("path") or os.getcwd()
            self._sandbox_for_run = Sandbox.for_submission(workdir, private, {LEDGER_ENV: ledger})
        else:
            os.environ[LEDGER_ENV] = ledger
            os.environ["NETLAB_BACKEND"] = "sim"
        try:
            return self._run_kernel(nb, resources, km)
        finally:
            self._sandbox_for_run = None
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _apply(self, nb: NotebookNode, grade_cells: list[NotebookNode], results: dict[str, Any], stopped: str) -> None:
        """Every test cell gets the re-check's outputs and nothing else; other cells are capped."""
        for cell in nb.cells:
            if cell.cell_type == "code" and not _is_grade_code(cell):
                self._cap_outputs(cell)
        for cell in grade_cells:
            verdict = results.get(_nbgrader_meta(cell)["grade_id"])
            if not isinstance(verdict, dict) or not isinstance(verdict.get("outputs"), list):
                cell.outputs = [_error_output(f"{RECHECK_TITLE}: this test could not be graded in time; tell your instructor")]
                continue
            cell.outputs = [NotebookNode(o) for o in verdict["outputs"]]
            if stopped and not cell.get("execution_count"):
                cell.outputs.insert(0, NotebookNode(output_type="stream", name="stdout", text=stopped + "\n"))

    def _cap_outputs(self, cell: NotebookNode) -> None:
        kept, used = [], 0
        for output in cell.get("outputs", []):
            size = len(json.dumps(output, default=str))
            if used + size <= self.max_output_chars:
                kept.append(output)
                used += size
                continue
            if output.get("output_type") == "stream":
                room = max(0, self.max_output_chars - used)
                text = "".join(output.get("text", ""))
                output.text = cap(text, room) if room > 200 else "… (output cut)\n"
                kept.append(output)
            else:
                kept.append(NotebookNode(output_type="stream", name="stdout", text="… (an output over the size limit was dropped)\n"))
            used = self.max_output_chars
        cell.outputs = kept
