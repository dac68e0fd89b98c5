"""Learners' Jupyter config (workshop/learner/, read by `make lab` and the hub's learner servers)
turns off nbgrader's instructor tools; without it (`make lab-instructor`, instructors' servers) they
are there. Checked on real Jupyter servers: the formgrader's page and JupyterLab's page config."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEARNER = ROOT / "workshop" / "learner"
INSTRUCTOR_TOOLS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list"}


def test_the_learner_config_names_extensions_that_exist():
    """A renamed extension would silently stay on: every name must be one nbgrader installs."""
    server = json.loads((LEARNER / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"]
    lab = json.loads((LEARNER / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert set(lab) == INSTRUCTOR_TOOLS and all(lab.values())
    assert server == {"nbgrader.server_extensions.formgrader": False, "nbgrader.server_extensions.course_list": False}
    enabling = Path(sys.prefix, "etc", "jupyter", "jupyter_server_config.d", "nbgrader.json")  # what pip install enables
    shipped = set(json.loads(enabling.read_text())["ServerApp"]["jpserver_extensions"])
    assert set(server) <= shipped and "nbgrader.server_extensions.assignment_list" in shipped
    bundle = Path(sys.prefix, "share", "jupyter", "labextensions", "@jupyter", "nbgrader", "static")
    plugin_ids = set(re.findall(r'"(@jupyter/nbgrader:[a-z-]+)"', " ".join(p.read_text() for p in bundle.glob("*.js"))))
    assert plugin_ids >= INSTRUCTOR_TOOLS, plugin_ids


def _serve(tmp_path: Path, name: str, config_path: str | None) -> tuple[subprocess.Popen[bytes], str, str]:
    port, token = _free_port(), secrets.token_hex(8)
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / name / "config"), JUPYTER_DATA_DIR=str(tmp_path / name / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / name / "runtime"))
    if config_path:
        env["JUPYTER_CONFIG_PATH"] = config_path
    log = (tmp_path / f"{name}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
                             f"--ServerApp.token={token}", f"--ServerApp.root_dir={tmp_path}",
                             *(["--allow-root"] if os.geteuid() == 0 else [])],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}", token


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def _wait(proc: subprocess.Popen[bytes], base: str, token: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "Jupyter exited early"
        try:
            if _get(f"{base}/api/status?token={token}")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail("Jupyter did not answer within 120 s")


def _disabled(html: str) -> set[str]:
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.DOTALL).group(1))
    return set(config.get("disabledExtensions", []))


@pytest.mark.slow
def test_learners_get_no_instructor_tools_and_instructors_do(tmp_path):
    servers = {"learner": _serve(tmp_path, "learner", str(LEARNER)), "instructor": _serve(tmp_path, "instructor", None)}
    try:
        seen = {}
        for role, (proc, base, token) in servers.items():
            _wait(proc, base, token)
            seen[role] = {
                "formgrader": _get(f"{base}/formgrader?token={token}")[0],
                "courses": _get(f"{base}/formgrader/api/courses?token={token}")[0],
                "assignments": _get(f"{base}/assignments?course_id=k8s-networking&token={token}")[0],
                "disabled": _disabled(_get(f"{base}/lab?token={token}")[1]),
            }
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
    learner, instructor = seen["learner"], seen["instructor"]
    assert learner["formgrader"] == 404 and instructor["formgrader"] == 200, seen
    assert learner["disabled"] >= INSTRUCTOR_TOOLS and not INSTRUCTOR_TOOLS & instructor["disabled"], seen
    # the Assignments tab (fetch, submit, feedback) stays for learners
    assert learner["assignments"] == 200, seen


def test_the_hand_outs_make_lab_reads_the_same_learner_config():
    sys.path.insert(0, str(ROOT / "tools"))
    from make_handout import handout_files

    files = handout_files(ROOT)
    for name in ("jupyter_server_config.json", "labconfig/page_config.json"):
        assert files[f"jupyter-learner/{name}"] == (LEARNER / name).read_bytes()
    lab = re.search(r"^lab:.*?(?=^\S)", files["Makefile"].decode(), re.DOTALL | re.MULTILINE).group(0)
    assert "JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter-learner $(BIN)/jupyter lab" in lab
