"""The endpoint grammar (grader.reachability.endpoints): one parser for probe sources and
destinations, typed results, errors naming the field, ``str()`` round trips, and no other module
of ``grader/`` taking endpoint names apart by hand."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.errors import LabError
from grader.model import PodRef
from grader.reachability.endpoints import (
    Address, DnsName, ExternalName, NamespaceName, NodeName, NodePort, PodName, label_target, parse_endpoint, pod_namespace, try_parse,
)

GRADER = Path(__file__).resolve().parents[2] / "grader"


@pytest.mark.parametrize(("text", "parsed"), [
    ("shop/web", PodName("shop", "web")),
    ("node:kind-worker", NodeName("kind-worker")),
    ("node:kind-worker:30080", NodePort("kind-worker", 30080)),
    ("host", ExternalName("host")),
    ("10.96.0.10", Address(ipaddress.ip_address("10.96.0.10"))),
    ("fd00::1", Address(ipaddress.ip_address("fd00::1"))),
    ("web", DnsName("web")),
    ("web.shop.svc.cluster.local", DnsName("web.shop.svc.cluster.local")),
    ("api.example.com", DnsName("api.example.com")),
])
def test_each_kind_of_name_parses_to_its_type(text: str, parsed: object) -> None:
    assert parse_endpoint(text) == parsed
    assert str(parsed) == text


def test_names_of_the_labs_outside_machines_are_external_names() -> None:
    assert parse_endpoint("api.example.com", external={"api.example.com"}) == ExternalName("api.example.com")
    assert parse_endpoint("vm.internal", external=("vm.internal",)) == ExternalName("vm.internal")
    assert parse_endpoint("host").is_host and not parse_endpoint("vm.internal", external={"vm.internal"}).is_host  # type: ignore[union-attr]


def test_typed_parts() -> None:
    assert PodName("shop", "web").ref == PodRef("shop", "web")
    assert NodePort("kind-worker", 30080).on == NodeName("kind-worker")
    assert DnsName("web.shop.").labels == ("web", "shop")
    assert pod_namespace("shop/web") == "shop" and pod_namespace("node:kind-worker") is None and pod_namespace("a b") is None


@pytest.mark.parametrize(("text", "message"), [
    ("", r"source: '' is not an endpoint name"),
    ("shop/ web", r"source: 'shop/ web' is not an endpoint name \(empty or contains whitespace\)"),
    ("node:", r"source: 'node:' names no node"),
    ("node:kind-worker:http", r"source: 'node:kind-worker:http': the nodePort must be a number from 1 to 65535, not 'http'"),
    ("node:kind-worker:70000", r"the nodePort must be a number from 1 to 65535, not '70000'"),
    ("node:kind-worker:0", r"not '0'"),
    ("a/b/c", r"source: 'a/b/c' is not a pod: expected 'namespace/pod'"),
    ("/web", r"is not a pod"),
    ("shop/", r"is not a pod"),
    ("web:80", r"source: 'web:80' is not an endpoint name: a node port is 'node:<name>:<nodePort>'"),
])
def test_bad_names_are_errors_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(LabError, match=message):
        parse_endpoint(text, field="source")
    assert try_parse(text) is None


def test_a_non_text_endpoint_is_an_error() -> None:
    with pytest.raises(LabError, match="destination: expected an endpoint name \\(text\\), got int"):
        parse_endpoint(80, field="destination")  # type: ignore[arg-type]


_label = st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@given(st.one_of(
    st.builds(PodName, _label, _label),
    st.builds(NodeName, _label),
    st.builds(NodePort, _label, st.integers(1, 65535)),
    st.builds(DnsName, st.lists(_label, min_size=1, max_size=5).map(".".join).filter(lambda n: n != "host")),
    st.builds(Address, st.ip_addresses()),
))
def test_str_round_trips(endpoint: object) -> None:
    assert parse_endpoint(str(endpoint)) == endpoint


def test_label_targets() -> None:
    assert label_target("namespace/shop") == NamespaceName("shop") and str(NamespaceName("shop")) == "namespace/shop"
    assert label_target("shop/web") == PodName("shop", "web")
    for bad in ("namespace/", "namespace/a/b", "node:kind-worker", "web"):
        with pytest.raises(LabError, match="target: "):
            label_target(bad)


# -- nobody else parses endpoint names -------------------------------------------------------------
_NAMES = r"(?:source|destination|dest|target|name|endpoint|src|dst|to)"
HAND_PARSING = {
    "startswith a node prefix": re.compile(r"""(?:startswith|removeprefix)\(\(?\s*f?["']node:"""),
    "slicing off 'node:'": re.compile(r"\[5:\]"),
    "a regex over node names": re.compile(r"""node:\((?:\[|\\)"""),
    "'/' tested in an endpoint name": re.compile(r"""["']/["'] (?:not )?in """ + _NAMES + r"\b"),
    "an endpoint name split at '/'": re.compile(r"\b" + _NAMES + r"""\.(?:split|partition|rpartition)\(["']/["']"""),
    "an endpoint name split at ':'": re.compile(r"\b" + _NAMES + r"""(?:\[\d*:\])?\.(?:split|partition)\(["']:["']"""),
}


ALLOWED = {
    "reachability/endpoints.py": "the grammar",
    "model/cluster.py": "PodRef.parse, the pod reference the grammar's PodName is read with",
    "lab/refs.py": "object references (service/<ns>/<name>), which are not endpoint names",
}


def _hand_parsing(text: str) -> list[tuple[int, str, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        for what, pattern in HAND_PARSING.items():
            if pattern.search(code):
                found.append((number, what, line.strip()))
    return found


def test_the_checker_finds_the_idioms_it_forbids() -> None:
    sample = '''
if destination.startswith("node:"):
    node = destination[5:]
m = re.fullmatch(r"node:([^:]+):(\\d+)", destination)
if "/" in name and not x:
    ns = source.split("/", 1)[0]
node_name, _, port_text = destination[5:].partition(":")
ok = "/" in port  # a port spec, not an endpoint
'''
    kinds = [what for _, what, _ in _hand_parsing(sample)]
    assert kinds == ["startswith a node prefix", "slicing off 'node:'", "a regex over node names", "'/' tested in an endpoint name",
                     "an endpoint name split at '/'", "slicing off 'node:'", "an endpoint name split at ':'"]


def test_no_module_but_the_grammar_parses_endpoint_names() -> None:
    offenders = []
    for path in sorted(GRADER.rglob("*.py")):
        if path.relative_to(GRADER).as_posix() in ALLOWED:
            continue
        for number, what, line in _hand_parsing(path.read_text()):
            offenders.append(f"{path.relative_to(GRADER.parent)}:{number}: {what}: {line}")
    assert not offenders, "endpoint names are parsed by grader.reachability.endpoints only:\n" + "\n".join(offenders)
