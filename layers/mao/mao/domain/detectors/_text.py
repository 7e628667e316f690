"""Cheap, deterministic text helpers shared by the detectors.

Everything here is linear in the text length and capped per text (``MAX_CHARS``), so a detector
that looks at every step of a 10,000-step run stays fast. Per-text results are memoised by the
text itself: the first detector that tokenises a step pays, the others reuse the result.

Similarity is set-based: word shingles compared by Jaccard (symmetric) or containment (how much
of ``a`` is inside ``b``). Shingle hashes are only ever compared within one process, so Python's
per-process string hashing does not make results vary; the exported ``fingerprint`` uses a
stable hash.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import compress, count
from operator import not_

from mao.domain.joined_texts import JoinedTexts, Needs, meets
from mao.domain.models import Evidence, Step

MAX_CHARS = 4000  # work cap per text: longer texts are judged by their first MAX_CHARS characters
QUOTE_CHARS = 300

_WORD = re.compile(r"\w+(?:['.]\w+)*")
_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")

_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just let
me more most my myself no nor not now of off on once only or other our ours ourselves out over own
please same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who whom
why will with would you your yours yourself yourselves ok okay yes sure thanks thank well may might
must shall get got make made use using used one two also need needs like see
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())


_PUNCT_CHARS = "".join(c for c in string.punctuation if c not in "_'")
_PUNCT = str.maketrans({c: " " for c in _PUNCT_CHARS})
_DIGIT_MASK = str.maketrans({c: "#" for c in string.digits})
# The same tables for bytes: on ASCII text ``bytes.translate`` does the work several times faster than
# ``str.translate`` with a dict, with an identical result.
_PUNCT_BYTES = bytes.maketrans(_PUNCT_CHARS.encode(), b" " * len(_PUNCT_CHARS))
_PUNCT_MASK_BYTES = bytes.maketrans((_PUNCT_CHARS + string.digits).encode(),
                                    b" " * len(_PUNCT_CHARS) + b"#" * len(string.digits))


def _punct_to_space(low: str) -> str:
    """``low`` with punctuation (except ``_`` and ``'``) replaced by spaces."""
    if low.isascii():
        return low.encode().translate(_PUNCT_BYTES).decode()
    return low.translate(_PUNCT)


@lru_cache(maxsize=65536)
def lower(text: str) -> str:
    """The lower-cased text, capped at ``MAX_CHARS`` (memoised: every detector reads it)."""
    return text[:MAX_CHARS].lower()


@lru_cache(maxsize=65536)
def word_set(text: str) -> frozenset[str]:
    """Distinct lower-case words (punctuation split off): the cheapest bag of words, C speed."""
    return frozenset(_punct_to_space(lower(text)).split())


def has_any(text: str, triggers: frozenset[str]) -> bool:
    """Whether the text contains any of the trigger words: a cheap gate before a regex."""
    return not word_set(text).isdisjoint(triggers)


def normalize(text: str) -> str:
    """Lower-case, whitespace collapsed, capped at ``MAX_CHARS``."""
    return _SPACE.sub(" ", text[:MAX_CHARS].lower()).strip()


@lru_cache(maxsize=32768)
def tokens(text: str) -> tuple[str, ...]:
    """Word tokens of the (capped, lower-cased) text."""
    return tuple(_WORD.findall(text[:MAX_CHARS].lower()))


@lru_cache(maxsize=65536)
def content_words(text: str) -> frozenset[str]:
    """Distinct words that carry meaning: no stopwords, no one- or two-letter words, no numbers."""
    return frozenset([w for w in word_set(text) - STOPWORDS if len(w) > 2 and not w.isdigit()])


@lru_cache(maxsize=32768)
def shingles(text: str, k: int = 3) -> frozenset[int]:
    """Hashed k-word shingles (numbers masked, so counters and timestamps do not hide a repeat)."""
    # Every run of digits becomes "0" in one pass over the text (a word character, so tokens keep their
    # shape): "page 12" and "page 345" give the same shingle.
    toks = tuple(_WORD.findall(_DIGITS.sub("0", lower(text))))
    if not toks:
        return frozenset()
    if len(toks) <= k:
        return frozenset((hash(toks),))
    return frozenset(hash(toks[i:i + k]) for i in range(len(toks) - k + 1))


_NON_DIGIT_ASCII = bytes(b for b in range(128) if chr(b) not in string.digits)
_NON_DIGIT_BYTES = bytes.maketrans(_NON_DIGIT_ASCII, b" " * len(_NON_DIGIT_ASCII))


@lru_cache(maxsize=65536)
def numbers(text: str) -> tuple[str, ...]:
    """The numbers in the text, in order: a changed count or page number is progress, not a repeat."""
    head = text[:MAX_CHARS]
    if head.isascii():  # the digit runs, found by bytes.translate several times faster than a regex scan
        return tuple(head.encode().translate(_NON_DIGIT_BYTES).decode().split())
    return tuple(_DIGITS.findall(head))


def number_key(text: str) -> str:
    """``numbers(text)`` joined by spaces: two texts have equal keys exactly when their numbers are equal.

    Not cached, and a string (which the garbage collector never tracks): a cheap dictionary key for a
    pass that visits every step once.
    """
    head = text[:MAX_CHARS]
    if head.isascii():
        return " ".join(head.encode().translate(_NON_DIGIT_BYTES).decode().split())
    return " ".join(_DIGITS.findall(head))


def jaccard(a: frozenset | set, b: frozenset | set) -> float:
    if not a and not b:
        return 0.0
    inter = len(a & b) if len(a) <= len(b) else len(b & a)
    return inter / (len(a) + len(b) - inter)


def containment(a: frozenset | set, b: frozenset | set) -> float:
    """Share of ``a`` that is also in ``b`` (0 when ``a`` is empty)."""
    if not a:
        return 0.0
    return len(a & b) / len(a)


def similarity(a: str, b: str, k: int = 3) -> float:
    """Jaccard similarity of the two texts' word shingles."""
    return jaccard(shingles(a, k), shingles(b, k))


@lru_cache(maxsize=65536)
def fingerprint(text: str) -> str:
    """Stable 16-hex fingerprint of the words with numbers masked ("" for text without words)."""
    low = lower(text)
    if low.isascii():
        words = low.encode().translate(_PUNCT_MASK_BYTES).decode().split()
    else:
        words = low.translate(_PUNCT).translate(_DIGIT_MASK).split()
    if not words:
        return ""
    return hashlib.blake2b(" ".join(words).encode(), digest_size=8).hexdigest()


def truncate(text: str, limit: int = QUOTE_CHARS) -> str:
    """One-line quote of at most ``limit`` characters (an ellipsis marks a cut)."""
    flat = _SPACE.sub(" ", text[: limit * 4]).strip()
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def excerpt(text: str, start: int, end: int, limit: int = QUOTE_CHARS) -> str:
    """A quote of ``limit`` characters centred on ``text[start:end]`` (e.g. a regex match)."""
    span = end - start
    if span >= limit:
        return truncate(text[start:end], limit)
    pad = (limit - span) // 2
    lo = max(0, start - pad)
    hi = min(len(text), lo + limit)
    lo = max(0, hi - limit)
    quote = truncate(text[lo:hi], limit)
    prefix = "…" if lo > 0 else ""
    return truncate(prefix + quote, limit)


def tool_signature(step: Step) -> str:
    """Tool calls of a step as ``name(arguments)`` text (arguments capped), "" when none."""
    if not step.tool_calls:
        return ""
    parts = []
    for call in step.tool_calls:
        args = call.arguments if isinstance(call.arguments, str) else repr(call.arguments)
        parts.append(f"{call.name}({args[:500]})")
    return "; ".join(parts)


def step_text(step: Step) -> str:
    """What a step said or did: its content, else its tool calls."""
    if step.content:
        return step.content
    return tool_signature(step)


def is_user(step: Step) -> bool:
    return step.role in ("user", "human")


def word_count(text: str) -> int:
    return len(text.split())


def any_marker(text: str, patterns: Iterable[re.Pattern[str]]) -> re.Match[str] | None:
    """First match of any pattern in the (capped) text, or None."""
    head = text[:MAX_CHARS]
    for pattern in patterns:
        match = pattern.search(head)
        if match:
            return match
    return None


def word_hits(texts: Iterable[str], triggers: frozenset[str]) -> Iterator[int]:
    """Positions (in ``texts``) of the texts that share a word with ``triggers``, lazily.

    ``has_any`` over a sequence of texts with the per-text work in C: a detector skips every step that
    holds none of the words its patterns need before looking at it.
    """
    return compress(count(), map(not_, map(triggers.isdisjoint, map(word_set, texts))))


def fold(text: str) -> str:
    """``text`` lower-cased the way a case-insensitive pattern compares it, character for character.

    A case-insensitive pattern also matches "\u0130" and "\u0131" as "i" and "\u017f" as "s": replacing
    those before lower-casing keeps a needle test exact for any text (``str.lower`` alone would miss such
    a match), and keeps the length ("\u0130" alone lower-cases to two characters), so a position in the
    result is a position in ``text``.
    """
    if text.isascii():
        return text.lower()
    return text.replace("\u0130", "i").replace("\u0131", "i").replace("\u017f", "s").lower()


def folded(text: str) -> str:
    """``fold`` of the capped text (the memoised ``lower`` when the text is ASCII, where the two agree)."""
    return lower(text) if text.isascii() else fold(text[:MAX_CHARS])


def texts_with(texts: list[str], needles: Iterable[str]) -> set[int]:
    """Indices of the texts whose ``fold`` contains one of ``needles``.

    One scan of the joined texts per needle instead of a test per text and needle. Exact for the needles
    of a case-insensitive pattern; for ASCII needles also a superset of the texts whose ``str.lower``
    holds one (folding differs from lower-casing only where "\u0130", "\u0131" or "\u017f" becomes a
    plain ASCII letter, which can add occurrences but never remove one), to be tested exactly after.
    """
    joined = JoinedTexts(texts, fold)
    hits: set[int] = set()
    for needle in needles:
        if needle in joined.text:
            hits |= joined.containing(needle)
    return hits


class GatedPatterns:
    """Case-insensitive patterns tried in order, each only on a text that holds its needs.

    ``first_match`` finds exactly what ``any_marker`` finds with the plain patterns: a pattern whose needs
    the folded text does not hold cannot match it, and the needles of all patterns are looked up once.
    """

    __slots__ = ("needles", "rules")

    def __init__(self, rules: Iterable[tuple[Needs, str]]) -> None:
        self.rules: list[tuple[Needs, re.Pattern[str]]] = [
            (needs, re.compile(pattern, re.IGNORECASE)) for needs, pattern in rules]
        self.needles = tuple(dict.fromkeys(n for needs, _ in self.rules for group in needs for n in group))

    @property
    def patterns(self) -> list[re.Pattern[str]]:
        """The compiled patterns, in order, without their needs."""
        return [pattern for _, pattern in self.rules]

    def first_match(self, text: str) -> re.Match[str] | None:
        """``any_marker(text, self.patterns)``, skipping the patterns whose needs the text does not hold."""
        low = folded(text)
        present = set(compress(self.needles, map(low.__contains__, self.needles)))
        if not present:
            return None
        head = text[:MAX_CHARS]
        for needs, pattern in self.rules:
            if meets(needs, present) and (m := pattern.search(head)):
                return m
        return None


def evidence(step: Step, quote: str | None = None, note: str | None = None) -> Evidence:
    """Evidence pointing at ``step``, quoting ``quote`` (default: what the step said or did)."""
    text = step_text(step) if quote is None else quote
    return Evidence(ref=step.ref, step_index=step.index, quote=truncate(text), note=note)


def made_progress(a: Step, b: Step) -> bool:
    """True only when both steps carry a state and the states differ.

    An empty or absent state says nothing: most spans carry none, so it is never read as "no
    progress" (that reading flags every ordinary planner -> coder -> reviewer cycle as a loop).
    """
    return bool(a.state) and bool(b.state) and a.state != b.state


def step_label(step: Step) -> str:
    """How an explanation names a step: "step 4 (coder)"."""
    return f"step {step.index} ({step.agent})"


def near_duplicate(a: str, b: str, threshold: float) -> bool:
    """Whether two texts say the same thing: equal numbers, and the same words in roughly the same order.

    Cheap tests first: a changed number (a page, batch or count) is progress, not a repeat; equal
    fingerprints are a repeat; word sets whose sizes alone rule out a Jaccard of ``threshold`` are
    not. Only the rare survivors pay for shingles, which tell a reworded repeat (a word inserted or
    dropped) from the same words in another order.
    """
    if numbers(a) != numbers(b):
        return False
    if fingerprint(a) == fingerprint(b):
        return bool(fingerprint(a))
    wa, wb = word_set(a), word_set(b)
    small, big = sorted((len(wa), len(wb)))
    if small < threshold * big or jaccard(wa, wb) < threshold:
        return False
    return similarity(a, b) >= 0.5
