"""The stream event log behind the SSE endpoints (DynamoDB, TTL).

Key ``(stream = "<tenant>#<provider>", event_id)``; event ids are time-sortable
(``<16-digit microseconds>-<random>``), so "everything after Last-Event-ID" is one Query with a key
condition, oldest first. Items expire after ``MAO_STREAM_EVENT_TTL_SECONDS`` (default one day); reads
also filter on expiry because DynamoDB reaps lazily.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from mao.adapters.dynamo import TTLEpochAttribute, bound_model, epoch_now, is_live, region

EVENT_ID = re.compile(r"^\d{16}-[0-9a-f]{0,16}$")


def ttl_seconds() -> int:
    raw = os.environ.get("MAO_STREAM_EVENT_TTL_SECONDS", "")
    return int(raw) if raw.isdigit() else 86_400


@bound_model("MAO_STREAM_EVENTS_TABLE", "mao-stream-events")
class StreamEventModel(Model):
    class Meta:
        table_name = "mao-stream-events"
        region = region()

    stream = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    data = UnicodeAttribute()
    expires_at = TTLEpochAttribute()


@dataclass(frozen=True, slots=True)
class StreamEvent:
    event_id: str
    kind: str
    data: dict[str, Any]


def stream_key(tenant_id: str, provider: str) -> str:
    return f"{tenant_id}#{provider}"


def new_event_id(now: float | None = None) -> str:
    micros = int((now if now is not None else time.time()) * 1_000_000)
    return f"{micros:016d}-{secrets.token_hex(8)}"


def cursor_at(now: float) -> str:
    """An id that sorts before every event created at or after ``now``."""
    return f"{int(now * 1_000_000):016d}-"


def append(tenant_id: str, provider: str, kind: str, data: dict[str, Any]) -> str:
    event_id = new_event_id()
    StreamEventModel(stream_key(tenant_id, provider), event_id, kind=kind,
                     data=json.dumps(data, separators=(",", ":"), default=str),
                     expires_at=epoch_now() + ttl_seconds()).save()
    return event_id


def read_after(tenant_id: str, provider: str, after: str | None, limit: int = 100) -> list[StreamEvent]:
    """Live events after ``after`` (all retained events when None), oldest first."""
    key = stream_key(tenant_id, provider)
    condition = StreamEventModel.event_id > after if after else None
    now = epoch_now()
    out: list[StreamEvent] = []
    for item in StreamEventModel.query(key, condition, consistent_read=True, limit=limit + 20,
                                       scan_index_forward=True):
        if not is_live(item.expires_at, now):
            continue
        out.append(StreamEvent(item.event_id, item.kind, json.loads(item.data)))
        if len(out) >= limit:
            break
    return out
