"""F9 information withholding: a tool failure an agent hands off without mentioning."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import information_withholding
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("information_withholding")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(information_withholding, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(information_withholding, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(information_withholding, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_explanation_names_agent_tool_and_both_steps() -> None:
    fx = _case("iw-pos-db-permission-denied")
    [det] = run_detector(information_withholding, fx.run)
    assert "analyst" in det.explanation and "sql_query" in det.explanation
    assert [e.step_index for e in det.evidence] == [1, 2]
    assert "permission denied" in det.evidence[0].quote.lower()


def test_success_claim_over_a_failure_is_high_severity() -> None:
    [det] = run_detector(information_withholding, _case("iw-pos-image-pull-backoff").run)
    assert det.details["claims_success"] is True and det.severity == "high"


def test_zero_failure_counts_are_not_findings() -> None:
    run = _run(
        [
            {
                "agent": "coder",
                "content": "",
                "kind": "tool",
                "tool_calls": [
                    {"name": "pytest", "arguments": {}, "result": "0 failed, 31 passed, no errors"}
                ],
            },
            {"agent": "coder", "content": "Everything is green, handing to the reviewer.", "kind": "llm"},
            {"agent": "reviewer", "content": "Approved.", "kind": "llm"},
        ]
    )
    assert run_detector(information_withholding, run) == []


def test_threshold_comes_from_the_mapping() -> None:
    run = _case("iw-pos-pytest-failures-handed-off").run
    assert run_detector(information_withholding, run)
    assert run_detector(information_withholding, run, min_confidence=0.99) == []
