"""nbgrader's *Validate* (the toolbar button, here its Validator API) no longer says "Success!" for
a notebook with the typical mistakes of exercise 02: a numeric targetPort that misses the new
version's pods, and a LoadBalancer that hides the client address. Both once passed every visible
test and lost 3 of 7 points at grading. ``test_visible_tests.py`` checks every typical mistake of
the bank in-process; this runs the real Validator and kernel once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from support.kernels import KERNEL_STARTS, died_at_start
from support.nbcourse import nbgrader_env
from support.nbtools import EXERCISES, SOLUTIONS, answers_of, read, with_answers
from support.wrong_answers import BANK

pytestmark = pytest.mark.slow

NB = "02-services"
MISTAKES = {"wrong targetPort: the old version's number", "externalTrafficPolicy Cluster: the node's address"}


def _validate(path: Path) -> dict[str, object]:
    code = ("import json, sys\n"
            "from traitlets.config import Config\n"
            "from nbgrader.validator import Validator\n"
            "print(json.dumps(Validator(config=Config()).validate(sys.argv[1])))\n")
    for attempt in range(1, KERNEL_STARTS + 1):  # the Validator does not start a dead kernel again
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=600,
                              env=nbgrader_env(), cwd=path.parent, check=False)
        if proc.returncode == 0 or attempt == KERNEL_STARTS or not died_at_start(proc.stderr):
            break
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_validate_fails_the_typical_mistakes_of_exercise_02(tmp_path: Path) -> None:
    wrong = {w.answer: w.yaml for w in BANK if w.notebook == NB and w.label in MISTAKES}
    assert len(wrong) == 2
    answers = {**answers_of(read(SOLUTIONS / NB / f"{NB}.ipynb")), **wrong}
    path = tmp_path / f"{NB}.ipynb"
    nbformat.write(with_answers(read(EXERCISES / NB / f"{NB}.ipynb"), answers), path)
    result = _validate(path)
    failed = {re.search(r'Check\("([^"]+)"', c["source"]).group(1): c["raw_error"] for c in result.get("failed", [])}  # type: ignore[union-attr]
    assert set(failed) == {"svc_api_backends", "lb_client_ip"}, failed
    assert "shop/api-v2-a never answered" in failed["svc_api_backends"]
    assert "the server should see client 203.0.113.10" in failed["lb_client_ip"]
