"""``netlab plan``: the planning calculator on the command line (exit 0 ok, 1 AKS would reject, 2 bad input)."""

from __future__ import annotations

from typer.testing import CliRunner

from grader.cli import app

runner = CliRunner()


def test_flat_worked_example_on_the_command_line() -> None:
    result = runner.invoke(app, ["plan", "--nodes", "50", "--model", "flat", "--max-pods", "30"])
    assert result.exit_code == 0
    assert "1,581 addresses → node subnet /21" in result.output


def test_overlay_plan_that_aks_would_reject_exits_1() -> None:
    result = runner.invoke(app, ["plan", "--nodes", "300", "--pod-cidr", "10.244.0.0/16", "--service-cidr", "10.0.0.0/12"])
    assert result.exit_code == 1
    assert "need a /15 or larger" in result.output and "smaller than /12" in result.output


def test_invalid_input_exits_2() -> None:
    assert runner.invoke(app, ["plan", "--nodes", "0"]).exit_code == 2
    assert runner.invoke(app, ["plan", "--nodes", "5", "--pod-cidr", "10.244.0.0/33"]).exit_code == 2
