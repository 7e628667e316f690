"""Registered platform entities, processed executions and n8n sync state (one DynamoDB table).

Key ``(tenant_id, item_key)``:
- ``ent#<provider>#<kind>#<id>``: a registered workflow / app / assistant / agent (with its encrypted
  webhook secret) or a connection (instance / deployment, with its encrypted provider API key);
- ``exec#<provider>#<trace id>``: an execution already turned into a trace, with the hash of what was
  stored, so a re-delivery (webhook or sync) is recognised;
- ``sync#<provider>``: the state of the last historical sync and the connection it used.

The tenant id is the partition key: no read can reach another tenant's items.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.models import Model

from mao.adapters.dynamo import bound_model, region, utcnow


@bound_model("MAO_INTEGRATIONS_TABLE", "mao-integrations")
class IntegrationModel(Model):
    class Meta:
        table_name = "mao-integrations"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    item_key = UnicodeAttribute(range_key=True)
    provider = UnicodeAttribute()
    kind = UnicodeAttribute()
    entity_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    parent_id = UnicodeAttribute(null=True)  # the instance / deployment an entity belongs to
    base_url = UnicodeAttribute(null=True)
    config = JSONAttribute(null=True)
    secret_ct = UnicodeAttribute(null=True)  # envelope-encrypted webhook secret
    previous_secret_ct = UnicodeAttribute(null=True)
    previous_valid_until = NumberAttribute(null=True)
    api_key_ct = UnicodeAttribute(null=True)  # envelope-encrypted provider API key
    content_hash = UnicodeAttribute(null=True)
    state = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", "") == "ConditionalCheckFailedException" or \
        "ConditionalCheckFailed" in repr(exc)


def entity_key(provider: str, kind: str, entity_id: str) -> str:
    return f"ent#{provider}#{kind}#{entity_id}"


def exec_key(provider: str, trace_id: str) -> str:
    return f"exec#{provider}#{trace_id}"


def sync_key(provider: str) -> str:
    return f"sync#{provider}"


def get(tenant_id: str, item_key: str) -> IntegrationModel | None:
    try:
        return IntegrationModel.get(tenant_id, item_key, consistent_read=True)
    except DoesNotExist:
        return None


def create_entity(tenant_id: str, provider: str, kind: str, entity_id: str, **fields: Any) -> IntegrationModel | None:
    """The new entity, or None when one with this id is already registered."""
    now = utcnow()
    item = IntegrationModel(tenant_id, entity_key(provider, kind, entity_id), provider=provider, kind=kind,
                            entity_id=entity_id, created_at=now, updated_at=now, **fields)
    try:
        item.save(condition=IntegrationModel.item_key.does_not_exist())
    except PutError as exc:
        if _conditional_failed(exc):
            return None
        raise
    return item


def list_entities(tenant_id: str, provider: str, kind: str, limit: int | None = None,
                  last_evaluated_key: dict[str, Any] | None = None) -> Any:
    return IntegrationModel.query(tenant_id, IntegrationModel.item_key.startswith(f"ent#{provider}#{kind}#"),
                                  limit=limit, last_evaluated_key=last_evaluated_key)


def count_entities(tenant_id: str, provider: str, kind: str) -> int:
    return IntegrationModel.count(tenant_id, IntegrationModel.item_key.startswith(f"ent#{provider}#{kind}#"))


def rotate_secret(item: IntegrationModel, secret_ct: str, previous_valid_until: int | None) -> None:
    actions = [IntegrationModel.secret_ct.set(secret_ct), IntegrationModel.updated_at.set(utcnow())]
    if previous_valid_until is not None and item.secret_ct:
        actions += [IntegrationModel.previous_secret_ct.set(item.secret_ct),
                    IntegrationModel.previous_valid_until.set(previous_valid_until)]
    else:
        actions += [IntegrationModel.previous_secret_ct.remove(), IntegrationModel.previous_valid_until.remove()]
    item.update(actions=actions)


# --- executions ----------------------------------------------------------------------------------


def claim_execution(tenant_id: str, provider: str, trace_id: str, content_hash: str,
                    state: dict[str, Any]) -> tuple[bool, IntegrationModel | None]:
    """Claim the right to store this content of an execution. (True, previous record or None) when
    the content is new or changed; (False, existing record) when the same content was processed."""
    key = exec_key(provider, trace_id)
    previous = get(tenant_id, key)
    if previous is not None and previous.content_hash == content_hash:
        return False, previous
    now = utcnow()
    item = IntegrationModel(tenant_id, key, provider=provider, kind="execution", entity_id=state.get("entity_id"),
                            content_hash=content_hash, state=state,
                            created_at=previous.created_at if previous else now, updated_at=now)
    condition = IntegrationModel.item_key.does_not_exist() if previous is None else \
        (IntegrationModel.content_hash == previous.content_hash)
    try:
        item.save(condition=condition)
    except PutError as exc:
        if _conditional_failed(exc):  # a concurrent delivery got there first
            return False, get(tenant_id, key)
        raise
    return True, previous


def finish_execution(tenant_id: str, provider: str, trace_id: str, state: dict[str, Any]) -> None:
    IntegrationModel(tenant_id, exec_key(provider, trace_id)).update(
        actions=[IntegrationModel.state.set(state), IntegrationModel.updated_at.set(utcnow())])


def restore_execution(tenant_id: str, provider: str, trace_id: str, previous: IntegrationModel | None) -> None:
    """Undo a claim whose processing failed, so a retry is not mistaken for a re-delivery."""
    if previous is None:
        IntegrationModel(tenant_id, exec_key(provider, trace_id)).delete()
    else:
        previous.save()


def execution_known(tenant_id: str, provider: str, trace_id: str) -> bool:
    return get(tenant_id, exec_key(provider, trace_id)) is not None


# --- sync state ----------------------------------------------------------------------------------


def save_sync(tenant_id: str, provider: str, *, base_url: str | None = None, api_key_ct: str | None = None,
              state: dict[str, Any] | None = None) -> IntegrationModel:
    item = get(tenant_id, sync_key(provider))
    now = utcnow()
    if item is None:
        item = IntegrationModel(tenant_id, sync_key(provider), provider=provider, kind="sync", created_at=now,
                                updated_at=now, state={})
    if base_url is not None:
        item.base_url = base_url
    if api_key_ct is not None:
        item.api_key_ct = api_key_ct
    if state is not None:
        item.state = {**(item.state or {}), **state}
    item.updated_at = now
    item.save()
    return item


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
