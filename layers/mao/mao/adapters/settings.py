"""Tenant threshold settings in DynamoDB: one item per tenant.

The item holds the tenant's overrides exactly as the domain resolves them:
``global`` = ``{detector_key: {threshold: value}}`` and ``frameworks`` =
``{framework: {detector_key: {threshold: value}}}``. Writes are optimistic (a version attribute), so
two concurrent updates cannot silently drop each other's changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.models import Model

from mao.adapters.dynamo import bound_model, region, utcnow

_THRESHOLDS = "thresholds"


@bound_model("MAO_SETTINGS_TABLE", "mao-settings")
class SettingsModel(Model):
    class Meta:
        table_name = "mao-settings"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(range_key=True)
    global_overrides = JSONAttribute(default=dict)
    framework_overrides = JSONAttribute(default=dict)
    updated_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()


@dataclass(slots=True)
class StoredThresholds:
    global_overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    framework_overrides: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    updated_at: datetime | None = None
    version: int | None = None


class ConcurrentUpdate(RuntimeError):
    """Another writer changed the settings since they were read."""


def _as_numbers(raw: Any) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for det, values in (raw or {}).items():
        out[str(det)] = {str(k): v for k, v in (values or {}).items()}
    return out


def get_thresholds(tenant_id: str) -> StoredThresholds:
    try:
        item = SettingsModel.get(tenant_id, _THRESHOLDS, consistent_read=True)
    except DoesNotExist:
        return StoredThresholds()
    return StoredThresholds(
        global_overrides=_as_numbers(item.global_overrides),
        framework_overrides={str(fw): _as_numbers(v) for fw, v in (item.framework_overrides or {}).items()},
        updated_at=item.updated_at,
        version=item.version,
    )


def put_thresholds(tenant_id: str, stored: StoredThresholds) -> StoredThresholds:
    """Write the tenant's overrides; fails with ``ConcurrentUpdate`` if the item changed since
    ``stored`` was read (``stored.version`` is the version read, ``None`` for a new item)."""
    item = SettingsModel(tenant_id, _THRESHOLDS,
                         global_overrides=stored.global_overrides,
                         framework_overrides={fw: v for fw, v in stored.framework_overrides.items() if v},
                         updated_at=utcnow())
    if stored.version is not None:
        item.version = stored.version
    try:
        item.save()
    except PutError as exc:
        if "ConditionalCheckFailed" in repr(exc):
            raise ConcurrentUpdate("settings changed concurrently") from exc
        raise
    return StoredThresholds(stored.global_overrides, dict(item.framework_overrides or {}), item.updated_at,
                            item.version)
