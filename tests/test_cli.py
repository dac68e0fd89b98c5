"""``netlab matrix``: the offline analyzer."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from grader.cli import app

runner = CliRunner()
POLICY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-x, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""


def test_table_output_reproduces_upstream_default_deny(tmp_path: Path) -> None:
    f = tmp_path / "deny.yaml"
    f.write_text(POLICY)
    result = runner.invoke(app, ["matrix", "e2e", str(f), "--probe", "80/TCP"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    cols = lines[0].split()[1:]
    grid = {line.split()[0]: line.split()[1:] for line in lines[1:10]}
    assert len(grid) == 9
    for src, cells in grid.items():
        for dst, sym in zip(cols, cells, strict=True):
            assert sym == ("X" if dst.startswith("x/") else "."), (src, dst)


def test_json_output_records(tmp_path: Path) -> None:
    f = tmp_path / "deny.yaml"
    f.write_text(POLICY)
    result = runner.invoke(app, ["matrix", "e2e", str(f), "-p", "81/UDP", "--format", "json"])
    records = json.loads(result.output)
    assert len(records) == 81
    cell = next(r for r in records if r["from"] == "y/b" and r["to"] == "x/c")
    assert cell == {**cell, "port": 81, "protocol": "UDP", "verdict": "blocked"}
    assert "isolated by x/deny-x" in cell["reason"]


def test_default_probes_every_declared_port_of_the_topology() -> None:
    result = runner.invoke(app, ["matrix", "shop", "--format", "json"])
    ports = {(r["port"], r["to"]) for r in json.loads(result.output)}
    assert (5432, "shop/db") in ports and (5432, "shop/web") not in ports
    assert (9090, "monitoring/prometheus") in ports


def test_topology_file_with_policies(tmp_path: Path) -> None:
    case = Path(__file__).parent / "acceptance" / "netpol" / "k8s-e2e-default-deny-ingress.yaml"
    result = runner.invoke(app, ["matrix", str(case), "-p", "80", "-f", "json"])
    assert result.exit_code == 0
    assert {r["verdict"] for r in json.loads(result.output) if r["to"].startswith("x/")} == {"blocked"}


def test_bad_input_exits_2_with_the_field_path(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(POLICY.replace("policyTypes: [Ingress]", "policyTypes: [Inbound]"))
    result = runner.invoke(app, ["matrix", "e2e", str(f)])
    assert result.exit_code == 2
    assert "networkpolicy/deny-x spec.policyTypes[0]: unsupported value 'Inbound'" in result.output
    bad_probe = runner.invoke(app, ["matrix", "e2e", "-p", "eighty"])
    assert bad_probe.exit_code == 2


def test_doctor_prints_the_same_report_as_the_lessons(monkeypatch) -> None:
    """One doctor: `netlab doctor` is grader.course.doctor_report(), not a second set of checks."""
    from grader.course import doctor_report

    monkeypatch.setenv("NETLAB_BACKEND", "sim")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0
    assert result.output == doctor_report().text() + "\n"
    assert "backend: sim — grader.connect() will use the simulated cluster (NETLAB_BACKEND is set)" in result.output
