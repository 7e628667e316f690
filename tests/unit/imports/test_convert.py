"""Records -> spans (Langfuse, LangSmith, OTLP) or conversations."""

from __future__ import annotations

import pytest

from mao.domain.imports.convert import RecordError, convert, normalise_format
from mao.domain.imports.ids import hex_id, timestamp_ns

TRACE = "5f2b8c1e-3a4d-4e5f-9a8b-7c6d5e4f3a2b"


def langfuse_trace() -> dict:
    return {"id": TRACE, "name": "support", "timestamp": "2025-03-01T10:00:00.000Z", "sessionId": "s1",
            "observations": [
                {"id": "obs-agent", "traceId": TRACE, "type": "AGENT", "name": "triage",
                 "startTime": "2025-03-01T10:00:00.100Z", "endTime": "2025-03-01T10:00:02.000Z"},
                {"id": "obs-gen", "traceId": TRACE, "type": "GENERATION", "name": "llm", "model": "gpt-4o-mini",
                 "parentObservationId": "obs-agent", "startTime": "2025-03-01T10:00:00.200Z",
                 "endTime": "2025-03-01T10:00:01.000Z", "usage": {"input": 30, "output": 12},
                 "level": "ERROR", "statusMessage": "rate limited", "input": [{"role": "user", "content": "hi"}]}]}


def test_a_langfuse_trace_becomes_a_rooted_span_tree() -> None:
    spans = convert("langfuse", langfuse_trace()).spans
    root, agent, gen = spans
    assert {s.trace_id for s in spans} == {TRACE.replace("-", "")}
    assert root.parent_span_id is None and agent.parent_span_id == root.span_id
    assert gen.parent_span_id == agent.span_id
    assert agent.kind == "agent" and agent.agent_name == "triage"
    assert gen.kind == "llm" and gen.model == "gpt-4o-mini"
    assert (gen.input_tokens, gen.output_tokens) == (30, 12)
    assert gen.status == "error" and gen.status_message == "rate limited"
    assert gen.agent_name == "triage"  # owned by its nearest agent ancestor
    assert root.end_ns == agent.end_ns


def test_a_single_langfuse_observation_is_one_span_with_stable_ids() -> None:
    obs = langfuse_trace()["observations"][1]
    first, again = convert("langfuse", obs).spans, convert("langfuse", dict(obs)).spans
    assert len(first) == 1 and first[0].span_id == again[0].span_id == hex_id("obs-gen", 16)


def test_a_langsmith_run_with_children() -> None:
    run = {"id": TRACE, "name": "Agent", "run_type": "chain", "start_time": "2025-03-01T10:00:00.000001",
           "end_time": "2025-03-01T10:00:03", "inputs": {"q": "x"},
           "child_runs": [{"id": "c1", "name": "ChatOpenAI", "run_type": "llm", "start_time": "2025-03-01T10:00:01",
                           "end_time": "2025-03-01T10:00:02", "prompt_tokens": 20, "completion_tokens": 5,
                           "extra": {"invocation_params": {"model": "gpt-4o"}, "metadata": {"langgraph_node": "n"}}},
                          {"id": "c2", "name": "search", "run_type": "tool", "start_time": "2025-03-01T10:00:02",
                           "error": "timeout"}]}
    root, llm, tool = convert("langsmith", run).spans
    assert root.start_ns == timestamp_ns("2025-03-01T10:00:00.000001")
    assert llm.trace_id == tool.trace_id == root.trace_id and llm.parent_span_id == root.span_id
    assert llm.kind == "llm" and llm.model == "gpt-4o" and llm.input_tokens == 20
    assert tool.kind == "tool" and tool.status == "error" and tool.status_message == "timeout"


@pytest.mark.parametrize(("fmt", "record", "reason"), [
    ("langsmith", {"name": "x", "run_type": "llm"}, "needs 'id'"),
    ("langsmith", {"id": "1", "run_type": "llm", "start_time": "yesterday"}, "start_time"),
    ("langfuse", {"id": "o", "traceId": "t", "type": "SPAN"}, "startTime"),
    ("langfuse", {"id": "t", "observations": ["o1"]}, "observation objects"),
    ("otlp", {"resourceSpans": "nope"}, "resourceSpans"),
    ("otlp", [1], "object"),
    ("openai", None, "empty"),
])
def test_bad_records_raise_with_a_reason(fmt: str, record, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        convert(fmt, record)


def test_conversation_formats_go_to_the_conversation_store() -> None:
    out = convert("who-when", {"question": "q", "history": []})
    assert out.is_conversation and out.conversation_format == "generic"
    assert convert("claude", {"messages": []}).conversation_format == "claude"


def test_format_names() -> None:
    assert normalise_format(None) is None and normalise_format("auto") is None
    assert normalise_format("Who&When") == "who-when" and normalise_format("OTLP") == "otlp"
    with pytest.raises(ValueError, match="unknown format"):
        normalise_format("csv")


def test_timestamps_in_every_common_shape() -> None:
    ns = 1_740_823_200_000_000_000
    assert timestamp_ns("2025-03-01T10:00:00Z") == ns
    assert timestamp_ns("2025-03-01T10:00:00.123456789+00:00") == ns + 123_456_789
    assert timestamp_ns(1_740_823_200) == ns and timestamp_ns(1_740_823_200_000) == ns
    assert timestamp_ns("nonsense") is None and timestamp_ns(True) is None
