"""Import jobs end to end: upload (multipart and presigned), background processing, results, delete."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import httpx
import pytest

BASE = "/api/v1/import-jobs"


def otlp_line(n: int, *, error: bool = False) -> str:
    trace_id = hashlib.sha256(f"trace-{n}-{uuid.uuid4()}".encode()).hexdigest()[:32]
    start = 1_700_000_000_000_000_000 + n * 1_000_000
    spans = [
        {"traceId": trace_id, "spanId": f"{n + 1:016x}", "name": "planner", "startTimeUnixNano": str(start),
         "endTimeUnixNano": str(start + 5_000_000), "status": {"code": 2 if error else 1},
         "attributes": [{"key": "gen_ai.agent.name", "value": {"stringValue": "planner"}},
                        {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}}]},
        {"traceId": trace_id, "spanId": f"{n + 1:08x}{1:08x}", "parentSpanId": f"{n + 1:016x}", "name": "chat",
         "startTimeUnixNano": str(start + 1000), "endTimeUnixNano": str(start + 4_000_000),
         "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
                        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "7"}}]},
    ]
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "import-test"}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]})


def wait_done(client: httpx.Client, headers: dict[str, str], job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        resp = client.get(f"{BASE}/{job_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        job = resp.json()
        if job["status"] in ("completed", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.2)


def upload(client: httpx.Client, headers: dict[str, str], content: bytes, name: str = "data.jsonl",
           **params: Any) -> httpx.Response:
    return client.post(BASE, headers=headers, files={"file": (name, content, "application/x-ndjson")},
                       params={k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()})


def test_a_jsonl_file_with_bad_lines_completes_with_those_lines_reported(client, tenant) -> None:
    lines = [otlp_line(1), otlp_line(2), "{not json", otlp_line(3), '{"resourceSpans": "nope"}', "", otlp_line(4)]
    resp = upload(client, tenant.headers, "\n".join(lines).encode() + b"\n")
    assert resp.status_code == 202, resp.text
    created = resp.json()
    assert created["status"] == "pending" and created["uploaded"] is True
    job = wait_done(client, tenant.headers, created["id"])
    assert job["status"] == "completed", job
    assert job["format"] == "otlp" and job["container"] == "jsonl"
    assert job["records_processed"] == 6 and job["records_total"] == 6
    assert job["records_failed"] == 2
    assert job["traces_created"] == 4
    assert job["spans_imported"] == 8
    results = client.get(f"{BASE}/{created['id']}/results", headers=tenant.headers).json()
    errors = results["errors"]["items"]
    assert [e["line"] for e in errors] == [3, 5]
    assert "invalid JSON" in errors[0]["reason"]
    assert "resourceSpans" in errors[1]["reason"]
    assert results["summary"]["records_imported"] == 4


def test_the_same_file_again_is_a_conflict_unless_forced(client, tenant, other_tenant) -> None:
    content = (otlp_line(10) + "\n").encode()
    first = upload(client, tenant.headers, content)
    assert first.status_code == 202, first.text
    again = upload(client, tenant.headers, content)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["details"]["import_job_id"] == first.json()["id"]
    assert upload(client, other_tenant.headers, content).status_code == 202  # hashes are per tenant
    forced = upload(client, tenant.headers, content, force=True)
    assert forced.status_code == 202, forced.text


def test_a_file_over_the_limit_is_refused_with_413(client, tenant) -> None:
    declared = client.post(BASE, headers=tenant.headers, json={"filename": "big.jsonl", "size": 100 * 1024 * 1024 + 1})
    assert declared.status_code == 413, declared.text
    assert declared.json()["error"]["code"] == "payload_too_large"



def test_an_uploaded_file_over_the_limit_is_refused_with_413(client, tenant, monkeypatch) -> None:
    monkeypatch.setenv("MAO_IMPORT_MAX_BYTES", "2000")  # the limit is read per request
    small = upload(client, tenant.headers, (otlp_line(5) + "\n").encode())
    assert small.status_code == 202, small.text
    big = upload(client, tenant.headers, "\n".join(otlp_line(6 + i) for i in range(3)).encode())
    assert big.status_code == 413, big.text
    assert big.json()["error"]["details"] == {"limit_bytes": 2000}


def test_presigned_upload_flow(client, tenant) -> None:
    content = "\n".join(otlp_line(20 + i) for i in range(3)).encode()
    declared = client.post(BASE, headers=tenant.headers, json={"filename": "p.jsonl", "size": len(content),
                                                               "sha256": hashlib.sha256(content).hexdigest()})
    assert declared.status_code == 202, declared.text
    body = declared.json()
    assert body["status"] == "pending" and body["uploaded"] is False
    early = client.post(body["start_url"], headers=tenant.headers)
    assert early.status_code == 409
    put = httpx.put(body["upload"]["url"], content=content, headers=body["upload"]["headers"])
    assert put.status_code == 200, put.text
    started = client.post(body["start_url"], headers=tenant.headers)
    assert started.status_code == 202, started.text
    job = wait_done(client, tenant.headers, body["id"])
    assert job["status"] == "completed" and job["traces_created"] == 3


def test_validation_and_foreign_tenant(client, tenant, other_tenant) -> None:
    assert client.post(BASE, headers=tenant.headers, json={"filename": "x", "size": 0}).status_code == 422
    assert upload(client, tenant.headers, b"{}\n", format="nope").status_code == 422
    assert client.get(BASE, headers=tenant.headers, params={"page_size": 0}).status_code == 422
    created = upload(client, tenant.headers, (otlp_line(30) + "\n").encode()).json()
    for method, path in (("GET", ""), ("GET", "/results"), ("DELETE", "")):
        resp = client.request(method, f"{BASE}/{created['id']}{path}", headers=other_tenant.headers)
        assert resp.status_code == 404, (method, path, resp.text)
    assert client.get(f"{BASE}/imp_unknown", headers=tenant.headers).status_code == 404
    assert client.get(BASE).status_code == 401


def test_list_and_delete(client, tenant) -> None:
    ids = [upload(client, tenant.headers, (otlp_line(40 + i) + "\n").encode()).json()["id"] for i in range(3)]
    for job_id in ids:
        wait_done(client, tenant.headers, job_id)
    page = client.get(BASE, headers=tenant.headers, params={"page_size": 2}).json()
    assert page["total"] == 3 and page["has_more"] is True
    assert [j["id"] for j in page["items"]] == ids[::-1][:2]
    assert client.delete(f"{BASE}/{ids[0]}", headers=tenant.headers).status_code == 200
    assert client.get(f"{BASE}/{ids[0]}", headers=tenant.headers).status_code == 404
    assert client.get(BASE, headers=tenant.headers).json()["total"] == 2
