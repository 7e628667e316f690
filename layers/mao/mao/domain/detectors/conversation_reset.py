"""F6 Conversation reset: the dialogue restarts from scratch mid-task, losing progress.

Signals (only after real work has happened, ``min_progress_steps`` substantive agent steps):

* an explicit restart ("let's start over", "starting from scratch", "restarting the task");
* an opening greeting in the middle of the work ("Hello! How can I help you today?");
* an agent re-issuing the run's opening message almost word for word, when that message restates
  the task (the initial brief), as if nothing had been done since (a repeated tool output or canned
  reply is repetition, not a reset);
* a recorded state collapsing: a list or counter in the state that had grown falls back to empty
  or zero (only when states are recorded; a missing state is never read as a reset).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mao.domain.detectors import _text
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="conversation_reset",
    name=mode("F6").name,
    version="1.0.0",
    f_code="F6",
    thresholds={
        "restate_similarity": ThresholdSpec(0.8, 0.5, 1.0,
                                            "similarity to the opening that counts as a restart"),
        "min_progress_steps": ThresholdSpec(2, 1, 50, "substantive agent steps before a reset can happen",
                                            integer=True),
    },
    fix_types=("context_trim", "prompt_patch", "termination_condition"),
)

_RESTART = [re.compile(p, re.IGNORECASE) for p in (
    r"\b(?:let'?s|let us|we(?:'ll| will| should)|i(?:'ll| will)) (?:start|begin) (?:over|again|afresh|anew|"
    r"from scratch|from the (?:beginning|top))\b",
    r"\b(?:starting|start) (?:over|fresh|from scratch)\b",
    r"\brestart(?:ing)? (?:the |this |our )?(?:task|conversation|process|discussion|session)\b",
    r"\b(?:new|fresh) (?:conversation|session|chat) (?:started|begins)\b",
)]
_GREETING = re.compile(r"(?i)^\W*(?:hi|hello|hey|greetings|welcome)\b[^.?!\n]{0,40}[.!,]?\s*"
                       r"(?:i'?m\b[^.?!]{0,60}[.!]\s*)?"
                       r"(?:how (?:can|may) i (?:help|assist)|what can i (?:help|do for) you|"
                       r"what would you like)")


# keys whose emptying is progress, not a reset: work queues drain, retry counters restart
_WORK_QUEUE = re.compile(r"(?i)pending|queue|todo|to_do|remaining|backlog|inbox|outbox|retr|attempt|error|"
                         r"warning|buffer|tmp|temp|scratch|current|next")


_RESTART_TRIGGERS = frozenset([
    "start", "begin", "starting", "restart", "restarting", "over", "scratch", "fresh", "new",
    "anew", "afresh"
])
_GREETING_TRIGGERS = frozenset(["hi", "hello", "hey", "greetings", "welcome"])


def _collapsed(prev: dict[str, Any], cur: dict[str, Any]) -> str | None:
    for key, old in prev.items():
        if key not in cur or _WORK_QUEUE.search(key):
            continue
        new = cur[key]
        if type(old) is not type(new) or isinstance(old, bool):
            continue
        if isinstance(old, list | dict | str) and len(old) >= 2 and len(new) == 0:
            return key
        if isinstance(old, int) and old >= 2 and new == 0:
            return key
    return None


def _det(step: Step, signal: str, confidence: float, what: str, quote: str | None = None,
         **details: object) -> Detection:
    return Detection(
        type=SPEC.key, f_code=SPEC.f_code, confidence=confidence, severity="high",
        explanation=(f"Conversation reset at step {step.index}: {step.agent} {what}, discarding the "
                     f"progress made so far. Carry the conversation state across turns and hand agents a "
                     f"summary of what is done instead of restarting."),
        evidence=[_text.evidence(step, quote)], detector_version=SPEC.version,
        details={"signal": signal, **details},
    )


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    need = int(thresholds["min_progress_steps"])
    similar = float(thresholds["restate_similarity"])
    opening: list[Step] = []
    progress = 0
    task = run.task or next((s.content for s in run.steps if _text.is_user(s) and s.content), "")
    task_words = _text.content_words(task)
    prev_state: dict[str, Any] | None = None
    for step in run.steps:
        if step.state:
            if prev_state:
                key = _collapsed(prev_state, step.state)
                if key is not None and progress >= need:
                    return [_det(step, "state_collapsed", 0.75,
                                 f"left the state with '{key}' emptied after it had grown", key=key)]
            prev_state = step.state
        if _text.is_user(step) or not step.content.strip():
            continue
        text = step.content
        if progress >= need:
            m = _text.any_marker(text, _RESTART) if _text.has_any(text, _RESTART_TRIGGERS) else None
            if m:
                return [_det(step, "explicit_restart", 0.8, "started the work over",
                             _text.excerpt(text, m.start(), m.end()))]
            m = _GREETING.match(text[:400]) if _text.has_any(text, _GREETING_TRIGGERS) else None
            if m:
                return [_det(step, "greeting", 0.75, "greeted as if the conversation were just beginning",
                             _text.excerpt(text, m.start(), m.end()))]
            for first in opening:
                if (task_words and len(_text.word_set(text)) >= 8
                        and _text.near_duplicate(text, first.content, similar)
                        and _text.containment(task_words, _text.content_words(text)) >= 0.5):
                    return [_det(step, "restated_opening", 0.7,
                                 f"re-issued the opening message of step {first.index} as if nothing "
                                 f"had been done since", opening_step=first.index)]
        if len(opening) < 2:
            opening.append(step)
        if len(_text.word_set(text)) >= 4:
            progress += 1
    return []
