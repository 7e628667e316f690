"""The span write path and the ingest worker on an in-process emulator: idempotency, merging of
late reports, offloading of large values, summaries and agent rows, partial batch failures."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mao.adapters import traces as store
from mao.adapters.aws import reset_clients
from mao.adapters.dynamo import rebind_tables
from mao.config import reset_settings
from mao.domain.models import Span
from mao.services import ingest

REPO = Path(__file__).resolve().parents[2]
TENANT = "tn_ingest"
TRACE = "ab" * 16


def _reset() -> None:
    reset_settings()
    reset_clients()
    rebind_tables()


@pytest.fixture
def aws(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("MAO_PAYLOAD_BUCKET", "ingest-test-payloads")
    monkeypatch.setenv("MAO_SPAN_INLINE_BYTES", "1024")
    for var, name in (("MAO_SPANS_TABLE", "it-spans"), ("MAO_TRACES_TABLE", "it-traces"),
                      ("MAO_AGENT_TRACES_TABLE", "it-agent-traces")):
        monkeypatch.setenv(var, name)
    with mock_aws():
        _reset()
        for model in (store.SpanModel, store.TraceModel, store.AgentTraceModel):
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        boto3.client("s3").create_bucket(Bucket="ingest-test-payloads")
        queue = boto3.client("sqs").create_queue(QueueName="ingest-test")["QueueUrl"]
        monkeypatch.setenv("MAO_INGEST_QUEUE_URL", queue)
        reset_settings()
        yield
    monkeypatch.undo()
    boto3.DEFAULT_SESSION = None
    _reset()


def span(span_id: str, start: int, end: int | None, parent: str | None = None, **kw) -> Span:
    return Span(trace_id=TRACE, span_id=span_id, name=kw.pop("name", span_id), start_ns=start, end_ns=end,
                parent_span_id=parent, **kw)


def run_spans() -> list[Span]:
    return [
        span("1" * 16, 1_000, 9_000, kind="agent", agent_id="lead", agent_name="lead", status="ok"),
        span("2" * 16, 2_000, 5_000, parent="1" * 16, kind="llm", model="gpt-4o-mini", input_tokens=100,
             output_tokens=10, cost_usd=0.001),
        span("3" * 16, 5_000, 6_000, parent="1" * 16, kind="tool", tool_name="search", status="error",
             status_message="timeout"),
    ]


def test_storing_the_same_spans_twice_writes_them_once(aws):
    first = ingest.store_spans(TENANT, run_spans())
    assert (first.new, first.updated, first.duplicate, first.trace_ids) == (3, 0, 0, [TRACE])
    again = ingest.store_spans(TENANT, run_spans())
    assert (again.new, again.updated, again.duplicate, again.trace_ids) == (0, 0, 3, [])
    assert len(store.get_spans(TENANT, TRACE)) == 3
    summary = store.get_trace(TENANT, TRACE).summary_dict()
    assert summary["span_count"] == 3 and summary["status"] == "completed" and summary["error_count"] == 1
    assert summary["agents"] == ["lead"] and summary["input_tokens"] == 100


def test_spans_are_tenant_scoped(aws):
    ingest.store_spans(TENANT, run_spans())
    assert store.get_spans("tn_other", TRACE) == []
    assert store.get_trace("tn_other", TRACE) is None


def test_a_later_report_of_a_span_is_merged_not_duplicated(aws):
    ingest.store_spans(TENANT, [span("4" * 16, 1_000, None, kind="tool", tool_name="Bash", input_text="ls")])
    assert store.get_trace(TENANT, TRACE).status == "running"
    result = ingest.store_spans(TENANT, [span("4" * 16, 3_000, 3_000, kind="tool", output_text="a.py",
                                              status="ok")])
    assert (result.new, result.updated) == (0, 1)
    (merged,) = store.get_spans(TENANT, TRACE)
    assert (merged.start_ns, merged.end_ns) == (1_000, 3_000)
    assert merged.input_text == "ls" and merged.output_text == "a.py" and merged.tool_name == "Bash"
    assert store.get_trace(TENANT, TRACE).status == "completed"


def test_large_values_go_to_s3_and_come_back_on_request(aws):
    big = "x" * 5000
    ingest.store_spans(TENANT, [span("5" * 16, 1, 2, input_text=big, attributes={"payload": {"k": big}})])
    (stored,) = store.get_spans(TENANT, TRACE)
    assert stored.input_text.startswith(store.OFFLOADED_TEXT)
    assert stored.attributes["payload"]["$ref"].startswith("s3://ingest-test-payloads/")
    (resolved,) = store.get_spans(TENANT, TRACE, resolve_refs=True)
    assert resolved.input_text == big and resolved.attributes["payload"] == {"k": big}


def test_agent_rows_follow_the_trace(aws):
    ingest.store_spans(TENANT, run_spans())
    rows = {agent: stats for agent, _trace, stats in store.iter_agent_rows(TENANT)}
    assert set(rows) == {"lead"}
    assert rows["lead"]["error_count"] == 1 and rows["lead"]["tokens_used"] == 110
    assert list(store.iter_agent_rows("tn_other")) == []


def load_worker():
    path = REPO / "functions" / "ingest_worker" / "app.py"
    spec = importlib.util.spec_from_file_location("ingest_worker_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sqs_event(*bodies: str) -> dict:
    return {"Records": [{"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": body,
                         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                         "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
                         "awsRegion": "us-east-1"} for i, body in enumerate(bodies)]}


def otlp_json(trace_id: str, span_ids: list[str]) -> bytes:
    spans = [{"traceId": trace_id, "spanId": sid, "name": f"s{i}", "startTimeUnixNano": str(1000 + i),
              "endTimeUnixNano": str(2000 + i)} for i, sid in enumerate(span_ids)]
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()


def test_the_worker_reports_only_the_failed_records_and_is_idempotent(aws):
    worker = load_worker()
    trace_id = "cd" * 16
    body = gzip.compress(otlp_json(trace_id, ["a1" * 8, "b2" * 8]))
    message = ingest.enqueue_payload(TENANT, ingest.FORMAT_OTLP, body, "application/json", "gzip")
    good = json.dumps(message)
    poison = json.dumps({**message, "key": "ingest/missing"})
    result = worker.handler(sqs_event(good, "not json", poison), None)
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m1", "m2"]
    assert len(store.get_spans(TENANT, trace_id)) == 2
    assert worker.handler(sqs_event(good), None) == {"batchItemFailures": []}
    assert len(store.get_spans(TENANT, trace_id)) == 2
    assert store.get_trace(TENANT, trace_id).span_count == 2


def test_backpressure_trips_above_the_configured_depth(aws, monkeypatch):
    monkeypatch.setenv("MAO_INGEST_MAX_QUEUE_DEPTH", "1")
    monkeypatch.setenv("MAO_INGEST_RETRY_AFTER_SECONDS", "7")
    ingest.check_backpressure()
    for _ in range(2):
        ingest.enqueue_payload(TENANT, ingest.FORMAT_OTLP, b"{}", "application/json", None)
    with pytest.raises(ingest.Backpressure) as caught:
        ingest.check_backpressure()
    assert caught.value.retry_after == 7 and caught.value.depth == 2
