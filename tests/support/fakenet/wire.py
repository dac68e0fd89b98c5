"""The fake API server's wire: HTTP routes to ``FakeCluster`` and exec over the Kubernetes websocket
channel protocol (apimachinery ``pkg/util/httpstream/wsstream/conn.go``; RFC 6455 framing), plus
the ``/fake/cni/connect`` route the exec'd stand-ins ask before a new connection."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit


def _status(code: int, message: str) -> dict[str, Any]:
    reason = {404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict", 422: "Invalid", 500: "InternalError"}.get(code, "BadRequest")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


def _without_owners(payload: dict[str, Any]) -> dict[str, Any]:
    payload.pop("_owners", None)
    for item in payload.get("items") or []:
        if isinstance(item, dict):
            item.pop("_owners", None)
    return payload


class _Handler(BaseHTTPRequestHandler):
    cluster: Any  # support.fake_apiserver.FakeCluster

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        body = None
        length = int(self.headers.get("Content-Length") or 0)
        content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if length:
            raw = self.rfile.read(length)
            if "yaml" in content_type:
                import yaml

                body = yaml.safe_load(raw)
            else:
                body = json.loads(raw)
        if method == "GET" and (self.headers.get("Upgrade") or "").lower() == "websocket" and parts.path.endswith("/exec"):
            self._exec(parts.path, parse_qs(parts.query))
            return
        if method == "GET" and parts.path == "/fake/cni/connect":  # the stand-ins' first packet (support.fakenet.standins)
            q = {k: v[0] for k, v in parse_qs(parts.query).items()}
            code, payload = 200, self.cluster.first_packet(q["src"], int(q["sport"]), q["dst"], int(q["dport"]), q["proto"])
        else:
            code, payload = self.cluster.route(method, parts.path, parse_qs(parts.query), body, content_type)
        data = json.dumps(_without_owners(payload)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- exec over the websocket channel protocol ----------------------------------------------------
    def _exec(self, path: str, query: dict[str, list[str]]) -> None:
        m = re.match(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec$", path)
        offered = [p.strip() for p in (self.headers.get("Sec-WebSocket-Protocol") or "").split(",") if p.strip()]
        protocol = next((p for p in ("v5.channel.k8s.io", "v4.channel.k8s.io") if p in offered), None)
        if m is None or protocol is None or not query.get("command"):
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        key = self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 4.2.2
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key.encode()).digest()).decode())
        self.send_header("Sec-WebSocket-Protocol", protocol)
        self.end_headers()
        out, err, status = self.cluster.run_exec(m.group(1), m.group(2), query["command"])
        for channel, data in ((1, out), (2, err)):
            for i in range(0, len(data), 32768):
                self._frame(0x2, bytes([channel]) + data[i:i + 32768])
        self._frame(0x2, bytes([3]) + json.dumps(status).encode())
        self._frame(0x8, (1000).to_bytes(2, "big"))
        self.wfile.flush()
        self.close_connection = True

    def _frame(self, opcode: int, payload: bytes) -> None:
        """One unmasked server frame (RFC 6455 section 5.2)."""
        n = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([n]) if n < 126 else bytes([126]) + n.to_bytes(2, "big") if n < 65536
                                         else bytes([127]) + n.to_bytes(8, "big"))
        self.wfile.write(head + payload)


__all__ = ["_Handler", "_status", "_without_owners"]
