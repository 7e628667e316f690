"""Input hardening: body limits, deep JSON, hostile regexes, security headers, and no secret ever
reaching the logs."""

from __future__ import annotations

import logging
import time

import pytest

from tests.e2e.integrations_client import register

pytestmark = pytest.mark.e2e

SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "content-security-policy",
                    "strict-transport-security", "referrer-policy", "x-request-id")


def test_security_headers_on_success_error_and_refusal(client, tenant):
    for resp in (client.get("/api/v1/health"),
                 client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces", headers=tenant.headers),
                 client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces"),
                 client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces/nope", headers=tenant.headers)):
        missing = [h for h in SECURITY_HEADERS if h not in resp.headers]
        assert not missing, f"{resp.request.url} ({resp.status_code}) lacks {missing}"


def test_a_body_over_the_default_limit_is_413(client, tenant):
    url = f"/api/v1/tenants/{tenant.tenant_id}/workflow-groups"  # the default 1 MiB JSON body cap
    resp = client.post(url, content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers={
        **tenant.headers, "Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("depth", [200, 5000])
def test_deeply_nested_json_is_refused_or_handled_never_a_5xx(client, tenant, depth):
    nested = "[" * depth + "]" * depth
    body = '{"format": "generic", "data": ' + nested + "}"
    resp = client.post(f"/api/v1/tenants/{tenant.tenant_id}/conversations/ingest", content=body.encode(),
                       headers={**tenant.headers, "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500, resp.text[:300]
    ingest = client.post(f"/api/v1/tenants/{tenant.tenant_id}/traces/ingest",
                         content=('{"resourceSpans": ' + nested + "}").encode(),
                         headers={**tenant.headers, "Content-Type": "application/json"})
    assert ingest.status_code < 500, ingest.text[:300]


def test_a_catastrophic_regex_in_a_user_pattern_is_refused_or_bounded(client, tenant):
    url = f"/api/v1/tenants/{tenant.tenant_id}/workflow-groups"
    started = time.monotonic()
    resp = client.post(url, json={"name": "redos", "rules": {"name_pattern": "(a+)+$"}}, headers=tenant.headers)
    if resp.status_code == 201:
        gid = resp.json()["group_id"]
        client.post(f"{url}/{gid}/auto-detect", headers=tenant.headers)
    else:
        assert resp.status_code == 422, resp.text
    assert time.monotonic() - started < 10


def test_secrets_never_reach_the_logs(client, stack, operator_headers, caplog):
    caplog.set_level(logging.DEBUG)
    created = client.post("/api/v1/auth/tenants", json={"name": "log-scan"}, headers=operator_headers).json()
    key, tenant_id = created["api_key"], created["tenant_id"]
    headers = {"X-MAO-API-Key": key}
    token = client.post("/api/v1/auth/token", headers=headers).json()["access_token"]
    client.get(f"/api/v1/tenants/{tenant_id}/traces", headers={"Authorization": f"Bearer {token}"})
    second = client.post(f"/api/v1/tenants/{tenant_id}/api-keys", json={"name": "ci"}, headers=headers).json()
    webhook_secret = register(client, headers, "n8n", "wf-log-scan")
    client.get(f"/api/v1/tenants/{tenant_id}/traces", headers={"X-MAO-API-Key": key[:-4] + "zzzz"})
    client.post("/api/v1/tenants/x/traces/ingest", content=b"{broken", headers=headers)
    captured = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for name, secret in {"api key": key, "second api key": second["api_key"], "token": token,
                         "webhook secret": webhook_secret, "operator key": stack.operator_key,
                         "mistyped key": key[:-4] + "zzzz"}.items():
        assert secret not in captured, f"the {name} was logged"
