"""The cheap tests in front of the work of the lighter detectors never change what they find.

Each detector skips steps with an exact pre-test (needles every pattern match contains, a trigger word,
a character a check needs). These tests hold each pre-test against the plain check it stands for, on
every message of the detection fixtures and on variants that stress case folding (dotted and dotless i,
long s, the Kelvin sign) and word boundaries.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from mao.domain.detectors import (
    _text,
    _text_extra,
    clarification_failure,
    conversation_reset,
    coordination_deadlock,
    history_loss,
    loop,
    retrieval_quality,
    role_violation,
    termination_unaware,
)
from mao.domain.models import Step, ToolCall
from mao.eval.fixtures import iter_fixture_file

FIXTURE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "detection"

PHRASES = [
    "I'll assume CSV is fine.", "Assuming the user wants JSON, I went ahead.", "since you didn't specify the format",
    "The format was not specified, so I'll use CSV.", "Without more details I'll pick the default.",
    "In the absence of details we go on.", "I'll go with a reasonable default.",
    "Unclear which region, so I'll use eu.",
    "Let's start over.", "Starting from scratch.", "Restarting the task now.", "New conversation started.",
    "Hello! How can I help you today?", "I don't have access to the previous messages.",
    "Could you remind me what the task is?", "What was the original task?", "We haven't discussed that yet.",
    "There is no previous context.", "What would you like me to do?", "Please provide the task.",
    "I don't recall any details.", "TERMINATE", "The task is complete.", "Final answer: 42", "We're all done.",
    "Goal achieved.", "No further action is needed.", "This completes the task.", "I approve this change.",
    "LGTM", "Looks good to me, ready to merge.", "No further review needed.", "I'm still waiting on the coder.",
    "Blocked on DataAgent until the schema lands.", "I cannot proceed until you send it.",
    "I need your schema before I can start.", "Once the coder sends the file I'll continue.",
    "This depends on the reviewer's approval.", "Pending approval from the planner.",
    "'waiting for the reviewer'", "x'blocked on coder", "—waiting for you", "can't continue until then",
    "no results found", "0 documents", "nothing found", "[ ]", "{}", "none", " null ", "empty result set",
    "the latest 2024 numbers", "deprecated since 2019", "report for 2021", "go", "state", "given", "",
    "I dont recall any of it.", "We cant see the earlier turns.", "we havent agreed on the plan",
    "I cannot find the prior context", "What is your original question ?", "i'm done", "We are ALL done.",
    "The objective is met.", "That concludes our work.", "I'll choose a sensible default.",
    "Since it wasn't specified in the brief, I'll say CSV.", "Without any context we'll guess.",
]


def _variants(text: str) -> list[str]:
    return [text, text.upper(), text.swapcase(), text.replace("i", "\u0131"), text.replace("I", "\u0130"),
            text.replace("s", "\u017f"), text.replace("k", "\u212a"), text.replace("i", "\u0130")]


def _fixture_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(FIXTURE_DIR.glob("*.jsonl")):
        for fx in iter_fixture_file(path):
            texts += [s.content for s in fx.run.steps]
            texts += [repr(c.arguments) for s in fx.run.steps for c in s.tool_calls]
    return texts


TEXTS = sorted({v for t in PHRASES + _fixture_texts() for v in _variants(t)})


def _span(m: re.Match[str] | None) -> tuple[int, int, str] | None:
    return None if m is None else (m.start(), m.end(), m.re.pattern)


GATED: list[_text.GatedPatterns] = [
    clarification_failure._ASSUME, conversation_reset._RESTART, history_loss._AMNESIA, termination_unaware._DONE,
]


@pytest.mark.parametrize("gated", GATED, ids=["assume", "restart", "amnesia", "done"])
def test_needle_gated_markers_find_what_the_plain_patterns_find(gated: _text.GatedPatterns) -> None:
    plain = gated.patterns
    for text in TEXTS:
        assert _span(gated.first_match(text)) == _span(_text.any_marker(text, plain)), text


def test_completion_marker_is_the_plain_one_behind_the_trigger_words() -> None:
    plain = termination_unaware._DONE.patterns
    for text in TEXTS:
        expected = (_text.any_marker(text, plain)
                    if text and _text.has_any(text, termination_unaware._DONE_TRIGGERS) else None)
        assert _span(termination_unaware._completion(text)) == _span(expected), text


def test_every_self_approval_holds_an_approval_needle() -> None:
    for text in TEXTS:
        if role_violation._SELF_APPROVAL.search(text[: _text.MAX_CHARS]):
            low = _text.fold(text)
            assert any(n in low for n in role_violation._APPROVAL_NEEDLES), text


def test_texts_with_finds_every_text_that_holds_a_needle() -> None:
    rng = random.Random(7)
    for _ in range(200):
        texts = rng.sample(TEXTS, 12)
        found = _text.texts_with(texts, role_violation._APPROVAL_NEEDLES)
        for k, text in enumerate(texts):
            assert (k in found) == any(n in _text.fold(text) for n in role_violation._APPROVAL_NEEDLES)
        waits = _text.texts_with(texts, coordination_deadlock._WAIT_SCAN)
        for k, text in enumerate(texts):
            if any(g in _text_extra.lower(text) for g in coordination_deadlock._WAIT_GATE):
                assert k in waits, text


def test_a_wait_in_a_sentence_is_a_wait_in_the_whole_message() -> None:
    for text in TEXTS:
        if any(coordination_deadlock._WAIT.search(s.lower()) for s in _text_extra.sentences(text)):
            assert coordination_deadlock._WAIT.search(_text_extra.lower(text)), text


def test_hinted_steps_cover_every_placeholder_call() -> None:
    args: list[object] = [t for t in TEXTS if t] + [{"key": t} for t in TEXTS[:200]] + [[t] for t in TEXTS[200:300]]
    steps = [Step(index=i, agent="a", content="", ref=f"s{i}", tool_calls=[ToolCall(name="tool", arguments=a)])
             for i, a in enumerate(args)]
    hinted = clarification_failure._hinted_steps(steps)
    for step in steps:
        if clarification_failure._placeholder_call(step) is not None:
            assert step.index in hinted, step.tool_calls[0].arguments


def test_empty_result_pre_test_never_misses_an_empty_result() -> None:
    for text in [*TEXTS, "", "  \n", "[  ]", "{\n}", "''", '""', "NONE", "Null\n"]:
        low = _text_extra.lower(text)
        if retrieval_quality._EMPTY.search(low):
            assert retrieval_quality._maybe_empty(low), text


def _plain_streaks(flags: list[bool], min_len: int, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) of every maximal run of true flags at least ``min_len`` long, shifted by ``offset``."""
    found, start = [], None
    for k, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            if k - start >= min_len:
                found.append((offset + start, offset + k))
            start = None
    return found


@pytest.mark.parametrize("n_agents", [3, 300])
def test_agent_runs_are_the_stretches_of_equal_agents(n_agents: int) -> None:
    rng = random.Random(n_agents)
    agents = [f"agent{rng.randrange(n_agents) if rng.random() < 0.3 else 0}" for _ in range(400)]
    runs = loop._AgentRuns(agents)
    for period in (1, 2, 3, 5):
        same = [agents[i] == agents[i - period] for i in range(period, len(agents))]
        for min_len in (1, 2, 4):
            assert list(runs(period, min_len)) == _plain_streaks(same, min_len, offset=period)


def test_streaks_are_the_long_maximal_runs() -> None:
    rng = random.Random(3)
    for _ in range(300):
        flags = [rng.random() < 0.7 for _ in range(rng.randrange(0, 40))]
        min_len = rng.randrange(1, 6)
        assert list(loop._streaks(0, len(flags), min_len, flags.__getitem__)) == _plain_streaks(flags, min_len)
