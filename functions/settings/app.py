"""Detection threshold settings.

GET|PUT|DELETE /api/v1/tenants/{tenant_id}/settings/thresholds   current, update (merge), reset
GET /api/v1/tenants/{tenant_id}/settings/thresholds/defaults      defaults and ranges (public)
GET /api/v1/tenants/{tenant_id}/settings/thresholds/preview       effective values with changes applied
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant
from mao.api.errors import ApiError
from mao.domain.thresholds import ThresholdError
from mao.services import settings as svc

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/settings/thresholds")

_FRAMEWORK = Query(None, max_length=40, description="a framework: per-framework overrides and effective values")


def _invalid(err: ThresholdError) -> ApiError:
    return ApiError(422, "validation_error", str(err), [{"field": err.field, "message": err.message}])


def _view(tenant_id: str, tenant: Any, framework: str | None) -> dict[str, Any]:
    return {"tenant_id": tenant_id, **svc.thresholds_view(tenant, framework)}


@router.get("/defaults")
async def get_defaults(tenant_id: str, framework: str | None = _FRAMEWORK) -> dict[str, Any]:
    try:
        return svc.defaults_view(framework)
    except ThresholdError as err:
        raise _invalid(err) from None


@router.get("/preview")
async def preview(tenant_id: str, request: Request, framework: str | None = _FRAMEWORK,
                  changes: str | None = Query(None, max_length=20_000,
                                              description="proposed changes as JSON, same shape as the PUT body"),
                  _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    proposed: dict[str, Any] = {}
    if changes:
        try:
            proposed = json.loads(changes)
        except ValueError:
            raise ApiError(422, "validation_error", "changes must be JSON",
                           [{"field": "changes", "message": "invalid JSON"}]) from None
        if not isinstance(proposed, dict):
            raise ApiError(422, "validation_error", "changes must be a JSON object",
                           [{"field": "changes", "message": "must be an object"}])
    for key, value in request.query_params.items():
        if key not in ("framework", "changes"):
            proposed[key] = value  # named fields and <detector>.<threshold>, as numbers in text
    try:
        return {"tenant_id": tenant_id, **svc.preview_thresholds(tenant_id, proposed, framework)}
    except ThresholdError as err:
        raise _invalid(err) from None


@router.get("")
async def get_thresholds(tenant_id: str, framework: str | None = _FRAMEWORK,
                         _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    try:
        return _view(tenant_id, svc.tenant_thresholds(tenant_id), framework)
    except ThresholdError as err:
        raise _invalid(err) from None


@router.put("")
async def put_thresholds(tenant_id: str, request: Request, framework: str | None = _FRAMEWORK,
                         _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ApiError(422, "validation_error", "body must be JSON",
                       [{"field": "body", "message": "invalid JSON"}]) from None
    try:
        updated = svc.update_thresholds(tenant_id, body, framework)
        return _view(tenant_id, updated, framework)
    except ThresholdError as err:
        raise _invalid(err) from None


@router.delete("")
async def delete_thresholds(tenant_id: str, framework: str | None = _FRAMEWORK,
                            _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    try:
        return _view(tenant_id, svc.reset_thresholds(tenant_id, framework), framework)
    except ThresholdError as err:
        raise _invalid(err) from None


app = create_app("settings", [router], max_body_bytes=64 * 1024)
handler = lambda_handler(app)
