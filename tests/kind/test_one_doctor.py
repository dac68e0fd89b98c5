"""One doctor: ``netlab doctor`` and lesson 0's ``grader.course.doctor()`` print the same report,
and on the simulated path nothing of kind's is shown as a problem (fake docker/kind on PATH)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.course import doctor_report

runner = CliRunner()


@pytest.fixture(autouse=True)
def _auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETLAB_BACKEND", raising=False)


def test_the_cli_prints_the_lessons_report(fakes, capsys) -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0
    assert result.output == doctor_report().text() + "\n"
    from grader.course import doctor

    doctor()
    assert capsys.readouterr().out == result.output


def test_with_kind_usable_every_kind_check_and_fix_is_shown(fakes) -> None:
    fakes.remove("helm", "cilium")
    fakes.set(docker_mem=3 * 2**30)
    report = doctor_report()
    assert report.backend == "kind" and report.kind_usable
    text = report.text()
    assert ("backend: kind — grader.connect() will use a profile's real kind cluster once `netlab up` has made it "
            "(Docker and kind are available; the simulated cluster until then)") in text
    assert "Real kind clusters:" in text and "✓ Docker: Docker 28.3.2" in text
    for name in ("helm / cilium CLI", "inotify limits", "memory"):
        assert name in text
    assert "fix: give Docker at least 8 GiB" in text
    assert {c.name for c in report.problems} >= {"helm / cilium CLI", "memory"}


@pytest.mark.parametrize("missing", [("docker",), ("kind",), ("docker", "kind", "kubectl")])
def test_on_the_simulated_path_kind_only_fixes_are_not_problems(fakes, missing) -> None:
    fakes.remove(*missing, "helm", "cilium")
    fakes.set(docker_mem=2 * 2**30)  # low memory would be a warning on the kind path
    report = doctor_report()
    assert report.backend == "sim" and not report.kind_usable
    assert report.problems == ()
    text = report.text()
    assert "backend: sim — grader.connect() will use the simulated cluster (real kind clusters need the optional steps below)" in text
    assert "Optional, for real kind clusters" in text
    for tool in missing:
        name = {"docker": "Docker", "kind": "kind", "kubectl": "kubectl"}[tool]
        assert f"  - {name}: not installed" in text
    assert "✗" not in text and "sysctl" not in text and "inotify limits:" not in text and "GiB" not in text
    assert "helm / cilium CLI:" not in text


def test_docker_down_is_one_optional_step(fakes) -> None:
    fakes.set(docker_running=False)
    text = doctor_report().text()
    assert "  - Docker: engine not reachable: Cannot connect to the Docker daemon" in text
    assert "to use kind: start Docker Desktop" in text
    assert runner.invoke(app, ["doctor", "--require-kind"]).exit_code == 1
    assert runner.invoke(app, ["doctor"]).exit_code == 0
