import secrets

import pytest

from mao.domain.integrations import sse
from tests.e2e.integrations_client import deliver, register
from tests.unit.integrations.payloads import langgraph_run

pytestmark = pytest.mark.e2e


def read(client, headers, last_event_id=None, wait=0.0, **params):
    hdrs = dict(headers)
    if last_event_id:
        hdrs["Last-Event-ID"] = last_event_id
    resp = client.get("/api/v1/langgraph/stream", params={"wait": wait, **params}, headers=hdrs)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.text.startswith("retry: ")
    return sse.parse(resp.text)


def send_run(client, tenant, secret, assistant):
    run = langgraph_run(f"run-{secrets.token_hex(4)}", assistant)
    resp = deliver(client, tenant.headers, "langgraph", run, secret)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_client_resumes_with_last_event_id_and_gets_exactly_the_missed_events(client, tenant, other_tenant):
    assistant = f"asst-{secrets.token_hex(3)}"
    secret = register(client, tenant.headers, "langgraph", assistant)
    theirs = register(client, other_tenant.headers, "langgraph", assistant)

    opened = read(client, tenant.headers)
    assert [e["event"] for e in opened] == ["ready"]
    position = opened[0]["id"]

    first = send_run(client, tenant, secret, assistant)
    got = read(client, tenant.headers, position, wait=2)
    kinds = [e["event"] for e in got]
    assert kinds[0] == "execution" and kinds.count("detection") == len(first["detections"])
    assert all(first["trace_id"] in e["data"] for e in got)
    ids = [e["id"] for e in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    # The client disconnects after the first event; meanwhile two more runs (and another tenant's run) arrive.
    resume_at = got[0]["id"]
    second = send_run(client, tenant, secret, assistant)
    send_run(client, other_tenant, theirs, assistant)
    third = send_run(client, tenant, secret, assistant)
    missed = read(client, tenant.headers, resume_at)
    trace_ids = [e["data"] for e in missed if e["event"] == "execution"]
    assert len(trace_ids) == 2
    assert second["trace_id"] in trace_ids[0] and third["trace_id"] in trace_ids[1]
    assert [e["id"] for e in missed[:len(got) - 1]] == ids[1:]  # the rest of the first run's events, in order
    expected = len(got) - 1 + 2 + len(second["detections"]) + len(third["detections"])
    assert len(missed) == expected

    caught_up = read(client, tenant.headers, missed[-1]["id"])
    assert caught_up == []  # nothing new: only a comment


def test_streams_never_show_another_tenants_events(client, tenant, other_tenant):
    assistant = f"asst-{secrets.token_hex(3)}"
    theirs = register(client, other_tenant.headers, "langgraph", assistant)
    start = read(client, tenant.headers)[0]["id"]
    their_run = send_run(client, other_tenant, theirs, assistant)
    mine = read(client, tenant.headers, start)
    assert all(their_run["trace_id"] not in e["data"] for e in mine)
    replay = read(client, tenant.headers, replay="true")
    assert all(their_run["trace_id"] not in e["data"] for e in replay)
    theirs_seen = read(client, other_tenant.headers, start)
    assert any(their_run["trace_id"] in e["data"] for e in theirs_seen)


def test_stream_input_is_validated(client, tenant):
    bad = client.get("/api/v1/dify/stream", headers={**tenant.headers, "Last-Event-ID": "not-an-id"})
    assert bad.status_code == 400
    too_long = client.get("/api/v1/dify/stream", params={"wait": 999}, headers=tenant.headers)
    assert too_long.status_code == 422
    assert client.get("/api/v1/dify/stream").status_code == 401
