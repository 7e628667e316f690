"""Tenant analytics.

GET /api/v1/tenants/{tenant_id}/analytics/loops     loops by method, affected agents, daily series
GET /api/v1/tenants/{tenant_id}/analytics/cost      cost by framework and model, daily trend
GET /api/v1/tenants/{tenant_id}/analytics/quality   score distribution, grades (A-F), daily trend
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant
from mao.services import analytics as svc

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/analytics")

_DAYS = Query(30, ge=1, le=365, description="window in days, ending now")


@router.get("/loops")
async def loops(tenant_id: str, days: int = _DAYS, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    return svc.loops(tenant_id, days)


@router.get("/cost")
async def cost(tenant_id: str, days: int = _DAYS, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    return svc.cost(tenant_id, days)


@router.get("/quality")
async def quality(tenant_id: str, days: int = _DAYS, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    return svc.quality(tenant_id, days)


app = create_app("analytics", [router])
handler = lambda_handler(app)
