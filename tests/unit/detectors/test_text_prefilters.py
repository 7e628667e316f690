"""Exact pre-tests and fast tokenisers of the text detectors: they never change what the plain code finds.

Each check compares a fast path with the plain regex or loop it stands for, on seeded random texts built
from the phrases the patterns look for, mixed with punctuation, apostrophes, underscores, control and
non-ASCII characters (where the fast paths differ from the plain ones if they are wrong).
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from collections.abc import Callable

import pytest

from mao.domain.detectors import (
    _text,
    _text_extra,
    ignored_input,
    persona_drift,
    reasoning_action_mismatch,
    task_derailment,
    verification_incorrect,
    verification_missing,
)

PHRASES = [
    "you should use", "you forgot", "you have to", "should be removed", "must not change", "needs to handle",
    "instead of", "don't", "dont", "do not", "make sure", "be sure to", "change it to", "renamed", "replace",
    "switch to", "is wrong", "was missing", "please fix", "use", "set", "fix", "all tests pass", "tests passed",
    "verified", "lgtm", "approved", "looks good", "checks out", "works as expected", "no issues found",
    "matches the expected", "is correct", "i will", "i'll", "i won't", "let me", "next, i", "now i", "we'll",
    "i plan to", "the next step is to", "skip the tests", "no need to test", "without testing", "assuming it works",
    "we can verify it later", "didn't run", "have not tested", "trusting the output", "on a side note", "off-topic",
    "let's switch topics", "speaking of which", "unrelated to the task", "because", "good point", "you're right",
    "as requested", "per your", "intentionally", "failed:", "3 tests failed", "traceback", "exit code 2", "error",
    "0 errors", "no errors", "errors: 0", "warnings=[]", "error handling", "http 503", "status code 404", "not found",
    "timed out", "vulnerability", "expected 3 got 4", "final answer", "final answer: 42", "el que", "la", "as", "per",
    "main.py", "config/prod.yaml", "`code`", '"quoted"', "'single'", "snake_case", "camelCase", "12.5%", "/usr/bin",
    "Ana", "Coder", "web surfer", "websurfer", "planner",
]
# Non-ASCII: accented and sharp letters, dotted capital I, capital sigma (lower-cases by context), an
# Arabic-Indic digit, curly quotes, a line separator and a no-break space.
NOISE = (string.ascii_letters + string.digits + " .,;:!?'\"-_/()[]{}=`\n\t\x01\x1c\x7f"
         "\xe9\xc9\xdf\u0130\u03a3\u0663\u201c\u201d\u2028\xa0")


def _texts(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rnd.randint(0, 8)):
            if rnd.random() < 0.5:
                phrase = rnd.choice(PHRASES)
                parts.append(phrase.upper() if rnd.random() < 0.1 else phrase)
            else:
                parts.append("".join(rnd.choice(NOISE) for _ in range(rnd.randint(0, 5))))
        text = "".join(parts)
        out.append(text.encode("ascii", "ignore").decode() if rnd.random() < 0.5 else text)
    return out


TEXTS = _texts(4000, seed=7)


def _plain_word_set(text: str) -> frozenset[str]:
    return frozenset(text[:_text.MAX_CHARS].lower().translate(_text._PUNCT).split())


def _plain_fingerprint(text: str) -> str:
    words = text[:_text.MAX_CHARS].lower().translate(_text._PUNCT).translate(_text._DIGIT_MASK).split()
    return hashlib.blake2b(" ".join(words).encode(), digest_size=8).hexdigest() if words else ""


_PLAIN_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _plain_agent_mentions(low: str, agents: tuple[str, ...]) -> dict[str, int]:
    owner: dict[str, str] = {}
    for agent in agents:
        for alias in _text_extra.name_aliases(agent):
            owner.setdefault(alias, agent)
    if not owner:
        return {}
    alternation = "|".join(re.escape(a) for a in sorted(owner, key=len, reverse=True))
    found: dict[str, int] = {}
    for m in re.finditer(rf"(?<![\w])(?:{alternation})(?![\w])", low):
        found.setdefault(owner[m.group(0)], m.start())
    return found


def _plain_specific_tokens(text: str, limit: int = 12) -> list[str]:
    """The tokens the full ``_SPECIFIC`` pattern finds: the reduced per-text patterns must find the same."""
    return list(_text_extra._tokens_matched(_text_extra._SPECIFIC, text[:_text_extra.MAX_CHARS], limit))


def _plain_failure_span(text: str) -> tuple[int, int] | None:
    low = _text_extra.lower(text)
    if not any(g in low for g in _text_extra._FAILURE_GATE):
        return None
    m = _text_extra._FAILURE.search(_text_extra._ZERO_COUNT.sub(lambda z: " " * len(z.group(0)), low))
    return m.span() if m else None


FAST_AND_PLAIN: list[tuple[str, Callable[[str], object], Callable[[str], object]]] = [
    ("word_set", _text.word_set, _plain_word_set),
    ("fingerprint", _text.fingerprint, _plain_fingerprint),
    ("numbers", _text.numbers, lambda t: tuple(re.findall(r"\d+", t[:_text.MAX_CHARS]))),
    ("number_key", _text.number_key, lambda t: " ".join(re.findall(r"\d+", t[:_text.MAX_CHARS]))),
    ("words", _text_extra.words, lambda t: tuple(_text_extra._WORD.findall(_text_extra.lower(t)))),
    ("word_runs", _text_extra.word_runs, lambda t: frozenset(re.findall(r"\w+", _text_extra.lower(t)))),
    ("sentences", _text_extra.sentences,
     lambda t: [s.strip() for s in _PLAIN_SENTENCE.split(t[:_text_extra.MAX_CHARS]) if s.strip()]),
    ("specific_tokens", _text_extra.specific_tokens, _plain_specific_tokens),
    ("failure_match", lambda t: (m := _text_extra.failure_match(t)) and m.span(), _plain_failure_span),
]


@pytest.mark.parametrize("name,fast,plain", FAST_AND_PLAIN, ids=[f[0] for f in FAST_AND_PLAIN])
def test_fast_helpers_return_what_the_plain_code_returns(
    name: str, fast: Callable[[str], object], plain: Callable[[str], object]
) -> None:
    for text in TEXTS:
        assert fast(text) == plain(text), (name, text)


def test_agent_mentions_find_the_same_first_positions_as_the_plain_pattern() -> None:
    rnd = random.Random(3)
    pool = ["planner", "Coder", "WebSurfer", "re-viewer", "a_b", "Ana", "code", "@bot"]
    for text in TEXTS:
        agents = tuple(rnd.sample(pool, rnd.randint(0, 4)))
        low = text.lower()
        assert _text_extra.agent_mentions(low, agents) == _plain_agent_mentions(low, agents), (text, agents)


def test_substring_pattern_finds_exactly_the_texts_holding_a_needle() -> None:
    needles = ("add ", "again", "as i said", "a", "fix", "fixed", " 40", "do not")
    pattern = _text_extra.substring_pattern(needles)
    for text in TEXTS:
        assert (pattern.search(text) is not None) == any(n in text for n in needles), text


# (name, pattern found in the lower-cased text, pre-test that must hold whenever it is found)
PreTest = tuple[str, Callable[[str, str], bool], Callable[[str, str], bool]]


def _needs_word(name: str, pattern: re.Pattern[str], words: frozenset[str]) -> PreTest:
    """A pattern searched in the lower-cased text, gated on one of ``words`` being a whole word of it."""
    return (name, lambda t, low: bool(pattern.search(low)), lambda t, low: _text_extra.any_word(t, words))


def _needs_part(name: str, pattern: re.Pattern[str], parts: tuple[str, ...]) -> PreTest:
    """A pattern searched in the lower-cased text, gated on one of ``parts`` occurring in it."""
    return (name, lambda t, low: bool(pattern.search(low)), lambda t, low: any(p in low for p in parts))


PRE_TESTS: list[PreTest] = [
    ("correction", lambda t, low: bool(ignored_input._CORRECTION.search(low)),
     lambda t, low: _text_extra.any_word(t, ignored_input._CORRECTION_WORDS)
     or any(p in low for p in ignored_input._CORRECTION_PARTS)),
    ("order", lambda t, low: ignored_input._imperative_anywhere(low),
     lambda t, low: _text_extra.any_word(t, ignored_input._ORDER_WORDS)),
    _needs_word("pushback", ignored_input._PUSHBACK, ignored_input._PUSHBACK_WORDS),
    _needs_word("pass claim", verification_incorrect._PASS, verification_incorrect._PASS_WORDS),
    _needs_part("own failure", verification_incorrect._OWN_FAILURE, verification_incorrect._OWN_FAILURE_PARTS),
    _needs_part("expected/got", verification_incorrect._EXPECTED, ("expected",)),
    _needs_word("intent", reasoning_action_mismatch._INTENT, reasoning_action_mismatch._INTENT_WORDS),
    _needs_word("skipped check", verification_missing._SKIP, verification_missing._SKIP_WORDS),
    _needs_part("figure answer", verification_missing._FIGURE_ANSWER, ("final answer",)),
    ("topic switch", lambda t, low: bool(task_derailment._SWITCH.search(t[:_text.MAX_CHARS])),
     lambda t, low: task_derailment._may_switch(t)),
    _needs_part("zero counts", _text_extra._ZERO_COUNT, _text_extra._ZERO_COUNT_PARTS),
]


@pytest.mark.parametrize("name,found,pre_test", PRE_TESTS, ids=[p[0] for p in PRE_TESTS])
def test_pre_tests_pass_every_text_the_pattern_matches(
    name: str, found: Callable[[str, str], bool], pre_test: Callable[[str, str], bool]
) -> None:
    hits = 0
    for text in TEXTS:
        low = _text_extra.lower(text)
        if found(text, low):
            hits += 1
            assert pre_test(text, low), (name, text)
    assert hits >= 20, f"{name}: the sample should exercise the pattern"


def test_base_language_pre_test_only_skips_messages_scored_as_the_base_language_or_none() -> None:
    rnd = random.Random(5)
    vocab = [*sorted(persona_drift._ANY_LANG_WORD), "hello", "world", "x_y", "don't", "na\xefve"]
    texts = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(3, 14))) + rnd.choice(["", ".", "_", "é"])
             for _ in range(3000)]
    for base, others in persona_drift._OTHER_LANG_WORDS.items():
        for text in texts:
            if persona_drift._only_base_language(text, others):
                assert persona_drift._language(text)[0] in (base, None), (base, text)


def test_a_jaccard_of_one_half_needs_half_of_the_terms_in_the_text() -> None:
    rnd = random.Random(9)
    words = ["tests", "testing", "parser", "parse", "invoice", "totals", "the", "x", "config", "configured"]
    for _ in range(3000):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 8)))
        terms = _text_extra.content_terms(" ".join(rnd.choice(words) for _ in range(rnd.randint(0, 5))))
        if _text_extra.jaccard(_text_extra.content_terms(text), terms) >= 0.5:
            assert ignored_input._may_overlap_half(text, terms), (text, terms)
