"""Real-shaped platform payloads (the fields each platform sends), built fresh per call so a test can
change them. Runs contain a failure pattern so analysis has something to find."""

from __future__ import annotations

import copy
from typing import Any

_REPEAT = "Searching the supplier catalogue for part 7731-B again, no result yet."


def n8n_execution(execution_id: str = "1042", workflow_id: str = "wf-7Hq2", started_ms: int = 1_767_000_000_000
                  ) -> dict[str, Any]:
    node_runs = []
    for i in range(5):
        node_runs.append({
            "startTime": started_ms + 400 + i * 900, "executionTime": 850, "executionStatus": "success",
            "source": [{"previousNode": "Webhook"}],
            "data": {"main": [[{"json": {"output": _REPEAT,
                                          "tokenUsage": {"promptTokens": 410, "completionTokens": 22}}}]]},
        })
    return {
        "executionId": execution_id,
        "workflowId": workflow_id,
        "workflowName": "Supplier lookup",
        "mode": "webhook",
        "startedAt": "2026-01-01T10:00:00.000Z",
        "finishedAt": "2026-01-01T10:00:06.500Z",
        "status": "success",
        "workflowData": {"nodes": [
            {"name": "Webhook", "type": "n8n-nodes-base.webhook"},
            {"name": "Procurement Agent", "type": "@n8n/n8n-nodes-langchain.agent"},
            {"name": "Send reply", "type": "n8n-nodes-base.httpRequest"},
        ]},
        "data": {"resultData": {"runData": {
            "Webhook": [{"startTime": started_ms, "executionTime": 3, "executionStatus": "success",
                         "data": {"main": [[{"json": {"body": {"part": "7731-B", "qty": 40}}}]]}}],
            "Procurement Agent": node_runs,
            "Send reply": [{"startTime": started_ms + 6000, "executionTime": 120, "executionStatus": "error",
                            "error": {"message": "Request failed with status code 502"},
                            "data": {"main": [[]]}}],
        }}},
    }


def n8n_api_execution(execution_id: str, workflow_id: str) -> dict[str, Any]:
    """The same execution as n8n's public REST API lists it (``includeData=true``)."""
    hook = n8n_execution(execution_id, workflow_id)
    return {"id": int(execution_id) if execution_id.isdigit() else execution_id, "finished": True,
            "mode": hook["mode"], "startedAt": hook["startedAt"], "stoppedAt": hook["finishedAt"],
            "workflowId": workflow_id, "status": "success", "workflowData": hook["workflowData"],
            "data": copy.deepcopy(hook["data"])}


def dify_run(run_id: str = "7c1f3d2e-run", app_id: str = "app-5f0c") -> dict[str, Any]:
    nodes = [{"node_id": "start", "node_type": "start", "title": "Start", "index": 1,
              "inputs": {"sys.query": "Summarise our refund policy for EU customers"},
              "outputs": {}, "status": "succeeded", "elapsed_time": 0.01, "created_at": 1767261600}]
    for i in range(4):
        nodes.append({"node_id": f"kr-{i}", "node_type": "knowledge-retrieval", "title": "Policy search",
                      "index": 2 + 2 * i, "inputs": {"query": "refund policy EU"},
                      "outputs": {"result": [{"content": "Refunds within 14 days.", "score": 0.41}]},
                      "status": "succeeded", "elapsed_time": 0.3, "created_at": 1767261601 + 2 * i})
        nodes.append({"node_id": f"llm-{i}", "node_type": "llm", "title": "Answer writer", "index": 3 + 2 * i,
                      "inputs": {"query": "refund policy EU"},
                      "process_data": {"model_name": "gpt-4o-mini",
                                       "usage": {"prompt_tokens": 900, "completion_tokens": 40}},
                      "outputs": {"text": "I need to search the policy documents again to be sure."},
                      "status": "succeeded", "elapsed_time": 1.2, "created_at": 1767261602 + 2 * i})
    return {"workflow_run_id": run_id, "app_id": app_id, "app_type": "workflow", "status": "succeeded",
            "total_tokens": 3760, "total_steps": len(nodes), "created_at": 1767261600, "finished_at": 1767261611,
            "inputs": {"sys.query": "Summarise our refund policy for EU customers"},
            "outputs": {"text": "I need to search the policy documents again to be sure."}, "nodes": nodes}


def langgraph_run(run_id: str = "1ef9a2c4-run", assistant_id: str = "asst-support") -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    for i in range(4):
        steps.append({"node": "agent", "superstep": 1 + 2 * i, "update": {"messages": [
            {"type": "ai", "content": "", "tool_calls": [{"name": "lookup_order", "args": {"order": "A-19"},
                                                          "id": f"call_{i}"}],
             "usage_metadata": {"input_tokens": 700, "output_tokens": 18},
             "response_metadata": {"model_name": "gpt-4o"}}]}})
        steps.append({"node": "tools", "superstep": 2 + 2 * i, "update": {"messages": [
            {"type": "tool", "name": "lookup_order", "tool_call_id": f"call_{i}",
             "content": "Error: order service timeout"}]}})
    steps.append({"node": "agent", "superstep": 9, "update": {"messages": [
        {"type": "ai", "content": "Your order A-19 has shipped and will arrive tomorrow."}]}})
    return {"run_id": run_id, "thread_id": "thr-88", "assistant_id": assistant_id, "graph_id": "support_agent",
            "status": "success", "created_at": "2026-01-02T09:00:00Z", "updated_at": "2026-01-02T09:00:20Z",
            "input": {"messages": [{"type": "human", "content": "Where is my order A-19?"}]},
            "steps": steps, "error": None}


def openclaw_session(session_id: str = "sess-31a", agent_name: str = "ops-claw") -> dict[str, Any]:
    events: list[dict[str, Any]] = [
        {"type": "message", "role": "user", "content": "Rotate the staging database credentials",
         "timestamp": "2026-01-03T12:00:00Z"},
        {"type": "message", "role": "assistant", "content": "I'll hand the rotation to a helper session.",
         "timestamp": "2026-01-03T12:00:02Z"},
        {"type": "spawn", "child_session_id": "sess-31a-child", "agent_name": "db-helper",
         "timestamp": "2026-01-03T12:00:03Z"},
    ]
    for i in range(4):
        events.append({"type": "tool_call", "tool": "shell", "call_id": f"c{i}",
                       "args": {"cmd": "vault write -f db/rotate-root/staging"},
                       "timestamp": f"2026-01-03T12:00:{10 + 3 * i:02d}Z"})
        events.append({"type": "tool_result", "tool": "shell", "call_id": f"c{i}",
                       "result": "Error: permission denied", "is_error": True,
                       "timestamp": f"2026-01-03T12:00:{11 + 3 * i:02d}Z"})
    events.append({"type": "message", "role": "assistant", "content": "Credentials rotated successfully.",
                   "timestamp": "2026-01-03T12:00:30Z"})
    return {"session_id": session_id, "agent_name": agent_name, "channel": "slack", "elevated_mode": True,
            "sandbox_enabled": False, "started_at": "2026-01-03T12:00:00Z", "ended_at": "2026-01-03T12:00:31Z",
            "status": "completed", "events": events,
            "spawned_sessions": [{"session_id": "sess-31a-child", "agent_name": "db-helper", "events": [
                {"type": "message", "role": "assistant", "content": "Checking vault status.",
                 "timestamp": "2026-01-03T12:00:04Z"},
                {"type": "tool_call", "tool": "shell", "call_id": "h1", "args": {"cmd": "vault status"},
                 "timestamp": "2026-01-03T12:00:05Z"},
                {"type": "tool_result", "tool": "shell", "call_id": "h1", "result": "Sealed: false",
                 "timestamp": "2026-01-03T12:00:06Z"}]}]}


PAYLOADS = {"n8n": n8n_execution, "dify": dify_run, "langgraph": langgraph_run, "openclaw": openclaw_session}
