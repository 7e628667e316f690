"""Feedback on detections: submit, list, statistics and threshold recommendations.

A verdict given through ``POST /detections/{id}/validate`` counts as feedback too: a validated
detection without a feedback item is read as a true positive (valid) or a false positive (invalid).
Feedback of ``true_positive`` / ``false_positive`` also marks the detection validated, so the two
views of the same verdict never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from mao.domain import recommendations as rec
from mao.domain.detectors import registry
from mao.domain.thresholds import resolve_spec


class DetectionNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Label:
    detection_id: str
    detection_type: str
    confidence: float
    feedback_type: str


def feedback_view(item: Any) -> dict[str, Any]:
    return {
        "feedback_id": item.feedback_id,
        "detection_id": item.detection_id,
        "feedback_type": item.feedback_type,
        "comment": item.comment,
        "detection_type": item.detection_type,
        "confidence": float(item.confidence),
        "trace_id": item.source_id if item.source_kind == "trace" else None,
        "source_kind": item.source_kind,
        "source_id": item.source_id,
        "origin": item.origin,
        "created_at": item.created_at.isoformat(),
    }


def submit(tenant_id: str, detection_id: str, feedback_type: str, comment: str | None) -> tuple[dict[str, Any], bool]:
    """Store the verdict (replacing an earlier one on the same detection). Returns (view, replaced)."""
    from mao.adapters import detections
    from mao.adapters import feedback as store

    if feedback_type not in rec.FEEDBACK_TYPES:
        raise ValueError(f"feedback_type must be one of {', '.join(rec.FEEDBACK_TYPES)}")
    detection = detections.get_detection(tenant_id, detection_id)
    if detection is None:
        raise DetectionNotFound(detection_id)
    replaced = store.get(tenant_id, detection_id) is not None
    item = store.put(tenant_id, detection_id, feedback_type=feedback_type, comment=comment,
                     detection_type=detection.detection_type, confidence=float(detection.confidence),
                     source_kind=detection.source_kind, source_id=detection.source_id)
    if feedback_type in ("true_positive", "false_positive"):
        detections.validate(tenant_id, detection_id, feedback_type == "true_positive", comment)
    return feedback_view(item), replaced


def labels(tenant_id: str) -> Iterator[Label]:
    """Every labelled detection once: feedback items, then validated detections without feedback."""
    from mao.adapters import detections
    from mao.adapters import feedback as store

    seen: set[str] = set()
    for item in store.iter_all(tenant_id):
        seen.add(item.detection_id)
        yield Label(item.detection_id, item.detection_type, float(item.confidence), item.feedback_type)
    for valid in (True, False):
        query, _count, _keys = detections.list_query(tenant_id, detections.DetectionFilters(validated=valid))
        for record in query(None, None):
            if record.detection_id not in seen:
                yield Label(record.detection_id, record.detection_type, float(record.confidence),
                            "true_positive" if valid else "false_positive")


def stats(tenant_id: str) -> dict[str, Any]:
    return rec.stats((label.detection_type, label.feedback_type) for label in labels(tenant_id))


def recommendations(tenant_id: str, *, objective: Literal["f1", "precision"] = "f1", min_recall: float = 0.8,
                    framework: str | None = None, detection_type: str | None = None) -> dict[str, Any]:
    """Per detector with feedback: the confidence gate the feedback favours, against the current one."""
    from mao.services.settings import check_framework, tenant_thresholds

    fw = framework or "unknown"
    check_framework(fw)
    tenant = tenant_thresholds(tenant_id)
    samples: dict[str, list[rec.Sample]] = {}
    for label in labels(tenant_id):
        if detection_type is None or label.detection_type == detection_type:
            samples.setdefault(label.detection_type, []).append(rec.Sample(label.confidence, label.feedback_type))
    table = registry.by_key()
    items: list[dict[str, Any]] = []
    for det_type in sorted(samples):
        if det_type not in table:
            continue  # feedback on a detector that no longer exists
        spec = table[det_type][0]
        knob = rec.confidence_knob(spec.thresholds)
        current = resolve_spec(spec, fw, tenant).get(knob) if knob else None
        bounds = (spec.thresholds[knob].minimum, spec.thresholds[knob].maximum) if knob else (0.0, 1.0)
        result = rec.recommend(det_type, knob, current, bounds, samples[det_type], objective=objective,
                               min_recall=min_recall).to_dict()
        if result["action"] == "raise":
            result["apply"] = {"method": "PUT", "body": {"detectors": {det_type: {knob: result["recommended_value"]}}},
                               **({"framework": framework} if framework else {})}
        items.append(result)
    return {"framework": fw, "objective": objective, "min_recall": min_recall, "items": items,
            "total": len(items)}
