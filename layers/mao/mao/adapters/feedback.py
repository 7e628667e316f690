"""Feedback on detections in DynamoDB.

Key: (tenant_id, detection_id): one current verdict per detection, so a resubmission replaces the
earlier verdict instead of counting twice. ``feedback_id`` (time-sortable) keys the ``by_time`` index
for newest-first listing. The detection's type and confidence are copied in when the feedback is
given, so statistics and recommendations never need to read the detections again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from mao.adapters.dynamo import bound_model, region, sortable_id, utcnow


class FeedbackByTime(GlobalSecondaryIndex["FeedbackModel"]):
    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    feedback_id = UnicodeAttribute(range_key=True)


@bound_model("MAO_FEEDBACK_TABLE", "mao-feedback")
class FeedbackModel(Model):
    class Meta:
        table_name = "mao-feedback"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    detection_id = UnicodeAttribute(range_key=True)
    feedback_id = UnicodeAttribute()
    feedback_type = UnicodeAttribute()
    comment = UnicodeAttribute(null=True)
    detection_type = UnicodeAttribute()
    confidence = NumberAttribute()
    source_kind = UnicodeAttribute(null=True)
    source_id = UnicodeAttribute(null=True)
    origin = UnicodeAttribute(default="feedback")  # feedback | validation
    created_at = UTCDateTimeAttribute()
    by_time = FeedbackByTime()


def new_feedback_id(now: datetime | None = None) -> str:
    return sortable_id("fb", now.timestamp() if now else None)


def get(tenant_id: str, detection_id: str) -> FeedbackModel | None:
    try:
        return FeedbackModel.get(tenant_id, detection_id, consistent_read=True)
    except DoesNotExist:
        return None


def put(tenant_id: str, detection_id: str, *, feedback_type: str, comment: str | None, detection_type: str,
        confidence: float, source_kind: str | None, source_id: str | None,
        origin: str = "feedback") -> FeedbackModel:
    now = utcnow()
    item = FeedbackModel(tenant_id, detection_id, feedback_id=new_feedback_id(now), feedback_type=feedback_type,
                         comment=comment or None, detection_type=detection_type, confidence=float(confidence),
                         source_kind=source_kind, source_id=source_id, origin=origin, created_at=now)
    item.save()
    return item


def list_query(tenant_id: str, detection_type: str | None = None, feedback_type: str | None = None):
    """(query factory, count, key attributes) for ``mao.api.pagination.paginate``, newest first."""
    cond = None
    if detection_type is not None:
        cond = FeedbackModel.detection_type == detection_type
    if feedback_type is not None:
        ft = FeedbackModel.feedback_type == feedback_type
        cond = ft if cond is None else cond & ft

    def query(limit: int | None, start: dict[str, Any] | None) -> Any:
        return FeedbackModel.by_time.query(tenant_id, filter_condition=cond, scan_index_forward=False,
                                           limit=limit, last_evaluated_key=start)

    def count() -> int:
        return FeedbackModel.by_time.count(tenant_id, filter_condition=cond)

    return query, count, ("tenant_id", "detection_id", "feedback_id")


def iter_all(tenant_id: str) -> Iterator[FeedbackModel]:
    """Every feedback item of the tenant, streamed page by page."""
    return iter(FeedbackModel.query(tenant_id))
