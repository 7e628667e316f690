"""Quality scores and the one grade vocabulary MAO uses.

A run's quality score (0-100) starts at 100 and loses, for each detection, a share of what is left
in proportion to the detection's severity weight times its confidence:
``score = 100 * prod(1 - SEVERITY_WEIGHT[severity] * confidence)``; a run that ended in error is
further multiplied by ``ERROR_FACTOR``. Independent findings compound, one finding never makes a
score negative, and a clean run scores 100.

Grades (the only vocabulary, used by analytics and workflow-group rules):

    A  score >= 90   healthy
    B  score >= 80   minor issues
    C  score >= 70   notable issues
    D  score >= 60   serious issues
    F  score <  60   failing
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

GRADES: tuple[str, ...] = ("A", "B", "C", "D", "F")
GRADE_FLOORS: tuple[tuple[str, float], ...] = (("A", 90.0), ("B", 80.0), ("C", 70.0), ("D", 60.0), ("F", 0.0))
GRADE_MEANINGS: dict[str, str] = {"A": "healthy", "B": "minor issues", "C": "notable issues",
                                  "D": "serious issues", "F": "failing"}
SEVERITY_WEIGHT: dict[str, float] = {"low": 0.05, "medium": 0.15, "high": 0.3, "critical": 0.5}
ERROR_FACTOR = 0.8
BUCKET_WIDTH = 10  # score distribution buckets: 0-9, 10-19, ..., 90-100


def quality_score(findings: Iterable[tuple[str, float]], errored: bool = False) -> float:
    """Score of a run from its detections' (severity, confidence)."""
    remaining = 1.0
    for severity, confidence in findings:
        weight = SEVERITY_WEIGHT.get(severity, SEVERITY_WEIGHT["medium"])
        remaining *= 1.0 - weight * min(1.0, max(0.0, float(confidence)))
    if errored:
        remaining *= ERROR_FACTOR
    return round(100.0 * remaining, 2)


def grade(score: float) -> str:
    for letter, floor in GRADE_FLOORS:
        if score >= floor:
            return letter
    return "F"


def bucket(score: float) -> str:
    low = min(int(score // BUCKET_WIDTH) * BUCKET_WIDTH, 100 - BUCKET_WIDTH)
    return f"{low}-{low + BUCKET_WIDTH - 1 if low + BUCKET_WIDTH < 100 else 100}"


@dataclass(slots=True)
class QualityAggregate:
    """Streaming aggregate of scores: constant memory per day and bucket."""

    count: int = 0
    total: float = 0.0
    grades: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))
    buckets: dict[str, int] = field(
        default_factory=lambda: {bucket(b): 0 for b in range(0, 100, BUCKET_WIDTH)})
    daily: dict[str, list[float]] = field(default_factory=dict)  # day -> [count, total]

    def add(self, score: float, day: str) -> None:
        self.count += 1
        self.total += score
        self.grades[grade(score)] += 1
        self.buckets[bucket(score)] += 1
        entry = self.daily.setdefault(day, [0, 0.0])
        entry[0] += 1
        entry[1] += score

    def to_dict(self) -> dict[str, object]:
        average = round(self.total / self.count, 2) if self.count else None
        trend = [{"date": day, "count": int(n), "average_score": round(total / n, 2),
                  "grade": grade(total / n)} for day, (n, total) in sorted(self.daily.items())]
        return {
            "count": self.count,
            "average_score": average,
            "average_grade": grade(average) if average is not None else None,
            "grades": self.grades,
            "score_distribution": self.buckets,
            "trend": trend,
            "grade_scale": {g: {"min_score": floor, "meaning": GRADE_MEANINGS[g]} for g, floor in GRADE_FLOORS},
        }
