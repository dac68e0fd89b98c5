"""API-server rejections become FieldProblems with the server's field paths."""

from __future__ import annotations

import json

from grader.kind.apierrors import api_error_problems

INVALID_NETPOL = {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": 'NetworkPolicy.networking.k8s.io "allow-web" is invalid: [spec.ingress[0].from[1]: Forbidden: may not specify more than 1 peer type, '
               'spec.ingress[0].ports[0].endPort: Invalid value: 79: must be greater than or equal to `port`]',
    "reason": "Invalid",
    "details": {"name": "allow-web", "group": "networking.k8s.io", "kind": "NetworkPolicy", "causes": [
        {"reason": "FieldValueForbidden", "message": "Forbidden: may not specify more than 1 peer type", "field": "spec.ingress[0].from[1]"},
        {"reason": "FieldValueInvalid", "message": "Invalid value: 79: must be greater than or equal to `port`", "field": "spec.ingress[0].ports[0].endPort"},
    ]},
    "code": 422,
}


def test_422_causes_keep_their_field_paths() -> None:
    problems = api_error_problems(422, json.dumps(INVALID_NETPOL), "networkpolicy/allow-web")
    assert [str(p) for p in problems] == [
        "networkpolicy/allow-web spec.ingress[0].from[1]: Forbidden: may not specify more than 1 peer type",
        "networkpolicy/allow-web spec.ingress[0].ports[0].endPort: Invalid value: 79: must be greater than or equal to `port`",
    ]


def test_server_side_apply_unknown_field() -> None:
    body = {"kind": "Status", "status": "Failure", "reason": "BadRequest", "code": 400,
            "message": 'failed to create typed patch object (/v1, Kind=Service) shop/web: .spec.portz: field not declared in schema'}
    (problem,) = api_error_problems(400, body, "service/web")
    assert (problem.path, problem.message) == ("spec.portz", "unknown field (not in the schema)")


def test_missing_namespace_forbidden_conflict_and_plain_text() -> None:
    nf = {"kind": "Status", "reason": "NotFound", "code": 404, "message": 'namespaces "shopp" not found'}
    assert str(api_error_problems(404, nf, "pod/web")[0]) == 'pod/web metadata.namespace: namespace "shopp" not found: create the namespace first'
    crd = {"reason": "NotFound", "message": "the server could not find the requested resource"}
    assert api_error_problems(404, crd, "ciliumnetworkpolicy/x")[0].path == "apiVersion"
    denied = {"reason": "Forbidden", "code": 403, "message": 'admission webhook "validate.kyverno.svc" denied the request: label team is required'}
    assert "forbidden: admission webhook" in api_error_problems(403, denied, "pod/x")[0].message
    assert "conflict" in api_error_problems(409, {"reason": "Conflict", "message": ""}, "pod/x")[0].message
    (plain,) = api_error_problems(500, b"upstream connect error", "pod/x")
    assert plain.message == "upstream connect error (500)" and plain.path == ""
