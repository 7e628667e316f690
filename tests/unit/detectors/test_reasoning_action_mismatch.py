"""F11 reasoning-action mismatch: the stated plan and the action taken disagree."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import reasoning_action_mismatch
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("reasoning_action_mismatch")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(reasoning_action_mismatch, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(reasoning_action_mismatch, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(reasoning_action_mismatch, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_negated_intent_followed_by_the_ruled_out_call() -> None:
    [det] = run_detector(reasoning_action_mismatch, _case("ram-pos-ruled-out-delete").run)
    assert "delete_records" in det.explanation and det.confidence >= 0.8


def test_conclusion_and_final_answer_disagree() -> None:
    [det] = run_detector(reasoning_action_mismatch, _case("ram-pos-answer-contradicts-reasoning").run)
    assert "42" in det.explanation and "24" in det.explanation
    assert all(e.ref == "turn:1" for e in det.evidence)


def test_tools_are_learned_from_the_run_not_a_fixed_list() -> None:
    steps = [
        {
            "agent": "bot",
            "kind": "llm",
            "content": "I'll call frobnicate_v2 on the batch.",
            "tool_calls": [{"name": "defrobnicate", "arguments": {"batch": 7}, "result": "ok"}],
        },
        {
            "agent": "bot",
            "kind": "llm",
            "content": "Done.",
            "tool_calls": [{"name": "frobnicate_v2", "arguments": {"batch": 8}, "result": "ok"}],
        },
    ]
    [det] = run_detector(reasoning_action_mismatch, _run(steps))
    assert "frobnicate_v2" in det.explanation and "defrobnicate" in det.explanation


def test_action_window_threshold_limits_where_actions_are_looked_for() -> None:
    run = _case("ram-pos-tests-announced-deploy-called").run
    assert run_detector(reasoning_action_mismatch, run)
    assert run_detector(reasoning_action_mismatch, run, min_confidence=0.95) == []
