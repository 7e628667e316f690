"""Tenants and their API keys in DynamoDB.

API keys are ``mao_`` + a random secret. Only a keyed SHA-256 (HMAC with the deployment's pepper)
is stored; the key's first characters after ``mao_`` are its prefix, the lookup key. The full key is
returned once, when created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from mao.adapters.dynamo import bound_model, region, utcnow
from mao.config import settings

KEY_PREFIX = "mao_"
PREFIX_LEN = 12


@bound_model("MAO_TENANTS_TABLE", "mao-tenants")
class TenantModel(Model):
    class Meta:
        table_name = "mao-tenants"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    plan = UnicodeAttribute(default="free")
    status = UnicodeAttribute(default="active")
    created_at = UTCDateTimeAttribute()


class KeysByTenant(GlobalSecondaryIndex["ApiKeyModel"]):
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


@bound_model("MAO_API_KEYS_TABLE", "mao-api-keys")
class ApiKeyModel(Model):
    class Meta:
        table_name = "mao-api-keys"
        region = region()

    prefix = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    key_hash = UnicodeAttribute()
    name = UnicodeAttribute(default="default")
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    by_tenant = KeysByTenant()


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str  # the full secret: shown once
    record: ApiKeyModel


def hash_key(key: str) -> str:
    pepper = settings().key_pepper
    if not pepper:
        raise RuntimeError("MAO_KEY_PEPPER is not configured")
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


def key_prefix(key: str) -> str | None:
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + PREFIX_LEN + 16 or len(key) > 200:
        return None
    return key[len(KEY_PREFIX): len(KEY_PREFIX) + PREFIX_LEN]


def new_tenant_id() -> str:
    return "tn_" + secrets.token_hex(8)


def create_tenant(name: str, plan: str = "free") -> TenantModel:
    tenant = TenantModel(new_tenant_id(), name=name, plan=plan, created_at=utcnow())
    tenant.save(condition=TenantModel.tenant_id.does_not_exist())
    return tenant


def get_tenant(tenant_id: str) -> TenantModel | None:
    try:
        return TenantModel.get(tenant_id)
    except DoesNotExist:
        return None


def create_key(tenant_id: str, name: str = "default") -> NewKey:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    while True:
        prefix = "".join(secrets.choice(alphabet) for _ in range(PREFIX_LEN))
        key = KEY_PREFIX + prefix + secrets.token_urlsafe(32)
        record = ApiKeyModel(prefix, tenant_id=tenant_id, key_hash=hash_key(key), name=name,
                             created_at=utcnow())
        try:
            record.save(condition=ApiKeyModel.prefix.does_not_exist())
        except Exception as exc:  # prefix collision: draw again
            if "ConditionalCheckFailed" in repr(exc):
                continue
            raise
        return NewKey(key, record)


def verify_key(key: str) -> ApiKeyModel | None:
    """The key's record if the key is valid and not revoked; constant-time hash comparison."""
    prefix = key_prefix(key)
    if prefix is None:
        return None
    try:
        record = ApiKeyModel.get(prefix, consistent_read=True)
    except DoesNotExist:
        hmac.compare_digest(hash_key(key), hash_key(key))  # same work on a miss
        return None
    if not hmac.compare_digest(record.key_hash, hash_key(key)) or record.revoked_at is not None:
        return None
    return record


def key_is_active(prefix: str, tenant_id: str) -> bool:
    try:
        record = ApiKeyModel.get(prefix, consistent_read=True)
    except DoesNotExist:
        return False
    return record.tenant_id == tenant_id and record.revoked_at is None


def list_keys(tenant_id: str) -> list[ApiKeyModel]:
    return list(ApiKeyModel.by_tenant.query(tenant_id, scan_index_forward=True))


def revoke_key(tenant_id: str, prefix: str, when: datetime | None = None) -> ApiKeyModel | None:
    try:
        record = ApiKeyModel.get(prefix, consistent_read=True)
    except DoesNotExist:
        return None
    if record.tenant_id != tenant_id:
        return None
    if record.revoked_at is None:
        record.update(actions=[ApiKeyModel.revoked_at.set(when or utcnow())])
    return record
