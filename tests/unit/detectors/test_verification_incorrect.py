"""F14 incorrect verification: a check that passes a result its evidence shows is bad."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import verification_incorrect
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("verification_incorrect")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(verification_incorrect, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(verification_incorrect, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(verification_incorrect, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_pass_over_failing_tool_output_quotes_both() -> None:
    [det] = run_detector(verification_incorrect, _case("vi-pos-tests-failed-claimed-pass").run)
    notes = [e.note for e in det.evidence]
    assert notes == ["failure the check saw", "pass claim"] and det.severity == "high"


def test_failure_rerun_successfully_is_superseded() -> None:
    assert run_detector(verification_incorrect, _case("vi-neg-fixed-then-verified").run) == []


def test_ground_truth_is_used_only_when_known() -> None:
    fx = _case("vi-pos-wrong-answer-double-checked")
    assert run_detector(verification_incorrect, fx.run)
    fx.run.ground_truth = None
    assert run_detector(verification_incorrect, fx.run) == []


def test_negated_pass_is_not_a_claim() -> None:
    steps = [
        {
            "agent": "qa",
            "content": "",
            "kind": "tool",
            "tool_calls": [{"name": "run_tests", "arguments": {}, "result": "2 failed, 9 passed"}],
        },
        {"agent": "qa", "content": "Not approved: two failures in the export suite.", "kind": "llm"},
    ]
    assert run_detector(verification_incorrect, _run(steps)) == []
