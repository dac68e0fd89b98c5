"""The command a simulated result shows is the argv the kind backend runs for the same probe.

The kind side is the real ``LiveLab`` (real kubernetes client) against ``FakeCluster``, a small
API server holding the same pods, nodes and addresses as the simulated cluster; its ``_exec``
records the argv instead of running it (agnhost, curl and dig run in pods, which are not here).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_apiserver import FakeCluster

import grader
from grader.errors import LabError
from grader.kind import apply as kind_apply
from grader.kind.external_layout import VM_NAME, container_name
from grader.kind.lab import LiveLab
from grader.kind.workloads import probe_pod_manifest
from grader.lab.sim.lab import SimulatedLab
from grader.model import Protocol
from grader.reachability import commands
from grader.reachability.commands import Runner


class RecordingLab(LiveLab):
    """The live Lab; exec records (namespace, pod, argv) and answers like a pod with no tools would."""

    def __init__(self, *args: Any, resolv_conf: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.execs: list[tuple[str, str, list[str]]] = []
        self.resolv_conf = resolv_conf

    def _exec(self, namespace: str, pod: str, container: str, command: list[str], timeout: float = 20.0) -> tuple[int | None, str, str, str]:
        if command == ["cat", "/etc/resolv.conf"]:
            return 0, self.resolv_conf, "", ""
        self.execs.append((namespace, pod, command))
        return None, "", "", "recorded, not run"


@pytest.fixture(scope="module")
def sim() -> SimulatedLab:
    lab = grader.connect("kindnet", backend="sim")
    lab.deploy("shop")
    return lab  # type: ignore[return-value]


@pytest.fixture
def live(sim: SimulatedLab, tmp_path: Path) -> Iterator[RecordingLab]:
    """A fake API server with the simulated cluster's namespaces, nodes and pods (same names, IPs, ports)."""
    with FakeCluster(tmp_path / "pods") as cluster:
        cluster.add(*({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in ("shop", "monitoring", "untrusted")))
        cluster.add(*({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n.name},
                       "status": {"addresses": [{"type": "InternalIP", "address": str(n.ip)}]}} for n in sim.state.nodes))
        for p in sim.pods():
            ports = [{"containerPort": c.port, "protocol": c.protocol.value, **({"name": c.name} if c.name else {})} for c in p.ports]
            cluster.pod(p.namespace, p.name, dict(p.labels.items()), str(p.ip), ports=ports, node=p.node or "kind-worker")
        probe = probe_pod_manifest("kind-worker", kind_apply.PROBE_NAMESPACE)
        cluster.pod(kind_apply.PROBE_NAMESPACE, probe["metadata"]["name"], {}, str(sim.state.node("kind-worker").ip), node="kind-worker")
        search = sim.nslookup("shop/web", "api").search
        resolv = f"search {' '.join(search)}\nnameserver 10.96.0.10\noptions ndots:5\n"
        yield RecordingLab("kindnet", kubeconfig=str(cluster.kubeconfig(tmp_path / "kubeconfig")), context="fake", quiet=True,
                           resolv_conf=resolv)


PROBES = [
    ("shop/web", "shop/api", 8080, "TCP"),     # a pod, by its IP
    ("shop/web", "shop/api", None, "TCP"),     # the destination's first port
    ("shop/api", "shop/db", "postgres", "TCP"),  # a named port
    ("shop/web", "api.shop", 8080, "TCP"),     # a Service name: the lookup is bounded
    ("shop/web", "10.96.0.10", 53, "UDP"),
    ("node:kind-worker", "shop/api", 8080, "TCP"),  # from the node's probe pod
    ("shop/web", "node:kind-worker2:30080", None, "TCP"),  # a nodePort on a node
]


@pytest.mark.parametrize(("source", "destination", "port", "protocol"), PROBES)
def test_a_probe_shows_the_argv_the_kind_backend_execs(sim: SimulatedLab, live: RecordingLab, source: str, destination: str,
                                                      port: int | str | None, protocol: str) -> None:
    shown = sim.probe(source, destination, port, protocol).command
    observed = live.probe(source, destination, port, protocol)
    assert shown is not None and len(live.execs) == 1
    namespace, pod, argv = live.execs[0]
    assert (shown.runner, shown.namespace, shown.target, list(shown.argv)) == (Runner.POD, namespace, pod, argv)
    assert shown.line().startswith(f"kubectl exec -n {namespace} {pod} -- ")
    assert observed.command == shown  # the kind backend's result shows the same line


@pytest.mark.parametrize(("url", "kw"), [
    ("http://api.shop:8080/hostname", {}),
    ("https://shop.example.com/cart?x=1", {"resolve": "shop/web", "headers": {"X-Version": "v2"}}),
    ("http://10.96.0.10/", {"method": "HEAD", "host": "shop.example.com"}),
])
def test_an_http_request_shows_the_curl_the_kind_backend_execs(sim: SimulatedLab, live: RecordingLab, url: str, kw: dict[str, Any]) -> None:
    shown = sim.http("shop/web", url, **kw).command
    observed = live.http("shop/web", url, **kw)
    assert shown is not None and len(live.execs) == 1
    assert ("shop", "web", list(shown.argv)) == live.execs[0]
    assert observed.command == shown  # the kind backend's result shows the same line
    # The line to type drops only what the backend adds to read curl's answer.
    assert [a for a in shown.argv if a not in shown.shown] == ["-sS", "-v", "-o", "-", "-w", commands.CURL_WRITE_OUT]


def test_a_lookup_shows_the_dig_the_kind_backend_runs(sim: SimulatedLab, live: RecordingLab) -> None:
    found = sim.nslookup("shop/web", "api.shop")
    with pytest.raises(LabError):  # the recorded exec printed nothing
        live.nslookup("shop/web", "api.shop")
    namespace, pod, argv = live.execs[0]
    assert argv[:4] == ["/bin/sh", "-c", commands.DIG_SCRIPT, "sh"]
    assert argv[4:] == ["api.shop.shop.svc.cluster.local.", "api.shop.svc.cluster.local.", "api.shop.cluster.local.", "api.shop."]
    assert found.command == f"kubectl exec -n {namespace} {pod} -- dig +search +showsearch api.shop"
    assert found.command in found.explain()


def test_places_are_named_as_the_kind_backend_names_them() -> None:
    assert commands.PROBE_NAMESPACE == kind_apply.PROBE_NAMESPACE
    assert commands.probe_pod_name("kind-worker") == probe_pod_manifest("kind-worker", "x")["metadata"]["name"]
    assert commands.external_container(VM_NAME) == container_name(VM_NAME)


def test_sources_outside_the_cluster(sim: SimulatedLab) -> None:
    vm = sim.probe("vm.internal", "shop/api", 8080).command
    assert vm is not None and vm.line() == f"docker exec netlab-vm-internal /agnhost connect {sim.state.pod('shop/api').ip}:8080 --timeout=1s --protocol=tcp"
    host = sim.probe("host", "node:kind-worker:30080").command
    assert host is not None and host.line() == "nc -z -w 1 172.18.0.3 30080"
    assert sim.probe("api.example.com", "shop/web", 80).command is None  # internet hosts only answer on kind
    assert sim.probe("shop/nope", "shop/web", 80).command is None


def test_the_line_is_one_shell_line_that_splits_back_into_the_command() -> None:
    cmd = commands.in_pod(commands.curl(commands.plan("https://a.example/x y", host="b", resolve="fd00::5")), "shop", "web")  # type: ignore[arg-type]
    line = cmd.line()
    assert "\n" not in line
    assert shlex.split(line) == ["kubectl", "exec", "-n", "shop", "web", "--", *cmd.shown]
    assert "--connect-to" in cmd.shown and "a.example:443:[fd00::5]:443" in cmd.shown


def test_a_name_is_probed_under_a_deadline_an_address_is_not() -> None:
    by_ip = commands.connect("fd00::5", 80, Protocol.UDP)
    assert by_ip.argv == by_ip.shown == ("/agnhost", "connect", "[fd00::5]:80", "--timeout=1s", "--protocol=udp")
    by_name = commands.connect("web.shop", 80, "tcp")
    assert by_name.argv[0] == "/bin/sh" and by_name.shown[:2] == ("timeout", str(commands.DNS_DEADLINE_S))
    assert by_name.shown[2:] == ("/agnhost", "connect", "web.shop:80", "--timeout=1s", "--protocol=tcp")
