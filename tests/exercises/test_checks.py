"""grader.checks: the spec a test cell builds, the verdicts the verifier computes, the messages a
learner reads, the worker protocol, the ledger and the trusted re-check. Fast: no nbgrader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.checks import Check, CheckFailed, Outcome, SpecError, lab_value
from grader.checks.engine import evaluate
from grader.checks.outcome import request_digest
from grader.checks.trusted import literal_answers, load_ledger, recheck

DENY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""


dd = DENY
"""``verify()`` reads answers by name from its caller's globals, as a test cell reads the answer cell's variable."""


def shop(answer: str = "dd", **kw: object) -> Check:
    return Check("t", answer=answer, topology="shop", **kw)  # type: ignore[arg-type]


# -- spec ----------------------------------------------------------------------------------
def test_spec_is_plain_json_and_records_expectations_in_order() -> None:
    c = shop().expect_probe("a/b", "c/d", "53/UDP", verdict="blocked").expect_matrix(80, allow=["x/a -> y/b"], block=["y/* -> y/c"])
    spec = json.loads(json.dumps(c.spec()))
    assert spec["answers"] == ["dd"]
    assert spec["expect"][0] == {"kind": "probe", "source": "a/b", "destination": "c/d", "port": 53, "protocol": "UDP", "verdict": "blocked"}
    assert spec["expect"][1]["rules"] == [["x/a", "y/b", "allowed"], ["y/*", "y/c", "blocked"]]


@pytest.mark.parametrize("bad", [lambda: Check("bad id!", answer="x"), lambda: Check("t", answer="not a name"),
                                 lambda: Check("t", answer="x", format="json"), lambda: shop().expect_matrix(80, allow=["nonsense"])])
def test_instructor_mistakes_in_a_spec_raise_spec_errors(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError):
        bad()


def test_expect_probes_parses_flow_strings() -> None:
    c = shop().expect_probes("blocked", ["shop/web -> shop/db 5432", "shop/api -> kube-system/coredns-0 53/UDP"])
    assert [(e["destination"], e["port"], e["protocol"]) for e in c.spec()["expect"]] == [("shop/db", 5432, "TCP"), ("kube-system/coredns-0", 53, "UDP")]


# -- verdicts and messages -----------------------------------------------------------------
def test_a_correct_answer_passes_every_kind_of_expectation() -> None:
    c = (shop().expect_objects("NetworkPolicy", count=1, namespace="shop")
         .expect_probe("untrusted/attacker", "shop/web", 80, verdict="blocked")
         .expect_matrix(5432, destinations="shop/*", default="blocked")
         .expect_matrix(80, sources="shop/*", destinations="untrusted/*", default="allowed"))
    out = c.run({"dd": DENY})
    assert out.passed and not out.error
    assert [f.kind for f in out.findings] == ["objects", "probe", "matrix", "matrix"]
    assert sum(f.passed_count for f in out.findings) == 1 + 1 + 4 + 3  # 5 sources → db minus loopback; 3 shop pods → attacker


def test_a_wrong_flow_is_named_with_expected_observed_and_the_engines_reason() -> None:
    out = shop().expect_probe("shop/web", "shop/db", 5432, verdict="blocked").run({"dd": DENY.replace("{}, policyTypes", "{matchLabels: {app: web}}, policyTypes")})
    assert not out.passed
    text = out.message()
    assert "shop/web → shop/db 5432/TCP: expected BLOCKED, observed ALLOWED" in text
    assert "ingress to shop/db: allowed, not isolated" in text


def test_a_blocked_flow_explains_only_the_side_that_blocked_it() -> None:
    out = shop().expect_probe("untrusted/attacker", "shop/web", 80, verdict="allowed").run({"dd": DENY})
    text = out.message()
    assert "ingress to shop/web: BLOCKED, isolated by shop/default-deny-ingress" in text
    assert "egress from untrusted/attacker" not in text


def test_matrix_failures_draw_the_grid_and_a_png_marking_wrong_cells() -> None:
    out = shop().expect_matrix(80, destinations="shop/web", default="allowed").run({"dd": DENY})
    (finding,) = out.findings
    assert not finding.ok and finding.png
    assert "<table" in finding.html and "✗" in finding.html and "untrusted/attacker" in finding.html
    assert len(finding.problems) == 4  # every other pod → shop/web, loopback ignored


def test_messages_list_at_most_fifteen_flows_then_summarise() -> None:
    c = shop()
    for port in (80, 8080, 5432, 9100):
        c.expect_matrix(port, destinations="shop/*", default="allowed")
    text = c.run({"dd": DENY}).message()
    assert text.startswith("24 things wrong with `dd`:")  # 4 sources x (web:80, api:8080, db:5432, 3 pods:9100)
    assert text.count("\n• ") == 15 and "… and 9 more" in text


def test_objects_names_the_namespace_mistake() -> None:
    out = shop().expect_objects("NetworkPolicy", count=1, namespace="shop").run({"dd": DENY.replace(", namespace: shop", "")})
    assert "found 0; the answer contains: networkpolicy/default/default-deny-ingress" in out.message()
    assert "set metadata.namespace: shop" in out.message()
    flows = shop().expect_probe("untrusted/attacker", "shop/web", 80, verdict="blocked").run({"dd": DENY.replace("namespace: shop", "namespace: default")})
    assert flows.message().splitlines()[1] == ("note: networkpolicy/default/default-deny-ingress is in namespace 'default', where no pod "
                                               "of the lab runs: is metadata.namespace missing or misspelt?")
    # A namespace the test's own setup creates is a place the task may send objects to: no note there.
    edge = DENY.replace("namespace: shop", "namespace: edge")
    setup = shop().add_namespace("edge").expect_probe("untrusted/attacker", "shop/web", 80, verdict="blocked").run({"dd": edge})
    assert not setup.passed and "note:" not in setup.message()


@pytest.mark.parametrize(("answer", "fragment"), [
    ("\n# YOUR ANSWER HERE (YAML)\n", "`dd` is empty"),
    ("kind: [", "not valid YAML"),
    (DENY.replace("[Ingress]", "[Ingres]"), "networkpolicy/default-deny-ingress spec.policyTypes[0]: unsupported value 'Ingres'"),
    (DENY.replace("namespace: shop", "namespace: nowhere"), 'namespaces "nowhere" not found'),
    ("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n", "widget/x: kind 'Widget' (example.com/v1) is not supported by the lab"),
])
def test_bad_answers_fail_with_the_field_path_and_grade_nothing(answer: str, fragment: str) -> None:
    out = shop().expect_probe("shop/web", "shop/api", 8080).run({"dd": answer})
    assert not out.passed and out.error_kind == "answer" and not out.findings
    assert fragment in out.message()


def test_hidden_cells_without_expectations_still_apply_the_answer() -> None:
    assert shop().run({"dd": DENY}).passed
    assert shop().run({"dd": DENY}).hidden
    bad = shop().run({"dd": DENY.replace("namespace: shop", "namespace: nowhere")})
    assert not bad.passed and "could not be applied" in bad.message()


def test_a_broken_spec_is_reported_as_the_instructors_problem() -> None:
    out = shop().expect("no-such-kind").run({"dd": DENY})
    assert out.error_kind == "spec" and "not your fault" in out.message()
    out = shop().expect_matrix(80, destinations="nowhere/*").run({"dd": DENY})
    assert out.error_kind == "spec" and "matches no pod" in out.message()


# -- values --------------------------------------------------------------------------------
def values(**kw: object) -> Check:
    return Check("v", answer="v", format="values", topology="shop", **kw)  # type: ignore[arg-type]


def test_values_against_the_labs_own_addressing() -> None:
    from grader.lab.sim import SimulatedLab

    lab = SimulatedLab("kindnet")
    lab.deploy("shop")
    web = lab.state.pod("shop/web")
    assert web is not None
    node = lab.state.node(str(web.node))
    answer = f"ip: {web.ip}\nnode_ip: {node.ip}\ncidr: {node.pod_cidr}\nhops:\n  10.244.0.5: 172.18.0.2\ncount: 253\n"
    c = (values().expect_value("ip", lab_value("pod_ip", "shop/web")).expect_value("node_ip", lab_value("pod_node_ip", "shop/web"))
         .expect_value("cidr", lab_value("pod_node_pod_cidr", "shop/web")).expect_value(["hops", "10.244.0.5"], lab_value("next_hop", "10.244.0.5"))
         .expect_value("count", lab_value("pod_ips_per_node", "kind-worker")))
    assert c.run({"v": answer}).passed
    wrong = c.run({"v": answer.replace("count: 253", "count: 254")})
    assert wrong.message() == "1 thing wrong with `v`:\n• `count`: 254 is not right"


@pytest.mark.parametrize(("kw", "answer", "ok", "fragment"), [
    ({"type": "cidr"}, "10.244.1.7/24", False, "has host bits set: the network address of that range is 10.244.1.0/24"),
    ({"type": "ip", "within": "172.18.0.0/16"}, "10.0.0.1", False, "10.0.0.1 is not inside 172.18.0.0/16"),
    ({"equals": 110, "tolerance": 5}, "107", True, ""),
    ({"equals": 110, "tolerance": 1}, "107", False, "107 is not right"),
    ({"type": "verdict"}, "Blocked", True, ""),
    ({"type": "verdict"}, "no", False, "false is not a verdict (YAML reads unquoted yes/no/on/off as true/false)"),
    ({"equals": "kind-worker"}, "KIND-WORKER ", True, ""),
    ({"type": "cidr-list", "equals": ["10.0.0.0/8", "192.168.0.0/16"]}, "[192.168.0.0/16, 10.0.0.0/8]", True, ""),
])
def test_value_conversions(kw: dict, answer: str, ok: bool, fragment: str) -> None:
    out = values().expect_value("k", **kw).run({"v": f"k: {answer}"})
    assert out.passed is ok
    assert fragment in out.message()


def test_a_missing_key_lists_the_keys_found() -> None:
    out = values().expect_value("web_ip", type="ip").run({"v": "webip: 10.0.0.1"})
    assert "`web_ip` is missing from your answer (keys found: webip)" in out.message()


def test_calico_blocks_and_the_cilium_divergence_come_from_the_lab() -> None:
    calico = Check("c", answer="v", format="values", topology="shop", profile="calico-vxlan")
    calico.expect_value("n", lab_value("addresses_per_block")).expect_value("blocks", lab_value("blocks_in_pod_subnet"))
    assert calico.run({"v": "n: 64\nblocks: 1024"}).passed
    anywhere = ("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: any, namespace: shop}, "
                "spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}}")
    c = values().given(anywhere)
    c.expect_value("kindnet", lab_value("probe_verdict", "shop/web", "shop/api", 8080, profile="kindnet"))
    c.expect_value("cilium", lab_value("probe_verdict", "shop/web", "shop/api", 8080, profile="cilium-tunnel"))
    assert c.run({"v": "kindnet: allowed\ncilium: blocked"}).passed


# -- outcome, worker, stderr ---------------------------------------------------------------
def test_outcome_round_trips_through_json_with_its_digest() -> None:
    out = shop().expect_matrix(80, destinations="shop/web", default="allowed").run({"dd": DENY})
    again = Outcome.from_json(json.loads(json.dumps(out.to_json())))
    assert again == out
    assert out.digest == request_digest(shop().expect_matrix(80, destinations="shop/web", default="allowed").spec(), {"dd": DENY})


def test_check_failed_renders_the_message_without_frames() -> None:
    lines = CheckFailed("first line\nsecond")._render_traceback_()
    assert lines == ["\x1b[0;31mCheckFailed\x1b[0m: first line", "second"]


def test_verify_asks_a_separate_process_and_raises_naming_the_flow(capfd: pytest.CaptureFixture[str]) -> None:
    import os

    from grader.checks import client

    shop().expect_probe("untrusted/attacker", "shop/web", 80, verdict="blocked").verify()
    worker = client._worker
    assert worker is not None and worker.proc.pid != os.getpid()
    with pytest.raises(CheckFailed, match="untrusted/attacker → shop/web 80/TCP: expected ALLOWED, observed BLOCKED"):
        shop().expect_probe("untrusted/attacker", "shop/web", 80, verdict="allowed").verify()
    assert client._worker is worker  # one worker per kernel
    with pytest.raises(CheckFailed, match="`nothing_here` is not defined: run the answer cell"):
        Check("t", answer="nothing_here").verify()
    assert capfd.readouterr().err == ""  # nbgrader would score any stderr as 0


@pytest.mark.slow  # two fresh interpreters import the whole package to run the verifier's CLI
def test_verify_cli_check_mode(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(shop().expect_probe("untrusted/attacker", "shop/web", 80, verdict="blocked").spec()))
    (tmp_path / "good.yaml").write_text(DENY)
    (tmp_path / "bad.yaml").write_text("")
    run = [sys.executable, "-m", "grader.verify", "check", str(spec)]
    good = subprocess.run([*run, f"dd={tmp_path / 'good.yaml'}"], capture_output=True, text=True, check=False)
    bad = subprocess.run([*run, f"dd={tmp_path / 'bad.yaml'}"], capture_output=True, text=True, check=False)
    assert (good.returncode, bad.returncode) == (0, 1)
    assert "✓ 1 expectation met" in good.stdout and "`dd` is empty" in bad.stdout


@pytest.mark.slow  # a fresh interpreter imports the whole package
def test_verify_serve_answers_garbage_without_dying() -> None:
    from grader.checks.client import bootstrap_argv

    request = json.dumps({"op": "check", "spec": shop().spec(), "answers": {"dd": DENY}})
    proc = subprocess.run(bootstrap_argv("serve"), input=f"not json\n{request}\n", capture_output=True, text=True, timeout=60, check=True)
    first, second = proc.stdout.splitlines()
    assert "bad request" in json.loads(first)["fatal"]
    assert json.loads(second)["passed"] is True


# -- ledger and trusted re-check -----------------------------------------------------------
def test_ledger_keeps_the_last_well_formed_record_per_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.checks.trusted import record

    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("NETLAB_LEDGER", str(path))
    record("a", {"x": "one"})
    with path.open("a") as fh:
        fh.write("garbage\n" + json.dumps({"check": "a", "answers": "nope"}) + "\n" + json.dumps({"check": "b", "answers": {"x": 3}}) + "\n")
    record("a", {"x": "two"})
    assert load_ledger(str(path)) == {"a": {"x": "two"}, "b": {}}


def test_literal_answers_read_text_without_running_code() -> None:
    sources = ['x = """\nkind: A\n"""', 'y = "a" "b" + f"c"', "z = open('/etc/passwd').read()", 'x = """kind: B"""', "w = 1; w2 = 'ok'"]
    assert literal_answers(sources) == {"x": "kind: B", "y": "abc", "w2": "ok"}


CELL = '''from grader.checks import Check
check = Check("cell1", answer="dd", topology="shop")
check.expect_probe("untrusted/attacker", "shop/web", 80, verdict="blocked")
check.verify()
'''


def _summary(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "outputs"}


def test_recheck_grades_test_cells_with_ledger_or_literal_answers() -> None:
    cells = [{"grade_id": "cell1", "source": CELL}, {"grade_id": "plain", "source": "assert 1 + 1 == 2"},
             {"grade_id": "broken", "source": "from grader.checks import Check\nraise RuntimeError('boom')"}]
    results = recheck(cells, {"cell1": {"dd": DENY}})
    assert {g: _summary(r) for g, r in results.items()} == {
        "cell1": {"passed": True, "message": "", "checks": ["cell1"]},
        # a grade cell that builds no check fails closed: nothing outside the kernel could grade it
        "plain": {"passed": False, "message": "this test cell built no check, so it cannot be graded outside the notebook; tell your instructor", "checks": []},
        "broken": {"passed": False, "message": "RuntimeError: boom", "checks": []},
    }
    assert recheck(cells[:1], {"cell1": {"dd": ""}}, {"dd": DENY})["cell1"]["passed"] is False  # the ledger wins
    assert recheck(cells[:1], {}, {"dd": DENY})["cell1"]["passed"] is True  # nothing recorded: the answer cell's text
    missing = recheck(cells[:1], {}, {})["cell1"]
    assert not missing["passed"] and "no answer `dd` could be read" in missing["message"]


def test_recheck_outputs_are_what_nbgrader_scores() -> None:
    """A pass is a stdout summary, a failure an error output; never an execute_result (partial credit)."""
    from nbformat import NotebookNode
    from nbgrader.utils import determine_grade

    def score(outputs: list) -> float:
        cell = NotebookNode(cell_type="code", source="", outputs=[NotebookNode(o) for o in outputs],
                            metadata=NotebookNode(nbgrader=NotebookNode(grade=True, solution=False, points=2, grade_id="c")))
        return determine_grade(cell)[0]

    passed = recheck([{"grade_id": "cell1", "source": CELL}], {}, {"dd": DENY})["cell1"]["outputs"]
    failed = recheck([{"grade_id": "cell1", "source": CELL}], {}, {"dd": ""})["cell1"]["outputs"]
    assert [o["output_type"] for o in passed] == ["stream"] and score(passed) == 2
    assert failed[-1]["output_type"] == "error" and score(failed) == 0
    assert "`dd` is empty" in failed[-1]["evalue"]


HIDDEN_CELL = CELL.replace("check.verify()", """### BEGIN HIDDEN TESTS
check.add_pod("untrusted/spy", {"app": "spy"})
check.expect_matrix(80, sources="untrusted/*", destinations="shop/web", default="blocked")
### END HIDDEN TESTS
check.verify()""")


def _visible(source: str) -> str:
    """What VerifiedExecute passes as ``visible_source``: nbgrader's ClearHiddenTests applied."""
    from nbformat import NotebookNode
    from nbgrader.preprocessors import ClearHiddenTests

    cell = NotebookNode(cell_type="code", source=source, metadata=NotebookNode())
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return str(cell.source)


def test_visible_source_is_what_nbgrader_hands_out() -> None:
    assert _visible(HIDDEN_CELL).strip() == CELL.strip()


def test_failure_feedback_shows_only_the_visible_pictures_unless_revealed() -> None:
    """A failing hidden test names its wrong flows, but its pictures (the expected matrix, the pods
    the hidden test adds) appear only with reveal=True."""
    allow_all = DENY.replace("policyTypes: [Ingress]}", "policyTypes: [Ingress], ingress: [{}]}")
    cell = {"grade_id": "cell1", "source": HIDDEN_CELL, "visible_source": _visible(HIDDEN_CELL)}
    hidden = recheck([cell], {}, {"dd": allow_all})["cell1"]
    pictures = "".join(json.dumps(o) for o in hidden["outputs"] if o["output_type"] == "display_data")
    assert not hidden["passed"] and "untrusted/attacker" in hidden["message"]
    assert "untrusted/spy" not in pictures and "untrusted/attacker" in pictures  # the visible probe's table only
    revealed = recheck([cell], {}, {"dd": allow_all}, reveal=True)["cell1"]
    assert "untrusted/spy" in "".join(json.dumps(o) for o in revealed["outputs"] if o["output_type"] == "display_data")
    assert revealed["passed"] is False and revealed["message"] == hidden["message"]


def test_speculative_grades_are_kept_only_while_the_kernel_ran_the_same_answers() -> None:
    from grader.checks.trusted import settle, speculate

    cells = [{"grade_id": "cell1", "source": CELL}]
    early = speculate(cells, {"dd": DENY})
    assert early[0].result.passed and early[0].result.still_valid({}) and early[0].result.still_valid({"cell1": {"dd": DENY}})
    assert not early[0].result.still_valid({"cell1": {"dd": "computed: differently"}})
    assert settle(early, {"cell1": {"dd": DENY}}, {"dd": DENY})["cell1"]["passed"] is True
    assert settle(early, {"cell1": {"dd": ""}}, {"dd": DENY})["cell1"]["passed"] is False  # graded again


def test_long_messages_are_capped() -> None:
    from grader.checks.trusted import MAX_MESSAGE_CHARS, cap

    text = "\n".join(f"line {i} " + "x" * 100 for i in range(1000))
    out = cap(text)
    assert len(out) <= MAX_MESSAGE_CHARS + 60 and out.endswith(f"(message cut at {MAX_MESSAGE_CHARS} characters)")
    assert cap("short") == "short"


@pytest.mark.slow  # a fresh interpreter imports the whole package
def test_recheck_is_not_fooled_by_patches_in_the_calling_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A learner's patches live in the kernel; the re-check imports a clean grader in its own process."""
    from grader.checks.client import bootstrap_argv

    payload = json.dumps({"cells": [{"grade_id": "cell1", "source": CELL.replace('"blocked"', '"allowed"')}],
                          "ledger": None, "answer_sources": [f'dd = """{DENY}"""']})
    monkeypatch.setattr(Check, "verify", lambda self: None)
    monkeypatch.setenv("PYTHONPATH", "/nonexistent")
    proc = subprocess.run(bootstrap_argv("recheck"), input=payload, capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(proc.stdout)["cell1"]
    assert result["passed"] is False and "expected ALLOWED, observed BLOCKED" in result["message"]


def test_evaluate_never_raises_on_garbage() -> None:
    assert evaluate({"version": 99}, {}).error_kind == "spec"
    assert evaluate(shop().spec(), {}).error_kind == "answer"


# -- setup actions, the nsg format, Services/HTTP/TLS kinds, kind configs, planning values --------
WEB_SVC = "{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}}"
LB = ("apiVersion: v1\nkind: Service\nmetadata: {name: pub, namespace: shop}\n"
      "spec: {type: LoadBalancer, externalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 80, targetPort: http}]}\n")


def test_setup_steps_run_in_order_and_unknown_actions_are_the_instructors_problem() -> None:
    c = Check("t", answer="svc", topology="shop").add_pod("shop/web-2", {"app": "web"}, ["80/TCP/http"]).set_ready("shop/web-2")
    c.expect_distribution("shop/api", "web.shop", 80, answered_by=["shop/web"], requests=20)
    assert c.run({"svc": WEB_SVC}).passed  # the pod added by the setup is not ready: it never answers
    broken = Check("t", answer="svc").setup("no_such_action").run({"svc": WEB_SVC})
    assert broken.error_kind == "spec" and "unknown setup action 'no_such_action'" in broken.message()
    nopod = Check("t", answer="svc").set_ready("shop/ghost").run({"svc": WEB_SVC})
    assert nopod.error_kind == "spec" and "set_ready shop/ghost" in nopod.message()


def test_distribution_names_the_pods_that_answer_or_not_and_why_connections_failed() -> None:
    c = Check("t", answer="svc", topology="shop").add_pod("shop/web-2", {"app": "web"}, ["8080/TCP/http"])
    c.expect_distribution("shop/api", "web.shop", 80, answered_by=["shop/web", "shop/web-2"], requests=30)
    assert c.run({"svc": WEB_SVC}).passed  # by port name: 80 on one pod, 8080 on the other
    by_number = c.run({"svc": WEB_SVC.replace("targetPort: http", "targetPort: 80")})
    text = by_number.message()
    assert "shop/api → web.shop 80/TCP: shop/web-2 never answered in 30 connections" in text
    assert "connections got no answer" in text and "shop/web-2 does not listen on 80/TCP" in text


def test_an_address_from_the_lab_as_destination_and_the_client_ip_on_azure() -> None:
    c = Check("t", answer="lb", topology="shop", load_balancer="azure")
    c.expect_probe("api.example.com", lab_value("address", "service/shop/pub"), 80, verdict="allowed", client_ip="203.0.113.10")
    assert c.run({"lb": LB}).passed
    cluster = c.run({"lb": LB.replace("Local", "Cluster")}).message()
    assert "api.example.com → 192.0.2.10 (service/shop/pub) 80/TCP: the server should see client 203.0.113.10, it saw 172.18.0." in cluster
    c.expect_objects("Service", count=1, namespace="shop")
    nodeport = c.run({"lb": LB.replace("LoadBalancer", "NodePort").replace("externalTrafficPolicy: Local, ", "")})
    assert not nodeport.passed and not nodeport.error  # the missing address fails one expectation, the others are still checked
    assert [f.ok for f in nodeport.findings] == [False, True]
    assert "service/shop/pub has no external address yet (is it type LoadBalancer?" in nodeport.message()


def test_a_model_only_the_simulated_cluster_has_is_refused_on_kind() -> None:
    c = Check("t", answer="lb", topology="shop", load_balancer="azure").expect_probe("api.example.com", "shop/web", 80)
    out = evaluate(c.spec(), {"lb": LB}, backend="kind")
    assert out.error_kind == "lab" and "only the simulated cluster has" in out.message()


INGRESS = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  ingressClassName: nginx
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
"""


def tls_check() -> Check:
    c = Check("t", answer="ing", topology="shop").install_ingress_controller().given(WEB_SVC)
    c.tls_secret("shop-tls", "shop", ["shop.example.com"], ca="shop CA").tls_secret("other-tls", "shop", ["www.example.com"], ca="shop CA")
    addr = lab_value("address", "ingress/shop/shop")
    c.expect_http("host", "https://shop.example.com/", resolve=addr, ca="shop CA", status=200, answered_by="shop/web", trusted=True)
    c.expect_http("host", "http://shop.example.com/x", resolve=addr, status=308, location="https://shop.example.com/x")
    return c


def test_http_checks_status_backend_redirect_and_a_certificate_only_the_verifier_can_issue() -> None:
    from grader.tls import mint_ca

    out = tls_check().run({"ing": INGRESS})
    assert out.passed, out.message()
    assert out.findings[0].html and "Requests: 2 of 2 as expected" in out.findings[0].html
    wrong_host = tls_check().run({"ing": INGRESS.replace("secretName: shop-tls", "secretName: other-tls")}).message()
    assert "host → https://shop.example.com/ via 172.18.0.5: a client trusting shop CA should trust the certificate" in wrong_host
    forged = mint_ca("shop CA").issue(["shop.example.com"]).secret("shop-tls", "shop")  # same name, another key
    import yaml

    own = tls_check().run({"ing": yaml.safe_dump(forged) + "---\n" + INGRESS}).message()
    assert "not a CA the client trusts" in own
    no_tls = tls_check().run({"ing": INGRESS.replace("  tls: [{hosts: [shop.example.com], secretName: shop-tls}]\n", "")}).message()
    assert "expected HTTP 308, got HTTP 200 from shop/web" in no_tls


NSG_RULES = """securityRules:
- {name: deny-https-out, priority: 200, direction: Outbound, access: Deny, protocol: Tcp, sourceAddressPrefix: "*",
   sourcePortRange: "*", destinationAddressPrefix: Internet, destinationPortRange: "443"}
"""


def test_nsg_answers_are_attached_to_the_node_subnet_and_validated_with_field_paths() -> None:
    c = Check("t", answer="rules", format="nsg", topology="shop").expect("nsg_rules", direction="Outbound", at_least=1)
    c.expect_probe("shop/web", "203.0.113.10", 443, verdict="blocked").expect_probe("shop/web", "203.0.113.10", 80, verdict="allowed")
    assert c.run({"rules": NSG_RULES}).passed
    inbound = c.run({"rules": NSG_RULES.replace("Outbound", "Inbound")}).message()
    assert "`rules`: expected at least 1 Outbound rule(s), found 0 (it has deny-https-out (Inbound))" in inbound
    assert "shop/web → 203.0.113.10 443/TCP: expected BLOCKED, observed ALLOWED" in inbound
    bad = c.run({"rules": NSG_RULES.replace("priority: 200", "priority: 99")})
    assert bad.error_kind == "answer" and "nsg/rules securityRules[0].priority: invalid priority 99" in bad.message()
    assert "is empty" in c.run({"rules": "# YOUR ANSWER HERE (YAML)"}).message()
    assert "not valid YAML" in c.run({"rules": "securityRules: [\n"}).message()


KIND = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {podSubnet: 100.64.0.0/16, serviceSubnet: 100.65.0.0/20}
nodes: [{role: control-plane}, {role: worker}, {role: worker}]
"""


@pytest.mark.parametrize(("change", "fragment"), [
    (("100.64.0.0/16", "10.244.0.0/16"), "`networking.podSubnet`: 10.244.0.0/16 overlaps the peered/on-premises network 10.0.0.0/8 (VPN)"),
    (("100.65.0.0/20", "172.18.0.0/16"), "`networking.serviceSubnet`: 172.18.0.0/16 overlaps the kind network 172.18.0.0/16"),
    (("100.64.0.0/16", "100.64.0.0/25"), "100.64.0.0/25 holds 0 /24 block(s)"),
    (("100.65.0.0/20", "100.80.0.0/12"), "`networking.serviceSubnet`: 100.80.0.0/12 is a /12; the task asks for a /16 to a /24"),
    (("podSubnet", "podCidr"), "unknown field 'podCidr' in v1alpha4.Networking"),
    (("{role: worker}, {role: worker}", "{role: worker}"), "`nodes`: 1 node(s) with role worker, expected 2"),
])
def test_kind_configs_are_checked_like_kind_and_the_planning_guidance_then_run(change: tuple[str, str], fragment: str) -> None:
    c = Check("t", answer="kc", format="values", topology=None)
    c.expect("kind_config", nodes={"control-plane": 1, "worker": 2}, avoid={"VPN": "10.0.0.0/8"}, service_prefix=[16, 24])
    ok = c.run({"kc": KIND})
    assert ok.passed and ok.findings[0].passed_count == 4  # valid, nodes, ranges, and the lab run on them
    text = c.run({"kc": KIND.replace(*change)}).message()
    assert fragment in text


def test_kind_config_aspects_are_named() -> None:
    out = Check("t", answer="kc", format="values", topology=None).expect("kind_config", aspects=["valid", "speed"]).run({"kc": KIND})
    assert out.error_kind == "spec" and "unknown aspects ['speed']" in out.message()


def test_planning_values_reproduce_microsofts_worked_example() -> None:
    c = Check("t", answer="p", format="values", topology=None)
    c.expect_value("addresses", lab_value("aks_flat_addresses", 50, 30, 1)).expect_value("prefix", lab_value("aks_flat_prefix", 50, 30, 1))
    c.expect_value("nodes", lab_value("aks_overlay_nodes", "10.244.0.0/16")).expect_value("per24", lab_value("aks_flat_max_nodes", 24, 30))
    c.expect_value("share", lab_value("aks_flat_utilisation", 50, 30, 1), type="number", tolerance=0.01)
    assert c.run({"p": "addresses: 1581\nprefix: 21\nnodes: 256\nper24: 8\nshare: 0.78"}).passed  # 1581 of 2043 usable
    assert "`share`: 0.9 is not right" in c.run({"p": "addresses: 1581\nprefix: 21\nnodes: 256\nper24: 8\nshare: 0.9"}).message()


def test_extra_external_hosts_resolve_for_fqdn_rules_on_the_simulated_cluster() -> None:
    from grader.errors import LabError
    from grader.lab.sim import SimulatedLab

    c = Check("t", answer="p", topology="shop", profile="cilium-tunnel").add_external_host("example.com", "203.0.113.20")
    c.expect_probe("shop/web", "example.com", 443, verdict="allowed").expect_probe("shop/web", "example.com", 22, verdict="refused")
    assert c.run({"p": DENY}).passed
    lab = SimulatedLab("kindnet")
    with pytest.raises(LabError, match=r"already used by api\.example\.com"):
        lab.add_external_host("other.example.com", "203.0.113.10")


def test_the_trusted_recheck_draws_no_pictures() -> None:
    spec = shop().expect_matrix(80, destinations="shop/web", default="allowed").spec()
    drawn, plain = evaluate(spec, {"dd": DENY}), evaluate(spec, {"dd": DENY}, pictures=False)
    assert drawn.findings[0].png and drawn.findings[0].html
    assert not plain.findings[0].png and not plain.findings[0].html
    assert plain.message() == drawn.message()


def _api_egress_to(cidr: str) -> str:
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: api-egress, namespace: shop}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  policyTypes: [Egress]
  egress: [{{to: [{{ipBlock: {{cidr: {cidr}}}}}], ports: [{{protocol: TCP, port: 443}}]}}]
"""


def test_a_neighbour_host_catches_a_range_wider_than_the_one_address_asked() -> None:
    c = Check("t", answer="eg", topology="shop").add_neighbour_host("next-door.example.com", "203.0.113.11")
    c.expect_probe("shop/api", "203.0.113.10", 443, verdict="allowed").expect_probe("shop/api", "203.0.113.11", 443, verdict="blocked")
    assert c.run({"eg": _api_egress_to("203.0.113.10/32")}).passed
    wide = c.run({"eg": _api_egress_to("203.0.113.0/24")})
    assert not wide.passed and "shop/api → 203.0.113.11 443/TCP: expected BLOCKED, observed ALLOWED" in wide.message()
    no_host = Check("t", answer="eg", topology="shop").expect_probe("shop/api", "203.0.113.11", 443, verdict="blocked")
    assert no_host.run({"eg": _api_egress_to("203.0.113.0/24")}).passed  # without the host, nothing answers there: the gap


def test_a_neighbour_host_is_left_out_where_the_backend_cannot_create_hosts() -> None:
    """kind cannot invent internet hosts (KindLab has no add_external_host): the action then leaves the
    address empty instead of failing the check, so a right answer still passes on kind."""
    from grader.checks.actions import ACTIONS
    from grader.kind.lab import KindLab

    assert not hasattr(KindLab, "add_external_host")
    ACTIONS["add_neighbour_host"](None, object(), {"name": "next-door.example.com", "ip": "203.0.113.11"})
    with pytest.raises(SpecError, match="'next door' is not an IP address"):
        ACTIONS["add_neighbour_host"](None, object(), {"name": "x", "ip": "next door"})


API_SVC = """apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: http}]
"""


@pytest.mark.parametrize(("spec_line", "fragments"), [
    ("", ()),
    ("  type: NodePort\n", ("service/shop/api is type NodePort, expected ClusterIP", "vm.internal → node:kind-worker",
                            "(node port of 80): ALLOWED, answered by shop/api")),
    ("  type: LoadBalancer\n", ("service/shop/api is type LoadBalancer, expected ClusterIP", "external address 172.18.0.5")),
])
def test_service_type_shows_what_another_type_opens(spec_line: str, fragments: tuple[str, ...]) -> None:
    c = Check("t", answer="svc", topology="shop").expect("service_type", service="shop/api", type="ClusterIP")
    out = c.run({"svc": API_SVC.replace("spec:\n", "spec:\n" + spec_line)})
    assert out.passed is (not fragments)
    for fragment in fragments:
        assert fragment in out.message()


def test_service_type_of_a_missing_service_names_it() -> None:
    c = Check("t", answer="svc", topology="shop").expect("service_type", service="shop/backend", type="ClusterIP")
    out = c.run({"svc": API_SVC})
    assert not out.passed and "service/shop/backend: no such Service in the lab" in out.message()


def test_an_http_verdict_may_be_one_of_several() -> None:
    """``verdict=["blocked", "refused"]``: no answer, whichever way the port is closed (exercise 3's HTTPS-only Gateway)."""
    def check() -> Check:
        c = Check("t", answer="ing", topology="shop").install_ingress_controller().given(WEB_SVC)
        c.tls_secret("shop-tls", "shop", ["shop.example.com"], ca="shop CA")
        c.expect_http("host", "http://shop.example.com:8081/", resolve=lab_value("address", "ingress/shop/shop"), verdict=["blocked", "refused"])
        return c

    closed = check().run({"ing": INGRESS})
    assert closed.passed, closed.message()
    assert closed.findings[0].row is not None and closed.findings[0].row["expected"] == "blocked or refused"
    open_port = Check("t", answer="ing", topology="shop").install_ingress_controller().given(WEB_SVC)
    open_port.tls_secret("shop-tls", "shop", ["shop.example.com"], ca="shop CA")
    open_port.expect_http("host", "http://shop.example.com/", resolve=lab_value("address", "ingress/shop/shop"), verdict=["blocked", "refused"])
    message = open_port.run({"ing": INGRESS}).message()
    assert "expected BLOCKED or REFUSED, observed ALLOWED" in message
    assert check().spec()["expect"][0]["verdict"] == ["blocked", "refused"]
