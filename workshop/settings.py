"""One workshop's settings: where things live, which ports, who takes part.

Written by ``workshop.admin`` to ``<state>/workshop.json`` and read back by the hub's configuration
(``workshop/jupyterhub_config.py``) through ``NETLAB_WORKSHOP``, so the hub, the setup and the
clean-up agree on every path.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

COURSE_ID = "k8s-networking"
"""nbgrader's course id; the same as ``nbgrader_config.py`` at the repository root."""

COURSE_FOLDER = "k8s-networking"
"""The folder in each home that holds the course (the hand-out for learners, a clone for instructors)."""

LESSON_0 = "course/00-setup-and-the-lab.ipynb"
"""Where a learner's server opens."""

USER_COMMENT = "netlab-workshop"
"""The GECOS comment of every Unix user ``workshop.admin`` creates: clean-up removes only these."""

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
"""Participant and instructor names: valid as Unix user names and in URLs."""


class SettingsError(ValueError):
    """A setting that cannot work, with the name of the setting."""


@dataclass(frozen=True, slots=True)
class Workshop:
    repo: Path
    """The course repository (read by root only: the hub, the instructors' clones, the hand-out)."""
    state: Path
    """Hub database, secrets, the nbgrader exchange, the shared Jupyter config, logs."""
    tools: Path
    """Where npm installed configurable-http-proxy (``node_modules/.bin``)."""
    venv: Path
    """The Python environment every server runs from (course, JupyterLab, nbgrader, jupyterhub)."""
    participants: tuple[str, ...]
    instructors: tuple[str, ...]
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    idle_timeout: int = 3600
    """Seconds without activity after which the idle culler stops a server."""
    handout: Path = field(default=Path())
    """The answer-free hand-out copied into each learner's home (default ``<repo>/dist/handout``)."""

    def __post_init__(self) -> None:
        problems = []
        for role in ("participants", "instructors"):
            for i, name in enumerate(getattr(self, role)):
                if not NAME.match(name):
                    problems.append(f"{role}[{i}]: {name!r} is not a valid name (lower-case letters, digits, '-'; a letter first; at most 31)")
        if not self.instructors:
            problems.append("instructors: at least one instructor is needed (the one who releases and grades)")
        both = sorted(set(self.participants) & set(self.instructors))
        if both:
            problems.append(f"participants/instructors: {', '.join(both)} in both lists")
        if len(set(self.participants)) != len(self.participants):
            problems.append("participants: a name appears twice")
        ports = [self.port, self.hub_port, self.proxy_api_port]
        if len(set(ports)) != 3:
            problems.append(f"port/hub_port/proxy_api_port: must differ, got {ports}")
        if self.idle_timeout < 60:
            problems.append(f"idle_timeout: {self.idle_timeout} s is below one minute")
        if problems:
            raise SettingsError("; ".join(problems))
        if self.handout == Path():
            object.__setattr__(self, "handout", self.repo / "dist" / "handout")

    # --- derived paths --------------------------------------------------------------------------
    @property
    def exchange(self) -> Path:
        return self.state / "exchange"

    @property
    def shared_config(self) -> Path:
        """Jupyter config every server reads (the exchange's place and the course id)."""
        return self.state / "config"

    @property
    def learner_config(self) -> Path:
        """Jupyter config only learners' servers read (hides nbgrader's instructor tools): a copy
        of the repository's ``workshop/learner/``, so participants need not reach the repository."""
        return self.state / "learner"

    @property
    def hub_dir(self) -> Path:
        return self.state / "hub"

    @property
    def proxy(self) -> Path:
        return self.tools / "node_modules" / ".bin" / "configurable-http-proxy"

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    def secret(self, name: str) -> Path:
        """``user-password``, ``admin-password``, ``api-token``, ``cookie-secret``."""
        return self.hub_dir / name

    # --- persistence ----------------------------------------------------------------------------
    def save(self) -> Path:
        path = self.state / "workshop.json"
        data = {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> Workshop:
        data = json.loads(Path(path).read_text())
        for key in ("repo", "state", "tools", "venv", "handout"):
            data[key] = Path(data[key])
        for key in ("participants", "instructors"):
            data[key] = tuple(data[key])
        return cls(**data)
