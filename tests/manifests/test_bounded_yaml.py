"""The one bounded YAML loader (grader.manifests.bounded_yaml): bounds, kubectl's scalars, messages."""

from __future__ import annotations

import math

import pytest

import grader
from grader.checks import Check
from grader.errors import ManifestError
from grader.manifests import parse_manifests
from grader.manifests.bounded_yaml import (
    LIMITS,
    YamlInputError,
    YamlLimits,
    capped_text,
    load_yaml_documents,
    load_yaml_value,
    shown,
)
from grader.manifests.yaml_scalars import resolve_plain

from support.wrong_answers_input import ALIAS_BOMB


def laughs(levels: int, width: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# -- bounds ------------------------------------------------------------------------------------
def test_an_alias_bomb_is_refused_where_it_explodes_before_anything_is_built() -> None:
    with pytest.raises(YamlInputError) as err:
        load_yaml_documents(ALIAS_BOMB)
    assert err.value.where == "line 11 column 8"  # `e:` (9**5 strings): the first node past 10,000
    assert "YAML aliases expand this to more than 10000 nodes (an alias bomb?); write the objects out" in str(err.value)


def test_expansion_below_the_limits_is_read_and_every_alias_is_its_own_copy() -> None:
    doc = load_yaml_value(laughs(3))  # 1 + 9 + 81 + 729 nodes
    assert doc is not None and len(doc.value["l2"]) == 9 and doc.value["l2"][0][0] == ["lol"] * 9
    doc.value["l2"][0][0][0] = "changed"
    assert doc.value["l2"][1][0][0] == "lol" and doc.value["l1"][0][0] == "lol" and doc.value["l0"][0] == "lol"


def test_too_many_aliases() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    with pytest.raises(YamlInputError, match=r"more than 100 YAML aliases \(\*a\)") as err:
        load_yaml_documents(text)
    assert err.value.line == 2
    load_yaml_documents("a: &a x\nb: [" + ", ".join(["*a"] * 100) + "]\n")  # 100 is fine


def test_long_strings_multiplied_by_aliases() -> None:
    text = f"a: &a {'x' * 20_000}\nb: [" + ", ".join(["*a"] * 60) + "]\n"
    with pytest.raises(YamlInputError, match="more than 1024 KiB of text"):
        load_yaml_documents(text)


def test_recursive_alias() -> None:
    with pytest.raises(YamlInputError, match="refers to the node that contains it"):
        load_yaml_documents("a: &a [1, *a]\n")


def test_nesting_is_bounded_before_python_recursion_is() -> None:
    with pytest.raises(YamlInputError, match="nested more than 64 levels deep") as err:
        load_yaml_documents("[" * 10_000 + "]" * 10_000)
    assert err.value.line == 1
    load_yaml_documents("[" * 60 + "]" * 60)
    deep_through_aliases = "a: &a [[[[[[[[[[x]]]]]]]]]]\n" + "".join(
        f"{n}: &{n} [[[[[[[[[[*{p}]]]]]]]]]]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
    with pytest.raises(YamlInputError, match="YAML aliases nest this more than 64 levels deep"):
        load_yaml_documents(deep_through_aliases)


def test_size_limit() -> None:
    with pytest.raises(YamlInputError, match=r"the YAML text is 256.5 KiB; an answer may be at most 256 KiB"):
        load_yaml_documents("#" * (256 * 1024 + 500))


def test_limits_are_data_and_real_answers_are_far_below_them() -> None:
    assert YamlLimits(256 * 1024, 64, 100, 10_000, 1024 * 1024) == LIMITS
    from support.nbtools import answers_of, notebooks, read

    for path in notebooks():
        for text in answers_of(read(path)).values():
            small = YamlLimits(max_bytes=16 * 1024, max_depth=16, max_aliases=0, max_nodes=1_000, max_chars=32 * 1024)
            load_yaml_documents(text, limits=small)  # every solution fits limits 10x tighter (no alias at all)


def test_syntax_errors_name_the_document_line_and_column() -> None:
    with pytest.raises(YamlInputError) as err:
        load_yaml_documents("a: 1\n---\nb: [x\n")
    assert str(err.value).startswith("document 2 line ") and "not valid YAML" in str(err.value)


# -- scalars as kubectl reads them -------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("y", True), ("Y", True), ("yes", True), ("On", True), ("TRUE", True), ("n", False), ("N", False), ("off", False),
    ("0o17", 15), ("0x1F", 31), ("017", 15), ("1_000", 1000), ("-0b101", -5), ("+5", 5),
    ("1e3", 1000.0), ("08", 8.0), ("1.10", 1.1), (".5", 0.5), ("-.inf", -math.inf),
    ("1:30", "1:30"), ("2024-01-01", "2024-01-01"), ("=", "="), ("yep", "yep"), ("x1", "x1"), ("~", None), ("null", None),
])
def test_plain_scalars_resolve_as_go_yaml_v2_does(text: str, value: object) -> None:
    _, resolved = resolve_plain(text)
    assert resolved == value and type(resolved) is type(value)
    loaded = load_yaml_value(f"k: {text}\n")
    assert loaded is not None and loaded.value == {"k": value}


def test_quoted_and_tagged_scalars() -> None:
    loaded = load_yaml_value("a: 'y'\nb: \"1.10\"\nc: !!str yes\nd: !!int '42'\ne: !!binary aGk=\n")
    assert loaded is not None and loaded.value == {"a": "y", "b": "1.10", "c": "yes", "d": 42, "e": "hi"}
    with pytest.raises(YamlInputError, match=r"'abc' cannot be read as int"):
        load_yaml_value("a: !!int abc\n")
    with pytest.raises(YamlInputError, match="unsupported YAML tag"):
        load_yaml_value("a: !!set {x}\n")
    with pytest.raises(YamlInputError, match="unsupported YAML tag '!custom'"):
        load_yaml_value("a: !custom x\n")


def test_keys_become_json_strings_as_kubectl_makes_them_unless_read_as_written() -> None:
    assert load_yaml_value("y: 1\n1.5: 2\n3: x\n~: z\n").value == {"true": 1, "1.5": 2, "3": "x", "null": "z"}  # type: ignore[union-attr]
    assert load_yaml_value("y: 1\n3: x\n", keys_as_written=True).value == {"y": 1, "3": "x"}  # type: ignore[union-attr]


def test_merge_keys_follow_go_yaml_order() -> None:
    loaded = load_yaml_value("base: &b {a: 1, b: 2}\np:\n  <<: *b\n  b: 3\nq:\n  b: 3\n  <<: *b\n")
    assert loaded is not None and loaded.value["p"] == {"a": 1, "b": 3} and loaded.value["q"] == {"b": 2, "a": 1}


def test_plain_scalar_sources_are_kept_by_path() -> None:
    loaded = load_yaml_value("m:\n  labels: {a: y, b: 'y', c: 1.10}\n")
    assert loaded is not None and loaded.plain_scalars == {("m", "labels", "a"): (True, "y"), ("m", "labels", "c"): (1.1, "1.10")}


# -- messages ---------------------------------------------------------------------------------------
def test_unquoted_booleans_in_labels_fail_like_kubectl_apply_with_the_field_path() -> None:
    text = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-y, namespace: x, labels: {v: 1.10}}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
      podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, off]}]}
"""
    with pytest.raises(ManifestError) as err:
        parse_manifests(text)
    lines = str(err.value).splitlines()
    assert 'networkpolicy/allow-y spec.ingress[0].from[0].namespaceSelector.matchLabels.ns: expected string, got bool True ' \
           '(YAML reads unquoted y as a boolean: write "y")' in lines
    assert 'networkpolicy/allow-y spec.ingress[0].from[0].podSelector.matchExpressions[0].values[1]: expected string, got bool False ' \
           '(YAML reads unquoted off as a boolean: write "off")' in lines
    assert 'networkpolicy/allow-y metadata.labels.v: expected string, got float 1.1 (YAML reads unquoted 1.10 as a number: write "1.10")' in lines
    parse_manifests(text.replace("ns: y", 'ns: "y"').replace("off]", "'off']").replace("v: 1.10", "v: '1.10'"))


def test_custom_resources_check_label_types_too() -> None:
    route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, labels: {canary: yes}}\nspec: {}\n"
    with pytest.raises(ManifestError, match=r'httproute/r metadata.labels.canary: expected string, got bool True \(YAML reads unquoted yes as a boolean: write "yes"\)'):
        parse_manifests(route)
    cnp = ("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: c}\n"
           "spec: {endpointSelector: {matchLabels: {app: N}}, ingress: [{}]}\n")
    with pytest.raises(ManifestError, match=r'spec.endpointSelector.matchLabels.app: expected string, got bool False .*write "N"'):
        parse_manifests(cnp)


def test_learner_text_quoted_back_is_cut() -> None:
    assert shown("x" * 500) == "'" + "x" * 80 + "…'"
    assert shown(list(range(1000))).endswith("…") and len(shown(list(range(1000)))) == 81
    huge = "y" * 5000
    with pytest.raises(ManifestError) as err:
        parse_manifests(f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {huge}}}\nspec: {{policyTypes: [{huge}]}}\n")
    text = str(err.value)
    assert len(text) < 1500 and "y" * 81 not in text and "…" in text
    assert capped_text("'" + "z" * 500 + "' is wrong") == "'" + "z" * 80 + "…' is wrong"
    assert capped_text("the pod's port isn't open") == "the pod's port isn't open"


def test_lab_apply_refuses_a_bomb_and_keeps_working() -> None:
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    with pytest.raises(ManifestError, match="alias bomb"):
        lab.apply(ALIAS_BOMB)
    lab.apply(ALIAS_BOMB.split("  annotations:")[0] + "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n")
    assert [str(k) for k in lab.objects("NetworkPolicy")] == ["networkpolicy/shop/default-deny-ingress"]


# -- the engine: values and nsg answers go through the same loader --------------------------------------
def test_values_answer_alias_bomb_fails_that_answer_with_where_and_why() -> None:
    check = Check("v", answer="v", format="values", topology=None)
    check.expect_value("a", 1)
    out = check.run({"v": laughs(6)})  # line 5 (l4) is the first to pass 10,000 nodes: 9**5
    assert not out.passed
    assert "`v` line 5 column 5: YAML aliases expand this to more than 10000 nodes" in out.message()


def test_values_answer_keys_are_read_as_written_and_y_is_true() -> None:
    check = Check("v", answer="v", format="values", topology=None)
    check.expect_value("n", 64)
    assert check.run({"v": "n: 64\n"}).passed


def test_nsg_answer_bomb_and_syntax_errors() -> None:
    check = Check("n", answer="rules", format="nsg", topology="shop")
    bomb = check.run({"rules": "securityRules:\n" + "".join(f"- &r{i} {{name: r{i}}}\n" for i in range(3)) + laughs(6)})
    assert not bomb.passed and "alias bomb" in bomb.message()
    broken = check.run({"rules": "securityRules: [\n"})
    assert "`rules` is not valid YAML line 2 column 1" in broken.message()
