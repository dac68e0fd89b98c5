"""grader.course: the helpers lessons call (doctor, tables, app_matrix, cite)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

import grader
from grader.course import (
    Status,
    app_matrix,
    cite,
    doctor,
    doctor_report,
    nodes_table,
    pod_range,
    pods_table,
    profiles_table,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shop():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    return lab


def test_doctor_reports_the_backend_choice_and_writes_only_stdout(monkeypatch, capfd):
    monkeypatch.setenv("NETLAB_BACKEND", "sim")
    report = doctor_report()
    assert report.backend == "sim" and report.reason == "NETLAB_BACKEND is set" and report.forced
    names = [c.name for c in report.checks]
    assert names == ["python", "grader", "jupyterlab", "nbgrader", "matplotlib", "pandas", "kubernetes"]
    assert [c.name for c in report.kind_checks][:3] == ["Docker", "kind", "kubectl"]
    assert next(c for c in report.checks if c.name == "python").status is Status.OK
    doctor()
    out, err = capfd.readouterr()
    assert err == ""
    assert "backend: sim — grader.connect() will use the simulated cluster (NETLAB_BACKEND is set)" in out
    assert out == report.text() + "\n"


def test_doctor_without_override_agrees_with_connect(monkeypatch, capsys):
    monkeypatch.delenv("NETLAB_BACKEND", raising=False)
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)  # outside a Jupyter kernel the reason is always said
    report = doctor_report()
    lab = grader.connect()
    said = capsys.readouterr().out
    assert lab.backend == report.backend
    assert report.reason in said


def test_the_one_doctor_runs_no_cli(tmp_path):
    """Lessons and `netlab doctor` share doctor_report(); the lesson side never loads the CLI (typer)."""
    import subprocess
    import sys

    code = "import sys, grader.course as c; c.doctor(); print('typer loaded' if 'typer' in sys.modules else 'no typer')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "NETLAB_BACKEND": "sim", "PYTHONPATH": str(ROOT)})
    assert done.stderr == ""
    assert done.stdout.splitlines()[-1] == "no typer"
    assert "backend: sim" in done.stdout


def test_pods_table_gives_each_pod_its_nodes_range(shop):
    table = pods_table(shop)
    assert list(table.index) == [str(p.ref) for p in shop.pods()]
    nodes = {n.name: n for n in shop.profile.nodes()}
    for pod in shop.pods():
        row = table.loc[str(pod.ref)]
        assert row["node"] == pod.node and row["pod IP"] == str(pod.ip)
        assert ipaddress.ip_address(row["pod IP"]) in ipaddress.ip_network(row["from range"])
        assert row["from range"] == str(nodes[pod.node].pod_cidr)
    assert table.loc["shop/db", "ports"] == "5432/TCP (postgres), 9100/TCP (metrics)"
    assert list(pods_table(shop, ["kube-system"]).index) == ["kube-system/coredns-0", "kube-system/coredns-1"]


def test_calico_ranges_are_26_blocks_shared_by_pods_of_a_node():
    lab = grader.connect("calico-vxlan", backend="sim", quiet=True)
    lab.deploy("shop")
    nodes = lab.profile.nodes()
    blocks = {}
    for pod in lab.pods():
        r = ipaddress.ip_network(pod_range(pod, lab.profile, nodes))
        assert r.prefixlen == 26 and pod.ip in r
        blocks.setdefault(pod.node, set()).add(r)
    assert all(len(b) == 1 for b in blocks.values())
    assert len({next(iter(b)) for b in blocks.values()}) == len(blocks)  # one block per node
    table = nodes_table(lab)
    for node, b in blocks.items():
        assert table.loc[node, "pod addresses from"] == str(next(iter(b)))
    assert table.loc["kind-control-plane", "pods"] == 0  # CoreDNS is not counted, its block is shown
    assert table.loc["kind-control-plane", "pod addresses from"] == "192.168.0.0/26"


def test_profiles_table_lists_every_profile():
    table = profiles_table()
    assert list(table.index) == list(grader.PROFILES)
    assert table.loc["cilium-tunnel", "ipBlock matches pod IPs"] == "no"
    assert table.loc["kindnet", "pod subnet"] == "10.244.0.0/16"


def test_app_matrix_probes_each_destination_on_its_own_port(shop):
    shop.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-api, namespace: shop}
spec:
  podSelector: {matchLabels: {tier: database}}
  ingress:
  - from: [{podSelector: {matchLabels: {tier: backend}}}]
    ports: [{port: 5432}]
""")
    m = app_matrix(shop, {"shop/web": 80, "shop/api": 8080, "shop/db": 5432})
    assert m.destinations == ("shop/api", "shop/db", "shop/web")
    assert m.sources == tuple(str(p.ref) for p in shop.pods())
    for (_, d), r in m.results.items():
        assert r.probe.port == {"shop/web": 80, "shop/api": 8080, "shop/db": 5432}[d]
    assert m.verdict("shop/api", "shop/db") is grader.Verdict.ALLOWED
    assert m.verdict("shop/web", "shop/db") is grader.Verdict.BLOCKED
    assert m.verdict("untrusted/attacker", "shop/web") is grader.Verdict.ALLOWED
    assert app_matrix(shop, {"shop/db": 5432}, sources=["host"]).verdict("host", "shop/db") is grader.Verdict.BLOCKED


def test_cite_is_a_compact_table_in_text_and_html():
    from grader.facts import fact

    t = cite("kube-proxy-nftables-ga", "kube-proxy-ipvs-deprecated")
    nft = fact("kube-proxy-nftables-ga")
    assert t.columns == ("fact", "as of", "source")
    assert t.rows[0] == (nft.text, "2025-04-23", nft.sources[0])
    lines = str(t).splitlines()
    assert lines[0].split() == ["fact", "as", "of", "source"]
    assert lines[1].startswith("kube-proxy's nftables mode is GA since Kubernetes 1.33") and "2025-04-23" in lines[1]
    assert lines[1].rstrip().endswith(nft.sources[0])
    assert max(len(line.split("  ")[0]) for line in lines[1:]) <= 60  # the statement wraps; dates and sources stay in line
    page = t._repr_html_()
    assert page.count("<tr>") == 3 and f"href='{nft.sources[0]}'" in page
    assert ">raw.githubusercontent.com</a>" in page  # a short link, not the long URL
    with pytest.raises(KeyError, match="no fact 'nope'"):
        cite("nope")


def test_explain_all_prints_one_line_per_probe_outside_jupyter(shop, capsys):
    results = [shop.probe("shop/web", "shop/db", 5432), shop.probe("untrusted/attacker", "shop/web", 80)]
    from grader.course import explain_all

    explain_all(results)
    assert capsys.readouterr().out.splitlines() == [str(r.explain()) for r in results]


def test_path_table_lists_the_hops_of_a_probe_in_order(shop):
    from grader.course import path_table

    r = shop.probe("shop/web", "shop/db", 5432)
    table = path_table(r)
    assert list(table.columns) == ["step", "what happens"]
    assert list(table["step"]) == [h.step for h in r.hops] and list(table.index) == list(range(1, len(r.hops) + 1))
    assert table.index.name == r.summary()


@pytest.mark.parametrize(("profile", "protocol", "port"), [("kindnet", "TCP", 5432), ("calico-vxlan", "UDP", 4789), ("cilium-tunnel", "UDP", 8472)])
def test_wire_table_shows_what_crosses_the_node_network(profile, protocol, port):
    from grader.course import wire_table

    lab = grader.connect(profile, backend="sim", quiet=True)
    lab.deploy("shop")
    web, db = lab.state.pod("shop/web"), lab.state.pod("shop/db")
    table = wire_table(lab, "shop/web", "shop/db", 5432)
    assert list(table["interface"]) == [f"{web.node} eth0", f"{db.node} eth0"] and list(table["direction"]) == ["out", "in"]
    assert set(table["protocol"]) == {protocol} and all(d.endswith(f":{port}") for d in table["destination"])
    if protocol == "TCP":  # routed: the pods' own addresses on the wire
        assert table.iloc[0]["source"].startswith(f"{web.ip}:") and table.iloc[0]["carries"] == ""
    else:  # encapsulated: node addresses outside, the pod packet inside
        nodes = {n.name: n for n in lab.profile.nodes()}
        assert table.iloc[0]["source"].startswith(f"{nodes[web.node].ip}:")
        assert table.iloc[0]["carries"] == f"TCP {web.ip} → {db.ip}:5432 (inside VXLAN)"


def test_wire_table_is_a_model_of_the_simulated_cluster_only(shop):
    from grader.course import wire_table
    from grader.errors import LabError

    flat = grader.connect("calico-bgp", backend="sim", quiet=True)
    flat.deploy("shop")
    out = wire_table(flat, "shop/web", "api.example.com", 443)
    assert out.attrs["no route"].startswith("the gateway masquerades only the node network")

    class NotSimulated:
        backend = "kind"

    with pytest.raises(LabError, match="model of the simulated cluster"):
        wire_table(NotSimulated(), "shop/web", "shop/db", 5432)


def test_results_grid_puts_named_results_in_one_column_in_order(shop):
    from grader.course import results_grid
    from grader.render import compare_matrices

    results = {"attacker, directly": shop.probe("untrusted/attacker", "shop/db", 5432),
               "a port nobody serves": shop.probe("shop/api", "shop/db", 80)}
    grid = results_grid(results, "shop/db", port=5432)
    assert grid.sources == ("attacker, directly", "a port nobody serves") and grid.destinations == ("shop/db",)
    assert grid.verdict("attacker, directly", "shop/db") is grader.Verdict.ALLOWED
    assert grid.verdict("a port nobody serves", "shop/db") is grader.Verdict.REFUSED
    assert compare_matrices({"a": grid, "b": grid}).figure.axes[0].get_title() == "a"
