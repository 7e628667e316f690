"""The request pipeline every MAO function shares, as one pure ASGI middleware (cheap per call):

request id -> security headers -> rate limit -> body size limit -> the app, and a last-resort 500
in the standard error shape if anything escapes.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from mao.api.errors import error_body

log = logging.getLogger("mao.api")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]

RATE_LIMIT_EXEMPT = frozenset({"/", "/health", "/api/v1/health"})
AUTH_PREFIX = "/api/v1/auth/"
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
)
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()), *headers]})
    await send({"type": "http.response.body", "body": payload})


class MaoMiddleware:
    def __init__(self, app: Any, *, max_body_bytes: int | None = None,
                 body_limits: Mapping[str, int] | None = None,
                 rate_limiter: Callable[[str, str, float], Any] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_limits = [(re.compile(p), n) for p, n in (body_limits or {}).items()]
        self.rate_limiter = rate_limiter

    def _body_limit(self, path: str) -> int:
        for pattern, limit in self.body_limits:
            if pattern.search(path):
                return limit
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        from mao.config import settings

        return settings().max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
        path: str = scope.get("path", "")
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            if scope.get("method") != "OPTIONS" and path not in RATE_LIMIT_EXEMPT and self.rate_limiter:
                verdict = self.rate_limiter(self._client_ip(scope), path, time.time())
                extra += [(b"x-ratelimit-limit", str(verdict.limit).encode()),
                          (b"x-ratelimit-remaining", str(verdict.remaining).encode()),
                          (b"x-ratelimit-reset", str(verdict.reset_at).encode())]
                if not verdict.allowed:
                    retry = verdict.retry_after(time.time())
                    await _send_json(send_with_headers, 429,
                                     error_body("rate_limited", f"rate limit of {verdict.limit} requests "
                                                f"per window exceeded; retry in {retry} s",
                                                {"limit": verdict.limit, "reset_at": verdict.reset_at}),
                                     [(b"retry-after", str(retry).encode())])
                    return
            limit = self._body_limit(path)
            declared = _header(scope, b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await _send_json(send_with_headers, 413, error_body(
                    "payload_too_large", f"request body of {declared} bytes exceeds the limit of {limit} bytes",
                    {"limit_bytes": limit}), [])
                return
            await self.app(scope, self._limited_receive(receive, limit), send_with_headers)
        except BodyTooLarge:
            if not started:
                await _send_json(send_with_headers, 413, error_body(
                    "payload_too_large", "request body exceeds the limit", {"limit_bytes": self._body_limit(path)}),
                    [])
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id, "path": path})
            if not started:
                await _send_json(send_with_headers, 500, error_body(
                    "internal_error", "internal error; quote the request id to support",
                    {"request_id": request_id}), [])

    @staticmethod
    def _limited_receive(receive: Receive, limit: int) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        return wrapped

    @staticmethod
    def _request_id(scope: Scope) -> str:
        context = scope.get("aws.context")
        aws_id = getattr(context, "aws_request_id", None)
        if isinstance(aws_id, str) and _REQUEST_ID_RE.match(aws_id):
            return aws_id
        given = _header(scope, b"x-request-id")
        if given and _REQUEST_ID_RE.match(given):
            return given
        return secrets.token_hex(12)

    @staticmethod
    def _client_ip(scope: Scope) -> str:
        event = scope.get("aws.event") or {}
        ip = (event.get("requestContext") or {}).get("http", {}).get("sourceIp")
        if ip:
            return str(ip)
        client = scope.get("client")
        return str(client[0]) if client else "unknown"


def dynamo_rate_limiter(client_ip: str, path: str, now: float) -> Any:
    """Per-IP limits from the reference: a global window and a stricter one on auth endpoints."""
    from mao.adapters import ratelimits

    global_limit, auth_limit, window = ratelimits.limits()
    if path.startswith(AUTH_PREFIX):
        return ratelimits.hit(f"auth#{client_ip}", auth_limit, window, now)
    return ratelimits.hit(f"ip#{client_ip}", global_limit, window, now)
