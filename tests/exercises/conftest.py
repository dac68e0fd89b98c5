"""The exercise tests share helper modules (nbtools, nbcourse, wrong_answers, tampers) that live in
this folder; with ``--import-mode=importlib`` pytest does not put a test's folder on ``sys.path``."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
