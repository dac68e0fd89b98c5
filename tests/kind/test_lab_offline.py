"""The live Lab's behaviour that needs no cluster: loading contexts, and failing safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import LabError
from grader.kind.lab import LiveLab
from grader.reachability import Verdict

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}
contexts:
- name: gone
  context: {cluster: gone, user: u}
current-context: gone
users:
- name: u
  user: {token: t}
"""


@pytest.fixture
def unreachable(tmp_path: Path) -> LiveLab:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    lab = LiveLab("kindnet", kubeconfig=str(path), context="gone", quiet=True)
    lab.kube.configuration.retries = 0
    lab.kube.api.configuration.retries = 0
    return lab


def test_unknown_context_is_a_lab_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    with pytest.raises(LabError, match="cannot load context aks-prod"):
        LiveLab(kubeconfig=str(path), context="aks-prod")


def test_a_probe_that_cannot_reach_the_api_server_is_probe_failed(unreachable: LiveLab) -> None:
    result = unreachable.probe("x/a", "x/b", 80)
    assert result.verdict is Verdict.PROBE_FAILED  # never BLOCKED: nothing was learned about the network
    assert "could not run" in result.reason


def test_sources_must_be_pods_or_nodes(unreachable: LiveLab) -> None:
    result = unreachable.probe("api.example.com", "x/b", 80)
    assert result.verdict is Verdict.PROBE_FAILED and "probes start from a pod" in result.reason


def test_owner_label_cannot_be_changed(unreachable: LiveLab) -> None:
    with pytest.raises(LabError, match="marks what the course owns"):
        unreachable.label("namespace/x", {"app.kubernetes.io/managed-by": None})
