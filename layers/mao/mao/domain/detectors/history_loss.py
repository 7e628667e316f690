"""F4 Loss of conversation history: an agent acts as if earlier turns never happened.

Two signals, both linear in the run:

* amnesia statements: an agent, after real work has happened, says it has no previous context,
  asks to be reminded of the task, or asks what it should work on;
* re-asking: an agent asks someone ("you") a question that an agent already asked earlier (mostly
  the same content words) and that someone else replied to in between. Restating the user's question (as plans do)
  and quoted questions (a typed search, a cited message) are not re-asking.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import compress, repeat
from operator import attrgetter, contains

from mao.domain.detectors import _text
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="history_loss",
    name=mode("F4").name,
    version="1.0.0",
    f_code="F4",
    thresholds={
        "reask_overlap": ThresholdSpec(0.7, 0.3, 1.0, "share of a question's words already asked before"),
        "min_question_words": ThresholdSpec(3, 1, 20, "content words a question needs to be compared",
                                            integer=True),
        "min_prior_steps": ThresholdSpec(2, 1, 50, "steps before an amnesia statement counts",
                                         integer=True),
    },
    fix_types=("context_trim", "prompt_patch"),
)

# (needs, pattern): every match of the pattern contains, for each group of ``needs``, one of its words
# (case-folded, see ``_text.fold``), so the pattern only runs on a message that holds them
_NOT = ("n't", "not", "dont", "cant")  # every negation the patterns accept contains one of these
_AMNESIA = _text.GatedPatterns((
    ((_NOT, ("previous", "prior", "earlier", "past"),
      ("message", "conversation", "context", "discussion", "turn", "step", "work")),
     r"\b(?:i|we) (?:don'?t|do not|can'?t|cannot) (?:have|see|find|access|recall|remember) (?:any )?"
     r"(?:access to )?(?:the |our |any )?(?:previous|prior|earlier|past) (?:messages?|conversations?|"
     r"context|discussion|turns?|steps?|work)"),
    ((("remind me", "tell me again", "repeat"),),
     r"\b(?:could|can|would) you (?:please )?(?:remind me|tell me again|repeat) (?:what|of|the)\b"),
    ((("what ",), ("task", "question", "request", "goal"), ("?",)),
     r"\bwhat (?:was|is|were) (?:the|your|our) (?:original |initial )?(?:task|question|request|goal)\b\s*\?"),
    ((("conversation",), ("start", "beginning")),
     r"\b(?:since|as) (?:this is|we are at) the (?:start|beginning) of (?:our|the|this) conversation\b"),
    ((("discussed", "talked about", "covered", "decided on", "agreed on"), ("haven", "have not")),
     r"\bwe (?:haven'?t|have not) (?:yet )?(?:discussed|talked about|covered|decided on|agreed on)\b"),
    ((("context", "conversation", "history"), ("previous", "prior", "earlier")),
     r"\b(?:there is|there's|i have) no (?:previous|prior|earlier) (?:context|conversation|history)\b"),
    ((("what would you like ",),), r"\bwhat would you like (?:me|us) to (?:do|work on|help with)\b"),
    ((("please ",), ("task", "request", "question", "requirements")),
     r"\bplease (?:provide|share|tell me) (?:the|your) (?:task|request|question|requirements)\b"),
    ((("recall", "remember"), _NOT), r"\bi (?:don'?t|do not) (?:recall|remember) (?:any|what|that|the)\b"),
))
# words one of the amnesia patterns needs: the regexes only run on steps that contain one
_AMNESIA_TRIGGERS = frozenset([
    "previous", "prior", "earlier", "past", "remind", "repeat", "original", "initial", "beginning",
    "start", "discussed", "talked", "covered", "decided", "agreed", "context", "history", "recall",
    "remember", "like", "provide", "share", "tell"
])
_ANSWER_WINDOW = 30  # steps after a question searched for its answer
_ASKED_WINDOW = 60  # earlier questions remembered
_QUOTED = re.compile(r"[\"'\u2018\u2019\u201c\u201d`\[\]/=]|\btyped\b|\bsearch(?:ed)? for\b")
_ADDRESSED = re.compile(r"(?i)\byou(?:r)?\b")  # a question put to someone, not one quoted from a page
_MAX_ASKING_CHARS = 1500
_SHORT_MESSAGE = 600  # in a message this short every question is the agent's own
_QUESTION = re.compile(r"[^.!?\n]{8,300}\?")


_CONTENT = attrgetter("content")
_MAX_AMNESIA = 3  # statements reported


def _after_prior(steps: list[Step], min_prior: int) -> int | None:
    """Position from which ``min_prior`` non-blank steps lie before a step (None: never)."""
    if min_prior <= 0:
        return 0
    prior = 0
    for pos, step in enumerate(steps):
        if step.content.strip():
            prior += 1
            if prior >= min_prior:
                return pos + 1
    return None


def _amnesia(run: Run, min_prior: int) -> list[tuple[Step, re.Match[str]]]:
    """The first amnesia statements (at most ``_MAX_AMNESIA``) by agents after ``min_prior`` steps of work."""
    steps = run.steps
    start = _after_prior(steps, min_prior)
    if start is None:
        return []
    # a statement needs a trigger word: one set test per step, in C, before any pattern runs
    hits = []
    for k in _text.word_hits(map(_CONTENT, steps[start:]), _AMNESIA_TRIGGERS):
        step = steps[start + k]
        if _text.is_user(step):
            continue
        m = _AMNESIA.first_match(step.content)
        if m:
            hits.append((step, m))
            if len(hits) >= _MAX_AMNESIA:
                break
    return hits


def _reasks(run: Run, t: Mapping[str, float]) -> list[tuple[Step, Step, str]]:
    """(re-asking step, step that asked first, question) for answered questions asked again."""
    overlap = float(t["reask_overlap"])
    min_words = int(t["min_question_words"])
    task = run.task or next((s.content for s in run.steps if _text.is_user(s) and s.content), "")
    task_words = _text.content_words(task)
    asked: list[tuple[Step, frozenset[str], str]] = []
    found = []
    steps = run.steps
    # only a message with a question mark can ask: found in C, the rest of the run is never looked at
    asking = compress(steps, map(contains, map(_CONTENT, steps), repeat("?")))
    for step in asking:
        if len(step.content) > _MAX_ASKING_CHARS:
            continue  # long messages relay pages and documents; their questions are not the agent's
        short = len(step.content) <= _SHORT_MESSAGE
        # quoted questions (a search typed, a message cited) are not the agent asking
        questions = [q for q in (m.group(0).strip() for m in _QUESTION.finditer(step.content[: _text.MAX_CHARS]))
                     if (short or _ADDRESSED.search(q)) and not _QUOTED.search(q)][:5]
        for q in questions:
            words = _text.content_words(q)
            if len(words) < min_words or _text.containment(words, task_words) >= overlap:
                continue  # too short to compare, or the task's own question restated (as plans do)
            if not _text.is_user(step):
                for earlier, earlier_words, _ in asked:
                    if earlier.index == step.index or _text.containment(words, earlier_words) < overlap:
                        continue
                    if _text.is_user(earlier):
                        continue  # agents restate the user's question in their plans: not a re-ask
                    answered = any(
                        s.agent != earlier.agent and len(_text.tokens(s.content)) >= 2
                        for s in steps[earlier.index + 1: min(step.index, earlier.index + _ANSWER_WINDOW)])
                    if answered:
                        found.append((step, earlier, q))
                        break
            asked.append((step, words, q))
            if len(asked) > _ASKED_WINDOW:
                del asked[0]
    return found


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    detections: list[Detection] = []
    for step, m in _amnesia(run, int(thresholds["min_prior_steps"])):
        detections.append(Detection(
            type=SPEC.key, f_code=SPEC.f_code, confidence=0.8, severity="high",
            explanation=(f"Loss of conversation history: at step {step.index} {step.agent} says "
                         f"\"{_text.truncate(m.group(0), 100)}\" although {step.index} earlier step(s) "
                         f"already set the task and the work so far. Make sure the agent receives the "
                         f"conversation history (or a summary of it) on every turn."),
            evidence=[_text.evidence(step, _text.excerpt(step.content, m.start(), m.end()))],
            detector_version=SPEC.version, details={"signal": "amnesia"},
        ))
    seen: set[int] = {d.evidence[0].step_index or 0 for d in detections}
    for step, earlier, question in _reasks(run, thresholds)[:3]:
        if step.index in seen:
            continue
        seen.add(step.index)
        detections.append(Detection(
            type=SPEC.key, f_code=SPEC.f_code, confidence=0.7, severity="medium",
            explanation=(f"Loss of conversation history: {step.agent} asks at step {step.index} a question "
                         f"already asked at step {earlier.index} ({earlier.agent}) and answered afterwards. "
                         f"Make sure the agent receives the conversation history (or a summary) and reads "
                         f"it before asking."),
            evidence=[_text.evidence(earlier, note="first asked"),
                      _text.evidence(step, question, note="asked again")],
            detector_version=SPEC.version, details={"signal": "reask", "first_asked": earlier.index},
        ))
    return detections
