"""Shared helpers for detector tests: the labelled fixtures of one detector plus the healthy runs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from mao.domain.models import Detection, Run
from mao.domain.thresholds import resolve_spec
from mao.eval.fixtures import Fixture, iter_fixture_file

FIXTURE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "detection"


def fixtures(key: str) -> list[Fixture]:
    return list(iter_fixture_file(FIXTURE_DIR / f"{key}.jsonl"))


def healthy() -> list[Fixture]:
    return list(iter_fixture_file(FIXTURE_DIR / "healthy.jsonl"))


def run_detector(module: ModuleType, run: Run, **overrides: float) -> list[Detection]:
    thresholds: Mapping[str, float] = {**resolve_spec(module.SPEC, run.framework), **overrides}
    return module.detect(run, thresholds)


def check_detection_shape(module: ModuleType, run: Run, det: Detection) -> None:
    """Every detection names its type and F-code, stays in range and points at real steps."""
    refs = {s.ref: s.index for s in run.steps}
    assert det.type == module.SPEC.key
    assert det.f_code == module.SPEC.f_code
    assert det.detector_version == module.SPEC.version
    assert 0.0 <= det.confidence <= 1.0
    assert det.severity in ("low", "medium", "high", "critical")
    assert det.evidence, "a detection without evidence cannot be acted on"
    for ev in det.evidence:
        assert refs.get(ev.ref) == ev.step_index
        assert len(ev.quote) <= 300
    assert len(det.explanation) > 40
