"""Tenants, API keys and token exchange.

POST /api/v1/auth/tenants                     (operator) create a tenant, return its first key once
POST /api/v1/auth/token                       exchange an API key for a short-lived JWT
GET|POST|DELETE /api/v1/tenants/{tenant_id}/api-keys[/{prefix}]   list (prefix only), create, revoke
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from mao.adapters import tenants
from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, credentials_from, issue_token, require_operator, require_tenant
from mao.api.errors import ApiError

router = APIRouter(prefix="/api/v1")


class TenantCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    plan: str = Field(default="free", pattern="^(free|pro|team|enterprise)$")


class KeyCreate(BaseModel):
    name: str = Field(default="default", min_length=1, max_length=100)


class TokenRequest(BaseModel):
    api_key: str | None = Field(default=None, max_length=300)


def _key_view(record: tenants.ApiKeyModel) -> dict[str, Any]:
    return {
        "prefix": record.prefix,
        "name": record.name,
        "created_at": record.created_at.isoformat(),
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "status": "revoked" if record.revoked_at else "active",
    }


@router.post("/auth/tenants", status_code=201)
async def create_tenant(body: TenantCreate, _: Principal = Depends(require_operator)) -> dict[str, Any]:
    tenant = tenants.create_tenant(body.name, body.plan)
    new = tenants.create_key(tenant.tenant_id, "initial")
    return {
        "tenant_id": tenant.tenant_id,
        "name": tenant.name,
        "plan": tenant.plan,
        "created_at": tenant.created_at.isoformat(),
        "api_key": new.key,
        "api_key_prefix": new.record.prefix,
        "note": "store the api_key now: it is shown only once",
    }


@router.post("/auth/token")
async def token(request: Request, body: TokenRequest | None = None) -> dict[str, Any]:
    key = (body.api_key if body and body.api_key else None) or credentials_from(request)
    if not key or not key.startswith(tenants.KEY_PREFIX):
        raise ApiError(401, "unauthorized", "send an API key in the body (api_key) or X-MAO-API-Key")
    record = tenants.verify_key(key)
    if record is None:
        raise ApiError(401, "unauthorized", "invalid or revoked API key")
    return issue_token(record)


@router.get("/tenants/{tenant_id}/api-keys")
async def list_keys(tenant_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    keys = [_key_view(r) for r in tenants.list_keys(tenant_id)]
    return {"items": keys, "total": len(keys)}


@router.post("/tenants/{tenant_id}/api-keys", status_code=201)
async def create_key(tenant_id: str, body: KeyCreate | None = None,
                     _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    new = tenants.create_key(tenant_id, body.name if body else "default")
    return {**_key_view(new.record), "api_key": new.key, "note": "store the api_key now: it is shown only once"}


def _revoke(tenant_id: str, prefix: str | None, force: bool) -> dict[str, Any]:
    if not prefix:
        raise ApiError(422, "validation_error", "name the key to revoke by its prefix",
                       [{"field": "prefix", "message": "required"}])
    keys = tenants.list_keys(tenant_id)
    target = next((k for k in keys if k.prefix == prefix), None)
    if target is None:
        raise ApiError(404, "not_found", f"API key {prefix!r} not found")
    active = [k for k in keys if k.revoked_at is None]
    if target.revoked_at is None and len(active) == 1 and not force:
        raise ApiError(409, "conflict", "refusing to revoke the tenant's last active key; "
                       "create another first or pass force=true")
    record = tenants.revoke_key(tenant_id, prefix)
    assert record is not None
    return _key_view(record)


@router.delete("/tenants/{tenant_id}/api-keys")
async def revoke_key_query(tenant_id: str, prefix: str | None = None, force: bool = False,
                           _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    return _revoke(tenant_id, prefix, force)


@router.delete("/tenants/{tenant_id}/api-keys/{prefix}")
async def revoke_key(tenant_id: str, prefix: str, force: bool = False,
                     _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    return _revoke(tenant_id, prefix, force)


app = create_app("auth", [router])
handler = lambda_handler(app)
