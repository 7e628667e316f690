"""A small signing client for the platform webhooks, as a sender would write it."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx

from mao.domain.integrations.signing import sign_headers

REGISTRY = {"n8n": ("workflows", "workflow_id"), "dify": ("apps", "app_id"),
            "langgraph": ("assistants", "assistant_id"), "openclaw": ("agents", "agent_name")}


def register(client: httpx.Client, headers: dict[str, str], provider: str, entity_id: str) -> str:
    kind, field = REGISTRY[provider]
    resp = client.post(f"/api/v1/{provider}/{kind}", json={field: entity_id, "name": f"{provider} test"},
                       headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()["webhook_secret"]


def deliver(client: httpx.Client, headers: dict[str, str], provider: str, payload: Any, secret: str, *,
            timestamp: int | None = None, nonce: str | None = None, body: bytes | None = None,
            tamper: bool = False) -> httpx.Response:
    raw = body if body is not None else json.dumps(payload).encode()
    signed = sign_headers(secret, raw, timestamp if timestamp is not None else int(time.time()),
                          nonce or secrets.token_hex(12))
    if tamper:
        raw = raw.replace(b'"status"', b'"Status"', 1)
    return client.post(f"/api/v1/{provider}/webhook", content=raw,
                       headers={**headers, **signed, "Content-Type": "application/json"})
