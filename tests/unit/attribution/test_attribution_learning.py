"""Fitting the scorer's weights: the conditional logit finds the feature that marks the decisive step."""

from __future__ import annotations

from mao.domain.attribution.learn import Example, fit, vectorise


def test_fit_gives_positive_weight_to_the_feature_of_decisive_steps_and_negative_to_a_decoy() -> None:
    names = ("marks_error", "decoy")
    examples = []
    for k in range(12):
        rows = [{"marks_error": 0.0, "decoy": 1.0} for _ in range(4)]
        target = k % 4
        rows[target] = {"marks_error": 1.0, "decoy": 0.0}
        examples.append(Example(vectorise(rows, names), target))
    weights = fit(examples, names)
    assert weights["marks_error"] > 0.5 > 0 > weights["decoy"]


def test_examples_without_their_target_among_the_candidates_are_ignored() -> None:
    names = ("x",)
    assert fit([Example([[1.0], [0.0]], -1)], names) == {"x": 0.0}
