"""n8n executions -> spans.

Accepted shapes: the webhook body (``executionId``, ``workflowId``, ``workflowName``, ``mode``,
``startedAt``, ``finishedAt``, ``status``, ``data.resultData.runData``) and an execution of n8n's public
REST API (``id``, ``workflowId``, ``startedAt``, ``stoppedAt``, ``status``/``finished``, ``data``), so
webhooks and historical sync land on the same trace.

One root span per execution; one span per node run (``runData[node][i]``), its parent the root. A
node's type comes from the workflow definition when the payload carries it (``workflowData.nodes``);
language-model, agent, tool and retrieval nodes map to those kinds, any other node is a workflow step
acting under its own name.
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

PROVIDER = "n8n"


def entity_id(payload: dict[str, Any]) -> str:
    return require_str(payload, "workflowId", "workflow_id")


def _node_kind(node_type: str | None) -> SpanKind:
    t = (node_type or "").lower()
    if not t:
        return "agent"
    if "agent" in t:
        return "agent"
    if any(k in t for k in ("lmchat", "lmopenai", "lm.", "chatmodel", "openai", "anthropic", "gemini",
                            "mistral", "ollama", "chainllm", "textclassifier", "informationextractor")):
        return "llm"
    if any(k in t for k in ("vectorstore", "retriever", "embeddings")):
        return "retrieval"
    if "tool" in t or "httprequest" in t:
        return "tool"
    return "agent"


def _items(data: Any) -> list[Any]:
    """The JSON of a node run's output items (``data.main`` is a list of outputs, each a list of items)."""
    out: list[Any] = []
    main = data.get("main") if isinstance(data, dict) else None
    if not isinstance(main, list):
        return out
    for output in main:
        if isinstance(output, list):
            for item in output:
                out.append(item.get("json", item) if isinstance(item, dict) else item)
    return out


def _token_usage(items: list[Any]) -> tuple[int | None, int | None, str | None]:
    for item in items:
        if not isinstance(item, dict):
            continue
        usage = item.get("tokenUsage") or item.get("usage") or item.get("token_usage")
        if isinstance(usage, dict):
            prompt = as_int(usage.get("promptTokens", usage.get("prompt_tokens", usage.get("input_tokens"))))
            completion = as_int(usage.get("completionTokens", usage.get("completion_tokens",
                                                                         usage.get("output_tokens"))))
            model = item.get("model") if isinstance(item.get("model"), str) else None
            return prompt, completion, model
    return None, None, None


def _readable(items: list[Any]) -> str | None:
    """Prefer the conversational text of an item (``output``/``text``/``response``), else its JSON."""
    texts = []
    for item in items:
        if isinstance(item, dict):
            for key in ("output", "text", "response", "content", "message", "answer"):
                if isinstance(item.get(key), str) and item[key].strip():
                    texts.append(item[key])
                    break
    if texts:
        return as_text("\n".join(texts))
    return as_text(items[0] if len(items) == 1 else items) if items else None


def _node_types(payload: dict[str, Any]) -> dict[str, str]:
    workflow = payload.get("workflowData") or payload.get("workflow") or {}
    nodes = workflow.get("nodes") if isinstance(workflow, dict) else None
    return {n["name"]: str(n.get("type", "")) for n in nodes or []
            if isinstance(n, dict) and isinstance(n.get("name"), str)}


def normalise(body: Any, workflow_name: str | None = None) -> NormalisedRun:
    payload = require_object(body)
    workflow_id = entity_id(payload)
    execution_id = require_str(payload, "executionId", "execution_id", "id")
    trace_id = trace_id_for(PROVIDER, workflow_id, execution_id)
    name = str(payload.get("workflowName") or workflow_name or f"workflow {workflow_id}")
    data = payload.get("data") or {}
    if not isinstance(data, dict):
        raise PayloadError("'data' must be an object with resultData.runData")
    result = data.get("resultData") or {}
    run_data = result.get("runData") if isinstance(result, dict) else None
    if run_data is None:
        run_data = {}
    if not isinstance(run_data, dict):
        raise PayloadError("'data.resultData.runData' must be an object of node name -> runs")
    run_error = error_text(result.get("error")) if isinstance(result, dict) else None

    started = to_ns(payload.get("startedAt"))
    finished = to_ns(payload.get("finishedAt") or payload.get("stoppedAt"))
    raw_status = payload.get("status")
    if raw_status is None and "finished" in payload:
        raw_status = "success" if payload.get("finished") else "running"
    root_status = status_of(raw_status, run_error)
    types = _node_types(payload)
    root_id = span_id_for(trace_id, "execution")

    spans: list[Span] = []
    node_runs: list[tuple[int, str, int, dict[str, Any]]] = []
    for node_name, runs in run_data.items():
        if not isinstance(runs, list):
            raise PayloadError(f"runData[{node_name!r}] must be a list of runs")
        for index, run in enumerate(runs):
            if not isinstance(run, dict):
                raise PayloadError(f"runData[{node_name!r}][{index}] must be an object")
            node_runs.append((to_ns(run.get("startTime")) or started or 0, node_name, index, run))
    node_runs.sort(key=lambda r: (r[0], r[1], r[2]))
    if started is None:
        started = node_runs[0][0] if node_runs else 0
    if not started:
        raise PayloadError("missing 'startedAt' (and no node run has a startTime)")

    for order, (start, node_name, index, run) in enumerate(node_runs):
        start = start or started + order * 1000
        took = duration_ns(run.get("executionTime"), 1e-3)
        items = _items(run.get("data"))
        err = error_text(run.get("error"))
        prompt, completion, model = _token_usage(items)
        kind = _node_kind(types.get(node_name))
        source = run.get("source")
        previous = [s.get("previousNode") for s in source if isinstance(s, dict) and s.get("previousNode")] \
            if isinstance(source, list) else []
        input_override = run.get("inputOverride")
        spans.append(Span(
            trace_id=trace_id,
            span_id=span_id_for(trace_id, "node", node_name, index),
            name=node_name,
            start_ns=start,
            end_ns=start + took if took is not None else None,
            parent_span_id=root_id,
            kind=kind,
            status=status_of(run.get("executionStatus") or ("error" if err else "success"), err),
            status_message=err,
            agent_name=node_name,
            model=model,
            input_tokens=prompt,
            output_tokens=completion,
            tool_name=node_name if kind == "tool" else None,
            input_text=as_text(_items(input_override)) if isinstance(input_override, dict) else None,
            output_text=_readable(items),
            framework=PROVIDER,
            attributes={"n8n.node.name": node_name, "n8n.node.run_index": index,
                        "n8n.node.type": types.get(node_name), "n8n.node.previous": previous,
                        "n8n.node.items": len(items)},
        ))

    last_end = max((s.end_ns or s.start_ns for s in spans), default=started)
    spans.insert(0, Span(
        trace_id=trace_id,
        span_id=root_id,
        name=name,
        start_ns=started,
        end_ns=finished or (last_end if root_status != "unset" else None),
        kind="workflow",
        status=root_status,
        status_message=run_error,
        framework=PROVIDER,
        output_text=spans[-1].output_text if spans else None,
        attributes={"n8n.execution.id": execution_id, "n8n.workflow.id": workflow_id,
                    "n8n.execution.mode": payload.get("mode"), "n8n.execution.status": raw_status},
    ))
    return NormalisedRun(PROVIDER, workflow_id, execution_id, trace_id, name, root_status, spans,
                         {"mode": payload.get("mode"), "node_runs": len(node_runs)})
