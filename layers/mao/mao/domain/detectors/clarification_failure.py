"""F7 Fail to ask for clarification: an agent proceeds on ambiguous or missing input.

Signals:

* the agent says it is filling a gap itself ("I'll assume...", "since you didn't specify...",
  "without more details...") and does not ask in the same message;
* the agent calls a tool with placeholder values (``<your_api_key>``, ``YOUR_TOKEN``, ``TODO``,
  ``example.com``), i.e. it acted on input it did not have.

An agent that states an assumption and asks for confirmation in the same message is asking.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import chain
from operator import attrgetter

from mao.domain.detectors import _text
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="clarification_failure",
    name=mode("F7").name,
    version="1.0.0",
    f_code="F7",
    thresholds={
        "min_confidence": ThresholdSpec(0.5, 0.0, 1.0, "lowest confidence reported"),
    },
    fix_types=("prompt_patch", "input_sanitiser", "verification_step"),
)

# (needs, pattern): every match of the pattern contains, for each group of ``needs``, one of its words
# (case-folded, see ``_text.fold``), so the pattern only runs on a message that holds them
_ASSUME = _text.GatedPatterns((
    ((("assume", "guess"),),
     r"(?<!\bif )\b(?:i'?ll|i will|i'?m going to|let me|we'?ll|i|we) (?:just |simply )?(?:assume|guess)\b"),
    ((("assuming ",),), r"\bassuming (?:that |the |you |it |this |a |an )"),
    ((("since ",), ("specif", "say", "mention", "provide", "include", "state")),
     r"\bsince (?:you|the user|it|the (?:task|request|ticket|brief)) (?:didn'?t|did not|doesn'?t|does not|"
     r"wasn'?t|was not|hasn'?t|has not|haven'?t) (?:specify|specified|say|mention|mentioned|provide|provided|"
     r"include|included|state|stated)"),
    ((("specified", "provided", "given", "stated"),),
     r"\b(?:was|were|is|are|wasn'?t|isn'?t) (?:not )?(?:specified|provided|given|stated)\b[^.?!]{0,40}"
     r"\b(?:so|i'?ll|i will|i'?m going to|let me|we'?ll|i went with|i chose|i picked|defaulting)\b"),
    ((("without ",), ("details", "information", "context", "specifics")),
     r"\bwithout (?:more|further|additional|any) (?:details|information|context|specifics)\b[^.?!]{0,40}"
     r"\b(?:i'?ll|i will|i'?m going to|let me|we'?ll)\b"),
    ((("in the absence of",), ("details", "information", "instructions", "specifics")),
     r"\bin the absence of (?:any |more |further )?(?:details|information|instructions|specifics)\b"),
    ((("pick", "choose", "chose", "go with", "went with"), ("default", "guess")),
     r"\b(?:i'?ll|i will|i) (?:pick|choose|chose|picked|go with|went with) (?:a |an |the )?"
     r"(?:reasonable |sensible |arbitrary |random )?(?:default|guess)"),
    ((("unclear ",),), r"\bunclear (?:what|which|whether|if)\b[^.?!]{0,60}\b(?:so|i'?ll|i will|let me|we'?ll)\b"),
))
_ASKS = re.compile(r"(?i)\b(?:could you|can you|would you|do you|did you|should i|shall i|which|what|please "
                   r"confirm|is (?:that|this|it)|are you)\b[^?]{0,200}\?")
_PLACEHOLDER = re.compile(r"(?i)<\s*(?:your|insert|enter|replace)[^>]{0,40}>|\byour[_-](?:api[_-]?key|token|"
                          r"password|secret|email|name|id)\b|\[(?:insert|your|todo|placeholder)[^\]]{0,40}\]|"
                          r"\b(?:todo|tbd|fixme|placeholder|xxx+|lorem ipsum)\b|"
                          r"\b(?:example\.com|foo@bar\.com|john\.doe@|test@test\.com|123-45-6789|555-0100)")


_ASSUME_TRIGGERS = frozenset([
    "assume", "assuming", "guess", "specify", "specified", "mention", "mentioned", "provide",
    "provided", "given", "stated", "state", "include", "included", "without", "absence", "default",
    "unclear", "pick", "choose", "chose", "picked", "went", "go"
])


# substrings every placeholder pattern contains: the regex only runs on arguments holding one
_PLACEHOLDER_HINTS = ("<", "[", "your", "todo", "tbd", "fixme", "placeholder", "xxx", "lorem", "example.com",
                      "foo@", "john.doe", "test@", "123-45", "555-01")
_HINT = re.compile("|".join(map(re.escape, _PLACEHOLDER_HINTS)))  # one scan instead of one `in` per hint

_CONTENT = attrgetter("content")
_TOOL_CALLS = attrgetter("tool_calls")
_ARGUMENTS = attrgetter("arguments")


def _asks(text: str) -> bool:
    return _ASKS.search(text[: _text.MAX_CHARS]) is not None


def _det(step: Step, signal: str, what: str, quote: str, confidence: float) -> Detection:
    return Detection(
        type=SPEC.key, f_code=SPEC.f_code, confidence=confidence, severity="medium",
        explanation=(f"Failed to ask for clarification at step {step.index}: {step.agent} {what} instead of "
                     f"asking. Instruct the agent to ask (or hand back to the requester) when required "
                     f"input is missing or ambiguous."),
        evidence=[_text.evidence(step, quote)], detector_version=SPEC.version,
        details={"signal": signal},
    )


def _assumed(step: Step) -> Detection | None:
    """The step's message fills in missing input itself without asking."""
    text = step.content
    if not (text and _text.has_any(text, _ASSUME_TRIGGERS)):
        return None
    m = _ASSUME.first_match(text)
    if m and not _asks(text):
        return _det(step, "assumed_missing_input",
                    f"filled in missing input itself (\"{_text.truncate(m.group(0), 80)}\")",
                    _text.excerpt(text, m.start(), m.end()), 0.7)
    return None


def _placeholder_call(step: Step) -> Detection | None:
    """The step's first tool call whose arguments hold a placeholder value."""
    for call in step.tool_calls:
        args = call.arguments if isinstance(call.arguments, str) else repr(call.arguments)
        head = args[:2000]
        m = _PLACEHOLDER.search(head) if _HINT.search(head.lower()) else None
        if m:
            return _det(step, "placeholder_argument",
                        f"called '{call.name}' with the placeholder value '{m.group(0)}'",
                        f"{call.name}({_text.truncate(args, 250)})", 0.75)
    return None


def _trigger_steps(steps: list[Step]) -> set[int]:
    """Indices of the steps whose message holds a trigger word (the word-set test of ``_assumed``, in C)."""
    return set(_text.word_hits(map(_CONTENT, steps), _ASSUME_TRIGGERS))


def _hinted_steps(steps: list[Step]) -> set[int]:
    """Indices of the steps with a tool call whose arguments may hold a placeholder hint.

    One scan of all arguments of the run per hint instead of one per call and hint. Every argument is
    rendered with ``repr``: the repr of a string argument holds every hint the string holds (it only adds
    quotes and escapes, and no hint contains a quote or backslash), and ``texts_with`` finds a superset of
    the texts whose lower-cased form holds one, so this is a superset of the steps ``_placeholder_call``
    can flag; each is then checked exactly.
    """
    calls_of = list(map(_TOOL_CALLS, steps))
    texts = list(map(repr, map(_ARGUMENTS, chain.from_iterable(calls_of))))
    owners = [pos for pos, calls in enumerate(calls_of) for _ in calls]
    return {owners[k] for k in _text.texts_with(texts, _PLACEHOLDER_HINTS)}


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    steps = run.steps
    found: list[Detection] = []
    # only steps that pass one of the two cheap tests can be flagged: the rest are skipped unread
    for i in sorted(_trigger_steps(steps) | _hinted_steps(steps)):
        step = steps[i]
        if _text.is_user(step):
            continue
        found.extend(d for d in (_assumed(step), _placeholder_call(step)) if d is not None)
        if len(found) >= 3:
            break
    floor = float(thresholds["min_confidence"])
    return [d for d in found if d.confidence >= floor]
