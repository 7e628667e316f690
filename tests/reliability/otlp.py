"""Small OTLP/JSON payloads with known span ids, and the checksum that proves what was stored."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable
from typing import Any


def new_trace_id() -> str:
    return secrets.token_hex(16)


def span(trace_id: str, index: int, parent: str | None = None, marker: str = "") -> dict[str, Any]:
    """One OTLP/JSON span of an agent step; ``marker`` goes into its input text."""
    start = time.time_ns() - 10_000_000_000 + index * 1_000_000
    out: dict[str, Any] = {
        "traceId": trace_id, "spanId": f"{index + 1:016x}", "name": f"step {index}", "kind": 1,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 500_000),
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
            {"key": "gen_ai.agent.name", "value": {"stringValue": f"agent-{index % 3}"}},
            {"key": "input.value", "value": {"stringValue": f"{marker} input {index}"}},
        ],
        "status": {"code": 1},
    }
    if parent:
        out["parentSpanId"] = parent
    return out


def export(spans: Iterable[dict[str, Any]], service: str = "reliability") -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "reliability"}, "spans": list(spans)}]}]}


def trace_spans(trace_id: str, count: int, first: int = 0, marker: str = "") -> list[dict[str, Any]]:
    """Spans ``first .. first+count-1`` of one trace, each the child of the trace's first span."""
    root = f"{1:016x}"
    return [span(trace_id, i, None if i == 0 else root, marker) for i in range(first, first + count)]


def checksum(keys: Iterable[tuple[str, str, str]]) -> str:
    """Order-free digest of (trace id, span id, name) triples: equal sets, equal digests."""
    digest = hashlib.sha256()
    for key in sorted(set(keys)):
        digest.update("\x1f".join(key).encode() + b"\x1e")
    return digest.hexdigest()


def sent_keys(payloads: Iterable[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(s["traceId"], s["spanId"], s["name"]) for p in payloads for rs in p["resourceSpans"]
            for ss in rs["scopeSpans"] for s in ss["spans"]]


def stored_keys(trace: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(trace["trace_id"], s["span_id"], s["name"]) for s in trace.get("spans", [])]
