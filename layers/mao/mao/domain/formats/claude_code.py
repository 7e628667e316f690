"""Claude Code hook records -> spans, one trace per session.

The ingest body (``POST /traces/claude-code/ingest``) is one record or a list of records with
``timestamp, tool_name, hook_type, session_id, tool_input, tool_output, working_dir, trace_type,
model, tokens_in, tokens_out, cost_usd``; the names Claude Code's hooks use themselves
(``hook_event_name``, ``tool_response``, ``cwd``) are accepted too.

Ids are derived from content, never random: the trace id from the session id, a tool call's span
id from its ``tool_use_id`` (or, without one, from the call itself), other spans' ids from the
record. Delivering the same records again yields the same spans, so storage can upsert by id.
A ``PreToolUse``/``PostToolUse`` pair becomes one tool span from the first to the second.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mao.domain.formats.semconv import span_cost
from mao.domain.models import Span

FRAMEWORK = "claude-code"
AGENT = "claude-code"
_ALIASES = {"hook_event_name": "hook_type", "tool_response": "tool_output", "cwd": "working_dir"}
_PRE = frozenset({"pretooluse", "pre_tool_use"})
_POST = frozenset({"posttooluse", "post_tool_use", "posttoolusefailure"})
_AGENT_HOOKS = frozenset({"stop", "subagentstop"})


class ClaudeCodeFormatError(ValueError):
    """A record is invalid; ``field`` names the offending field and ``index`` the record."""

    def __init__(self, message: str, field: str, index: int | None = None) -> None:
        where = f"record {index}: " if index is not None else ""
        super().__init__(f"{where}{field}: {message}")
        self.field = field
        self.index = index


@dataclass(slots=True)
class ClaudeCodeTrace:
    session_id: str
    trace_id: str
    spans: list[Span] = field(default_factory=list)


def session_trace_id(session_id: str) -> str:
    return hashlib.sha256(f"claude-code:{session_id}".encode()).hexdigest()[:32]


def _span_id(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _timestamp_ns(value: Any, index: int) -> int:
    if isinstance(value, bool):
        raise ClaudeCodeFormatError("must be an ISO 8601 time or a unix timestamp", "timestamp", index)
    if isinstance(value, (int, float)):
        number = float(value)
        if number <= 0:
            raise ClaudeCodeFormatError("must be positive", "timestamp", index)
        # seconds, milliseconds, microseconds or nanoseconds, by magnitude
        for limit, scale in ((1e11, 1e9), (1e14, 1e6), (1e17, 1e3)):
            if number < limit:
                return int(number * scale)
        return int(number)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return _timestamp_ns(float(text), index)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ClaudeCodeFormatError(f"not an ISO 8601 time: {text!r}", "timestamp", index) from None
        if parsed.tzinfo is None:
            raise ClaudeCodeFormatError("needs a UTC offset (e.g. 'Z')", "timestamp", index)
        return int(parsed.timestamp()) * 1_000_000_000 + parsed.microsecond * 1000
    raise ClaudeCodeFormatError("is required (ISO 8601 time or unix timestamp)", "timestamp", index)


def _count(record: dict[str, Any], key: str, index: int) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ClaudeCodeFormatError("must be a non-negative integer", key, index)
    try:
        number = int(value)
    except ValueError:
        raise ClaudeCodeFormatError("must be a non-negative integer", key, index) from None
    if number < 0 or number != float(value):
        raise ClaudeCodeFormatError("must be a non-negative integer", key, index)
    return number


def _optional_str(record: dict[str, Any], key: str, index: int) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ClaudeCodeFormatError("must be a string", key, index)
    return value


def _normalise(record: Any, index: int, default_ns: int | None) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ClaudeCodeFormatError("must be a JSON object", "record", index)
    rec = dict(record)
    for alias, name in _ALIASES.items():
        if alias in rec and rec.get(name) is None:
            rec[name] = rec[alias]
    session = rec.get("session_id")
    if not isinstance(session, str) or not session.strip():
        raise ClaudeCodeFormatError("is required (a non-empty string)", "session_id", index)
    rec["session_id"] = session.strip()
    if rec.get("timestamp") is None and default_ns is not None:
        rec["_ns"] = default_ns
    else:
        rec["_ns"] = _timestamp_ns(rec.get("timestamp"), index)
    for key in ("tool_name", "hook_type", "working_dir", "trace_type", "model", "tool_use_id"):
        rec[key] = _optional_str(rec, key, index)
    rec["tokens_in"] = _count(rec, "tokens_in", index)
    rec["tokens_out"] = _count(rec, "tokens_out", index)
    cost = rec.get("cost_usd")
    if cost is not None:
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or cost < 0:
            raise ClaudeCodeFormatError("must be a non-negative number", "cost_usd", index)
        rec["cost_usd"] = float(cost)
    tool_input = rec.get("tool_input")
    if tool_input is not None and not isinstance(tool_input, (dict, list, str)):
        raise ClaudeCodeFormatError("must be an object, list or string", "tool_input", index)
    return rec


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _is_failure(output: Any) -> str | None:
    if isinstance(output, dict):
        if output.get("is_error") or output.get("success") is False:
            detail = output.get("error") or output.get("stderr") or output.get("content")
            return _text(detail) or "tool failed"
        if output.get("error"):
            return _text(output["error"])
    return None


def _attributes(rec: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {"claude_code.hook": rec.get("hook_type") or ""}
    for key in ("working_dir", "trace_type", "transcript_path", "permission_mode", "tool_use_id"):
        value = rec.get(key)
        if value is not None:
            attrs[f"claude_code.{key}"] = value
    attrs["session.id"] = rec["session_id"]
    return attrs


def _cost(rec: dict[str, Any]) -> float | None:
    if rec.get("cost_usd") is not None:
        return rec["cost_usd"]
    model = rec.get("model")
    if model and (rec.get("tokens_in") is not None or rec.get("tokens_out") is not None):
        return span_cost(model, rec.get("tokens_in") or 0, rec.get("tokens_out") or 0, "anthropic")
    return None


def _make_span(trace_id: str, span_id: str, rec: dict[str, Any], *, name: str, kind: str,
               start: int, end: int | None) -> Span:
    hook = (rec.get("hook_type") or "").lower()
    output = rec.get("tool_output")
    failure = _is_failure(output)
    is_tool = kind == "tool"
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        name=name,
        start_ns=start,
        end_ns=end,
        kind=kind,  # type: ignore[arg-type]
        status="error" if failure else ("ok" if end is not None and is_tool else "unset"),
        status_message=failure,
        agent_id=AGENT if not hook.startswith("subagent") else f"{AGENT}:subagent",
        agent_name=AGENT if not hook.startswith("subagent") else f"{AGENT} subagent",
        role="user" if hook == "userpromptsubmit" else ("tool" if is_tool else "assistant"),
        model=rec.get("model"),
        provider="anthropic" if rec.get("model") else None,
        input_tokens=rec.get("tokens_in"),
        output_tokens=rec.get("tokens_out"),
        cost_usd=_cost(rec),
        tool_name=rec.get("tool_name") if is_tool else None,
        tool_call_id=rec.get("tool_use_id"),
        input_text=_text(rec.get("tool_input") if is_tool else (rec.get("prompt") or rec.get("tool_input"))),
        output_text=_text(output) if output is not None else _text(rec.get("message")),
        framework=FRAMEWORK,
        attributes=_attributes(rec),
    )


def _call_key(rec: dict[str, Any]) -> tuple[Any, ...]:
    if rec.get("tool_use_id"):
        return ("id", rec["tool_use_id"])
    return ("call", rec.get("tool_name"), _text(rec.get("tool_input")))


def parse_claude_code(data: Any, default_timestamp_ns: int | None = None) -> list[ClaudeCodeTrace]:
    """Records (one or a list) -> one :class:`ClaudeCodeTrace` per session, sessions in first-seen order.

    ``default_timestamp_ns`` is used for records without a ``timestamp`` (raw hook payloads);
    without it such a record is an error naming the field.
    """
    records = data if isinstance(data, list) else [data]
    if not records:
        raise ClaudeCodeFormatError("must hold at least one record", "body")
    normalised = [_normalise(r, i if isinstance(data, list) else None, default_timestamp_ns)
                  for i, r in enumerate(records)]
    normalised.sort(key=lambda r: r["_ns"])  # stable: same-time records keep their order

    traces: dict[str, ClaudeCodeTrace] = {}
    open_calls: dict[tuple[str, tuple[Any, ...]], list[Span]] = {}
    for rec in normalised:
        session = rec["session_id"]
        trace = traces.get(session)
        if trace is None:
            trace = traces[session] = ClaudeCodeTrace(session, session_trace_id(session))
        hook = (rec.get("hook_type") or "").lower()
        tool = rec.get("tool_name")
        ns = rec["_ns"]
        if tool and hook in _PRE:
            key = _call_key(rec)
            ident = rec.get("tool_use_id") or (tool, _text(rec.get("tool_input")), ns)
            span = _make_span(trace.trace_id, _span_id(session, "tool", ident), rec,
                              name=f"tool {tool}", kind="tool", start=ns, end=None)
            open_calls.setdefault((session, key), []).append(span)
            trace.spans.append(span)
        elif tool and (hook in _POST or not hook):
            pending = open_calls.get((session, _call_key(rec)))
            if pending:
                span = pending.pop(0)
                done = _make_span(trace.trace_id, span.span_id, rec, name=span.name, kind="tool",
                                  start=span.start_ns, end=max(ns, span.start_ns))
                trace.spans[trace.spans.index(span)] = done
            else:
                duration = rec.get("duration_ms")
                timed = isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration > 0
                start = ns - int(duration * 1e6) if timed else ns
                ident = rec.get("tool_use_id") or (tool, _text(rec.get("tool_input")), start)
                trace.spans.append(_make_span(trace.trace_id, _span_id(session, "tool", ident), rec,
                                              name=f"tool {tool}", kind="tool", start=start, end=ns))
        else:
            kind = "agent" if hook in _AGENT_HOOKS else "other"
            name = rec.get("hook_type") or rec.get("trace_type") or "event"
            content = {k: v for k, v in rec.items() if k != "_ns"}
            trace.spans.append(_make_span(trace.trace_id, _span_id(session, "event", content), rec,
                                          name=name, kind=kind, start=ns, end=ns))
    return list(traces.values())
