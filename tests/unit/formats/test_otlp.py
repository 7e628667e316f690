"""OTLP decoding: SDK-produced protobuf, OTLP/JSON with hex and base64 ids, gzip, partial success."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from otlp_payloads import otlp_json

from mao.domain.formats.otlp import (
    OtlpFormatError,
    PayloadTooLargeError,
    decode_otlp,
    maybe_gunzip,
)
from mao.domain.models import Span

TRACE = "5b8efff798038103d269b633813fc60c"


def _by_name(spans: list[Span]) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = {}
    for span in spans:
        out.setdefault(span.name, []).append(span)
    return out


def _fingerprint(span: Span) -> tuple[Any, ...]:
    return (span.trace_id, span.span_id, span.parent_span_id, span.name, span.start_ns, span.end_ns,
            span.kind, span.status, span.agent_id, span.agent_name, span.model, span.input_tokens,
            span.output_tokens, span.tool_name, span.tool_call_id, span.input_text, span.output_text,
            span.framework, json.dumps(span.attributes, sort_keys=True), json.dumps(span.state))


def test_protobuf_from_the_sdk_keeps_ids_parents_and_genai_fields(multi_agent_protobuf, sdk_spans):
    result = decode_otlp(multi_agent_protobuf, "application/x-protobuf")

    assert result.rejected == 0 and result.errors == []
    assert len(result.spans) == len(sdk_spans) == 9
    expected_parents = {
        format(s.context.span_id, "016x"): (format(s.parent.span_id, "016x") if s.parent else None)
        for s in sdk_spans
    }
    assert {s.span_id: s.parent_span_id for s in result.spans} == expected_parents
    assert len({s.trace_id for s in result.spans}) == 1
    assert result.spans[0].trace_id == format(sdk_spans[0].context.trace_id, "032x")

    named = _by_name(result.spans)
    root = named["invoke_agent orchestrator"][0]
    assert root.parent_span_id is None
    assert (root.kind, root.agent_id, root.agent_name) == ("agent", "agent-orch", "orchestrator")
    assert root.state == {"plan": ["research", "write"], "done": []}
    assert root.attributes["gen_ai.conversation.id"] == "conv-42"
    assert root.resource["service.name"] == "research-crew"
    assert root.framework == "openai-agents"

    tools = named["execute_tool web_search"]
    assert [t.tool_call_id for t in tools] == ["call_1", "call_2"]
    assert all(t.kind == "tool" and t.tool_name == "web_search" for t in tools)
    assert [t.status for t in tools] == ["error", "unset"]
    assert tools[0].status_message == "timeout after 30s"
    assert json.loads(tools[0].input_text) == {"q": "battery recycling rates"}
    assert tools[1].output_text == "5 results"

    chats = named["chat gpt-4o-mini"]
    assert all(c.kind == "llm" and c.model == "gpt-4o-mini" and c.provider == "openai" for c in chats)
    assert sum(c.input_tokens for c in chats) == 1200 + 800 + 2000 + 2500
    assert sum(c.output_tokens for c in chats) == 150 + 60 + 400 + 900


def test_llm_and_tool_spans_belong_to_the_sub_agent_that_ran_them(multi_agent_protobuf):
    spans = decode_otlp(multi_agent_protobuf, "application/x-protobuf").spans
    owner = {(s.name, s.input_text): s.agent_name for s in spans}

    assert owner[("chat gpt-4o-mini", "Plan the report on battery recycling")] == "orchestrator"
    assert owner[("chat gpt-4o-mini", "Find sources on battery recycling")] == "researcher"
    assert owner[("chat gpt-4o-mini", "Summarise the results")] == "researcher"
    assert owner[("chat gpt-4o-mini", "Write the report")] == "writer"
    tool_owners = {s.agent_id for s in spans if s.kind == "tool"}
    assert tool_owners == {"agent-res"}
    sub_agents = [s for s in spans if s.kind == "agent" and s.parent_span_id]
    root = next(s for s in spans if s.parent_span_id is None)
    assert {s.agent_name for s in sub_agents} == {"researcher", "writer"}
    assert all(s.parent_span_id == root.span_id for s in sub_agents)


@pytest.mark.parametrize("fixture", ["multi_agent_json_hex", "multi_agent_json_base64"])
def test_json_with_hex_or_base64_ids_decodes_like_protobuf(fixture, multi_agent_protobuf, request):
    body = request.getfixturevalue(fixture)
    from_json = decode_otlp(body, "application/json; charset=utf-8")
    from_pb = decode_otlp(multi_agent_protobuf, "application/x-protobuf")

    assert from_json.rejected == 0
    assert [_fingerprint(s) for s in from_json.spans] == [_fingerprint(s) for s in from_pb.spans]


def test_json_int64_as_string_or_number_and_every_attribute_value_type():
    span = {
        "traceId": TRACE, "spanId": "eee19b7ec3c1b174", "name": "work",
        "startTimeUnixNano": 1700000000000000000, "endTimeUnixNano": "1700000000500000000",
        "kind": 1, "status": {"code": 2, "message": "boom"},
        "attributes": [
            {"key": "s", "value": {"stringValue": "text"}},
            {"key": "i_str", "value": {"intValue": "9007199254740993"}},
            {"key": "i_num", "value": {"intValue": 7}},
            {"key": "d", "value": {"doubleValue": 0.25}},
            {"key": "b", "value": {"boolValue": True}},
            {"key": "arr", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}}},
            {"key": "kv",
             "value": {"kvlistValue": {"values": [{"key": "x", "value": {"boolValue": False}}]}}},
            {"key": "raw", "value": {"bytesValue": "AAEC"}},
            {"key": "empty", "value": {}},
        ],
    }
    result = decode_otlp(otlp_json([span]), "application/json")

    assert result.rejected == 0
    decoded = result.spans[0]
    assert decoded.start_ns == 1700000000000000000 and decoded.end_ns == 1700000000500000000
    assert decoded.latency_ms == 500.0
    assert decoded.status == "error" and decoded.status_message == "boom"
    assert decoded.attributes == {"s": "text", "i_str": 9007199254740993, "i_num": 7, "d": 0.25, "b": True,
                                  "arr": ["a", 2], "kv": {"x": False}, "raw": "AAEC", "empty": None}


def test_partial_success_rejects_bad_spans_and_keeps_the_rest():
    good = {"traceId": TRACE, "spanId": "1111111111111111", "name": "ok", "startTimeUnixNano": "10",
            "endTimeUnixNano": "20"}
    spans = [
        good,
        {**good, "traceId": "", "name": "no-trace"},
        {**good, "spanId": "xyz", "name": "bad-span-id"},
        {**good, "spanId": "0000000000000000", "name": "zero-span-id"},
        {**good, "spanId": "2222222222222222", "endTimeUnixNano": "5", "name": "backwards"},
        {**good, "spanId": "3333333333333333", "startTimeUnixNano": "ten", "name": "bad-time"},
        {**good, "spanId": "4444444444444444", "parentSpanId": "nothex!", "name": "bad-parent"},
    ]
    result = decode_otlp(otlp_json(spans), "application/json")

    assert [s.name for s in result.spans] == ["ok"]
    assert result.rejected == 6
    assert any("end time before start time" in e for e in result.errors)
    assert any("traceId" in e for e in result.errors)
    body = result.response_body()
    assert body["partialSuccess"]["rejectedSpans"] == "6"
    assert "backwards" not in [s.name for s in result.spans]


def test_a_fully_accepted_export_answers_an_empty_response_body(multi_agent_json_hex):
    assert decode_otlp(multi_agent_json_hex, "application/json").response_body() == {}


def test_span_without_end_time_is_still_open():
    span = {"traceId": TRACE, "spanId": "1111111111111111", "name": "running", "startTimeUnixNano": "10"}
    decoded = decode_otlp(otlp_json([span]), "application/json").spans[0]

    assert decoded.end_ns is None and decoded.latency_ms is None


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (b"{not json", "application/json", "not valid JSON"),
    (b"[1, 2]", "application/json", "must be an object"),
    (b'{"spans": [{"span_id": "a"}]}', "application/json", "no resourceSpans"),
    (b'{"resourceSpans": {"a": 1}}', "application/json", "must be a list"),
    (b"\xff\xfe\x00garbage-bytes-that-are-not-protobuf", "application/x-protobuf", "protobuf"),
    (b"{}", "text/plain", "unsupported Content-Type"),
])
def test_payloads_that_are_not_otlp_raise_a_format_error(body, content_type, reason):
    with pytest.raises(OtlpFormatError, match=reason):
        decode_otlp(body, content_type)


def test_empty_exports_are_valid_and_empty():
    assert decode_otlp(b"", "application/x-protobuf").spans == []
    assert decode_otlp(b"{}", "application/json").spans == []


def test_gzip_bodies_are_undone_and_bounded(multi_agent_protobuf):
    compressed = gzip.compress(multi_agent_protobuf)

    assert maybe_gunzip(compressed, "gzip") == multi_agent_protobuf
    assert maybe_gunzip(multi_agent_protobuf, None) == multi_agent_protobuf
    decoded = decode_otlp(maybe_gunzip(compressed, "GZIP"), "application/x-protobuf")
    assert len(decoded.spans) == 9


def test_gzip_bomb_is_refused_without_expanding_it():
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    assert len(bomb) < 100_000

    with pytest.raises(PayloadTooLargeError):
        maybe_gunzip(bomb, "gzip", max_bytes=1024 * 1024)


@pytest.mark.parametrize(("body", "encoding", "reason"), [
    (b"plainly not gzip", "gzip", "not valid gzip"),
    (gzip.compress(b"x" * 1000, mtime=0)[:20], "gzip", "truncated"),
    (b"abc", "br", "unsupported Content-Encoding"),
])
def test_broken_or_unknown_encodings_are_format_errors(body, encoding, reason):
    with pytest.raises(OtlpFormatError, match=reason):
        maybe_gunzip(body, encoding)
