"""The internal model every input format is normalised into.

A *run* is what the detectors and the attribution component look at: an ordered list of *steps*
(agent states from a trace, or turns of a conversation), plus what is known about the task.
Spans keep the raw structure of OpenTelemetry traces; turns keep the raw structure of
conversations. Both are reduced to steps by the format adapters, so detection code is written
once and works on either.

Plain dataclasses with slots: they are created by the hundred thousand during ingest and must be
cheap. No AWS, no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SpanKind = Literal["agent", "llm", "tool", "workflow", "chain", "retrieval", "embedding", "other"]
Status = Literal["ok", "error", "unset"]
RunKind = Literal["trace", "conversation"]

FRAMEWORKS: tuple[str, ...] = (
    "langgraph",
    "crewai",
    "autogen",
    "openai-agents",
    "langchain",
    "openai",
    "anthropic",
    "n8n",
    "dify",
    "openclaw",
    "claude-code",
    "unknown",
)


@dataclass(slots=True)
class ToolCall:
    name: str
    arguments: Any = None
    result: Any = None
    call_id: str | None = None
    error: str | None = None


@dataclass(slots=True)
class Span:
    """One normalised span (OTLP, webhook node run, Claude Code hook record)."""

    trace_id: str
    span_id: str
    name: str
    start_ns: int
    end_ns: int | None = None
    parent_span_id: str | None = None
    kind: SpanKind = "other"
    status: Status = "unset"
    status_message: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    role: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None  # None = unknown (model not in the price table), never 0 by default
    tool_name: str | None = None
    tool_call_id: str | None = None
    input_text: str | None = None
    output_text: str | None = None
    state: dict[str, Any] | None = None
    framework: str = "unknown"
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_ms(self) -> float | None:
        if self.end_ns is None:
            return None
        return max(0.0, (self.end_ns - self.start_ns) / 1e6)


@dataclass(slots=True)
class Turn:
    """One message of a conversation."""

    index: int
    speaker: str
    role: str  # user | assistant | system | tool | agent
    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    tokens: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Step:
    """One unit of agent work, the common currency of detection and attribution.

    ``ref`` points back at the source: a span id for traces, ``"turn:<n>"`` for conversations.
    ``index`` is the 0-based position in the run (the "step" that attribution reports).
    """

    index: int
    agent: str
    content: str
    ref: str
    role: str = "assistant"
    input: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    status: Status = "unset"
    error: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    start_ns: int | None = None
    parent_ref: str | None = None
    kind: SpanKind = "agent"
    state: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass(slots=True)
class Run:
    """What detectors and attribution analyse: a trace's states or a conversation's turns."""

    run_id: str
    kind: RunKind
    steps: list[Step]
    framework: str = "unknown"
    task: str | None = None
    ground_truth: str | None = None
    final_output: str | None = None
    status: Status = "unset"
    spans: list[Span] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def agents(self) -> list[str]:
        """Distinct agents in order of first appearance."""
        seen: dict[str, None] = {}
        for step in self.steps:
            seen.setdefault(step.agent, None)
        return list(seen)


Severity = Literal["low", "medium", "high", "critical"]


@dataclass(slots=True)
class Evidence:
    """What a detection points at: a span id or a turn (``ref``), the step index and a quote."""

    ref: str
    quote: str
    step_index: int | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "step_index": self.step_index, "quote": self.quote, "note": self.note}


@dataclass(slots=True)
class Detection:
    type: str  # detector key, e.g. "step_repetition", "loop", "prompt_injection"
    confidence: float
    severity: Severity
    explanation: str
    evidence: list[Evidence]
    detector_version: str
    f_code: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "f_code": self.f_code,
            "confidence": round(self.confidence, 4),
            "severity": self.severity,
            "explanation": self.explanation,
            "evidence": [e.to_dict() for e in self.evidence],
            "detector_version": self.detector_version,
            "details": self.details,
        }
