"""Loading YAML from every kind of source, with errors that say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import ManifestError
from grader.manifests import load_documents, parse_manifests

NP = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: %s}
spec: {podSelector: {}}
"""


def test_multi_document_string_keeps_order_and_positions() -> None:
    docs = load_documents(NP % "a" + "---\n" + NP % "b")
    assert [d.name for d in docs] == ["a", "b"]
    assert [d.position for d in docs] == [1, 2]
    assert docs[0].label == "networkpolicy/a"


def test_file_path_and_pathlike(tmp_path: Path) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text(NP % "from-file")
    assert load_documents(f)[0].name == "from-file"
    assert load_documents(str(f))[0].origin == "policy.yaml"


def test_dict_and_list_of_mixed_sources(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(NP % "c")
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "d"}, "spec": {}}
    assert [d.name for d in load_documents([NP % "a", body, f])] == ["a", "d", "c"]


def test_list_kind_is_expanded() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- " + (NP % "x").replace("\n", "\n  ") + "\n- " + (NP % "y").replace("\n", "\n  ")
    assert [d.name for d in load_documents(text)] == ["x", "y"]


def test_empty_documents_are_skipped() -> None:
    assert [d.name for d in load_documents("---\n" + NP % "a" + "---\n---\n")] == ["a"]


def test_invalid_yaml_names_line_and_column() -> None:
    with pytest.raises(ManifestError) as err:
        load_documents("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [unclosed\n")
    text = str(err.value)
    assert text.startswith("document 1 line ")
    assert "not valid YAML" in text


def test_invalid_yaml_in_second_document_counts_documents() -> None:
    with pytest.raises(ManifestError) as err:
        load_documents(NP % "a" + "---\nkind: x\n  bad: indent\n")
    assert str(err.value).startswith("document 2 ")


def test_scalar_document_is_rejected_with_its_position() -> None:
    with pytest.raises(ManifestError, match=r"document 2: expected a Kubernetes object"):
        load_documents(NP % "a" + "---\njust a string\n")


def test_unreadable_source_type() -> None:
    with pytest.raises(ManifestError, match="expected YAML text, a file path"):
        load_documents(42)  # type: ignore[arg-type]


def test_missing_kind_and_apiversion() -> None:
    with pytest.raises(ManifestError, match="document 1: apiVersion and kind required"):
        parse_manifests("metadata: {name: x}\n")


def test_unsupported_kind_lists_supported_ones() -> None:
    with pytest.raises(ManifestError) as err:
        parse_manifests("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\n")
    assert "cronjob/nightly: kind 'CronJob' (batch/v1) is not supported by the lab; supported kinds:" in str(err.value)
    assert "NetworkPolicy" in str(err.value)


def test_wrong_api_version_for_a_known_kind() -> None:
    with pytest.raises(ManifestError, match=r"apiVersion 'extensions/v1beta1' is not served for kind NetworkPolicy: expected networking.k8s.io/v1"):
        parse_manifests((NP % "old").replace("networking.k8s.io/v1", "extensions/v1beta1"))


def test_problems_of_all_documents_are_reported_together() -> None:
    bad = NP.replace("spec: {podSelector: {}}", "spec: {podSelectr: {}}")
    with pytest.raises(ManifestError) as err:
        parse_manifests(bad % "one" + "---\n" + bad % "two")
    assert [p.document for p in err.value.problems] == ["networkpolicy/one", "networkpolicy/two"]
