"""What analysis reads and writes, without storage: stored conversation bodies, ids, bounded detections."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mao.adapters import conversations as conv_store
from mao.adapters import detections as det_store
from mao.domain.formats.conversations import parse_conversation
from mao.domain.models import Detection, Evidence
from mao.services import conversations

CLAUDE = {"system": "Be brief.", "messages": [
    {"role": "user", "content": "List files"},
    {"role": "assistant", "content": [{"type": "text", "text": "Listing."},
                                      {"type": "tool_use", "id": "tu1", "name": "ls", "input": {"path": "."}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "a.py"}]},
]}


def test_a_stored_body_gives_back_the_same_turns_and_run():
    parsed = parse_conversation("claude", CLAUDE)
    body = json.loads(json.dumps(conversations.parsed_to_body(parsed)))  # what S3 holds
    again = conversations.parsed_from_body(body)
    assert again.turns == parsed.turns
    assert again.metadata == parsed.metadata and again.format == "claude"
    run_a, run_b = conversations.to_run("c1", parsed), conversations.to_run("c1", again)
    assert [(s.agent, s.content, s.ref) for s in run_a.steps] == [(s.agent, s.content, s.ref) for s in run_b.steps]
    assert run_b.steps[2].tool_calls[0].result == "a.py"


def test_time_sortable_ids_sort_by_creation_and_do_not_collide():
    early = conv_store.time_sortable_id("conv_", now_ms=1_700_000_000_000)
    late = conv_store.time_sortable_id("conv_", now_ms=1_700_000_000_001)
    assert early < late and len(early) == len("conv_") + 26
    assert len({conv_store.time_sortable_id("conv_") for _ in range(1000)}) == 1000


def test_created_keys_sort_by_time_then_id():
    t1 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    t2 = datetime(2025, 1, 1, 12, 0, 0, 1, tzinfo=UTC)
    assert conv_store.created_key(t1, "b") < conv_store.created_key(t1, "c") < conv_store.created_key(t2, "a")


def test_the_content_digest_ignores_key_order():
    a = conversations.content_digest("openai", {"messages": [{"role": "user", "content": "hi"}], "x": 1})
    b = conversations.content_digest("openai", {"x": 1, "messages": [{"content": "hi", "role": "user"}]})
    assert a == b
    assert a != conversations.content_digest("generic", {"x": 1, "messages": [{"content": "hi", "role": "user"}]})


def test_oversized_detection_content_is_bounded():
    det = Detection(type="loop", confidence=0.9, severity="high", explanation="x",
                    evidence=[Evidence(ref=f"turn:{i}", quote="q" * 10_000, step_index=i) for i in range(80)],
                    detector_version="1", details={"small": 1, "huge": "z" * 200_000})
    evidence = det_store._bounded_evidence(det)
    assert len(evidence) == det_store.MAX_EVIDENCE
    assert all(len(e["quote"]) <= det_store.MAX_QUOTE_CHARS + 1 for e in evidence)
    details = det_store._bounded_details(det.details)
    assert details["small"] == 1 and details["truncated"] == ["huge"]
    assert len(json.dumps(details)) <= det_store.MAX_DETAILS_CHARS


def test_summary_metadata_keeps_small_values_and_names_the_dropped_ones():
    meta = conversations._bounded_metadata({"mas_name": "AG2", "preamble": "p" * 50_000})
    assert meta == {"mas_name": "AG2", "truncated": ["preamble"]}
