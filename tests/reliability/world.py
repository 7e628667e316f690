"""Tenant A's world: one object of every kind the API can hold, created through the API and marked
with a canary string that only A's stored data contains.

``CREATORS`` is keyed by the path parameter a route needs; a parameter without a creator gets a
made-up id (the call must still be refused without leaking anything).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e.conftest import Tenant
from tests.e2e.integrations_client import REGISTRY, deliver
from tests.reliability import otlp
from tests.unit.integrations.payloads import PAYLOADS

PROVIDER_OF_PATH = {"n8n": "n8n", "dify": "dify", "langgraph": "langgraph", "openclaw": "openclaw"}
ENTITY_FIELDS = {"n8n": "workflowId", "dify": "app_id", "langgraph": "assistant_id", "openclaw": "agent_name"}
RUN_FIELDS = {"n8n": "executionId", "dify": "workflow_run_id", "langgraph": "run_id", "openclaw": "session_id"}


@dataclass
class World:
    tenant: Tenant
    canary: str
    ids: dict[str, str] = field(default_factory=dict)  # path parameter (or provider entity) -> A's id
    made_up: set[str] = field(default_factory=set)  # parameters for which no object could be created
    notes: list[str] = field(default_factory=list)  # why an object could not be created

    def secrets_of_a(self) -> list[str]:
        """Strings that may appear in a response only if A's data leaked (never sent by the caller)."""
        return [self.canary, self.tenant.api_key]

    def id_for(self, param: str, path: str) -> str:
        if param == "entity_id":
            provider = path.split("/")[3]
            return self.ids.get(f"entity_id:{provider}", "made-up-entity")
        return self.ids.get(param, f"made-up-{param}")


def _ok(resp: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert resp.status_code in statuses, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json()


def _entities(c: httpx.Client, w: World) -> None:
    """A webhook entity per provider; the n8n one delivers a run, which becomes a trace with detections."""
    for provider in REGISTRY:
        entity = f"{provider}-{secrets.token_hex(6)}"
        kind, id_field = REGISTRY[provider]
        resp = c.post(f"/api/v1/{provider}/{kind}", headers=w.tenant.headers,
                      json={id_field: entity, "name": f"{w.canary} {provider}"})
        secret = _ok(resp, 201)["webhook_secret"]
        w.ids[f"entity_id:{provider}"] = entity
        if provider == "n8n":
            payload = PAYLOADS[provider]()
            payload[ENTITY_FIELDS[provider]] = entity
            payload[RUN_FIELDS[provider]] = f"run-{secrets.token_hex(4)}"
            body = _ok(deliver(c, w.tenant.headers, provider, payload, secret), 200)
            w.ids["webhook_trace_id"] = body["trace_id"]
            if body.get("detections"):
                w.ids["detection_id"] = body["detections"][0]["id"] if "id" in body["detections"][0] \
                    else body["detections"][0]["detection_id"]


def _trace(c: httpx.Client, w: World) -> None:
    base = f"/api/v1/tenants/{w.tenant.tenant_id}"
    trace_id = otlp.new_trace_id()
    _ok(c.post(f"{base}/traces/ingest", json=otlp.export(otlp.trace_spans(trace_id, 3, marker=w.canary)),
               headers=w.tenant.headers), 202)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        resp = c.get(f"{base}/traces/{trace_id}", headers=w.tenant.headers)
        if resp.status_code == 200 and resp.json().get("span_count", 0) >= 3:
            w.ids["trace_id"] = trace_id
            agents = _ok(c.get(f"{base}/agents", headers=w.tenant.headers), 200)["items"]
            if agents:
                w.ids["agent_id"] = agents[0].get("agent_id") or agents[0].get("id")
            return
        time.sleep(0.2)
    raise AssertionError(f"trace {trace_id} of the isolation world was never stored")


def _detection_and_fix(c: httpx.Client, w: World) -> None:
    base = f"/api/v1/tenants/{w.tenant.tenant_id}"
    if "detection_id" not in w.ids:
        items = _ok(c.get(f"{base}/detections", headers=w.tenant.headers), 200)["items"]
        if items:
            w.ids["detection_id"] = items[0].get("id") or items[0]["detection_id"]
    if "detection_id" not in w.ids:
        return
    fixes = _ok(c.get(f"{base}/detections/{w.ids['detection_id']}/fixes", headers=w.tenant.headers), 200)
    targets = [{"type": "agent_config", "agent_id": "agent-of-the-world"},
               {"type": "n8n", "base_url": "http://127.0.0.1:9", "workflow_id": "wf1"}]
    for fix in fixes["items"]:
        w.ids.setdefault("fix_id", fix["fix_id"])
        for target in targets:
            op = c.post(f"{base}/healing/operations", headers=w.tenant.headers,
                        json={"detection_id": w.ids["detection_id"], "fix_id": fix["fix_id"], "target": target})
            if op.status_code == 201:
                w.ids["operation_id"] = op.json()["operation_id"]
                return
            w.notes.append(f"operation for {fix['fix_type']} on {target['type']}: {op.text[:200]}")


def _conversation(c: httpx.Client, w: World) -> None:
    data = {"messages": [{"role": "user", "content": f"{w.canary} what is the plan?"},
                         {"role": "assistant", "content": f"{w.canary} first research, then write."}]}
    body = _ok(c.post(f"/api/v1/tenants/{w.tenant.tenant_id}/conversations/ingest", headers=w.tenant.headers,
                      json={"format": "openai", "data": data, "name": w.canary}), 201)
    w.ids["conversation_id"] = body["id"]


def _group(c: httpx.Client, w: World) -> None:
    body = _ok(c.post(f"/api/v1/tenants/{w.tenant.tenant_id}/workflow-groups", headers=w.tenant.headers,
                      json={"name": w.canary}), 201)
    w.ids["group_id"] = body["group_id"]


def _api_key(c: httpx.Client, w: World) -> None:
    body = _ok(c.post(f"/api/v1/tenants/{w.tenant.tenant_id}/api-keys", headers=w.tenant.headers,
                      json={"name": w.canary}), 201)
    w.ids["prefix"] = body["prefix"]


def _import_job(c: httpx.Client, w: World) -> None:
    line = json.dumps(otlp.export(otlp.trace_spans(otlp.new_trace_id(), 2, marker=w.canary)))
    resp = c.post("/api/v1/import-jobs", headers=w.tenant.headers,
                  files={"file": (f"{w.canary}.jsonl", (line + "\n").encode(), "application/x-ndjson")})
    w.ids["import_job_id"] = _ok(resp, 202)["id"]


def _agent_config(c: httpx.Client, w: World) -> None:
    agent = w.ids.get("agent_id") or f"{w.canary}-agent"
    resp = c.put(f"/api/v1/tenants/{w.tenant.tenant_id}/healing/agent-configs/{agent}",
                 headers=w.tenant.headers, json={"config": {"prompt": w.canary}})
    _ok(resp, 200, 201)
    w.ids["agent_id"] = agent


def _policy_and_webhooks(c: httpx.Client, w: World) -> None:
    base = f"/api/v1/tenants/{w.tenant.tenant_id}"
    _ok(c.put(f"{base}/settings/thresholds", headers=w.tenant.headers,
              json={"global": {"loop": {"threshold": 0.91}}}), 200, 422)
    _ok(c.post(f"{base}/feedback", headers=w.tenant.headers,
               json={"detection_id": w.ids.get("detection_id", "det_x"), "is_correct": True,
                     "comment": w.canary}), 200, 201, 404, 422)


CREATORS: list[Callable[[httpx.Client, World], None]] = [
    _entities, _trace, _detection_and_fix, _conversation, _group, _api_key, _import_job, _agent_config,
    _policy_and_webhooks,
]
PARAMS_WITH_CREATORS = {"entity_id", "trace_id", "agent_id", "detection_id", "fix_id", "operation_id",
                        "conversation_id", "group_id", "prefix", "import_job_id"}


def build(api_url: str, tenant: Tenant, ip: str) -> World:
    """Tenant A's world. The healing target is a loopback n8n (never called: operations stay pending),
    which the in-process stack accepts while loopback targets are allowed."""
    w = World(tenant, "canary" + secrets.token_hex(8))
    allowed = os.environ.get("MAO_HEALING_ALLOWED_NETWORKS")
    os.environ["MAO_HEALING_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    try:
        with httpx.Client(base_url=api_url, headers={"X-Forwarded-For": ip}, timeout=60) as c:
            for create in CREATORS:
                create(c, w)
    finally:
        if allowed is None:
            os.environ.pop("MAO_HEALING_ALLOWED_NETWORKS", None)
        else:
            os.environ["MAO_HEALING_ALLOWED_NETWORKS"] = allowed
    w.made_up = PARAMS_WITH_CREATORS - set(w.ids) - {"entity_id"}
    return w
