"""Traces: OTLP and Claude Code ingest, trace lists, one trace, its state snapshots, agents.

POST /api/v1/tenants/{tenant_id}/traces/ingest        OTLP/HTTP (protobuf or JSON, gzip), 202
GET  /api/v1/tenants/{tenant_id}/traces               list (page, page_size, agent_id, date_from, date_to, status)
GET  /api/v1/tenants/{tenant_id}/traces/{trace_id}    summary and every span
GET  /api/v1/tenants/{tenant_id}/traces/{trace_id}/states   state snapshots in order
GET  /api/v1/tenants/{tenant_id}/agents               agents derived from stored spans
POST /api/v1/traces/claude-code/ingest                Claude Code hook records (tenant from the credential)
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant, require_tenant_caller
from mao.api.errors import ApiError, not_found
from mao.api.pagination import PageParams, page_params, paginate
from mao.services import ingest
from mao.services import traces as views

router = APIRouter(prefix="/api/v1")

PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
JSON_TYPE = "application/json"


def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _backpressure() -> None:
    try:
        ingest.check_backpressure()
    except ingest.Backpressure as exc:
        raise ApiError(503, "unavailable", "ingest is under backpressure; retry later",
                       {"retry_after_seconds": exc.retry_after},
                       headers={"Retry-After": str(exc.retry_after)}) from None


def _quota(tenant_id: str, spans: int) -> None:
    """Count the spans against the tenant's monthly plan limit, or refuse the request with 429."""
    from mao.services import billing

    verdict = billing.check_and_count_spans(tenant_id, spans)
    if not verdict.allowed:
        raise billing.quota_error(verdict)


def _expand(body: bytes, encoding: str | None) -> bytes:
    from mao.domain.formats.otlp import OtlpFormatError, PayloadTooLargeError, maybe_gunzip

    limit = ingest.max_decompressed_bytes()
    try:
        return maybe_gunzip(body, encoding, limit)
    except PayloadTooLargeError:
        raise ApiError(413, "payload_too_large", f"decompressed body exceeds the limit of {limit} bytes",
                       {"limit_bytes": limit}) from None
    except OtlpFormatError as exc:
        raise ApiError(400, "bad_request", str(exc)) from None


def _otlp_response(media: str, accept: str, accepted: int, rejected: int, message: str) -> Response:
    headers = {"X-MAO-Accepted-Spans": str(accepted), "X-MAO-Rejected-Spans": str(rejected)}
    if media in PROTOBUF_TYPES and JSON_TYPE not in accept:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        reply = ExportTraceServiceResponse()
        if rejected:
            reply.partial_success.rejected_spans = rejected
            reply.partial_success.error_message = message
        return Response(reply.SerializeToString(), status_code=202, media_type="application/x-protobuf",
                        headers=headers)
    body: dict[str, Any] = {"accepted_spans": accepted, "partial_success": None}
    if rejected:
        body["partial_success"] = {"rejected_spans": rejected, "message": message}
        body["partialSuccess"] = {"rejectedSpans": str(rejected), "errorMessage": message}
    return JSONResponse(body, status_code=202, headers=headers)


@router.post("/tenants/{tenant_id}/traces/ingest", status_code=202)
async def ingest_otlp(tenant_id: str, request: Request, _: Principal = Depends(require_tenant)) -> Response:
    from mao.domain.formats.otlp import OtlpFormatError, decode_otlp

    content_type = request.headers.get("content-type", "")
    media = _media(content_type)
    if media not in (*PROTOBUF_TYPES, JSON_TYPE):
        raise ApiError(415, "unsupported_media_type",
                       "send OTLP as application/x-protobuf or application/json",
                       {"content_type": content_type or None})
    encoding = request.headers.get("content-encoding")
    body = await request.body()
    _backpressure()
    try:
        decoded = decode_otlp(_expand(body, encoding), content_type)
    except OtlpFormatError as exc:
        raise ApiError(400, "invalid_otlp", str(exc)) from None
    if decoded.spans:
        _quota(tenant_id, len(decoded.spans))
        ingest.enqueue_payload(tenant_id, ingest.FORMAT_OTLP, body, content_type, encoding,
                               getattr(request.state, "request_id", None))
    return _otlp_response(media, request.headers.get("accept", ""), len(decoded.spans), decoded.rejected,
                          decoded.error_message)


@router.post("/traces/claude-code/ingest", status_code=202)
async def ingest_claude_code(request: Request, principal: Principal = Depends(require_tenant_caller)
                             ) -> dict[str, Any]:
    from mao.domain.formats.claude_code import ClaudeCodeFormatError, parse_claude_code

    content_type = request.headers.get("content-type", "")
    if _media(content_type) not in (JSON_TYPE, ""):
        raise ApiError(415, "unsupported_media_type", "send Claude Code records as application/json")
    encoding = request.headers.get("content-encoding")
    body = await request.body()
    raw = _expand(body, encoding)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
    received_ns = time.time_ns()
    try:
        traces = parse_claude_code(data, received_ns)
    except ClaudeCodeFormatError as exc:
        raise ApiError(422, "validation_error", str(exc),
                       [{"field": exc.field, "index": exc.index, "message": str(exc)}]) from None
    _backpressure()
    assert principal.tenant_id is not None
    _quota(principal.tenant_id, sum(len(t.spans) for t in traces))
    # The worker re-parses with the same receive time, so records without a timestamp get the same ids.
    ingest.enqueue_payload(principal.tenant_id, ingest.FORMAT_CLAUDE_CODE, raw, JSON_TYPE, None,
                           getattr(request.state, "request_id", None), received_ns=received_ns)
    records = len(data) if isinstance(data, list) else 1
    return {"accepted_records": records,
            "traces": [{"session_id": t.session_id, "trace_id": t.trace_id, "span_count": len(t.spans)}
                       for t in traces]}


@router.get("/tenants/{tenant_id}/traces")
async def list_traces(tenant_id: str, params: PageParams = Depends(page_params),
                      agent_id: str | None = Query(None, min_length=1, max_length=256),
                      date_from: str | None = Query(None, max_length=40, description="ISO 8601 date or time"),
                      date_to: str | None = Query(None, max_length=40, description="ISO 8601 date or time"),
                      status: str | None = Query(None, description="running, completed or error"),
                      _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.adapters.traces import list_traces_query

    errors = []
    if status is not None and status not in views.TRACE_STATUSES:
        errors.append({"field": "query.status", "message": f"must be one of {', '.join(views.TRACE_STATUSES)}"})
    bounds: dict[str, int | None] = {"date_from": None, "date_to": None}
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value is not None:
            try:
                bounds[name] = views.parse_time_ns(value, end_of_day=name == "date_to")
            except ValueError:
                errors.append({"field": f"query.{name}", "message": "must be an ISO 8601 date or date-time"})
    if errors:
        raise ApiError(422, "validation_error", "request failed validation", errors)
    if bounds["date_from"] is not None and bounds["date_to"] is not None and bounds["date_from"] > bounds["date_to"]:
        raise ApiError(422, "validation_error", "date_from is after date_to",
                       [{"field": "query.date_from", "message": "must not be after date_to"}])
    query, count = list_traces_query(tenant_id, start_from=bounds["date_from"], start_to=bounds["date_to"],
                                     status=status, agent_id=agent_id)
    return paginate(query, params, lambda item: item.summary_dict(),
                    key_attributes=("tenant_id", "trace_id", "start_key"), count=count)


def _require_trace(tenant_id: str, trace_id: str) -> Any:
    from mao.adapters.traces import get_trace

    if len(trace_id) > 256:
        raise not_found("trace", trace_id[:64])
    record = get_trace(tenant_id, trace_id)
    if record is None:
        raise not_found("trace", trace_id)
    return record


@router.get("/tenants/{tenant_id}/traces/{trace_id}")
async def get_trace(tenant_id: str, trace_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    record = _require_trace(tenant_id, trace_id)
    spans = sorted(ingest.trace_spans(tenant_id, trace_id), key=lambda s: (s.start_ns, s.span_id))
    return {**record.summary_dict(), "spans": [views.span_view(s) for s in spans]}


@router.get("/tenants/{tenant_id}/traces/{trace_id}/states")
async def get_states(tenant_id: str, trace_id: str, _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    from mao.domain.traces import states

    _require_trace(tenant_id, trace_id)
    steps = states(ingest.trace_spans(tenant_id, trace_id))
    return {"trace_id": trace_id, "items": [views.state_view(s) for s in steps], "total": len(steps)}


@router.get("/tenants/{tenant_id}/agents")
async def list_agents(tenant_id: str, params: PageParams = Depends(page_params),
                      _: Principal = Depends(require_tenant)) -> dict[str, Any]:
    if params.cursor:
        raise ApiError(400, "bad_cursor", "agents are paged by page and page_size only")
    agents = views.tenant_agents(tenant_id)
    start = (params.page - 1) * params.page_size
    page = agents[start:start + params.page_size]
    has_more = start + params.page_size < len(agents)
    return {"items": page, "page": params.page, "page_size": params.page_size, "total": len(agents),
            "has_more": has_more, "next_cursor": None}


_INGEST_LIMIT = ingest.max_body_bytes()
app = create_app("traces", [router], body_limits={r"/traces/ingest$": _INGEST_LIMIT,
                                                   r"/claude-code/ingest$": _INGEST_LIMIT})
handler = lambda_handler(app)
