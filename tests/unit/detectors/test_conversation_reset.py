"""F6 conversation reset: restarts, mid-run greetings, restated openings, collapsed state."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import conversation_reset
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("conversation_reset")


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_failures(fx) -> None:
    found = run_detector(conversation_reset, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(conversation_reset, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(conversation_reset, fx.run) == []


def test_each_signal_is_named() -> None:
    signals = {f.id: run_detector(conversation_reset, f.run)[0].details["signal"] for f in CASES if f.label}
    assert signals["reset-pos-start-over"] == "explicit_restart"
    assert signals["reset-pos-greeting-midway"] == "greeting"
    assert signals["reset-pos-restates-opening"] == "restated_opening"
    assert signals["reset-pos-state-messages-cleared"] == "state_collapsed"


def test_missing_state_is_never_a_reset() -> None:
    steps = [{"agent": a, "content": c, "kind": "agent"} for a, c in (
        ("planner", "Split the report into three sections."), ("writer", "Drafted the sections."),
        ("reviewer", "Section two needs numbers."), ("writer", "Added the Q2 numbers."))]
    assert run_detector(conversation_reset, run_from_fixture({"id": "n", "label": 0, "steps": steps})) == []
