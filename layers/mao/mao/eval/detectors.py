"""``mao eval detectors``: score every detector on labelled data and write the results file.

Labelled data:

* the detection fixtures (``tests/fixtures/detection/<detector>.jsonl``): label 1 = that detector's
  failure is present, 0 = a near miss; ``healthy.jsonl`` runs are negatives for every detector;
* Who&When (``who-and-when/dev.jsonl``): every run failed, so the rate of runs with at least one
  detection is reported (a floor on recall, not a precision), plus the prompt-injection flags on its
  messages as the false-positive rate on ordinary agent traffic;
* the prompt-injection validation sets: each text is analysed as a one-step run by the
  ``prompt_injection`` detector.

The results file (default ``mao/eval/results/detectors.json``) feeds ``/benchmarks`` and
``/diagnostics/detector-status``: per detector and per F-code precision, recall, F1 and sample
counts, the false-positive rate on healthy runs, and the date of the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parents[2]
DEFAULT_OUT = PACKAGE_DIR / "eval" / "results" / "detectors.json"
DEFAULT_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "detection"
SMALL_SAMPLE = 30  # fewer labelled samples than this: the numbers are indicative only
INJECTION_SETS = ("s-labs-validation.jsonl", "neuralchemy-validation.jsonl")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True,
                        help="datasets folder (with who-and-when/ and prompt-injection/)")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="detection fixtures folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON file to write")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--limit", type=int, default=None, help="at most this many texts per injection set")


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if not precision or not recall:
        return 0.0 if precision is not None and recall is not None else None
    return round(2 * precision * recall / (precision + recall), 4)


class Confusion:
    __slots__ = ("fn", "fp", "tn", "tp")

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = self.tn = 0

    def add(self, label: int, predicted: bool) -> None:
        if label:
            self.tp += predicted
            self.fn += not predicted
        else:
            self.fp += predicted
            self.tn += not predicted

    def summary(self) -> dict[str, Any]:
        precision = _ratio(self.tp, self.tp + self.fp)
        recall = _ratio(self.tp, self.tp + self.fn)
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "precision": precision,
                "recall": recall, "f1": _f1(precision, recall), "support": self.tp + self.fn,
                "negatives": self.fp + self.tn, "fpr": _ratio(self.fp, self.fp + self.tn),
                "small_sample": (self.tp + self.fn + self.fp + self.tn) < SMALL_SAMPLE}


def _progress(items: Iterable[Any], desc: str, enabled: bool, total: int | None = None) -> Iterable[Any]:
    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, file=sys.stderr, disable=not enabled, unit="run")


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def score_fixtures(fixtures_dir: Path, keys: list[str], progress: bool) -> tuple[dict[str, Confusion],
                                                                                  dict[str, Confusion], int]:
    """Per detector: confusion on its own fixtures plus healthy runs, and on healthy runs alone."""
    from mao.domain.analysis import analyze
    from mao.eval.fixtures import load_fixtures

    loaded = load_fixtures(fixtures_dir)
    healthy = loaded.pop("healthy", [])
    overall = {k: Confusion() for k in keys}
    on_healthy = {k: Confusion() for k in keys}
    for key, cases in loaded.items():
        if key not in overall:
            continue
        for fx in _progress(cases, f"fixtures:{key}", progress):
            flagged = bool(analyze(fx.run, only=[key]))
            overall[key].add(fx.label, flagged)
    for fx in _progress(healthy, "fixtures:healthy", progress):
        types = {d.type for d in analyze(fx.run)}
        for key in keys:
            overall[key].add(0, key in types)
            on_healthy[key].add(0, key in types)
    return overall, on_healthy, len(healthy)


def score_who_and_when(path: Path, progress: bool) -> dict[str, Any]:
    from mao.domain.analysis import analyze_run
    from mao.domain.formats.who_when import to_run

    records = list(_read_jsonl(path))
    per_type: Counter[str] = Counter()
    per_subset: dict[str, Counter[str]] = {}
    errors: Counter[str] = Counter()
    messages = flagged_messages = 0
    elapsed: list[float] = []
    for record in _progress(records, "who-and-when", progress):
        run = to_run(record)
        started = time.perf_counter()
        result = analyze_run(run)
        elapsed.append((time.perf_counter() - started) * 1000)
        subset = per_subset.setdefault(str(record.get("subset") or "all"), Counter())
        subset["runs"] += 1
        types = {d.type for d in result.detections}
        subset["runs_with_detection"] += bool(types)
        per_type.update(types)
        errors.update(result.errors)
        messages += len(run.steps)
        flagged_messages += len({e.step_index for d in result.detections if d.type == "prompt_injection"
                                 for e in d.evidence})
    runs = len(records)
    flagged = sum(s["runs_with_detection"] for s in per_subset.values())
    elapsed.sort()
    return {
        "source": "who-and-when/dev.jsonl (Zhang et al., ICML 2025; MIT licence)",
        "note": "every run in this set failed: the share of runs with a detection is a recall floor",
        "runs": runs, "runs_with_detection": flagged, "detection_rate": _ratio(flagged, runs),
        "by_subset": {name: {"runs": c["runs"], "runs_with_detection": c["runs_with_detection"],
                             "detection_rate": _ratio(c["runs_with_detection"], c["runs"])}
                      for name, c in sorted(per_subset.items())},
        "runs_flagged_by_type": dict(sorted(per_type.items())),
        "detector_errors": dict(sorted(errors.items())),
        "median_analysis_ms": round(elapsed[len(elapsed) // 2], 2) if elapsed else None,
        "injection_on_ordinary_messages": {"messages": messages, "flagged": flagged_messages,
                                           "fpr": _ratio(flagged_messages, messages)},
    }


def score_injection_set(path: Path, progress: bool, limit: int | None) -> dict[str, Any]:
    from mao.domain.analysis import analyze
    from mao.domain.models import Run, Step

    rows = list(_read_jsonl(path))[:limit]
    confusion = Confusion()
    for i, row in enumerate(_progress(rows, path.stem, progress)):
        step = Step(index=0, agent="user", role="user", content=str(row["text"]), ref="turn:0")
        run = Run(run_id=f"{path.stem}-{i}", kind="conversation", steps=[step])
        confusion.add(int(row["label"]), bool(analyze(run, only=["prompt_injection"])))
    return {"source": f"prompt-injection/{path.name}", "texts": len(rows), **confusion.summary()}


def build_results(data_dir: Path, fixtures_dir: Path, progress: bool = True,
                  limit: int | None = None) -> dict[str, Any]:
    from mao.domain.detectors import registry
    from mao.domain.taxonomy import FAILURE_MODES

    specs = registry.specs()
    keys = [s.key for s in specs]
    overall, on_healthy, healthy_runs = score_fixtures(fixtures_dir, keys, progress)
    ww_path = data_dir / "who-and-when" / "dev.jsonl"
    who_and_when = score_who_and_when(ww_path, progress) if ww_path.is_file() else None
    injection = {}
    for name in INJECTION_SETS:
        path = data_dir / "prompt-injection" / name
        if path.is_file():
            injection[path.stem] = score_injection_set(path, progress, limit)
    ww_types = who_and_when["runs_flagged_by_type"] if who_and_when else {}
    detectors: dict[str, Any] = {}
    for spec in specs:
        entry: dict[str, Any] = {
            "f_code": spec.f_code, "name": spec.name, "version": spec.version,
            "fixtures": overall[spec.key].summary(),
            "healthy_false_positive_rate": on_healthy[spec.key].summary()["fpr"],
            "healthy_flagged": on_healthy[spec.key].fp,
        }
        if who_and_when:
            entry["who_and_when_runs_flagged"] = ww_types.get(spec.key, 0)
        if spec.key == "prompt_injection" and injection:
            entry["validation_sets"] = injection
        detectors[spec.key] = entry
    by_code = {s.f_code: s.key for s in specs if s.f_code}
    f_codes: dict[str, Any] = {}
    for fm in FAILURE_MODES:
        key = by_code.get(fm.code)
        row: dict[str, Any] = {"name": fm.name, "mast_id": fm.mast_id, "detector": key}
        if key is not None:
            s = detectors[key]["fixtures"]
            row.update({"detection_rate": s["recall"], "precision": s["precision"], "f1": s["f1"],
                        "positives": s["support"], "negatives": s["negatives"],
                        "healthy_false_positive_rate": detectors[key]["healthy_false_positive_rate"],
                        "small_sample": s["small_sample"]})
            if who_and_when:
                row["who_and_when_runs_flagged"] = ww_types.get(key, 0)
        f_codes[fm.code] = row
    now = dt.datetime.now(dt.UTC)
    return {
        "run_date": now.date().isoformat(),
        "generated_at": now.isoformat(timespec="seconds"),
        "fixtures": {"dir": "tests/fixtures/detection", "healthy_runs": healthy_runs,
                     "note": ("hand-written development fixtures, written alongside the detectors: their scores "
                              "are in-sample checks, not held-out accuracy; healthy runs count as negatives "
                              "for every detector")},
        "small_sample_threshold": SMALL_SAMPLE,
        "detectors": detectors,
        "f_codes": f_codes,
        "who_and_when": who_and_when,
        "prompt_injection": injection or None,
    }


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def run(args: argparse.Namespace) -> int:
    if not args.data.is_dir():
        print(f"datasets folder not found: {args.data}", file=sys.stderr)
        return 2
    results = build_results(args.data, args.fixtures, progress=not args.no_progress, limit=args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{'detector':<28} {'F':<4} {'prec':>6} {'recall':>6} {'f1':>6} {'pos':>4} {'neg':>4} {'healthyFP':>9}")
    for key, d in results["detectors"].items():
        s = d["fixtures"]
        print(f"{key:<28} {d['f_code'] or '':<4} {_fmt(s['precision']):>6} {_fmt(s['recall']):>6} "
              f"{_fmt(s['f1']):>6} {s['support']:>4} {s['negatives']:>4} {_fmt(d['healthy_false_positive_rate']):>9}")
    ww = results["who_and_when"]
    if ww:
        print(f"Who&When: {ww['runs_with_detection']}/{ww['runs']} failed runs get at least one detection "
              f"({_fmt(ww['detection_rate'])}); injection flags on ordinary messages: "
              f"{ww['injection_on_ordinary_messages']['flagged']}/{ww['injection_on_ordinary_messages']['messages']}")
    for name, s in (results["prompt_injection"] or {}).items():
        print(f"{name}: precision {_fmt(s['precision'])} recall {_fmt(s['recall'])} f1 {_fmt(s['f1'])} "
              f"fpr {_fmt(s['fpr'])} ({s['texts']} texts)")
    print(f"wrote {args.out}")
    return 0
