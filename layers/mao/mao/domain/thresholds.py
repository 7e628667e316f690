"""The one settings interface through which every detector gets its thresholds.

Effective value, per detector and threshold name:
    detector default -> framework default (from the detector's SPEC)
    -> tenant global override -> tenant per-framework override.

Tenant overrides are plain mappings ``{detector_key: {threshold_name: value}}`` as stored by the
settings API; this module only resolves and validates them, it never reads storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mao.domain.detectors import registry
from mao.domain.detectors.base import DetectorSpec

Overrides = Mapping[str, Mapping[str, float]]


class ThresholdError(ValueError):
    """An override names an unknown detector/threshold or lies outside its range."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field = field_path
        self.message = message


@dataclass(frozen=True, slots=True)
class TenantThresholds:
    global_overrides: Overrides = field(default_factory=dict)
    framework_overrides: Mapping[str, Overrides] = field(default_factory=dict)


def validate_overrides(overrides: Overrides, prefix: str = "") -> None:
    for det_key, values in overrides.items():
        try:
            spec = registry.spec(det_key)
        except KeyError:
            raise ThresholdError(f"{prefix}{det_key}", "unknown detector") from None
        for name, value in values.items():
            path = f"{prefix}{det_key}.{name}"
            t = spec.thresholds.get(name)
            if t is None:
                raise ThresholdError(path, f"unknown threshold; known: {', '.join(sorted(spec.thresholds))}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ThresholdError(path, "must be a number")
            if t.integer and float(value) != int(value):
                raise ThresholdError(path, "must be an integer")
            if not t.minimum <= value <= t.maximum:
                raise ThresholdError(path, f"must be between {t.minimum} and {t.maximum}")


def resolve(detector_key: str, framework: str = "unknown",
            tenant: TenantThresholds | None = None) -> dict[str, float]:
    return resolve_spec(registry.spec(detector_key), framework, tenant)


def resolve_spec(spec: DetectorSpec, framework: str = "unknown",
                 tenant: TenantThresholds | None = None) -> dict[str, float]:
    """``resolve`` for a spec already in hand (no registry lookup)."""
    values: dict[str, float] = {name: t.default for name, t in spec.thresholds.items()}
    values.update(spec.framework_defaults.get(framework, {}))
    if tenant is not None:
        values.update(tenant.global_overrides.get(spec.key, {}))
        values.update(tenant.framework_overrides.get(framework, {}).get(spec.key, {}))
    return values


def defaults(framework: str | None = None) -> dict[str, dict[str, float]]:
    """Every detector's effective defaults (for a framework, if given)."""
    return {s.key: resolve(s.key, framework or "unknown") for s in registry.specs()}
