"""Fix suggestions for a detection, and recording that one was applied.

GET  /api/v1/tenants/{tenant_id}/detections/{detection_id}/fixes
POST /api/v1/tenants/{tenant_id}/detections/{detection_id}/fixes/{fix_id}/apply
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant
from mao.api.errors import ApiError

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/detections/{detection_id}/fixes")


class ApplyBody(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
    applied_by: str | None = Field(default=None, max_length=200, description="who applied it (default: the caller)")
    target: dict[str, Any] | None = Field(default=None, description="where it was applied, free-form")


def caller(principal: Principal) -> str:
    return f"key:{principal.key_prefix}" if principal.key_prefix else principal.kind


def _not_found(exc: Exception) -> ApiError:
    return ApiError(404, "not_found", str(exc))


@router.get("")
async def list_fixes(tenant_id: str, detection_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    try:
        info, fixes = healing.list_fixes(tenant_id, detection_id)
    except healing.NotFound as exc:
        raise _not_found(exc) from None
    return {"detection_id": detection_id, "detection_type": info.ref.type, "f_code": info.ref.f_code,
            "framework": info.ref.framework, "items": [f.to_dict() for f in fixes], "total": len(fixes)}


@router.post("/{fix_id}/apply", status_code=201)
async def apply_fix(tenant_id: str, detection_id: str, fix_id: str, body: ApplyBody | None = None,
                    principal: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    body = body or ApplyBody()
    try:
        record = healing.apply_fix(tenant_id, detection_id, fix_id, body.applied_by or caller(principal),
                                   body.note, body.target)
    except healing.NotFound as exc:
        raise _not_found(exc) from None
    return healing.history_view(record)


app = create_app("fixes", [router])
handler = lambda_handler(app)
