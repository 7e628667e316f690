"""n8n sync and discovery against an n8n-API-compatible server started here (on loopback, which the
test allows explicitly, as an operator would)."""

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.integrations_client import deliver
from tests.unit.integrations.payloads import n8n_api_execution, n8n_execution

pytestmark = pytest.mark.e2e
API_KEY = "n8n_api_" + secrets.token_hex(8)


class FakeN8n:
    """Serves /api/v1/workflows and /api/v1/executions with n8n's cursor pagination (page size 2)."""

    def __init__(self, workflows, executions):
        self.workflows, self.executions, self.requests = workflows, executions, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append((url.path, query))
                if self.headers.get("X-N8N-API-KEY") != API_KEY:
                    return self._send(401, {"message": "unauthorized"})
                items = {"/api/v1/workflows": fake.workflows, "/api/v1/executions": fake.executions}.get(url.path)
                if items is None:
                    return self._send(404, {"message": "not found"})
                if url.path.endswith("executions") and query.get("workflowId"):
                    items = [e for e in items if e["workflowId"] == query["workflowId"]]
                start = int(query.get("cursor") or 0)
                page = items[start:start + 2]
                nxt = str(start + 2) if start + 2 < len(items) else None
                if url.path.endswith("executions") and query.get("includeData") != "true":
                    page = [{k: v for k, v in e.items() if k != "data"} for e in page]
                return self._send(200, {"data": page, "nextCursor": nxt})

            def _send(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def n8n_server():
    wf_a, wf_b = f"wfA{secrets.token_hex(3)}", f"wfB{secrets.token_hex(3)}"
    workflows = [{"id": wf_a, "name": "Supplier lookup", "active": True},
                 {"id": wf_b, "name": "Invoice triage", "active": False}]
    executions = [n8n_api_execution(str(100 + i), wf_a if i % 2 == 0 else wf_b) for i in range(5)]
    server = FakeN8n(workflows, executions)
    yield server
    server.close()


@pytest.fixture
def allow_loopback(monkeypatch):
    monkeypatch.setenv("MAO_INTEGRATION_ALLOWED_NETWORKS", "127.0.0.1/32")


def test_an_internal_instance_url_is_refused_without_the_operator_allowance(client, tenant, n8n_server):
    for path in ("/api/v1/n8n/sync", "/api/v1/n8n/discover"):
        resp = client.post(path, json={"base_url": n8n_server.url, "api_key": API_KEY}, headers=tenant.headers)
        assert resp.status_code == 422, resp.text
        assert "loopback" in resp.json()["error"]["message"]
    assert n8n_server.requests == []  # nothing was fetched
    status = client.get("/api/v1/n8n/sync/status", headers=tenant.headers).json()
    assert status["connected"] is False


def test_discover_lists_and_registers_workflows(client, tenant, n8n_server, allow_loopback):
    resp = client.post("/api/v1/n8n/discover", json={"base_url": n8n_server.url, "api_key": API_KEY},
                       headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total"] == 2 and body["registered"] == 2
    assert all(w["webhook_secret"].startswith("whsec_") for w in body["workflows"])
    listed = client.get("/api/v1/n8n/workflows", headers=tenant.headers).json()
    assert {w["id"] for w in listed["items"]} == {w["id"] for w in n8n_server.workflows}
    again = client.post("/api/v1/n8n/discover", json={}, headers=tenant.headers)  # stored connection
    assert again.status_code == 200 and again.json()["registered"] == 0
    assert API_KEY not in again.text


def test_sync_pulls_every_page_once_and_agrees_with_webhooks(client, tenant, n8n_server, allow_loopback):
    wf_a = n8n_server.workflows[0]["id"]
    found = client.post("/api/v1/n8n/discover", json={"base_url": n8n_server.url, "api_key": API_KEY},
                        headers=tenant.headers).json()
    secret = next(w["webhook_secret"] for w in found["workflows"] if w["id"] == wf_a)
    hooked = deliver(client, tenant.headers, "n8n", n8n_execution("100", wf_a), secret)  # also arrives by webhook
    assert hooked.status_code == 200, hooked.text

    resp = client.post("/api/v1/n8n/sync", json={}, headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["pages"] == 3 and report["executions_seen"] == 5
    assert report["imported"] == 4 and report["duplicates"] == 1  # execution 100 came by webhook first
    assert hooked.json()["trace_id"] in report["trace_ids"]
    cursors = [q.get("cursor") for p, q in n8n_server.requests if p == "/api/v1/executions"]
    assert cursors == [None, "2", "4"]
    assert all(q.get("includeData") == "true" for p, q in n8n_server.requests if p == "/api/v1/executions")

    second = client.post("/api/v1/n8n/sync", json={}, headers=tenant.headers).json()
    assert second["imported"] == 0 and second["duplicates"] == 5
    status = client.get("/api/v1/n8n/sync/status", headers=tenant.headers).json()
    assert status["connected"] is True and status["base_url"] == n8n_server.url
    assert status["last_sync"]["status"] == "completed" and status["last_sync"]["total_imported"] == 4
    for trace_id in report["trace_ids"]:
        trace = client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces/{trace_id}", headers=tenant.headers)
        assert trace.status_code == 200


def test_sync_reports_a_refused_api_key_and_needs_a_connection(client, tenant, n8n_server, allow_loopback):
    assert client.post("/api/v1/n8n/sync", json={}, headers=tenant.headers).status_code == 409
    resp = client.post("/api/v1/n8n/sync", json={"base_url": n8n_server.url, "api_key": "wrong"},
                       headers=tenant.headers)
    assert resp.status_code == 502 and "API key" in resp.json()["error"]["message"]
    missing_key = client.post("/api/v1/n8n/sync", json={"base_url": n8n_server.url}, headers=tenant.headers)
    assert missing_key.status_code == 422
