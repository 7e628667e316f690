import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("path", ["/health", "/api/v1/health"])
def test_health_checks_the_stores_and_needs_no_credentials(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "healthy"
    assert body["database"] == "ok" and body["queues"] == "ok" and body["storage"] == "ok"
    assert "DynamoDB" in body["redis"]


def test_health_reports_unhealthy_when_the_database_is_gone(client, stack, monkeypatch):
    monkeypatch.setenv("MAO_TENANTS_TABLE", "no-such-table")
    from mao.config import reset_settings

    reset_settings()
    try:
        resp = client.get("/api/v1/health")
    finally:
        monkeypatch.undo()
        reset_settings()
    assert resp.status_code == 503
    assert resp.json()["status"] == "unhealthy"
    assert resp.json()["database"].startswith("error")


def test_health_is_exempt_from_rate_limits(client):
    resp = client.get("/api/v1/health")
    assert "x-ratelimit-limit" not in resp.headers
