"""Trace-level derivation: summary, state snapshots, the detectors' run, per-agent statistics.

Input is the normalised spans of one trace (in any order, possibly incomplete: spans of a trace
arrive over several exports). Nothing here assumes the trace is finished: a trace whose root span
is open or has not arrived yet is ``running``, never "completed on arrival".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from mao.domain.formats.semconv import assign_agents
from mao.domain.models import Run, Span, Status, Step, ToolCall

TraceStatus = Literal["running", "completed", "error"]
STEP_KINDS = frozenset({"agent", "llm", "tool", "retrieval"})
_FOLD_INTO = frozenset({"agent", "llm"})
UNKNOWN_AGENT = "unknown"


def ns_to_iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def _ordered(spans: Iterable[Span]) -> list[Span]:
    return sorted(spans, key=lambda s: (s.start_ns, s.end_ns if s.end_ns is not None else 1 << 63))


def root_spans(spans: list[Span]) -> list[Span]:
    """Spans without a parent, earliest first. Spans whose parent is absent are not roots."""
    return _ordered(s for s in spans if not s.parent_span_id)


def agent_key(span: Span) -> str | None:
    return span.agent_id or span.agent_name


def agent_label(span: Span) -> str:
    return span.agent_name or span.agent_id or UNKNOWN_AGENT


@dataclass(slots=True)
class TraceSummary:
    trace_id: str
    root_span_id: str | None
    name: str
    start_ns: int
    end_ns: int | None
    duration_ms: float | None
    status: TraceStatus
    agents: list[str]
    span_count: int
    error_count: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # the known part of the cost; see cost_complete
    cost_complete: bool  # False when a span with tokens had a model the price table does not know
    framework: str
    models: list[str]
    conversation_id: str | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "root_span_id": self.root_span_id,
            "name": self.name,
            "start_time": ns_to_iso(self.start_ns),
            "end_time": ns_to_iso(self.end_ns),
            "duration_ms": self.duration_ms,
            "status": self.status,
            "agents": self.agents,
            "span_count": self.span_count,
            "error_count": self.error_count,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": self.cost_usd,
            "cost_complete": self.cost_complete,
            "framework": self.framework,
            "models": self.models,
            "conversation_id": self.conversation_id,
        }


def trace_framework(spans: Iterable[Span]) -> str:
    """The most common known framework of the spans; LangGraph wins over the LangChain it runs on."""
    counts: dict[str, int] = {}
    for span in spans:
        if span.framework != "unknown":
            counts[span.framework] = counts.get(span.framework, 0) + 1
    if not counts:
        return "unknown"
    if "langgraph" in counts:
        return "langgraph"
    return max(sorted(counts), key=lambda f: counts[f])


def trace_status(spans: list[Span]) -> TraceStatus:
    """``running`` while the root is open or missing; ``error`` when the run failed; else ``completed``.

    A failure the run recovered from (a tool error followed by a successful retry) does not make the
    trace an error: the root span, or the last span to finish when no root carries a status, decides.
    """
    roots = root_spans(spans)
    if not roots or any(r.end_ns is None for r in roots):
        return "running"
    if any(r.status == "error" for r in roots):
        return "error"
    if all(r.status == "ok" for r in roots):
        return "completed"
    finished = [s for s in spans if s.end_ns is not None]
    last = max(finished, key=lambda s: (s.end_ns, s.start_ns)) if finished else None
    if last is not None and last.status == "error":
        return "error"
    return "completed"


def summarise_trace(spans: list[Span]) -> TraceSummary:
    if not spans:
        raise ValueError("a trace needs at least one span")
    assign_agents(spans)
    roots = root_spans(spans)
    root = roots[0] if roots else None
    start = min(s.start_ns for s in spans)
    ends = [s.end_ns for s in spans if s.end_ns is not None]
    status = trace_status(spans)
    end = max(ends) if ends and status != "running" else None

    agents: dict[str, None] = {}
    models: dict[str, None] = {}
    input_tokens = output_tokens = errors = 0
    cost = 0.0
    priced = 0
    cost_complete = True
    conversation_id: str | None = None
    for span in _ordered(spans):
        if span.agent_id or span.agent_name:
            agents.setdefault(agent_label(span), None)
        if span.model:
            models.setdefault(span.model, None)
        input_tokens += span.input_tokens or 0
        output_tokens += span.output_tokens or 0
        if span.status == "error":
            errors += 1
        if span.cost_usd is not None:
            cost += span.cost_usd
            priced += 1
        elif span.model and (span.input_tokens or span.output_tokens):
            cost_complete = False
        if conversation_id is None:
            value = span.attributes.get("gen_ai.conversation.id") or span.attributes.get("session.id")
            conversation_id = str(value) if value else None

    return TraceSummary(
        trace_id=spans[0].trace_id,
        root_span_id=root.span_id if root else None,
        name=root.name if root else _ordered(spans)[0].name,
        start_ns=start,
        end_ns=end,
        duration_ms=(end - start) / 1e6 if end is not None else None,
        status=status,
        agents=list(agents),
        span_count=len(spans),
        error_count=errors,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost if priced else None,
        cost_complete=cost_complete,
        framework=trace_framework(spans),
        models=list(models),
        conversation_id=conversation_id,
    )


def _tool_call(span: Span) -> ToolCall:
    return ToolCall(
        name=span.tool_name or span.name,
        arguments=span.input_text,
        result=span.output_text,
        call_id=span.tool_call_id,
        error=(span.status_message or "error") if span.status == "error" else None,
    )


def _default_role(span: Span) -> str:
    if span.role:
        return span.role
    return "tool" if span.kind in ("tool", "retrieval") else "assistant"


def states(spans: list[Span]) -> list[Step]:
    """State snapshots in start order: one per agent, LLM, tool or retrieval span.

    A tool span that is a child of an agent or LLM step is folded into that step's tool calls
    instead of becoming a step of its own.
    """
    assign_agents(spans)
    candidates = [s for s in _ordered(spans) if s.kind in STEP_KINDS]
    step_ids = {s.span_id: s for s in candidates}
    folded: dict[str, list[ToolCall]] = {}
    kept: list[Span] = []
    for span in candidates:
        parent = step_ids.get(span.parent_span_id) if span.parent_span_id else None
        if span.kind == "tool" and parent is not None and parent.kind in _FOLD_INTO:
            folded.setdefault(parent.span_id, []).append(_tool_call(span))
        else:
            kept.append(span)

    steps: list[Step] = []
    for index, span in enumerate(kept):
        calls = folded.get(span.span_id, [])
        if span.kind == "tool":
            calls = [_tool_call(span), *calls]
        metadata: dict[str, Any] = {"span_name": span.name}
        if span.tool_name:
            metadata["tool_name"] = span.tool_name
        steps.append(Step(
            index=index,
            agent=agent_label(span),
            content=span.output_text or "",
            ref=span.span_id,
            role=_default_role(span),
            input=span.input_text or "",
            tool_calls=calls,
            status=span.status,
            error=span.status_message if span.status == "error" else None,
            model=span.model,
            input_tokens=span.input_tokens,
            output_tokens=span.output_tokens,
            cost_usd=span.cost_usd,
            latency_ms=span.latency_ms,
            start_ns=span.start_ns,
            parent_ref=span.parent_span_id,
            kind=span.kind,
            state=span.state,
            metadata=metadata,
        ))
    return steps


def _run_status(status: TraceStatus) -> Status:
    return {"error": "error", "completed": "ok"}.get(status, "unset")  # type: ignore[return-value]


def to_run(trace_id: str, spans: list[Span]) -> Run:
    """The trace as the detectors and attribution see it (``step.ref`` = span id)."""
    summary = summarise_trace(spans)
    steps = states(spans)
    roots = root_spans(spans)
    root = roots[0] if roots else None
    task = root.input_text if root and root.input_text else next((s.input for s in steps if s.input), None)
    final_output = root.output_text if root and root.output_text else next(
        (s.content for s in reversed(steps) if s.content), None)
    return Run(
        run_id=trace_id,
        kind="trace",
        steps=steps,
        framework=summary.framework,
        task=task,
        final_output=final_output,
        status=_run_status(summary.status),
        spans=spans,
        metadata={"summary": summary.to_dict()},
    )


# --- per-agent statistics ------------------------------------------------------------------------

AgentStatus = Literal["running", "error", "ok"]


@dataclass(slots=True)
class AgentStats:
    """Per-agent totals; mergeable, so they can be kept up to date trace by trace."""

    agent_id: str
    agent_name: str | None = None
    step_count: int = 0
    tokens_used: int = 0
    latency_total_ms: float = 0.0
    latency_count: int = 0
    error_count: int = 0
    cost_usd: float = 0.0
    last_active_ns: int | None = None
    last_status: Status = "unset"
    open_spans: int = 0
    frameworks: set[str] = field(default_factory=set)

    @property
    def avg_latency_ms(self) -> float | None:
        return self.latency_total_ms / self.latency_count if self.latency_count else None

    @property
    def status(self) -> AgentStatus:
        if self.open_spans:
            return "running"
        return "error" if self.last_status == "error" else "ok"

    def merge(self, other: AgentStats) -> AgentStats:
        """Combine with the stats of the same agent from other traces (returns ``self``)."""
        self.step_count += other.step_count
        self.tokens_used += other.tokens_used
        self.latency_total_ms += other.latency_total_ms
        self.latency_count += other.latency_count
        self.error_count += other.error_count
        self.cost_usd += other.cost_usd
        self.open_spans += other.open_spans
        self.frameworks |= other.frameworks
        self.agent_name = self.agent_name or other.agent_name
        if other.last_active_ns is not None and (
                self.last_active_ns is None or other.last_active_ns >= self.last_active_ns):
            self.last_active_ns = other.last_active_ns
            self.last_status = other.last_status
        return self

    def to_dict(self) -> dict[str, Any]:
        avg = self.avg_latency_ms
        return {
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "step_count": self.step_count,
            "tokens_used": self.tokens_used,
            "avg_latency_ms": round(avg, 3) if avg is not None else None,
            "last_active_at": ns_to_iso(self.last_active_ns),
            "error_count": self.error_count,
            "cost_usd": self.cost_usd,
            "status": self.status,
        }


def agent_stats(spans: list[Span]) -> dict[str, AgentStats]:
    """Statistics per agent of one trace. Steps are counted as :func:`states` counts them."""
    assign_agents(spans)
    step_refs = {step.ref for step in states(spans)}
    out: dict[str, AgentStats] = {}
    for span in _ordered(spans):
        key = agent_key(span)
        if key is None:
            continue
        stats = out.get(key)
        if stats is None:
            stats = out[key] = AgentStats(agent_id=key, agent_name=span.agent_name)
        stats.tokens_used += (span.input_tokens or 0) + (span.output_tokens or 0)
        if span.cost_usd is not None:
            stats.cost_usd += span.cost_usd
        if span.status == "error":
            stats.error_count += 1
        if span.framework != "unknown":
            stats.frameworks.add(span.framework)
        if span.end_ns is None:
            stats.open_spans += 1
        if span.span_id in step_refs:
            stats.step_count += 1
            latency = span.latency_ms
            if latency is not None:
                stats.latency_total_ms += latency
                stats.latency_count += 1
        active = span.end_ns if span.end_ns is not None else span.start_ns
        if stats.last_active_ns is None or active >= stats.last_active_ns:
            stats.last_active_ns = active
            stats.last_status = span.status
    return out


def merge_agent_stats(*groups: dict[str, AgentStats]) -> dict[str, AgentStats]:
    """Per-agent stats across traces (e.g. for ``GET /agents``)."""
    out: dict[str, AgentStats] = {}
    for group in groups:
        for key, stats in group.items():
            if key in out:
                out[key].merge(stats)
            else:
                out[key] = AgentStats(agent_id=key).merge(stats)
    return out
