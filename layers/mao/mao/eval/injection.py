"""``mao eval injection --data PATH [--out FILE]``: score the prompt-injection checker on labelled JSONL.

Input lines carry ``text`` and ``label`` (1 = attack). Prints recall, false-positive rate,
precision, F1 and ROC AUC; ``--out`` writes one ``{"index", "score", "detected"}`` line per record.
Records without a label are scored and written but left out of the metrics.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

BATCH = 256  # texts scored together


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, nargs="+", help="JSONL file(s) with text and label")
    parser.add_argument("--out", type=Path, help="write per-record scores as JSONL here")
    parser.add_argument("--context", default=None,
                        help="where the texts come from: user_input, tool_output, retrieved, agent_message")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Mann-Whitney ROC AUC with ties counted half; None when one class is missing."""
    pos = sum(1 for y in labels if y == 1)
    neg = len(labels) - pos
    if not pos or not neg:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        avg_rank = (i + j) / 2 + 1
        rank_sum += sum(avg_rank for k in range(i, j + 1) if labels[order[k]] == 1)
        i = j + 1
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def metrics(scores: Sequence[float], detected: Sequence[bool], labels: Sequence[int]) -> dict[str, Any]:
    tp = sum(1 for d, y in zip(detected, labels, strict=True) if d and y == 1)
    fp = sum(1 for d, y in zip(detected, labels, strict=True) if d and y == 0)
    fn = sum(1 for d, y in zip(detected, labels, strict=True) if not d and y == 1)
    tn = sum(1 for d, y in zip(detected, labels, strict=True) if not d and y == 0)
    recall = tp / (tp + fn) if tp + fn else None
    precision = tp / (tp + fp) if tp + fp else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision is not None and recall is not None and precision + recall else None)
    return {"n": len(labels), "positives": tp + fn, "negatives": fp + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "recall": recall, "fpr": fp / (fp + tn) if fp + tn else None, "precision": precision, "f1": f1,
            "roc_auc": roc_auc(scores, labels)}


def _read(paths: Iterable[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{n}: not JSON ({exc.msg})") from None
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise SystemExit(f"{path}:{n}: expected an object with a string 'text'")
                rows.append(row)
    return rows


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mao.domain.security.injection import scores_many
    from mao.domain.security.injection_model import load

    rows = _read(args.data)
    threshold = load().threshold
    started = time.perf_counter()
    scores: list[float] = []
    flags: list[bool] = []
    out = args.out.open("w", encoding="utf-8") if args.out else None
    try:
        # Scored in batches (the same numbers as ``check(text, context)``, which flags score > threshold):
        # the model's stages then run once per batch instead of once per text.
        with tqdm(total=len(rows), desc="injection", unit="text", file=sys.stderr, disable=args.no_progress) as bar:
            for at in range(0, len(rows), BATCH):
                batch = rows[at:at + BATCH]
                for index, score in enumerate(scores_many([(row["text"], args.context) for row in batch]), at):
                    scores.append(score)
                    flags.append(score > threshold)
                    if out:
                        out.write(json.dumps({"index": index, "score": round(score, 6),
                                              "detected": score > threshold}) + "\n")
                bar.update(len(batch))
    finally:
        if out:
            out.close()
    elapsed = time.perf_counter() - started
    labelled = [(s, d, int(r["label"])) for s, d, r in zip(scores, flags, rows, strict=True)
                if r.get("label") in (0, 1, "0", "1")]
    result = metrics([s for s, _, _ in labelled], [d for _, d, _ in labelled], [y for _, _, y in labelled])
    result["texts_per_second"] = round(len(rows) / elapsed, 1) if elapsed > 0 else None
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"texts        {len(rows)} ({result['positives']} attacks, {result['negatives']} benign)")
        for key in ("recall", "fpr", "precision", "f1", "roc_auc"):
            print(f"{key:<12} {_fmt(result[key])}")
        print(f"throughput   {result['texts_per_second']} texts/s")
    return 0
