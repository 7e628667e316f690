"""F3 step repetition: an agent redoing a step it already did, anywhere in the run."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import step_repetition
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("step_repetition")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_repetition(fx) -> None:
    [det] = run_detector(step_repetition, fx.run)
    check_detection_shape(step_repetition, fx.run, det)
    assert det.f_code == "F3"


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(step_repetition, fx.run) == []


def test_explanation_names_the_agent_and_the_repeated_step() -> None:
    fx = next(f for f in CASES if f.id == "rep-pos-writer-resends-draft")
    [det] = run_detector(step_repetition, fx.run)
    assert "writer" in det.explanation and "step 0" in det.explanation
    assert det.details["steps"] == [2, 4]
    assert [e.step_index for e in det.evidence] == [0, 2, 4]


def test_non_adjacent_repeat_beyond_the_window_is_not_counted() -> None:
    msg = "Please re-run the nightly export job for the finance warehouse tables."
    filler = [{"agent": "ops", "content": f"Checked item {w} of the runbook: {w} looks fine."}
              for w in ("alpha", "bravo", "charlie", "delta")]
    run = run_from_fixture({"id": "w", "label": 0, "steps": [{"agent": "ops", "content": msg}, *filler,
                                                             {"agent": "ops", "content": msg},
                                                             *filler[:2], {"agent": "ops", "content": msg}]})
    assert run_detector(step_repetition, run, window=8)
    assert run_detector(step_repetition, run, window=2) == []


def test_one_repeat_is_enough_when_the_tenant_says_so() -> None:
    msg = "Deploying build 4411 of the checkout service to the staging cluster now."
    run = run_from_fixture({"id": "one", "label": 1, "steps": [
        {"agent": "deployer", "content": msg}, {"agent": "qa", "content": "Smoke tests on staging pass."},
        {"agent": "deployer", "content": msg}]})
    assert run_detector(step_repetition, run) == []
    assert run_detector(step_repetition, run, min_repeats=1)
