"""What a run's steps said and read, as plain text for the security detectors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mao.domain.models import Run, Step
from mao.domain.security.grounding import SourceSet

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


@dataclass(slots=True)
class RunSources:
    """Every source of a run, in order, prepared once; the steps ask for the prefix they had read."""

    sources: SourceSet
    step_of: list[int]  # step index of each source
    prefix: list[int]  # prefix[k]: how many sources the first k steps brought in
    distinct: list[int]  # step indices of the steps that brought sources, in run order
    distinct_upto: list[int]  # distinct_upto[n]: how many of those the first n sources come from

    def before(self, index: int) -> int:
        """How many sources appeared before step ``index`` (as :func:`sources_before` counts them)."""
        return self.prefix[max(0, min(index, len(self.prefix) - 1))]

    def source_steps(self, limit: int) -> list[int]:
        """Sorted distinct step indices of the first ``limit`` sources."""
        return sorted(set(self.distinct[:self.distinct_upto[max(0, min(limit, len(self.step_of)))]]))


_LAST_RUN: list[tuple[Run, int, int, RunSources]] = []


def run_sources(run: Run) -> RunSources:
    """The run's sources, built once per run and shared by the detectors that analyse it in turn."""
    if _LAST_RUN:
        last, steps_id, n, built = _LAST_RUN[0]
        if last is run and steps_id == id(run.steps) and n == len(run.steps):
            return built
    texts: list[str] = []
    step_of: list[int] = []
    prefix = [0]
    distinct: list[int] = []
    distinct_upto = [0]
    for step in run.steps:
        found = step_sources(step)
        if found:
            distinct.append(step.index)
        for text in found:
            texts.append(text)
            step_of.append(step.index)
            distinct_upto.append(len(distinct))
        prefix.append(len(texts))
    built = RunSources(SourceSet(texts), step_of, prefix, distinct, distinct_upto)
    _LAST_RUN[:] = [(run, id(run.steps), len(run.steps), built)]
    return built


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


__all__ = ["RunSources", "as_text", "is_source_step", "run_sources", "scanned_texts", "sources_before",
           "step_sources"]
