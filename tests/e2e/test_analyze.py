"""Analysis over HTTP: traces and conversations, deterministic re-analysis, failure attribution."""

import time

import pytest

from tests.e2e.test_ingest_otlp import export, hex_id, ingest_url, json_span, wait_for_trace

pytestmark = pytest.mark.e2e

LOOPING = [{"agent": "user", "role": "user", "content": "Write a function that adds two numbers and test it."}]
for _ in range(4):
    LOOPING.append({"agent": "Coder", "content": "I will now run the tests again with pytest tests/test_add.py."})
    LOOPING.append({"agent": "Tester", "content": "The test failed: AssertionError in test_add. Please fix."})

HEALTHY = {"messages": [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "The capital of France is Paris."},
]}


def conv_base(tenant) -> str:
    return f"/api/v1/tenants/{tenant.tenant_id}/conversations"


def ingest(client, tenant, fmt, data, **extra) -> str:
    resp = client.post(f"{conv_base(tenant)}/ingest", json={"format": fmt, "data": data, **extra},
                       headers=tenant.headers)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def analyze_conversation(client, tenant, conv_id):
    resp = client.post(f"{conv_base(tenant)}/{conv_id}/analyze", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def detections_of(client, tenant, **params):
    resp = client.get(f"/api/v1/tenants/{tenant.tenant_id}/detections", params={"page_size": 200, **params},
                      headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_looping_conversation_is_flagged_and_attributed(client, tenant):
    conv_id = ingest(client, tenant, "generic", LOOPING)
    result = analyze_conversation(client, tenant, conv_id)
    assert result["conversation_id"] == conv_id and result["steps_analyzed"] == len(LOOPING)
    types = {d["detection_type"] for d in result["detections"]}
    assert "step_repetition" in types
    assert result["failed"] is True and "failure_detected" in result["failure_reasons"]
    attribution = result["attribution"]
    assert attribution["agent"] in {"Coder", "Tester", "user"}
    assert 0 <= attribution["step"] < len(LOOPING)
    for det in result["detections"]:
        assert det["conversation_id"] == conv_id and det["evidence"]
        assert all(e["ref"].startswith("turn:") for e in det["evidence"])

    detail = client.get(f"{conv_base(tenant)}/{conv_id}", headers=tenant.headers).json()
    assert detail["analysis"]["detection_count"] == len(result["detections"])
    assert detail["analysis"]["attribution"]["agent"] == attribution["agent"]


def test_re_analysis_replaces_detections_with_the_same_ids(client, tenant):
    conv_id = ingest(client, tenant, "generic", LOOPING)
    first = analyze_conversation(client, tenant, conv_id)
    second = analyze_conversation(client, tenant, conv_id)
    ids = sorted(d["id"] for d in first["detections"])
    assert ids and ids == sorted(d["id"] for d in second["detections"])
    assert second["changes"] == {"created": 0, "updated": len(ids), "deleted": 0}
    assert [d["created_at"] for d in first["detections"]] == [d["created_at"] for d in second["detections"]]
    stored = detections_of(client, tenant, conversation_id=conv_id)
    assert stored["total"] == len(ids) and sorted(d["id"] for d in stored["items"]) == ids


def test_a_healthy_conversation_has_nothing_to_attribute(client, tenant):
    conv_id = ingest(client, tenant, "openai", HEALTHY)
    result = analyze_conversation(client, tenant, conv_id)
    assert result["detections"] == [] and result["failed"] is False
    assert result["attribution"] is None and result["failure_reasons"] == []


def test_a_missed_ground_truth_makes_the_run_failed_and_attributed(client, tenant):
    record = {"question": "How many legs does a spider have?", "ground_truth": "8", "history": [
        {"role": "user", "content": "How many legs does a spider have?"},
        {"role": "assistant", "name": "Searcher", "content": "Search results say insects have 6 legs."},
        {"role": "assistant", "name": "Answerer", "content": "Based on the search, FINAL ANSWER: 6"}]}
    result = analyze_conversation(client, tenant, ingest(client, tenant, "generic", record))
    assert "ground_truth_missed" in result["failure_reasons"]
    assert result["attribution"]["agent"] in {"Searcher", "Answerer", "user"}

    right = {**record, "history": [*record["history"][:1],
                                   {"role": "assistant", "name": "Answerer", "content": "FINAL ANSWER: 8"}]}
    result = analyze_conversation(client, tenant, ingest(client, tenant, "generic", right))
    assert "ground_truth_missed" not in result["failure_reasons"]


def test_ingest_can_analyse_at_once(client, tenant):
    resp = client.post(f"{conv_base(tenant)}/ingest", json={"format": "generic", "data": LOOPING, "analyze": True},
                       headers=tenant.headers)
    assert resp.status_code == 201, resp.text
    analysis = resp.json()["analysis"]
    assert analysis["conversation_id"] == resp.json()["id"] and analysis["detection_count"] >= 1


def test_an_unknown_conversation_is_404(client, tenant):
    resp = client.post(f"{conv_base(tenant)}/conv_doesnotexist/analyze", headers=tenant.headers)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


# --- traces --------------------------------------------------------------------------------------


def failing_trace(client, tenant) -> str:
    trace_id, root = hex_id(16), hex_id(8)
    t0 = time.time_ns() - 60_000_000_000
    spans = [json_span(trace_id, root, "workflow", t0, t0 + 9_000_000_000, status=2,
                       input__value="Add two numbers", openinference__span__kind="CHAIN")]
    for i in range(6):
        agent = "Coder" if i % 2 == 0 else "Tester"
        text = ("Running pytest tests/test_add.py again now." if agent == "Coder"
                else "The test failed: AssertionError in test_add. Please fix.")
        spans.append(json_span(trace_id, hex_id(8), f"{agent}.step", t0 + (i + 1) * 1_000_000_000,
                               t0 + (i + 1) * 1_000_000_000 + 500_000_000, parent=root,
                               status=2 if i == 5 else 0, gen_ai__agent__name=agent, output__value=text,
                               openinference__span__kind="AGENT"))
    resp = client.post(ingest_url(tenant), json=export(*spans), headers=tenant.headers)
    assert resp.status_code == 202, resp.text
    wait_for_trace(client, tenant, trace_id, len(spans))
    return trace_id


def trace_analyze(client, tenant, trace_id, headers=None):
    return client.post(f"/api/v1/tenants/{tenant.tenant_id}/traces/{trace_id}/analyze",
                       headers=headers or tenant.headers)


def test_a_trace_is_analysed_on_request_and_after_ingest(client, tenant):
    trace_id = failing_trace(client, tenant)
    deadline = time.time() + 20
    while not detections_of(client, tenant, trace_id=trace_id)["items"] and time.time() < deadline:
        time.sleep(0.3)  # the ingest worker analyses the trace after storing it
    auto = detections_of(client, tenant, trace_id=trace_id)["items"]
    assert auto, "the ingest worker did not analyse the trace"

    resp = trace_analyze(client, tenant, trace_id)
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["trace_id"] == trace_id and result["steps_analyzed"] >= 6
    assert result["failed"] is True and "error_status" in result["failure_reasons"]
    assert result["attribution"]["agent"] in {"Coder", "Tester"}
    assert sorted(d["id"] for d in result["detections"]) == sorted(d["id"] for d in auto)
    assert result["changes"]["created"] == 0
    assert all(d["trace_id"] == trace_id for d in result["detections"])


def test_trace_analysis_of_unknown_or_foreign_traces_is_404(client, tenant, other_tenant):
    resp = trace_analyze(client, tenant, hex_id(16))
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    trace_id = failing_trace(client, tenant)
    assert trace_analyze(client, tenant, trace_id, other_tenant.headers).status_code == 404
    resp = trace_analyze(client, other_tenant, trace_id, other_tenant.headers)
    assert resp.status_code == 404
