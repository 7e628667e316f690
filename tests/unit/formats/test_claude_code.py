"""Claude Code hook records: grouping by session, tool spans, idempotent ids, field validation."""

from __future__ import annotations

import pytest

from mao.domain.formats.claude_code import ClaudeCodeFormatError, parse_claude_code, session_trace_id
from mao.domain.traces import states, summarise_trace


def rec(**kw):
    base = {"session_id": "sess-1", "timestamp": "2025-06-01T10:00:00Z"}
    base.update(kw)
    return base


BATCH = [
    rec(hook_type="UserPromptSubmit", prompt="fix the failing test", timestamp="2025-06-01T10:00:00Z"),
    rec(hook_type="PreToolUse", tool_name="Bash", tool_input={"command": "pytest -x"},
        tool_use_id="toolu_1", timestamp="2025-06-01T10:00:01Z"),
    rec(hook_type="PostToolUse", tool_name="Bash", tool_input={"command": "pytest -x"}, tool_use_id="toolu_1",
        tool_output={"stdout": "1 failed", "is_error": True, "stderr": "AssertionError"},
        timestamp="2025-06-01T10:00:04.500Z"),
    rec(hook_event_name="PostToolUse", tool_name="Edit", tool_input={"file_path": "a.py"},
        tool_response={"success": True}, cwd="/repo", timestamp=1748772010),
    rec(hook_type="Stop", model="claude-sonnet-4-5", tokens_in=1200, tokens_out=300, cost_usd=0.0081,
        timestamp="2025-06-01T10:00:12Z"),
    rec(session_id="sess-2", hook_type="PostToolUse", tool_name="Read", tool_input={"file_path": "b.py"},
        tool_output="contents", timestamp="2025-06-01T11:00:00Z"),
]


def test_records_grouped_by_session_into_deterministic_traces():
    traces = parse_claude_code(BATCH)

    assert [t.session_id for t in traces] == ["sess-1", "sess-2"]
    assert traces[0].trace_id == session_trace_id("sess-1") and len(traces[0].trace_id) == 32
    assert traces[0].trace_id != traces[1].trace_id
    assert all(s.framework == "claude-code" for t in traces for s in t.spans)
    assert all(s.trace_id == t.trace_id for t in traces for s in t.spans)


def test_pre_and_post_tool_use_become_one_tool_span():
    spans = parse_claude_code(BATCH)[0].spans
    bash = [s for s in spans if s.tool_name == "Bash"]

    assert len(bash) == 1
    assert bash[0].kind == "tool" and bash[0].latency_ms == pytest.approx(3500.0)
    assert bash[0].status == "error" and bash[0].status_message == "AssertionError"
    assert bash[0].tool_call_id == "toolu_1"
    assert '"command": "pytest -x"' in bash[0].input_text


def test_real_hook_field_names_are_accepted():
    edit = next(s for s in parse_claude_code(BATCH)[0].spans if s.tool_name == "Edit")

    assert edit.attributes["claude_code.working_dir"] == "/repo"
    assert edit.status == "ok" and edit.output_text == '{"success": true}'
    assert edit.start_ns == 1748772010 * 10**9


def test_tokens_and_cost_are_kept_and_summarised():
    spans = parse_claude_code(BATCH)[0].spans
    stop = next(s for s in spans if s.name == "Stop")
    summary = summarise_trace(spans)

    assert (stop.kind, stop.model, stop.input_tokens, stop.output_tokens) == (
        "agent", "claude-sonnet-4-5", 1200, 300)
    assert stop.cost_usd == pytest.approx(0.0081)
    assert summary.cost_usd == pytest.approx(0.0081) and summary.framework == "claude-code"
    assert summary.agents == ["claude-code"]


def test_tool_calls_are_steps_in_time_order():
    steps = states(parse_claude_code(BATCH)[0].spans)
    assert [(s.kind, s.tool_calls[0].name if s.tool_calls else None) for s in steps] == [
        ("tool", "Bash"), ("tool", "Edit"), ("agent", None)]


def test_redelivery_gives_identical_span_ids():
    first = parse_claude_code(BATCH)
    again = parse_claude_code(list(reversed(BATCH)))

    ids_first = sorted(s.span_id for t in first for s in t.spans)
    assert ids_first == sorted(s.span_id for t in again for s in t.spans)
    one_by_one = [s.span_id for r in BATCH[3:5] for t in parse_claude_code(r) for s in t.spans]
    assert one_by_one == [s.span_id for s in first[0].spans if s.name in ("tool Edit", "Stop")]


def test_pre_and_post_in_separate_deliveries_share_the_span_id():
    pre = parse_claude_code(BATCH[1])[0].spans[0]
    post = parse_claude_code(BATCH[2])[0].spans[0]

    assert pre.span_id == post.span_id
    assert pre.end_ns is None and post.end_ns is not None


def test_single_record_is_accepted():
    traces = parse_claude_code(BATCH[5])
    assert len(traces) == 1 and traces[0].spans[0].tool_name == "Read"


@pytest.mark.parametrize(("record", "field"), [
    ({"timestamp": "2025-06-01T10:00:00Z", "tool_name": "Bash"}, "session_id"),
    ({"session_id": "s"}, "timestamp"),
    ({"session_id": "s", "timestamp": "yesterday"}, "timestamp"),
    ({"session_id": "s", "timestamp": "2025-06-01T10:00:00"}, "timestamp"),
    (rec(tokens_in=-3), "tokens_in"),
    (rec(tokens_out="many"), "tokens_out"),
    (rec(cost_usd="free"), "cost_usd"),
    (rec(tool_name=7), "tool_name"),
    (rec(tool_input=12), "tool_input"),
    ("not an object", "record"),
])
def test_validation_errors_name_the_field(record, field):
    with pytest.raises(ClaudeCodeFormatError) as err:
        parse_claude_code([rec(), record])

    assert err.value.field == field and err.value.index == 1
    assert field in str(err.value)


def test_raw_hook_payload_without_timestamp_uses_the_supplied_receive_time():
    raw = {"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "Grep", "tool_input": {"p": "x"}}
    span = parse_claude_code(raw, default_timestamp_ns=5_000_000_000)[0].spans[0]
    assert span.start_ns == 5_000_000_000


def test_empty_batch_is_an_error():
    with pytest.raises(ClaudeCodeFormatError, match="body"):
        parse_claude_code([])
