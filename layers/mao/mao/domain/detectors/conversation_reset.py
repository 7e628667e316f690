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
from itertools import compress, count
from operator import attrgetter
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

# (needs, pattern): every match of the pattern contains, for each group of ``needs``, one of its words
# (case-folded, see ``_text.fold``), so the pattern only runs on a message that holds them
_RESTART = _text.GatedPatterns((
    ((("start", "begin"), ("over", "again", "afresh", "anew", "scratch", "from the")),
     r"\b(?:let'?s|let us|we(?:'ll| will| should)|i(?:'ll| will)) (?:start|begin) (?:over|again|afresh|anew|"
     r"from scratch|from the (?:beginning|top))\b"),
    ((("start",), ("over", "fresh", "scratch")), r"\b(?:starting|start) (?:over|fresh|from scratch)\b"),
    ((("restart",), ("task", "conversation", "process", "discussion", "session")),
     r"\brestart(?:ing)? (?:the |this |our )?(?:task|conversation|process|discussion|session)\b"),
    ((("started", "begins"), ("conversation", "session", "chat")),
     r"\b(?:new|fresh) (?:conversation|session|chat) (?:started|begins)\b"),
))
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


_WATCH_TRIGGERS = _RESTART_TRIGGERS | _GREETING_TRIGGERS
_CONTENT = attrgetter("content")
_STATE = attrgetter("state")


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


def _substantive(step: Step) -> bool:
    """A step that counts: an agent's (not the user's) non-blank message."""
    return not _text.is_user(step) and bool(step.content.strip())


def _opening(steps: list[Step], need: int) -> tuple[list[tuple[int, Step]], int | None]:
    """The first two substantive steps (with their positions), and the position from which a reset can
    happen (after ``need`` substantive steps of four words or more), None if it never can."""
    opening: list[tuple[int, Step]] = []
    progress = 0
    active_from = 0 if need <= 0 else None  # no progress needed: a reset can happen anywhere
    for pos, step in enumerate(steps):
        if active_from is not None and len(opening) == 2:
            break
        if not _substantive(step):
            continue
        if len(opening) < 2:
            opening.append((pos, step))
        if active_from is None and len(_text.word_set(step.content)) >= 4:
            progress += 1
            if progress >= need:
                active_from = pos + 1
    return opening, active_from


def _watched(steps: list[Step], start: int, task_words: frozenset[str]) -> list[int]:
    """Positions from ``start`` on whose message shares a word with the restart or greeting triggers or the
    task: the others can neither restart, greet (no trigger word) nor restate the task (no task word)."""
    gate = _WATCH_TRIGGERS | task_words
    return [start + k for k in _text.word_hits(map(_CONTENT, steps[start:]), gate)]


def _text_reset(step: Step, opening: list[tuple[int, Step]], task_words: frozenset[str],
                similar: float) -> Detection | None:
    """A restart, a greeting or a restated opening in the step's message."""
    if not _substantive(step):
        return None
    text = step.content
    m = _RESTART.first_match(text) if _text.has_any(text, _RESTART_TRIGGERS) else None
    if m:
        return _det(step, "explicit_restart", 0.8, "started the work over", _text.excerpt(text, m.start(), m.end()))
    m = _GREETING.match(text[:400]) if _text.has_any(text, _GREETING_TRIGGERS) else None
    if m:
        return _det(step, "greeting", 0.75, "greeted as if the conversation were just beginning",
                    _text.excerpt(text, m.start(), m.end()))
    # The task-word share does not depend on the opening step: tested once, before the costlier comparison.
    # Content words are words, so the share among all the message's words bounds it from above: a
    # message with too few task words is ruled out without extracting its content words.
    words = _text.word_set(text)
    if (not task_words or not opening or len(words) < 8
            or len(task_words & words) / len(task_words) < 0.5
            or _text.containment(task_words, _text.content_words(text)) < 0.5):
        return None
    for _, first in opening:
        if _text.near_duplicate(text, first.content, similar):
            return _det(step, "restated_opening", 0.7,
                        f"re-issued the opening message of step {first.index} as if nothing had been done since",
                        opening_step=first.index)
    return None


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    need = int(thresholds["min_progress_steps"])
    similar = float(thresholds["restate_similarity"])
    steps = run.steps
    task = run.task or next((s.content for s in steps if _text.is_user(s) and s.content), "")
    task_words = _text.content_words(task)
    opening, active_from = _opening(steps, need)
    if active_from is None:
        return []  # never enough progress for anything to be reset
    watched = _watched(steps, active_from, task_words)
    # every step with a state keeps the previous-state chain; only watched steps can reset in their text
    visited = sorted(set(watched).union(compress(count(), map(_STATE, steps))))
    watched_set = set(watched)
    prev_state: dict[str, Any] | None = None
    for pos in visited:
        step = steps[pos]
        if step.state:
            if prev_state:
                key = _collapsed(prev_state, step.state)
                if key is not None and pos >= active_from:
                    return [_det(step, "state_collapsed", 0.75,
                                 f"left the state with '{key}' emptied after it had grown", key=key)]
            prev_state = step.state
        if pos in watched_set:
            found = _text_reset(step, [o for o in opening if o[0] < pos], task_words, similar)
            if found is not None:
                return [found]
    return []
