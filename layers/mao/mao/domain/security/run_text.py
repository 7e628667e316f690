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
    """What each step of a run could rely on, in order, prepared once for the grounding checks.

    Documents are what the agents read (tool results, retrieved content). Context is what they were
    told: the task, user messages, each step's own input, tool-call arguments and errors, and what
    earlier agents said. Both count as support for a claim; only documents make a step checkable and
    can be cited as ``[n]``.
    """

    sources: SourceSet
    step_of: list[int]  # step index of each text
    is_doc: list[bool]
    before_step: list[int]  # before_step[k]: texts available to the step at position k
    docs_before_step: list[int]  # documents among them
    doc_steps: list[int]  # step index of each document, in order

    def before(self, index: int) -> int:
        """How many texts the step at position ``index`` could rely on (all of them past the end)."""
        return self.before_step[max(0, min(index, len(self.before_step) - 1))]

    def docs_before(self, index: int) -> int:
        return self.docs_before_step[max(0, min(index, len(self.docs_before_step) - 1))]

    def source_steps(self, n_docs: int) -> list[int]:
        """Sorted distinct step indices of the first ``n_docs`` documents."""
        return sorted(set(self.doc_steps[:n_docs]))


def _context(step: Step) -> list[str]:
    out = [as_text(c.arguments, 2_000) for c in step.tool_calls if c.arguments not in (None, "", {})]
    out += [c.error for c in step.tool_calls if c.error]
    if step.error:
        out.append(step.error)
    if step.content and not is_source_step(step):
        out.append(step.content)
    return [t for t in out if t.strip()]


_LAST_RUN: list[tuple[Run, int, int, RunSources]] = []


def run_sources(run: Run) -> RunSources:
    """The run's sources, built once per run and shared by the detectors that analyse it in turn."""
    if _LAST_RUN:
        last, steps_id, n, built = _LAST_RUN[0]
        if last is run and steps_id == id(run.steps) and n == len(run.steps):
            return built
    texts: list[str] = []
    step_of: list[int] = []
    is_doc: list[bool] = []

    def add(found: list[str], index: int, doc: bool) -> None:
        texts.extend(found)
        step_of.extend([index] * len(found))
        is_doc.extend([doc] * len(found))

    if run.task and run.task.strip():
        add([run.task], -1, False)
    before: list[int] = []
    docs_before: list[int] = []
    n_docs = 0
    for step in run.steps:
        if step.input and step.input.strip():
            add([step.input], step.index, False)
        before.append(len(texts))
        docs_before.append(n_docs)
        docs = step_sources(step)
        add(docs, step.index, True)
        n_docs += len(docs)
        add(_context(step), step.index, False)
    before.append(len(texts))
    docs_before.append(n_docs)
    doc_steps = [i for i, d in zip(step_of, is_doc, strict=True) if d]
    built = RunSources(SourceSet(texts, is_doc), step_of, is_doc, before, docs_before, doc_steps)
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
