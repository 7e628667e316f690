"""F2 disobey role specification: agents doing another role's job."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import role_violation
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("role_violation")


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_failures(fx) -> None:
    found = run_detector(role_violation, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(role_violation, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(role_violation, fx.run) == []


def test_reviewer_rewriting_names_both_agents() -> None:
    [det] = run_detector(role_violation, _case("role-pos-reviewer-rewrites").run)
    assert det.details["violation"] == "wrote_code"
    assert "reviewer" in det.explanation and "coder" in det.explanation


def test_code_threshold_is_tunable() -> None:
    run = _case("role-neg-reviewer-quotes-lines").run
    assert run_detector(role_violation, run) == []
    assert run_detector(role_violation, run, min_code_lines=2)


def test_turn_written_for_another_agent() -> None:
    [det] = run_detector(role_violation, _case("role-pos-coder-speaks-for-reviewer").run)
    assert det.details == {**det.details, "violation": "spoke_for_other", "agent": "coder"}
    assert "Reviewer" in det.evidence[0].quote


def test_roles_come_from_role_words_not_specific_names() -> None:
    run = run_from_fixture({"id": "r", "label": 1, "steps": [
        {"agent": "BackendDeveloper", "content": "Implemented the endpoint."},
        {"agent": "CodeCritic", "content": "Rewrote it:\n```python\n" + "\n".join(f"x{i} = {i}" for i in range(10))
         + "\n```"}]})
    [det] = run_detector(role_violation, run)
    assert det.details["agent"] == "CodeCritic"
