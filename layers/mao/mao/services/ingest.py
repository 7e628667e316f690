"""Trace ingestion: accept payloads at the API (claim check), and store spans from the worker.

API side: validate and count the spans (so the client hears about refused spans at once), put the
raw payload in S3 and a small message on the ingest queue. Worker side: read the payload back,
decode, and :func:`store_spans`, the one write path every span source uses (OTLP, Claude Code,
webhooks, imports): idempotent on (tenant, trace id, span id), large values offloaded to S3,
summaries and per-agent rows recomputed from all of a touched trace's spans.

Configuration (environment):
- ``MAO_INGEST_MAX_BODY_BYTES``: largest accepted request body, default 16 MiB (413 above).
- ``MAO_INGEST_MAX_DECOMPRESSED_BYTES``: largest body after gzip expansion, default 64 MiB (413).
- ``MAO_INGEST_MAX_QUEUE_DEPTH``: backlog of the ingest queue above which ingest answers 503,
  default 10000; ``MAO_INGEST_RETRY_AFTER_SECONDS`` (default 30) is the ``Retry-After`` it sends.
- ``MAO_SPAN_INLINE_BYTES``: span values larger than this go to S3, default 32 KiB.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mao.domain.models import Span

log = logging.getLogger("mao.ingest")

FORMAT_OTLP = "otlp"
FORMAT_CLAUDE_CODE = "claude_code"
MAX_SPAN_BODY_BYTES = 300 * 1024  # DynamoDB items must stay under 400 KB


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def max_body_bytes() -> int:
    return _env_int("MAO_INGEST_MAX_BODY_BYTES", 16 * 1024 * 1024)


def max_decompressed_bytes() -> int:
    return _env_int("MAO_INGEST_MAX_DECOMPRESSED_BYTES", 64 * 1024 * 1024)


def max_queue_depth() -> int:
    return _env_int("MAO_INGEST_MAX_QUEUE_DEPTH", 10_000)


def retry_after_seconds() -> int:
    return _env_int("MAO_INGEST_RETRY_AFTER_SECONDS", 30)


def span_inline_bytes() -> int:
    return _env_int("MAO_SPAN_INLINE_BYTES", 32 * 1024)


# --- backpressure and claim check ----------------------------------------------------------------


class Backpressure(Exception):
    """The ingest queue is too deep; retry after ``retry_after`` seconds."""

    def __init__(self, depth: int, limit: int, retry_after: int) -> None:
        super().__init__(f"ingest queue backlog {depth} exceeds {limit}")
        self.depth = depth
        self.limit = limit
        self.retry_after = retry_after


def check_backpressure() -> None:
    from mao.adapters.queues import ingest_queue_depth

    limit = max_queue_depth()
    depth = ingest_queue_depth()
    if depth > limit:
        raise Backpressure(depth, limit, retry_after_seconds())


def _payload_key(tenant_id: str, fmt: str) -> str:
    now = datetime.now(UTC)
    stamp = f"{time.time_ns():020d}-{secrets.token_hex(6)}"
    return f"ingest/{tenant_id}/{fmt}/{now:%Y/%m/%d}/{stamp}"


def enqueue_payload(tenant_id: str, fmt: str, body: bytes, content_type: str,
                    content_encoding: str | None, request_id: str | None = None,
                    received_ns: int | None = None) -> dict[str, Any]:
    """Put the raw payload in S3 and a message pointing at it on the ingest queue. ``received_ns``
    is the receive time the worker gives records without their own timestamp."""
    from mao.adapters import blobs, queues

    key = _payload_key(tenant_id, fmt)
    blobs.put_bytes(key, body, content_type, {"tenant-id": tenant_id})
    message = {"v": 1, "tenant_id": tenant_id, "format": fmt, "key": key, "content_type": content_type,
               "content_encoding": content_encoding or "",
               "received_ns": received_ns if received_ns is not None else time.time_ns(),
               "request_id": request_id}
    message["message_id"] = queues.send_ingest(message)
    return message


# --- storing spans -------------------------------------------------------------------------------


@dataclass(slots=True)
class StoreResult:
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    trace_ids: list[str] = field(default_factory=list)  # traces whose spans changed
    # Traces whose spans were all stored before but whose summary lagged behind them: a delivery that
    # wrote its spans and then failed (throttled, killed) is retried and finds only duplicates.
    repaired: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.new + self.updated


def merge_spans(old: Span, new: Span) -> Span:
    """A later report of the same span: its values win, except that a value it lacks keeps the
    earlier one, the start is the earliest seen and an end, once known, stays known."""
    merged = replace(new)
    for name in ("parent_span_id", "status_message", "agent_id", "agent_name", "role", "model", "provider",
                 "input_tokens", "output_tokens", "cost_usd", "tool_name", "tool_call_id", "input_text",
                 "output_text", "state"):
        if getattr(merged, name) is None:
            setattr(merged, name, getattr(old, name))
    merged.start_ns = min(old.start_ns, new.start_ns)
    if merged.end_ns is None:
        merged.end_ns = old.end_ns
    if merged.status == "unset" and old.status != "unset":
        merged.status = old.status
    if merged.kind == "other" and old.kind != "other":
        merged.kind = old.kind
    merged.attributes = {**old.attributes, **new.attributes}
    if not merged.events:
        merged.events = old.events
    if not merged.resource:
        merged.resource = old.resource
    if merged.framework == "unknown":
        merged.framework = old.framework
    return merged


def content_hash(span: Span) -> str:
    from mao.adapters.traces import dumps, span_to_dict

    return hashlib.sha256(dumps(span_to_dict(span)).encode()).hexdigest()


def _offload(tenant_id: str, span: Span) -> Span:
    """Move values larger than the inline bound to S3 and reference them (returns a copy)."""
    from mao.adapters import blobs
    from mao.adapters.traces import dumps
    from mao.domain.formats.semconv import replace_with_refs, split_large_attributes

    large = split_large_attributes(span, span_inline_bytes())
    if not large:
        return span
    copy = replace(span, attributes=dict(span.attributes))
    refs: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for path, value in large.items():
        data = value.encode() if isinstance(value, str) else dumps(value).encode()
        digest = hashlib.sha256(path.encode()).hexdigest()[:16]
        key = f"spans/{tenant_id}/{span.trace_id}/{span.span_id}/{digest}"
        refs[path] = blobs.put_bytes(key, data, "text/plain" if isinstance(value, str) else "application/json")
        sizes[path] = len(data)
    return replace_with_refs(copy, refs, sizes)


def _stored_body(tenant_id: str, span: Span) -> str:
    from mao.adapters import blobs
    from mao.adapters.traces import dumps, span_to_dict

    body = dumps(span_to_dict(_offload(tenant_id, span)))
    if len(body.encode()) <= MAX_SPAN_BODY_BYTES:
        return body
    # Many mid-sized values together: keep the whole span in S3 and a reference in the item.
    key = f"spans/{tenant_id}/{span.trace_id}/{span.span_id}/body"
    ref = blobs.put_bytes(key, body.encode(), "application/json")
    return dumps({"$body_ref": ref, "trace_id": span.trace_id, "span_id": span.span_id})


def _dedupe(spans: Iterable[Span]) -> dict[str, dict[str, Span]]:
    """Spans by trace, then span id; a span reported twice in one batch is merged."""
    by_trace: dict[str, dict[str, Span]] = {}
    for span in spans:
        group = by_trace.setdefault(span.trace_id, {})
        earlier = group.get(span.span_id)
        group[span.span_id] = span if earlier is None else merge_spans(earlier, span)
    return by_trace


def store_spans(tenant_id: str, spans: list[Span], *, summarise: bool = True) -> StoreResult:
    """Write spans idempotently and refresh the summaries of the traces that changed.

    A span already stored with the same content counts as a duplicate and is not written again; one
    stored with different content is merged (see :func:`merge_spans`) and updated.
    """
    from mao.adapters import traces as store

    result = StoreResult()
    for trace_id, group in _dedupe(spans).items():
        existing = store.span_items(tenant_id, trace_id, group)
        items = []
        for span_id, span in group.items():
            digest = content_hash(span)
            old = existing.get(span_id)
            if old is not None:
                if old.content_hash == digest:
                    result.duplicate += 1
                    continue
                span = merge_spans(load_span(old), span)
                digest = content_hash(span)
                if old.content_hash == digest:
                    result.duplicate += 1
                    continue
                result.updated += 1
            else:
                result.new += 1
            items.append(store.new_span_item(tenant_id, span, _stored_body(tenant_id, span), digest))
        store.write_span_items(items)
        if items:
            result.trace_ids.append(trace_id)
        elif summarise and _summary_lags(tenant_id, trace_id):
            result.repaired.append(trace_id)
    if summarise:
        for trace_id in [*result.trace_ids, *result.repaired]:
            refresh_trace(tenant_id, trace_id)
    return result


def _summary_lags(tenant_id: str, trace_id: str) -> bool:
    """Whether the stored summary is missing or counts fewer spans than are stored."""
    from mao.adapters import traces as store

    summary = store.get_trace(tenant_id, trace_id)
    if summary is None:
        return True
    return int(summary.span_count or 0) < sum(1 for _ in store.iter_span_items(tenant_id, trace_id))


# --- reading spans back --------------------------------------------------------------------------


def load_span(item: Any, resolve_refs: bool = False) -> Span:
    from mao.adapters.traces import item_span

    return item_span(item, resolve_refs)


def trace_spans(tenant_id: str, trace_id: str, resolve_refs: bool = False) -> list[Span]:
    """All stored spans of one trace, with agents assigned over the whole trace."""
    from mao.adapters.traces import get_spans

    return get_spans(tenant_id, trace_id, resolve_refs)


# --- summaries -----------------------------------------------------------------------------------


def stats_fields(stats: Any) -> dict[str, Any]:
    data = asdict(stats)
    data["frameworks"] = sorted(stats.frameworks)
    return data


def refresh_trace(tenant_id: str, trace_id: str) -> dict[str, Any] | None:
    """Recompute the trace's summary and per-agent rows from all its stored spans."""
    from mao.adapters import traces as store
    from mao.domain.traces import agent_key, agent_stats, summarise_trace

    spans = trace_spans(tenant_id, trace_id)
    if not spans:
        return None
    summary = summarise_trace(spans)
    data = summary.to_dict()
    data["start_ns"] = summary.start_ns
    agent_ids = {key for key in (agent_key(s) for s in spans) if key}
    agent_ids |= set(summary.agents)
    if store.put_summary(tenant_id, data, agent_ids):
        stats = agent_stats(spans)
        store.replace_agent_rows(tenant_id, trace_id, {k: stats_fields(v) for k, v in stats.items()})
    return data


def after_store(tenant_id: str, trace_ids: Iterable[str]) -> None:
    """Run detection on each changed trace when the analysis service is installed; a failure there
    is logged and never fails ingestion."""
    try:
        from mao.services.analysis import analyze_trace
    except ImportError:
        return
    for trace_id in trace_ids:
        started = time.perf_counter()
        try:
            result = analyze_trace(tenant_id, trace_id)
        except Exception:
            log.exception("analysis of trace %s failed; the spans are stored", trace_id)
            continue
        _record_detection_metrics(tenant_id, result, time.perf_counter() - started)


def _record_detection_metrics(tenant_id: str, result: Any, seconds: float) -> None:
    """Detection latency and the detections this analysis created, into the stored metrics."""
    try:
        from mao.services import metrics

        new = [d for d in result.detections if d.created_at >= result.analyzed_at][: result.created]
        metrics.record_detections(tenant_id, [(d.detection_type, d.severity) for d in new])
        metrics.record_latency(tenant_id, "detection", seconds)
    except Exception:
        log.exception("recording detection metrics failed")


def _record_ingest_metrics(tenant_id: str, spans: list[Span], result: StoreResult,
                           received_ns: int | None) -> None:
    """Stored spans and traces, tokens and cost by model (first delivery only), and ingest latency."""
    if not result.written:
        return
    try:
        from mao.services import metrics

        tokens: dict[str, tuple[int, int]] = {}
        cost: dict[str, float] = {}
        if not result.duplicate and not result.updated:
            for span in spans:
                if span.input_tokens is None and span.output_tokens is None and span.cost_usd is None:
                    continue
                model = span.model or "unknown"
                tin, tout = tokens.get(model, (0, 0))
                tokens[model] = (tin + (span.input_tokens or 0), tout + (span.output_tokens or 0))
                if span.cost_usd is not None:
                    cost[model] = cost.get(model, 0.0) + span.cost_usd
        metrics.record_ingested(tenant_id, traces=len(result.trace_ids), spans=result.new,
                                tokens_by_model=tokens, cost_by_model=cost)
        if received_ns:
            metrics.record_latency(tenant_id, "ingest", max(0, time.time_ns() - int(received_ns)) / 1e9)
    except Exception:
        log.exception("recording ingest metrics failed")


# --- the worker's job ----------------------------------------------------------------------------


class PoisonMessage(ValueError):
    """A message that can never succeed (it is retried, then lands in the dead-letter queue)."""


def decode_message_payload(message: dict[str, Any]) -> tuple[str, list[Span]]:
    """(tenant id, spans) from an ingest message, reading its payload from S3."""
    from mao.adapters import blobs
    from mao.domain.formats.otlp import OtlpFormatError, decode_otlp, maybe_gunzip

    try:
        tenant_id = str(message["tenant_id"])
        fmt = str(message["format"])
        key = str(message["key"])
    except (KeyError, TypeError) as exc:
        raise PoisonMessage(f"ingest message lacks {exc}") from None
    raw = blobs.get_bytes(key)
    try:
        body = maybe_gunzip(raw, message.get("content_encoding"), max_decompressed_bytes())
    except (OtlpFormatError, ValueError) as exc:
        raise PoisonMessage(f"payload {key}: {exc}") from None
    if fmt == FORMAT_OTLP:
        try:
            return tenant_id, decode_otlp(body, str(message.get("content_type") or "")).spans
        except OtlpFormatError as exc:
            raise PoisonMessage(f"payload {key}: {exc}") from None
    if fmt == FORMAT_CLAUDE_CODE:
        from mao.adapters.traces import loads
        from mao.domain.formats.claude_code import ClaudeCodeFormatError, parse_claude_code

        try:
            traces = parse_claude_code(loads(body), message.get("received_ns"))
        except (ClaudeCodeFormatError, ValueError) as exc:
            raise PoisonMessage(f"payload {key}: {exc}") from None
        return tenant_id, [span for trace in traces for span in trace.spans]
    raise PoisonMessage(f"unknown ingest format {fmt!r}")


def process_message(message: dict[str, Any]) -> StoreResult:
    tenant_id, spans = decode_message_payload(message)
    result = store_spans(tenant_id, spans)
    _record_ingest_metrics(tenant_id, spans, result, message.get("received_ns"))
    after_store(tenant_id, [*result.trace_ids, *result.repaired])
    return result
