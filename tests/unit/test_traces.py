"""Trace derivation: summary, status, state snapshots, the detectors' run and per-agent stats."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "formats"))
from otlp_payloads import encode_request, fake_pricer, record_multi_agent_run

from mao.domain.formats import semconv
from mao.domain.formats.otlp import decode_otlp
from mao.domain.models import Span
from mao.domain.traces import (
    agent_stats,
    merge_agent_stats,
    states,
    summarise_trace,
    to_run,
    trace_status,
)

TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture()
def multi_agent_spans() -> list[Span]:
    semconv.use_pricer(fake_pricer)
    try:
        body = encode_request(record_multi_agent_run()).SerializeToString()
        yield decode_otlp(body, "application/x-protobuf").spans
    finally:
        semconv.use_pricer(None)


def mk(span_id: str, parent: str | None, start: int, end: int | None, kind: str = "other",
       status: str = "unset", **kw) -> Span:
    return Span(trace_id=TRACE, span_id=span_id, parent_span_id=parent, name=span_id, start_ns=start,
                end_ns=end, kind=kind, status=status, **kw)


def test_summary_of_the_multi_agent_run(multi_agent_spans):
    summary = summarise_trace(multi_agent_spans)

    assert summary.status == "completed"
    assert summary.name == "invoke_agent orchestrator"
    assert summary.agents == ["orchestrator", "researcher", "writer"]
    assert summary.span_count == 9 and summary.error_count == 1
    assert (summary.input_tokens, summary.output_tokens) == (6500, 1510)
    assert summary.cost_usd == pytest.approx((6500 * 0.15 + 1510 * 0.60) / 1e6)
    assert summary.cost_complete is True
    assert summary.models == ["gpt-4o-mini"]
    assert summary.framework == "openai-agents"
    assert summary.conversation_id == "conv-42"
    assert summary.duration_ms is not None and summary.duration_ms >= 0
    assert summary.to_dict()["start_time"].endswith("Z")


def test_cost_is_incomplete_when_a_model_is_unknown():
    spans = [mk("r", None, 0, 10, kind="agent", agent_id="a"),
             mk("l1", "r", 1, 2, kind="llm", model="gpt-4o-mini", input_tokens=10, output_tokens=5,
                cost_usd=0.002),
             mk("l2", "r", 3, 4, kind="llm", model="in-house", input_tokens=10, output_tokens=5)]
    summary = summarise_trace(spans)

    assert summary.cost_usd == pytest.approx(0.002)
    assert summary.cost_complete is False


def test_no_priced_span_means_unknown_cost_not_zero():
    spans = [mk("r", None, 0, 10, kind="llm", model="in-house", input_tokens=10, output_tokens=5)]
    assert summarise_trace(spans).cost_usd is None


def test_status_running_while_root_is_open_or_missing():
    assert trace_status([mk("r", None, 0, None), mk("c", "r", 1, 2)]) == "running"
    # the root has not arrived yet: only children of an absent parent
    assert trace_status([mk("c", "r", 1, 2, status="ok")]) == "running"
    summary = summarise_trace([mk("c", "r", 1, 2, status="ok")])
    assert summary.status == "running" and summary.end_ns is None and summary.duration_ms is None


def test_status_error_from_root_or_last_failure_but_recovered_errors_complete():
    assert trace_status([mk("r", None, 0, 10, status="error")]) == "error"
    recovered = [mk("r", None, 0, 10), mk("t1", "r", 1, 2, status="error"), mk("t2", "r", 3, 4, status="ok")]
    assert trace_status(recovered) == "completed"
    failed_last = [mk("r", None, 0, 10), mk("t1", "r", 1, 2), mk("t2", "r", 3, 10, status="error")]
    assert trace_status(failed_last) == "error"
    root_ok = [mk("r", None, 0, 10, status="ok"), mk("t", "r", 1, 10, status="error")]
    assert trace_status(root_ok) == "completed"


def test_states_are_ordered_and_fold_tool_calls_into_their_parent_step(multi_agent_spans):
    steps = states(multi_agent_spans)

    assert [(s.agent, s.kind) for s in steps] == [
        ("orchestrator", "agent"), ("orchestrator", "llm"), ("researcher", "agent"), ("researcher", "llm"),
        ("researcher", "llm"), ("writer", "agent"), ("writer", "llm")]
    assert [s.index for s in steps] == list(range(7))
    researcher = steps[2]
    assert [(c.name, c.call_id, c.error) for c in researcher.tool_calls] == [
        ("web_search", "call_1", "timeout after 30s"), ("web_search", "call_2", None)]
    assert researcher.tool_calls[1].result == "5 results"
    assert steps[0].state == {"plan": ["research", "write"], "done": []}
    assert steps[3].input == "Find sources on battery recycling" and steps[3].content == "call web_search"
    assert (steps[3].input_tokens, steps[3].output_tokens, steps[3].model) == (800, 60, "gpt-4o-mini")
    assert all(s.latency_ms is not None for s in steps)
    starts = [s.start_ns for s in steps]
    assert starts == sorted(starts)


def test_tool_span_under_a_non_step_parent_stays_a_step():
    spans = [mk("r", None, 0, 10, kind="workflow"),
             mk("t", "r", 1, 2, kind="tool", tool_name="grep", input_text="-r x", output_text="hit")]
    steps = states(spans)

    assert len(steps) == 1
    assert steps[0].role == "tool" and steps[0].tool_calls[0].name == "grep"
    assert steps[0].content == "hit"


def test_to_run_for_detectors(multi_agent_spans):
    run = to_run(TRACE, multi_agent_spans)

    assert run.kind == "trace" and run.run_id == TRACE
    assert [s.ref for s in run.steps] == [s.ref for s in states(multi_agent_spans)]
    ids = {s.span_id for s in multi_agent_spans}
    assert all(step.ref in ids for step in run.steps)
    assert run.agents == ["orchestrator", "researcher", "writer"]
    assert run.task == "Plan the report on battery recycling"
    assert run.final_output == "Battery recycling report ..."
    assert run.status == "ok" and run.framework == "openai-agents"
    assert run.metadata["summary"]["span_count"] == 9


def test_agent_stats_per_agent(multi_agent_spans):
    stats = agent_stats(multi_agent_spans)

    assert set(stats) == {"agent-orch", "agent-res", "agent-wri"}
    researcher = stats["agent-res"]
    assert researcher.agent_name == "researcher"
    assert researcher.step_count == 3  # agent step + two model calls; tool calls are folded
    assert researcher.tokens_used == 800 + 60 + 2000 + 400
    assert researcher.error_count == 1
    assert researcher.status == "ok"  # the agent recovered from the failed search
    assert researcher.avg_latency_ms is not None
    writer = stats["agent-wri"].to_dict()
    assert writer["tokens_used"] == 3400 and writer["last_active_at"].endswith("Z")
    assert set(writer) >= {"agent_id", "step_count", "tokens_used", "avg_latency_ms", "last_active_at",
                           "status"}


def test_agent_stats_merge_across_traces():
    first = agent_stats([mk("a", None, 0, 10_000_000, kind="agent", agent_id="x", input_tokens=5)])
    second = agent_stats([mk("b", None, 20_000_000, 50_000_000, kind="agent", agent_id="x", status="error",
                             output_tokens=7)])
    merged = merge_agent_stats(first, second)["x"]

    assert merged.step_count == 2 and merged.tokens_used == 12
    assert merged.avg_latency_ms == pytest.approx(20.0)
    assert merged.last_active_ns == 50_000_000 and merged.status == "error"
    assert first["x"].step_count == 1  # inputs are not modified


def test_open_agent_span_reports_running():
    stats = agent_stats([mk("a", None, 0, None, kind="agent", agent_id="x")])
    assert stats["x"].status == "running"
