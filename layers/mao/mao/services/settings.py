"""Threshold settings: the tenant's overrides of every detector's thresholds.

Effective value = detector/framework default -> tenant global -> tenant framework (resolved by
:mod:`mao.domain.thresholds`). The API accepts detector thresholds directly
(``{"detectors": {"loop": {"min_repeats": 4}}}``) and the reference's named fields, each of which is
one row of ``NAMED_FIELDS``: a name for a set of real detector thresholds. A named field is expanded
into those detector overrides when written, so nothing is stored that no detector reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mao.domain.detectors import registry
from mao.domain.models import FRAMEWORKS
from mao.domain.thresholds import TenantThresholds, ThresholdError, resolve_spec, validate_overrides

Overrides = dict[str, dict[str, float]]


@dataclass(frozen=True, slots=True)
class NamedField:
    description: str
    targets: tuple[tuple[str, str], ...] = ()  # (detector key, threshold name)
    every_detector_with: str | None = None  # or: this threshold on every detector that has it


# The reference's named fields and the detector thresholds each one sets.
NAMED_FIELDS: dict[str, NamedField] = {
    "structural_threshold": NamedField(
        "similarity at which two steps count as the same step (loops, step repetition)",
        (("loop", "similarity"), ("step_repetition", "similarity"))),
    "semantic_threshold": NamedField(
        "similarity at which a message counts as a restatement / re-ask / resubmission",
        (("conversation_reset", "restate_similarity"), ("ignored_input", "resubmit_similarity"),
         ("history_loss", "reask_overlap"))),
    "loop_detection_window": NamedField(
        "steps compared with each step when looking for a loop (longest cycle)", (("loop", "max_period"),)),
    "loop_min_repeats": NamedField("back-to-back repeats that make a loop", (("loop", "min_repeats"),)),
    "confidence_threshold": NamedField(
        "minimum confidence of a detection, on every detector with a confidence gate",
        every_detector_with="min_confidence"),
    "injection_threshold": NamedField("minimum prompt-injection score", (("prompt_injection", "min_score"),)),
    "context_overflow_threshold": NamedField("share of the context window that counts as overflow",
                                             (("context_overflow", "usage_ratio"),)),
    "cost_budget_usd": NamedField("budget of one run in USD", (("cost_overrun", "budget_usd"),)),
    "grounding_threshold": NamedField("grounding score under which a claim is unsupported",
                                      (("grounding_failure", "max_grounding"),)),
}


def named_targets(name: str) -> list[tuple[str, str]]:
    """The (detector, threshold) pairs a named field sets, among the registered detectors."""
    nf = NAMED_FIELDS[name]
    table = registry.by_key()
    if nf.every_detector_with:
        return [(s.key, nf.every_detector_with) for s in registry.specs() if nf.every_detector_with in s.thresholds]
    return [(d, t) for d, t in nf.targets if d in table and t in table[d][0].thresholds]


def named_range(name: str) -> tuple[float, float, bool]:
    """The range every target accepts (intersection) and whether the value must be an integer."""
    lo, hi, integer = -math.inf, math.inf, False
    for det, thr in named_targets(name):
        t = registry.spec(det).thresholds[thr]
        lo, hi, integer = max(lo, t.minimum), min(hi, t.maximum), integer or t.integer
    return lo, hi, integer


class SettingsValidationError(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _number(path: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ThresholdError(path, "must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ThresholdError(path, "must be a number")
    return int(value) if float(value).is_integer() else float(value)


def _apply_named(target: Overrides, name: str, value: Any, path: str) -> None:
    targets = named_targets(name)
    if not targets:
        raise ThresholdError(path, "no registered detector reads this field")
    if value is None:
        for det, thr in targets:
            target.get(det, {}).pop(thr, None)
        return
    number = _number(path, value)
    lo, hi, integer = named_range(name)
    if integer and not float(number).is_integer():
        raise ThresholdError(path, "must be an integer")
    if not lo <= number <= hi:
        raise ThresholdError(path, f"must be between {lo} and {hi}")
    for det, thr in targets:
        target.setdefault(det, {})[thr] = number


def _apply_detectors(target: Overrides, detectors: Any, path: str) -> None:
    if not isinstance(detectors, Mapping):
        raise ThresholdError(path, "must be an object {detector: {threshold: value}}")
    for det, values in detectors.items():
        if values is None:  # reset this detector
            target.pop(det, None)
            continue
        if not isinstance(values, Mapping):
            raise ThresholdError(f"{path}.{det}", "must be an object {threshold: value}")
        for thr, value in values.items():
            if value is None:
                target.get(det, {}).pop(thr, None)
                continue
            number = _number(f"{path}.{det}.{thr}", value)
            validate_overrides({det: {thr: number}}, prefix=f"{path}.")
            target.setdefault(det, {})[thr] = number


def _apply_level(target: Overrides, body: Mapping[str, Any], prefix: str, allow_frameworks: bool,
                 frameworks: dict[str, Overrides]) -> None:
    for key, value in body.items():
        path = f"{prefix}{key}"
        if key in NAMED_FIELDS:
            _apply_named(target, key, value, path)
        elif key == "detectors":
            _apply_detectors(target, value, path)
        elif key == "frameworks" and allow_frameworks:
            if not isinstance(value, Mapping):
                raise ThresholdError(path, "must be an object {framework: {...}}")
            for fw, fw_body in value.items():
                check_framework(fw, f"{path}.{fw}")
                if fw_body is None:
                    frameworks.pop(fw, None)
                    continue
                if not isinstance(fw_body, Mapping):
                    raise ThresholdError(f"{path}.{fw}", "must be an object")
                _apply_level(frameworks.setdefault(fw, {}), fw_body, f"{path}.{fw}.", False, frameworks)
        elif "." in key and key.split(".", 1)[0] in registry.by_key():
            det, thr = key.split(".", 1)
            _apply_detectors(target, {det: {thr: value}}, prefix.rstrip(".") or "detectors")
        else:
            known = sorted([*NAMED_FIELDS, "detectors", *(["frameworks"] if allow_frameworks else [])])
            raise ThresholdError(path, f"unknown field; known: {', '.join(known)} or <detector>.<threshold>")


def check_framework(framework: str, path: str = "framework") -> None:
    if framework not in FRAMEWORKS:
        raise ThresholdError(path, f"unknown framework; known: {', '.join(FRAMEWORKS)}")


def _clean(overrides: Overrides) -> Overrides:
    return {det: dict(values) for det, values in overrides.items() if values}


def apply_changes(current: TenantThresholds, changes: Mapping[str, Any],
                  framework: str | None = None) -> TenantThresholds:
    """``current`` with ``changes`` merged in (a ``null`` value removes an override). ``framework``
    makes the top level of ``changes`` apply to that framework instead of the global level.
    Raises ``ThresholdError`` naming the offending field."""
    if not isinstance(changes, Mapping):
        raise ThresholdError("body", "must be a JSON object")
    glob: Overrides = {d: dict(v) for d, v in current.global_overrides.items()}
    fws: dict[str, Overrides] = {fw: {d: dict(v) for d, v in o.items()}
                                 for fw, o in current.framework_overrides.items()}
    if framework is not None:
        check_framework(framework)
        _apply_level(fws.setdefault(framework, {}), changes, "", False, fws)
    else:
        _apply_level(glob, changes, "", True, fws)
    cleaned = {fw: _clean(o) for fw, o in fws.items()}
    return TenantThresholds(_clean(glob), {fw: o for fw, o in cleaned.items() if o})


def reset(current: TenantThresholds, framework: str | None = None) -> TenantThresholds:
    if framework is None:
        return TenantThresholds()
    check_framework(framework)
    return TenantThresholds(current.global_overrides,
                            {fw: o for fw, o in current.framework_overrides.items() if fw != framework})


def effective(tenant: TenantThresholds | None, framework: str = "unknown") -> dict[str, dict[str, float]]:
    return {spec.key: resolve_spec(spec, framework, tenant) for spec in registry.specs()}


def named_values(values: Mapping[str, Mapping[str, float]]) -> dict[str, float | None]:
    """Each named field's value in ``values``; ``None`` where its targets disagree."""
    out: dict[str, float | None] = {}
    for name in NAMED_FIELDS:
        seen = {values[d][t] for d, t in named_targets(name) if t in values.get(d, {})}
        out[name] = seen.pop() if len(seen) == 1 else None
    return out


def defaults_view(framework: str | None = None) -> dict[str, Any]:
    fw = framework or "unknown"
    check_framework(fw)
    detectors: dict[str, Any] = {}
    for spec in registry.specs():
        fw_defaults = spec.framework_defaults.get(fw, {})
        detectors[spec.key] = {
            name: {"default": fw_defaults.get(name, t.default), "minimum": t.minimum, "maximum": t.maximum,
                   "integer": t.integer, "description": t.description}
            for name, t in spec.thresholds.items()
        }
    eff = effective(None, fw)
    named: dict[str, Any] = {}
    for name, nf in NAMED_FIELDS.items():
        lo, hi, integer = named_range(name)
        named[name] = {"default": named_values(eff)[name], "minimum": lo, "maximum": hi, "integer": integer,
                       "description": nf.description,
                       "targets": [f"{d}.{t}" for d, t in named_targets(name)]}
    return {"framework": fw, "frameworks": list(FRAMEWORKS), "detectors": detectors, "named_fields": named}


def thresholds_view(tenant: TenantThresholds, framework: str | None = None) -> dict[str, Any]:
    fw = framework or "unknown"
    check_framework(fw)
    eff = effective(tenant, fw)
    return {
        "framework": fw,
        "global": {"detectors": _clean({d: dict(v) for d, v in tenant.global_overrides.items()})},
        "frameworks": {f: {"detectors": _clean({d: dict(v) for d, v in o.items()})}
                       for f, o in tenant.framework_overrides.items()},
        "effective": eff,
        "named_fields": named_values(eff),
    }


# ---------------------------------------------------------------- storage-backed operations

def tenant_thresholds(tenant_id: str) -> TenantThresholds:
    """The tenant's stored overrides, as the analysis passes them to every detector."""
    from mao.adapters import settings as store

    stored = store.get_thresholds(tenant_id)
    return TenantThresholds(stored.global_overrides, stored.framework_overrides)


def _save(tenant_id: str, change) -> tuple[TenantThresholds, Any]:
    from mao.adapters import settings as store

    for _ in range(5):  # optimistic concurrency: re-read and re-apply on a conflicting write
        stored = store.get_thresholds(tenant_id)
        new = change(TenantThresholds(stored.global_overrides, stored.framework_overrides))
        try:
            saved = store.put_thresholds(tenant_id, store.StoredThresholds(
                {d: dict(v) for d, v in new.global_overrides.items()},
                {fw: {d: dict(v) for d, v in o.items()} for fw, o in new.framework_overrides.items()},
                version=stored.version))
        except store.ConcurrentUpdate:
            continue
        return new, saved.updated_at
    raise store.ConcurrentUpdate("settings kept changing; retry")


def update_thresholds(tenant_id: str, changes: Mapping[str, Any], framework: str | None = None
                      ) -> TenantThresholds:
    return _save(tenant_id, lambda cur: apply_changes(cur, changes, framework))[0]


def reset_thresholds(tenant_id: str, framework: str | None = None) -> TenantThresholds:
    if framework is not None:
        check_framework(framework)
    return _save(tenant_id, lambda cur: reset(cur, framework))[0]


def preview_thresholds(tenant_id: str, changes: Mapping[str, Any], framework: str | None = None
                       ) -> dict[str, Any]:
    current = tenant_thresholds(tenant_id)
    proposed = apply_changes(current, changes, framework)
    view = thresholds_view(proposed, framework)
    before = effective(current, view["framework"])
    view["changed"] = {
        f"{d}.{t}": {"current": before[d][t], "proposed": v}
        for d, values in view["effective"].items() for t, v in values.items() if before[d][t] != v
    }
    view["persisted"] = False
    return view
