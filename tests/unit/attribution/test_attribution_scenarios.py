"""Attribution on small hand-written failed runs: who broke the run, at which step, and why."""

from __future__ import annotations

import json

import pytest

from mao.domain.attribution import Attribution, attribute
from mao.domain.models import Detection, Evidence

from ._runs import LOOP, TOOL_ERROR, VERIFIER_ACCEPTS, VERIFIER_ACCEPTS_FLAT, run_of


def _attribute(messages: list[tuple[str, str]], **kwargs: object) -> Attribution:
    result = attribute(run_of(messages), **kwargs)  # type: ignore[arg-type]
    assert result is not None
    return result


def test_code_that_fails_in_the_executor_is_blamed_on_its_author() -> None:
    result = _attribute(TOOL_ERROR)
    assert (result.agent, result.step) == ("coder", 2)
    assert "failed when executed" in result.reason
    decisive, effect = result.evidence
    assert decisive.step_index == 2 and "read_csv" in decisive.quote
    assert effect.step_index == 3 and "FileNotFoundError" in effect.quote


def test_the_executor_itself_is_never_blamed() -> None:
    result = _attribute(TOOL_ERROR)
    assert "executor" not in {a.agent for a in result.top_agents}
    assert all(s.agent != "executor" for s in result.top_steps)


@pytest.mark.parametrize("messages", [VERIFIER_ACCEPTS, VERIFIER_ACCEPTS_FLAT], ids=["coordinated", "flat"])
def test_a_wrong_claim_accepted_by_a_verifier_is_blamed_on_the_claim(messages: list[tuple[str, str]]) -> None:
    result = _attribute(messages)
    claim = next(i for i, (agent, _) in enumerate(messages) if agent == "researcher")
    assert (result.agent, result.step) == ("researcher", claim)
    # The figure appears in no earlier step or tool output: the reason says so.
    assert "figures that no earlier step or tool output gave" in result.reason
    assert "12,345" in result.evidence[0].quote
    assert result.evidence[-1].step_index == len(messages) - 1  # the final answer built on the claim


def test_a_loop_is_blamed_on_the_agent_that_started_it_at_its_first_repetition() -> None:
    result = _attribute(LOOP)
    first_search = next(i for i, (agent, _) in enumerate(LOOP) if agent == "browser")
    assert (result.agent, result.step) == ("browser", first_search)
    assert result.top_agents[0].agent == "browser"


def test_ranked_alternatives_start_with_the_answer_and_hold_at_most_three() -> None:
    result = _attribute(VERIFIER_ACCEPTS)
    assert 1 <= len(result.top_agents) <= 3 and 1 <= len(result.top_steps) <= 3
    assert result.top_agents[0].agent == result.agent
    assert result.top_steps[0].step == result.step
    assert len({s.step for s in result.top_steps}) == len(result.top_steps)
    assert sum(a.probability for a in result.top_agents) == pytest.approx(1.0)


def test_confidence_is_the_joint_probability_of_agent_and_step() -> None:
    result = _attribute(TOOL_ERROR)
    assert 0.0 < result.confidence <= result.agent_confidence <= 1.0
    assert result.confidence == pytest.approx(result.agent_confidence * result.step_confidence)


def test_to_dict_is_json_ready_and_quotes_are_short() -> None:
    long_claim = ("researcher", "Assuming the figure from memory, the population is 12,345. " + "x " * 400)
    messages = [VERIFIER_ACCEPTS_FLAT[0], long_claim, *VERIFIER_ACCEPTS_FLAT[2:]]
    data = _attribute(messages).to_dict()
    json.dumps(data)
    assert {"agent", "step", "confidence", "reason", "evidence", "top_agents", "top_steps"} <= set(data)
    assert all(len(e["quote"]) <= 300 for e in data["evidence"])
    assert data["reason"].count("\n") == 0 and data["agent"] in data["reason"]


def test_detections_do_not_move_the_blame_until_labelled_data_shows_they_help() -> None:
    """Passing detector output in lowered Who&When accuracy (see weights.DETECTION_WEIGHT), so a
    flagged step is reported beside the attribution but does not change it."""
    baseline = _attribute(TOOL_ERROR)
    flagged_step = 1  # the planner's plan
    detection = Detection(
        type="task_spec_violation", confidence=1.0, severity="high", explanation="plan ignores the file name",
        evidence=[Evidence(ref=f"turn:{flagged_step}", quote="Plan", step_index=None)], detector_version="1",
    )
    flagged = _attribute(TOOL_ERROR, detections=[detection])
    assert baseline.step != flagged_step
    assert (flagged.agent, flagged.step) == (baseline.agent, baseline.step)


def test_nothing_to_attribute_in_a_successful_run_or_an_empty_one() -> None:
    assert attribute(run_of(TOOL_ERROR, status="ok")) is None
    assert attribute(run_of([])) is None


def test_the_same_run_always_gets_the_same_answer() -> None:
    first = _attribute(LOOP).to_dict()
    assert all(_attribute(LOOP).to_dict() == first for _ in range(3))
