"""Workflow groups.

POST|GET            /api/v1/tenants/{tenant_id}/workflow-groups                 create, list
GET|PUT|DELETE      /api/v1/tenants/{tenant_id}/workflow-groups/{group_id}      read, update, delete
POST                /api/v1/tenants/{tenant_id}/workflow-groups/{group_id}/workflows     assign workflows
POST                /api/v1/tenants/{tenant_id}/workflow-groups/{group_id}/auto-detect   assign by rules
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant
from mao.api.errors import ApiError
from mao.api.pagination import PageParams, page_params, paginate
from mao.services import workflow_groups as svc

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/workflow-groups")

WorkflowId = Field(min_length=1, max_length=300)


class GroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    rules: dict[str, Any] = Field(default_factory=dict)
    match_mode: Literal["all", "any"] = "all"
    workflow_ids: list[str] = Field(default_factory=list, max_length=svc.MAX_WORKFLOWS_PER_GROUP)


class GroupUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    rules: dict[str, Any] | None = None
    match_mode: Literal["all", "any"] | None = None


class AssignIn(BaseModel):
    workflow_ids: list[str] = Field(min_length=1, max_length=svc.MAX_WORKFLOWS_PER_GROUP)


class AutoDetectIn(BaseModel):
    days: int = Field(default=30, ge=1, le=365)


def _invalid(err: svc.RuleError) -> ApiError:
    return ApiError(422, "validation_error", str(err), [{"field": err.field, "message": err.message}])


def _check_ids(ids: list[str], path: str) -> list[str]:
    for i, wf in enumerate(ids):
        if not isinstance(wf, str) or not 1 <= len(wf) <= 300:
            raise ApiError(422, "validation_error", "workflow ids are 1-300 characters",
                           [{"field": f"{path}.{i}", "message": "1-300 characters"}])
    return ids


def _group(tenant_id: str, group_id: str) -> Any:
    from mao.adapters import workflow_groups as store

    item = store.get(tenant_id, group_id) if len(group_id) <= 100 else None
    if item is None:
        raise ApiError(404, "not_found", f"workflow group {group_id!r} not found")
    return item


@router.post("", status_code=201)
async def create_group(tenant_id: str, body: GroupIn, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import workflow_groups as store

    try:
        rules = svc.normalise_rules(body.rules)
        workflows, _added = svc.add_workflows([], _check_ids(body.workflow_ids, "workflow_ids"))
    except svc.RuleError as err:
        raise _invalid(err) from None
    item = store.create(tenant_id, name=body.name, description=body.description, rules=rules,
                        match_mode=body.match_mode, workflows=workflows)
    return svc.group_view(item)


@router.get("")
async def list_groups(tenant_id: str, params: PageParams = Depends(page_params),
                      _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import workflow_groups as store

    query, count, keys = store.list_query(tenant_id)
    return paginate(query, params, svc.group_view, key_attributes=keys, count=count)


@router.get("/{group_id}")
async def get_group(tenant_id: str, group_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    return svc.group_view(_group(tenant_id, group_id))


@router.put("/{group_id}")
async def update_group(tenant_id: str, group_id: str, body: GroupUpdate,
                       _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import workflow_groups as store

    item = _group(tenant_id, group_id)
    try:
        if body.rules is not None:
            item.rules = svc.normalise_rules(body.rules)
    except svc.RuleError as err:
        raise _invalid(err) from None
    if body.name is not None:
        item.name = body.name
    if "description" in body.model_fields_set:
        item.description = body.description
    if body.match_mode is not None:
        item.match_mode = body.match_mode
    return svc.group_view(store.save(item))


@router.delete("/{group_id}")
async def delete_group(tenant_id: str, group_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import workflow_groups as store

    item = _group(tenant_id, group_id)
    store.delete(item)
    return {"group_id": group_id, "deleted": True}


@router.post("/{group_id}/workflows")
async def assign(tenant_id: str, group_id: str, body: AssignIn,
                 _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import workflow_groups as store

    item = _group(tenant_id, group_id)
    try:
        workflows, added = svc.add_workflows(list(item.workflows or []), _check_ids(body.workflow_ids, "workflow_ids"))
    except svc.RuleError as err:
        raise _invalid(err) from None
    if added:
        item.workflows = workflows
        store.save(item)
    return {"group": svc.group_view(item), "assigned": added,
            "already_assigned": [w for w in dict.fromkeys(body.workflow_ids) if w not in set(added)]}


@router.post("/{group_id}/auto-detect")
async def auto_detect(tenant_id: str, group_id: str, body: AutoDetectIn | None = None,
                      days: int | None = Query(None, ge=1, le=365),
                      _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    item = _group(tenant_id, group_id)
    window = days or (body.days if body else 30)
    try:
        return svc.auto_detect(tenant_id, item, window)
    except svc.RuleError as err:
        raise _invalid(err) from None


app = create_app("workflow groups", [router], max_body_bytes=256 * 1024)
handler = lambda_handler(app)
