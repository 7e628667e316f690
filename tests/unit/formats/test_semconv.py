"""Attribute mapping for the three conventions, agent inheritance, cost and large values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mao.domain.formats.semconv import (
    assign_agents,
    build_span,
    infer_kind,
    replace_with_refs,
    split_large_attributes,
)
from mao.domain.models import Span

TRACE = "0af7651916cd43dd8448eb211c80319c"


def span(name: str, attrs: dict[str, Any], span_id: str = "a1", parent: str | None = None,
         status_code: int = 0, events: list[dict[str, Any]] | None = None,
         framework: str = "unknown") -> Span:
    return build_span(trace_id=TRACE, span_id=span_id, parent_span_id=parent, name=name, start_ns=1_000,
                      end_ns=2_000_000, status_code=status_code, status_message=None, attributes=attrs,
                      events=events or [], resource={}, framework=framework)


def test_openinference_llm_span():
    s = span("ChatOpenAI", {
        "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", "llm.provider": "openai",
        "llm.token_count.prompt": 120, "llm.token_count.completion": 30, "llm.token_count.total": 150,
        "input.value": "What is 2+2?", "output.value": "4",
    })

    assert (s.kind, s.model, s.provider) == ("llm", "gpt-4o-mini", "openai")
    assert (s.input_tokens, s.output_tokens) == (120, 30)
    assert (s.input_text, s.output_text) == ("What is 2+2?", "4")


def test_openinference_agent_and_langgraph_node():
    agent = span("research_agent", {"openinference.span.kind": "AGENT", "agent.name": "researcher"})
    node = span("coder", {"openinference.span.kind": "CHAIN", "graph.node.id": "coder",
                          "langgraph.state": '{"messages": 3, "next": "reviewer"}'})

    assert (agent.kind, agent.agent_name, agent.agent_id) == ("agent", "researcher", "researcher")
    assert (node.kind, node.agent_name) == ("chain", "coder")
    assert node.state == {"messages": 3, "next": "reviewer"}
    assert node.framework == "langgraph"


def test_openllmetry_spans():
    workflow = span("research.workflow", {"traceloop.span.kind": "workflow",
                                          "traceloop.entity.name": "research"})
    agent = span("planner.agent", {"traceloop.span.kind": "agent", "traceloop.entity.name": "planner",
                                   "traceloop.entity.input": '{"goal": "x"}'})
    tool = span("search.tool", {"traceloop.span.kind": "tool", "traceloop.entity.name": "search"})
    llm = span("openai.chat", {"llm.request.type": "chat", "gen_ai.system": "openai",
                               "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": 11,
                               "gen_ai.usage.completion_tokens": 5,
                               "gen_ai.prompt.0.content": "system text",
                               "gen_ai.prompt.1.content": "question",
                               "gen_ai.completion.0.content": "answer"})

    assert workflow.kind == "workflow" and workflow.agent_name is None
    assert (agent.kind, agent.agent_name, agent.input_text) == ("agent", "planner", '{"goal": "x"}')
    assert (tool.kind, tool.tool_name) == ("tool", "search")
    assert (llm.kind, llm.provider, llm.model, llm.input_tokens, llm.output_tokens) == (
        "llm", "openai", "gpt-4o", 11, 5)
    assert (llm.input_text, llm.output_text) == ("question", "answer")


@pytest.mark.parametrize(("operation", "kind"), [
    ("chat", "llm"), ("text_completion", "llm"), ("embeddings", "embedding"), ("create_agent", "agent"),
    ("invoke_agent", "agent"), ("invoke_workflow", "workflow"), ("execute_tool", "tool"),
])
def test_genai_operation_names_set_the_kind(operation, kind):
    assert infer_kind("x", {"gen_ai.operation.name": operation}) == kind


def test_kind_falls_back_on_what_the_span_carries():
    assert infer_kind("x", {"tool.name": "grep"}) == "tool"
    assert infer_kind("x", {"gen_ai.request.model": "m"}) == "llm"
    assert infer_kind("x", {"gen_ai.agent.name": "a"}) == "agent"
    assert infer_kind("x", {"http.method": "GET"}) == "other"


def test_response_model_wins_over_request_model_and_new_token_keys_over_old():
    s = span("chat", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                      "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 10,
                      "gen_ai.usage.prompt_tokens": 99, "gen_ai.provider.name": "openai",
                      "gen_ai.system": "legacy"})

    assert (s.model, s.input_tokens, s.provider) == ("gpt-4o-2024-08-06", 10, "openai")


def test_input_tokens_derived_from_total_when_only_total_and_completion_are_given():
    s = span("llm", {"openinference.span.kind": "LLM", "llm.model_name": "m",
                     "llm.token_count.total": 50, "llm.token_count.completion": 20})
    assert (s.input_tokens, s.output_tokens) == (30, 20)


def test_status_error_code_and_exception_events():
    assert span("x", {}, status_code=2).status == "error"
    assert span("x", {}, status_code=1).status == "ok"
    failed = span("x", {}, events=[{"name": "exception", "attributes": {
        "exception.type": "TimeoutError", "exception.message": "took too long"}}])
    assert (failed.status, failed.status_message) == ("error", "TimeoutError: took too long")
    assert span("x", {}, events=[{"name": "log", "attributes": {}}]).status == "unset"


def test_cost_from_price_table_and_none_for_unknown_models(fixed_prices):
    known = span("chat", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                          "gen_ai.usage.input_tokens": 1_000_000, "gen_ai.usage.output_tokens": 1_000_000})
    unknown = span("chat", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "in-house-llm-7",
                            "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10})
    no_tokens = span("chat", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})

    assert known.cost_usd == pytest.approx(0.75)
    assert unknown.cost_usd is None
    assert no_tokens.cost_usd is None


def test_cost_uses_the_maintained_price_table():
    from mao.domain import pricing

    s = span("chat", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                      "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 1000,
                      "gen_ai.usage.output_tokens": 500})
    expected = pricing.cost_usd("gpt-4o-mini", 1000, 500, "openai")

    assert expected is not None and expected > 0
    assert s.cost_usd == pytest.approx(expected)


def test_framework_hint_from_attribute_namespace_when_resource_says_nothing():
    assert span("x", {"crewai.task.id": "t1"}).framework == "crewai"
    assert span("x", {"foo": 1}).framework == "unknown"
    assert span("x", {"crewai.task.id": "t1"}, framework="langgraph").framework == "langgraph"


def test_children_inherit_the_nearest_ancestor_agent_not_the_root():
    spans = [
        span("root", {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "boss"}, "r"),
        span("sub", {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"}, "s", "r"),
        span("step", {"traceloop.span.kind": "task"}, "t", "s"),
        span("llm", {"gen_ai.operation.name": "chat"}, "l", "t"),
        span("tool", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "calc"}, "k", "r"),
        span("own", {"gen_ai.operation.name": "chat", "gen_ai.agent.name": "critic"}, "o", "s"),
        span("orphan", {"gen_ai.operation.name": "chat"}, "x", "missing-parent"),
    ]
    assign_agents(spans)
    owner = {s.name: s.agent_name for s in spans}

    assert owner == {"root": "boss", "sub": "helper", "step": "helper", "llm": "helper", "tool": "boss",
                     "own": "critic", "orphan": None}


def test_cyclic_parent_links_do_not_hang():
    spans = [span("a", {}, "a", "b"), span("b", {}, "b", "a")]
    assign_agents(spans)
    assert [s.agent_id for s in spans] == [None, None]


def test_split_large_values_and_swap_in_references():
    big = "x" * 5000
    s = span("chat", {"gen_ai.operation.name": "chat", "gen_ai.prompt": big, "small": "ok",
                      "gen_ai.state": json.dumps({"blob": "y" * 3000})})
    large = split_large_attributes(s, 1024)

    assert set(large) == {"attributes.gen_ai.prompt", "attributes.gen_ai.state", "input_text", "state"}
    assert large["input_text"] == big
    replace_with_refs(s, {k: f"s3://bucket/{k}" for k in large}, {k: 5000 for k in large})
    assert s.attributes["gen_ai.prompt"] == {"$ref": "s3://bucket/attributes.gen_ai.prompt", "size": 5000}
    assert s.attributes["small"] == "ok"
    assert s.input_text == "[offloaded: s3://bucket/input_text]"
    assert s.state == {"$ref": "s3://bucket/state", "size": 5000}
    assert split_large_attributes(s, 1024) == {}
