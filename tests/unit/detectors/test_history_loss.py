"""F4 loss of conversation history: amnesia statements and re-asked questions."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import history_loss
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("history_loss")


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_failures(fx) -> None:
    found = run_detector(history_loss, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(history_loss, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(history_loss, fx.run) == []


def test_amnesia_needs_prior_work() -> None:
    opening = run_from_fixture({"id": "o", "label": 0, "steps": [
        {"agent": "assistant", "content": "I don't have any previous context. What would you like me to do?"}]})
    assert run_detector(history_loss, opening) == []


def test_reask_points_at_both_questions() -> None:
    [det] = run_detector(history_loss, _case("hist-pos-reask-answered").run)
    assert det.details["signal"] == "reask" and det.details["first_asked"] == 0
    assert [e.step_index for e in det.evidence] == [0, 4]
    assert "travel_agent" in det.explanation
