"""F10 ignored input: a correction from another agent that the addressee does not act on."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import ignored_input
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("ignored_input")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(ignored_input, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(ignored_input, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(ignored_input, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_resubmission_is_explained_with_the_repeat() -> None:
    [det] = run_detector(ignored_input, _case("ii-pos-resubmitted-code").run)
    assert det.details == {"author": "reviewer", "addressee": "coder", "repeated": True}
    assert "resubmitted" in det.explanation
    assert [e.step_index for e in det.evidence] == [1, 2, 3]


def test_reply_that_applies_the_new_detail_is_quiet() -> None:
    steps = [
        {"agent": "analyst", "content": "Revenue grew 12% in Q2, driven by the enterprise tier."},
        {
            "agent": "editor",
            "content": 'The figure is wrong: finance restated Q2 growth to "9.5%". Please fix it.',
        },
        {
            "agent": "analyst",
            "content": "Revenue grew 9.5% in Q2 after the restatement, driven by enterprise.",
        },
    ]
    assert run_detector(ignored_input, _run(steps)) == []
    steps[2]["content"] = "Revenue grew 12% in Q2, driven by the enterprise tier, as before."
    assert run_detector(ignored_input, _run(steps))


def test_resubmission_threshold_is_read_from_the_mapping() -> None:
    run = _case("ii-pos-currency-ignored").run
    assert run_detector(ignored_input, run)
    assert run_detector(ignored_input, run, min_confidence=0.9) == []
