"""Labelled detection fixtures: one JSON object per line, converted into a :class:`Run`.

Line format::

    {"id": str, "label": 0|1, "framework": str, "task": str|null, "ground_truth": str|null,
     "kind"?: "trace"|"conversation",
     "steps": [{"agent": str, "content": str, "role"?: str, "input"?: str, "kind"?: str,
                "tool_calls"?: [{"name", "arguments", "result", "error"}], "status"?: "ok"|"error",
                "error"?: str, "input_tokens"?: int, "output_tokens"?: int, "model"?: str,
                "state"?: {...}}]}

A fixture becomes a trace (span ids as step refs, ``run.spans`` filled) when it says so with
``"kind": "trace"`` or when its steps carry span-only fields (span kind, status, state, token
counts); otherwise it becomes a conversation whose step refs are ``"turn:<n>"``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mao.domain.models import Run, Span, Step, ToolCall

_SPAN_FIELDS = ("kind", "status", "state", "input_tokens", "output_tokens", "error")
_STEP_MS = 1_000_000_000  # synthetic spacing between span start times: one second


@dataclass(frozen=True, slots=True)
class Fixture:
    """One labelled line: the label, where it came from and the run built from it."""

    id: str
    label: int
    framework: str
    run: Run
    source: str = ""


def _tool_calls(raw: Any) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for i, item in enumerate(raw or []):
        if not isinstance(item, Mapping):
            continue
        calls.append(ToolCall(
            name=str(item.get("name", "")),
            arguments=item.get("arguments"),
            result=item.get("result"),
            call_id=item.get("call_id") or f"call_{i}",
            error=item.get("error"),
        ))
    return calls


def _run_kind(obj: Mapping[str, Any]) -> str:
    declared = obj.get("kind")
    if declared in ("trace", "conversation"):
        return str(declared)
    steps = obj.get("steps") or []
    if any(isinstance(s, Mapping) and any(k in s for k in _SPAN_FIELDS) for s in steps):
        return "trace"
    return "conversation"


def _span_id(run_id: str, index: int) -> str:
    return hashlib.blake2b(f"{run_id}/{index}".encode(), digest_size=8).hexdigest()


def run_from_fixture(obj: Mapping[str, Any]) -> Run:
    """Convert one fixture line (already parsed) into a :class:`Run`."""
    run_id = str(obj.get("id") or "fixture")
    framework = str(obj.get("framework") or "unknown")
    kind = _run_kind(obj)
    trace_id = hashlib.blake2b(run_id.encode(), digest_size=16).hexdigest()
    steps: list[Step] = []
    spans: list[Span] = []
    for index, raw in enumerate(obj.get("steps") or []):
        if not isinstance(raw, Mapping):
            raise ValueError(f"fixture {run_id}: step {index} is not an object")
        agent = str(raw.get("agent") or raw.get("name") or raw.get("role") or "agent")
        content = str(raw.get("content") or "")
        role = str(raw.get("role") or ("user" if agent.lower() in ("user", "human") else "assistant"))
        default_status = "ok" if kind == "trace" else "unset"
        status = raw.get("status") or ("error" if raw.get("error") else default_status)
        span_kind = raw.get("kind") or "agent"
        calls = _tool_calls(raw.get("tool_calls"))
        if kind == "trace":
            span_id = _span_id(run_id, index)
            start = index * _STEP_MS
            spans.append(Span(
                trace_id=trace_id, span_id=span_id, name=f"{agent}.{span_kind}", start_ns=start,
                end_ns=start + _STEP_MS // 2, kind=span_kind, status=status,
                status_message=raw.get("error"), agent_id=agent, agent_name=agent, role=role,
                model=raw.get("model"), input_tokens=raw.get("input_tokens"),
                output_tokens=raw.get("output_tokens"),
                tool_name=calls[0].name if calls and span_kind == "tool" else None,
                input_text=raw.get("input"), output_text=content, state=raw.get("state"),
                framework=framework,
            ))
            ref, start_ns, latency = span_id, start, (_STEP_MS // 2) / 1e6
        else:
            ref, start_ns, latency = f"turn:{index}", None, None
        steps.append(Step(
            index=index, agent=agent, content=content, ref=ref, role=role,
            input=str(raw.get("input") or ""), tool_calls=calls, status=status,
            error=raw.get("error"), model=raw.get("model"), input_tokens=raw.get("input_tokens"),
            output_tokens=raw.get("output_tokens"), latency_ms=latency, start_ns=start_ns,
            kind=span_kind, state=raw.get("state"),
        ))
    final = next((s.content for s in reversed(steps) if s.content and s.role != "user"), None)
    errors = any(s.status == "error" for s in steps)
    return Run(
        run_id=run_id, kind=kind, steps=steps, framework=framework, task=obj.get("task"),
        ground_truth=obj.get("ground_truth"), final_output=final,
        status="error" if errors else ("ok" if kind == "trace" else "unset"),
        spans=spans, metadata={"label": obj.get("label"), "fixture": True},
    )


def iter_fixture_file(path: Path) -> Iterator[Fixture]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name}:{lineno}: invalid JSON: {exc}") from None
            label = int(obj.get("label", 0))
            if label not in (0, 1):
                raise ValueError(f"{path.name}:{lineno}: label must be 0 or 1")
            framework = str(obj.get("framework") or "unknown")
            yield Fixture(id=str(obj.get("id")), label=label, framework=framework,
                          run=run_from_fixture(obj), source=path.stem)


def load_fixtures(directory: Path | str) -> dict[str, list[Fixture]]:
    """Every ``*.jsonl`` in ``directory`` keyed by file stem (detector key, or ``healthy``)."""
    root = Path(directory)
    return {p.stem: list(iter_fixture_file(p)) for p in sorted(root.glob("*.jsonl"))}
