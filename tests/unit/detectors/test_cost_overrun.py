"""cost overrun detector on its labelled fixtures: positives flagged with usable evidence, near misses and
healthy runs quiet."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import cost_overrun

CASES = fixtures("cost_overrun")


def test_fixture_file_has_enough_positives_and_near_misses() -> None:
    assert sum(f.label == 1 for f in CASES) >= 6
    assert sum(f.label == 0 for f in CASES) >= 6


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(cost_overrun, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(cost_overrun, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(cost_overrun, fx.run) == []
