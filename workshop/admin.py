"""Prepare, start and remove a workshop hub on this machine (run as root).

    python -m workshop.admin up --participants ana,ben --instructor ina   # what `make workshop` runs
    python -m workshop.admin down                                         # remove users, exchange, state

Everything lives under ``--home`` (default ``/srv/netlab-workshop``), a folder every participant's
server can reach (a repository in a home folder usually is not): ``venv/`` (the servers' Python,
built once from the hand-out: ``pip install "dist/handout[workshop]"``, so no participant's Python
points into this repository and its answers), ``node_modules/`` (configurable-http-proxy from npm)
and ``state/`` (hub database, secrets, exchange).

``up`` checks the machine, builds what is missing, creates one Unix user per name (comment
``netlab-workshop``; an existing user without that comment is refused), the nbgrader exchange and
the secrets, prints the address and passwords, and runs the hub until Ctrl-C. ``down`` stops what
is left and removes every user it created, their homes and the state (not the venv or the proxy).
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from workshop.settings import (
    COURSE_FOLDER,
    COURSE_ID,
    USER_COMMENT,
    SettingsError,
    Workshop,
)

PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
"""npm's current release on 2026-12-02 (``npm view configurable-http-proxy version``)."""

HERE = Path(__file__).resolve().parent
DEFAULT_HOME = Path("/srv/netlab-workshop")


class SetupError(RuntimeError):
    """Why the workshop cannot start on this machine (one line, with what to do)."""


def _run(argv: list[str], *, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The one way this module runs a program: captured output, a SetupError naming the command."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SetupError(f"{argv[0]}: {exc}") from exc
    if done.returncode != 0:
        raise SetupError(f"{' '.join(argv[:3])} exited with {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}")
    return done


# --- checks ---------------------------------------------------------------------------------------
def check_machine(ws: Workshop) -> None:
    if os.geteuid() != 0:
        raise SetupError("run as root: the hub starts each person's server as their own Unix user")
    if not (ws.handout / "course").is_dir():
        raise SetupError(f"{ws.handout}: no hand-out; run `make handout` first")


def check_reachable(ws: Workshop) -> None:
    if not (ws.venv / "bin" / "jupyterhub-singleuser").exists():
        raise SetupError(f"{ws.venv}/bin/jupyterhub-singleuser missing (the environment was not built)")
    for path in (ws.venv, Path(os.path.realpath(ws.venv / "bin" / "python")), ws.learner_config, ws.state):
        blocked = unreachable(path)
        if blocked:
            raise SetupError(f"{path}: participants cannot reach it ({blocked} is not traversable by others); "
                             "choose a --home (make workshop WORKSHOP_HOME=...) every user can reach, e.g. under /srv")


def unreachable(path: Path) -> Path | None:
    """The first folder on the way to ``path`` that other users cannot enter, if any."""
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if folder.is_dir() and not folder.stat().st_mode & 0o001:
            return folder
    return None


def base_python() -> str:
    """A Python >= 3.11 every user may run (pyenv's, under /root, is not): this one or Debian's."""
    for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3"):
        if (Path(candidate).exists() and unreachable(Path(candidate)) is None
                and _run([candidate, "-c", "import sys; print(sys.version_info >= (3, 11))"]).stdout.strip() == "True"):
            return candidate
    raise SetupError("no Python >= 3.11 that every user can run (apt-get install -y python3 python3-venv)")


def ensure_venv(ws: Workshop) -> Path:
    """The servers' Python: the hand-out with its `workshop` extra, rebuilt when the hand-out changed."""
    commit = _run(["git", "-C", str(ws.handout), "rev-parse", "HEAD"]).stdout.strip()
    stamp = ws.venv / ".handout-commit"
    if stamp.exists() and stamp.read_text().strip() == commit:
        return ws.venv
    if not (ws.venv / "bin" / "python").exists():
        _run([base_python(), "-m", "venv", str(ws.venv)])
        _run([str(ws.venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"], timeout=1200)
    _run([str(ws.venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{ws.handout}[workshop]"], timeout=3600)
    # the course itself again, without a cache: the version number does not change with the hand-out
    _run([str(ws.venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", "--no-cache-dir", str(ws.handout)], timeout=600)
    stamp.write_text(commit + "\n")
    return ws.venv


def ensure_proxy(ws: Workshop) -> Path:
    """configurable-http-proxy from the npm registry, installed once under ``ws.tools``."""
    if ws.proxy.exists():
        return ws.proxy
    if shutil.which("npm") is None:
        raise SetupError("npm is missing: install Node.js and npm (Debian: apt-get install -y nodejs npm), then run again")
    ws.tools.mkdir(parents=True, exist_ok=True)
    _run(["npm", "install", "--prefix", str(ws.tools), "--no-audit", "--no-fund", "--loglevel=error", PROXY_PACKAGE])
    return ws.proxy


# --- users ----------------------------------------------------------------------------------------
def workshop_users() -> list[str]:
    """Unix users this module created (on any workshop), sorted."""
    return sorted(p.pw_name for p in pwd.getpwall() if p.pw_gecos == USER_COMMENT)


def create_users(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            _run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", "--comment", USER_COMMENT, name])
            entry = pwd.getpwnam(name)
        if entry.pw_gecos != USER_COMMENT:
            raise SetupError(f"{name}: a Unix user of that name exists and was not created by the workshop; choose another name")
        Path(entry.pw_dir).chmod(0o700)


def processes_of(uids: set[int]) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if proc.stat().st_uid in uids:
                    pids.append(int(proc.name))
            except FileNotFoundError:
                continue
    return sorted(pids)


def remove_users(names: list[str]) -> None:
    """End every process of these workshop users, then delete them with their homes."""
    entries = [pwd.getpwnam(n) for n in names if n in workshop_users()]
    uids = {e.pw_uid for e in entries}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_of(uids):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while processes_of(uids) and time.monotonic() < deadline:
            time.sleep(0.2)
    for entry in entries:
        _run(["userdel", "--remove", entry.pw_name])
        try:
            grp.getgrnam(entry.pw_name)
            _run(["groupdel", entry.pw_name])
        except KeyError:
            pass


# --- state ----------------------------------------------------------------------------------------
NBGRADER_CONFIG = """# Written by workshop/admin.py: every server of this workshop reads it (JUPYTER_CONFIG_PATH).
import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course!r}
c.Exchange.root = {exchange!r}
# Fetched assignments and feedback go into the folder the server shows (nbgrader's default "." is
# the server process's working directory, the home folder).
c.Exchange.assignment_dir = os.path.join(os.path.expanduser("~"), {folder!r})
"""


def prepare_state(ws: Workshop) -> None:
    for folder in (ws.state, ws.hub_dir, ws.shared_config, ws.exchange):
        folder.mkdir(parents=True, exist_ok=True)
    ws.state.chmod(0o755)
    ws.hub_dir.chmod(0o700)  # secrets and the hub's database: root only
    ws.shared_config.chmod(0o755)
    shutil.rmtree(ws.learner_config, ignore_errors=True)
    shutil.copytree(HERE / "learner", ws.learner_config)
    # nbgrader's exchange: a folder everybody can write; nbgrader gives inbound/ mode 2733 so
    # nobody can list another's submissions (docs: configuration/jupyterhub_config.rst)
    ws.exchange.chmod(0o1777)
    # Kernels talk to their server over Unix sockets in the user's private runtime folder, not TCP
    # ports on 127.0.0.1: with many servers starting kernels at once, a kernel could otherwise be
    # given a port another user's kernel just took (jupyter/jupyter_client#487; seen at 20
    # participants as "Invalid Signature" and a lost kernel connection).
    (ws.shared_config / "jupyter_server_config.json").write_text(json.dumps({"KernelManager": {"transport": "ipc"}}, indent=2) + "\n")
    (ws.shared_config / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(course=COURSE_ID, exchange=str(ws.exchange), folder=COURSE_FOLDER))
    for name, size in (("user-password", 12), ("admin-password", 32), ("api-token", 32), ("cookie-secret", 32)):
        path = ws.secret(name)
        if not path.exists():
            path.write_text(secrets.token_hex(size) if name != "user-password" else "-".join(secrets.token_hex(3) for _ in range(3)))
            path.chmod(0o600)
    ws.save()


def prepare(ws: Workshop) -> None:
    check_machine(ws)
    ensure_venv(ws)
    ensure_proxy(ws)
    prepare_state(ws)
    check_reachable(ws)
    create_users(ws.participants + ws.instructors)


# --- the hub ----------------------------------------------------------------------------------------
def start_hub(ws: Workshop, log: Path | None = None) -> subprocess.Popen[bytes]:
    """The hub in the background (its own session); returns once it answers or raises SetupError."""
    env = {**os.environ, "NETLAB_WORKSHOP": str(ws.state / "workshop.json"), "PATH": f"{ws.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    out = open(log or ws.state / "hub.log", "ab")  # noqa: SIM115 - the hub writes to it after we return
    proc = subprocess.Popen(
        [str(ws.venv / "bin" / "jupyterhub"), "-f", str(HERE / "jupyterhub_config.py")],
        cwd=ws.hub_dir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    out.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"the hub exited with {proc.returncode}; see {log or ws.state / 'hub.log'}")
        try:
            with urllib.request.urlopen(f"{ws.url}/hub/api/", timeout=3) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.5)
    stop_hub(proc)
    raise SetupError("the hub did not answer within 120 s")


def stop_hub(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM: the hub stops the servers, the services and the proxy it started, then exits."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def down(ws: Workshop) -> None:
    """Remove this workshop's users (and their processes), its exchange and its state folder."""
    pidfile = ws.hub_dir / "proxy.pid"
    if pidfile.exists():  # a proxy left by a hub that was killed
        try:
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            pass
    remove_users([n for n in ws.participants + ws.instructors if n in workshop_users()])
    shutil.rmtree(ws.state, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- command line ---------------------------------------------------------------------------------
def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.replace("\n", ",").split(",") if n.strip())


def main(argv: list[str] | None = None) -> int:
    repo = HERE.parent
    parser = argparse.ArgumentParser(prog="python -m workshop.admin", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="prepare and run the hub until Ctrl-C")
    up.add_argument("--participants", required=True, help="names separated by commas, or @FILE with one name a line")
    up.add_argument("--instructor", required=True, help="instructor names separated by commas")
    up.add_argument("--ip", default="0.0.0.0", help="address the hub listens on (default: every interface)")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--idle-timeout", type=int, default=3600, help="seconds before an idle server is stopped")
    for p in (up, sub.add_parser("down", help="remove this workshop's users, exchange and state")):
        p.add_argument("--home", type=Path, default=DEFAULT_HOME, help=f"where the workshop lives (default {DEFAULT_HOME})")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    try:
        if args.command == "down":
            if not (home / "state" / "workshop.json").exists():
                print(f"no workshop at {home}")
                return 0
            down(Workshop.load(home / "state" / "workshop.json"))
            print(f"removed the workshop's users and {home / 'state'}")
            return 0
        people = Path(args.participants[1:]).read_text() if args.participants.startswith("@") else args.participants
        ws = Workshop(repo=repo, state=home / "state", tools=home, venv=home / "venv",
                      participants=_names(people), instructors=_names(args.instructor), ip=args.ip, port=args.port,
                      hub_port=free_port(), proxy_api_port=free_port(), idle_timeout=args.idle_timeout)
        prepare(ws)
        hub = start_hub(ws)
    except (SettingsError, SetupError) as exc:
        print(f"make workshop: {exc}")
        return 1
    print(f"JupyterHub for {len(ws.participants)} participants at http://<this machine>:{ws.port}/ (log: {ws.state / 'hub.log'})")
    print(f"  participants log in with their name and the room password: {ws.secret('user-password').read_text()}")
    print(f"  instructors ({', '.join(ws.instructors)}) with the admin password in {ws.secret('admin-password')}")
    print("Ctrl-C stops the hub and every server; `make workshop-down` then removes the users and their homes.")
    try:
        hub.wait()
    except KeyboardInterrupt:
        stop_hub(hub)
    return 0


if __name__ == "__main__":
    sys.exit(main())
