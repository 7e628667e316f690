"""Dify workflow runs -> spans.

Payload: ``workflow_run_id``, ``app_id``, ``app_type``, ``status``, ``total_tokens``, ``total_steps``,
``inputs``/``outputs``, ``created_at``/``finished_at`` and ``nodes`` (``node_id``, ``node_type``,
``title``, ``inputs``, ``outputs``, ``process_data``, ``status``, ``elapsed_time`` in seconds, ``error``,
``created_at``, ``index``, and ``iteration_id``/``loop_id`` for nodes inside an iteration or loop).

Dify node types keep their meaning: ``llm``, ``agent``, question classifiers and parameter
extractors are model calls; ``tool``, ``http-request`` and ``code`` are tools; ``knowledge-retrieval``
is retrieval; ``iteration``/``loop`` contain the nodes that name them; start/end/answer and the
control nodes are workflow structure. Nodes without a start time are laid out one after another.
"""

from __future__ import annotations

from typing import Any

from mao.domain.integrations.common import (
    NormalisedRun,
    PayloadError,
    as_int,
    as_text,
    duration_ns,
    error_text,
    require_object,
    require_str,
    span_id_for,
    status_of,
    to_ns,
    trace_id_for,
)
from mao.domain.models import Span, SpanKind

PROVIDER = "dify"

_KINDS: dict[str, SpanKind] = {
    "llm": "llm",
    "question-classifier": "llm",
    "parameter-extractor": "llm",
    "agent": "agent",
    "tool": "tool",
    "http-request": "tool",
    "code": "tool",
    "template-transform": "chain",
    "knowledge-retrieval": "retrieval",
    "iteration": "chain",
    "loop": "chain",
    "start": "chain",
    "end": "chain",
    "answer": "agent",
    "if-else": "chain",
    "variable-aggregator": "chain",
    "variable-assigner": "chain",
    "assigner": "chain",
    "list-operator": "chain",
    "document-extractor": "tool",
}


def entity_id(payload: dict[str, Any]) -> str:
    return require_str(payload, "app_id", "appId")


def _usage(node: dict[str, Any]) -> tuple[int | None, int | None, str | None, float | None]:
    process = node.get("process_data") if isinstance(node.get("process_data"), dict) else {}
    meta = node.get("execution_metadata") if isinstance(node.get("execution_metadata"), dict) else {}
    outputs = node.get("outputs") if isinstance(node.get("outputs"), dict) else {}
    usage = process.get("usage") or outputs.get("usage") or meta.get("usage") or {}
    if not isinstance(usage, dict):
        usage = {}
    prompt = as_int(usage.get("prompt_tokens"))
    completion = as_int(usage.get("completion_tokens"))
    if prompt is None and completion is None:
        total = as_int(meta.get("total_tokens"))
        prompt = total if total is not None else None
    model = process.get("model_name") or process.get("model") or (
        node.get("inputs", {}).get("model") if isinstance(node.get("inputs"), dict) else None)
    price = usage.get("total_price") or meta.get("total_price")
    cost = None
    try:
        cost = float(price) if price is not None else None
    except (TypeError, ValueError):
        cost = None
    return prompt, completion, model if isinstance(model, str) else None, cost


def _node_output(node: dict[str, Any]) -> str | None:
    outputs = node.get("outputs")
    if isinstance(outputs, dict):
        for key in ("text", "answer", "output", "result"):
            if isinstance(outputs.get(key), str) and outputs[key].strip():
                return as_text(outputs[key])
    return as_text(outputs)


def _node_input(node: dict[str, Any]) -> str | None:
    inputs = node.get("inputs")
    process = node.get("process_data")
    if isinstance(process, dict) and isinstance(process.get("prompts"), list) and process["prompts"]:
        last = process["prompts"][-1]
        if isinstance(last, dict) and isinstance(last.get("text"), str):
            return as_text(last["text"])
    if isinstance(inputs, dict):
        for key in ("query", "sys.query", "question", "input", "text"):
            if isinstance(inputs.get(key), str) and inputs[key].strip():
                return as_text(inputs[key])
    return as_text(inputs)


def normalise(body: Any) -> NormalisedRun:
    payload = require_object(body)
    app_id = entity_id(payload)
    run_id = require_str(payload, "workflow_run_id", "workflowRunId", "task_id", "id")
    trace_id = trace_id_for(PROVIDER, app_id, run_id)
    nodes = payload.get("nodes", [])
    if not isinstance(nodes, list):
        raise PayloadError("'nodes' must be a list")
    started = to_ns(payload.get("created_at") or payload.get("started_at"))
    node_starts = [to_ns(n.get("created_at")) for n in nodes if isinstance(n, dict)]
    if started is None:
        started = min((s for s in node_starts if s), default=None)
    if started is None:
        raise PayloadError("missing 'created_at' (and no node has one)")
    run_error = error_text(payload.get("error"))
    root_status = status_of(payload.get("status"), run_error)
    root_id = span_id_for(trace_id, "run")

    ordered = sorted(
        (n for n in nodes if isinstance(n, dict)),
        key=lambda n: (as_int(n.get("index")) if as_int(n.get("index")) is not None else 1 << 30,
                       to_ns(n.get("created_at")) or 0))
    ids: dict[str, str] = {}
    cursor = started
    spans: list[Span] = []
    for position, node in enumerate(ordered):
        node_id = require_str(node, "node_id", "id") if (node.get("node_id") or node.get("id")) else f"#{position}"
        exec_id = str(node.get("id") or node.get("node_execution_id") or "")
        identity = exec_id or f"{node_id}:{position}"
        span_id = span_id_for(trace_id, "node", identity)
        ids.setdefault(node_id, span_id)
        node_type = str(node.get("node_type") or node.get("type") or "").lower()
        kind = _KINDS.get(node_type, "agent")
        took = duration_ns(node.get("elapsed_time"), 1.0)
        start = to_ns(node.get("created_at")) or cursor
        end = to_ns(node.get("finished_at")) or (start + took if took is not None else None)
        cursor = max(cursor, (end or start) + 1)
        err = error_text(node.get("error"))
        prompt, completion, model, cost = _usage(node)
        title = str(node.get("title") or node_id)
        spans.append(Span(
            trace_id=trace_id,
            span_id=span_id,
            name=title,
            start_ns=start,
            end_ns=end,
            parent_span_id=root_id,
            kind=kind,
            status=status_of(node.get("status") or ("failed" if err else "succeeded"), err),
            status_message=err,
            agent_name=title if kind in ("agent", "llm") else None,
            model=model,
            input_tokens=prompt,
            output_tokens=completion,
            cost_usd=cost,
            tool_name=title if kind == "tool" else None,
            input_text=_node_input(node),
            output_text=_node_output(node),
            framework=PROVIDER,
            attributes={"dify.node.id": node_id, "dify.node.type": node_type, "dify.node.index": node.get("index"),
                        "dify.node.iteration_id": node.get("iteration_id") or node.get("loop_id"),
                        "dify.node.elapsed_time": node.get("elapsed_time")},
        ))
    # Nodes inside an iteration or loop hang under that node's span.
    for span in spans:
        container = span.attributes.get("dify.node.iteration_id")
        if container and container in ids and ids[container] != span.span_id:
            span.parent_span_id = ids[container]

    finished = to_ns(payload.get("finished_at"))
    elapsed = duration_ns(payload.get("elapsed_time"), 1.0)
    last_end = max((s.end_ns or s.start_ns for s in spans), default=started)
    name = str(payload.get("app_name") or payload.get("workflow_name") or f"dify app {app_id}")
    outputs = payload.get("outputs")
    spans.insert(0, Span(
        trace_id=trace_id,
        span_id=root_id,
        name=name,
        start_ns=started,
        end_ns=finished or (started + elapsed if elapsed else None) or (last_end if root_status != "unset" else None),
        kind="workflow",
        status=root_status,
        status_message=run_error,
        input_text=as_text(payload.get("inputs")),
        output_text=_node_output({"outputs": outputs}) if outputs is not None else None,
        framework=PROVIDER,
        attributes={"dify.workflow_run.id": run_id, "dify.app.id": app_id, "dify.app.type": payload.get("app_type"),
                    "dify.total_steps": payload.get("total_steps"), "dify.total_tokens": payload.get("total_tokens")},
    ))
    return NormalisedRun(PROVIDER, app_id, run_id, trace_id, name, root_status, spans,
                         {"app_type": payload.get("app_type"), "nodes": len(ordered)})
