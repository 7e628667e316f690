"""The pure parts of ingestion and trace reads: merging reports of one span, batch de-duplication,
time bounds of the list filters, and the views the API returns."""

from __future__ import annotations

import pytest

from mao.domain.models import Span
from mao.domain.traces import agent_stats, states
from mao.services.ingest import _dedupe, content_hash, merge_spans, stats_fields
from mao.services.traces import parse_time_ns, span_view, state_view, stats_from_fields

T = "ef" * 16


def test_a_later_report_fills_in_the_end_and_keeps_what_it_lacks():
    opened = Span(T, "a" * 16, "tool Bash", 100, None, kind="tool", tool_name="Bash", input_text="ls",
                  attributes={"claude_code.hook": "PreToolUse"})
    closed = Span(T, "a" * 16, "tool Bash", 400, 400, kind="tool", output_text="a.py", status="ok",
                  attributes={"claude_code.hook": "PostToolUse"})
    merged = merge_spans(opened, closed)
    assert (merged.start_ns, merged.end_ns, merged.status) == (100, 400, "ok")
    assert merged.input_text == "ls" and merged.output_text == "a.py" and merged.tool_name == "Bash"
    assert merged.attributes["claude_code.hook"] == "PostToolUse"
    assert opened.end_ns is None  # the inputs are not changed


def test_an_end_once_known_is_not_lost_and_a_status_not_reset():
    done = Span(T, "b" * 16, "x", 10, 20, status="error", status_message="boom")
    replay = Span(T, "b" * 16, "x", 10, None)
    merged = merge_spans(done, replay)
    assert merged.end_ns == 20 and merged.status == "error" and merged.status_message == "boom"


def test_a_batch_is_grouped_by_trace_and_repeated_spans_merged():
    spans = [Span(T, "c" * 16, "x", 5, None), Span("12" * 16, "c" * 16, "y", 1, 2), Span(T, "c" * 16, "x", 3, 9)]
    groups = _dedupe(spans)
    assert set(groups) == {T, "12" * 16}
    assert (groups[T]["c" * 16].start_ns, groups[T]["c" * 16].end_ns) == (3, 9)


def test_content_hash_changes_with_content_only():
    one = Span(T, "d" * 16, "x", 1, 2, attributes={"k": 1})
    assert content_hash(one) == content_hash(Span(T, "d" * 16, "x", 1, 2, attributes={"k": 1}))
    assert content_hash(one) != content_hash(Span(T, "d" * 16, "x", 1, 3, attributes={"k": 1}))


@pytest.mark.parametrize(("text", "end", "expected"), [
    ("2025-01-02", False, 1735776000 * 10**9),
    ("2025-01-02", True, 1735862400 * 10**9 - 1),
    ("2025-01-02T00:00:01Z", False, 1735776001 * 10**9),
    ("2025-01-02T01:00:00+01:00", False, 1735776000 * 10**9),
    ("2025-01-02T00:00:00.5", False, 1735776000 * 10**9 + 500_000_000),
])
def test_filter_times_are_parsed_as_utc(text, end, expected):
    assert parse_time_ns(text, end_of_day=end) == expected


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "", "12:00"])
def test_bad_filter_times_raise(text):
    with pytest.raises(ValueError):
        parse_time_ns(text)


def test_views_carry_agent_tokens_latency_and_tool_calls():
    spans = [
        Span(T, "1" * 16, "invoke_agent a", 0, 4_000_000, kind="agent", agent_id="a", agent_name="a"),
        Span(T, "2" * 16, "search", 1_000_000, 2_000_000, parent_span_id="1" * 16, kind="tool",
             tool_name="search", input_text="q", output_text="r"),
        Span(T, "3" * 16, "chat", 2_000_000, 3_000_000, parent_span_id="1" * 16, kind="llm", model="m",
             input_tokens=5, output_tokens=7),
    ]
    views = [state_view(s) for s in states(spans)]
    assert [v["span_id"] for v in views] == ["1" * 16, "3" * 16]
    assert views[0]["tool_calls"][0]["name"] == "search" and views[0]["latency_ms"] == 4.0
    assert views[1]["tokens"] == {"input": 5, "output": 7, "total": 12} and views[1]["agent"] == "a"
    assert span_view(spans[2])["start_time"].endswith("Z")


def test_agent_stats_survive_the_round_trip_through_storage():
    spans = [Span(T, "1" * 16, "a", 0, 10, kind="agent", agent_id="a", framework="crewai", status="error")]
    stats = agent_stats(spans)["a"]
    back = stats_from_fields(stats_fields(stats))
    assert back.to_dict() == stats.to_dict() and back.frameworks == {"crewai"}
