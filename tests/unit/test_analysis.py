"""The analysis entry point: thresholds per tenant, isolation of failing detectors, stable ids."""

from __future__ import annotations

import pytest

from mao.domain import analysis
from mao.domain.detectors import loop
from mao.domain.models import Detection, Evidence
from mao.domain.thresholds import TenantThresholds
from mao.eval.fixtures import run_from_fixture

LOOPING = {"id": "run-1", "label": 1, "framework": "crewai", "task": "Look up the order status.",
           "steps": [{"agent": "support", "content": "Let me check the order status in the system."}] * 4}


def _only_loop(monkeypatch: pytest.MonkeyPatch, extra=()) -> None:
    detectors = ((0, loop.SPEC, loop.detect), *extra)
    monkeypatch.setattr(analysis, "_detectors", lambda: (detectors, ()))


def test_finds_a_loop_and_gives_it_a_stable_id() -> None:
    run = run_from_fixture(LOOPING)
    first = analysis.analyze(run, only=["loop"])
    again = analysis.analyze(run_from_fixture(LOOPING), only=["loop"])
    assert [d.type for d in first] == ["loop"]
    assert first[0].details["detection_id"] == again[0].details["detection_id"]
    assert first[0].details["detection_id"].startswith("det_")


def test_detection_id_depends_on_run_type_and_evidence() -> None:
    det = Detection(type="loop", confidence=0.9, severity="high", explanation="x",
                    evidence=[Evidence(ref="a", quote="q"), Evidence(ref="b", quote="q")],
                    detector_version="1")
    other_order = Detection(type="loop", confidence=0.5, severity="low", explanation="y",
                            evidence=[Evidence(ref="b", quote="z"), Evidence(ref="a", quote="z")],
                            detector_version="2")
    assert analysis.detection_id("r", det) == analysis.detection_id("r", other_order)
    assert analysis.detection_id("r", det) != analysis.detection_id("r2", det)
    det2 = Detection(type="step_repetition", confidence=0.9, severity="high", explanation="x",
                     evidence=det.evidence, detector_version="1")
    assert analysis.detection_id("r", det) != analysis.detection_id("r", det2)


def test_tenant_thresholds_reach_the_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    _only_loop(monkeypatch)
    run = run_from_fixture(LOOPING)
    assert analysis.analyze(run)
    strict = TenantThresholds(global_overrides={"loop": {"min_repeats": 5}})
    assert analysis.analyze(run, tenant=strict) == []
    per_framework = TenantThresholds(framework_overrides={"crewai": {"loop": {"min_repeats": 6}}})
    assert analysis.analyze(run, tenant=per_framework) == []
    other_framework = TenantThresholds(framework_overrides={"langgraph": {"loop": {"min_repeats": 6}}})
    assert analysis.analyze(run, tenant=other_framework)


def test_default_thresholds_are_resolved_once_and_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []

    def record(run, thresholds):
        seen.append(thresholds)
        return []

    spec = type(loop.SPEC)(key="rec", name="Rec", version="1", framework_defaults={"crewai": {"min_confidence": 0.3}})
    monkeypatch.setattr(analysis, "_detectors", lambda: (((0, spec, record),), ()))
    run = run_from_fixture(LOOPING)
    analysis.analyze(run)
    analysis.analyze(run, tenant=TenantThresholds(global_overrides={"loop": {"min_repeats": 5}}))
    assert seen[0] is seen[1], "a tenant overriding other detectors shares the defaults"
    assert dict(seen[0]) == {"min_confidence": 0.3}
    with pytest.raises(TypeError):
        seen[0]["min_confidence"] = 0.9  # type: ignore[index]
    analysis.analyze(run, tenant=TenantThresholds(global_overrides={"rec": {"min_confidence": 0.7}}))
    assert dict(seen[2]) == {"min_confidence": 0.7}
    assert dict(seen[0]) == {"min_confidence": 0.3}


def test_a_failing_detector_is_reported_and_the_rest_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(run, thresholds):
        raise RuntimeError("boom")

    broken_spec = type(loop.SPEC)(key="broken", name="Broken", version="0")
    _only_loop(monkeypatch, extra=((1, broken_spec, broken),))
    result = analysis.analyze_run(run_from_fixture(LOOPING))
    assert [d.type for d in result.detections] == ["loop"]
    assert result.errors == {"broken": "RuntimeError: boom"}


def test_duplicates_collapse_and_order_is_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def twice(run, thresholds):
        make = lambda i, c: Detection(type="dup", confidence=c, severity="low", explanation="e",  # noqa: E731
                                      evidence=[Evidence(ref=run.steps[i].ref, quote="q", step_index=i)],
                                      detector_version="1")
        return [make(2, 0.4), make(0, 0.5), make(2, 0.9)]

    spec = type(loop.SPEC)(key="dup", name="Dup", version="1")
    monkeypatch.setattr(analysis, "_detectors", lambda: (((0, spec, twice),), ()))
    found = analysis.analyze(run_from_fixture(LOOPING))
    assert [(d.evidence[0].step_index, d.confidence) for d in found] == [(0, 0.5), (2, 0.9)]


def test_only_restricts_the_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    _only_loop(monkeypatch)
    run = run_from_fixture(LOOPING)
    assert analysis.analyze(run, only=["role_violation"]) == []
    assert [d.type for d in analysis.analyze(run, only=["loop"])] == ["loop"]



def test_every_detector_has_a_min_confidence_knob_that_the_engine_honours() -> None:
    from mao.domain.detectors import registry

    assert all("min_confidence" in s.thresholds for s in registry.specs())
    run = run_from_fixture(LOOPING)
    found = analysis.analyze(run, only=["loop"])
    assert found, "the looping run should produce a loop detection"
    top = max(d.confidence for d in found)
    above = TenantThresholds(global_overrides={"loop": {"min_confidence": min(1.0, top + 0.001)}})
    assert analysis.analyze(run, above, only=["loop"]) == []
    below = TenantThresholds(global_overrides={"loop": {"min_confidence": max(0.0, top - 0.001)}})
    assert analysis.analyze(run, below, only=["loop"])


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_cyclic_collector_is_paused_during_detection_and_restored_after(
        monkeypatch: pytest.MonkeyPatch, enabled_before: bool) -> None:
    import gc

    seen: list[bool] = []

    def record(run, thresholds):
        seen.append(gc.isenabled())
        return []

    spec = loop.SPEC
    monkeypatch.setattr(analysis, "_detectors", lambda: (((0, spec, record),), ()))
    (gc.enable if enabled_before else gc.disable)()
    try:
        analysis.analyze(run_from_fixture(LOOPING))
        assert seen == [False]
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()


def test_the_collector_is_restored_when_analysis_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    monkeypatch.setattr(analysis, "_detectors", lambda: (_ for _ in ()).throw(RuntimeError("registry broken")))
    with pytest.raises(RuntimeError):
        analysis.analyze(run_from_fixture(LOOPING))
    assert gc.isenabled()
