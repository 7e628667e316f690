import secrets
import time

import pytest

from tests.e2e.integrations_client import REGISTRY, deliver, register
from tests.unit.integrations.payloads import PAYLOADS

pytestmark = pytest.mark.e2e
FIELDS = {"n8n": "workflowId", "dify": "app_id", "langgraph": "assistant_id", "openclaw": "agent_name"}


def payload_for(provider, entity_id, run_id):
    payload = PAYLOADS[provider]()
    payload[FIELDS[provider]] = entity_id
    payload[{"n8n": "executionId", "dify": "workflow_run_id", "langgraph": "run_id",
             "openclaw": "session_id"}[provider]] = run_id
    return payload


def assert_rejected(resp, reason):
    assert resp.status_code == 401, resp.text
    assert reason in resp.json()["error"]["message"]


@pytest.mark.parametrize("provider", sorted(PAYLOADS))
def test_a_signed_webhook_becomes_an_analysed_trace_once(client, tenant, provider):
    entity = f"{provider}-{secrets.token_hex(4)}"
    secret = register(client, tenant.headers, provider, entity)
    payload = payload_for(provider, entity, f"run-{secrets.token_hex(4)}")

    first = deliver(client, tenant.headers, provider, payload, secret)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["duplicate"] is False and body["detections"], body
    trace_id = body["trace_id"]

    trace = client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces/{trace_id}", headers=tenant.headers)
    assert trace.status_code == 200, trace.text
    assert len(trace.json()["spans"]) == body["span_count"]
    found = client.get(f"/api/v1/tenants/{tenant.tenant_id}/detections", params={"trace_id": trace_id},
                       headers=tenant.headers)
    assert found.status_code == 200
    assert {d["detection_type"] for d in found.json()["items"]} == {d["detection_type"] for d in body["detections"]}

    again = deliver(client, tenant.headers, provider, payload, secret)  # re-delivery, fresh nonce
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["trace_id"] == trace_id
    trace_again = client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces/{trace_id}", headers=tenant.headers)
    assert len(trace_again.json()["spans"]) == body["span_count"]


@pytest.mark.parametrize("provider", sorted(PAYLOADS))
def test_bad_signatures_stale_timestamps_and_replays_are_refused_and_store_nothing(client, tenant, provider):
    entity = f"{provider}-{secrets.token_hex(4)}"
    secret = register(client, tenant.headers, provider, entity)
    payload = payload_for(provider, entity, f"run-{secrets.token_hex(4)}")

    assert_rejected(deliver(client, tenant.headers, provider, payload, secret, tamper=True), "does not match")
    assert_rejected(deliver(client, tenant.headers, provider, payload, "whsec_wrong"), "does not match")
    assert_rejected(deliver(client, tenant.headers, provider, payload, secret,
                            timestamp=int(time.time()) - 3600), "tolerance")
    resp = client.post(f"/api/v1/{provider}/webhook", json=payload, headers=tenant.headers)
    assert_rejected(resp, "missing X-MAO-Timestamp")

    nonce = secrets.token_hex(12)
    ok = deliver(client, tenant.headers, provider, payload, secret, nonce=nonce)
    assert ok.status_code == 200, ok.text
    replay = deliver(client, tenant.headers, provider, payload, secret, nonce=nonce)
    assert_rejected(replay, "already used")


def test_rejected_deliveries_leave_no_trace(client, tenant):
    secret = register(client, tenant.headers, "dify", "app-unseen")
    payload = payload_for("dify", "app-unseen", "run-never-stored")
    assert deliver(client, tenant.headers, "dify", payload, "whsec_wrong").status_code == 401
    from mao.domain.integrations import PROVIDERS
    trace_id = PROVIDERS["dify"].normalise(payload).trace_id
    resp = client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces/{trace_id}", headers=tenant.headers)
    assert resp.status_code == 404
    assert deliver(client, tenant.headers, "dify", payload, secret).status_code == 200


def test_an_unregistered_entity_or_another_tenants_entity_is_refused(client, tenant, other_tenant):
    secret = register(client, other_tenant.headers, "n8n", "wf-theirs")
    payload = payload_for("n8n", "wf-theirs", "9")
    assert_rejected(deliver(client, tenant.headers, "n8n", payload, secret), "not registered")
    assert deliver(client, other_tenant.headers, "n8n", payload, secret).status_code == 200


def test_malformed_payloads_and_unknown_providers(client, tenant):
    secret = register(client, tenant.headers, "langgraph", "asst-x")
    bad = deliver(client, tenant.headers, "langgraph", None, secret, body=b"{not json")
    assert bad.status_code == 400
    missing = deliver(client, tenant.headers, "langgraph", {"run_id": "r"}, secret)
    assert missing.status_code == 422 and "assistant_id" in missing.json()["error"]["message"]
    broken = deliver(client, tenant.headers, "langgraph", {"assistant_id": "asst-x", "run_id": "r",
                                                           "created_at": 1767261600, "steps": "nope"}, secret)
    assert broken.status_code == 422 and "steps" in broken.json()["error"]["message"]
    assert client.post("/api/v1/langgraph/webhook", json={}).status_code == 401  # no API key


def test_a_rotated_secret_replaces_the_old_one(client, tenant):
    old = register(client, tenant.headers, "openclaw", "agent-rot")
    resp = client.post("/api/v1/openclaw/agents/agent-rot/rotate-secret", json={}, headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    new = resp.json()["webhook_secret"]
    assert new != old
    payload = payload_for("openclaw", "agent-rot", "sess-rot")
    assert_rejected(deliver(client, tenant.headers, "openclaw", payload, old), "does not match")
    assert deliver(client, tenant.headers, "openclaw", payload, new).status_code == 200
    other = client.post("/api/v1/openclaw/agents/agent-nope/rotate-secret", json={}, headers=tenant.headers)
    assert other.status_code == 404


def test_registries_are_tenant_scoped_and_never_return_secrets(client, tenant, other_tenant):
    for provider, (kind, field) in REGISTRY.items():
        secret = register(client, tenant.headers, provider, f"reg-{provider}")
        listed = client.get(f"/api/v1/{provider}/{kind}", headers=tenant.headers)
        assert listed.status_code == 200
        assert [i["id"] for i in listed.json()["items"]] == [f"reg-{provider}"]
        assert secret not in listed.text
        theirs = client.get(f"/api/v1/{provider}/{kind}", headers=other_tenant.headers).json()
        assert f"reg-{provider}" not in [i["id"] for i in theirs["items"]]
        dup = client.post(f"/api/v1/{provider}/{kind}", json={field: f"reg-{provider}"}, headers=tenant.headers)
        assert dup.status_code == 409
        invalid = client.post(f"/api/v1/{provider}/{kind}", json={field: "bad id!"}, headers=tenant.headers)
        assert invalid.status_code == 422


def test_connections_keep_api_keys_encrypted_and_check_urls(client, tenant, other_tenant):
    made = client.post("/api/v1/dify/instances", json={"name": "prod", "base_url": "https://93.184.216.34",
                                                       "api_key": "app-secret-key-123"}, headers=tenant.headers)
    assert made.status_code == 201, made.text
    instance = made.json()
    assert instance["has_api_key"] is True and "app-secret-key-123" not in made.text
    listed = client.get("/api/v1/dify/instances", headers=tenant.headers)
    assert "app-secret-key-123" not in listed.text
    app = client.post("/api/v1/dify/apps", json={"app_id": "app-in", "instance_id": instance["id"]},
                      headers=tenant.headers)
    assert app.status_code == 201 and app.json()["parent_id"] == instance["id"]
    foreign = client.post("/api/v1/dify/apps", json={"app_id": "app-f", "instance_id": instance["id"]},
                          headers=other_tenant.headers)
    assert foreign.status_code == 404
    internal = client.post("/api/v1/langgraph/deployments", json={"base_url": "http://169.254.169.254/latest"},
                           headers=tenant.headers)
    assert internal.status_code == 422 and "link-local" in internal.json()["error"]["message"]
    made = client.post("/api/v1/openclaw/instances", json={"name": "laptop"}, headers=tenant.headers)
    assert made.status_code == 201
