"""F7 fail to ask for clarification: proceeding on assumed or placeholder input."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import clarification_failure
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("clarification_failure")


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_failures(fx) -> None:
    found = run_detector(clarification_failure, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(clarification_failure, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(clarification_failure, fx.run) == []


def test_assumption_with_a_question_is_asking() -> None:
    run = run_from_fixture({"id": "q", "label": 0, "steps": [
        {"agent": "user", "content": "Export the data."},
        {"agent": "assistant", "content": "I'll assume CSV is fine - or would you prefer Excel?"}]})
    assert run_detector(clarification_failure, run) == []


def test_placeholder_argument_is_quoted() -> None:
    [det] = run_detector(clarification_failure, _case("clar-pos-placeholder-key").run)
    assert det.details["signal"] == "placeholder_argument"
    assert "YOUR_API_KEY" in det.evidence[0].quote and "send_email" in det.explanation
