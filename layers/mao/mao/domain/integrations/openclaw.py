"""OpenClaw agent sessions -> spans.

Payload: ``session_id``, ``agent_name``, ``channel``, ``elevated_mode``, ``sandbox_enabled``,
``started_at``/``ended_at``, ``status`` and ``events`` (``type``: ``message``, ``tool_call``,
``tool_result``, ``spawn``; with ``role``, ``content``, ``tool``/``tool_name``, ``args``/``input``,
``result``/``output``, ``call_id``, ``timestamp``, and for spawns ``session_id``/``child_session_id`` and
``agent_name``), plus ``spawned_sessions`` (each a session of the same shape, nested to any depth).

The session is the root span; user messages and agent messages are steps of the agent that speaks;
a tool call and its result (matched by ``call_id``, else the oldest open call of that tool) form one
tool span; a spawn is an agent span under which the spawned session's events hang. The session's
security posture (elevated mode, sandbox) is kept on the root span.
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
from mao.domain.models import Span

PROVIDER = "openclaw"
_MAX_DEPTH = 8


def entity_id(payload: dict[str, Any]) -> str:
    return require_str(payload, "agent_name", "agentName", "agent")


class _Builder:
    def __init__(self, trace_id: str, base: int) -> None:
        self.trace_id = trace_id
        self.clock = base
        self.spans: list[Span] = []

    def _time(self, value: Any) -> int:
        t = to_ns(value)
        self.clock = max(self.clock + 1, t) if t else self.clock + 1_000_000
        return t or self.clock

    def session(self, session: dict[str, Any], parent: str | None, path: str, depth: int,
                children: dict[str, dict[str, Any]]) -> str:
        if depth > _MAX_DEPTH:
            raise PayloadError(f"spawned sessions nested deeper than {_MAX_DEPTH}")
        session_id = require_str(session, "session_id", "sessionId", "id")
        agent = str(session.get("agent_name") or session.get("agentName") or session.get("agent") or "agent")
        events = session.get("events", [])
        if not isinstance(events, list):
            raise PayloadError(f"session {session_id!r}: 'events' must be a list")
        span_id = span_id_for(self.trace_id, "session", path, session_id)
        root = Span(trace_id=self.trace_id, span_id=span_id, name=f"session {agent}",
                    start_ns=self._time(session.get("started_at") or session.get("created_at")),
                    parent_span_id=parent, kind="workflow" if parent is None else "agent",
                    agent_name=agent, framework=PROVIDER,
                    attributes={"openclaw.session_id": session_id, "openclaw.agent_name": agent,
                                "openclaw.channel": session.get("channel"),
                                "openclaw.elevated_mode": bool(session.get("elevated_mode", False)),
                                "openclaw.sandbox_enabled": session.get("sandbox_enabled"),
                                "openclaw.parent_session_id": session.get("parent_session_id")})
        self.spans.append(root)
        open_calls: list[Span] = []
        last_text: str | None = None
        first_user: str | None = None
        for index, ev in enumerate(events):
            if not isinstance(ev, dict):
                raise PayloadError(f"session {session_id!r}: events[{index}] must be an object")
            etype = str(ev.get("type") or ev.get("event") or "").lower().replace("-", "_")
            at = self._time(ev.get("timestamp") or ev.get("ts") or ev.get("created_at"))
            ident = ev.get("id") or ev.get("event_id") or index
            if etype == "message":
                role = str(ev.get("role") or "assistant").lower()
                text = as_text(ev.get("content") or ev.get("text"))
                speaker = "user" if role == "user" else str(ev.get("agent_name") or agent)
                self.spans.append(Span(
                    trace_id=self.trace_id, span_id=span_id_for(self.trace_id, "event", path, session_id, ident),
                    name=f"message {speaker}", start_ns=at, end_ns=at, parent_span_id=span_id, kind="agent",
                    status="ok", agent_name=speaker, role="user" if role == "user" else "assistant",
                    model=ev.get("model") if isinstance(ev.get("model"), str) else None,
                    input_tokens=as_int(ev.get("input_tokens")), output_tokens=as_int(ev.get("output_tokens")),
                    output_text=text, framework=PROVIDER,
                    attributes={"openclaw.event.type": "message", "openclaw.event.role": role}))
                if role == "user":
                    first_user = first_user or text
                elif text:
                    last_text = text
            elif etype == "tool_call":
                tool = str(ev.get("tool") or ev.get("tool_name") or ev.get("name") or "tool")
                call = Span(
                    trace_id=self.trace_id, span_id=span_id_for(self.trace_id, "event", path, session_id, ident),
                    name=tool, start_ns=at, parent_span_id=span_id, kind="tool", status="unset",
                    agent_name=agent, tool_name=tool, tool_call_id=_str(ev.get("call_id") or ev.get("id")),
                    input_text=as_text(ev.get("args", ev.get("input", ev.get("arguments")))), framework=PROVIDER,
                    attributes={"openclaw.event.type": "tool_call", "openclaw.elevated": ev.get("elevated")})
                self.spans.append(call)
                open_calls.append(call)
            elif etype == "tool_result":
                call_id = _str(ev.get("call_id"))
                tool = ev.get("tool") or ev.get("tool_name") or ev.get("name")
                match = next((c for c in open_calls if call_id and c.tool_call_id == call_id), None) or \
                    next((c for c in open_calls if tool is None or c.tool_name == tool), None)
                err = error_text(ev.get("error"))
                output = as_text(ev.get("result", ev.get("output", ev.get("content"))))
                if match is None:  # a result without its call: keep it as a finished tool span
                    match = Span(trace_id=self.trace_id,
                                 span_id=span_id_for(self.trace_id, "event", path, session_id, ident),
                                 name=str(tool or "tool"), start_ns=at, parent_span_id=span_id, kind="tool",
                                 agent_name=agent, tool_name=str(tool or "tool"), tool_call_id=call_id,
                                 framework=PROVIDER, attributes={"openclaw.event.type": "tool_result"})
                    self.spans.append(match)
                else:
                    open_calls.remove(match)
                match.end_ns = max(at, match.start_ns)
                match.output_text = output
                match.status = "error" if err or ev.get("is_error") else "ok"
                match.status_message = err
            elif etype == "spawn":
                child_id = _str(ev.get("child_session_id") or ev.get("session_id") or ev.get("spawned_session_id"))
                child = children.pop(child_id, None) if child_id else None
                if child is None:
                    child = {"session_id": child_id or f"{session_id}:{index}",
                             "agent_name": ev.get("agent_name") or ev.get("agent") or "subagent",
                             "events": [], "started_at": ev.get("timestamp")}
                child.setdefault("parent_session_id", session_id)
                if ev.get("task") and not child.get("task"):
                    child["task"] = ev.get("task")
                self.session(child, span_id, f"{path}/{index}", depth + 1, children)
            else:
                raise PayloadError(f"session {session_id!r}: events[{index}] has unknown type {etype!r} "
                                   "(expected message, tool_call, tool_result or spawn)")
        for call in open_calls:  # calls that never returned
            call.status = "unset"
        end = to_ns(session.get("ended_at") or session.get("finished_at"))
        err = error_text(session.get("error"))
        root.status = status_of(session.get("status"), err) if session.get("status") or err else "unset"
        root.status_message = err
        root.end_ns = end or (self.clock if root.status != "unset" else None)
        root.input_text = as_text(session.get("task")) or first_user
        root.output_text = last_text
        return span_id


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None


def normalise(body: Any) -> NormalisedRun:
    payload = require_object(body)
    agent = entity_id(payload)
    session_id = require_str(payload, "session_id", "sessionId")
    trace_id = trace_id_for(PROVIDER, agent, session_id)
    spawned = payload.get("spawned_sessions") or []
    if not isinstance(spawned, list):
        raise PayloadError("'spawned_sessions' must be a list")
    children: dict[str, dict[str, Any]] = {}
    for index, child in enumerate(spawned):
        if not isinstance(child, dict):
            raise PayloadError(f"spawned_sessions[{index}] must be an object")
        children[require_str(child, "session_id", "sessionId", "id")] = child
    base = to_ns(payload.get("started_at") or payload.get("created_at"))
    if base is None:
        events = payload.get("events") if isinstance(payload.get("events"), list) else []
        base = min((t for e in events if isinstance(e, dict) for t in [to_ns(e.get("timestamp"))] if t), default=None)
    if base is None:
        raise PayloadError("missing 'started_at' (and no event has a timestamp)")
    builder = _Builder(trace_id, base - 1)
    builder.session(payload, None, "", 0, children)
    while children:  # spawned sessions whose spawn event was not sent
        child_id = next(iter(children))
        child = children.pop(child_id)
        child.setdefault("parent_session_id", session_id)
        builder.session(child, builder.spans[0].span_id, f"orphan:{child_id}", 1, children)
    root = builder.spans[0]
    return NormalisedRun(PROVIDER, agent, session_id, trace_id, root.name, root.status, builder.spans,
                         {"channel": payload.get("channel"), "spawned_sessions": len(spawned),
                          "elevated_mode": bool(payload.get("elevated_mode", False)),
                          "sandbox_enabled": payload.get("sandbox_enabled")})
