"""F10 Ignored other agent's input: a correction or instruction from another agent is not acted on.

A *correction* is a message sentence that asks for a change ("rename X to Y", "you must handle the empty
list", "use UTC instead of local time", "the total is wrong"). The addressee's next message is checked:

- it acted if it contains the new details the correction asked for (identifiers, file names, numbers,
  quoted strings absent from its previous output), covers enough of the correction's words, or pushes
  back with a reason;
- it ignored it if it resubmits its previous output (near-identical) or leaves out every new detail.

An author repeating the same correction ("as I said before...") raises the confidence. Only sentences
that pass a cheap keyword gate are parsed, so the pass is linear in the run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from mao.domain.detectors import _text_extra as tx
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="ignored_input",
    name=mode("F10").name,
    version="1.0.0",
    f_code="F10",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "resubmit_similarity": ThresholdSpec(0.85, 0.5, 1.0, "word overlap making a reply a resubmission"),
        "acted_coverage": ThresholdSpec(
            0.35, 0.05, 1.0, "share of the correction's words showing it was acted on"
        ),
    },
    fix_types=("prompt_patch", "role_instruction"),
)

_GATE = (
    "please",
    "should",
    "must",
    "need",
    "instead",
    "don't",
    "do not",
    "make sure",
    "change",
    "rename",
    "replace",
    "switch",
    "wrong",
    "incorrect",
    "missing",
    "forgot",
    "remove",
    "add ",
    "use ",
    "avoid",
    "fix",
    "again",
    "still",
    "as i said",
    "already",
)
_GATE_PATTERN = tx.substring_pattern(_GATE)  # one scan: exactly "any of _GATE occurs"
# After \b, a lookahead on the alternatives' first letters lets the regex skip most positions at once.
_CORRECTION = re.compile(
    r"\b(?=[abcdimnprswy])(?:you (?:should|must|need to|have to|forgot)|(?:should|must|needs? to) (?:be |not |also )?"
    r"(?:use|add|remove|change|handle|include|return|validate|check|switch|rename|replace|cite|convert|sort|"
    r"filter|exclude|avoid|mention|state|use)\w*|instead of|don'?t|do not|make sure|be sure to|"
    r"change\b.{1,50}?\bto\b|rename|replace|switch to|(?:is|are|was|were) (?:wrong|incorrect|missing|"
    r"outdated)|"
    r"please (?:fix|change|update|use|add|remove|rename|replace|switch|correct|handle|include|cite|drop))"
)
_IMPERATIVE = re.compile(
    r"(?:use|set|change|switch|add|remove|rename|replace|fix|handle|return|"
    r"move|drop|include|cite|convert|bill|charge)\b"
)
# "An order at the start of the text or right after a punctuation mark", split in two: the second pattern
# starts with a character class, which the regex engine scans for in C instead of trying every position.
_IMPERATIVE_AFTER = re.compile(r"[.!?:;,\n]\s*" + _IMPERATIVE.pattern)
_PUSHBACK = re.compile(
    r"\b(?=[abcdghiknopuwy])(?:disagree|i kept|keeping|kept|intentional(?:ly)?|on purpose|deliberately|"
    r"not necessary|unnecessary|"
    r"won'?t change|can'?t (?:use|change)|because|however|good (?:catch|point)|as you suggested|as requested|"
    r"per your|you're right|you are right|agreed)\b"
)
_REPEAT = re.compile(
    r"\b(?=[afiosty])(?:as i (?:said|mentioned|asked|noted|pointed out)|"
    r"i (?:already|previously) (?:asked|said|mentioned|"
    r"pointed out|requested)|for the (?:second|third|\w+th) time|once again|(?:still|again) (?:not|hasn'?t|"
    r"haven'?t|ignor\w+|missing|no )|you still|this still|it still (?:uses|has|lacks|returns|ignores))"
)

# Exact pre-tests (see ``tx.word_runs``). Every match of _CORRECTION contains one of these whole words or
# substrings: "you" of "you forgot", "should"/"must"/"need(s)" of "should use", "please" of "please fix";
# prefixes ("rename", "wrong") as substrings. An order (_IMPERATIVE at the start or after punctuation) is
# one of its verbs as a whole word. A message with none of them is no correction; one with only a verb
# needs no _CORRECTION scan.
_CORRECTION_WORDS = frozenset(
    {"you", "should", "must", "need", "needs", "instead", "don", "change", "switch", "please"}
)
_CORRECTION_PARTS = ("do not", " sure", "dont", "rename", "replace", "wrong", "incorrect", "missing", "outdated")
_ORDER_WORDS = frozenset({
    "use", "set", "change", "switch", "add", "remove", "rename", "replace", "fix", "handle", "return", "move",
    "drop", "include", "cite", "convert", "bill", "charge",
})
# Every _PUSHBACK phrase contains one of these words ("won't change" -> "won", "you're right" -> "right").
_PUSHBACK_WORDS = frozenset({
    "disagree", "kept", "keeping", "intentional", "intentionally", "purpose", "deliberately", "necessary",
    "unnecessary", "won", "wont", "can", "cant", "because", "however", "catch", "point", "suggested",
    "requested", "per", "right", "agreed",
})


@dataclass(slots=True)
class _Correction:
    step: Step
    text: str
    terms: frozenset[str]
    details: tuple[str, ...]


def _correction_parts(content: str) -> tuple[str, frozenset[str], tuple[str, ...]] | None:
    """The correction sentences of a message with their terms and details.

    Not cached as a whole: a run rarely repeats a message, while its sentences, terms and details are
    cached where they are shared.
    """
    low = tx.lower(content)
    runs = tx.word_runs(content)
    may_order = not _ORDER_WORDS.isdisjoint(runs)
    may_correct = not _CORRECTION_WORDS.isdisjoint(runs)
    if not (may_order or may_correct):
        may_correct = any(p in low for p in _CORRECTION_PARTS)
        if not may_correct:
            return None
    if _GATE_PATTERN.search(low) is None:
        return None
    # The cheaper scan first; each only where its words occur (the substrings are tested only if needed).
    if not (may_order and _imperative_anywhere(low)) and not (
        (may_correct or any(p in low for p in _CORRECTION_PARTS)) and _CORRECTION.search(low)
    ):
        return None
    picked = [s for s in tx.sentences(content) if _correction_sentence(s)]
    if not picked:
        return None
    text = " ".join(picked)
    return text, tx.content_terms(text), tuple(tx.specific_tokens(text))


@lru_cache(maxsize=65536)
def _correction_sentence(sentence: str) -> bool:
    """Whether a sentence asks for a change (cached: agents repeat sentences across messages)."""
    return _CORRECTION.search(sentence.lower()) is not None or _imperative(sentence)


def _imperative_anywhere(low: str) -> bool:
    """An order at the start of the text or after a punctuation mark (and optional spaces)."""
    return _IMPERATIVE.match(low) is not None or _IMPERATIVE_AFTER.search(low) is not None


def _imperative(sentence: str) -> bool:
    """A sentence that starts with an order, possibly after an address ('Coder: fix ...') or a clause that
    states the reason ('German customers pay in euros: set ...'); a short label ('PR 12: fix typo') is not."""
    low = sentence.lower().lstrip("-*> ")
    if _IMPERATIVE.match(low):
        return True
    head, sep, tail = low.partition(":")
    if not sep:
        head, sep, tail = low.partition(",")
    if not sep or not _IMPERATIVE.match(tail.lstrip()):
        return False
    return len(head.split()) >= 4 or len(head.split()) == 1


def _addressee(corr: _Correction, agents: list[str], recent: list[str]) -> str | None:
    low = tx.lower(corr.step.content)
    named = sorted((pos, a) for a, pos in tx.agent_mentions(low, agents).items() if a != corr.step.agent)
    if named:
        return named[0][1]
    return next((a for a in reversed(recent) if a != corr.step.agent), None)


def _speaks(step: Step) -> bool:
    return tx.is_speaker(step)


def _output_text(step: Step) -> str:
    if not step.tool_calls:
        return step.content
    parts = [step.content[: tx.MAX_CHARS]]
    parts.extend(tx.arguments_text(c) for c in step.tool_calls)
    return "\n".join(parts)


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    min_conf = float(thresholds.get("min_confidence", 0.55))
    resubmit = float(thresholds.get("resubmit_similarity", 0.85))
    acted_cov = float(thresholds.get("acted_coverage", 0.35))
    speakers = list(filter(tx.is_speaker, run.steps))
    speaking = {s.agent for s in speakers}
    agents = [a for a in run.agents if a in speaking]
    last_by_agent: dict[str, Step] = {}
    detections: list[Detection] = []
    flagged: set[int] = set()
    # Corrections waiting for the addressee's next message: addressee -> (correction, previous output).
    waiting: dict[str, list[tuple[_Correction, Step | None]]] = {}
    recent: list[str] = []  # the last few speakers, most recent last

    # Speakers are never user turns, so every one of them may write a correction.
    for step, parts in zip(speakers, map(_correction_parts, [s.content for s in speakers]), strict=True):
        agent = step.agent
        if agent in waiting:
            for corr, prev in waiting.pop(agent):
                verdict = _judge(corr, prev, step, resubmit, acted_cov)
                if verdict is not None:
                    confidence, reason = verdict
                    repeated = _repeated_later(run, corr, step)
                    if repeated is not None:
                        confidence = min(0.95, confidence + 0.15)
                    if confidence >= min_conf and corr.step.index not in flagged:
                        flagged.add(corr.step.index)
                        detections.append(_detection(corr, step, reason, confidence, repeated))
        if parts is not None and (parts[2] or len(parts[1]) >= 3):
            corr = _Correction(step, *parts)
            target = _addressee(corr, agents, recent)
            if target is not None:
                waiting.setdefault(target, []).append((corr, last_by_agent.get(target)))
        last_by_agent[agent] = step
        if not recent or recent[-1] != agent:
            recent.append(agent)
            del recent[:-8]
    return detections


def _judge(
    corr: _Correction, prev: Step | None, reply: Step, resubmit: float, acted_cov: float
) -> tuple[float, str] | None:
    reply_text = _output_text(reply)
    reply_low = tx.lower(reply_text)
    prev_low = tx.lower(_output_text(prev)) if prev is not None else ""
    new_details = [d for d in corr.details if d not in prev_low and len(d) > 1]
    applied = [d for d in new_details if d in reply_low]
    if applied:
        return None
    if tx.any_word(reply_text, _PUSHBACK_WORDS) and _PUSHBACK.search(reply_low):
        return None
    reply_terms = tx.content_terms(reply_text)
    prev_terms = tx.content_terms(_output_text(prev)) if prev is not None else frozenset()
    if prev is not None:
        sim = tx.jaccard(prev_terms, reply_terms)
        prev_code, reply_code = _code(prev.content), _code(reply.content)
        if prev_code and prev_code == reply_code:
            return 0.8, "resubmitted the same code unchanged"
        if sim >= resubmit and len(reply_terms) >= 5:
            return 0.8 if new_details else 0.7, f"resubmitted its previous output ({sim:.0%} the same)"
    # Words of the correction the replier had not used before: echoing the topic is not acting on it.
    new_terms = corr.terms - prev_terms
    taken = len(new_terms & reply_terms)
    if new_details and taken < 2 and tx.coverage(new_terms, reply_terms) < acted_cov:
        shown = ", ".join(new_details[:3])
        return 0.6, f"its reply contains none of the requested details ({shown})"
    return None


_CODE = re.compile(r"```[\w+-]*\n(.*?)```", re.DOTALL)


def _code(text: str) -> str:
    """The message's code blocks with whitespace normalised ('' when it has none)."""
    if "```" not in text:
        return ""
    return "\n".join(" ".join(block.split()) for block in _CODE.findall(text[: tx.MAX_CHARS]))


def _repeated_later(run: Run, corr: _Correction, reply: Step) -> Step | None:
    """A later message by the same author that repeats the correction."""
    for later in run.steps[reply.index + 1 : reply.index + 12]:
        if later.agent != corr.step.agent or not _speaks(later):
            continue
        if _repeats(later.content) or (
            _may_overlap_half(later.content, corr.terms)
            and tx.jaccard(tx.content_terms(later.content), corr.terms) >= 0.5
        ):
            return later
    return None


def _may_overlap_half(text: str, terms: frozenset[str]) -> bool:
    """Exact pre-test for ``jaccard(content_terms(text), terms) >= 0.5``.

    A shared term is the prefix of a word of the text, so it occurs in the lower-cased text; a Jaccard of
    one half needs at least half of ``terms`` shared. (With no terms, the Jaccard of two empty sets is 1.)
    """
    if not terms:
        return True
    low = tx.lower(text)
    return 2 * sum(t in low for t in terms) >= len(terms)


# Every phrase _REPEAT matches contains one of these; most messages contain none.
_REPEAT_GATE = ("as i ", "already", "previously", " time", "again", "still")


@lru_cache(maxsize=65536)
def _repeats(text: str) -> bool:
    """Whether the message says it is repeating a request (cached: later steps are checked per correction)."""
    low = tx.lower(text)
    return any(g in low for g in _REPEAT_GATE) and _REPEAT.search(low) is not None


def _detection(
    corr: _Correction, reply: Step, reason: str, confidence: float, repeated: Step | None
) -> Detection:
    explanation = (
        f"{corr.step.agent} asked {reply.agent} for a change at step {corr.step.index} "
        f'("{tx.quote(corr.text, 140)}"), but {reply.agent}\'s next message at step {reply.index} {reason}.'
    )
    if repeated is not None:
        explanation += f" {corr.step.agent} had to repeat the request at step {repeated.index}."
    explanation += (
        " Make the agent acknowledge and apply (or explicitly decline) feedback before resubmitting."
    )
    evidence = [
        tx.evidence(corr.step, corr.text, note="correction"),
        tx.evidence(reply, reply.content, note="reply that does not act on it"),
    ]
    if repeated is not None:
        evidence.append(tx.evidence(repeated, repeated.content, note="correction repeated"))
    return tx.detection(SPEC, confidence, explanation, evidence,
                        {"author": corr.step.agent, "addressee": reply.agent, "repeated": repeated is not None})
