"""F8 task derailment: the run drifts to another topic and ends there, or switches explicitly."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import task_derailment
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("task_derailment")


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_failures(fx) -> None:
    found = run_detector(task_derailment, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(task_derailment, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(task_derailment, fx.run) == []


def test_off_topic_tail_is_located() -> None:
    [det] = run_detector(task_derailment, _case("derail-pos-vacation-chat").run)
    assert det.details["signal"] == "ends_off_topic"
    assert det.details["off_topic_steps"] == [3, 4, 5]


def test_no_task_means_no_judgement() -> None:
    run = run_from_fixture({"id": "n", "label": 0, "task": None, "steps": [
        {"agent": "a", "content": "Let's talk about holidays in Crete and the food in Chania's tavernas."}] * 4})
    assert run_detector(task_derailment, run) == []


def test_a_user_redirect_widens_the_task() -> None:
    assert run_detector(task_derailment, _case("derail-neg-user-redirects").run) == []
