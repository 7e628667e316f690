"""Reading traces back: lists, one trace with its spans, state snapshots, per-agent statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mao.domain.models import Span, Step
from mao.domain.traces import AgentStats, merge_agent_stats, ns_to_iso

TRACE_STATUSES = ("running", "completed", "error")


def parse_time_ns(value: str, *, end_of_day: bool = False) -> int:
    """ISO 8601 date or date-time (naive means UTC) -> unix nanoseconds. A bare date used as an upper
    bound covers the whole day. Raises ``ValueError`` on anything else."""
    text = value.strip()
    if len(text) == 10:
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        ns = int(day.timestamp()) * 1_000_000_000
        return ns + 86_400 * 1_000_000_000 - 1 if end_of_day else ns
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp()) * 1_000_000_000 + parsed.microsecond * 1000


def span_view(span: Span) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "trace_id": span.trace_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind,
        "status": span.status,
        "status_message": span.status_message,
        "start_time": ns_to_iso(span.start_ns),
        "end_time": ns_to_iso(span.end_ns),
        "start_time_unix_nano": span.start_ns,
        "end_time_unix_nano": span.end_ns,
        "latency_ms": span.latency_ms,
        "agent_id": span.agent_id,
        "agent_name": span.agent_name,
        "role": span.role,
        "model": span.model,
        "provider": span.provider,
        "input_tokens": span.input_tokens,
        "output_tokens": span.output_tokens,
        "cost_usd": span.cost_usd,
        "tool_name": span.tool_name,
        "tool_call_id": span.tool_call_id,
        "input": span.input_text,
        "output": span.output_text,
        "state": span.state,
        "framework": span.framework,
        "attributes": span.attributes,
        "events": span.events,
        "resource": span.resource,
    }


def state_view(step: Step) -> dict[str, Any]:
    return {
        "index": step.index,
        "span_id": step.ref,
        "parent_span_id": step.parent_ref,
        "agent": step.agent,
        "role": step.role,
        "kind": step.kind,
        "input": step.input,
        "output": step.content,
        "tool_calls": [{"name": c.name, "arguments": c.arguments, "result": c.result, "call_id": c.call_id,
                        "error": c.error} for c in step.tool_calls],
        "model": step.model,
        "tokens": {"input": step.input_tokens, "output": step.output_tokens, "total": step.tokens},
        "cost_usd": step.cost_usd,
        "latency_ms": step.latency_ms,
        "status": step.status,
        "error": step.error,
        "start_time": ns_to_iso(step.start_ns),
        "state": step.state,
        "metadata": step.metadata,
    }


def stats_from_fields(data: dict[str, Any]) -> AgentStats:
    known = {k: v for k, v in data.items() if k in AgentStats.__dataclass_fields__}
    known["frameworks"] = set(known.get("frameworks") or ())
    return AgentStats(**known)


def tenant_agents(tenant_id: str) -> list[dict[str, Any]]:
    """Every agent seen in the tenant's traces, most recently active first."""
    from mao.adapters.traces import iter_agent_rows

    groups: list[dict[str, AgentStats]] = []
    trace_counts: dict[str, int] = {}
    for agent_id, _trace_id, fields in iter_agent_rows(tenant_id):
        groups.append({agent_id: stats_from_fields(fields)})
        trace_counts[agent_id] = trace_counts.get(agent_id, 0) + 1
    merged = merge_agent_stats(*groups)
    ordered = sorted(merged.values(), key=lambda s: (-(s.last_active_ns or 0), s.agent_id))
    out = []
    for stats in ordered:
        view = stats.to_dict()
        view["trace_count"] = trace_counts[stats.agent_id]
        view["frameworks"] = sorted(stats.frameworks)
        out.append(view)
    return out
