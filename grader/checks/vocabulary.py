"""The words a check spec and its evaluation share: the spec version, the answer formats, and the
three errors (the test cell is wrong; the answer cannot be graded; one thing an expectation needs is
missing). Every module of ``grader.checks`` imports them from here, so that the Check builder
(``spec``) and the engine that evaluates it do not import each other."""

from __future__ import annotations

SPEC_VERSION = 1
FORMATS = ("manifests", "values", "nsg")
"""``manifests``: Kubernetes objects, applied with ``lab.apply``; ``values``: YAML ``key: value``
lines (IPs, numbers, verdicts, a kind cluster config); ``nsg``: Azure NSG rules (YAML mirroring
``securityRules``), attached to the lab's node subnet."""


class SpecError(ValueError):
    """The test cell itself is wrong (an instructor's mistake, never the learner's)."""


class AnswerError(Exception):
    """The learner's answer cannot be graded (bad YAML, invalid manifest, wrong shape). Raised by the
    engine and setup actions; the message is the learner's, and nothing else of the cell is graded."""


class NotFound(AnswerError):
    """Something one expectation needs is missing (a Service without an external address, an Ingress
    that does not exist): that expectation fails with this message, the others are still checked."""
