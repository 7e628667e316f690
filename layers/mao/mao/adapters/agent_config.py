"""MAO's own per-agent configuration store: versioned JSON documents, readable by clients.

Items live in the healing table under ``agentcfg#<agent_id>#<version, 8 digits>``; a new version never
overwrites an old one (conditional put), so every change, and every rollback, is a new version that
says where it came from.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from mao.adapters.dynamo import bound_model, region, utcnow
from mao.adapters.healing import TABLE_DEFAULT, TABLE_ENV

MAX_AGENT_ID = 200


@bound_model(TABLE_ENV, TABLE_DEFAULT)
class AgentConfigModel(Model):
    class Meta:
        table_name = TABLE_DEFAULT
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "agentcfg#<agent_id>#<version:08d>"
    agent_id = UnicodeAttribute()
    version = NumberAttribute()
    config = JSONAttribute()
    source = UnicodeAttribute()  # "client" | "healing:<operation_id>" | "rollback:<operation_id>"
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class VersionConflict(Exception):
    """Someone wrote a new version first."""


def _prefix(agent_id: str) -> str:
    return f"agentcfg#{agent_id}#"


def latest(tenant_id: str, agent_id: str) -> AgentConfigModel | None:
    items = AgentConfigModel.query(tenant_id, AgentConfigModel.sk.startswith(_prefix(agent_id)),
                                   scan_index_forward=False, limit=1, consistent_read=True)
    return next(iter(items), None)


def get_version(tenant_id: str, agent_id: str, version: int) -> AgentConfigModel | None:
    try:
        return AgentConfigModel.get(tenant_id, f"{_prefix(agent_id)}{version:08d}", consistent_read=True)
    except AgentConfigModel.DoesNotExist:
        return None


def versions(tenant_id: str, agent_id: str, limit: int = 50) -> list[AgentConfigModel]:
    return list(AgentConfigModel.query(tenant_id, AgentConfigModel.sk.startswith(_prefix(agent_id)),
                                       scan_index_forward=False, limit=limit))


def put_version(tenant_id: str, agent_id: str, config: dict[str, Any], source: str, by: str,
                expected_version: int | None = None) -> AgentConfigModel:
    """Write the next version. ``expected_version`` (the version the change was based on) guards against
    lost updates; None means "whatever is latest now"."""
    current = latest(tenant_id, agent_id)
    current_version = int(current.version) if current else 0
    if expected_version is not None and expected_version != current_version:
        raise VersionConflict(f"agent {agent_id!r} is at version {current_version}, not {expected_version}")
    version = current_version + 1
    record = AgentConfigModel(tenant_id, f"{_prefix(agent_id)}{version:08d}", agent_id=agent_id, version=version,
                              config=config, source=source, created_by=by, created_at=utcnow())
    try:
        record.save(condition=AgentConfigModel.sk.does_not_exist())
    except PutError as exc:
        if "ConditionalCheckFailed" in repr(exc):
            raise VersionConflict(f"agent {agent_id!r} got a new version concurrently") from None
        raise
    return record


def view(record: AgentConfigModel) -> dict[str, Any]:
    return {"agent_id": record.agent_id, "version": int(record.version), "config": record.config,
            "source": record.source, "created_by": record.created_by, "created_at": record.created_at.isoformat()}
