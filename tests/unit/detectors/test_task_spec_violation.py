"""F1 disobey task specification: stated limits, formats, languages and bans are checked."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import task_spec_violation
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("task_spec_violation")


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_failures(fx) -> None:
    found = run_detector(task_spec_violation, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(task_spec_violation, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(task_spec_violation, fx.run) == []


def _answer(task: str, answer: str) -> list:
    run = run_from_fixture({"id": "t", "label": 0, "task": task,
                            "steps": [{"agent": "writer", "content": answer}]})
    return run_detector(task_spec_violation, run)


def test_word_limit_respects_the_tolerance() -> None:
    words = " ".join(["word"] * 54)
    assert _answer("Describe it in at most 50 words.", words) == []  # within 10%
    [det] = _answer("Describe it in at most 40 words.", words)
    assert det.details["constraint"] == "word_limit" and det.details["found"] == "54 words"
    assert "writer" in det.explanation and "step 0" in det.explanation


def test_json_answer_must_parse() -> None:
    assert _answer("Return the result as JSON.", '{"ok": true}') == []
    [det] = _answer("Return the result as JSON.", "{'ok': True}")
    assert det.details["constraint"] == "format_json"


def test_forbidden_term_is_matched_as_a_word() -> None:
    assert _answer('Write a slogan. Do not use the word "fast".', "Breakfast delivered with care.") == []
    assert _answer('Write a slogan. Do not use the word "fast".', "Fast food, faster smiles.")


def test_the_reply_to_each_user_message_is_checked() -> None:
    run = run_from_fixture({"id": "u", "label": 1, "task": None, "steps": [
        {"agent": "user", "content": "What is DNS?"},
        {"agent": "assistant", "content": "DNS maps names to IP addresses."},
        {"agent": "user", "content": "Now answer in German, please: what is a CDN?"},
        {"agent": "assistant", "content": "A CDN is a network of servers that caches content close to the users "
                                          "who request it."}]})
    [det] = run_detector(task_spec_violation, run)
    assert det.details["constraint"] == "language" and det.evidence[0].step_index == 3
