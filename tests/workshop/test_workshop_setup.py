"""The workshop's settings, the hub's configuration and the servers' environment, without a hub
(tests/workshop/test_rehearsal.py runs the real one)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from workshop import admin  # noqa: E402
from workshop.settings import SettingsError, Workshop  # noqa: E402
from workshop.spawn import server_environment  # noqa: E402


def make(tmp_path: Path, **changes) -> Workshop:
    values = {"repo": ROOT, "state": tmp_path / "state", "tools": tmp_path, "venv": tmp_path / "venv",
              "participants": ("ana", "ben"), "instructors": ("ina",), "port": 18000, "hub_port": 18081, "proxy_api_port": 18001}
    return Workshop(**{**values, **changes})


@pytest.mark.parametrize(("changes", "message"), [
    ({"participants": ("ana", "Ben Smith")}, "participants[1]: 'Ben Smith' is not a valid name"),
    ({"participants": ("ana", "ana")}, "participants: a name appears twice"),
    ({"instructors": ()}, "instructors: at least one instructor is needed"),
    ({"instructors": ("ana",)}, "participants/instructors: ana in both lists"),
    ({"hub_port": 18000}, "port/hub_port/proxy_api_port: must differ"),
    ({"idle_timeout": 5}, "idle_timeout: 5 s is below one minute"),
])
def test_bad_settings_are_refused_naming_the_setting(tmp_path, changes, message):
    with pytest.raises(SettingsError) as err:
        make(tmp_path, **changes)
    assert message in str(err.value)


def test_settings_survive_a_round_trip(tmp_path):
    ws = make(tmp_path)
    (tmp_path / "state").mkdir()
    assert Workshop.load(ws.save()) == ws
    assert ws.handout == ROOT / "dist" / "handout"


def test_unreachable_names_the_folder_others_cannot_enter():
    top = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's tmp_path sits in a private folder
    try:
        top.chmod(0o755)
        private = top / "private"
        (private / "inside").mkdir(parents=True)
        private.chmod(0o700)
        assert admin.unreachable(private / "inside") == private
        private.chmod(0o711)  # entering without listing is enough
        assert admin.unreachable(private / "inside") is None
    finally:
        shutil.rmtree(top)


def test_learners_read_the_learner_config_and_instructors_do_not(tmp_path):
    ws = make(tmp_path)
    learner = server_environment(ws, instructor=False)["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    instructor = server_environment(ws, instructor=True)["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    assert learner == [str(ws.state / "learner"), str(ws.shared_config)]
    assert instructor == [str(ws.shared_config)]
    assert server_environment(ws, instructor=False)["PATH"].startswith(str(ws.venv / "bin"))


def load_config(path: Path) -> Config:
    c = Config()
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: c, "__file__": str(path)})  # noqa: S102
    return c


def test_the_hub_configuration(tmp_path, monkeypatch):
    ws = make(tmp_path, idle_timeout=1800)
    admin.prepare_state(ws)
    monkeypatch.setenv("NETLAB_WORKSHOP", str(ws.state / "workshop.json"))
    c = load_config(ROOT / "workshop" / "jupyterhub_config.py")
    assert c.JupyterHub.authenticator_class.endswith("SharedPasswordAuthenticator")
    assert c.Authenticator.allowed_users == {"ana", "ben", "ina"} and c.Authenticator.admin_users == {"ina"}
    assert len(c.SharedPasswordAuthenticator.user_password) >= 8
    assert len(c.SharedPasswordAuthenticator.admin_password) >= 32
    assert c.ConfigurableHTTPProxy.command == [str(tmp_path / "node_modules" / ".bin" / "configurable-http-proxy")]
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert culler["command"][1:] == ["-m", "jupyterhub_idle_culler", "--timeout=1800"]
    assert c.Spawner.cmd == [str(ws.venv / "bin" / "jupyterhub-singleuser")]
    assert c.Spawner.default_url == "/lab/tree/course/00-setup-and-the-lab.ipynb"
    # secrets and the hub's database: root only; the exchange: everybody writes, sticky
    assert ws.hub_dir.stat().st_mode & 0o777 == 0o700
    assert ws.secret("user-password").stat().st_mode & 0o777 == 0o600
    assert ws.exchange.stat().st_mode & 0o7777 == 0o1777
    # learners' config copied where participants can read it (the repository may be private)
    for name in ("jupyter_server_config.json", "labconfig/page_config.json"):
        assert (ws.learner_config / name).read_bytes() == (ROOT / "workshop" / "learner" / name).read_bytes()
    # kernels over Unix sockets: no TCP port races between users' kernels
    assert json.loads((ws.shared_config / "jupyter_server_config.json").read_text()) == {"KernelManager": {"transport": "ipc"}}


def test_every_server_finds_the_exchange_and_fetches_into_its_course_folder(tmp_path, monkeypatch):
    ws = make(tmp_path)
    admin.prepare_state(ws)
    monkeypatch.setenv("HOME", "/home/ana")
    c = load_config(ws.shared_config / "nbgrader_config.py")
    assert c.CourseDirectory.course_id == "k8s-networking"
    assert c.Exchange.root == str(ws.exchange)
    assert c.Exchange.assignment_dir == "/home/ana/k8s-networking"


def test_make_workshop_says_what_is_wrong_and_changes_nothing(tmp_path, capsys):
    home = tmp_path / "home"
    assert admin.main(["up", "--participants", "ana,Ben Smith", "--instructor", "ina", "--home", str(home)]) == 1
    assert "make workshop: participants[1]: 'Ben Smith' is not a valid name" in capsys.readouterr().out
    assert not home.exists()
    assert admin.main(["down", "--home", str(home)]) == 0
    assert f"no workshop at {home}" in capsys.readouterr().out
