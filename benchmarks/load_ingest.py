"""Bounded ingest load on the local stack (loopback only).

Drives ``POST /tenants/{id}/traces/ingest`` at increasing request rates for a few seconds each, then
waits until every span answered with 202 is stored, and reports per step: requests, accepted/s,
the share of 503 (backpressure) answers and latency. A burst against the auth endpoints' rate limit
checks that it trips exactly at the documented limit. It stops by itself: request counts and
durations are bounded.

    python benchmarks/load_ingest.py                      # starts its own local stack
    python benchmarks/load_ingest.py --rates 10,40,160 --seconds 3 --max-queue-depth 50
    python benchmarks/load_ingest.py --url http://127.0.0.1:8000 --operator-key mao_op_...
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

MAX_REQUESTS = 5000
MAX_SECONDS_PER_STEP = 30
AUTH_LIMIT = 10  # reference: auth endpoints, 10 requests per 60 s per IP


@dataclass
class Step:
    rate: float
    seconds: float
    requests: int = 0
    accepted: int = 0
    refused_503: int = 0
    other: dict[str, int] = field(default_factory=dict)
    accepted_spans: int = 0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    trace_spans: dict[str, int] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        return {"rate": self.rate, "seconds": self.seconds, "requests": self.requests,
                "accepted": self.accepted, "accepted_per_s": round(self.accepted / self.seconds, 1),
                "share_503": round(self.refused_503 / self.requests, 3) if self.requests else 0.0,
                "other_statuses": self.other, "accepted_spans": self.accepted_spans,
                "latency_ms_p50": round(statistics.median(lat), 1) if lat else None,
                "latency_ms_p95": round(lat[int(len(lat) * 0.95) - 1], 1) if lat else None}


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to load {host!r}: only loopback targets are allowed")


def payload(trace_id: str, spans: int) -> dict[str, Any]:
    now = time.time_ns()
    return {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "load"}}]}, "scopeSpans": [{"spans": [
            {"traceId": trace_id, "spanId": f"{i + 1:016x}", "name": f"step {i}", "kind": 1,
             "startTimeUnixNano": str(now + i), "endTimeUnixNano": str(now + i + 1000),
             **({"parentSpanId": f"{1:016x}"} if i else {}),
             "attributes": [{"key": "gen_ai.agent.name", "value": {"stringValue": f"agent-{i % 3}"}}]}
            for i in range(spans)]}]}]}


def run_step(base_url: str, tenant_id: str, headers: dict[str, str], rate: float, seconds: float,
             spans: int, workers: int = 16) -> Step:
    step = Step(rate, seconds)
    wall = time.monotonic()
    url = f"{base_url}/api/v1/tenants/{tenant_id}/traces/ingest"
    total = min(int(rate * seconds), MAX_REQUESTS)
    lock = threading.Lock()
    start = time.monotonic()

    def one(i: int) -> None:
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        trace_id = secrets.token_hex(16)
        t0 = time.perf_counter()
        with httpx.Client(timeout=30) as client:
            resp = client.post(url, json=payload(trace_id, spans), headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        with lock:
            step.requests += 1
            step.latencies_ms.append(elapsed)
            if resp.status_code == 202:
                step.accepted += 1
                step.accepted_spans += int(resp.json()["accepted_spans"])
                step.trace_spans[trace_id] = spans
            elif resp.status_code == 503:
                assert resp.headers.get("retry-after"), "a 503 without Retry-After"
                step.refused_503 += 1
            else:
                step.other[str(resp.status_code)] = step.other.get(str(resp.status_code), 0) + 1

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(total)))
    step.seconds = round(time.monotonic() - wall, 2)  # the wall time the step really took
    return step


def wait_stored(base_url: str, tenant_id: str, headers: dict[str, str], expected: dict[str, int],
                timeout: float) -> dict[str, Any]:
    """Poll until every accepted trace has all its spans; report what was stored and what was lost."""
    pending = dict(expected)
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        while pending and time.monotonic() < deadline:
            for trace_id, spans in list(pending.items()):
                resp = client.get(f"/api/v1/tenants/{tenant_id}/traces/{trace_id}")
                if resp.status_code == 200 and resp.json().get("span_count", 0) >= spans:
                    del pending[trace_id]
            if pending:
                time.sleep(0.5)
    lost_spans = sum(pending.values())
    return {"accepted_traces": len(expected), "accepted_spans": sum(expected.values()),
            "stored_spans": sum(expected.values()) - lost_spans, "lost_spans": lost_spans,
            "drain_seconds": round(time.monotonic() - started, 1)}


def auth_burst(base_url: str, headers: dict[str, str], extra: int = 5) -> dict[str, Any]:
    """``AUTH_LIMIT + extra`` concurrent token requests from one address: exactly AUTH_LIMIT pass."""
    def one(_: int) -> int:
        with httpx.Client(timeout=30) as client:
            return client.post(f"{base_url}/api/v1/auth/token", json={}, headers=headers).status_code

    with ThreadPoolExecutor(AUTH_LIMIT + extra) as pool:
        statuses = list(pool.map(one, range(AUTH_LIMIT + extra)))
    limited = statuses.count(429)
    return {"requests": len(statuses), "limited": limited, "passed": len(statuses) - limited,
            "limit": AUTH_LIMIT, "trips_exactly_at_limit": len(statuses) - limited == AUTH_LIMIT}


def run(base_url: str, tenant_id: str, api_key: str, rates: list[float], seconds: float, spans: int,
        client_ip: str | None = None, drain_timeout: float = 120) -> dict[str, Any]:
    require_loopback(base_url)
    seconds = min(seconds, MAX_SECONDS_PER_STEP)
    headers = {"X-MAO-API-Key": api_key, **({"X-Forwarded-For": client_ip} if client_ip else {})}
    steps = [run_step(base_url, tenant_id, headers, rate, seconds, spans) for rate in rates]
    expected = {t: n for s in steps for t, n in s.trace_spans.items()}
    storage = wait_stored(base_url, tenant_id, headers, expected, drain_timeout)
    burst_ip = f"198.19.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    burst = auth_burst(base_url, {"X-Forwarded-For": burst_ip} if client_ip else {})
    return {"steps": [s.summary() for s in steps], "storage": storage, "auth_burst": burst}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running local stack (loopback only); default: start one")
    parser.add_argument("--operator-key", default=os.environ.get("MAO_OPERATOR_KEY"))
    parser.add_argument("--rates", default="10,20,40,80", help="requests per second, one step each")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each step (max 30)")
    parser.add_argument("--spans", type=int, default=10, help="spans per request")
    parser.add_argument("--max-queue-depth", type=int, default=None,
                        help="own stack only: ingest backlog above which ingest answers 503")
    parser.add_argument("--out", type=Path, help="also write the report here (JSON)")
    parser.add_argument("--drain-timeout", type=float, default=300, help="seconds to wait for storage")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",") if r.strip()]

    stack = None
    if args.url:
        require_loopback(args.url)
        if not args.operator_key:
            parser.error("--operator-key (or MAO_OPERATOR_KEY) is needed to create the load tenant")
        base_url, operator_key = args.url.rstrip("/"), args.operator_key
    else:
        from mao_local.stack import LocalStack, StackConfig

        extra = {} if args.max_queue_depth is None else {"MAO_INGEST_MAX_QUEUE_DEPTH": str(args.max_queue_depth)}
        stack = LocalStack(StackConfig(api_port=0, trust_forwarded_for=True, extra_env=extra)).start()
        base_url, operator_key = stack.api_url, stack.operator_key
    try:
        # Each run's own stack trusts X-Forwarded-For: one test address for the load, another for
        # the burst, so the burst meets a fresh per-IP window.
        client_ip = "198.18.200.1" if stack is not None else None
        with httpx.Client(base_url=base_url, timeout=30,
                          headers={"X-Forwarded-For": client_ip} if client_ip else {}) as c:
            resp = c.post("/api/v1/auth/tenants", json={"name": "load"}, headers={"X-MAO-API-Key": operator_key})
            resp.raise_for_status()
            tenant = resp.json()
        report = run(base_url, tenant["tenant_id"], tenant["api_key"], rates, args.seconds, args.spans,
                     client_ip, args.drain_timeout)
    finally:
        if stack is not None:
            stack.stop()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    ok = report["storage"]["lost_spans"] == 0 and report["auth_burst"]["trips_exactly_at_limit"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
