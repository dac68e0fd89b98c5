"""``result.explain()``: one line to read, the reasons, path and command folded until asked for."""

from __future__ import annotations

import html

import pytest

import grader
from grader.reachability import Verdict
from grader.reachability.explanation import SUMMARY_WIDTH, Explanation, summary_line

DENY_DB = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-only-api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
"""


@pytest.fixture(scope="module")
def shop():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(DENY_DB)
    return lab


def test_a_blocked_probe_reads_as_one_line_naming_the_side_that_blocked(shop) -> None:
    r = shop.probe("shop/web", "shop/db", 5432)
    assert r.verdict is Verdict.BLOCKED
    e = r.explain()
    assert isinstance(e, Explanation)
    line = str(e)
    assert "\n" not in line
    assert line.startswith("shop/web → shop/db 5432/TCP: BLOCKED — ingress to shop/db: BLOCKED, isolated by shop/db-only-api")
    assert f"{e}" == line == repr(e) and "%s" % e == line  # noqa: UP031 - %-formatting must give the same line


def test_an_allowed_probe_says_who_answered(shop) -> None:
    e = shop.probe("shop/api", "shop/db", 5432).explain()
    api = shop.state.pod("shop/api")
    assert str(e) == f"shop/api → shop/db 5432/TCP: ALLOWED — answered by shop/db (saw client {api.ip})"


def test_the_full_text_is_still_the_string_and_full_true_returns_it(shop) -> None:
    r = shop.probe("shop/web", "shop/db", 5432)
    e, full = r.explain(), r.explain(full=True)
    assert type(full) is str and e == full and e.full == full
    assert full.splitlines()[0] == r.summary()
    assert "path:" in full and "  policy: ingress to shop/db: dropped" in full  # every hop
    assert full.splitlines()[-1] == f"on a cluster: {r.command.line()}"
    # String operations see the whole text, as callers relied on before.
    assert "policy: ingress" in e and e.split("path:")[0] == full.split("path:")[0]
    assert "".join([e]) == full


def test_in_jupyterlab_the_rest_is_folded_in_a_details_element(shop) -> None:
    r = shop.probe("shop/web", "shop/db", 5432)
    page = r.explain()._repr_html_()
    assert page.startswith("<details") and page.endswith("</details>")
    summary = page[page.index("<summary"):page.index("</summary>")]
    assert html.escape(str(r.explain())) in summary
    folded = page[page.index("</summary>"):]
    assert html.escape(r.command.line()) in folded and folded.count(html.escape(r.command.line())) == 1
    assert html.escape("policy: ingress to shop/db: dropped") in folded


def test_ipython_plain_text_display_is_the_summary_line(shop) -> None:
    from IPython.lib.pretty import pretty

    e = shop.probe("shop/web", "shop/db", 5432).explain()
    assert pretty(e) == str(e)


def test_an_http_result_summarises_the_response(shop) -> None:
    url = f"http://{shop.state.pod('shop/web').ip}/hostname"
    r = shop.http("shop/api", url)
    assert r.verdict is Verdict.ALLOWED and r.http is not None
    assert str(r.explain()) == f"shop/api → {url} 80/TCP: ALLOWED — {r.http.render()}"
    assert r.http.render().startswith("HTTP 200")


def test_a_long_reason_is_cut_in_the_summary_only() -> None:
    reason = "x" * (SUMMARY_WIDTH + 50)
    line = summary_line("a → b 80/TCP: BLOCKED", [reason], allowed=False)
    assert line.endswith("…") and len(line) == len("a → b 80/TCP: BLOCKED — ") + SUMMARY_WIDTH
    assert summary_line("a → b 80/TCP: ALLOWED", [], allowed=True) == "a → b 80/TCP: ALLOWED"


def test_an_explanation_survives_pickling_and_copying(shop) -> None:
    import copy
    import pickle

    e = shop.probe("shop/web", "shop/db", 5432).explain()
    for other in (pickle.loads(pickle.dumps(e)), copy.deepcopy(e)):
        assert isinstance(other, Explanation) and other == e and str(other) == str(e) and other.command == e.command
