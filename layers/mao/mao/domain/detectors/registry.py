"""The detector registry: one table of every detector MAO runs.

Each row is built from the detector module's ``SPEC`` (key, F-code, name, version, default
thresholds, fix types). Modules are imported on first use, so a Lambda that never detects never
pays for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import cache
from types import ModuleType

from mao.domain.detectors.base import DetectFn, DetectorSpec

# Detector modules under mao.domain.detectors, in the order they run (cheap structural first).
DETECTOR_MODULES: tuple[str, ...] = (
    # MAST F-codes
    "task_spec_violation",       # F1
    "role_violation",            # F2
    "step_repetition",           # F3
    "history_loss",              # F4
    "termination_unaware",       # F5
    "conversation_reset",        # F6
    "clarification_failure",     # F7
    "task_derailment",           # F8
    "information_withholding",   # F9
    "ignored_input",             # F10
    "reasoning_action_mismatch", # F11
    "premature_termination",     # F12
    "verification_missing",      # F13
    "verification_incorrect",    # F14
    "grounding_failure",         # F15
    "retrieval_quality",         # F16
    # operational
    "loop",
    "state_corruption",
    "persona_drift",
    "coordination_deadlock",
    "prompt_injection",
    "context_overflow",
    "cost_overrun",
    "hallucination",
)


@cache
def _module(name: str) -> ModuleType:
    return importlib.import_module(f"mao.domain.detectors.{name}")


def specs() -> list[DetectorSpec]:
    return [_module(name).SPEC for name in DETECTOR_MODULES]


@cache
def by_key() -> dict[str, tuple[DetectorSpec, DetectFn]]:
    table: dict[str, tuple[DetectorSpec, DetectFn]] = {}
    for name in DETECTOR_MODULES:
        mod = _module(name)
        spec: DetectorSpec = mod.SPEC
        if spec.key in table:
            raise ValueError(f"duplicate detector key {spec.key!r}")
        table[spec.key] = (spec, mod.detect)
    return table


def spec(key: str) -> DetectorSpec:
    try:
        return by_key()[key][0]
    except KeyError:
        raise KeyError(f"unknown detector {key!r}") from None


def iter_detectors() -> Iterator[tuple[DetectorSpec, DetectFn]]:
    yield from by_key().values()
