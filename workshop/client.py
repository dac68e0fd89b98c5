"""Talk to a workshop hub and its users' servers over HTTP, as a browser's JupyterLab does.

``Hub``: the REST API (``/hub/api``) with the workshop-admin service's token: users, servers, tokens.
``Server``: one user's Jupyter server behind the proxy (``/user/<name>/``) with that user's token:
the contents API, nbgrader's assignment list (the Assignments tab's own requests) and kernels,
whose cells run over the kernel's websocket (Jupyter messaging protocol, ``execute_request``).
References: https://jupyterhub.readthedocs.io/en/stable/reference/rest-api.html,
https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html,
https://jupyter-client.readthedocs.io/en/stable/messaging.html
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests
import websocket  # websocket-client (a dependency of the kubernetes client)


class ApiError(RuntimeError):
    """An HTTP call that did not give the expected answer (method, path, status, body)."""


def _check(r: requests.Response, *ok: int) -> requests.Response:
    if r.status_code not in ok:
        raise ApiError(f"{r.request.method} {r.url}: {r.status_code} {r.text[:300]}")
    return r


class Hub:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def api(self, method: str, path: str, *ok: int, **kw: Any) -> Any:
        r = _check(self.session.request(method, f"{self.url}/hub/api{path}", timeout=60, **kw), *(ok or (200,)))
        return r.json() if r.content else None

    def add_users(self, names: list[str]) -> None:
        """Register names with the hub (as a first login would); existing ones are left as they are."""
        known = {u["name"] for u in self.api("GET", "/users")}
        new = sorted(set(names) - known)
        if new:
            self.api("POST", "/users", 201, json={"usernames": new})

    def user(self, name: str) -> dict[str, Any]:
        return self.api("GET", f"/users/{name}")

    def token(self, name: str) -> str:
        return self.api("POST", f"/users/{name}/tokens", 200, 201, json={"note": "workshop client", "expires_in": 7200})["token"]

    def start(self, name: str, timeout: float = 300) -> None:
        """Ask for ``name``'s server and wait until the hub says it is ready."""
        self.api("POST", f"/users/{name}/server", 201, 202)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.user(name)["servers"].get("")
            if server and server.get("ready"):
                return
            if server is None:
                raise ApiError(f"{name}'s server stopped while starting (see the hub log)")
            time.sleep(0.5)
        raise ApiError(f"{name}'s server was not ready within {timeout:.0f} s")

    def stop(self, name: str, timeout: float = 120) -> None:
        self.api("DELETE", f"/users/{name}/server", 202, 204)
        deadline = time.monotonic() + timeout
        while self.user(name)["servers"] and time.monotonic() < deadline:
            time.sleep(0.5)

    def server(self, name: str) -> Server:
        return Server(f"{self.url}/user/{name}", self.token(name))


@dataclass(frozen=True, slots=True)
class CellRun:
    """What one cell printed: its stdout, stderr and rich output texts, and the error if any."""

    status: str
    stdout: str
    stderr: str
    outputs: tuple[str, ...]
    error: str
    seconds: float


class Server:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def request(self, method: str, path: str, *ok: int, **kw: Any) -> requests.Response:
        return _check(self.session.request(method, f"{self.url}{path}", timeout=300, **kw), *(ok or (200,)))

    # --- files ------------------------------------------------------------------------------------
    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", f"/api/contents/{path}").json()

    def exists(self, path: str) -> bool:
        return self.session.get(f"{self.url}/api/contents/{path}?content=0", timeout=60).status_code == 200

    def read_notebook(self, path: str) -> dict[str, Any]:
        return self.get(path)["content"]

    def write_notebook(self, path: str, nb: dict[str, Any]) -> None:
        self.request("PUT", f"/api/contents/{path}", 200, 201, json={"type": "notebook", "format": "json", "content": nb})

    # --- nbgrader's assignment list (what the Assignments tab calls) -----------------------------
    def assignments(self, course: str) -> list[dict[str, Any]]:
        return json.loads(self.request("GET", "/assignments", params={"course_id": course}).text)

    def assignment_action(self, action: str, course: str, assignment: str) -> Any:
        """``fetch``, ``submit`` or ``fetch_feedback``; raises ApiError when nbgrader says it failed."""
        body = json.loads(self.request("POST", f"/assignments/{action}", data={"course_id": course, "assignment_id": assignment}).text)
        if isinstance(body, dict) and body.get("success") is False:
            raise ApiError(f"{action} {assignment}: {body.get('value') or body}")
        return body

    # --- kernels ----------------------------------------------------------------------------------
    def kernel(self, notebook: str) -> Kernel:
        """A kernel for ``notebook`` (a session, so it runs in the notebook's folder, as in JupyterLab)."""
        session = self.request("POST", "/api/sessions", 201, json={"path": notebook, "type": "notebook", "name": notebook,
                                                                    "kernel": {"name": "python3"}}).json()
        return Kernel(self, session["id"], session["kernel"]["id"])


class Kernel:
    def __init__(self, server: Server, session_id: str, kernel_id: str) -> None:
        self.server, self.session_id, self.kernel_id = server, session_id, kernel_id
        ws_url = server.url.replace("http://", "ws://").replace("https://", "wss://")
        self.ws = websocket.create_connection(f"{ws_url}/api/kernels/{kernel_id}/channels", timeout=600,
                                              header=[f"Authorization: token {server.token}"])
        self.client_session = uuid.uuid4().hex

    def execute(self, code: str, timeout: float = 600) -> CellRun:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "workshop", "session": self.client_session, "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        started = time.monotonic()
        stdout, stderr, outputs, error, status, idle = [], [], [], "", "", False
        while not (status and idle):
            if time.monotonic() - started > timeout:
                raise ApiError(f"a cell did not finish within {timeout:.0f} s")
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                (stdout if content["name"] == "stdout" else stderr).append(content["text"])
            elif kind in ("execute_result", "display_data"):
                outputs.append(content["data"].get("text/html") or content["data"].get("text/plain", ""))
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                status = content["status"]
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return CellRun(status, "".join(stdout), "".join(stderr), tuple(outputs), error, time.monotonic() - started)

    def close(self) -> None:
        self.ws.close()
        self.server.request("DELETE", f"/api/sessions/{self.session_id}", 204)
