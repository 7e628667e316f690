"""LangSmith run exports -> spans.

A record is one run (``id``, ``name``, ``run_type``, ``start_time``, ``end_time``, ``inputs``, ``outputs``,
``error``, ``parent_run_id``, ``trace_id``, token counts, ``extra.metadata``), possibly with its
``child_runs`` nested, as ``list_runs`` and the UI export give them. ``run_type`` maps onto the span kind
(``llm`` -> LLM, ``tool`` -> tool, ``retriever`` -> retrieval, ``chain``/``prompt``/``parser`` -> chain,
``embedding`` -> embedding); a run whose metadata names a LangGraph node acts as that node's agent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from mao.domain.formats.semconv import assign_agents, build_span
from mao.domain.imports.ids import hex_id, timestamp_ns
from mao.domain.models import Span

_KIND = {"llm": "LLM", "chat_model": "LLM", "tool": "TOOL", "retriever": "RETRIEVER", "embedding": "EMBEDDING",
         "chain": "CHAIN", "prompt": "CHAIN", "parser": "CHAIN"}
MAX_DEPTH = 64


class LangSmithRecordError(ValueError):
    """The record is not a LangSmith run."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _model(run: Mapping[str, Any]) -> str | None:
    extra = run.get("extra") if isinstance(run.get("extra"), Mapping) else {}
    for source in (extra.get("invocation_params"), extra.get("metadata")):
        if isinstance(source, Mapping):
            for key in ("model", "model_name", "ls_model_name"):
                if isinstance(source.get(key), str) and source[key]:
                    return source[key]
    return None


def run_span(run: Mapping[str, Any], parent_key: Any = None, trace_key: Any = None) -> Span:
    run_id = run.get("id")
    if run_id in (None, ""):
        raise LangSmithRecordError("a run needs 'id'")
    start = timestamp_ns(run.get("start_time"))
    if start is None:
        raise LangSmithRecordError(f"run {run_id!r}: 'start_time' is missing or not a timestamp")
    end = timestamp_ns(run.get("end_time"))
    run_type = str(run.get("run_type") or "chain").lower()
    name = str(run.get("name") or run_type)
    attrs: dict[str, Any] = {"openinference.span.kind": _KIND.get(run_type, "CHAIN"), "langsmith.run_type": run_type,
                             "langsmith.run.id": str(run_id)}
    model = _model(run)
    if model:
        attrs["gen_ai.request.model"] = model
    for key, attr in (("prompt_tokens", "gen_ai.usage.input_tokens"),
                      ("completion_tokens", "gen_ai.usage.output_tokens"),
                      ("total_tokens", "gen_ai.usage.total_tokens")):
        value = _int(run.get(key))
        if value is not None and (value or run_type in ("llm", "chat_model")):
            attrs[attr] = value
    cost = run.get("total_cost")
    try:
        if cost is not None:
            attrs["gen_ai.usage.cost"] = float(cost)
    except (TypeError, ValueError):
        pass
    for key, attr in (("inputs", "input.value"), ("outputs", "output.value")):
        text = _text(run.get(key))
        if text is not None:
            attrs[attr] = text
    if run_type == "tool":
        attrs["tool.name"] = name
    extra = run.get("extra") if isinstance(run.get("extra"), Mapping) else {}
    metadata = extra.get("metadata") if isinstance(extra.get("metadata"), Mapping) else {}
    node = metadata.get("langgraph_node")
    if isinstance(node, str) and node:
        attrs["graph.node.id"] = node
    for key, value in metadata.items():
        if isinstance(value, (str, int, float, bool)):
            attrs[f"langsmith.metadata.{key}"] = value
    if isinstance(run.get("session_id"), str):
        attrs["session.id"] = run["session_id"]
    if isinstance(run.get("tags"), list):
        attrs["langsmith.tags"] = [str(t) for t in run["tags"]]
    error = run.get("error")
    failed = bool(error) or str(run.get("status") or "").lower() == "error"
    parent = run.get("parent_run_id") or parent_key
    trace_ref = run.get("trace_id") or trace_key or (run_id if not parent else None)
    if trace_ref in (None, ""):
        raise LangSmithRecordError(f"run {run_id!r}: a child run needs 'trace_id'")
    return build_span(
        trace_id=hex_id(trace_ref, 32),
        span_id=hex_id(run_id, 16),
        parent_span_id=hex_id(parent, 16) if parent else None,
        name=name,
        start_ns=start,
        end_ns=end if end and end >= start else None,
        status_code=2 if failed else (1 if end else 0),
        status_message=str(error)[:2000] if error else None,
        attributes=attrs,
        events=[],
        resource={"service.name": "langsmith-import"},
    )


def _walk(run: Mapping[str, Any], parent_key: Any, trace_key: Any, depth: int) -> Iterator[Span]:
    if depth > MAX_DEPTH:
        raise LangSmithRecordError(f"child runs nested deeper than {MAX_DEPTH}")
    span = run_span(run, parent_key, trace_key)
    yield span
    children = run.get("child_runs") or []
    if not isinstance(children, list):
        raise LangSmithRecordError("'child_runs' must be a list")
    trace_ref = run.get("trace_id") or trace_key or run.get("id")
    for child in children:
        if not isinstance(child, Mapping):
            raise LangSmithRecordError("'child_runs' must hold run objects")
        yield from _walk(child, run.get("id"), trace_ref, depth + 1)


def record_spans(record: Any) -> list[Span]:
    """The spans of one LangSmith run record (with any nested child runs)."""
    if not isinstance(record, Mapping):
        raise LangSmithRecordError("a LangSmith record must be an object")
    return assign_agents(list(_walk(record, None, None, 0)))
