"""F16 Retrieval quality failure: the retrieved context is missing, irrelevant or stale.

A retrieval is a step of kind "retrieval", or a tool call/tool step whose name says it searches or
retrieves (search, retrieve, rag, vector, knowledge, lookup, docs). For each one:

- missing: the result is empty or says nothing was found, and no later retrieval succeeds;
- irrelevant: few of the query's content words appear in the result;
- stale: the query asks for a year (or for the latest/current state) and the result only speaks of
  earlier years, or marks itself deprecated/archived/superseded.

The query is the call's arguments, else the step's input, else the task.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, count
from operator import attrgetter

from mao.domain.detectors import _text_extra as tx
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step, ToolCall
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="retrieval_quality",
    name=mode("F16").name,
    version="1.0.0",
    f_code="F16",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "min_relevance": ThresholdSpec(0.3, 0.0, 1.0, "share of query words a relevant result must contain"),
        "min_query_terms": ThresholdSpec(
            3, 1, 20, "query words needed before relevance is judged", integer=True
        ),
    },
    fix_types=("grounding_check", "retry_policy", "context_trim"),
)

_RETRIEVER = re.compile(
    r"retriev|search|rag\b|rag_|vector|knowledge|kb_|_kb|lookup|docs|semantic|similar|"
    r"fetch_context|find_doc|query_index|embedding"
)
_EMPTY = re.compile(
    r"^\s*(?:\[\s*\]|\{\s*\}|none|null|\"\"|'')?\s*$|\b(?:no (?:results?|documents?|matches|hits|passages|"
    r"records|"
    r"relevant (?:documents?|results?|passages))(?: were)? (?:found|returned|matched)|0 (?:results?|"
    r"documents?|"
    r"hits|matches|passages)|nothing (?:was )?found|returned no (?:results?|documents?)|empty result)"
)
_STALE = re.compile(
    r"\b(?:deprecated|outdated|archived|superseded|no longer (?:supported|maintained|valid|"
    r"accurate)|legacy version|end[- ]of[- ]life|obsolete)\b"
)
_RECENT = re.compile(
    r"\b(?:latest|current(?:ly)?|most recent|newest|up[- ]to[- ]date|today|this year|"
    r"right now|as of now)\b"
)
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-9]\d)\b")


@dataclass(slots=True)
class _Retrieval:
    step: Step
    name: str
    query: str
    result: str


_TOOL_CALLS = attrgetter("tool_calls")
_NAME = attrgetter("name")
_KIND = attrgetter("kind")
_AGENT = attrgetter("agent")
_TOOL_KINDS = frozenset({"tool", "retrieval"})  # the kinds ``tx.is_tool_step`` reads as a tool


@lru_cache(maxsize=4096)
def _retriever(name: str) -> bool:
    """Whether a tool or agent name says it searches or retrieves (runs use few distinct names)."""
    return _RETRIEVER.search(name.lower()) is not None


def _candidates(steps: list[Step], calls_of: list[list[ToolCall]]) -> list[int]:
    """Positions of the steps that can be retrievals; every other step is skipped unread.

    A step with tool calls is one only if it is of kind "retrieval" or one of its calls is a retriever
    (the first call's name decides for a tool step); a step without calls only if it is of kind
    "retrieval" or a tool step of an agent whose name says it retrieves.
    """
    kinds = list(map(_KIND, steps))
    found = {pos for pos in compress(count(), calls_of)
             if kinds[pos] == "retrieval" or any(map(_retriever, map(_NAME, calls_of[pos])))}
    if "retrieval" in kinds:
        found.update(compress(count(), map("retrieval".__eq__, kinds)))
    retrieving_agents = {a for a in set(map(_AGENT, steps)) if _retriever(a)}
    if retrieving_agents:  # the agent's name only counts for a tool step without calls
        found.update(pos for pos in compress(count(), map(retrieving_agents.__contains__, map(_AGENT, steps)))
                     if not calls_of[pos] and (kinds[pos] in _TOOL_KINDS or steps[pos].role == "tool"))
    return sorted(found)


class _LastMessage:
    """The last non-tool message before a position (what a retrieval without a query was about).

    Asked for increasing positions, it reads each step at most once over a whole run.
    """

    def __init__(self, steps: list[Step], task: str) -> None:
        self._steps = steps
        self._pos = 0  # the message is known for this position ...
        self._message = task  # ... and is this

    def before(self, pos: int) -> str:
        for step in reversed(self._steps[self._pos:pos]):
            if not tx.is_tool_step(step) and step.content:
                self._message = step.content
                break
        self._pos = pos
        return self._message


def _retrievals(run: Run) -> list[_Retrieval]:
    out: list[_Retrieval] = []
    steps = run.steps
    last = _LastMessage(steps, run.task or "")
    calls_of = list(map(_TOOL_CALLS, steps))
    for pos in _candidates(steps, calls_of):
        step = steps[pos]
        is_retr_step = step.kind == "retrieval" or (
            (step.kind in _TOOL_KINDS or step.role == "tool")
            and _retriever(step.tool_calls[0].name if step.tool_calls else step.agent)
        )
        calls = [c for c in step.tool_calls if _retriever(c.name)]
        if calls:
            for call in calls:
                query = _query_text(call.arguments) or step.input or last.before(pos)
                out.append(_Retrieval(step, call.name, query, tx.tool_text(call)))
        elif is_retr_step:
            name = step.agent if not step.tool_calls else step.tool_calls[0].name
            out.append(_Retrieval(step, name, step.input or last.before(pos), step.content[: tx.MAX_CHARS]))
    return out


def _query_text(arguments: object) -> str:
    """The string values of a call's arguments (the query), without the parameter names."""
    if isinstance(arguments, str):
        if arguments.lstrip().startswith("{"):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                return arguments
        else:
            return arguments
    if isinstance(arguments, Mapping):
        return " ".join(str(v) for v in arguments.values() if isinstance(v, str))
    return ""


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    min_conf = float(thresholds.get("min_confidence", 0.55))
    min_rel = float(thresholds.get("min_relevance", 0.3))
    min_terms = int(thresholds.get("min_query_terms", 3))
    retrievals = _retrievals(run)
    verdicts: list[tuple[str, float, str] | bool | None] = [False] * len(retrievals)  # False: not judged yet

    def verdict(i: int) -> tuple[str, float, str] | None:
        if verdicts[i] is False:
            verdicts[i] = _judge(retrievals[i], min_rel, min_terms)
        return verdicts[i]  # type: ignore[return-value]

    succeeded_at = -1  # a retrieval known to have found its context (-1: none known)
    searched_to = 0  # every retrieval before this one has been judged

    def later_success(i: int) -> bool:
        """Whether a retrieval after the i-th finds its context (each retrieval is judged once)."""
        nonlocal succeeded_at, searched_to
        if succeeded_at > i:
            return True
        for j in range(max(i + 1, searched_to), len(retrievals)):
            searched_to = j + 1
            if verdict(j) is None:
                succeeded_at = j
                return True
        return False

    detections: list[Detection] = []
    for i, r in enumerate(retrievals):
        found = verdict(i)
        if found is None:
            continue
        kind, confidence, reason = found
        if kind == "missing" and later_success(i):
            continue  # a later retrieval found the context
        if confidence >= min_conf:
            detections.append(_make(r, kind, confidence, reason))
        if len(detections) >= 5:
            break
    return detections


def _maybe_empty(low: str) -> bool:
    """Whether ``_EMPTY`` can match: at most two words, or a phrase each of its other branches contains."""
    return (len(low.split(None, 2)) <= 2 or "no " in low or "0 " in low or "nothing" in low
            or "empty result" in low)


def _judge(r: _Retrieval, min_rel: float, min_terms: int) -> tuple[str, float, str] | None:
    low = tx.lower(r.result)
    if _maybe_empty(low) and _EMPTY.search(low) and len(tx.words(r.result)) < 40:
        return "missing", 0.7, "returned nothing for the query"
    q_low = tx.lower(r.query)
    # a year is "19.." or "20..": no such digits, no year (and then the result's years do not matter)
    years_q = [int(y) for y in _YEAR.findall(q_low)] if "19" in q_low or "20" in q_low else []
    years_r = [int(y) for y in _YEAR.findall(low)] if years_q else []
    if years_q and years_r and max(years_r) < max(years_q):
        return (
            "stale",
            0.7,
            (f"was asked about {max(years_q)} but the newest material it returned is from {max(years_r)}"),
        )
    if _RECENT.search(q_low) and (m := _STALE.search(low)):
        return "stale", 0.65, f'was asked for current information but returned material marked "{m.group(0)}"'
    query_terms = {t for t in tx.content_terms(r.query) if not t.isdigit()}
    if len(query_terms) < min_terms:
        return None
    result_terms = tx.content_terms(r.result)
    if len(result_terms) >= 8:
        cov = tx.coverage(query_terms, result_terms)
        if cov < min_rel:
            confidence = min(0.85, 0.55 + (min_rel - cov) * 1.5)
            return (
                "irrelevant",
                confidence,
                (
                    f"returned text that shares only {cov:.0%} of the query's words "
                    f"({', '.join(sorted(query_terms)[:6])})"
                ),
            )
    return None


def _make(r: _Retrieval, kind: str, confidence: float, reason: str) -> Detection:
    explanation = (
        f"Retrieval by {r.name} at step {r.step.index} ({r.step.agent}) {reason}; the answer built on "
        f"it is not grounded. Re-query with better terms, widen or refresh the index, or make the "
        f"agent say the context is missing instead of answering."
    )
    evidence = [
        tx.evidence(r.step, r.query, "query"),
        tx.evidence(r.step, r.result or "(empty result)", f"{kind} result"),
    ]
    return tx.detection(SPEC, confidence, explanation, evidence, {"problem": kind, "retriever": r.name})
