"""Grounding check: which claims of an output the sources support, leave unsupported or contradict.

Claims are the output's sentences. The checkable facts in a claim are numbers (with their
formatting undone: ``1,200`` = ``1200``, ``3.5 million`` = ``3500000``, percentages), dates and
years, proper names, quoted passages and citations (URLs, DOIs, ``[n]`` references). A fact is
*supported* when the sources contain it; a number is *contradicted* when the source sentence that
best matches the claim carries a different number instead. Claims without checkable facts are
judged by word overlap with their best source sentence and never called hallucinated on that alone.

Pure text processing, deterministic, no models.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FactKind = Literal["number", "date", "name", "quote", "citation"]
Status = Literal["supported", "unsupported", "contradicted", "unverifiable"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = frozenset((
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with",
    "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that",
    "these", "those", "there", "here", "which", "who", "whom", "what", "when", "where", "why",
    "how", "not", "no", "yes", "so", "than", "then", "too", "very", "can", "could", "would",
    "should", "will", "shall", "may", "might", "must", "do", "does", "did", "has", "have", "had",
    "i", "you", "he", "she", "we", "they", "them", "his", "her", "our", "their", "your", "my",
    "me", "us", "also", "about", "into", "over", "under", "after", "before", "such", "any", "all",
    "some", "each", "more", "most", "other", "only", "just",
))
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}})\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![\w.])[-+]?\$?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])[-+]?\$?\d+(?:\.\d+)?"
    r"(?:\s?(?:%|percent|k|m|bn|million|billion|thousand|trillion)\b)?",
    re.IGNORECASE,
)
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9, "trillion": 1e12}
_QUOTE = re.compile(r"[\"“”]([^\"“”]{12,400})[\"“”]")
_URL = re.compile(r"https?://[^\s)\]>\"']+", re.IGNORECASE)
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+", re.IGNORECASE)
_REF = re.compile(r"\[(\d{1,3})\]")
_CAP_WORD = r"[A-Z][a-zA-Z'\u2019\-]+"
_NAME = re.compile(rf"\b{_CAP_WORD}(?:\s+(?:{_CAP_WORD}|of|de|van|von|der|la|du))*(?:\s+{_CAP_WORD})")


@dataclass(frozen=True, slots=True)
class Fact:
    kind: FactKind
    text: str
    status: Status
    source_index: int | None = None
    source_quote: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ClaimResult:
    claim: str
    status: Status
    support: float  # word overlap with the best matching source sentence
    facts: list[Fact] = field(default_factory=list)
    source_index: int | None = None
    source_quote: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["support"] = round(self.support, 3)
        return out


@dataclass(frozen=True, slots=True)
class GroundingReport:
    grounding_score: float  # share of checkable facts the sources support (1.0 when nothing to check)
    claims: list[ClaimResult]
    supported: int
    unsupported: int
    contradicted: int
    checked_facts: int
    hallucinated: bool

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["grounding_score"] = round(self.grounding_score, 4)
        out["claims"] = [c.to_dict() for c in self.claims]
        return out

    @property
    def problem_claims(self) -> list[ClaimResult]:
        return [c for c in self.claims if c.status in ("unsupported", "contradicted")]


# ------------------------------------------------------------------------------------------- parsing
def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text or "") if len(s.strip()) >= 3]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _number_value(token: str) -> float | None:
    t = token.lower().replace("$", "").replace(",", "").strip()
    m = re.match(r"([-+]?\d+(?:\.\d+)?)\s*(%|percent|k|m|bn|million|billion|thousand|trillion)?$", t)
    if not m:
        return None
    value = float(m.group(1))
    unit = m.group(2)
    if unit in _SCALE:
        value *= _SCALE[unit]
    return value


def _numbers(text: str, skip: list[tuple[int, int]]) -> list[tuple[str, float]]:
    out = []
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in skip):
            continue
        value = _number_value(m.group(0))
        if value is not None:
            out.append((m.group(0).strip(), value))
    return out


@dataclass(slots=True)
class _Source:
    index: int
    text: str
    lower: str
    sentences: list[str]
    sentence_words: list[set[str]]
    numbers: set[float]
    urls: set[str]


def _prepare(index: int, text: str) -> _Source:
    sents = sentences(text) or [text]
    dates = [(m.start(), m.end()) for m in _DATE.finditer(text)]
    nums = {v for _, v in _numbers(text, [])} | {v for _, v in _numbers(text, dates)}
    return _Source(index, text, text.lower(), sents, [_words(s) for s in sents], nums,
                   {u.rstrip(".,;").lower() for u in _URL.findall(text)})


def _best_sentence(claim_words: set[str], sources: list[_Source]) -> tuple[float, _Source | None, str | None]:
    best = (0.0, None, None)
    if not claim_words:
        return best
    for src in sources:
        for sent, words in zip(src.sentences, src.sentence_words, strict=True):
            if not words:
                continue
            overlap = len(claim_words & words) / len(claim_words)
            if overlap > best[0]:
                best = (overlap, src, sent)
    return best


def _found(needle: str, sources: list[_Source]) -> _Source | None:
    n = needle.lower()
    for src in sources:
        if n in src.lower:
            return src
    return None


def _check_claim(claim: str, sources: list[_Source]) -> ClaimResult:
    words = _words(claim)
    support, best_src, best_sent = _best_sentence(words, sources)
    facts: list[Fact] = []

    for m in _QUOTE.finditer(claim):
        quote = m.group(1).strip()
        src = _found(quote, sources)
        if src is None:  # tolerate small edits: most of the quote's words in one source sentence
            q_words = _words(quote)
            overlap, qsrc, qsent = _best_sentence(q_words, sources)
            if overlap >= 0.9 and qsrc is not None:
                facts.append(Fact("quote", quote, "supported", qsrc.index, qsent))
            else:
                facts.append(Fact("quote", quote, "unsupported", note="quoted text not found in the sources"))
        else:
            facts.append(Fact("quote", quote, "supported", src.index))

    for url in _URL.findall(claim):
        url = url.rstrip(".,;")
        ok = any(url.lower() in s.urls or url.lower() in s.lower for s in sources)
        facts.append(Fact("citation", url, "supported" if ok else "unsupported",
                          note=None if ok else "cited URL does not appear in the sources"))
    for doi in _DOI.findall(claim):
        ok = _found(doi.rstrip(".,;"), sources) is not None
        facts.append(Fact("citation", doi, "supported" if ok else "unsupported"))
    for ref in _REF.findall(claim):
        ok = 1 <= int(ref) <= len(sources)
        facts.append(Fact("citation", f"[{ref}]", "supported" if ok else "unsupported",
                          note=None if ok else f"reference [{ref}] but only {len(sources)} sources"))

    date_spans = [(m.start(), m.end()) for m in _DATE.finditer(claim)]
    for m in _DATE.finditer(claim):
        src = _found(m.group(0), sources)
        facts.append(Fact("date", m.group(0), "supported" if src else "unsupported",
                          src.index if src else None))

    skip = date_spans + [(m.start(), m.end()) for m in _URL.finditer(claim)] \
        + [(m.start(), m.end()) for m in _REF.finditer(claim)] + [(m.start(), m.end()) for m in _DOI.finditer(claim)]
    best_numbers = {v for _, v in _numbers(best_sent, [])} if best_sent else set()
    for token, value in _numbers(claim, skip):
        if value in (0.0, 1.0) and not re.search(r"[.,%$]", token):
            continue  # "one of", list markers: too weak to check
        if any(abs(value - v) <= 1e-9 * max(1.0, abs(v)) for s in sources for v in s.numbers):
            facts.append(Fact("number", token, "supported"))
        elif best_sent is not None and support >= 0.5 and best_numbers:
            facts.append(Fact("number", token, "contradicted", best_src.index if best_src else None, best_sent,
                              note="the closest source sentence gives a different number"))
        else:
            facts.append(Fact("number", token, "unsupported"))

    for m in _NAME.finditer(claim):
        name = m.group(0)
        parts = [p for p in re.split(r"\s+", name) if p[:1].isupper()]
        if len(parts) < 2:
            continue
        src = _found(name, sources)
        if src is None and all(_found(p, sources) for p in parts):
            src = _found(parts[-1], sources)
        facts.append(Fact("name", name, "supported" if src else "unsupported", src.index if src else None))

    checkable = [f for f in facts if f.status != "unverifiable"]
    if any(f.status == "contradicted" for f in checkable):
        status: Status = "contradicted"
    elif any(f.status == "unsupported" for f in checkable):
        status = "unsupported"
    elif checkable:
        status = "supported"
    else:
        status = "supported" if support >= 0.6 else "unverifiable"
    return ClaimResult(claim, status, support, facts, best_src.index if best_src else None, best_sent)


def check_grounding(output: str, sources: list[str], min_unsupported: int = 1) -> GroundingReport:
    """Claims of ``output`` against ``sources``; ``hallucinated`` when enough facts lack support."""
    prepared = [_prepare(i, s or "") for i, s in enumerate(sources)]
    claims = [_check_claim(s, prepared) for s in sentences(output)]
    facts = [f for c in claims for f in c.facts]
    supported = sum(f.status == "supported" for f in facts)
    unsupported = sum(f.status == "unsupported" for f in facts)
    contradicted = sum(f.status == "contradicted" for f in facts)
    checked = supported + unsupported + contradicted
    score = supported / checked if checked else 1.0
    return GroundingReport(
        grounding_score=score,
        claims=claims,
        supported=supported,
        unsupported=unsupported,
        contradicted=contradicted,
        checked_facts=checked,
        hallucinated=contradicted > 0 or unsupported >= max(1, min_unsupported),
    )


__all__ = ["ClaimResult", "Fact", "GroundingReport", "check_grounding", "sentences"]
