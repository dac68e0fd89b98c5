"""draw_topology: what the picture shows (read back from the matplotlib artists) and that it renders
cleanly: PNG bytes, no warnings, nothing on stderr."""

from __future__ import annotations

import ipaddress
import warnings

import pytest

import grader
from grader.model import ExternalHost
from grader.reachability.render import COLOURS
from grader.render import Picture, draw_topology

DB_ONLY_FROM_API = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-api, namespace: shop}
spec:
  podSelector: {matchLabels: {tier: database}}
  ingress:
  - from: [{podSelector: {matchLabels: {tier: backend}}}]
"""


def texts(pic: Picture) -> list[str]:
    ax = pic.figure.axes[0]
    legend = ax.get_legend()
    extra = [t.get_text() for t in legend.get_texts()] if legend is not None else []
    return [t.get_text() for t in ax.texts] + extra


def flow_arrows(pic: Picture) -> dict[str, object]:
    return {p.get_gid(): p for p in pic.figure.axes[0].patches if (p.get_gid() or "").startswith("flow ")}


def render_strictly(pic: Picture) -> bytes:
    """Render with every warning as an error (Picture.png() silences them for notebooks)."""
    import io

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pic.figure.savefig(buf, format="png")
    return buf.getvalue()


@pytest.fixture
def shop():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    return lab


def test_lab_picture_shows_nodes_pods_addresses_and_ranges(shop, capfd):
    pic = draw_topology(shop)
    shown = "\n".join(texts(pic))
    for node in shop.profile.nodes():
        assert node.name in shown
        assert str(node.ip) in shown
        assert f"podCIDR {node.pod_cidr}" in shown
    for pod in shop.pods():
        assert str(pod.ref) in shown and str(pod.ip) in shown
    assert "ports 5432, 9100" in shown  # shop/db's ports
    assert "namespace shop (team=shop)" in shown  # legend carries namespace labels
    for host in ("host", "vm.internal", "api.example.com", "blocked.example.net"):
        assert host in shown
    png = render_strictly(pic)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert pic._repr_png_().startswith(b"\x89PNG")
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_pods_are_drawn_inside_the_column_of_their_node(shop):
    pic = draw_topology(shop)
    ax = pic.figure.axes[0]
    headers = {t.get_text(): t.get_position()[0] for t in ax.texts if t.get_text().startswith("kind-")}
    pods = {t.get_text(): t.get_position()[0] for t in ax.texts if "/" in t.get_text() and " " not in t.get_text()}
    order = sorted(headers, key=headers.get)
    for pod in shop.pods():
        x = pods[str(pod.ref)]
        column = max((n for n in order if headers[n] <= x + 0.01), key=headers.get)
        assert column == pod.node, f"{pod.ref} drawn under {column}, runs on {pod.node}"


def test_calico_nodes_show_their_blocks_not_a_podcidr():
    lab = grader.connect("calico-vxlan", backend="sim", quiet=True)
    lab.deploy("shop")
    shown = "\n".join(texts(draw_topology(lab)))
    assert "podCIDR" not in shown
    for pod in lab.pods():
        block = ipaddress.ip_network(f"{pod.ip}/26", strict=False)
        assert f"Calico blocks {block}" in shown
    # The control plane holds CoreDNS (not drawn), so its block still shows.
    coredns = lab.pods("kube-system")[0]
    assert str(ipaddress.ip_network(f"{coredns.ip}/26", strict=False)) in shown


def test_flows_are_arrows_coloured_by_verdict_without_loopback(shop):
    shop.apply(DB_ONLY_FROM_API)
    m = shop.matrix(5432, destinations=["shop/db"])
    pic = draw_topology(shop, flows=m)
    arrows = flow_arrows(pic)
    expected = {r.summary(): r for r in m.results.values() if not r.loopback}
    assert set(arrows) == {f"flow {s}" for s in expected}
    assert "flow shop/db → shop/db 5432/TCP: ALLOWED" not in arrows
    from matplotlib.colors import to_rgba

    for summary, r in expected.items():
        arrow = arrows[f"flow {summary}"]
        assert arrow.get_edgecolor() == to_rgba(COLOURS[r.verdict])
        assert (arrow.get_linestyle() in ("--", "dashed")) == (r.verdict is grader.Verdict.BLOCKED)
    assert any(v is grader.Verdict.BLOCKED for v in (r.verdict for r in expected.values()))
    assert "flows on 5432/TCP:" in texts(pic)
    render_strictly(pic)


def test_show_filters_verdicts_and_external_endpoints_get_arrows(shop):
    shop.apply(DB_ONLY_FROM_API)
    flows = [
        shop.probe("shop/api", "shop/db", 5432),
        shop.probe("shop/web", "shop/db", 5432),
        shop.probe("shop/web", "api.example.com", 443),
        shop.probe("shop/web", "vm.internal", 80),
    ]
    allowed = flow_arrows(draw_topology(shop, flows=flows, show=[grader.Verdict.ALLOWED]))
    assert set(allowed) == {f"flow {r.summary()}" for r in flows if r.verdict is grader.Verdict.ALLOWED}
    assert len(allowed) == 3
    everything = draw_topology(shop, flows=flows)
    assert len(flow_arrows(everything)) == 4
    assert {"80/TCP", "443/TCP", "5432/TCP"} <= set(texts(everything))  # mixed ports are labelled
    render_strictly(everything)


def test_flows_to_endpoints_not_drawn_are_left_out(shop):
    r = shop.probe("shop/web", "203.0.113.99", 80)  # an address nothing in the lab owns
    pic = draw_topology(shop, flows=[r])
    assert flow_arrows(pic) == {}


def test_undeployed_topology_is_drawn_by_namespace_with_labels():
    pic = draw_topology("e2e")
    shown = texts(pic)
    for ns in ("x", "y", "z"):
        assert f"namespace {ns}" in shown
        assert f"ns={ns}" in shown
    assert shown.count("no IP until deployed") == 9
    assert shown.count("pod=a") == 3
    assert "SCTP 80,81 · TCP 80,81 · UDP 80,81" in shown
    render_strictly(pic)


def test_explicit_externals_replace_the_labs(shop):
    vm = ExternalHost("db.corp", ipaddress.ip_address("172.18.0.200"), "vnet", "a database VM")
    shown = texts(draw_topology(shop, externals=[vm]))
    assert "db.corp" in shown and "api.example.com" not in shown


def test_system_pods_are_drawn_on_request(shop):
    assert not any("coredns" in t for t in texts(draw_topology(shop)))
    assert sum("kube-system/coredns" in t for t in texts(draw_topology(shop, system=True))) == 2


def test_picture_saves_a_png(shop, tmp_path):
    path = tmp_path / "shop.png"
    draw_topology(shop).save(str(path))
    assert path.read_bytes().startswith(b"\x89PNG")


def test_the_pods_of_drawn_flows_appear_even_outside_lab_pods(shop):
    """An ingress controller is not among lab.pods() (a system component), but a flow from it is drawn
    with its pod; hosts on the node network keep readable boxes however many there are."""
    shop.install_ingress_controller("ingress-nginx")  # also adds cloud-provider-kind's Envoy for its LoadBalancer Service
    controller = "ingress-nginx/ingress-nginx-controller"
    assert controller not in [str(p.ref) for p in shop.pods()]
    flow = shop.probe(controller, "shop/web", 80)
    pic = draw_topology(shop, flows=[flow])
    shown = texts(pic)
    assert any(t.startswith("ingress-nginx/ingress-") and t.endswith("…") for t in shown)  # drawn, name shortened to fit
    assert set(flow_arrows(pic)) == {f"flow {flow.summary()}"}
    assert "cloud-provider-kind Envoy" in shown  # the LB proxy container is not called a VM
    assert "ingress-nginx/ingress-nginx-controller" not in texts(draw_topology(shop))  # without the flow: not drawn
    host_boxes = [p for p in pic.figure.axes[0].patches if hasattr(p, "get_y") and round(p.get_y(), 2) == 0.3]
    assert len(host_boxes) == 3 and min(p.get_width() for p in host_boxes) >= 1.4
    xs = sorted((p.get_x(), p.get_x() + p.get_width()) for p in host_boxes)
    assert all(a[1] < b[0] for a, b in zip(xs, xs[1:], strict=False))  # no overlap
    render_strictly(pic)
