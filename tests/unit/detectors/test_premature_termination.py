"""F12 premature termination: the run stops with work it knows is left."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import premature_termination
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("premature_termination")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(premature_termination, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(premature_termination, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(premature_termination, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_plan_items_never_touched_are_listed() -> None:
    [det] = run_detector(premature_termination, _case("pt-pos-plan-items-dropped").run)
    assert "2 of 4" in det.explanation
    assert "regional bar chart" in det.evidence[0].quote.lower()


def test_run_ending_on_an_error_step() -> None:
    [det] = run_detector(premature_termination, _case("pt-pos-ends-on-failure").run)
    assert det.evidence[0].step_index == 2 and "OOMKilled" in det.evidence[0].quote


def test_min_uncovered_items_threshold() -> None:
    run = _case("pt-pos-plan-items-dropped").run
    assert run_detector(premature_termination, run, min_uncovered_items=3) == []


def test_single_step_run_is_not_judged() -> None:
    assert run_detector(premature_termination, _run([{"agent": "a", "content": "I'll now start."}])) == []
