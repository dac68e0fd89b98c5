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


def test_default_load_balancer_is_cloud_provider_kind():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply("""
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
""")
    assert lab.address("service/shop/web") == "172.18.0.5"
