"""Bounded ingest load on the local stack (``benchmarks/load_ingest.py``): increasing rates with a
small backlog limit, so backpressure is exercised; every 202-accepted span is stored; the auth
rate limit trips exactly at its documented limit."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import fresh_ip

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def load_module():
    path = REPO_ROOT / "benchmarks" / "load_ingest.py"
    spec = importlib.util.spec_from_file_location("load_ingest", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["load_ingest"] = module
    spec.loader.exec_module(module)
    return module


def test_increasing_ingest_load_loses_nothing_and_the_auth_burst_trips_at_the_limit(stack, tenant, monkeypatch):
    monkeypatch.setenv("MAO_INGEST_MAX_QUEUE_DEPTH", "5")  # read per request
    load = load_module()
    report = load.run(stack.api_url, tenant.tenant_id, tenant.api_key, rates=[4, 12, 30], seconds=2, spans=5,
                      client_ip=fresh_ip(), drain_timeout=300)
    print(report)
    steps = report["steps"]
    assert [s["requests"] for s in steps] == [8, 24, 60]
    for s in steps:
        assert s["accepted"] + round(s["share_503"] * s["requests"]) == s["requests"], s
    assert report["storage"]["lost_spans"] == 0, report["storage"]
    assert report["storage"]["accepted_spans"] == sum(s["accepted_spans"] for s in steps)
    burst = report["auth_burst"]
    assert burst["passed"] == load.AUTH_LIMIT and burst["limited"] == burst["requests"] - load.AUTH_LIMIT


def test_the_load_script_refuses_a_non_loopback_target():
    load = load_module()
    with pytest.raises(SystemExit):
        load.require_loopback("http://10.0.0.5:8000")
    load.require_loopback("http://127.0.0.1:8000")
