"""Loopback stand-ins for healing targets: an n8n-API-compatible workflow server and a webhook receiver."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeN8n:
    """GET/PUT /api/v1/workflows/{id} with X-N8N-API-KEY, as n8n's public API. ``fail_puts`` answers that
    many PUTs with ``fail_status``; ``ignore_writes`` accepts PUTs without storing them."""

    def __init__(self, api_key: str, workflows: dict[str, dict[str, Any]]) -> None:
        self.api_key = api_key
        self.workflows = copy.deepcopy(workflows)
        self.fail_puts = 0
        self.fail_status = 503
        self.ignore_writes = False
        self.puts: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _workflow_id(self) -> str | None:
                prefix = "/api/v1/workflows/"
                return self.path[len(prefix):] if self.path.startswith(prefix) else None

            def do_GET(self) -> None:
                wid = self._workflow_id()
                if self.headers.get("X-N8N-API-KEY") != outer.api_key:
                    return self._send(401, {"message": "unauthorized"})
                if wid not in outer.workflows:
                    return self._send(404, {"message": "not found"})
                return self._send(200, {"id": wid, "active": True, **outer.workflows[wid]})

            def do_PUT(self) -> None:
                wid = self._workflow_id()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.headers.get("X-N8N-API-KEY") != outer.api_key:
                    return self._send(401, {"message": "unauthorized"})
                if wid not in outer.workflows:
                    return self._send(404, {"message": "not found"})
                if outer.fail_puts > 0:
                    outer.fail_puts -= 1
                    return self._send(outer.fail_status, {"message": "unavailable"})
                if set(body) - {"name", "nodes", "connections", "settings", "staticData"}:
                    return self._send(400, {"message": "request/body must NOT have additional properties"})
                outer.puts.append(body)
                if not outer.ignore_writes:
                    outer.workflows[wid] = body
                return self._send(200, {"id": wid, **body})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver:
    """Answers each action with ``answers[action]`` and keeps every request, checking its signature."""

    def __init__(self) -> None:
        self.secret = ""
        self.answers: dict[str, str] = {"apply": "applied", "verify": "verified", "rollback": "rolled_back"}
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ts = self.headers.get("X-MAO-Timestamp", "")
                expected = "sha256=" + hmac.new(outer.secret.encode(), f"{ts}.".encode() + raw,
                                                hashlib.sha256).hexdigest()
                body = json.loads(raw)
                valid = hmac.compare_digest(expected, self.headers.get("X-MAO-Signature", ""))
                outer.received.append({"body": body, "signature_valid": valid})
                answer = {"status": outer.answers.get(body["action"], "failed") if valid else "failed"}
                out = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mao-fixes"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def seed_detection(tenant_id: str, framework: str, detection_type: str = "loop",
                   details: dict[str, Any] | None = None) -> str:
    """A stored trace of ``framework`` and one detection on it, through the storage adapters."""
    import secrets
    import time

    from mao.adapters import detections, traces
    from mao.domain.models import Detection, Evidence

    trace_id = "tr_" + secrets.token_hex(6)
    traces.put_summary(tenant_id, {"trace_id": trace_id, "start_ns": time.time_ns(), "status": "error",
                                   "span_count": 3, "framework": framework}, ["Fetch orders"])
    det_id = "det_" + secrets.token_hex(6)
    det = Detection(detection_type, 0.9, "high", "the same step repeats", [Evidence("span-1", "retrying")],
                    "test", None, details or {"agent": "Fetch orders", "rounds": 5})
    detections.replace_for_source(tenant_id, "trace", trace_id, [(det_id, det)])
    return det_id
