"""agnhost / curl / exec outputs -> Verdicts, and the convergence loop."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from grader.kind.probing import (
    DNS_DEADLINE_S, connect_command, converge, host_port, parse_clientip, parse_exec_status, verdict_from_connect,
)
from grader.reachability import Reachability, ReachabilityMatrix, Verdict
from grader.reachability.probe import Probe, ProbeResult
from grader.model import Protocol

# stderr exactly as agnhost connect prints it (test/images/agnhost/connect/connect.go)
@pytest.mark.parametrize(("code", "stderr", "verdict"), [
    (0, "", Verdict.ALLOWED),
    (1, "TIMEOUT\n", Verdict.BLOCKED),
    (1, "TIMEOUT: read udp 10.244.1.3:41254->10.244.2.4:80: i/o timeout\n", Verdict.BLOCKED),
    (1, "REFUSED\n", Verdict.REFUSED),
    (1, "REFUSED: read udp 10.244.1.3:50612->10.244.2.4:82: read: connection refused\n", Verdict.REFUSED),
    (1, "DNS: lookup web.nowhere on 10.96.0.10:53: no such host\n", Verdict.DNS_FAILED),
    (1, "OTHER: connection refused\n", Verdict.REFUSED),  # SCTP ABORT
    (1, "OTHER: dial tcp 10.244.2.4:80: connect: no route to host\n", Verdict.BLOCKED),
    (1, "OTHER: dial tcp 10.244.2.4:80: connect: network is unreachable\n", Verdict.BLOCKED),
    (1, "OTHER: No data received from the server. Cannot guarantee the server received the request.\n", Verdict.PROBE_FAILED),
    (1, "UNKNOWN: address 10.244.2.4: missing port in address\n", Verdict.PROBE_FAILED),
    (1, "Unsupported protocol\nicmp", Verdict.PROBE_FAILED),
    (2, "", Verdict.PROBE_FAILED),
    (None, "", Verdict.PROBE_FAILED),
])
def test_connect_output_to_verdict(code: int | None, stderr: str, verdict: Verdict) -> None:
    got, reason = verdict_from_connect(code, stderr)
    assert got is verdict
    assert reason


def test_a_probe_that_could_not_run_is_never_blocked() -> None:
    verdict, reason = verdict_from_connect(None, "", exec_error='container "cont-80-tcp" in pod "a" is waiting to start: ContainerCreating')
    assert verdict is Verdict.PROBE_FAILED and "ContainerCreating" in reason


def test_exec_status_channel() -> None:
    assert parse_exec_status('{"metadata":{},"status":"Success"}') == (0, "")
    nonzero = ('{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command '
               '[/agnhost connect 10.244.2.4:80 --timeout=1s --protocol=tcp], exit code 1","reason":"NonZeroExitCode",'
               '"details":{"causes":[{"reason":"ExitCode","message":"1"}]}}')
    assert parse_exec_status(nonzero)[0] == 1
    oci = ('{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: '
           'failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: \\"/agnhost\\": stat /agnhost: no such file or directory: unknown",'
           '"reason":"InternalError","details":{"causes":[{"message":"error executing command in container"}]},"code":500}')
    code, message = parse_exec_status(oci)
    assert code is None and "no such file or directory" in message
    assert parse_exec_status("")[0] is None
    assert parse_exec_status("not yaml: [")[0] is None


def test_connect_command_as_upstream() -> None:
    assert connect_command("10.244.2.4", 80, "tcp") == ["/agnhost", "connect", "10.244.2.4:80", "--timeout=1s", "--protocol=tcp"]
    assert connect_command("fd00:10:244::4", 81, Protocol.SCTP)[2:] == ["[fd00:10:244::4]:81", "--timeout=1s", "--protocol=sctp"]
    assert host_port("web.shop.svc.cluster.local", 80) == "web.shop.svc.cluster.local:80"


def test_a_lookup_nobody_answers_is_a_dns_failure(tmp_path) -> None:
    """The wrapper for names, run with /bin/sh and coreutils/busybox ``timeout``; a stand-in agnhost
    that hangs like a lookup whose queries are dropped, and one that connects."""
    import shutil
    import subprocess

    if shutil.which("timeout") is None:
        pytest.skip("needs timeout(1)")
    cmd = connect_command("web.shop", 80, "tcp")
    assert cmd[:2] == ["/bin/sh", "-c"] and cmd[4:] == [str(DNS_DEADLINE_S), "web.shop:80", "1s", "tcp"]
    hang, ok = tmp_path / "hang", tmp_path / "ok"
    hang.write_text("#!/bin/sh\nsleep 30\n")
    ok.write_text("#!/bin/sh\nexit 0\n")
    for f in (hang, ok):
        f.chmod(0o755)
    stuck = subprocess.run([cmd[0], cmd[1], cmd[2].replace("/agnhost", str(hang)), "sh", "1", *cmd[5:]], capture_output=True, text=True, check=False)
    verdict, reason = verdict_from_connect(stuck.returncode, stuck.stderr)
    assert verdict is Verdict.DNS_FAILED and "no answer to the lookup of web.shop:80" in reason
    fine = subprocess.run([cmd[0], cmd[1], cmd[2].replace("/agnhost", str(ok)), "sh", *cmd[4:]], capture_output=True, text=True, check=False)
    assert verdict_from_connect(fine.returncode, fine.stderr)[0] is Verdict.ALLOWED


def test_clientip_parsing() -> None:
    assert parse_clientip("10.244.1.7:43512") == "10.244.1.7"
    assert parse_clientip("[fd00:10:244::7]:43512") == "fd00:10:244::7"
    assert parse_clientip("") is None and parse_clientip("garbage") is None


def _matrix(verdict: Verdict) -> ReachabilityMatrix:
    return ReachabilityMatrix(80, Protocol.TCP, ("x/a",), ("x/b",), {("x/a", "x/b"): ProbeResult(Probe("x/a", "x/b", 80), verdict, "r")})


def test_converge_retries_until_the_expectation_holds() -> None:
    expected = Reachability(["x/a"], ["x/b"], port=80).expect("x/a", "x/b", Verdict.BLOCKED)
    observed = iter([Verdict.ALLOWED, Verdict.ALLOWED, Verdict.BLOCKED])
    now = [0.0]
    logs: list[str] = []
    comparison, attempts = converge(lambda: expected.compare(_matrix(next(observed))), timeout=30, interval=2,
                                    clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s), log=logs.append)
    assert comparison.ok and attempts == 3 and now[0] == 4.0
    assert len(logs) == 2 and "x/a → x/b: ALLOWED" in logs[0]


def test_converge_gives_up_at_the_deadline() -> None:
    expected = Reachability(["x/a"], ["x/b"], port=80).expect("x/a", "x/b", Verdict.BLOCKED)
    now = [0.0]
    logs: list[str] = []
    comparison, attempts = converge(lambda: expected.compare(_matrix(Verdict.ALLOWED)), timeout=10, interval=2,
                                    clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s), log=logs.append)
    assert not comparison.ok and attempts == 6 and now[0] == 10
    assert "still 1 flow(s) not as expected after 6 attempts" in logs[-1]


def test_a_timeout_is_confirmed_once_before_it_reads_blocked() -> None:
    """R2: one missed 1 s handshake on a busy machine used to read BLOCKED."""
    from grader.kind.probing import confirm_blocked

    tries: list[str] = []

    def again(result: tuple[Verdict, str]) -> Callable[[], tuple[Verdict, str]]:
        def run() -> tuple[Verdict, str]:
            tries.append("again")
            return result
        return run

    blocked = (Verdict.BLOCKED, "no answer within the probe timeout (TIMEOUT)")
    assert confirm_blocked(blocked, again((Verdict.ALLOWED, "connected")))[0] is Verdict.ALLOWED
    verdict, reason = confirm_blocked(blocked, again(blocked))
    assert verdict is Verdict.BLOCKED and reason.endswith("(also on a second try with a 3s timeout)")
    assert confirm_blocked((Verdict.REFUSED, "refused"), again(blocked)) == (Verdict.REFUSED, "refused")
    assert tries == ["again", "again"]


def test_address_wait_polls_until_cloud_provider_kind_writes_it() -> None:
    """C5: right after apply() the LoadBalancer has no address on kind; address() waits, says so once."""
    from grader.kind.probing import wait_for_address

    now = [0.0]
    answers = iter([None, None, None, "172.18.0.7"])
    said: list[str] = []
    found, why = wait_for_address(lambda: next(answers), "Service shop/web", clock=lambda: now[0],
                                  sleep=lambda s: now.__setitem__(0, now[0] + s), log=said.append)
    assert (found, why) == ("172.18.0.7", "")
    assert said == ["netlab: waiting for cloud-provider-kind to assign an address to Service shop/web (up to 60s; the first one pulls its Envoy image)"]
    now[0] = 0.0
    found, why = wait_for_address(lambda: None, "Service shop/web", timeout=5, clock=lambda: now[0],
                                  sleep=lambda s: now.__setitem__(0, now[0] + s), log=said.append)
    assert found is None and why.startswith("no address after 5s: is cloud-provider-kind running?")
    found, why = wait_for_address(lambda: None, "Gateway shop/gw", problem=lambda: "GatewayClass cloud-provider-kind not accepted",
                                  clock=lambda: now[0], sleep=lambda s: None, log=said.append)
    assert (found, why) == (None, "GatewayClass cloud-provider-kind not accepted")
