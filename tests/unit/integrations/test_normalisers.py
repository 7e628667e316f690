import pytest

from mao.domain.analysis import analyze_run
from mao.domain.integrations import PROVIDERS, PayloadError
from mao.domain.integrations.common import to_ns
from mao.domain.traces import to_run
from tests.unit.integrations.payloads import (
    PAYLOADS,
    dify_run,
    langgraph_run,
    n8n_api_execution,
    n8n_execution,
    openclaw_session,
)


@pytest.mark.parametrize("provider", sorted(PAYLOADS))
def test_the_same_run_always_gets_the_same_trace_and_span_ids(provider):
    first = PROVIDERS[provider].normalise(PAYLOADS[provider]())
    again = PROVIDERS[provider].normalise(PAYLOADS[provider]())
    assert first.trace_id == again.trace_id and len(first.trace_id) == 32
    assert [s.span_id for s in first.spans] == [s.span_id for s in again.spans]
    assert len({s.span_id for s in first.spans}) == len(first.spans)
    assert first.content_hash() == again.content_hash()
    assert all(s.framework == provider and s.trace_id == first.trace_id for s in first.spans)


@pytest.mark.parametrize("provider", sorted(PAYLOADS))
def test_each_platform_run_is_analysed_like_any_trace(provider):
    run = PROVIDERS[provider].normalise(PAYLOADS[provider]())
    analysis = analyze_run(to_run(run.trace_id, run.spans))
    assert analysis.errors == {}
    assert analysis.detections, f"{provider}: the repeated-work run should be flagged"


def test_different_executions_or_workflows_are_different_traces():
    base = PROVIDERS["n8n"].normalise(n8n_execution("1", "wf-a")).trace_id
    assert PROVIDERS["n8n"].normalise(n8n_execution("2", "wf-a")).trace_id != base
    assert PROVIDERS["n8n"].normalise(n8n_execution("1", "wf-b")).trace_id != base


def test_n8n_node_runs_become_spans_under_the_execution():
    run = PROVIDERS["n8n"].normalise(n8n_execution())
    root, *nodes = run.spans
    assert root.kind == "workflow" and root.name == "Supplier lookup" and root.parent_span_id is None
    assert root.attributes["n8n.execution.id"] == "1042" and root.attributes["n8n.execution.mode"] == "webhook"
    agent_runs = [s for s in nodes if s.name == "Procurement Agent"]
    assert len(agent_runs) == 5 and all(s.kind == "agent" and s.input_tokens == 410 for s in agent_runs)
    assert [s.attributes["n8n.node.run_index"] for s in agent_runs] == [0, 1, 2, 3, 4]
    reply = next(s for s in nodes if s.name == "Send reply")
    assert reply.kind == "tool" and reply.status == "error" and "502" in reply.status_message
    assert all(s.parent_span_id == root.span_id for s in nodes)
    assert root.end_ns - root.start_ns == 6_500_000_000


def test_an_n8n_api_execution_maps_to_the_webhook_trace():
    hook = PROVIDERS["n8n"].normalise(n8n_execution("77", "wf-x"))
    api = PROVIDERS["n8n"].normalise(n8n_api_execution("77", "wf-x"))
    assert api.trace_id == hook.trace_id
    assert [s.span_id for s in api.spans] == [s.span_id for s in hook.spans]


def test_dify_node_types_keep_their_meaning():
    run = PROVIDERS["dify"].normalise(dify_run())
    kinds = {s.attributes.get("dify.node.type"): s.kind for s in run.spans[1:]}
    assert kinds == {"start": "chain", "knowledge-retrieval": "retrieval", "llm": "llm"}
    llm = next(s for s in run.spans if s.kind == "llm")
    assert llm.model == "gpt-4o-mini" and llm.input_tokens == 900 and llm.output_tokens == 40
    assert run.spans[0].attributes["dify.app.type"] == "workflow"


def test_dify_nodes_inside_an_iteration_hang_under_it():
    payload = dify_run()
    payload["nodes"].append({"node_id": "iter", "node_type": "iteration", "title": "Each doc", "index": 20,
                             "status": "succeeded", "elapsed_time": 1})
    payload["nodes"].append({"node_id": "inner", "node_type": "llm", "title": "Doc summary", "index": 21,
                             "iteration_id": "iter", "status": "succeeded", "elapsed_time": 1})
    run = PROVIDERS["dify"].normalise(payload)
    by_name = {s.name: s for s in run.spans}
    assert by_name["Doc summary"].parent_span_id == by_name["Each doc"].span_id


def test_langgraph_supersteps_keep_state_and_tool_steps():
    run = PROVIDERS["langgraph"].normalise(langgraph_run())
    steps = run.spans[1:]
    assert [s.attributes["langgraph.superstep"] for s in steps] == list(range(1, 10))
    assert [s.kind for s in steps[:2]] == ["agent", "tool"]
    assert steps[1].tool_name == "lookup_order" and "timeout" in steps[1].output_text
    assert steps[0].state["messages"][0]["tool_calls"][0]["name"] == "lookup_order"
    assert steps[-1].output_text.startswith("Your order A-19")
    assert run.spans[0].input_text == "Where is my order A-19?"
    assert run.spans[0].attributes["langgraph.thread_id"] == "thr-88"


def test_openclaw_events_and_spawned_sessions():
    run = PROVIDERS["openclaw"].normalise(openclaw_session())
    root = run.spans[0]
    assert root.attributes["openclaw.elevated_mode"] is True and root.attributes["openclaw.sandbox_enabled"] is False
    child = next(s for s in run.spans if s.attributes.get("openclaw.session_id") == "sess-31a-child")
    assert child.parent_span_id == root.span_id and child.agent_name == "db-helper"
    child_tools = [s for s in run.spans if s.parent_span_id == child.span_id and s.kind == "tool"]
    assert len(child_tools) == 1 and child_tools[0].output_text == "Sealed: false"
    shell = [s for s in run.spans if s.parent_span_id == root.span_id and s.kind == "tool"]
    assert len(shell) == 4 and all(s.status == "error" and s.end_ns > s.start_ns for s in shell)
    assert root.input_text == "Rotate the staging database credentials"


@pytest.mark.parametrize(("provider", "field"), [("n8n", "workflowId"), ("dify", "app_id"),
                                                 ("langgraph", "assistant_id"), ("openclaw", "agent_name")])
def test_a_payload_without_its_entity_is_refused_with_the_field_named(provider, field):
    payload = PAYLOADS[provider]()
    del payload[field]
    with pytest.raises(PayloadError, match=field):
        PROVIDERS[provider].normalise(payload)


def test_malformed_payloads_say_what_is_wrong():
    with pytest.raises(PayloadError, match="JSON object"):
        PROVIDERS["dify"].normalise([1, 2])
    bad = n8n_execution()
    bad["data"]["resultData"]["runData"]["Webhook"] = "oops"
    with pytest.raises(PayloadError, match="Webhook"):
        PROVIDERS["n8n"].normalise(bad)
    odd = openclaw_session()
    odd["events"].append({"type": "teleport"})
    with pytest.raises(PayloadError, match="teleport"):
        PROVIDERS["openclaw"].normalise(odd)


def test_times_in_seconds_milliseconds_and_iso_agree():
    assert to_ns(1767261600) == to_ns(1767261600000) == to_ns("2026-01-01T10:00:00Z")
    assert to_ns(None) is None and to_ns("not a time") is None
