"""compare_matrices: one panel per lab, the same cells, and the cells that differ outlined."""

from __future__ import annotations

import io
import warnings

import pytest

import grader
from grader.render import compare_matrices
from grader.render.grids import differing_cells

DB_FROM_ANY_ADDRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-any-address, namespace: shop}
spec:
  podSelector: {matchLabels: {tier: database}}
  ingress:
  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
    ports: [{port: 5432}]
"""
SOURCES = ["vm.internal", "monitoring/prometheus", "shop/api", "untrusted/attacker"]


def db_matrix(profile: str) -> grader.ReachabilityMatrix:
    lab = grader.connect(profile, backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(DB_FROM_ANY_ADDRESS)
    return lab.matrix(5432, sources=SOURCES, destinations=["shop/db"])


def test_cilium_ipblock_divergence_is_outlined():
    mats = {p: db_matrix(p) for p in ("kindnet", "calico-vxlan", "cilium-tunnel")}
    differ = differing_cells(mats)
    # Pods are matched by ipBlock on kindnet and Calico, not on Cilium. The VM outside has no route to
    # pod addresses on any of these overlay profiles, so it is blocked on all three alike.
    assert differ == {(s, "shop/db") for s in ("monitoring/prometheus", "shop/api", "untrusted/attacker")}
    pic = compare_matrices(mats, title="ipBlock")
    axes = pic.figure.axes
    assert [ax.get_title() for ax in axes] == ["kindnet", "calico-vxlan", "cilium-tunnel"]
    from matplotlib.patches import Rectangle

    for ax in axes:
        outlines = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
        assert len(outlines) == len(differ)
        symbols = sorted(t.get_text() for t in ax.texts)
        assert len(symbols) == len(SOURCES)
    assert sorted(t.get_text() for t in axes[0].texts) == [".", ".", ".", "X"]
    assert sorted(t.get_text() for t in axes[2].texts) == ["X", "X", "X", "X"]
    legend = [t.get_text() for t in axes[-1].get_legend().get_texts()]
    assert legend == ["allowed", "blocked", "differs"]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pic.figure.savefig(buf, format="png")
    assert buf.getvalue().startswith(b"\x89PNG")


def test_identical_matrices_have_nothing_outlined():
    mats = {"kindnet": db_matrix("kindnet"), "calico-vxlan": db_matrix("calico-vxlan")}
    assert differing_cells(mats) == set()
    legend = [t.get_text() for t in compare_matrices(mats).figure.axes[-1].get_legend().get_texts()]
    assert "differs" not in legend


def test_matrices_must_ask_the_same_question():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    with pytest.raises(ValueError, match="other sources/destinations"):
        compare_matrices({"a": lab.matrix(80), "b": lab.matrix(80, destinations=["shop/web"])})
    with pytest.raises(ValueError, match="at least one"):
        compare_matrices({})
