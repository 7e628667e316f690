import json

import pytest

from mao.api.errors import ApiError
from mao.domain.taxonomy import FAILURE_MODES
from mao.services import benchmarks


def scores(tp, fp, fn, tn):
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": precision, "recall": recall, "f1": f1,
            "support": tp + fn, "negatives": fp + tn, "small_sample": tp + fp + fn + tn < 30}


def sample_results():
    """A results file shaped like ``mao eval detectors`` writes, for three detectors."""
    detectors = {
        "loop": {"f_code": FAILURE_MODES[0].code, "name": "Loop", "version": "1",
                 "fixtures": scores(38, 2, 2, 58), "healthy_false_positive_rate": 0.0},
        "drift": {"f_code": FAILURE_MODES[1].code, "name": "Drift", "version": "1",
                  "fixtures": scores(5, 5, 4, 20), "healthy_false_positive_rate": 0.1},
        "judge": {"f_code": FAILURE_MODES[2].code, "name": "Judge", "version": "1",
                  "fixtures": scores(12, 2, 3, 30), "healthy_false_positive_rate": 0.0},
    }
    f_codes = {fm.code: {"name": fm.name, "detector": None} for fm in FAILURE_MODES}
    for key, d in detectors.items():
        f_codes[d["f_code"]]["detector"] = key
    return {"run_date": "2025-06-01", "generated_at": "2025-06-01T10:00:00+00:00", "small_sample_threshold": 30,
            "detectors": detectors, "f_codes": f_codes}


def test_tiers_follow_the_documented_rules():
    assert benchmarks.tier_of(0.95, 0.95, 40, 0.0) == "production"
    assert benchmarks.tier_of(0.95, 0.95, 40, 0.2) == "beta"  # too many false alarms on healthy runs
    assert benchmarks.tier_of(0.95, 0.95, 12, 0.0) == "beta"  # too few samples for production
    assert benchmarks.tier_of(0.7, 0.6, 5, 0.0) == "experimental"
    assert benchmarks.tier_of(None, None, 0, None) == "experimental"
    assert benchmarks.readiness("experimental", 0) == "no_data"


def test_benchmarks_report_all_sixteen_failure_modes_with_the_run_date():
    out = benchmarks.benchmarks(sample_results())
    assert out["total"] == len(FAILURE_MODES) == 16
    assert out["run_date"] == "2025-06-01"
    first = out["failure_modes"][0]
    assert first["detector"] == "loop" and first["tier"] == "production"
    assert first["detection_rate"] == pytest.approx(0.95) and first["samples"] == {"positives": 40,
                                                                                   "negatives": 60, "total": 100}
    assert out["failure_modes"][1]["tier"] == "experimental"
    assert out["failure_modes"][2]["tier"] == "beta"
    assert all(m["tier"] == "experimental" for m in out["failure_modes"][3:])
    assert sum(out["tiers"].values()) == 16


def test_detector_status_lists_each_detector_with_readiness():
    out = benchmarks.detector_status(sample_results())
    rows = {d["detector"]: d for d in out["detectors"]}
    assert rows["loop"]["readiness"] == "ready" and rows["loop"]["sample_count"] == 100
    assert rows["judge"]["readiness"] == "limited" and rows["drift"]["readiness"] == "not_ready"
    assert rows["loop"]["recall"] == pytest.approx(0.95)


def test_the_results_file_is_read_from_configuration_and_reread_when_it_changes(tmp_path, monkeypatch):
    path = tmp_path / "detectors.json"
    monkeypatch.setenv("MAO_EVAL_RESULTS", str(path))
    with pytest.raises(ApiError) as missing:
        benchmarks.benchmarks()
    assert missing.value.status == 503
    data = sample_results()
    path.write_text(json.dumps(data))
    assert benchmarks.benchmarks()["run_date"] == "2025-06-01"
    data["run_date"] = "2025-07-01"
    path.write_text(json.dumps(data) + " ")  # a different size and mtime
    assert benchmarks.detector_status()["run_date"] == "2025-07-01"


def test_the_committed_results_file_if_present_is_served_consistently():
    assert benchmarks.DEFAULT_RESULTS.is_file(), "the evaluation results file is committed (mao eval detectors)"
    data = json.loads(benchmarks.DEFAULT_RESULTS.read_text())
    out = benchmarks.benchmarks(data)
    assert out["total"] == 16 and out["run_date"] == data["run_date"]
    status = benchmarks.detector_status(data)
    assert {d["detector"] for d in status["detectors"]} == set(data["detectors"])
    for row in status["detectors"]:
        fx = data["detectors"][row["detector"]]["fixtures"]
        assert row["f1"] == fx["f1"] and row["sample_count"] == fx["support"] + fx["negatives"]
