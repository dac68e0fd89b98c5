"""The kind wrapper's command lines and parsing, against a fake kind that answers like the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.facts import fact
from grader.kind._run import CommandError
from grader.kind.kindcli import Kind, Version, parse_clusters


@pytest.mark.parametrize(("text", "expected"), [
    ("kind v0.33.0 go1.24.5 linux/amd64", Version(0, 33, 0)),
    ("kind v0.24.0 go1.22.6 darwin/arm64\n", Version(0, 24, 0)),
    ("kind v0.34.0-alpha.12+5e2f go1.25.1 linux/amd64", Version(0, 34, 0, "alpha.12+5e2f")),
    ("0.33.0", Version(0, 33, 0)),
])
def test_version_parsing(text: str, expected: Version) -> None:
    assert Version.parse(text) == expected


def test_version_comparison() -> None:
    assert Version.parse("v0.33.0").at_least("v0.24.0")
    assert not Version.parse("v0.23.0").at_least("v0.24.0")
    assert Version.parse("v0.34.0-alpha").at_least("v0.33.0")
    with pytest.raises(ValueError):
        Version.parse("kind version unknown")


def test_get_clusters_with_none_is_empty_not_an_error(fakes) -> None:
    assert Kind().clusters() == []
    assert parse_clusters("netlab-kindnet\nkind\n\n") == ["kind", "netlab-kindnet"]


def test_create_command_line(fakes, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}, {role: worker}]\n")
    kubeconfig = tmp_path / "kc"
    outcome = Kind().create("netlab-kindnet", config, kubeconfig=kubeconfig, image=fact("kind-node-image").value, wait="60s")
    assert outcome.ready
    (call,) = fakes.calls("kind")
    assert call == [
        "kind", "create", "cluster", "--name", "netlab-kindnet", "--config", str(config), "--kubeconfig", str(kubeconfig),
        "--image", str(fact("kind-node-image").value), "--wait", "60s",
    ]
    assert "@sha256:" in call[call.index("--image") + 1]
    assert kubeconfig.read_text().count("kind-netlab-kindnet") >= 2
    assert Kind().clusters() == ["netlab-kindnet"]
    assert Kind().nodes("netlab-kindnet") == ["netlab-kindnet-control-plane", "netlab-kindnet-worker"]


def test_wait_timeout_is_a_warning_not_an_error(fakes, tmp_path: Path) -> None:
    fakes.set(wait_times_out=True)
    config = tmp_path / "c.yaml"
    config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    outcome = Kind().create("x", config, kubeconfig=tmp_path / "kc", wait="1s")
    assert not outcome.ready
    assert outcome.warning.startswith("WARNING: Timed out waiting for Ready")


def test_create_of_an_existing_name_fails_with_the_hint(fakes, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    Kind().create("dup", config, kubeconfig=tmp_path / "kc", wait="")
    with pytest.raises(CommandError) as info:
        Kind().create("dup", config, kubeconfig=tmp_path / "kc", wait="")
    assert info.value.returncode == 1
    assert 'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "dup"' in info.value.stderr_tail
    assert "netlab up` reuses it" in info.value.hint


def test_delete_is_idempotent(fakes) -> None:
    Kind().delete("never-created")
    Kind().delete("never-created")
    assert fakes.calls("kind") == [["kind", "delete", "cluster", "--name", "never-created"]] * 2


def test_get_kubeconfig_and_unknown_cluster(fakes, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="could not locate any control plane"):
        Kind().kubeconfig("nope")
    config = tmp_path / "c.yaml"
    config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    Kind().create("k", config, kubeconfig=tmp_path / "kc", wait="")
    text = Kind().kubeconfig("k")
    assert "current-context: kind-k" in text
    assert fakes.calls("kind")[-1] == ["kind", "get", "kubeconfig", "--name", "k"]


def test_export_logs_returns_the_directory_kind_printed(fakes, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    Kind().create("k", config, kubeconfig=tmp_path / "kc", wait="")
    assert Kind().export_logs("k") == Path("/tmp/396137522")
    assert Kind().export_logs("k", tmp_path / "logs") == tmp_path / "logs"
    assert fakes.calls("kind")[-1] == ["kind", "export", "logs", str(tmp_path / "logs"), "--name", "k"]
    with pytest.raises(CommandError, match='unknown cluster "zz"'):
        Kind().export_logs("zz")


def test_load_commands(fakes, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    Kind().create("k", config, kubeconfig=tmp_path / "kc", wait="")
    Kind().load_image("k", "registry.k8s.io/e2e-test-images/agnhost:2.66.1", nodes=["k-worker"])
    Kind().load_archive("k", tmp_path / "img.tar")
    assert fakes.calls("kind")[-2:] == [
        ["kind", "load", "docker-image", "registry.k8s.io/e2e-test-images/agnhost:2.66.1", "--name", "k", "--nodes", "k-worker"],
        ["kind", "load", "image-archive", str(tmp_path / "img.tar"), "--name", "k"],
    ]
