"""Fixture lines become runs of the right kind, with refs the detectors can point at."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mao.eval.fixtures import load_fixtures, run_from_fixture


def test_plain_messages_become_a_conversation_with_turn_refs() -> None:
    run = run_from_fixture({"id": "c1", "label": 0, "framework": "autogen", "task": "t",
                            "steps": [{"agent": "user", "content": "hi"},
                                      {"agent": "assistant", "content": "hello"}]})
    assert run.kind == "conversation"
    assert [s.ref for s in run.steps] == ["turn:0", "turn:1"]
    assert run.steps[0].role == "user"
    assert run.spans == []
    assert run.final_output == "hello"


def test_span_fields_make_a_trace_with_span_ids_as_refs() -> None:
    run = run_from_fixture({"id": "t1", "label": 1, "framework": "langgraph", "task": None,
                            "steps": [{"agent": "planner", "content": "plan", "kind": "llm"},
                                      {"agent": "search", "content": "", "kind": "tool", "status": "error",
                                       "error": "timeout",
                                       "tool_calls": [{"name": "web_search", "arguments": {"q": "x"}}]}]})
    assert run.kind == "trace"
    assert [s.ref for s in run.steps] == [sp.span_id for sp in run.spans]
    assert len(set(s.ref for s in run.steps)) == 2
    assert run.steps[1].status == "error" and run.status == "error"
    assert run.steps[1].tool_calls[0].name == "web_search"


def test_declared_kind_wins() -> None:
    run = run_from_fixture({"id": "t2", "label": 0, "kind": "trace",
                            "steps": [{"agent": "a", "content": "x"}]})
    assert run.kind == "trace" and len(run.spans) == 1


def test_refs_are_deterministic() -> None:
    obj = {"id": "same", "label": 0, "steps": [{"agent": "a", "content": "x", "kind": "llm"}]}
    assert run_from_fixture(obj).steps[0].ref == run_from_fixture(obj).steps[0].ref


def test_load_fixtures_reads_every_file_and_rejects_bad_labels(tmp_path: Path) -> None:
    (tmp_path / "loop.jsonl").write_text(
        json.dumps({"id": "a", "label": 1, "steps": [{"agent": "x", "content": "y"}]}) + "\n\n")
    loaded = load_fixtures(tmp_path)
    assert list(loaded) == ["loop"] and loaded["loop"][0].label == 1
    (tmp_path / "bad.jsonl").write_text(json.dumps({"id": "b", "label": 3, "steps": []}) + "\n")
    with pytest.raises(ValueError, match="label"):
        load_fixtures(tmp_path)
