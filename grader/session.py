"""Say something once per JupyterLab session, not in every lesson.

"Session" means the lifetime of the Jupyter server the kernel was started by: every notebook
opened from one ``make lab`` (one ``jupyter lab`` process), across kernel restarts, until that
server stops. A kernel knows its server as its parent process (jupyter_client's launcher starts
kernels as the server's children and exports ``JPY_PARENT_PID``, on Windows a handle, hence
``os.getppid()``). The marker is a file in Jupyter's runtime directory (``JUPYTER_RUNTIME_DIR``,
where the server keeps its own per-run files) named after that process and its start time, so a
later server that happens to get the same PID starts a new session. Outside a Jupyter kernel
(a script, a test, ``python -m``) there is no session to remember: every notice is shown.

Nothing here writes to stderr or raises: a notice that cannot be recorded is shown again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_SHOWN_KEYS: set[tuple[str, str]] = set()
"""(session, key) pairs this kernel process has seen (saves looking at the marker again)."""


def _in_kernel() -> bool:
    return "JPY_PARENT_PID" in os.environ


def _runtime_dir() -> Path | None:
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return None
    return Path(jupyter_runtime_dir())


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux ``/proc/<pid>/stat`` field 22), or ""."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def session_id() -> str | None:
    """``server-<pid>-<start>`` inside a Jupyter kernel, None elsewhere."""
    if _in_kernel():
        pid = os.getppid()
        return f"server-{pid}-{_started(pid)}"
    return None


def first_time(key: str) -> bool:
    """True the first time ``key`` is asked for in this JupyterLab session, False afterwards;
    always True outside a Jupyter kernel."""
    sid = session_id()
    if sid is None:
        return True
    if (sid, key) in _SHOWN_KEYS:
        return False
    _SHOWN_KEYS.add((sid, key))
    folder = _runtime_dir()
    if folder is None:
        return True
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    marker = folder / f"netlab-{sid}-{digest}.seen"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    except OSError:
        return True
    os.close(fd)
    _forget_ended_sessions(folder)
    return True


def _forget_ended_sessions(folder: Path) -> None:
    """Remove markers of servers that are gone (best effort; a leftover only costs a few bytes)."""
    for marker in folder.glob("netlab-server-*.seen"):
        parts = marker.name.split("-")
        try:
            pid = int(parts[2])
        except (IndexError, ValueError):
            continue
        if parts[3] and _started(pid) != parts[3]:  # without a start time (not Linux) markers stay
            try:
                marker.unlink()
            except OSError:
                pass


__all__ = ["first_time", "session_id"]
