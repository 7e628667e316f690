"""A local API Gateway (HTTP API, payload format 2.0) in front of our handlers.

Routes come from the template's ``HttpApi`` events; CORS preflights are answered from the template's
``CorsConfiguration`` as API Gateway does, and CORS headers are added to matching responses.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from mao_local.functions import FunctionRegistry
from mao_local.template import Route

log = logging.getLogger("mao_local.gateway")
MAX_GATEWAY_BODY = 128 * 1024 * 1024


class Cors:
    def __init__(self, config: dict[str, Any], origins: list[str]) -> None:
        self.origins = origins
        self.methods = ",".join(config.get("AllowMethods", []))
        self.headers = ",".join(h.lower() for h in config.get("AllowHeaders", []))
        self.expose = ",".join(h.lower() for h in config.get("ExposeHeaders", []))
        self.credentials = bool(config.get("AllowCredentials"))
        self.max_age = str(config.get("MaxAge", 0))

    def allowed_origin(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if origin in self.origins:
            return origin
        if "*" in self.origins:
            return origin if self.credentials else "*"
        return None

    def preflight_headers(self, origin: str | None) -> list[tuple[str, str]]:
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return []
        out = [("Access-Control-Allow-Origin", allowed), ("Access-Control-Allow-Methods", self.methods),
               ("Access-Control-Allow-Headers", self.headers), ("Access-Control-Max-Age", self.max_age),
               ("Vary", "Origin")]
        if self.credentials:
            out.append(("Access-Control-Allow-Credentials", "true"))
        return out

    def response_headers(self, origin: str | None) -> list[tuple[str, str]]:
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return []
        out = [("Access-Control-Allow-Origin", allowed), ("Vary", "Origin")]
        if self.credentials:
            out.append(("Access-Control-Allow-Credentials", "true"))
        if self.expose:
            out.append(("Access-Control-Expose-Headers", self.expose))
        return out


def match(routes: list[Route], method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path parameters, path_known). path_known is True when some route has this path."""
    path_known = False
    for route in routes:
        m = route.regex.match(path)
        if not m:
            continue
        path_known = True
        if route.method in (method, "ANY"):
            return route, {k: unquote(v) for k, v in m.groupdict().items()}, True
    return None, {}, path_known


def build_event(route: Route, params: dict[str, str], method: str, raw_path: str, query: str,
                headers: dict[str, str], body: bytes, source_ip: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    qs: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        qs[k] = f"{qs[k]},{v}" if k in qs else v
    request_id = secrets.token_hex(8)
    cookies = [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{route.method} {route.path}",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {k: v for k, v in headers.items() if k != "cookie"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": headers.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("user-agent", "")},
            "requestId": request_id, "routeKey": f"{route.method} {route.path}", "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": bool(body),
        "stageVariables": None,
    }
    if cookies:
        event["cookies"] = cookies
    if qs:
        event["queryStringParameters"] = qs
    if params:
        event["pathParameters"] = params
    if body:
        event["body"] = base64.b64encode(body).decode()
    return event


class Gateway:
    def __init__(self, routes: list[Route], registry: FunctionRegistry, cors: Cors, host: str, port: int,
                 trust_forwarded_for: bool = False) -> None:
        self.routes = routes
        self.registry = registry
        self.cors = cors
        self.trust_forwarded_for = trust_forwarded_for
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "mao-local-gateway"

            def setup(self) -> None:
                super().setup()
                # Headers and body are written separately: without NODELAY, Nagle + delayed ACK
                # add ~40 ms to every keep-alive request.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug(fmt, *args)

            def _handle(self) -> None:
                gateway.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="mao-gateway", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ request handling
    def _read_body(self, req: BaseHTTPRequestHandler) -> bytes | None:
        if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(req.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    req.rfile.readline()
                    break
                total += size
                if total > MAX_GATEWAY_BODY:
                    return None
                chunks.append(req.rfile.read(size))
                req.rfile.readline()
            return b"".join(chunks)
        length = int(req.headers.get("Content-Length") or 0)
        if length > MAX_GATEWAY_BODY:
            return None
        return req.rfile.read(length) if length else b""

    def _send(self, req: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        req.send_response(status)
        names = set()
        for k, v in headers:
            names.add(k.lower())
            req.send_header(k, v)
        if "content-length" not in names:
            req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(body)

    def _error(self, req: BaseHTTPRequestHandler, status: int, code: str, message: str,
               extra: list[tuple[str, str]] | None = None) -> None:
        body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
        self._send(req, status, [("Content-Type", "application/json"), *(extra or [])], body)

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        split = urlsplit(req.path)
        method = req.command.upper()
        headers: dict[str, str] = {}
        for k, v in req.headers.items():
            k = k.lower()
            headers[k] = f"{headers[k]},{v}" if k in headers else v
        origin = headers.get("origin")
        if method == "OPTIONS" and origin and "access-control-request-method" in headers:
            self._send(req, 204, self.cors.preflight_headers(origin), b"")
            return
        body = self._read_body(req)
        if body is None:
            self._error(req, 413, "payload_too_large", "request body too large for the gateway")
            req.close_connection = True
            return
        route, params, _ = match(self.routes, method, split.path)
        cors_headers = self.cors.response_headers(origin)
        if route is None:
            self._error(req, 404, "route_not_found", f"no route for {method} {split.path}", cors_headers)
            return
        source_ip = req.client_address[0]
        if self.trust_forwarded_for and headers.get("x-forwarded-for"):
            source_ip = headers["x-forwarded-for"].split(",")[0].strip()
        event = build_event(route, params, method, split.path, split.query, headers, body, source_ip)
        try:
            result = self.registry.invoke(route.function, event)
        except Exception:
            log.exception("handler %s crashed", route.function)
            self._error(req, 502, "bad_gateway", "the function failed to answer", cors_headers)
            return
        self._write_result(req, result, cors_headers)
        log.debug("%s %s -> %s in %.1f ms", method, split.path, result.get("statusCode"),
                  (time.perf_counter() - started) * 1000)

    def _write_result(self, req: BaseHTTPRequestHandler, result: dict[str, Any],
                      cors_headers: list[tuple[str, str]]) -> None:
        status = int(result.get("statusCode", 200))
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        headers: list[tuple[str, str]] = []
        for k, v in (result.get("headers") or {}).items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                headers.append((k, str(v)))
        for k, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((k, str(v)) for v in values)
        headers.extend(("Set-Cookie", c) for c in result.get("cookies") or [])
        present = {k.lower() for k, _ in headers}
        headers.extend((k, v) for k, v in cors_headers if k.lower() not in present)
        self._send(req, status, headers, body)
