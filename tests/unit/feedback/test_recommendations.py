from mao.domain.recommendations import (
    MIN_RECOMMEND_SAMPLES,
    Sample,
    confidence_knob,
    evaluate,
    recommend,
    stats,
)


def _samples(fp_conf: list[float], tp_conf: list[float], misses: int = 0) -> list[Sample]:
    return ([Sample(c, "false_positive") for c in fp_conf] + [Sample(c, "true_positive") for c in tp_conf]
            + [Sample(0.0, "false_negative")] * misses)


def test_stats_compute_precision_recall_f1_per_type_and_flag_small_samples():
    labels = [("loop", "true_positive")] * 6 + [("loop", "false_positive")] * 2 + [("loop", "false_negative")] * 2
    labels += [("persona_drift", "true_negative")]
    out = stats(labels)
    loop = out["by_detection_type"]["loop"]
    assert loop["precision"] == 0.75 and loop["recall"] == 0.75 and loop["f1"] == 0.75
    assert loop["insufficient_data"] is True
    assert out["by_detection_type"]["persona_drift"]["precision"] is None
    assert out["overall"]["total"] == 11


def test_low_confidence_false_positives_lead_to_a_raised_threshold():
    samples = _samples(fp_conf=[0.56, 0.58, 0.6, 0.61, 0.62], tp_conf=[0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
    rec = recommend("ignored_input", "min_confidence", 0.55, (0.0, 1.0), samples)
    assert rec.action == "raise"
    assert rec.recommended_value == 0.7
    assert rec.expected.precision == 1.0 and rec.expected.recall == 1.0
    assert rec.current.precision < rec.expected.precision
    assert rec.sample_size == 11


def test_mixed_confidences_keep_the_threshold_when_nothing_higher_is_better():
    samples = _samples(fp_conf=[0.9, 0.92, 0.95], tp_conf=[0.6, 0.62, 0.65, 0.7, 0.72, 0.75])
    rec = recommend("x", "min_confidence", 0.55, (0.0, 1.0), samples)
    assert rec.action == "keep" and rec.recommended_value == 0.55


def test_precision_objective_respects_the_minimum_recall():
    samples = _samples(fp_conf=[0.6, 0.65, 0.8], tp_conf=[0.62, 0.7, 0.75, 0.85, 0.9, 0.95])
    strict = recommend("x", "min_confidence", 0.55, (0.0, 1.0), samples, objective="precision", min_recall=0.5)
    assert strict.expected.recall >= 0.5 and strict.expected.precision == 1.0
    assert strict.recommended_value == 0.85
    loose = recommend("x", "min_confidence", 0.55, (0.0, 1.0), samples, objective="precision", min_recall=0.9)
    assert loose.recommended_value < strict.recommended_value


def test_too_few_labels_or_no_knob_give_no_recommendation():
    few = _samples([0.6], [0.9] * (MIN_RECOMMEND_SAMPLES - 2))
    assert recommend("x", "min_confidence", 0.5, (0.0, 1.0), few).action == "insufficient_data"
    assert recommend("x", None, None, (0.0, 1.0), few).action == "not_adjustable"
    assert confidence_knob({"min_score": 0.9}) == "min_score" and confidence_knob({"window": 3}) is None


def test_misses_count_against_recall_at_every_threshold():
    samples = _samples(fp_conf=[0.6], tp_conf=[0.7, 0.8], misses=2)
    assert evaluate(samples, 0.0).recall == 0.5
    assert evaluate(samples, 0.75).recall == 0.25
