"""State corruption: a state key changing type, vanishing or changing identity between steps."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import state_corruption
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("state_corruption")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(state_corruption, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(state_corruption, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(state_corruption, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_type_change_quotes_before_and_after() -> None:
    [det] = run_detector(state_corruption, _case("sc-pos-list-became-string").run)
    assert det.details["key"] == "items"
    assert [e.note for e in det.evidence] == ["before", "after"]
    assert "list" in det.explanation and "string" in det.explanation


def test_runs_without_states_are_never_flagged() -> None:
    steps = [
        {"agent": "planner", "content": "Plan the change."},
        {"agent": "coder", "content": "Done."},
        {"agent": "reviewer", "content": "Approved."},
    ]
    assert run_detector(state_corruption, _run(steps)) == []


def test_partial_updates_do_not_count_as_vanished_keys() -> None:
    steps = [
        {"agent": "a", "content": "x", "state": {"alpha": 1, "beta": "b", "gamma": [1]}},
        {"agent": "b", "content": "y", "state": {"delta": 2}},
    ]
    assert run_detector(state_corruption, _run(steps)) == []
    assert run_detector(state_corruption, _run(steps), snapshot_overlap=0.1) == []


def test_vanished_key_in_a_snapshot_is_flagged() -> None:
    [det] = run_detector(state_corruption, _case("sc-pos-snapshot-drops-budget").run)
    assert det.details["key"] == "approved_budget" and "vanished" in det.explanation
