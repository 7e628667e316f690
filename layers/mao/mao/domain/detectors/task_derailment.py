"""F8 Task derailment: the work drifts away from the task's goal.

The task (``run.task``, else the first user message), the user's messages and the first agent step
(the plan, which is on the task by construction) define the run's anchor vocabulary. Judging single
steps by word overlap is too noisy (a reviewer's short remark shares few words with any task), so
the detector looks at blocks:

* the run ends elsewhere: its last ``min_steps`` substantive agent steps, taken together, share
  almost nothing with the anchor and little with everything said before them;
* an explicit topic switch ("on a different note", "unrelated to the task") in a step that is also
  off the anchor's vocabulary.

Linear: one set intersection per step plus one per block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from mao.domain.detectors import _text
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="task_derailment",
    name=mode("F8").name,
    version="1.0.0",
    f_code="F8",
    thresholds={
        "min_relevance": ThresholdSpec(0.04, 0.0, 1.0, "share of the tail's words tied to the task"),
        "min_steps": ThresholdSpec(3, 1, 50, "consecutive off-topic steps that make a derailment",
                                   integer=True),
        "min_step_words": ThresholdSpec(8, 3, 100, "content words a step needs to be judged", integer=True),
    },
    fix_types=("prompt_patch", "role_instruction", "termination_condition"),
)

_SWITCH = re.compile(r"(?i)\b(?:on a (?:different|separate|side) note|unrelated to (?:the|our|this) (?:task|"
                     r"question|request)|off[- ]topic|let'?s (?:switch|change) (?:topics?|gears|to)|"
                     r"(?:speaking|talking) of which|instead of (?:the|our) (?:task|question|request))")
_TRIVIAL_KINDS = ("tool", "retrieval", "embedding")


_USER_ROLES = ("user", "human")  # as _text.is_user


def _task_text(run: Run) -> str:
    if run.task:
        return run.task
    return next((s.content for s in run.steps if _text.is_user(s) and s.content), "")


# Every _SWITCH match contains one of these (lower-cased, in ASCII text): "on a side note", "off-topic",
# "let's switch", "speaking of which", "instead of", "unrelated to".
_SWITCH_PARTS = ("note", "topic", "let", "which", "instead of", "unrelated")
_SWITCH_TRIGGERS = frozenset([
    "note", "unrelated", "topic", "topics", "switch", "change", "speaking", "talking", "instead",
    "gears"
])


@lru_cache(maxsize=65536)
def _words(text: str) -> frozenset[str]:
    """Content words with a crude singular, so 'tests' meets 'test'."""
    return frozenset(w[:-1] if w.endswith("s") and len(w) > 4 else w for w in _text.content_words(text))


def _vocab(text: str) -> set[str]:
    return set(_words(text))


def _may_switch(text: str) -> bool:
    """Cheap exact pre-test for _SWITCH (case-insensitive matching can pair a few non-ASCII letters with
    ASCII ones, so only ASCII text is ruled out by substrings)."""
    low = _text.lower(text)
    return not low.isascii() or any(p in low for p in _SWITCH_PARTS)


def _relevance(words: set[str] | frozenset[str], reference: set[str]) -> float:
    return len(words & reference) / len(words) if words else 1.0


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    task = _task_text(run)
    anchor = _vocab(task)
    if len(anchor) < 3:
        return []
    floor = float(thresholds["min_relevance"])
    need = int(thresholds["min_steps"])
    min_words = int(thresholds["min_step_words"])
    # Cheap pass: which steps are judged at all (enough distinct words); vocabularies are built only
    # for the few steps a verdict needs (the opening plan, explicit switches, the tail).
    judged: list[Step] = []
    for step in run.steps:
        if step.role in _USER_ROLES:
            anchor |= _vocab(step.content)  # a user may widen or redirect the task
            continue
        if step.kind in _TRIVIAL_KINDS or not step.content:
            continue
        size = len(_text.word_set(step.content))
        if not judged and size >= 3:
            anchor |= _words(step.content)  # the opening plan belongs to the task
            judged.append(step)
        elif size >= min_words:
            judged.append(step)
    if len(judged) < 2:
        return []
    stretch: list[tuple[Step, float]] = []
    signal = ""
    for step in judged[1:]:
        if not _text.has_any(step.content, _SWITCH_TRIGGERS) or not _may_switch(step.content):
            continue
        m = _SWITCH.search(step.content[: _text.MAX_CHARS])
        if m is None:
            continue
        rel = _relevance(_words(step.content), anchor)
        if rel < 2 * floor:
            stretch, signal = [(step, rel)], "explicit_switch"
            break
    if not stretch and len(judged) > need:
        tail = [(s, _words(s.content)) for s in judged[-need:]]
        tail = [(s, w) for s, w in tail if len(w) >= min_words // 2] if tail else tail
        tail_words: set[str] = set().union(*(w for _, w in tail)) if tail else set()
        if (len(tail) == need and _relevance(tail_words, anchor) < floor
                and all(_relevance(w, anchor) < 2 * floor for _, w in tail)):
            before: set[str] = set(anchor)
            for s in judged[:-need]:
                before |= _words(s.content)
            if _relevance(tail_words, before) < 2 * floor:
                stretch, signal = [(s, _relevance(w, anchor)) for s, w in tail], "ends_off_topic"
    if not stretch:
        return []
    first, last = stretch[0][0], stretch[-1][0]
    agents = list(dict.fromkeys(s.agent for s, _ in stretch))
    mean = sum(r for _, r in stretch) / len(stretch)
    confidence = 0.75 if signal == "explicit_switch" else min(0.9, 0.55 + 0.08 * len(stretch))
    return [Detection(
        type=SPEC.key, f_code=SPEC.f_code, confidence=round(confidence, 4),
        severity="high" if signal == "ends_off_topic" else "medium",
        explanation=(f"Task derailment: steps {first.index}-{last.index} ({', '.join(agents)}) drift "
                     f"away from the task \"{_text.truncate(task, 80)}\": on average only {mean:.0%} of "
                     f"their vocabulary relates to it"
                     f"{' and the run ends there' if signal == 'ends_off_topic' else ''}. Restate the goal "
                     f"to the agents and stop work that does not serve it."),
        evidence=[_text.evidence(s, note=f"relevance {r:.2f}") for s, r in stretch[:3]],
        detector_version=SPEC.version,
        details={"signal": signal, "off_topic_steps": [s.index for s, _ in stretch][:50],
                 "mean_relevance": round(mean, 3)},
    )]
