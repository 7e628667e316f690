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


def _run_import(client: httpx.Client, headers: dict[str, str], content: bytes, name: str = "data.jsonl",
                **params: Any) -> dict[str, Any]:
    resp = upload(client, headers, content, name, **params)
    assert resp.status_code == 202, resp.text
    return wait_done(client, headers, resp.json()["id"])


COUNTS = ("records_total", "records_processed", "records_failed", "traces_created", "conversations_created",
          "spans_imported", "detections_found")


def test_a_worker_killed_halfway_resumes_and_counts_like_a_clean_run(client, tenant, other_tenant,
                                                                      monkeypatch) -> None:
    from mao.services import imports

    lines = [otlp_line(100 + i, error=i % 3 == 0) for i in range(9)]
    lines.insert(4, "{broken")
    content = ("\n".join(lines) + "\n").encode()
    monkeypatch.setenv("MAO_IMPORT_CHUNK_RECORDS", "2")
    clean = _run_import(client, other_tenant.headers, content)
    assert clean["status"] == "completed", clean

    real = imports.process_chunk
    calls = {"n": 0}

    def dies_after_writing_the_third_chunk(job, records, start_line):
        outcome = real(job, records, start_line)
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed before its checkpoint")
        return outcome

    monkeypatch.setattr(imports, "process_chunk", dies_after_writing_the_third_chunk)
    resumed = _run_import(client, tenant.headers, content)
    assert calls["n"] > 5  # the third chunk ran twice
    assert resumed["status"] == "completed", resumed
    assert resumed["progress"]["invocations"] >= 2
    assert {k: resumed[k] for k in COUNTS} == {k: clean[k] for k in COUNTS}
    assert resumed["records_processed"] == 10 and resumed["records_failed"] == 1 and resumed["traces_created"] == 9
    errors = client.get(f"{BASE}/{resumed['id']}/results", headers=tenant.headers).json()["errors"]
    assert [e["line"] for e in errors["items"]] == [5]


def test_long_files_are_split_across_invocations(client, tenant, monkeypatch) -> None:
    monkeypatch.setenv("MAO_IMPORT_CHUNK_RECORDS", "2")
    monkeypatch.setenv("MAO_IMPORT_SLICE_SECONDS", "0")  # one chunk per invocation, then a continuation
    content = ("\n".join(otlp_line(200 + i) for i in range(7)) + "\n").encode()
    job = _run_import(client, tenant.headers, content)
    assert job["status"] == "completed", job
    assert job["records_processed"] == 7 and job["traces_created"] == 7
    assert job["progress"]["invocations"] >= 4


def _langfuse_trace(i: int) -> dict[str, Any]:
    trace = str(uuid.uuid4())
    return {"id": trace, "name": "support-agent", "timestamp": "2025-03-01T10:00:00.000Z", "sessionId": "s1",
            "input": {"question": f"refund order {i}?"}, "output": "done",
            "observations": [
                {"id": f"{trace}-a", "traceId": trace, "type": "AGENT", "name": "triage",
                 "startTime": "2025-03-01T10:00:00.100Z", "endTime": "2025-03-01T10:00:02.000Z"},
                {"id": f"{trace}-g", "traceId": trace, "type": "GENERATION", "name": "llm",
                 "parentObservationId": f"{trace}-a", "model": "gpt-4o-mini",
                 "startTime": "2025-03-01T10:00:00.200Z", "endTime": "2025-03-01T10:00:01.000Z",
                 "usage": {"input": 30, "output": 12, "total": 42}, "input": "hi", "output": "hello"}]}


def _langsmith_run(i: int) -> dict[str, Any]:
    root = str(uuid.uuid4())
    return {"id": root, "name": "AgentExecutor", "run_type": "chain", "trace_id": root,
            "start_time": "2025-03-01T10:00:00.000000", "end_time": "2025-03-01T10:00:03.000000",
            "inputs": {"input": f"task {i}"}, "outputs": {"output": "ok"},
            "child_runs": [{"id": str(uuid.uuid4()), "name": "ChatOpenAI", "run_type": "llm", "trace_id": root,
                            "parent_run_id": root, "start_time": "2025-03-01T10:00:00.500000",
                            "end_time": "2025-03-01T10:00:01.500000", "prompt_tokens": 20,
                            "completion_tokens": 5, "total_tokens": 25,
                            "extra": {"invocation_params": {"model": "gpt-4o-mini"}}},
                           {"id": str(uuid.uuid4()), "name": "search", "run_type": "tool", "trace_id": root,
                            "parent_run_id": root, "start_time": "2025-03-01T10:00:01.600000",
                            "end_time": "2025-03-01T10:00:02.000000", "error": "timeout"}]}


def _who_when(i: int) -> dict[str, Any]:
    return {"id": f"ww-{i}-{uuid.uuid4().hex[:6]}", "question": "What is 2+2?", "ground_truth": "4",
            "history": [{"role": "user", "content": "What is 2+2?"},
                        {"role": "assistant", "name": "Solver", "content": "FINAL ANSWER: 5"}],
            "mistake_agent": "Solver", "mistake_step": "1", "mistake_reason": "arithmetic"}


def _openai(i: int) -> dict[str, Any]:
    return {"messages": [{"role": "system", "content": "You are helpful."},
                         {"role": "user", "content": f"Summarise report {i} {uuid.uuid4().hex[:6]}"},
                         {"role": "assistant", "content": "Here is the summary."}]}


def _claude(i: int) -> dict[str, Any]:
    return {"system": "Be brief.", "messages": [
        {"role": "user", "content": f"List files {i} {uuid.uuid4().hex[:6]}"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "ls", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a.txt"}]},
        {"role": "assistant", "content": "There is a.txt."}]}


def _mast(i: int) -> dict[str, Any]:
    return {"mas_name": "AG2", "trace_id": i, "mast_annotation": {"1.1": 0, "1.3": 1},
            "trace": {"trajectory": f"user (to assistant):\nSolve task {i} {uuid.uuid4().hex[:6]}\n\n"
                                    "assistant (to user):\nThe answer is 3.\nTERMINATE\n"}}


def _generic(i: int) -> dict[str, Any]:
    return {"turns": [{"speaker": "planner", "content": f"plan {i} {uuid.uuid4().hex[:6]}"},
                      {"speaker": "coder", "content": "done"}]}


@pytest.mark.parametrize(("fmt", "make", "kind"), [
    ("langfuse", _langfuse_trace, "traces"), ("langsmith", _langsmith_run, "traces"),
    ("who-when", _who_when, "conversations"), ("openai", _openai, "conversations"),
    ("claude", _claude, "conversations"), ("mast-data", _mast, "conversations"),
    ("generic", _generic, "conversations")])
def test_each_format_is_detected_and_imported(client, tenant, fmt, make, kind) -> None:
    records = [make(i) for i in range(3)]
    as_array = fmt in ("langsmith", "claude")  # JSON arrays and JSONL both stream record by record
    content = json.dumps(records, indent=1).encode() if as_array else \
        ("\n".join(json.dumps(r) for r in records) + "\n").encode()
    job = _run_import(client, tenant.headers, content, "export.json" if as_array else "export.jsonl")
    assert job["status"] == "completed", job
    assert job["format"] == fmt and job["container"] == ("array" if as_array else "jsonl")
    assert job["records_processed"] == 3 and job["records_failed"] == 0, job
    assert job[f"{kind}_created"] == 3
    if kind == "traces":
        assert job["spans_imported"] == 9


def test_the_named_format_wins_over_detection(client, tenant) -> None:
    content = ("\n".join(json.dumps(_openai(i)) for i in range(2)) + "\n").encode()
    job = _run_import(client, tenant.headers, content, format="langsmith")
    assert job["format"] == "langsmith" and job["status"] == "completed"
    assert job["records_failed"] == 2 and job["traces_created"] == 0
    errors = client.get(f"{BASE}/{job['id']}/results", headers=tenant.headers).json()["errors"]["items"]
    assert [e["line"] for e in errors] == [1, 2] and "needs 'id'" in errors[0]["reason"]


def test_unrecognised_files_fail_with_a_reason(client, tenant) -> None:
    job = _run_import(client, tenant.headers, b'{"hello": 1}\n{"world": 2}\n')
    assert job["status"] == "failed"
    assert "format not recognised" in job["error"]


@pytest.mark.parametrize("multipart_max", ["10", "10000000"])  # presigned and multipart uploads
def test_the_cli_uploads_and_follows_a_job(stack, tenant, tmp_path, capsys, multipart_max) -> None:
    from mao.cli.main import main

    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join([otlp_line(300), "oops", otlp_line(301)]) + "\n")
    code = main(["import", str(path), "--api-url", stack.api_url, "--api-key", tenant.api_key, "--no-progress",
                 "--poll", "0.2", "--multipart-max", multipart_max])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "completed: format otlp, 3 records (1 failed), 2 traces" in out
    assert "line 2: invalid JSON" in out
    again = main(["import", str(path), "--api-url", stack.api_url, "--api-key", tenant.api_key, "--no-progress"])
    assert again == 1 and "already imported" in capsys.readouterr().err


def test_deleting_a_job_keeps_its_traces_unless_asked_to_remove_them(client, tenant) -> None:
    traces_url = f"/api/v1/tenants/{tenant.tenant_id}/traces"

    def trace_ids() -> set[str]:
        body = client.get(traces_url, headers=tenant.headers, params={"page_size": 100}).json()
        return {t["trace_id"] for t in body["items"]}

    kept_job = _run_import(client, tenant.headers, (otlp_line(70) + "\n" + otlp_line(71) + "\n").encode())
    kept = trace_ids()
    assert kept_job["traces_created"] == 2 and len(kept) == 2
    plain = client.delete(f"{BASE}/{kept_job['id']}", headers=tenant.headers).json()
    assert plain["traces_kept"] == 2
    assert trace_ids() == kept

    gone_job = _run_import(client, tenant.headers, (otlp_line(72, error=True) + "\n").encode(), analyze=True)
    new = trace_ids() - kept
    assert len(new) == 1
    (new_id,) = new
    removed = client.delete(f"{BASE}/{gone_job['id']}", headers=tenant.headers, params={"delete_created": "true"})
    assert removed.status_code == 200, removed.text
    assert removed.json()["traces_deleted"] == 1 and removed.json()["traces_kept"] == 0
    assert client.get(f"{traces_url}/{new_id}", headers=tenant.headers).status_code == 404
    assert trace_ids() == kept
    leftovers = client.get(f"/api/v1/tenants/{tenant.tenant_id}/detections", headers=tenant.headers,
                           params={"trace_id": new_id}).json()
    assert leftovers["items"] == []
