import os
import subprocess

import pytest

from mao.domain import metrics_model as mm
from tests.conftest import REPO_ROOT


def rows():
    r = mm.CounterRow
    return [
        r("tn_a", "total#traces", 3), r("tn_a", "total#spans", 42),
        r("tn_a", mm.detection_key("loop", "high"), 2), r("tn_a", mm.detection_key("loop", "low"), 1),
        r("tn_a", mm.token_key("gpt-4o-mini", "input"), 1200), r("tn_a", mm.token_key("gpt-4o-mini", "output"), 300),
        r("tn_a", mm.cost_key("gpt-4o-mini"), 0.00036),
        r("tn_a", mm.healing_key("succeeded"), 1),
        r("tn_a", mm.histogram_key("ingest", 0.004), 2, 0.006),
        r("tn_a", mm.histogram_key("ingest", 0.3), 1, 0.3),
        r("tn_a", mm.histogram_key("ingest", 100.0), 1, 100.0),
        r("tn_b", "total#spans", 7),
        r("tn_a", "usage#2025-06#spans", 42),  # plan usage is not a metric series
    ]


def test_observations_land_in_the_first_bucket_that_holds_them():
    assert mm.bucket_bound(0.004) == "0.005"
    assert mm.bucket_bound(0.005) == "0.005"
    assert mm.bucket_bound(0.0051) == "0.01"
    assert mm.bucket_bound(61) == "+Inf"
    with pytest.raises(ValueError):
        mm.histogram_key("unknown", 1.0)


def test_snapshot_groups_counters_by_labels_and_accumulates_histograms():
    snap = mm.build_snapshot(rows())
    assert snap.counters["mao_spans_ingested"] == {("tn_a",): 42, ("tn_b",): 7}
    assert snap.counters["mao_detections"][("tn_a", "loop", "high")] == 2
    assert snap.counters["mao_tokens"][("tn_a", "gpt-4o-mini", "output")] == 300
    hist = snap.histograms["mao_ingest_latency_seconds"]["tn_a"]
    assert hist.count == 4 and hist.sum == pytest.approx(100.306)
    cumulative = dict(hist.cumulative())
    assert cumulative["0.005"] == 2 and cumulative["0.5"] == 3 and cumulative["60.0"] == 3 and cumulative["+Inf"] == 4


def test_prometheus_text_has_the_series_and_no_created_lines(monkeypatch):
    monkeypatch.setenv("PROMETHEUS_DISABLE_CREATED_SERIES", "true")
    text = mm.to_prometheus_text(mm.build_snapshot(rows())).decode()
    assert 'mao_spans_ingested_total{tenant_id="tn_a"} 42.0' in text
    assert 'mao_detections_total{detection_type="loop",severity="high",tenant_id="tn_a"} 2.0' in text
    assert 'mao_ingest_latency_seconds_bucket{le="+Inf",tenant_id="tn_a"} 4.0' in text
    assert "mao_ingest_queue_depth" not in text  # only operators get the queue gauge
    assert "_created" not in text and "usage" not in text


def test_the_queue_depth_gauge_appears_when_given():
    text = mm.to_prometheus_text(mm.build_snapshot([], {"visible": 3, "in_flight": 1, "delayed": 0})).decode()
    assert 'mao_ingest_queue_depth{state="visible"} 3.0' in text


@pytest.fixture(scope="session")
def promtool():
    done = subprocess.run([str(REPO_ROOT / "scripts" / "get-promtool.sh")], capture_output=True, text=True)
    if done.returncode != 0:
        if os.environ.get("CI"):  # CI fetches promtool first (.ci/run): a missing one is a failure there
            pytest.fail(f"promtool unavailable in CI: {done.stderr.strip()}")
        pytest.skip(f"promtool unavailable: {done.stderr.strip()}")
    return done.stdout.strip()


def test_promtool_accepts_the_exposition(promtool):
    text = mm.to_prometheus_text(mm.build_snapshot(rows(), {"visible": 0, "in_flight": 0, "delayed": 0}))
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_promtool_would_reject_a_broken_exposition(promtool):
    done = subprocess.run([promtool, "check", "metrics"], input=b"mao_bad{ 1\n", capture_output=True)
    assert done.returncode != 0


def test_json_and_datadog_renderings_carry_the_same_numbers():
    snap = mm.build_snapshot(rows())
    by_name = {m["name"]: m for m in mm.to_json(snap)["metrics"]}
    spans = {s["labels"]["tenant_id"]: s["value"] for s in by_name["mao_spans_ingested"]["series"]}
    assert spans == {"tn_a": 42, "tn_b": 7}
    assert by_name["mao_ingest_latency_seconds"]["series"][0]["count"] == 4
    points = {(p.metric, p.tags): p.value for p in mm.to_datadog(snap)}
    assert points[("mao.spans.ingested", ("tenant_id:tn_b",))] == 7
    assert points[("mao.ingest.latency.count", ("tenant_id:tn_a",))] == 4


def test_the_dashboard_has_a_widget_per_metric_scoped_by_tenant():
    board = mm.datadog_dashboard("tn_a")
    assert board["layout_type"] == "ordered" and len(board["widgets"]) == len(mm.CATALOGUE)
    queries = " ".join(w["definition"]["requests"][0]["q"] for w in board["widgets"])
    for mdef in mm.CATALOGUE:
        assert mdef.datadog in queries
    assert board["template_variables"][0]["default"] == "tn_a"
