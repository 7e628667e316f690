"""The detector evaluation harness counts, rates and writes what it measured."""

from __future__ import annotations

import json
from pathlib import Path

from mao.eval.detectors import Confusion, build_results

LOOP_STEP = {"agent": "searcher", "content": "Searching the vendor site for the Nimbus firmware release date."}


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_confusion_summary() -> None:
    c = Confusion()
    for label, predicted in [(1, True), (1, True), (1, False), (0, True), (0, False), (0, False)]:
        c.add(label, predicted)
    s = c.summary()
    assert (s["tp"], s["fn"], s["fp"], s["tn"]) == (2, 1, 1, 2)
    assert s["precision"] == 0.6667 and s["recall"] == 0.6667 and s["f1"] == 0.6667
    assert s["support"] == 3 and s["negatives"] == 3 and s["fpr"] == 0.3333 and s["small_sample"]


def test_build_results_on_small_data(tmp_path: Path) -> None:
    fixtures, data = tmp_path / "fixtures", tmp_path / "data"
    _write(fixtures / "loop.jsonl", [
        {"id": "p", "label": 1, "framework": "langgraph", "task": None, "steps": [LOOP_STEP] * 4},
        {"id": "n", "label": 0, "framework": "langgraph", "task": None,
         "steps": [LOOP_STEP, {"agent": "searcher", "content": "Found it: released on 3 March."}]}])
    _write(fixtures / "healthy.jsonl", [
        {"id": "h", "label": 0, "framework": "crewai", "task": "Say hello.",
         "steps": [{"agent": "greeter", "content": "Hello there, nice to meet you."}]}])
    _write(data / "who-and-when" / "dev.jsonl", [
        {"id": "w1", "subset": "Algorithm-Generated", "question": "q", "ground_truth": "a",
         "history": [{"role": "user", "name": "Expert", "content": LOOP_STEP["content"]}] * 4,
         "mistake_agent": "Expert", "mistake_step": "1"}])
    _write(data / "prompt-injection" / "s-labs-validation.jsonl", [
        {"text": "How do recurrent neural networks handle sequential data?", "label": 0, "source": "s"}])
    results = build_results(data, fixtures, progress=False)
    loop = results["detectors"]["loop"]
    assert loop["fixtures"]["tp"] == 1 and loop["fixtures"]["tn"] == 2 and loop["fixtures"]["fp"] == 0
    assert loop["healthy_false_positive_rate"] == 0.0
    assert results["who_and_when"]["runs"] == 1
    assert results["who_and_when"]["runs_flagged_by_type"].get("loop") == 1
    assert results["prompt_injection"]["s-labs-validation"]["texts"] == 1
    assert set(results["f_codes"]) == {f"F{i}" for i in range(1, 17)}
    assert results["f_codes"]["F3"]["detector"] == "step_repetition"
    assert results["run_date"] and "/work" not in json.dumps(results)
