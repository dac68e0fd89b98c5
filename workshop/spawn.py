"""What the hub does before it starts someone's server (it runs as root; see jupyterhub_config.py).

Learners get a copy of the answer-free hand-out (``make handout``) in ``~/k8s-networking`` the first
time their server starts; later starts keep their work. Instructors get a clone of the course
repository (answers and hidden tests included) in their home, which only they can read, with its
``.venv`` a link to the workshop's Python so ``make release|autograde|feedback|grades`` work there.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from workshop.settings import COURSE_FOLDER, Workshop

STAMP = ".installed-base"
"""The Makefile's marker that ``.venv`` holds the course (``make install`` has run)."""


def course_dir(name: str) -> Path:
    return Path(pwd.getpwnam(name).pw_dir) / COURSE_FOLDER


def prepare_home(ws: Workshop, name: str, *, instructor: bool) -> Path:
    """The course folder in ``name``'s home, created on first use and owned by ``name``."""
    entry = pwd.getpwnam(name)
    home = Path(entry.pw_dir)
    home.chmod(0o700)  # nobody else reads a participant's answers or an instructor's key
    dest = home / COURSE_FOLDER
    if dest.exists():
        return dest
    if instructor:
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ws.repo), str(dest)],
                       check=True, capture_output=True, text=True, timeout=300)
        # .venv is the workshop's Python (a Python finds its environment from the path it was
        # started by, so the link is the whole folder); the Makefile's marker is made newer than
        # the clone so `make autograde` does not try to install into it
        (dest / ".venv").symlink_to(ws.venv)
        (ws.venv / STAMP).touch()
    else:
        shutil.copytree(ws.handout, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    for root, dirs, files in os.walk(dest):
        for item in (root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)):
            os.lchown(item, entry.pw_uid, entry.pw_gid)
    return dest


def server_environment(ws: Workshop, *, instructor: bool) -> dict[str, str]:
    """Extra environment of a server: Jupyter config (learners also read ``workshop/learner``),
    the workshop's Python first on PATH (``nbgrader`` runs ``alembic`` from PATH), the simulated
    cluster."""
    config = [str(ws.shared_config)] if instructor else [str(ws.learner_config), str(ws.shared_config)]
    return {
        "JUPYTER_CONFIG_PATH": os.pathsep.join(config),
        "PATH": os.pathsep.join([str(ws.venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "NETLAB_BACKEND": "sim",
    }
