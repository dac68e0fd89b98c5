"""tools/cilium_values_keys.py: the Cilium chart's key list for the fake helm/cilium, from a chart."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

TOOL = Path(__file__).parents[2] / "tools" / "cilium_values_keys.py"
KEYS = Path(__file__).with_name("data") / "cilium-1.20.0-values-keys.txt"


def _tool():
    spec = importlib.util.spec_from_file_location("cilium_values_keys", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_keys_expand_mappings_and_mark_free_form_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "cilium"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("name: cilium\nversion: 9.9.9\n")
    (chart / "values.yaml").write_text(
        "debug:\n  enabled: false\n  verbose: ~\npodAnnotations: {}\nnodeSelector:\n  kubernetes.io/os: linux\n"
        "tolerations:\n  - operator: Exists\nbpf:\n  lbExternalClusterIP: false\n")
    (chart / "values.schema.json").write_text(json.dumps({"properties": {
        "debug": {"type": "object", "properties": {"enabled": {"type": "boolean"}, "verbose": {"type": ["null", "string"]}}},
        "nodeSelector": {"type": "object"}, "podAnnotations": {"type": "object"},
        "bpf": {"type": "object", "properties": {"lbExternalClusterIP": {"type": "boolean"}, "hostLegacyRouting": {"type": "boolean"}}},
        "tolerations": {"type": "array"}}}))
    assert _tool().main([str(chart), "--source", "test"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("# Helm values keys of the Cilium chart 9.9.9") and "# Source: test" in out
    assert [k for k in out if not k.startswith("#")] == [
        "bpf.hostLegacyRouting",  # declared by the schema only (a commented example in values.yaml)
        "bpf.lbExternalClusterIP", "debug.enabled", "debug.verbose",
        "nodeSelector.*", "podAnnotations.*",  # free-form maps: anything below
        "tolerations"]


def test_a_missing_chart_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _tool().main([str(tmp_path / "nope.yaml"), "--source", "x"])
    assert "chart: " in capsys.readouterr().err


def test_the_committed_list_is_the_whole_chart_and_has_what_the_course_sets() -> None:
    lines = KEYS.read_text().splitlines()
    assert lines[0].startswith("# Helm values keys of the Cilium chart 1.20.0") and any(ln.startswith("# values.yaml sha256: ") for ln in lines)
    keys = {ln for ln in lines if not ln.startswith("#")}
    assert len(keys) > 1000  # the whole chart, not a curated subset
    for key in ("kubeProxyReplacement", "kubeProxyReplacementHealthzBindAddr", "bpf.lbExternalClusterIP", "k8sServiceHost",
                "routingMode", "ipam.mode", "gatewayAPI.enabled", "podAnnotations.*"):
        assert key in keys, key
    assert "kubeProxyReplacementHealthzBindAdr" not in keys
