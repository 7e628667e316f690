"""LangGraph runs -> spans.

Payload: ``run_id``, ``thread_id``, ``assistant_id``, ``graph_id``, ``status``, ``created_at``/
``updated_at``, ``input``/``output``, ``error`` and ``steps`` (``node``, ``superstep``, the node's state
update as ``update``/``state``/``values``, optional ``started_at``/``ended_at``, ``error``).

One span per node execution, in superstep order; the state update is kept as the span's state. When
the update carries chat messages (``messages`` of ``{type|role, content, tool_calls, name}``), the
last AI message is the node's output, and a node whose update holds only tool messages is a tool step.
"""

from __future__ import annotations

from typing import Any

from mao.domain.integrations.common import (
    NormalisedRun,
    PayloadError,
    as_int,
    as_text,
    error_text,
    require_object,
    require_str,
    span_id_for,
    status_of,
    to_ns,
    trace_id_for,
)
from mao.domain.models import Span, SpanKind

PROVIDER = "langgraph"
_STEP_NS = 1_000_000  # nodes without timestamps: one millisecond apart per superstep


def entity_id(payload: dict[str, Any]) -> str:
    return require_str(payload, "assistant_id", "assistantId")


def _messages(update: Any) -> list[dict[str, Any]]:
    if not isinstance(update, dict):
        return []
    msgs = update.get("messages")
    if isinstance(msgs, dict):
        msgs = [msgs]
    return [m for m in msgs or [] if isinstance(m, dict)]


def _mtype(message: dict[str, Any]) -> str:
    return str(message.get("type") or message.get("role") or "").lower()


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content blocks
        return "\n".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in content).strip()
    return str(content or "")


def _usage(messages: list[dict[str, Any]]) -> tuple[int | None, int | None, str | None]:
    for m in reversed(messages):
        usage = m.get("usage_metadata") or (m.get("response_metadata") or {}).get("token_usage")
        if isinstance(usage, dict):
            meta = m.get("response_metadata") if isinstance(m.get("response_metadata"), dict) else {}
            model = meta.get("model_name") or meta.get("model")
            return (as_int(usage.get("input_tokens", usage.get("prompt_tokens"))),
                    as_int(usage.get("output_tokens", usage.get("completion_tokens"))),
                    model if isinstance(model, str) else None)
    return None, None, None


def _step_span(trace_id: str, root_id: str, position: int, step: dict[str, Any], base: int) -> Span:
    node = require_str(step, "node", "name")
    superstep = as_int(step.get("superstep", step.get("step")))
    update = step.get("update", step.get("state", step.get("values")))
    messages = _messages(update)
    ai = [m for m in messages if _mtype(m) in ("ai", "assistant", "aimessage", "aimessagechunk")]
    tools = [m for m in messages if _mtype(m) in ("tool", "toolmessage", "function")]
    kind: SpanKind = "tool" if messages and len(tools) == len(messages) else "agent"
    output = _content(ai[-1]) if ai else (_content(tools[-1]) if tools else None)
    human = [m for m in messages if _mtype(m) in ("human", "user", "humanmessage")]
    prompt, completion, model = _usage(ai)
    err = error_text(step.get("error"))
    order = superstep if superstep is not None else position
    start = to_ns(step.get("started_at") or step.get("timestamp")) or base + order * _STEP_NS + position
    end = to_ns(step.get("ended_at") or step.get("finished_at"))
    calls = [c for m in ai for c in (m.get("tool_calls") or []) if isinstance(c, dict)]
    return Span(
        trace_id=trace_id,
        span_id=span_id_for(trace_id, "step", order, node, position),
        name=node,
        start_ns=start,
        end_ns=end if end and end >= start else None,
        parent_span_id=root_id,
        kind=kind,
        status="error" if err else "ok",
        status_message=err,
        agent_name=node,
        model=model,
        input_tokens=prompt,
        output_tokens=completion,
        tool_name=(tools[-1].get("name") or node) if kind == "tool" else None,
        tool_call_id=tools[-1].get("tool_call_id") if kind == "tool" else None,
        input_text=as_text(_content(human[-1])) if human else None,
        output_text=as_text(output) if output else (as_text(update) if not messages else None),
        state=update if isinstance(update, dict) else None,
        framework=PROVIDER,
        attributes={"langgraph.node": node, "langgraph.superstep": superstep,
                    "langgraph.tool_calls": [c.get("name") for c in calls] or None},
    )


def normalise(body: Any) -> NormalisedRun:
    payload = require_object(body)
    assistant_id = entity_id(payload)
    run_id = require_str(payload, "run_id", "runId")
    trace_id = trace_id_for(PROVIDER, assistant_id, run_id)
    steps = payload.get("steps", [])
    if not isinstance(steps, list):
        raise PayloadError("'steps' must be a list")
    base = to_ns(payload.get("created_at") or payload.get("started_at"))
    if base is None:
        base = min((t for s in steps if isinstance(s, dict)
                    for t in [to_ns(s.get("started_at") or s.get("timestamp"))] if t), default=None)
    if base is None:
        raise PayloadError("missing 'created_at' (and no step has a timestamp)")
    root_id = span_id_for(trace_id, "run")
    spans: list[Span] = []
    for position, step in enumerate(steps):
        if not isinstance(step, dict):
            raise PayloadError(f"steps[{position}] must be an object")
        try:
            spans.append(_step_span(trace_id, root_id, position, step, base + 1))
        except PayloadError as exc:
            raise PayloadError(f"steps[{position}]: {exc}") from None
    run_error = error_text(payload.get("error"))
    status = status_of(payload.get("status"), run_error)
    end = to_ns(payload.get("updated_at") or payload.get("finished_at"))
    last = max((s.end_ns or s.start_ns for s in spans), default=base)
    graph = str(payload.get("graph_id") or "graph")
    inp = payload.get("input")
    human = _messages(inp)
    spans.insert(0, Span(
        trace_id=trace_id,
        span_id=root_id,
        name=graph,
        start_ns=base,
        end_ns=(end if end and end >= last else last) if status != "unset" else None,
        kind="workflow",
        status=status,
        status_message=run_error,
        input_text=as_text(_content(human[-1])) if human else as_text(inp),
        output_text=next((s.output_text for s in reversed(spans) if s.output_text and s.kind == "agent"), None)
        or as_text(payload.get("output")),
        framework=PROVIDER,
        attributes={"langgraph.run_id": run_id, "langgraph.thread_id": payload.get("thread_id"),
                    "langgraph.assistant_id": assistant_id, "langgraph.graph_id": payload.get("graph_id"),
                    "langgraph.supersteps": max((s.attributes.get("langgraph.superstep") or 0 for s in spans),
                                                default=0)},
    ))
    return NormalisedRun(PROVIDER, assistant_id, run_id, trace_id, graph, status, spans,
                         {"thread_id": payload.get("thread_id"), "graph_id": payload.get("graph_id"),
                          "steps": len(steps)})
