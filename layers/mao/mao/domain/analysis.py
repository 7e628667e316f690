"""Run every registered detector on a run: the one entry point of detection.

Thresholds are resolved per detector for the run's framework (and the tenant's overrides) through
:mod:`mao.domain.thresholds`. One detector raising must not cost the user the others: the error is
logged and reported, the analysis goes on. Results are ordered deterministically and each detection
gets a deterministic id derived from the run, the detection type and the evidence it points at, so
re-analysing a run replaces its detections instead of duplicating them.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

from mao.domain.detectors import registry
from mao.domain.detectors.base import MIN_CONFIDENCE, DetectFn, DetectorSpec
from mao.domain.models import Detection, Run
from mao.domain.thresholds import TenantThresholds, resolve_spec

log = logging.getLogger(__name__)

_NO_STEP = 1 << 62  # sorts detections without a step index after those with one


@dataclass(slots=True)
class Analysis:
    detections: list[Detection]
    errors: dict[str, str] = field(default_factory=dict)  # detector key or module -> error text


@cache
def _detectors() -> tuple[tuple[tuple[int, DetectorSpec, DetectFn], ...], tuple[tuple[str, str], ...]]:
    """Importable detectors in registry order, and the modules that failed to import."""
    loaded: list[tuple[int, DetectorSpec, DetectFn]] = []
    broken: list[tuple[str, str]] = []
    for order, name in enumerate(registry.DETECTOR_MODULES):
        try:
            mod = importlib.import_module(f"mao.domain.detectors.{name}")
            loaded.append((order, mod.SPEC, mod.detect))
        except Exception as exc:  # a missing or broken module must not stop the other detectors
            log.error("detector module %s failed to load: %s", name, exc)
            broken.append((name, f"{type(exc).__name__}: {exc}"))
    return tuple(loaded), tuple(broken)


# Thresholds without tenant overrides depend only on the detector and the framework: resolved once per pair
# and shared read-only (a detector never writes its thresholds). Keyed by the spec object, so a reloaded
# detector gets its own entry; the table is emptied if unusual framework names ever fill it.
_RESOLVED: dict[tuple[int, str], tuple[DetectorSpec, Mapping[str, float]]] = {}
_RESOLVED_MAX = 4096


def _has_overrides(key: str, framework: str, tenant: TenantThresholds) -> bool:
    return bool(tenant.global_overrides.get(key) or tenant.framework_overrides.get(framework, {}).get(key))


def _thresholds(spec: DetectorSpec, framework: str, tenant: TenantThresholds | None) -> Mapping[str, float]:
    """``resolve_spec(spec, framework, tenant)``, cached when the tenant overrides nothing of this detector."""
    if tenant is not None and _has_overrides(spec.key, framework, tenant):
        return resolve_spec(spec, framework, tenant)
    cached = _RESOLVED.get((id(spec), framework))
    if cached is None or cached[0] is not spec:
        if len(_RESOLVED) >= _RESOLVED_MAX:
            _RESOLVED.clear()
        cached = _RESOLVED[(id(spec), framework)] = (spec, MappingProxyType(resolve_spec(spec, framework)))
    return cached[1]


def detection_id(run_id: str, detection: Detection) -> str:
    """Deterministic id: the same run, type and evidence refs always give the same id."""
    refs = sorted({e.ref for e in detection.evidence})
    raw = "\x1f".join([run_id, detection.type, *refs])
    return "det_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def _first_step(detection: Detection) -> int:
    steps = [e.step_index for e in detection.evidence if e.step_index is not None]
    return min(steps) if steps else _NO_STEP


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one analysis.

    Detectors allocate many short-lived tuples and sets, none of them in reference cycles (reference
    counting frees them); meanwhile the collector's passes walk every object of the run (a 10,000-span run
    is millions of them), ~10% of the analysis time and single pauses of ~100 ms that find nothing. The
    collector runs again, as usual, once the analysis returns. A caller that paused it keeps it paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analyze_run(run: Run, tenant: TenantThresholds | None = None,
                only: Iterable[str] | None = None) -> Analysis:
    with _cyclic_gc_paused():
        return _analyze_run(run, tenant, only)


def _analyze_run(run: Run, tenant: TenantThresholds | None, only: Iterable[str] | None) -> Analysis:
    wanted = set(only) if only is not None else None
    detectors, broken = _detectors()
    errors: dict[str, str] = {name: msg for name, msg in broken}
    by_id: dict[str, tuple[int, Detection]] = {}
    for order, spec, detect in detectors:
        if wanted is not None and spec.key not in wanted:
            continue
        if run.kind not in spec.applies_to:
            continue
        thresholds = _thresholds(spec, run.framework, tenant)
        try:
            found = detect(run, thresholds)
        except Exception as exc:  # one failing detector must not kill the analysis
            log.exception("detector %s failed on run %s", spec.key, run.run_id)
            errors[spec.key] = f"{type(exc).__name__}: {exc}"
            continue
        floor = thresholds.get(MIN_CONFIDENCE, 0.0)
        for det in found:
            if det.confidence < floor:
                continue
            det_id = detection_id(run.run_id, det)
            det.details["detection_id"] = det_id
            previous = by_id.get(det_id)
            if previous is None or det.confidence > previous[1].confidence:
                by_id[det_id] = (order, det)
    ordered = sorted(by_id.items(), key=lambda kv: (_first_step(kv[1][1]), kv[1][0], kv[0]))
    return Analysis(detections=[det for _, (_, det) in ordered], errors=errors)


def analyze(run: Run, tenant: TenantThresholds | None = None,
            only: Iterable[str] | None = None) -> list[Detection]:
    """Every detection for ``run``, ordered by first evidence step, then registry order, then id."""
    return analyze_run(run, tenant, only).detections
