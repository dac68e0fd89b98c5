"""usable(), doctor checks and the netlab doctor/up/down/status commands, with fake tools."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.kind import environment
from grader.kind.environment import Status, inotify_check, memory_check
from grader.kind.lab import detect_cni
from grader.backends import connect
from grader.lab import SimulatedLab

runner = CliRunner()


def test_usable_when_everything_is_there(fakes) -> None:
    ok, why = environment.usable()
    assert ok and why == "Docker 28.3.2 and kind v0.33.0"


def test_docker_engine_down(fakes) -> None:
    fakes.set(docker_running=False)
    ok, why = environment.usable()
    assert not ok
    assert why == "Docker engine not reachable: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"


@pytest.mark.parametrize(("missing", "reason"), [
    ("docker", "Docker is not installed"),
    ("kind", "kind is not installed"),
    ("kubectl", "kubectl is not installed"),
])
def test_missing_tools(fakes, missing: str, reason: str) -> None:
    fakes.remove(missing)
    ok, why = environment.usable()
    assert not ok and why.startswith(reason)


def test_kind_too_old_is_not_usable(fakes) -> None:
    fakes.set(kind_version="v0.23.0")
    ok, why = environment.usable()
    assert not ok and "older than v0.24.0" in why


def test_doctor_lists_every_check_with_fixes(fakes) -> None:
    fakes.remove("helm", "cilium")
    fakes.set(kind_version="v0.30.0", docker_mem=3 * 2**30)
    checks = {c.name: c for c in environment.doctor()}
    assert list(checks) == ["Docker", "kind", "kubectl", "helm / cilium CLI", "inotify limits", "memory"]
    assert checks["Docker"].status is Status.OK
    assert checks["kind"].status is Status.WARN and "v0.33.0" in checks["kind"].fix
    assert checks["helm / cilium CLI"].status is Status.WARN
    assert checks["memory"].status is Status.WARN and "3.0 GiB memory available to Docker" in checks["memory"].detail
    assert "fix:" in checks["memory"].render()


def test_doctor_without_docker(fakes) -> None:
    fakes.remove("docker")
    checks = {c.name: c for c in environment.doctor()}
    assert checks["Docker"].status is Status.FAIL and "docs.docker.com" in checks["Docker"].fix


def test_inotify_check(tmp_path: Path) -> None:
    (tmp_path / "max_user_watches").write_text("8192\n")
    (tmp_path / "max_user_instances").write_text("128\n")
    low = inotify_check("Linux", str(tmp_path))
    assert low.status is Status.WARN and "fs.inotify.max_user_watches=524288" in low.fix
    (tmp_path / "max_user_watches").write_text("524288\n")
    (tmp_path / "max_user_instances").write_text("512\n")
    assert inotify_check("Linux", str(tmp_path)).status is Status.OK
    assert inotify_check("Darwin").status is Status.OK


def test_memory_check_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    9000000 kB\n")
    check = memory_check("", str(meminfo))
    assert check.status is Status.OK and "8.6 GiB free memory" in check.detail
    assert memory_check(str(2 * 2**30)).status is Status.WARN


def test_cli_doctor_brief_without_docker_says_simulated_and_exits_0(fakes) -> None:
    fakes.set(docker_running=False)
    result = runner.invoke(app, ["doctor", "--brief"])
    assert result.exit_code == 0
    assert result.output.count("\n") == 1
    assert "the course runs on the simulated cluster (Docker engine not reachable" in result.output


def test_cli_doctor_full(fakes) -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0
    assert "✓ Docker: Docker 28.3.2" in result.output and "backend: kind" in result.output
    fakes.set(docker_running=False)
    assert runner.invoke(app, ["doctor", "--require-kind"]).exit_code == 1


@pytest.mark.slow  # a cluster's life cycle through the fake docker/kind/kubectl executables
def test_cli_up_status_down(fakes) -> None:
    up = runner.invoke(app, ["up", "--profile", "kindnet"])
    assert up.exit_code == 0, up.output
    assert "netlab-kindnet: ready, 3/3 nodes Ready" in up.output
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0 and "netlab-kindnet: ready" in status.output
    down = runner.invoke(app, ["down", "--profile", "kindnet"])
    assert down.exit_code == 0 and "deleted netlab-kindnet" in down.output
    assert "no course clusters" in runner.invoke(app, ["status"]).output


def test_cli_errors_are_messages_not_tracebacks(fakes) -> None:
    fakes.set(kind_version="v0.20.0")
    result = runner.invoke(app, ["up", "--profile", "kindnet"])
    assert result.exit_code == 1 and "error:" in result.output and "older than v0.24.0" in result.output
    assert runner.invoke(app, ["up", "--profile", "weave"]).exit_code == 2
    assert runner.invoke(app, ["down"]).exit_code == 2


def test_connect_auto_falls_back_to_the_simulated_cluster(fakes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("NETLAB_BACKEND", raising=False)
    fakes.set(docker_running=False)
    lab = connect("calico-vxlan")
    assert isinstance(lab, SimulatedLab)
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.strip() == ("netlab: profile calico-vxlan on the simulated cluster (Docker engine not reachable: Cannot connect to the "
                               "Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)")


@pytest.mark.parametrize(("daemonsets", "name", "enforces"), [
    (["kube-system/cilium", "kube-system/kube-proxy"], "cilium", True),
    (["kube-system/cilium", "kube-system/cilium-envoy", "kube-system/azure-cns", "kube-system/cloud-node-manager"], "cilium", True),
    (["calico-system/calico-node", "calico-system/csi-node-driver"], "calico", True),
    (["kube-system/kube-flannel-ds", "kube-system/calico-node"], "calico", True),
    (["kube-system/azure-npm", "kube-system/azure-cns"], "azure-npm", True),
    (["kube-system/kindnet", "kube-system/kube-proxy"], "kindnet", None),
    (["kube-flannel/kube-flannel-ds"], "flannel", False),
    ([], "unknown", None),
])
def test_detect_cni(daemonsets: list[str], name: str, enforces: bool | None) -> None:
    info = detect_cni(daemonsets)
    assert (info.name, info.enforces) == (name, enforces)
