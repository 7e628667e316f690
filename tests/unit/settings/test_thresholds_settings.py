import pytest

from mao.domain.analysis import analyze_run
from mao.domain.detectors import registry
from mao.domain.models import Run, Step
from mao.domain.thresholds import TenantThresholds, ThresholdError, resolve
from mao.services import settings as svc


def test_every_named_field_maps_onto_registered_detector_thresholds():
    for name, field in svc.NAMED_FIELDS.items():
        targets = svc.named_targets(name)
        assert targets, name
        if not field.every_detector_with:
            assert len(targets) == len(field.targets), f"{name} names a threshold no detector has"
        for det, thr in targets:
            assert thr in registry.spec(det).thresholds


def test_named_field_is_expanded_to_detector_overrides():
    t = svc.apply_changes(TenantThresholds(), {"structural_threshold": 0.95, "loop_detection_window": 7})
    assert t.global_overrides["loop"] == {"similarity": 0.95, "max_period": 7}
    assert t.global_overrides["step_repetition"] == {"similarity": 0.95}
    assert resolve("loop", "langgraph", t)["max_period"] == 7


def test_framework_override_wins_over_global():
    t = svc.apply_changes(TenantThresholds(), {"loop_min_repeats": 4,
                                               "frameworks": {"crewai": {"loop_min_repeats": 6}}})
    assert resolve("loop", "crewai", t)["min_repeats"] == 6
    assert resolve("loop", "langgraph", t)["min_repeats"] == 4


def test_framework_query_applies_top_level_to_that_framework():
    t = svc.apply_changes(TenantThresholds(), {"detectors": {"loop": {"min_cycles": 5}}}, framework="n8n")
    assert t.global_overrides == {}
    assert t.framework_overrides == {"n8n": {"loop": {"min_cycles": 5}}}


@pytest.mark.parametrize(("body", "field"), [
    ({"structural_threshold": 1.5}, "structural_threshold"),
    ({"loop_detection_window": 3.5}, "loop_detection_window"),
    ({"bogus": 1}, "bogus"),
    ({"detectors": {"loop": {"nope": 1}}}, "detectors.loop.nope"),
    ({"detectors": {"no_such": {"x": 1}}}, "detectors.no_such"),
    ({"detectors": {"loop": {"min_repeats": "many"}}}, "detectors.loop.min_repeats"),
    ({"frameworks": {"cobol": {"loop_min_repeats": 4}}}, "frameworks.cobol"),
    ({"frameworks": {"crewai": {"confidence_threshold": -0.1}}}, "frameworks.crewai.confidence_threshold"),
])
def test_invalid_changes_name_the_field(body, field):
    with pytest.raises(ThresholdError) as err:
        svc.apply_changes(TenantThresholds(), body)
    assert err.value.field == field


def test_null_removes_an_override_and_reset_clears_one_framework():
    t = svc.apply_changes(TenantThresholds(), {"loop_min_repeats": 4,
                                               "frameworks": {"crewai": {"loop_min_repeats": 6},
                                                              "dify": {"loop_min_repeats": 5}}})
    t = svc.apply_changes(t, {"loop_min_repeats": None})
    assert t.global_overrides == {}
    t = svc.reset(t, "crewai")
    assert set(t.framework_overrides) == {"dify"}
    assert svc.reset(t) == TenantThresholds()


def test_named_values_report_disagreeing_targets_as_none():
    t = svc.apply_changes(TenantThresholds(), {"detectors": {"loop": {"similarity": 0.9}}})
    assert svc.named_values(svc.effective(t))["structural_threshold"] is None
    t = svc.apply_changes(t, {"structural_threshold": 0.9})
    assert svc.named_values(svc.effective(t))["structural_threshold"] == 0.9


def _looping_run(repeats: int = 4) -> Run:
    text = "Checking the inventory database for the requested item again, please wait a moment."
    steps = [Step(index=i, agent="worker", content=text, ref=f"s{i}") for i in range(repeats)]
    return Run(run_id="t1", kind="trace", steps=steps)


def test_a_threshold_change_makes_a_loop_detection_appear_or_vanish():
    run = _looping_run()
    assert [d.type for d in analyze_run(run, only=["loop"]).detections] == ["loop"]
    stricter = svc.apply_changes(TenantThresholds(), {"loop_min_repeats": 6})
    assert not analyze_run(run, stricter, only=["loop"]).detections
    per_framework = svc.apply_changes(TenantThresholds(), {"frameworks": {"crewai": {"loop_min_repeats": 6}}})
    assert analyze_run(run, per_framework, only=["loop"]).detections  # run's framework is "unknown"
