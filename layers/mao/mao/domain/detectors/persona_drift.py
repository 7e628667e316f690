"""Operational: persona drift. An agent's messages drift away from its declared role or persona.

The persona comes from what the run declares: a system message ("You are Ana, a formal support agent
for ... Always answer in Spanish. Only discuss billing."), or a descriptive step role. The agent's first
messages set its baseline. Drift is reported when it is sustained (several messages, not one):

- language: the agent switches away from its declared or baseline language;
- register: a formal persona (declared formal, or a baseline with no informal markers) turns to slang,
  emoji and exclamations;
- scope: a persona restricted to a topic ("only discuss billing") answers messages that share no words
  with that topic or with its own baseline;
- character break: a named persona starts speaking as a generic AI model.

Agents without a declared persona are only checked for language and register, which need no
declaration to be clear.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from mao.domain.detectors import _text
from mao.domain.detectors import _text_extra as tx
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step

SPEC = DetectorSpec(
    key="persona_drift",
    name="Persona drift",
    version="1.0.0",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "min_drift_messages": ThresholdSpec(
            2, 1, 20, "off-persona messages needed to report drift", integer=True
        ),
        "baseline_messages": ThresholdSpec(
            2, 1, 10, "first messages of an agent that set its baseline", integer=True
        ),
    },
    fix_types=("role_instruction", "prompt_patch"),
)

_GENERIC_ROLES = frozenset(
    {"assistant", "user", "system", "tool", "agent", "human", "ai", "function", "model", "developer", "bot"}
)
_LANG_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "is",
            "are",
            "you",
            "your",
            "with",
            "this",
            "that",
            "for",
            "have",
            "not",
            "what",
            "will",
            "can",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "es",
            "son",
            "usted",
            "su",
            "con",
            "para",
            "que",
            "por",
            "una",
            "pero",
            "como",
            "está",
            "gracias",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "est",
            "sont",
            "vous",
            "votre",
            "avec",
            "pour",
            "que",
            "une",
            "mais",
            "comme",
            "merci",
            "nous",
            "pas",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "ist",
            "sind",
            "sie",
            "ihr",
            "mit",
            "für",
            "und",
            "nicht",
            "eine",
            "aber",
            "wie",
            "danke",
            "wir",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "os",
            "as",
            "é",
            "são",
            "você",
            "seu",
            "com",
            "para",
            "que",
            "uma",
            "mas",
            "como",
            "obrigado",
            "não",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "gli",
            "è",
            "sono",
            "lei",
            "suo",
            "con",
            "per",
            "che",
            "una",
            "ma",
            "come",
            "grazie",
            "non",
        ]
    ),
}
_LANG_NAMES = {
    "english": "en",
    "spanish": "es",
    "espa\u00f1ol": "es",
    "french": "fr",
    "fran\u00e7ais": "fr",
    "german": "de",
    "deutsch": "de",
    "portuguese": "pt",
    "italian": "it",
}
_LANG_DECL = re.compile(
    r"\b(?:in|only|always (?:answer|respond|reply|write) in|speak)\s+(english|spanish|"
    r"espa\u00f1ol|french|fran\u00e7ais|german|deutsch|portuguese|italian)\b"
)
_FORMAL_DECL = re.compile(r"\b(?:formal|professional|polite|courteous|respectful|business tone)\b")
_INFORMAL = re.compile(
    r"\b(?:lol|lmao|rofl|dude|bro|gonna|wanna|gotta|yep|nah|omg|wtf|idk|tbh|kinda|sorta|"
    r"whatever|meh|ugh|haha+|hehe|bruh|awesome sauce|chill)\b|!!+|[\U0001F300-\U0001FAFF]"
)
_SCOPE_DECL = re.compile(
    r"\b(?:only (?:discuss|answer|help with|talk about|handle|respond to|cover)|"
    r"(?:strictly|exclusively) (?:about|on|for)|do not (?:discuss|answer|help with) "
    r"anything (?:but|except|other than))\b(.{3,160})"
)
_NAMED = re.compile(r"\b[Yy]ou are ([A-Z][a-z]+)\b")
_NOT_NAMES = frozenset(
    {"The", "A", "An", "Now", "Not", "Here", "Going", "Only", "Always", "Never", "Our", "My"}
)
_AI_BREAK = re.compile(
    r"\b(?:as an ai(?: language model)?|i am (?:an ai|a large language model|"
    r"a language model)|"
    r"i'm (?:just )?an ai|i am just a (?:program|language model))\b"
)


@dataclass(slots=True)
class _Persona:
    text: str = ""
    language: str | None = None
    formal: bool = False
    scope_terms: frozenset[str] = frozenset()
    named: str | None = None
    messages: list[Step] = field(default_factory=list)


_ANY_LANG_WORD = frozenset().union(*_LANG_WORDS.values())
# Per language, the words that score for some other language: a message without any of them cannot be
# scored as another language.
_OTHER_LANG_WORDS = {
    lang: frozenset().union(*(v for other, v in _LANG_WORDS.items() if other != lang)) for lang in _LANG_WORDS
}


@lru_cache(maxsize=65536)
def _language(text: str) -> tuple[str | None, float]:
    ws = tx.words(text)
    if len(ws) < 6:
        return None, 0.0
    # Count only the few words that belong to some vocabulary (one C-speed pass), then score those.
    counts = Counter(w for w in ws if w in _ANY_LANG_WORD)
    scores = {lang: sum(n for w, n in counts.items() if w in vocab) for lang, vocab in _LANG_WORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    total = sum(scores.values())
    if scores[best] < 3 or total == 0:
        return None, 0.0
    return best, scores[best] / total


def _declare(persona: _Persona, text: str) -> None:
    persona.text += " " + text
    low = tx.lower(text)
    m = _LANG_DECL.search(low)
    if m:
        persona.language = _LANG_NAMES[m.group(1)]
    if _FORMAL_DECL.search(low):
        persona.formal = True
    scope = _SCOPE_DECL.search(low)
    if scope:
        persona.scope_terms = tx.content_terms(scope.group(1))
    named = _NAMED.search(text[: tx.MAX_CHARS])
    if named and named.group(1) not in _NOT_NAMES:
        persona.named = named.group(1)


def _persona_of(personas: dict[str, _Persona], agent: str) -> _Persona:
    """The agent's persona, created on first use (not built for every step, as ``setdefault`` would)."""
    persona = personas.get(agent)
    if persona is None:
        persona = personas[agent] = _Persona()
    return persona


def _personas(run: Run) -> dict[str, _Persona]:
    personas: dict[str, _Persona] = {}
    pending_system: list[str] = []
    agents: list[str] | None = None  # listed once a system message needs them
    for step in run.steps:
        if step.role == "system":
            if agents is None:
                agents = run.agents
            low = tx.lower(step.content)
            targets = [a for a in tx.agent_mentions(low, agents) if a != step.agent]
            if targets:
                for a in targets:
                    _declare(_persona_of(personas, a), step.content)
            else:
                pending_system.append(step.content)
            continue
        if tx.is_tool_step(step) or tx.is_user_step(step):
            continue
        persona = _persona_of(personas, step.agent)
        if pending_system:
            for text in pending_system:
                _declare(persona, text)
            pending_system = []
        if not persona.messages and step.role.lower() not in _GENERIC_ROLES:
            _declare(persona, step.role)
        persona.messages.append(step)
    return personas


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    min_conf = float(thresholds.get("min_confidence", 0.55))
    need = int(thresholds.get("min_drift_messages", 2))
    base_n = int(thresholds.get("baseline_messages", 2))
    detections: list[Detection] = []
    for agent, persona in _personas(run).items():
        msgs = persona.messages
        declared = persona.named or persona.formal or persona.language or persona.scope_terms
        if len(msgs) < (need if declared else base_n + need):
            continue
        found = (
            _character_break(persona)
            or _language_drift(persona, base_n, need)
            or _register_drift(persona, base_n, need)
            or _scope_drift(persona, need)
        )
        if found is not None and found[0] >= min_conf:
            detections.append(_make(agent, *found))
    return detections


_Finding = tuple[float, str, list[Step], Step | None]


def _character_break(p: _Persona) -> _Finding | None:
    if not p.named:
        return None
    hits = [s for s in p.messages if _AI_BREAK.search(tx.lower(s.content))]
    if not hits:
        return None
    return 0.75, f"declared as {p.named} but speaks as a generic AI model", hits, None


def _only_base_language(text: str, others: frozenset[str]) -> bool:
    """Exact pre-test: ``_language(text)`` is the base language or None, so the message is not off.

    _language scores ``tx.words`` tokens. In ASCII text without underscores, a token that is a vocabulary
    word (letters only) is also a whole ``\\w+`` run, so when no run is another language's word, every other
    language scores 0 and the best is the base language or nothing.
    """
    low = tx.lower(text)
    return low.isascii() and "_" not in low and others.isdisjoint(tx.word_runs(text))


def _language_drift(p: _Persona, base_n: int, need: int) -> _Finding | None:
    base = p.language
    if base is None:
        langs = [_language(s.content)[0] for s in p.messages[:base_n]]
        if not langs or any(lang is None or lang != langs[0] for lang in langs):
            return None
        base = langs[0]
    start = 0 if p.language else base_n
    others = _OTHER_LANG_WORDS[base]
    off = []
    for s in p.messages[start:]:
        if _only_base_language(s.content, others):
            continue
        lang, share = _language(s.content)
        if lang is not None and lang != base and share >= 0.6:
            off.append(s)
    if len(off) < need:
        return None
    first = p.messages[start] if start < len(p.messages) else None
    declared = "declared" if p.language else "baseline"
    return (
        min(0.9, 0.6 + 0.1 * len(off)),
        f"switched from its {declared} language ({base}) in {len(off)} messages",
        off,
        first,
    )


_INFORMAL_WORDS = frozenset(
    {
        "lol", "lmao", "rofl", "dude", "bro", "gonna", "wanna", "gotta", "yep", "nah", "omg", "wtf", "idk",
        "tbh", "kinda", "sorta", "whatever", "meh", "ugh", "hehe", "bruh", "awesome", "chill",
    }
)


def _informal_count(text: str) -> int:
    low = tx.lower(text)
    # Gate: the pattern needs a slang word, "haha", "!!" or a non-ASCII character (emoji) to match at all. In
    # ASCII text without apostrophes the punctuation-split words are exactly the regex's \b-delimited words.
    if (low.isascii() and "!!" not in low and "haha" not in low and "'" not in low
            and _INFORMAL_WORDS.isdisjoint(_text.word_set(text))):
        return 0
    return len(_INFORMAL.findall(low))


def _register_drift(p: _Persona, base_n: int, need: int) -> _Finding | None:
    baseline = p.messages[:base_n]
    if not p.formal and any(_informal_count(s.content) for s in baseline):
        return None
    later = p.messages[base_n:] if not p.formal else p.messages
    off = [s for s in later if _informal_count(s.content) >= 2]
    if len(off) < need:
        return None
    why = "a declared formal persona" if p.formal else "a formal baseline"
    anchor = baseline[0] if baseline else None
    return min(0.85, 0.55 + 0.1 * len(off)), f"moved from {why} to slang and emoji", off, anchor


def _scope_drift(p: _Persona, need: int) -> _Finding | None:
    if not p.scope_terms:
        return None
    off: list[Step] = []
    streak: list[Step] = []
    for s in p.messages:
        terms = tx.content_terms(s.content)
        if len(terms) >= 8 and not terms & p.scope_terms:
            streak.append(s)
            if len(streak) > len(off):
                off = list(streak)
        else:
            streak = []
    if len(off) < need:
        return None
    scope = ", ".join(sorted(p.scope_terms)[:5])
    return (
        min(0.85, 0.55 + 0.1 * len(off)),
        f"left its declared scope ({scope}) for {len(off)} messages",
        off,
        p.messages[0],
    )


def _make(agent: str, confidence: float, reason: str, off: list[Step], anchor: Step | None) -> Detection:
    explanation = (
        f"{agent} {reason} (steps {', '.join(str(s.index) for s in off[:6])}). Restate the role and "
        f"persona in the agent's instructions on every turn, or re-inject them when the context grows."
    )
    evidence = []
    if anchor is not None and anchor not in off:
        evidence.append(tx.evidence(anchor, anchor.content, "baseline message"))
    evidence.extend(tx.evidence(s, s.content, "off-persona message") for s in off[:3])
    return Detection(
        type=SPEC.key,
        f_code=None,
        confidence=round(confidence, 4),
        severity=tx.severity_for(confidence),
        explanation=explanation,
        evidence=evidence,
        detector_version=SPEC.version,
        details={"agent": agent, "messages": len(off)},
    )
