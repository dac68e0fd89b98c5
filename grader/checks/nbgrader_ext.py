"""nbgrader side (trusted): execute a submission, then re-check every test cell outside its kernel.

``nbgrader_config.py`` puts :class:`VerifiedExecute` in place of nbgrader's ``Execute`` in
``Autograde.autograde_preprocessors``. Around the kernel run it

* gives the kernel a fresh ledger (``NETLAB_LEDGER``) and the simulated backend unless
  ``NETLAB_BACKEND`` is set;
* fingerprints the ``grader`` package and ``nbgrader_config.py``, and copies a SQLite gradebook,
  so a kernel that rewrites the grader, the config or the gradebook is caught (the gradebook copy
  is put back); all grade cells of that notebook then score 0;
* re-checks every test cell in a fresh process (:mod:`grader.checks.trusted`) and appends an error
  output to any test cell whose kernel run looked fine but whose re-check failed, which makes
  nbgrader score it 0;
* starts the kernel again when it dies before running anything (``kernel_start_retries``). The
  usual cause is jupyter_client's port race (jupyter/jupyter_client#487: a port picked for a new
  kernel is taken by another process before the kernel binds it), which graders running several
  ``nbgrader autograde`` at once hit. Without the retry nbgrader drops that submission.

``nbgrader validate`` (the learner's Validate button) does not use this: it only runs the kernel,
which is fine for feedback and never decides a grade.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

from .client import bootstrap_argv
from .trusted import LEDGER_ENV

RECHECK_TITLE = "Checked again outside the notebook's kernel"


def fingerprint(paths: list[Path]) -> str:
    """SHA-256 over every .py/.yaml/.json file under ``paths`` (files or folders), names included."""
    h = hashlib.sha256()
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.suffix in (".py", ".yaml", ".yml", ".json") and "__pycache__" not in p.parts)
        for f in files:
            if f.is_file():
                h.update(str(f).encode())
                h.update(f.read_bytes())
    return h.hexdigest()


def _sqlite_path(db_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]) if db_url.startswith(prefix) else None


def _error_output(message: str) -> NotebookNode:
    lines = message.splitlines() or [message]
    return NotebookNode(output_type="error", ename="CheckFailed", evalue=lines[0],
                        traceback=[f"\x1b[0;31mCheckFailed\x1b[0m: {lines[0]}", *lines[1:]])


def _is_grade_code(cell: NotebookNode) -> bool:
    nbg = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(nbg.get("grade")) and not nbg.get("solution")


class VerifiedExecute(Execute):
    """nbgrader's Execute, plus the trusted re-check and tamper detection."""

    recheck_timeout = Integer(900, help="Seconds allowed for re-checking all test cells of one notebook outside the kernel.").tag(config=True)
    kernel_start_retries = Integer(2, help="Times to start the kernel again when it dies before the first cell runs.").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> tuple[NotebookNode, Any]:
        self._cells_started = True
        return super().preprocess_cell(cell, resources, index)

    def _execute_with_kernel_retries(self, nb: NotebookNode, resources: Any, km: Any) -> tuple[NotebookNode, Any]:
        """nbgrader's Execute; a kernel that dies before any cell ran is started again (nothing of
        the submission has run, so running it from the top is the same run)."""
        attempt = 0
        while True:
            self._cells_started = False
            try:
                return super().preprocess(nb, resources, km=km)
            except Exception as exc:
                if self._cells_started or km is not None or attempt >= self.kernel_start_retries:
                    raise
                attempt += 1
                self.log.warning("The kernel for %s did not start (%s: %s); starting it again (%d of %d)",
                                 resources.get("nbgrader", {}).get("notebook", "?"), type(exc).__name__, exc,
                                 attempt, self.kernel_start_retries)
                time.sleep(0.5 * attempt)

    def _watched(self, resources: dict[str, Any]) -> list[Path]:
        import grader

        from nbgrader.coursedir import CourseDirectory

        paths = [Path(grader.__file__).resolve().parent]
        config = Path(CourseDirectory(config=self.config).root) / "nbgrader_config.py"
        if config.is_file():
            paths.append(config)
        return paths

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> tuple[NotebookNode, Any]:
        resources = resources if resources is not None else {}
        workdir = tempfile.mkdtemp(prefix="netlab-grading-")
        ledger = os.path.join(workdir, "ledger.jsonl")
        watched = self._watched(resources)
        before = fingerprint(watched)
        db_path = _sqlite_path(str(resources.get("nbgrader", {}).get("db_url", "")))
        db_copy = os.path.join(workdir, "gradebook.copy")
        if db_path is not None and db_path.is_file():
            shutil.copy2(db_path, db_copy)
        saved = {k: os.environ.get(k) for k in (LEDGER_ENV, "NETLAB_BACKEND")}
        os.environ[LEDGER_ENV] = ledger
        os.environ.setdefault("NETLAB_BACKEND", "sim")
        try:
            nb, resources = self._execute_with_kernel_retries(nb, resources, km)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        try:
            tampering = []
            if fingerprint(watched) != before:
                tampering.append("the grader package or nbgrader_config.py changed on disk while this notebook ran")
            if db_path is not None and os.path.exists(db_copy) and Path(db_copy).read_bytes() != db_path.read_bytes():
                shutil.copy2(db_copy, db_path)
                tampering.append("the gradebook database was modified while this notebook ran (restored)")
            if tampering:
                self.log.error("Tampering detected in %s: %s", resources.get("nbgrader", {}).get("notebook", "?"), "; ".join(tampering))
                for cell in nb.cells:
                    if _is_grade_code(cell):
                        cell.outputs.append(_error_output(f"{RECHECK_TITLE}: not graded, because {'; and '.join(tampering)}"))
                return nb, resources
            self._apply_recheck(nb, ledger)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return nb, resources

    def _apply_recheck(self, nb: NotebookNode, ledger: str) -> None:
        cells = [c for c in nb.cells if _is_grade_code(c)]
        if not cells:
            return
        answer_sources = [c.source for c in nb.cells if c.cell_type == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")]
        payload = {"cells": [{"grade_id": c.metadata.nbgrader["grade_id"], "source": c.source} for c in cells],
                   "ledger": ledger, "answer_sources": answer_sources}
        env = dict(os.environ)
        env.setdefault("NETLAB_BACKEND", "sim")
        try:
            proc = subprocess.run(bootstrap_argv("recheck"), input=json.dumps(payload), capture_output=True, text=True,
                                  timeout=self.recheck_timeout, env=env, cwd=tempfile.gettempdir(), check=False)
            results = json.loads(proc.stdout) if proc.returncode == 0 else None
        except (subprocess.TimeoutExpired, ValueError) as exc:
            results, proc = None, None
            self.log.error("Re-check outside the kernel failed: %s", exc)
        if results is None:
            detail = proc.stderr[-2000:] if proc is not None else ""
            self.log.error("Re-check outside the kernel failed; every test cell scores 0 for this notebook.\n%s", detail)
            for c in cells:
                c.outputs.append(_error_output(f"{RECHECK_TITLE}: the re-check could not run, so this test cannot be trusted; tell your instructor"))
            return
        for c in cells:
            verdict = results.get(c.metadata.nbgrader["grade_id"])
            if verdict is None or verdict["passed"]:
                continue
            if any(o.get("output_type") == "error" for o in c.outputs):
                continue  # the kernel already failed it, with its own (identical) message
            self.log.warning("Cell %s passed in the kernel but failed the re-check", c.metadata.nbgrader["grade_id"])
            c.outputs.append(_error_output(f"{RECHECK_TITLE}:\n{verdict['message']}"))
