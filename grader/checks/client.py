"""Kernel side of a check: hand the answer texts and the expectations to a verifier process and
show what comes back. Nothing here decides a grade.

One verifier process per kernel (``python -I -m grader.verify serve``, started on first use) answers
JSON requests line by line; each request is evaluated in a fresh lab. Its stderr goes to a private
file, never to the kernel's stderr (nbgrader scores any stderr in a test cell as 0).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import IO, Any

from .outcome import CheckFailed, Outcome, display_bundles, request_digest


def bootstrap_argv(mode: str, *, pycache: str | None = None) -> list[str]:
    """Run ``grader.verify`` isolated from the caller: ``-I`` ignores PYTHON* variables, the user's
    site-packages and the working directory (where a submission could plant a ``grader/`` folder);
    the folder this ``grader`` was imported from is put back explicitly.

    ``pycache`` (the trusted re-check): also ``-S``, so no ``.pth`` file of the environment runs
    (the environment's package folders are added as plain paths), and bytecode is read and written
    only under that folder, never from a ``__pycache__`` a submission could have forged."""
    import grader

    root = os.path.dirname(os.path.dirname(os.path.abspath(grader.__file__)))
    if pycache is None:
        code = f"import sys; sys.path.insert(0, {root!r}); from grader.verify import main; main()"
        return [sys.executable, "-I", "-c", code, mode]
    import sysconfig

    packages = list(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
    code = f"import sys; sys.path[:0] = [{root!r}]; sys.path += {packages!r}; from grader.verify import main; main()"
    return [sys.executable, "-I", "-S", "-X", f"pycache_prefix={pycache}", "-c", code, mode]


class _Worker:
    def __init__(self) -> None:
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker; close() closes it
        self.proc = subprocess.Popen(
            bootstrap_argv("serve"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            text=True, encoding="utf-8", bufsize=1, cwd=tempfile.gettempdir(),
            # Its own session: ipykernel's shutdown would otherwise wait for it as a child of the
            # kernel's process group (seconds per notebook). It exits when the kernel closes its stdin.
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-2000:]

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(payload) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BaseException:
            self.close()  # interrupted (cell timeout) or broken pipe: never reuse a worker in an unknown state
            raise
        if not line:
            tail = self.stderr_tail()
            self.close()
            raise CheckFailed("the verifier process stopped unexpectedly" + (f":\n{tail}" if tail else ""))
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.log.close()


_worker: _Worker | None = None


def _get_worker() -> _Worker:
    global _worker
    if _worker is None or not _worker.alive():
        if _worker is not None:
            _worker.close()
        _worker = _Worker()
    return _worker


def shutdown() -> None:
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


def verify(spec: dict[str, Any], answers: dict[str, str]) -> Outcome:
    """Ask the verifier; the reply must carry the digest of exactly this request."""
    reply = _get_worker().request({"op": "check", "spec": spec, "answers": answers})
    if "fatal" in reply:
        raise CheckFailed(f"the verifier could not run: {reply['fatal']}")
    outcome = Outcome.from_json(reply)
    if outcome.digest != request_digest(spec, answers):
        raise CheckFailed("the verifier answered a different request than the one sent; run the cell again")
    return outcome


def show(outcome: Outcome) -> None:
    """Pictures as display outputs (HTML, PNG fallback), a one-line summary on stdout."""
    try:
        from IPython.display import display
    except ImportError:  # plain Python: text only
        pass
    else:
        for bundle in display_bundles(outcome):
            display(bundle, raw=True)
    if outcome.passed:
        print(outcome.summary())


import atexit  # noqa: E402

atexit.register(shutdown)
