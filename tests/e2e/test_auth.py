import time

import jwt
import pytest

pytestmark = pytest.mark.e2e


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "details" in body["error"]


def test_creating_a_tenant_needs_the_operator_key(client, tenant):
    assert_error(client.post("/api/v1/auth/tenants", json={"name": "x"}), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/tenants", json={"name": "x"}, headers=tenant.headers), 403, "forbidden")


def test_a_new_tenant_gets_a_working_key_shown_once(client, operator_headers):
    resp = client.post("/api/v1/auth/tenants", json={"name": "Acme"}, headers=operator_headers)
    assert resp.status_code == 201
    body = resp.json()
    assert body["api_key"].startswith("mao_") and body["tenant_id"].startswith("tn_")
    keys = client.get(f"/api/v1/tenants/{body['tenant_id']}/api-keys", headers={"X-MAO-API-Key": body["api_key"]})
    assert keys.status_code == 200
    listed = keys.json()["items"]
    assert [k["prefix"] for k in listed] == [body["api_key_prefix"]]
    assert body["api_key"] not in keys.text  # listing shows prefixes only


def test_keys_can_be_created_listed_and_revoked(client, tenant):
    base = f"/api/v1/tenants/{tenant.tenant_id}/api-keys"
    created = client.post(base, json={"name": "ci"}, headers=tenant.headers)
    assert created.status_code == 201
    second = created.json()
    second_headers = {"X-MAO-API-Key": second["api_key"]}
    assert client.get(base, headers=second_headers).status_code == 200

    names = {k["name"]: k for k in client.get(base, headers=tenant.headers).json()["items"]}
    assert names["ci"]["status"] == "active" and "api_key" not in names["ci"]

    revoked = client.delete(f"{base}/{second['prefix']}", headers=tenant.headers)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert_error(client.get(base, headers=second_headers), 401, "unauthorized")


def test_the_last_active_key_is_not_revoked_by_accident(client, tenant):
    base = f"/api/v1/tenants/{tenant.tenant_id}/api-keys"
    prefix = client.get(base, headers=tenant.headers).json()["items"][0]["prefix"]
    assert_error(client.delete(base, params={"prefix": prefix}, headers=tenant.headers), 409, "conflict")
    assert_error(client.delete(base, params={"prefix": "nope"}, headers=tenant.headers), 404, "not_found")


def test_a_key_is_exchanged_for_a_short_lived_jwt(client, tenant):
    resp = client.post("/api/v1/auth/token", json={"api_key": tenant.api_key})
    assert resp.status_code == 200
    token = resp.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["tenant_id"] == tenant.tenant_id
    assert {"sub", "iat", "exp", "aud"} <= set(claims)
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    ok = client.get(f"/api/v1/tenants/{tenant.tenant_id}/api-keys", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200


def test_an_expired_or_forged_jwt_is_refused(client, tenant, stack):
    now = int(time.time())
    prefix = tenant.api_key[4:16]
    claims = {"sub": f"key:{prefix}", "tenant_id": tenant.tenant_id, "iat": now - 7200, "exp": now - 3600,
              "aud": "mao-api"}
    expired = jwt.encode(claims, stack.env["MAO_JWT_SECRET"], algorithm="HS256")
    url = f"/api/v1/tenants/{tenant.tenant_id}/api-keys"
    resp = client.get(url, headers={"Authorization": f"Bearer {expired}"})
    assert_error(resp, 401, "unauthorized")
    assert "expired" in resp.json()["error"]["message"]
    forged = jwt.encode({**claims, "exp": now + 600}, "x" * 48, algorithm="HS256")
    assert_error(client.get(url, headers={"Authorization": f"Bearer {forged}"}), 401, "unauthorized")


def test_a_jwt_dies_with_its_revoked_key(client, tenant):
    base = f"/api/v1/tenants/{tenant.tenant_id}/api-keys"
    extra = client.post(base, json={"name": "short"}, headers=tenant.headers).json()
    token = client.post("/api/v1/auth/token", json={"api_key": extra["api_key"]}).json()["access_token"]
    client.delete(f"{base}/{extra['prefix']}", headers=tenant.headers)
    assert_error(client.get(base, headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized")


def test_another_tenants_path_answers_404_not_403(client, tenant, other_tenant):
    resp = client.get(f"/api/v1/tenants/{other_tenant.tenant_id}/api-keys", headers=tenant.headers)
    assert_error(resp, 404, "not_found")
    assert other_tenant.api_key[:16] not in resp.text
    # a made-up tenant id looks exactly the same
    ghost = client.get("/api/v1/tenants/tn_0000000000000000/api-keys", headers=tenant.headers)
    assert ghost.status_code == 404 and ghost.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("headers", [{}, {"X-MAO-API-Key": "mao_" + "x" * 40}, {"Authorization": "Bearer nonsense"},
                                     {"Authorization": "Basic dXNlcjpwdw=="}])
def test_missing_or_bad_credentials_are_401_with_a_json_body(client, tenant, headers):
    assert_error(client.get(f"/api/v1/tenants/{tenant.tenant_id}/api-keys", headers=headers), 401, "unauthorized")
