"""F5 Unaware of termination conditions: the run goes on after the goal is met, or never checks.

Signals:

* work continues after completion: an agent declares the task complete (a final answer,
  "TERMINATE", "task complete", ...) and nobody contests it, yet agents keep producing substantive
  steps afterwards (acknowledgements and sign-offs do not count; a new user request starts anew);
* the run is stopped from outside: it ends on a turn, iteration or recursion limit instead of a
  termination decision.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from operator import attrgetter

from mao.domain.detectors import _text
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="termination_unaware",
    name=mode("F5").name,
    version="1.0.0",
    f_code="F5",
    thresholds={
        "min_extra_steps": ThresholdSpec(3, 1, 100, "substantive steps after an uncontested completion",
                                         integer=True),
        "min_step_tokens": ThresholdSpec(5, 1, 100, "tokens a step needs to count as substantive",
                                         integer=True),
    },
    fix_types=("termination_condition", "recursion_limit"),
)

# (needs, pattern): every match of the pattern contains, for each group of ``needs``, one of its words
# (case-folded, see ``_text.fold``), so the pattern only runs on a message that holds them
_DONE = _text.GatedPatterns((
    ((("terminate",),), r"\bTERMINATE\b"),
    ((("task ",), ("complete", "done", "finished", "accomplished")),
     r"\b(?:the )?task (?:is |has been )?(?:now )?(?:complete|completed|done|finished|accomplished)\b"),
    ((("final answer",),), r"\bfinal answer\s*[:\uff1a]"),
    ((("done",), ("we are", "we're", "i am", "i'm")), r"\b(?:we are|we're|i am|i'm) (?:all )?done\b"),
    ((("achieved", "reached", "met"), ("goal", "objective")),
     r"\b(?:goal|objective) (?:has been |is )?(?:achieved|reached|met)\b"),
    ((("no further ",), ("needed", "required")),
     r"\bno further (?:action|steps|changes|work) (?:is |are )?(?:needed|required)\b"),
    ((("completes", "concludes"), ("task", "work")),
     r"\b(?:this|that) (?:completes|concludes) (?:the|our) (?:task|work)\b"),
))
_CONTEST = re.compile(r"(?i)\b(?:not (?:yet )?(?:done|complete|correct|finished)|incorrect|wrong|bug|fail|"
                      r"error|missing|issue|problem|however|but\b|still|wait|actually|revis|redo|mistake)")
_CLOSING = re.compile(r"(?i)^\W*(?:thanks?|thank you|great|ok(?:ay)?|agreed|confirmed|approved|done|"
                      r"terminate|goodbye|bye|you're welcome|glad to help|cheers|perfect)\b")
_LIMIT = re.compile(r"(?i)\b(?:max(?:imum)?[ _-]?(?:number of )?(?:turns?|rounds?|iterations?|steps?|"
                    r"consecutive[ _]auto[ _]reply)|recursion[ _]limit|iteration[ _]limit|turn[ _]limit|"
                    r"step[ _]limit)\b[^.\n]{0,40}?"
                    r"\b(?:reached|exceeded|hit)\b|GraphRecursionError|max_turns_exceeded")


_CONTENT = attrgetter("content")

_DONE_TRIGGERS = frozenset([
    "terminate", "task", "final", "done", "goal", "objective", "further", "completes", "concludes"
])


def _substantive(step: Step, min_tokens: int) -> bool:
    text = _text.step_text(step)
    size = len(_text.word_set(text)) if text else 0
    if size < min_tokens:
        return False
    return not (size < 3 * min_tokens and _CLOSING.match(text))


def _completion(text: str) -> re.Match[str] | None:
    """Where the message declares the task complete: ``any_marker`` over the completion patterns, trying
    only those whose needs the text holds, behind the trigger-word gate."""
    if not text or not _text.has_any(text, _DONE_TRIGGERS):
        return None
    return _DONE.first_match(text)


def _claims(steps: list[Step]) -> list[int]:
    """Positions of the agent steps that declare the task complete, in order."""
    # a claim needs a trigger word: one set test per step, in C, before any pattern runs
    return [pos for pos in _text.word_hits(map(_CONTENT, steps), _DONE_TRIGGERS)
            if not _text.is_user(steps[pos]) and _completion(steps[pos].content)]


def _after_completion(run: Run, t: Mapping[str, float]) -> Detection | None:
    need = int(t["min_extra_steps"])
    min_tokens = int(t["min_step_tokens"])
    steps = run.steps
    claim_at = _claims(steps)
    if not claim_at:
        return None
    is_claim = set(claim_at)
    best: tuple[Step, re.Match[str], list[Step], int] | None = None
    pos, n = claim_at[0], len(steps)
    # Nothing happens while no completion is pending: the walk jumps from one claim to the work after it
    # and goes step by step only until a user message (a new request: a new goal) or a contest ends it.
    while pos < n:
        done_at = steps[pos]
        match = _completion(done_at.content)
        claims = bisect_right(claim_at, pos)
        extra: list[Step] = []
        pos += 1
        while pos < n and not _text.is_user(steps[pos]):
            step = steps[pos]
            text = step.content
            if not extra and text and _CONTEST.search(text[:600]):
                break  # the completion was contested: the work legitimately goes on
            if _substantive(step, min_tokens):
                extra.append(step)
                if len(extra) >= need and (best is None or (best[2] is not extra and len(extra) > len(best[2]))):
                    best = (done_at, match, extra, claims)  # type: ignore[arg-type]
            claims += pos in is_claim
            pos += 1
        if pos < n and pos in is_claim:
            continue  # the contesting step itself claims completion: a new pending completion
        nxt = bisect_right(claim_at, pos)  # wait for the next claim after this one ended
        if nxt >= len(claim_at):
            break
        pos = claim_at[nxt]
    if best is None:
        return None
    done, m, extra, claims = best
    n = len(extra)
    return Detection(
        type=SPEC.key, f_code=SPEC.f_code, confidence=round(min(0.92, 0.55 + 0.07 * n), 4),
        severity="high" if n >= 2 * need else "medium",
        explanation=(f"Unaware of termination: {done.agent} declared the task complete at step "
                     f"{done.index} (\"{_text.truncate(m.group(0), 60)}\") and nobody contested it, yet the "
                     f"run went on for {n} more substantive step(s) "
                     f"(steps {extra[0].index}-{extra[-1].index}, by "
                     f"{', '.join(dict.fromkeys(s.agent for s in extra))}). Stop the run when an agent "
                     f"declares completion, or make the termination condition explicit."),
        evidence=[_text.evidence(done, _text.excerpt(done.content, m.start(), m.end()), note="completion"),
                  *[_text.evidence(s, note="work after completion") for s in extra[:2]]],
        detector_version=SPEC.version,
        details={"signal": "continued_after_completion", "completion_step": done.index, "extra_steps": n,
                 "completion_claims": claims},
    )


def _limit_hit(run: Run) -> Detection | None:
    for step in reversed(run.steps[-3:]):
        for text in (step.error or "", step.content):
            m = _LIMIT.search(text[: _text.MAX_CHARS]) if text else None
            if m:
                return Detection(
                    type=SPEC.key, f_code=SPEC.f_code, confidence=0.8, severity="high",
                    explanation=(f"Unaware of termination: the run was stopped by a limit at step "
                                 f"{step.index} ({step.agent}: \"{_text.truncate(m.group(0), 80)}\") "
                                 f"instead of an agent deciding the task was done. Give the agents an "
                                 f"explicit termination condition (and a check for it) rather than relying "
                                 f"on the turn limit."),
                    evidence=[_text.evidence(step, _text.excerpt(text, m.start(), m.end()))],
                    detector_version=SPEC.version, details={"signal": "limit_reached"},
                )
    return None


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    found = [d for d in (_after_completion(run, thresholds), _limit_hit(run)) if d is not None]
    return found
