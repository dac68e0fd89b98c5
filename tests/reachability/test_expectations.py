"""Expectations with upstream-style wildcards, comparisons and their renderings."""

from __future__ import annotations

import pytest

from grader import Protocol, Reachability, SimulatedLab, Verdict
from grader.reachability import Probe, ProbeResult, ReachabilityMatrix, matches

PODS = ["x/a", "x/b", "y/a"]


def observed(cells: dict[tuple[str, str], Verdict]) -> ReachabilityMatrix:
    results = {
        (s, d): ProbeResult(Probe(s, d, 80), cells.get((s, d), Verdict.ALLOWED), f"why {s}->{d}")
        for s in PODS for d in PODS
    }
    return ReachabilityMatrix(80, Protocol.TCP, tuple(PODS), tuple(PODS), results)


@pytest.mark.parametrize(("pattern", "ref", "hit"), [
    ("*", "x/a", True), ("x/*", "x/a", True), ("x/*", "y/a", False), ("*/a", "y/a", True),
    ("x/a", "x/a", True), ("x/a", "x/b", False), ("shop/web-*", "shop/web-1", True),
])
def test_wildcards(pattern: str, ref: str, hit: bool) -> None:
    assert matches(pattern, ref) is hit


def test_later_expectations_override_earlier_ones() -> None:
    r = Reachability(PODS, port=80)
    r.expect_all_ingress("x/*", Verdict.BLOCKED).expect("x/b", "x/a", Verdict.ALLOWED)
    assert r.expected("y/a", "x/a") is Verdict.BLOCKED
    assert r.expected("x/b", "x/a") is Verdict.ALLOWED
    assert r.expected("x/a", "y/a") is Verdict.ALLOWED


def test_expectation_that_matches_nothing_is_an_error() -> None:
    with pytest.raises(KeyError, match="no \\(source, destination\\) pair matches"):
        Reachability(PODS).expect("z/*", "*", Verdict.BLOCKED)


def test_comparison_names_each_wrong_flow_with_the_reason() -> None:
    r = Reachability(PODS, port=80).expect_all_ingress("y/a", Verdict.BLOCKED)
    cmp = r.compare(observed({("x/b", "y/a"): Verdict.BLOCKED}))
    assert not cmp.ok
    assert cmp.summary() == "1 wrong of 6 flows; 3 loopback ignored"
    assert "x/a → y/a 80/TCP: expected BLOCKED, observed ALLOWED\n    why: why x/a->y/a" in cmp.report()


def test_loopback_counts_when_not_ignored() -> None:
    r = Reachability(PODS, port=80, ignore_loopback=False).expect("x/a", "x/a", Verdict.BLOCKED)
    cmp = r.compare(observed({}))
    assert [(m.source, m.destination) for m in cmp.wrong] == [("x/a", "x/a")]


def test_grids_and_renderings() -> None:
    r = Reachability(PODS, port=80).expect("x/a", "y/a", Verdict.BLOCKED)
    cmp = r.compare(observed({}))
    grids = cmp.grids()
    assert "Expected:" in grids and "Observed:" in grids and "Comparison (X = wrong):" in grids
    html = cmp._repr_html_()
    assert "<table" in html and "✗" in html
    png = cmp.plot().png()
    assert png.startswith(b"\x89PNG")


def test_matrix_renderings_from_the_simulated_lab() -> None:
    lab = SimulatedLab()
    lab.deploy("e2e")
    m = lab.matrix(80)
    text = m.text()
    assert text.splitlines()[0].split()[:3] == ["80/TCP", "x/a", "x/b"]
    assert m.count(Verdict.ALLOWED) == 81
    frame = m.to_frame()
    assert frame.shape == (9, 9) and frame.loc["x/a", "z/c"] == "allowed"
    records = m.to_records()
    assert records[0]["from"] == "x/a" and set(records[0]) == {"from", "to", "port", "protocol", "verdict", "reason"}
    assert m.plot().png().startswith(b"\x89PNG")
    assert "<table" in m._repr_html_()


def test_renderings_write_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    lab = SimulatedLab()
    lab.deploy("shop")
    lab.matrix(80).plot().png()
    assert capfd.readouterr().err == ""


def test_plain_text_displays_are_the_text_grids_not_the_dataclass_dumps() -> None:
    """IPython's text/plain (terminals, nbconvert's text export, every saved or graded notebook) shows
    the grid a learner reads; the dataclass repr of a 9x9 matrix, every hop included, was 96 KB."""
    from IPython.core.formatters import PlainTextFormatter

    plain = PlainTextFormatter()
    lab = SimulatedLab()
    lab.deploy("e2e")
    m = lab.matrix(80)
    assert plain(m) == m.text() and len(plain(m)) < 2_000
    assert "ProbeResult(" not in plain(m) and "Hop(" not in plain(m)
    cmp = Reachability(m.sources, port=80).expect("x/a", "y/a", Verdict.BLOCKED).compare(m)
    assert plain(cmp) == cmp.report() and plain(cmp).startswith("1 wrong of 72 flows")
    r = m.result("x/a", "y/a")
    assert plain(r) == f"x/a → y/a 80/TCP: ALLOWED\n{r.reason}"
