"""Langfuse exports -> spans.

Two record shapes are read: a trace (``id``, ``timestamp``, ``name``, ``input``, ``output``, with its
``observations`` nested, as the public API's trace endpoint and the UI export give it) and a single
observation (``id``, ``traceId``, ``type``, ``startTime``, ..., as the observations export gives it, one
per line). Observations become spans with OpenTelemetry GenAI / OpenInference attributes so the shared
semantic-convention mapping fills in kind, model, tokens and cost; a trace record also becomes a root
span for the trace itself. Ids are mapped deterministically, so importing the same export twice
writes the same spans.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mao.domain.formats.semconv import assign_agents, build_span
from mao.domain.imports.ids import hex_id, timestamp_ns
from mao.domain.models import Span

_KIND = {"GENERATION": "LLM", "AGENT": "AGENT", "TOOL": "TOOL", "CHAIN": "CHAIN", "RETRIEVER": "RETRIEVER",
         "EMBEDDING": "EMBEDDING", "EVALUATOR": "EVALUATOR", "GUARDRAIL": "GUARDRAIL", "SPAN": "CHAIN",
         "EVENT": "CHAIN"}


class LangfuseRecordError(ValueError):
    """The record is not a Langfuse trace or observation."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _usage(obs: Mapping[str, Any]) -> tuple[int | None, int | None, int | None]:
    for key in ("usageDetails", "usage"):
        usage = obs.get(key)
        if isinstance(usage, Mapping):
            inp = usage.get("input", usage.get("promptTokens", usage.get("prompt_tokens")))
            out = usage.get("output", usage.get("completionTokens", usage.get("completion_tokens")))
            total = usage.get("total", usage.get("totalTokens", usage.get("total_tokens")))
            if inp is not None or out is not None or total is not None:
                return _int(inp), _int(out), _int(total)
    return _int(obs.get("promptTokens")), _int(obs.get("completionTokens")), _int(obs.get("totalTokens"))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def observation_span(obs: Mapping[str, Any], trace_key: Any = None, root_span_id: str | None = None,
                     trace_meta: Mapping[str, Any] | None = None) -> Span:
    obs_id = obs.get("id")
    trace_ref = obs.get("traceId", trace_key)
    if obs_id in (None, "") or trace_ref in (None, ""):
        raise LangfuseRecordError("an observation needs 'id' and 'traceId'")
    start = timestamp_ns(obs.get("startTime") or obs.get("timestamp"))
    if start is None:
        raise LangfuseRecordError(f"observation {obs_id!r}: 'startTime' is missing or not a timestamp")
    end = timestamp_ns(obs.get("endTime"))
    kind = str(obs.get("type") or "SPAN").upper()
    attrs: dict[str, Any] = {"openinference.span.kind": _KIND.get(kind, "CHAIN"), "langfuse.observation.type": kind,
                             "langfuse.observation.id": str(obs_id), "langfuse.trace.id": str(trace_ref)}
    name = str(obs.get("name") or kind.lower())
    if obs.get("model"):
        attrs["gen_ai.request.model"] = str(obs["model"])
    inp, out, total = _usage(obs)
    if inp is not None:
        attrs["gen_ai.usage.input_tokens"] = inp
    if out is not None:
        attrs["gen_ai.usage.output_tokens"] = out
    if total is not None:
        attrs["gen_ai.usage.total_tokens"] = total
    cost = obs.get("calculatedTotalCost", obs.get("totalCost"))
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        attrs["gen_ai.usage.cost"] = float(cost)
    text_in, text_out = _text(obs.get("input")), _text(obs.get("output"))
    if text_in is not None:
        attrs["input.value"] = text_in
    if text_out is not None:
        attrs["output.value"] = text_out
    if kind == "TOOL":
        attrs["tool.name"] = name
    if kind == "AGENT":
        attrs["agent.name"] = name
    metadata = obs.get("metadata")
    if isinstance(metadata, Mapping):
        for key, value in metadata.items():
            if isinstance(value, (str, int, float, bool)):
                attrs[f"langfuse.metadata.{key}"] = value
    for key in ("sessionId", "userId"):
        value = (trace_meta or {}).get(key)
        if isinstance(value, str):
            attrs[f"langfuse.{key}"] = value
    level = str(obs.get("level") or "DEFAULT").upper()
    status_code = 2 if level == "ERROR" else (1 if end else 0)
    parent = obs.get("parentObservationId")
    return build_span(
        trace_id=hex_id(trace_ref, 32),
        span_id=hex_id(obs_id, 16),
        parent_span_id=hex_id(parent, 16) if parent else root_span_id,
        name=name,
        start_ns=start,
        end_ns=end if end and end >= start else None,
        status_code=status_code,
        status_message=obs.get("statusMessage") if isinstance(obs.get("statusMessage"), str) else None,
        attributes=attrs,
        events=[],
        resource={"service.name": "langfuse-import"},
    )


def _trace_span(trace: Mapping[str, Any], observations: list[Mapping[str, Any]]) -> Span:
    trace_key = trace["id"]
    starts = [timestamp_ns(o.get("startTime")) for o in observations]
    ends = [timestamp_ns(o.get("endTime")) for o in observations]
    start = timestamp_ns(trace.get("timestamp")) or min((s for s in starts if s), default=None)
    if start is None:
        raise LangfuseRecordError(f"trace {trace_key!r}: 'timestamp' is missing or not a timestamp")
    end = max((e for e in ends if e), default=None)
    attrs: dict[str, Any] = {"openinference.span.kind": "CHAIN", "langfuse.trace.id": str(trace_key)}
    for key, attr in (("input", "input.value"), ("output", "output.value")):
        text = _text(trace.get(key))
        if text is not None:
            attrs[attr] = text
    for key in ("sessionId", "userId", "release", "version"):
        if isinstance(trace.get(key), str):
            attrs[f"langfuse.{key}"] = trace[key]
    if isinstance(trace.get("tags"), list):
        attrs["langfuse.tags"] = [str(t) for t in trace["tags"]]
    return build_span(trace_id=hex_id(trace_key, 32), span_id=hex_id(f"trace:{trace_key}", 16), parent_span_id=None,
                      name=str(trace.get("name") or "trace"), start_ns=start,
                      end_ns=end if end and end >= start else None, status_code=0, status_message=None,
                      attributes=attrs, events=[], resource={"service.name": "langfuse-import"})


def record_spans(record: Any) -> list[Span]:
    """The spans of one Langfuse export record (a trace with observations, or one observation)."""
    if not isinstance(record, Mapping):
        raise LangfuseRecordError("a Langfuse record must be an object")
    if "traceId" in record and "observations" not in record:
        return assign_agents([observation_span(record)])
    if record.get("id") in (None, ""):
        raise LangfuseRecordError("a Langfuse trace needs 'id'")
    raw = record.get("observations") or []
    if not isinstance(raw, list):
        raise LangfuseRecordError("'observations' must be a list")
    observations = [o for o in raw if isinstance(o, Mapping)]
    if len(observations) != len(raw):
        raise LangfuseRecordError("'observations' must hold observation objects (export them expanded)")
    root = _trace_span(record, observations)
    spans = [root] + [observation_span(o, record["id"], root.span_id, record) for o in observations]
    return assign_agents(spans)
