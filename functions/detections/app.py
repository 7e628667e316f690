"""Detections: list with the reference's filters, read one, validate; and trace analysis.

GET  /api/v1/tenants/{tenant_id}/detections                      filters: detection_type, validated
     (true|false|none), confidence_min, confidence_max, trace_id, conversation_id, date_from, date_to,
     page, page_size (newest first)
GET  /api/v1/tenants/{tenant_id}/detections/{detection_id}       explanation and evidence
POST /api/v1/tenants/{tenant_id}/detections/{detection_id}/validate   {"is_valid", "feedback"?}
POST /api/v1/tenants/{tenant_id}/traces/{trace_id}/analyze       all detectors; attribution when failed
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant
from mao.api.errors import ApiError, not_found
from mao.api.pagination import PageParams, page_params, paginate

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ValidateBody(BaseModel):
    is_valid: bool = Field(description="true: a real failure (true positive); false: a false positive")
    feedback: str | None = Field(default=None, max_length=4000)


def _bad_query(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", f"{field}: {message}", [{"field": f"query.{field}", "message": message}])


def parse_when(field: str, raw: str | None, *, end_of_day: bool) -> datetime | None:
    """An ISO date or date-time (naive = UTC). A bare date as an upper bound means the whole day."""
    if raw is None or raw == "":
        return None
    try:
        if _DATE_ONLY.match(raw):
            day = datetime.fromisoformat(raw).date()
            when = datetime.combine(day, time.max if end_of_day else time.min)
        else:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise _bad_query(field, "must be an ISO 8601 date or date-time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_validated(raw: str | None) -> tuple[bool | None, bool]:
    """(validated value, only-unvalidated) from true|false|none."""
    if raw is None or raw == "":
        return None, False
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True, False
    if value in ("false", "0", "no"):
        return False, False
    if value in ("none", "null", "unvalidated"):
        return None, True
    raise _bad_query("validated", "must be true, false or none")


def _detection(tenant_id: str, detection_id: str) -> Any:
    from mao.adapters import detections as store

    record = store.get_detection(tenant_id, detection_id) if _ID_RE.match(detection_id) else None
    if record is None:
        raise not_found("detection", detection_id)
    return record


@router.get("/detections")
async def list_detections(
    tenant_id: str,
    page: PageParams = Depends(page_params),
    detection_type: str | None = Query(None, max_length=80),
    validated: str | None = Query(None, max_length=12, description="true | false | none (not yet validated)"),
    confidence_min: float | None = Query(None, ge=0.0, le=1.0),
    confidence_max: float | None = Query(None, ge=0.0, le=1.0),
    trace_id: str | None = Query(None, max_length=128),
    conversation_id: str | None = Query(None, max_length=128),
    date_from: str | None = Query(None, max_length=40),
    date_to: str | None = Query(None, max_length=40),
    _: Principal = Depends(require_tenant),
) -> dict[str, Any]:
    from mao.adapters import detections as store
    from mao.services.analysis import detection_view

    if confidence_min is not None and confidence_max is not None and confidence_min > confidence_max:
        raise _bad_query("confidence_min", "must not exceed confidence_max")
    if trace_id and conversation_id:
        raise _bad_query("trace_id", "filter by trace_id or conversation_id, not both")
    start = parse_when("date_from", date_from, end_of_day=False)
    end = parse_when("date_to", date_to, end_of_day=True)
    if start and end and start > end:
        raise _bad_query("date_from", "must not be after date_to")
    is_valid, unvalidated = parse_validated(validated)
    filters = store.DetectionFilters(
        detection_type=detection_type or None, validated=is_valid, unvalidated=unvalidated,
        confidence_min=confidence_min, confidence_max=confidence_max,
        source_kind="trace" if trace_id else "conversation" if conversation_id else None,
        source_id=trace_id or conversation_id or None, date_from=start, date_to=end)
    query, count, keys = store.list_query(tenant_id, filters)
    return paginate(query, page, detection_view, key_attributes=keys, count=count)


@router.get("/detections/{detection_id}")
async def get_detection(tenant_id: str, detection_id: str,
                        _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.domain.taxonomy import BY_CODE
    from mao.services.analysis import detection_view

    view = detection_view(_detection(tenant_id, detection_id))
    mode = BY_CODE.get(view["f_code"]) if view["f_code"] else None
    view["failure_mode"] = None if mode is None else {
        "code": mode.code, "mast_id": mode.mast_id, "name": mode.name, "category": mode.category,
        "description": mode.description}
    return view


@router.post("/detections/{detection_id}/validate")
async def validate_detection(tenant_id: str, detection_id: str, body: ValidateBody,
                             _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import detections as store
    from mao.services.analysis import detection_view

    _detection(tenant_id, detection_id)
    feedback = body.feedback.strip() if body.feedback and body.feedback.strip() else None
    record = store.validate(tenant_id, detection_id, body.is_valid, feedback)
    if record is None:
        raise not_found("detection", detection_id)
    return detection_view(record)


@router.post("/traces/{trace_id}/analyze")
async def analyze_trace(tenant_id: str, trace_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import analysis

    if not _ID_RE.match(trace_id):
        raise not_found("trace", trace_id)
    try:
        return analysis.analyze_trace(tenant_id, trace_id).to_dict()
    except analysis.SourceNotFound:
        raise not_found("trace", trace_id) from None


app = create_app("detections", [router])
handler = lambda_handler(app)
