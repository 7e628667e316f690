"""Benchmarks and detector status served from the evaluation results file."""

from __future__ import annotations

import json

import pytest

from mao.services import benchmarks
from tests.unit.benchmarks.test_benchmarks import sample_results

pytestmark = pytest.mark.e2e


@pytest.fixture
def results_file(tmp_path, monkeypatch, stack):
    path = tmp_path / "detectors.json"
    path.write_text(json.dumps(sample_results()))
    monkeypatch.setenv("MAO_EVAL_RESULTS", str(path))
    return path


def test_benchmarks_are_public_and_cover_the_sixteen_failure_modes(client, results_file):
    resp = client.get("/api/v1/benchmarks")
    assert resp.status_code == 200
    body = resp.json()
    assert body["total"] == 16 and len(body["failure_modes"]) == 16
    assert body["run_date"] == "2025-06-01" and body["tier_rules"]["production"]
    first = body["failure_modes"][0]
    assert first["tier"] == "production" and first["samples"]["total"] == 100


def test_detector_status_needs_credentials_and_reports_readiness(client, tenant, results_file):
    assert client.get("/api/v1/diagnostics/detector-status").status_code == 401
    resp = client.get("/api/v1/diagnostics/detector-status", headers=tenant.headers)
    assert resp.status_code == 200
    rows = {d["detector"]: d for d in resp.json()["detectors"]}
    assert set(rows) == set(sample_results()["detectors"])
    assert rows["loop"]["readiness"] == "ready" and rows["judge"]["tier"] == "beta"
    assert {"f1", "precision", "recall", "sample_count", "tier"} <= set(rows["loop"])


def test_without_results_the_endpoints_say_to_run_the_evaluation(client, tenant, tmp_path, monkeypatch, stack):
    monkeypatch.setenv("MAO_EVAL_RESULTS", str(tmp_path / "missing.json"))
    resp = client.get("/api/v1/benchmarks")
    assert resp.status_code == 503 and "mao eval" in resp.json()["error"]["message"]
    assert client.get("/api/v1/diagnostics/detector-status", headers=tenant.headers).status_code == 503


def test_the_shipped_results_file_is_served_when_present(client, tenant, stack, monkeypatch):
    assert benchmarks.DEFAULT_RESULTS.is_file(), "the evaluation results file is committed (mao eval detectors)"
    monkeypatch.delenv("MAO_EVAL_RESULTS", raising=False)
    data = json.loads(benchmarks.DEFAULT_RESULTS.read_text())
    body = client.get("/api/v1/benchmarks").json()
    assert body["run_date"] == data["run_date"] and body["total"] == 16
