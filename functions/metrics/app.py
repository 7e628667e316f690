"""Metrics export: the caller's own series (an operator credential reads every tenant's).

GET  /api/v1/metrics                     Prometheus text exposition
GET  /api/v1/metrics/json                the same as JSON
POST /api/v1/metrics/datadog/flush       send the series to Datadog (409 when no key is configured)
GET  /api/v1/metrics/datadog/dashboard   an importable Datadog dashboard for these metrics
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, authenticate
from mao.services import metrics

router = APIRouter(prefix="/api/v1/metrics")
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _scope(principal: Principal) -> str | None:
    """None (every tenant) for operators, else the caller's tenant."""
    return None if principal.is_operator else principal.tenant_id


@router.get("", response_class=Response,
            responses={200: {"description": "Prometheus text exposition format",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def prometheus(principal: Principal = Depends(authenticate)) -> Response:
    body = metrics.prometheus_text(_scope(principal))
    return Response(body, media_type=PROMETHEUS_CONTENT_TYPE)


@router.get("/json")
async def as_json(principal: Principal = Depends(authenticate)) -> dict[str, Any]:
    return metrics.as_json(_scope(principal))


@router.post("/datadog/flush")
async def datadog_flush(principal: Principal = Depends(authenticate)) -> dict[str, Any]:
    return await run_in_threadpool(metrics.datadog_flush, _scope(principal))


@router.get("/datadog/dashboard")
async def datadog_dashboard(principal: Principal = Depends(authenticate)) -> dict[str, Any]:
    return metrics.datadog_dashboard(_scope(principal))


app = create_app("metrics", [router])
handler = lambda_handler(app)
