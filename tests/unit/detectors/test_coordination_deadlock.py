"""Coordination deadlock: agents waiting on each other, and requests left open at the end."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import coordination_deadlock
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("coordination_deadlock")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(coordination_deadlock, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(coordination_deadlock, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(coordination_deadlock, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_circular_wait_names_the_cycle() -> None:
    [det] = run_detector(coordination_deadlock, _case("cd-pos-three-way-cycle").run)
    assert "circular wait" in det.explanation and det.severity == "high"
    assert all(f"{a} -> " in det.explanation for a in ("Writer", "Legal", "Marketing"))


def test_you_your_waits_resolve_to_the_agent_being_answered() -> None:
    [det] = run_detector(coordination_deadlock, _case("cd-pos-stall-you-your").run)
    assert "dba_agent" in det.explanation and "dev_agent" in det.explanation


def test_single_agent_runs_cannot_deadlock() -> None:
    run = _run(
        [
            {"agent": "solo", "content": "Waiting for the build to finish."},
            {"agent": "solo", "content": "Still waiting for the build."},
        ]
    )
    assert run_detector(coordination_deadlock, run) == []


def test_stall_length_threshold() -> None:
    run = _run(
        [
            {"agent": "integrator", "content": "Waiting for the vendor's API keys before I can continue."},
            {
                "agent": "deployer",
                "content": "Blocked on the security review; cannot deploy until it is signed.",
            },
            {
                "agent": "writer",
                "content": "Waiting for the legal sign-off from the client before publishing.",
            },
        ]
    )
    [stall] = run_detector(coordination_deadlock, run)
    assert "3 consecutive messages" in stall.explanation
    assert run_detector(coordination_deadlock, run, min_stall_messages=4) == []
