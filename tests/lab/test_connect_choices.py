"""grader.connect: which backend an explicit choice or NETLAB_BACKEND gives, and the load-balancer model."""

from __future__ import annotations

import pytest

import grader
from grader.errors import LabError
from grader.lab import SimulatedLab
from grader.reachability import Verdict


def test_an_explicit_sim_backend_wins_over_netlab_backend(monkeypatch, capsys):
    """Lessons compare profiles on purpose in simulated clusters; NETLAB_BACKEND=kind must not turn
    each of them into a real cluster. The variable only replaces the automatic detection."""
    monkeypatch.setenv("NETLAB_BACKEND", "kind")
    lab = grader.connect("calico-vxlan", backend="sim")
    assert isinstance(lab, SimulatedLab)
    assert "on the simulated cluster (requested)" in capsys.readouterr().out


def test_netlab_backend_decides_for_auto(monkeypatch, capsys):
    monkeypatch.setenv("NETLAB_BACKEND", "sim")
    assert isinstance(grader.connect(), SimulatedLab)
    assert "(NETLAB_BACKEND)" in capsys.readouterr().out


def test_azure_load_balancer_model_is_simulated_only(monkeypatch, capsys):
    monkeypatch.delenv("NETLAB_BACKEND", raising=False)
    lab = grader.connect("kindnet", backend="sim", load_balancer="azure")
    assert "LoadBalancer Services by azure" in capsys.readouterr().out
    lab.deploy("shop")
    lab.apply("""
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
""")
    addr = lab.address("service/shop/web")
    assert addr is not None and addr.startswith("192.0.2.")  # a frontend IP of the Azure model, not the kind network
    r = lab.probe("api.example.com", addr, 80)
    assert r.verdict is Verdict.ALLOWED and r.client_ip == "203.0.113.10"  # pass-through: the client address survives
    lab.reset(keep_topology=True)
    lab.apply("""
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
""")
    assert lab.address("service/shop/web").startswith("192.0.2.")  # a reset keeps the model
    with pytest.raises(LabError, match="model of the simulated cluster"):
        grader.connect("kindnet", backend="kind", load_balancer="azure", quiet=True)
    with pytest.raises(ValueError, match="unknown load-balancer provider"):
        grader.connect("kindnet", backend="sim", load_balancer="metallb", quiet=True)


WEB_LOAD_BALANCER = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
"""


def test_default_load_balancer_is_cloud_provider_kind():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(WEB_LOAD_BALANCER)
    assert lab.address("service/shop/web") == "172.18.0.5"


def _connect_quietly_checked(capsys: pytest.CaptureFixture[str], **kwargs: object) -> tuple[object, str]:
    """connect() with every warning an error; returns the lab and what it printed (stderr must stay empty)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lab = grader.connect("kindnet", **kwargs)  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    assert err == ""
    return lab, out


def test_auto_gives_the_simulated_cluster_for_the_azure_model(monkeypatch, capsys):
    """Exercises 02 and 06 call connect("kindnet", load_balancer="azure") with no backend: in auto mode
    (NETLAB_BACKEND unset) that is the simulated cluster, said on one line of stdout, never an error."""
    monkeypatch.delenv("NETLAB_BACKEND", raising=False)
    lab, out = _connect_quietly_checked(capsys, load_balancer="azure")
    assert isinstance(lab, SimulatedLab)
    assert out == "netlab: profile kindnet on the simulated cluster (Azure's load balancer and NSGs exist only there, LoadBalancer Services by azure)\n"
    lab.deploy("shop")
    lab.apply(WEB_LOAD_BALANCER)
    assert lab.address("service/shop/web").startswith("192.0.2.")  # the Azure model, not cloud-provider-kind's 172.18.0.x


def test_auto_gives_the_simulated_cluster_for_the_azure_model_even_where_kind_runs(monkeypatch, capsys):
    """With Docker and kind usable, auto would pick kind; the Azure model exists only on the
    simulated cluster, so a lab that needs it is simulated all the same (kind's detection is
    replaced here because this machine has no Docker)."""
    import grader.backends as backends_module

    monkeypatch.delenv("NETLAB_BACKEND", raising=False)
    monkeypatch.setattr(backends_module, "kind_ready", lambda profile: (True, "kind cluster netlab-kindnet is ready"))
    lab, out = _connect_quietly_checked(capsys, load_balancer="azure")
    assert isinstance(lab, SimulatedLab) and "on the simulated cluster" in out


def test_netlab_backend_kind_does_not_apply_to_the_azure_model(monkeypatch, capsys):
    """NETLAB_BACKEND only replaces the automatic detection; an instructor who sets it to kind still
    gets a working exercise 06, and the line says why it is not kind."""
    monkeypatch.setenv("NETLAB_BACKEND", "kind")
    lab, out = _connect_quietly_checked(capsys, load_balancer="azure")
    assert isinstance(lab, SimulatedLab)
    assert out.count("\n") == 1 and "NETLAB_BACKEND=kind does not apply" in out


def test_explicit_kind_with_the_azure_model_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("NETLAB_BACKEND", raising=False)
    with pytest.raises(LabError, match=r"load_balancer='azure' is a model of the simulated cluster.*backend='sim'"):
        grader.connect("kindnet", backend="kind", load_balancer="azure", quiet=True)


def test_cloud_provider_kind_in_auto_mode_keeps_the_detection(monkeypatch, capsys):
    """Only the Azure model forces the simulated cluster: the default load balancer leaves auto mode alone."""
    import grader.backends as backends_module

    monkeypatch.delenv("NETLAB_BACKEND", raising=False)
    monkeypatch.setattr(backends_module, "kind_ready", lambda profile: (False, "no Docker engine"))
    lab, out = _connect_quietly_checked(capsys, load_balancer="cloud-provider-kind")
    assert isinstance(lab, SimulatedLab) and out == "netlab: profile kindnet on the simulated cluster (no Docker engine)\n"
