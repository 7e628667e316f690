"""Learning from feedback: precision/recall per detector and the threshold it would do best at.

Feedback labels detections: ``true_positive`` / ``false_positive`` judge a detection that was
reported; ``false_negative`` says a failure was missed; ``true_negative`` confirms a quiet verdict.

A detector's *confidence gate* is the threshold a detection's confidence must reach to be reported
(``CONFIDENCE_KNOBS``). Raising the gate to ``v`` keeps the labelled detections with confidence >= v:
kept true positives stay true positives, kept false positives stay false positives, dropped true
positives become misses. Only gates at or above the lowest labelled confidence can be judged (nothing
is known about what a lower gate would add), so a recommendation only ever raises a gate or keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

FeedbackType = Literal["true_positive", "false_positive", "true_negative", "false_negative"]
FEEDBACK_TYPES: tuple[str, ...] = ("true_positive", "false_positive", "true_negative", "false_negative")

# Thresholds that gate a detection's reported confidence, in order of preference.
CONFIDENCE_KNOBS: tuple[str, ...] = ("min_confidence", "min_score")

MIN_RELIABLE_SAMPLES = 20  # fewer labels than this: the numbers are shown but flagged
MIN_RECOMMEND_SAMPLES = 8  # fewer reported-and-labelled detections than this: no recommendation
MIN_GAIN = 0.01  # an objective gain smaller than this does not justify a change


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def add(self, feedback_type: str) -> None:
        if feedback_type == "true_positive":
            self.tp += 1
        elif feedback_type == "false_positive":
            self.fp += 1
        elif feedback_type == "true_negative":
            self.tn += 1
        elif feedback_type == "false_negative":
            self.fn += 1
        else:
            raise ValueError(f"unknown feedback type {feedback_type!r}")

    def merge(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.tn += other.tn
        self.fn += other.fn

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.tn + self.fn


def ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0


def metrics(c: Counts) -> dict[str, object]:
    precision = ratio(c.tp, c.tp + c.fp)
    recall = ratio(c.tp, c.tp + c.fn)
    return {
        "counts": {"true_positive": c.tp, "false_positive": c.fp, "true_negative": c.tn, "false_negative": c.fn},
        "total": c.total,
        "precision": precision,
        "recall": recall,
        "f1": f1(precision, recall),
        "accuracy": ratio(c.tp + c.tn, c.total),
        "insufficient_data": c.total < MIN_RELIABLE_SAMPLES,
    }


def stats(labels: Iterable[tuple[str, str]]) -> dict[str, object]:
    """``labels`` = (detection type, feedback type) pairs -> overall and per-type metrics."""
    per_type: dict[str, Counts] = {}
    overall = Counts()
    for detection_type, feedback_type in labels:
        per_type.setdefault(detection_type, Counts()).add(feedback_type)
        overall.add(feedback_type)
    return {
        "overall": metrics(overall),
        "by_detection_type": {t: metrics(c) for t, c in sorted(per_type.items())},
        "min_reliable_samples": MIN_RELIABLE_SAMPLES,
    }


@dataclass(frozen=True, slots=True)
class Sample:
    confidence: float
    feedback_type: str


@dataclass(slots=True)
class Point:
    threshold: float
    precision: float | None
    recall: float | None
    f1: float | None
    kept: int  # labelled detections still reported


@dataclass(slots=True)
class Recommendation:
    detector: str
    threshold: str | None
    current_value: float | None
    recommended_value: float | None
    action: Literal["raise", "keep", "insufficient_data", "not_adjustable"]
    reason: str
    current: Point | None = None
    expected: Point | None = None
    sample_size: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        def point(p: Point | None) -> dict[str, object] | None:
            if p is None:
                return None
            return {"threshold": p.threshold, "precision": p.precision, "recall": p.recall, "f1": p.f1,
                    "detections_kept": p.kept}

        return {"detection_type": self.detector, "threshold": self.threshold,
                "current_value": self.current_value, "recommended_value": self.recommended_value,
                "action": self.action, "reason": self.reason, "current": point(self.current),
                "expected": point(self.expected), "sample_size": self.sample_size, "counts": self.counts}


def confidence_knob(thresholds: Mapping[str, object]) -> str | None:
    return next((k for k in CONFIDENCE_KNOBS if k in thresholds), None)


def evaluate(samples: list[Sample], gate: float) -> Point:
    tp = sum(1 for s in samples if s.feedback_type == "true_positive" and s.confidence >= gate)
    fp = sum(1 for s in samples if s.feedback_type == "false_positive" and s.confidence >= gate)
    positives = sum(1 for s in samples if s.feedback_type in ("true_positive", "false_negative"))
    precision, recall = ratio(tp, tp + fp), ratio(tp, positives)
    return Point(gate, precision, recall, f1(precision, recall), tp + fp)


def _score(p: Point, objective: str, min_recall: float) -> float:
    if objective == "precision":
        if p.recall is None or p.recall < min_recall or p.precision is None:
            return -1.0
        return p.precision
    return p.f1 if p.f1 is not None else -1.0


def recommend(detector: str, knob: str | None, current_value: float | None, bounds: tuple[float, float],
              samples: list[Sample], *, objective: Literal["f1", "precision"] = "f1",
              min_recall: float = 0.8) -> Recommendation:
    """The gate value at which the labelled ``samples`` say ``detector`` does best.

    ``objective="f1"`` maximises F1; ``"precision"`` maximises precision among gates that keep recall
    at least ``min_recall``. Ties go to the smallest change."""
    counts = Counts()
    for s in samples:
        counts.add(s.feedback_type)
    count_view = {"true_positive": counts.tp, "false_positive": counts.fp, "true_negative": counts.tn,
                  "false_negative": counts.fn}
    judged = [s for s in samples if s.feedback_type in ("true_positive", "false_positive")]
    if knob is None or current_value is None:
        return Recommendation(detector, None, None, None, "not_adjustable",
                              "this detector has no confidence threshold to move", sample_size=len(samples),
                              counts=count_view)
    base = Recommendation(detector, knob, current_value, None, "insufficient_data", "", sample_size=len(samples),
                          counts=count_view)
    if len(judged) < MIN_RECOMMEND_SAMPLES:
        base.reason = (f"{len(judged)} labelled detections; at least {MIN_RECOMMEND_SAMPLES} are needed "
                       "(true or false positive feedback)")
        return base
    lo, hi = bounds
    floor = max(current_value, min(s.confidence for s in judged))
    candidates = sorted({round(s.confidence, 4) for s in judged if floor <= s.confidence <= hi} | {floor})
    candidates = [c for c in candidates if lo <= c <= hi]
    current = evaluate(samples, current_value)
    if not candidates:
        base.current = current
        base.reason = "no labelled confidence lies inside the threshold's range"
        return base
    best = max(candidates, key=lambda v: (_score(evaluate(samples, v), objective, min_recall), -abs(v - floor)))
    expected = evaluate(samples, best)
    gain = _score(expected, objective, min_recall) - _score(current, objective, min_recall)
    if best > current_value and gain >= MIN_GAIN:
        return Recommendation(
            detector, knob, current_value, best, "raise",
            f"raising {knob} from {current_value} to {best} drops {current.kept - expected.kept} labelled "
            f"detections and improves {objective} by {round(gain, 4)}",
            current, expected, len(samples), count_view)
    return Recommendation(detector, knob, current_value, current_value, "keep",
                          "no higher threshold does better on the feedback so far", current, current,
                          len(samples), count_view)
