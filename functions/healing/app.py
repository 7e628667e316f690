"""Healing operations: create from a detection and a fix, approve, execute, roll back, list, history;
plus the tenant's healing policy, webhook targets and the per-agent configuration store.

Prefix /api/v1/tenants/{tenant_id}/healing:
POST operations                       create {detection_id, fix_id, target} (an addition to the reference)
GET  operations                       filters status, fix_type, page, page_size
GET  operations/{id}                  plan, target, snapshot, status history
POST operations/{id}/approve|execute|rollback|reject
GET  history                          every applied fix (by hand or by an operation)
GET|PUT policy                        auto-approved risk levels, max auto-executions per hour, cooldown
POST|GET webhooks                     register / list webhook targets (secret shown once)
GET|PUT agent-configs/{agent_id}      versioned per-agent configuration (?version=N to read an old one)
GET  agent-configs/{agent_id}/versions
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant
from mao.api.errors import ApiError
from mao.api.pagination import PageParams, page_params, paginate
from mao.domain.fixes.states import STATUSES, IllegalTransition

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/healing")
ID = r"^[A-Za-z0-9_\-]{1,100}$"


class N8nTarget(BaseModel):
    type: Literal["n8n"]
    base_url: str = Field(max_length=2048)
    workflow_id: str = Field(pattern=ID)
    api_key: str | None = Field(default=None, max_length=1000)


class WebhookTarget(BaseModel):
    type: Literal["webhook"]
    webhook_id: str = Field(pattern=ID)


class AgentConfigTarget(BaseModel):
    type: Literal["agent_config"]
    agent_id: str = Field(min_length=1, max_length=200)


Target = Annotated[N8nTarget | WebhookTarget | AgentConfigTarget, Field(discriminator="type")]


class OperationCreate(BaseModel):
    detection_id: str = Field(min_length=1, max_length=200)
    fix_id: str = Field(pattern=r"^fix_[0-9a-f]{20}$")
    target: Target


class RejectBody(BaseModel):
    reason: str | None = Field(default=None, max_length=1000)


class PolicyBody(BaseModel):
    auto_approve_risks: list[Literal["low", "medium", "high"]] = Field(default_factory=list)
    max_auto_per_hour: int = Field(default=5, ge=0, le=10_000)
    cooldown_seconds: int = Field(default=3600, ge=0, le=30 * 86400)


class WebhookCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=8, max_length=2048)


class AgentConfigPut(BaseModel):
    config: dict[str, Any]
    expected_version: int | None = Field(default=None, ge=0)


def _who(principal: Principal) -> str:
    return f"key:{principal.key_prefix}" if principal.key_prefix else principal.kind


def _errors(exc: Exception) -> ApiError:
    from mao.adapters.agent_config import VersionConflict
    from mao.services import healing

    if isinstance(exc, healing.NotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, IllegalTransition):
        return ApiError(409, "conflict", str(exc), {"status": exc.current, "requested": exc.target})
    if isinstance(exc, VersionConflict):
        return ApiError(409, "conflict", str(exc))
    if isinstance(exc, healing.InvalidTarget):
        return ApiError(422, "validation_error", str(exc), [{"field": "target", "message": str(exc)}])
    raise exc


def _call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        raise _errors(exc) from None


@router.post("/operations", status_code=201)
async def create_operation(tenant_id: str, body: OperationCreate,
                           principal: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    op = _call(healing.create_operation, tenant_id, body.detection_id, body.fix_id, body.target.model_dump(),
               _who(principal))
    return healing.operation_view(op)


@router.get("/operations")
async def list_operations(tenant_id: str, status: str | None = Query(None, max_length=40),
                          fix_type: str | None = Query(None, max_length=60, pattern=r"^[a-z_]+$"),
                          page: PageParams = Depends(page_params),
                          _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import healing as store
    from mao.services import healing

    if status is not None and status not in STATUSES:
        raise ApiError(422, "validation_error", f"unknown status {status!r}",
                       [{"field": "status", "message": f"one of {', '.join(STATUSES)}"}])
    query, count, keys = store.list_operations_query(tenant_id, status, fix_type)
    return paginate(query, page, lambda op: healing.operation_view(op, full=False), key_attributes=keys,
                    count=count)


@router.get("/operations/{operation_id}")
async def get_operation(tenant_id: str, operation_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    return healing.operation_view(_call(healing.get_operation, tenant_id, operation_id))


@router.post("/operations/{operation_id}/approve")
async def approve(tenant_id: str, operation_id: str, principal: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    return healing.operation_view(_call(healing.approve, tenant_id, operation_id, _who(principal)))


@router.post("/operations/{operation_id}/reject")
async def reject(tenant_id: str, operation_id: str, body: RejectBody | None = None,
                 principal: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    reason = body.reason if body else None
    return healing.operation_view(_call(healing.reject, tenant_id, operation_id, _who(principal), reason))


@router.post("/operations/{operation_id}/execute", status_code=202)
async def execute(tenant_id: str, operation_id: str, principal: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    return healing.operation_view(_call(healing.execute, tenant_id, operation_id, _who(principal)))


@router.post("/operations/{operation_id}/rollback", status_code=202)
async def rollback(tenant_id: str, operation_id: str, principal: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    return healing.operation_view(_call(healing.request_rollback, tenant_id, operation_id, _who(principal)))


@router.get("/history")
async def history(tenant_id: str, page: PageParams = Depends(page_params),
                  _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import healing as store
    from mao.services import healing

    query, count, keys = store.history_query(tenant_id)
    return paginate(query, page, healing.history_view, key_attributes=keys, count=count)


@router.get("/policy")
async def get_policy(tenant_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    policy, last_rollback = healing.get_policy(tenant_id)
    return {**policy.to_dict(), "last_rollback_at": last_rollback.isoformat() if last_rollback else None}


@router.put("/policy")
async def put_policy(tenant_id: str, body: PolicyBody, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.domain.fixes.policy import HealingPolicy
    from mao.services import healing

    policy = HealingPolicy(frozenset(body.auto_approve_risks), body.max_auto_per_hour, body.cooldown_seconds)
    return healing.put_policy(tenant_id, policy).to_dict()


@router.post("/webhooks", status_code=201)
async def register_webhook(tenant_id: str, body: WebhookCreate,
                           _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import healing

    hook, secret = _call(healing.register_webhook, tenant_id, body.name, body.url)
    return {"webhook_id": hook.webhook_id, "name": hook.name, "url": hook.url, "secret": secret,
            "created_at": hook.created_at.isoformat(),
            "signature": "X-MAO-Signature: sha256=HMAC-SHA256(secret, '{X-MAO-Timestamp}.{body}')",
            "note": "store the secret now: it is shown only once"}


@router.get("/webhooks")
async def list_webhooks(tenant_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import healing as store

    items = [{"webhook_id": h.webhook_id, "name": h.name, "url": h.url, "created_at": h.created_at.isoformat()}
             for h in store.list_webhooks(tenant_id)]
    return {"items": items, "total": len(items)}


@router.get("/agent-configs/{agent_id}")
async def get_agent_config(tenant_id: str, agent_id: str, version: int | None = Query(None, ge=1),
                           _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import agent_config

    record = (agent_config.get_version(tenant_id, agent_id, version) if version is not None
              else agent_config.latest(tenant_id, agent_id))
    if record is None:
        raise ApiError(404, "not_found", f"agent configuration {agent_id!r} not found")
    return agent_config.view(record)


@router.put("/agent-configs/{agent_id}")
async def put_agent_config(tenant_id: str, agent_id: str, body: AgentConfigPut,
                           principal: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import agent_config

    if len(agent_id) > agent_config.MAX_AGENT_ID:
        raise ApiError(422, "validation_error", "agent_id is too long")
    record = _call(agent_config.put_version, tenant_id, agent_id, body.config, "client", _who(principal),
                   body.expected_version)
    return agent_config.view(record)


@router.get("/agent-configs/{agent_id}/versions")
async def agent_config_versions(tenant_id: str, agent_id: str,
                                _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import agent_config

    items = [agent_config.view(r) for r in agent_config.versions(tenant_id, agent_id)]
    return {"items": items, "total": len(items)}


app = create_app("healing", [router])
handler = lambda_handler(app)
