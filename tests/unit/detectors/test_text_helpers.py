"""The shared text helpers: similarity, fingerprints and quotes behave as detectors rely on."""

from __future__ import annotations

from mao.domain.detectors import _text
from mao.domain.models import Step, ToolCall


def test_near_identical_texts_are_similar_and_different_texts_are_not() -> None:
    a = "Running the test suite again: 3 failures in test_parser.py, retrying with the same command."
    b = "Running the test suite again: 4 failures in test_parser.py, retrying with the same command."
    c = "The reviewer approved the pull request after the parser tests passed on CI."
    assert _text.similarity(a, b) == 1.0  # numbers are masked
    assert _text.similarity(a, c) < 0.1


def test_jaccard_and_containment() -> None:
    small, big = frozenset({1, 2}), frozenset({1, 2, 3, 4})
    assert _text.jaccard(small, big) == 0.5
    assert _text.containment(small, big) == 1.0
    assert _text.containment(big, small) == 0.5
    assert _text.containment(frozenset(), big) == 0.0
    assert _text.jaccard(frozenset(), frozenset()) == 0.0


def test_fingerprint_is_stable_ignores_case_spacing_and_numbers() -> None:
    assert _text.fingerprint("Retry  #3 FAILED") == _text.fingerprint("retry #4 failed")
    assert _text.fingerprint("retry failed") != _text.fingerprint("retry succeeded")
    assert _text.fingerprint("") == ""
    assert len(_text.fingerprint("hello world")) == 16


def test_content_words_drop_stopwords_short_tokens_and_numbers() -> None:
    assert _text.content_words("The parser is broken on line 42 of the file") == frozenset(
        {"parser", "broken", "line", "file"})


def test_quotes_are_one_line_and_capped() -> None:
    text = "line one\nline two " + "x" * 1000
    quote = _text.truncate(text, 50)
    assert len(quote) == 50 and "\n" not in quote and quote.endswith("…")
    assert _text.truncate("short") == "short"
    long = "a" * 400 + "NEEDLE" + "b" * 400
    q = _text.excerpt(long, 400, 406, 60)
    assert "NEEDLE" in q and len(q) <= 60


def test_work_is_capped_for_huge_texts() -> None:
    huge = "word " * 100_000
    assert len(_text.tokens(huge)) <= _text.MAX_CHARS // 2


def test_step_text_falls_back_to_tool_calls() -> None:
    step = Step(index=0, agent="a", content="", ref="s1",
                tool_calls=[ToolCall(name="search", arguments={"q": "weather"})])
    assert _text.step_text(step) == "search({'q': 'weather'})"
