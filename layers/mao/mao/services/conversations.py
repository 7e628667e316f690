"""Conversations: parse an ingested body into turns, store it, read it back as turns or as a ``Run``.

Ingest is idempotent on the client's ``conversation_id``: sending the same content under the same id
again returns the stored conversation, different content under a taken id is a conflict. Without an
id every ingest is a new conversation with a time-sortable id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mao.adapters import conversations as store
from mao.adapters.dynamo import utcnow
from mao.domain.formats.conversations import ParsedConversation, conversation_to_run, parse_conversation
from mao.domain.models import Run, ToolCall, Turn

MAX_TEXT_FIELD = 4000  # task / ground truth kept on the summary item
MAX_METADATA_CHARS = 20_000
MAX_SPEAKERS = 100


class ConversationConflict(Exception):
    """The client's conversation id is already taken by different content."""


@dataclass(slots=True)
class Ingested:
    record: store.ConversationModel
    created: bool  # False when the same content was already stored under this id


# --- (de)serialising turns -----------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def tool_call_to_dict(call: ToolCall) -> dict[str, Any]:
    return {"name": call.name, "arguments": _jsonable(call.arguments), "result": _jsonable(call.result),
            "call_id": call.call_id, "error": call.error}


def turn_to_dict(turn: Turn) -> dict[str, Any]:
    return {"index": turn.index, "speaker": turn.speaker, "role": turn.role, "content": turn.content,
            "tool_calls": [tool_call_to_dict(c) for c in turn.tool_calls], "tokens": turn.tokens,
            "metadata": _jsonable(turn.metadata)}


def turn_from_dict(raw: dict[str, Any]) -> Turn:
    calls = [ToolCall(name=c["name"], arguments=c.get("arguments"), result=c.get("result"),
                      call_id=c.get("call_id"), error=c.get("error")) for c in raw.get("tool_calls") or []]
    return Turn(index=int(raw["index"]), speaker=raw["speaker"], role=raw["role"], content=raw["content"],
                tool_calls=calls, tokens=raw.get("tokens"), metadata=dict(raw.get("metadata") or {}))


def parsed_to_body(parsed: ParsedConversation) -> dict[str, Any]:
    return {"format": parsed.format, "turns": [turn_to_dict(t) for t in parsed.turns],
            "metadata": _jsonable(parsed.metadata), "labels": _jsonable(parsed.labels)}


def parsed_from_body(body: dict[str, Any]) -> ParsedConversation:
    return ParsedConversation(body["format"], [turn_from_dict(t) for t in body["turns"]],
                              dict(body.get("metadata") or {}), dict(body.get("labels") or {}))


def content_digest(format: str, data: Any) -> str:
    canonical = json.dumps({"format": format, "data": data}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _clip(text: Any) -> str | None:
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= MAX_TEXT_FIELD else text[:MAX_TEXT_FIELD] + "…"


def _bounded_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """The metadata for the summary item: small values kept, oversized ones named under ``truncated``
    (the full metadata stays in the stored body)."""
    out: dict[str, Any] = {}
    dropped: list[str] = []
    size = 0
    for key, value in _jsonable(metadata).items():
        n = len(json.dumps(value))
        if size + n > MAX_METADATA_CHARS:
            dropped.append(key)
            continue
        out[key] = value
        size += n
    if dropped:
        out["truncated"] = dropped
    return out


# --- ingest and reads ----------------------------------------------------------------------------


def ingest(tenant_id: str, format: str, data: Any, *, conversation_id: str | None = None,
           name: str | None = None) -> Ingested:
    """Parse and store a conversation. Raises ``ConversationFormatError`` (the data is not in the
    named format) or :class:`ConversationConflict`."""
    fmt = (format or "").strip().lower()
    parsed = parse_conversation(fmt, data)
    digest = content_digest(fmt, data)
    if conversation_id is not None:
        existing = store.get_conversation(tenant_id, conversation_id)
        if existing is not None:
            return _same_or_conflict(existing, digest)
    conv_id = conversation_id or store.time_sortable_id("conv_")
    key = store.body_key(tenant_id, conv_id, digest)
    size = store.put_body(key, parsed_to_body(parsed))
    now = utcnow()
    framework = parsed.metadata.get("framework")
    tokens = [t.tokens for t in parsed.turns if t.tokens is not None]
    record = store.ConversationModel(
        tenant_id, conv_id,
        created_key=store.created_key(now, conv_id), created_at=now, format=fmt, name=name,
        framework=framework if isinstance(framework, str) else "unknown",
        turn_count=len(parsed.turns), speakers=parsed.speakers[:MAX_SPEAKERS],
        total_tokens=sum(tokens) if tokens else None,
        task=_clip(conversation_to_run(conv_id, parsed).task), ground_truth=_clip(parsed.metadata.get("ground_truth")),
        metadata=_bounded_metadata(parsed.metadata), labels=_jsonable(parsed.labels),
        content_sha256=digest, body_key=key, body_bytes=size)
    if store.put_new(record):
        return Ingested(record, True)
    # Another request stored this id between our read and write.
    existing = store.get_conversation(tenant_id, conv_id)
    if existing is None or existing.content_sha256 != digest:
        store.delete_body(key)  # ours lost the race: keep no orphaned body
    if existing is None:
        raise ConversationConflict(f"conversation {conv_id!r} could not be stored")
    return _same_or_conflict(existing, digest)


def _same_or_conflict(existing: store.ConversationModel, digest: str) -> Ingested:
    if existing.content_sha256 == digest:
        return Ingested(existing, False)
    raise ConversationConflict(
        f"conversation {existing.conversation_id!r} already exists with different content")


def get(tenant_id: str, conversation_id: str) -> store.ConversationModel | None:
    return store.get_conversation(tenant_id, conversation_id)


def load_parsed(record: store.ConversationModel) -> ParsedConversation:
    return parsed_from_body(store.get_body(record.body_key))


def load_turns(tenant_id: str, conversation_id: str) -> list[Turn] | None:
    record = store.get_conversation(tenant_id, conversation_id)
    if record is None:
        return None
    return load_parsed(record).turns


def to_run(conversation_id: str, parsed: ParsedConversation) -> Run:
    return conversation_to_run(conversation_id, parsed)


def load_run(tenant_id: str, conversation_id: str) -> Run | None:
    record = store.get_conversation(tenant_id, conversation_id)
    if record is None:
        return None
    return to_run(conversation_id, load_parsed(record))


def summary_view(record: store.ConversationModel) -> dict[str, Any]:
    return {
        "id": record.conversation_id,
        "conversation_id": record.conversation_id,
        "format": record.format,
        "name": record.name,
        "framework": record.framework,
        "turn_count": int(record.turn_count),
        "speakers": list(record.speakers or []),
        "total_tokens": int(record.total_tokens) if record.total_tokens is not None else None,
        "task": record.task,
        "created_at": record.created_at.isoformat(),
    }


def detail_view(record: store.ConversationModel) -> dict[str, Any]:
    return {**summary_view(record), "ground_truth": record.ground_truth, "metadata": record.metadata or {},
            "labels": record.labels or {}, "content_sha256": record.content_sha256,
            "body_bytes": int(record.body_bytes)}


def turn_view(turn: Turn) -> dict[str, Any]:
    return turn_to_dict(turn)
