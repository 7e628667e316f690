"""The cheap gates and prefilters in front of detector regexes never change what the regexes find."""

from __future__ import annotations

import re

import pytest

from mao.domain.detectors import _text, _text_extra, ignored_input, persona_drift, verification_incorrect
from mao.domain.models import Run, Step, ToolCall

SAMPLES = [
    "Dude's code lol.", "bro-code is fine", "this is chill!", "nothing informal here at all",
    "Great!! done", "hahaha ok", "so kinda_ok", "awesome.sauce", "Thanks \U0001F600", "yep, gonna do it",
    "lol.com whatever", "You should use UTC instead of local time.", "The totals are wrong, please fix them.",
    "As I said before, you still have not renamed it.", "For the third time: add the test.",
    "I kept it on purpose because the API needs it.", "Good point, you're right.", "Once again nothing.",
    "This still lacks tests.", "It still returns None.", "Agreed - done.", "do not change the schema",
    "Make sure to validate input.", "Rename foo to bar.", "what a nice day", "",
]

LOOKAHEADS = [
    (ignored_input._CORRECTION, "(?=[abcdimnprswy])"),
    (ignored_input._PUSHBACK, "(?=[abcdghiknopuwy])"),
    (ignored_input._REPEAT, "(?=[afiosty])"),
]


@pytest.mark.parametrize("fast,lookahead", LOOKAHEADS)
def test_first_letter_lookaheads_match_exactly_where_the_plain_patterns_do(
    fast: re.Pattern[str], lookahead: str
) -> None:
    assert lookahead in fast.pattern
    plain = re.compile(fast.pattern.replace(lookahead, ""))
    for text in SAMPLES:
        low = text.lower()
        assert [m.span() for m in fast.finditer(low)] == [m.span() for m in plain.finditer(low)], text


def test_repeat_gate_keeps_every_repeated_request() -> None:
    for text in SAMPLES:
        expected = ignored_input._REPEAT.search(text.lower()) is not None
        assert ignored_input._repeats(text) is expected, text


def test_informal_gate_counts_what_the_slang_pattern_counts() -> None:
    for text in SAMPLES:
        assert persona_drift._informal_count(text) == len(persona_drift._INFORMAL.findall(text.lower())), text


def test_language_scores_are_those_of_a_plain_word_count() -> None:
    def plain(text: str) -> tuple[str | None, float]:
        ws = _text_extra.words(text)
        if len(ws) < 6:
            return None, 0.0
        scores = {lang: sum(1 for w in ws if w in vocab) for lang, vocab in persona_drift._LANG_WORDS.items()}
        best = max(scores, key=lambda k: scores[k])
        total = sum(scores.values())
        return (None, 0.0) if scores[best] < 3 or total == 0 else (best, scores[best] / total)

    texts = ["El cliente es muy importante para la empresa y para que todo vaya bien con la factura",
             "The report is ready and you can see that the totals are what we have for this week",
             "Le client est important pour nous et vous avez une question mais pas de réponse",
             "short text"]
    for text in texts:
        assert persona_drift._language(text) == plain(text), text


def test_words_never_end_in_a_dot_or_quote() -> None:
    assert _text_extra.words("It's main.py, e.g. 'quoted' v1.2. foo-bar.") == (
        "it's", "main.py", "e.g", "quoted", "v1.2", "foo-bar")


def test_shingles_ignore_changed_numbers_but_not_changed_words() -> None:
    assert _text.shingles("fetched page 12 of the results now") == _text.shingles("fetched page 345 of the results now")
    assert _text.shingles("fetched page 12 of the results now") != _text.shingles("fetched row 12 of the results now")


def test_tool_failures_look_back_only_over_the_configured_number_of_tool_steps() -> None:
    def tool(i: int, error: str | None) -> Step:
        return Step(index=i, agent="runner", content="", ref=f"s{i}", kind="tool", status="error" if error else "ok",
                    tool_calls=[ToolCall(name=f"t{i}", result=None if error else "ok", error=error)])

    steps = [tool(0, "exit code 1"), tool(1, None), tool(2, None), tool(3, None)]
    claim = Step(index=4, agent="coder", content="All tests pass.", ref="s4")
    run = Run(run_id="r", kind="trace", steps=[*steps, claim])
    assert verification_incorrect._tool_failures(run, claim, lookback=3) == []
    found = verification_incorrect._tool_failures(run, claim, lookback=4)
    assert [owner.index for owner, _ in found] == [0]
