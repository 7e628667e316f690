"""Metrics export end to end: stored counters -> Prometheus text (checked by promtool), JSON, Datadog."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mao.services import metrics
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code


def seed(tenant_id: str, spans: int) -> None:
    """What the ingest worker, the detection path and healing record as they work."""
    metrics.record_ingested(tenant_id, traces=2, spans=spans, tokens_by_model={"gpt-4o-mini": (1000, 250)},
                            cost_by_model={"gpt-4o-mini": 0.0003})
    metrics.record_detections(tenant_id, [("infinite_loop", "high"), ("infinite_loop", "high"),
                                          ("task_derailment", "medium")])
    metrics.record_healing(tenant_id, "succeeded")
    for seconds in (0.02, 0.2, 3.0):
        metrics.record_latency(tenant_id, "ingest", seconds)
    metrics.record_latency(tenant_id, "detection", 0.05)


@pytest.fixture(scope="module")
def promtool():
    done = subprocess.run([str(REPO_ROOT / "scripts" / "get-promtool.sh")], capture_output=True, text=True)
    if done.returncode != 0:
        if os.environ.get("CI"):  # CI fetches promtool first (.ci/run): a missing one is a failure there
            pytest.fail(f"promtool unavailable in CI: {done.stderr.strip()}")
        pytest.skip(f"promtool unavailable: {done.stderr.strip()}")
    return done.stdout.strip()


def test_a_tenant_reads_only_its_own_series_and_promtool_accepts_them(client, tenant, other_tenant, promtool):
    seed(tenant.tenant_id, 17)
    seed(other_tenant.tenant_id, 5)
    resp = client.get("/api/v1/metrics", headers=tenant.headers)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = resp.text
    assert f'mao_spans_ingested_total{{tenant_id="{tenant.tenant_id}"}} 17.0' in text
    labels = f'detection_type="infinite_loop",severity="high",tenant_id="{tenant.tenant_id}"'
    assert f"mao_detections_total{{{labels}}} 2.0" in text
    assert f'mao_ingest_latency_seconds_count{{tenant_id="{tenant.tenant_id}"}} 3.0' in text
    assert 'model="gpt-4o-mini"' in text and "mao_cost_usd_total" in text and "mao_healing_operations_total" in text
    assert other_tenant.tenant_id not in text and "mao_ingest_queue_depth" not in text
    done = subprocess.run([promtool, "check", "metrics"], input=resp.content, capture_output=True)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_the_numbers_are_the_stored_ones_not_a_process_counter(client, tenant):
    seed(tenant.tenant_id, 4)
    seed(tenant.tenant_id, 6)  # two writers (two instances) add to the same stored counter
    body = client.get("/api/v1/metrics/json", headers=tenant.headers).json()
    by_name = {m["name"]: m for m in body["metrics"]}
    assert body["scope"] == "tenant" and body["tenant_id"] == tenant.tenant_id
    assert by_name["mao_spans_ingested"]["series"] == [{"labels": {"tenant_id": tenant.tenant_id}, "value": 10}]
    hist = by_name["mao_ingest_latency_seconds"]["series"][0]
    assert hist["count"] == 6 and hist["buckets"][-1] == {"le": "+Inf", "count": 6}
    assert "mao_ingest_queue_depth" not in by_name


def test_an_operator_reads_every_tenant_and_the_queue_depth(client, tenant, other_tenant, operator_headers, promtool):
    seed(tenant.tenant_id, 3)
    seed(other_tenant.tenant_id, 8)
    resp = client.get("/api/v1/metrics", headers=operator_headers)
    assert resp.status_code == 200
    assert tenant.tenant_id in resp.text and other_tenant.tenant_id in resp.text
    assert 'mao_ingest_queue_depth{state="visible"}' in resp.text
    done = subprocess.run([promtool, "check", "metrics"], input=resp.content, capture_output=True)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    body = client.get("/api/v1/metrics/json", headers=operator_headers).json()
    assert body["scope"] == "all_tenants"


def test_metrics_need_credentials(client):
    assert_error(client.get("/api/v1/metrics"), 401, "unauthorized")
    assert_error(client.get("/api/v1/metrics/json"), 401, "unauthorized")
    assert_error(client.post("/api/v1/metrics/datadog/flush"), 401, "unauthorized")
    assert_error(client.get("/api/v1/metrics/datadog/dashboard"), 401, "unauthorized")


class Receiver:
    """A local stand-in for Datadog's intake: records what it is sent."""

    def __init__(self, status: int = 202) -> None:
        received: list[dict] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                encoding = self.headers.get("content-encoding", "")
                if encoding == "gzip":
                    raw = gzip.decompress(raw)
                elif encoding == "deflate":
                    raw = zlib.decompress(raw)
                received.append({"path": self.path, "api_key": self.headers.get("dd-api-key"),
                                 "body": json.loads(raw)})
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errors": []}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_datadog_flush_without_a_key_says_so(client, tenant, monkeypatch):
    monkeypatch.setenv("MAO_DATADOG_API_KEY", "")
    resp = client.post("/api/v1/metrics/datadog/flush", headers=tenant.headers)
    assert_error(resp, 409, "not_configured")
    assert "Datadog" in resp.json()["error"]["message"]


def test_datadog_flush_sends_the_tenants_series(client, tenant, other_tenant, monkeypatch):
    seed(tenant.tenant_id, 9)
    seed(other_tenant.tenant_id, 1)
    receiver = Receiver()
    try:
        monkeypatch.setenv("MAO_DATADOG_API_KEY", "dd-test-key")
        monkeypatch.setenv("MAO_DATADOG_API_URL", receiver.url)
        resp = client.post("/api/v1/metrics/datadog/flush", headers=tenant.headers)
        assert resp.status_code == 200, resp.text
        assert resp.json()["flushed"] and resp.json()["series"] > 0
    finally:
        receiver.close()
    assert len(receiver.received) == 1
    sent = receiver.received[0]
    assert sent["path"] == "/api/v2/series" and sent["api_key"] == "dd-test-key"
    series = {(s["metric"], tuple(sorted(s["tags"]))): s for s in sent["body"]["series"]}
    spans = series[("mao.spans.ingested", tuple(sorted([f"tenant_id:{tenant.tenant_id}", "source:mao"])))]
    assert spans["points"][0]["value"] == 9
    assert other_tenant.tenant_id not in json.dumps(sent["body"])
    assert resp.json()["series"] == len(sent["body"]["series"])


def test_datadog_refusal_is_a_bad_gateway(client, tenant, monkeypatch):
    seed(tenant.tenant_id, 1)
    receiver = Receiver(status=403)
    try:
        monkeypatch.setenv("MAO_DATADOG_API_KEY", "wrong")
        monkeypatch.setenv("MAO_DATADOG_API_URL", receiver.url)
        assert_error(client.post("/api/v1/metrics/datadog/flush", headers=tenant.headers), 502, "upstream_error")
    finally:
        receiver.close()


def test_the_datadog_dashboard_is_importable_json_for_the_tenant(client, tenant):
    resp = client.get("/api/v1/metrics/datadog/dashboard", headers=tenant.headers)
    assert resp.status_code == 200
    board = resp.json()
    assert board["layout_type"] == "ordered" and board["widgets"]
    assert board["template_variables"][0]["default"] == tenant.tenant_id
    assert all(w["definition"]["requests"][0]["q"] for w in board["widgets"])
