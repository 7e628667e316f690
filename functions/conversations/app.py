"""Conversations: ingest in one of the supported formats, list, read, turn-by-turn view, analyse.

POST /api/v1/tenants/{tenant_id}/conversations/ingest        {"format", "data", "conversation_id"?, "name"?,
                                                             "analyze"?} (body up to 5 MiB)
GET  /api/v1/tenants/{tenant_id}/conversations               newest first, paginated (optional format filter)
GET  /api/v1/tenants/{tenant_id}/conversations/{id}          details (and the last analysis, if any)
GET  /api/v1/tenants/{tenant_id}/conversations/{id}/turns    index, speaker, role, content, tool calls, tokens
POST /api/v1/tenants/{tenant_id}/conversations/{id}/analyze  turn-aware detection, attribution when failed
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant
from mao.api.errors import ApiError, not_found
from mao.api.pagination import PageParams, page_params, paginate

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/conversations")

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_ID_RE = re.compile(ID_PATTERN)
FORMATS = ("mast-data", "openai", "claude", "generic")
MAX_INGEST_BYTES = 5 * 1024 * 1024


class IngestBody(BaseModel):
    format: str = Field(min_length=1, max_length=40, description="mast-data | openai | claude | generic")
    data: Any = Field(description="the conversation in the named format")
    conversation_id: str | None = Field(default=None, pattern=ID_PATTERN,
                                        description="optional client id; makes retries idempotent")
    name: str | None = Field(default=None, max_length=200)
    analyze: bool = Field(default=False, description="run the detectors right after ingest")


def _conversation(tenant_id: str, conversation_id: str) -> Any:
    from mao.services import conversations

    record = conversations.get(tenant_id, conversation_id) if _ID_RE.match(conversation_id) else None
    if record is None:
        raise not_found("conversation", conversation_id)
    return record


@router.post("/ingest", status_code=201)
async def ingest(tenant_id: str, body: IngestBody, response: Response,
                 _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.domain.formats.conversations import ConversationFormatError
    from mao.services import analysis, conversations

    if body.format.strip().lower() not in FORMATS:
        raise ApiError(422, "unknown_format", f"unknown format {body.format!r}; supported: {', '.join(FORMATS)}",
                       [{"field": "body.format", "message": f"must be one of {', '.join(FORMATS)}"}])
    if body.data is None:
        raise ApiError(422, "validation_error", "data is required",
                       [{"field": "body.data", "message": "required"}])
    try:
        result = conversations.ingest(tenant_id, body.format, body.data, conversation_id=body.conversation_id,
                                      name=body.name)
    except ConversationFormatError as exc:
        raise ApiError(422, "invalid_format", str(exc), [{"field": "body.data", "message": str(exc)}]) from None
    except conversations.ConversationConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    if not result.created:
        response.status_code = 200
    out: dict[str, Any] = {**conversations.summary_view(result.record), "created": result.created}
    if body.analyze:
        out["analysis"] = analysis.analyze_run_and_store(
            tenant_id, conversations.to_run(result.record.conversation_id,
                                            conversations.load_parsed(result.record)),
            source_kind="conversation", source_id=result.record.conversation_id).to_dict()
    return out


@router.get("")
async def list_conversations(tenant_id: str, page: PageParams = Depends(page_params),
                             format: str | None = Query(None, max_length=40),
                             _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters import conversations as store
    from mao.services import conversations

    if format is not None and format not in FORMATS:
        raise ApiError(422, "validation_error", f"format must be one of {', '.join(FORMATS)}",
                       [{"field": "query.format", "message": f"must be one of {', '.join(FORMATS)}"}])
    query, count = store.list_query(tenant_id, format=format)
    return paginate(query, page, conversations.summary_view, key_attributes=store.LIST_KEY_ATTRIBUTES,
                    count=count)


@router.get("/{conversation_id}")
async def get_conversation(tenant_id: str, conversation_id: str,
                           _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import analysis, conversations

    record = _conversation(tenant_id, conversation_id)
    return {**conversations.detail_view(record),
            "analysis": analysis.last_analysis(tenant_id, "conversation", conversation_id)}


@router.get("/{conversation_id}/turns")
async def get_turns(tenant_id: str, conversation_id: str, page: PageParams = Depends(page_params),
                    _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import conversations

    record = _conversation(tenant_id, conversation_id)
    if page.cursor is not None:
        raise ApiError(400, "bad_cursor", "turns are paged by page and page_size only")
    turns = conversations.load_parsed(record).turns
    start = (page.page - 1) * page.page_size
    chosen = turns[start:start + page.page_size]
    return {"conversation_id": conversation_id, "items": [conversations.turn_view(t) for t in chosen],
            "page": page.page, "page_size": page.page_size, "total": len(turns),
            "has_more": start + page.page_size < len(turns), "next_cursor": None}


@router.post("/{conversation_id}/analyze")
async def analyze(tenant_id: str, conversation_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.services import analysis, conversations

    record = _conversation(tenant_id, conversation_id)
    run = conversations.to_run(conversation_id, conversations.load_parsed(record))
    return analysis.analyze_run_and_store(tenant_id, run, source_kind="conversation",
                                          source_id=conversation_id).to_dict()


app = create_app("conversations", [router], body_limits={r"/conversations/ingest$": MAX_INGEST_BYTES})
handler = lambda_handler(app)
