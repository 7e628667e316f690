"""Reading traces back: filters, pagination, tenant isolation; Claude Code sessions as traces."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from mao.domain.pricing import cost_usd
from tests.e2e.test_ingest_otlp import export, hex_id, ingest_url, json_span, wait_for_trace

pytestmark = pytest.mark.e2e


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(ns: int, *, up: bool = False) -> str:
    """An ISO time at microsecond precision, rounded down (or up) from nanoseconds."""
    micros = (ns + 999) // 1000 if up else ns // 1000
    return (EPOCH + timedelta(microseconds=micros)).isoformat()


@pytest.fixture
def three_traces(client, tenant):
    """Three finished traces a day apart: alpha ok, beta failed, gamma ok (newest)."""
    now = time.time_ns()
    day = 86_400 * 10**9
    made = []
    for i, (agent, status) in enumerate((("alpha", 1), ("beta", 2), ("gamma", 1))):
        trace_id, start = hex_id(16), now - (2 - i) * day
        made.append((trace_id, start))
        payload = export(json_span(trace_id, hex_id(8), f"invoke_agent {agent}", start, start + 1000, status=status,
                                   gen_ai__operation__name="invoke_agent", gen_ai__agent__name=agent))
        assert client.post(ingest_url(tenant), json=payload, headers=tenant.headers).status_code == 202
    for trace_id, _ in made:
        wait_for_trace(client, tenant, trace_id, 1)
    return made


def test_traces_are_listed_newest_first_with_pages(client, tenant, three_traces):
    base = f"/api/v1/tenants/{tenant.tenant_id}/traces"
    first = client.get(base, params={"page_size": 2}, headers=tenant.headers).json()
    assert [t["trace_id"] for t in first["items"]] == [three_traces[2][0], three_traces[1][0]]
    assert first["total"] == 3 and first["has_more"] is True
    second = client.get(base, params={"page": 2, "page_size": 2}, headers=tenant.headers).json()
    assert [t["trace_id"] for t in second["items"]] == [three_traces[0][0]] and second["has_more"] is False
    by_cursor = client.get(base, params={"page_size": 2, "cursor": first["next_cursor"]}, headers=tenant.headers)
    assert [t["trace_id"] for t in by_cursor.json()["items"]] == [three_traces[0][0]]


def test_traces_are_filtered_by_status_agent_and_dates(client, tenant, three_traces):
    base = f"/api/v1/tenants/{tenant.tenant_id}/traces"

    def ids(**params):
        resp = client.get(base, params=params, headers=tenant.headers)
        assert resp.status_code == 200, resp.text
        return [t["trace_id"] for t in resp.json()["items"]]

    (a, a_start), (b, b_start), (c, c_start) = three_traces
    assert ids(status="error") == [b]
    assert ids(status="completed") == [c, a]
    assert ids(agent_id="gamma") == [c]
    assert ids(agent_id="nobody") == []
    assert ids(date_from=iso(b_start)) == [c, b]
    assert ids(date_to=iso(b_start, up=True)) == [b, a]
    assert ids(date_from=iso(a_start + 1000, up=True), date_to=iso(c_start - 1000)) == [b]
    day_of_c = datetime.fromtimestamp(c_start / 1e9, tz=UTC).date()
    assert c in ids(date_from=day_of_c.isoformat(), date_to=day_of_c.isoformat())
    assert ids(date_to=(day_of_c - timedelta(days=10)).isoformat()) == []


def test_list_filters_are_validated(client, tenant):
    base = f"/api/v1/tenants/{tenant.tenant_id}/traces"
    for params in ({"status": "finished"}, {"date_from": "yesterday"}, {"page_size": 0},
                   {"date_from": "2025-02-01", "date_to": "2025-01-01"}):
        resp = client.get(base, params=params, headers=tenant.headers)
        assert resp.status_code == 422, params
        assert resp.json()["error"]["code"] == "validation_error"


def test_another_tenant_sees_nothing(client, tenant, other_tenant, three_traces):
    trace_id = three_traces[0][0]
    mine = f"/api/v1/tenants/{tenant.tenant_id}"
    for path in ("/traces", f"/traces/{trace_id}", f"/traces/{trace_id}/states", "/agents"):
        resp = client.get(mine + path, headers=other_tenant.headers)
        assert resp.status_code == 404, path
    theirs = f"/api/v1/tenants/{other_tenant.tenant_id}"
    assert client.get(f"{theirs}/traces/{trace_id}", headers=other_tenant.headers).status_code == 404
    assert client.get(f"{theirs}/traces/{trace_id}/states", headers=other_tenant.headers).status_code == 404
    assert client.get(f"{theirs}/traces", headers=other_tenant.headers).json()["items"] == []
    assert client.get(f"{theirs}/agents", headers=other_tenant.headers).json()["items"] == []


def test_an_unknown_trace_is_404(client, tenant):
    resp = client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces/{hex_id(16)}", headers=tenant.headers)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


CC_URL = "/api/v1/traces/claude-code/ingest"


def test_claude_code_sessions_become_traces_with_tool_steps_tokens_and_cost(client, tenant):
    session = f"session-{hex_id(4)}"
    records = [
        {"timestamp": "2025-06-01T10:00:00Z", "hook_type": "UserPromptSubmit", "session_id": session,
         "tool_input": "fix the failing test"},
        {"timestamp": "2025-06-01T10:00:01Z", "hook_type": "PreToolUse", "session_id": session,
         "tool_name": "Bash", "tool_input": {"command": "pytest -q"}, "tool_use_id": "tu_1"},
        {"timestamp": "2025-06-01T10:00:04Z", "hook_type": "PostToolUse", "session_id": session,
         "tool_name": "Bash", "tool_input": {"command": "pytest -q"}, "tool_use_id": "tu_1",
         "tool_output": {"stdout": "1 failed"}},
        {"timestamp": "2025-06-01T10:00:09Z", "hook_type": "Stop", "session_id": session,
         "model": "claude-sonnet-4-5", "tokens_in": 1200, "tokens_out": 300},
    ]
    resp = client.post(CC_URL, json=records, headers=tenant.headers)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["accepted_records"] == 4 and len(body["traces"]) == 1
    trace_id = body["traces"][0]["trace_id"]
    trace = wait_for_trace(client, tenant, trace_id, 3)
    tool = next(s for s in trace["spans"] if s["kind"] == "tool")
    assert tool["tool_name"] == "Bash" and tool["latency_ms"] == pytest.approx(3000)
    assert trace["input_tokens"] == 1200 and trace["output_tokens"] == 300
    assert trace["cost_usd"] == pytest.approx(cost_usd("claude-sonnet-4-5", 1200, 300, "anthropic"))
    assert trace["framework"] == "claude-code"
    states = client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces/{trace_id}/states",
                        headers=tenant.headers).json()["items"]
    assert any(c["name"] == "Bash" for s in states for c in s["tool_calls"])

    single = {"timestamp": 1748772015, "hook_type": "PostToolUse", "session_id": session, "tool_name": "Read",
              "tool_input": {"file_path": "a.py"}, "tool_use_id": "tu_2", "tool_output": "print(1)"}
    resp = client.post(CC_URL, json=single, headers=tenant.headers)
    assert resp.status_code == 202 and resp.json()["traces"][0]["trace_id"] == trace_id
    assert wait_for_trace(client, tenant, trace_id, 4)["span_count"] == 4


def test_claude_code_records_are_validated_and_need_a_tenant_credential(client, tenant, operator_headers):
    resp = client.post(CC_URL, json=[{"hook_type": "Stop", "timestamp": "2025-06-01T10:00:00Z"}],
                       headers=tenant.headers)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "session_id"
    assert client.post(CC_URL, json=[], headers=tenant.headers).status_code == 422
    assert client.post(CC_URL, content=b"{", headers={**tenant.headers, "Content-Type": "application/json"}
                       ).status_code == 400
    assert client.post(CC_URL, json={"session_id": "s"}, headers=operator_headers).status_code == 403
    assert client.post(CC_URL, json={"session_id": "s"}).status_code == 401
