"""OTLP ingest end to end: an unmodified OpenTelemetry SDK and hand-written OTLP/JSON, through the
API, S3, SQS and the ingest worker, read back through the traces, states and agents endpoints."""

from __future__ import annotations

import base64
import gzip
import json
import os
import time
import uuid
from typing import Any

import pytest

from mao.domain.pricing import cost_usd
from tests.e2e.conftest import Tenant

pytestmark = pytest.mark.e2e


def ingest_url(tenant: Tenant) -> str:
    return f"/api/v1/tenants/{tenant.tenant_id}/traces/ingest"


def wait_for_trace(client, tenant: Tenant, trace_id: str, spans: int, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces/{trace_id}", headers=tenant.headers)
        if resp.status_code == 200:
            body = resp.json()
            if body["span_count"] >= spans:
                return body
        time.sleep(0.3)
    raise AssertionError(f"trace {trace_id} did not reach {spans} spans in time: {body}")


def export_multi_agent_run(tenant: Tenant, base_url: str) -> str:
    """A small multi-agent run, as an application instrumented with the OpenTelemetry SDK sends it."""
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    exporter = OTLPSpanExporter(endpoint=base_url + ingest_url(tenant), headers=tenant.headers,
                                compression=Compression.Gzip)
    provider = TracerProvider(resource=Resource.create({"service.name": "research-crew"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("research-crew")

    def chat(model: str, tokens_in: int, tokens_out: int, prompt: str, answer: str) -> None:
        with tracer.start_as_current_span(f"chat {model}") as span:
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                 "gen_ai.request.model": model, "gen_ai.usage.input_tokens": tokens_in,
                                 "gen_ai.usage.output_tokens": tokens_out, "gen_ai.input.messages": prompt,
                                 "gen_ai.output.messages": answer})

    def agent(name: str):
        span = tracer.start_as_current_span(f"invoke_agent {name}")
        return span

    with agent("orchestrator") as root:
        root.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "orchestrator",
                             "gen_ai.agent.id": "orchestrator"})
        chat("gpt-4o-mini", 120, 30, "Plan the report on solar storage", "research, then write")
        with agent("researcher") as researcher:
            researcher.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher",
                                       "gen_ai.agent.id": "researcher"})
            chat("gpt-4o-mini", 200, 50, "Find sources on solar storage", "three sources found")
            with tracer.start_as_current_span("execute_tool web_search") as tool:
                tool.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "web_search"})
        with agent("writer") as writer:
            writer.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "writer",
                                   "gen_ai.agent.id": "writer"})
            with tracer.start_as_current_span("execute_tool spell_check") as tool:
                tool.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "spell_check"})
                tool.set_status(Status(StatusCode.ERROR, "dictionary unavailable"))
            chat("gpt-4o", 300, 120, "Write the report", "The report")
        root.set_status(Status(StatusCode.OK))
        trace_id = format(root.get_span_context().trace_id, "032x")
    assert provider.force_flush(10_000)
    provider.shutdown()
    return trace_id


def test_an_sdk_export_is_read_back_through_traces_states_and_agents(client, tenant, stack):
    trace_id = export_multi_agent_run(tenant, stack.api_url)
    trace = wait_for_trace(client, tenant, trace_id, 8)
    assert trace["status"] == "completed"
    assert trace["span_count"] == 8 and len(trace["spans"]) == 8
    assert set(trace["agents"]) == {"orchestrator", "researcher", "writer"}
    assert trace["input_tokens"] == 620 and trace["output_tokens"] == 200
    expected_cost = (cost_usd("gpt-4o-mini", 120, 30, "openai") + cost_usd("gpt-4o-mini", 200, 50, "openai")
                     + cost_usd("gpt-4o", 300, 120, "openai"))
    assert trace["cost_usd"] == pytest.approx(expected_cost)
    assert trace["error_count"] == 1

    by_name = {s["name"]: s for s in trace["spans"]}
    root = by_name["invoke_agent orchestrator"]
    assert root["parent_span_id"] is None and trace["root_span_id"] == root["span_id"]
    researcher = by_name["invoke_agent researcher"]
    assert researcher["parent_span_id"] == root["span_id"]
    assert by_name["execute_tool web_search"]["parent_span_id"] == researcher["span_id"]
    assert by_name["execute_tool web_search"]["agent_id"] == "researcher"
    assert by_name["chat gpt-4o"]["agent_id"] == "writer"
    assert by_name["chat gpt-4o"]["cost_usd"] == pytest.approx(cost_usd("gpt-4o", 300, 120, "openai"))
    assert by_name["execute_tool spell_check"]["status"] == "error"

    states = client.get(f"/api/v1/tenants/{tenant.tenant_id}/traces/{trace_id}/states", headers=tenant.headers)
    assert states.status_code == 200
    steps = states.json()["items"]
    assert [s["index"] for s in steps] == list(range(len(steps)))
    starts = [s["start_time"] for s in steps]
    assert starts == sorted(starts)
    researcher_step = next(s for s in steps if s["span_id"] == researcher["span_id"])
    assert researcher_step["agent"] == "researcher"
    assert [c["name"] for c in researcher_step["tool_calls"]] == ["web_search"]
    llm = next(s for s in steps if s["model"] == "gpt-4o")
    assert llm["tokens"] == {"input": 300, "output": 120, "total": 420}
    assert llm["agent"] == "writer" and llm["latency_ms"] >= 0

    agents = client.get(f"/api/v1/tenants/{tenant.tenant_id}/agents", headers=tenant.headers)
    assert agents.status_code == 200
    rows = {a["agent_id"]: a for a in agents.json()["items"]}
    assert set(rows) == {"orchestrator", "researcher", "writer"}
    assert rows["researcher"]["tokens_used"] == 250
    assert rows["writer"]["tokens_used"] == 420 and rows["writer"]["error_count"] == 1
    assert rows["orchestrator"]["error_count"] == 0
    for row in rows.values():
        assert row["step_count"] >= 1 and row["avg_latency_ms"] is not None
        assert row["last_active_at"].endswith("Z") and row["status"] in ("ok", "error", "running")


def hex_id(n: int) -> str:
    return os.urandom(n).hex()


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def json_span(trace_id: str, span_id: str, name: str, start_ns: int, end_ns: int | None = None,
              parent: str | None = None, status: int = 0, **attrs: Any) -> dict[str, Any]:
    span: dict[str, Any] = {"traceId": trace_id, "spanId": span_id, "name": name, "kind": 1,
                            "startTimeUnixNano": str(start_ns),
                            "attributes": [attr(k.replace("__", "."), v) for k, v in attrs.items()],
                            "status": {"code": status}}
    if end_ns is not None:
        span["endTimeUnixNano"] = str(end_ns)
    if parent:
        span["parentSpanId"] = parent
    return span


def export(*spans: dict[str, Any], service: str = "json-app") -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": [attr("service.name", service)]},
                               "scopeSpans": [{"scope": {"name": "manual"}, "spans": list(spans)}]}]}


def test_otlp_json_is_accepted_and_read_back(client, tenant):
    t0 = time.time_ns()
    trace_id, root, sub, llm = hex_id(16), hex_id(8), hex_id(8), hex_id(8)
    payload = export(
        json_span(trace_id, root, "invoke_agent planner", t0, t0 + 9_000_000, status=1,
                  gen_ai__operation__name="invoke_agent", gen_ai__agent__name="planner"),
        json_span(trace_id, sub, "invoke_agent coder", t0 + 1_000_000, t0 + 8_000_000, parent=root,
                  gen_ai__operation__name="invoke_agent", gen_ai__agent__name="coder"),
        json_span(trace_id, llm, "chat", t0 + 2_000_000, t0 + 7_000_000, parent=sub,
                  gen_ai__operation__name="chat", gen_ai__request__model="gpt-4o-mini",
                  gen_ai__usage__input_tokens=1000, gen_ai__usage__output_tokens=100),
    )
    resp = client.post(ingest_url(tenant), json=payload, headers=tenant.headers)
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"accepted_spans": 3, "partial_success": None}
    trace = wait_for_trace(client, tenant, trace_id, 3)
    assert trace["status"] == "completed" and trace["agents"] == ["planner", "coder"]
    by_id = {s["span_id"]: s for s in trace["spans"]}
    assert by_id[llm]["agent_id"] == "coder" and by_id[llm]["parent_span_id"] == sub
    assert trace["cost_usd"] == pytest.approx(cost_usd("gpt-4o-mini", 1000, 100, None))
    assert trace["duration_ms"] == pytest.approx(9.0)


def test_base64_ids_numeric_int64_and_gzip_are_accepted(client, tenant):
    t0 = time.time_ns()
    trace_raw, span_raw = os.urandom(16), os.urandom(8)
    span = json_span(base64.b64encode(trace_raw).decode(), base64.b64encode(span_raw).decode(), "work", t0,
                     t0 + 1000, status=1)
    span["startTimeUnixNano"], span["endTimeUnixNano"] = t0, t0 + 1000
    body = gzip.compress(json.dumps(export(span)).encode())
    resp = client.post(ingest_url(tenant), content=body, headers={
        **tenant.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert resp.status_code == 202, resp.text
    assert resp.json()["accepted_spans"] == 1
    trace = wait_for_trace(client, tenant, trace_raw.hex(), 1)
    assert trace["spans"][0]["span_id"] == span_raw.hex()


def test_protobuf_is_answered_in_protobuf_with_partial_success(client, tenant):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    t0 = time.time_ns()
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    good = scope.spans.add(trace_id=os.urandom(16), span_id=os.urandom(8), name="ok",
                           start_time_unix_nano=t0, end_time_unix_nano=t0 + 5)
    scope.spans.add(trace_id=os.urandom(16), span_id=b"\x00" * 8, name="bad", start_time_unix_nano=t0)
    resp = client.post(ingest_url(tenant), content=request.SerializeToString(),
                       headers={**tenant.headers, "Content-Type": "application/x-protobuf"})
    assert resp.status_code == 202
    assert resp.headers["content-type"] == "application/x-protobuf"
    reply = ExportTraceServiceResponse.FromString(resp.content)
    assert reply.partial_success.rejected_spans == 1
    assert "span_id" in reply.partial_success.error_message
    assert resp.headers["x-mao-accepted-spans"] == "1"
    wait_for_trace(client, tenant, good.trace_id.hex(), 1)


def test_partial_success_reports_the_refused_spans(client, tenant):
    t0 = time.time_ns()
    trace_id = hex_id(16)
    payload = export(json_span(trace_id, hex_id(8), "fine", t0, t0 + 10),
                     json_span(trace_id, "zz", "bad id", t0, t0 + 10),
                     json_span(trace_id, hex_id(8), "backwards", t0, t0 - 10))
    resp = client.post(ingest_url(tenant), json=payload, headers=tenant.headers)
    assert resp.status_code == 202
    body = resp.json()
    assert body["accepted_spans"] == 1
    assert body["partial_success"]["rejected_spans"] == 2
    assert "spanId" in body["partial_success"]["message"] and "end time" in body["partial_success"]["message"]
    assert body["partialSuccess"]["rejectedSpans"] == "2"
    assert wait_for_trace(client, tenant, trace_id, 1)["span_count"] == 1


def test_malformed_payloads_are_400_with_the_reason(client, tenant):
    headers = {**tenant.headers, "Content-Type": "application/json"}
    resp = client.post(ingest_url(tenant), content=b"{not json", headers=headers)
    assert resp.status_code == 400 and "JSON" in resp.json()["error"]["message"]
    resp = client.post(ingest_url(tenant), json={"spans": []}, headers=tenant.headers)
    assert resp.status_code == 400 and "resourceSpans" in resp.json()["error"]["message"]
    resp = client.post(ingest_url(tenant), content=b"\xff\x00garbage",
                       headers={**tenant.headers, "Content-Type": "application/x-protobuf"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_otlp"
    resp = client.post(ingest_url(tenant), content=b"not gzip",
                       headers={**headers, "Content-Encoding": "gzip"})
    assert resp.status_code == 400 and "gzip" in resp.json()["error"]["message"]
    resp = client.post(ingest_url(tenant), content=b"x", headers={**tenant.headers, "Content-Type": "text/plain"})
    assert resp.status_code == 415


def test_bodies_over_the_limit_are_413(client, tenant, stack):
    limit = int(stack.env["MAO_INGEST_MAX_BODY_BYTES"])
    assert limit >= 16 * 1024 * 1024
    resp = client.post(ingest_url(tenant), content=b"0" * (limit + 1),
                       headers={**tenant.headers, "Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"
    expanded = int(stack.env["MAO_INGEST_MAX_DECOMPRESSED_BYTES"])
    bomb = gzip.compress(b" " * (expanded + 1))
    resp = client.post(ingest_url(tenant), content=bomb, headers={
        **tenant.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert resp.status_code == 413


def ingest_poller(stack):
    return next(p for p in stack.pollers if p.source.function == "IngestWorkerFunction")


def test_a_deep_queue_answers_503_with_retry_after(client, tenant, stack):
    poller = ingest_poller(stack)
    poller.pause()
    time.sleep(1.5)  # let a poll already waiting on the queue finish
    os.environ["MAO_INGEST_MAX_QUEUE_DEPTH"] = "1"
    trace_id = hex_id(16)
    try:
        t0 = time.time_ns()
        for _ in range(2):
            payload = export(json_span(trace_id, hex_id(8), "queued", t0, t0 + 10))
            assert client.post(ingest_url(tenant), json=payload, headers=tenant.headers).status_code == 202
        resp = client.post(ingest_url(tenant), json=export(json_span(trace_id, hex_id(8), "refused", t0, t0 + 1)),
                           headers=tenant.headers)
        assert resp.status_code == 503
        assert int(resp.headers["retry-after"]) > 0
        assert resp.json()["error"]["code"] == "unavailable"
    finally:
        os.environ["MAO_INGEST_MAX_QUEUE_DEPTH"] = stack.env["MAO_INGEST_MAX_QUEUE_DEPTH"]
        poller.resume()
    assert wait_for_trace(client, tenant, trace_id, 2)["span_count"] == 2


def test_a_poison_message_ends_in_the_dlq_while_its_batch_neighbours_succeed(client, tenant, stack):
    import boto3

    sqs = boto3.client("sqs")
    queue = stack.physical("IngestQueue").attrs["QueueUrl"]
    dlq = stack.physical("IngestDeadLetterQueue").attrs["QueueUrl"]
    marker = uuid.uuid4().hex
    poison = json.dumps({"v": 1, "tenant_id": tenant.tenant_id, "format": "otlp", "key": f"missing/{marker}"})
    trace_id = hex_id(16)
    t0 = time.time_ns()
    good = client.post(ingest_url(tenant), json=export(json_span(trace_id, hex_id(8), "fine", t0, t0 + 1)),
                       headers=tenant.headers)
    sqs.send_message(QueueUrl=queue, MessageBody=poison)
    assert good.status_code == 202
    wait_for_trace(client, tenant, trace_id, 1)
    deadline = time.monotonic() + 40
    found = False
    while time.monotonic() < deadline and not found:
        for message in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           VisibilityTimeout=0).get("Messages", []):
            found = found or marker in message["Body"]
    assert found, "the poison message did not reach the dead-letter queue"


def test_a_redelivered_message_does_not_duplicate_spans(client, tenant, stack):
    t0 = time.time_ns()
    trace_id = hex_id(16)
    spans = [json_span(trace_id, hex_id(8), f"step {i}", t0 + i, t0 + i + 5) for i in range(3)]
    payload = export(*spans)
    for _ in range(2):
        assert client.post(ingest_url(tenant), json=payload, headers=tenant.headers).status_code == 202
    wait_for_trace(client, tenant, trace_id, 3)
    # the same claim-check message delivered again, as SQS may do
    event = {"Records": [{"messageId": uuid.uuid4().hex, "receiptHandle": "r", "body": json.dumps(message),
                          "attributes": {"ApproximateReceiveCount": "2"}, "messageAttributes": {},
                          "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn", "awsRegion": "us-east-1"}
                         for message in last_messages(stack, tenant, 1)]}
    assert stack.registry.invoke("IngestWorkerFunction", event) == {"batchItemFailures": []}
    time.sleep(1.5)
    trace = wait_for_trace(client, tenant, trace_id, 3)
    assert trace["span_count"] == 3 and len(trace["spans"]) == 3
    assert len({s["span_id"] for s in trace["spans"]}) == 3


def last_messages(stack, tenant: Tenant, n: int) -> list[dict[str, Any]]:
    """The claim-check messages of the tenant's latest payloads, rebuilt from the bucket."""
    import boto3

    s3 = boto3.client("s3")
    bucket = stack.physical("PayloadBucket").ref
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"ingest/{tenant.tenant_id}/otlp/")["Contents"]
    keys = sorted(obj["Key"] for obj in listed)[-n:]
    return [{"v": 1, "tenant_id": tenant.tenant_id, "format": "otlp", "key": key,
             "content_type": "application/json", "content_encoding": ""} for key in keys]


def test_status_follows_the_spans_across_exports(client, tenant):
    t0 = time.time_ns()
    trace_id, root, child = hex_id(16), hex_id(8), hex_id(8)
    first = export(json_span(trace_id, child, "tool call", t0 + 10, t0 + 20, parent=root,
                             gen_ai__operation__name="execute_tool", gen_ai__tool__name="search"))
    assert client.post(ingest_url(tenant), json=first, headers=tenant.headers).status_code == 202
    assert wait_for_trace(client, tenant, trace_id, 1)["status"] == "running"
    second = export(json_span(trace_id, root, "invoke_agent boss", t0, t0 + 50, status=2,
                              gen_ai__operation__name="invoke_agent", gen_ai__agent__name="boss"))
    assert client.post(ingest_url(tenant), json=second, headers=tenant.headers).status_code == 202
    trace = wait_for_trace(client, tenant, trace_id, 2)
    assert trace["status"] == "error" and trace["span_count"] == 2
    child_view = next(s for s in trace["spans"] if s["span_id"] == child)
    assert child_view["agent_id"] == "boss"  # joined to its parent agent once the parent arrived


def test_ingest_is_tenant_scoped(client, tenant, other_tenant):
    t0 = time.time_ns()
    resp = client.post(ingest_url(tenant), json=export(json_span(hex_id(16), hex_id(8), "x", t0, t0 + 1)),
                       headers=other_tenant.headers)
    assert resp.status_code == 404
    assert client.post(ingest_url(tenant), json=export()).status_code == 401
