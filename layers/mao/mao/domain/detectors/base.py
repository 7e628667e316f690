"""The one interface every detector implements.

A detector is a module with a ``SPEC`` (its registry row) and a ``detect(run, thresholds)``
function. Thresholds always come from the caller (resolved through the settings interface), never
from module globals, so a tenant's settings reach every detector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from mao.domain.models import Detection, Run


@dataclass(frozen=True, slots=True)
class ThresholdSpec:
    """A tunable threshold: its default and the range a tenant may set it to."""

    default: float
    minimum: float
    maximum: float
    description: str = ""
    integer: bool = False


MIN_CONFIDENCE = "min_confidence"
# Every detector has this knob: the engine drops its detections below the value, so feedback-driven
# recommendations can tune any detector the same way. A detector may declare its own default.
COMMON_THRESHOLDS: Mapping[str, ThresholdSpec] = {
    MIN_CONFIDENCE: ThresholdSpec(0.0, 0.0, 1.0, "detections below this confidence are not reported"),
}


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    key: str  # detection type, e.g. "step_repetition"
    name: str
    version: str
    f_code: str | None = None  # F1..F16 where one applies
    thresholds: Mapping[str, ThresholdSpec] = field(default_factory=dict)
    fix_types: tuple[str, ...] = ()
    applies_to: tuple[str, ...] = ("trace", "conversation")
    # Per-framework default overrides of thresholds: {"langgraph": {"min_repeats": 4}}.
    framework_defaults: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = {k: v for k, v in COMMON_THRESHOLDS.items() if k not in self.thresholds}
        if missing:
            object.__setattr__(self, "thresholds", {**self.thresholds, **missing})


class DetectFn(Protocol):
    def __call__(self, run: Run, thresholds: Mapping[str, float]) -> list[Detection]: ...
