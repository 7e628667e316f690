"""Healing operations, fix application history, tenant healing policy and webhook targets in DynamoDB.

One table, keyed ``(tenant_id, sk)``: every item belongs to a tenant by construction. Item kinds by
sort-key prefix: ``op#<id>`` operations, ``hist#<id>`` applied-fix history, ``policy`` the tenant's
policy, ``webhook#<id>`` registered webhook targets. Ids are time-sortable, so a descending query is
newest first. Operations carry ``status_key`` / ``fix_type_key`` (``tenant#value``) for the list filters'
indexes. Status changes are conditional on the status read, so concurrent requests cannot both win.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from mao.adapters.dynamo import bound_model, region, sortable_id, utcnow
from mao.domain.fixes.states import IllegalTransition, check_transition

TABLE_ENV = "MAO_HEALING_TABLE"
TABLE_DEFAULT = "mao-healing"
MAX_SNAPSHOT_INLINE = 64 * 1024


def new_id(prefix: str, now: float | None = None) -> str:
    return sortable_id(prefix, now)


def id_floor(prefix: str, when: datetime) -> str:
    """The smallest id created at or after ``when`` (for time-window key conditions)."""
    return f"{prefix}_{int(when.timestamp() * 1000):012x}"


class OpsByStatus(GlobalSecondaryIndex["OperationModel"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status_key = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class OpsByFixType(GlobalSecondaryIndex["OperationModel"]):
    class Meta:
        index_name = "by_fix_type"
        projection = AllProjection()

    fix_type_key = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


@bound_model(TABLE_ENV, TABLE_DEFAULT)
class OperationModel(Model):
    class Meta:
        table_name = TABLE_DEFAULT
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "op#<operation_id>"
    operation_id = UnicodeAttribute()
    detection_id = UnicodeAttribute()
    fix_id = UnicodeAttribute()
    fix_type = UnicodeAttribute()
    risk = UnicodeAttribute()
    fix = JSONAttribute()  # the suggestion as shown (FixSuggestion.to_dict)
    target = JSONAttribute()  # includes secrets (n8n API key): never returned as stored
    status = UnicodeAttribute()
    status_key = UnicodeAttribute()
    fix_type_key = UnicodeAttribute()
    history = JSONAttribute(default=list)  # [{"status", "at", "by", "note"}]
    plan = JSONAttribute(null=True)
    snapshot = JSONAttribute(null=True)
    snapshot_taken = BooleanAttribute(default=False)
    result = JSONAttribute(null=True)
    verification = JSONAttribute(null=True)
    error = JSONAttribute(null=True)
    auto_approved = BooleanAttribute(default=False)
    approved_by = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    task_token = UnicodeAttribute(null=True)
    execution_arn = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    applied_at = UTCDateTimeAttribute(null=True)
    history_id = UnicodeAttribute(null=True)
    by_status = OpsByStatus()
    by_fix_type = OpsByFixType()


@bound_model(TABLE_ENV, TABLE_DEFAULT)
class HistoryModel(Model):
    """One applied fix: recorded by ``POST .../fixes/{fix_id}/apply`` or by a healing operation."""

    class Meta:
        table_name = TABLE_DEFAULT
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "hist#<id>"
    history_id = UnicodeAttribute()
    detection_id = UnicodeAttribute()
    fix_id = UnicodeAttribute()
    fix_type = UnicodeAttribute()
    risk = UnicodeAttribute()
    source = UnicodeAttribute()  # "manual" | "healing"
    operation_id = UnicodeAttribute(null=True)
    applied_by = UnicodeAttribute()
    applied_at = UTCDateTimeAttribute()
    note = UnicodeAttribute(null=True)
    target = JSONAttribute(null=True)  # redacted
    changes = JSONAttribute(default=list)
    rolled_back_at = UTCDateTimeAttribute(null=True)


@bound_model(TABLE_ENV, TABLE_DEFAULT)
class PolicyModel(Model):
    class Meta:
        table_name = TABLE_DEFAULT
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "policy"
    policy = JSONAttribute(null=True)
    last_rollback_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()


@bound_model(TABLE_ENV, TABLE_DEFAULT)
class WebhookTargetModel(Model):
    class Meta:
        table_name = TABLE_DEFAULT
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "webhook#<id>"
    webhook_id = UnicodeAttribute()
    name = UnicodeAttribute()
    url = UnicodeAttribute()
    secret = UnicodeAttribute()  # an envelope (mao.adapters.secrets), never the plain secret
    created_at = UTCDateTimeAttribute()
    deliveries = NumberAttribute(default=0)


class Conflict(Exception):
    """The item changed underneath us (another request moved the status first)."""


# ---------------------------------------------------------------- operations
def _op_sk(operation_id: str) -> str:
    return f"op#{operation_id}"


def status_entry(status: str, by: str, note: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    return {"status": status, "at": (at or utcnow()).isoformat(), "by": by, "note": note}


def put_operation(op: OperationModel) -> None:
    op.save(condition=OperationModel.sk.does_not_exist())


def new_operation(tenant_id: str, **fields: Any) -> OperationModel:
    now = utcnow()
    operation_id = new_id("op")
    status = "pending_approval"
    return OperationModel(tenant_id, _op_sk(operation_id), operation_id=operation_id, status=status,
                          status_key=f"{tenant_id}#{status}", fix_type_key=f"{tenant_id}#{fields['fix_type']}",
                          history=[status_entry(status, fields["created_by"], "created", now)],
                          created_at=now, updated_at=now, **fields)


def get_operation(tenant_id: str, operation_id: str, consistent: bool = True) -> OperationModel | None:
    try:
        return OperationModel.get(tenant_id, _op_sk(operation_id), consistent_read=consistent)
    except DoesNotExist:
        return None


def transition(op: OperationModel, target: str, by: str, note: str | None = None, **changes: Any) -> OperationModel:
    """Move ``op`` to ``target`` if legal and nobody moved it first; also set ``changes`` (attribute=value,
    None removes). Raises IllegalTransition (illegal or lost race)."""
    check_transition(op.status, target)
    now = utcnow()
    attrs = OperationModel.get_attributes()
    actions = [OperationModel.status.set(target), OperationModel.status_key.set(f"{op.tenant_id}#{target}"),
               OperationModel.updated_at.set(now),
               OperationModel.history.set([*op.history, status_entry(target, by, note, now)])]
    for name, value in changes.items():
        attr = attrs[name]
        actions.append(attr.remove() if value is None else attr.set(value))
    try:
        op.update(actions=actions, condition=OperationModel.status == op.status)
    except UpdateError as exc:
        if "ConditionalCheckFailed" in repr(exc):
            fresh = get_operation(op.tenant_id, op.operation_id)
            raise IllegalTransition(fresh.status if fresh else op.status, target,
                                    "the operation changed concurrently; reload it") from None
        raise
    return op


def set_fields(op: OperationModel, **changes: Any) -> OperationModel:
    """Update attributes without a status change (task token, plan, execution arn)."""
    attrs = OperationModel.get_attributes()
    actions = [OperationModel.updated_at.set(utcnow())]
    for name, value in changes.items():
        attr = attrs[name]
        actions.append(attr.remove() if value is None else attr.set(value))
    op.update(actions=actions)
    return op


def list_operations_query(tenant_id: str, status: str | None, fix_type: str | None):
    """(query factory, count, key attributes) for :func:`mao.api.pagination.paginate`, newest first."""
    if status:
        index: Any = OperationModel.by_status
        hash_key, range_cond = f"{tenant_id}#{status}", None
        filt = OperationModel.fix_type == fix_type if fix_type else None
        keys: tuple[str, ...] = ("tenant_id", "sk", "status_key")
    elif fix_type:
        index, hash_key, range_cond, filt = OperationModel.by_fix_type, f"{tenant_id}#{fix_type}", None, None
        keys = ("tenant_id", "sk", "fix_type_key")
    else:
        index, hash_key, range_cond, filt = OperationModel, tenant_id, OperationModel.sk.startswith("op#"), None
        keys = ("tenant_id", "sk")

    def query(limit: int | None, start: dict[str, Any] | None) -> Any:
        return index.query(hash_key, range_cond, filt, scan_index_forward=False, limit=limit,
                           last_evaluated_key=start)

    def count() -> int:
        return index.count(hash_key, range_cond, filt)

    return query, count, keys


def auto_approved_since(tenant_id: str, since: datetime) -> int:
    cond = OperationModel.sk.between(f"op#{id_floor('op', since)}", "op#~")
    return OperationModel.count(tenant_id, cond, OperationModel.auto_approved == True)  # noqa: E712


# ---------------------------------------------------------------- history of applied fixes
def add_history(tenant_id: str, **fields: Any) -> HistoryModel:
    history_id = new_id("hist")
    record = HistoryModel(tenant_id, f"hist#{history_id}", history_id=history_id, applied_at=utcnow(), **fields)
    record.save(condition=HistoryModel.sk.does_not_exist())
    return record


def mark_history_rolled_back(tenant_id: str, history_id: str) -> None:
    try:
        record = HistoryModel.get(tenant_id, f"hist#{history_id}")
    except DoesNotExist:
        return
    record.update(actions=[HistoryModel.rolled_back_at.set(utcnow())])


def history_query(tenant_id: str):
    def query(limit: int | None, start: dict[str, Any] | None) -> Any:
        return HistoryModel.query(tenant_id, HistoryModel.sk.startswith("hist#"), scan_index_forward=False,
                                  limit=limit, last_evaluated_key=start)

    def count() -> int:
        return HistoryModel.count(tenant_id, HistoryModel.sk.startswith("hist#"))

    return query, count, ("tenant_id", "sk")


# ---------------------------------------------------------------- policy
def get_policy(tenant_id: str) -> PolicyModel | None:
    try:
        return PolicyModel.get(tenant_id, "policy", consistent_read=True)
    except DoesNotExist:
        return None


def put_policy(tenant_id: str, policy: dict[str, Any]) -> PolicyModel:
    record = get_policy(tenant_id) or PolicyModel(tenant_id, "policy")
    record.policy = policy
    record.updated_at = utcnow()
    record.save()
    return record


def record_rollback(tenant_id: str, when: datetime | None = None) -> None:
    record = get_policy(tenant_id) or PolicyModel(tenant_id, "policy")
    record.last_rollback_at = when or utcnow()
    record.updated_at = utcnow()
    record.save()


# ---------------------------------------------------------------- webhook targets
WEBHOOK_SECRET_PURPOSE = "healing-webhook"


def add_webhook(tenant_id: str, name: str, url: str) -> tuple[WebhookTargetModel, str]:
    """Register a webhook target; returns the record and its signing secret (shown once)."""
    from mao.adapters import secrets as envelopes

    webhook_id = new_id("wh")
    plain = "whsec_" + secrets.token_urlsafe(32)
    record = WebhookTargetModel(tenant_id, f"webhook#{webhook_id}", webhook_id=webhook_id, name=name, url=url,
                                secret=envelopes.encrypt(plain, tenant_id, WEBHOOK_SECRET_PURPOSE),
                                created_at=utcnow())
    record.save(condition=WebhookTargetModel.sk.does_not_exist())
    return record, plain


def webhook_secret(record: WebhookTargetModel) -> str:
    from mao.adapters import secrets as envelopes

    return envelopes.decrypt(record.secret, record.tenant_id, WEBHOOK_SECRET_PURPOSE)


def get_webhook(tenant_id: str, webhook_id: str) -> WebhookTargetModel | None:
    try:
        return WebhookTargetModel.get(tenant_id, f"webhook#{webhook_id}")
    except DoesNotExist:
        return None


def list_webhooks(tenant_id: str) -> Iterator[WebhookTargetModel]:
    return WebhookTargetModel.query(tenant_id, WebhookTargetModel.sk.startswith("webhook#"), scan_index_forward=False)


def within(when: datetime | None, seconds: int, now: datetime | None = None) -> bool:
    return when is not None and (now or utcnow()) - when < timedelta(seconds=seconds)


def snapshot_bucket() -> str:
    return os.environ.get("MAO_PAYLOAD_BUCKET", "mao-payloads")
