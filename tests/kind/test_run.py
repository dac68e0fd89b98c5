"""The one subprocess runner: argv lists, timeouts, captured output, typed errors with hints."""

from __future__ import annotations

import sys

import pytest

from grader.errors import LabError
from grader.kind._run import CommandError, _run, hint_for, install_hint
from grader.kind.kindcli import Kind


def test_output_is_captured_never_leaked(capfd: pytest.CaptureFixture[str]) -> None:
    done = _run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"], timeout=30)
    assert (done.stdout, done.stderr, done.returncode) == ("out\n", "err\n", 0)
    leaked = capfd.readouterr()
    assert leaked.out == "" and leaked.err == ""


def test_environment_is_current_plus_additions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETLAB_TEST_INHERITED", "kept")
    code = "import os; print(os.environ['NETLAB_TEST_INHERITED'], os.environ['KUBECONFIG'])"
    done = _run([sys.executable, "-c", code], timeout=30, env={"KUBECONFIG": "/tmp/course-kubeconfig"})
    assert done.stdout.split() == ["kept", "/tmp/course-kubeconfig"]


def test_a_shell_string_is_refused() -> None:
    with pytest.raises(TypeError, match="argv list"):
        _run("kind get clusters", timeout=5)  # type: ignore[arg-type]


def test_stdin_is_passed_and_closed_otherwise() -> None:
    echo = [sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"]
    assert _run(echo, timeout=30, input="apply me").stdout.strip() == "APPLY ME"
    assert _run(echo, timeout=30).stdout.strip() == ""  # no input: /dev/null, never the notebook's stdin


def test_nonzero_exit_raises_with_command_code_and_stderr_tail() -> None:
    code = "import sys; [print(f'line {i}', file=sys.stderr) for i in range(40)]; sys.exit(3)"
    with pytest.raises(CommandError) as info:
        _run([sys.executable, "-c", code], timeout=30)
    err = info.value
    assert isinstance(err, LabError)
    assert err.returncode == 3
    assert err.stderr_tail.splitlines() == [f"line {i}" for i in range(25, 40)]
    assert "failed with exit code 3" in str(err) and "line 39" in str(err) and "line 10\n" not in str(err)


def test_check_false_returns_the_failure() -> None:
    done = _run([sys.executable, "-c", "raise SystemExit(2)"], timeout=30, check=False)
    assert not done.ok and done.returncode == 2


def test_timeout_is_a_typed_error_with_a_hint() -> None:
    with pytest.raises(CommandError) as info:
        _run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert info.value.timed_out
    assert "timed out" in str(info.value) and "did not finish within 0.5s" in str(info.value)
    assert "netlab doctor" in info.value.hint


def test_missing_tool_names_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CommandError) as info:
        _run(["kind", "version"], timeout=5)
    assert info.value.missing
    assert "kind is not installed" in str(info.value) and "kind.sigs.k8s.io" in str(info.value)


@pytest.mark.parametrize(("tool", "system", "expected"), [
    ("kind", "Darwin", "brew install kind"),
    ("kind", "Linux", "kind-linux-amd64"),
    ("kind", "Windows", "winget install Kubernetes.kind"),
    ("kubectl", "Darwin", "brew install kubectl"),
    ("helm", "Windows", "winget install Helm.Helm"),
    ("cilium", "Darwin", "brew install cilium-cli"),
    ("docker", "Linux", "usermod -aG docker"),
    ("docker", "Windows", "WSL 2"),
])
def test_install_hints_per_os(tool: str, system: str, expected: str) -> None:
    assert expected in install_hint(tool, system)


def test_install_hints_use_the_pinned_versions() -> None:
    from grader.facts import fact

    assert str(fact("kind-version").value) in install_hint("kind", "Linux")
    assert str(fact("cilium-cli-version").value) in install_hint("cilium", "Linux")


@pytest.mark.parametrize(("output", "expected"), [
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", "Docker is not running"),
    ('ERROR: failed to create cluster: node(s) already exist for a cluster with the name "netlab-kindnet"', "already exists"),
    ("Failed to allocate directory watch: Too many open files", "inotify"),
    ("failed to create fsnotify watcher: too many open files", "inotify"),
    ("Command Output: ctr: content digest sha256:4f2a: not found", "image-archive"),
    ('ERROR: unknown cluster "netlab-x"', "netlab status"),
    ("The connection to the server 127.0.0.1:40123 was refused - did you specify the right host or port?", "API server"),
])
def test_hints_for_common_failures(output: str, expected: str) -> None:
    assert expected in hint_for(output)


def test_unknown_kind_failures_point_to_kind_export_logs() -> None:
    assert "kind export logs" in hint_for("ERROR: something new", "kind")
    assert hint_for("something new", "helm") == ""


def test_kind_older_than_v024_is_refused_with_the_reason(fakes) -> None:
    fakes.set(kind_version="v0.23.0")
    with pytest.raises(CommandError) as info:
        Kind().require_version()
    assert "kind v0.23.0 is too old: the course's node image (1.37) needs kind v0.32.0 or later" in info.value.hint
    assert "before v0.24.0 kind's default CNI also ignores NetworkPolicy" in info.value.hint
