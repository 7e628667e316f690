"""F5 unaware of termination: work after an uncontested completion, runs stopped by limits."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import termination_unaware

CASES = fixtures("termination_unaware")


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_failures(fx) -> None:
    found = run_detector(termination_unaware, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(termination_unaware, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(termination_unaware, fx.run) == []


def test_extra_steps_threshold() -> None:
    run = _case("term-pos-terminate-ignored").run
    [det] = run_detector(termination_unaware, run)
    assert det.details["completion_step"] == 0 and det.details["extra_steps"] == 4
    assert run_detector(termination_unaware, run, min_extra_steps=5) == []


def test_limit_reached_is_reported() -> None:
    [det] = run_detector(termination_unaware, _case("term-pos-recursion-limit").run)
    assert det.details["signal"] == "limit_reached"
    assert "GraphRecursionError" in det.evidence[0].quote
