"""Persona drift: an agent leaving its declared language, register, scope or character."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import persona_drift
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("persona_drift")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(persona_drift, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(persona_drift, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(persona_drift, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_language_drift_names_the_declared_language_and_steps() -> None:
    [det] = run_detector(persona_drift, _case("pd-pos-spanish-to-english").run)
    assert "(es)" in det.explanation and det.details == {"agent": "assistant", "messages": 2}


def test_one_off_message_is_not_drift() -> None:
    fx = _case("pd-pos-french-agent-drifts")
    assert run_detector(persona_drift, fx.run)
    assert run_detector(persona_drift, fx.run, min_drift_messages=3) == []


def test_character_break_of_a_named_persona() -> None:
    [det] = run_detector(persona_drift, _case("pd-pos-named-persona-breaks").run)
    assert "Max" in det.explanation and det.evidence[-1].step_index == 4
