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
    assert ok and why == "Docker 28.3.2 on Ubuntu 24.04 LTS and kind v0.33.0"


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


@pytest.mark.parametrize("old", ["v0.23.0", "v0.30.0", "v0.31.0"])
def test_kind_too_old_for_the_node_image_is_not_usable(fakes, old: str) -> None:
    """C1: the pinned node image (Kubernetes 1.37) needs kind >= v0.32 (kubeadm v1beta4); before this
    issue anything from v0.24 passed and `kind create cluster` failed in kubeadm init."""
    fakes.set(kind_version=old)
    ok, why = environment.usable()
    assert not ok and why.startswith(f"kind {old} is too old (the node image needs v0.32.0 or later)")
    kind = {c.name: c for c in environment.doctor()}["kind"]
    assert kind.status is Status.FAIL and "Upgrade kind to v0.33.0" in kind.fix


def test_doctor_lists_every_check_with_fixes(fakes) -> None:
    fakes.remove("helm", "cilium")
    fakes.set(kind_version="v0.32.1", docker_mem=3 * 2**30)
    checks = {c.name: c for c in environment.doctor()}
    assert list(checks) == ["Docker", "kind", "kubectl", "helm / cilium CLI", "kernel", "inotify limits", "memory"]
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
    assert result.exit_code == 1 and "error:" in result.output and "kind v0.20.0 is too old" in result.output
    assert "before v0.24.0 kind's default CNI also ignores NetworkPolicy" in result.output
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
                               "Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?; `netlab doctor` shows how "
                               "to fix it, then `netlab up --profile calico-vxlan` for a real kind cluster)")


def test_connect_auto_uses_kind_only_for_a_ready_cluster(fakes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """L2: with Docker and kind usable, auto mode used to create the profile's cluster inside a
    lesson cell. Now it uses kind only when `netlab up` already made a ready cluster, and otherwise
    runs on the simulated cluster with one line saying how to get a real one."""
    from grader.kind.cluster import KindCluster

    monkeypatch.delenv("NETLAB_BACKEND", raising=False)
    lab = connect("kindnet")
    assert isinstance(lab, SimulatedLab)
    assert capsys.readouterr().out == ("netlab: profile kindnet on the simulated cluster (no kind cluster netlab-kindnet yet; "
                                       "run `netlab up --profile kindnet` for a real kind cluster)\n")
    assert not any(c[1] == "create" for c in fakes.calls("kind"))
    KindCluster("kindnet", progress=False).ensure()
    assert environment.auto_choice("kindnet") == (True, "kind cluster netlab-kindnet is ready")
    fakes.set(nodes_ready=False)
    ready, why = environment.auto_choice("kindnet")
    assert not ready and why.startswith("kind cluster netlab-kindnet is not ready")
    fakes.set(nodes_ready=True, markers={})  # an interrupted set-up
    assert environment.auto_choice("kindnet") == (False, "kind cluster netlab-kindnet is not ready (set-up not finished (netlab up resumes it)); "
                                                          "run `netlab up --profile kindnet` for a real kind cluster")


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


def test_cli_up_prints_every_blocker_and_creates_nothing(fakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """L6: without a Docker engine and with no kind, `netlab up` used to print only "`kind` not
    found" and still created the state directory; now it lists every blocker, says the lessons
    still run, and creates nothing."""
    state = tmp_path / "fresh-state"
    monkeypatch.setenv("NETLAB_STATE_DIR", str(state))
    fakes.set(docker_running=False)
    fakes.remove("kind", "helm", "cilium")
    result = runner.invoke(app, ["up", "--profile", "cilium-native"])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.startswith("  ✗")]
    assert lines == [
        "  ✗ Docker: engine not reachable: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
        "  ✗ kind: not installed",
        "  ✗ helm / cilium CLI: neither installed: profile cilium-native installs Cilium with one of them",
    ]
    assert "every lesson runs on the simulated cluster" in result.output
    assert not state.exists()
    assert fakes.calls("kind") == [] and all(c[1] == "info" for c in fakes.calls("docker"))


def test_cilium_profiles_need_helm_or_the_cilium_cli(fakes) -> None:
    """L2: a Cilium profile without Helm or the cilium CLI is refused before anything starts."""
    fakes.remove("helm", "cilium")
    assert environment.usable("kindnet")[0]
    ok, why = environment.usable("cilium-tunnel")
    assert not ok and why == "helm / cilium CLI: neither installed: profile cilium-tunnel installs Cilium with one of them"
    assert runner.invoke(app, ["up", "--profile", "cilium-tunnel"]).exit_code == 1
    assert {tuple(c[:2]) for c in fakes.calls("kind")} <= {("kind", "version"), ("kind", "get")}  # nothing created


def test_old_kernel_blocks_the_nftables_profile_only(fakes) -> None:
    """R4: kube-proxy's nftables mode (profile kindnet) needs Linux >= 5.13; the kernel is the one
    Docker reports (the VM's on Docker Desktop)."""
    fakes.set(docker_kernel="5.4.0-150-generic")
    ok, why = environment.usable("kindnet")
    assert not ok and why.startswith("kernel 5.4.0-150-generic is older than 5.13")
    assert environment.usable("calico-vxlan")[0]
    fakes.set(docker_kernel="5.15.167.4-microsoft-standard-WSL2")
    assert environment.usable("kindnet")[0]


def test_profile_subnets_that_clash_with_the_kind_network_block(fakes) -> None:
    """R10: a kind network that Docker placed on the profile's pod range is reported before creating."""
    fakes.set(networks={"kind": {"subnet": "10.244.0.0/16", "gateway": "10.244.0.1", "user_subnet": False, "labels": {}, "endpoints": {}}})
    ok, why = environment.usable("kindnet")
    assert not ok and "10.244.0.0/16 overlaps the kind network 10.244.0.0/16" in why
    assert environment.usable("calico-vxlan")[0]  # its pods and Services use other ranges


def test_another_cluster_needs_room(fakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """L2/R5: a second course cluster is refused up front when Docker's memory or the inotify
    instances cannot hold both; with room it is allowed and says what runs."""
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    (roomy / "max_user_instances").write_text("8192\n")
    monkeypatch.setattr(environment, "INOTIFY_PROC", str(roomy))
    fakes.set(clusters={"netlab-kindnet": {"nodes": ["netlab-kindnet-control-plane"], "labels": {}}}, docker_mem=6 * 2**30)
    ok, why = environment.usable("calico-vxlan")
    assert not ok and why == ("room for another cluster netlab-kindnet already running; 6.0 GiB for Docker is too little for 2 clusters "
                              "(about 4 GiB each)")
    assert environment.usable("kindnet")[0]  # its own cluster does not count
    fakes.set(docker_mem=16 * 2**30)
    assert environment.usable("calico-vxlan")[0]
    (tmp_path / "max_user_instances").write_text("128\n")
    low = environment.capacity_check("calico-vxlan", str(16 * 2**30), ["netlab-kindnet"], "Linux", str(tmp_path))
    assert low is not None and low.status is Status.FAIL and "max_user_instances=128 is too low for 2 clusters" in low.detail
