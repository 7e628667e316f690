"""Detector benchmarks and status, served from the results file ``mao eval detectors`` writes.

Nothing is evaluated at request time: the file is read once per process (and again when it changes).
Its location is ``MAO_EVAL_RESULTS`` or ``mao/eval/results/detectors.json`` inside the package.

Tiers (documented rules, applied to the fixture scores of each detector):

* ``production``: F1 >= 0.80 and precision >= 0.80 on at least ``PRODUCTION_MIN_POSITIVES`` positive
  samples, and at most 5 % false positives on healthy runs;
* ``beta``: F1 >= 0.60 on at least ``BETA_MIN_POSITIVES`` positive samples;
* ``experimental``: everything else, including detectors without labelled samples.

Readiness follows the tier: ``ready`` (production), ``limited`` (beta: use with review),
``not_ready`` (experimental), ``no_data`` (no labelled samples at all).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mao.api.errors import ApiError

DEFAULT_RESULTS = Path(__file__).resolve().parents[1] / "eval" / "results" / "detectors.json"


@dataclass(frozen=True, slots=True)
class TierRules:
    production_f1: float = 0.80
    production_precision: float = 0.80
    production_min_positives: int = 30
    production_max_healthy_fpr: float = 0.05
    beta_f1: float = 0.60
    beta_min_positives: int = 10

    def describe(self) -> dict[str, str]:
        return {
            "production": f"F1 >= {self.production_f1}, precision >= {self.production_precision}, "
                          f">= {self.production_min_positives} positive samples, healthy-run false-positive "
                          f"rate <= {self.production_max_healthy_fpr}",
            "beta": f"F1 >= {self.beta_f1} and >= {self.beta_min_positives} positive samples",
            "experimental": "anything else, including detectors without labelled samples",
        }


RULES = TierRules()


def tier_of(f1: float | None, precision: float | None, positives: int, healthy_fpr: float | None,
            rules: TierRules = RULES) -> str:
    if f1 is None or positives <= 0:
        return "experimental"
    if (f1 >= rules.production_f1 and (precision or 0.0) >= rules.production_precision
            and positives >= rules.production_min_positives
            and (healthy_fpr or 0.0) <= rules.production_max_healthy_fpr):
        return "production"
    if f1 >= rules.beta_f1 and positives >= rules.beta_min_positives:
        return "beta"
    return "experimental"


_READINESS = {"production": "ready", "beta": "limited", "experimental": "not_ready"}


def readiness(tier: str, positives: int) -> str:
    return "no_data" if positives <= 0 else _READINESS[tier]


def results_path() -> Path:
    env = os.environ.get("MAO_EVAL_RESULTS", "").strip()
    return Path(env) if env else DEFAULT_RESULTS


_cache: dict[str, Any] = {}


def load_results(path: Path | None = None) -> dict[str, Any]:
    path = path or results_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise ApiError(503, "unavailable", "no evaluation results yet: run `mao eval detectors`") from None
    cached = _cache.get(str(path))
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ApiError(503, "unavailable", "the evaluation results file is unreadable; run `mao eval detectors`") \
            from None
    if not isinstance(data, dict) or not isinstance(data.get("detectors"), dict):
        raise ApiError(503, "unavailable", "the evaluation results file has no detectors section")
    _cache[str(path)] = (mtime, data)
    return data


def _run_info(data: dict[str, Any]) -> dict[str, Any]:
    return {"run_date": data.get("run_date"), "generated_at": data.get("generated_at"),
            "source": "mao eval detectors", "small_sample_threshold": data.get("small_sample_threshold")}


def benchmarks(data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The failure modes (F-codes) with detection rate, precision, F1, sample counts and tier."""
    from mao.domain.taxonomy import FAILURE_MODES

    data = data if data is not None else load_results()
    detectors = data["detectors"]
    by_code = data.get("f_codes") or {}
    modes = []
    for fm in FAILURE_MODES:
        row = by_code.get(fm.code) or {}
        key = row.get("detector") or next((k for k, d in detectors.items() if d.get("f_code") == fm.code), None)
        scores = (detectors.get(key) or {}).get("fixtures") or {} if key else {}
        positives = int(scores.get("support") or 0)
        negatives = int(scores.get("negatives") or 0)
        healthy_fpr = (detectors.get(key) or {}).get("healthy_false_positive_rate") if key else None
        tier = tier_of(scores.get("f1"), scores.get("precision"), positives, healthy_fpr)
        modes.append({
            "code": fm.code, "name": fm.name, "mast_id": fm.mast_id, "detector": key,
            "detection_rate": scores.get("recall"), "precision": scores.get("precision"), "f1": scores.get("f1"),
            "samples": {"positives": positives, "negatives": negatives, "total": positives + negatives},
            "healthy_false_positive_rate": healthy_fpr, "small_sample": bool(scores.get("small_sample", True)),
            "tier": tier,
        })
    counts = {t: sum(m["tier"] == t for m in modes) for t in ("production", "beta", "experimental")}
    out: dict[str, Any] = {**_run_info(data), "failure_modes": modes, "total": len(modes), "tiers": counts,
                           "tier_rules": RULES.describe()}
    ww = data.get("who_and_when")
    if isinstance(ww, dict):
        out["who_and_when"] = {k: ww.get(k) for k in ("source", "note", "runs", "runs_with_detection",
                                                       "detection_rate")}
    return out


def detector_status(data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per detector: F1, precision, recall, sample count, tier and readiness."""
    data = data if data is not None else load_results()
    items = []
    for key, d in sorted(data["detectors"].items()):
        scores = d.get("fixtures") or {}
        positives = int(scores.get("support") or 0)
        negatives = int(scores.get("negatives") or 0)
        fpr = d.get("healthy_false_positive_rate")
        tier = tier_of(scores.get("f1"), scores.get("precision"), positives, fpr)
        items.append({
            "detector": key, "f_code": d.get("f_code"), "name": d.get("name"), "version": d.get("version"),
            "f1": scores.get("f1"), "precision": scores.get("precision"), "recall": scores.get("recall"),
            "sample_count": positives + negatives, "positives": positives, "negatives": negatives,
            "healthy_false_positive_rate": fpr, "small_sample": bool(scores.get("small_sample", True)),
            "tier": tier, "readiness": readiness(tier, positives),
        })
    counts = {t: sum(i["tier"] == t for i in items) for t in ("production", "beta", "experimental")}
    return {**_run_info(data), "detectors": items, "total": len(items), "tiers": counts,
            "tier_rules": RULES.describe()}
