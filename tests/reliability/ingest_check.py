"""Send spans through the ingest API and prove, after recovery, that each accepted span is stored
exactly once (count and checksum)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e.conftest import Tenant
from tests.reliability import otlp


@dataclass
class Sent:
    payloads: list[dict[str, Any]] = field(default_factory=list)
    spans_by_trace: dict[str, set[str]] = field(default_factory=dict)
    requests: int = 0
    accepted_spans: int = 0
    refused: dict[int, int] = field(default_factory=dict)


def send_traces(client: httpx.Client, tenant: Tenant, traces: int, spans_per_trace: int, parts: int,
                marker: str = "") -> Sent:
    """Each trace split over ``parts`` requests, so a trace's spans arrive in several messages."""
    sent = Sent()
    url = f"/api/v1/tenants/{tenant.tenant_id}/traces/ingest"
    ids = [otlp.new_trace_id() for _ in range(traces)]
    per_part = max(1, spans_per_trace // parts)
    for part in range(parts):
        spans = [s for tid in ids for s in otlp.trace_spans(tid, per_part, part * per_part, marker)]
        payload = otlp.export(spans)
        resp = client.post(url, json=payload, headers=tenant.headers)
        sent.requests += 1
        if resp.status_code == 202:
            body = resp.json()
            assert not body.get("partial_success"), body
            sent.accepted_spans += body["accepted_spans"]
            sent.payloads.append(payload)
            for tid, sid, _ in otlp.sent_keys([payload]):
                sent.spans_by_trace.setdefault(tid, set()).add(sid)
        else:
            sent.refused[resp.status_code] = sent.refused.get(resp.status_code, 0) + 1
    return sent


@dataclass
class Stored:
    spans: int
    checksum: str
    duplicates: int
    traces_listed: int


def wait_stored(client: httpx.Client, tenant: Tenant, sent: Sent, timeout: float = 120) -> Stored:
    """Wait until every accepted span is readable, then read everything back once."""
    base = f"/api/v1/tenants/{tenant.tenant_id}/traces"
    deadline = time.monotonic() + timeout
    pending = dict(sent.spans_by_trace)
    while pending and time.monotonic() < deadline:
        for tid, expected in list(pending.items()):
            resp = client.get(f"{base}/{tid}", headers=tenant.headers)
            if resp.status_code == 200 and {s["span_id"] for s in resp.json()["spans"]} >= expected:
                del pending[tid]
        if pending:
            time.sleep(0.5)
    keys: list[tuple[str, str, str]] = []
    duplicates = 0
    for tid in sent.spans_by_trace:
        resp = client.get(f"{base}/{tid}", headers=tenant.headers)
        if resp.status_code == 200:
            found = otlp.stored_keys(resp.json())
            duplicates += len(found) - len(set(found))
            keys += found
    listed = client.get(base, params={"page_size": 100}, headers=tenant.headers).json()
    return Stored(len(keys), otlp.checksum(keys), duplicates, listed.get("total", len(listed["items"])))
