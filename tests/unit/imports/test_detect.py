"""Format detection by structure: container and a vote over sampled records."""

from __future__ import annotations

import json

import pytest

from mao.domain.imports.detect import UndetectableFormat, classify, detect

OTLP = {"resourceSpans": []}
LANGFUSE_TRACE = {"id": "t1", "timestamp": "2025-01-01T00:00:00Z", "observations": []}
LANGFUSE_OBS = {"id": "o1", "traceId": "t1", "type": "GENERATION", "startTime": "2025-01-01T00:00:00Z"}
LANGSMITH = {"id": "r1", "run_type": "llm", "start_time": "2025-01-01T00:00:00"}
WHO_WHEN = {"question": "q", "history": [{"role": "user", "content": "hi"}], "mistake_agent": "A"}
MAST = {"mas_name": "AG2", "trace": {"trajectory": "user: hi"}}
OPENAI = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
CLAUDE = {"system": "be brief", "messages": [{"role": "user", "content": "hi"}]}
CLAUDE_BLOCKS = {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "name": "ls", "input": {}}]}]}
GENERIC = {"turns": [{"speaker": "a", "content": "x"}]}


@pytest.mark.parametrize(("record", "fmt"), [
    (OTLP, "otlp"), (LANGFUSE_TRACE, "langfuse"), (LANGFUSE_OBS, "langfuse"), (LANGSMITH, "langsmith"),
    (WHO_WHEN, "who-when"), (MAST, "mast-data"), (OPENAI, "openai"), (CLAUDE, "claude"),
    (CLAUDE_BLOCKS, "claude"), (GENERIC, "generic"), ({"hello": 1}, None), (3, None)])
def test_each_record_shape_is_classified(record, fmt) -> None:
    assert classify(record) == fmt


def jsonl(*records) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


def test_jsonl_is_detected_and_the_format_is_a_vote_not_the_first_line() -> None:
    found = detect(jsonl({"hello": 1}, LANGSMITH, LANGSMITH, OPENAI), complete=True)
    assert (found.container, found.format) == ("jsonl", "langsmith")
    assert found.votes == {"langsmith": 2, "openai": 1}


def test_a_bad_line_does_not_turn_jsonl_into_a_document() -> None:
    found = detect(jsonl(OTLP) + b"{oops\n" + jsonl(OTLP), complete=True)
    assert (found.container, found.format) == ("jsonl", "otlp")


def test_arrays_of_records_and_arrays_of_messages() -> None:
    assert detect(json.dumps([LANGFUSE_OBS, LANGFUSE_OBS], indent=2).encode(), True).container == "array"
    messages = json.dumps(OPENAI["messages"]).encode()
    found = detect(messages, True)
    assert (found.container, found.format) == ("document", "openai")


def test_a_pretty_printed_object_is_one_document() -> None:
    found = detect(json.dumps(WHO_WHEN, indent=2).encode(), complete=True)
    assert (found.container, found.format) == ("document", "who-when")


def test_a_truncated_head_samples_only_complete_records() -> None:
    data = jsonl(*[LANGSMITH] * 5)
    found = detect(data[: len(data) - 10], complete=False)
    assert found.format == "langsmith" and found.sampled == 4


def test_a_named_format_skips_the_vote() -> None:
    assert detect(jsonl({"hello": 1}), True, "generic").format == "generic"


@pytest.mark.parametrize("data", [b"", b"   ", b"hello", jsonl({"hello": 1}, {"world": 2})])
def test_unknown_content_is_undetectable(data: bytes) -> None:
    with pytest.raises(UndetectableFormat):
        detect(data, complete=True)
