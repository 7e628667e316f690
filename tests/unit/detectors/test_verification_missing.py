"""F13 missing verification: results accepted with no check in between."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import verification_missing
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("verification_missing")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(verification_missing, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(verification_missing, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(verification_missing, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_explicit_skip_is_quoted() -> None:
    [det] = run_detector(verification_missing, _case("vm-pos-skip-tests-trivial").run)
    assert "no need to run the tests" in det.evidence[0].quote.lower() and det.confidence >= 0.8


def test_a_later_check_clears_the_skip() -> None:
    steps = [
        {"agent": "coder", "content": "Skipping the tests for now, it is a one-liner.", "kind": "llm"},
        {
            "agent": "ci",
            "content": "",
            "kind": "tool",
            "tool_calls": [{"name": "run_tests", "arguments": {}, "result": "88 passed"}],
        },
        {"agent": "coder", "content": "CI is green; merged.", "kind": "llm"},
    ]
    assert run_detector(verification_missing, _run(steps)) == []


def test_bare_approval_of_code_is_flagged_and_names_both_agents() -> None:
    [det] = run_detector(verification_missing, _case("vm-pos-lgtm-no-tests").run)
    assert "coder" in det.explanation and "reviewer" in det.explanation
    assert [e.step_index for e in det.evidence] == [0, 1]
