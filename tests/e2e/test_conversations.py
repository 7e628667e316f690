"""Conversations over HTTP: ingest in every format, list, detail, turn-by-turn view, tenant isolation."""

import pytest

pytestmark = pytest.mark.e2e


def base(tenant) -> str:
    return f"/api/v1/tenants/{tenant.tenant_id}/conversations"


def assert_error(resp, status, code=None):
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    if code is not None:
        assert error["code"] == code, error
    assert error["message"]
    return error


OPENAI = {"messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
    {"role": "assistant", "content": "It is 18C and sunny in Paris."},
]}


def ingest(client, tenant, fmt, data, **extra):
    return client.post(f"{base(tenant)}/ingest", json={"format": fmt, "data": data, **extra}, headers=tenant.headers)


def test_an_openai_conversation_is_stored_and_read_back_turn_by_turn(client, tenant):
    resp = ingest(client, tenant, "openai", OPENAI, name="weather")
    assert resp.status_code == 201, resp.text
    conv = resp.json()
    assert conv["id"].startswith("conv_") and conv["format"] == "openai" and conv["turn_count"] == 5
    assert conv["name"] == "weather" and conv["created"] is True

    detail = client.get(f"{base(tenant)}/{conv['id']}", headers=tenant.headers).json()
    assert detail["task"] == "What is the weather in Paris?"
    assert detail["analysis"] is None

    turns = client.get(f"{base(tenant)}/{conv['id']}/turns", headers=tenant.headers).json()
    assert turns["total"] == 5 and [t["index"] for t in turns["items"]] == [0, 1, 2, 3, 4]
    assert [t["role"] for t in turns["items"]] == ["system", "user", "assistant", "tool", "assistant"]
    call = turns["items"][2]["tool_calls"][0]
    assert call["name"] == "get_weather" and call["arguments"] == {"city": "Paris"}
    assert call["result"] == "18C and sunny"
    assert {"speaker", "content", "tokens"} <= set(turns["items"][0])

    page = client.get(f"{base(tenant)}/{conv['id']}/turns", params={"page": 2, "page_size": 2},
                      headers=tenant.headers).json()
    assert [t["index"] for t in page["items"]] == [2, 3] and page["has_more"] is True


@pytest.mark.parametrize("fmt,data,turns,speakers", [
    ("claude", {"system": "Be brief.", "messages": [
        {"role": "user", "content": "List files"},
        {"role": "assistant", "content": [{"type": "text", "text": "Listing."},
                                          {"type": "tool_use", "id": "tu1", "name": "ls", "input": {"path": "."}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "a.py b.py"}]},
        {"role": "assistant", "content": "Two files: a.py and b.py."}]}, 5, {"system", "user", "assistant", "tool"}),
    ("generic", [{"agent": "Planner", "content": "Plan: fetch data, then summarise."},
                 {"agent": "Writer", "content": "Summary written."}], 2, {"Planner", "Writer"}),
    ("generic", "Planner: fetch the data first\nWriter: here is the summary", 2, {"Planner", "Writer"}),
    ("generic", {"question": "How many legs does a spider have?", "ground_truth": "8", "history": [
        {"role": "user", "content": "How many legs does a spider have?"},
        {"role": "assistant", "name": "Searcher", "content": "Spiders have 8 legs. FINAL ANSWER: 8"}]}, 2, None),
])
def test_every_format_is_accepted(client, tenant, fmt, data, turns, speakers):
    resp = ingest(client, tenant, fmt, data)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["format"] == fmt and body["turn_count"] == turns
    if speakers is not None:
        assert set(body["speakers"]) == speakers


def test_a_mast_record_keeps_its_annotations_as_labels(client, tenant):
    record = {"mas_name": "AG2", "llm_name": "gpt-4o", "benchmark_name": "GSM",
              "trace": {"trajectory": "user (to assistant):\n\nWhat is 2+2?\n\n"
                                      "--------------------------------------------------------------------------------\n"
                                      "assistant (to user):\n\n2+2 = 4\n\n"
                                      "--------------------------------------------------------------------------------\n"},
              "mast_annotation": {"1.1": 0, "1.3": 1, "3.3": 0}}
    resp = ingest(client, tenant, "mast-data", record)
    assert resp.status_code == 201, resp.text
    detail = client.get(f"{base(tenant)}/{resp.json()['id']}", headers=tenant.headers).json()
    assert detail["labels"]["failure_codes"] == ["F3"]
    assert detail["metadata"]["mas_name"] == "AG2" and detail["framework"] == "autogen"
    assert detail["turn_count"] >= 1


def test_unknown_or_malformed_formats_are_422_naming_the_problem(client, tenant):
    error = assert_error(ingest(client, tenant, "slack", OPENAI), 422, "unknown_format")
    assert "slack" in error["message"] and "openai" in error["message"]
    error = assert_error(ingest(client, tenant, "openai", {"messages": "hello"}), 422, "invalid_format")
    assert "messages" in error["message"]
    error = assert_error(ingest(client, tenant, "claude", {"messages": [{"role": "bot", "content": "x"}]}), 422)
    assert "role" in error["message"]
    assert_error(ingest(client, tenant, "generic", None), 422)
    assert_error(client.post(f"{base(tenant)}/ingest", json={"data": []}, headers=tenant.headers), 422)
    assert_error(ingest(client, tenant, "openai", OPENAI, conversation_id="bad id/with spaces"), 422)


def test_a_client_id_makes_ingest_idempotent(client, tenant):
    first = ingest(client, tenant, "openai", OPENAI, conversation_id="chat-42")
    assert first.status_code == 201 and first.json()["id"] == "chat-42"
    again = ingest(client, tenant, "openai", OPENAI, conversation_id="chat-42")
    assert again.status_code == 200 and again.json()["created"] is False
    other = {"messages": [{"role": "user", "content": "something else"}]}
    assert_error(ingest(client, tenant, "openai", other, conversation_id="chat-42"), 409, "conflict")


def test_the_list_is_newest_first_and_paginated(client, tenant):
    ids = [ingest(client, tenant, "generic", [{"agent": "A", "content": f"message {i}"}]).json()["id"]
           for i in range(3)]
    page = client.get(base(tenant), params={"page_size": 2}, headers=tenant.headers).json()
    assert [c["id"] for c in page["items"]] == ids[::-1][:2]
    assert page["total"] == 3 and page["has_more"] is True
    rest = client.get(base(tenant), params={"page_size": 2, "cursor": page["next_cursor"]},
                      headers=tenant.headers).json()
    assert [c["id"] for c in rest["items"]] == [ids[0]] and rest["has_more"] is False
    assert client.get(base(tenant), params={"format": "openai"}, headers=tenant.headers).json()["items"] == []
    assert_error(client.get(base(tenant), params={"format": "xml"}, headers=tenant.headers), 422)


def test_another_tenants_conversations_are_not_found(client, tenant, other_tenant):
    conv = ingest(client, tenant, "openai", OPENAI).json()["id"]
    other = other_tenant.headers
    assert_error(client.get(f"{base(tenant)}/{conv}", headers=other), 404, "not_found")
    assert_error(client.get(f"{base(tenant)}/{conv}/turns", headers=other), 404, "not_found")
    assert_error(client.post(f"{base(tenant)}/{conv}/analyze", headers=other), 404, "not_found")
    assert_error(client.get(base(tenant), headers=other), 404, "not_found")
    assert_error(client.post(f"{base(tenant)}/ingest", json={"format": "openai", "data": OPENAI}, headers=other),
                 404, "not_found")
    # the other tenant's own path does not see it either
    assert_error(client.get(f"{base(other_tenant)}/{conv}", headers=other), 404, "not_found")
    assert client.get(base(other_tenant), headers=other).json()["items"] == []


def test_bodies_over_the_limit_are_refused(client, tenant):
    big = [{"agent": "A", "content": "x" * 1024}] * (5 * 1024 + 10)
    assert_error(ingest(client, tenant, "generic", big), 413)
