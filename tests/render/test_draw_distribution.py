"""draw_distribution: who answered, one panel per distribution, rows aligned across panels."""

from __future__ import annotations

import io
import warnings

import pytest

import grader
from grader.render import draw_distribution
from grader.services import Distribution

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: catalog, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: catalog}}
  template:
    metadata: {labels: {app: catalog}}
    spec:
      containers: [{name: c, image: agnhost, ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: v1
kind: Service
metadata: {name: catalog, namespace: shop}
spec:
  selector: {app: catalog}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def bar_values(ax) -> list[float]:
    return [p.get_width() for p in ax.patches]


def test_panels_share_rows_and_show_counts():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(DEPLOYMENT)
    before = lab.distribution("shop/web", "catalog", 80, requests=90)
    first = before.counts[0][0]
    lab.set_ready(first, False)
    after = lab.distribution("shop/web", "catalog", 80, requests=90)
    pic = draw_distribution({"all ready": before, f"{first} not ready": after}, title="catalog")
    left, right = pic.figure.axes
    assert [t.get_text() for t in left.get_yticklabels()] == [name for name, _ in before.counts]
    assert bar_values(left) == [n for _, n in before.counts]
    assert bar_values(right)[0] == 0 and sum(bar_values(right)) == 90  # the not-ready pod gets nothing
    assert any(t.get_text().startswith("0 (0%)") for t in right.texts)
    assert pic.figure._suptitle.get_text() == "catalog"
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pic.figure.savefig(buf, format="png")
    assert buf.getvalue().startswith(b"\x89PNG")


def test_failures_are_grey_rows_after_the_pods():
    d = Distribution.count("shop/web", "catalog", ["shop/a", None, "shop/a", None], ["ALLOWED", "BLOCKED", "ALLOWED", "BLOCKED"])
    pic = draw_distribution(d)
    (ax,) = pic.figure.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["shop/a", "(BLOCKED)"]
    assert bar_values(ax) == [2, 2]
    assert ax.get_title() == "shop/web → catalog"
    colours = [p.get_facecolor() for p in ax.patches]
    assert colours[0] != colours[1]


def test_nothing_to_draw_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        draw_distribution({})
