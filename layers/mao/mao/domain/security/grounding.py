"""Grounding check: which claims of an output the sources support, leave unsupported or contradict.

Claims are the output's sentences. The checkable facts in a claim are numbers (with their
formatting undone: ``1,200`` = ``1200``, ``3.5 million`` = ``3500000``, percentages), dates and
years, proper names, quoted passages and citations (URLs, DOIs, ``[n]`` references). A fact is
*supported* when the sources contain it; a number is *contradicted* when the source sentence that
best matches the claim carries a different number instead. Claims without checkable facts are
judged by word overlap with their best source sentence and never called hallucinated on that alone.

Callers that check many outputs against one set of sources (every step of a run) can first ask
:func:`problem_bounds` how many facts each check could find wrong at most, from cheap exact tests,
and skip the checks that cannot reach their threshold.

Pure text processing, deterministic, no models.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import accumulate, chain, compress, filterfalse, repeat
from typing import Any, Literal

from mao.domain.joined_texts import JoinedTexts

FactKind = Literal["number", "date", "name", "quote", "citation"]
Status = Literal["supported", "unsupported", "contradicted", "unverifiable"]

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
    rf"(?=[\dadfjmnos])\b(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}})\b",
    re.IGNORECASE,
)
# A number: [-+]?\$?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:\s?<unit>\b)?) (units in any case), not
# preceded by a word character or a dot. Written to start with its first character as a class, so the
# regex engine skips ahead to candidate characters instead of trying every position; the rest
# continues by what that first character was. For ASCII text the class is a plain range (faster than
# the Unicode digit category, and the same there).
_UNIT = r"(?:\s?(?i:%|percent|k|m|bn|million|billion|thousand|trillion)\b)?"
_AMOUNT = rf"(?:\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?{_UNIT})"
_AFTER_FIRST_DIGIT = rf"(?:\d{{0,2}}(?:,\d{{3}})+(?:\.\d+)?|\d*(?:\.\d+)?{_UNIT})"
_NUMBER_REST = rf"(?<![\w.][-+$\d])(?:(?<=[-+])\$?{_AMOUNT}|(?<=\$){_AMOUNT}|(?<=\d){_AFTER_FIRST_DIGIT})"
_NUMBER = re.compile(r"[-+$\d]" + _NUMBER_REST)
_NUMBER_ASCII = re.compile(r"[-+$0-9]" + _NUMBER_REST)
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9, "trillion": 1e12}
_QUOTE = re.compile(r"[\"“”]([^\"“”]{12,400})[\"“”]")
_URL = re.compile(r"https?://[^\s)\]>\"']+", re.IGNORECASE)
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+", re.IGNORECASE)
_REF = re.compile(r"(?<![\w\])])\[(\d{1,3})\]")  # not an index: items[0]
_CAP_WORD = r"[A-Z][a-zA-Z'\u2019\-]+"
_NAME = re.compile(rf"(?=[A-Z])\b{_CAP_WORD}(?:\s+(?:{_CAP_WORD}|of|de|van|von|der|la|du))*(?:\s+{_CAP_WORD})")
_DIGIT = re.compile(r"\d")
# A tool result that only reports how much it returned ("30 rows", "3 results", "Extracted 1,840
# characters"): the agent read content that the trace does not carry, so facts it states from that
# content cannot be judged from the trace.
_ELIDED = re.compile(
    r"^\W*(?:(?:extracted|found|fetched|loaded|returned|read|retrieved|got)\s+)?\d[\d,]*\s+"
    r"(?:rows?|results?|records?|items?|documents?|docs|characters|chars|bytes|matches|hits|files?|lines?|"
    r"pages?|entries|messages|emails)\b",
    re.IGNORECASE,
)
_ACRONYM = re.compile(r"[A-Z]{2,6}")
_DATE_HINT = re.compile(r"\d\d\d\d|\d/\d")  # every date form has a 4-digit year or a d/d
_QUOTE_CHAR = re.compile(r"[\"“”]")
_NUMBER_MARK = re.compile(r"[.,%$]")


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
_SENTENCE_CACHE = 65536  # distinct texts remembered (a 10,000-step run's claims and sources fit)
# Where a text splits into sentences: whitespace after closing punctuation, before a capital or a
# digit, or a run of line breaks. The pattern starts with a character class (the punctuation or a
# line break) rather than a look-behind, so the regex engine skips ahead to those characters instead
# of attempting a match at every position; the punctuation stays with its sentence.
_SENTENCE_END = re.compile(r"[.!?\n](?:(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|(?<=\n)\n*)")


@lru_cache(maxsize=_SENTENCE_CACHE)
def _sentences(text: str) -> tuple[str, ...]:
    return tuple(s for s in map(str.strip, _split_sentences(text)) if len(s) >= 3)


def _split_sentences(text: str) -> list[str]:
    parts = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        cut = m.start() if text[m.start()] == "\n" else m.start() + 1  # punctuation ends its sentence
        parts.append(text[start:cut])
        start = m.end()
    parts.append(text[start:])
    return parts


# The same sentence ends, plus the NUL that separates texts joined to be split in one call. The
# groups capture the closing punctuation (given back to its sentence) and the separator.
_SENTENCE_END_OR_TEXT = re.compile(r"[.!?\n\x00](?:(?<=([.!?]))\s+(?=[\"'(\[]?[A-Z0-9])|(?<=\n)\n*|(?<=(\x00)))")


def _sentences_of(texts: list[str]) -> tuple[list[str], list[int]]:
    """The sentences of many texts, as :func:`_sentences` gives them, and for each its text's position:
    one regex split over the joined texts, the rest list operations in C."""
    joined = "\x00".join(texts)
    if not texts or joined.count("\x00") != len(texts) - 1:  # a text with a NUL of its own: one by one
        per_text = list(map(_sentences, texts))
        owners = chain.from_iterable(map(repeat, range(len(texts)), map(len, per_text)))
        return list(chain.from_iterable(per_text)), list(owners)
    parts = _SENTENCE_END_OR_TEXT.split(joined)  # text, punctuation or None, separator or None, text, ...
    closing = [p or "" for p in parts[1::3]]
    found = list(map(str.strip, map(str.__add__, parts[0::3], [*closing, ""])))
    owners = accumulate(map(bool, parts[2::3]), initial=0)
    keep = [len(f) >= 3 for f in found]
    return list(compress(found, keep)), list(compress(owners, keep))


def sentences(text: str) -> list[str]:
    return list(_sentences(text or ""))


def _word_bytes(keep: bytes) -> bytes:
    """A bytes.translate table for ASCII text: capitals lowered, letters and digits (and ``keep``)
    kept, every other byte a space. Splitting the result on whitespace then yields exactly the tokens
    of ``_WORD`` when the text has no apostrophe, at C speed."""
    lower = {ord(c): ord(c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    kept = set(b"abcdefghijklmnopqrstuvwxyz0123456789" + keep)
    return bytes(lower.get(b, b if b in kept else ord(" ")) for b in range(256))


_LOWER_WORD = _word_bytes(b"")
_LOWER_WORD_NUL = _word_bytes(b"\x00")  # NUL kept: it separates texts processed together
_NOT_DIGIT_NUL = bytes(b for b in range(1, 256) if not ord("0") <= b <= ord("9"))  # bytes to drop, keeping NUL


@lru_cache(maxsize=_SENTENCE_CACHE // 4)  # word sets are the largest entries: fewer of them
def _words(text: str) -> frozenset[str]:
    if text.isascii() and "'" not in text:
        return frozenset(text.encode().translate(_LOWER_WORD).decode().split()).difference(_STOP)
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


_NUMBER_VALUE = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*(%|percent|k|m|bn|million|billion|thousand|trillion)?$")


@lru_cache(maxsize=_SENTENCE_CACHE)
def _number_value(token: str) -> float | None:
    t = token.lower().replace("$", "").replace(",", "").strip()
    m = _NUMBER_VALUE.match(t)
    if not m:
        return None
    value = float(m.group(1))
    unit = m.group(2)
    if unit in _SCALE:
        value *= _SCALE[unit]
    return value


def _numbers(text: str, skip: list[tuple[int, int]]) -> list[tuple[str, float]]:
    out = []
    for m in (_NUMBER_ASCII if text.isascii() else _NUMBER).finditer(text):
        if skip and any(a <= m.start() < b for a, b in skip):
            continue
        value = _number_value(m.group(0))
        if value is not None:
            out.append((m.group(0).strip(), value))
    return out


def _num_key(value: float) -> str:
    """Equality key for numbers: equal within float noise (``0.3 million`` == ``300,000``)."""
    return f"{value:.12g}"


@lru_cache(maxsize=_SENTENCE_CACHE)
def _sentence_numbers(sentence: str) -> frozenset[float]:
    return frozenset(v for _, v in _numbers(sentence, []))


@lru_cache(maxsize=_SENTENCE_CACHE)
def _token_key(token: str) -> str | None:
    """The equality key of one number token (as :func:`_numbers` reads it)."""
    value = _number_value(token)
    return None if value is None else _num_key(value)


_NUMBER_BATCH = 64  # sources read together when an index is extended


@lru_cache(maxsize=_SENTENCE_CACHE)
def _number_keys(text: str) -> frozenset[str]:
    if not _DIGIT.search(text):
        return frozenset()
    return frozenset(_num_key(v) for _, v in _numbers(text, []))


@dataclass(frozen=True, slots=True)
class _ClaimParse:
    """The checkable parts of one claim sentence (independent of any source)."""

    quotes: tuple[str, ...]
    urls: tuple[str, ...]
    dois: tuple[str, ...]
    refs: tuple[str, ...]
    dates: tuple[str, ...]
    numbers: tuple[tuple[str, float], ...]
    names: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def checked(self) -> list[tuple[str, float]]:
        """Numbers worth checking: 0 and 1 alone ("one of", list markers) are too weak."""
        return [(t, v) for t, v in self.numbers if v not in (0.0, 1.0) or _NUMBER_MARK.search(t)]


_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=_SENTENCE_CACHE)
def _parse_claim(claim: str) -> _ClaimParse:
    has_digit = _DIGIT.search(claim) is not None
    # JSON output (a structured extraction) has quoted keys and values, not quotations.
    json_like = claim.lstrip()[:1] in ("{", "[")
    quotes = tuple(m.group(1).strip() for m in _QUOTE.finditer(claim)) \
        if not json_like and _QUOTE_CHAR.search(claim) else ()
    has_link = "http" in claim.lower()
    urls = tuple(u.rstrip(".,;") for u in _URL.findall(claim)) if has_link else ()
    dois = tuple(_DOI.findall(claim)) if "10." in claim else ()
    refs = tuple(_REF.findall(claim)) if "[" in claim else ()
    numbers: tuple[tuple[str, float], ...] = ()
    dates: tuple[str, ...] = ()
    if has_digit:
        date_matches = list(_DATE.finditer(claim)) if _DATE_HINT.search(claim) else []
        dates = tuple(m.group(0) for m in date_matches)
        skip = [(m.start(), m.end()) for m in date_matches]
        if has_link:
            skip += [(m.start(), m.end()) for m in _URL.finditer(claim)]
        if refs:
            skip += [(m.start(), m.end()) for m in _REF.finditer(claim)]
        if dois:
            skip += [(m.start(), m.end()) for m in _DOI.finditer(claim)]
        numbers = tuple(_numbers(claim, skip))
    names = []
    for m in _NAME.finditer(claim):
        parts = tuple(p for p in _SPACES.split(m.group(0)) if p[:1].isupper())
        if len(parts) >= 2:
            names.append((m.group(0), parts))
    return _ClaimParse(quotes, urls, dois, refs, dates, numbers, tuple(names))


_CITE_MARKS = ('"', "“", "”", "://", "10.", "[")


def _may_cite(claim: str) -> bool:
    """Cheap exact test: without these characters a claim has no quotes, URLs, DOIs or [n] references."""
    return any(mark in claim for mark in _CITE_MARKS)


# --------------------------------------------------------------------------------------------- sources
@dataclass(slots=True)
class _Source:
    """An extra source of one check, prepared on the spot (the run's sources live in a SourceSet)."""

    index: int
    text: str
    lower: str
    sentences: tuple[str, ...]
    sentence_words: tuple[frozenset[str], ...]
    number_keys: frozenset[str]


def _prepare(index: int, text: str) -> _Source:
    sents = _sentences(text) or (text,)
    return _Source(index, text, text.lower(), sents, tuple(_words(s) for s in sents), _number_keys(text))


class SourceSet:
    """Sources in the order they appeared, indexed for the claim checks as far as the checks need.

    A check may use only the first ``limit`` sources (what had been read before a step) plus a few
    extra ones: one set serves every step of a run. Lookups are by index, not by scanning: numbers
    by value, quotes / names / dates / URLs by substring search in one joined lower-cased text, and
    the best matching source sentence through an inverted word index. Each index is built when a
    check first needs it, the number and sentence indexes only as far as the longest prefix asked
    for: checks that need no lookups (see :func:`problem_bound`) cost the sources nothing.
    """

    __slots__ = ("_acronym_at", "_doc_ids", "_elided_at", "_elided_upto", "_ends", "_found_at", "_joined",
                 "_may_contradict_claim", "_number_first", "_numbers_upto", "_postings", "_sent_source",
                 "_sent_start", "_sent_text", "_sent_words", "_size", "_texts", "_vocabulary",
                 "_vocabulary_or_stop_words")

    def __init__(self, texts: Sequence[str], documents: Sequence[bool] | None = None) -> None:
        """``documents`` marks the texts whose sentences may be matched word for word (and so can
        contradict a claim); the others (context) only support facts they contain. Default: all.
        ``texts`` is only read when an index needs it, so it may produce its items lazily."""
        self._texts = texts
        self._size = len(texts)
        self._number_first: dict[str, int] = {}  # number key -> first source carrying it
        self._numbers_upto = 0  # sources in _number_first so far
        self._elided_at: int | None = None  # first source that only reports a count
        self._elided_upto = 0  # sources looked at for that
        self._postings: dict[str, list[int]] = {}
        self._sent_text: list[str] = []
        self._sent_words: list[frozenset[str]] = []
        self._sent_source: list[int] = []
        self._doc_ids = list(range(self._size)) if documents is None else list(compress(range(self._size), documents))
        self._sent_start: list[int] = [0]  # first sentence id of each indexed document, then the total
        self._joined: str | None = None
        self._ends: list[int] = []
        self._found_at: dict[str, int | None] = {}
        self._acronym_at: dict[str, int | None] = {}
        self._vocabulary: frozenset[str] | None = None
        self._vocabulary_or_stop_words: frozenset[str] | None = None
        self._may_contradict_claim: dict[str, bool] = {}

    def __len__(self) -> int:
        return self._size

    def _text(self, i: int) -> str:
        return self._texts[i] or ""

    def _texts_between(self, start: int, stop: int) -> list[str]:
        return [t or "" for t in self._texts[start:stop]]  # one call to the sequence for a whole range

    def has_number(self, key: str, limit: int) -> bool:
        """Whether one of the first ``limit`` sources carries a number with this equality key."""
        at = self._number_first.get(key)
        if at is None and limit > self._numbers_upto:
            at = self._index_numbers(key, limit)
        return at is not None and at < limit

    def _index_numbers(self, key: str, limit: int) -> int | None:
        """Index the numbers of further sources, a batch at a time, until one carrying ``key`` (or
        ``limit``) is reached. A batch is scanned as one NUL-joined text: a number never spans a NUL,
        and a NUL before it is, like a text's start, neither a word character nor a dot."""
        first = self._number_first
        while self._numbers_upto < limit:
            start = self._numbers_upto
            texts = self._texts_between(start, min(limit, start + _NUMBER_BATCH))
            joined = "\x00".join(texts)
            ends = list(accumulate(len(t) + 1 for t in texts))  # just past each text's separator
            for m in (_NUMBER_ASCII if joined.isascii() else _NUMBER).finditer(joined):
                k = _token_key(m.group(0))
                if k is not None:
                    first.setdefault(k, start + bisect_right(ends, m.start()))
            self._numbers_upto = start + len(texts)
            if key in first:
                return first[key]
        return None

    def elided_before(self, limit: int) -> bool:
        """Whether one of the first ``limit`` sources only reports how much it returned."""
        first = self.first_elided(limit)
        return first is not None and first < limit

    def first_elided(self, limit: int) -> int | None:
        """The first source that only reports how much it returned, if one of the first ``limit`` does."""
        while self._elided_at is None and limit > self._elided_upto:  # a batch of sources at a time
            start = self._elided_upto
            texts = self._texts_between(start, min(limit, start + _NUMBER_BATCH))
            self._elided_upto = start + len(texts)
            self._elided_at = next((start + i for i, t in enumerate(texts) if _ELIDED.match(t)), None)
        return self._elided_at

    def _join(self) -> str:
        if self._joined is None:
            lowers = [t.lower() for t in self._texts_between(0, self._size)]
            # ends[i]: offset of the separator after source i
            self._ends = [total + i for i, total in enumerate(accumulate(map(len, lowers)))]
            self._joined = "\x00".join(lowers)
        return self._joined

    def first_containing(self, needle_lower: str) -> int | None:
        """Position of the first source whose lower-cased text contains ``needle_lower``."""
        if needle_lower in self._found_at:
            return self._found_at[needle_lower]
        at = self._join().find(needle_lower)
        pos = bisect_left(self._ends, at) if at >= 0 else None
        self._found_at[needle_lower] = pos
        return pos

    def first_expanding(self, acronym: str) -> int | None:
        """Position of the first source that spells ``acronym`` out ("MAU": "monthly active users")."""
        if acronym not in self._acronym_at:
            letters = acronym.lower()
            pattern = r"\b" + r"[\w']*[\s-]+".join(re.escape(c) for c in letters) + r"\w*"
            m = re.search(pattern, self._join())
            self._acronym_at[acronym] = bisect_left(self._ends, m.start()) if m else None
        return self._acronym_at[acronym]

    def _index_sentences(self, limit: int) -> int:
        """Extend the inverted word index over the sentences of the documents among the first ``limit``
        sources; the number of sentences they have."""
        postings = self._postings
        done = len(self._sent_start) - 1  # documents indexed so far
        doc_ids = self._doc_ids
        upto = bisect_left(doc_ids, limit)  # documents among the first ``limit`` sources
        for i in doc_ids[done:upto]:
            text = self._text(i)
            for sent in _sentences(text) or (text,):
                words = _words(sent)
                sid = len(self._sent_text)
                self._sent_text.append(sent)
                self._sent_words.append(words)
                self._sent_source.append(i)
                for w in words:
                    postings.setdefault(w, []).append(sid)
            self._sent_start.append(len(self._sent_text))
        return self._sent_start[upto]

    def best_sentence(self, words: frozenset[str], limit: int, min_overlap: float,
                      max_candidates: int | None) -> tuple[float, int | None, str | None]:
        """Best word-overlap sentence among the first ``limit`` sources (exact when it reaches
        ``min_overlap``; below that the result may be a lesser sentence)."""
        m = len(words)
        if not m or not limit:
            return 0.0, None, None
        cut = self._index_sentences(min(limit, self._size))
        need = max(1, math.ceil(min_overlap * m - 1e-9))
        # A sentence sharing >= need words shares one of any (m - need + 1) of them: take the rarest.
        lists = []
        for w in words:
            post = self._postings.get(w)
            if post:
                n = bisect_left(post, cut)
                if n:
                    lists.append((n, w, post))
        if not lists:
            return 0.0, None, None
        lists.sort(key=lambda t: (t[0], t[1]))
        # Words found in no sentence count among those (m - need + 1) for free.
        lists = lists[:max(0, m - need + 1 - (m - len(lists)))]
        candidates: set[int] = set()
        for n, _, post in lists:
            candidates.update(post[:n])
        ordered = sorted(candidates)
        if max_candidates is not None and len(ordered) > max_candidates:
            ordered = ordered[-max_candidates:]  # the most recent sources
        best_count, best_sid = 0, -1
        sent_words = self._sent_words
        for sid in ordered:
            c = len(words & sent_words[sid])
            if c > best_count:
                best_count, best_sid = c, sid
        if best_sid < 0:
            return 0.0, None, None
        return best_count / m, self._sent_source[best_sid], self._sent_text[best_sid]

    def contradictable(self, claim: str, limit: int, min_overlap: float, max_candidates: int | None) -> int:
        """Upper bound on how many numbers of ``claim`` the first ``limit`` sources contradict.

        Exact tests, cheapest first. A number is contradicted only by the claim's best document
        sentence, and only when that sentence shares half of the claim's words and carries numbers:
        a claim sharing fewer words with the vocabulary of all documents together is dismissed
        without any index. Otherwise the best sentence is looked up (as the check would, with the
        same ``min_overlap`` and ``max_candidates``) and only numbers the sources lack count.
        """
        if not self.may_contradict_claim(claim):
            return 0
        words = _words(claim)
        checked = _parse_claim(claim).checked
        if not checked:
            return 0
        support, source, sentence = self.best_sentence(words, limit, min_overlap, max_candidates)
        if sentence is None or source is None or support < 0.5 or not _sentence_numbers(sentence):
            return 0
        # The best sentence's own source usually carries the claim's numbers: no need to search for them.
        near = _number_keys(self._text(source))
        return sum(not (k in near or self.has_number(k, limit)) for k in (_num_key(v) for _, v in checked))

    def may_contradict_claim(self, claim: str) -> bool:
        """:meth:`may_contradict` of one claim: the cheap first test of :meth:`contradictable`."""
        found = self._may_contradict_claim.get(claim)
        if found is None:
            found = self.may_contradict([claim])[0]
        return found

    def may_contradict(self, claims: list[str]) -> list[bool]:
        """Whether a document could contradict a number of each claim, judged without any index:
        the claim has a digit, and it shares half of its words with the vocabulary of all documents.

        With V that vocabulary (stop words are never in it), a claim shares half of its words when
        the distinct tokens it has in V are at least as many as those neither in V nor stop words.
        For ASCII text the digits and tokens of all claims are found at once, and the per-claim steps
        are C-level set operations.
        """
        joined = "\x00".join(claims)
        data = joined.encode() if joined.isascii() and "'" not in joined else b""
        digits = list(map(bool, data.translate(None, _NOT_DIGIT_NUL).split(b"\x00"))) if data else []
        if len(digits) == len(claims):  # no claim has a NUL of its own
            tokens: list[Iterable[str]] = list(map(str.split, compress(
                data.translate(_LOWER_WORD_NUL).decode().split("\x00"), digits)))  # as _words finds them
        else:
            digits = [_DIGIT.search(claim) is not None for claim in claims]
            tokens = list(map(_words, compress(claims, digits)))
        shared = map(len, map(self._document_vocabulary().intersection, tokens))
        other = map(len, map(set, map(filterfalse, repeat(self._vocabulary_or_stop().__contains__), tokens)))
        sharing = iter([c > 0 and c >= o for c, o in zip(shared, other, strict=True)])
        found = [has_digit and next(sharing) for has_digit in digits]
        self._may_contradict_claim.update(zip(claims, found, strict=True))
        return found

    def _vocabulary_or_stop(self) -> frozenset[str]:
        if self._vocabulary_or_stop_words is None:
            self._vocabulary_or_stop_words = self._document_vocabulary() | _STOP
        return self._vocabulary_or_stop_words

    def _document_vocabulary(self) -> frozenset[str]:
        """Every word of every document: a superset of the words of any prefix's document sentences."""
        if self._vocabulary is None:
            joined = " ".join(map(self._text, self._doc_ids))
            if joined.isascii() and "'" not in joined:  # all documents' tokens at once, as _words finds them
                words = frozenset(joined.encode().translate(_LOWER_WORD).decode().split())
                self._vocabulary = words.difference(_STOP)
            else:
                self._vocabulary = frozenset().union(*map(_words, map(self._text, self._doc_ids)))
        return self._vocabulary


@dataclass(slots=True)
class _View:
    """The sources one claim check may use: a prefix of a :class:`SourceSet` plus extra sources."""

    base: SourceSet
    limit: int
    extra: list[_Source]
    min_overlap: float
    max_candidates: int | None
    ref_count: int | None = None  # how many sources ``[n]`` references may cite (default: all)

    @property
    def count(self) -> int:
        return self.limit + len(self.extra) if self.ref_count is None else self.ref_count

    @property
    def elided(self) -> bool:
        """Some source only reports how much it returned: the content it stands for is not in the trace."""
        return self.base.elided_before(self.limit) or any(_ELIDED.match(s.text) for s in self.extra)

    def spelled_out(self, acronym: str) -> int | None:
        pos = self.base.first_expanding(acronym)
        if pos is not None and pos < self.limit:
            return pos
        return None

    def found(self, needle: str) -> int | None:
        n = needle.lower()
        pos = self.base.first_containing(n)
        if pos is not None and pos < self.limit:
            return pos
        for i, src in enumerate(self.extra):
            if n in src.lower:
                return self.limit + i
        return None

    def has_number(self, value: float) -> bool:
        key = _num_key(value)
        return self.base.has_number(key, self.limit) or any(key in s.number_keys for s in self.extra)

    def best_sentence(self, words: frozenset[str], min_overlap: float) -> tuple[float, int | None, str | None]:
        best = self.base.best_sentence(words, self.limit, min_overlap, self.max_candidates)
        if not words:
            return best
        for i, src in enumerate(self.extra):
            for sent, sw in zip(src.sentences, src.sentence_words, strict=True):
                if not sw:
                    continue
                overlap = len(words & sw) / len(words)
                if overlap > best[0]:
                    best = (overlap, self.limit + i, sent)
        return best


def _check_claim(claim: str, view: _View) -> ClaimResult:
    parsed = _parse_claim(claim)
    # With a minimum overlap set (detector use), the best sentence is only looked up when a number
    # needs it; otherwise it is part of every claim's result.
    lazy = view.min_overlap > 0
    best: tuple[float, int | None, str | None] | None = None if lazy else view.best_sentence(_words(claim), 0.0)

    def best_match() -> tuple[float, int | None, str | None]:
        nonlocal best
        if best is None:
            best = view.best_sentence(_words(claim), view.min_overlap)
        return best

    facts: list[Fact] = []

    for quote in parsed.quotes:
        src = view.found(quote)
        if src is None:  # tolerate small edits: most of the quote's words in one source sentence
            overlap, qsrc, qsent = view.best_sentence(_words(quote), 0.9)
            if overlap >= 0.9 and qsrc is not None:
                facts.append(Fact("quote", quote, "supported", qsrc, qsent))
            else:
                facts.append(Fact("quote", quote, "unsupported", note="quoted text not found in the sources"))
        else:
            facts.append(Fact("quote", quote, "supported", src))

    for url in parsed.urls:
        ok = view.found(url) is not None
        facts.append(Fact("citation", url, "supported" if ok else "unsupported",
                          note=None if ok else "cited URL does not appear in the sources"))
    for doi in parsed.dois:
        ok = view.found(doi.rstrip(".,;")) is not None
        facts.append(Fact("citation", doi, "supported" if ok else "unsupported"))
    n_sources = view.count
    for ref in parsed.refs:
        ok = 1 <= int(ref) <= n_sources
        facts.append(Fact("citation", f"[{ref}]", "supported" if ok else "unsupported",
                          note=None if ok else f"reference [{ref}] but only {n_sources} sources"))

    for date in parsed.dates:
        src = view.found(date)
        facts.append(Fact("date", date, "supported" if src is not None else "unsupported", src))

    checked = parsed.checked
    known = [v for _, v in checked if view.has_number(v)]
    for token, value in checked:
        if view.has_number(value):
            facts.append(Fact("number", token, "supported"))
        elif _derived(value, known):
            facts.append(Fact("number", token, "supported", note="computed from the other numbers of the claim"))
        else:
            support, best_src, best_sent = best_match()
            if best_sent is not None and support >= 0.5 and _sentence_numbers(best_sent):
                facts.append(Fact("number", token, "contradicted", best_src, best_sent,
                                  note="the closest source sentence gives a different number"))
            else:
                facts.append(Fact("number", token, "unsupported"))

    for name, parts in parsed.names:
        src = view.found(name)
        if src is None and all(view.found(p) is not None or (_ACRONYM.fullmatch(p) and view.spelled_out(p) is not None)
                               for p in parts):
            src = view.found(parts[-1])
            if src is None:
                src = view.spelled_out(parts[-1])
        facts.append(Fact("name", name, "supported" if src is not None else "unsupported", src))

    if view.elided:
        facts = [Fact(f.kind, f.text, "unverifiable", note="the sources only report what they returned; "
                                                             "the content itself is not in the trace")
                 if f.status == "unsupported" and f.kind in ("number", "date", "name") else f for f in facts]

    checkable = [f for f in facts if f.status != "unverifiable"]
    if any(f.status == "contradicted" for f in checkable):
        status: Status = "contradicted"
    elif any(f.status == "unsupported" for f in checkable):
        status = "unsupported"
    elif checkable:
        status = "supported"
    else:
        status = "supported" if best is not None and best[0] >= 0.6 else "unverifiable"
    support, best_src, best_sent = best if best is not None else (0.0, None, None)
    return ClaimResult(claim, status, support, facts, best_src, best_sent)


_DERIVED_TOLERANCE = 0.01  # relative: derived figures are usually rounded ("about 230")


def _derived(value: float, known: list[float]) -> bool:
    """``value`` is a product, quotient, sum, difference or percentage change of two supported
    numbers of the same claim, or their total ("250 USD is about 230 EUR (0.92)")."""
    if len(known) < 2:
        return False

    def close(x: float) -> bool:
        return abs(value - x) <= _DERIVED_TOLERANCE * max(abs(value), 1e-9)

    if close(sum(known)):
        return True
    for i, a in enumerate(known):
        for b in known[i + 1:]:
            candidates = [a * b, a + b, abs(a - b)]
            for x, y in ((a, b), (b, a)):
                if y:
                    candidates += [x / y, 100.0 * x / y, 100.0 * (x - y) / y]
            if any(close(c) for c in candidates):
                return True
    return False


def _report(claims: list[ClaimResult], min_unsupported: int) -> GroundingReport:
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


def check_grounding(output: str, sources: list[str], min_unsupported: int = 1) -> GroundingReport:
    """Claims of ``output`` against ``sources``; ``hallucinated`` when enough facts lack support."""
    return check_against(output, SourceSet(list(sources)), min_unsupported=min_unsupported)


def check_against(output: str, sources: SourceSet, limit: int | None = None, extra: list[str] | None = None,
                  min_unsupported: int = 1, min_overlap: float = 0.0,
                  max_candidates: int | None = None, ref_count: int | None = None) -> GroundingReport:
    """Like :func:`check_grounding`, against the first ``limit`` of ``sources`` plus ``extra`` texts.

    ``min_overlap`` > 0 is for callers that only need the fact verdicts: the best source sentence is
    then looked up only for a number the sources lack, skipping sentences that cannot reach that word
    overlap, and claims carry it only in that case (support 0.0 otherwise). Every fact verdict stays
    exact for ``min_overlap <= 0.5`` (a number is only called contradicted at an overlap of 0.5).
    ``max_candidates`` bounds the sentences compared per claim (the most recent ones are kept);
    ``ref_count`` is how many sources ``[n]`` references may cite when some sources are only context.
    """
    n = len(sources) if limit is None else max(0, min(limit, len(sources)))
    view = _View(sources, n, [_prepare(n + i, t or "") for i, t in enumerate(extra or [])],
                 min_overlap, max_candidates, ref_count)
    claims = [_check_claim(s, view) for s in _sentences(output or "")]
    return _report(claims, min_unsupported)


@dataclass(frozen=True, slots=True)
class ProblemBound:
    """Upper bounds on what :func:`check_against` can find wrong, from cheap exact tests."""

    problems: int  # unsupported + contradicted facts
    findings: int  # contradicted facts + unsupported quotes and citations


_NO_PROBLEMS = ProblemBound(0, 0)


def problem_bound(output: str, sources: SourceSet, limit: int | None = None, min_overlap: float = 0.0,
                  max_candidates: int | None = None, ref_count: int | None = None) -> ProblemBound:
    """Bounds on the counts :func:`check_against` (same arguments) can report for ``output``.

    Only cheap exact tests: quotes, URLs and DOIs count as possibly unsupported, ``[n]`` references
    are judged by number. Dates, names and numbers count as possibly unsupported unless a source
    before ``limit`` only reports a count (which makes them unverifiable instead); numbers count as
    possibly contradicted per :meth:`SourceSet.contradictable` where that is their only way to fail,
    per its cheap first test (:meth:`SourceSet.may_contradict`) otherwise. A caller that needs more
    than a bound allows can skip the check.
    """
    n = len(sources) if limit is None else max(0, min(limit, len(sources)))
    return _bound(_sentences(output or ""), _may_cite(output or ""), sources, n, min_overlap, max_candidates,
                  n if ref_count is None else ref_count)


def problem_bounds(outputs: list[str], sources: SourceSet, limits: list[int], ref_counts: list[int],
                   min_overlap: float = 0.0, max_candidates: int | None = None) -> list[ProblemBound]:
    """:func:`problem_bound` of many outputs against one source set (a run's statements), together.

    In the common case a source before an output only reports a count and the output neither quotes
    nor cites: then only contradicted numbers count, and the first test of every claim is done for
    all claims at once (:meth:`SourceSet.may_contradict`); outputs none of whose claims pass it are
    settled without looking at their claims one by one.
    """
    claims, owners = _sentences_of(outputs)
    look = set(compress(owners, sources.may_contradict(claims)))  # outputs to look at claim by claim
    size = len(sources)
    elided = sources.first_elided(min(max(limits, default=0), size))  # the first such source, if any
    look.update(i for i, limit in enumerate(limits) if elided is None or elided >= min(limit, size))
    citing = _citing(outputs)
    look.update(citing)
    bounds = [_NO_PROBLEMS] * len(outputs)
    for i in sorted(look):
        own = claims[bisect_left(owners, i):bisect_right(owners, i)]  # owners ascend
        bounds[i] = _bound(own, i in citing, sources, max(0, min(limits[i], size)), min_overlap, max_candidates,
                           ref_counts[i])
    return bounds


def _citing(outputs: list[str]) -> set[int]:
    """Positions of the outputs that :func:`_may_cite`, found by substring search in all of them at once."""
    joined = JoinedTexts(outputs)
    found: set[int] = set()
    for needle in _CITE_MARKS:
        found |= joined.containing(needle)
    return found


def _bound(claims: Sequence[str], may_cite: bool, sources: SourceSet, n: int, min_overlap: float,
           max_candidates: int | None, n_refs: int) -> ProblemBound:
    """:func:`problem_bound` of the claims of one output, checked against the first ``n`` sources."""
    if not claims:
        return _NO_PROBLEMS
    elided = sources.elided_before(n)
    problems = findings = 0
    for claim in claims:
        cited = _citation_bound(claim, n_refs) if may_cite else 0
        if elided:  # only contradicted numbers can count besides citations: worth the closer look
            contradicted = sources.contradictable(claim, n, min_overlap, max_candidates)
            problems += cited + contradicted
        else:  # most facts can fail here and the check will likely run anyway: the first test will do
            parsed = _parse_claim(claim)
            problems += cited + len(parsed.checked) + len(parsed.dates) + len(parsed.names)
            contradicted = len(parsed.checked) if sources.may_contradict_claim(claim) else 0
        findings += cited + contradicted
    return ProblemBound(problems, findings) if problems or findings else _NO_PROBLEMS


def _citation_bound(claim: str, n_refs: int) -> int:
    """Quotes, URLs, DOIs and out-of-range ``[n]`` references of a claim: what may be unsupported."""
    if not _may_cite(claim):
        return 0  # the common case, without parsing
    parsed = _parse_claim(claim)
    bad_refs = sum(not 1 <= int(ref) <= n_refs for ref in parsed.refs)
    return len(parsed.quotes) + len(parsed.urls) + len(parsed.dois) + bad_refs


__all__ = ["ClaimResult", "Fact", "GroundingReport", "ProblemBound", "SourceSet", "check_against",
           "check_grounding", "problem_bound", "problem_bounds", "sentences"]
