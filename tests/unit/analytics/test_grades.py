from mao.domain.grades import GRADES, QualityAggregate, bucket, grade, quality_score


def test_clean_run_scores_100_and_findings_compound_by_severity_and_confidence():
    assert quality_score([]) == 100.0
    one_high = quality_score([("high", 1.0)])
    assert one_high == 70.0
    assert quality_score([("high", 1.0), ("high", 1.0)]) == 49.0
    assert quality_score([("low", 0.9)]) > quality_score([("critical", 0.9)])
    assert quality_score([], errored=True) == 80.0
    assert quality_score([("critical", 1.0)] * 50) >= 0.0


def test_grade_scale_has_one_vocabulary_and_fixed_floors():
    assert GRADES == ("A", "B", "C", "D", "F")
    assert [grade(s) for s in (100, 90, 89.99, 80, 70, 60, 59.9, 0)] == ["A", "A", "B", "B", "C", "D", "F", "F"]
    assert bucket(100) == "90-100" and bucket(0) == "0-9" and bucket(45.5) == "40-49"


def test_aggregate_counts_grades_buckets_and_daily_trend():
    agg = QualityAggregate()
    for score, day in [(95, "2026-01-01"), (65, "2026-01-01"), (100, "2026-01-02")]:
        agg.add(score, day)
    out = agg.to_dict()
    assert out["count"] == 3 and out["grades"]["A"] == 2 and out["grades"]["D"] == 1
    assert out["score_distribution"]["90-100"] == 2
    assert out["trend"][0] == {"date": "2026-01-01", "count": 2, "average_score": 80.0, "grade": "B"}
