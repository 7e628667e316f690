"""Loop detector: sustained repeats, ping-pong, cycles and retry storms; progress is not a loop."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import loop
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("loop")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_loops(fx) -> None:
    found = run_detector(loop, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(loop, fx.run, det)
        assert det.details["method"] in ("exact_repeat", "semantic_repeat", "ping_pong",
                                         "semantic_cycle", "retry_storm")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(loop, fx.run) == []


ROUNDS = [
    ("Next: parse the date column.",
     "Parsing dates with fromisoformat; 3 tests added.", "Timezone offsets are lost."),
    ("Next: keep timezone offsets.",
     "Dates now keep their tzinfo; offsets survive export.", "Good. Now the CSV quoting."),
    ("Next: quote fields with commas.",
     "Switched to csv.writer with QUOTE_MINIMAL.", "Quoting is right; headers?"),
    ("Next: stable header order.",
     "Header order comes from the schema list now.", "Matches the spec."),
    ("Next: large exports stream.",
     "export() yields rows from a generator, memory flat.", "Approved, ship it."),
]


def _pcr_cycle(rounds: int, same: bool) -> dict:
    steps = []
    for r in range(rounds):
        plan, code, review = ROUNDS[0] if same else ROUNDS[r % len(ROUNDS)]
        steps += [{"agent": "planner", "content": plan, "kind": "agent"},
                  {"agent": "coder", "content": code, "kind": "agent"},
                  {"agent": "reviewer", "content": review, "kind": "agent"}]
    return {"id": f"pcr-{rounds}-{same}", "label": 0, "framework": "langgraph", "task": None, "steps": steps}


def test_planner_coder_reviewer_cycle_without_state_is_not_a_loop() -> None:
    run = run_from_fixture(_pcr_cycle(5, same=False))
    assert all(s.state is None for s in run.steps)
    assert run_detector(loop, run) == []


def test_the_same_cycle_with_identical_messages_is_a_semantic_cycle() -> None:
    run = run_from_fixture(_pcr_cycle(4, same=True))
    [det] = run_detector(loop, run)
    assert det.details["method"] == "semantic_cycle"
    assert det.details["period"] == 3 and det.details["rounds"] == 4
    assert "planner -> coder -> reviewer" in det.explanation


def test_min_repeats_threshold_is_honoured() -> None:
    steps = [{"agent": "bot", "content": "Checking the deployment status of the payments service now."}] * 3
    run = run_from_fixture({"id": "r3", "label": 1, "steps": steps})
    assert run_detector(loop, run, min_repeats=3)[0].details["method"] == "exact_repeat"
    assert run_detector(loop, run, min_repeats=4) == []


def test_changed_state_counts_as_progress() -> None:
    steps = [{"agent": "indexer", "content": "Indexed one batch.", "state": {"offset": i}} for i in range(6)]
    assert run_detector(loop, run_from_fixture({"id": "s", "label": 0, "steps": steps})) == []
    frozen = [{**s, "state": {"offset": 0}} for s in steps]
    assert run_detector(loop, run_from_fixture({"id": "f", "label": 1, "steps": frozen}))


def test_retry_storm_reports_tool_and_count() -> None:
    fx = next(f for f in CASES if f.id == "loop-pos-n8n-connrefused")
    [det] = run_detector(loop, fx.run)
    assert det.details == {**det.details, "method": "retry_storm", "tool": "http_request", "failures": 6}
    assert "http_request" in det.explanation and "Warehouse API" in det.explanation


def test_long_loop_is_linear_and_reported_once() -> None:
    steps = [{"agent": "a", "content": "Trying the same lookup again without any change."}] * 2000
    found = run_detector(loop, run_from_fixture({"id": "long", "label": 1, "steps": steps}))
    assert len(found) == 1 and found[0].details["rounds"] == 2000
