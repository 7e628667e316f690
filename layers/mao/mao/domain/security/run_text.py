"""What a run's steps said and read, as plain text for the security detectors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mao.domain.models import Run, Step

SOURCE_KINDS = frozenset({"tool", "retrieval"})
SOURCE_ROLES = frozenset({"tool", "function", "ipython"})


def as_text(value: Any, limit: int = 100_000) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:limit]
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:limit]
    except (TypeError, ValueError):
        return str(value)[:limit]


def is_source_step(step: Step) -> bool:
    """A step whose content is something the agents read (tool output, retrieved documents)."""
    return step.kind in SOURCE_KINDS or step.role in SOURCE_ROLES


def step_sources(step: Step) -> list[str]:
    """Texts a step brought into the run: tool results, and its own content if it is a tool step."""
    out = [as_text(c.result) for c in step.tool_calls if c.result not in (None, "")]
    if is_source_step(step) and step.content:
        out.append(step.content)
    return [s for s in out if s.strip()]


def sources_before(run: Run, index: int) -> list[tuple[int, str]]:
    """(step index, text) of every source that appeared before step ``index``."""
    return [(s.index, text) for s in run.steps[:index] for text in step_sources(s)]


def scanned_texts(step: Step) -> Iterator[tuple[str, str, str]]:
    """(context, label, text) triples to scan for injected instructions in one step."""
    if step.input:
        yield ("user_input" if step.role == "user" else "agent_message"), "input", step.input
    if step.content:
        if is_source_step(step):
            yield "tool_output", "content", step.content
        elif step.role == "user":
            yield "user_input", "content", step.content
        else:
            yield "agent_message", "content", step.content
    for call in step.tool_calls:
        if call.result not in (None, ""):
            yield "tool_output", f"tool:{call.name}", as_text(call.result)


__all__ = ["as_text", "is_source_step", "scanned_texts", "sources_before", "step_sources"]
