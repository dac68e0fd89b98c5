"""What nbgrader test cells call. A test cell declares a :class:`Check` (answers, lab setup,
expectations) and calls ``verify()``; the verdict is computed in a separate process and, when
nbgrader autogrades, once more outside the kernel (:mod:`grader.checks.trusted`).

Extending: new expectation kinds go in :mod:`grader.checks.expectations` or a sibling module
(``@expectation``, collected by :mod:`grader.checks.catalog`), new
lab-derived expected values in :mod:`grader.checks.queries` (``@query``). Exercises then only
write expectations.
"""

from .outcome import CheckFailed, Finding, Outcome
from .spec import Check, SpecError, lab_value

__all__ = ["Check", "CheckFailed", "Finding", "Outcome", "SpecError", "lab_value"]
