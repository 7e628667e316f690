"""F12 Premature termination: the run ends before the task is done.

Three signals, all read from how the run ends:

- the last message announces more work ("I'll now run the tests", "remaining: the export step",
  "stopping here for now", "ran out of steps") and nothing follows;
- the run ends on a failed step with nothing after it;
- the run claims completion while items of its own plan (an early numbered or bulleted list, or the
  task's list of requirements) were never touched by any later step.

Plan coverage matches each item's distinctive words against the text of later steps, so a plan item
counts as addressed as soon as later work mentions what it is about, however phrased.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mao.domain.detectors import _text_extra as tx
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="premature_termination",
    name=mode("F12").name,
    version="1.0.0",
    f_code="F12",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "min_uncovered_items": ThresholdSpec(
            2, 1, 20, "plan items left untouched that make a run unfinished", integer=True
        ),
        "min_plan_items": ThresholdSpec(3, 2, 20, "smallest list that counts as a plan", integer=True),
    },
    fix_types=("termination_condition", "verification_step"),
)

_UNFINISHED = re.compile(
    r"\b(?:(?:still|yet) (?:need|needs|needed|to be|to do|remain\w*|pending|missing)|remaining (?:items?|"
    r"steps?|"
    r"tasks?|work|parts?|sections?)|todo|to-do|not yet (?:done|implemented|complete\w*|finished|handled|"
    r"covered)|"
    r"will (?:continue|finish|complete|do|handle) (?:the rest|it|this|that|them)? ?(?:later|next time|"
    r"tomorrow|"
    r"in the next)|partial(?:ly)? (?:done|complete\w*|implemented)|incomplete|for now|stopping here|"
    r"ran out of (?:time|budget|tokens|steps|turns|context)|max(?:imum)? (?:number of )?(?:turns|"
    r"iterations|steps|"
    r"rounds) (?:reached|exceeded|hit)|placeholder|not implemented|unfinished|left as an exercise|"
    r"haven'?t (?:yet )?(?:finished|completed|done|covered|handled)|skipp(?:ed|ing) the rest)"
)
_FUTURE = re.compile(
    r"\b(?:i(?:'ll| will) now|let me now|next,? i(?:'ll| will)|now i(?:'ll| will)|i am going to now|"
    r"i'm going to now|i(?:'ll| will) (?:start|begin|proceed|continue|move on|go ahead) (?:by|with|to))\b"
)
_DONE = re.compile(
    r"\b(?:terminate|final answer|task (?:is )?(?:complete|completed|done|finished)|all done|we(?:'re|"
    r" are) done|"
    r"that'?s (?:all|everything)|(?:is|are) (?:now )?(?:complete|completed|done|finished)|"
    r"mission accomplished|"
    r"completed (?:the|all|every)|finished (?:the|all)|here is the final|delivered)\b"
)
_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022]|step \d{1,2}:?)\s+(.{6,200})$", re.MULTILINE)
_GENERIC = frozenset(
    tx.stem(w)
    for w in [
        "write",
        "create",
        "implement",
        "check",
        "review",
        "test",
        "research",
        "make",
        "build",
        "add",
        "update",
        "ensure",
        "final",
        "step",
        "first",
        "second",
        "third",
        "then",
        "finally",
        "draft",
        "produce",
        "prepare",
        "finish",
        "complete",
        "deliver",
        "summary",
        "summarize",
        "report",
        "result",
        "results",
        "output",
        "answer",
        "task",
        "plan",
        "code",
        "document",
        "verify",
        "validate",
        "confirm",
        "provide",
        "give",
    ]
)


def _last_speaker_step(run: Run) -> Step | None:
    for step in reversed(run.steps):
        if not tx.is_user_step(step) and not tx.is_tool_step(step) and step.role != "system":
            return step
    return None


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    if len(run.steps) < 2:
        return []
    min_conf = float(thresholds.get("min_confidence", 0.55))
    min_uncovered = int(thresholds.get("min_uncovered_items", 2))
    min_items = int(thresholds.get("min_plan_items", 3))
    last = _last_speaker_step(run)
    found: list[Detection] = []
    final_step = run.steps[-1]
    if final_step.status == "error" or final_step.error:
        failure = final_step.error or next((str(c.error) for c in final_step.tool_calls if c.error), None)
        found.append(
            _make(
                final_step,
                0.65,
                "the run ends on a failed step with nothing after it",
                [
                    tx.evidence(
                        final_step, failure or final_step.content or "error status", "failed last step"
                    )
                ],
            )
        )
    elif last is not None:
        low = tx.lower(last.content)
        m = _UNFINISHED.search(low) or _FUTURE.search(low[-600:])
        if m is not None:
            text = last.content if m.re is _UNFINISHED else last.content[-600:]
            q = tx.quote_match(text, m.start(), m.end())
            claims = bool(_DONE.search(low))
            conf = 0.8 if claims else 0.7
            reason = (
                "its last message says work is left"
                + (" while claiming completion" if claims else "")
                + " and the run stops there"
            )
            found.append(_make(last, conf, reason, [tx.evidence(last, q, "last message")]))
        elif _DONE.search(low):
            plan = _plan_gap(run, last, min_items, min_uncovered)
            if plan is not None:
                found.append(plan)
    return [d for d in found if d.confidence >= min_conf][:1]


def _plan_items(run: Run, last: Step, min_items: int) -> tuple[Step | None, list[str]]:
    if run.task:
        items = _ITEM.findall(run.task[: tx.MAX_CHARS])
        if len(items) >= min_items:
            return None, items
    horizon = max(1, len(run.steps) // 2)
    for step in run.steps[:horizon]:
        if step.index >= last.index or tx.is_tool_step(step):
            continue
        items = _ITEM.findall(step.content[: tx.MAX_CHARS])
        if len(items) >= min_items:
            return step, items
    return None, []


def _plan_gap(run: Run, last: Step, min_items: int, min_uncovered: int) -> Detection | None:
    plan_step, items = _plan_items(run, last, min_items)
    if not items:
        return None
    start = plan_step.index + 1 if plan_step is not None else 0
    later = " ".join(
        tx.lower(s.content) + " " + " ".join(tx.lower(tx.arguments_text(c)) for c in s.tool_calls)
        for s in run.steps[start:]
        if not tx.is_user_step(s)
    )
    uncovered = []
    for item in items:
        terms = [t for t in tx.content_terms(item) if t not in _GENERIC and len(t) >= 4]
        if terms and not any(t in later for t in terms):
            uncovered.append(item.strip())
    if len(uncovered) < min_uncovered:
        return None
    share = len(uncovered) / len(items)
    conf = min(0.9, 0.55 + 0.4 * share)
    source = f"the plan at step {plan_step.index}" if plan_step is not None else "the task"
    reason = (
        f"it claims completion while {len(uncovered)} of {len(items)} items of {source} were never "
        f"worked on ({'; '.join(tx.quote(u, 60) for u in uncovered[:3])})"
    )
    ev: list[Evidence] = []
    if plan_step is not None:
        ev.append(tx.evidence(plan_step, "\n".join(uncovered), "plan items never addressed"))
    ev.append(tx.evidence(last, last.content, "completion claim"))
    return _make(last, conf, reason, ev)


def _make(step: Step, confidence: float, reason: str, evidence: list[Evidence]) -> Detection:
    explanation = (
        f"The run ended early: {reason} ({step.agent}, step {step.index}). Add a termination condition that "
        f"checks the task's requirements are all met before the run may stop."
    )
    return tx.detection(SPEC, confidence, explanation, evidence, {"agent": step.agent})
