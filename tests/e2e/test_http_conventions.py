"""Error shapes, request ids, body limits, CORS and rate limits: what every route shares."""

import pytest

from tests.e2e.conftest import fresh_ip

pytestmark = pytest.mark.e2e


def test_every_response_carries_a_request_id_and_security_headers(client):
    resp = client.get("/api/v1/health")
    assert len(resp.headers["x-request-id"]) >= 8
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"


def test_malformed_json_is_400_not_500(client, operator_headers):
    resp = client.post("/api/v1/auth/tenants", content=b"{not json", headers={**operator_headers,
                                                                             "Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_json"


def test_wrong_types_are_422_naming_the_field(client, operator_headers):
    resp = client.post("/api/v1/auth/tenants", json={"name": 42, "plan": "gold"}, headers=operator_headers)
    assert resp.status_code == 422
    fields = {d["field"] for d in resp.json()["error"]["details"]}
    assert {"body.name", "body.plan"} <= fields


def test_an_oversized_body_is_413(client, operator_headers):
    resp = client.post("/api/v1/auth/tenants", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                       headers={**operator_headers, "Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"


def test_unknown_routes_are_404_in_the_same_shape(client):
    resp = client.get("/api/v1/no/such/thing")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "route_not_found"


def test_cors_preflight_follows_the_reference(client):
    resp = client.options("/api/v1/auth/token", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-MAO-API-Key"})
    assert resp.status_code == 204
    h = resp.headers
    assert h["access-control-allow-origin"] == "http://localhost:3000"
    assert set(h["access-control-allow-methods"].split(",")) == {"GET", "POST", "PUT", "DELETE", "OPTIONS"}
    assert set(h["access-control-allow-headers"].split(",")) == {
        "authorization", "content-type", "accept", "x-mao-api-key", "x-mao-signature", "x-mao-timestamp",
        "x-mao-nonce"}
    assert h["access-control-allow-credentials"] == "true"
    assert h["access-control-max-age"] == "3600"


def test_cors_refuses_unknown_origins_and_decorates_real_responses(client):
    bad = client.options("/api/v1/auth/token", headers={"Origin": "https://evil.example",
                                                        "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in bad.headers
    real = client.get("/api/v1/health", headers={"Origin": "http://localhost:3000"})
    assert real.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "x-request-id" in real.headers["access-control-expose-headers"]


def test_auth_endpoints_trip_at_exactly_ten_requests(client):
    statuses = [client.post("/api/v1/auth/token", json={"api_key": "mao_" + "y" * 40}).status_code
                for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    limited = client.post("/api/v1/auth/token", json={})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["x-ratelimit-limit"] == "10"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.json()["error"]["code"] == "rate_limited"


@pytest.mark.slow
def test_the_global_limit_trips_exactly_at_1000_and_is_per_ip(stack, tenant):
    """A real concurrent burst: every one of 1000 requests is counted once (atomic counters shared
    by all instances), and the 1001st inside the window is refused."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    url = f"/api/v1/tenants/{tenant.tenant_id}/api-keys"
    ip = fresh_ip()

    def burst(n: int) -> list[tuple[int, int, str]]:
        # Requests without credentials are counted too (the limiter runs before auth): the cheapest
        # way to send a real burst of 1000 inside one window.
        out = []
        with httpx.Client(base_url=stack.api_url, headers={"X-Forwarded-For": ip}, timeout=60) as c:
            for _ in range(n):
                resp = c.get(url)
                out.append((resp.status_code, int(resp.headers["x-ratelimit-remaining"]),
                            resp.headers["x-ratelimit-reset"]))
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [r for chunk in pool.map(burst, [125] * 8) for r in chunk]
    assert {status for status, _, _ in results} == {401}
    assert len({reset for _, _, reset in results}) == 1, "the burst must fall in one window"
    assert sorted(remaining for _, remaining, _ in results) == list(range(1000))
    with httpx.Client(base_url=stack.api_url, headers={"X-Forwarded-For": ip, **tenant.headers}) as c:
        over = c.get(url)
        assert over.status_code == 429
        assert int(over.headers["retry-after"]) >= 1
        # OPTIONS and health stay exempt while the IP is limited
        assert c.get("/api/v1/health").status_code == 200
        assert c.options(url, headers={"Origin": "http://localhost:3000",
                                       "Access-Control-Request-Method": "GET"}).status_code == 204
    with httpx.Client(base_url=stack.api_url, headers={"X-Forwarded-For": fresh_ip(), **tenant.headers}) as c:
        assert c.get(url).status_code == 200
