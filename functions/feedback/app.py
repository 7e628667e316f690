"""Feedback on detection accuracy.

POST /api/v1/tenants/{tenant_id}/feedback                   submit a verdict on a detection (201)
GET  /api/v1/tenants/{tenant_id}/feedback                   list verdicts, newest first (paginated)
GET  /api/v1/tenants/{tenant_id}/feedback/stats             precision, recall, F1 per detection type
GET  /api/v1/tenants/{tenant_id}/feedback/recommendations   threshold changes the feedback supports
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant
from mao.api.errors import ApiError
from mao.api.pagination import PageParams, page_params, paginate
from mao.domain.thresholds import ThresholdError
from mao.services import feedback as svc

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/feedback")

FeedbackType = Literal["true_positive", "false_positive", "true_negative", "false_negative"]


class FeedbackIn(BaseModel):
    detection_id: str = Field(min_length=1, max_length=200)
    feedback_type: FeedbackType
    comment: str | None = Field(default=None, max_length=4000)


@router.post("", status_code=201)
async def submit(tenant_id: str, body: FeedbackIn, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    try:
        view, replaced = svc.submit(tenant_id, body.detection_id, body.feedback_type, body.comment)
    except svc.DetectionNotFound:
        raise ApiError(404, "not_found", f"detection {body.detection_id!r} not found") from None
    return {**view, "replaced_earlier_feedback": replaced}


@router.get("")
async def list_feedback(tenant_id: str, params: PageParams = Depends(page_params),
                        detection_type: str | None = Query(None, max_length=100),
                        feedback_type: FeedbackType | None = None,
                        _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import feedback as store

    query, count, keys = store.list_query(tenant_id, detection_type, feedback_type)
    return paginate(query, params, svc.feedback_view, key_attributes=keys, count=count)


@router.get("/stats")
async def stats(tenant_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    return svc.stats(tenant_id)


@router.get("/recommendations")
async def recommendations(tenant_id: str, objective: Literal["f1", "precision"] = "f1",
                          min_recall: float = Query(0.8, ge=0.0, le=1.0),
                          framework: str | None = Query(None, max_length=40),
                          detection_type: str | None = Query(None, max_length=100),
                          _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    try:
        return svc.recommendations(tenant_id, objective=objective, min_recall=min_recall, framework=framework,
                                   detection_type=detection_type)
    except ThresholdError as err:
        raise ApiError(422, "validation_error", str(err), [{"field": err.field, "message": err.message}]) from None


app = create_app("feedback", [router], max_body_bytes=16 * 1024)
handler = lambda_handler(app)
