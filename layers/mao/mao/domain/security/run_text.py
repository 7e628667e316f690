"""What a run's steps said and read, as plain text for the security detectors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, compress
from operator import attrgetter
from typing import Any, overload

from mao.domain.models import Run, Step
from mao.domain.security.grounding import SourceSet

SOURCE_KINDS = frozenset({"tool", "retrieval"})
SOURCE_ROLES = frozenset({"tool", "function", "ipython"})
_RESULT_LIMIT = 100_000
_ARGUMENTS_LIMIT = 2_000


def as_text(value: Any, limit: int = _RESULT_LIMIT) -> str:
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
    statements: list[Step]  # steps that said something of their own (not tool output, not the user)

    def before(self, index: int) -> int:
        """How many texts the step at position ``index`` could rely on (all of them past the end)."""
        return self.before_step[max(0, min(index, len(self.before_step) - 1))]

    def docs_before(self, index: int) -> int:
        return self.docs_before_step[max(0, min(index, len(self.docs_before_step) - 1))]

    def prefixes(self, indices: list[int]) -> tuple[list[int], list[int]]:
        """:meth:`before` and :meth:`docs_before` of many step positions at once."""
        last = len(self.before_step) - 1
        inside = min(indices, default=0) >= 0 and max(indices, default=0) <= last
        at = indices if inside else [max(0, min(i, last)) for i in indices]
        return list(map(self.before_step.__getitem__, at)), list(map(self.docs_before_step.__getitem__, at))

    def source_steps(self, n_docs: int) -> list[int]:
        """Sorted distinct step indices of the first ``n_docs`` documents."""
        return sorted(set(self.doc_steps[:n_docs]))


def step_context(step: Step) -> list[str]:
    """What a step was told besides documents: tool-call arguments and errors, its own error and, if it
    is not a tool step, its own message."""
    out = [as_text(c.arguments, _ARGUMENTS_LIMIT) for c in step.tool_calls if c.arguments not in (None, "", {})]
    out += [c.error for c in step.tool_calls if c.error]
    if step.error:
        out.append(step.error)
    if step.content and not is_source_step(step):
        out.append(step.content)
    return [t for t in out if t.strip()]


class _Texts(Sequence[str]):
    """A run's source texts; structured tool arguments and results become JSON only when first read.

    Serialising every tool call up front would cost more than the checks, which usually never look
    at them. The JSON of a value is never blank, so a structured value counts as a text before it is
    serialised.
    """

    __slots__ = ("_items",)

    def __init__(self, items: list[str | tuple[Any, int]]) -> None:
        self._items = items  # a text, or (value, length limit) still to serialise

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self._items)))]
        item = self._items[i]
        if isinstance(item, str):
            return item
        text = as_text(*item)
        self._items[i] = text
        return text


def _value_text(value: Any, limit: int) -> str | tuple[Any, int] | None:
    """A tool result or arguments as a source text: a string (None if blank), anything else deferred."""
    if isinstance(value, str):
        text = value[:limit]
        return text if text and not text.isspace() else None
    return value, limit


def _build(run: Run) -> RunSources:
    """Walk the run once: the texts in the order they appeared, which step each came from, and how
    many texts and documents each step could rely on: per step its input, then the texts of
    :func:`step_sources` (documents), then those of :func:`step_context`, here collected inline
    (this walk is on every detection's path)."""
    texts: list[str | tuple[Any, int]] = []
    step_of: list[int] = []
    is_doc: list[bool] = []
    before: list[int] = []
    docs_before: list[int] = []
    statements: list[Step] = []
    add_text, add_step, add_kind = texts.append, step_of.append, is_doc.append
    task = run.task
    if task and not task.isspace():
        add_text(task)
        add_step(-1)
        add_kind(False)
    n_docs = 0
    for step in run.steps:
        index, text, calls, content = step.index, step.input, step.tool_calls, step.content
        if text and not text.isspace():
            add_text(text)
            add_step(index)
            add_kind(False)
        before.append(len(texts))
        docs_before.append(n_docs)
        source = step.kind in SOURCE_KINDS or step.role in SOURCE_ROLES
        filled = content and not content.isspace()
        for call in calls:  # documents: tool results, then a tool step's own content
            if call.result not in (None, "") and (value := _value_text(call.result, _RESULT_LIMIT)):
                add_text(value)
                add_step(index)
                add_kind(True)
                n_docs += 1
        if source and filled:
            add_text(content)
            add_step(index)
            add_kind(True)
            n_docs += 1
        for call in calls:  # context: tool arguments and errors, the step's error, its own message
            if call.arguments not in (None, "", {}) and (value := _value_text(call.arguments, _ARGUMENTS_LIMIT)):
                add_text(value)
                add_step(index)
                add_kind(False)
        for call in calls:
            if (error := call.error) and not error.isspace():
                add_text(error)
                add_step(index)
                add_kind(False)
        if (error := step.error) and not error.isspace():
            add_text(error)
            add_step(index)
            add_kind(False)
        if not source:
            if filled:
                add_text(content)
                add_step(index)
                add_kind(False)
            if content and step.role != "user":
                statements.append(step)
    before.append(len(texts))
    docs_before.append(n_docs)
    doc_steps = list(compress(step_of, is_doc))
    return RunSources(SourceSet(_Texts(texts), is_doc), step_of, is_doc, before, docs_before, doc_steps, statements)


# What the sources are built from: a run whose steps still give the same values reuses them.
_STEP_READS = tuple(map(attrgetter, ("index", "kind", "role", "input", "content", "error", "tool_calls")))
_CALL_READS = tuple(map(attrgetter, ("result", "arguments", "error")))


def _fingerprint(run: Run) -> list[Any]:
    """The values :func:`_build` reads, field by field (by identity where they are containers)."""
    calls = list(chain.from_iterable(map(_STEP_READS[-1], run.steps)))
    return [run.task, *(list(map(get, run.steps)) for get in _STEP_READS),
            *(list(map(get, calls)) for get in _CALL_READS)]


_LAST_RUN: list[tuple[Run, list[Any], RunSources]] = []


def run_sources(run: Run) -> RunSources:
    """The run's sources, built once per run and shared by the detectors that analyse it in turn.

    The last run's sources are reused only for the same run object whose steps, texts and tool
    calls still hold the same values: a changed step is noticed (a dict changed in place is not).
    """
    fingerprint = _fingerprint(run)
    if _LAST_RUN:
        last, seen, built = _LAST_RUN[0]
        if last is run and seen == fingerprint:
            return built
    built = _build(run)
    _LAST_RUN[:] = [(run, fingerprint, built)]
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
           "step_context", "step_sources"]
