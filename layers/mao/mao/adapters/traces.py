"""Traces, spans and per-agent rows in DynamoDB.

- ``SpansTable``: one item per span, key ``(trace_key = "<tenant>#<trace>", span_id)``, so a span
  stored twice is the same item (re-delivery never duplicates) and a trace's spans are one Query.
  The normalised span is kept as JSON in ``body``; values too large for an item live in S3 and are
  referenced (see :mod:`mao.services.ingest`).
- ``TracesTable``: the summary of each trace, recomputed from all its spans, key
  ``(tenant_id, trace_id)``; GSI ``by_start`` (``tenant_id``, ``start_key``) lists newest first and
  bounds dates in the key condition.
- ``AgentTracesTable``: one row per (tenant, agent, trace) with that agent's statistics in that
  trace; replaced whenever the trace changes, merged across traces for ``GET /agents``.

The tenant id leads every partition key: no query can cross tenants.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import fields
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from mao.adapters.dynamo import bound_model, region, utcnow
from mao.domain.models import Span

try:  # orjson is several times faster for span bodies; optional
    import orjson

    def _dumps(value: Any) -> str:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()

    _loads = orjson.loads
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    def _dumps(value: Any) -> str:
        return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))

    _loads = json.loads

SPAN_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Span))
_BATCH_GET = 100


def trace_key(tenant_id: str, trace_id: str) -> str:
    return f"{tenant_id}#{trace_id}"


def start_key(start_ns: int, trace_id: str) -> str:
    """Sortable by start time (zero-padded nanoseconds), unique per trace."""
    return f"{start_ns:020d}#{trace_id}"


def span_to_dict(span: Span) -> dict[str, Any]:
    return {name: getattr(span, name) for name in SPAN_FIELDS}


def span_from_dict(data: dict[str, Any]) -> Span:
    return Span(**{k: v for k, v in data.items() if k in SPAN_FIELDS})


def dumps(value: Any) -> str:
    return _dumps(value)


def loads(text: str | bytes) -> Any:
    return _loads(text)


# --- models --------------------------------------------------------------------------------------


@bound_model("MAO_SPANS_TABLE", "mao-spans")
class SpanModel(Model):
    class Meta:
        table_name = "mao-spans"
        region = region()

    trace_key = UnicodeAttribute(hash_key=True)
    span_id = UnicodeAttribute(range_key=True)
    start_ns = NumberAttribute()
    content_hash = UnicodeAttribute()
    body = UnicodeAttribute()


class TracesByStart(GlobalSecondaryIndex["TraceModel"]):
    class Meta:
        index_name = "by_start"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    start_key = UnicodeAttribute(range_key=True)


@bound_model("MAO_TRACES_TABLE", "mao-traces")
class TraceModel(Model):
    class Meta:
        table_name = "mao-traces"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    trace_id = UnicodeAttribute(range_key=True)
    start_key = UnicodeAttribute()
    start_ns = NumberAttribute()
    status = UnicodeAttribute()
    span_count = NumberAttribute()
    agent_ids = UnicodeSetAttribute(null=True)
    summary = UnicodeAttribute()  # TraceSummary.to_dict() as JSON
    updated_at = UTCDateTimeAttribute()
    by_start = TracesByStart()

    def summary_dict(self) -> dict[str, Any]:
        data = loads(self.summary)
        data["agent_ids"] = sorted(self.agent_ids or ())
        data["updated_at"] = self.updated_at.isoformat().replace("+00:00", "Z")
        return data


@bound_model("MAO_AGENT_TRACES_TABLE", "mao-agent-traces")
class AgentTraceModel(Model):
    class Meta:
        table_name = "mao-agent-traces"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    agent_trace = UnicodeAttribute(range_key=True)  # "<trace_id>#<agent_id>"
    agent_id = UnicodeAttribute()
    trace_id = UnicodeAttribute()
    stats = UnicodeAttribute()  # AgentStats fields as JSON


# --- spans ---------------------------------------------------------------------------------------


def span_items(tenant_id: str, trace_id: str, span_ids: Iterable[str]) -> dict[str, SpanModel]:
    """The stored items of these spans (those that exist), by span id."""
    key = trace_key(tenant_id, trace_id)
    ids = list(dict.fromkeys(span_ids))
    found: dict[str, SpanModel] = {}
    for i in range(0, len(ids), _BATCH_GET):
        for item in SpanModel.batch_get([(key, s) for s in ids[i:i + _BATCH_GET]], consistent_read=True):
            found[item.span_id] = item
    return found


def write_span_items(items: list[SpanModel]) -> None:
    """Upsert span items (the key is the natural id, so a retried write cannot duplicate)."""
    if not items:
        return
    with SpanModel.batch_write() as batch:
        for item in items:
            batch.save(item)


def new_span_item(tenant_id: str, span: Span, body: str, content_hash: str) -> SpanModel:
    return SpanModel(trace_key(tenant_id, span.trace_id), span.span_id, start_ns=span.start_ns,
                     content_hash=content_hash, body=body)


def item_span(item: SpanModel, resolve_refs: bool = False) -> Span:
    """The span of a stored item. A body kept whole in S3 is fetched; with ``resolve_refs`` the
    values offloaded to S3 are put back too (otherwise they stay ``{"$ref": ...}`` markers)."""
    data = loads(item.body)
    ref = data.get("$body_ref")
    if ref:
        from mao.adapters import blobs

        data = loads(blobs.get_bytes(blobs.key_of(ref)))
    span = span_from_dict(data)
    if resolve_refs:
        _resolve_refs(span)
    return span


OFFLOADED_TEXT = "[offloaded: "


def _resolve_refs(span: Span) -> None:
    from mao.adapters import blobs

    def fetch(ref: str) -> Any:
        text = blobs.get_bytes(blobs.key_of(ref)).decode()
        if text[:1] in "{[":
            try:
                return loads(text)
            except ValueError:
                return text
        return text

    for key, value in list(span.attributes.items()):
        if isinstance(value, dict) and "$ref" in value:
            span.attributes[key] = fetch(value["$ref"])
    for name in ("input_text", "output_text"):
        value = getattr(span, name)
        if isinstance(value, str) and value.startswith(OFFLOADED_TEXT) and value.endswith("]"):
            fetched = fetch(value[len(OFFLOADED_TEXT):-1])
            setattr(span, name, fetched if isinstance(fetched, str) else dumps(fetched))
    if isinstance(span.state, dict) and "$ref" in span.state:
        fetched = fetch(span.state["$ref"])
        span.state = fetched if isinstance(fetched, dict) else {"value": fetched}


def iter_span_items(tenant_id: str, trace_id: str) -> Iterator[SpanModel]:
    return SpanModel.query(trace_key(tenant_id, trace_id), consistent_read=True)


def get_spans(tenant_id: str, trace_id: str, resolve_refs: bool = False) -> list[Span]:
    """Every stored span of a trace (empty when the trace is unknown to this tenant), with agents
    assigned over the whole trace (a span's parent agent may have arrived in a later export)."""
    from mao.domain.formats.semconv import assign_agents

    return assign_agents([item_span(item, resolve_refs) for item in iter_span_items(tenant_id, trace_id)])


# --- trace summaries -----------------------------------------------------------------------------


def get_trace(tenant_id: str, trace_id: str) -> TraceModel | None:
    """The trace's summary record, or ``None`` (also for another tenant's trace)."""
    try:
        return TraceModel.get(tenant_id, trace_id, consistent_read=True)
    except DoesNotExist:
        return None


def put_summary(tenant_id: str, summary: dict[str, Any], agent_ids: Iterable[str]) -> bool:
    """Store a recomputed summary unless a summary of more spans is already stored (a concurrent
    worker that saw more of the trace wins). Returns whether it was written."""
    start_ns = int(summary["start_ns"])
    item = TraceModel(
        tenant_id, summary["trace_id"],
        start_key=start_key(start_ns, summary["trace_id"]),
        start_ns=start_ns,
        status=summary["status"],
        span_count=int(summary["span_count"]),
        agent_ids=set(agent_ids) or None,
        summary=dumps({k: v for k, v in summary.items() if k != "start_ns"}),
        updated_at=utcnow(),
    )
    try:
        item.save(condition=TraceModel.trace_id.does_not_exist()
                  | (TraceModel.span_count <= int(summary["span_count"])))
    except PutError as exc:
        if "ConditionalCheckFailed" in repr(exc):
            return False
        raise
    return True


def list_traces_query(tenant_id: str, *, start_from: int | None = None, start_to: int | None = None,
                      status: str | None = None, agent_id: str | None = None):
    """A pagination query factory (see ``mao.api.pagination``) over the tenant's traces, newest first,
    plus a count function with the same conditions."""
    range_condition = None
    low = start_key(start_from, "") if start_from is not None else None
    high = start_key(start_to, "~") if start_to is not None else None
    if low is not None and high is not None:
        range_condition = TraceModel.start_key.between(low, high)
    elif low is not None:
        range_condition = TraceModel.start_key >= low
    elif high is not None:
        range_condition = TraceModel.start_key <= high
    filters = None
    if status is not None:
        filters = TraceModel.status == status
    if agent_id is not None:
        has_agent = TraceModel.agent_ids.contains(agent_id)
        filters = has_agent if filters is None else filters & has_agent

    def query(limit: int | None, last_key: dict[str, Any] | None):
        return TraceModel.by_start.query(tenant_id, range_key_condition=range_condition, filter_condition=filters,
                                         scan_index_forward=False, limit=limit, last_evaluated_key=last_key)

    def count() -> int:
        return TraceModel.count(tenant_id, range_key_condition=range_condition, filter_condition=filters,
                                index_name=TracesByStart.Meta.index_name)

    return query, count


# --- per-agent rows ------------------------------------------------------------------------------


def agent_row_key(trace_id: str, agent_id: str) -> str:
    return f"{trace_id}#{agent_id}"


def replace_agent_rows(tenant_id: str, trace_id: str, stats: dict[str, dict[str, Any]]) -> None:
    """Make the trace's agent rows exactly ``stats`` (agent id -> stats fields)."""
    prefix = f"{trace_id}#"
    existing = {row.agent_id for row in AgentTraceModel.query(
        tenant_id, AgentTraceModel.agent_trace.startswith(prefix), consistent_read=True)}
    with AgentTraceModel.batch_write() as batch:
        for agent_id, fields_ in stats.items():
            batch.save(AgentTraceModel(tenant_id, agent_row_key(trace_id, agent_id), agent_id=agent_id,
                                       trace_id=trace_id, stats=dumps(fields_)))
        for gone in existing - set(stats):
            batch.delete(AgentTraceModel(tenant_id, agent_row_key(trace_id, gone)))


def iter_agent_rows(tenant_id: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(agent id, trace id, stats fields) for every agent row of the tenant."""
    for row in AgentTraceModel.query(tenant_id):
        yield row.agent_id, row.trace_id, loads(row.stats)


def delete_trace(tenant_id: str, trace_id: str) -> bool:
    """Remove a trace: its summary, its spans and its agent rows. False if there was no such trace."""
    found = get_trace(tenant_id, trace_id) is not None
    with SpanModel.batch_write() as batch:
        for item in iter_span_items(tenant_id, trace_id):
            found = True
            batch.delete(item)
    with AgentTraceModel.batch_write() as batch:
        for row in AgentTraceModel.query(tenant_id, AgentTraceModel.agent_trace.startswith(f"{trace_id}#")):
            batch.delete(row)
    TraceModel(tenant_id, trace_id).delete()
    return found
