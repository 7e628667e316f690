"""Orchestration-platform integrations: n8n, Dify, LangGraph, OpenClaw.

POST /api/v1/{provider}/webhook                 signed execution webhooks (X-MAO-API-Key, -Timestamp,
                                                -Nonce, -Signature)
GET  /api/v1/{provider}/stream                  Server-Sent Events of executions and detections
POST|GET /api/v1/n8n/workflows                  registry (secret returned once); /{id}/rotate-secret
POST /api/v1/n8n/sync, GET /api/v1/n8n/sync/status, POST /api/v1/n8n/discover
POST|GET /api/v1/dify/instances, /dify/apps     (apps sign webhooks)
POST|GET /api/v1/langgraph/deployments, /langgraph/assistants
POST|GET /api/v1/openclaw/instances, /openclaw/agents
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AliasChoices, BaseModel, Field

from mao.adapters import integrations as store
from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant_caller
from mao.api.errors import ApiError
from mao.api.pagination import PageParams, page_params, paginate
from mao.domain.integrations import signing, sse
from mao.services import integrations as service

router = APIRouter(prefix="/api/v1")
WEBHOOK_MAX_BYTES = 8 * 1024 * 1024
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,127}$"


class EntityCreate(BaseModel):
    id: str | None = Field(default=None, pattern=_ID, description="the platform's id; generated when omitted")
    name: str | None = Field(default=None, max_length=200)
    parent_id: str | None = Field(default=None, pattern=_ID)
    base_url: str | None = Field(default=None, max_length=2048)
    api_key: str | None = Field(default=None, min_length=1, max_length=4096)
    config: dict[str, Any] | None = None


class WorkflowCreate(EntityCreate):
    workflow_id: str | None = Field(default=None, pattern=_ID)


class AppCreate(EntityCreate):
    app_id: str | None = Field(default=None, pattern=_ID)
    instance_id: str | None = Field(default=None, pattern=_ID)


class AssistantCreate(EntityCreate):
    assistant_id: str | None = Field(default=None, pattern=_ID)
    deployment_id: str | None = Field(default=None, pattern=_ID)
    graph_id: str | None = Field(default=None, max_length=200)


class AgentCreate(EntityCreate):
    agent_name: str | None = Field(default=None, pattern=_ID)
    instance_id: str | None = Field(default=None, pattern=_ID)


class Rotate(BaseModel):
    grace_seconds: int | None = Field(default=None, ge=0, le=7 * 86_400)


class N8nConnect(BaseModel):
    base_url: str | None = Field(default=None, max_length=2048)
    api_key: str | None = Field(default=None, min_length=1, max_length=4096)


class N8nSync(N8nConnect):
    workflow_id: str | None = Field(default=None, pattern=_ID)
    max_pages: int = Field(default=10, ge=1, le=50)


class N8nDiscover(N8nConnect):
    auto_register: bool = Field(default=True, validation_alias=AliasChoices("register", "auto_register"),
                                description="register the workflows found (each gets its webhook secret)")


def _tenant(principal: Principal) -> str:
    assert principal.tenant_id is not None
    return principal.tenant_id


def _register(principal: Principal, provider: str, kind: str, entity_id: str | None, body: EntityCreate,
              parent_id: str | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    connection = kind in service.CONNECTION_KINDS.get(provider, ())
    if entity_id is None:
        if not connection:
            raise ApiError(422, "validation_error", f"the {kind[:-1]} id is required",
                           [{"field": "id", "message": "required"}])
        entity_id = f"{provider[:2]}{kind[:3]}_{secrets.token_hex(8)}"
    reg = service.Registration(provider, kind, entity_id, name=body.name, parent_id=parent_id or body.parent_id,
                               base_url=body.base_url, api_key=body.api_key,
                               config={**(body.config or {}), **(config or {})} or None)
    return service.register(_tenant(principal), reg)


def _list(principal: Principal, provider: str, kind: str, params: PageParams) -> dict[str, Any]:
    tenant_id = _tenant(principal)
    return paginate(lambda limit, start: store.list_entities(tenant_id, provider, kind, limit, start), params,
                    service.entity_view, key_attributes=("tenant_id", "item_key"),
                    count=lambda: store.count_entities(tenant_id, provider, kind))


# --- registries ----------------------------------------------------------------------------------


@router.post("/n8n/workflows", status_code=201)
async def create_workflow(body: WorkflowCreate, principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _register(principal, "n8n", "workflows", body.workflow_id or body.id, body)


@router.get("/n8n/workflows")
async def list_workflows(params: PageParams = Depends(page_params),
                         principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _list(principal, "n8n", "workflows", params)


@router.post("/dify/instances", status_code=201)
async def create_dify_instance(body: EntityCreate, principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _register(principal, "dify", "instances", body.id, body)


@router.get("/dify/instances")
async def list_dify_instances(params: PageParams = Depends(page_params),
                              principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _list(principal, "dify", "instances", params)


@router.post("/dify/apps", status_code=201)
async def create_dify_app(body: AppCreate, principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _register(principal, "dify", "apps", body.app_id or body.id, body, parent_id=body.instance_id)


@router.get("/dify/apps")
async def list_dify_apps(params: PageParams = Depends(page_params),
                         principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _list(principal, "dify", "apps", params)


@router.post("/langgraph/deployments", status_code=201)
async def create_deployment(body: EntityCreate, principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _register(principal, "langgraph", "deployments", body.id, body)


@router.get("/langgraph/deployments")
async def list_deployments(params: PageParams = Depends(page_params),
                           principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _list(principal, "langgraph", "deployments", params)


@router.post("/langgraph/assistants", status_code=201)
async def create_assistant(body: AssistantCreate, principal: Principal = Depends(require_tenant_caller)) -> dict:
    extra = {"graph_id": body.graph_id} if body.graph_id else None
    return _register(principal, "langgraph", "assistants", body.assistant_id or body.id, body,
                     parent_id=body.deployment_id, config=extra)


@router.get("/langgraph/assistants")
async def list_assistants(params: PageParams = Depends(page_params),
                          principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _list(principal, "langgraph", "assistants", params)


@router.post("/openclaw/instances", status_code=201)
async def create_openclaw_instance(body: EntityCreate,
                                   principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _register(principal, "openclaw", "instances", body.id, body)


@router.get("/openclaw/instances")
async def list_openclaw_instances(params: PageParams = Depends(page_params),
                                  principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _list(principal, "openclaw", "instances", params)


@router.post("/openclaw/agents", status_code=201)
async def create_openclaw_agent(body: AgentCreate, principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _register(principal, "openclaw", "agents", body.agent_name or body.id, body, parent_id=body.instance_id)


@router.get("/openclaw/agents")
async def list_openclaw_agents(params: PageParams = Depends(page_params),
                               principal: Principal = Depends(require_tenant_caller)) -> dict:
    return _list(principal, "openclaw", "agents", params)


_SIGNING_KINDS = {"n8n": "workflows", "dify": "apps", "langgraph": "assistants", "openclaw": "agents"}


@router.post("/{provider}/{kind}/{entity_id}/rotate-secret")
async def rotate_secret(provider: str, kind: str, entity_id: str, body: Rotate | None = None,
                        principal: Principal = Depends(require_tenant_caller)) -> dict:
    if _SIGNING_KINDS.get(provider) != kind:
        raise ApiError(404, "not_found", f"no secrets to rotate under /{provider}/{kind}")
    return service.rotate(_tenant(principal), provider, kind, entity_id, body.grace_seconds if body else None)


# --- n8n sync and discovery ----------------------------------------------------------------------


@router.post("/n8n/sync")
async def n8n_sync(body: N8nSync | None = None, principal: Principal = Depends(require_tenant_caller)) -> dict:
    from mao.services import n8n_sync as sync

    body = body or N8nSync()
    conn = sync.connection(_tenant(principal), body.base_url, body.api_key)
    return await asyncio.to_thread(sync.sync, _tenant(principal), conn, body.workflow_id, body.max_pages)


@router.get("/n8n/sync/status")
async def n8n_sync_status(principal: Principal = Depends(require_tenant_caller)) -> dict:
    from mao.services import n8n_sync as sync

    return sync.status(_tenant(principal))


@router.post("/n8n/discover")
async def n8n_discover(body: N8nDiscover | None = None,
                       principal: Principal = Depends(require_tenant_caller)) -> dict:
    from mao.services import n8n_sync as sync

    body = body or N8nDiscover()
    conn = sync.connection(_tenant(principal), body.base_url, body.api_key)
    return await asyncio.to_thread(sync.discover, _tenant(principal), conn, body.auto_register)


# --- webhooks and streams ------------------------------------------------------------------------


@router.post("/{provider}/webhook")
async def webhook(provider: str, request: Request, principal: Principal = Depends(require_tenant_caller)) -> dict:
    service.provider(provider)
    body = await request.body()
    headers = signing.SignedHeaders(request.headers.get("x-mao-timestamp"), request.headers.get("x-mao-signature"),
                                    request.headers.get("x-mao-nonce"))
    return await asyncio.to_thread(service.receive_webhook, _tenant(principal), provider, body, headers)


@router.get("/{provider}/stream")
async def stream(provider: str, request: Request,
                 wait: float = Query(2.0, ge=0, le=service.MAX_WAIT_SECONDS,
                                     description="seconds to wait for a first event before the response ends"),
                 replay: bool = Query(False, description="without Last-Event-ID: start at the oldest retained event"),
                 last_event_id: str | None = Query(None, max_length=64, description="same as the Last-Event-ID header"),
                 principal: Principal = Depends(require_tenant_caller)) -> Response:
    resume = request.headers.get("last-event-id") or last_event_id
    text = await asyncio.to_thread(service.stream_body, _tenant(principal), provider, resume or None, wait, replay)
    return Response(text, media_type=sse.MEDIA_TYPE,
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


app = create_app("integrations", [router], body_limits={r"/webhook$": WEBHOOK_MAX_BYTES})
handler = lambda_handler(app)
