"""Workflow groups in DynamoDB: key (tenant_id, group_id), group ids time-sortable (newest last)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, ListAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from mao.adapters.dynamo import bound_model, region, sortable_id, utcnow


@bound_model("MAO_WORKFLOW_GROUPS_TABLE", "mao-workflow-groups")
class WorkflowGroupModel(Model):
    class Meta:
        table_name = "mao-workflow-groups"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    group_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    rules = JSONAttribute(default=dict)
    match_mode = UnicodeAttribute(default="all")
    workflows = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


def new_group_id(now: datetime | None = None) -> str:
    return sortable_id("wg", now.timestamp() if now else None)


def create(tenant_id: str, *, name: str, description: str | None, rules: dict[str, Any],
           match_mode: str, workflows: list[str]) -> WorkflowGroupModel:
    now = utcnow()
    item = WorkflowGroupModel(tenant_id, new_group_id(now), name=name, description=description, rules=rules,
                              match_mode=match_mode, workflows=workflows, created_at=now, updated_at=now)
    item.save(condition=WorkflowGroupModel.group_id.does_not_exist())
    return item


def get(tenant_id: str, group_id: str) -> WorkflowGroupModel | None:
    try:
        return WorkflowGroupModel.get(tenant_id, group_id, consistent_read=True)
    except DoesNotExist:
        return None


def save(item: WorkflowGroupModel) -> WorkflowGroupModel:
    item.updated_at = utcnow()
    item.save(condition=WorkflowGroupModel.group_id.exists())
    return item


def delete(item: WorkflowGroupModel) -> None:
    item.delete()


def list_query(tenant_id: str):
    """(query factory, count, key attributes) for ``mao.api.pagination.paginate``, newest first."""

    def query(limit: int | None, start: dict[str, Any] | None) -> Iterator[WorkflowGroupModel]:
        return WorkflowGroupModel.query(tenant_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)

    def count() -> int:
        return WorkflowGroupModel.count(tenant_id)

    return query, count, ("tenant_id", "group_id")
