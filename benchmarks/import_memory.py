"""Import a generated ~100 MB JSONL file on the local stack and measure the import worker.

The stack (emulator, API, queues) runs in this process with its import-queue poller paused; the
worker runs in a child process that polls the import queue and calls the worker handler as Lambda
would, so its peak RSS is the worker's alone (the emulator holding the 100 MB object is not counted).
The file is uploaded the way large files are: a presigned PUT, then ``POST /import-jobs/{id}/start``.

Reports: file size, records, the worker's peak RSS (target < 300 MB) and its RSS before work, wall
time and records/s. The emulator's storage is slow (milliseconds per call, scans), so records/s here
is a floor for the stack, not a figure for AWS.

    .venv/bin/python benchmarks/import_memory.py [--size-mb 100] [--record-kb 24] [--analyze]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM: reset by exec, unlike ru_maxrss, which a child started
    from a large parent inherits)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
WORDS = ("plan", "search", "tool", "result", "answer", "check", "agent", "retry", "context", "summary", "data",
         "order", "refund", "policy", "customer", "report", "error", "value", "step", "verify")


def _otlp_record(n: int, rng: random.Random, text_bytes: int) -> str:
    trace_id = hashlib.sha256(f"bench-{n}".encode()).hexdigest()[:32]
    start = 1_700_000_000_000_000_000 + n * 10_000_000
    text = " ".join(rng.choice(WORDS) for _ in range(text_bytes // 6))
    spans = [
        {"traceId": trace_id, "spanId": f"{2 * n + 1:016x}", "name": "agent", "startTimeUnixNano": str(start),
         "endTimeUnixNano": str(start + 9_000_000), "status": {"code": 1},
         "attributes": [{"key": "gen_ai.agent.name", "value": {"stringValue": f"agent-{n % 4}"}},
                        {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}}]},
        {"traceId": trace_id, "spanId": f"{2 * n + 2:016x}", "parentSpanId": f"{2 * n + 1:016x}", "name": "chat",
         "startTimeUnixNano": str(start + 1000), "endTimeUnixNano": str(start + 8_000_000),
         "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "400"}},
                        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "120"}},
                        {"key": "gen_ai.completion", "value": {"stringValue": text}}]},
    ]
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "bench"}}]},
        "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]})


def generate(path: Path, size_mb: float, record_kb: float) -> int:
    rng = random.Random(7)
    target = int(size_mb * 1024 * 1024)
    written = n = 0
    with path.open("w") as fh:
        while written < target:
            line = _otlp_record(n, rng, int(record_kb * 1024)) + "\n"
            if written + len(line) > target:
                break
            fh.write(line)
            written += len(line)
            n += 1
    return n


def worker(queue_url: str, tenant_id: str, job_id: str) -> None:
    """Child process: poll the import queue and run the worker handler until the job is done."""
    import importlib.util

    import boto3

    from mao.adapters import imports as store
    from mao_local.functions import LambdaContext
    from mao_local.sqs import to_event

    spec = importlib.util.spec_from_file_location("import_worker_app", REPO / "functions/import_worker/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sqs = boto3.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    idle_rss = peak_rss_mb()
    invocations = 0
    while True:
        job = store.get_job(tenant_id, job_id)
        if job is not None and job.status in ("completed", "failed"):
            break
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1,
                                       AttributeNames=["All"]).get("Messages", [])
        for message in messages:
            context = LambdaContext("mao-import-worker", f"bench-{invocations}", timeout_s=900,
                                    _deadline=time.monotonic() + 900)
            result = module.handler(to_event([message], arn, os.environ.get("AWS_REGION", "us-east-1")), context)
            invocations += 1
            if not result.get("batchItemFailures"):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    peak = peak_rss_mb()
    print(json.dumps({"peak_rss_mb": peak, "idle_rss_mb": idle_rss,
                      "invocations": invocations}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--record-kb", type=float, default=24.0, help="approximate size of one record")
    parser.add_argument("--analyze", action="store_true", help="also run detection on every imported trace")
    parser.add_argument("--worker", nargs=3, metavar=("QUEUE_URL", "TENANT", "JOB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0

    import httpx

    from mao_local.stack import LocalStack, StackConfig

    with tempfile.TemporaryDirectory() as tmp, LocalStack(StackConfig(api_port=0)) as stack:
        for poller in stack.pollers:
            if poller.source.function == "ImportWorkerFunction":
                poller.pause()
        path = Path(tmp) / "bench.jsonl"
        t0 = time.perf_counter()
        records = generate(path, args.size_mb, args.record_kb)
        size = path.stat().st_size
        print(f"generated {size / 1e6:.1f} MB, {records} records in {time.perf_counter() - t0:.1f} s", flush=True)
        demo = stack.bootstrap_demo("bench")
        client = httpx.Client(base_url=stack.api_url, headers={"X-MAO-API-Key": demo["api_key"]}, timeout=600)
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        sha = digest.hexdigest()
        job: dict[str, Any] = client.post("/api/v1/import-jobs", json={
            "filename": path.name, "size": size, "sha256": sha, "analyze": args.analyze}).json()
        with path.open("rb") as fh:
            put = httpx.put(job["upload"]["url"], content=iter(lambda: fh.read(1 << 20), b""),
                            headers=job["upload"]["headers"], timeout=600)
        put.raise_for_status()
        started = client.post(job["start_url"])
        assert started.status_code == 202, started.text
        queue_url = stack.physical("ImportQueue").attrs["QueueUrl"]
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--worker", queue_url, demo["tenant_id"], job["id"]],
                             capture_output=True, text=True, env=os.environ.copy(), check=True)
        wall = time.perf_counter() - t0
        measured = json.loads(out.stdout.strip().splitlines()[-1])
        final = client.get(f"/api/v1/import-jobs/{job['id']}").json()
    result = {
        "file_mb": round(size / 1e6, 1), "records": records, "status": final["status"],
        "records_processed": final["records_processed"], "records_failed": final["records_failed"],
        "traces_created": final["traces_created"], "detections_found": final["detections_found"],
        "worker_peak_rss_mb": measured["peak_rss_mb"], "worker_rss_before_work_mb": measured["idle_rss_mb"],
        "target_peak_rss_mb": 300, "invocations": measured["invocations"], "wall_seconds": round(wall, 1),
        "records_per_second": round(final["records_processed"] / wall, 1) if wall else None,
        "mb_per_second": round(size / 1e6 / wall, 2) if wall else None, "analyze": args.analyze,
    }
    print(json.dumps(result, indent=2))
    return 0 if final["status"] == "completed" and measured["peak_rss_mb"] < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
