"""The analysis service without storage: failure reasons, attribution, replacement bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from mao.adapters import detections as store
from mao.domain.formats.conversations import conversation_to_run, parse_conversation
from mao.domain.models import Run, Step
from mao.domain.thresholds import TenantThresholds
from mao.services import analysis

LOOPING = [{"agent": "user", "role": "user", "content": "Write a function that adds two numbers and test it."}]
for _ in range(4):
    LOOPING.append({"agent": "Coder", "content": "I will now run the tests again with pytest tests/test_add.py."})
    LOOPING.append({"agent": "Tester", "content": "The test failed: AssertionError in test_add. Please fix."})


def looping_run(conv_id: str = "conv_1") -> Run:
    return conversation_to_run(conv_id, parse_conversation("generic", LOOPING))


def run_with(final: str, truth: str | None, status: str = "unset") -> Run:
    steps = [Step(index=0, agent="user", content="What is six times seven?", ref="turn:0", role="user"),
             Step(index=1, agent="Solver", content=final, ref="turn:1")]
    return Run(run_id="r", kind="conversation", steps=steps, ground_truth=truth, final_output=final,
               status=status)  # type: ignore[arg-type]


@pytest.mark.parametrize("final,truth,missed", [
    ("The answer is 42.", "42", False),
    ("The answer is 42.0", "42", False),
    ("It is 1,234 units", "1234", False),
    ("The answer is 41.", "42", True),
    ("Paris is the capital.", "Paris", False),
    ("Lyon is the capital.", "Paris", True),
    ("", "Paris", True),
    ("The city of New York", "new york", False),
])
def test_a_final_answer_misses_the_ground_truth_only_when_it_lacks_it(final, truth, missed):
    assert analysis.answer_misses(final, truth) is missed


def test_an_explicit_final_answer_line_wins_over_the_last_message():
    run = run_with("Let me double-check. FINAL ANSWER: 42\nThanks for asking!", "42")
    assert analysis.stated_final_answer(run) == "42"
    assert analysis.failure_reasons(run, []) == []


def test_failure_reasons_name_every_cause():
    assert analysis.failure_reasons(run_with("It is 41", "42", "error"), []) == ["error_status",
                                                                                 "ground_truth_missed"]
    assert analysis.failure_reasons(run_with("It is 42", "42", "ok"), []) == []
    assert analysis.failure_reasons(run_with("It is 42", None, "ok"), []) == []


def test_a_run_that_only_missed_its_ground_truth_is_still_attributed():
    run = run_with("The answer is 41.", "42", "ok")
    reasons = analysis.failure_reasons(run, [])
    attribution = analysis._attribution(run, [], reasons)
    assert attribution is not None and attribution["agent"] in {"user", "Solver"}
    assert run.status == "ok"  # the caller's run is not modified
    assert analysis._attribution(run, [], []) is None


def test_the_thresholds_digest_changes_with_the_settings():
    default = analysis.thresholds_digest(TenantThresholds())
    assert default == analysis.thresholds_digest(TenantThresholds())
    changed = TenantThresholds(global_overrides={"loop": {"min_repeats": 4}})
    assert analysis.thresholds_digest(changed) != default


@dataclass
class FakeStore:
    """Records what the service asks storage to do; keeps detections by id like the table does."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    analyses: list[store.AnalysisModel] = field(default_factory=list)

    def replace(self, tenant_id, kind, source_id, detections, now=None):
        wanted = {det_id for det_id, _ in detections}
        stale = [k for k, v in self.rows.items() if v["source"] == (kind, source_id) and k not in wanted]
        for k in stale:
            del self.rows[k]
        records, created, updated = [], 0, 0
        for det_id, det in detections:
            previous = self.rows.get(det_id)
            created_at = previous["created_at"] if previous else now
            created, updated = created + (previous is None), updated + (previous is not None)
            self.rows[det_id] = {"source": (kind, source_id), "created_at": created_at, "type": det.type}
            records.append(store.DetectionModel(
                tenant_id, det_id, source_kind=kind, source_id=source_id, detection_type=det.type,
                confidence=det.confidence, severity=det.severity, explanation=det.explanation, evidence=[],
                details={}, detector_version=det.detector_version, created_at=created_at, analyzed_at=now,
                f_code=det.f_code))
        return store.Replaced(records, created, updated, len(stale))


@pytest.fixture
def fake(monkeypatch) -> FakeStore:
    fake = FakeStore()
    monkeypatch.setattr(store, "replace_for_source", fake.replace)
    monkeypatch.setattr(store, "put_analysis", fake.analyses.append)
    monkeypatch.setattr(analysis, "utcnow", lambda: datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    return fake


def test_analysing_twice_gives_the_same_detections_and_ids(fake):
    first = analysis.analyze_run_and_store("tn_a", looping_run(), source_kind="conversation", source_id="conv_1",
                                           thresholds=TenantThresholds())
    second = analysis.analyze_run_and_store("tn_a", looping_run(), source_kind="conversation",
                                            source_id="conv_1", thresholds=TenantThresholds())
    ids = [r.detection_id for r in first.detections]
    assert ids and ids == [r.detection_id for r in second.detections]
    assert (first.created, first.updated, first.deleted) == (len(ids), 0, 0)
    assert (second.created, second.updated, second.deleted) == (0, len(ids), 0)
    assert first.failed and first.failure_reasons == ["failure_detected"]
    assert first.attribution is not None and first.attribution["agent"] in {"Coder", "Tester", "user"}
    stored = fake.analyses[-1]
    assert stored.source == "conversation#conv_1" and list(stored.detection_ids) == ids


def test_stricter_settings_remove_detections_that_no_longer_hold(fake):
    loose = analysis.analyze_run_and_store("tn_a", looping_run(), source_kind="conversation", source_id="conv_1",
                                           thresholds=TenantThresholds())
    assert {"step_repetition", "loop"} <= {r.detection_type for r in loose.detections}
    overrides = {"step_repetition": {"min_repeats": 50}, "loop": {"min_repeats": 50, "min_cycles": 50}}
    strict = analysis.analyze_run_and_store("tn_a", looping_run(), source_kind="conversation",
                                            source_id="conv_1", thresholds=TenantThresholds(overrides))
    assert not {"step_repetition", "loop"} & {r.detection_type for r in strict.detections}
    assert strict.deleted == len(loose.detections) - len(strict.detections) >= 2
    assert set(fake.rows) == {r.detection_id for r in strict.detections}


def test_an_unknown_source_kind_is_refused(fake):
    with pytest.raises(ValueError):
        analysis.analyze_run_and_store("tn_a", looping_run(), source_kind="email", source_id="x")


def test_the_result_view_names_its_source():
    now = datetime(2025, 1, 1, tzinfo=UTC)
    result = analysis.AnalysisResult("tn_a", "trace", "abc", now, [], False, [], None)
    view = result.to_dict()
    assert view["trace_id"] == "abc" and view["detections"] == [] and view["attribution"] is None
