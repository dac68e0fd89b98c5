"""Structural validation against the Kubernetes OpenAPI schema (via ``kubernetes-validate``).

Only built-in kinds have a schema there; CRDs (Gateway API, Cilium) are validated by their own
parsers. Every schema violation becomes a :class:`FieldProblem` with a kubectl-style path.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from functools import cache
from typing import Any

from ..errors import FieldProblem, field_path
from ..facts import fact
from .bounded_yaml import not_a_string, shown

# jsonschema imports rfc3987_syntax, when it is installed (JupyterLab's jupyter-events pulls it in),
# only to offer an optional "iri" format checker; importing it builds a Lark grammar and takes
# about 2.5 s, five times the rest of `import grader`. We never check formats, so the module is
# hidden for the duration of these two imports (only if nobody imported it before; a later
# `import rfc3987_syntax` works as usual). Every lesson and every grading process starts faster.
_HIDE = "rfc3987_syntax" not in sys.modules
if _HIDE:
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
try:
    import jsonschema
    from kubernetes_validate import utils as kv_utils
finally:
    if _HIDE:
        del sys.modules["rfc3987_syntax"]


def kubernetes_minor() -> str:
    return str(fact("kubernetes-version").value)


@cache
def _validator(kind: str, api_version: str, version: str) -> jsonschema.protocols.Validator | None:
    from referencing import Registry, Resource

    schema_version = [v for v in kv_utils.all_versions() if kv_utils.major_minor(v) <= version][-1]
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"v{schema_version}-local-strict"
    try:
        schema = kv_utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        return None
    definitions = kv_utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def has_schema(kind: str, api_version: str) -> bool:
    return _validator(kind, api_version, kubernetes_minor()) is not None


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping) and isinstance(error.schema, Mapping):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        names = ", ".join(shown(e) for e in extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        return f"unknown field {names}; expected one of: {allowed}"
    if error.validator == "type":
        expected = error.validator_value
        if isinstance(expected, list):
            expected = " or ".join(t for t in expected if t != "null")
        if expected == "string":
            return not_a_string(error.instance)  # parse_manifests names the unquoted text the learner wrote
        return f"expected {expected}, got {type(error.instance).__name__} {shown(error.instance)}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return f"unsupported value {shown(error.instance)}: expected one of {', '.join(map(repr, error.validator_value))}"
    if error.validator in ("oneOf", "anyOf"):
        return f"{shown(error.instance)} is not valid here"
    return error.message


def schema_problems(body: dict[str, Any], document: str) -> list[FieldProblem]:
    """Every way ``body`` violates its kind's schema; empty when it conforms (or has no schema)."""
    validator = _validator(str(body.get("kind")), str(body.get("apiVersion")), kubernetes_minor())
    if validator is None:
        return []
    problems = []
    for error in sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]):
        # Prefer the most specific sub-error of oneOf/anyOf (IntOrString fields).
        leaf = error
        if error.context:
            leaf = max(error.context, key=lambda e: len(e.absolute_path))
        problems.append(FieldProblem(document, field_path(list(leaf.absolute_path)), _describe(leaf)))
    return problems
