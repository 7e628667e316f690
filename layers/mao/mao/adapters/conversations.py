"""Conversations in DynamoDB (one summary item each) with their turns in S3.

The summary item (tenant, conversation id, format, counts, task, labels) stays small; the parsed turns
can be megabytes, so they live in the payload bucket as gzipped JSON under a key that includes the
content hash (a retried or conflicting ingest never overwrites another body). The tenant id is the
partition key of every item and the first segment of every object key.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import time
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from mao.adapters.aws import client
from mao.adapters.dynamo import bound_model, region
from mao.config import settings

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def time_sortable_id(prefix: str, now_ms: int | None = None) -> str:
    """``prefix`` + 10 characters of milliseconds + 16 random characters (Crockford base32): ids sort
    by creation time, like ULIDs."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    stamp = "".join(_CROCKFORD[(ms >> shift) & 31] for shift in range(45, -1, -5))
    rand = secrets.randbits(80)
    tail = "".join(_CROCKFORD[(rand >> shift) & 31] for shift in range(75, -1, -5))
    return f"{prefix}{stamp}{tail}"


def created_key(created_at: datetime, ident: str) -> str:
    """Range key of the by-date indexes: UTC timestamp then id, so equal times still sort stably."""
    return f"{created_at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{ident}"


class ConversationsByCreated(GlobalSecondaryIndex["ConversationModel"]):
    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


@bound_model("MAO_CONVERSATIONS_TABLE", "mao-conversations")
class ConversationModel(Model):
    class Meta:
        table_name = "mao-conversations"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    conversation_id = UnicodeAttribute(range_key=True)
    created_key = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    format = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    framework = UnicodeAttribute(default="unknown")
    turn_count = NumberAttribute(default=0)
    speakers = ListAttribute(of=UnicodeAttribute, default=list)
    total_tokens = NumberAttribute(null=True)
    task = UnicodeAttribute(null=True)
    ground_truth = UnicodeAttribute(null=True)
    metadata = JSONAttribute(default=dict)
    labels = JSONAttribute(default=dict)
    content_sha256 = UnicodeAttribute()
    body_key = UnicodeAttribute()
    body_bytes = NumberAttribute(default=0)
    by_created = ConversationsByCreated()


def _bucket() -> str:
    return os.environ.get("MAO_PAYLOAD_BUCKET") or settings().payload_bucket


def body_key(tenant_id: str, conversation_id: str, sha256: str) -> str:
    return f"{tenant_id}/conversations/{conversation_id}/{sha256[:32]}.json.gz"


def put_body(key: str, body: dict[str, Any]) -> int:
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    client("s3").put_object(Bucket=_bucket(), Key=key, Body=gzip.compress(raw, compresslevel=6),
                            ContentType="application/json", ContentEncoding="gzip")
    return len(raw)


def get_body(key: str) -> dict[str, Any]:
    obj = client("s3").get_object(Bucket=_bucket(), Key=key)
    return json.loads(gzip.decompress(obj["Body"].read()))


def delete_body(key: str) -> None:
    client("s3").delete_object(Bucket=_bucket(), Key=key)


def put_new(record: ConversationModel) -> bool:
    """Store ``record`` unless its id is taken; False when an item with that id already exists."""
    try:
        record.save(condition=ConversationModel.conversation_id.does_not_exist())
    except PutError as exc:
        if "ConditionalCheckFailed" in repr(exc):
            return False
        raise
    return True


def get_conversation(tenant_id: str, conversation_id: str) -> ConversationModel | None:
    try:
        return ConversationModel.get(tenant_id, conversation_id)
    except DoesNotExist:
        return None


def list_query(tenant_id: str, *, format: str | None = None):
    """A query factory for :func:`mao.api.pagination.paginate`: newest first."""
    condition = ConversationModel.format == format if format else None

    def query(limit: int | None, start: dict[str, Any] | None) -> Any:
        return ConversationModel.by_created.query(tenant_id, scan_index_forward=False, limit=limit,
                                                  last_evaluated_key=start, filter_condition=condition)

    def count() -> int:
        return ConversationModel.by_created.count(tenant_id, filter_condition=condition)

    return query, count


LIST_KEY_ATTRIBUTES = ("tenant_id", "conversation_id", "created_key")


def delete_conversation(tenant_id: str, conversation_id: str) -> bool:
    """Remove a conversation and its stored turns. False if there was no such conversation."""
    record = get_conversation(tenant_id, conversation_id)
    if record is None:
        return False
    delete_body(record.body_key)
    record.delete()
    return True
