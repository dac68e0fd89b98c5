"""`import grader` stays light: jsonschema's optional rfc3987_syntax (a 2.5 s grammar build) is not
imported, and schema validation still works without it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stderr == ""
    return done.stdout.strip()


@pytest.mark.skipif(importlib.util.find_spec("rfc3987_syntax") is None, reason="rfc3987_syntax is not installed here: nothing to avoid")
@pytest.mark.slow  # a fresh interpreter imports the whole package
def test_import_grader_does_not_build_the_rfc3987_grammar():
    assert run("import sys, grader; print('rfc3987_syntax' in sys.modules)") == "False"
    # The module is hidden only while grader imports jsonschema: a later import works as usual.
    assert run("import grader, rfc3987_syntax; print(rfc3987_syntax.__name__)") == "rfc3987_syntax"


@pytest.mark.slow  # a fresh interpreter imports the whole package
def test_schema_validation_still_reports_field_paths():
    out = run(
        "import grader\n"
        "try:\n"
        "    grader.parse_manifests({'apiVersion': 'networking.k8s.io/v1', 'kind': 'NetworkPolicy',\n"
        "        'metadata': {'name': 'x', 'namespace': 'd'}, 'spec': {'podSelector': {}, 'ingresss': []}})\n"
        "except grader.ManifestError as e:\n"
        "    print(e)\n"
    )
    assert "networkpolicy/x spec: unknown field 'ingresss'" in out
