"""Detections (and the last analysis of each trace or conversation) in DynamoDB.

A detection item is keyed ``(tenant_id, detection_id)``; its id is deterministic (run, type, evidence),
so re-analysing a source writes the same keys again. Three indexes serve the list filters, each sorted
by ``created_key`` (creation time then id) so every listing is newest first and date ranges are key
conditions: ``by_created`` (all of a tenant's), ``by_type`` (``tenant#type``) and ``by_source``
(``tenant#kind#id``). Validation (``validated``, feedback, time) is stored on the detection and survives
re-analysis of its source.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from mao.adapters.conversations import created_key
from mao.adapters.dynamo import bound_model, region, utcnow
from mao.domain.models import Detection

SourceKind = Literal["trace", "conversation"]
SOURCE_KINDS: tuple[str, ...] = ("trace", "conversation")
MAX_QUOTE_CHARS = 2000
MAX_EVIDENCE = 50
MAX_DETAILS_CHARS = 50_000


class DetectionsByCreated(GlobalSecondaryIndex["DetectionModel"]):
    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class DetectionsByType(GlobalSecondaryIndex["DetectionModel"]):
    class Meta:
        index_name = "by_type"
        projection = AllProjection()

    type_key = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class DetectionsBySource(GlobalSecondaryIndex["DetectionModel"]):
    class Meta:
        index_name = "by_source"
        projection = AllProjection()

    source_key = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


@bound_model("MAO_DETECTIONS_TABLE", "mao-detections")
class DetectionModel(Model):
    class Meta:
        table_name = "mao-detections"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    detection_id = UnicodeAttribute(range_key=True)
    created_key = UnicodeAttribute()
    type_key = UnicodeAttribute()
    source_key = UnicodeAttribute()
    source_kind = UnicodeAttribute()
    source_id = UnicodeAttribute()
    detection_type = UnicodeAttribute()
    f_code = UnicodeAttribute(null=True)
    confidence = NumberAttribute()
    severity = UnicodeAttribute()
    explanation = UnicodeAttribute()
    evidence = JSONAttribute(default=list)
    details = JSONAttribute(default=dict)
    detector_version = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    analyzed_at = UTCDateTimeAttribute()
    validated = BooleanAttribute(null=True)
    validation_feedback = UnicodeAttribute(null=True)
    validated_at = UTCDateTimeAttribute(null=True)
    by_created = DetectionsByCreated()
    by_type = DetectionsByType()
    by_source = DetectionsBySource()


@bound_model("MAO_ANALYSES_TABLE", "mao-analyses")
class AnalysisModel(Model):
    """The last analysis of one source: which detections it produced, attribution, detector errors."""

    class Meta:
        table_name = "mao-analyses"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    source = UnicodeAttribute(range_key=True)  # "<kind>#<id>"
    analyzed_at = UTCDateTimeAttribute()
    detection_ids = ListAttribute(of=UnicodeAttribute, default=list)
    failed = BooleanAttribute(default=False)
    failure_reasons = ListAttribute(of=UnicodeAttribute, default=list)
    attribution = JSONAttribute(null=True)
    errors = JSONAttribute(default=dict)
    thresholds_digest = UnicodeAttribute(null=True)


def type_key(tenant_id: str, detection_type: str) -> str:
    return f"{tenant_id}#{detection_type}"


def source_key(tenant_id: str, kind: str, source_id: str) -> str:
    return f"{tenant_id}#{kind}#{source_id}"


# --- reads ---------------------------------------------------------------------------------------


def get_detection(tenant_id: str, detection_id: str) -> DetectionModel | None:
    try:
        return DetectionModel.get(tenant_id, detection_id)
    except DoesNotExist:
        return None


def for_source(tenant_id: str, kind: str, source_id: str) -> list[DetectionModel]:
    """A source's detections, oldest first."""
    return list(DetectionModel.by_source.query(source_key(tenant_id, kind, source_id)))


def list_for_tenant(tenant_id: str, *, since: datetime | None = None, until: datetime | None = None,
                    detection_type: str | None = None) -> Iterator[DetectionModel]:
    """Every detection of a tenant (optionally of one type and in a time window), newest first."""
    condition = _date_condition(since, until)
    if detection_type:
        return DetectionModel.by_type.query(type_key(tenant_id, detection_type), condition,
                                            scan_index_forward=False)
    return DetectionModel.by_created.query(tenant_id, condition, scan_index_forward=False)


@dataclass(frozen=True, slots=True)
class DetectionFilters:
    detection_type: str | None = None
    validated: bool | None = None
    unvalidated: bool = False  # validated is unset (neither confirmed nor rejected)
    confidence_min: float | None = None
    confidence_max: float | None = None
    source_kind: str | None = None
    source_id: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None  # inclusive


def _date_condition(date_from: datetime | None, date_to: datetime | None) -> Condition | None:
    key = DetectionModel.created_key
    low = created_key(date_from, "") if date_from else None
    high = created_key(date_to, "~") if date_to else None  # '~' sorts after every id character
    if low and high:
        return key.between(low, high)
    if low:
        return key >= low
    if high:
        return key <= high
    return None


def _and(conditions: Iterable[Condition | None]) -> Condition | None:
    out: Condition | None = None
    for cond in conditions:
        if cond is not None:
            out = cond if out is None else out & cond
    return out


def list_query(tenant_id: str, filters: DetectionFilters):
    """(query factory, count, key attributes) for :func:`mao.api.pagination.paginate`, newest first.

    The most selective index serves the query (source, then type, then all); the other filters are
    filter conditions on it.
    """
    f = filters
    range_cond = _date_condition(f.date_from, f.date_to)
    extra: list[Condition | None] = []
    if f.confidence_min is not None:
        extra.append(DetectionModel.confidence >= f.confidence_min)
    if f.confidence_max is not None:
        extra.append(DetectionModel.confidence <= f.confidence_max)
    if f.validated is not None:
        extra.append(DetectionModel.validated == f.validated)
    elif f.unvalidated:
        extra.append(DetectionModel.validated.does_not_exist())
    if f.source_id is not None:
        kinds = [f.source_kind] if f.source_kind else list(SOURCE_KINDS)
        index: Any = DetectionModel.by_source
        hashes = [source_key(tenant_id, k, f.source_id) for k in kinds]
        if f.detection_type:
            extra.append(DetectionModel.detection_type == f.detection_type)
        keys = ("tenant_id", "detection_id", "source_key", "created_key")
    elif f.detection_type:
        index, hashes = DetectionModel.by_type, [type_key(tenant_id, f.detection_type)]
        if f.source_kind:
            extra.append(DetectionModel.source_kind == f.source_kind)
        keys = ("tenant_id", "detection_id", "type_key", "created_key")
    else:
        index, hashes = DetectionModel.by_created, [tenant_id]
        if f.source_kind:
            extra.append(DetectionModel.source_kind == f.source_kind)
        keys = ("tenant_id", "detection_id", "created_key")
    filter_cond = _and(extra)
    if len(hashes) > 1:  # a source id without its kind: one id names one source in practice
        hashes = [h for h in hashes if _exists(index, h)] or hashes[:1]
    hash_key = hashes[0]

    def query(limit: int | None, start: dict[str, Any] | None) -> Any:
        return index.query(hash_key, range_cond, filter_cond, scan_index_forward=False, limit=limit,
                           last_evaluated_key=start)

    def count() -> int:
        return index.count(hash_key, range_cond, filter_cond)

    return query, count, keys


def _exists(index: Any, hash_key: str) -> bool:
    return next(iter(index.query(hash_key, limit=1)), None) is not None


# --- writes --------------------------------------------------------------------------------------


def _bounded_evidence(detection: Detection) -> list[dict[str, Any]]:
    out = []
    for ev in detection.evidence[:MAX_EVIDENCE]:
        item = ev.to_dict()
        if isinstance(item.get("quote"), str) and len(item["quote"]) > MAX_QUOTE_CHARS:
            item["quote"] = item["quote"][:MAX_QUOTE_CHARS] + "…"
        out.append(item)
    return out


def _bounded_details(details: dict[str, Any]) -> dict[str, Any]:
    """Details as JSON-safe data, at most ``MAX_DETAILS_CHARS`` serialised; oversized values are dropped
    and named under ``truncated``."""
    safe = json.loads(json.dumps(details, default=str))
    if len(json.dumps(safe)) <= MAX_DETAILS_CHARS:
        return safe
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    size = 0
    for key, value in safe.items():
        n = len(json.dumps(value))
        if size + n > MAX_DETAILS_CHARS // 2:
            dropped.append(key)
            continue
        kept[key] = value
        size += n
    kept["truncated"] = dropped
    return kept


def _content_actions(detection: Detection, now: datetime) -> dict[str, Any]:
    return {
        "detection_type": detection.type,
        "f_code": detection.f_code,
        "confidence": round(float(detection.confidence), 6),
        "severity": detection.severity,
        "explanation": detection.explanation,
        "evidence": _bounded_evidence(detection),
        "details": _bounded_details(detection.details),
        "detector_version": detection.detector_version,
        "analyzed_at": now,
    }


@dataclass(slots=True)
class Replaced:
    records: list[DetectionModel]  # the source's detections now, in the order given
    created: int
    updated: int
    deleted: int


def replace_for_source(tenant_id: str, kind: str, source_id: str,
                       detections: Sequence[tuple[str, Detection]], now: datetime | None = None) -> Replaced:
    """Make ``detections`` (id, detection) the source's detections: new ids are put, ids seen before
    keep their creation time and validation and get the new content, ids no longer found are deleted.
    """
    now = now or utcnow()
    existing = {r.detection_id: r for r in for_source(tenant_id, kind, source_id)}
    wanted_ids = {det_id for det_id, _ in detections}
    records: list[DetectionModel] = []
    created = updated = 0
    with DetectionModel.batch_write() as batch:
        for det_id, det in detections:
            previous = existing.get(det_id) or get_detection(tenant_id, det_id)
            content = _content_actions(det, now)
            if previous is not None:
                created_at = previous.created_at
                keep = {"validated": previous.validated, "validation_feedback": previous.validation_feedback,
                        "validated_at": previous.validated_at}
                updated += 1
            else:
                created_at, keep = now, {}
                created += 1
            record = DetectionModel(
                tenant_id, det_id,
                created_key=created_key(created_at, det_id),
                type_key=type_key(tenant_id, det.type),
                source_key=source_key(tenant_id, kind, source_id),
                source_kind=kind, source_id=source_id, created_at=created_at, **content, **keep)
            batch.save(record)
            records.append(record)
        stale = [r for det_id, r in existing.items() if det_id not in wanted_ids]
        for record in stale:
            batch.delete(record)
    return Replaced(records, created, updated, len(stale))


def validate(tenant_id: str, detection_id: str, is_valid: bool, feedback: str | None,
             now: datetime | None = None) -> DetectionModel | None:
    """Record a user's verdict on a detection; None when the tenant has no such detection."""
    record = get_detection(tenant_id, detection_id)
    if record is None:
        return None
    when = now or utcnow()
    actions = [DetectionModel.validated.set(is_valid), DetectionModel.validated_at.set(when)]
    actions.append(DetectionModel.validation_feedback.set(feedback) if feedback
                   else DetectionModel.validation_feedback.remove())
    try:
        record.update(actions=actions, condition=DetectionModel.detection_id.exists())
    except UpdateError as exc:
        if "ConditionalCheckFailed" in repr(exc):  # deleted by a re-analysis meanwhile
            return None
        raise
    return record


# --- analyses ------------------------------------------------------------------------------------


def analysis_source(kind: str, source_id: str) -> str:
    return f"{kind}#{source_id}"


def put_analysis(record: AnalysisModel) -> None:
    record.save()


def get_analysis(tenant_id: str, kind: str, source_id: str) -> AnalysisModel | None:
    try:
        return AnalysisModel.get(tenant_id, analysis_source(kind, source_id))
    except DoesNotExist:
        return None


def delete_for_source(tenant_id: str, kind: str, source_id: str) -> int:
    """Remove a trace's or conversation's detections and its last analysis; the number removed."""
    found = for_source(tenant_id, kind, source_id)
    with DetectionModel.batch_write() as batch:
        for record in found:
            batch.delete(record)
    AnalysisModel(tenant_id, analysis_source(kind, source_id)).delete()
    return len(found)
