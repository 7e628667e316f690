"""``mao eval attribution`` on the labelled Who&When dev half and on a tiny hand-written file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mao.cli.main import main
from mao.eval.attribution import cases, load, most_active_baseline, random_baseline, score_method

TINY = [
    {
        "id": "t1",
        "subset": "toy",
        "question": "Compute the mean.",
        "history": [
            {"role": "user", "name": "planner", "content": "Coder, compute the mean of the file values."},
            {"role": "assistant", "name": "coder", "content": "```python\nprint(mean(open('x')))\n```"},
            {"role": "user", "name": "terminal", "content": "exitcode: 1 (execution failed)\nNameError"},
            {"role": "assistant", "name": "coder", "content": "Assuming the values, the mean is 4.2."},
        ],
        "mistake_agent": "coder",
        "mistake_step": "1",
    }
]


def test_the_command_prints_scores_and_baselines_and_writes_predictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "tiny.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in TINY), encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    assert main(["eval", "attribution", "--data", str(data), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "MAO agent" in printed and "random agent" in printed and "most-active agent" in printed
    assert "toy" in printed and "overall" in printed
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [{"id": "t1", "agent": "coder", "step": 1, "confidence": rows[0]["confidence"]}]
    assert 0 < rows[0]["confidence"] <= 1


def test_on_the_dev_half_mao_beats_both_baselines_on_every_subset(datasets_dir: Path) -> None:
    items = cases(load(datasets_dir / "who-and-when" / "dev.jsonl"))
    method = score_method(items)
    by_subset: dict[str, list[tuple[float, float]]] = {}
    for case in items:
        by_subset.setdefault(case.subset, []).append(random_baseline(case))
    for subset, tally in method.by_subset.items():
        if subset == "overall":
            continue
        agent, step = tally.rates()
        subset_cases = [c for c in items if c.subset == subset]
        rand_agent = sum(a for a, _ in by_subset[subset]) / len(subset_cases)
        rand_step = sum(s for _, s in by_subset[subset]) / len(subset_cases)
        active = [most_active_baseline(c) for c in subset_cases]
        assert agent > max(rand_agent, sum(a for a, _ in active) / len(active)), subset
        assert step > max(rand_step, sum(s for _, s in active) / len(active)), subset
    overall_agent, overall_step = method.by_subset["overall"].rates()
    assert overall_agent >= 0.55 and overall_step >= 0.20
