"""F16 retrieval quality: missing, irrelevant or stale retrieved context."""

from __future__ import annotations

import pytest
from _detection_fixtures import check_detection_shape, fixtures, healthy, run_detector

from mao.domain.detectors import retrieval_quality
from mao.eval.fixtures import run_from_fixture

CASES = fixtures("retrieval_quality")


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 1], ids=lambda f: f.id)
def test_flags_labelled_positives(fx) -> None:
    found = run_detector(retrieval_quality, fx.run)
    assert found, f"{fx.id} should be flagged"
    for det in found:
        check_detection_shape(retrieval_quality, fx.run, det)


@pytest.mark.parametrize("fx", [f for f in CASES if f.label == 0] + healthy(), ids=lambda f: f.id)
def test_quiet_on_near_misses_and_healthy_runs(fx) -> None:
    assert run_detector(retrieval_quality, fx.run) == []


def test_fixture_set_has_enough_cases_of_each_label() -> None:
    assert sum(f.label for f in CASES) >= 6
    assert sum(1 - f.label for f in CASES) >= 6


def _case(case_id: str):
    return next(f for f in CASES if f.id == case_id)


def _run(steps: list[dict], **extra) -> object:
    return run_from_fixture({"id": "t", "label": 0, "framework": "unknown", "steps": steps, **extra})


def test_problem_kinds_are_reported() -> None:
    kinds = {
        fid: run_detector(retrieval_quality, _case(fid).run)[0].details["problem"]
        for fid in ("rq-pos-empty-vector-search", "rq-pos-irrelevant-policy", "rq-pos-stale-tax-brackets")
    }
    assert kinds == {
        "rq-pos-empty-vector-search": "missing",
        "rq-pos-irrelevant-policy": "irrelevant",
        "rq-pos-stale-tax-brackets": "stale",
    }


def test_relevance_threshold_comes_from_the_mapping() -> None:
    run = _case("rq-pos-irrelevant-policy").run
    assert run_detector(retrieval_quality, run)
    assert run_detector(retrieval_quality, run, min_relevance=0.0) == []


def test_runs_without_retrieval_are_quiet() -> None:
    run = _run([{"agent": "a", "content": "Plain answer with no search at all."}])
    assert run_detector(retrieval_quality, run) == []
