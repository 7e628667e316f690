"""Measured on the labelled validation splits and on ordinary agent messages (Who&When)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mao.domain.security.injection import check
from mao.eval.injection import metrics


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_validation_recall_and_false_positive_rate(datasets_dir: Path) -> None:
    rows = [r for name in ("s-labs-validation.jsonl", "neuralchemy-validation.jsonl")
            for r in _rows(datasets_dir / "prompt-injection" / name)]
    results = [check(r["text"]) for r in rows]
    m = metrics([x.score for x in results], [x.detected for x in results], [int(r["label"]) for r in rows])
    # Measured: recall ~0.92, FPR ~0.017, AUC ~0.99 (see the model README); bounds leave little slack.
    assert m["recall"] >= 0.90
    assert m["fpr"] <= 0.02
    assert m["roc_auc"] >= 0.98


@pytest.mark.parametrize("context", ["user_input", "agent_message", "tool_output"])
def test_ordinary_agent_messages_stay_quiet(datasets_dir: Path, context: str) -> None:
    runs = _rows(datasets_dir / "who-and-when" / "dev.jsonl")
    messages = [str(m.get("content") or "") for run in runs for m in run["history"]]
    flagged = sum(check(m, context=context).detected for m in messages)
    assert len(messages) > 1000
    assert flagged / len(messages) <= 0.01
